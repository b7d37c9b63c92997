"""Fixtures of the napari plugin tests.

Tests marked ``gui`` need Qt, pytest-qt and a display: pytest-xvfb starts Xvfb when it is
installed (CI installs it); without one they are skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from napari_testdata import (
    FLY_KEYPOINTS,
    FLY_SKELETON,
    OPENFIELD_H5,
    OPENFIELD_SKELETON,
    OPENFIELD_VIDEO,
    SLEAP_SLP,
    fly_lifter,
    mouse_lifter,
    write_video,
)
from realdata import shared_file

from liftpose_dlc import Poses

pytest.importorskip("napari")


def gui_skip_reason() -> str | None:
    """Why Qt tests cannot run here, or None when they can."""
    if importlib.util.find_spec("pytestqt") is None:
        return "pytest-qt is not installed (pip install 'liftpose-dlc[test]')"
    try:
        import qtpy  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - qtpy raises its own error without a binding
        return f"no Qt binding for napari's Qt tests ({exc})"
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return (
            "no display: install Xvfb (pytest-xvfb then starts it automatically) or run "
            "under a desktop session"
        )
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = gui_skip_reason()
    if reason is None:
        return
    for item in items:
        if "gui" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


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


# ------------------------------------------------------------ lifters and projects
@pytest.fixture(scope="session")
def mouse_lifter_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small lifter for the openfield mouse's 4 bodyparts, trained once per session."""
    path = tmp_path_factory.mktemp("lifters") / "mouse.safetensors"
    mouse_lifter().save(path)
    return path


@pytest.fixture(scope="session")
def sleap_keypoints(shared_data: Path) -> list[str]:
    from liftpose_dlc.io.sleap import load_sleap

    return load_sleap(shared_file(shared_data, SLEAP_SLP)).keypoints


@pytest.fixture(scope="session")
def fly_lifter_path(tmp_path_factory: pytest.TempPathFactory, sleap_keypoints) -> Path:
    """A small lifter for SLEAP's 24 fly nodes (root: thorax), trained once per session."""
    path = tmp_path_factory.mktemp("lifters") / "fly.safetensors"
    fly_lifter(sleap_keypoints, "thorax").save(path)
    return path


@pytest.fixture
def openfield_project(tmp_path: Path, shared_data: Path, mouse_lifter_path: Path) -> dict:
    """A copy of the openfield project (config + analysis .h5) with a skeleton and a lifter.

    The copy's config gets a skeleton (snout to ears and tail base); its own lifter is the
    session's mouse lifter, at ``<project>/liftpose/lifter.safetensors``. The video stays
    where it is (read only), so the copy has no video beside its tracking file.
    """
    h5 = shared_file(shared_data, OPENFIELD_H5)
    project = tmp_path / "openfield"
    (project / "videos").mkdir(parents=True)
    config = yaml.safe_load((shared_data / "dlc/openfield/config.yaml").read_text())
    config["skeleton"] = OPENFIELD_SKELETON
    (project / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    shutil.copy(h5, project / "videos" / h5.name)
    lifter = project / "liftpose" / "lifter.safetensors"
    lifter.parent.mkdir()
    shutil.copy(mouse_lifter_path, lifter)
    return {
        "config": project / "config.yaml",
        "h5": project / "videos" / h5.name,
        "lifter": lifter,
        "video": shared_file(shared_data, OPENFIELD_VIDEO),
    }
