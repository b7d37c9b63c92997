"""The LiftPose3D dock widget in a real napari viewer (Qt; skipped without a display)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from napari_testdata import SLEAP_SLP, SLEAP_VIDEO
from realdata import shared_file

from liftpose_dlc.errors import ModelFileError
from liftpose_dlc.io.dlc import load_dlc
from liftpose_dlc.lifter.lifter import Lifter
from liftpose_dlc.workflow.lifting import lift_poses
from napari_liftpose.layers import to_napari_3d

pytestmark = [pytest.mark.gui, pytest.mark.realdata]

WAIT_MS = 60_000


def open_widget(viewer):
    """The widget as napari opens it from the Plugins menu (through the manifest)."""
    _, widget = viewer.window.add_plugin_dock_widget("liftpose-dlc", "LiftPose3D")
    return widget


def pick_tracking(qtbot, widget, path):
    widget.tracking.setText(str(path))
    widget.inspect()
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)


def run_and_wait(qtbot, widget):
    """Click Run; return the (done, total) steps the worker yielded."""
    steps = []
    widget.run_button.click()
    assert widget._lift_worker is not None
    widget._lift_worker.yielded.connect(steps.append)
    assert not widget.run_button.isEnabled()
    assert widget.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)
    assert widget.run_button.isEnabled()
    return steps


def finite_rows(points):
    return points[np.isfinite(points).all(axis=-1)]


def error_messages(records, start):
    from napari.utils.notifications import NotificationSeverity

    return [r.message for r in records[start:] if r.severity == NotificationSeverity.ERROR]


def lift_openfield(qtbot, viewer, project, pcutoff=0.9):
    widget = open_widget(viewer)
    pick_tracking(qtbot, widget, project["h5"])
    # pre-filled: the project's own lifter and the config's pcutoff; no video beside the copy
    assert widget.lifter.text() == str(project["lifter"].resolve())
    assert widget.pcutoff.value() == pytest.approx(0.4)
    assert widget.video.text() == ""
    assert not widget.individuals.isEnabled()  # one animal: nothing to choose
    widget.video.setText(str(project["video"]))
    widget.pcutoff.setValue(pcutoff)
    steps = run_and_wait(qtbot, widget)
    return widget, steps


def test_widget_lifts_openfield_and_the_time_slider_drives_everything(
    make_napari_viewer, qtbot, openfield_project, tmp_path, monkeypatch
):
    viewer = make_napari_viewer()
    widget, steps = lift_openfield(qtbot, viewer, openfield_project)

    # progress was reported chunk by chunk, up to the whole recording
    assert steps[-1] == (2330, 2330)
    assert len(steps) > 10
    assert widget._progress is None  # the viewer's progress bar is closed again
    assert [layer.name for layer in viewer.layers] == [
        "m3v1mp4",
        "bones 2D",
        "keypoints 2D",
        "bones 3D",
        "joints 3D",
        "limb legend",
    ]
    assert viewer.dims.nsteps[0] == 2330
    assert viewer.dims.ndisplay == 3
    assert widget.save_button.isEnabled()

    # the lifted array the widget's layers must show
    poses_2d = load_dlc(openfield_project["h5"])
    expected = lift_poses(poses_2d, openfield_project["lifter"], pcutoff=0.9).poses.data
    joints = viewer.layers["joints 3D"]
    keypoints = viewer.layers["keypoints 2D"]
    video = viewer.layers["m3v1mp4"]
    # frame 77: the left ear is below pcutoff; 2325: the snout (the root) and the right ear
    for frame, n_joints, n_keypoints in [(100, 4, 4), (77, 3, 3), (2325, 0, 2)]:
        viewer.dims.set_current_step(0, frame)
        shown = joints._view_data
        assert len(shown) == n_joints
        np.testing.assert_allclose(shown, finite_rows(to_napari_3d(expected[frame, 0])), atol=1e-3)
        assert len(keypoints._view_data) == n_keypoints
    viewer.dims.set_current_step(0, 100)
    np.testing.assert_allclose(keypoints._view_data[:, 1:], poses_2d.data[100, 0][:, ::-1])
    frame_100 = widget.outcome.video[100]
    np.testing.assert_array_equal(np.asarray(video._data_view)[0], frame_100)
    assert len(viewer.layers["bones 3D"]._view_indices) == 3  # snout to ears and tail base

    # save: the DLC writer, then never replace the file without asking
    dest = tmp_path / "lifted_3d.h5"
    assert widget.save(dest) == dest
    np.testing.assert_array_equal(load_dlc(dest).data, widget.outcome.poses_3d.data)
    before = dest.read_bytes()
    asked = []
    monkeypatch.setattr(widget, "_confirm_overwrite", lambda path: asked.append(path) or False)
    assert widget.save(dest) is None
    assert asked == [dest]
    assert dest.read_bytes() == before
    monkeypatch.setattr(widget, "_confirm_overwrite", lambda path: True)
    assert widget.save(dest) == dest


def test_wrong_model_file_shows_an_error_and_the_viewer_lives_on(
    make_napari_viewer, qtbot, openfield_project, tmp_path
):
    from napari.utils.notifications import notification_manager

    viewer = make_napari_viewer()
    widget = open_widget(viewer)
    pick_tracking(qtbot, widget, openfield_project["h5"])
    bad = tmp_path / "not_a_lifter.safetensors"
    bad.write_bytes(b"\x00" * 64)
    widget.lifter.setText(str(bad))
    start = len(notification_manager.records)
    # the lifter is checked before a worker starts (the error may come before or from it)
    widget.run_button.click()
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: len(error_messages(notification_manager.records, start)) == 1, timeout=WAIT_MS
    )
    errors = error_messages(notification_manager.records, start)
    assert len(errors) == 1
    with pytest.raises(ModelFileError) as expected:
        Lifter.load(bad)
    assert errors[0] == str(expected.value)  # the message our reader raises, as is
    assert "not_a_lifter.safetensors" in errors[0]
    assert "Error" in widget.status.text()
    assert len(viewer.layers) == 0
    assert widget.outcome is None

    # an empty tracking field and a missing file are reported the same way
    widget.tracking.setText(str(tmp_path / "gone.h5"))
    widget.inspect()
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)
    errors = error_messages(notification_manager.records, start)
    assert len(errors) == 2
    assert "gone.h5" in errors[1]

    # the viewer and the widget carry on: the right lifter works
    pick_tracking(qtbot, widget, openfield_project["h5"])
    widget.lifter.setText(str(openfield_project["lifter"]))
    run_and_wait(qtbot, widget)
    assert "joints 3D" in viewer.layers
    assert viewer.dims.nsteps[0] == 2330


@pytest.mark.parametrize("where", ["widget", "progress bar"])
def test_cancel_stops_the_lift_and_adds_nothing(
    make_napari_viewer, qtbot, openfield_project, monkeypatch, where
):
    import napari_liftpose.widget as widget_module
    from napari_liftpose import actions

    def one_frame_at_a_time(request):
        return actions.run_lift(request, chunk=1)

    monkeypatch.setattr(widget_module, "run_lift", one_frame_at_a_time)
    viewer = make_napari_viewer()
    widget = open_widget(viewer)
    pick_tracking(qtbot, widget, openfield_project["h5"])
    steps = []
    widget.run()
    worker = widget._lift_worker
    worker.yielded.connect(steps.append)
    aborted = []
    worker.aborted.connect(lambda: aborted.append(True))
    qtbot.waitUntil(lambda: len(steps) >= 3, timeout=WAIT_MS)
    if where == "widget":
        widget.cancel_button.click()
    else:  # the Cancel button of the progress bar in napari's activity dock
        widget._progress.cancel()
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)
    assert aborted == [True]
    assert steps[-1][0] < 2330
    assert len(viewer.layers) == 0
    assert widget.status.text().startswith("Cancelled")
    assert widget.run_button.isEnabled()
    assert not widget.cancel_button.isEnabled()


def test_sleap_fragments_individual_selector_and_lift(
    make_napari_viewer, qtbot, shared_data, fly_lifter_path, tmp_path
):
    from liftpose_dlc.io.sleap import load_sleap_3d

    slp = shared_file(shared_data, SLEAP_SLP)
    viewer = make_napari_viewer()
    widget = open_widget(viewer)
    pick_tracking(qtbot, widget, slp)
    # the video is found by the name the .slp stores, beside it
    assert widget.video.text() == str(shared_file(shared_data, SLEAP_VIDEO).resolve())
    assert widget.lifter.text() == ""
    assert widget.individuals.isEnabled()
    assert widget.individuals.count() == 27  # SLEAP's track fragments, all listed
    assert widget.individuals.item(0).text() == "1 (1100 frames)"
    assert widget.selected_individuals() == ["1", "2"]  # the two well-tracked flies
    widget.lifter.setText(str(fly_lifter_path))
    run_and_wait(qtbot, widget)
    assert [layer.name for layer in viewer.layers] == [
        "centered_pair_low_quality",
        "bones 2D",
        "keypoints 2D",
        "bones 3D 1",
        "joints 3D 1",
        "bones 3D 2",
        "joints 3D 2",
        "individuals",
        "limb legend",
    ]
    assert viewer.dims.nsteps[0] == 1100
    poses_2d = widget.info.poses.select(individuals=["1", "2"])  # as load_sleap read it
    expected = lift_poses(poses_2d, fly_lifter_path).poses.data
    viewer.dims.set_current_step(0, 100)
    for j, name in enumerate(["1", "2"]):
        shown = viewer.layers[f"joints 3D {name}"]._view_data
        np.testing.assert_allclose(shown, finite_rows(to_napari_3d(expected[100, j])), atol=1e-3)
    # the two flies' skeletons stand side by side, right of the video
    x1 = viewer.layers["joints 3D 1"].translate[3]
    x2 = viewer.layers["joints 3D 2"].translate[3]
    assert 384 < x1 < x2
    # one fragment only: a run replaces the previous layers
    from qtpy.QtCore import Qt

    for row in range(widget.individuals.count()):
        checked = Qt.CheckState.Checked if row == 2 else Qt.CheckState.Unchecked
        widget.individuals.item(row).setCheckState(checked)
    assert widget.selected_individuals() == ["3"]
    run_and_wait(qtbot, widget)
    assert [layer.name for layer in viewer.layers][3:] == ["bones 3D", "joints 3D", "limb legend"]
    assert set(viewer.layers["keypoints 2D"].features["individual"]) == {"3"}
    dest = widget.save(tmp_path / "fragment3_3d.h5")
    back = load_sleap_3d(dest)
    assert back.individuals == ["3"]
    np.testing.assert_array_equal(back.data, widget.outcome.poses_3d.data)


def test_openfield_screenshot_in_3d(make_napari_viewer, qtbot, openfield_project, tmp_path):
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        pytest.skip("QT_QPA_PLATFORM=offscreen renders nothing; screenshots need Xvfb")
    from imageio.v3 import imread

    viewer = make_napari_viewer(show=True)
    widget, _ = lift_openfield(qtbot, viewer, openfield_project)
    viewer.window.resize(1600, 900)
    qtbot.wait(50)
    viewer.dims.set_current_step(0, 100)
    assert viewer.dims.ndisplay == 3
    viewer.reset_view()
    viewer.scene.camera.angles = (0.0, 35.0, 20.0)  # turned a little, to see the depth
    path = tmp_path / "openfield_3d.png"
    viewer.screenshot(str(path), canvas_only=True)
    image = imread(path)[..., :3].astype(int)
    height, width = image.shape[:2]
    assert min(height, width) > 300
    assert image.std() > 20  # not blank: the video plane and the skeleton
    assert (image.max(axis=-1) > 100).mean() > 0.05

    # the 3D skeleton alone (2D overlays hidden): its limb and joint colours are drawn
    viewer.layers["bones 2D"].visible = False
    viewer.layers["keypoints 2D"].visible = False
    viewer.layers["limb legend"].visible = False  # written in the limbs' colours
    image = np.asarray(viewer.screenshot(canvas_only=True))[..., :3].astype(int)
    bone_colors = np.unique(viewer.layers["bones 3D"].edge_color[:, :3], axis=0) * 255
    joint_colors = np.unique(viewer.layers["joints 3D"].face_color[:, :3], axis=0) * 255
    assert len(bone_colors) == 3  # one colour per limb: snout to each ear and to the tail

    def pixels_like(colors):
        distance = np.abs(image[:, :, None, :] - colors[None, None]).max(axis=-1)
        return (distance < 40).any(axis=-1)

    assert pixels_like(bone_colors).sum() > 30
    assert pixels_like(joint_colors).sum() > 30
    # both right of the video plane, where the skeleton is placed
    columns = np.nonzero(pixels_like(bone_colors).any(axis=0))[0]
    assert columns.min() > width // 2
    assert widget.outcome is not None
