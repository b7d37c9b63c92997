"""Fine-tuning a pretrained lifter on a small library of another animal (real data).

A stand-in "zoo" mouse is trained on the DANNCE mouse (mouse22 names, 1000 frames); the
"user" is the STAC-MJX mouse (another animal, another lab, other keypoint names and
placements), whose names are mapped automatically onto mouse22 (15 keypoints match). The
user has a small 3D library (``--library-frames`` frames from the start of the recording)
and lifts frames from later in the recording, seen by virtual cameras the training never
used. Compared, on the same test 2D (root-relative MPJPE, mm):

(a) the zoo model as it is, on the user's 15 keypoints (the rest missing);
(b) a lifter trained from scratch on the small library;
(c) the zoo model fine-tuned on it (``train_from_library(..., init=zoo)``).

Run: ``python benchmarks/bench_finetune.py`` (about 8 minutes on one shared core).

Measured (2026-12-01, one torch thread, default schedules; test: 1600 poses, 4 new views):

=================  ======  ==========  ===========
library frames     zoo     scratch     fine-tuned
=================  ======  ==========  ===========
200                61.8    40.4        33.9
50                 61.8    56.6        43.7
=================  ======  ==========  ===========

(root-relative MPJPE, mm, every direction of view, 15 keypoints; training 204 s zoo, 190 s
scratch, 52 s fine-tune with 200 frames). The zoo model alone is poor here because the two
labs place their keypoints differently (it is a stand-in trained on one animal, not the
shipped model); fine-tuning on even 50 frames of the user's own 3D fixes most of that and
beats training from scratch on the same frames.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import scipy.io
import torch
import yaml

from liftpose_dlc import Poses
from liftpose_dlc.cameras import sample_cameras
from liftpose_dlc.lifter.augmentation import keypoint_dropout
from liftpose_dlc.pretrained.adapt import adapt_lifter
from liftpose_dlc.training_pairs import make_training_pairs
from liftpose_dlc.workflow.training import train_from_library

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ALL_VIEWS = [[-180.0, 180.0], [-90.0, 90.0], [-180.0, 180.0]]


def load_dannce() -> Poses:
    folder = SHARED / "3d" / "dannce_mouse1_predictions"
    pred = scipy.io.loadmat(folder / "save_data_AVG.mat")["pred"].transpose(0, 2, 1)
    names = [str(n[0]) for n in scipy.io.loadmat(folder / "mouse22_skeleton.mat")["joint_names"][0]]
    return Poses(pred, names)


def load_stac() -> Poses:
    folder = SHARED / "3d" / "stac_mouse"
    with h5py.File(folder / "test_mouse_mocap_3600_frames.h5") as f:
        tracks = f["tracks"][:, 0]
    names = yaml.safe_load((folder / "test_mouse.yaml").read_text())["KP_NAMES"]
    return Poses(tracks, names)


def root_relative_error(pred: np.ndarray, truth: np.ndarray, root: int) -> float:
    p = pred - pred[:, root : root + 1]
    t = truth - truth[:, root : root + 1]
    err = np.linalg.norm(p - t, axis=-1)
    keep = np.arange(truth.shape[1]) != root
    return float(np.nanmean(err[:, keep]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--library-frames", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=None, help="(all three) default: the rule")
    ap.add_argument("--out", default=None, help="write the numbers as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix="bench_finetune_"))
    extra = {} if args.epochs is None else {"epochs": args.epochs}

    dannce, stac = load_dannce(), load_stac()
    t0 = time.perf_counter()
    zoo = train_from_library(
        dannce,
        None,
        model_path=tmp / "zoo.safetensors",
        roots=["Tail(base)"],
        angle_ranges=ALL_VIEWS,
        n_virtual_cameras=8,
        augment=[keypoint_dropout(0.3)],
        verbose=False,
        **extra,
    )
    t_zoo = time.perf_counter() - t0
    match = adapt_lifter(zoo, stac.keypoints, keypoint_map={})[1]
    assert match is not None
    names = list(match.mapping)  # the user's keypoints that the zoo model has
    root = names.index("Tail_0")
    user = stac.select(keypoints=names)
    lib = user.select(frames=slice(0, args.library_frames))
    test = user.select(frames=slice(2000, 3600, 4))
    cams = sample_cameras(ALL_VIEWS, None, n=4, seed=1234)
    test_2d, test_3d = make_training_pairs(test, cams, keypoints=names, seed=7)
    x2 = np.concatenate(list(test_2d.values()))
    x3 = np.concatenate(list(test_3d.values()))

    results: dict[str, float] = {}
    zoo_mapped, _ = adapt_lifter(zoo, names, keypoint_map=dict(match.mapping))
    results["zoo"] = root_relative_error(zoo_mapped.predict(x2), x3, root)

    t0 = time.perf_counter()
    scratch = train_from_library(
        lib,
        None,
        model_path=tmp / "scratch.safetensors",
        roots=["Tail_0"],
        angle_ranges=ALL_VIEWS,
        n_virtual_cameras=8,
        verbose=False,
        **extra,
    )
    t_scratch = time.perf_counter() - t0
    results["scratch"] = root_relative_error(scratch.predict(x2), x3, root)

    t0 = time.perf_counter()
    tuned = train_from_library(
        lib,
        None,
        model_path=tmp / "tuned.safetensors",
        angle_ranges=ALL_VIEWS,
        n_virtual_cameras=8,
        init=zoo,
        init_keypoint_map=dict(match.mapping),
        verbose=False,
        **extra,
    )
    t_tuned = time.perf_counter() - t0
    tuned_mapped, _ = adapt_lifter(tuned, names)
    results["fine_tuned"] = root_relative_error(tuned_mapped.predict(x2), x3, root)

    report = {
        "user_keypoints": len(names),
        "library_frames": args.library_frames,
        "test_poses": int(len(x2)),
        "mpjpe_mm": {k: round(v, 2) for k, v in results.items()},
        "train_seconds": {
            "zoo": round(t_zoo, 1),
            "scratch": round(t_scratch, 1),
            "fine_tuned": round(t_tuned, 1),
        },
    }
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
