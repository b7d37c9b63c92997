"""The benchmark protocols on the real fly data, and the least-squares baseline."""

import numpy as np
import pytest
from realdata import shared_file

from benchmarks.protocols import (
    PROTOCOLS,
    load_protocol,
    lstsq_baseline,
    lstsq_fit_predict,
    root_relative_error,
)
from liftpose_dlc.metrics import mpjpe

NPZ = "3d/df3d_fly/df3d_210902_PR_Fly1_1000f_in_reference_rig.npz"


@pytest.fixture(scope="module")
def fly_npz(shared_data):
    return shared_file(shared_data, NPZ)


@pytest.mark.realdata
def test_protocol_arrays(fly_npz):
    p1 = load_protocol("P1", fly_npz)
    assert p1["train_2d"].shape == (800, 15, 2)
    assert p1["train_3d"].shape == (800, 15, 3)
    assert p1["test_2d"].shape == (200, 15, 2)
    assert p1["roots"] == [0, 5, 10]
    assert p1["target_sets"] == [[1, 2, 3, 4], [6, 7, 8, 9], [11, 12, 13, 14]]
    assert p1["keypoint_names"][:5] == ["LF_Coxa", "LF_Femur", "LF_Tibia", "LF_Tarsus", "LF_Claw"]
    # 3D in the camera frame, in mm: the projection of the 3D is the noise-free 2D
    with np.load(fly_npz) as d:
        k, scale = d["K"][1], float(d["sim_scale"])
        clean = d["points2d_xy"][1, 800:, :15]
    proj = (p1["test_3d"] * scale) @ k.T
    proj = proj[..., :2] / proj[..., 2:]
    np.testing.assert_allclose(proj, clean, atol=1e-6)
    noise = p1["test_2d"] - clean
    assert 0.9 < noise.std() < 1.1  # 1 px Gaussian noise
    # a fly leg is about 2 mm long, far from the camera
    assert 1 < np.linalg.norm(p1["test_3d"][:, 4] - p1["test_3d"][:, 0], axis=-1).mean() < 4

    p2 = load_protocol("P2", fly_npz)
    assert p2["train_3d"].shape == (800, 30, 3)
    assert p2["roots"] == [0, 5, 10, 15, 20, 25]
    p3 = load_protocol("P3", fly_npz)
    assert p3["train_2d"].shape == (1600, 15, 2)
    np.testing.assert_array_equal(p3["test_3d"], p1["test_3d"])  # same camera and frames
    # seeded: the same arrays every time
    np.testing.assert_array_equal(load_protocol("P1", fly_npz)["train_2d"], p1["train_2d"])
    # per-camera seed dictionaries hold the same training arrays
    np.testing.assert_array_equal(p3["train_2d_by_camera"]["cam2"], p3["train_2d"][800:])
    assert list(p3["train_3d_by_camera"]) == ["cam0", "cam2"]
    # the dev split: frames 0-639 train, 640-799 test, from the same noisy arrays
    d1 = load_protocol("P1", fly_npz, dev=True)
    assert d1["train_2d"].shape == (640, 15, 2)
    np.testing.assert_array_equal(d1["train_2d"], p1["train_2d"][:640])
    np.testing.assert_array_equal(d1["test_2d"], p1["train_2d"][640:])
    np.testing.assert_array_equal(d1["test_3d"], p1["train_3d"][640:])
    with pytest.raises(KeyError, match="unknown protocol"):
        load_protocol("P9", fly_npz)


@pytest.mark.realdata
def test_lstsq_baseline_numbers(fly_npz):
    # the numbers on this machine: 0.049, 0.065, 0.105 mm
    errors = {name: lstsq_baseline(load_protocol(name, fly_npz)) for name in PROTOCOLS}
    assert errors["P1"] == pytest.approx(0.0491, abs=5e-4)
    assert errors["P2"] == pytest.approx(0.0648, abs=5e-4)
    assert errors["P3"] == pytest.approx(0.1039, abs=5e-4)


@pytest.mark.realdata
def test_root_relative_error_matches_metrics(fly_npz):
    p = load_protocol("P2", fly_npz)
    pred = lstsq_fit_predict(p)
    expected = mpjpe(p["test_3d"], pred, p["roots"], p["target_sets"])
    assert root_relative_error(p["test_3d"], pred, p["roots"], p["target_sets"]) == (
        pytest.approx(expected)
    )
    # a translation of the whole prediction changes nothing
    moved = pred + 5.0
    assert root_relative_error(p["test_3d"], moved, p["roots"], p["target_sets"]) == (
        pytest.approx(expected)
    )
