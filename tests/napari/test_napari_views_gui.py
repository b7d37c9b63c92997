"""Screenshots of the 3D views in a real napari window (Qt + Xvfb; skipped without a display).

Set ``LIFTPOSE_SHOTS=folder`` to keep the screenshots and look at them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from napari_testdata import OPENFIELD_H5, OPENFIELD_VIDEO, SLEAP_SLP
from realdata import shared_file

from liftpose_dlc import Poses
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
    for name in ("keypoints 2D", "bones 2D", "limb legend"):
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
    # the legend: the guessed bones' limbs, written in their colours, under the video
    legend_layer = viewer.layers["limb legend"]
    legend_layer.visible = True
    image = screenshot(viewer, qtbot, "openfield_legend")
    labels = list(legend_layer.features["limb"])
    assert labels[-1] == "(bones guessed: no skeleton)"
    entries = legend(drawing_skeleton(poses_3d).skeleton)
    assert labels[:-1] == [label for label, _ in entries]
    video_rows = np.nonzero((image[:, : width // 2] > 100).any(axis=-1).mean(axis=1) > 0.5)[0]
    under_video = image[video_rows.max() + 1 :, : width // 2]
    text_colours = np.array([rgb for _, rgb in entries]) * 255
    assert pixels_like(under_video, text_colours, 30).sum() > 20


def test_sleap_flies_told_apart_in_their_cells(
    make_napari_viewer, qtbot, shared_data, fly_lifter_path
):
    from liftpose_dlc.io.sleap import load_sleap
    from liftpose_dlc.workflow.lifting import lift_poses
    from napari_liftpose.actions import default_individuals, load_lifter, select_individuals
    from napari_liftpose.layers import individual_colors
    from napari_liftpose.scene import scene_layers

    poses_2d = load_sleap(shared_file(shared_data, SLEAP_SLP)).select(frames=range(200))
    chosen = default_individuals(poses_2d)
    assert len(chosen) == 2
    poses_2d = select_individuals(poses_2d, chosen)
    poses_3d = lift_poses(poses_2d, load_lifter(fly_lifter_path))
    poses_3d = getattr(poses_3d, "poses", poses_3d)
    viewer = scene_viewer(make_napari_viewer, scene_layers(poses_2d, poses_3d))
    viewer.dims.set_current_step(0, 100)
    image = screenshot(viewer, qtbot, "sleap_flies")
    height, width = image.shape[:2]
    colours = individual_colors(poses_3d.individuals)
    # without a video each fly has its own cell, side by side, ringed in its colour
    columns = []
    for ind in poses_3d.individuals:
        mask = pixels_like(image, [colours[ind][:3] * 255], 25)
        assert mask.sum() > 20, ind
        columns.append(np.median(np.nonzero(mask)[1]))
    assert columns[0] < width / 2 < columns[1]
    names = viewer.layers["individuals"]
    assert names.text.visible
    assert set(names.features["individual"]) == set(chosen)


def dannce_world(shared_data) -> Poses:
    """DANNCE's mouse in its calibration's world frame (z up, mm, floor at 0), 10 fps."""
    scipy_io = pytest.importorskip("scipy.io")
    folder = shared_file(shared_data, "3d/dannce_mouse1_predictions/save_data_AVG.mat").parent
    mat = scipy_io.loadmat(folder / "save_data_AVG.mat")
    skeleton = scipy_io.loadmat(folder / "mouse22_skeleton.mat")
    names = [str(n[0]) for n in skeleton["joint_names"][0]]
    edges = [(names[a - 1], names[b - 1]) for a, b in skeleton["joints_idx"]]
    confidence = mat["p_max"][:, None] / mat["p_max"].max()
    return Poses(
        mat["pred"].transpose(0, 2, 1)[:, None],
        keypoints=names,
        skeleton=edges,
        confidence=confidence,
        frame="world",
        units="mm",
        fps=10.0,
    )


def test_world_frame_floor_trajectory_and_confidence(make_napari_viewer, qtbot, shared_data):
    from napari_liftpose.scene import scene_layers

    poses = dannce_world(shared_data)
    viewer = scene_viewer(make_napari_viewer, scene_layers(poses_3d=poses))
    names = [layer.name for layer in viewer.layers]
    assert names == ["bones 3D", "joints 3D", "floor", "trajectories", "limb legend"]
    # confidence shows as size: DANNCE's p_max spans 0.001-0.78
    sizes = viewer.layers["joints 3D"].size
    assert sizes.max() / sizes.min() > 2.5
    viewer.dims.set_current_step(0, 500)
    image = screenshot(viewer, qtbot, "dannce_world")
    height, width = image.shape[:2]
    floor = pixels_like(image, [[140, 140, 140]], 25)
    assert floor.sum() > 500  # grid lines
    r0, r1, c0, c1 = bbox(floor)
    assert (c1 - c0) > 0.6 * width or (r1 - r0) > 0.6 * height  # under the whole scene
    # the trajectory's tail: the track colour, beside the skeleton
    viewer.layers["bones 3D"].visible = viewer.layers["joints 3D"].visible = False
    viewer.layers["floor"].visible = viewer.layers["limb legend"].visible = False
    tail = np.abs(screenshot(viewer, qtbot, "dannce_tail")).max(axis=-1) > 60
    assert tail.sum() > 50
    # turned: the floor is seen in perspective and stays below the mouse
    viewer.layers["floor"].visible = True
    viewer.scene.camera.angles = (0.0, 60.0, 30.0)
    assert screenshot(viewer, qtbot, "dannce_turned").std() > 5


def test_train_panel_trains_and_cancels(make_napari_viewer, qtbot, tmp_path):
    from test_napari_training import library

    from liftpose_dlc.io import save_poses

    save_poses(library(), tmp_path / "library_3d.h5")
    viewer = make_napari_viewer()
    _, panel = viewer.window.add_plugin_dock_widget("liftpose-dlc", "LiftPose3D: Train")
    panel.library.setText(str(tmp_path / "library_3d.h5"))
    panel.model_path.setText(str(tmp_path / "lifter.safetensors"))
    assert panel.init.itemData(0) == ""  # from scratch, then the zoo's models to fine-tune
    assert any(panel.init.itemData(i) == "mouse" for i in range(panel.init.count()))
    panel.epochs.setValue(400)
    steps = []
    panel.train_button.click()
    assert panel.busy
    panel._worker.yielded.connect(steps.append)
    qtbot.waitUntil(lambda: panel.status.text().startswith("Training:"), timeout=120_000)
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: not panel.busy, timeout=120_000)
    assert panel.status.text().startswith("Cancelled")
    assert not (tmp_path / "lifter.safetensors").exists()
    assert any(total for _, total in steps)

    panel.epochs.setValue(2)
    panel.train_button.click()
    qtbot.waitUntil(lambda: not panel.busy, timeout=120_000)
    assert panel.status.text().startswith("Trained lifter.safetensors (2 epochs")
    assert (tmp_path / "lifter.safetensors").is_file()
    assert panel.outcome is not None
    # a second run without "replace" says so, and keeps the lifter
    panel.train_button.click()
    qtbot.waitUntil(lambda: not panel.busy, timeout=120_000)
    assert panel.status.text().startswith("Error:")
    assert "lifter.safetensors" in panel.status.text()


def test_keypoint_names_toggle_of_the_widget(make_napari_viewer, qtbot):
    from napari_testdata import FLY_KEYPOINTS, FLY_SKELETON

    from napari_liftpose.scene import add_layers, scene_layers

    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("liftpose-dlc", "LiftPose3D")
    rng = np.random.default_rng(0)
    poses = Poses(rng.normal(size=(5, 1, 6, 3)), FLY_KEYPOINTS, skeleton=FLY_SKELETON)
    add_layers(viewer, scene_layers(poses_3d=poses))
    joints = viewer.layers["joints 3D"]
    assert not joints.text.visible
    widget.view_controls.names.setChecked(True)
    assert joints.text.visible
    # layers added later (the next run) follow the toggle
    add_layers(viewer, scene_layers(poses_3d=poses.replace(individuals=["other"])))
    assert all(layer.text.visible for layer in viewer.layers if layer.name.startswith("joints 3D"))
    widget.view_controls.names.setChecked(False)
    assert not joints.text.visible
