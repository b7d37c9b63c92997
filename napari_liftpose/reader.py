"""napari reader for 3D pose tables in DeepLabCut's layout (ours and DeepLabCut 3D's).

The manifest declares narrow filename patterns (``*_3?.h5``, ``*_3?.csv``: our ``_3d``
outputs and DeepLabCut's ``_DLC_3D`` files), and :func:`napari_get_reader` also opens the
file and claims it only when its table's ``coords`` level holds ``x``, ``y`` and ``z``; so
2D DeepLabCut outputs, ``config.yaml`` files and other ``.h5`` files are left to
napari-deeplabcut and other plugins.

Opening without naming the plugin
---------------------------------
napari (0.5 and later) offers every reader whose patterns match: napari's own reader claims
any ``.h5`` and ``.csv``, so a ``_3d.h5`` has two candidates. What decides is napari's
reader preference (``settings.plugins.extension2reader``, the "remember this choice" of
its reader dialog): :func:`prefer_liftpose_reader` sets it for :data:`READER_PATTERNS` (only
patterns the user has no preference for), and the plugin does so when it is activated
(``on_activate`` in the manifest: the first time any of its commands runs, e.g. the widget
opens). With the preference:

- drag and drop, File > Open, ``napari walk_3d.h5`` and ``viewer.open(path, plugin=None)``
  open the file with this reader, without a dialog;
- ``viewer.open(path)`` in Python still uses napari's builtin reader: napari's
  ``ViewerModel.open`` defaults to ``plugin="napari"`` and then consults no preference
  (a plugin cannot change that); pass ``plugin=None`` or ``plugin="liftpose-dlc"``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from liftpose_dlc.errors import FileFormatError
from liftpose_dlc.io import load_poses
from liftpose_dlc.io.dlc import find_dlc_3d_key
from liftpose_dlc.poses import Poses
from napari_liftpose.layers import LayerData
from napari_liftpose.scene import scene_layers

__all__ = [
    "PLUGIN_NAME",
    "READER_PATTERNS",
    "napari_get_reader",
    "read_poses_3d_layers",
    "prefer_liftpose_reader",
    "activate",
]

#: The plugin's name in napari (the manifest's ``name``).
PLUGIN_NAME = "liftpose-dlc"
#: Reader-preference patterns (matched by napari with :func:`fnmatch.fnmatch` against the
#: full path, case-sensitively on Linux): our ``_3d`` outputs and DeepLabCut's ``_DLC_3D``.
READER_PATTERNS = ("*_3d.h5", "*_3D.h5", "*_3d.csv", "*_3D.csv")


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
    if find_dlc_3d_key(Path(cast("str | os.PathLike", path))) is None:
        return None
    return read_poses_3d_layers


def read_poses_3d_layers(path: str | os.PathLike | list) -> list[LayerData]:
    """Read a 3D DLC-layout table and return its 3D joints (and bones) as layer data tuples.

    Raises
    ------
    FileFormatError
        If the file is not a 3D table in DeepLabCut's layout.
    """
    file: str | os.PathLike = path[0] if isinstance(path, (list, tuple)) else path
    poses = _load_3d_table(Path(file))
    return scene_layers(poses_3d=poses)


# -------------------------------------------------------------------- preference
def prefer_liftpose_reader(settings: Any = None) -> list[str]:
    """Make napari open 3D pose tables with this plugin when no plugin is named.

    Adds ``{pattern: "liftpose-dlc"}`` to napari's reader preference
    (``settings.plugins.extension2reader``) for each of :data:`READER_PATTERNS` the user
    has no preference for (a choice made in napari's reader dialog is kept). See the module
    notes for which ways of opening a file consult the preference.

    Parameters
    ----------
    settings
        napari settings (``napari.settings.get_settings()`` when None).

    Returns
    -------
    list of str
        The patterns added (empty when all were set already).

    Examples
    --------
    >>> prefer_liftpose_reader()  # doctest: +SKIP
    ['*_3d.h5', '*_3D.h5', '*_3d.csv', '*_3D.csv']
    """
    if settings is None:
        from napari.settings import get_settings

        settings = get_settings()
    preferences = dict(settings.plugins.extension2reader)
    added = [pattern for pattern in READER_PATTERNS if pattern not in preferences]
    if added:
        preferences.update(dict.fromkeys(added, PLUGIN_NAME))
        settings.plugins.extension2reader = preferences
    return added


def activate(context: Any = None) -> None:
    """The manifest's ``on_activate``: set the reader preference (:func:`prefer_liftpose_reader`).

    A failure (settings that cannot be written) must not stop the plugin: it is ignored,
    and napari then asks which reader to use.
    """
    try:
        prefer_liftpose_reader()
    except Exception:  # noqa: BLE001 - napari's settings may fail in many ways; opening still works
        return


# ------------------------------------------------------------------------ loading
def _load_3d_table(path: Path) -> Poses:
    key = find_dlc_3d_key(path)
    if key is None:
        raise FileFormatError(
            f"{path}: not a 3D pose table in DeepLabCut's layout (a .h5 or .csv whose columns "
            "are (scorer, [individuals,] bodyparts, coords) with coords x, y, z)"
        )
    return load_poses(path, format="dlc", dims=3, key=key or None)  # the io registry
