"""make_training_pairs: projections, keys, keypoint matching, noise, visibility."""

from __future__ import annotations

import numpy as np
import pytest

from liftpose_dlc import Camera, Poses, Source, make_training_pairs
from liftpose_dlc.cameras import PointsBehindCameraWarning, sample_cameras
from liftpose_dlc.errors import KeypointError, PosesValidationError

RNG = np.random.default_rng(2)
NAMES = ["Nose", "Ear_L", "Ear_R", "Trunk", "TailTip"]
K = np.array([[800.0, 0, 640], [0, 800, 512], [0, 0, 1]])


@pytest.fixture
def library():
    data = RNG.normal(0, 5, size=(25, 1, len(NAMES), 3))
    return Poses(data, NAMES, source=Source("/data/session_a.h5", "test"))


@pytest.fixture
def cams():
    return {
        "top": Camera(K, np.eye(3), [0, 0, 100], [-0.2, 0.0, 0, 0, 0], name="top"),
        "side": Camera.from_rodrigues(K, [0, np.pi / 2, 0], [0, 0, 120], name="side"),
    }


def test_pairs_shapes_keys_values(library, cams):
    d2, d3 = make_training_pairs(library, cams)
    assert list(d2) == ["session_a/individual_0/top", "session_a/individual_0/side"]
    assert list(d3) == list(d2)
    X = library.data[:, 0]
    for name, cam in cams.items():
        key = f"session_a/individual_0/{name}"
        assert d2[key].shape == (25, 5, 2)
        assert d3[key].shape == (25, 5, 3)
        assert np.allclose(d3[key], X @ cam.R.T + cam.t)
        # undistorted pixels by default: the pinhole projection of the 3D target
        assert np.allclose(d2[key], d3[key][..., :2] / d3[key][..., 2:] * 800 + [640, 512])
    distorted, _ = make_training_pairs(library, cams, distorted=True)
    top = "session_a/individual_0/top"
    assert np.allclose(distorted[top], cams["top"].project(X))
    assert not np.allclose(distorted[top], d2[top])


def test_keypoints_matched_by_name_with_map(library, cams):
    bodyparts = ["tailbase", "snout", "Ear_L"]  # a DLC project's names
    d2, d3 = make_training_pairs(
        library, cams, keypoints=bodyparts, keypoint_map={"snout": "Nose", "tailbase": "Trunk"}
    )
    key = "session_a/individual_0/side"
    full2, full3 = make_training_pairs(library, cams)
    assert np.allclose(d3[key], full3[key][:, [3, 0, 1]])
    assert np.allclose(d2[key], full2[key][:, [3, 0, 1]])


def test_unmatched_keypoints_are_all_listed(library, cams):
    with pytest.raises(KeypointError) as info:
        make_training_pairs(library, cams, keypoints=["snout", "Trunk", "leftear"])
    msg = str(info.value)
    assert "['snout', 'leftear']" in msg
    assert "Nose" in msg  # the library's names are listed
    with pytest.raises(KeypointError, match="snout -> Snoot"):
        make_training_pairs(library, cams, keypoints=["snout"], keypoint_map={"snout": "Snoot"})
    with pytest.raises(KeypointError, match="not asked for"):
        make_training_pairs(library, cams, keypoints=["Nose"], keypoint_map={"tail": "Trunk"})


def test_noise_is_seeded(library, cams):
    clean, _ = make_training_pairs(library, cams)
    a, _ = make_training_pairs(library, cams, noise_px=2.0, seed=4)
    b, _ = make_training_pairs(library, cams, noise_px=2.0, seed=4)
    key = "session_a/individual_0/top"
    assert np.array_equal(a[key], b[key])
    diff = a[key] - clean[key]
    assert 1.5 < diff.std() < 2.5
    with pytest.raises(ValueError, match="noise_px"):
        make_training_pairs(library, cams, noise_px=-1)


def test_visibility(library, cams):
    d2, d3 = make_training_pairs(library, cams, visibility={"side": ["Nose", "Trunk"]})
    side = "session_a/individual_0/side"
    top = "session_a/individual_0/top"
    assert np.isnan(d2[side][:, [1, 2, 4]]).all()
    assert np.isnan(d3[side][:, [1, 2, 4]]).all()
    assert np.isfinite(d2[side][:, [0, 3]]).all()
    assert np.isfinite(d2[top]).all()
    per_frame = np.ones((25, 5), dtype=bool)
    per_frame[3, 0] = False
    d2, _ = make_training_pairs(library, cams, visibility={"top": per_frame})
    assert np.isnan(d2[top][3, 0]).all()
    assert np.isfinite(d2[top][4, 0]).all()
    with pytest.raises(KeypointError, match="unknown cameras"):
        make_training_pairs(library, cams, visibility={"front": [True] * 5})
    with pytest.raises(KeypointError, match="unknown keypoints"):
        make_training_pairs(library, cams, visibility={"top": ["Tail"]})
    with pytest.raises(KeypointError, match="5 booleans"):
        make_training_pairs(library, cams, visibility={"top": [True] * 4})


def test_points_behind_a_camera_are_reported(library):
    behind = Camera(K, np.eye(3), [0, 0, -100], name="behind")
    with pytest.warns(PointsBehindCameraWarning, match="camera 'behind'"):
        d2, d3 = make_training_pairs(library, [behind])
    key = "session_a/individual_0/behind"
    assert np.isnan(d2[key]).all()
    assert np.isfinite(d3[key]).all()


def test_several_libraries_and_virtual_cameras():
    a = Poses(RNG.normal(size=(5, 2, 3, 3)), ["a", "b", "c"], individuals=["m1", "m2"])
    b = Poses(RNG.normal(size=(7, 3, 3)), ["c", "b", "a"], source=Source("x/run2.npy"))
    cams = sample_cameras([[-5, 5], [-5, 5], [-5, 5]], distance=30, n=2, seed=0)
    d2, d3 = make_training_pairs([a, b], cams, keypoints=["a", "c"])
    assert sorted(d2) == sorted(
        f"{p}/virtual_{i}" for p in ["m1", "m2", "run2/individual_0"] for i in range(2)
    )
    assert d3["run2/individual_0/virtual_1"].shape == (7, 2, 3)
    assert np.allclose(
        d3["run2/individual_0/virtual_1"], cams[1].world_to_camera(b.data[:, 0][:, [2, 0]])
    )
    with pytest.raises(PosesValidationError, match="same key"):
        make_training_pairs([b, b], cams)
    with pytest.raises(PosesValidationError, match="need 3D poses"):
        make_training_pairs(Poses(np.zeros((2, 3, 2)), ["a", "b", "c"]), cams)
