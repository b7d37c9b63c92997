"""Shared fixtures: the real data folder ``../shared/data`` and small synthetic poses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from realdata import require_shared_data

from liftpose_dlc import Poses


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder; tests using it skip with a reason when it is absent."""
    return require_shared_data()


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
