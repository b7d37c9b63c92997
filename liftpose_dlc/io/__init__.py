"""Readers and writers, one module per format, and :func:`load_poses` which picks by content.

- :mod:`liftpose_dlc.io.dlc`: DeepLabCut ``.h5``/``.csv`` (2D and 3D),
- :mod:`liftpose_dlc.io.dlc_project`: DeepLabCut ``config.yaml`` and analysis outputs,
- :mod:`liftpose_dlc.io.sleap`: SLEAP ``.slp`` and analysis ``.h5``.

This module imports neither pandas nor torch; the format modules are imported when needed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from liftpose_dlc._boundary import reader_boundary
from liftpose_dlc._files import check_file
from liftpose_dlc.errors import FileFormatError
from liftpose_dlc.io._sniff import (
    describe_content,
    dlc_csv_head,
    flat_dlc_header,
    is_hdf5,
    read_head,
)

if TYPE_CHECKING:  # pragma: no cover
    from liftpose_dlc.poses import Poses

__all__ = ["load_poses", "detect_format"]

Format = Literal["dlc", "sleap", "sleap_analysis"]


def detect_format(path: str | os.PathLike) -> Format:
    """Tell which software wrote a 2D pose file, from its content.

    Returns
    -------
    str
        ``"dlc"`` (DeepLabCut pandas table, ``.h5`` or ``.csv``), ``"sleap"`` (SLEAP ``.slp``)
        or ``"sleap_analysis"`` (SLEAP analysis HDF5 with ``tracks`` and ``node_names``).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    FileFormatError
        If the content is none of these.
    """
    p = check_file(path, "pose file")
    if is_hdf5(p):
        import h5py

        try:
            with h5py.File(p, "r") as f:
                names = set(f.keys())
                if (
                    "tracks" in names
                    and isinstance(f["tracks"], h5py.Dataset)
                    and "node_names" in names
                ):
                    return "sleap_analysis"
                if "metadata" in names and names & {"frames", "instances", "points"}:
                    return "sleap"
                for name in names:
                    if isinstance(f[name], h5py.Group) and "pandas_type" in f[name].attrs:
                        return "dlc"
        except OSError as exc:
            raise FileFormatError(f"{p}: cannot open the HDF5 file: {exc}") from exc
        raise FileFormatError(
            f"{p}: an HDF5 file that is neither a DeepLabCut table nor a SLEAP file "
            f"(top-level objects: {sorted(names)})"
        )
    if dlc_csv_head(p) is not None or flat_dlc_header(p) is not None:
        return "dlc"  # (a flattened header is read, or explained, by the DLC reader)
    if p.suffix.lower() == ".slp" and read_head(p, 64).lstrip().startswith(b"{"):
        return "sleap"  # SLEAP's old JSON .slp
    raise FileFormatError(
        f"{p}: not a pose file liftpose-dlc can read (DeepLabCut .h5/.csv, SLEAP .slp or "
        f"analysis .h5); the file is {describe_content(p)}"
    )


@reader_boundary("pose file")
def load_poses(path: str | os.PathLike, **kwargs: Any) -> Poses:
    """Read 2D poses from a DeepLabCut or SLEAP file, choosing the reader from the content.

    Parameters
    ----------
    path
        A DeepLabCut ``.h5``/``.csv`` (read by :func:`~liftpose_dlc.io.dlc.load_dlc`), a SLEAP
        ``.slp`` or SLEAP analysis ``.h5`` (read by :func:`~liftpose_dlc.io.sleap.load_sleap`).
    **kwargs
        Passed to that reader (e.g. ``pcutoff=`` or ``config=`` for DeepLabCut).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    FileFormatError
        If the content is not one of these formats (the message names the file).

    Examples
    --------
    >>> poses = load_poses("m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5")  # doctest: +SKIP
    >>> poses.source.software  # doctest: +SKIP
    'DeepLabCut'
    """
    fmt = detect_format(path)
    if fmt == "dlc":
        from liftpose_dlc.io.dlc import load_dlc

        return load_dlc(path, **kwargs)
    from liftpose_dlc.io.sleap import load_sleap

    return load_sleap(Path(path), **kwargs)
