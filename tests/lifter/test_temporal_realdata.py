"""The temporal lifter on real DeepFly3D poses: it sees an occluded point in the frames around.

Every other frame of the test video hides the three claws' 2D (as a tracker that loses a
fast, small point). A model that predicts the mean pose, and a frame lifter trained with the
same data and budget, have nothing but the frame itself; the temporal lifter sees the claws
one frame before and after.
"""

import numpy as np
import pytest
import torch
from realdata import shared_file

from liftpose_dlc import Lifter
from liftpose_dlc.lifter.augmentation import keypoint_dropout, random_view

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

ROOTS, SETS = [0, 5, 10], [[1, 2, 3, 4], [6, 7, 8, 9], [11, 12, 13, 14]]
CLAWS = [4, 9, 14]
NET = {"linear_size": 64, "set_size": 0, "view_gate": False}
FIT = {"epochs": 40, "verbose": False}


def _claw_error(pred: np.ndarray, truth: np.ndarray, frames: np.ndarray) -> float:
    roots = [0, 5, 10]
    rel_p = pred[frames][:, CLAWS] - pred[frames][:, roots]
    rel_t = truth[frames][:, CLAWS] - truth[frames][:, roots]
    return float(np.linalg.norm(rel_p - rel_t, axis=-1).mean())


def test_temporal_lifter_infers_occluded_claws(shared_data):
    path = shared_file(shared_data, "3d/df3d_fly/df3d_210902_PR_Fly1_1000f_in_reference_rig.npz")
    with np.load(path, allow_pickle=False) as d:
        x = d["points3d_world"][:, :15]
        k, r, t, scale = d["K"][1], d["R_cam"][1], d["tvec"][1], float(d["sim_scale"])
    x_cam = x @ r.T + t
    h = x_cam @ k.T
    uv = h[..., :2] / h[..., 2:3] + np.random.default_rng(0).normal(0, 1, (len(x), 15, 2))
    x_mm = x_cam / scale
    train_2d, train_3d = uv[:300], x_mm[:300]
    test_2d, test_3d = uv[800:].copy(), x_mm[800:]
    hidden = np.arange(1, 199, 2)
    test_2d[np.ix_(hidden, CLAWS)] = np.nan
    augment = [random_view(), keypoint_dropout(0.3)]  # both learn to lift without some points

    torch.manual_seed(0)
    frame = Lifter(15, ROOTS, SETS, **NET)
    frame.fit(train_2d, train_3d, augment=augment, **FIT)
    temporal = Lifter(15, ROOTS, SETS, temporal=3, channels=64, **NET)
    temporal.fit(train_2d, train_3d, augment=augment, **FIT)
    mean_pose = np.broadcast_to(train_3d.mean(0), test_3d.shape)

    errors = {
        "mean pose": _claw_error(mean_pose, test_3d, hidden),
        "frame": _claw_error(frame.predict(test_2d), test_3d, hidden),
        "temporal": _claw_error(temporal.predict(test_2d), test_3d, hidden),
    }
    # measured: mean pose 0.548, frame lifter 0.334, temporal lifter 0.289 mm
    bound = 0.31  # mm, on the hidden claws
    assert errors["mean pose"] > bound, errors
    assert errors["frame"] > bound, errors
    assert errors["temporal"] < bound, errors
    assert errors["temporal"] < 0.9 * errors["frame"], errors
