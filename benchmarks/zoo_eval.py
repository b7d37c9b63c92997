"""Metrics and baselines of the zoo benchmark (root-relative / Procrustes MPJPE, least squares)."""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.zoo_data import Species, TestView
from liftpose_dlc.lifter.augmentation import PoseBatch
from liftpose_dlc.lifter.virtual_views import virtual_views


def eval_mask(sp: Species, view: TestView, known: np.ndarray) -> np.ndarray:
    """(N, J) points scored: non-root targets with known 3D whose root is seen in 2D."""
    n, j = view.pose_3d.shape[:2]
    m = np.zeros((n, j), dtype=bool)
    seen = np.isfinite(view.pose_2d).all(-1)
    gt = np.isfinite(view.pose_3d).all(-1)
    for r, ts in zip(sp.idx(sp.roots), [sp.idx(t) for t in sp.target_sets], strict=True):
        ok = seen[:, r] & gt[:, r]
        for t in ts:
            m[:, t] = ok & gt[:, t] & known[t]
    return m


def _rel(sp: Species, x: np.ndarray) -> np.ndarray:
    out = np.full_like(x, np.nan)
    for r, ts in zip(sp.idx(sp.roots), [sp.idx(t) for t in sp.target_sets], strict=True):
        out[:, ts] = x[:, ts] - x[:, [r]]
        out[:, r] = 0.0
    return out


def errors(sp: Species, pred_rel: np.ndarray, view: TestView, mask: np.ndarray) -> dict[str, float]:
    """Root-relative and Procrustes-aligned MPJPE (mm) of root-relative predictions."""
    gt_rel = _rel(sp, view.pose_3d)
    e = np.linalg.norm(pred_rel - gt_rel, axis=-1)
    mpjpe = float(np.nanmean(np.where(mask, e, np.nan)))
    # Procrustes per frame (similarity) on the scored points with roots at their true places
    roots = sp.idx(sp.roots)
    root_of = {}
    for r, ts in zip(roots, [sp.idx(t) for t in sp.target_sets], strict=True):
        for t in ts:
            root_of[t] = r
    pa = []
    for i in range(len(mask)):
        pts = np.flatnonzero(mask[i])
        if len(pts) < 3:
            continue
        rs = sorted({root_of[p] for p in pts})
        g = np.concatenate([view.pose_3d[i, pts], view.pose_3d[i, rs]])
        p = np.concatenate(
            [view.pose_3d[i, [root_of[q] for q in pts]] + pred_rel[i, pts], view.pose_3d[i, rs]]
        )
        if not (np.isfinite(g).all() and np.isfinite(p).all()):
            continue
        gm, pm = g.mean(0), p.mean(0)
        g0, p0 = g - gm, p - pm
        u, s, vt = np.linalg.svd(p0.T @ g0)
        d = np.sign(np.linalg.det(u @ vt))
        s[-1] *= d
        u[:, -1] *= d
        rot = u @ vt
        scale = s.sum() / (p0**2).sum()
        al = scale * p0 @ rot + gm
        pa.append(np.linalg.norm(al[: len(pts)] - g[: len(pts)], axis=-1).mean())
    return {"mpjpe": mpjpe, "pa_mpjpe": float(np.mean(pa)) if pa else float("nan")}


def lifter_rel(lifter, sp: Species, pose_2d: np.ndarray) -> np.ndarray:
    """Root-relative predictions of a Lifter (roots at 0)."""
    return lifter.predict(pose_2d, root_positions="zero")


# --------------------------------------------------------------------- least squares
def normalised_input(sp: Species, uv: np.ndarray, inputs: list[int]) -> np.ndarray:
    """Anchored 2D (each target relative to its root) / per-pose RMS, over ``inputs``."""
    rel = _rel(sp, np.concatenate([uv, np.zeros_like(uv[..., :1])], -1))[..., :2]
    rel = rel[:, inputs]
    sq = np.nansum(rel**2, axis=(1, 2)) / np.maximum(np.isfinite(rel[..., 0]).sum(1), 1)
    rel = rel / np.sqrt(np.maximum(sq, 1e-12))[:, None, None]
    return np.nan_to_num(rel).reshape(len(uv), -1)


def virtual_pairs(
    sp: Species, bodies: dict[str, np.ndarray], n: int, seed: int, views=None, misses: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` training pairs (2D, camera-frame 3D) from the zoo's augmentation."""
    g = torch.Generator().manual_seed(seed)
    x = np.concatenate(list(bodies.values()))
    opts = {} if misses else {"miss_rate": (0.0, 0.0), "p_set_miss": 0.0, "p_subset": 0.0}
    aug = virtual_views(
        views or sp.views,
        sp.parent_idx,
        sp.idx(sp.roots),
        [sp.idx(t) for t in sp.target_sets],
        **opts,
    )
    idx = torch.randint(len(x), (n,), generator=g)
    p3 = torch.as_tensor(x, dtype=torch.float32)[idx]
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    b = aug(PoseBatch(p3[..., :2], p3, torch.isfinite(p3).all(-1), torch.isfinite(p3).all(-1)))
    torch.random.set_rng_state(state)
    return b.pose_2d.numpy().astype(np.float64), b.pose_3d.numpy().astype(np.float64)


class LeastSquares:
    """Ridge map from normalised anchored 2D of the visible keypoints to root-relative 3D."""

    def __init__(self, sp: Species, train_2d: np.ndarray, train_3d: np.ndarray) -> None:
        self.sp, self.t2, self.t3 = sp, train_2d, train_3d
        self.targets = sorted(set(sum([sp.idx(t) for t in sp.target_sets], [])))

    def predict(self, pose_2d: np.ndarray) -> np.ndarray:
        seen = np.isfinite(pose_2d).all(-1).mean(0) >= 0.5
        roots = set(self.sp.idx(self.sp.roots))
        inputs = [j for j in self.targets if seen[j]]
        x = normalised_input(self.sp, self.t2, inputs)
        y3 = _rel(self.sp, self.t3)[:, self.targets].reshape(len(x), -1)
        ok = np.isfinite(x).all(1) & np.isfinite(y3).all(1)
        if ok.sum() < 100:  # some targets missing in the training data: fill with means
            y3 = np.where(np.isfinite(y3), y3, np.nanmean(y3, 0))
            ok = np.isfinite(x).all(1)
        x, y3 = x[ok], y3[ok]
        xm, ym = x.mean(0), y3.mean(0)
        xc = x - xm
        gram = xc.T @ xc
        lam = 1e-3 * np.trace(gram) / len(gram) + 1e-8
        coef = np.linalg.solve(gram + lam * np.eye(len(gram)), xc.T @ (y3 - ym))
        xt = normalised_input(self.sp, pose_2d, inputs)
        out = np.zeros((len(pose_2d), len(self.sp.keypoints), 3))
        out[:, self.targets] = ((xt - xm) @ coef + ym).reshape(len(xt), -1, 3)
        for r in roots:
            out[:, r] = 0.0
        return out
