"""napari plugin of liftpose-dlc: view 2D tracking, its video and the lifted 3D poses together.

The plugin's contributions are declared in ``napari.yaml`` (npe2), registered through the
``napari.manifest`` entry point: the "LiftPose3D" dock widget (:mod:`napari_liftpose.widget`,
thin Qt over the pure functions of :mod:`napari_liftpose.actions`), the 3D reader
(:mod:`napari_liftpose.reader`) and the walking-fly sample data (:mod:`napari_liftpose.sample`).
Layer construction lives in :mod:`napari_liftpose.layers` and the scene layout in
:mod:`napari_liftpose.scene` (pure functions, no Qt), the lazy video reader in
:mod:`napari_liftpose.video`. Importing this package imports neither napari nor Qt.
"""

from __future__ import annotations

__all__: list[str] = []
