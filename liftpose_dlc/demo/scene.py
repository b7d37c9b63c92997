"""The demo's camera and detector: projection to pixels and DeepLabCut-like 2D noise.

The camera is a plain pinhole (no distortion) given as ``K, R, t`` arrays in OpenCV's
convention: a world point ``X`` is ``R @ X + t`` in the camera frame (x right, y down, z along
the optical axis) and ``K @ (R @ X + t)`` before the division by depth gives pixels.
"""

from __future__ import annotations

import numpy as np

from liftpose_dlc.errors import LiftPoseError

__all__ = [
    "demo_camera",
    "world_to_camera",
    "project_points",
    "occluded_by_body",
    "add_detector_noise",
]


def demo_camera(
    image_size: tuple[int, int] = (640, 480),
    *,
    distance: float = 60.0,
    elevation_deg: float = 20.0,
    azimuth_deg: float = -90.0,
    field_of_view_mm: float = 12.0,
) -> dict[str, np.ndarray | tuple[int, int]]:
    """The demo's fixed camera: it looks at the arena's centre from the side and above.

    Parameters
    ----------
    image_size
        ``(width, height)`` in pixels.
    distance
        Distance from the camera to the point it looks at (mm), 0.5 mm above the arena's centre.
    elevation_deg
        Angle of the line of sight above the ground plane.
    azimuth_deg
        Direction of the camera seen from the arena's centre, counter-clockwise from world +x
        (-90: the camera stands on the -y side and looks along +y).
    field_of_view_mm
        Width of the image at that distance, in mm (sets the focal length).

    Returns
    -------
    dict
        ``K`` (3, 3), ``R`` (3, 3) world-to-camera rotation, ``t`` (3,), ``size`` (width, height).

    Examples
    --------
    >>> cam = demo_camera()
    >>> cam["K"][0, 0], cam["size"]
    (np.float64(3200.0), (640, 480))
    """
    width, height = (int(v) for v in image_size)
    if width <= 0 or height <= 0:
        raise LiftPoseError(f"image_size must be positive (width, height), got {image_size}")
    focal = width * distance / field_of_view_mm
    K = np.array([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]])
    target = np.array([0.0, 0.0, 0.5])
    el, az = np.radians(elevation_deg), np.radians(azimuth_deg)
    sight = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    centre = target + distance * sight
    forward = (target - centre) / np.linalg.norm(target - centre)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    R = np.stack([right, down, forward])
    t = -R @ centre
    return {"K": K, "R": R, "t": t, "size": (width, height)}


def world_to_camera(X: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """World points ``(..., 3)`` in the camera frame (``R @ X + t``)."""
    return np.asarray(X, dtype=float) @ np.asarray(R, dtype=float).T + np.asarray(t, dtype=float)


def _project_pinhole(X: np.ndarray, K: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    # The one place where the demo projects 3D points to pixels (an undistorted pinhole). At
    # integration it becomes Camera(K, R, t).project(X) from liftpose_dlc.cameras, which
    # implements the same model.
    Xc = world_to_camera(X, R, t)
    uvw = Xc @ np.asarray(K, dtype=float).T
    return uvw[..., :2] / uvw[..., 2:3]


def project_points(X: np.ndarray, camera: dict) -> np.ndarray:
    """Pixels ``(..., 2)`` of world points ``X (..., 3)`` seen by ``camera`` (:func:`demo_camera`).

    Raises
    ------
    LiftPoseError
        If a point is not in front of the camera.
    """
    depth = world_to_camera(X, camera["R"], camera["t"])[..., 2]
    if np.any(depth <= 0):
        raise LiftPoseError("a point lies behind the camera; it cannot be projected")
    return _project_pinhole(X, camera["K"], camera["R"], camera["t"])


def occluded_by_body(
    points: np.ndarray, centres: np.ndarray, axes: np.ndarray, camera: dict
) -> np.ndarray:
    """Which points are hidden from the camera behind the body ellipsoids.

    A point is hidden when the line of sight from the camera to it passes through one of the
    ellipsoids before reaching it, and the point is further away than that ellipsoid's centre
    (so a joint on the near surface of the body stays visible).

    Parameters
    ----------
    points
        ``(n_frames, n_points, 3)`` world points.
    centres, axes
        ``(n_frames, n_ellipsoids, 3)`` and ``(n_frames, n_ellipsoids, 3, 3)``, as returned by
        :meth:`~liftpose_dlc.demo.generator.FlyWalk.ellipsoids`.
    camera
        As returned by :func:`demo_camera`.

    Returns
    -------
    numpy.ndarray
        ``(n_frames, n_points)`` booleans.
    """
    R, t = np.asarray(camera["R"]), np.asarray(camera["t"])
    eye = -R.T @ t  # camera centre in the world
    inv = np.linalg.inv(axes)  # (T, E, 3, 3): world offsets -> unit-sphere coordinates
    # ray eye + s * (p - eye), s in [0, 1], in each ellipsoid's unit-sphere frame
    o = np.einsum("teij,tej->tei", inv, eye - centres)[:, :, None]  # (T, E, 1, 3)
    d = np.einsum("teij,tpj->tepi", inv, points - eye)  # (T, E, P, 3)
    a = np.sum(d * d, -1)
    b = 2.0 * np.sum(o * d, -1)
    c = np.sum(o * o, -1) - 1.0
    disc = b * b - 4.0 * a * c
    s_in = (-b - np.sqrt(np.maximum(disc, 0.0))) / (2.0 * a)
    hits = (disc > 0) & (s_in > 0) & (s_in < 1)
    depth_p = world_to_camera(points, R, t)[..., 2]  # (T, P)
    depth_c = world_to_camera(centres, R, t)[..., 2]  # (T, E)
    behind = depth_p[:, None, :] > depth_c[:, :, None]
    return np.any(hits & behind, axis=1)


def add_detector_noise(
    xy: np.ndarray,
    *,
    seed: int | tuple[int, ...] = 0,
    sigma_px: float = 1.5,
    dropout_rate: float = 0.02,
    occluded: np.ndarray | None = None,
    occluded_dropout: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """Make exact 2D points look like a pose estimator's output: noise, errors, likelihoods.

    * Every point gets Gaussian noise of ``sigma_px``; on the fly's 30 leg keypoints the noise
      grows along each leg, to 1.5 times that at the claw.
    * Detection failures come in short runs (a two-state Markov chain per point, mean run of
      about 3 frames, ``dropout_rate`` of the time): the point is displaced by about 12 px and
      gets a likelihood below 0.6, as DeepLabCut gives for points it is unsure about.
    * Points marked ``occluded`` fail with probability ``occluded_dropout`` per frame, and
      otherwise get twice the noise and a likelihood in 0.6-0.9.
    * Good points get likelihoods in 0.9-1.0, mostly close to 1.

    Parameters
    ----------
    xy
        ``(n_frames, n_points, 2)`` exact pixel positions.
    seed
        Seed of the noise; the same seed gives the same noise.
    sigma_px
        Standard deviation of the noise on a well-detected point, in pixels.
    dropout_rate
        Fraction of frames in which a visible point is missed.
    occluded
        ``(n_frames, n_points)`` booleans (see :func:`occluded_by_body`), or None.
    occluded_dropout
        Probability that an occluded point is missed.

    Returns
    -------
    xy_noisy, likelihood
        ``(n_frames, n_points, 2)`` and ``(n_frames, n_points)``.

    Examples
    --------
    >>> xy = np.zeros((100, 3, 2))
    >>> noisy, lik = add_detector_noise(xy, seed=0)
    >>> noisy.shape, lik.shape, bool(lik.max() <= 1.0)
    ((100, 3, 2), (100, 3), True)
    """
    xy = np.asarray(xy, dtype=float)
    if xy.ndim != 3 or xy.shape[-1] != 2:
        raise LiftPoseError(f"xy must have shape (n_frames, n_points, 2), got {xy.shape}")
    if not 0.0 <= dropout_rate < 1.0 or not 0.0 <= occluded_dropout <= 1.0:
        raise LiftPoseError("dropout_rate must be in [0, 1) and occluded_dropout in [0, 1]")
    rng = np.random.default_rng(seed)
    n_frames, n_points, _ = xy.shape
    # noise grows along each leg (coxa 1x ... claw 1.5x) for the fly's 30 leg points
    scale = np.ones(n_points)
    n_leg = min(n_points, 30) // 5 * 5
    scale[:n_leg] = np.tile(np.linspace(1.0, 1.5, 5), n_leg // 5)
    noisy = xy + rng.normal(0.0, 1.0, size=xy.shape) * (sigma_px * scale)[:, None]

    # runs of missed detections: P(start) and P(stay) chosen for a mean run of 3 frames
    stay = 2.0 / 3.0
    start = dropout_rate * (1.0 - stay) / max(1e-9, 1.0 - dropout_rate)
    u = rng.uniform(size=(n_frames, n_points))
    missed = np.zeros((n_frames, n_points), dtype=bool)
    state = rng.uniform(size=n_points) < dropout_rate
    for i in range(n_frames):
        state = np.where(state, u[i] < stay, u[i] < start)
        missed[i] = state
    occ = np.zeros_like(missed) if occluded is None else np.asarray(occluded, dtype=bool)
    occ_missed = occ & (rng.uniform(size=missed.shape) < occluded_dropout)
    missed |= occ_missed

    likelihood = 1.0 - 0.1 * rng.beta(1.0, 6.0, size=missed.shape)
    soft = occ & ~missed
    likelihood[soft] = rng.uniform(0.6, 0.9, size=int(soft.sum()))
    noisy[soft] += rng.normal(0.0, sigma_px, size=(int(soft.sum()), 2))
    n_missed = int(missed.sum())
    likelihood[missed] = rng.uniform(0.01, 0.6, size=n_missed)
    noisy[missed] += rng.normal(0.0, 12.0, size=(n_missed, 2))
    return noisy, likelihood
