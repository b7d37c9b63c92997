"""3D pose readers and the load_poses_3d facade: synthetic round trips and bad input."""

from __future__ import annotations

import importlib
import pickle

import h5py
import numpy as np
import pandas as pd
import pytest

from liftpose_dlc import load_poses_3d
from liftpose_dlc.cameras import rodrigues_to_matrix
from liftpose_dlc.errors import FileFormatError, KeypointError, LiftPoseError
from liftpose_dlc.io.anipose import load_anipose_3d, read_anipose_alignment
from liftpose_dlc.io.df3d import DF3D_KEYPOINTS, load_df3d
from liftpose_dlc.io.poses3d import detect_3d_format

RNG = np.random.default_rng(5)
# deliberately not alphabetical: the file's order must be kept
BODYPARTS = ["snout", "ear_left", "ear_right", "tail_base", "paw_front"]


def _require(module: str, name: str):
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        pytest.skip("reader not merged yet")


# ------------------------------------------------------------------ Anipose
def _anipose_table(points, errors, scores, M, center):
    """A pose-3d CSV as anipose.triangulate writes it (aligned points, then M and center)."""
    adj = points @ M.T - center
    df = pd.DataFrame()
    for j, bp in enumerate(BODYPARTS):
        for k, axis in enumerate("xyz"):
            df[f"{bp}_{axis}"] = adj[:, j, k]
        df[f"{bp}_error"] = errors[:, j]
        df[f"{bp}_ncams"] = 3.0
        df[f"{bp}_score"] = scores[:, j]
    for i in range(3):
        for j in range(3):
            df[f"M_{i}{j}"] = M[i, j]
    for i in range(3):
        df[f"center_{i}"] = center[i]
    df["fnum"] = np.arange(len(points))
    return df


@pytest.fixture
def anipose_csv(tmp_path):
    n = 30
    points = RNG.normal(0, 10, size=(n, len(BODYPARTS), 3))
    points[4, 2] = np.nan
    errors = RNG.uniform(0, 20, size=(n, len(BODYPARTS)))
    scores = RNG.uniform(0, 1, size=(n, len(BODYPARTS)))
    M = rodrigues_to_matrix([0.3, -1.2, 0.4])
    center = np.array([5.0, -3.0, 12.0])
    path = tmp_path / "pose-3d" / "session1.csv"
    path.parent.mkdir()
    _anipose_table(points, errors, scores, M, center).to_csv(path, index=False)
    return path, points, errors, scores, M, center


def test_anipose_csv(anipose_csv):
    path, points, errors, scores, M, center = anipose_csv
    poses = load_anipose_3d(path, fps=100)
    assert poses.keypoints == BODYPARTS  # file order, not sorted
    assert poses.data.shape == (30, 1, 5, 3)
    assert poses.fps == 100
    assert poses.source.software == "Anipose"
    # default: back in the calibration frame, undoing M and center
    assert np.allclose(poses.data[:, 0], points, equal_nan=True)
    assert np.isnan(poses.data[4, 0, 2]).all()
    assert np.allclose(poses.confidence[:, 0], scores)
    # as stored
    raw = load_anipose_3d(path, frame="file")
    assert np.allclose(raw.data[:, 0], points @ M.T - center, equal_nan=True)
    M_read, c_read = read_anipose_alignment(path)
    assert np.allclose(M_read, M)
    assert np.allclose(c_read, center)
    # error filter
    filtered = load_anipose_3d(path, max_error=10.0)
    assert np.isnan(filtered.data[:, 0][errors > 10]).all()
    keep = (errors <= 10) & ~np.isnan(points[..., 0])
    assert np.allclose(filtered.data[:, 0][keep], points[keep])


def test_anipose_csv_through_facade(anipose_csv):
    path = anipose_csv[0]
    assert detect_3d_format(path) == "anipose"
    poses = load_poses_3d(path, keypoints=["tail_base", "snout"])
    assert poses.keypoints == ["tail_base", "snout"]
    assert poses.n_dims == 3
    with pytest.raises(KeypointError, match=r"not found: \['nose'\]"):
        load_poses_3d(path, keypoints=["nose"])


def test_anipose_without_alignment_columns(tmp_path):
    df = pd.DataFrame({"a_x": [1.0], "a_y": [2.0], "a_z": [3.0], "a_error": [0.5], "a_score": [1]})
    path = tmp_path / "old.csv"
    df.to_csv(path, index=False)
    poses = load_poses_3d(path)
    assert np.allclose(poses.data[0, 0, 0], [1, 2, 3])


def test_anipose_bad_alignment(anipose_csv, tmp_path):
    df = pd.read_csv(anipose_csv[0])
    singular = df.copy()
    for c in ["M_20", "M_21", "M_22"]:
        singular[c] = 0.0
    path = tmp_path / "singular.csv"
    singular.to_csv(path, index=False)
    with pytest.raises(FileFormatError, match="alignment matrix M is singular"):
        load_anipose_3d(path)
    load_anipose_3d(path, frame="file")  # the stored values are still readable
    varying = df.copy()
    varying.loc[3, "center_1"] = 99.0
    varying.to_csv(path, index=False)
    with pytest.raises(FileFormatError, match="change between rows"):
        load_anipose_3d(path)
    partial = df.drop(columns=["M_11"])
    partial.to_csv(path, index=False)
    with pytest.raises(FileFormatError, match="incomplete alignment columns"):
        load_anipose_3d(path)
    notanipose = tmp_path / "plain.csv"
    pd.DataFrame({"x": [1], "y": [2]}).to_csv(notanipose, index=False)
    with pytest.raises(FileFormatError, match="not an Anipose 3D table"):
        load_anipose_3d(notanipose)
    with pytest.raises(FileFormatError, match="not a recognised 3D pose file"):
        load_poses_3d(notanipose)


# ------------------------------------------------------------------ DeepFly3D
def test_df3d_result(tmp_path):
    pts = RNG.normal(size=(12, 38, 3))
    path = tmp_path / "df3d_result_run1.pkl"
    with open(path, "wb") as fh:
        pickle.dump({"points3d": pts, "points2d": np.zeros((7, 12, 38, 2)), 0: {}}, fh)
    assert detect_3d_format(path) == "df3d"
    poses = load_poses_3d(path)
    assert poses.keypoints == list(DF3D_KEYPOINTS)
    assert poses.keypoints[:5] == ["RF_Coxa", "RF_Femur", "RF_Tibia", "RF_Tarsus", "RF_Claw"]
    assert poses.keypoints[15:19] == ["R_Antenna", "R_Stripe_1", "R_Stripe_2", "R_Stripe_3"]
    assert poses.keypoints[19] == "LF_Coxa"
    assert np.array_equal(poses.data[:, 0], pts)
    assert poses.source.software == "DeepFly3D"


def test_df3d_wrong_count_needs_names(tmp_path):
    path = tmp_path / "df3d_result_small.pkl"
    with open(path, "wb") as fh:
        pickle.dump({"points3d": RNG.normal(size=(3, 30, 3))}, fh)
    with pytest.raises(KeypointError, match="30 keypoints, not DeepFly3D's 38"):
        load_poses_3d(path)
    names = [f"k{i}" for i in range(30)]
    assert load_poses_3d(path, keypoints=names).keypoints == names
    with pytest.raises(KeypointError, match="29 keypoint names given for 30"):
        load_poses_3d(path, keypoints=names[:29])


def test_df3d_aligned_legs(tmp_path):
    legs = {}
    expected = {}
    for leg in ["RF_leg", "LF_leg"]:
        legs[leg] = {}
        for seg in ["Coxa", "Femur", "Tibia", "Tarsus", "Claw"]:
            arr = RNG.normal(size=(8, 3))
            legs[leg][seg] = {
                "raw_pos_aligned": arr,
                "fixed_pos_aligned": arr[0],
                "mean_length": 1.0,
            }
            expected[f"{leg[:2]}_{seg}"] = arr
    path = tmp_path / "pose_result__fly_aligned.pkl"
    with open(path, "wb") as fh:
        pickle.dump(legs, fh)
    poses = load_df3d(path)
    assert poses.keypoints == list(expected)  # file order
    for j, name in enumerate(poses.keypoints):
        assert np.array_equal(poses.data[:, 0, j], expected[name])
    sel = load_poses_3d(path, keypoints=["LF_Claw", "RF_Coxa"])
    assert sel.keypoints == ["LF_Claw", "RF_Coxa"]
    with pytest.raises(FileFormatError, match="neither a DeepFly3D result"):
        load_df3d(path, key="nonexistent_entry")


# ------------------------------------------------------------------ arrays
def test_npy_and_npz(tmp_path):
    arr = RNG.normal(size=(10, 3, 3))
    npy = tmp_path / "lib.npy"
    np.save(npy, arr)
    assert detect_3d_format(npy) == "array"
    poses = load_poses_3d(npy, keypoints=["a", "b", "c"], fps=50)
    assert np.array_equal(poses.data[:, 0], arr)
    assert poses.fps == 50
    with pytest.raises(KeypointError, match="2 keypoint names given for 3 keypoints"):
        load_poses_3d(npy, keypoints=["a", "b"])
    with pytest.raises(KeypointError, match="pass keypoints="):
        load_poses_3d(npy)
    multi = RNG.normal(size=(10, 2, 3, 3))
    npz = tmp_path / "lib.npz"
    np.savez(npz, poses=multi, keypoint_names=np.array(["a", "b", "c"]))
    p = load_poses_3d(npz)
    assert p.keypoints == ["a", "b", "c"]
    assert p.data.shape == (10, 2, 3, 3)
    two = tmp_path / "two.npz"
    np.savez(two, world=arr, aligned=arr)
    with pytest.raises(FileFormatError, match="pass key="):
        load_poses_3d(two, keypoints=["a", "b", "c"])
    assert load_poses_3d(two, keypoints=["a", "b", "c"], key="aligned").n_keypoints == 3
    flat = tmp_path / "flat.npy"
    np.save(flat, np.zeros((10, 9)))
    with pytest.raises(FileFormatError, match="must have shape"):
        load_poses_3d(flat, keypoints=["a"])
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(FileFormatError, match="not a readable"):
        load_poses_3d(obj, keypoints=["a"])


# ------------------------------------------------------------------ sleap-anipose, DLC layout
def _points3d_h5(path, n=20, nodes=4):
    data = RNG.normal(size=(n, 1, nodes, 3))
    with h5py.File(path, "w") as f:
        f.create_dataset("tracks", data=data)
    return data


def test_sleap_anipose_points3d(tmp_path):
    path = tmp_path / "points3d.h5"
    data = _points3d_h5(path)
    assert detect_3d_format(path) == "sleap-anipose"
    _require("liftpose_dlc.io.sleap", "load_sleap_3d")
    poses = load_poses_3d(path, keypoints=["a", "b", "c", "d"])
    assert poses.keypoints == ["a", "b", "c", "d"]
    assert np.allclose(poses.data, data)
    with pytest.raises(LiftPoseError, match="2"):
        load_poses_3d(path, keypoints=["a", "b"])


def _dlc_3d_frame(n=15, bodyparts=("head", "body", "tail"), coords=("x", "y", "z")):
    cols = pd.MultiIndex.from_product(
        [["DLC_resnet50_3d"], list(bodyparts), list(coords)],
        names=["scorer", "bodyparts", "coords"],
    )
    return pd.DataFrame(RNG.normal(size=(n, len(cols))), columns=cols)


def test_dlc_layout_3d(tmp_path):
    df = _dlc_3d_frame()
    h5 = tmp_path / "video1DLC_resnet50_3d_DLC_3D.h5"
    df.to_hdf(h5, key="df_with_missing", format="fixed")
    csv = tmp_path / "video1DLC_resnet50_3d_DLC_3D.csv"
    df.to_csv(csv)
    assert detect_3d_format(h5) == "dlc"
    assert detect_3d_format(csv) == "dlc"
    _require("liftpose_dlc.io.dlc", "load_dlc")
    for path in (h5, csv):
        poses = load_poses_3d(path)
        assert poses.keypoints == ["head", "body", "tail"]
        assert poses.n_dims == 3
        assert np.allclose(poses.data[:, 0].reshape(15, -1), df.to_numpy())
    assert load_poses_3d(h5, keypoints=["tail"]).keypoints == ["tail"]


def test_dlc_layout_2d_is_refused(tmp_path):
    df = _dlc_3d_frame(coords=("x", "y", "likelihood"))
    h5 = tmp_path / "video1DLC_resnet50.h5"
    df.to_hdf(h5, key="df_with_missing", format="fixed")
    _require("liftpose_dlc.io.dlc", "load_dlc")
    with pytest.raises(FileFormatError, match="2D poses, not 3D"):
        load_poses_3d(h5)


def test_hdf5_that_is_neither(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("tracks", data=np.zeros((3, 4)))
    with pytest.raises(FileFormatError, match="neither a sleap-anipose"):
        load_poses_3d(path)
