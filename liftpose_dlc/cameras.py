"""Cameras: world → camera transforms, projection with lens distortion, virtual cameras.

A :class:`Camera` follows OpenCV's conventions: a point ``X`` in world coordinates is
seen at ``Xc = R @ X + t`` in the camera's frame (x right, y down, z forward along the
optical axis) and lands in the image at ``K @ distort(Xc / Zc)``. The distortion model is
OpenCV's (``k1, k2, p1, p2[, k3[, k4, k5, k6[, s1, s2, s3, s4]]]``), so :meth:`Camera.project`
agrees with ``cv2.projectPoints`` (to far below a pixel's millionth) without depending on
OpenCV.

Calibration files (Anipose, DeepFly3D, DeepLabCut 3D, DANNCE/Label3D) are read by
:func:`liftpose_dlc.load_calibration`; this module holds the camera model itself, and the
virtual cameras for users without a calibration (:func:`orthographic_camera`,
:func:`weak_perspective_camera`, :func:`camera_from_euler`, :func:`sample_cameras`).

Points behind a camera
----------------------
A point with ``Zc <= 0`` has no image in a pinhole camera. :meth:`Camera.project` returns NaN
for such points and warns once per call with :class:`PointsBehindCameraWarning` (a
``UserWarning``), giving how many points it left out, so that a wrong calibration or a
world frame that does not match the calibration is never silently projected. Turn it into
an error with ``warnings.simplefilter("error", PointsBehindCameraWarning)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import attrs
import numpy as np

from liftpose_dlc.errors import CalibrationError, ConfigError

__all__ = [
    "Camera",
    "CameraWarning",
    "PointsBehindCameraWarning",
    "UndistortionWarning",
    "Projection",
    "rodrigues_to_matrix",
    "matrix_to_rodrigues",
    "euler_to_matrix",
    "orthographic_camera",
    "weak_perspective_camera",
    "camera_from_euler",
    "sample_cameras",
]

Projection = Literal["perspective", "weak_perspective", "orthographic"]
_PROJECTIONS = ("perspective", "weak_perspective", "orthographic")
_N_DIST = 12  # k1 k2 p1 p2 k3 k4 k5 k6 s1 s2 s3 s4


class CameraWarning(UserWarning):
    """Base class of the warnings raised by camera operations."""


class PointsBehindCameraWarning(CameraWarning):
    """Some points lie behind the camera (``Zc <= 0``); they were projected to NaN."""


class UndistortionWarning(CameraWarning):
    """The iterative undistortion did not converge for some points; they are NaN."""


# --------------------------------------------------------------------------- rotations
def rodrigues_to_matrix(rvec: Any) -> np.ndarray:
    """Rotation matrix from a Rodrigues (axis × angle) vector, as ``cv2.Rodrigues``.

    Parameters
    ----------
    rvec
        Three numbers: the rotation axis scaled by the angle in radians.

    Returns
    -------
    numpy.ndarray
        The 3 × 3 rotation matrix.

    Examples
    --------
    >>> import numpy as np
    >>> R = rodrigues_to_matrix([0, 0, np.pi / 2])
    >>> np.round(R @ [1, 0, 0], 12)
    array([0., 1., 0.])
    """
    r = np.asarray(rvec, dtype=np.float64).reshape(-1)
    if r.shape != (3,):
        raise CalibrationError(f"a Rodrigues vector has 3 numbers, got shape {np.shape(rvec)}")
    if not np.all(np.isfinite(r)):
        raise CalibrationError(f"Rodrigues vector is not finite: {r}")
    theta = float(np.linalg.norm(r))
    if theta < 1e-300:
        return np.eye(3)
    k = r / theta
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + np.sin(theta) * kx + (1.0 - np.cos(theta)) * (kx @ kx)


def matrix_to_rodrigues(R: Any) -> np.ndarray:
    """Rodrigues vector of a rotation matrix (the inverse of :func:`rodrigues_to_matrix`)."""
    R = np.asarray(R, dtype=np.float64)
    # quaternion route: stable for every angle, including pi
    w = np.sqrt(max(0.0, 1.0 + R[0, 0] + R[1, 1] + R[2, 2])) / 2.0
    x = np.sqrt(max(0.0, 1.0 + R[0, 0] - R[1, 1] - R[2, 2])) / 2.0
    y = np.sqrt(max(0.0, 1.0 - R[0, 0] + R[1, 1] - R[2, 2])) / 2.0
    z = np.sqrt(max(0.0, 1.0 - R[0, 0] - R[1, 1] + R[2, 2])) / 2.0
    x = np.copysign(x, R[2, 1] - R[1, 2])
    y = np.copysign(y, R[0, 2] - R[2, 0])
    z = np.copysign(z, R[1, 0] - R[0, 1])
    v = np.array([x, y, z])
    s = float(np.linalg.norm(v))
    if s < 1e-300:
        return np.zeros(3)
    angle = 2.0 * np.arctan2(s, w)
    return v / s * angle


def _axis_rotation(axis: str, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    if axis == "x":
        return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    if axis == "y":
        return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def euler_to_matrix(
    angles: Sequence[float], order: str = "zyx", degrees: bool = True
) -> np.ndarray:
    """Rotation matrix from three Euler angles, with SciPy's conventions.

    Parameters
    ----------
    angles
        Three angles, one per letter of ``order``.
    order
        Axis sequence: lower case for extrinsic rotations (about the fixed world axes, as
        the seed's ``random_project(axsorder="zyx")`` and
        ``scipy.spatial.transform.Rotation.from_euler``), upper case for intrinsic ones.
    degrees
        Whether ``angles`` are in degrees (default) or radians.

    Returns
    -------
    numpy.ndarray
        The 3 × 3 rotation matrix, equal to ``Rotation.from_euler(order, angles).as_matrix()``.
    """
    if len(order) != 3 or not (order.islower() or order.isupper()):
        raise ValueError(
            f"order must be three axis letters, all lower or all upper case: {order!r}"
        )
    if set(order.lower()) - set("xyz"):
        raise ValueError(f"order may only use the letters x, y, z: {order!r}")
    a = np.asarray(angles, dtype=np.float64).reshape(-1)
    if a.shape != (3,):
        raise ValueError(f"expected three Euler angles, got {np.shape(angles)}")
    if degrees:
        a = np.deg2rad(a)
    mats = [_axis_rotation(ax, ang) for ax, ang in zip(order.lower(), a, strict=True)]
    if order.islower():  # extrinsic: first rotation applied first (rightmost)
        return mats[2] @ mats[1] @ mats[0]
    return mats[0] @ mats[1] @ mats[2]


# --------------------------------------------------------------------------- validation
def _matrix(value: Any, shape: tuple[int, ...], what: str, where: str) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"{where}: {what} is not numeric: {value!r}") from exc
    if arr.size == int(np.prod(shape)) and arr.shape != shape:
        arr = arr.reshape(shape)
    if arr.shape != shape:
        raise CalibrationError(f"{where}: {what} must have shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise CalibrationError(f"{where}: {what} has non-finite values:\n{arr}")
    arr.setflags(write=False)
    return arr


def _dist_vector(value: Any, where: str) -> np.ndarray:
    if value is None:
        d = np.zeros(0)
    else:
        try:
            d = np.array(value, dtype=np.float64, copy=True).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise CalibrationError(f"{where}: distortion is not numeric: {value!r}") from exc
    if d.size not in (0, 4, 5, 8, 12, 14):
        raise CalibrationError(
            f"{where}: distortion must have 0, 4, 5, 8, 12 or 14 coefficients in OpenCV's "
            f"order (k1 k2 p1 p2 k3 k4 k5 k6 s1 s2 s3 s4 tx ty), got {d.size}: {d}"
        )
    if not np.all(np.isfinite(d)):
        raise CalibrationError(f"{where}: distortion has non-finite values: {d}")
    if d.size == 14:
        if np.any(d[12:] != 0):
            raise CalibrationError(
                f"{where}: the tilted-sensor distortion terms (tauX, tauY = {d[12:]}) are not "
                "supported"
            )
        d = d[:12]
    d.setflags(write=False)
    return d


def _size(value: Any, where: str) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        w, h = (int(round(float(v))) for v in np.asarray(value).reshape(-1))
    except (TypeError, ValueError) as exc:
        raise CalibrationError(
            f"{where}: image size must be (width, height), got {value!r}"
        ) from exc
    if w <= 0 or h <= 0:
        raise CalibrationError(f"{where}: image size must be positive, got {(w, h)}")
    return (w, h)


def _checked_in_post_init(value: Any) -> Any:
    """Kept as given: ``__attrs_post_init__`` converts and checks the value."""
    return value


@attrs.frozen(eq=False, repr=False)
class Camera:
    """A calibrated camera: intrinsics, lens distortion and pose (world → camera).

    Parameters
    ----------
    K
        Intrinsic matrix ``[[fx, s, cx], [0, fy, cy], [0, 0, 1]]`` in pixels.
    R
        Rotation matrix from world to camera coordinates (proper: ``det(R) = +1``).
    t
        Translation from world to camera coordinates: ``Xc = R @ X + t``.
    dist
        Distortion coefficients in OpenCV's order: ``k1 k2 p1 p2 [k3 [k4 k5 k6 [s1 s2 s3
        s4]]]`` (0, 4, 5, 8, 12 coefficients; 14 with zero tilt). None: no distortion.
    size
        Image size ``(width, height)`` in pixels, or None when unknown.
    name
        The camera's name (``"top"``, ``"camera-1"``, ...).
    projection
        ``"perspective"`` (pinhole; the default), ``"weak_perspective"`` (every point of a
        pose is divided by the pose's mean depth instead of its own) or ``"orthographic"``
        (depth is dropped: ``K`` maps camera-frame x, y in world units to pixels).
        Distortion is only allowed with ``"perspective"``.

    Raises
    ------
    CalibrationError
        If a matrix has the wrong shape, non-finite values, a singular ``K`` or a last row
        other than ``[0, 0, 1]``, or ``R`` is not a proper rotation matrix.

    Examples
    --------
    >>> import numpy as np
    >>> cam = Camera(K=[[500, 0, 320], [0, 500, 240], [0, 0, 1]], R=np.eye(3), t=[0, 0, 10])
    >>> cam.project([[1.0, 0.0, 0.0]])
    array([[370., 240.]])
    >>> np.allclose(cam.undistort_points(cam.project([[1.0, 2.0, 3.0]])), [[358.46, 316.92]],
    ...             atol=0.01)
    True
    """

    # array-likes (None for dist) are made arrays in __attrs_post_init__
    K: np.ndarray = attrs.field(converter=_checked_in_post_init)
    R: np.ndarray = attrs.field(converter=_checked_in_post_init)
    t: np.ndarray = attrs.field(converter=_checked_in_post_init)
    dist: np.ndarray = attrs.field(default=None, converter=_checked_in_post_init)
    size: tuple[int, int] | None = attrs.field(default=None)
    name: str | None = attrs.field(default=None)
    projection: Projection = attrs.field(default="perspective", kw_only=True)

    def __attrs_post_init__(self) -> None:
        where = f"camera {self.name!r}" if self.name is not None else "camera"
        set_ = object.__setattr__
        if self.name is not None:
            set_(self, "name", str(self.name))
        K = _matrix(self.K, (3, 3), "intrinsic matrix K", where)
        if not np.allclose(K[2], [0.0, 0.0, 1.0], atol=1e-9):
            raise CalibrationError(
                f"{where}: the last row of K must be [0, 0, 1], got {K[2]} (is K transposed?)"
            )
        if abs(K[0, 0]) < 1e-12 or abs(K[1, 1]) < 1e-12:
            raise CalibrationError(f"{where}: K is singular (fx={K[0, 0]}, fy={K[1, 1]})")
        R = _matrix(self.R, (3, 3), "rotation matrix R", where)
        err = float(np.abs(R @ R.T - np.eye(3)).max())
        if err > 1e-5:
            raise CalibrationError(
                f"{where}: R is not a rotation matrix (|R Rᵀ - I| = {err:.3g}):\n{R}"
            )
        if np.linalg.det(R) < 0:
            raise CalibrationError(f"{where}: R is a reflection (det(R) = -1), not a rotation")
        t = _matrix(self.t, (3,), "translation t", where)
        dist = _dist_vector(self.dist, where)
        if self.projection not in _PROJECTIONS:
            raise CalibrationError(
                f"{where}: projection must be one of {_PROJECTIONS}, got {self.projection!r}"
            )
        if self.projection != "perspective" and np.any(dist != 0):
            raise CalibrationError(
                f"{where}: lens distortion is only defined for a perspective camera"
            )
        set_(self, "K", K)
        set_(self, "R", R)
        set_(self, "t", t)
        set_(self, "dist", dist)
        set_(self, "size", _size(self.size, where))

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_rodrigues(
        cls,
        K: Any,
        rvec: Any,
        t: Any,
        dist: Any = None,
        size: Any = None,
        name: str | None = None,
    ) -> Camera:
        """Build a camera from a Rodrigues rotation vector (OpenCV's ``rvec``)."""
        return cls(K, rodrigues_to_matrix(rvec), t, dist, size, name)

    def replace(self, **changes: Any) -> Camera:
        """A copy with some fields changed (validated again)."""
        return attrs.evolve(self, **changes)

    def __repr__(self) -> str:
        fx, fy, cx, cy = self.K[0, 0], self.K[1, 1], self.K[0, 2], self.K[1, 2]
        extra = "" if self.projection == "perspective" else f", projection={self.projection!r}"
        return (
            f"Camera(name={self.name!r}, f=({fx:.6g}, {fy:.6g}), c=({cx:.6g}, {cy:.6g}), "
            f"center={np.round(self.center, 6).tolist()}, dist={self.dist.tolist()}, "
            f"size={self.size}{extra})"
        )

    # ----------------------------------------------------------------- properties
    @property
    def rvec(self) -> np.ndarray:
        """The rotation as a Rodrigues vector (as in Anipose's ``rotation``)."""
        return matrix_to_rodrigues(self.R)

    @property
    def center(self) -> np.ndarray:
        """The camera's optical centre in world coordinates, ``-Rᵀ t``."""
        return -self.R.T @ self.t

    @property
    def P(self) -> np.ndarray:
        """The 3 × 4 projection matrix ``K [R | t]`` (no distortion)."""
        return self.K @ np.hstack([self.R, self.t[:, None]])

    @property
    def has_distortion(self) -> bool:
        """Whether any distortion coefficient is non-zero."""
        return bool(np.any(self.dist != 0))

    # ----------------------------------------------------------------- transforms
    def world_to_camera(self, X: Any) -> np.ndarray:
        """Points ``(..., 3)`` from world to camera coordinates: ``Xc = R X + t``."""
        X = _points(X, 3, "X")
        return X @ self.R.T + self.t

    def camera_to_world(self, Xc: Any) -> np.ndarray:
        """Points ``(..., 3)`` from camera to world coordinates: ``X = Rᵀ (Xc - t)``."""
        Xc = _points(Xc, 3, "Xc")
        return (Xc - self.t) @ self.R

    def project(self, X: Any, *, distort: bool = True) -> np.ndarray:
        """Project world points into the image.

        Parameters
        ----------
        X
            World points, shape ``(..., 3)``; NaN rows give NaN. With
            ``projection="weak_perspective"``, the second-to-last axis holds the points
            of one pose (their mean depth is used), e.g. ``(n_frames, n_keypoints, 3)``.
        distort
            Apply the lens distortion (default), giving the pixels a tracker sees in the
            raw video. False gives ideal pinhole ("undistorted") pixels.

        Returns
        -------
        numpy.ndarray
            Pixel coordinates ``(..., 2)`` (x to the right, y down). Points behind the
            camera are NaN and reported with :class:`PointsBehindCameraWarning`.
        """
        return self.project_camera_points(self.world_to_camera(X), distort=distort)

    def project_camera_points(self, Xc: Any, *, distort: bool = True) -> np.ndarray:
        """Project points already in this camera's frame (see :meth:`project`)."""
        Xc = _points(Xc, 3, "Xc")
        if self.projection == "orthographic":
            xy = Xc[..., :2].copy()
        else:
            if self.projection == "weak_perspective":
                depth = Xc[..., 2:3]
                if Xc.ndim >= 2:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN poses
                        depth = np.nanmean(Xc[..., 2:3], axis=-2, keepdims=True)
                    depth = np.broadcast_to(depth, Xc[..., 2:3].shape)
            else:
                depth = Xc[..., 2:3]
            behind = (depth[..., 0] <= 0) & np.all(np.isfinite(Xc), axis=-1)
            n_behind = int(np.count_nonzero(behind))
            with np.errstate(divide="ignore", invalid="ignore"):
                xy = Xc[..., :2] / depth
            if n_behind:
                xy[behind] = np.nan
                warnings.warn(
                    f"{self._label()}: {n_behind} of {behind.size} points are behind the "
                    "camera (depth <= 0) and were projected to NaN; check that the 3D poses "
                    "and the calibration share a world frame",
                    PointsBehindCameraWarning,
                    stacklevel=3,
                )
            if distort and self.has_distortion:
                xy = _distort_normalized(xy, self._dist12())
        return self._to_pixels(xy)

    def distort_points(self, uv: Any) -> np.ndarray:
        """Ideal (undistorted) pixels ``(..., 2)`` → the pixels the lens really gives."""
        uv = _points(uv, 2, "uv")
        if not self.has_distortion:
            return uv.copy()
        return self._to_pixels(_distort_normalized(self._to_normalized(uv), self._dist12()))

    def undistort_points(
        self,
        uv: Any,
        *,
        normalized: bool = False,
        max_iter: int = 50,
        tol_px: float = 1e-9,
    ) -> np.ndarray:
        """Remove the lens distortion from pixel coordinates (OpenCV's ``undistortPoints``).

        The distortion is inverted by Newton's method with the analytic Jacobian, until the
        re-distorted point is within ``tol_px`` pixels of the input; OpenCV's default stops
        after 5 fixed-point steps, which leaves errors of a pixel or more near the corners
        of strongly distorted images.

        Parameters
        ----------
        uv
            Distorted pixel coordinates, shape ``(..., 2)``; NaN gives NaN.
        normalized
            Return normalized image coordinates ``(Xc/Zc, Yc/Zc)`` (OpenCV's default output)
            instead of ideal pixels (OpenCV's output with ``P=K``).
        max_iter, tol_px
            Iteration limit and tolerance in pixels. Points that do not converge (far
            outside the image, where the distortion polynomial folds over) are NaN and
            reported with :class:`UndistortionWarning`.

        Returns
        -------
        numpy.ndarray
            Undistorted coordinates, shape ``(..., 2)``.
        """
        uv = _points(uv, 2, "uv")
        xd = self._to_normalized(uv)
        if self.has_distortion:
            tol = tol_px / max(abs(self.K[0, 0]), abs(self.K[1, 1]))
            x, failed = _undistort_normalized(xd, self._dist12(), max_iter, tol)
            n_failed = int(np.count_nonzero(failed))
            if n_failed:
                warnings.warn(
                    f"{self._label()}: undistortion did not converge for {n_failed} points "
                    "(far outside the calibrated image?); they are NaN",
                    UndistortionWarning,
                    stacklevel=2,
                )
        else:
            x = xd
        return x if normalized else self._to_pixels(x)

    # ----------------------------------------------------------------- internals
    def _label(self) -> str:
        return f"camera {self.name!r}" if self.name is not None else "camera"

    def _dist12(self) -> np.ndarray:
        d = np.zeros(_N_DIST)
        d[: self.dist.size] = self.dist
        return d

    def _to_pixels(self, xy: np.ndarray) -> np.ndarray:
        K = self.K
        u = K[0, 0] * xy[..., 0] + K[0, 1] * xy[..., 1] + K[0, 2]
        v = K[1, 1] * xy[..., 1] + K[1, 2]
        return np.stack([u, v], axis=-1)

    def _to_normalized(self, uv: np.ndarray) -> np.ndarray:
        K = self.K
        y = (uv[..., 1] - K[1, 2]) / K[1, 1]
        x = (uv[..., 0] - K[0, 2] - K[0, 1] * y) / K[0, 0]
        return np.stack([x, y], axis=-1)


def _points(X: Any, n: int, what: str) -> np.ndarray:
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] != n:
        raise ValueError(f"{what} must have shape (..., {n}), got {arr.shape}")
    return arr


def _distort_normalized(xy: np.ndarray, d: np.ndarray) -> np.ndarray:
    """OpenCV's distortion model on normalized coordinates (no tilt)."""
    k1, k2, p1, p2, k3, k4, k5, k6, s1, s2, s3, s4 = d
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    r4 = r2 * r2
    r6 = r4 * r2
    radial = (1 + k1 * r2 + k2 * r4 + k3 * r6) / (1 + k4 * r2 + k5 * r4 + k6 * r6)
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x) + s1 * r2 + s2 * r4
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y + s3 * r2 + s4 * r4
    return np.stack([xd, yd], axis=-1)


def _distort_jacobian(xy: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Jacobian ``(..., 2, 2)`` of :func:`_distort_normalized` with respect to (x, y)."""
    k1, k2, p1, p2, k3, k4, k5, k6, s1, s2, s3, s4 = d
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    a = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
    b = 1 + k4 * r2 + k5 * r2**2 + k6 * r2**3
    da = k1 + 2 * k2 * r2 + 3 * k3 * r2**2
    db = k4 + 2 * k5 * r2 + 3 * k6 * r2**2
    radial = a / b
    dradial = (da * b - a * db) / (b * b)  # d radial / d r2
    sx = s1 + 2 * s2 * r2
    sy = s3 + 2 * s4 * r2
    j = np.empty(xy.shape[:-1] + (2, 2))
    j[..., 0, 0] = radial + 2 * x * x * dradial + 2 * p1 * y + 6 * p2 * x + 2 * x * sx
    j[..., 0, 1] = 2 * x * y * dradial + 2 * p1 * x + 2 * p2 * y + 2 * y * sx
    j[..., 1, 0] = 2 * x * y * dradial + 2 * p1 * x + 2 * p2 * y + 2 * x * sy
    j[..., 1, 1] = radial + 2 * y * y * dradial + 6 * p1 * y + 2 * p2 * x + 2 * y * sy
    return j


def _undistort_normalized(
    xd: np.ndarray, d: np.ndarray, max_iter: int, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """Invert the distortion by damped Newton steps; return the points and a failure mask."""
    shape = xd.shape
    target = xd.reshape(-1, 2)
    finite = np.all(np.isfinite(target), axis=1)
    x = target.copy()
    for _ in range(max_iter):
        resid = _distort_normalized(x, d) - target
        err = np.abs(resid).max(axis=1)
        active = np.flatnonzero(finite & ~(err <= tol))
        if active.size == 0:
            break
        xa, r, ea = x[active], resid[active], err[active]
        jac = _distort_jacobian(xa, d)
        det = jac[:, 0, 0] * jac[:, 1, 1] - jac[:, 0, 1] * jac[:, 1, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.stack(
                [
                    (jac[:, 1, 1] * r[:, 0] - jac[:, 0, 1] * r[:, 1]) / det,
                    (-jac[:, 1, 0] * r[:, 0] + jac[:, 0, 0] * r[:, 1]) / det,
                ],
                axis=1,
            )
        step[~np.all(np.isfinite(step), axis=1)] = 0.0
        # backtracking: halve the step where it does not reduce the residual
        scale = np.ones(active.size)
        for _ in range(30):
            trial = xa - scale[:, None] * step
            with np.errstate(over="ignore", invalid="ignore"):
                worse = ~(np.abs(_distort_normalized(trial, d) - target[active]).max(axis=1) < ea)
            if not np.any(worse):
                break
            scale[worse] *= 0.5
        x[active] = xa - scale[:, None] * step
    resid = _distort_normalized(x, d) - target
    failed = finite & ~(np.abs(resid).max(axis=1) <= tol * 10)
    # a solution where the lens model folds over (the image turned inside out) is not the
    # point the lens imaged: refuse it rather than return a wrong point
    jac = _distort_jacobian(x, d)
    det = jac[:, 0, 0] * jac[:, 1, 1] - jac[:, 0, 1] * jac[:, 1, 0]
    k1, k2, _, _, k3, k4, k5, k6 = d[:8]
    r2 = np.sum(x * x, axis=1)
    radial = (1 + k1 * r2 + k2 * r2**2 + k3 * r2**3) / (1 + k4 * r2 + k5 * r2**2 + k6 * r2**3)
    failed |= finite & ~((det > 0) & (radial > 0))
    x[failed | ~finite] = np.nan
    return x.reshape(shape), failed.reshape(shape[:-1])


# --------------------------------------------------------------------------- virtual cameras
def _intrinsics(K: Any, where: str) -> np.ndarray:
    if K is None:
        return np.eye(3)
    return _matrix(K, (3, 3), "intrinsic matrix K", where)


def orthographic_camera(
    R: Any = None,
    *,
    scale: float = 1.0,
    principal_point: Sequence[float] = (0.0, 0.0),
    target: Sequence[float] = (0.0, 0.0, 0.0),
    size: Any = None,
    name: str = "orthographic",
) -> Camera:
    """A camera without perspective: pixels are the camera-frame x, y times ``scale``.

    This is the seed's projection without intrinsics (``project_to_camera(intr=None)``): the
    right model for a camera far from a small animal when no calibration is at hand.

    Parameters
    ----------
    R
        World → camera rotation; default identity (looking down the world z axis).
    scale
        Pixels per world unit.
    principal_point
        Where ``target`` lands in the image.
    target
        The world point placed on the optical axis.
    size, name
        As for :class:`Camera`.
    """
    R = np.eye(3) if R is None else np.asarray(R, dtype=np.float64)
    t = -R @ np.asarray(target, dtype=np.float64)
    cx, cy = principal_point
    K = [[scale, 0.0, cx], [0.0, scale, cy], [0.0, 0.0, 1.0]]
    return Camera(K, R, t, size=size, name=name, projection="orthographic")


def weak_perspective_camera(
    R: Any = None,
    *,
    distance: float,
    K: Any = None,
    target: Sequence[float] = (0.0, 0.0, 0.0),
    size: Any = None,
    name: str = "weak_perspective",
) -> Camera:
    """A weak-perspective camera ``distance`` away from ``target``, looking at it.

    Every pose is projected as if all its points were at the pose's mean depth, so its
    image is a scaled orthographic projection whose scale follows the animal's distance.

    Parameters
    ----------
    R
        World → camera rotation; default identity.
    distance
        Distance from the camera's centre to ``target`` along the optical axis (> 0).
    K
        Intrinsic matrix; default identity (normalized image coordinates).
    target, size, name
        As for :func:`orthographic_camera`.
    """
    if not np.isfinite(distance) or distance <= 0:
        raise CalibrationError(f"distance must be positive, got {distance}")
    R = np.eye(3) if R is None else np.asarray(R, dtype=np.float64)
    t = np.array([0.0, 0.0, float(distance)]) - R @ np.asarray(target, dtype=np.float64)
    return Camera(_intrinsics(K, name), R, t, size=size, name=name, projection="weak_perspective")


def camera_from_euler(
    angles: Sequence[float],
    *,
    distance: float | None = None,
    axes_order: str = "zyx",
    K: Any = None,
    target: Sequence[float] = (0.0, 0.0, 0.0),
    projection: Projection | None = None,
    size: Any = None,
    name: str | None = None,
) -> Camera:
    """A virtual camera whose rotation is given by Euler angles (the seed's ``eangles``).

    The rotation is ``euler_to_matrix(angles, axes_order)`` (degrees, SciPy's convention, as
    in the seed's ``project_to_eangle``); the camera looks at ``target`` from ``distance``.

    Parameters
    ----------
    angles
        Three Euler angles in degrees.
    distance
        Distance to ``target``. None gives an orthographic camera (the seed's projection
        with ``tvec=None, intr=None``).
    axes_order
        Euler axis sequence (see :func:`euler_to_matrix`).
    K
        Intrinsic matrix; default identity (normalized coordinates).
    target
        World point placed on the optical axis.
    projection
        ``"perspective"`` (default when ``distance`` is given), ``"weak_perspective"`` or
        ``"orthographic"`` (default when ``distance`` is None).
    size, name
        As for :class:`Camera`.
    """
    R = euler_to_matrix(angles, axes_order)
    target_xyz = np.asarray(target, dtype=np.float64)
    if projection is None:
        projection = "orthographic" if distance is None else "perspective"
    if projection == "orthographic":
        t = -R @ target_xyz
    else:
        if distance is None or not np.isfinite(distance) or distance <= 0:
            raise CalibrationError(
                f"a {projection} camera needs a positive distance, got {distance}"
            )
        t = np.array([0.0, 0.0, float(distance)]) - R @ target_xyz
    return Camera(_intrinsics(K, str(name)), R, t, size=size, name=name, projection=projection)


def sample_cameras(
    angle_ranges: Sequence[Sequence[float]],
    distance: float | None = None,
    *,
    n: int = 1,
    K: Any = None,
    axes_order: str = "zyx",
    target: Sequence[float] = (0.0, 0.0, 0.0),
    projection: Projection | None = None,
    size: Any = None,
    seed: int | np.random.Generator | None = None,
    name_prefix: str = "virtual",
) -> list[Camera]:
    """Sample virtual cameras on Euler-angle ranges around the animal.

    This is what the seed's ``random_project`` does for every training sample: Euler
    angles drawn uniformly in ``angle_ranges`` (degrees), a camera looking at ``target``.

    Parameters
    ----------
    angle_ranges
        Three ``[low, high]`` ranges in degrees, one per axis of ``axes_order`` (the seed's
        ``eangles[cam]``, e.g. ``[[-10, 10], [-10, 10], [-10, 10]]``).
    distance
        Distance from the cameras to ``target``; None for orthographic cameras.
    n
        Number of cameras.
    K, axes_order, target, projection, size
        As for :func:`camera_from_euler`.
    seed
        Seed or generator for reproducible sampling.
    name_prefix
        Cameras are named ``f"{name_prefix}_{i}"``.

    Returns
    -------
    list of Camera

    Examples
    --------
    >>> cams = sample_cameras([[-10, 10], [0, 0], [80, 100]], distance=100, n=3, seed=0)
    >>> [c.name for c in cams]
    ['virtual_0', 'virtual_1', 'virtual_2']
    >>> round(float(np.linalg.norm(cams[0].center)), 6)
    100.0
    """
    ranges = np.asarray(angle_ranges, dtype=np.float64)
    if ranges.shape != (3, 2) or not np.all(np.isfinite(ranges)):
        raise ConfigError(
            f"angle_ranges must be three finite [low, high] pairs, got {ranges.tolist()}"
        )
    if np.any(ranges[:, 1] < ranges[:, 0]):
        raise ConfigError(
            f"each angle range must be [low, high] with low <= high, got {ranges.tolist()}"
        )
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    angles = rng.uniform(ranges[:, 0], ranges[:, 1], size=(n, 3))
    return [
        camera_from_euler(
            a,
            distance=distance,
            axes_order=axes_order,
            K=K,
            target=target,
            projection=projection,
            size=size,
            name=f"{name_prefix}_{i}",
        )
        for i, a in enumerate(angles)
    ]
