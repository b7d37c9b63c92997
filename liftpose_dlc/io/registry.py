"""The format registry: which file formats exist, how each is recognised, read and written.

A format is one :class:`Format` declaration in its own module (``io/dlc.py``, ``io/sleap.py``,
``io/anipose.py``, ``io/df3d.py``, ``io/arrays.py``): a name, a sniffer that recognises its
files by content, and what it can do (read 2D and/or 3D, write, read and write in chunks).
:data:`FORMAT_MODULES` lists those modules; adding a format is one declaration in one module
(and, for a new module, one line here).

:func:`sniff` picks the format of a file from its content (one look at the file, shared by
all sniffers through a :class:`Probe`); :func:`writer_for` picks the format an output is
written in, from an explicit name, the target's suffix or the input it came from.
``liftpose_dlc.io.load_poses`` and ``save_poses`` are the facade over both.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liftpose_dlc._filesystem import check_file
from liftpose_dlc.errors import FileFormatError
from liftpose_dlc.io._hdf5 import attr_str, is_hdf5, open_hdf5

__all__ = [
    "Format",
    "Probe",
    "FORMAT_MODULES",
    "formats",
    "get_format",
    "recognise",
    "require_2d",
    "sniff",
    "writer_for",
]

#: The modules that declare formats (each has a ``FORMATS`` tuple), in sniffing order.
FORMAT_MODULES: tuple[str, ...] = (
    "liftpose_dlc.io.arrays",
    "liftpose_dlc.io.df3d",
    "liftpose_dlc.io.sleap",
    "liftpose_dlc.io.dlc",
    "liftpose_dlc.io.anipose",
    "liftpose_dlc.io.netcdf",
    "liftpose_dlc.io.nwb",
)

#: The writer of a suffix several formats write (``.h5``) when nothing else decides.
DEFAULT_WRITER = "dlc"


@dataclass(frozen=True)
class Format:
    """What liftpose-dlc knows about one file format.

    Attributes
    ----------
    name
        Short name (``"dlc"``, ``"sleap"``, ...), as ``format=`` takes it.
    description
        A few words for messages (``"DeepLabCut .h5/.csv table"``).
    sniff
        ``sniff(probe) -> bool``: whether a file is of this format, from its content.
    read
        ``read(path, **options) -> Poses``, or None when the format is write-only.
    dims
        The dimensions (2, 3) its files can hold.
    names_keypoints
        True when the files carry no keypoint names and ``read`` takes them as
        ``keypoints=``; False when ``keypoints=`` selects among the file's names.
    software
        The ``Poses.source.software`` values of poses read from it.
    write
        ``write(poses, path, *, overwrite=False, **options) -> Path``, or None.
    suffixes
        The file suffixes ``write`` writes (``(".h5", ".csv")``).
    write_as
        The format in which poses lifted from this format are saved by default (its own
        name when it can write them).
    like_options
        ``like_options(input_path) -> dict``: writer options taken from the input a result
        came from (e.g. DeepLabCut's scorer), or None.
    chunk_reader, chunk_writer
        Classes reading / writing the format a chunk of frames at a time, or None. A chunk
        reader reads the file's header once and tells ``keypoints``, ``individuals``,
        ``n_frames`` and ``n_dims``.
    file_dims
        ``file_dims(probe) -> 2 or 3``: the dimensions of the poses one file holds, for a
        format whose files may hold either (a DeepLabCut table, a SLEAP analysis-style file
        written from 3D); None: those of ``dims``.
    """

    name: str
    description: str
    sniff: Callable[[Probe], bool]
    read: Callable[..., Any] | None = None
    dims: tuple[int, ...] = (2,)
    names_keypoints: bool = False
    software: tuple[str, ...] = ()
    write: Callable[..., Path] | None = None
    suffixes: tuple[str, ...] = ()
    write_as: str | None = None
    like_options: Callable[[Path], dict[str, Any]] | None = None
    chunk_reader: Any = None
    chunk_writer: Any = None
    file_dims: Callable[[Probe], int] | None = None

    def dims_of(self, probe: Probe) -> int | None:
        """The dimensions of the poses in the file ``probe`` looked at (None: unknown)."""
        if self.file_dims is not None:
            return self.file_dims(probe)
        return self.dims[0] if len(self.dims) == 1 else None


@dataclass
class Probe:
    """One look at a file, shared by every sniffer: its first bytes and, for HDF5, a summary.

    Attributes
    ----------
    path
        The file.
    head
        Its first 4096 bytes.
    """

    path: Path
    head: bytes
    _hdf5: bool | None = field(default=None, repr=False)
    _h5: dict[str, Any] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, path: Path) -> Probe:
        """Read the first bytes of ``path``."""
        with open(path, "rb") as fh:
            return cls(path, fh.read(4096))

    @property
    def is_hdf5(self) -> bool:
        """Whether the file is HDF5."""
        if self._hdf5 is None:
            self._hdf5 = is_hdf5(self.path)
        return self._hdf5

    @property
    def h5(self) -> dict[str, Any]:
        """A summary of an HDF5 file's top level (empty for other files).

        Keys: ``names`` (top-level objects), ``datasets`` (name -> shape), ``groups`` (names),
        ``pandas`` (groups written by pandas), ``format`` (the file's ``format`` attribute).

        Raises
        ------
        FileFormatError
            If the file is HDF5 but cannot be opened.
        """
        if self._h5 is None:
            self._h5 = _summarise_h5(self.path) if self.is_hdf5 else {}
        return self._h5

    @functools.cached_property
    def first_row(self) -> list[str]:
        """The first row of a text file split on commas (stripped), or [] if not text."""
        from liftpose_dlc.io._sniff import first_csv_cells

        if self.is_hdf5:
            return []
        rows = first_csv_cells(self.path, n_rows=1)
        return [c.strip() for c in rows[0]] if rows else []


def _summarise_h5(path: Path) -> dict[str, Any]:
    import h5py

    with open_hdf5(path) as f:
        names = sorted(f.keys())
        datasets = {n: f[n].shape for n in names if isinstance(f[n], h5py.Dataset)}
        groups = [n for n in names if isinstance(f[n], h5py.Group)]
        pandas = [n for n in groups if "pandas_type" in f[n].attrs]
        fmt = attr_str(f.attrs.get("format"))
    return {"names": names, "datasets": datasets, "groups": groups, "pandas": pandas, "format": fmt}


@functools.cache
def formats() -> tuple[Format, ...]:
    """Every registered format, in sniffing order."""
    out: list[Format] = []
    for module in FORMAT_MODULES:
        out.extend(importlib.import_module(module).FORMATS)
    return tuple(out)


def get_format(name: str) -> Format:
    """The format called ``name``.

    Raises
    ------
    FileFormatError
        If there is none (the message lists the formats).
    """
    for fmt in formats():
        if fmt.name == name:
            return fmt
    names = [f.name for f in formats()]
    raise FileFormatError(f"unknown pose file format {name!r}; known formats: {names}")


def sniff(path: str | os.PathLike, *, dims: int | None = None) -> Format:
    """The format of a pose file, recognised from its content.

    Parameters
    ----------
    path
        The file.
    dims
        Only consider formats holding 2D (``2``) or 3D (``3``) poses; None: all.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    FileFormatError
        If no format recognises it (the message says what the file looks like).
    """
    return recognise(path, dims=dims)[0]


def recognise(path: str | os.PathLike, *, dims: int | None = None) -> tuple[Format, Probe]:
    """:func:`sniff`, and the :class:`Probe` it looked with (for :meth:`Format.dims_of`).

    Raises the errors of :func:`sniff`.
    """
    what = {2: "2D pose file", 3: "3D pose file"}.get(dims or 0, "pose file")
    p = check_file(path, what)
    probe = Probe.of(p)
    candidates = [f for f in formats() if f.read is not None and (dims is None or dims in f.dims)]
    for fmt in candidates:
        if fmt.sniff(probe):
            return fmt, probe
    from liftpose_dlc.io._sniff import describe_content

    hdf5 = [f.description for f in candidates if f.name in _HDF5_FORMATS]
    if probe.is_hdf5:
        raise FileFormatError(
            f"{p}: an HDF5 file that is neither {_either(hdf5)} (top-level objects: "
            f"{probe.h5['names']})"
        )
    raise FileFormatError(
        f"{p}: not a recognised {what}; liftpose-dlc reads "
        f"{'; '.join(f.description for f in candidates)}. The file is {describe_content(p)}"
    )


def require_2d(path: str | os.PathLike, n_dims: int | None) -> None:
    """Raise a clear error when a file of 3D poses (a lifted ``_3d.h5``) is given to be lifted.

    ``n_dims`` is what :meth:`Format.dims_of` (or a chunk reader, from the header it read)
    says the file holds; ``None`` (not known) passes.

    Raises
    ------
    FileFormatError
        If ``n_dims`` is 3.
    """
    if n_dims == 3:
        raise FileFormatError(
            f"{path}: this is already 3D (x, y, z poses, e.g. a lifted _3d.h5); lifting takes "
            "2D tracking (DeepLabCut or SLEAP output)"
        )


_HDF5_FORMATS = ("dlc", "sleap", "sleap_analysis", "sleap-anipose")


def _either(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " nor " + items[-1]


def writer_for(
    path: str | os.PathLike,
    *,
    format: str | None = None,
    like: Any = None,
    poses: Any = None,
) -> tuple[Format, dict[str, Any]]:
    """The format an output is written in, and writer options taken from ``like``.

    The format is ``format`` when given; else the one writer for the target's suffix; else
    the format of ``like`` (an input file, its :class:`~liftpose_dlc.Poses` or
    :class:`~liftpose_dlc.poses.Source`: poses lifted from a SLEAP file are saved as SLEAP-style
    3D, from DeepLabCut as a DeepLabCut table); else that of ``poses.source``; else the
    first writer for the suffix.

    Raises
    ------
    FileFormatError
        If the format is unknown, cannot write, or does not write files with that suffix.
    """
    dest = Path(path)
    suffix = dest.suffix.lower()
    writers = [f for f in formats() if f.write is not None]
    by_suffix = [f for f in writers if suffix in f.suffixes]
    options: dict[str, Any] = {}
    like_path = _like_path(like)
    fmt: Format | None
    if format is not None:
        fmt = get_format(format)
        if fmt.write is None:
            fmt = get_format(fmt.write_as) if fmt.write_as else fmt
    elif len(by_suffix) == 1:
        fmt = by_suffix[0]
    else:
        default = next((f for f in by_suffix if f.name == DEFAULT_WRITER), None)
        default = default or (by_suffix[0] if by_suffix else None)
        fmt = _format_of(like) or _format_of(poses) or default
        if fmt is None:
            known = sorted({s for f in writers for s in f.suffixes})
            raise FileFormatError(
                f"{dest}: cannot tell which format to write for suffix {suffix!r}; use one of "
                f"{known} or pass format= (one of {[f.name for f in writers]})"
            )
    if fmt.write is None:
        raise FileFormatError(f"{dest}: liftpose-dlc reads {fmt.description} but cannot write it")
    if suffix not in fmt.suffixes:
        raise FileFormatError(
            f"{dest}: the {fmt.name} writer writes {list(fmt.suffixes)} files, not {suffix!r}"
        )
    if like_path is not None and fmt.like_options is not None and like_path.is_file():
        try:
            if fmt.name in (sniff(like_path).write_as, sniff(like_path).name):
                options = fmt.like_options(like_path)
        except FileFormatError:
            options = {}
    return fmt, options


def _like_path(like: Any) -> Path | None:
    if like is None:
        return None
    if isinstance(like, (str, os.PathLike)):
        return Path(like)
    source = getattr(like, "source", like)
    path = getattr(source, "path", None)
    return Path(path) if path else None


def _format_of(like: Any) -> Format | None:
    """The writer format for what ``like`` is (a path, a Poses, a Source), or None."""
    if like is None:
        return None
    software = None
    if isinstance(like, (str, os.PathLike)):
        try:
            fmt = sniff(like)
        except (FileFormatError, OSError):
            return None
        return get_format(fmt.write_as) if fmt.write_as else None
    source = getattr(like, "source", like)
    software = getattr(source, "software", None)
    for fmt in formats():
        if software in fmt.software and fmt.write_as:
            return get_format(fmt.write_as)
    path = _like_path(like)
    return _format_of(path) if path is not None and path.is_file() else None
