"""File-system helpers shared by the readers and writers: checks and atomic writes."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from liftpose_dlc.errors import LiftPoseError, MissingFileError, OutputExistsError, WriteError

__all__ = [
    "check_file",
    "atomic_path",
    "check_overwrite",
    "check_image",
    "default_file_mode",
    "fsync_path",
    "replace_atomic",
    "remove_stale_temps",
    "remove_stale_temp_dirs",
    "staging_dir",
    "write_error",
]

#: When this process started to use this module: a temporary file of ours older than this
#: was left by an earlier process.
_STARTED = time.time()


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


def default_file_mode() -> int:
    """The mode the process's umask gives an ordinary new file (``0o666 & ~umask``).

    Temporary files are created ``0600``; :func:`atomic_path` gives the final file this mode,
    so a lab mate can read a lifter or a 3D table as they can any other file of the user's.
    """
    umask = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                umask = int(line.split()[1], 8)
                break
    if umask is None:  # not Linux: read it by setting it (and set it back at once)
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def fsync_path(path: str | os.PathLike) -> None:
    """Flush a written file's data to the disk (a full disk may only say so here)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system can sync a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _reason(exc: BaseException, dest: Path, tmp: Path | None) -> tuple[int | None, str]:
    """The errno and a short reason of a failure, naming ``dest`` instead of ``tmp``."""
    errno = getattr(exc, "errno", None)
    strerror = getattr(exc, "strerror", None)
    if isinstance(exc, OSError) and errno and strerror:
        return errno, str(strerror)
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if tmp is not None:
        reason = reason.replace(str(tmp), str(dest))
    if "errno = 28" in reason or "No space left" in reason:  # HDF5 wraps the OS error
        return 28, "No space left on device"
    return errno, reason


def _low_space(folder: Path) -> str:
    """A hint for messages when the file system is (nearly) full, else ''."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return ""
    return f"; the disk is full ({free // 1024} KiB free)" if free < 1 << 20 else ""


def write_error(dest: Path, exc: BaseException, tmp: Path | None = None) -> WriteError:
    """A :class:`WriteError` naming ``dest`` for a failure while writing it.

    The reason is the operating system's (``No space left on device``) when there is one;
    a mention of the hidden temporary file ``tmp`` is replaced by ``dest``.
    """
    errno, reason = _reason(exc, dest, tmp)
    err = WriteError(f"{dest}: could not be written ({reason}); nothing was changed there")
    err.errno = errno
    err.filename = str(dest)
    return err


def _temp_prefix(dest: Path) -> str:
    """The start of the name of :func:`atomic_path`'s temporary files for ``dest``.

    ``.NAME.PID-`` (hidden, the writer's process id), to which :func:`tempfile.mkstemp`
    adds 8 random characters and ``.tmp``; a writer may derive a second file from it
    (``….tmp.first.h5``).
    """
    return f".{dest.name}.{os.getpid()}-"


def _stale_temp_pattern(dest: Path) -> re.Pattern[str]:
    """Names of our temporary files for ``dest``, with the writer's process id or not (older)."""
    name = re.escape(dest.name)
    return re.compile(rf"\.{name}\.(?:(\d+)-)?[a-z0-9_]{{8}}\.tmp(?:\.first\.h5)?")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process (EPERM): it exists
        return True
    return True


def _stale_candidates(dest: Path, pattern: re.Pattern[str]) -> list[Path]:
    """The entries beside ``dest`` named as ours (``pattern``) whose writer is not running.

    ``pattern`` is :func:`_stale_temp_pattern` or :func:`_stale_dir_pattern` of ``dest``
    (group 1: the writer's process id, absent in older names). None in an unreadable folder.
    """
    try:
        names = [n for n in os.listdir(dest.parent) if n.startswith(f".{dest.name}.")]
    except OSError:
        return []
    stale = []
    for name in names:
        m = pattern.fullmatch(name)
        if m is None or (m.group(1) is not None and _running(int(m.group(1)))):
            continue
        stale.append(dest.parent / name)
    return stale


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that an earlier, killed writer left beside ``path``.

    A writer killed by ``SIGKILL`` (or a power cut) cannot remove its hidden temporary file
    (see :func:`atomic_path`). Removed here are only files named as ours for this very
    ``path`` (``.NAME.PID-XXXXXXXX.tmp``, and its ``.tmp.first.h5``), that are plain files,
    were last modified before this process started, and whose writer (``PID``) is no longer
    running. Nothing else is touched: not the user's files, not a file of a writer still at
    work. Errors (a file removed meanwhile, no permission) are ignored.

    Returns
    -------
    list of Path
        The files removed.
    """
    dest = Path(path)
    removed: list[Path] = []
    for candidate in _stale_candidates(dest, _stale_temp_pattern(dest)):
        try:
            info = os.lstat(candidate)
            if not stat.S_ISREG(info.st_mode) or info.st_mtime >= _STARTED:
                continue
            candidate.unlink()
        except OSError:
            continue
        removed.append(candidate)
    return removed


def staging_dir(path: str | os.PathLike) -> Path:
    """Create the hidden folder in which a folder ``path`` is written before it is committed.

    Named ``.NAME.PID-XXXXXXXX`` beside ``path`` (the writer's process id and 8 random
    characters, as :func:`atomic_path`'s files), so that :func:`remove_stale_temp_dirs` can
    tell the folder of a killed writer from one still at work, and from the user's folders.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=_temp_prefix(dest), dir=dest.parent))


def _stale_dir_pattern(dest: Path) -> re.Pattern[str]:
    """Names of :func:`staging_dir`'s folders for ``dest`` (pid or not, ``.old`` or not)."""
    name = re.escape(dest.name)
    return re.compile(rf"\.{name}\.(?:(\d+)-)?[a-z0-9_]{{8}}(?:\.old)?")


def _only_ours(folder: Path, names: Collection[str]) -> bool:
    """Whether ``folder`` holds only plain files of ``names`` (or their temporary files).

    Neither the folder nor a file in it may have been modified since this process started.
    """
    patterns = [_stale_temp_pattern(folder / n) for n in names]
    try:
        if os.lstat(folder).st_mtime >= _STARTED:
            return False
        for entry in os.scandir(folder):
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or info.st_mtime >= _STARTED:
                return False
            if entry.name not in names and not any(p.fullmatch(entry.name) for p in patterns):
                return False
    except OSError:
        return False
    return True


def remove_stale_temp_dirs(path: str | os.PathLike, contents: Collection[str]) -> list[Path]:
    """Remove the hidden folders that an earlier, killed writer of folder ``path`` left.

    The folder counterpart of :func:`remove_stale_temps`, for folders written whole in a
    :func:`staging_dir` and renamed into place (a training run's log and checkpoints). A
    writer killed by ``SIGKILL`` leaves its ``.NAME.PID-XXXXXXXX`` folder (or, killed
    while replacing ``path``, the previous ``path`` as ``….old``). Removed here are only
    folders named as ours for this very ``path``, whose writer (``PID``) is no longer
    running, that hold nothing but plain files named in ``contents`` (and their
    temporary files) and where nothing was modified since this process started. A folder
    holding anything else (a file of the user's, a subfolder, a link) is kept whole.
    Errors are ignored.

    Parameters
    ----------
    path
        The folder the killed writer was writing.
    contents
        The names of the files such a folder may hold.

    Returns
    -------
    list of Path
        The folders removed.
    """
    dest = Path(path)
    allowed = frozenset(contents)
    removed: list[Path] = []
    for candidate in _stale_candidates(dest, _stale_dir_pattern(dest)):
        try:
            if not stat.S_ISDIR(os.lstat(candidate).st_mode):
                continue
        except OSError:
            continue
        if not _only_ours(candidate, allowed):
            continue
        shutil.rmtree(candidate, ignore_errors=True)
        if not candidate.exists():
            removed.append(candidate)
    return removed


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike,
    overwrite: bool = False,
    *,
    verify: Callable[[Path], None] | None = None,
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; check it and rename it onto ``path`` on success.

    The body writes the file at the yielded path (an ``OSError`` it raises becomes a
    :class:`WriteError` naming ``path``; other exceptions pass through). Then the file is
    flushed to disk (``fsync``), ``verify(tmp)`` (when given) reads it back and raises if
    it is not what was meant to be written, the file gets the mode of an ordinary new file
    (:func:`default_file_mode`), and it is renamed onto ``path``. The destination is never
    left half-written: if anything fails, the temporary file is removed, a previous file at
    ``path`` is untouched, and a failure to write raises :class:`WriteError` naming ``path``.
    Temporary files that a killed writer left for ``path`` are removed first
    (:func:`remove_stale_temps`).

    Parameters
    ----------
    path
        Final destination.
    overwrite
        If False and ``path`` exists, raise :class:`OutputExistsError` before writing.
    verify
        Called with the temporary path after it was written and flushed; raises (any
        exception) if the content read back is wrong.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is False.
    WriteError
        If writing, flushing, checking or renaming fails (disk full, no permission, ...).

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
    remove_stale_temps(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=_temp_prefix(dest), suffix=".tmp", dir=dest.parent)
        os.close(fd)
    except OSError as exc:
        raise write_error(dest, exc) from exc
    tmp = Path(tmp_name)
    tmp.unlink()  # writers (pandas, h5py) want to create the file themselves
    try:
        try:
            yield tmp
            if not tmp.exists():
                raise WriteError(f"{dest}: nothing was written (the writer made no file)")
            fsync_path(tmp)
            if verify is not None:
                try:
                    verify(tmp)
                except Exception as exc:  # noqa: BLE001 - whatever the check found
                    errno, reason = _reason(exc, dest, tmp)
                    reason += _low_space(dest.parent)
                    err = WriteError(
                        f"{dest}: the file read back is not what was written ({reason}); "
                        "nothing was changed there"
                    )
                    err.errno, err.filename = errno, str(dest)
                    raise err from exc
            os.chmod(tmp, default_file_mode())
            if dest.exists() and not overwrite:
                raise OutputExistsError(f"{dest} appeared while writing; not replaced")
            os.replace(tmp, dest)
        except LiftPoseError:
            raise
        except OSError as exc:  # disk full, no permission, ...: one error naming the output
            raise write_error(dest, exc, tmp) from exc
        _fsync_dir(dest.parent)
    finally:
        with contextlib.suppress(OSError):
            if tmp.exists():
                tmp.unlink()


_MAGIC = {
    "png": (0, b"\x89PNG"),
    "pdf": (0, b"%PDF"),
    "gif": (0, b"GIF8"),
    "mp4": (4, b"ftyp"),
    "mov": (4, b"ftyp"),
    "jpg": (0, b"\xff\xd8\xff"),
    "jpeg": (0, b"\xff\xd8\xff"),
}


def check_image(kind: str) -> Callable[[Path], None]:
    """A check for :func:`atomic_path`: a figure or video file is not empty and starts right.

    ``kind`` is the file's format (``"png"``, ``"pdf"``, ``"gif"``, ``"mp4"``, ...); formats
    without a known signature are only checked to be non-empty.
    """

    def verify(path: Path) -> None:
        size = path.stat().st_size
        if size == 0:
            raise ValueError("the file is empty")
        offset, magic = _MAGIC.get(kind.lower(), (0, b""))
        with open(path, "rb") as fh:
            fh.seek(offset)
            if fh.read(len(magic)) != magic:
                raise ValueError(f"the file does not start like a {kind} file")

    return verify


def replace_atomic(path: str | os.PathLike, data: bytes, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`), checking it on disk."""

    def same(tmp: Path) -> None:
        if tmp.read_bytes() != data:
            raise WriteError(f"{path}: the file read back differs from what was written")

    with atomic_path(path, overwrite, verify=same) as tmp:
        tmp.write_bytes(data)
    return Path(path)
