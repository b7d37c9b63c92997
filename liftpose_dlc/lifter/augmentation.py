"""Training augmentation on whole batches, keeping the 2D input and the 3D target consistent.

Every augmentation is a callable ``aug(batch) -> batch`` on a :class:`PoseBatch` (tensors
of the whole batch, never one Python call per sample); it never modifies the tensors it
receives. Randomness comes from torch's global generator, which the training loop seeds.
An augmentation may also define ``fit(data)``, called once before training with the whole
training set (a :class:`PoseBatch`), to estimate what it needs from the data.

Available:

* :func:`random_project` -- the seed's random projections: rotate the 3D pose by random
  Euler angles (ranges per camera), translate, and project with a pinhole camera
  (``intr``) or weak perspective (``intr=None``); ``vis`` hides joints per camera. Called
  exactly as in the seed README: ``random_project(**angle_aug)``.
* :func:`random_view` -- the default: rotate each 3D pose about its centre and re-project
  it with a camera *estimated from the paired 2D/3D training data* (affine or pinhole),
  adding the 2D noise level also estimated from that fit. Unseen viewpoints are covered
  without the user knowing the camera.
* :func:`add_noise` -- Gaussian noise on the 2D input.
* :func:`keypoint_dropout` -- hide random 2D keypoints (the network learns to use the mask).
* :func:`project_to_cam` -- replace the 2D input with the projection of the 3D target.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import torch

from liftpose_dlc.errors import ConfigError

__all__ = [
    "PoseBatch",
    "Augmentation",
    "random_project",
    "random_view",
    "add_noise",
    "keypoint_dropout",
    "project_to_cam",
    "euler_to_matrix",
    "fit_camera",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PoseBatch:
    """A batch of paired poses.

    Attributes
    ----------
    pose_2d
        ``(B, J, 2)`` 2D input, NaN where missing.
    pose_3d
        ``(B, J, 3)`` 3D target, NaN where missing.
    valid_2d
        ``(B, J)`` bool: False hides a 2D point from the network.
    weight_3d
        ``(B, J)`` bool: False excludes a 3D point from the loss.
    """

    pose_2d: torch.Tensor
    pose_3d: torch.Tensor
    valid_2d: torch.Tensor
    weight_3d: torch.Tensor

    def __len__(self) -> int:
        return self.pose_2d.shape[0]

    def index(self, idx: torch.Tensor) -> PoseBatch:
        """The samples at ``idx``."""
        return PoseBatch(
            self.pose_2d.index_select(0, idx),
            self.pose_3d.index_select(0, idx),
            self.valid_2d.index_select(0, idx),
            self.weight_3d.index_select(0, idx),
        )


class Augmentation(Protocol):
    """What the training loop calls: a batch in, a new batch out."""

    def __call__(self, batch: PoseBatch) -> PoseBatch:  # pragma: no cover - protocol
        """Return an augmented copy of ``batch``."""
        ...


# --------------------------------------------------------------------- rotations
_AXES = {"x": 0, "y": 1, "z": 2}


def _axis_matrix(axis: int, theta: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(theta), torch.sin(theta)
    one, zero = torch.ones_like(theta), torch.zeros_like(theta)
    if axis == 0:
        rows = [[one, zero, zero], [zero, c, -s], [zero, s, c]]
    elif axis == 1:
        rows = [[c, zero, s], [zero, one, zero], [-s, zero, c]]
    else:
        rows = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
    return torch.stack([torch.stack(r, -1) for r in rows], -2)


def euler_to_matrix(angles_deg: torch.Tensor, axsorder: str = "zyx") -> torch.Tensor:
    """Rotation matrices ``(B, 3, 3)`` from Euler angles ``(B, 3)`` in degrees.

    Same convention as :meth:`scipy.spatial.transform.Rotation.from_euler` (used by the
    seed): lower-case ``axsorder`` means extrinsic rotations (about the fixed axes, in the
    given order), upper-case intrinsic ones. ``angles_deg[:, i]`` is the angle about the
    i-th axis of ``axsorder``.
    """
    if (
        len(axsorder) != 3
        or axsorder.lower().strip("xyz")
        or not (axsorder.islower() or axsorder.isupper())
    ):
        raise ConfigError(
            f"axsorder must be 3 letters of x/y/z, all lower or all upper case, got {axsorder!r}"
        )
    theta = torch.deg2rad(angles_deg)
    mats = [_axis_matrix(_AXES[a], theta[:, i]) for i, a in enumerate(axsorder.lower())]
    if axsorder.islower():  # extrinsic: R = R3 @ R2 @ R1
        return mats[2] @ mats[1] @ mats[0]
    return mats[0] @ mats[1] @ mats[2]


def _project(points: torch.Tensor, intr: torch.Tensor | None) -> torch.Tensor:
    """Camera-frame points ``(..., 3)`` to 2D: pinhole with ``intr`` or weak perspective."""
    if intr is None:
        return points[..., :2]
    h = points @ intr.T
    return h[..., :2] / h[..., 2:3]


def _uniform(lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(lo.shape, dtype=lo.dtype, device=lo.device)


# ---------------------------------------------------------------- random_project
def _per_camera(value: Any, cams: list[Any], what: str) -> dict[Any, Any] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        missing = [c for c in cams if c not in value]
        if missing:
            raise ConfigError(f"random_project: {what} has no entry for cameras {missing}")
        return {c: value[c] for c in cams}
    return {c: value for c in cams}


def _camera_tensor(
    values: dict[Any, Any] | None, cams: list[Any], as_array: Callable[[Any], np.ndarray]
) -> torch.Tensor | None:
    """One value per camera, stacked in camera order (None stays None)."""
    if values is None:
        return None
    stacked = np.stack([as_array(values[c]) for c in cams])
    return torch.as_tensor(stacked, dtype=torch.float32 if stacked.dtype != bool else None)


@dataclass(repr=False)
class _RandomProject:
    """The augmentation :func:`random_project` builds (its arguments are checked there)."""

    cams: list[Any]
    axsorder: str
    ranges: torch.Tensor  # (C, 3, 2) degrees
    tvec: torch.Tensor | None  # (C, 3)
    intr: torch.Tensor | None  # (C, 3, 3)
    vis: torch.Tensor | None  # (C, J) bool
    p: float
    rotate_target: bool
    # accepted for compatibility with the seed; the lifter's own norm_2d option
    # normalises training and prediction inputs the same way.
    norm_2d: bool | None

    @property
    def replaces_2d(self) -> bool:
        """Every training 2D is replaced."""
        return self.p >= 1.0

    def __repr__(self) -> str:
        return f"random_project(cameras={self.cams}, axsorder={self.axsorder!r}, p={self.p})"

    def __call__(self, batch: PoseBatch) -> PoseBatch:
        b, dev = len(batch), batch.pose_3d.device
        cam = torch.randint(len(self.cams), (b,), device=dev)
        rng = self.ranges.to(dev)[cam]
        angles = _uniform(rng[..., 0], rng[..., 1])
        rot = euler_to_matrix(angles, self.axsorder).to(batch.pose_3d.dtype)
        x_cam = batch.pose_3d @ rot.transpose(1, 2)
        if self.tvec is not None:
            x_cam = x_cam + self.tvec.to(dev, x_cam.dtype)[cam][:, None, :]
        if self.intr is None:
            uv = x_cam[..., :2]
        else:
            k = self.intr.to(dev, x_cam.dtype)[cam]
            h = x_cam @ k.transpose(1, 2)
            uv = h[..., :2] / h[..., 2:3]
        valid = batch.valid_2d & torch.isfinite(uv).all(-1)
        if self.vis is not None:
            valid = valid & self.vis.to(dev)[cam]
        target = x_cam if self.rotate_target else batch.pose_3d
        new = PoseBatch(uv, target, valid, batch.weight_3d)
        if self.p >= 1.0:
            return new
        pick = torch.rand(b, device=dev) < self.p
        return _where(pick, new, batch)


def _slice(batch: PoseBatch, start: int, stop: int) -> PoseBatch:
    return PoseBatch(
        batch.pose_2d[start:stop],
        batch.pose_3d[start:stop],
        batch.valid_2d[start:stop],
        batch.weight_3d[start:stop],
    )


def _where(pick: torch.Tensor, a: PoseBatch, b: PoseBatch) -> PoseBatch:
    m = pick[:, None]
    return PoseBatch(
        torch.where(m[..., None], a.pose_2d, b.pose_2d),
        torch.where(m[..., None], a.pose_3d, b.pose_3d),
        torch.where(m, a.valid_2d, b.valid_2d),
        torch.where(m, a.weight_3d, b.weight_3d),
    )


def random_project(
    eangles: Mapping[Any, Sequence[Sequence[float]]] | Sequence[Sequence[float]],
    axsorder: str = "zyx",
    vis: Any = None,
    tvec: Any = None,
    intr: Any = None,
    norm_2d: bool | None = None,
    p: float = 1.0,
    rotate_target: bool = True,
) -> Augmentation:
    """Random projections of the 3D training poses (the seed's ``random_project``).

    For each sample a camera is drawn from ``eangles``' keys, Euler angles are drawn
    uniformly in that camera's ranges, the 3D pose is rotated (``R @ X``), translated by
    ``tvec`` and projected: ``K @ X / Z`` with the intrinsic matrix ``intr``, or weak
    perspective (the first two coordinates) when ``intr`` is None. The new 2D replaces the
    training 2D (the seed: "the training will ignore the input train_2d").

    Parameters
    ----------
    eangles
        ``{camera: [[lo, hi], [lo, hi], [lo, hi]]}`` in degrees, one range per axis of
        ``axsorder``; a single list of three ranges is taken as one camera.
    axsorder
        Euler axis order, scipy convention (``'zyx'``: extrinsic; ``'ZYX'``: intrinsic).
    vis
        Per camera, a ``(J,)`` boolean mask of the joints that camera sees (others are
        hidden from the network), or one mask for all cameras; None: all visible.
    tvec
        Per camera (or one) translation ``(3,)`` added after rotating; needed with ``intr``.
    intr
        Per camera (or one) ``(3, 3)`` intrinsic matrix; None for weak perspective.
    norm_2d
        Accepted for compatibility with the seed and ignored: use the lifter's
        ``norm_2d`` option, which normalises training and prediction alike.
    p
        Fraction of each batch that is re-projected (the rest keeps its paired 2D).
    rotate_target
        True (default): the 3D target is the rotated pose, so 2D and 3D stay consistent
        (the lifter predicts in the camera's frame). False: keep the unrotated 3D as target,
        as liftpose 0.22 did (the lifter predicts in the 3D library's frame whatever the view).

    Examples
    --------
    >>> angle_aug = {'eangles': {0: [[-10, 10], [-10, 10], [-10, 10]]}, 'axsorder': 'zyx',
    ...              'vis': None, 'tvec': None, 'intr': None}
    >>> aug = [random_project(**angle_aug)]
    """
    if not isinstance(eangles, Mapping):
        eangles = {0: eangles}
    if not eangles:
        raise ConfigError("random_project: eangles is empty")
    cams = list(eangles)
    ranges = []
    for c in cams:
        r = np.asarray(eangles[c], dtype=np.float64)
        if r.shape != (3, 2):
            raise ConfigError(
                f"random_project: eangles[{c!r}] must be three [low, high] pairs, got {r.tolist()}"
            )
        ranges.append(r)
    euler_to_matrix(torch.zeros(1, 3), axsorder)  # validates axsorder
    tv = _per_camera(tvec, cams, "tvec")
    it = _per_camera(intr, cams, "intr")
    vi = _per_camera(vis, cams, "vis")
    if intr is not None and tvec is None:
        raise ConfigError(
            "random_project: intr (pinhole projection) needs tvec, the camera translation "
            "that puts the poses in front of the camera"
        )
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"random_project: p must be in [0, 1], got {p}")
    return _RandomProject(
        cams=cams,
        axsorder=axsorder,
        ranges=torch.as_tensor(np.stack(ranges), dtype=torch.float32),
        tvec=_camera_tensor(tv, cams, lambda v: np.asarray(v, dtype=np.float64).reshape(3)),
        intr=_camera_tensor(it, cams, lambda v: np.asarray(v, dtype=np.float64).reshape(3, 3)),
        vis=_camera_tensor(vi, cams, lambda v: np.asarray(v).astype(bool).ravel()),
        p=float(p),
        rotate_target=rotate_target,
        norm_2d=norm_2d,
    )


# ---------------------------------------------------------------- camera fitting
@dataclass(frozen=True)
class FittedCamera:
    """A camera estimated from paired 2D/3D points (see :func:`fit_camera`).

    Attributes
    ----------
    kind
        ``"affine"`` (weak perspective: ``uv = A @ X + b``) or ``"pinhole"`` (3x4 DLT matrix).
    matrix
        ``(2, 4)`` affine or ``(3, 4)`` projection matrix acting on ``[X, 1]``.
    axes
        ``(3, 3)`` rows: the camera's x (image right), y (image down) and viewing axes,
        expressed in the 3D data's frame.
    residual
        RMS reprojection error per coordinate, in 2D units: an estimate of the 2D noise.
    spread
        RMS spread of the 2D points about their mean, to judge the residual.
    """

    kind: str
    matrix: np.ndarray
    axes: np.ndarray
    residual: float
    spread: float

    def project(self, points: torch.Tensor) -> torch.Tensor:
        """Project ``(..., 3)`` points in the data's frame to 2D."""
        m = _cached_tensor(self.matrix, points.dtype, points.device)
        h = points @ m[:, :3].T + m[:, 3]
        if self.kind == "affine":
            return h
        return h[..., :2] / h[..., 2:3]


_TENSOR_CACHE: dict[tuple[int, torch.dtype, torch.device], tuple[np.ndarray, torch.Tensor]] = {}


def _cached_tensor(arr: np.ndarray, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``torch.as_tensor(arr)`` converted once per array, dtype and device."""
    key = (id(arr), dtype, device)
    hit = _TENSOR_CACHE.get(key)
    if hit is None or hit[0] is not arr:
        if len(_TENSOR_CACHE) > 256:
            _TENSOR_CACHE.clear()
        hit = (arr, torch.as_tensor(arr, dtype=dtype, device=device))
        _TENSOR_CACHE[key] = hit
    return hit[1]


def fit_camera(pose_2d: np.ndarray, pose_3d: np.ndarray) -> FittedCamera | None:
    """Estimate the camera that maps the 3D poses to the 2D poses, by least squares.

    An affine (weak-perspective) camera is fitted first; a pinhole camera (normalised DLT)
    replaces it when it halves the reprojection error. Returns None when there are too
    few paired points (fewer than 12).

    Parameters
    ----------
    pose_2d, pose_3d
        ``(N, J, 2)`` and ``(N, J, 3)`` paired poses; pairs with a NaN are ignored.
    """
    u = np.asarray(pose_2d, dtype=np.float64).reshape(-1, 2)
    x = np.asarray(pose_3d, dtype=np.float64).reshape(-1, 3)
    ok = np.isfinite(u).all(1) & np.isfinite(x).all(1)
    u, x = u[ok], x[ok]
    if len(u) < 12:
        return None
    if len(u) > 20_000:  # plenty for 8 or 11 unknowns
        sel = np.random.default_rng(0).choice(len(u), 20_000, replace=False)
        u, x = u[sel], x[sel]
    spread = float(np.sqrt(((u - u.mean(0)) ** 2).sum(1).mean() / 2))
    xh = np.concatenate([x, np.ones((len(x), 1))], 1)
    aff, *_ = np.linalg.lstsq(xh, u, rcond=None)
    aff = aff.T  # (2, 4)
    res_aff = float(np.sqrt(((xh @ aff.T - u) ** 2).mean()))
    axes = _axes_from_rows(aff[0, :3], aff[1, :3])
    best = FittedCamera("affine", aff, axes, res_aff, spread)

    # normalised DLT
    mx, sx = x.mean(0), x.std() + 1e-12
    mu, su = u.mean(0), u.std() + 1e-12
    xn = np.concatenate([(x - mx) / sx, np.ones((len(x), 1))], 1)
    un = (u - mu) / su
    zeros = np.zeros_like(xn)
    rows = np.concatenate(
        [
            np.concatenate([xn, zeros, -un[:, :1] * xn], 1),
            np.concatenate([zeros, xn, -un[:, 1:] * xn], 1),
        ],
        0,
    )
    try:
        _, _, vt = np.linalg.svd(rows, full_matrices=False)
    except np.linalg.LinAlgError:
        return best
    pn = vt[-1].reshape(3, 4)
    tx = np.diag([1 / sx, 1 / sx, 1 / sx, 1.0])
    tx[:3, 3] = -mx / sx
    tu_inv = np.array([[su, 0, mu[0]], [0, su, mu[1]], [0, 0, 1.0]])
    p_mat = tu_inv @ pn @ tx
    h = xh @ p_mat.T
    if np.all(np.abs(h[:, 2]) > 1e-12):
        if np.median(h[:, 2]) < 0:
            p_mat = -p_mat
            h = -h
        res_dlt = float(np.sqrt(((h[:, :2] / h[:, 2:3] - u) ** 2).mean()))
        if np.isfinite(res_dlt) and res_dlt < 0.5 * res_aff and (h[:, 2] > 0).all():
            best = FittedCamera("pinhole", p_mat, axes, res_dlt, spread)
    return best


def _axes_from_rows(r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """Orthonormal camera axes from the first two rows of a projection matrix."""
    a = r1 / (np.linalg.norm(r1) + 1e-12)
    b = r2 - (r2 @ a) * a
    b = b / (np.linalg.norm(b) + 1e-12)
    return np.stack([a, b, np.cross(a, b)])


# -------------------------------------------------------------------- random_view
class _RandomView:
    BANK_SIZE = 16384

    def __init__(
        self,
        max_angle: float | Sequence[float],
        p: float,
        noise: float | str | None,
        camera: FittedCamera | None,
    ) -> None:
        angle = np.broadcast_to(np.asarray(max_angle, dtype=np.float64), (3,)).copy()
        if (angle < 0).any():
            raise ConfigError(f"random_view: max_angle must be >= 0, got {max_angle}")
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"random_view: p must be in [0, 1], got {p}")
        if not (noise is None or noise == "auto" or float(noise) >= 0):
            raise ConfigError(f"random_view: noise must be 'auto', None or >= 0, got {noise}")
        self.max_angle = torch.as_tensor(angle, dtype=torch.float32)
        self.p = float(p)
        self.noise = noise
        self.camera = camera
        self.sigma = 0.0 if noise in (None, "auto") else float(noise)
        self.enabled = camera is not None
        self._bank: torch.Tensor | None = None

    def __repr__(self) -> str:
        cam = None if self.camera is None else self.camera.kind
        return (
            f"random_view(max_angle={self.max_angle.tolist()}, p={self.p}, "
            f"noise={self.sigma:.4g}, camera={cam})"
        )

    def fit(self, data: PoseBatch) -> None:
        if self.camera is None:
            self.camera = fit_camera(data.pose_2d.cpu().numpy(), data.pose_3d.cpu().numpy())
        cam = self.camera
        if cam is None:
            logger.warning("random_view: too few paired points to estimate a camera; disabled")
            self.enabled = False
            return
        if cam.residual > 0.2 * cam.spread:
            logger.warning(
                "random_view: the 2D poses are not one camera's projection of the 3D poses "
                "(reprojection error %.3g for a 2D spread of %.3g); rotation augmentation is "
                "disabled. Pass the camera, or train per camera.",
                cam.residual,
                cam.spread,
            )
            self.enabled = False
            return
        self.enabled = True
        self._bank = None  # drawn afresh for this camera
        if self.noise == "auto":
            self.sigma = cam.residual

    def _rotations(self, dev: torch.device, dt: torch.dtype) -> torch.Tensor:
        """A bank of random rotations in the data's frame (drawn once, then sampled)."""
        bank = self._bank
        if bank is None or bank.device != dev or bank.dtype != dt:
            assert self.camera is not None
            lim = self.max_angle.to(dev, dt)
            n = self.BANK_SIZE
            angles = _uniform(-lim.expand(n, 3), lim.expand(n, 3))
            axes = torch.as_tensor(self.camera.axes, dtype=dt, device=dev)
            bank = axes.T @ euler_to_matrix(angles, "xyz") @ axes
            self._bank = bank
        return bank

    def __call__(self, batch: PoseBatch) -> PoseBatch:
        if not self.enabled or self.camera is None:
            return batch
        if self.p < 1.0:
            # the training loop's batches are random draws, so rotating a random count of
            # them (binomial, mean p * B) taken from the front is the same as picking each
            # with probability p, and costs only the rotated ones
            k = int(torch.binomial(torch.tensor(float(len(batch))), torch.tensor(self.p)))
            if k == 0:
                return batch
            head = self._rotate(_slice(batch, 0, k))
            tail = _slice(batch, k, len(batch))
            return PoseBatch(
                torch.cat([head.pose_2d, tail.pose_2d]),
                torch.cat([head.pose_3d, tail.pose_3d]),
                torch.cat([head.valid_2d, tail.valid_2d]),
                batch.weight_3d,
            )
        return self._rotate(batch)

    def _rotate(self, batch: PoseBatch) -> PoseBatch:
        b, dev, dt = len(batch), batch.pose_3d.device, batch.pose_3d.dtype
        bank = self._rotations(dev, dt)
        q = bank.index_select(0, torch.randint(len(bank), (b,), device=dev))
        x = batch.pose_3d
        finite = torch.isfinite(x).all(-1, keepdim=True)
        centre = torch.where(finite, x, torch.zeros((), dtype=dt, device=dev)).sum(1, keepdim=True)
        centre = centre / finite.sum(1, keepdim=True).clamp(min=1)
        x_new = torch.baddbmm(centre, x - centre, q.transpose(1, 2))
        assert self.camera is not None  # forward() rotates only with a camera
        uv = self.camera.project(x_new)
        if self.sigma > 0:
            uv = uv + self.sigma * torch.randn_like(uv)
        # a re-projected point exists wherever its 3D point does (the camera is virtual)
        valid = finite[..., 0]
        if self.camera.kind != "affine":
            valid = valid & torch.isfinite(uv).all(-1)
        return PoseBatch(uv, x_new, valid, batch.weight_3d)


def random_view(
    max_angle: float | Sequence[float] = 20.0,
    p: float = 0.5,
    noise: float | str | None = "auto",
    camera: FittedCamera | None = None,
) -> Augmentation:
    """Rotate 3D poses about their centre and re-project them with an estimated camera.

    The camera is estimated from the paired training data by least squares
    (:func:`fit_camera`) before training, unless given. For each pose of a batch with
    probability ``p`` (the first poses of the batch, as many as a binomial draw gives:
    batches must come in random order, as the training loop makes them), the 3D pose is
    rotated about its centroid by Euler angles drawn uniformly in
    ``[-max_angle, max_angle]`` about the camera's x, y and viewing axes, projected with the
    camera, and Gaussian noise is added to the new 2D (``noise="auto"``: the camera fit's
    reprojection error). For speed, the rotations are drawn once (16384 of them) and each
    sample picks one at random. The rotated pose becomes the target, so the pair stays consistent:
    the lifter sees the animal from viewpoints around the training cameras.

    When the paired data are not one camera's projection (e.g. 3D in a world frame with 2D
    from several cameras), a warning is logged and the augmentation does nothing.

    Parameters
    ----------
    max_angle
        Largest rotation about each camera axis, in degrees (one value or three: x, y, z).
    p
        Fraction of each batch that is rotated; the rest keeps its real 2D.
    noise
        Standard deviation of the 2D noise added to re-projected poses (2D units), "auto"
        or None for none.
    camera
        A :class:`FittedCamera` to use instead of estimating one.
    """
    return _RandomView(max_angle, p, noise, camera)


# ----------------------------------------------------------------- simple ones
class _AddNoise:
    def __init__(self, sigma: float) -> None:
        if not (math.isfinite(float(sigma)) and float(sigma) >= 0):
            raise ConfigError(f"add_noise: noise amplitude must be >= 0, got {sigma}")
        self.sigma = float(sigma)

    def __repr__(self) -> str:
        return f"add_noise({self.sigma})"

    def __call__(self, batch: PoseBatch) -> PoseBatch:
        uv = batch.pose_2d + self.sigma * torch.randn_like(batch.pose_2d)
        return replace(batch, pose_2d=uv)


def add_noise(noise_amplitude: float) -> Augmentation:
    """Add Gaussian noise of standard deviation ``noise_amplitude`` (2D units) to the 2D."""
    return _AddNoise(noise_amplitude)


class _KeypointDropout:
    def __init__(self, p: float) -> None:
        if not 0.0 <= p < 1.0:
            raise ConfigError(f"keypoint_dropout: p must be in [0, 1), got {p}")
        self.p = float(p)

    def __repr__(self) -> str:
        return f"keypoint_dropout({self.p})"

    def __call__(self, batch: PoseBatch) -> PoseBatch:
        keep = torch.rand(batch.valid_2d.shape, device=batch.valid_2d.device) >= self.p
        return replace(batch, valid_2d=batch.valid_2d & keep)


def keypoint_dropout(p: float) -> Augmentation:
    """Hide each 2D keypoint with probability ``p`` (its 3D target is still learned)."""
    return _KeypointDropout(p)


class _ProjectToCam:
    def __init__(self, intr: Any = None) -> None:
        self.intr = (
            None
            if intr is None
            else torch.as_tensor(
                np.asarray(intr, dtype=np.float64).reshape(3, 3), dtype=torch.float32
            )
        )

    def __call__(self, batch: PoseBatch) -> PoseBatch:
        k = None if self.intr is None else self.intr.to(batch.pose_3d)
        uv = _project(batch.pose_3d, k)
        return replace(batch, pose_2d=uv, valid_2d=batch.valid_2d & torch.isfinite(uv).all(-1))


def project_to_cam(intr: Any = None) -> Augmentation:
    """Replace the 2D input by the projection of the 3D target (3D in the camera's frame).

    ``intr`` is the ``(3, 3)`` intrinsic matrix; None projects with weak perspective.
    """
    return _ProjectToCam(intr)


def default_augmentation() -> list[Augmentation]:
    """The augmentation used when none is given: see :func:`random_view`."""
    return [random_view()]
