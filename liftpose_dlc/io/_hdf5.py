"""HDF5 in one place: the signature, opening a file to read, strings, and safe writing.

Every reader that looks inside an HDF5 file opens it with :func:`open_hdf5` (a file that
is not HDF5 or cannot be opened raises :class:`~liftpose_dlc.errors.FileFormatError` naming
it) and decodes names with :func:`strings` / :func:`attr_str`. Writers build the file in
memory (:func:`memory_file` for h5py, :func:`memory_store` for pandas) and put the bytes
on disk with plain file I/O (:func:`write_image`): a full disk then gives one clean
``OSError`` instead of HDF5's error cascade (and, for h5py, a crash at close).

PyTables crashes the interpreter (segmentation fault) on some damaged files that h5py reports
as errors, e.g. an object name that is not UTF-8 after a flipped byte, and unpickles the
attributes pandas stores as pickles, where one flipped byte can ask for a memo of gigabytes
(minutes of allocation). :func:`check_hdf5_tree` walks every group, dataset and attribute with
h5py first and parses (never runs) each pickled attribute, so such a file raises a
:class:`~liftpose_dlc.errors.FileFormatError` naming it instead of killing or hanging the
process; call it before PyTables (pandas) opens a file.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import pickletools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from liftpose_dlc.errors import FileFormatError

__all__ = [
    "HDF5_SIGNATURE",
    "is_hdf5",
    "open_hdf5",
    "strings",
    "one_string",
    "attr_str",
    "json_attr",
    "memory_file",
    "memory_store",
    "write_image",
    "check_hdf5_tree",
]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# HDF5 files may start with a user block of 512, 1024, 2048, ... bytes
_OFFSETS = (0, 512, 1024, 2048, 4096)
_COUNTER = itertools.count()  # names of in-memory files (never created on disk)


def is_hdf5(path: str | os.PathLike) -> bool:
    """True if the file carries the HDF5 signature (at offset 0 or after a user block)."""
    with open(path, "rb") as fh:
        for offset in _OFFSETS:
            fh.seek(offset)
            if fh.read(8) == HDF5_SIGNATURE:
                return True
    return False


@contextlib.contextmanager
def open_hdf5(path: str | os.PathLike, what: str = "HDF5 file") -> Iterator[Any]:
    """Open an HDF5 file to read with h5py; raise FileFormatError naming it if one cannot.

    Parameters
    ----------
    path
        The file.
    what
        What the file should be, for the message (``"SLEAP file"``).

    Raises
    ------
    FileFormatError
        If the file is not HDF5 or h5py cannot open it (truncated, damaged).
    """
    import h5py

    p = Path(path)
    if not is_hdf5(p):
        raise FileFormatError(f"{p}: not an HDF5 file; a {what} is HDF5")
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise FileFormatError(f"{p}: cannot open the HDF5 file ({exc})") from exc
    with f:
        yield f


def one_string(value: Any) -> str:
    """A str from an HDF5 string (bytes or str)."""
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8")
    return str(value)


def strings(values: Any) -> list[str]:
    """A list of str from an HDF5 string array (any shape, flattened)."""
    return [one_string(v) for v in np.asarray(values).ravel()]


def attr_str(value: Any) -> str | None:
    """An HDF5 attribute as str (its first element for an array), None for None."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size else ""
    return one_string(value)


def json_attr(value: Any) -> Any:
    """An attribute holding JSON, decoded; None when absent or not JSON."""
    text = attr_str(value)
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


@contextlib.contextmanager
def _in_memory(handle: Any, image_of: Callable[[Any], bytes]) -> Iterator[tuple[Any, list[bytes]]]:
    """Yield ``(handle, image)``; after the block ``image[0]`` holds the file's bytes."""
    image: list[bytes] = []
    try:
        yield handle, image
        handle.flush()
        image.append(image_of(handle))
    finally:
        handle.close()


def memory_file() -> contextlib.AbstractContextManager[tuple[Any, list[bytes]]]:
    """An h5py file in memory; after the block, ``image[0]`` holds the file's bytes.

    Examples
    --------
    >>> with memory_file() as (f, image):
    ...     _ = f.create_dataset("x", data=[1, 2, 3])
    >>> image[0][:8] == HDF5_SIGNATURE
    True
    """
    import h5py

    name = f"liftpose-dlc-memory-{os.getpid()}-{next(_COUNTER)}.h5"
    f = h5py.File(name, "w", driver="core", backing_store=False)
    return _in_memory(f, lambda h: h.id.get_file_image())


def memory_store() -> contextlib.AbstractContextManager[tuple[Any, list[bytes]]]:
    """A pandas ``HDFStore`` in memory; after the block, ``image[0]`` holds the file's bytes."""
    import pandas as pd

    name = f"liftpose-dlc-memory-{os.getpid()}-{next(_COUNTER)}.h5"
    store = pd.HDFStore(name, mode="w", driver="H5FD_CORE", driver_core_backing_store=0)
    return _in_memory(store, lambda h: h._handle.get_file_image())


def write_image(image: bytes, path: str | os.PathLike) -> None:
    """Write the bytes of an in-memory HDF5 file to ``path`` (plain I/O: clean errors)."""
    with open(path, "wb") as fh:
        fh.write(image)
        fh.flush()
        os.fsync(fh.fileno())


def check_hdf5_tree(path: str | os.PathLike, what: str = "HDF5 file") -> None:
    """Raise :class:`FileFormatError` unless every object and attribute of ``path`` reads.

    Cheap: only names, attributes and the metadata of datasets are read, never their rows.
    """
    import h5py

    p = Path(path)
    problems: list[str] = []

    def visit(name: str | bytes, obj: h5py.HLObject) -> None:
        if isinstance(name, bytes):
            problems.append(f"object name {name!r} is not UTF-8")
            return
        for key in obj.attrs:
            if isinstance(key, bytes):
                problems.append(f"attribute name {key!r} of {name!r} is not UTF-8")
                return
            problem = _pickle_problem(obj.attrs[key])
            if problem:
                problems.append(f"attribute {key!r} of {name!r} {problem}")
                return
        if isinstance(obj, h5py.Dataset):
            obj.shape, obj.dtype  # noqa: B018

    try:
        with h5py.File(p, "r") as f:
            for key in f.attrs:
                f.attrs[key]  # noqa: B018
            for name in f:
                if isinstance(name, bytes):
                    problems.append(f"object name {name!r} is not UTF-8")
            if not problems:
                f.visititems(visit)
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError, RuntimeError, TypeError, ...
        detail = " ".join(str(exc).split())[:200]
        raise FileFormatError(
            f"{p}: a damaged {what} (HDF5 structure unreadable: {type(exc).__name__}: {detail})"
        ) from exc
    if problems:
        raise FileFormatError(f"{p}: a damaged {what}: {problems[0]}")


_PUT_OPS = {"PUT", "BINPUT", "LONG_BINPUT"}


def _pickle_problem(value: object) -> str | None:
    """Why a pickled attribute (bytes ending in ``.``, as PyTables stores them) is damaged."""
    raw = bytes(value) if isinstance(value, bytes) else None
    if raw is None or not raw.endswith(b"."):
        return None
    try:
        for op, arg, _ in pickletools.genops(raw):
            if op.name in _PUT_OPS and isinstance(arg, int) and arg > len(raw):
                return f"is a damaged pickle (memo index {arg} in {len(raw)} bytes)"
    except Exception as exc:  # noqa: BLE001 - ValueError, UnicodeDecodeError, ...
        return f"is a damaged pickle ({type(exc).__name__}: {exc})"
    return None
