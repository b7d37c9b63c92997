"""Stream DeepLabCut tables through a lifter: read and write them chunk by chunk.

A DeepLabCut ``.h5`` of a long recording need not fit in memory:

* :class:`DLCChunkReader` reads the pose table a slice of rows at a time (pandas
  ``HDFStore.select(start=, stop=)``, which works for DeepLabCut's *table* format and for
  the *fixed* format this package writes). A ``.csv`` is read whole.
* :class:`DLCChunkWriter` writes the 3D table in pandas' *fixed* format (the one pandas 2.x,
  which DeepLabCut pins, reads), which pandas itself can only write from a whole
  DataFrame: the writer lets :func:`~liftpose_dlc.io.dlc.save_dlc` write the first rows
  (so columns, index and attributes are exactly those of ``save_dlc``), then gives the two
  row-sized arrays of the file (the index ``axis1`` and the values ``block0_values``) their
  full length with PyTables and fills them chunk by chunk. The file reads back identical to
  one written by ``save_dlc`` from the whole table. The CSV is appended to chunk by chunk.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from liftpose_dlc._files import check_file
from liftpose_dlc.errors import FileFormatError
from liftpose_dlc.io._hdf5 import check_hdf5_tree
from liftpose_dlc.io._sniff import is_hdf5
from liftpose_dlc.io.dlc import (
    HDF_KEY,
    poses_from_dlc_table,
    poses_to_dlc_table,
    read_dlc_table,
    save_dlc,
)
from liftpose_dlc.poses import Poses, Source

__all__ = ["DLCChunkReader", "DLCChunkWriter"]

_ROW_ARRAYS = ("axis1", "block0_values")  # the arrays of a fixed-format frame sized by rows


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
    """

    def __init__(self, path: str | os.PathLike, *, key: str | None = None) -> None:
        self.path = check_file(path, "DeepLabCut file")
        self.source = Source(self.path, "DeepLabCut")
        self._store: pd.HDFStore | None = None
        self._frame: pd.DataFrame | None = None
        if is_hdf5(self.path):
            self._open_hdf(key)
        else:
            self._frame = read_dlc_table(self.path).frame
            self.n_frames = len(self._frame)
            head = self._frame.iloc[:1]
        try:
            if self._store is not None:
                head = self._store.select(self.key, start=0, stop=1)
            self._set_columns(head)
        except BaseException:
            self.close()
            raise

    def _open_hdf(self, key: str | None) -> None:
        check_hdf5_tree(self.path, "DeepLabCut HDF5 file")  # PyTables may crash on damage
        try:
            store = pd.HDFStore(self.path, mode="r")
        except Exception as exc:  # noqa: BLE001 - PyTables raises many kinds
            raise FileFormatError(f"{self.path}: cannot open the HDF5 file: {exc}") from exc
        keys = store.keys()
        if key is not None:
            wanted = key if key.startswith("/") else f"/{key}"
            if wanted not in keys:
                store.close()
                raise FileFormatError(f"{self.path}: no table {key!r} in the file; tables: {keys}")
        elif len(keys) == 1:
            wanted = keys[0]
        else:
            store.close()
            # let the reader of io/dlc.py explain (no table, several tables, a SLEAP file)
            read_dlc_table(self.path, key=key)
            raise FileFormatError(f"{self.path}: not a DeepLabCut pose table")  # pragma: no cover
        self._store, self.key = store, wanted
        storer = store.get_storer(wanted)
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

    def chunks(self, chunk_size: int) -> Iterator[Poses]:
        """Yield the table as 2D :class:`~liftpose_dlc.Poses` of at most ``chunk_size`` frames."""
        step = max(1, int(chunk_size))
        for a in range(0, self.n_frames, step):
            b = min(self.n_frames, a + step)
            if self._store is not None:
                try:
                    frame = self._store.select(self.key, start=a, stop=b)
                except Exception as exc:  # noqa: BLE001
                    raise FileFormatError(
                        f"{self.path}: cannot read rows {a}-{b} of {self.key!r}: {exc}"
                    ) from exc
            else:
                assert self._frame is not None
                frame = self._frame.iloc[a:b]
            if not frame.columns.equals(self.columns):
                raise FileFormatError(f"{self.path}: the columns change within the table")
            yield poses_from_dlc_table(frame, source=self.source)

    def close(self) -> None:
        """Close the file."""
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
        :func:`~liftpose_dlc._files.atomic_path`). Must not exist.
    n_frames
        Total number of rows.
    scorer, multianimal
        As for :func:`~liftpose_dlc.io.dlc.save_dlc`.
    with_inferred
        Write the ``inferred`` coordinate.
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
        self._columns: pd.MultiIndex | None = None

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
        finally:
            if template.exists():
                template.unlink()
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
        self._group = group

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
        frame = poses_to_dlc_table(
            poses, scorer=self.scorer, inferred=inf, multianimal=self.multianimal
        )
        if self._columns is None:
            self._columns = frame.columns
        elif not frame.columns.equals(self._columns):
            raise ValueError("the columns of a chunk differ from the first chunk's")
        self._group.block0_values[a:b] = frame.to_numpy(dtype=np.float64)
        self._group.axis1[a:b] = np.arange(a, b, dtype=np.int64)
        if self.csv_file is not None:
            frame.index = pd.Index(np.arange(a, b, dtype=np.int64))
            frame.to_csv(self.csv_file, header=a == 0)
        self.rows_written = b

    def close(self) -> None:
        """Close the HDF5 file (call :meth:`check_complete` first to check the row count)."""
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None

    def check_complete(self) -> None:
        """Raise if fewer rows than announced were written."""
        if self.rows_written != self.n_frames:
            raise ValueError(f"{self.rows_written} rows written of {self.n_frames} announced")
