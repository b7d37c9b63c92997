"""The lifter benchmark's data: protocols P1-P3 on real DeepFly3D poses in the real 7-camera rig.

3D targets are in each camera's frame, ``(X @ R_cam[c].T + tvec[c]) / sim_scale`` (mm), and
2D poses are the pinhole projections with ``K[c]`` plus 1 px Gaussian noise (seeded).
Frames 0-799 train, 800-999 test. ``dev=True`` splits the training frames instead
(0-639 train, 640-799 test) so that choices are never made on the test frames.

* P1: camera 1, the 15 left-leg joints (0-14), roots [0, 5, 10].
* P2: camera 3 (front), all 30 joints, every coxa a root.
* P3: train on cameras 0 and 2, test on camera 1, left legs as in P1.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

SHARED_DATA = Path(
    os.environ.get("LIFTPOSE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
DATA = SHARED_DATA / "3d/df3d_fly/df3d_210902_PR_Fly1_1000f_in_reference_rig.npz"

PROTOCOLS = {
    "P1": {"train_cams": [1], "test_cam": 1, "joints": list(range(15)), "roots": [0, 5, 10]},
    "P2": {
        "train_cams": [3],
        "test_cam": 3,
        "joints": list(range(30)),
        "roots": list(range(0, 30, 5)),
    },
    "P3": {"train_cams": [0, 2], "test_cam": 1, "joints": list(range(15)), "roots": [0, 5, 10]},
}


def load_rig(path: Path = DATA) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as d:
        return {k: d[k] for k in d.files}


def camera_view(rig: dict, cam: int, frames: slice, joints: list[int], seed: int):
    """2D (pixels, +1 px noise) and 3D (camera frame, mm) of one camera."""
    x = rig["points3d_world"][frames][:, joints]
    x_cam = x @ rig["R_cam"][cam].T + rig["tvec"][cam]
    h = x_cam @ rig["K"][cam].T
    uv = h[..., :2] / h[..., 2:3]
    uv = uv + np.random.default_rng(seed).normal(0.0, 1.0, uv.shape)
    return uv, x_cam / float(rig["sim_scale"])


def protocol(name: str, rig: dict, dev: bool = False):
    """``(train_2d, train_3d, test_2d, test_3d, roots, target_sets)`` of a protocol.

    The training data is a seed dictionary with one key per training camera.
    """
    p = PROTOCOLS[name]
    train_frames, test_frames = (
        (slice(0, 640), slice(640, 800)) if dev else (slice(0, 800), slice(800, 1000))
    )
    train_2d, train_3d = {}, {}
    for c in p["train_cams"]:
        uv, x = camera_view(rig, c, train_frames, p["joints"], seed=100 + c)
        train_2d[f"cam{c}"], train_3d[f"cam{c}"] = uv, x
    test_2d, test_3d = camera_view(rig, p["test_cam"], test_frames, p["joints"], seed=200)
    roots = p["roots"]
    target_sets = [[r + i for i in range(1, 5)] for r in roots]
    return train_2d, train_3d, test_2d, test_3d, roots, target_sets


def root_relative_error(pred: np.ndarray, gt: np.ndarray, roots, target_sets) -> float:
    """Mean Euclidean error (mm) of the non-root joints relative to their root."""
    errs = []
    for r, ts in zip(roots, target_sets, strict=True):
        rel_p = pred[:, ts] - pred[:, [r]]
        rel_g = gt[:, ts] - gt[:, [r]]
        errs.append(np.linalg.norm(rel_p - rel_g, axis=-1))
    return float(np.nanmean(np.concatenate(errs, axis=1)))


def least_squares(train_2d: dict, train_3d: dict, test_2d: np.ndarray, roots, target_sets):
    """Plain least-squares map from root-relative 2D to root-relative 3D (with a bias)."""

    def rel(a):
        return np.concatenate(
            [a[:, ts] - a[:, [r]] for r, ts in zip(roots, target_sets, strict=True)], 1
        )

    x = np.concatenate([rel(v) for v in train_2d.values()]).reshape(
        -1, sum(map(len, target_sets)) * 2
    )
    y = np.concatenate([rel(v) for v in train_3d.values()]).reshape(len(x), -1)
    xh = np.concatenate([x, np.ones((len(x), 1))], 1)
    coef, *_ = np.linalg.lstsq(xh, y, rcond=None)
    xt = rel(test_2d).reshape(len(test_2d), -1)
    yt = np.concatenate([xt, np.ones((len(xt), 1))], 1) @ coef
    n_j = test_2d.shape[1]
    pred = np.zeros((len(test_2d), n_j, 3))
    yt = yt.reshape(len(xt), -1, 3)
    k = 0
    for ts in target_sets:
        pred[:, ts] = yt[:, k : k + len(ts)]
        k += len(ts)
    return pred
