"""Stream DeepLabCut tables through a lifter: read and write them chunk by chunk.

A DeepLabCut ``.h5`` of a long recording need not fit in memory:

* :class:`DLCChunkReader` reads the pose table a slice of rows at a time, DeepLabCut's
  *table* format and the *fixed* format this package writes with h5py
  (:mod:`~liftpose_dlc.io._pandas_hdf`: no PyTables, whose state a damaged file can
  corrupt), other layouts pandas writes with ``HDFStore.select(start=, stop=)``. A ``.csv``
  is read whole.
* :class:`DLCChunkWriter` writes the 3D table in pandas' *fixed* format (the one pandas 2.x,
  which DeepLabCut pins, reads), which pandas itself can only write from a whole
  DataFrame: the writer lets :func:`~liftpose_dlc.io.dlc.save_dlc` write the first rows
  (so columns, index and attributes are exactly those of ``save_dlc``), then gives the two
  row-sized arrays of the file (the index ``axis1`` and the values ``block0_values``) their
  full length with PyTables and fills them chunk by chunk. The file reads back identical to
  one written by ``save_dlc`` from the whole table. The CSV is appended to chunk by chunk.
* :func:`open_dlc_writer` wraps the writer in atomic writes: the ``.h5`` (and ``.csv``) are
  written to temporary files, re-read and compared with a running checksum of every row
  written, and only then renamed into place.

These are the DeepLabCut format's ``chunk_reader`` and ``chunk_writer`` in the registry
(:mod:`liftpose_dlc.io.registry`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import pandas as pd

from liftpose_dlc._filesystem import atomic_path, check_file, check_overwrite
from liftpose_dlc.errors import FileFormatError, WriteError
from liftpose_dlc.io._hdf5 import check_hdf5_tree, is_hdf5
from liftpose_dlc.io.dlc import (
    HDF_KEY,
    INFERRED_KEY,
    open_pandas_table,
    pick_table_key,
    poses_from_dlc_table,
    poses_to_dlc_table,
    read_dlc_table,
    save_dlc,
)
from liftpose_dlc.poses import Poses, Source

__all__ = ["DLCChunkReader", "DLCChunkWriter", "open_dlc_writer"]

_ROW_ARRAYS = ("axis1", "block0_values")  # the arrays of a fixed-format frame sized by rows
_VERIFY_ROWS = 65536  # rows re-read at a time when checking a written file


def _hdf5_os_error(exc: BaseException) -> OSError:
    """An OSError for a failure of PyTables/HDF5 (errno 28 when the disk is full)."""
    if isinstance(exc, OSError):
        return exc
    text = str(exc)
    if "errno = 28" in text or "No space left" in text:
        return OSError(28, "No space left on device")
    return OSError(f"HDF5 error: {type(exc).__name__}: {text}")


class DLCChunkReader:
    """Read a DeepLabCut pose table a chunk of frames at a time.

    Parameters
    ----------
    path
        A DeepLabCut ``.h5`` (streamed) or ``.csv`` (read whole).
    key
        HDF5 key, needed only when the file holds several tables.

    Attributes
    ----------
    n_frames
        Number of rows (frames) of the table.
    columns
        The table's column MultiIndex.
    multianimal
        Whether the table has an ``individuals`` level.
    present
        ``{individual: bodyparts it has columns for}``.
    scorer
        The table's scorer.
    n_dims
        2 for a table of x, y (and likelihood), 3 for x, y, z.
    """

    def __init__(self, path: str | os.PathLike, *, key: str | None = None) -> None:
        self.path = check_file(path, "DeepLabCut file")
        self.source = Source(self.path, "DeepLabCut")
        self._store: pd.HDFStore | None = None
        self._table: Any = None  # the table read with h5py (io/_pandas_hdf.py)
        self._files = contextlib.ExitStack()
        self._frame: pd.DataFrame | None = None
        if is_hdf5(self.path):
            self._open_hdf(key)
        else:
            self._frame = read_dlc_table(self.path).frame
            self.n_frames = len(self._frame)
            head = self._frame.iloc[:1]
        try:
            if self._table is not None:
                head = self._read_table(0, 1)
            elif self._store is not None:
                head = self._store.select(self.key, start=0, stop=1)
            self._set_columns(head)
        except BaseException:
            self.close()
            raise

    def _open_hdf(self, key: str | None) -> None:
        from liftpose_dlc.io._pandas_hdf import Unsupported

        check_hdf5_tree(self.path, "DeepLabCut HDF5 file")  # PyTables may crash on damage
        try:  # h5py for the layouts DeepLabCut writes: no PyTables state a damaged file corrupts
            self._table, self.key = self._files.enter_context(open_pandas_table(self.path, key))
            self.n_frames = self._table.n_rows
            return
        except Unsupported:
            self._files.close()
        try:
            store = pd.HDFStore(self.path, mode="r")
        except Exception as exc:  # noqa: BLE001 - PyTables raises many kinds
            raise FileFormatError(f"{self.path}: cannot open the HDF5 file: {exc}") from exc
        try:
            wanted = pick_table_key(self.path, store.keys(), key)
        except FileFormatError:
            store.close()
            raise
        self._store, self.key = store, wanted
        storer = store.get_storer(wanted)  # type: ignore[operator]  # not in pandas-stubs
        if getattr(storer, "is_table", False):
            self.n_frames = int(storer.nrows)
        else:
            try:
                self.n_frames = int(storer.group.axis1.shape[0])
            except Exception as exc:  # noqa: BLE001 - not a frame: no row index
                store.close()
                raise FileFormatError(
                    f"{self.path}: table {wanted!r} is not a DataFrame ({exc})"
                ) from exc

    def _set_columns(self, head: pd.DataFrame) -> None:
        if not isinstance(head, pd.DataFrame):
            self.close()
            raise FileFormatError(f"{self.path}: the table is not a DeepLabCut DataFrame")
        # validates the layout (raises FileFormatError naming the file)
        poses = poses_from_dlc_table(head, source=self.source)
        self.columns = head.columns
        self.multianimal = head.columns.nlevels == 4
        self.individuals = poses.individuals
        self.keypoints = poses.keypoints
        self.n_dims = poses.n_dims
        cols = head.columns
        levels = [[str(v) for v in cols.get_level_values(i)] for i in range(cols.nlevels)]
        self.scorer = levels[0][0] if levels[0] else "liftpose-dlc"
        present: dict[str, set[str]] = {}
        if self.multianimal:
            for ind, bp in zip(levels[1], levels[2], strict=True):
                present.setdefault(ind, set()).add(bp)
        else:
            present[poses.individuals[0]] = set(levels[1])
        self.present = present

    def _read_table(self, a: int, b: int) -> pd.DataFrame:
        try:
            return cast(pd.DataFrame, self._table.read(a, b))
        except Exception as exc:  # noqa: BLE001 - damaged rows of any kind
            raise FileFormatError(
                f"{self.path}: cannot read rows {a}-{b} of {self.key!r}: {exc}"
            ) from exc

    def read(self, start: int, stop: int) -> Poses:
        """Rows ``start`` to ``stop`` (exclusive) as 2D :class:`~liftpose_dlc.Poses`."""
        a, b = int(start), min(self.n_frames, int(stop))
        if self._table is not None:
            frame = self._read_table(a, b)
        elif self._store is not None:
            try:
                # a DeepLabCut pose table is stored as a DataFrame
                frame = cast(pd.DataFrame, self._store.select(self.key, start=a, stop=b))
            except Exception as exc:  # noqa: BLE001
                raise FileFormatError(
                    f"{self.path}: cannot read rows {a}-{b} of {self.key!r}: {exc}"
                ) from exc
        else:
            assert self._frame is not None
            frame = self._frame.iloc[a:b]
        if not frame.columns.equals(self.columns):
            raise FileFormatError(f"{self.path}: the columns change within the table")
        return poses_from_dlc_table(frame, source=self.source)

    def chunks(self, chunk_size: int) -> Iterator[Poses]:
        """Yield the table as 2D :class:`~liftpose_dlc.Poses` of at most ``chunk_size`` frames."""
        step = max(1, int(chunk_size))
        for a in range(0, self.n_frames, step):
            yield self.read(a, a + step)

    def close(self) -> None:
        """Close the file."""
        self._table = None
        self._files.close()
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> DLCChunkReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DLCChunkWriter:
    """Write a DeepLabCut-layout table (``.h5``, fixed format, and optionally ``.csv``) by chunks.

    Parameters
    ----------
    h5_path
        Where to write the HDF5 (a temporary path: the caller renames it, see
        :func:`~liftpose_dlc._filesystem.atomic_path`). Must not exist.
    n_frames
        Total number of rows.
    scorer, multianimal
        As for :func:`~liftpose_dlc.io.dlc.save_dlc`.
    with_inferred
        Write the ``inferred`` mask (beside the table, see
        :func:`~liftpose_dlc.io.dlc.save_dlc`).
    csv_file
        An open text file to append the CSV to, or None.
    units, frame
        Units and coordinate frame of the 3D, stored as for
        :func:`~liftpose_dlc.io.dlc.save_dlc`.

    Notes
    -----
    Chunks must be written in order and cover ``n_frames`` rows exactly; :meth:`close`
    checks it.
    """

    def __init__(
        self,
        h5_path: str | os.PathLike,
        n_frames: int,
        *,
        scorer: str,
        multianimal: bool,
        with_inferred: bool,
        csv_file: IO[str] | None = None,
        units: str | None = None,
        frame: str | None = None,
    ) -> None:
        self.path = Path(h5_path)
        self.units, self.frame = units, frame
        self.n_frames = int(n_frames)
        self.scorer = scorer
        self.multianimal = multianimal
        self.with_inferred = with_inferred
        self.csv_file = csv_file
        self.rows_written = 0
        self._h5: Any = None
        self._columns: pd.Index | None = None
        self._values_hash = hashlib.sha256()  # of every row written, to check the file
        self._csv_hash = hashlib.sha256()

    def _start(self, first: Poses, inferred: np.ndarray | None) -> None:
        import tables

        # save_dlc wants a .h5 name; the caller's path is a temporary name
        template = self.path.with_name(self.path.name + ".first.h5")
        try:
            save_dlc(
                first.select(frames=slice(0, 1)),
                template,
                scorer=self.scorer,
                inferred=None if inferred is None else inferred[:1],
                multianimal=self.multianimal,
                units=self.units,
                frame=self.frame,
            )
            os.replace(template, self.path)
        except WriteError as exc:  # name the final output, not these temporary files
            code = exc.errno or 0
            raise (OSError(code, os.strerror(code)) if code else OSError(str(exc))) from exc
        finally:
            if template.exists():
                template.unlink()
        try:
            self._h5 = tables.open_file(str(self.path), mode="a")
            group = self._h5.get_node(f"/{HDF_KEY}")
            n_cols = group.block0_values.shape[1]
            shapes = {"axis1": (self.n_frames,), "block0_values": (self.n_frames, n_cols)}
            for name in _ROW_ARRAYS:
                old = getattr(group, name)
                attrs = {k: old._v_attrs[k] for k in old._v_attrs._f_list("user")}
                atom = old.atom
                old._f_remove()
                new = self._h5.create_carray(group, name, atom, shapes[name])
                for k, v in attrs.items():
                    setattr(new._v_attrs, k, v)
        except Exception as exc:  # noqa: BLE001 - PyTables raises many kinds
            _close_quietly(self)
            raise _hdf5_os_error(exc) from exc
        self._group = group
        self._inferred = None
        if inferred is not None:  # the mask is an array beside the table (see save_dlc)
            old = self._h5.get_node(f"/{INFERRED_KEY}")
            attrs = {k: old._v_attrs[k] for k in old._v_attrs._f_list("user")}
            shape = (self.n_frames, *old.shape[1:])
            old._f_remove()
            self._inferred = self._h5.create_carray("/", INFERRED_KEY, tables.UInt8Atom(), shape)
            for k, v in attrs.items():
                setattr(self._inferred._v_attrs, k, v)

    def write(self, poses: Poses, inferred: np.ndarray | None = None) -> None:
        """Append the rows of ``poses`` (3D, with its ``inferred`` mask when enabled)."""
        if self.with_inferred and inferred is None:
            raise ValueError("this writer writes the inferred coordinate: pass inferred=")
        inf = inferred if self.with_inferred else None
        if self._h5 is None:
            self._start(poses, inf)
        n = poses.n_frames
        a, b = self.rows_written, self.rows_written + n
        if b > self.n_frames:
            raise ValueError(f"more rows than announced ({b} > {self.n_frames})")
        frame = poses_to_dlc_table(poses, scorer=self.scorer, multianimal=self.multianimal)
        if self._columns is None:
            self._columns = frame.columns
        elif not frame.columns.equals(self._columns):
            raise ValueError("the columns of a chunk differ from the first chunk's")
        values = np.ascontiguousarray(frame.to_numpy(dtype=np.float64))
        try:
            self._group.block0_values[a:b] = values
            self._group.axis1[a:b] = np.arange(a, b, dtype=np.int64)
        except Exception as exc:  # noqa: BLE001 - PyTables raises many kinds
            raise _hdf5_os_error(exc) from exc
        self._values_hash.update(values.tobytes())
        if self._inferred is not None and inf is not None:
            self._inferred[a:b] = poses.point_mask(inf, "inferred").astype(np.uint8)
        if self.csv_file is not None:
            frame.index = pd.Index(np.arange(a, b, dtype=np.int64))
            text = frame.to_csv(header=a == 0)
            self.csv_file.write(text)
            self._csv_hash.update(text.encode("utf-8"))
        self.rows_written = b

    def close(self) -> None:
        """Close the HDF5 file (call :meth:`check_complete` first to check the row count).

        Raises
        ------
        OSError
            If HDF5 cannot write the file's last blocks (e.g. the disk is full).
        """
        h5, self._h5 = self._h5, None
        if h5 is not None:
            try:
                h5.close()
            except Exception as exc:  # noqa: BLE001 - PyTables raises many kinds
                raise _hdf5_os_error(exc) from exc

    def verify_h5(self, path: str | os.PathLike) -> None:
        """Re-read the written ``.h5`` at ``path`` and compare it with the rows written.

        Raises
        ------
        ValueError
            If the row count, the index or the checksum of the values differ.
        """
        import tables

        digest = hashlib.sha256()
        with tables.open_file(str(path), mode="r") as h5:
            group = h5.get_node(f"/{HDF_KEY}")
            n_rows = int(group.block0_values.shape[0])
            if n_rows != self.rows_written or int(group.axis1.shape[0]) != self.rows_written:
                raise ValueError(f"{n_rows} rows read back, {self.rows_written} written")
            for a in range(0, n_rows, _VERIFY_ROWS):
                b = min(n_rows, a + _VERIFY_ROWS)
                index = group.axis1[a:b]
                if not np.array_equal(index, np.arange(a, b)):
                    raise ValueError(f"the frame index of rows {a}-{b} read back is wrong")
                digest.update(np.ascontiguousarray(group.block0_values[a:b]).tobytes())
        if digest.digest() != self._values_hash.digest():
            raise ValueError("the checksum of the values read back differs")

    def verify_csv(self, path: str | os.PathLike) -> None:
        """Re-read the written ``.csv`` at ``path`` and compare its checksum with the text written.

        Raises
        ------
        ValueError
            If the file differs from what was written.
        """
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        if digest.digest() != self._csv_hash.digest():
            raise ValueError("the CSV read back differs from the text written")

    def check_complete(self) -> None:
        """Raise if fewer rows than announced were written."""
        if self.rows_written != self.n_frames:
            raise ValueError(f"{self.rows_written} rows written of {self.n_frames} announced")


@contextlib.contextmanager
def open_dlc_writer(
    path: str | os.PathLike,
    n_frames: int,
    *,
    scorer: str,
    multianimal: bool,
    with_inferred: bool,
    save_as_csv: bool = False,
    overwrite: bool = False,
    units: str | None = None,
    frame: str | None = None,
) -> Iterator[DLCChunkWriter]:
    """A :class:`DLCChunkWriter` for ``path`` whose files appear only when complete and checked.

    The ``.h5`` (and, with ``save_as_csv``, the ``.csv`` beside it) are written to temporary
    files; when the block ends, the writer checks that ``n_frames`` rows were written,
    closes the file, re-reads both files and compares them with a checksum of what was
    written, and renames them into place (see :func:`~liftpose_dlc._filesystem.atomic_path`).
    If the block raises, or a write or check fails, nothing appears under the final names
    and previous files there are untouched.

    Parameters
    ----------
    path
        The ``.h5`` to write.
    n_frames
        Number of rows the block will write.
    scorer, multianimal, with_inferred
        See :class:`DLCChunkWriter`.
    save_as_csv
        Also write ``<path stem>.csv``.
    overwrite
        Replace existing files; otherwise :class:`~liftpose_dlc.errors.OutputExistsError`.
    units, frame
        Units and coordinate frame of the 3D, see :class:`DLCChunkWriter`.

    Raises
    ------
    OutputExistsError
        If an output exists and ``overwrite`` is False.
    WriteError
        If a file cannot be written (disk full, ...), or fewer rows than ``n_frames`` were.
    """
    dest = Path(path)
    csv_dest = dest.with_suffix(".csv") if save_as_csv else None
    check_overwrite(dest, overwrite)
    if csv_dest is not None:
        check_overwrite(csv_dest, overwrite)
    writers: list[DLCChunkWriter] = []
    with contextlib.ExitStack() as stack:
        tmp_h5 = stack.enter_context(
            atomic_path(dest, overwrite, verify=lambda p: writers[0].verify_h5(p))
        )
        csv_file = None
        if csv_dest is not None:
            tmp_csv = stack.enter_context(
                atomic_path(csv_dest, overwrite, verify=lambda p: writers[0].verify_csv(p))
            )
            csv_file = stack.enter_context(open(tmp_csv, "w", newline="", encoding="utf-8"))
        writer = DLCChunkWriter(
            tmp_h5,
            n_frames,
            scorer=scorer,
            multianimal=multianimal,
            with_inferred=with_inferred,
            csv_file=csv_file,
            units=units,
            frame=frame,
        )
        writers.append(writer)
        stack.callback(_close_quietly, writer)
        yield writer
        try:
            writer.check_complete()
        except ValueError as exc:
            raise WriteError(f"{dest}: {exc}; nothing was changed there") from None
        writer.close()


def _close_quietly(writer: DLCChunkWriter) -> None:
    """Close after a failure: the first error is the one to report."""
    with contextlib.suppress(Exception):
        writer.close()
