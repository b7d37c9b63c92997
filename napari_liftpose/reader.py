"""napari reader for 3D pose tables in DeepLabCut's layout (ours and DeepLabCut 3D's).

The manifest declares narrow filename patterns (``*_3?.h5``, ``*_3?.csv``: our ``_3d``
outputs and DeepLabCut's ``_DLC_3D`` files), and :func:`napari_get_reader` also opens the
file and claims it only when its table's ``coords`` level holds ``x``, ``y`` and ``z``; so
2D DeepLabCut outputs, ``config.yaml`` files and other ``.h5`` files are left to
napari-deeplabcut and other plugins.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from liftpose_dlc.errors import FileFormatError
from liftpose_dlc.io import load_poses
from liftpose_dlc.io.dlc import find_dlc_3d_key
from liftpose_dlc.poses import Poses
from napari_liftpose.layers import LayerData
from napari_liftpose.scene import scene_layers

__all__ = ["napari_get_reader", "read_poses_3d_layers"]


def napari_get_reader(path: str | os.PathLike | list) -> Callable[[Any], list[LayerData]] | None:
    """The npe2 reader command: a reader for 3D DLC-layout tables, None for anything else.

    Parameters
    ----------
    path
        A path (or a list holding one path) napari asks about.

    Returns
    -------
    callable or None
        :func:`read_poses_3d_layers` when ``path`` is a ``.h5`` or ``.csv`` table whose
        ``coords`` column level holds x, y and z; None otherwise (other ``.h5``, 2D tables,
        several paths, directories), so other plugins can open the file.
    """
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    if find_dlc_3d_key(Path(path)) is None:
        return None
    return read_poses_3d_layers


def read_poses_3d_layers(path: str | os.PathLike | list) -> list[LayerData]:
    """Read a 3D DLC-layout table and return its 3D joints (and bones) as layer data tuples.

    Raises
    ------
    FileFormatError
        If the file is not a 3D table in DeepLabCut's layout.
    """
    if isinstance(path, (list, tuple)):
        path = path[0]
    poses = _load_3d_table(Path(path))
    return scene_layers(poses_3d=poses)


# ------------------------------------------------------------------------ loading
def _load_3d_table(path: Path) -> Poses:
    key = find_dlc_3d_key(path)
    if key is None:
        raise FileFormatError(
            f"{path}: not a 3D pose table in DeepLabCut's layout (a .h5 or .csv whose columns "
            "are (scorer, [individuals,] bodyparts, coords) with coords x, y, z)"
        )
    return load_poses(path, format="dlc", dims=3, key=key or None)  # the io registry
