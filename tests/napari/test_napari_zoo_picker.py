"""The widget's lifter picker with the pretrained models: their views and the keypoint-map
table the user corrects (Qt; skipped without a display)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.gui, pytest.mark.realdata]

WAIT_MS = 60_000


def test_picking_the_mouse_model_shows_its_map_to_correct_and_its_views(
    make_napari_viewer, qtbot, openfield_project, tmp_path, monkeypatch
):
    import shutil

    import yaml

    from liftpose_dlc.pretrained import MODELS_ENV
    from liftpose_dlc.pretrained.registry import BUILTIN_DIR

    # a lab folder with its own mouse (a copy of the shipped one, under another name)
    lab = tmp_path / "lab"
    lab.mkdir()
    shutil.copy(BUILTIN_DIR / "mouse.safetensors", lab / "labmouse.safetensors")
    card = yaml.safe_load((BUILTIN_DIR / "mouse.yaml").read_text())
    card["name"] = "labmouse"
    (lab / "labmouse.yaml").write_text(yaml.safe_dump(card))
    monkeypatch.setenv(MODELS_ENV, str(lab))
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("liftpose-dlc", "LiftPose3D")
    names = [widget.pretrained.itemData(i) for i in range(widget.pretrained.count())]
    assert {"fly", "mouse", "rat", "labmouse"} <= set(names)
    label = widget.pretrained.itemText(names.index("labmouse"))
    assert label == f"labmouse: Mus musculus, 22 keypoints (lab: {lab.resolve()})"
    widget.tracking.setText(str(openfield_project["h5"]))
    widget.inspect()
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)
    assert not widget.keypoint_map.isVisible()  # the project's own lifter: names as they are
    widget.pretrained.setCurrentIndex(names.index("mouse"))
    assert widget.lifter.text() == "mouse"
    views = [widget.view.itemText(i) for i in range(widget.view.count())]
    from liftpose_dlc.pretrained import model_card

    assert views == ["any view", *model_card("mouse").views]
    assert "top" in views
    table = widget.keypoint_map
    assert table.rowCount() == 4
    pairs = [(table.item(r, 0).text(), table.cellWidget(r, 1).currentData()) for r in range(4)]
    assert pairs == [
        ("snout", "Snout"),
        ("leftear", "EarL"),
        ("rightear", "EarR"),
        ("tailbase", "TailBase"),
    ]
    # the user leaves the right ear out and says the camera is a top view
    box = table.cellWidget(2, 1)
    box.setCurrentIndex(box.findData(""))
    widget.view.setCurrentIndex(views.index("top"))
    assert widget.keypoint_map_value()["rightear"] is None
    widget.run_button.click()
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)
    assert widget.outcome is not None, widget.status.text()
    assert widget.outcome.poses_3d.keypoints == ["snout", "leftear", "tailbase"]
    assert "joints 3D" in viewer.layers
