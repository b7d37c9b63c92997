"""The sample data: the demo's generated walking fly, from File > Open Sample."""

from __future__ import annotations

import numpy as np
import pytest

from liftpose_dlc.demo import make_demo_project
from napari_liftpose.layers import to_napari_3d
from napari_liftpose.sample import CACHE_ENV, demo_project, demo_sample_layers, sample_cache_dir

N_FRAMES = 24


@pytest.fixture
def cached_demo(tmp_path, monkeypatch):
    """A small demo project already in the (test's) cache folder."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    folder = sample_cache_dir()
    assert folder == tmp_path / "napari-sample"
    return make_demo_project(folder, n_frames=N_FRAMES, library_walks=1, library_frames=N_FRAMES)


def test_cache_dir_default_is_the_user_cache(monkeypatch):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    folder = sample_cache_dir()
    assert folder.name == "napari-sample"
    assert "liftpose-dlc" in str(folder)


def test_demo_project_is_reused_from_the_cache(cached_demo):
    project = demo_project()
    assert project.project_dir == cached_demo.project_dir
    assert project.n_frames == N_FRAMES  # the cached one, not a new 300-frame project


def test_sample_layers_say_the_3d_is_ground_truth(cached_demo):
    layer_data = demo_sample_layers(cached_demo)
    names = [kwargs["name"] for _, kwargs, _ in layer_data]
    assert names == [
        "fly_walk",
        "bones 2D",
        "keypoints 2D",
        "bones 3D (ground truth)",
        "joints 3D (ground truth)",
        "limb legend",
    ]
    joints, kwargs, kind = layer_data[4]
    assert kind == "points"
    truth = cached_demo.ground_truth("camera").data
    first = joints[joints[:, 0] == 0][:, 1:]
    np.testing.assert_allclose(first, to_napari_3d(truth[0, 0]))
    assert len(set(map(tuple, layer_data[3][1]["edge_color"]))) == 6  # one colour per leg


@pytest.mark.gui
def test_open_sample_from_the_menu(make_napari_viewer, cached_demo):
    viewer = make_napari_viewer()
    layers = viewer.open_sample("liftpose-dlc", "walking_fly")
    assert [layer.name for layer in layers][-2:] == ["joints 3D (ground truth)", "limb legend"]
    assert viewer.dims.nsteps[0] == N_FRAMES
    assert viewer.dims.ndisplay == 3  # framed as the widget frames a scene
    assert viewer.dims.point[1] == 0.0
    # the camera frames the whole scene, the 3D skeleton right of the 640-pixel video too
    assert viewer.scene.camera.center[-1] > 640 / 2 + 100
    viewer.dims.set_current_step(0, 5)
    truth = cached_demo.ground_truth("camera").data
    np.testing.assert_allclose(
        viewer.layers["joints 3D (ground truth)"]._view_data, to_napari_3d(truth[5, 0])
    )
