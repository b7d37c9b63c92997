"""Readers and writers, one module per format, and the facade: load_poses and save_poses.

Each format module declares what it can do in the registry (:mod:`liftpose_dlc.io.registry`):

- :mod:`liftpose_dlc.io.dlc`: DeepLabCut ``.h5``/``.csv`` (2D and 3D; read, write, and
  chunked read/write in :mod:`liftpose_dlc.io.dlc_stream`),
- :mod:`liftpose_dlc.io.sleap`: SLEAP ``.slp`` and analysis ``.h5`` (2D), sleap-anipose
  ``points3d.h5`` (3D; read and write),
- :mod:`liftpose_dlc.io.anipose`, :mod:`liftpose_dlc.io.df3d`, :mod:`liftpose_dlc.io.arrays`:
  Anipose CSV, DeepFly3D pickles, NumPy arrays (3D).

:func:`load_poses` recognises a file by its content and reads it, 2D or 3D alike;
:func:`save_poses` writes poses in the format the target or the input asks for.

This module imports neither pandas nor torch; the format modules are imported when needed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liftpose_dlc._boundary import reader_boundary
from liftpose_dlc.errors import FileFormatError

if TYPE_CHECKING:  # pragma: no cover
    from liftpose_dlc.poses import Poses

__all__ = ["load_poses", "save_poses", "detect_format"]


def detect_format(path: str | os.PathLike, dims: int = 2) -> str:
    """Tell which software wrote a pose file of ``dims`` dimensions, from its content.

    Returns
    -------
    str
        The registry name of the format. 2D: ``"dlc"`` (DeepLabCut pandas table, ``.h5`` or
        ``.csv``), ``"sleap"`` (SLEAP ``.slp``) or ``"sleap_analysis"`` (SLEAP analysis HDF5);
        3D: one of :data:`~liftpose_dlc.io.poses3d.FORMATS_3D`.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    FileFormatError
        If the content is none of these.
    """
    from liftpose_dlc.io.registry import sniff

    return sniff(path, dims=dims).name


@reader_boundary("pose file")
def load_poses(
    path: str | os.PathLike,
    *,
    keypoints: Sequence[str] | None = None,
    format: str | None = None,
    dims: int | None = None,
    **kwargs: Any,
) -> Poses:
    """Read 2D or 3D poses from any file liftpose-dlc knows, choosing the reader by content.

    Parameters
    ----------
    path
        A DeepLabCut ``.h5``/``.csv`` (2D or 3D), a SLEAP ``.slp`` or analysis ``.h5``, a
        sleap-anipose ``points3d.h5``, an Anipose ``pose-3d`` CSV, a DeepFly3D ``.pkl``, or a
        ``.npy``/``.npz`` array.
    keypoints
        For files without keypoint names (arrays, sleap-anipose's own ``points3d.h5``,
        DeepFly3D arrays of other than 38 points): their names, in order. For files with
        names: the keypoints to keep, in this order.
    format
        Skip recognition and use this format's reader (a name of
        :func:`~liftpose_dlc.io.registry.formats`, e.g. ``"dlc"``, ``"sleap"``).
    dims
        Only consider formats of 2D (``2``) or 3D (``3``) poses, and check the result.
    **kwargs
        Passed to that reader (e.g. ``pcutoff=`` or ``config=`` for DeepLabCut, ``tracks=``
        for SLEAP, ``frame=`` for Anipose, ``key=`` for arrays).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    FileFormatError
        If the content is not one of these formats (the message names the file), or the
        poses do not have ``dims`` dimensions.

    Examples
    --------
    >>> poses = load_poses("m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5")  # doctest: +SKIP
    >>> poses.source.software  # doctest: +SKIP
    'DeepLabCut'
    """
    from liftpose_dlc._filesystem import check_file
    from liftpose_dlc.io.registry import get_format, sniff

    what = {2: "2D pose file", 3: "3D pose file"}.get(dims or 0, "pose file")
    p = check_file(path, what)
    fmt = get_format(format) if format is not None else sniff(p, dims=dims)
    if fmt.read is None:
        raise FileFormatError(f"{p}: liftpose-dlc cannot read {fmt.description}")
    if fmt.names_keypoints:
        poses = fmt.read(p, keypoints=keypoints, **kwargs)
    else:
        poses = fmt.read(p, **kwargs)
        if keypoints is not None:
            poses = poses.select(keypoints=list(keypoints))
    if dims is not None and poses.n_dims != dims:
        other = "load_poses_3d" if poses.n_dims == 3 else "load_poses"
        raise FileFormatError(
            f"{p}: holds {poses.n_dims}D poses, not {dims}D; read it with {other}"
            if dims == 3
            else f"{p}: holds {poses.n_dims}D poses, not {dims}D"
        )
    return poses


def save_poses(
    poses: Poses,
    path: str | os.PathLike,
    *,
    format: str | None = None,
    like: Any = None,
    overwrite: bool = False,
    **kwargs: Any,
) -> Path:
    """Write poses to a file; the format follows ``format``, the target's suffix, or ``like``.

    Parameters
    ----------
    poses
        The poses (2D or 3D; SLEAP-style ``points3d.h5`` holds 3D only).
    path
        The file to write. ``.csv`` is a DeepLabCut table; ``.h5`` is a DeepLabCut table or
        a SLEAP-style ``points3d.h5``, as ``format`` / ``like`` say.
    format
        A writer's name (``"dlc"``, ``"sleap-anipose"``); or the name of an input format, whose
        results are written in its output format (``"sleap"`` gives ``"sleap-anipose"``).
    like
        The input the poses came from (its path, its :class:`~liftpose_dlc.Poses` or
        :class:`~liftpose_dlc.poses.Source`): when the suffix does not decide, results of a
        SLEAP file are written SLEAP-style and of a DeepLabCut file as a DeepLabCut table with
        the input's scorer and layout. Default: ``poses.source``.
    overwrite
        Replace an existing file; otherwise :class:`~liftpose_dlc.errors.OutputExistsError`.
    **kwargs
        Passed to the writer (``inferred=``, ``save_as_csv=`` and ``scorer=`` for DeepLabCut,
        ``units=`` for SLEAP-style 3D).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    FileFormatError
        If the format is unknown or cannot write this suffix.
    OutputExistsError
        If the file exists and ``overwrite`` is False.
    WriteError
        If the file cannot be written (disk full, no permission); nothing is left behind.

    Examples
    --------
    >>> save_poses(result.poses, "video1_3d.h5", like="video1DLC_resnet50.h5")  # doctest: +SKIP
    PosixPath('video1_3d.h5')
    >>> save_poses(poses_3d, "points3d.h5", format="sleap-anipose")  # doctest: +SKIP
    PosixPath('points3d.h5')
    """
    from liftpose_dlc.io.registry import writer_for
    from liftpose_dlc.poses import require_poses

    require_poses(poses, "save_poses")
    dest = Path(path).expanduser()
    fmt, options = writer_for(dest, format=format, like=like, poses=poses)
    assert fmt.write is not None
    return Path(fmt.write(poses, dest, overwrite=overwrite, **{**options, **kwargs}))
