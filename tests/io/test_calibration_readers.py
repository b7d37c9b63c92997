"""Calibration readers: synthetic round trips for every format, and bad input."""

from __future__ import annotations

import pickle

import h5py
import numpy as np
import pytest

from liftpose_dlc import Camera, load_calibration
from liftpose_dlc.cameras import rodrigues_to_matrix
from liftpose_dlc.errors import CalibrationError, FileFormatError, MissingFileError
from liftpose_dlc.io.calibration import (
    cameras_from_arrays,
    cameras_from_dannce,
    cameras_from_df3d,
    cameras_from_dlc_stereo,
)

RNG = np.random.default_rng(11)
WORLD = RNG.normal(0, 20, size=(40, 3))


def _K(f=800.0, cx=640.0, cy=512.0):
    return np.array([[f, 0.0, cx], [0.0, f * 1.01, cy], [0.0, 0.0, 1.0]])


def _assert_same_camera(a: Camera, b: Camera):
    assert np.allclose(a.K, b.K)
    assert np.allclose(a.R, b.R, atol=1e-12)
    assert np.allclose(a.t, b.t)
    assert np.allclose(a.project(WORLD), b.project(WORLD), atol=1e-6)


# ------------------------------------------------------------------ Anipose
ANIPOSE_TOML = """\
[cam_0]
name = "top"
size = [ 1280, 1024,]
matrix = [ [ 964.72, 0.0, 639.5,], [ 0.0, 964.72, 511.5,], [ 0.0, 0.0, 1.0,],]
distortions = [ -0.2939, 0.01, 0.0, 0.0, 0.0,]
rotation = [ 0.51, 0.49, 2.71,]
translation = [ -137.6, -91.7, 300.0,]

[cam_1]
name = "back"
size = [ 640, 480,]
matrix = [ [ 769.9, 0.0, 320.5,], [ 0.0, 769.9, 240.5,], [ 0.0, 0.0, 1.0,],]
distortions = [ -0.28, 0.0, 0.0, 0.0, 0.0,]
rotation = [ -0.016, 0.0024, -0.0008,]
translation = [ 0.11, -5.9, 122.3,]

[metadata]
adjusted = false
error = 0.91
"""


def test_anipose_toml(tmp_path):
    path = tmp_path / "calibration.toml"
    path.write_text(ANIPOSE_TOML)
    cams = load_calibration(path)
    assert list(cams) == ["top", "back"]  # the file's order
    top = cams["top"]
    assert top.name == "top"
    assert top.size == (1280, 1024)
    assert np.allclose(top.R, rodrigues_to_matrix([0.51, 0.49, 2.71]))
    assert np.allclose(top.t, [-137.6, -91.7, 300.0])
    assert np.allclose(top.dist, [-0.2939, 0.01, 0, 0, 0])
    assert np.allclose(top.K[0], [964.72, 0, 639.5])
    assert cams["back"].size == (640, 480)
    # selection and order
    assert list(load_calibration(path, cameras=["back", "top"])) == ["back", "top"]


@pytest.mark.parametrize(
    ("edit", "error", "match"),
    [
        (lambda s: s.replace("translation = [ -137.6, -91.7, 300.0,]\n", ""), CalibrationError,
         r"\[cam_0\]: missing field 'translation'"),
        (lambda s: s.replace("rotation = [ 0.51, 0.49, 2.71,]", "rotation = [ 0.51, 0.49,]"),
         CalibrationError, "Rodrigues vector has 3 numbers"),
        (lambda s: s.replace("964.72, 0.0, 639.5", "nan, 0.0, 639.5"), CalibrationError,
         "non-finite"),
        (lambda s: s.replace("964.72, 0.0, 639.5", "0.0, 0.0, 639.5"), CalibrationError,
         "K is singular"),
        (lambda s: s.replace('name = "back"', 'name = "top"'), CalibrationError, "appears twice"),
        (lambda s: s.replace("[cam_0]", "[cam_0]\nfisheye = true"), CalibrationError, "fisheye"),
        (lambda s: "[metadata]\nerror = 1.0\n", CalibrationError, "no camera tables"),
        (lambda s: s.replace("[cam_0]", "[cam_0"), CalibrationError, "not a recognised"),
        (lambda s: "\x00\x01binary junk", CalibrationError, "not a recognised"),
    ],
)  # fmt: skip
def test_anipose_toml_bad(tmp_path, edit, error, match):
    path = tmp_path / "calibration.toml"
    path.write_text(edit(ANIPOSE_TOML))
    with pytest.raises(error, match=match):
        load_calibration(path)


def test_missing_camera_and_missing_file(tmp_path):
    path = tmp_path / "calibration.toml"
    path.write_text(ANIPOSE_TOML)
    with pytest.raises(CalibrationError, match=r"cameras not found: \['side'\].*'top', 'back'"):
        load_calibration(path, cameras=["top", "side"])
    with pytest.raises(MissingFileError, match="calibration file not found"):
        load_calibration(tmp_path / "nope.toml")


# ------------------------------------------------------------------ DeepFly3D
def _df3d_dict():
    d = {"points3d": RNG.normal(size=(5, 38, 3)), "camera_ordering": np.arange(3)}
    cams = {}
    for i in range(3):
        rvec = RNG.normal(0, 0.5, 3)
        d[i] = {
            "R": rodrigues_to_matrix(rvec),
            "tvec": np.array([1.0 * i, 0.5, 118.0]),
            "intr": _K(16041.0, 240.0, 480.0),
            "distort": np.array([0.01 * i, 0.0, 0.0, 0.0, 0.0]),
        }
        cams[f"camera_{i}"] = Camera(d[i]["intr"], d[i]["R"], d[i]["tvec"], d[i]["distort"])
    return d, cams


def test_df3d_pickle(tmp_path):
    d, expected = _df3d_dict()
    path = tmp_path / "df3d_result_test.pkl"
    with open(path, "wb") as fh:
        pickle.dump(d, fh)
    cams = load_calibration(path)
    assert list(cams) == ["camera_0", "camera_1", "camera_2"]
    for name in cams:
        _assert_same_camera(cams[name], expected[name])
    named = load_calibration(path, camera_names=["L1", "L2", "L3"])
    assert list(named) == ["L1", "L2", "L3"]
    # the dictionary itself
    assert list(cameras_from_df3d(d)) == ["camera_0", "camera_1", "camera_2"]


def test_df3d_bad(tmp_path):
    d, _ = _df3d_dict()
    del d[1]["tvec"]
    with pytest.raises(CalibrationError, match="camera 1: missing field 'tvec'"):
        cameras_from_df3d(d)
    d, _ = _df3d_dict()
    d[2]["R"] = np.ones((3, 3))
    with pytest.raises(CalibrationError, match="not a rotation matrix"):
        cameras_from_df3d(d)
    with pytest.raises(CalibrationError, match="2 camera names given for 3 cameras"):
        cameras_from_df3d(_df3d_dict()[0], camera_names=["a", "b"])
    with pytest.raises(CalibrationError, match="no DeepFly3D cameras"):
        cameras_from_df3d({"points3d": np.zeros((1, 38, 3))})


def test_pickle_with_code_is_refused(tmp_path):
    path = tmp_path / "evil.pkl"

    class Evil:
        def __reduce__(self):
            return (print, ("this must not run",))

    with open(path, "wb") as fh:
        pickle.dump({0: Evil()}, fh)
    with pytest.raises(FileFormatError, match=r"refusing to load builtins\.print"):
        load_calibration(path)


# ------------------------------------------------------------------ DeepLabCut 3D
def _dlc_stereo(names=("camera-1", "camera-2")):
    K1, K2 = _K(900, 320, 240), _K(850, 330, 250)
    d1 = np.array([[-0.2, 0.05, 0.001, -0.001, 0.0]])
    d2 = np.array([[-0.1, 0.02, 0.0, 0.002, 0.001]])
    R = rodrigues_to_matrix([0.05, -0.6, 0.02])
    T = np.array([[120.0], [3.0], [40.0]])
    R1 = rodrigues_to_matrix([0.01, -0.3, 0.005])
    pair = {
        "cameraMatrix1": K1, "cameraMatrix2": K2, "distCoeffs1": d1, "distCoeffs2": d2,
        "R": R, "T": T, "E": np.eye(3), "F": np.eye(3), "R1": R1, "R2": np.eye(3),
        "P1": np.zeros((3, 4)), "P2": np.zeros((3, 4)), "Q": np.eye(4),
        "roi1": (0, 0, 640, 480), "roi2": (0, 0, 640, 480),
        "image_shape": [(640, 480), (640, 480)],
    }  # fmt: skip
    return {f"{names[0]}-{names[1]}": pair}, (K1, K2, d1, d2, R, T, R1)


def test_dlc_stereo_pickle(tmp_path):
    params, (K1, K2, d1, d2, R, T, R1) = _dlc_stereo()
    path = tmp_path / "stereo_params.pickle"
    with open(path, "wb") as fh:
        pickle.dump(params, fh)
    cams = load_calibration(path)
    assert list(cams) == ["camera-1", "camera-2"]
    c1, c2 = cams["camera-1"], cams["camera-2"]
    assert c1.size == (640, 480)
    assert np.allclose(c1.dist, d1.ravel())
    # default frame: DeepLabCut's triangulation frame, rectified camera 1 (X_rect = R1 X_cam1)
    X_cam1 = WORLD + [0, 0, 300]
    X_rect = X_cam1 @ R1.T
    assert np.allclose(c1.world_to_camera(X_rect), X_cam1)
    assert np.allclose(c2.world_to_camera(X_rect), X_cam1 @ R.T + T.ravel())
    # camera 1's own frame
    own = load_calibration(path, frame="camera1")
    assert np.allclose(own["camera-1"].R, np.eye(3))
    assert np.allclose(own["camera-2"].world_to_camera(X_cam1), X_cam1 @ R.T + T.ravel())
    # projection into camera 2 equals OpenCV's model with its own K and distortion
    ref = Camera(K2, R, T.ravel(), d2.ravel())
    assert np.allclose(own["camera-2"].project(X_cam1), ref.project(X_cam1))


def test_dlc_stereo_names_and_errors():
    params, _ = _dlc_stereo(("left", "right"))
    assert list(cameras_from_dlc_stereo(params)) == ["left", "right"]
    ambiguous, _ = _dlc_stereo(("cam-a", "cam-bb"))
    with pytest.raises(CalibrationError, match="pass camera_names"):
        cameras_from_dlc_stereo(ambiguous)
    assert list(cameras_from_dlc_stereo(ambiguous, camera_names=["cam-a", "cam-bb"])) == [
        "cam-a",
        "cam-bb",
    ]
    with pytest.raises(CalibrationError, match="no pair 'x-y'"):
        cameras_from_dlc_stereo(params, camera_names=["x", "y"])
    del params["left-right"]["R1"]
    with pytest.raises(CalibrationError, match="missing field 'R1'"):
        cameras_from_dlc_stereo(params)
    assert np.allclose(cameras_from_dlc_stereo(params, frame="camera1")["left"].R, np.eye(3))
    params["left-right"]["R"] = np.full((3, 3), np.nan)
    with pytest.raises(CalibrationError, match="non-finite"):
        cameras_from_dlc_stereo(params, frame="camera1")


# ------------------------------------------------------------------ DANNCE / Label3D
def _dannce_params(n=3):
    """Per-camera structs in DANNCE's MATLAB convention, and the expected cameras."""
    params, expected = [], {}
    for i in range(n):
        K = _K(1000.0 + 50 * i, 600.0, 500.0)
        R = rodrigues_to_matrix(RNG.normal(0, 0.4, 3))
        t = np.array([10.0 * i, -5.0, 400.0])
        rd, td = np.array([-0.2 + 0.01 * i, 0.05, 0.001]), np.array([0.001, -0.002])
        params.append(
            {"K": K.T, "r": R.T, "t": t[None, :], "RDistort": rd[None], "TDistort": td[None]}
        )
        name = f"Camera{i + 1}"
        expected[name] = Camera(K, R, t, [rd[0], rd[1], td[0], td[1], rd[2]], name=name)
    return params, expected


def test_dannce_matlab_convention_projects_like_dannce():
    params, expected = _dannce_params(2)
    cams = cameras_from_dannce(params, camera_names=["A", "B"])
    assert list(cams) == ["A", "B"]
    # DANNCE's own projection: [X 1] @ [r; t] @ K, then divide (no distortion)
    p = params[0]
    M = np.concatenate([p["r"], p["t"]], axis=0) @ p["K"]
    proj = np.hstack([WORLD, np.ones((len(WORLD), 1))]) @ M
    assert np.allclose(cams["A"].project(WORLD, distort=False), proj[:, :2] / proj[:, 2:])
    _assert_same_camera(cams["B"], expected["Camera2"])


def _write_mat73(path, params, camnames):
    """A MATLAB v7.3 file as MATLAB writes it: HDF5 with a 512-byte header, cells as refs."""
    with h5py.File(path, "w", userblock_size=512) as f:
        refs = f.create_group("#refs#")
        cell = []
        for i, p in enumerate(params):
            g = refs.create_group(f"p{i}")
            for k, v in p.items():
                g.create_dataset(k, data=np.asarray(v, dtype=np.float64).T)  # column-major
            cell.append(g.ref)
        f.create_dataset("params", data=np.array(cell, dtype=h5py.ref_dtype)[None, :])
        names = []
        for i, n in enumerate(camnames):
            ds = refs.create_dataset(f"n{i}", data=np.array([[ord(c)] for c in n], dtype=np.uint16))
            names.append(ds.ref)
        f.create_dataset("camnames", data=np.array(names, dtype=h5py.ref_dtype)[None, :])
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan 1 00:00:00 2024 HDF5"
    with open(path, "r+b") as fh:
        fh.write(header.ljust(116, b" "))


def test_dannce_mat_v73(tmp_path):
    params, expected = _dannce_params(3)
    path = tmp_path / "rig_label3d_dannce.mat"
    _write_mat73(path, params, ["Camera1", "Camera2", "Camera3"])
    cams = load_calibration(path)
    assert list(cams) == ["Camera1", "Camera2", "Camera3"]
    for name in cams:
        _assert_same_camera(cams[name], expected[name])
        assert np.allclose(cams[name].dist, expected[name].dist)


def test_dannce_mat_v73_struct_array(tmp_path):
    """params saved as a struct array: one dataset of references per field."""
    params, expected = _dannce_params(2)
    path = tmp_path / "struct_params.mat"
    with h5py.File(path, "w", userblock_size=512) as f:
        refs = f.create_group("#refs#")
        group = f.create_group("params")
        for field in params[0]:
            cell = []
            for i, p in enumerate(params):
                ds = refs.create_dataset(f"{field}{i}", data=np.asarray(p[field], dtype=float).T)
                cell.append(ds.ref)
            group.create_dataset(field, data=np.array(cell, dtype=h5py.ref_dtype)[None, :])
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file".ljust(116, b" "))
    cams = load_calibration(path)
    assert list(cams) == ["Camera1", "Camera2"]
    for name in cams:
        _assert_same_camera(cams[name], expected[name])


def test_dannce_mat_v5(tmp_path):
    scipy_io = pytest.importorskip("scipy.io")
    params, expected = _dannce_params(2)
    cell = np.empty((2, 1), dtype=object)
    for i, p in enumerate(params):
        cell[i, 0] = p
    names = np.empty((2, 1), dtype=object)
    names[:, 0] = ["left", "right"]
    path = tmp_path / "params_v5.mat"
    scipy_io.savemat(path, {"params": cell, "camnames": names})
    cams = load_calibration(path)
    assert list(cams) == ["left", "right"]
    _assert_same_camera(cams["left"], expected["Camera1"])
    _assert_same_camera(cams["right"], expected["Camera2"])


def test_dannce_bad(tmp_path):
    params, _ = _dannce_params(2)
    params[1]["RDistort"] = np.zeros((1, 4))
    with pytest.raises(CalibrationError, match="camera 2 .*RDistort must have 2 or 3"):
        cameras_from_dannce(params)
    params, _ = _dannce_params(1)
    del params[0]["r"]
    with pytest.raises(CalibrationError, match="missing field 'r' / 'R'"):
        cameras_from_dannce(params)
    path = tmp_path / "other.mat"
    with h5py.File(path, "w", userblock_size=512) as f:
        f.create_dataset("labelData", data=np.zeros(3))
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file".ljust(116, b" "))
    with pytest.raises(CalibrationError, match=r"no 'params' variable .*labelData"):
        load_calibration(path)


# ------------------------------------------------------------------ arrays
def test_arrays_and_npz(tmp_path):
    Ks = np.stack([_K(700), _K(750)])
    rvecs = RNG.normal(0, 0.3, (2, 3))
    Rs = np.stack([rodrigues_to_matrix(r) for r in rvecs])
    ts = np.array([[0.0, 0, 100], [10, 0, 110]])
    dist = np.array([[-0.1, 0, 0, 0, 0], [0.05, 0, 0, 0, 0]])
    cams = cameras_from_arrays(Ks, Rs, ts, dist, names=["a", "b"], sizes=(640, 480))
    assert list(cams) == ["a", "b"]
    assert cams["b"].size == (640, 480)
    via_rvec = cameras_from_arrays(Ks, t=ts, dist=dist, rvec=rvecs)
    _assert_same_camera(via_rvec["cam_1"], cams["b"])
    path = tmp_path / "rig.npz"
    np.savez(path, K=Ks, R_cam=Rs, tvec=ts, distort=dist, image_size_wh=np.array([640, 480]))
    loaded = load_calibration(path, camera_names=["a", "b"])
    for name in cams:
        _assert_same_camera(loaded[name], cams[name])
    with pytest.raises(CalibrationError, match="exactly one of R"):
        cameras_from_arrays(Ks, t=ts)
    with pytest.raises(CalibrationError, match="K has 2 cameras but t has 3"):
        cameras_from_arrays(Ks, Rs[[0, 1, 1]], np.zeros((3, 3)))
    bad = tmp_path / "bad.npz"
    np.savez(bad, K=Ks, tvec=ts)
    with pytest.raises(CalibrationError, match="needs arrays K, R"):
        load_calibration(bad)
    npy = tmp_path / "single.npy"
    np.save(npy, Ks)
    with pytest.raises(CalibrationError, match="single .npy array is not a calibration"):
        load_calibration(npy)
