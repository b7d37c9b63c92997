"""Tiny zoo models for the tests: trained in seconds on generated poses, with real cards.

The models here stand in for the shipped ones (the point is the plumbing: cards, lab
folders, name matching, subsets); they use the shipped models' naming (mouse22 and
DeepFly3D), so the name-matching tests hold for the real models too.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import yaml

from liftpose_dlc import Lifter

#: the real openfield DeepLabCut project's analysis file (../shared/data/dlc/openfield/videos)
OPENFIELD_H5 = "m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
#: the user's corrections for the sleap-anipose mouse's names (the rest is matched automatically)
ANIPOSE_MAP = {"TTI": "TailBase", "Tail_0": None, "Neck": "SpineF", "Trunk": "SpineM"}

#: mouse22-style names (DANNCE), a subset
MOUSE_KEYPOINTS = ["Snout", "EarL", "EarR", "SpineF", "SpineM", "Tail(base)"]
MOUSE_KEYPOINTS += ["ForepawL", "ForepawR"]
MOUSE_ROOTS = ["Tail(base)", "SpineF"]
MOUSE_SETS = [["SpineM", "Snout", "EarL", "EarR"], ["ForepawL", "ForepawR"]]
#: DeepFly3D names: LF_Coxa ... RH_Claw
FLY_SEGMENTS = ["Coxa", "Femur", "Tibia", "Tarsus", "Claw"]
FLY_KEYPOINTS = [f"{s}{p}_{j}" for s in "LR" for p in "FMH" for j in FLY_SEGMENTS]
FLY_ROOTS = [f"{s}{p}_Coxa" for s in "LR" for p in "FMH"]
FLY_SETS = [[f"{s}{p}_{j}" for j in FLY_SEGMENTS[1:]] for s in "LR" for p in "FMH"]


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def mouse_poses(n: int = 400, seed: int = 0) -> np.ndarray:
    """Generated 3D poses (mm) of a mouse-like animal in MOUSE_KEYPOINTS order."""
    rng = np.random.default_rng(seed)
    heading = rng.uniform(0, 2 * np.pi, n)
    turn = rng.normal(0, 0.3, n)
    fwd = np.stack([np.cos(heading), np.sin(heading), np.zeros(n)], 1)
    head = np.stack([np.cos(heading + turn), np.sin(heading + turn), np.zeros(n)], 1)
    side = np.stack([-np.sin(heading), np.cos(heading), np.zeros(n)], 1)
    length = rng.normal(80.0, 4.0, n)[:, None]
    tail = np.zeros((n, 3))
    spine_m = tail + 0.5 * length * fwd + [0, 0, 10.0]
    spine_f = tail + 0.8 * length * fwd + [0, 0, 12.0]
    snout = spine_f + 25.0 * head
    ear_l = spine_f + 12.0 * head + 8.0 * side + [0, 0, 5.0]
    ear_r = spine_f + 12.0 * head - 8.0 * side + [0, 0, 5.0]
    paw_l = spine_f + 6.0 * side - [0, 0, 12.0] + rng.normal(0, 3, (n, 3))
    paw_r = spine_f - 6.0 * side - [0, 0, 12.0] + rng.normal(0, 3, (n, 3))
    return np.stack([snout, ear_l, ear_r, spine_f, spine_m, tail, paw_l, paw_r], 1)


def top_view(poses: np.ndarray, scale: float = 2.0) -> np.ndarray:
    """A top-down orthographic view in pixels."""
    return poses[..., :2] * scale + 320.0


def fly_poses(n: int = 300, seed: int = 0) -> np.ndarray:
    """Generated 3D leg poses (mm) in FLY_KEYPOINTS order."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 30, 3))
    for leg in range(6):
        side = 1.0 if leg < 3 else -1.0
        base = np.array([0.6 - 0.6 * (leg % 3), 0.3 * side, 0.0])
        angle = rng.normal(0, 0.3, n)
        for j in range(5):
            reach = 0.5 * j
            out[:, leg * 5 + j] = base + np.stack(
                [reach * np.sin(angle), side * reach * np.cos(angle), -0.3 * j * np.ones(n)], 1
            )
    return out + rng.normal(0, 0.01, out.shape)


def card(name: str, lifter: Lifter, species: str, skeleton: list[list[str]]) -> dict:
    names = lifter.keypoints
    return {
        "name": name,
        "species": species,
        "description": f"a tiny test {species} model (generated poses)",
        "keypoints": names,
        "skeleton": skeleton,
        "roots": [names[r] for r in lifter.roots],
        "target_sets": [[names[j] for j in ts] for ts in lifter.target_sets],
        "units": "mm",
        "frame": "camera frame, each target set relative to its root",
        "input_2d": "pixels of an unknown camera (scale normalised)",
        "views": {"top": [[-180, 180], [-20, 20], [-20, 20]]},
        "training_data": [
            {
                "name": "generated test poses",
                "files": [],
                "licence": "CC0-1.0",
                "citation": "liftpose-dlc test suite",
                "url": "https://example.org/none",
            }
        ],
        "metrics": {"mpjpe_mm": 1.0},
        "trained_with": "tests/pretrained/zoo_helpers.py",
        "liftpose_dlc_version": "0.1.0",
    }


@functools.cache
def tiny_mouse() -> Lifter:
    p3 = mouse_poses()
    with one_thread():
        lifter = Lifter(MOUSE_KEYPOINTS, MOUSE_ROOTS, MOUSE_SETS, linear_size=32, norm_2d=True)
        lifter.fit(top_view(p3), p3, epochs=3, augment=None, verbose=False)
    return lifter


@functools.cache
def tiny_fly() -> Lifter:
    p3 = fly_poses()
    with one_thread():
        lifter = Lifter(FLY_KEYPOINTS, FLY_ROOTS, FLY_SETS, linear_size=32, set_size=16)
        lifter.fit(p3[..., :2] * 100, p3, epochs=1, augment=None, verbose=False)
    return lifter


def write_model(folder: Path, name: str, lifter: Lifter, species: str, skeleton=()) -> Path:
    """``<folder>/<name>.safetensors`` and its card ``<name>.yaml``; returns the model file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = lifter.save(folder / f"{name}.safetensors", overwrite=True)
    (folder / f"{name}.yaml").write_text(
        yaml.safe_dump(card(name, lifter, species, [list(e) for e in skeleton]), sort_keys=False)
    )
    return path


def lab_folder(folder: Path) -> Path:
    """A lab folder with the tiny ``labmouse`` and ``labfly`` models."""
    write_model(
        folder,
        "labmouse",
        tiny_mouse(),
        "mouse",
        [["Snout", "EarL"], ["Snout", "EarR"], ["SpineF", "SpineM"], ["SpineM", "Tail(base)"]],
    )
    write_model(folder, "labfly", tiny_fly(), "Drosophila melanogaster")
    return folder
