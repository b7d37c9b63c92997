"""The reader boundary: every public reader raises a :class:`LiftPoseError` naming its file.

A reader decorated with :func:`reader_boundary` keeps its own errors (with the file's name
added when the message lacks it) and turns anything else that escapes it (a parser's
``ValueError``, ``KeyError`` of a corrupt header, ``OSError`` of HDF5, ``MemoryError`` of
a header that claims terabytes, ...) into the reader's error class, naming the file and
what was found. A file that exists but may not be read gives
:class:`~liftpose_dlc.errors.FileAccessError` ("permission denied"), whatever the reader.
``KeyboardInterrupt`` and ``SystemExit`` pass through.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from liftpose_dlc.errors import FileAccessError, FileFormatError, LiftPoseError

__all__ = ["reader_boundary", "check_readable", "check_writable"]

F = TypeVar("F", bound=Callable[..., Any])


def check_readable(path: str | os.PathLike, what: str = "file") -> None:
    """Raise :class:`FileAccessError` if ``path`` exists but this user may not read it."""
    p = Path(path).expanduser()
    if p.exists() and not os.access(p, os.R_OK):
        raise FileAccessError(
            f"{p}: permission denied: this user may not read the {what} (check its "
            "permissions, or ask its owner)"
        )


def check_writable(path: str | os.PathLike, what: str = "output") -> None:
    """Raise :class:`FileAccessError` unless ``path`` can be created or replaced.

    Checks the nearest existing folder above ``path`` (where it, or the folders leading
    to it, would be created): call it before long work whose result goes to ``path``.
    """
    p = Path(path).expanduser().absolute()
    folder = p.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise FileAccessError(f"cannot write the {what} {p}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FileAccessError(
            f"cannot write the {what} {p}: permission denied (the folder {folder} is not "
            "writable by this user)"
        )


def _names_file(message: str, path: Path) -> bool:
    return str(path) in message or path.name in message


def reader_boundary(
    what: str, error: type[LiftPoseError] = FileFormatError, *, path_arg: int = 0
) -> Callable[[F], F]:
    """Decorate a reader whose argument ``path_arg`` is the file's path (see the module).

    Parameters
    ----------
    what
        What the file is, for messages (e.g. ``"lifter model file"``).
    error
        The error class for failures the reader did not anticipate.
    path_arg
        The position of the path among the positional arguments (1 under ``classmethod``).
    """

    def decorate(reader: F) -> F:
        @functools.wraps(reader)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            path = args[path_arg] if len(args) > path_arg else None
            if not isinstance(path, (str, os.PathLike)):
                return reader(*args, **kwargs)
            p = Path(path).expanduser()
            check_readable(p, what)
            try:
                return reader(*args, **kwargs)
            except LiftPoseError as exc:
                if not _names_file(str(exc), p) and exc.args:
                    exc.args = (f"{p}: {exc.args[0]}", *exc.args[1:])
                raise
            except (KeyboardInterrupt, SystemExit, GeneratorExit):
                raise
            except PermissionError as exc:
                raise FileAccessError(
                    f"{p}: permission denied while reading the {what}: {exc}"
                ) from exc
            except MemoryError as exc:
                raise error(
                    f"{p}: not a readable {what}: its content asks for more memory than there "
                    "is (corrupt or truncated?)"
                ) from exc
            except Exception as exc:  # noqa: BLE001 - the boundary: one error type leaves
                detail = " ".join(str(exc).split())[:300] or "no detail"
                raise error(
                    f"{p}: not a readable {what} (corrupt, truncated or of another format): "
                    f"{type(exc).__name__}: {detail}"
                ) from exc

        return wrapper  # type: ignore[return-value]

    return decorate
