"""Shared fixtures: the real data folder ``../shared/data`` and small synthetic poses."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from liftpose_dlc import Poses

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("LIFTPOSE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder; tests using it skip with a reason when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real data folder {SHARED_DATA} is absent (it lives beside the repository in "
            "development and CI; set LIFTPOSE_SHARED_DATA to point elsewhere)"
        )
    return SHARED_DATA


def shared_file(shared_data: Path, relative: str) -> Path:
    """A file inside the real-data folder; skip if this one file is missing."""
    path = shared_data / relative
    if not path.exists():
        pytest.skip(f"real data file {path} is absent")
    return path


@pytest.fixture
def small_poses_2d() -> Poses:
    """A small 2D Poses: 20 frames, 2 individuals, 4 keypoints, one NaN point."""
    rng = np.random.default_rng(0)
    data = rng.normal(100, 20, size=(20, 2, 4, 2))
    data[3, 1, 2] = np.nan
    conf = rng.uniform(0, 1, size=(20, 2, 4))
    return Poses(
        data,
        keypoints=["snout", "leftear", "rightear", "tailbase"],
        individuals=["mouse1", "mouse2"],
        confidence=conf,
        skeleton=[("snout", "leftear"), ("snout", "rightear"), ("snout", "tailbase")],
        fps=30.0,
    )
