import numpy as np
import pytest

from liftpose_dlc import LiftPoseError, Poses, poses_to_dict
from liftpose_dlc.errors import KeypointError, PosesValidationError


def test_shapes_and_defaults():
    p = Poses(np.zeros((5, 3, 2)), keypoints=["a", "b", "c"])
    assert p.data.shape == (5, 1, 3, 2)
    assert p.individuals == ["individual_0"]
    assert p.confidence.shape == (5, 1, 3)
    assert np.isnan(p.confidence).all()
    assert p.fps is None


def test_data_is_copied():
    arr = np.zeros((5, 1, 3, 2))
    p = Poses(arr, keypoints=["a", "b", "c"])
    p.data[0, 0, 0, 0] = 7
    assert arr[0, 0, 0, 0] == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"data": np.zeros((5, 1, 3, 4)), "keypoints": ["a", "b", "c"]}, "n_dims must be 2 or 3"),
        ({"data": np.zeros((5, 1, 3, 2)), "keypoints": ["a", "b"]}, "2 keypoint names for 3"),
        ({"data": np.zeros((5, 1, 3, 2)), "keypoints": ["a", "b", "a"]}, r"repeated: \['a'\]"),
        (
            {"data": np.zeros((5, 2, 1, 2)), "keypoints": ["a"], "individuals": ["x", "x"]},
            "individual names must be unique",
        ),
        (
            {"data": np.zeros((5, 1, 2, 2)), "keypoints": ["a", "b"], "confidence": np.zeros(3)},
            "confidence must have shape",
        ),
        (
            {"data": np.zeros((5, 1, 2, 2)), "keypoints": ["a", "b"], "skeleton": [("a", "z")]},
            r"unknown keypoints \['z'\]",
        ),
        ({"data": np.zeros((5, 2)), "keypoints": ["a", "b"]}, "data must have shape"),
    ],
)
def test_validation_errors(kwargs, match):
    with pytest.raises(PosesValidationError, match=match):
        Poses(**kwargs)


def test_validation_error_is_liftpose_error():
    with pytest.raises(LiftPoseError):
        Poses(np.zeros((5, 1, 3, 4)), keypoints=["a", "b", "c"])


def test_select_reorders(small_poses_2d):
    sel = small_poses_2d.select(keypoints=["tailbase", "snout"], individuals=["mouse2"])
    assert sel.keypoints == ["tailbase", "snout"]
    assert sel.individuals == ["mouse2"]
    np.testing.assert_array_equal(sel.data[:, 0, 0], small_poses_2d.data[:, 1, 3])
    np.testing.assert_array_equal(sel.confidence[:, 0, 1], small_poses_2d.confidence[:, 1, 0])
    assert list(sel.skeleton.edges) == [("snout", "tailbase")]


def test_select_missing_names_lists_them(small_poses_2d):
    with pytest.raises(KeypointError, match=r"not found: \['nose', 'tail'\].*available"):
        small_poses_2d.select(keypoints=["nose", "snout", "tail"])


def test_to_dict_convention(small_poses_2d):
    d = small_poses_2d.to_dict()
    assert list(d) == ["mouse1", "mouse2"]
    assert d["mouse1"].shape == (20, 4, 2)
    np.testing.assert_array_equal(d["mouse2"], small_poses_2d.data[:, 1])
    d["mouse1"][:] = 0
    assert small_poses_2d.data[:, 0].any()


def test_to_dict_keys_name_file():
    from liftpose_dlc.poses import Source

    a = Poses(np.zeros((4, 1, 2, 2)), ["a", "b"], source=Source("/x/v1DLC.h5", "DeepLabCut"))
    b = Poses(np.ones((6, 1, 2, 2)), ["a", "b"], source=Source("/x/v2DLC.h5", "DeepLabCut"))
    merged = poses_to_dict([a, b])
    assert list(merged) == ["v1DLC/individual_0", "v2DLC/individual_0"]
    assert merged["v2DLC/individual_0"].shape == (6, 2, 2)
    with pytest.raises(PosesValidationError, match="same key"):
        poses_to_dict([a, a])


def test_from_dict_roundtrip(small_poses_2d):
    back = Poses.from_dict(small_poses_2d.to_dict(), small_poses_2d.keypoints)
    np.testing.assert_array_equal(back.data, small_poses_2d.data)
    assert back.individuals == ["mouse1", "mouse2"]


def test_mask_below_hides_points_under_the_cutoff_and_keeps_the_confidence():
    from liftpose_dlc.poses import check_pcutoff

    conf = np.array([[[0.9, 0.1, np.nan], [0.5, 0.49, 1.0]]])
    poses = Poses(np.ones((1, 2, 3, 2)), keypoints=["a", "b", "c"], confidence=conf)
    masked = poses.mask_below(0.5)
    np.testing.assert_array_equal(
        np.isnan(masked.data).all(-1), [[[False, True, False], [False, True, False]]]
    )
    np.testing.assert_array_equal(masked.confidence, conf)  # kept, NaN included
    assert np.isfinite(poses.data).all()  # the original is untouched
    assert poses.mask_below(None) is poses
    assert not np.isnan(poses.mask_below(0.0).data).any()
    assert check_pcutoff(1) == 1.0


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan"), float("inf"), "high", [0.5]])
def test_pcutoff_outside_0_1_or_not_a_number_is_rejected(bad):
    from liftpose_dlc.errors import ConfigError
    from liftpose_dlc.poses import check_pcutoff

    poses = Poses(np.ones((1, 1, 1, 2)), keypoints=["a"])
    with pytest.raises(ConfigError, match="pcutoff must be"):
        poses.mask_below(bad)
    with pytest.raises(ConfigError, match=r"^cfg\.yaml: pcutoff must be"):
        check_pcutoff(bad, where="cfg.yaml")
