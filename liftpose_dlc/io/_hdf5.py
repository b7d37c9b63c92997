"""A structural check of an HDF5 file with h5py, before PyTables (pandas) opens it.

PyTables crashes the interpreter (segmentation fault) on some damaged files that h5py reports
as errors, e.g. an object name that is not UTF-8 after a flipped byte, and unpickles the
attributes pandas stores as pickles, where one flipped byte can ask for a memo of gigabytes
(minutes of allocation). :func:`check_hdf5_tree` walks every group, dataset and attribute with
h5py first and parses (never runs) each pickled attribute, so such a file raises a
:class:`~liftpose_dlc.errors.FileFormatError` naming it instead of killing or hanging the
process.
"""

from __future__ import annotations

import os
import pickletools
from pathlib import Path

from liftpose_dlc.errors import FileFormatError

__all__ = ["check_hdf5_tree"]


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
