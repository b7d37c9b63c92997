"""The "LiftPose3D: Train" dock widget: train or fine-tune a lifter (thin Qt).

Wires the fields to :func:`napari_liftpose.training.run_train` in a napari generator
worker: each ``(done, total)`` it yields advances a progress bar in the viewer's activity
dock; Cancel (the panel's or the bar's) sets the run's cancel event, so training stops at
the next step and nothing is saved. Errors our functions raise are shown as napari error
notifications.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from liftpose_dlc.errors import LiftPoseError
from napari_liftpose.actions import pretrained_choices
from napari_liftpose.fields import (
    LIFTER_FILTER,
    PanelProgress,
    PathField,
    panel_layout,
    status_label,
)
from napari_liftpose.training import (
    TrainingCancelled,
    TrainOutcome,
    TrainRequest,
    library_files,
    run_train,
    train_summary,
)

if TYPE_CHECKING:  # pragma: no cover
    import napari

__all__ = ["TrainPanel"]

LIBRARY_FILTER = "3D poses (*.h5 *.csv *.toml *.mat *.npz *.pkl *.slp);;All files (*)"
CALIBRATION_FILTER = "Calibration (*.toml *.yaml *.yml *.pkl *.mat *.npz);;All files (*)"
CONFIG_FILTER = "DeepLabCut project (config.yaml);;All files (*)"


class TrainPanel(QWidget):
    """Train a lifter from a 3D library and calibration, or fine-tune a pretrained one.

    The fields can be set from code (``panel.library.setText(...)``, ``panel.train()``,
    ``panel.cancel()``), which the tests do.
    """

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.outcome: TrainOutcome | None = None
        self._worker: Any = None
        self._cancel: threading.Event | None = None
        self._progress: Any = None
        self._build()

    def _build(self) -> None:
        self.project = PathField("DeepLabCut config.yaml", "DeepLabCut project", CONFIG_FILTER)
        self.project.setToolTip(
            "The lifter is trained for its bodyparts and saved in its liftpose/"
        )
        self.model_path = QLineEdit()
        self.model_path.setPlaceholderText("or a model file to write (.safetensors)")
        self.library = PathField("3D pose files (; between)", "3D library", LIBRARY_FILTER)
        self.library.setToolTip("3D poses of your animal (Anipose, DANNCE, DeepLabCut 3D, ...)")
        self.cameras = PathField("calibration (optional)", "Calibration", CALIBRATION_FILTER)
        self.cameras.setToolTip(
            "The cameras that film the animal (e.g. aniposelib calibration.toml); without one, "
            "virtual cameras look at the library from every direction"
        )
        self.init = QComboBox()
        self.init.addItem("from scratch", "")
        try:
            for label, name in pretrained_choices():
                self.init.addItem(f"fine-tune {label}", name)
        except LiftPoseError as exc:
            self.init.setToolTip(str(exc))
        self.init_file = PathField("or a model file to fine-tune", "Model", LIFTER_FILTER)
        self.epochs = QSpinBox()
        self.epochs.setRange(0, 10_000)
        self.epochs.setSpecialValueText("default")
        self.epochs.setToolTip("Training epochs (default: the schedule's; shorter to fine-tune)")
        self.units = QLineEdit("mm")
        self.overwrite = QCheckBox("replace an existing lifter")
        self.train_button = QPushButton("Train")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.status = status_label("Pick a project (or a model file) and a 3D library.")
        rows = [
            ("Project", self.project),
            ("", self.model_path),
            ("3D library", self.library),
            ("Cameras", self.cameras),
            ("Start", self.init),
            ("", self.init_file),
            ("Epochs", self.epochs),
            ("Units", self.units),
            ("", self.overwrite),
        ]
        layout = panel_layout(self, rows, [self.train_button, self.cancel_button], self.status)
        layout.addStretch(1)
        self.train_button.clicked.connect(self.train)
        self.cancel_button.clicked.connect(self.cancel)

    @property
    def busy(self) -> bool:
        """Whether a training run is going on."""
        return self._worker is not None

    def request(self) -> TrainRequest:
        """The run the fields describe."""
        files = library_files(self.library.text())
        init = self.init_file.text() or self.init.currentData() or None
        return TrainRequest(
            library=files[0] if len(files) == 1 else files,
            cameras=self.cameras.text() or None,
            project=self.project.text() or None,
            model_path=self.model_path.text().strip() or None,
            init=init,
            epochs=self.epochs.value() or None,
            units=self.units.text().strip() or None,
            overwrite=self.overwrite.isChecked(),
        )

    def train(self) -> None:
        """Start training in a napari worker thread."""
        from napari.qt.threading import create_worker

        if self._worker is not None:
            return
        request = self.request()
        self._cancel = threading.Event()
        worker = create_worker(
            run_train, request, self._cancel, _start_thread=False, _ignore_errors=True
        )
        worker.yielded.connect(self._on_progress)
        worker.returned.connect(self._on_trained)
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self.train_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText("Reading the library and making training pairs…")
        self._progress = PanelProgress(
            total=0, desc="LiftPose3D: training", cancel_callback=self.cancel
        )
        worker.start()

    def cancel(self) -> None:
        """Stop training after the current step; nothing is saved."""
        if self._cancel is not None and self._worker is not None:
            self._cancel.set()
            self.status.setText("Cancelling…")

    def _on_progress(self, step: tuple[int, int]) -> None:
        done, total = step
        if not total or self._worker is None or (self._cancel and self._cancel.is_set()):
            return
        self.status.setText(f"Training: {100 * done // total}% ({done}/{total} samples)")
        bar = self._progress
        if bar is not None:
            if bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

    def _on_trained(self, outcome: TrainOutcome) -> None:
        from napari.utils.notifications import show_info

        self.outcome = outcome
        text = train_summary(outcome)
        self.status.setText(text + ".")
        show_info(text)

    def _on_error(self, exc: Exception) -> None:
        from napari.utils.notifications import show_error

        if isinstance(exc, TrainingCancelled):
            self.status.setText(f"Cancelled: {exc}.")
            return
        message = str(exc) if isinstance(exc, LiftPoseError) else f"{type(exc).__name__}: {exc}"
        self.status.setText(f"Error: {message}")
        show_error(message)

    def _on_finished(self) -> None:
        self._worker = None
        if self._progress is not None:
            self._progress.close()
            self._progress = None
        self.train_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt naming
        """Stop a running training when the panel closes."""
        self.cancel()
        super().closeEvent(event)
