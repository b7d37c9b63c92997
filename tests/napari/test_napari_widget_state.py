"""The widget's state after a run (issue 11, defect 14): the status after a success, and a
failed run that clears the previous result. Qt widgets only: a stub stands for the viewer."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

pytestmark = [pytest.mark.gui]


class _Layers(list):
    """The viewer's layer list, as far as the widget uses it."""


@pytest.fixture
def widget(qtbot):
    from napari_liftpose.widget import LiftPoseWidget

    w = LiftPoseWidget(SimpleNamespace(layers=_Layers()))
    qtbot.addWidget(w)
    return w


def _outcome():
    from liftpose_dlc import Poses

    poses = Poses(np.zeros((7, 1, 2, 3)), ["a", "b"])
    return SimpleNamespace(poses_3d=poses, video=None, tracking=None, warnings=[])


def test_a_late_progress_step_does_not_overwrite_the_result(widget):
    widget._lift_worker = object()  # a run in progress
    widget._on_progress((3, 7))
    assert widget.status.text() == "Lifting: 3/7 frames"
    widget.outcome = _outcome()  # what show_outcome leaves (without layers)
    widget._set_status(widget._done_status())
    widget._on_progress((5, 7))  # delivered late, from Qt events run by the progress bar
    widget._lift_worker = None
    widget._on_progress((6, 7))  # after the run: ignored
    widget._on_lift_finished()
    assert widget.status.text() == "Lifted 7 frames of individual_0 (2 joints)."


def test_a_failed_run_clears_the_previous_result_and_save(widget):
    from napari_liftpose.widget import Failed

    layer = object()
    widget.viewer.layers.append(layer)
    widget.layers = [layer]
    widget.outcome = _outcome()
    widget.save_button.setEnabled(True)
    widget._on_lifted(Failed("x.h5: the lifter's keypoints are not in the poses"))
    assert widget.outcome is None
    assert not widget.save_button.isEnabled()
    assert widget.viewer.layers == []
    assert widget.status.text().startswith("Error: x.h5")
