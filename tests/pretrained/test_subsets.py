import numpy as np
import pytest
from zoo_helpers import MOUSE_KEYPOINTS, lab_folder, mouse_poses, one_thread, top_view

from liftpose_dlc import Poses, lift_poses
from liftpose_dlc.errors import ConfigError, KeypointError
from liftpose_dlc.pretrained import (
    MODELS_ENV,
    KeypointSubsetWarning,
    MappedLifter,
    adapt_lifter,
    load_pretrained,
)

OPENFIELD = ["snout", "leftear", "rightear", "tailbase"]


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():
        yield


@pytest.fixture
def mouse(tmp_path_factory, monkeypatch):
    folder = lab_folder(tmp_path_factory.mktemp("lab_models"))
    monkeypatch.setenv(MODELS_ENV, str(folder))
    return load_pretrained("labmouse")


def _openfield_2d(n=50):
    p3 = mouse_poses(n, seed=5)
    cols = [MOUSE_KEYPOINTS.index(k) for k in ("Snout", "EarL", "EarR", "Tail(base)")]
    return top_view(p3)[:, cols], p3


def test_subset_in_the_users_names(mouse):
    with pytest.warns(KeypointSubsetWarning, match=r"rooted at SpineF \(ForepawL, ForepawR\)"):
        mapped, match = adapt_lifter(mouse, OPENFIELD)
    assert isinstance(mapped, MappedLifter)
    assert match.mapping["tailbase"] == "Tail(base)"
    assert mapped.keypoints == OPENFIELD
    assert [mapped.keypoints[r] for r in mapped.roots] == ["tailbase"]
    assert [[mapped.keypoints[j] for j in ts] for ts in mapped.target_sets] == [
        ["snout", "leftear", "rightear"]
    ]
    assert mapped.dropped == ["SpineF"]
    x2, _ = _openfield_2d()
    out = mapped.predict(x2)
    assert out.shape == (50, 4, 3)
    assert np.isfinite(out).all()
    # exactly the model's output on its own keypoints, the untracked ones missing
    full = np.full((50, 8, 2), np.nan)
    cols = [MOUSE_KEYPOINTS.index(k) for k in ("Snout", "EarL", "EarR", "Tail(base)")]
    full[:, cols] = x2
    np.testing.assert_allclose(out, mouse.predict(full)[:, cols])
    # the mean root placement of the kept set
    np.testing.assert_allclose(mapped.predict(x2, root_positions="mean")[:, 3], 0.0)
    shifted = mapped.predict(x2, root_positions=np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(shifted - out, np.broadcast_to([1.0, 2.0, 3.0], out.shape))
    with pytest.raises(ConfigError):
        mapped.save("x.safetensors")
    with pytest.raises(ConfigError):
        mapped.fit(x2, out)


def test_lift_poses_maps_and_lifts_a_subset(mouse):
    x2, _ = _openfield_2d()
    poses = Poses(x2[:, None], OPENFIELD, confidence=np.ones((50, 1, 4)))
    with pytest.warns(KeypointSubsetWarning):
        result = lift_poses(poses, mouse)
    assert result.poses.keypoints == OPENFIELD
    assert np.isfinite(result.poses.data).all()
    # an explicit map leaving one ear out: it has no 3D, the others do
    with pytest.warns(KeypointSubsetWarning):
        result = lift_poses(poses, mouse, keypoint_map={"rightear": None})
    assert result.poses.keypoints == ["snout", "leftear", "tailbase"]


def test_keypoint_map_from_a_yaml_file(mouse, tmp_path):
    path = tmp_path / "map.yaml"
    path.write_text("leftear: null\nrightear: EarL\n")  # the user's (odd) correction
    with pytest.warns(KeypointSubsetWarning):
        mapped, match = adapt_lifter(mouse, OPENFIELD, path)
    assert match.mapping == {"snout": "Snout", "rightear": "EarL", "tailbase": "Tail(base)"}
    assert match.how["rightear"] == "given"
    assert mapped.keypoints == ["snout", "rightear", "tailbase"]


def test_a_point_in_a_dropped_set_has_no_3d(mouse):
    # the right forepaw is tracked but its root (SpineF) is not: it is input only
    names = [*OPENFIELD, "right_forepaw"]
    with pytest.warns(KeypointSubsetWarning):
        mapped, _ = adapt_lifter(mouse, names)
    x2, p3 = _openfield_2d()
    x = np.concatenate([x2, top_view(p3)[:, [7]]], axis=1)
    out = mapped.predict(x)
    assert np.isnan(out[:, 4]).all()
    assert np.isfinite(out[:, :4]).all()


def test_too_small_a_subset_says_why_in_the_users_names(mouse):
    with pytest.raises(KeypointError) as info:
        adapt_lifter(mouse, ["snout", "leftear", "headstage"], where="session1.h5")
    text = str(info.value)
    assert text.startswith("session1.h5: too few keypoints to lift with model 'labmouse'")
    assert "Matched: snout (Snout), leftear (EarL)" in text
    assert "root Tail(base) (not tracked) with one of SpineM, Snout, EarL, EarR" in text
    assert "Not matched: headstage" in text
    # the root alone is not enough either
    with pytest.raises(KeypointError, match=r"root Tail\(base\) \(your tailbase\)"):
        adapt_lifter(mouse, ["tailbase"])


def test_full_match_under_the_models_own_names_is_the_model(mouse):
    lifter, match = adapt_lifter(mouse, [*MOUSE_KEYPOINTS, "extra"])
    assert lifter is mouse
    assert match.is_identity


def test_plain_lifters_are_not_mapped():
    from zoo_helpers import tiny_mouse

    lifter, match = adapt_lifter(tiny_mouse(), OPENFIELD)
    assert lifter is tiny_mouse()
    assert match is None
