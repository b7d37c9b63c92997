"""napari plugin of liftpose-dlc: view 2D tracking, its video and the lifted 3D poses together.

The plugin's contributions are declared in ``napari.yaml`` (npe2), registered through the
``napari.manifest`` entry point. Layer construction lives in :mod:`napari_liftpose.layers`
(pure functions, no Qt), the lazy video reader in :mod:`napari_liftpose.video`, the file
reader in :mod:`napari_liftpose.reader`. Importing this package imports neither napari nor Qt.
"""

from __future__ import annotations

__all__: list[str] = []
