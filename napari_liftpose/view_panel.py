"""View controls of a scene (thin Qt): keypoint names on demand.

The names are the text of the scene's Points layers, hidden by default;
:func:`~napari_liftpose.decorations.show_keypoint_names` shows them in every joints and
keypoints layer (napari's layer controls, "display text", do it for one layer).
"""

from __future__ import annotations

from typing import Any

from qtpy.QtWidgets import QCheckBox, QHBoxLayout, QWidget

from napari_liftpose.decorations import show_keypoint_names

__all__ = ["ViewControls"]


class ViewControls(QWidget):
    """A "keypoint names" toggle for the scene's layers (kept on for layers added later)."""

    def __init__(self, viewer: Any) -> None:
        super().__init__()
        self.viewer = viewer
        self.names = QCheckBox("keypoint names")
        self.names.setToolTip("Write each keypoint's name beside it (2D and 3D)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.names)
        layout.addStretch(1)
        self.names.toggled.connect(self.apply)
        events = getattr(viewer.layers, "events", None)  # a real viewer's layer list
        if events is not None:
            events.inserted.connect(lambda _event: self.apply())

    def apply(self, *_: Any) -> int:
        """Show or hide the names as the checkbox says; returns the layers changed."""
        return show_keypoint_names(self.viewer.layers, self.names.isChecked())
