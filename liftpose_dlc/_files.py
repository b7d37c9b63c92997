"""File-system helpers shared by the readers and writers: checks and atomic writes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from liftpose_dlc.errors import MissingFileError, OutputExistsError

__all__ = ["check_file", "atomic_path", "check_overwrite"]


def check_file(path: str | os.PathLike, what: str = "file") -> Path:
    """Return ``path`` as a :class:`~pathlib.Path`, or raise if it is not an existing file.

    Parameters
    ----------
    path
        The path to check.
    what
        A short description used in the error message (e.g. ``"DLC analysis file"``).

    Raises
    ------
    MissingFileError
        If ``path`` does not exist or is a directory.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise MissingFileError(f"{what} not found: {p}")
    if p.is_dir():
        raise MissingFileError(f"{what} is a directory, expected a file: {p}")
    return p


def check_overwrite(path: str | os.PathLike, overwrite: bool) -> Path:
    """Raise :class:`OutputExistsError` if ``path`` exists and ``overwrite`` is False."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise OutputExistsError(f"{p} exists; pass overwrite=True to replace it")
    return p


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The destination is never left half-written: if the body raises, the temporary file
    is removed and ``path`` is untouched.

    Parameters
    ----------
    path
        Final destination.
    overwrite
        If False and ``path`` exists, raise :class:`OutputExistsError` before writing.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "x.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "x.txt").read_text()
    'hello'
    """
    dest = check_overwrite(path, overwrite)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # writers (pandas, h5py) want to create the file themselves
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"nothing was written to the temporary file for {dest}")
        if dest.exists() and not overwrite:
            raise OutputExistsError(f"{dest} appeared while writing; not replaced")
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
