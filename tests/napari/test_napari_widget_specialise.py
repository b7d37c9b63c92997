"""The Lift widget's "Specialise for my keypoints" in a real napari viewer: train the
mouse model for the openfield keypoints, then lift; the cache; Cancel while training
(Qt; skipped without a display)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from liftpose_dlc.pretrained.specialise import CACHE_ENV, cache_folder
from napari_liftpose.specialising import SpecialiseStep

pytestmark = [pytest.mark.gui, pytest.mark.realdata]

WAIT_MS = 120_000


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def specialist_threads():
    return [t for t in threading.enumerate() if t.name == "liftpose-specialise"]


def open_with_mouse(viewer, qtbot, project):
    _, widget = viewer.window.add_plugin_dock_widget("liftpose-dlc", "LiftPose3D")
    widget.tracking.setText(str(project["h5"]))
    widget.inspect()
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)
    assert widget.specialise.isHidden()  # the project's own lifter: nothing to specialise
    names = [widget.pretrained.itemData(i) for i in range(widget.pretrained.count())]
    widget.pretrained.setCurrentIndex(names.index("mouse"))
    assert not widget.specialise.isHidden()
    assert not widget.specialise.isChecked()
    assert widget.specialise.text() == "Specialise for my keypoints"
    assert "about a minute" in widget.specialise.toolTip()
    assert str(cache_folder()) in widget.specialise.toolTip()
    return widget


def run(widget, qtbot):
    """Click Run; return the steps the worker yielded and the statuses shown."""
    steps, statuses = [], []
    widget.run_button.click()
    assert widget._lift_worker is not None, widget.status.text()
    widget._lift_worker.yielded.connect(steps.append)
    widget._lift_worker.yielded.connect(lambda _: statuses.append(widget.status.text()))
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)
    return steps, statuses


def test_specialise_for_my_keypoints_then_lift(
    make_napari_viewer, qtbot, openfield_project, tmp_path, monkeypatch
):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    viewer = make_napari_viewer()
    widget = open_with_mouse(viewer, qtbot, openfield_project)
    widget.specialise.setChecked(True)
    widget.specialise_steps = 30
    steps, statuses = run(widget, qtbot)
    assert widget.outcome is not None, widget.status.text()
    assert statuses[0] == (
        "Specialising the mouse model for your 4 keypoints (EarL, EarR, Snout, TailBase)…"
    )
    training = [s for s in statuses if s.startswith("Training the mouse model for your 4")]
    assert len(set(training)) > 3  # the percentage advances
    assert "The mouse model specialised for your 4 keypoints (trained now and cached)." in (
        statuses
    )
    assert steps[-1] == (2330, 2330)
    assert widget.status.text() == (
        "Lifted 2330 frames of individual_0 (4 joints) with the mouse model specialised for "
        "your 4 keypoints (trained now and cached)."
    )
    assert len(list(cache_folder().glob("mouse-4kp-*.safetensors"))) == 1
    assert widget._progress is None
    first = widget.outcome.poses_3d.data
    assert widget.outcome.poses_3d.keypoints == ["snout", "leftear", "rightear", "tailbase"]
    assert np.isfinite(first[..., 2]).mean() > 0.5
    assert "joints 3D" in viewer.layers

    # Run again: the specialist comes from the cache, the same 3D
    steps, statuses = run(widget, qtbot)
    assert not any(isinstance(s, SpecialiseStep) and s.total for s in steps)
    assert widget.status.text().endswith("specialised for your 4 keypoints (from the cache).")
    np.testing.assert_array_equal(widget.outcome.poses_3d.data, first)

    # unchecked: the general mouse model, a plain lift
    widget.specialise.setChecked(False)
    steps, _ = run(widget, qtbot)
    assert not any(isinstance(s, SpecialiseStep) for s in steps)
    assert widget.status.text() == "Lifted 2330 frames of individual_0 (4 joints)."
    assert not np.allclose(widget.outcome.poses_3d.data, first, equal_nan=True)

    # the project's own lifter again: the box goes (and a checked box is ignored)
    widget.specialise.setChecked(True)
    widget.lifter.setText(str(openfield_project["lifter"]))
    widget._lifter_changed()
    assert widget.specialise.isHidden()
    assert widget.specialise_request() is None


def test_cancel_while_training_adds_and_caches_nothing(
    make_napari_viewer, qtbot, openfield_project, tmp_path, monkeypatch
):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    viewer = make_napari_viewer()
    widget = open_with_mouse(viewer, qtbot, openfield_project)
    widget.specialise.setChecked(True)  # the recipe's steps: long enough to cancel
    widget.run_button.click()
    qtbot.waitUntil(lambda: widget.status.text().startswith("Training"), timeout=WAIT_MS)
    assert widget._progress.total > 0  # the bar counts the training samples
    widget.cancel_button.click()
    qtbot.waitUntil(lambda: not widget.busy, timeout=WAIT_MS)
    # the training thread stops too (not minutes later, caching what it trained)
    qtbot.waitUntil(lambda: not specialist_threads(), timeout=10_000)
    assert widget.status.text() == "Cancelled: nothing was added."
    assert widget.outcome is None
    assert len(viewer.layers) == 0
    assert not list(cache_folder().glob("*.safetensors"))
    assert widget.run_button.isEnabled()
