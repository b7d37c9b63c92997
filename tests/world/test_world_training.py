"""Root heights learned from the real DANNCE library and stored with the lifter (§1)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
from realdata import shared_file
from wf_helpers import one_thread_fixture

from liftpose_dlc import Lifter, Poses
from liftpose_dlc.errors import ConfigError
from liftpose_dlc.io.calibration import cameras_from_dannce
from liftpose_dlc.workflow.training import train_from_library

one_torch_thread = pytest.fixture(autouse=True)(one_thread_fixture)
DANNCE = "3d/dannce_mouse1_predictions"


@pytest.fixture(scope="module")
def library(shared_data):
    mat = scipy.io.loadmat(shared_file(shared_data, f"{DANNCE}/save_data_AVG.mat"))
    skel = scipy.io.loadmat(shared_file(shared_data, f"{DANNCE}/mouse22_skeleton.mat"))
    names = [str(n[0]) for n in skel["joint_names"][0]]
    cams = {}
    for i in range(1, 7):
        m = scipy.io.loadmat(
            shared_file(shared_data, f"{DANNCE}/calibration/kyle_cam{i}_params.mat")
        )
        params = {k: m[k] for k in ("K", "r", "t", "RDistort", "TDistort")}
        cams.update(cameras_from_dannce(params, camera_names=[f"Camera{i}"]))
    return Poses(mat["pred"].transpose(0, 2, 1)[:200], names), cams


def _train(library, cams, path, **kw):
    return train_from_library(
        library, cams, model_path=path, roots=["SpineM"], units="mm", epochs=1,
        linear_size=32, verbose=False, **kw,
    )  # fmt: skip


def test_root_heights_are_learned_and_saved(library, tmp_path):
    poses, cams = library
    lifter = _train(poses, cams, tmp_path / "m.safetensors")
    spine = poses.data[:, 0, poses.keypoints.index("SpineM"), 2]
    assert lifter.root_heights == pytest.approx([float(np.median(spine))])
    lowest = np.nanmin(poses.data[:, 0, :, 2], axis=1)
    assert lifter.floor_clearance == pytest.approx(float(np.median(lowest)))
    back = Lifter.load(tmp_path / "m.safetensors")
    assert back.root_heights == lifter.root_heights
    assert back.floor_clearance == lifter.floor_clearance
    # the floor fitted to the paws (oriented by the cameras) is the world's z = 0 within mm
    fitted = _train(poses, cams, tmp_path / "f.safetensors", floor="fit")
    assert abs(fitted.root_heights[0] - lifter.root_heights[0]) < 3.0
    with pytest.raises(ConfigError, match="floor must be"):
        _train(poses, cams, tmp_path / "x.safetensors", floor="paws")
