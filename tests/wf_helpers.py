"""Helpers and fixtures of the workflow tests: generated 3D libraries, tiny lifters, projects.

The 3D libraries here are generated in the tests (the point is the plumbing and the NaN
rules, not accuracy), and the lifters are tiny (few epochs, small width), trained once per
test session (cached here) whichever module asks. Training runs on one torch thread: on a
small shared machine that is many times faster than torch's default for small batches.

Test modules call the cached trainers (``trained_mouse_model()``) and enable the one-thread
fixture themselves: a ``conftest.py`` here would shadow the ``conftest`` module that other
tests import ``shared_file`` from.
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import yaml

from liftpose_dlc import Poses
from liftpose_dlc.io.dlc import save_dlc

MOUSE = ["snout", "leftear", "rightear", "tailbase"]
TASK, DATE = "testmouse", "Jan1"
SCORER = f"DLC_resnet50_{TASK}{DATE}shuffle1_1000"


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def mouse_library(n: int = 600, seed: int = 0, names: list[str] | None = None) -> Poses:
    """A generated 3D library of a mouse-like animal (mm): heading, pitch and head turns."""
    rng = np.random.default_rng(seed)
    heading = rng.uniform(0, 2 * np.pi, n)
    pitch = rng.normal(0, 0.15, n)
    turn = rng.normal(0, 0.3, n)
    length = rng.normal(80.0, 4.0, n)[:, None]
    body = np.stack(
        [np.cos(heading) * np.cos(pitch), np.sin(heading) * np.cos(pitch), np.sin(pitch)], 1
    )
    head = np.stack(
        [
            np.cos(heading + turn) * np.cos(pitch),
            np.sin(heading + turn) * np.cos(pitch),
            np.sin(pitch),
        ],
        1,
    )
    side = np.stack([-np.sin(heading + turn), np.cos(heading + turn), np.zeros(n)], 1)
    tailbase = np.zeros((n, 3))
    neck = tailbase + length * body
    snout = neck + 15.0 * head
    left = neck + 8.0 * side + [0, 0, 6.0]
    right = neck - 8.0 * side + [0, 0, 6.0]
    data = np.stack([snout, left, right, tailbase], 1)
    return Poses(data, names or MOUSE)


def project_2d(poses_3d: np.ndarray, seed: int = 1, scale: float = 2.0) -> np.ndarray:
    """A top-down view in pixels (orthographic, tilted a little), with 1 px noise."""
    rng = np.random.default_rng(seed)
    xy = poses_3d[..., :2] * scale + 320.0 + 0.2 * poses_3d[..., 2:3] * scale
    return xy + rng.normal(0, 1.0, xy.shape)


def write_config(
    root: Path,
    bodyparts: list[str],
    videos: list[str],
    *,
    multianimal: dict | None = None,
    pcutoff: float = 0.6,
    skeleton: list[list[str]] | None = None,
) -> Path:
    """A DeepLabCut config.yaml whose project path and videos point to another machine."""
    cfg = {
        "Task": TASK,
        "scorer": "tester",
        "date": DATE,
        "multianimalproject": bool(multianimal),
        "project_path": "/Users/someone/else/project",
        "video_sets": {
            f"/Users/someone/else/project/videos/{v}": {"crop": "0, 640, 0, 480"} for v in videos
        },
        "bodyparts": "MULTI!" if multianimal else bodyparts,
        "skeleton": skeleton or [],
        "pcutoff": pcutoff,
    }
    if multianimal:
        cfg.update(multianimal)
    root.mkdir(parents=True, exist_ok=True)
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def write_analysis(
    videos_dir: Path, video: str, poses: Poses, *, table: bool = True, suffix: str = ""
) -> Path:
    """A DeepLabCut analysis output for ``video`` (DLC's naming; table format like DLC)."""
    videos_dir.mkdir(parents=True, exist_ok=True)
    path = videos_dir / f"{Path(video).stem}{SCORER}{suffix}.h5"
    if table:
        from liftpose_dlc.io.dlc import poses_to_dlc_table

        frame = poses_to_dlc_table(poses, scorer=SCORER)
        frame.to_hdf(path, key="df_with_missing", format="table", mode="w")
    else:
        save_dlc(poses, path, scorer=SCORER)
    return path


def mouse_2d(n: int = 200, seed: int = 3, low_fraction: float = 0.1) -> Poses:
    """2D tracking of the generated mouse with likelihoods; some points below 0.6."""
    lib = mouse_library(n, seed=seed)
    rng = np.random.default_rng(seed)
    xy = project_2d(lib.data[:, 0], seed=seed)
    conf = np.where(rng.random((n, 4)) < low_fraction, 0.2, 0.95)
    return Poses(xy[:, None], MOUSE, confidence=conf[:, None])


# ----------------------------------------------------------------------------- fixtures
def one_thread_fixture() -> Iterator[None]:
    """Body of an autouse fixture; a module enables it with
    ``one_torch_thread = pytest.fixture(autouse=True)(one_thread_fixture)``."""
    with one_thread():
        yield


@functools.cache
def trained_mouse_model() -> Path:
    """A tiny lifter for the four openfield bodyparts, trained on virtual cameras (cached)."""
    from liftpose_dlc.workflow.training import train_from_library

    path = Path(tempfile.mkdtemp(prefix="liftpose_test_mouse_")) / "mouse.safetensors"
    with one_thread():
        train_from_library(
            mouse_library(),
            None,
            model_path=path,
            angle_ranges=[[-180, 180], [-20, 20], [-20, 20]],
            n_virtual_cameras=4,
            epochs=2,
            linear_size=32,
            verbose=False,
        )
    return path


@functools.cache
def trained_tiny_lifter():
    """A 4-keypoint lifter (root ``a``, targets ``b, c, d``), trained for one epoch (cached)."""
    from liftpose_dlc import Lifter

    rng = np.random.default_rng(0)
    p3 = rng.normal(size=(300, 4, 3))
    with one_thread():
        lifter = Lifter(
            ["a", "b", "c", "d"], roots=["a"], target_sets=[["b", "c", "d"]], linear_size=16
        )
        lifter.fit(p3[..., :2], p3, epochs=1, verbose=False)
    return lifter
