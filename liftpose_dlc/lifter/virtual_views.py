"""Training for unknown cameras: virtual views, body variation and detector-like 2D error.

:func:`virtual_views` is an augmentation (see :mod:`liftpose_dlc.lifter.augmentation`) that
replaces every training sample's 2D and 3D. The 3D library is given in a body frame with
+z up (for a fly also +x anterior, +y left). For each sample:

1. **Body variation**: every bone (joint relative to its parent in ``parents``) is scaled by
   its own factor in ``bone_scale``, and the whole pose by one factor in ``body_scale`` and
   three per-axis factors in ``axis_scale`` (body shape).
2. **View**: a view is drawn (the keys of ``views``, equally likely) and Euler angles
   uniformly in its ranges, in the convention of :func:`liftpose_dlc.cameras.camera_from_euler`
   (``zyx``, degrees: the camera's rotation is ``euler_to_matrix([z, y, x], "zyx")``). The
   pose is rotated into that camera's frame and seen by a pinhole camera at a distance of
   ``distance`` times its size (log-uniform): from near perspective to weak perspective.
   The 3D target is the pose in the camera's frame, so input and target stay consistent.
3. **Detector error** on the 2D, relative to the 2D size of the pose: Student-t noise
   (heavy tails) of a scale drawn per pose, outliers (a point displaced anywhere near the
   body), and misses: a per-pose miss rate, whole target sets missed, and with probability
   ``p_subset`` only a random subset of the keypoints kept (so that any subset a user
   tracks is a valid input), and with probability ``p_chain_subset`` whole chains of the
   skeleton (a limb, the head, the tail: the runs of joints between branch points) dropped,
   each with probability one half, as users who track the trunk and head but no limbs do.
   Roots are never hidden (a set without its root cannot be lifted).

The 2D is in arbitrary units (the lifter should normalise each pose's 2D scale,
``norm_2d=True``); the 3D keeps the library's units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from liftpose_dlc.errors import ConfigError
from liftpose_dlc.lifter.augmentation import PoseBatch, euler_to_matrix

__all__ = ["virtual_views", "VirtualViews"]


class VirtualViews:
    """The augmentation made by :func:`virtual_views` (see there)."""

    replaces_2d = True

    def __init__(
        self,
        views: Mapping[str, Sequence[Sequence[float]]],
        parents: Sequence[int],
        roots: Sequence[int],
        target_sets: Sequence[Sequence[int]],
        *,
        bone_scale: tuple[float, float] = (0.9, 1.1),
        body_scale: tuple[float, float] = (0.85, 1.15),
        axis_scale: tuple[float, float] = (0.93, 1.07),
        distance: tuple[float, float] = (4.0, 100.0),
        noise: tuple[float, float] = (0.003, 0.03),
        noise_df: float = 3.0,
        p_outlier: float = 0.02,
        miss_rate: tuple[float, float] = (0.0, 0.3),
        p_set_miss: float = 0.1,
        p_subset: float = 0.3,
        p_chain_subset: float = 0.0,
        inputs: Sequence[int] | None = None,
    ) -> None:
        if not views:
            raise ConfigError("virtual_views: no views given")
        ranges = []
        for name, r in views.items():
            arr = np.asarray(r, dtype=np.float64)
            if arr.shape != (3, 2) or np.any(arr[:, 1] < arr[:, 0]):
                raise ConfigError(
                    f"virtual_views: view {name!r} needs three [low, high] ranges, got {r}"
                )
            ranges.append(arr)
        self.view_names = list(views)
        self.ranges = torch.as_tensor(np.stack(ranges), dtype=torch.float32)
        n = len(parents)
        self.parents = torch.as_tensor(list(parents), dtype=torch.long)
        order: list[int] = []
        seen: set[int] = set()
        while len(order) < n:  # parents before children
            before = len(order)
            for j in range(n):
                p = int(parents[j])
                if j not in seen and (p < 0 or p in seen):
                    order.append(j)
                    seen.add(j)
            if len(order) == before:
                raise ConfigError("virtual_views: parents do not form a tree")
        self.order = order
        self.chains = _chains(list(parents), order)
        self.roots = torch.as_tensor(list(roots), dtype=torch.long)
        self.sets = [torch.as_tensor(list(ts), dtype=torch.long) for ts in target_sets]
        self.bone_scale = bone_scale
        self.body_scale = body_scale
        self.axis_scale = axis_scale
        self.distance = distance
        self.noise = noise
        self.noise_df = float(noise_df)
        self.p_outlier = float(p_outlier)
        self.miss_rate = miss_rate
        self.p_set_miss = float(p_set_miss)
        self.p_subset = float(p_subset)
        self.p_chain_subset = float(p_chain_subset)
        self.inputs: torch.Tensor | None = None
        if inputs is not None:
            mask = torch.zeros(n, dtype=torch.bool)
            mask[torch.as_tensor(sorted(set(map(int, inputs))), dtype=torch.long)] = True
            mask[self.roots] = True
            self.inputs = mask

    def __repr__(self) -> str:
        return (
            f"virtual_views(views={self.view_names}, bone_scale={self.bone_scale}, "
            f"body_scale={self.body_scale}, axis_scale={self.axis_scale}, "
            f"distance={self.distance}, noise={self.noise}, noise_df={self.noise_df}, "
            f"p_outlier={self.p_outlier}, miss_rate={self.miss_rate}, "
            f"p_set_miss={self.p_set_miss}, p_subset={self.p_subset}"
            + (f", p_chain_subset={self.p_chain_subset}" if self.p_chain_subset else "")
            + (
                f", inputs={torch.nonzero(self.inputs).flatten().tolist()})"
                if self.inputs is not None
                else ")"
            )
        )

    # ------------------------------------------------------------ pieces
    @staticmethod
    def _u(lo: float, hi: float, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(shape, dtype=like.dtype, device=like.device)

    def _vary_body(self, x: torch.Tensor) -> torch.Tensor:
        b, j, _ = x.shape
        finite = torch.isfinite(x)
        x0 = torch.where(finite, x, torch.zeros((), dtype=x.dtype, device=x.device))
        k = self._u(*self.bone_scale, (b, j, 1), x)
        new = x0.clone()
        par = self.parents.tolist()
        for jj in self.order:
            p = par[jj]
            if p < 0:
                continue
            # a bone with a missing end keeps its length; the shift of its parent carries on
            bone = x0[:, jj] - x0[:, p]
            ok = (finite[:, jj] & finite[:, p]).all(-1, keepdim=True)
            shift = new[:, p] - x0[:, p]
            new[:, jj] = x0[:, jj] + shift + torch.where(ok, (k[:, jj] - 1.0) * bone, 0.0)
        fin = finite.all(-1, keepdim=True)
        centre = (new * fin).sum(1, keepdim=True) / fin.sum(1, keepdim=True).clamp(min=1)
        s = self._u(*self.body_scale, (b, 1, 1), x) * self._u(*self.axis_scale, (b, 1, 3), x)
        new = centre + (new - centre) * s
        return torch.where(finite, new, torch.full_like(new, math.nan))

    def _rotations(self, b: int, like: torch.Tensor) -> torch.Tensor:
        v = torch.randint(len(self.view_names), (b,), device=like.device)
        r = self.ranges.to(like.device, like.dtype)[v]  # (B, 3, 2)
        ang = r[..., 0] + (r[..., 1] - r[..., 0]) * torch.rand(
            (b, 3), dtype=like.dtype, device=like.device
        )
        return euler_to_matrix(ang, "zyx")

    def _project(self, x: torch.Tensor, rot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fin = torch.isfinite(x).all(-1, keepdim=True)
        x0 = torch.where(fin, x, torch.zeros((), dtype=x.dtype, device=x.device))
        centre = x0.sum(1, keepdim=True) / fin.sum(1, keepdim=True).clamp(min=1)
        rel = torch.where(fin, x0 - centre, 0.0)
        size = torch.sqrt((rel * rel).sum((1, 2)) / fin.sum((1, 2)).clamp(min=1)).clamp(min=1e-9)
        x_cam = torch.bmm(x0 - centre, rot.transpose(1, 2))
        lo, hi = math.log(self.distance[0]), math.log(self.distance[1])
        dist = torch.exp(self._u(lo, hi, (x.shape[0],), x)) * size
        depth = (x_cam[..., 2] + dist[:, None]).clamp(min=1e-3 * size[:, None])
        uv = x_cam[..., :2] / depth[..., None] * dist[:, None, None]  # image scale ~ body size
        x_cam = torch.where(fin, x_cam, torch.full_like(x_cam, math.nan))
        return uv, x_cam

    def _detector(self, uv: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, j, _ = uv.shape
        w = valid[..., None].to(uv.dtype)
        centre = (uv * w).sum(1, keepdim=True) / w.sum(1, keepdim=True).clamp(min=1)
        size = torch.sqrt((((uv - centre) * w) ** 2).sum((1, 2)) / w.sum((1, 2)).clamp(min=1))
        size = size[:, None, None]
        sigma = self._u(*self.noise, (b, 1, 1), uv) * size
        df = self.noise_df
        normal = torch.randn_like(uv)
        chi2 = torch.distributions.Chi2(torch.tensor(df)).sample((b, j, 1)).to(uv)
        t = normal / torch.sqrt(chi2 / df)
        uv = uv + sigma * t * math.sqrt((df - 2) / df if df > 2 else 1.0)
        out = torch.rand((b, j, 1), device=uv.device) < self.p_outlier
        jump = (torch.rand_like(uv) - 0.5) * size
        uv = torch.where(out, uv + jump, uv)
        # misses
        rate = self._u(*self.miss_rate, (b, 1), uv)
        keep = torch.rand((b, j), device=uv.device) >= rate
        for ts in self.sets:
            gone = torch.rand((b, 1), device=uv.device) < self.p_set_miss
            idx = ts.to(uv.device)
            keep[:, idx] = keep[:, idx] & ~gone
        sub = torch.rand((b, 1), device=uv.device) < self.p_subset
        # a random subset: each keypoint kept with a probability drawn per pose
        frac = torch.rand((b, 1), device=uv.device)
        keep_sub = torch.rand((b, j), device=uv.device) < frac
        keep = torch.where(sub, keep & keep_sub, keep)
        if self.p_chain_subset > 0 and self.chains:
            mode = torch.rand((b, 1), device=uv.device) < self.p_chain_subset
            gone = mode & (torch.rand((b, len(self.chains)), device=uv.device) < 0.5)
            drop = gone.to(uv.dtype) @ self._chain_matrix(j, uv) > 0
            keep = keep & ~drop
        if self.inputs is not None:
            keep = keep & self.inputs.to(uv.device)
        keep[:, self.roots.to(uv.device)] = True
        return uv, valid & keep

    def _chain_matrix(self, j: int, like: torch.Tensor) -> torch.Tensor:
        m = torch.zeros((len(self.chains), j), dtype=like.dtype, device=like.device)
        for c, members in enumerate(self.chains):
            m[c, members] = 1.0
        return m

    def __call__(self, batch: PoseBatch) -> PoseBatch:
        """Replace the batch's 2D and 3D by a virtual view of a varied body."""
        x = self._vary_body(batch.pose_3d)
        rot = self._rotations(len(batch), x)
        uv, x_cam = self._project(x, rot)
        valid = torch.isfinite(x_cam).all(-1)
        uv, valid = self._detector(uv, valid)
        uv = torch.where(valid[..., None], uv, torch.full_like(uv, math.nan))
        weight = batch.weight_3d & torch.isfinite(x_cam).all(-1)
        if self.inputs is not None:  # a specialist is scored on what the user tracks
            weight = weight & self.inputs.to(weight.device)
        return PoseBatch(uv, x_cam, valid, weight)


def _chains(parents: list[int], order: list[int]) -> list[list[int]]:
    """Runs of joints between branch points of the skeleton tree (tree roots excluded)."""
    children: dict[int, int] = {}
    for p in parents:
        children[p] = children.get(p, 0) + 1
    chain_of: dict[int, int] = {}
    chains: list[list[int]] = []
    for j in order:  # parents first
        p = parents[j]
        if p < 0:
            continue
        if parents[p] < 0 or children.get(p, 0) > 1 or p not in chain_of:
            chain_of[j] = len(chains)
            chains.append([j])
        else:
            chain_of[j] = chain_of[p]
            chains[chain_of[p]].append(j)
    return chains


def virtual_views(
    views: Mapping[str, Sequence[Sequence[float]]],
    parents: Sequence[int],
    roots: Sequence[int],
    target_sets: Sequence[Sequence[int]],
    **options: Any,
) -> VirtualViews:
    """Augmentation: virtual cameras over ``views``, body variation, detector-like 2D error.

    Parameters
    ----------
    views
        ``{view name: [[z_lo, z_hi], [y_lo, y_hi], [x_lo, x_hi]]}``: Euler-angle ranges in
        degrees of the camera rotation (``camera_from_euler``'s convention) in the
        library's body frame (+z up).
    parents
        Per joint, the index of its parent in the skeleton tree (-1 for the tree's roots):
        the bones that ``bone_scale`` varies.
    roots, target_sets
        The lifter's roots (never hidden) and target sets (missed as wholes at times).
    **options
        ``bone_scale``, ``body_scale``, ``axis_scale`` (ranges of scale factors),
        ``distance`` (range of camera distance / body size, log-uniform), ``noise`` (range
        of the 2D noise scale relative to the 2D body size), ``noise_df`` (Student-t degrees
        of freedom), ``p_outlier``, ``miss_rate`` (range of the per-pose miss rate),
        ``p_set_miss``, ``p_subset``, ``p_chain_subset``: see the module docstring.

    Returns
    -------
    VirtualViews
        Pass it in a list as ``Lifter.fit(..., augment=[aug])``.
    """
    return VirtualViews(views, parents, roots, target_sets, **options)
