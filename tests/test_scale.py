"""rescale_to_length: lifted 3D made to match a length the user knows (real DANNCE 3D)."""

from __future__ import annotations

import numpy as np
import pytest
from realdata import shared_file

import liftpose_dlc as lp
from liftpose_dlc.errors import ConfigError, KeypointError
from liftpose_dlc.io.dannce import load_dannce_predictions
from liftpose_dlc.scale import path_length

MOUSE = "3d/dannce_mouse1_predictions"
SPINE = ["Snout", "SpineF", "SpineM", "Tail(base)"]


@pytest.fixture
def dannce(shared_data):
    return load_dannce_predictions(
        shared_file(shared_data, f"{MOUSE}/save_data_AVG.mat"),
        shared_file(shared_data, f"{MOUSE}/mouse22_skeleton.mat"),
    )


def test_rescale_to_a_known_length_on_real_3d(dannce):
    # the real mouse, 80 mm from snout to tail base along the spine (README: Snout-SpineF 36,
    # SpineF-SpineM 35); shrunk by 0.8 as a lifter trained on a smaller mouse would give it
    before = float(np.nanmedian(path_length(dannce, SPINE)))
    assert 85 < before < 105
    small = dannce.replace(data=dannce.data * 0.8)
    fixed = lp.rescale_to_length(small, before, SPINE, about="Tail(base)")
    np.testing.assert_allclose(np.nanmedian(path_length(fixed, SPINE)), before, rtol=1e-9)
    # the tail base stays in place; every other point moves along its ray from it
    tb = dannce.keypoints.index("Tail(base)")
    np.testing.assert_allclose(fixed.data[:, :, tb], small.data[:, :, tb])
    rel = fixed.data - fixed.data[:, :, [tb]]
    np.testing.assert_allclose(rel, (dannce.data - dannce.data[:, :, [tb]]), atol=1e-9)
    assert "x1.25" in fixed.provenance["rescaled"]
    assert small.data is not fixed.data  # the input is left as it was
    np.testing.assert_allclose(small.data, dannce.data * 0.8)


def test_rescale_about_the_centroid_and_where_the_point_is_missing(dannce):
    p = dannce.replace(data=dannce.data[:5].copy(), confidence=dannce.confidence[:5])
    p.data[2, 0, p.keypoints.index("Tail(base)")] = np.nan
    out = lp.rescale_to_length(p, 50.0, ["Snout", "Tail(base)"], about="Tail(base)")
    # frame 2 has no tail base: it is scaled about its centroid, not lost
    assert np.isfinite(out.data[2, 0, p.keypoints.index("Snout")]).all()
    centroid_in = np.nanmean(p.data[2, 0], axis=0)
    np.testing.assert_allclose(np.nanmean(out.data[2, 0], axis=0), centroid_in, atol=1e-9)
    plain = lp.rescale_to_length(p, 50.0, ["Snout", "Tail(base)"])
    np.testing.assert_allclose(
        np.nanmean(plain.data, axis=2), np.nanmean(p.data, axis=2), atol=1e-9
    )


def test_rescale_errors(dannce):
    with pytest.raises(KeypointError, match="no keypoints \\['nose'\\]"):
        lp.rescale_to_length(dannce, 90.0, ["nose", "Tail(base)"])
    with pytest.raises(KeypointError, match="no keypoint 'tail'"):
        lp.rescale_to_length(dannce, 90.0, SPINE, about="tail")
    for bad in (0.0, -3.0, float("nan"), "90"):
        with pytest.raises(ConfigError, match="positive number"):
            lp.rescale_to_length(dannce, bad, SPINE)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="two keypoints or more"):
        lp.rescale_to_length(dannce, 90.0, ["Snout"])
    snout = np.arange(22)[:, None] == dannce.keypoints.index("Snout")
    gone = dannce.replace(data=np.where(snout, np.nan, dannce.data))
    with pytest.raises(ConfigError, match="no frame has all of"):
        lp.rescale_to_length(gone, 90.0, SPINE)
    flat = lp.Poses(np.zeros((2, 3, 2)), ["a", "b", "c"])
    with pytest.raises(ConfigError, match="needs 3D poses"):
        lp.rescale_to_length(flat, 1.0, ["a", "b"])
