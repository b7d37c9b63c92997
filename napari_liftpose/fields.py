"""The pieces the dock widgets are built of: path field, panel layout, cancelling progress bar.

Shared by :mod:`napari_liftpose.widget` (Lift) and :mod:`napari_liftpose.train_widget`
(Train), so that both panels look and behave alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from napari.utils import cancelable_progress
from qtpy.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

__all__ = ["PathField", "LIFTER_FILTER", "PanelProgress", "panel_layout", "status_label"]

LIFTER_FILTER = "Lifter model (*.safetensors);;All files (*)"


class PathField(QWidget):
    """A line edit for a path and a "Browse..." button opening a file dialog."""

    def __init__(self, placeholder: str, dialog_title: str, file_filter: str) -> None:
        super().__init__()
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setClearButtonEnabled(True)
        self.button = QPushButton("Browse…")
        self._title = dialog_title
        self._filter = file_filter
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.button)
        self.button.clicked.connect(self._browse)
        self.browsed: Callable[[str], None] | None = None

    def text(self) -> str:
        """The path typed or browsed to (stripped)."""
        return self.edit.text().strip()

    def setText(self, text: str) -> None:  # noqa: N802 - Qt naming
        """Set the path."""
        self.edit.setText(text)

    def _browse(self) -> None:
        start = self.text() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, self._title, start, self._filter)
        if path:
            self.edit.setText(path)
            if self.browsed is not None:
                self.browsed(path)


class PanelProgress(cancelable_progress):
    """A panel's progress bar in the viewer's activity dock; its Cancel button cancels.

    Napari's button calls :meth:`cancel`, which calls ``cancel_callback`` (the panel's own
    ``cancel``: stop the lift or the training).
    """

    def cancel(self) -> None:
        """Cancel the panel's run (napari's button calls this)."""
        super().cancel()
        if self.cancel_callback is not None:
            self.cancel_callback()


def status_label(text: str) -> QLabel:
    """A panel's status line (word-wrapped), showing ``text`` until there is news."""
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def panel_layout(
    panel: QWidget,
    rows: Sequence[tuple[str, QWidget]],
    buttons: Sequence[QPushButton],
    status: QLabel,
) -> QVBoxLayout:
    """Lay ``panel`` out: a form of labelled ``rows``, a row of ``buttons``, the ``status``.

    Returns the panel's layout, to which the caller may add more (then a stretch).
    """
    form = QFormLayout()
    for label, widget in rows:
        form.addRow(label, widget)
    bar = QHBoxLayout()
    for button in buttons:
        bar.addWidget(button)
    layout = QVBoxLayout(panel)
    layout.addLayout(form)
    layout.addLayout(bar)
    layout.addWidget(status)
    return layout
