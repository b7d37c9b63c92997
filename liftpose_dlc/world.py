"""Absolute 3D: where the animal is, not only its posture.

A lifter predicts each target set relative to its root, in the frame of the camera the 2D is
seen from. One camera gives no depth, but a calibrated camera and the arena's floor do:

* **On the floor** (:func:`place_on_floor`, the ``"world"`` frame): the root's 2D point
  defines a ray from the camera's centre; the root is where that ray is at the root's height
  above the floor (learned from the 3D library, :func:`root_heights`, and stored with the
  lifter as ``Lifter.root_heights``). The root-relative pose is rotated from the camera's
  frame into the world's (``Rᵀ``) and added to it. The floor is a :class:`Floor`: the world
  frame's ``z = 0`` by default, a plane given by the user, or fitted to the lowest points of
  3D poses (:func:`fit_floor`).
* **From the pose's size** (:func:`depth_from_size`, an absolute ``"camera"`` frame): with
  intrinsics only, the root's depth is the one at which the lifted pose, projected through
  the camera, best matches its 2D (a closed-form least-squares fit in normalised image
  coordinates, with perspective).
* **At a constant depth** (:func:`place_at_depth`): the naive placement the benchmark
  compares with.

:class:`Placement` bundles a camera, a mode and its parameters for the lifting engine
(``LiftEngine(..., placement=...)``), which applies it to every frame.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

import attrs
import numpy as np

from liftpose_dlc.cameras import Camera
from liftpose_dlc.errors import CalibrationError, ConfigError

__all__ = [
    "Floor",
    "Placement",
    "PlacementWarning",
    "as_floor",
    "fit_floor",
    "root_heights",
    "floor_clearance",
    "camera_rays",
    "place_on_floor",
    "depth_from_size",
    "place_at_depth",
    "select_camera",
    "make_placement",
    "PlaceOptions",
    "PlacementKwargs",
    "PLACEMENTS",
]

#: How roots are placed: ``"floor"`` (world frame), ``"size"`` (absolute camera frame),
#: ``"depth"`` (a constant depth, camera frame).
PLACEMENTS = ("floor", "size", "depth")
Mode = Literal["floor", "size", "depth"]


class PlacementWarning(UserWarning):
    """Some roots could not be placed (a ray parallel to or pointing away from the floor)."""


# ----------------------------------------------------------------------------- floor
@attrs.frozen(eq=False)
class Floor:
    """The floor plane in world coordinates: points ``X`` with ``normal · X = offset``.

    Parameters
    ----------
    normal
        Upward normal (made unit length): heights are positive above the floor.
    offset
        ``normal · X`` on the floor.

    Raises
    ------
    CalibrationError
        If the normal is not three finite numbers of non-zero length, or the offset is not
        finite.

    Examples
    --------
    >>> Floor().height([[1.0, 2.0, 3.0]])
    array([3.])
    """

    normal: np.ndarray = attrs.field(default=(0.0, 0.0, 1.0))
    offset: float = attrs.field(default=0.0)

    def __attrs_post_init__(self) -> None:
        try:
            n = np.array(self.normal, dtype=np.float64).reshape(-1)
            d = float(self.offset)
        except (TypeError, ValueError) as exc:
            raise CalibrationError(f"floor: normal and offset must be numbers ({exc})") from None
        length = float(np.linalg.norm(n)) if n.shape == (3,) else 0.0
        if n.shape != (3,) or not np.all(np.isfinite(n)) or length < 1e-12:
            raise CalibrationError(
                f"floor: the normal must be three finite numbers, not all 0; got {self.normal!r}"
            )
        if not np.isfinite(d):
            raise CalibrationError(f"floor: the offset must be finite, got {self.offset!r}")
        n = n / length
        n.setflags(write=False)
        object.__setattr__(self, "normal", n)
        object.__setattr__(self, "offset", d / length)

    def height(self, points: Any) -> np.ndarray:
        """Height of points ``(..., 3)`` above the floor (negative below it)."""
        p = np.asarray(points, dtype=np.float64)
        return p @ self.normal - self.offset

    def as_dict(self) -> dict[str, Any]:
        """``{"normal": [...], "offset": ...}`` (JSON-able; :func:`as_floor` reads it)."""
        return {"normal": self.normal.tolist(), "offset": float(self.offset)}


def as_floor(value: Any = None) -> Floor:
    """A :class:`Floor` from ``None`` (the world's ``z = 0``), a Floor, a mapping or numbers.

    Parameters
    ----------
    value
        None; a :class:`Floor`; ``{"normal": n, "offset": d}`` or ``{"normal": n, "point":
        p}``; or four plane coefficients ``(a, b, c, d)`` of ``a x + b y + c z + d = 0``
        (``(a, b, c)`` pointing up).

    Raises
    ------
    CalibrationError
        If the value does not describe a plane.
    """
    if value is None:
        return Floor()
    if isinstance(value, Floor):
        return value
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"normal", "offset", "point"})
        if unknown or "normal" not in value or ("offset" in value) == ("point" in value):
            raise CalibrationError(
                "floor: give {'normal': [nx, ny, nz], 'offset': d} or {'normal': ..., "
                f"'point': [x, y, z]}}; got keys {sorted(value)}"
            )
        if "point" in value:
            n = np.asarray(value["normal"], dtype=np.float64).reshape(-1)
            p = np.asarray(value["point"], dtype=np.float64).reshape(-1)
            if p.shape != (3,) or n.shape != (3,):
                raise CalibrationError(f"floor: normal and point need 3 numbers, got {value!r}")
            return Floor(n, float(n @ p))
        return Floor(value["normal"], value["offset"])
    try:
        coeffs = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        coeffs = np.zeros(0)
    if coeffs.shape != (4,):
        raise CalibrationError(
            f"floor: expected None, a Floor, a mapping or plane coefficients (a, b, c, d); "
            f"got {value!r}"
        )
    return Floor(coeffs[:3], -coeffs[3])


def fit_floor(
    points: Any,
    *,
    up: Any = None,
    cameras: Sequence[Camera] | Mapping[str, Camera] | None = None,
    where: str = "3D poses",
) -> Floor:
    """Fit the floor to the lowest points of 3D poses (paws on the ground).

    A first upward direction is ``up`` when given; else, of the direction from the poses to
    the cameras' mean centre (cameras over the arena) and, with three cameras or more, the
    normal of the plane through their centres (cameras around it at similar heights), the
    one under which the lowest camera is highest (every camera is above the floor);
    without cameras, the direction in which the
    poses vary least (an animal walks over a floor wider than it is tall; the least
    reliable guess). Each frame's lowest point along it is taken as a point on the floor (a
    paw); without ``up``, the plane is fitted to those points (least squares) when they
    spread in two directions and tilt less than 10 degrees from the first guess. The floor
    is placed at their median height.

    Parameters
    ----------
    points
        3D poses ``(n_frames, [n_individuals,] n_keypoints, 3)`` in world coordinates; NaN
        points are ignored.
    up
        The floor's upward normal, if known (e.g. ``[0, 0, 1]``): only the height is fitted.
    cameras
        Cameras above the floor, to orient the normal.
    where
        Names the poses in errors.

    Returns
    -------
    Floor

    Raises
    ------
    ConfigError
        If fewer than 10 frames have finite points, or the points span no plane.
    """
    p = np.asarray(points, dtype=np.float64)
    if p.ndim < 2 or p.shape[-1] != 3:
        raise ConfigError(f"{where}: fit_floor needs 3D points (..., 3), got shape {p.shape}")
    frames = p.reshape(p.shape[0], -1, 3) if p.ndim > 2 else p[:, None]
    flat = frames.reshape(-1, 3)
    flat = flat[np.all(np.isfinite(flat), axis=1)]
    good = np.any(np.all(np.isfinite(frames), axis=-1), axis=1)
    if int(good.sum()) < 10 or len(flat) < 10:
        raise ConfigError(
            f"{where}: fitting a floor needs at least 10 frames with finite 3D points, got "
            f"{int(good.sum())}"
        )
    centre = flat.mean(axis=0)
    cams = list(cameras.values()) if isinstance(cameras, Mapping) else list(cameras or [])
    if up is not None:
        n = as_floor({"normal": up, "offset": 0.0}).normal
    elif cams:  # cameras look down on the arena from around it, at similar heights
        centres = np.array([c.center for c in cams])
        n = centres.mean(axis=0) - centre
        if float(np.linalg.norm(n)) < 1e-12:
            raise ConfigError(f"{where}: the cameras' centres do not say which way is up")
        n = n / np.linalg.norm(n)
        candidates = [n]
        if len(centres) >= 3:  # cameras around an arena: the plane of their centres is level
            _, s, vt = np.linalg.svd(centres - centres.mean(axis=0), full_matrices=False)
            if s[1] > 1e-6 * max(s[0], 1e-300):
                candidates.append(vt[2] if float(vt[2] @ n) >= 0 else -vt[2])
        # every camera is above the floor: keep the direction under which the lowest camera
        # is highest (its elevation seen from the poses)
        rays = centres - centre
        rays /= np.linalg.norm(rays, axis=1, keepdims=True)
        n = max(candidates, key=lambda c: float(np.min(rays @ c)))
    else:
        _, s, vt = np.linalg.svd(flat - centre, full_matrices=False)
        if s[1] < 1e-9 * max(s[0], 1e-300):
            raise ConfigError(f"{where}: the 3D points lie on a line: no floor can be fitted")
        n = vt[2]
        h = flat @ n  # the body is above its lowest point: the longer tail points up
        n = n if np.median(h) - h.min() < h.max() - np.median(h) else -n
    h = np.where(np.all(np.isfinite(frames), axis=-1), frames @ n, np.inf)
    low = frames[good, np.argmin(h[good], axis=1)]
    if up is None and len(low) >= 10:
        c = low.mean(axis=0)
        _, s, vt = np.linalg.svd(low - c, full_matrices=False)
        n_low = vt[2] if float(vt[2] @ n) >= 0 else -vt[2]
        # the lowest points span the floor when they are spread in two directions
        if s[1] > 0.2 * s[0] and float(n_low @ n) > np.cos(np.deg2rad(10)):
            n = n_low
    return Floor(n, float(np.median(low @ n)))


def root_heights(
    library: Any, roots: Sequence[int], floor: Floor | Any = None, *, where: str = "3D library"
) -> np.ndarray:
    """Median height of each root above the floor in a 3D library.

    Parameters
    ----------
    library
        3D poses ``(n_frames, [n_individuals,] n_keypoints, 3)`` (or a list of those, with
        the same keypoints) in the world frame of ``floor``.
    roots
        Indices of the root keypoints.
    floor
        The floor (see :func:`as_floor`); default the world's ``z = 0``.
    where
        Names the library in errors.

    Returns
    -------
    numpy.ndarray
        ``(n_roots,)`` heights in the library's units.

    Raises
    ------
    ConfigError
        If a root has no finite position in the library.
    """
    fl = as_floor(floor)
    arrays = library if isinstance(library, list | tuple) else [library]
    parts = []
    for arr in arrays:
        a = np.asarray(arr, dtype=np.float64)
        parts.append(a.reshape(-1, a.shape[-2], 3))
    pts = np.concatenate(parts)
    out = []
    for r in roots:
        h = fl.height(pts[:, int(r)])
        h = h[np.isfinite(h)]
        if h.size == 0:
            raise ConfigError(f"{where}: root keypoint {r} has no finite 3D position")
        out.append(float(np.median(h)))
    return np.asarray(out)


def floor_clearance(library: Any, floor: Floor | Any = None, *, where: str = "3D library") -> float:
    """Median height above the floor of each pose's lowest point (a paw on the ground).

    Parameters
    ----------
    library
        3D poses ``(n_frames, [n_individuals,] n_keypoints, 3)`` (or a list of those) in the
        world frame of ``floor``.
    floor
        The floor (:func:`as_floor`); default the world's ``z = 0``.
    where
        Names the library in errors.

    Raises
    ------
    ConfigError
        If no pose has a finite point.
    """
    fl = as_floor(floor)
    arrays = library if isinstance(library, list | tuple) else [library]
    lows = []
    for arr in arrays:
        a = np.asarray(arr, dtype=np.float64)
        h = fl.height(a.reshape(-1, a.shape[-2], 3))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN poses
            lows.append(np.nanmin(h, axis=1))
    low = np.concatenate(lows)
    low = low[np.isfinite(low)]
    if low.size == 0:
        raise ConfigError(f"{where}: no pose has a finite 3D point")
    return float(np.median(low))


# ----------------------------------------------------------------------------- rays
def camera_rays(camera: Camera, uv: Any) -> np.ndarray:
    """Directions ``(..., 3)`` in the camera's frame of pixels ``(..., 2)``: ``(x, y, 1)``.

    The lens distortion is removed (``x, y`` are normalised image coordinates); NaN pixels
    give NaN.
    """
    if camera.projection != "perspective":
        raise CalibrationError(
            f"{camera._label()}: placing roots needs a perspective camera, this one is "
            f"{camera.projection}"
        )
    xy = camera.undistort_points(np.asarray(uv, dtype=np.float64), normalized=True)
    return np.concatenate([xy, np.ones(xy.shape[:-1] + (1,))], axis=-1)


def _warn_unplaced(n_bad: int, n: int, why: str) -> None:
    if n_bad:
        warnings.warn(
            f"{n_bad} of {n} roots could not be placed ({why}); their poses are NaN",
            PlacementWarning,
            stacklevel=3,
        )


def place_on_floor(
    pose_cam: Any,
    root_uv: Any,
    camera: Camera,
    height: float | Any,
    floor: Floor | Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Place root-relative camera-frame poses in the world, roots at a height above the floor.

    Parameters
    ----------
    pose_cam
        Lifted poses ``(N, J, 3)`` in the camera's frame, relative to the root (the root at
        the origin).
    root_uv
        The root's 2D ``(N, 2)`` in pixels (as the tracker gave them, with distortion).
    camera
        The calibrated camera the 2D was seen from (intrinsics and extrinsics).
    height
        The root's height above the floor (a number, or ``(N,)``).
    floor
        The floor (:func:`as_floor`); default the world's ``z = 0``.

    Returns
    -------
    poses, roots
        ``(N, J, 3)`` poses and ``(N, 3)`` roots in world coordinates; NaN where the root's
        ray does not meet the plane in front of the camera (a :class:`PlacementWarning`).
    """
    fl = as_floor(floor)
    rel = np.asarray(pose_cam, dtype=np.float64)
    d_world = camera_rays(camera, root_uv) @ camera.R  # Rᵀ d for each ray
    centre = camera.center
    h = np.broadcast_to(np.asarray(height, dtype=np.float64), d_world.shape[:-1])
    denom = d_world @ fl.normal
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = (fl.offset + h - centre @ fl.normal) / denom
    finite = np.all(np.isfinite(d_world), axis=-1)
    bad = finite & ~(lam > 0)
    _warn_unplaced(int(bad.sum()), int(finite.sum()), "the ray meets the floor behind the camera")
    lam = np.where(lam > 0, lam, np.nan)
    roots = centre + lam[..., None] * d_world
    return roots[..., None, :] + rel @ camera.R, roots


def depth_from_size(pose_cam: Any, uv: Any, camera: Camera, root: int = 0) -> np.ndarray:
    """The root's depth at which a lifted pose, projected, best matches its 2D.

    With ``(x_j, y_j)`` the normalised image coordinates of point ``j``, ``(dx_j, dy_j,
    dz_j)`` its lifted position relative to the root and ``Z`` the root's depth (the root on
    its ray, ``Z (x_r, y_r, 1)``), perspective gives ``Z (x_j - x_r) = dx_j - x_j dz_j`` (and
    the same for ``y``): ``Z`` is their least-squares solution, from the points seen in 2D.

    Parameters
    ----------
    pose_cam
        Lifted poses ``(N, J, 3)``, camera frame, relative to ``root``.
    uv
        Their 2D ``(N, J, 2)`` in pixels; NaN where missing.
    camera
        The camera (its intrinsics and distortion only are used).
    root
        Index of the root keypoint.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` depths; NaN where fewer than two points are seen or the fit is not in
        front of the camera.
    """
    rel = np.asarray(pose_cam, dtype=np.float64)
    rays = camera_rays(camera, uv)
    xy = rays[..., :2]
    rel = rel - rel[:, root : root + 1]
    a = xy - xy[:, root : root + 1]  # (N, J, 2)
    b = rel[..., :2] - xy * rel[..., 2:3]
    ok = np.isfinite(a).all(-1) & np.isfinite(b).all(-1)
    a = np.where(ok[..., None], a, 0.0)
    b = np.where(ok[..., None], b, 0.0)
    num = np.sum(a * b, axis=(1, 2))
    den = np.sum(a * a, axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = num / den
    z[(ok.sum(axis=1) < 3) | ~(z > 0) | ~np.isfinite(xy[:, root]).all(-1)] = np.nan
    return z


def place_at_depth(
    pose_cam: Any, root_uv: Any, camera: Camera, depth: float | Any
) -> tuple[np.ndarray, np.ndarray]:
    """Root-relative camera-frame poses with the root on its ray at ``depth`` (camera frame)."""
    rel = np.asarray(pose_cam, dtype=np.float64)
    z = np.broadcast_to(np.asarray(depth, dtype=np.float64), rel.shape[:1])
    roots = camera_rays(camera, root_uv) * z[:, None]
    return rel + roots[:, None], roots


# ----------------------------------------------------------------------------- cameras
def select_camera(cameras: Any, name: str | None = None, hint: str | None = None) -> Camera:
    """One camera out of a calibration: by ``name``, or the one whose name is in ``hint``.

    Parameters
    ----------
    cameras
        A :class:`~liftpose_dlc.Camera`, a calibration file
        (:func:`~liftpose_dlc.load_calibration`), or a list/dict of cameras.
    name
        The camera's name in the calibration.
    hint
        Text that names the camera (e.g. a video's file name): the camera whose name it
        contains, when exactly one does.

    Raises
    ------
    CalibrationError
        If no camera, or more than one, fits.
    """
    if isinstance(cameras, Camera):
        return cameras
    where = "cameras"
    if isinstance(cameras, str | os.PathLike):
        from liftpose_dlc.io.calibration import load_calibration

        where = str(cameras)
        cameras = load_calibration(cameras)
    if isinstance(cameras, Mapping):
        cams = {str(k): v for k, v in cameras.items()}
    else:
        cams = {str(c.name if c.name is not None else i): c for i, c in enumerate(cameras)}
    if not cams or not all(isinstance(c, Camera) for c in cams.values()):
        raise CalibrationError(f"{where}: expected cameras, got {cameras!r}")
    if name is not None:
        if str(name) not in cams:
            raise CalibrationError(f"{where}: no camera {name!r}; cameras: {sorted(cams)}")
        return cams[str(name)]
    if len(cams) == 1:
        return next(iter(cams.values()))
    if hint:
        fits = [k for k in cams if k.lower() in str(hint).lower()]
        longest = [k for k in fits if len(k) == max(len(f) for f in fits)]
        if len(longest) == 1:
            return cams[longest[0]]
    raise CalibrationError(
        f"{where} has {len(cams)} cameras {sorted(cams)}: say which one the 2D was seen from "
        "(camera=NAME)"
    )


@attrs.frozen(eq=False)
class Placement:
    """How the lifting engine places each frame's roots (see the module docstring).

    Parameters
    ----------
    camera
        The calibrated camera the 2D was seen from.
    mode
        ``"floor"`` (world frame; needs ``root_height``), ``"size"`` (camera frame, depth from
        the pose's size) or ``"depth"`` (camera frame, constant ``depth``).
    root_height
        The first root's height above the floor (mode ``"floor"``): used as it is without
        ``clearance``, and for poses whose other points are all missing with it.
    floor
        The floor (:func:`as_floor`; default the world's ``z = 0``).
    depth
        The constant depth (mode ``"depth"``).
    clearance
        Mode ``"floor"``: the height of a pose's lowest point above the floor
        (:func:`floor_clearance` of the library). When given, each frame's root height is
        read from the lifted pose itself (the root's height above the pose's lowest point,
        in the world's orientation, plus ``clearance``), so that a rearing animal's root is
        placed higher; the benchmark (``benchmarks/RESULTS.md``) shows it is the better
        choice.

    Raises
    ------
    ConfigError
        If the mode is unknown or its parameter is missing or not finite.
    """

    camera: Camera
    mode: Mode = "floor"
    root_height: float | None = None
    floor: Floor = attrs.field(default=None, converter=as_floor)
    depth: float | None = None
    clearance: float | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.camera, Camera):
            raise ConfigError(f"placement: camera must be a Camera, got {self.camera!r}")
        if self.mode not in PLACEMENTS:
            raise ConfigError(f"placement: mode must be one of {PLACEMENTS}, got {self.mode!r}")
        if self.clearance is not None and not np.isfinite(float(self.clearance)):
            raise ConfigError(f"placement: clearance must be finite, got {self.clearance!r}")
        needed = {"floor": "root_height", "depth": "depth"}.get(self.mode)
        if needed is not None:
            value = getattr(self, needed)
            if value is None or not np.isfinite(float(value)):
                raise ConfigError(
                    f"placement {self.mode!r} needs a finite {needed}, got {value!r}"
                    + (
                        " (the lifter has no root heights: train it again with this version, "
                        "or pass root_height=)"
                        if needed == "root_height"
                        else ""
                    )
                )
        camera_rays(self.camera, np.zeros((1, 2)))  # a perspective camera

    @property
    def frame(self) -> str:
        """The frame of the placed poses: ``"world"`` or ``"camera"``."""
        return "world" if self.mode == "floor" else "camera"

    def describe(self) -> str:
        """One line for the outputs' provenance."""
        cam = self.camera.name or "camera"
        if self.mode == "floor":
            n, d = self.floor.normal, self.floor.offset
            how = (
                f"{self.root_height:.6g}"
                if self.clearance is None
                else f"the lifted pose's height over its lowest point + {self.clearance:.6g}"
            )
            return (
                f"floor: roots on the rays of {cam} at {how} above the plane "
                f"n={np.round(n, 6).tolist()}, n.X={d:.6g}"
            )
        if self.mode == "size":
            return f"size: root depth from the lifted pose's size in {cam}'s image"
        return f"depth: roots on the rays of {cam} at depth {self.depth:.6g}"

    def place(self, points: np.ndarray, uv: np.ndarray, root: int) -> np.ndarray:
        """Place lifted points ``(N, J, 3)`` (relative to ``root``) using their 2D ``(N, J, 2)``."""
        rel = points - points[:, root : root + 1]
        root_uv = uv[:, root]
        if self.mode == "floor":
            assert self.root_height is not None  # checked when the placement is made
            height = np.full(rel.shape[0], float(self.root_height))
            if self.clearance is not None:
                up = (rel @ self.camera.R) @ self.floor.normal  # (N, J) heights over the root
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN poses
                    low = np.nanmin(np.where(np.arange(rel.shape[1]) == root, np.nan, up), axis=1)
                height = np.where(np.isfinite(low), self.clearance - low, height)
            placed, _ = place_on_floor(rel, root_uv, self.camera, height, self.floor)
        elif self.mode == "size":
            z = depth_from_size(rel, uv, self.camera, root)
            placed, _ = place_at_depth(rel, root_uv, self.camera, z)
        else:
            placed, _ = place_at_depth(rel, root_uv, self.camera, self.depth)
        return np.where(np.isfinite(points), placed, np.nan)


def make_placement(
    lifter: Any,
    frame: str = "camera",
    cameras: Any = None,
    *,
    camera: str | None = None,
    floor: Any = None,
    root_height: float | None = None,
    hint: str | None = None,
) -> Placement | None:
    """The :class:`Placement` the front ends' ``frame=`` and ``cameras=`` options ask for.

    Parameters
    ----------
    lifter
        The lifter (its ``root_heights`` give the first root's height above the floor).
    frame
        ``"world"``: roots on the floor of a calibrated camera's world (needs ``cameras``);
        ``"camera"``: with ``cameras``, roots at the depth the pose's size gives (absolute,
        camera frame); without, each pose around its own root (None is returned).
    cameras
        A :class:`~liftpose_dlc.Camera`, a calibration file or several cameras
        (:func:`select_camera` picks one by ``camera`` or ``hint``).
    camera
        The camera's name in the calibration.
    floor
        The floor (:func:`as_floor`): default the world's ``z = 0``.
    root_height
        The first root's height above the floor, for every frame. Default: each frame's is
        read from the lifted pose (its height over the pose's lowest point, plus the lifter's
        ``floor_clearance``), or the lifter's ``root_heights`` (both learned from its 3D
        library).
    hint
        Names the camera when ``camera`` is None (e.g. the 2D file's name).

    Raises
    ------
    ConfigError
        If ``frame`` is unknown, ``"world"`` is asked without cameras, or no root height is
        known.
    CalibrationError
        If the calibration or floor is not valid, or the camera cannot be chosen.
    """
    from liftpose_dlc.poses import FRAMES

    if frame not in FRAMES:
        raise ConfigError(f"frame must be one of {FRAMES}, got {frame!r}")
    if cameras is None:
        if frame == "world":
            raise ConfigError(
                "frame='world' needs the calibrated camera the 2D was seen from: pass "
                "cameras= (a calibration file or a Camera)"
            )
        if floor is not None or root_height is not None or camera is not None:
            raise ConfigError("floor, root_height and camera are for placed lifts: give cameras=")
        return None
    cam = select_camera(cameras, camera, hint)
    if frame == "camera":
        return Placement(cam, "size")
    clearance = None
    if root_height is None:
        heights = getattr(lifter, "root_heights", None)
        root_height = None if not heights else float(heights[0])
        clearance = getattr(lifter, "floor_clearance", None)
    return Placement(cam, "floor", root_height=root_height, floor=floor, clearance=clearance)


class PlacementKwargs(TypedDict, total=False):
    """The placement keywords of the lifting front ends (the fields of :class:`PlaceOptions`)."""

    frame: str
    cameras: Any
    camera: str | None
    floor: Any
    root_height: float | None


@dataclass(frozen=True)
class PlaceOptions:
    """Where the lifting front ends put the 3D: their ``frame=``, ``cameras=``... keywords.

    Built once from the keywords of :func:`~liftpose_dlc.lift_poses`,
    :func:`~liftpose_dlc.lift_file` or :func:`~liftpose_dlc.lift_dlc_project`
    (:meth:`of`) and passed on as one object; :meth:`placement` makes the engine's
    :class:`Placement` for one input. The fields are :func:`make_placement`'s.
    """

    frame: str = "camera"
    cameras: Any = None
    camera: str | None = None
    floor: Any = None
    root_height: float | None = None

    @classmethod
    def of(cls, place: PlaceOptions | None, keywords: Mapping[str, Any]) -> PlaceOptions:
        """``place``, or the options of the placement ``keywords`` (not both).

        Raises
        ------
        TypeError
            If a keyword is not a placement option (as for an unknown keyword argument).
        ConfigError
            If both ``place`` and keywords are given.
        """
        if place is None:
            return cls(**keywords)
        if keywords:
            raise ConfigError(f"give place= or the keywords {sorted(keywords)}, not both")
        return place

    @property
    def placed(self) -> bool:
        """Whether the 3D is placed (``frame="world"``, or cameras to place it with)."""
        return self.frame == "world" or self.cameras is not None

    def placement(self, lifter: Any, hint: str | None = None) -> Placement | None:
        """The engine's :class:`Placement` for ``lifter`` (``hint``: the input's name)."""
        return make_placement(
            lifter,
            self.frame,
            self.cameras,
            camera=self.camera,
            floor=self.floor,
            root_height=self.root_height,
            hint=hint,
        )
