"""The 3D confidence in lifted files, with infer_occluded, streamed in chunks (§2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io
from realdata import shared_file
from wf_helpers import one_thread_fixture

from liftpose_dlc import Lifter, lift_file
from liftpose_dlc.io.calibration import cameras_from_dannce
from liftpose_dlc.io.dlc import load_dlc, load_dlc_inferred
from liftpose_dlc.lifter.uncertainty import fit_error_model

one_torch_thread = pytest.fixture(autouse=True)(one_thread_fixture)
MOUSE = Path(__file__).resolve().parents[1] / "data" / "lifters" / "mouse_engine.safetensors"
OPENFIELD = "dlc/openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
DANNCE = "3d/dannce_mouse1_predictions"


@pytest.fixture(scope="module")
def lifter(shared_data):
    """The engine's openfield lifter with an error model fitted on real DANNCE mouse views."""
    pred = scipy.io.loadmat(shared_file(shared_data, f"{DANNCE}/save_data_AVG.mat"))["pred"]
    pred = pred.transpose(0, 2, 1)[:, [2, 0, 1, 5]]  # Snout, EarL, EarR, Tail(base)
    m = scipy.io.loadmat(shared_file(shared_data, f"{DANNCE}/calibration/kyle_cam2_params.mat"))
    cam = cameras_from_dannce({k: m[k] for k in ("K", "r", "t", "RDistort", "TDistort")})
    cam = next(iter(cam.values()))
    model = Lifter.load(MOUSE)
    model.error_model = fit_error_model(model, cam.project(pred), cam.world_to_camera(pred))
    return model


def test_dlc_lift_with_infer_occluded_writes_the_confidence(lifter, shared_data, tmp_path):
    src = tmp_path / Path(OPENFIELD).name
    src.symlink_to(shared_file(shared_data, OPENFIELD))
    out = lift_file(src, lifter, pcutoff=0.9, infer_occluded=True, chunk_size=700, verbose=False)
    table = pd.read_hdf(out)
    assert list(dict.fromkeys(table.columns.get_level_values(-1))) == ["x", "y", "z", "likelihood"]
    poses = load_dlc(out)
    inferred = load_dlc_inferred(out)[:, 0]
    conf = poses.confidence[:, 0]
    assert inferred.sum() >= 5  # most misses of this file are the root (the snout)
    lifted = np.isfinite(poses.data[:, 0]).all(-1)
    assert np.all((conf[lifted] > 0) & (conf[lifted] <= 1))
    assert np.all(conf[lifted[:, 0], 0] == 1.0)  # the root
    # (that the lifter is less sure of inferred points is tested on fly data the error model
    # was calibrated for: tests/lifter/test_uncertainty.py; this one is out of its domain)
    assert np.all(np.isfinite(conf[inferred]))
    assert float(poses.provenance["confidence_tolerance"]) > 0
    # the in-memory lift gives the same confidence as the file streamed in chunks
    whole = lift_file(
        src, lifter, output=tmp_path / "whole_3d.h5", pcutoff=0.9, infer_occluded=True,
        verbose=False,
    )  # fmt: skip
    np.testing.assert_allclose(load_dlc(whole).confidence, poses.confidence, rtol=1e-6)
