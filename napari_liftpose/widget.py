"""The "LiftPose3D" dock widget: pick 2D tracking, a video and a lifter, lift, view, save.

This module only wires Qt to the plain functions of :mod:`napari_liftpose.actions`:

- picking a tracking file runs :func:`~napari_liftpose.actions.inspect_tracking` in a
  worker thread, which pre-fills the video, the project's lifter, ``pcutoff`` and the
  individual selector;
- Run runs :func:`~napari_liftpose.actions.run_lift` in a napari generator worker
  (``napari.qt.threading.create_worker``, what ``@thread_worker`` wraps): each yielded
  ``(done, total)`` advances a progress bar in the viewer's activity dock, and Cancel (the
  widget's or the progress bar's) stops the worker at the next chunk of frames; its result
  replaces the layers of the previous run
  (:meth:`~napari_liftpose.actions.LiftOutcome.layer_data`,
  :func:`~napari_liftpose.scene.add_layers`);
- with "Specialise for my keypoints" checked (shown for a pretrained model that ships its
  pose library), the worker runs
  :func:`~napari_liftpose.specialising.run_specialised_lift` instead: it first trains (or
  loads from the cache) the model specialised for the tracked keypoints, its steps in the
  status and the progress bar, Cancel stopping the training too;
- Save writes the lifted 3D (:func:`~napari_liftpose.actions.save_lifted`), asking before
  replacing a file.

Errors our readers, writers and the lifter raise (:class:`~liftpose_dlc.errors.LiftPoseError`)
are shown as napari error notifications with their message; the viewer carries on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import attrs
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from liftpose_dlc.errors import ConfigError, LiftPoseError
from napari_liftpose.actions import (
    LiftOutcome,
    LiftRequest,
    TrackingInfo,
    default_individuals,
    default_output_path,
    frames_tracked,
    inspect_tracking,
    keypoint_map_rows,
    prepare_lifter,
    pretrained_choices,
    rows_to_keypoint_map,
    run_lift,
    save_lifted,
    view_choices,
)
from napari_liftpose.fields import (
    LIFTER_FILTER,
    PanelProgress,
    PathField,
    panel_layout,
    status_label,
)
from napari_liftpose.specialising import (
    SpecialiseRequest,
    SpecialiseStep,
    can_specialise,
    run_specialised_lift,
    specialise_tooltip,
)

if TYPE_CHECKING:  # pragma: no cover
    import napari

__all__ = ["LiftPoseWidget"]

TRACKING_FILTER = (
    "2D tracking (*.h5 *.hdf5 *.csv *.slp *.yaml *.yml);;"
    "DeepLabCut (*.h5 *.csv config.yaml);;SLEAP (*.slp *.h5);;All files (*)"
)
VIDEO_FILTER = "Videos (*.mp4 *.avi *.mov *.mkv *.mpg *.mpeg *.m4v *.webm *.wmv);;All files (*)"
DLC_SAVE_FILTER = "DeepLabCut table (*.h5 *.csv)"
SLEAP_SAVE_FILTER = "SLEAP 3D poses (*.h5)"

#: What a worker returns instead of raising for the errors users can fix (bad files...).
EXPECTED_ERRORS = (LiftPoseError, OSError)


@attrs.frozen
class Failed:
    """An expected error caught in a worker thread: its message is shown to the user."""

    message: str


def _guarded_call(func: Callable[..., Any], *args: Any) -> Any:
    try:
        return func(*args)
    except EXPECTED_ERRORS as exc:
        return Failed(str(exc))


def _guarded_lift(steps: Generator[Any, None, Any]) -> Generator[Any, None, Any]:
    try:
        return (yield from steps)
    except EXPECTED_ERRORS as exc:
        return Failed(str(exc))


class LiftPoseWidget(QWidget):
    """Lift 2D tracking to 3D and show video, 2D keypoints and 3D skeleton in one viewer.

    Parameters
    ----------
    napari_viewer
        The viewer the layers go to (napari passes it when the widget is opened from the
        Plugins menu).

    Notes
    -----
    The fields can also be set from code (``widget.tracking.setText(path)`` then
    ``widget.inspect()``; ``widget.run()``; ``widget.save(path)``), which the tests do.
    ``widget.specialise_steps`` sets the training steps of a specialist (None: the
    model's recipe).
    """

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.info: TrackingInfo | None = None
        self.outcome: LiftOutcome | None = None
        self.layers: list[Any] = []
        self._inspect_worker: Any = None
        self._lift_worker: Any = None
        self._progress: Any = None
        self._cancel_requested = False
        self._cancel_training = threading.Event()  # stops a specialist's training
        self._specialist_note = ""  # how the last run's lifter was specialised
        self.specialise_steps: int | None = None
        self._filled: dict[str, str] = {}  # field -> value we filled in (not the user)
        self._build()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.tracking = PathField(
            "DLC .h5/.csv or config.yaml, SLEAP .slp/.analysis.h5",
            "Open 2D tracking",
            TRACKING_FILTER,
        )
        self.tracking.setToolTip(
            "DeepLabCut analysis output (.h5/.csv) or project config.yaml, SLEAP predictions "
            "(.slp) or analysis export (.analysis.h5)"
        )
        self.video = PathField("video (optional)", "Open video", VIDEO_FILTER)
        self.video.setToolTip(
            "The video the tracking was computed from; found automatically when the tracking "
            "file names it or sits beside it"
        )
        self.lifter = PathField("lifter model (.safetensors)", "Open lifter model", LIFTER_FILTER)
        self.lifter.setToolTip(
            "A trained lifter or a pretrained model's name; a DeepLabCut project's own lifter "
            "(<project>/liftpose/lifter.safetensors) is filled in automatically"
        )
        self.pretrained = QComboBox()
        self.pretrained.addItem("pretrained lifters…", "")
        try:
            for label, name in pretrained_choices():
                self.pretrained.addItem(label, name)
        except LiftPoseError as exc:  # a broken lab folder must not break the widget
            self.pretrained.setToolTip(str(exc))
        else:
            self.pretrained.setToolTip(
                "A lifter trained for a species (no 3D of your own needed); your keypoint "
                "names are matched to its keypoints when you Run (the map is shown below)"
            )
        self.pretrained.currentIndexChanged.connect(self._pretrained_picked)
        self.view = QComboBox()
        self.view.addItem("any view", None)
        self.view.setToolTip(
            "A pretrained lifter's view of your camera (its card's views); it picks a model "
            "specialised for that view when the lifter has one"
        )
        self.keypoint_map = QTableWidget(0, 3)
        self.keypoint_map.setHorizontalHeaderLabels(["your keypoint", "model keypoint", "why"])
        self.keypoint_map.setToolTip(
            "How your keypoints map onto a pretrained lifter's (proposed by name); correct a "
            "row by choosing another model keypoint, or none to leave it out"
        )
        self.keypoint_map.setMaximumHeight(160)
        self.keypoint_map.setVisible(False)
        self.specialise = QCheckBox("Specialise for my keypoints")
        self.specialise.setToolTip(specialise_tooltip())
        self.specialise.setVisible(False)
        self.lifter.edit.editingFinished.connect(self._lifter_changed)
        self.pcutoff = QDoubleSpinBox()
        self.pcutoff.setRange(0.0, 1.0)
        self.pcutoff.setSingleStep(0.05)
        self.pcutoff.setDecimals(2)
        self.pcutoff.setValue(0.0)
        self.pcutoff.setToolTip(
            "2D points with a likelihood/score below this are treated as missing: not lifted "
            "and not drawn (filled in from a DeepLabCut config)"
        )
        self.individuals = QListWidget()
        self.individuals.setMaximumHeight(110)
        self.individuals.setToolTip(
            "Individuals (SLEAP tracks) to lift; each gets its own 3D skeleton beside the video"
        )
        self.infer_occluded = QCheckBox("infer missing points")
        self.infer_occluded.setToolTip(
            "Keep the lifter's 3D estimate of points missing in 2D (else they are not drawn)"
        )
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.save_button = QPushButton("Save 3D…")
        self.save_button.setEnabled(False)
        self.status = status_label("Pick a 2D tracking file.")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        rows = [
            ("2D tracking", self.tracking),
            ("Video", self.video),
            ("Lifter", self.lifter),
            ("", self.pretrained),
            ("View", self.view),
            ("Keypoint map", self.keypoint_map),
            ("", self.specialise),
            ("pcutoff", self.pcutoff),
            ("Individuals", self.individuals),
            ("", self.infer_occluded),
        ]
        buttons = [self.run_button, self.cancel_button, self.save_button]
        layout = panel_layout(self, rows, buttons, self.status)
        from napari_liftpose.view_panel import ViewControls

        self.view_controls = ViewControls(self.viewer)  # keypoint names on demand
        layout.addWidget(self.view_controls)
        layout.addStretch(1)

        self.tracking.browsed = lambda _: self.inspect()
        self.tracking.edit.editingFinished.connect(self._tracking_edited)
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.save_button.clicked.connect(lambda: self.save())

    # -------------------------------------------------------------- state
    @property
    def busy(self) -> bool:
        """Whether a tracking file is being read or a lift is running."""
        return self._inspect_worker is not None or self._lift_worker is not None

    def _set_status(self, text: str) -> None:
        self.status.setText(text)

    def _error(self, message: str) -> None:
        from napari.utils.notifications import show_error

        self._set_status(f"Error: {message}")
        show_error(message)

    # ------------------------------------------------------------ inspection
    def _tracking_edited(self) -> None:
        text = self.tracking.text()
        if text and (self.info is None or Path(text) != self.info.path):
            self.inspect()

    def inspect(self) -> None:
        """Read the tracking file in a worker thread and pre-fill the other fields."""
        from napari.qt.threading import create_worker

        path = self.tracking.text()
        if not path or self._inspect_worker is not None:
            return
        self._set_status(f"Reading {Path(path).name}…")
        worker = create_worker(
            _guarded_call, inspect_tracking, path, _start_thread=False, _ignore_errors=True
        )
        worker.returned.connect(self._on_inspected)
        worker.finished.connect(self._on_inspect_finished)
        self._inspect_worker = worker
        worker.start()

    def _on_inspect_finished(self) -> None:
        self._inspect_worker = None

    def _on_inspected(self, result: Any) -> None:
        if isinstance(result, Failed):
            self.info = None
            self._error(result.message)
            return
        if isinstance(result, Exception):  # superqt returns RuntimeErrors
            self.info = None
            self._error(str(result))
            return
        self.set_info(result)

    def set_info(self, info: TrackingInfo) -> None:
        """Show what :func:`~napari_liftpose.actions.inspect_tracking` found."""
        self.info = info
        self._fill(self.video, "video", info.video_path)
        self._fill(self.lifter, "lifter", info.lifter_path)
        if info.pcutoff is not None:
            self.pcutoff.setValue(info.pcutoff)
        self.individuals.clear()
        counts = frames_tracked(info.poses)
        chosen = set(default_individuals(info.poses))
        for name in info.individuals:
            item = QListWidgetItem(f"{name} ({counts[name]} frames)")
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in chosen else Qt.CheckState.Unchecked)
            self.individuals.addItem(item)
        self.individuals.setEnabled(len(info.individuals) > 1)
        poses = info.poses
        found = [
            f"{info.software}: {poses.n_frames} frames, {poses.n_keypoints} keypoints, "
            f"{len(info.individuals)} individual(s)"
        ]
        if info.config_path is not None:
            found.append(f"project config {info.config_path.name}")
        found.append(
            f"video {info.video_path.name}" if info.video_path else "no video found beside it"
        )
        if info.lifter_path is not None:
            found.append("the project's lifter")
        self._set_status("; ".join(found) + ".")
        self._lifter_changed()

    def _pretrained_picked(self, index: int) -> None:
        name = self.pretrained.itemData(index)
        if name:
            self.lifter.setText(str(name))
            self._lifter_changed()

    def _lifter_changed(self) -> None:
        """Offer the lifter's views, and show its keypoint map for the tracking's names."""
        model = self.lifter.text()
        self.view.clear()
        self.view.addItem("any view", None)
        for name in view_choices(model):
            self.view.addItem(name, name)
        self.specialise.setVisible(can_specialise(model))
        self.show_keypoint_map()

    def show_keypoint_map(self) -> None:
        """Fill the keypoint-map table (hidden when the lifter takes names as they are)."""
        table = self.keypoint_map
        table.setRowCount(0)
        rows: list[tuple[str, str, str]] = []
        choices: list[str] = []
        model = self.lifter.text()
        if self.info is not None and model:
            try:
                rows, choices = keypoint_map_rows(model, self.info.poses.keypoints)
            except LiftPoseError:
                rows = []  # reported when the user runs
        table.setVisible(bool(rows))
        for user, target, why in rows:
            row = table.rowCount()
            table.insertRow(row)
            item = QTableWidgetItem(user)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            table.setItem(row, 0, item)
            box = QComboBox()
            box.addItem("(none)", "")
            for k in choices:
                box.addItem(k, k)
            box.setCurrentIndex(max(box.findData(target), 0))
            table.setCellWidget(row, 1, box)
            reason = QTableWidgetItem(why)
            reason.setFlags(reason.flags() & ~Qt.ItemFlag.ItemIsEditable)
            table.setItem(row, 2, reason)

    def keypoint_map_value(self) -> dict[str, str | None] | None:
        """The table as ``keypoint_map`` (None when it is not shown)."""
        table = self.keypoint_map
        if table.rowCount() == 0:
            return None
        rows = []
        for row in range(table.rowCount()):
            box = cast(QComboBox, table.cellWidget(row, 1))
            item = table.item(row, 0)
            rows.append(("" if item is None else item.text(), box.currentData() or ""))
        return rows_to_keypoint_map(rows)

    def _fill(self, field: PathField, key: str, value: Path | None) -> None:
        """Fill a field the user has not typed into (empty, or still what we filled in)."""
        current = field.text()
        if current and current != self._filled.get(key):
            return
        text = "" if value is None else str(value)
        field.setText(text)
        self._filled[key] = text

    def selected_individuals(self) -> list[str]:
        """The checked individuals."""
        out = []
        for row in range(self.individuals.count()):
            item = self.individuals.item(row)
            if item is not None and item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    # ---------------------------------------------------------------- lifting
    def specialise_request(self) -> SpecialiseRequest | None:
        """The specialist to train before lifting, or None (the box is hidden or unchecked)."""
        if self.specialise.isHidden() or not self.specialise.isChecked():
            return None
        if self.info is None:
            raise ConfigError("read the tracking file first: its keypoints choose the specialist")
        return SpecialiseRequest(
            model=self.lifter.text().strip(),
            keypoints=list(self.info.poses.keypoints),
            keypoint_map=self.keypoint_map_value(),
            view=self.view.currentData(),
            steps=self.specialise_steps,
        )

    def request(self) -> LiftRequest:
        """The lift the fields describe."""
        path = self.tracking.text()
        video = self.video.text() or None
        tracking: Any = path
        if self.info is not None and path and Path(path) == self.info.path:
            same_video = self.info.path == self.info.poses_path or (
                video is not None and self.info.video_path == Path(video)
            )
            if same_video:  # a config.yaml picks its analysis output by the video
                tracking = self.info
        individuals = self.selected_individuals() if self.individuals.count() > 1 else None
        lifter: Any = self.lifter.text()
        if self.info is not None and lifter.strip():
            # a pretrained model is matched to the tracking's names here (and the map shown)
            lifter, shown = prepare_lifter(
                lifter,
                self.info.poses.keypoints,
                self.keypoint_map_value(),
                view=self.view.currentData(),
            )
            if shown:
                from napari.utils.notifications import show_info

                show_info(shown)
        return LiftRequest(
            tracking=tracking,
            lifter=lifter,
            video=video,
            pcutoff=self.pcutoff.value(),
            individuals=individuals,
            infer_occluded=self.infer_occluded.isChecked(),
        )

    def run(self) -> None:
        """Lift in a napari ``thread_worker``; the layers are added when it returns."""
        from napari.qt.threading import create_worker

        if self._lift_worker is not None:
            return
        if not self.tracking.text():
            self._error("pick a 2D tracking file first")
            return
        if self.individuals.count() > 1 and not self.selected_individuals():
            self._error("check at least one individual to lift")
            return
        try:
            request = self.request()  # checks the keypoint map before any training
            special = self.specialise_request()
        except LiftPoseError as exc:
            self._error(str(exc))
            return
        self._cancel_training = threading.Event()
        steps: Generator[Any, None, Any]
        if special is None:
            steps = run_lift(request)
        else:  # the worker's quit() does not close the generator: the event stops training
            steps = run_specialised_lift(request, special, self._cancel_training)
        worker = create_worker(_guarded_lift, steps, _start_thread=False, _ignore_errors=True)
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(self._on_lifted)
        worker.errored.connect(self._on_crashed)
        worker.finished.connect(self._on_lift_finished)
        self._lift_worker = worker
        self._cancel_requested = False
        self._specialist_note = ""
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._set_status("Loading…")
        # made here, not in a yield handler: making it runs Qt events (the next yields)
        self._progress = PanelProgress(
            total=0, desc="LiftPose3D: loading", cancel_callback=self.cancel
        )
        worker.start()

    def cancel(self) -> None:
        """Stop the running lift after its current chunk of frames; nothing is added."""
        if self._lift_worker is not None:
            self._cancel_requested = True
            self._cancel_training.set()
            self._lift_worker.quit()
            self._set_status("Cancelling…")

    def _on_progress(self, step: tuple[int, int] | SpecialiseStep) -> None:
        if self._cancel_requested or self._lift_worker is None:
            return  # a step made before the worker saw the request, or after its result
        if isinstance(step, SpecialiseStep):
            if step.specialist is not None:
                self._specialist_note = step.specialist.describe()
            self._set_status(step.text)
            if step.total:
                self._advance(step.done, step.total, "LiftPose3D: training a specialist")
            return
        done, total = step
        # the status first: updating the bar runs Qt events, which may deliver the result
        self._set_status(f"Lifting: {done}/{total} frames")
        self._advance(done, total, "LiftPose3D: lifting")

    def _advance(self, done: int, total: int, description: str) -> None:
        bar = self._progress
        if bar is not None:
            if bar.total != total:
                bar.total = total
                bar.set_description(description)
            bar.update(done - bar.n)

    def _on_lifted(self, result: Any) -> None:
        self._cancel_requested = False  # it finished before it saw the request
        if isinstance(result, (Failed, Exception)):  # superqt returns RuntimeErrors
            # the previous result is not this run's: it goes, and Save with it
            self.clear_outcome()
            if isinstance(result, Failed):
                self._error(result.message)
            else:
                self._error(f"{type(result).__name__}: {result}")
            return
        self.show_outcome(result)

    def clear_outcome(self) -> None:
        """Remove the shown result (its layers, its video) and disable Save."""
        self._remove_layers()
        if self.outcome is not None and self.outcome.video is not None:
            self.outcome.video.close()  # its layer is gone
        self.outcome = None
        self.save_button.setEnabled(False)

    def show_outcome(self, outcome: LiftOutcome) -> None:
        """Replace the previous run's layers with this one's (3D display)."""
        from napari.utils.notifications import show_warning

        from napari_liftpose.scene import add_layers

        self.clear_outcome()
        try:
            self.layers = add_layers(self.viewer, outcome.layer_data(), ndisplay=3)
        except Exception as exc:  # a bug: napari shows it with its traceback
            from napari.utils.notifications import notification_manager

            self._remove_layers()
            self._set_status(f"Error: could not show the result ({type(exc).__name__}: {exc})")
            notification_manager.receive_error(type(exc), exc, exc.__traceback__)
            return
        self.outcome = outcome
        self.info = outcome.tracking
        self.save_button.setEnabled(True)
        for message in outcome.warnings:
            show_warning(message)
        self._set_status(self._done_status())

    def _done_status(self) -> str:
        if self.outcome is None:
            return "Nothing was lifted."
        poses = self.outcome.poses_3d
        how = f" with {self._specialist_note}" if self._specialist_note else ""
        return (
            f"Lifted {poses.n_frames} frames of {', '.join(poses.individuals)} "
            f"({poses.n_keypoints} joints){how}."
        )

    def _remove_layers(self) -> None:
        """Remove the layers of the previous run (those the user has not removed)."""
        for layer in self.layers:
            if layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        self.layers = []

    def _on_crashed(self, exc: Exception) -> None:
        # napari's worker already shows the unexpected error (with its traceback)
        self._set_status(f"Error: {type(exc).__name__}: {exc}")

    def _on_lift_finished(self) -> None:
        self._lift_worker = None
        if self._progress is not None:
            self._progress.close()
            self._progress = None
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if self._cancel_requested:  # the worker was stopped: it returned nothing
            self._set_status("Cancelled: nothing was added.")
        elif self.status.text().startswith("Lifting:"):  # a late step: say how it ended
            self._set_status(self._done_status())

    # ----------------------------------------------------------------- saving
    def save(
        self, path: str | os.PathLike | None = None, overwrite: bool | None = None
    ) -> Path | None:
        """Save the lifted 3D; without ``path`` a dialog asks where.

        An existing file is replaced only when ``overwrite`` is True or, when it is None,
        the user confirms. Returns the file written, or None.
        """
        from napari.utils.notifications import show_info

        if self.outcome is None:
            self._error("nothing to save yet: run a lift first")
            return None
        if path is None:
            path = self._ask_save_path(default_output_path(self.outcome.tracking))
            if not path:
                return None
        dest = Path(path)
        if dest.exists() and overwrite is None:
            overwrite = self._confirm_overwrite(dest)
            if not overwrite:
                self._set_status(f"Not saved: {dest} exists.")
                return None
        try:
            written = save_lifted(self.outcome, dest, overwrite=bool(overwrite))
        except EXPECTED_ERRORS as exc:
            self._error(str(exc))
            return None
        show_info(f"Saved the lifted 3D poses to {written}")
        self._set_status(f"Saved {written}.")
        return written

    def _ask_save_path(self, default: Path) -> str:
        assert self.outcome is not None
        dlc = self.outcome.tracking.software == "DeepLabCut"
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save lifted 3D poses",
            str(default),
            DLC_SAVE_FILTER if dlc else SLEAP_SAVE_FILTER,
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        return path

    def _confirm_overwrite(self, path: Path) -> bool:
        answer = QMessageBox.question(
            self,
            "Replace file?",
            f"{path} exists. Replace it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    # --------------------------------------------------------------- cleanup
    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt naming
        """Stop a running lift when the widget closes."""
        if self._lift_worker is not None:
            self._cancel_training.set()
            self._lift_worker.quit()
        super().closeEvent(event)
