"""Velocity and acceleration errors (smoothness), in metrics and in the evaluate report."""

import numpy as np
import pytest

from liftpose_dlc import Poses
from liftpose_dlc.errors import PosesValidationError
from liftpose_dlc.metrics import acceleration_error, velocity_error
from liftpose_dlc.workflow.report import evaluate


def test_jitter_and_offsets():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 50)[:, None, None]
    gt = np.concatenate([np.zeros((50, 1, 3)), np.sin(t * [1.0, 2.0, 3.0])], axis=1)
    assert velocity_error(gt, gt + 3.0) == pytest.approx(0, abs=1e-12)
    assert acceleration_error(gt, gt + 3.0) == pytest.approx(0, abs=1e-12)
    noisy = gt + rng.normal(0, 0.1, gt.shape)
    acc = acceleration_error(gt, noisy)
    # independent noise of sigma per coordinate: second difference has sigma * sqrt(6)
    assert acc == pytest.approx(0.1 * np.sqrt(6) * 1.596, rel=0.15)
    assert velocity_error(gt, noisy) < acc
    # root-relative: moving the root with the joint changes nothing
    moved = gt.copy()
    moved[:, :] += rng.normal(0, 1, (50, 1, 3))
    assert acceleration_error(gt, moved, roots=[0], target_sets=[[1]]) == pytest.approx(0)
    assert acceleration_error(gt, moved) > 1


def test_no_difference_across_sequences_or_missing_frames():
    gt = np.zeros((6, 1, 3))
    pred = gt.copy()
    pred[3:] += 10.0  # a jump exactly where the second sequence starts
    assert velocity_error(gt, pred, lengths=[3, 3]) == 0.0
    assert velocity_error(gt, pred) == pytest.approx(10 * np.sqrt(3) / 5)
    pred[1] = np.nan
    assert acceleration_error(gt, pred, lengths=[3, 3]) == 0.0
    with pytest.raises(PosesValidationError, match="add up"):
        velocity_error(gt, pred, lengths=[2, 2])


def test_evaluate_reports_smoothness():
    gt = np.zeros((5, 2, 2, 3))
    gt[:, :, 1] = np.arange(5)[:, None, None]  # each individual's joint moves steadily
    pred = gt.copy()
    pred[2, 0, 1, 0] += 1.0
    ev = evaluate(
        Poses(pred, keypoints=["r", "a"], individuals=["i1", "i2"]),
        Poses(gt, keypoints=["r", "a"], individuals=["i1", "i2"]),
        roots=["r"],
        units="mm",
    )
    # the jump at frame 2 of individual 1: velocity errors 1, 1 of 8; acceleration 1, 2, 1 of 6
    assert ev.velocity_error == pytest.approx(2 / 8)
    assert ev.acceleration_error == pytest.approx(4 / 6)
    d = ev.to_dict()
    assert d["acceleration_error"] == pytest.approx(4 / 6)
    assert "acceleration error 0.667 mm/frame²" in ev.summary()
