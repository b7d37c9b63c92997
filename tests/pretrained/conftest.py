"""Fixtures of the zoo tests."""

from __future__ import annotations

import shutil

import pytest
from realdata import shared_file
from zoo_helpers import OPENFIELD_H5


@pytest.fixture
def openfield(shared_data, tmp_path):
    """A copy of the real openfield DeepLabCut project (its videos linked); its config.yaml."""
    src = shared_file(shared_data, "dlc/openfield")
    dst = tmp_path / "openfield"
    (dst / "videos").mkdir(parents=True)
    shutil.copy(src / "config.yaml", dst / "config.yaml")
    shutil.copy(src / "videos" / OPENFIELD_H5, dst / "videos" / OPENFIELD_H5)
    for video in (src / "videos").glob("*.mp4"):
        (dst / "videos" / video.name).symlink_to(video)
    return dst / "config.yaml"
