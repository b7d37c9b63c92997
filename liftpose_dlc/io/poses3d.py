"""One entry point for 3D pose libraries: :func:`load_poses_3d` picks the reader by content.

Formats (``fmt``) and their readers:

- ``"anipose"``: Anipose ``pose-3d/*.csv``
  (:func:`liftpose_dlc.io.anipose.load_anipose_3d`).
- ``"sleap-anipose"``: sleap-anipose ``points3d.h5`` with ``tracks``
  (``liftpose_dlc.io.sleap.load_sleap_3d``).
- ``"dlc"``: DeepLabCut ``*_DLC_3D.h5`` / ``.csv`` and any DLC-layout 3D table, our own
  ``_3d.h5`` outputs included (``liftpose_dlc.io.dlc.load_dlc``).
- ``"df3d"``: DeepFly3D ``df3d_result*.pkl`` and aligned ``pose_result*.pkl``
  (:func:`liftpose_dlc.io.df3d.load_df3d`).
- ``"array"``: ``.npy`` / ``.npz`` (:func:`liftpose_dlc.io.arrays.load_array_poses`).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from liftpose_dlc._boundary import reader_boundary
from liftpose_dlc._files import check_file
from liftpose_dlc.errors import FileFormatError
from liftpose_dlc.io._pickle import is_pickle
from liftpose_dlc.poses import Poses

__all__ = ["load_poses_3d", "detect_3d_format", "FORMATS_3D"]

Format3D = Literal["anipose", "sleap-anipose", "dlc", "df3d", "array"]
FORMATS_3D: tuple[str, ...] = ("anipose", "sleap-anipose", "dlc", "df3d", "array")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def detect_3d_format(path: str | os.PathLike) -> str:
    """Tell which 3D pose format a file holds, from its content.

    Returns
    -------
    str
        One of :data:`FORMATS_3D`.

    Raises
    ------
    FileFormatError
        If the content matches none of them.
    """
    p = check_file(path, "3D pose file")
    with open(p, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"\x93NUMPY") or head.startswith(b"PK"):
        return "array"
    if is_pickle(head):
        return "df3d"
    if head.startswith(_HDF5_SIGNATURE):
        return _detect_hdf5(p)
    try:
        first = next(csv.reader(io.StringIO(head.decode("utf-8", errors="strict"))), [])
    except (UnicodeDecodeError, csv.Error):
        first = []
    from liftpose_dlc.io.anipose import is_anipose_csv_header

    if first and is_anipose_csv_header([c.strip() for c in first]):
        return "anipose"
    from liftpose_dlc.io._sniff import dlc_csv_head

    if dlc_csv_head(p) is not None:
        return "dlc"
    raise FileFormatError(
        f"{p}: not a recognised 3D pose file. Supported: Anipose pose-3d CSV, sleap-anipose "
        "points3d.h5, DeepLabCut 3D .h5/.csv, DeepFly3D .pkl, .npy/.npz arrays"
    )


def _detect_hdf5(p: Path) -> str:
    import h5py

    try:
        with h5py.File(p, "r") as f:
            tracks = f.get("tracks")
            if isinstance(tracks, h5py.Dataset) and tracks.ndim == 4 and tracks.shape[-1] == 3:
                return "sleap-anipose"
            pandas_like = False

            def visit(name: str, obj: Any) -> None:
                nonlocal pandas_like
                if "pandas_type" in obj.attrs:
                    pandas_like = True

            f.visititems(visit)
    except OSError as exc:
        raise FileFormatError(f"{p}: not a readable HDF5 file ({exc})") from exc
    if pandas_like:
        return "dlc"
    raise FileFormatError(
        f"{p}: an HDF5 file that is neither a sleap-anipose points3d.h5 (a 'tracks' dataset "
        "of shape (frames, tracks, nodes, 3)) nor a DeepLabCut-layout table"
    )


@reader_boundary("3D pose file")
def load_poses_3d(
    path: str | os.PathLike,
    *,
    keypoints: Sequence[str] | None = None,
    fmt: Format3D | None = None,
    **kwargs: Any,
) -> Poses:
    """Read 3D poses from a 3D library or triangulation output; the format is detected.

    Parameters
    ----------
    path
        The file (see the table in :mod:`liftpose_dlc.io.poses3d`).
    keypoints
        For files without keypoint names (``.npy``/``.npz``, a sleap-anipose
        ``points3d.h5`` without an accompanying SLEAP file, a DeepFly3D array of other than
        38 points): their names, in order; the number must match the file. For files with
        names (Anipose, DeepLabCut, aligned DeepFly3D): the keypoints to keep, in this order.
    fmt
        Skip detection and use this reader: one of ``"anipose"``, ``"sleap-anipose"``,
        ``"dlc"``, ``"df3d"``, ``"array"``.
    **kwargs
        Passed to the reader (e.g. ``frame=`` for Anipose, ``key=`` for arrays and
        DeepFly3D, ``fps=``).

    Returns
    -------
    Poses
        With ``n_dims == 3``.

    Raises
    ------
    FileFormatError
        If the format is not recognised or the file holds 2D poses.
    KeypointError
        If keypoint names are missing or do not match the file.

    Examples
    --------
    >>> poses = load_poses_3d("pose-3d/session1.csv")  # doctest: +SKIP
    >>> names = ["head", "thorax", "tail"]
    >>> poses = load_poses_3d("points3d.npy", keypoints=names)  # doctest: +SKIP
    """
    p = check_file(path, "3D pose file")
    fmt = fmt or detect_3d_format(p)
    select = False
    if fmt == "anipose":
        from liftpose_dlc.io.anipose import load_anipose_3d

        poses = load_anipose_3d(p, **kwargs)
        select = True
    elif fmt == "sleap-anipose":
        from liftpose_dlc.io.sleap import load_sleap_3d

        poses = load_sleap_3d(p, node_names=keypoints, **kwargs)
    elif fmt == "dlc":
        from liftpose_dlc.io.dlc import load_dlc

        poses = load_dlc(p, **kwargs)
        select = True
    elif fmt == "df3d":
        from liftpose_dlc.io.df3d import load_df3d

        poses = load_df3d(p, keypoints=keypoints, **kwargs)
    elif fmt == "array":
        from liftpose_dlc.io.arrays import load_array_poses

        poses = load_array_poses(p, keypoints=keypoints, **kwargs)
    else:
        raise ValueError(f"fmt must be one of {FORMATS_3D}, got {fmt!r}")
    if poses.n_dims != 3:
        raise FileFormatError(
            f"{p}: holds {poses.n_dims}D poses, not 3D; read 2D tracking with load_poses"
        )
    if select and keypoints is not None:
        poses = poses.select(keypoints=list(keypoints))
    return poses
