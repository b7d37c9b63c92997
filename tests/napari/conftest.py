"""Fixtures of the napari plugin tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from napari_testdata import FLY_KEYPOINTS, FLY_SKELETON, write_video

from liftpose_dlc import Poses

pytest.importorskip("napari")


@pytest.fixture(scope="session")
def video_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_video(tmp_path_factory.mktemp("video") / "clip.mp4")


@pytest.fixture
def fly_3d() -> Poses:
    """12 frames, 2 individuals, 6 keypoints (two 3-joint legs) in 3D, two NaN joints."""
    rng = np.random.default_rng(1)
    data = rng.normal(0, 2, size=(12, 2, 6, 3))
    data[..., 2] += 50  # in front of the camera
    data[4, 0, 1] = np.nan  # LF_femur of fly0 in frame 4: both LF bones go
    data[7, 1, 5, 2] = np.nan  # one NaN coordinate is a missing joint
    return Poses(
        data,
        keypoints=FLY_KEYPOINTS,
        individuals=["fly0", "fly1"],
        skeleton=FLY_SKELETON,
        fps=25.0,
    )
