"""3D pose libraries: :func:`load_poses_3d` is :func:`~liftpose_dlc.io.load_poses` for 3D files.

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

import os
from typing import Any, Literal

from liftpose_dlc._boundary import reader_boundary
from liftpose_dlc.poses import Poses

__all__ = ["load_poses_3d", "detect_3d_format", "FORMATS_3D"]

Format3D = Literal["anipose", "sleap-anipose", "dlc", "df3d", "array"]
FORMATS_3D: tuple[str, ...] = ("anipose", "sleap-anipose", "dlc", "df3d", "array")


def detect_3d_format(path: str | os.PathLike) -> str:
    """:func:`~liftpose_dlc.io.detect_format` with ``dims=3``: one of :data:`FORMATS_3D`."""
    from liftpose_dlc.io import detect_format

    return detect_format(path, dims=3)


@reader_boundary("3D pose file")
def load_poses_3d(path: str | os.PathLike, *, fmt: Format3D | None = None, **kwargs: Any) -> Poses:
    """:func:`~liftpose_dlc.io.load_poses` with ``dims=3``; ``fmt`` is its ``format``.

    ``keypoints=`` and the readers' options (e.g. ``frame=`` for Anipose, ``key=`` for
    arrays and DeepFly3D, ``fps=``) are passed on; see the table in
    :mod:`liftpose_dlc.io.poses3d` for the formats.

    Raises
    ------
    ValueError
        If ``fmt`` is not one of :data:`FORMATS_3D`.

    Examples
    --------
    >>> poses = load_poses_3d("pose-3d/session1.csv")  # doctest: +SKIP
    >>> names = ["head", "thorax", "tail"]
    >>> poses = load_poses_3d("points3d.npy", keypoints=names)  # doctest: +SKIP
    """
    from liftpose_dlc.io import load_poses

    if fmt is not None and fmt not in FORMATS_3D:
        raise ValueError(f"fmt must be one of {FORMATS_3D}, got {fmt!r}")
    return load_poses(path, format=fmt, dims=3, **kwargs)
