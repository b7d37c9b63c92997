"""napari reader for 3D pose tables in DeepLabCut's layout (ours and DeepLabCut 3D's).

The manifest declares narrow filename patterns (``*_3?.h5``, ``*_3?.csv``: our ``_3d``
outputs and DeepLabCut's ``_DLC_3D`` files), and :func:`napari_get_reader` also opens the
file and claims it only when its table's ``coords`` level holds ``x``, ``y`` and ``z``; so
2D DeepLabCut outputs, ``config.yaml`` files and other ``.h5`` files are left to
napari-deeplabcut and other plugins.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from liftpose_dlc.errors import FileFormatError
from liftpose_dlc.io.dlc import load_dlc
from liftpose_dlc.poses import Poses
from napari_liftpose.layers import LayerData
from napari_liftpose.scene import scene_layers

__all__ = ["napari_get_reader", "read_poses_3d_layers"]

_XYZ = {"x", "y", "z"}
_H5_SUFFIXES = {".h5", ".hdf5"}


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
    if _find_3d_table(Path(path)) is None:
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


# ----------------------------------------------------------------------- sniffing
def _find_3d_table(path: Path) -> str | None:
    """The HDF5 key of a 3D DLC table in ``path`` (``""`` for a CSV), or None.

    Cheap: for HDF5, ``h5py`` lists the groups pandas wrote and pandas reads their column
    index only (no rows); for CSV, only the header lines are read.
    """
    if not path.is_file():
        return None
    suffix = path.suffix.lower()
    try:
        if suffix in _H5_SUFFIXES:
            return _find_3d_key_h5(path)
        if suffix == ".csv":
            return "" if _csv_coords(path) >= _XYZ else None
    except Exception:  # noqa: BLE001 - whatever is unreadable is simply not ours
        return None
    return None


def _find_3d_key_h5(path: Path) -> str | None:
    import h5py

    with h5py.File(path, "r") as h5:
        keys = [
            key
            for key, node in h5.items()
            if isinstance(node, h5py.Group)
            and node.attrs.get("pandas_type") in (b"frame", b"frame_table", "frame", "frame_table")
        ]
    for key in keys:
        columns = pd.read_hdf(path, key, start=0, stop=0).columns
        if _is_3d_columns(columns):
            return key
    return None


def _is_3d_columns(columns: pd.Index) -> bool:
    return (
        isinstance(columns, pd.MultiIndex)
        and columns.nlevels in (3, 4)
        and set(map(str, columns.get_level_values(-1))) >= _XYZ
    )


def _csv_header(path: Path, max_lines: int = 5) -> list[list[str]]:
    rows = []
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        for row in csv.reader(fh):
            rows.append(row)
            if (row and row[0] == "coords") or len(rows) >= max_lines:
                break
    return rows


def _csv_coords(path: Path) -> set[str]:
    rows = _csv_header(path)
    if rows and rows[-1] and rows[-1][0] == "coords":
        return set(rows[-1][1:])
    return set()


# ------------------------------------------------------------------------ loading
def _load_3d_table(path: Path) -> Poses:
    key = _find_3d_table(path)
    if key is None:
        raise FileFormatError(
            f"{path}: not a 3D pose table in DeepLabCut's layout (a .h5 or .csv whose columns "
            "are (scorer, [individuals,] bodyparts, coords) with coords x, y, z)"
        )
    return load_dlc(path, key=key or None)
