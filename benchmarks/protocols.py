"""Benchmark protocols P1-P3 on the real DeepFly3D fly data, and a least-squares baseline.

The data are 1000 real 3D poses of a tethered fly (30 joints) placed in the calibrated
7-camera DeepFly3D rig (``df3d_210902_PR_Fly1_1000f_in_reference_rig.npz`` in
``../shared/data/3d/df3d_fly/``).

For each camera ``c`` used by a protocol:

- 3D targets are the poses in the camera's frame, in mm: ``(X @ R_cam[c].T + tvec[c]) / sim_scale``;
- 2D inputs are the pinhole projections with ``K[c]`` (the rig has no distortion), in pixels,
  plus Gaussian noise of ``noise_px`` (1 px) drawn from one ``np.random.default_rng(seed)``,
  camera by camera in increasing camera order, over all 1000 frames and 30 joints;
- frames 0-799 are for training, 800-999 for testing; with ``dev=True`` (research, so that
  no choice is ever made on the test frames) frames 0-639 train and 640-799 test, with the
  same noisy arrays.

The error is the mean Euclidean error of the non-root joints relative to their root, in mm
(:func:`root_relative_error`).

======== ============== =========== ====================================================
protocol train cameras test camera joints, roots and target sets
======== ============== =========== ====================================================
P1       1              1           left legs (0-14), roots 0, 5, 10, the 4 other joints
P2       3              3           all 30 joints, roots every coxa (0, 5, ..., 25)
P3       0 and 2        1           as P1 (generalisation to an unseen camera)
======== ============== =========== ====================================================

This module needs numpy only, so that the liftpose 0.22 runner can import it inside its own
virtual environment (numpy < 2).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

DATA_RELATIVE = "3d/df3d_fly/df3d_210902_PR_Fly1_1000f_in_reference_rig.npz"
REPO = Path(__file__).resolve().parents[1]
# the real-data folder, as in tests/conftest.py: ../shared/data or $LIFTPOSE_SHARED_DATA
SHARED_DATA = Path(os.environ.get("LIFTPOSE_SHARED_DATA", REPO.parent / "shared" / "data"))
DEFAULT_DATA_PATH = SHARED_DATA / DATA_RELATIVE
N_TRAIN_FRAMES = 800
N_DEV_TRAIN_FRAMES = 640

_LEFT = list(range(15))
_LEFT_ROOTS = [0, 5, 10]
_ALL_ROOTS = list(range(0, 30, 5))

PROTOCOLS: dict[str, dict] = {
    "P1": {
        "train_cameras": [1],
        "test_camera": 1,
        "joints": _LEFT,
        "roots": _LEFT_ROOTS,
        "description": "camera 1, left legs",
    },
    "P2": {
        "train_cameras": [3],
        "test_camera": 3,
        "joints": list(range(30)),
        "roots": _ALL_ROOTS,
        "description": "camera 3 (front), all six legs",
    },
    "P3": {
        "train_cameras": [0, 2],
        "test_camera": 1,
        "joints": _LEFT,
        "roots": _LEFT_ROOTS,
        "description": "train on cameras 0 and 2, test on camera 1, left legs",
    },
}


def _leg_target_sets(roots: list[int]) -> list[list[int]]:
    return [[r + i for i in range(1, 5)] for r in roots]


def camera_views(
    data_path: str | Path | None = None,
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray], list[str]]:
    """Noise-free 2D (pixels) and 3D (camera frame, mm) poses of all frames for each camera.

    Returns ``(views_2d, views_3d, keypoint_names)``; the dictionaries map the camera index
    to arrays of shape (1000, 30, 2) and (1000, 30, 3).
    """
    path = Path(data_path) if data_path is not None else DEFAULT_DATA_PATH
    if not path.is_file():
        raise FileNotFoundError(
            f"benchmark data not found: {path} (it lives in ../shared/data beside the repository)"
        )
    with np.load(path) as d:
        world = d["points3d_world"]
        rot, tvec, intr = d["R_cam"], d["tvec"], d["K"]
        scale = float(d["sim_scale"])
        names = [str(n) for n in d["keypoint_names"]]
    views_2d, views_3d = {}, {}
    for c in range(len(rot)):
        cam = world @ rot[c].T + tvec[c]
        pix = cam @ intr[c].T
        pix = pix[..., :2] / pix[..., 2:]
        views_2d[c] = pix
        views_3d[c] = cam / scale
    return views_2d, views_3d, names


def load_protocol(
    name: str,
    data_path: str | Path | None = None,
    noise_px: float = 1.0,
    seed: int = 0,
    dev: bool = False,
) -> dict:
    """Training and test arrays of one protocol, seed-style.

    Parameters
    ----------
    name
        ``"P1"``, ``"P2"`` or ``"P3"``.
    data_path
        The fly npz; default ``../shared/data/3d/df3d_fly/...`` beside the repository
        (the folder can be moved with ``LIFTPOSE_SHARED_DATA``, as for the tests).
    noise_px
        Standard deviation of the Gaussian noise added to the 2D poses, in pixels.
    seed
        Seed of the noise generator.
    dev
        Split the training frames instead: train on 0-639, test on 640-799 (the same noisy
        arrays as without ``dev``; for research, so that the test frames are never used).

    Returns
    -------
    dict
        ``train_2d`` (N, J, 2) px, ``train_3d`` (N, J, 3) mm (the training cameras
        concatenated), ``train_2d_by_camera`` and ``train_3d_by_camera`` (the same as seed
        dictionaries ``{"cam<c>": array}``, one sequence per camera), ``test_2d``,
        ``test_3d``, ``roots``, ``target_sets`` (indices into the J selected joints), and
        ``name``, ``keypoint_names``, ``train_cameras``, ``test_camera``, ``description``,
        ``dev``.
    """
    if name not in PROTOCOLS:
        raise KeyError(f"unknown protocol {name!r}; choose from {sorted(PROTOCOLS)}")
    spec = PROTOCOLS[name]
    views_2d, views_3d, names = camera_views(data_path)
    rng = np.random.default_rng(seed)
    cams = sorted({*spec["train_cameras"], spec["test_camera"]})
    noisy = {c: views_2d[c] + rng.normal(0.0, noise_px, views_2d[c].shape) for c in cams}
    joints = spec["joints"]

    def pick(arr: np.ndarray, frames: slice) -> np.ndarray:
        return np.ascontiguousarray(arr[frames][:, joints])

    if dev:
        train, test = slice(0, N_DEV_TRAIN_FRAMES), slice(N_DEV_TRAIN_FRAMES, N_TRAIN_FRAMES)
    else:
        train, test = slice(0, N_TRAIN_FRAMES), slice(N_TRAIN_FRAMES, None)
    by_cam_2d = {f"cam{c}": pick(noisy[c], train) for c in spec["train_cameras"]}
    by_cam_3d = {f"cam{c}": pick(views_3d[c], train) for c in spec["train_cameras"]}
    return {
        "name": name,
        "description": spec["description"],
        "dev": dev,
        "train_cameras": list(spec["train_cameras"]),
        "test_camera": spec["test_camera"],
        "keypoint_names": [names[j] for j in joints],
        "train_2d": np.concatenate(list(by_cam_2d.values())),
        "train_3d": np.concatenate(list(by_cam_3d.values())),
        "train_2d_by_camera": by_cam_2d,
        "train_3d_by_camera": by_cam_3d,
        "test_2d": pick(noisy[spec["test_camera"]], test),
        "test_3d": pick(views_3d[spec["test_camera"]], test),
        "roots": list(spec["roots"]),
        "target_sets": _leg_target_sets(spec["roots"]),
    }


def _relative(poses: np.ndarray, roots: list[int], target_sets: list[list[int]]) -> np.ndarray:
    """Target joints minus their root, stacked: shape (N, n_targets, D)."""
    parts = [poses[:, t] - poses[:, [r]] for r, t in zip(roots, target_sets, strict=True)]
    return np.concatenate(parts, axis=1)


def root_relative_error(
    gt: np.ndarray, pred: np.ndarray, roots: list[int], target_sets: list[list[int]]
) -> float:
    """Mean Euclidean error of the target joints relative to their roots (NaN ignored).

    ``gt`` and ``pred`` have shape (N, J, 3); the result is in their units.
    """
    err = np.linalg.norm(
        _relative(np.asarray(pred, float), roots, target_sets)
        - _relative(np.asarray(gt, float), roots, target_sets),
        axis=-1,
    )
    return float(np.nanmean(err))


def lstsq_fit_predict(protocol: dict) -> np.ndarray:
    """Fit a linear map (with bias) from root-relative 2D to root-relative 3D; predict test.

    Returns the predicted test poses (N, J, 3), with every root at the ground-truth root
    (only root-relative positions are predicted).
    """
    roots, sets = protocol["roots"], protocol["target_sets"]

    def design(x2d: np.ndarray) -> np.ndarray:
        rel = _relative(x2d, roots, sets).reshape(len(x2d), -1)
        return np.hstack([rel, np.ones((len(rel), 1))])

    target = _relative(protocol["train_3d"], roots, sets).reshape(len(protocol["train_3d"]), -1)
    weights, *_ = np.linalg.lstsq(design(protocol["train_2d"]), target, rcond=None)
    rel_pred = (design(protocol["test_2d"]) @ weights).reshape(len(protocol["test_2d"]), -1, 3)
    pred = np.array(protocol["test_3d"], dtype=float, copy=True)
    start = 0
    for root, targets in zip(roots, sets, strict=True):
        pred[:, targets] = pred[:, [root]] + rel_pred[:, start : start + len(targets)]
        start += len(targets)
    return pred


def lstsq_baseline(protocol: dict) -> float:
    """Error (mm) of the least-squares map from root-relative 2D to root-relative 3D."""
    pred = lstsq_fit_predict(protocol)
    return root_relative_error(
        protocol["test_3d"], pred, protocol["roots"], protocol["target_sets"]
    )


if __name__ == "__main__":
    for key in PROTOCOLS:
        print(f"{key}: least-squares {lstsq_baseline(load_protocol(key)):.4f} mm")
