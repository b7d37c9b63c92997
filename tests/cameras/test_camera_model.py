"""Camera model: projection against OpenCV, undistortion, rotations, virtual cameras."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from liftpose_dlc import Camera
from liftpose_dlc.cameras import (
    PointsBehindCameraWarning,
    UndistortionWarning,
    camera_from_euler,
    euler_to_matrix,
    matrix_to_rodrigues,
    orthographic_camera,
    rodrigues_to_matrix,
    sample_cameras,
    weak_perspective_camera,
)
from liftpose_dlc.errors import CalibrationError

# Reference values computed with OpenCV 5.0.0 (opencv-python-headless):
#   cv2.projectPoints(X, RVEC, T, K, dist)
K = np.array([[812.5, 0, 645.25], [0, 790.75, 498.5], [0, 0, 1]])
RVEC = np.array([0.31, -0.22, 0.14])
T = np.array([4.5, -2.75, 95.0])
X = np.array([[0.0, 0, 0], [10, -5, 3], [-20, 15, -8], [25, 25, 10], [-30, -10, 20], [5, -35, -15]])
OPENCV = {
    (-0.2853, 0.0, 0.0, 0.0, 0.0): [
        [683.7030039352949, 475.62999374494507],
        [763.1614543289879, 439.75996952953693],
        [499.797685733345, 604.6701221626876],
        [798.0305735976057, 632.1852554287943],
        [442.880219008553, 338.9162243956167],
        [835.5389338068089, 187.6859134882202],
    ],
    (-0.29, 0.11, 0.0012, -0.0021, 0.023): [
        [683.686897861912, 475.6393697941646],
        [763.0155633137854, 439.83531762203427],
        [499.540857926639, 604.8422924364919],
        [797.8842919525696, 632.2194825381602],
        [442.3979400053861, 338.7871472084722],
        [835.8490352409748, 186.7355579476495],
    ],
    (-0.29, 0.11, 0.0012, -0.0021, 0.023, 0.012, 0.0021, 0.0011): [
        [683.6854751500392, 475.6402159550909],
        [762.9772018187102, 439.85442819447553],
        [499.63167281711964, 604.77600385205],
        [797.761104825873, 632.1116919852765],
        [442.6691102942419, 339.0009853532552],
        [835.2696719982087, 187.68187812221993],
    ],
    (
        -0.29, 0.11, 0.0012, -0.0021, 0.023, 0.012, 0.0021, 0.0011,
        0.0013, -0.0022, 0.0031, 0.0005,
    ): [
        [683.6887132382412, 475.64777400099223],
        [763.0044103565726, 439.92088384191476],
        [499.6813999918045, 604.9034991968686],
        [797.8233869598456, 632.2762892379727],
        [442.76333667660947, 339.2741444795563],
        [835.420500319886, 188.2968633623836],
    ],
}  # fmt: skip


@pytest.mark.parametrize("dist", list(OPENCV))
def test_project_matches_opencv(dist):
    cam = Camera.from_rodrigues(K, RVEC, T, dist)
    err = np.abs(cam.project(X) - np.array(OPENCV[dist])).max()
    assert err < 1e-6


@pytest.mark.parametrize("dist", list(OPENCV))
def test_undistort_round_trip(dist):
    cam = Camera.from_rodrigues(K, RVEC, T, dist, size=(1280, 1000))
    # a grid over the whole image, corners included
    u, v = np.meshgrid(np.linspace(0, 1280, 17), np.linspace(0, 1000, 13))
    ideal = np.stack([u, v], axis=-1)
    distorted = cam.distort_points(ideal)
    assert np.abs(cam.undistort_points(distorted) - ideal).max() < 1e-6
    # and from 3D: undistorting the real projection gives the pinhole projection
    assert np.abs(cam.undistort_points(cam.project(X)) - cam.project(X, distort=False)).max() < 1e-6


def test_undistort_normalized_and_nan():
    cam = Camera(K, np.eye(3), [0, 0, 10], [-0.3, 0.1, 0, 0, 0])
    uv = np.array([[100.0, 200.0], [np.nan, 5.0]])
    xy = cam.undistort_points(uv, normalized=True)
    assert np.isnan(xy[1]).all()
    Xc = np.array([xy[0, 0], xy[0, 1], 1.0]) * 7.0
    assert np.allclose(cam.project_camera_points(Xc), uv[0], atol=1e-6)


def test_undistort_warns_when_it_cannot_converge():
    # strong barrel distortion folds over: far points have no inverse
    cam = Camera(np.eye(3), np.eye(3), [0, 0, 1], [-0.5, 0, 0, 0, 0])
    with pytest.warns(UndistortionWarning, match="did not converge for 1 points"):
        out = cam.undistort_points([[0.1, 0.0], [5.0, 0.0]])
    assert np.isfinite(out[0]).all()
    assert np.isnan(out[1]).all()


def test_world_to_camera_and_back():
    cam = Camera.from_rodrigues(K, RVEC, T)
    Xc = cam.world_to_camera(X)
    assert np.allclose(Xc, X @ rodrigues_to_matrix(RVEC).T + T)
    assert np.allclose(cam.camera_to_world(Xc), X)
    assert np.allclose(cam.world_to_camera(cam.center), 0, atol=1e-12)
    P = cam.P @ np.append(X[1], 1.0)
    assert np.allclose(P[:2] / P[2], cam.project(X[1], distort=False))


def test_rodrigues_round_trip():
    rng = np.random.default_rng(3)
    for rvec in [*rng.normal(size=(20, 3)), [np.pi, 0, 0], [0, 0, 0], [0, -np.pi / 2, 0]]:
        R = rodrigues_to_matrix(rvec)
        assert np.allclose(R @ R.T, np.eye(3))
        assert np.allclose(rodrigues_to_matrix(matrix_to_rodrigues(R)), R, atol=1e-12)


def test_euler_matches_scipy():
    rotation = pytest.importorskip("scipy.spatial.transform").Rotation
    for order in ["zyx", "xyz", "yzx", "ZYX", "XYZ", "zxz"]:
        angles = [23.0, -50.0, 170.0]
        ref = rotation.from_euler(order, angles, degrees=True).as_matrix()
        assert np.allclose(euler_to_matrix(angles, order), ref, atol=1e-12)


def test_euler_known_value():
    # extrinsic z then y then x: a 90-degree turn about z maps x to y
    assert np.allclose(euler_to_matrix([90, 0, 0], "zyx") @ [1, 0, 0], [0, 1, 0])
    with pytest.raises(ValueError, match="three axis letters"):
        euler_to_matrix([0, 0, 0], "zy")


def test_points_behind_camera_are_nan_and_reported():
    cam = Camera(K, np.eye(3), [0, 0, 0])
    pts = np.array([[0.0, 0.0, 5.0], [1.0, 1.0, -5.0], [0.0, 0.0, 0.0], [np.nan, 0, 1]])
    with pytest.warns(PointsBehindCameraWarning, match="2 of 4 points are behind"):
        uv = cam.project(pts)
    assert np.allclose(uv[0], [645.25, 498.5])
    assert np.isnan(uv[1:]).all()
    # no warning when every point is in front
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cam.project(pts[:1])
    # users can turn it into an error
    with warnings.catch_warnings():
        warnings.simplefilter("error", PointsBehindCameraWarning)
        with pytest.raises(PointsBehindCameraWarning):
            cam.project(pts)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"K": np.zeros((3, 3))}, "last row of K"),
        ({"K": [[0, 0, 1], [0, 5, 1], [0, 0, 1]]}, "K is singular"),
        ({"K": [[np.nan, 0, 1], [0, 5, 1], [0, 0, 1]]}, "non-finite"),
        ({"K": np.eye(2)}, "shape"),
        ({"R": np.diag([1.0, 1.0, 2.0])}, "not a rotation matrix"),
        ({"R": np.diag([1.0, 1.0, -1.0])}, "reflection"),
        ({"t": [0, np.inf, 1]}, "non-finite"),
        ({"t": [0, 1]}, "shape"),
        ({"dist": [0.1, 0.2, 0.3]}, "0, 4, 5, 8, 12 or 14"),
        ({"dist": [0, 0, 0, 0, np.nan]}, "non-finite"),
        ({"dist": [0.0] * 12 + [0.1, 0.0]}, "tilted"),
        ({"size": (0, 10)}, "positive"),
    ],
)
def test_invalid_camera(kwargs, match):
    args = {"K": K, "R": np.eye(3), "t": [0, 0, 1], **kwargs}
    with pytest.raises(CalibrationError, match=match):
        Camera(**args)


def test_camera_is_immutable_and_named_in_errors():
    cam = Camera(K, np.eye(3), [0, 0, 1], name="top")
    with pytest.raises(ValueError, match="read-only"):
        cam.K[0, 0] = 1.0
    with pytest.raises(CalibrationError, match="camera 'top'"):
        cam.replace(t=[0, 0])
    assert "top" in repr(cam)


def test_orthographic_camera_drops_depth():
    cam = orthographic_camera(scale=10.0, principal_point=(100, 50), target=(1, 2, 3))
    uv = cam.project([[1, 2, 3], [2, 2, -100]])
    assert np.allclose(uv, [[100, 50], [110, 50]])


def test_weak_perspective_uses_mean_depth_per_pose():
    cam = weak_perspective_camera(distance=10.0, K=[[100, 0, 0], [0, 100, 0], [0, 0, 1]])
    pose = np.array([[[1.0, 0, -2], [1.0, 0, 2]]])  # one pose, depths 8 and 12, mean 10
    uv = cam.project(pose)
    assert np.allclose(uv, [[[10, 0], [10, 0]]])
    persp = Camera(cam.K, cam.R, cam.t)
    assert not np.allclose(persp.project(pose), uv)
    with pytest.raises(CalibrationError, match="only defined for a perspective"):
        cam.replace(dist=[0.1, 0, 0, 0, 0])


def test_camera_from_euler_looks_at_target():
    cam = camera_from_euler([30, -20, 10], distance=50, target=(1, 2, 3))
    assert np.allclose(cam.world_to_camera([1, 2, 3]), [0, 0, 50])
    assert np.isclose(np.linalg.norm(cam.center - [1, 2, 3]), 50)
    assert np.allclose(cam.R, euler_to_matrix([30, -20, 10], "zyx"))
    ortho = camera_from_euler([30, -20, 10])
    assert ortho.projection == "orthographic"
    # the seed's project_to_eangle with tvec=None, intr=None: (R X)[:2]
    assert np.allclose(ortho.project(X), (X @ ortho.R.T)[:, :2])


def test_sample_cameras_reproducible_and_in_range():
    ranges = [[-10, 10], [40, 50], [170, 180]]
    a = sample_cameras(ranges, distance=100, n=20, seed=7)
    b = sample_cameras(ranges, distance=100, n=20, seed=7)
    assert [c.name for c in a] == [f"virtual_{i}" for i in range(20)]
    assert all(np.array_equal(x.R, y.R) for x, y in zip(a, b, strict=True))
    rotation = pytest.importorskip("scipy.spatial.transform").Rotation
    for cam in a:
        angles = rotation.from_matrix(cam.R).as_euler("zyx", degrees=True)
        assert -10 <= angles[0] <= 10
        assert 40 <= angles[1] <= 50
        assert 170 <= angles[2] <= 180
        assert np.isclose(np.linalg.norm(cam.center), 100)
    with pytest.raises(ValueError, match="low <= high"):
        sample_cameras([[10, -10], [0, 0], [0, 0]], distance=1)
