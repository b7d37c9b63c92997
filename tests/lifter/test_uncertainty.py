"""The lifter's error model (issue 14 §2): calibrated bounds on real fly 3D, saved, written."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from realdata import shared_file
from wf_helpers import one_thread_fixture

from liftpose_dlc import Lifter, Poses
from liftpose_dlc.errors import ConfigError, ModelFileError
from liftpose_dlc.io.dlc import load_dlc, save_dlc
from liftpose_dlc.lifter.uncertainty import (
    bounds_from_confidence,
    calibration_curve,
    fit_error_model,
)
from liftpose_dlc.workflow.lifting import lift_poses

one_torch_thread = pytest.fixture(autouse=True)(one_thread_fixture)
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

ENGINE_MOUSE = Path(__file__).resolve().parents[1] / "data" / "lifters" / "mouse_engine.safetensors"


@pytest.fixture(scope="module")
def fly(shared_data):
    """P1 (real DeepFly3D 3D, camera 1, left legs): a small lifter with an error model."""
    shared_file(shared_data, "3d/df3d_fly/df3d_210902_PR_Fly1_1000f_in_reference_rig.npz")
    from protocols import load_protocol

    full = load_protocol("P1", data_path=None)
    names = [f"k{i}" for i in range(len(full["keypoint_names"]))]
    lifter = Lifter(names, full["roots"], full["target_sets"], linear_size=64)
    lifter.fit(full["train_2d"][:640], full["train_3d"][:640], epochs=3, verbose=False, seed=0)
    lifter.units = "mm"
    model = fit_error_model(lifter, full["train_2d"][640:], full["train_3d"][640:], seed=0)
    return lifter, model, full


def _true_errors(lifter, p2, p3):
    rel = lifter.predict(p2, root_positions="zero")
    true = p3.copy()
    for r, ts in zip(lifter.roots, lifter.target_sets, strict=True):
        true[:, ts] = p3[:, ts] - p3[:, [r]]
        true[:, r] = 0.0
    return np.linalg.norm(rel - true, axis=-1)


def test_bounds_are_calibrated_on_held_out_frames(fly):
    lifter, model, full = fly
    lifter.error_model = model
    err = _true_errors(lifter, full["test_2d"], full["test_3d"])
    targets = [j for ts in lifter.target_sets for j in ts]
    b = {lv: lifter.predict_error(full["test_2d"], lv)[:, targets] for lv in (0.5, 0.9)}
    curve = calibration_curve(err[:, targets], b)
    assert abs(curve[0.5] - 0.5) < 0.08, curve
    assert abs(curve[0.9] - 0.9) < 0.05, curve
    # roots are at their own position: bound 0; a bound grows with the level
    assert np.all(lifter.predict_error(full["test_2d"][:5], 0.9)[:, lifter.roots] == 0)
    assert np.all(b[0.9] > b[0.5])
    # the confidence ranks the errors: surer points have smaller errors
    conf = model.confidence(lifter, full["test_2d"])[:, targets]
    assert np.corrcoef(conf.ravel(), err[:, targets].ravel())[0, 1] < -0.2
    # the bounds follow from the confidence with the table the outputs record
    again = bounds_from_confidence(conf, 0.9, model.tolerance, model.levels, model.quantiles)
    inside = (conf > model.levels[0]) & (conf < model.levels[-1])
    np.testing.assert_allclose(again[inside], b[0.9][inside], rtol=1e-6)


def test_an_inferred_point_is_less_sure(fly):
    lifter, model, full = fly
    p2 = full["test_2d"][:50].copy()
    seen = model.confidence(lifter, p2)
    p2[:, 3] = np.nan  # a tarsus tracked in no frame
    hidden = model.confidence(lifter, p2)
    assert np.median(hidden[:, 3]) < np.median(seen[:, 3])
    p2[:, 0] = np.nan  # a missing root: its set is not lifted
    assert np.isnan(model.confidence(lifter, p2)[:, 0:5]).all()


def test_the_error_model_is_saved_in_the_model_file(fly, tmp_path):
    lifter, model, full = fly
    lifter.error_model = model
    path = lifter.save(tmp_path / "fly.safetensors")
    back = Lifter.load(path)
    np.testing.assert_array_equal(
        back.predict_error(full["test_2d"][:20], 0.9),
        lifter.predict_error(full["test_2d"][:20], 0.9),
    )
    np.testing.assert_array_equal(
        back.predict(full["test_2d"][:20]), lifter.predict(full["test_2d"][:20])
    )


def test_old_model_files_have_no_error_model_and_lift_as_before(shared_data):
    old = Lifter.load(ENGINE_MOUSE)
    assert old.error_model is None
    assert old.root_heights is None
    with pytest.raises(ConfigError, match="no error model"):
        old.predict_error(np.zeros((1, len(old.keypoints), 2)))


def test_lifted_outputs_carry_the_confidence(fly, tmp_path):
    lifter, model, full = fly
    lifter.error_model = model
    poses = Poses(full["test_2d"][:30], lifter.keypoints)
    result = lift_poses(poses, lifter, root_positions="zero")
    conf = result.poses.confidence[:, 0]
    np.testing.assert_allclose(conf, model.confidence(lifter, full["test_2d"][:30]))
    assert np.all(conf[:, lifter.roots] == 1.0)
    assert float(result.poses.provenance["confidence_tolerance"].split()[0]) == pytest.approx(
        model.tolerance, rel=1e-5
    )
    out = save_dlc(result.poses, tmp_path / "fly_3d.h5")
    table = pd.read_hdf(out)
    assert list(dict.fromkeys(table.columns.get_level_values(-1))) == ["x", "y", "z", "likelihood"]
    back = load_dlc(out)
    np.testing.assert_allclose(back.confidence, result.poses.confidence)
    assert back.provenance["confidence"].startswith("probability")


def test_too_little_held_out_data_and_bad_tables_raise(fly, tmp_path):
    lifter, model, full = fly
    with pytest.raises(ConfigError, match="at least 20"):
        fit_error_model(lifter, full["train_2d"][:30], full["train_3d"][:30])
    with pytest.raises(ConfigError, match="fraction"):
        fit_error_model(lifter, full["train_2d"], full["train_3d"], calibration=1.5)
    meta = model.to_meta()
    meta["quantiles"] = meta["quantiles"][::-1]
    from liftpose_dlc.lifter.uncertainty import ErrorModel

    with pytest.raises(ModelFileError, match="not increasing"):
        ErrorModel.from_saved(meta, model.to_tensors())


def test_fit_on_sequences_calibrates_on_the_last_frames_of_each(fly):
    from liftpose_dlc.lifter.uncertainty import fit_error_model_on_sequences

    lifter, _, full = fly
    p2, p3 = full["train_2d"], full["train_3d"]
    held = [(p2[640:720], p3[640:720]), (p2[720:800], p3[720:800])]
    model = fit_error_model_on_sequences(lifter, held, seed=0)
    # 80 frames each: the last 24 of each calibrate, 3 copies with dropped points
    assert model.info["calibration_pairs"] == 2 * 24 * 3
    assert model.info["fit_pairs"] == 2 * 56 * 3
    few = fit_error_model_on_sequences(lifter, held, seed=0, max_poses=80)  # every 2nd frame
    assert few.info["calibration_pairs"] == 2 * 12 * 3
    with pytest.raises(ConfigError, match="none were given"):
        fit_error_model_on_sequences(lifter, [])
