"""Real 3D data: the sleap-anipose mouse session and the DeepFly3D fly in its 7-camera rig."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from realdata import shared_file

from liftpose_dlc import Poses, Source, load_calibration, load_poses_3d, make_training_pairs
from liftpose_dlc.io.calibration import cameras_from_arrays

pytestmark = pytest.mark.realdata

MOUSE = "3d/sleap_anipose_mouse"
FLY_NPZ = "3d/df3d_fly/df3d_210902_PR_Fly1_1000f_in_reference_rig.npz"
FLY_PKL = "3d/df3d_fly/pose_result__210902_PR_Fly1_aligned.pkl"


def _node_names(shared_data) -> list[str]:
    """Node names of the session, from the top view's .slp (or its analysis export)."""
    analysis = shared_file(shared_data, f"{MOUSE}/top/minimal_top_proofread.analysis.h5")
    with h5py.File(analysis, "r") as f:
        from_analysis = [n.decode() for n in f["node_names"][:]]
    try:
        import sleap_io
    except ImportError:
        return from_analysis
    slp = shared_file(shared_data, f"{MOUSE}/top/minimal_top_proofread.slp")
    from_slp = sleap_io.load_slp(str(slp), open_videos=False).skeletons[0].node_names
    assert from_slp == from_analysis
    return list(from_slp)


def _mouse_poses(shared_data) -> Poses:
    path = shared_file(shared_data, f"{MOUSE}/points3d.h5")
    with h5py.File(path, "r") as f:
        tracks = f["tracks"][:]
    assert tracks.shape == (120, 1, 15, 3)
    return Poses(tracks, _node_names(shared_data), source=Source(path, "sleap-anipose"))


def _sleap_2d(shared_data, view: str) -> np.ndarray:
    """Proofread 2D of one view, (frames, nodes, 2), from the SLEAP analysis export."""
    path = shared_file(shared_data, f"{MOUSE}/{view}/minimal_{view}_proofread.analysis.h5")
    with h5py.File(path, "r") as f:
        tracks = f["tracks"][:]  # (tracks, 2, nodes, frames): MATLAB layout
    assert tracks.shape == (1, 2, 15, 120)
    return tracks[0].T  # (frames, nodes, 2)


def test_mouse_projection_matches_sleap_2d(shared_data):
    poses = _mouse_poses(shared_data)
    cams = load_calibration(shared_file(shared_data, f"{MOUSE}/calibration.toml"))
    assert list(cams) == ["back", "mid", "side", "top"]
    assert all(c.size == (1280, 1024) for c in cams.values())
    medians = {}
    for view, cam in cams.items():
        proj = cam.project(poses.data[:, 0])  # distorted pixels, as SLEAP saw them
        dist = np.linalg.norm(proj - _sleap_2d(shared_data, view), axis=-1)
        medians[view] = float(np.nanmedian(dist))
    print("median reprojection distance to proofread SLEAP 2D (px):", medians)
    for view in ["back", "mid", "top"]:
        assert medians[view] < 12, medians
    # upstream defect: the side camera's calibration is a copy of top's, so it must be far off
    assert np.array_equal(cams["side"].R, cams["top"].R)
    assert medians["side"] > 50, medians


def test_mouse_points3d_through_facade(shared_data):
    names = _node_names(shared_data)
    poses = load_poses_3d(shared_file(shared_data, f"{MOUSE}/points3d.h5"), keypoints=names)
    assert poses.data.shape == (120, 1, 15, 3)
    assert poses.keypoints == names
    assert np.allclose(poses.data, _mouse_poses(shared_data).data)


def test_fly_npz_projection_reproduces_opencv(shared_data):
    path = shared_file(shared_data, FLY_NPZ)
    with np.load(path) as d:
        arrays = {k: d[k] for k in d.files}
    cams = cameras_from_arrays(
        arrays["K"], arrays["R_cam"], arrays["tvec"], arrays["distort"],
        sizes=arrays["image_size_wh"],
    )  # fmt: skip
    assert load_calibration(path).keys() == cams.keys()
    worst = 0.0
    for i, cam in enumerate(cams.values()):
        uv = cam.project(arrays["points3d_world"])
        worst = max(worst, float(np.abs(uv - arrays["points2d_xy"][i]).max()))
    print(f"largest difference to OpenCV's projection over 7 x 1000 x 30 points: {worst:.2e} px")
    assert worst < 1e-6


def test_fly_aligned_pkl_loads_with_npz_names(shared_data):
    with np.load(shared_file(shared_data, FLY_NPZ)) as d:
        names = [str(n) for n in d["keypoint_names"]]
        aligned = d["points3d_aligned_original"]
    poses = load_poses_3d(shared_file(shared_data, FLY_PKL))
    assert poses.data.shape == (1000, 1, 30, 3)
    assert sorted(poses.keypoints) == sorted(names)
    assert poses.keypoints[:5] == ["RF_Coxa", "RF_Femur", "RF_Tibia", "RF_Tarsus", "RF_Claw"]
    assert np.array_equal(poses.select(keypoints=names).data[:, 0], aligned)


@pytest.mark.slow
def test_lifter_from_training_pairs_on_mouse_session(shared_data):
    from liftpose_dlc.lifter.lifter import Lifter

    poses = _mouse_poses(shared_data)
    names = poses.keypoints
    cams = load_calibration(
        shared_file(shared_data, f"{MOUSE}/calibration.toml"), cameras=["back", "mid", "top"]
    )
    # train on two views (with 2D noise, several draws), evaluate on the third
    train_2d, train_3d = {}, {}
    for seed in range(4):
        d2, d3 = make_training_pairs(
            poses, {"back": cams["back"], "top": cams["top"]}, noise_px=3.0, seed=seed
        )
        train_2d.update({f"{k}/noise{seed}": v for k, v in d2.items()})
        train_3d.update({f"{k}/noise{seed}": v for k, v in d3.items()})
    test_2d, test_3d = make_training_pairs(poses, {"mid": cams["mid"]})
    (key,) = test_2d

    root = names.index("Trunk")
    lifter = Lifter(names, ["Trunk"], [[n for n in names if n != "Trunk"]])
    lifter.fit(train_2d, train_3d, epochs=30, verbose=False)
    pred = np.asarray(lifter.predict(test_2d[key]))
    assert pred.shape == (120, 15, 3)

    def rel(a):
        return a - a[:, [root]]

    gt = rel(test_3d[key])
    mean_pose = np.mean([rel(v) for v in train_3d.values()], axis=(0, 1))
    err_lifter = float(np.nanmean(np.linalg.norm(rel(pred) - gt, axis=-1)))
    err_mean = float(np.nanmean(np.linalg.norm(mean_pose - gt, axis=-1)))
    print(
        f"mouse, trained on back+top, tested on mid: lifter {err_lifter:.1f} mm, "
        f"training mean pose {err_mean:.1f} mm (root-relative mean per-joint error)"
    )
    assert err_lifter < err_mean
