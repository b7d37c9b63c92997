"""Screenshots of the 3D views in a real napari window (Qt + Xvfb; skipped without a display).

Set ``LIFTPOSE_SHOTS=folder`` to keep the screenshots and look at them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from napari_testdata import OPENFIELD_H5, OPENFIELD_VIDEO
from realdata import shared_file

from liftpose_dlc.drawing import drawing_skeleton, legend

pytestmark = [pytest.mark.gui, pytest.mark.realdata]


@pytest.fixture(autouse=True)
def _needs_real_rendering():
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        pytest.skip("QT_QPA_PLATFORM=offscreen renders nothing; screenshots need Xvfb")


def screenshot(viewer, qtbot, name: str) -> np.ndarray:
    qtbot.wait(50)
    image = np.asarray(viewer.screenshot(canvas_only=True))[..., :3].astype(int)
    folder = os.environ.get("LIFTPOSE_SHOTS")
    if folder:
        from imageio.v3 import imwrite

        Path(folder).mkdir(parents=True, exist_ok=True)
        imwrite(Path(folder) / f"{name}.png", image.astype(np.uint8))
    return image


def pixels_like(image: np.ndarray, colors: np.ndarray, tolerance: int = 40) -> np.ndarray:
    """Where the image has one of ``colors`` (0-255 RGB rows)."""
    distance = np.abs(image[:, :, None, :] - np.asarray(colors)[None, None]).max(axis=-1)
    return (distance < tolerance).any(axis=-1)


def bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(mask)
    return rows.min(), rows.max(), cols.min(), cols.max()


def scene_viewer(make_napari_viewer, layer_data):
    from napari_liftpose.scene import add_layers

    viewer = make_napari_viewer(show=True)
    viewer.window.resize(1600, 900)
    add_layers(viewer, layer_data)
    from napari_liftpose.scene import frame_scene

    frame_scene(viewer)  # again, now that the window has its size
    return viewer


def three_d_colours(viewer) -> np.ndarray:
    """0-255 RGB of the 3D joints and bones layers."""
    colours = []
    for layer in viewer.layers:
        if layer.name.startswith("joints 3D"):
            colours.append(layer.face_color[:, :3])
        elif layer.name.startswith("bones 3D"):
            colours.append(layer.edge_color[:, :3])
    return np.unique(np.concatenate(colours), axis=0) * 255


def test_openfield_3d_fills_its_half_with_legend(
    make_napari_viewer, qtbot, shared_data, mouse_lifter_path
):
    from liftpose_dlc.io.dlc import load_dlc
    from liftpose_dlc.workflow.lifting import lift_poses
    from napari_liftpose.actions import load_lifter
    from napari_liftpose.scene import scene_layers
    from napari_liftpose.video import VideoArray

    poses_2d = load_dlc(shared_file(shared_data, OPENFIELD_H5), pcutoff=0.4)
    assert not poses_2d.skeleton.edges  # the openfield config has `skeleton: []`
    poses_3d = lift_poses(poses_2d.select(frames=range(400)), load_lifter(mouse_lifter_path))
    poses_3d = getattr(poses_3d, "poses", poses_3d)
    video = VideoArray(shared_file(shared_data, OPENFIELD_VIDEO))
    viewer = scene_viewer(
        make_napari_viewer, scene_layers(poses_2d.select(frames=range(400)), poses_3d, video)
    )
    assert viewer.dims.ndisplay == 3
    for name in ("keypoints 2D", "bones 2D"):
        viewer.layers[name].visible = False  # the 3D alone
    colours = three_d_colours(viewer)
    union = None
    for frame in (0, 60, 120, 180, 240, 300, 360):
        viewer.dims.set_current_step(0, frame)
        image = screenshot(viewer, qtbot, f"openfield_{frame}")
        height, width = image.shape[:2]
        right = pixels_like(image[:, width // 2 :], colours)
        assert right.sum() > 30, frame  # the 3D is drawn, in the right half
        assert pixels_like(image[:, : width // 2], colours).sum() < 0.05 * right.sum()
        box = bbox(right)
        union = (
            box
            if union is None
            else (
                min(union[0], box[0]),
                max(union[1], box[1]),
                min(union[2], box[2]),
                max(union[3], box[3]),
            )
        )
    r0, r1, c0, c1 = union
    half_height, half_width = height, width // 2
    # over the recording, the 3D skeleton covers most of its half (it turns about its root)
    assert (c1 - c0) / half_width >= 0.4
    assert (r1 - r0) * (c1 - c0) / (half_height * half_width) >= 0.2
    # the legend: the guessed bones' limbs, written in their colours, top left of the half
    legend_layer = viewer.layers["limb legend"]
    labels = list(legend_layer.features["limb"])
    assert labels[-1] == "(bones guessed: no skeleton)"
    entries = legend(drawing_skeleton(poses_3d).skeleton)
    assert labels[:-1] == [label for label, _ in entries]
    top_left = image[: height // 3, width // 2 : width // 2 + width // 4]
    text_colours = np.array([rgb for _, rgb in entries]) * 255
    assert pixels_like(top_left, text_colours, 30).sum() > 20
