"""The shipped zoo models lift real 2D of the shared data that they were not trained on.

Each test lifts real 2D with a shipped model (``liftpose_dlc/pretrained/models``) and scores
the 3D, root-relative in the test camera's frame, against the real 3D of the same frames:

* **mouse**: the sleap-anipose mouse (GPL-3.0, never trained on), its real proofread SLEAP 2D
  from the ``top``, ``back`` and ``mid`` cameras (``side``'s calibration is broken upstream),
  against its triangulated 3D. Its names need the user's corrections (``TTI`` is its tail
  base; the automatic map takes ``Tail_0``), which is what ``keypoint_map=`` is for.
* **fly**: the NeuroMechFly fly's real DeepFly3D *network* 2D from its left cameras (4, 5, 6)
  against the 3D triangulated from it (the right triplet reconstructs mirror-imaged legs, see
  ``benchmarks/RESULTS.md``). A side camera sees one side's legs: a subset input, lifted
  with the other side's legs left out.
* **rat**: the only rat there is, so the shipped model has seen its 3D; the test takes the
  last 30% of its frames through the six real calibrated cameras of another rig (DANNCE's
  mouse arena, lens distortion, 2 px noise), camera angles and intrinsics the model never saw.

The bounds hold for any reasonable retraining of the models: each is about 1.5x the error
measured when they were written, and each model must also beat, by a margin (at most 0.75x),
the *mean pose*: the best 3D a lifter that ignores its 2D input could give (the mean of the
true root-relative camera-frame poses over all test cameras and frames; it knows the animal
and the test data, but not which camera or frame it is looking at).
"""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pytest
from realdata import shared_file
from zoo_helpers import ANIPOSE_MAP, one_thread

import liftpose_dlc as lp
from liftpose_dlc.metrics import procrustes_mpjpe
from liftpose_dlc.pretrained import KeypointSubsetWarning

MEAN_POSE_MARGIN = 0.75


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():
        yield


def _mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    return float(np.nanmean(np.linalg.norm(pred - gt, axis=-1)))


def _mean_pose_error(truths: list[np.ndarray]) -> float:
    mean = np.nanmean(np.concatenate(truths), axis=0)
    return float(np.mean([_mpjpe(mean + 0 * g, g) for g in truths]))


def _rel(x: np.ndarray, roots: list[int], sets: list[list[int]]) -> np.ndarray:
    out = np.full_like(x, np.nan)
    for r, ts in zip(roots, sets, strict=True):
        out[:, ts] = x[:, ts] - x[:, [r]]
        out[:, r] = 0.0
    return out


def test_mouse_lifts_the_sleap_anipose_mouse(shared_data):
    folder = shared_file(shared_data, "3d/sleap_anipose_mouse")
    cams = lp.load_calibration(folder / "calibration.toml")
    with h5py.File(folder / "points3d.h5", "r") as f:
        truth_world = np.asarray(f["tracks"][:, 0], dtype=np.float64)
    mouse = lp.load_pretrained("mouse")
    errors, truths = {}, []
    for view in ("top", "back", "mid"):
        poses = lp.load_poses(folder / view / f"minimal_{view}_proofread.analysis.h5")
        names = poses.keypoints
        # the automatic map takes the first tail point for the tail base; the user corrects it
        auto = lp.pretrained.keypoint_map_for(mouse, poses)
        assert auto.mapping["Tail_0"] == "TailBase"
        assert auto.mapping["Nose"] == "Snout"
        assert auto.mapping["Ear_L"] == "EarL"
        assert "TTI" in auto.unmatched
        with warnings.catch_warnings():
            warnings.simplefilter("error", KeypointSubsetWarning)  # one set: nothing dropped
            result = lp.lift_poses(poses, mouse, keypoint_map=ANIPOSE_MAP, root_positions="zero")
        lifted = result.poses
        used = [k for k in lifted.keypoints if k != "TTI"]
        assert {"TTI", "Nose", "Neck", "Trunk", "Shoulder_left"} <= set(lifted.keypoints)
        assert "Tail_0" not in lifted.keypoints
        assert "Head" not in lifted.keypoints
        cols = [names.index(k) for k in used]
        cam = cams[view]
        xc = cam.world_to_camera(truth_world.reshape(-1, 3)).reshape(truth_world.shape)
        gt = xc[:, cols] - xc[:, [names.index("TTI")]]
        pred = lifted.data[:, 0][:, [lifted.keypoints.index(k) for k in used]]
        seen = np.isfinite(poses.data[:, 0][:, cols]).all(-1)  # 3D exactly where 2D is
        np.testing.assert_array_equal(np.isfinite(pred).all(-1), seen)
        np.testing.assert_allclose(lifted.data[:, 0, lifted.keypoints.index("TTI")], 0.0)
        errors[view] = _mpjpe(pred, gt)
        truths.append(gt)
    zoo, mean_pose = float(np.mean(list(errors.values()))), _mean_pose_error(truths)
    # measured when written: 28 mm (top 24, back 19, mid 39); the mean pose: 58 mm
    assert zoo < 45.0, errors
    assert zoo < MEAN_POSE_MARGIN * mean_pose, (errors, mean_pose)


def _nmf(shared_data):
    folder = shared_file(shared_data, "3d/neuromechfly_df3d_walking")
    from liftpose_dlc.io.df3d_2d import load_df3d_2d, triangulate_df3d_2d

    preds = folder / "preds_180921_aDN_PR_Fly8_005_SG1_behData_images-images.pkl"
    calib = folder / "calib_180921_aDN_PR_Fly8_005_SG1_behData_images_images.pkl"
    return triangulate_df3d_2d(preds, calib), lp.load_calibration(calib), load_df3d_2d(preds)


def test_fly_lifts_real_deepfly3d_network_2d(shared_data):
    tri, cams, two_d = _nmf(shared_data)
    fly = lp.load_pretrained("fly")
    units_per_mm = 1.504  # the DeepFly3D rig's (benchmarks/RESULTS.md)
    roots, sets = [0, 5, 10], [[1, 2, 3, 4], [6, 7, 8, 9], [11, 12, 13, 14]]
    errors, pa, truths = {}, {}, []
    for cam_id in (4, 5, 6):
        poses = two_d[cam_id]
        legs = poses.keypoints[:15]
        assert legs[0] == "LF_Coxa"
        assert legs[-1] == "LH_Claw"
        with pytest.warns(KeypointSubsetWarning, match="RF_Coxa"):  # it sees the left legs
            lifted = lp.lift_poses(poses, fly, root_positions="zero").poses
        # the model's names: the antenna and stripes are not lifted, the legs are
        assert lifted.keypoints == legs
        pred = lifted.data[:, 0]
        xw = tri.data[:, 0][:, [tri.keypoints.index(k) for k in legs]]
        xc = cams[f"camera_{cam_id}"].world_to_camera(xw.reshape(-1, 3)).reshape(xw.shape)
        gt = _rel(xc / units_per_mm, roots, sets)
        keep = [j for ts in sets for j in ts]
        errors[cam_id] = _mpjpe(pred[:, keep], gt[:, keep])
        pa[cam_id] = procrustes_mpjpe(gt, np.where(np.isfinite(gt), pred, np.nan), roots, sets)
        truths.append(gt[:, keep])
    zoo, mean_pose = float(np.mean(list(errors.values()))), _mean_pose_error(truths)
    # measured when written: 0.19 mm (Procrustes 0.14); the mean pose: 0.41 mm
    assert zoo < 0.3, errors
    assert zoo < MEAN_POSE_MARGIN * mean_pose, (errors, mean_pose)
    assert float(np.mean(list(pa.values()))) < 0.22, pa


def test_rat_lifts_an_unseen_rig(shared_data):
    import scipy.io

    from liftpose_dlc.io.calibration import cameras_from_dannce
    from liftpose_dlc.io.dannce import load_dannce_predictions

    rat_dir = shared_file(shared_data, "3d/stac_rat")
    dannce = shared_file(shared_data, "3d/dannce_mouse1_predictions/calibration")
    p3 = load_dannce_predictions(
        rat_dir / "test_rodent_mocap_1000_frames.mat", rat_dir / "rat23.mat"
    )
    rat = lp.load_pretrained("rat")
    assert p3.keypoints == rat.keypoints
    x = p3.data[700:, 0]
    # into the middle of the mouse arena (on its floor), where those cameras look
    x = x - np.nanmean(x, axis=(0, 1)) + [75.5, 56.7, 0.0]
    x[..., 2] -= np.nanmin(x[..., 2])
    root = rat.keypoints.index("TailBase")
    others = [j for j in range(len(rat.keypoints)) if j != root]
    rng = np.random.default_rng(0)
    errors, pa, truths = {}, {}, []
    for i in range(1, 7):
        m = scipy.io.loadmat(dannce / f"kyle_cam{i}_params.mat")
        params = {k: m[k] for k in ("K", "r", "t", "RDistort", "TDistort")}
        cam = cameras_from_dannce([params], camera_names=["cam"])["cam"]
        n = len(x)
        uv = cam.project(x.reshape(-1, 3)).reshape(n, -1, 2) + rng.normal(0, 2.0, (n, 23, 2))
        xc = cam.world_to_camera(x.reshape(-1, 3)).reshape(x.shape)
        gt = (xc - xc[:, [root]])[:, others]
        poses = lp.Poses(uv, rat.keypoints)
        pred = lp.lift_poses(poses, rat, root_positions="zero").poses.data[:, 0][:, others]
        errors[i] = _mpjpe(pred, gt)
        pa[i] = procrustes_mpjpe(gt, pred)
        truths.append(gt)
    zoo, mean_pose = float(np.mean(list(errors.values()))), _mean_pose_error(truths)
    # measured when written: 12 mm (Procrustes 5.0); the mean pose: 75 mm
    assert zoo < 20.0, errors
    assert zoo < MEAN_POSE_MARGIN * mean_pose, (errors, mean_pose)
    assert float(np.mean(list(pa.values()))) < 8.0, pa
