"""Read pandas' HDF5 tables (``DataFrame.to_hdf``) with h5py: no PyTables, nothing unpickled.

DeepLabCut stores poses with ``DataFrame.to_hdf``: in pandas' *table* format (``frame_table``:
a compound dataset ``table`` with an ``index`` field and ``values_block_N`` fields, the column
labels in pickled attributes) or its *fixed* format (``frame``: arrays ``axis0_*`` for the
columns, ``axis1`` for the index, ``blockN_values``). pandas reads both through PyTables,
whose C-level state a damaged file can corrupt without an error, so that a later read in the
same process crashes the interpreter. This module reads the layouts DeepLabCut writes with
h5py alone; the attributes pandas pickles (lists, tuples, dicts of names) are decoded by an
unpickler that builds nothing but those plain values (no class, no function: a file cannot
run code or ask for a huge memo). A layout it does not know raises :class:`Unsupported`, and
the caller may fall back to pandas.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PandasTable", "Unsupported", "pandas_keys", "plain_unpickle"]

#: Largest pickled attribute decoded (bytes): column labels of a pose table are a few KB.
_MAX_PICKLE = 1 << 24


class Unsupported(Exception):
    """A layout pandas writes that this reader does not decode (the caller falls back to pandas).

    Damaged or foreign content raises ``ValueError`` instead (never a fall-back).
    """


#: The ``kind`` of the index arrays pandas writes.
_PANDAS_KINDS = frozenset(
    ["string", "integer", "float", "complex", "bool", "datetime64", "datetime", "timedelta64"]
    + ["timedelta", "date", "object", "categorical", "uint"]
)


class _PlainUnpickler(pickle._Unpickler):  # the pure-Python one: its memo is a dict
    """Unpickles lists, tuples, dicts, strings and numbers; refuses every global."""

    def find_class(self, module: str, name: str) -> Any:
        raise _Refused(f"a pickled {module}.{name}: only plain values are read")


class _Refused(pickle.UnpicklingError):
    """A pickle that names a class or function."""


def plain_unpickle(data: Any) -> Any:
    """The plain value (list, tuple, dict, str, number, None) pickled in ``data``.

    Raises
    ------
    pickle.UnpicklingError
        If ``data`` is not such a pickle (damaged, or it names a class or function).
    """
    raw = bytes(data)
    if len(raw) > _MAX_PICKLE:
        raise pickle.UnpicklingError(f"a pickled attribute of {len(raw)} bytes")
    try:
        return _PlainUnpickler(io.BytesIO(raw), encoding="utf-8").load()
    except _Refused:
        raise
    except Exception as exc:  # noqa: BLE001 - any damage is "not a pickle"
        raise pickle.UnpicklingError(f"a damaged pickle ({type(exc).__name__}: {exc})") from exc


def _text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size else b""
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8")
    return str(value)


def pandas_keys(f: Any) -> list[str]:
    """The keys (``"/name"``) of the pandas objects in an open h5py file, as ``HDFStore.keys``."""
    import h5py

    out: list[str] = []

    def walk(group: Any, prefix: str) -> None:
        for name in group:
            item = group.get(name)
            if not isinstance(item, h5py.Group):
                continue
            if "pandas_type" in item.attrs:
                out.append(f"{prefix}/{name}")
            else:
                walk(item, f"{prefix}/{name}")

    walk(f, "")
    return out


def _labels(values: list[Any], names: list[Any] | None) -> pd.Index:
    """Column labels (tuples for a MultiIndex) as a pandas index."""
    if values and all(isinstance(v, tuple) for v in values):
        return pd.MultiIndex.from_tuples(values, names=names)
    if any(isinstance(v, tuple) for v in values):
        raise ValueError("mixed column labels")
    return pd.Index(values, name=names[0] if names else None)


def _level_values(ds: Any) -> np.ndarray:
    """An index array of the fixed format (strings decoded)."""
    kind = _text(ds.attrs.get("kind", b""))
    if kind not in ("string", "integer", "float"):
        raise (Unsupported if kind in _PANDAS_KINDS else ValueError)(f"an index of kind {kind!r}")
    values = ds[()]
    if kind == "string":
        if values.dtype.kind != "S":
            raise Unsupported("a string index not stored as bytes")
        return np.array([v.decode("utf-8") for v in values], dtype=object)
    return np.asarray(values)


def _fixed_index(group: Any, key: str) -> pd.Index:
    """The index ``key`` (``axis0``, ``block0_items``) of a fixed-format frame."""
    variety = _text(group.attrs.get(f"{key}_variety", b""))
    if variety == "regular":
        values = _level_values(group[key])
        name = _text(group[key].attrs.get("name", b"N."))
        return pd.Index(values, name=None if name == "N." else name)
    if variety != "multi":
        raise ValueError(f"an index of variety {variety!r}")
    n_levels = int(np.asarray(group.attrs[f"{key}_nlevels"]))
    if not 1 <= n_levels <= 16:
        raise ValueError(f"{n_levels} index levels")
    levels, codes, names = [], [], []
    for i in range(n_levels):
        level = group[f"{key}_level{i}"]
        levels.append(_level_values(level))
        name = _text(level.attrs.get("name", b"N."))
        names.append(None if name == "N." else name)
        code = np.asarray(group[f"{key}_label{i}"][()])
        if code.ndim != 1 or code.dtype.kind not in "iu":
            raise ValueError("index codes that are not integers")
        codes.append(code.astype(np.int64))
    if len({len(c) for c in codes}) != 1:
        raise ValueError("index levels of different lengths")
    for level, code in zip(levels, codes, strict=True):
        if code.size and (code.min() < -1 or code.max() >= len(level)):
            raise ValueError("index codes out of range")
    return pd.MultiIndex(levels=levels, codes=codes, names=names)  # type: ignore[arg-type]


class PandasTable:
    """One pandas DataFrame stored in an HDF5 file, read by rows with h5py.

    Parameters
    ----------
    group
        The h5py group of the frame (its ``pandas_type`` is ``frame_table`` or ``frame``).

    Attributes
    ----------
    columns
        The frame's column index.
    n_rows
        Its number of rows.

    Raises
    ------
    Unsupported
        If the layout is one pandas writes that this reader does not decode (a string or
        multi-level row index, integer values, ...).
    ValueError, KeyError, OSError, pickle.UnpicklingError
        If the content is damaged or not a pandas DataFrame.
    """

    def __init__(self, group: Any) -> None:
        kind = _text(group.attrs.get("pandas_type", b""))
        self._group = group
        if kind == "frame_table":
            self._init_table(group)
        elif kind == "frame":
            self._init_fixed(group)
        else:
            raise ValueError(f"a pandas object of type {kind!r}, not a DataFrame")

    # ------------------------------------------------------------------ table format
    def _init_table(self, group: Any) -> None:
        import h5py

        table = group.get("table")
        if not isinstance(table, h5py.Dataset) or table.dtype.names is None:
            raise ValueError("no compound 'table' dataset")
        if int(np.asarray(group.attrs.get("levels", 1))) != 1:
            raise Unsupported("several index levels")
        index_kind = _text(table.attrs.get("index_kind", b""))
        if index_kind != "integer":
            raise (Unsupported if index_kind in _PANDAS_KINDS else ValueError)(
                f"an index of kind {index_kind!r}"
            )
        axes = plain_unpickle(group.attrs["non_index_axes"])
        if not (isinstance(axes, list) and len(axes) == 1 and axes[0][0] == 1):
            raise ValueError("unexpected non_index_axes")
        info = plain_unpickle(group.attrs["info"]) if "info" in group.attrs else {}
        col_info = info.get(1, {}) if isinstance(info, dict) else {}
        names = col_info.get("names") if isinstance(col_info, dict) else None
        self.columns = _labels(list(axes[0][1]), names)
        blocks = plain_unpickle(group.attrs["values_cols"])
        if not isinstance(blocks, list) or not blocks:
            raise ValueError("no values blocks")
        order: list[Any] = []
        for block in blocks:
            if block not in table.dtype.names:
                raise ValueError(f"a values block {block!r} missing from the table")
            dtype = table.dtype[block]
            if (dtype.subdtype[0] if dtype.subdtype else dtype).kind != "f":
                raise Unsupported(f"values block {block!r} is not of floats")
            order.extend(plain_unpickle(table.attrs[f"{block}_kind"]))
        if len(order) != len(self.columns):
            raise ValueError("the values blocks do not hold every column")
        self._blocks = blocks
        self._block_labels = _labels(order, list(self.columns.names))
        self._table = table
        self.n_rows = int(table.shape[0]) if table.ndim == 1 else 0
        if table.ndim != 1:
            raise ValueError("a table that is not one-dimensional")

    def _rows_table(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self._table[start:stop]
        parts = []
        for block in self._blocks:
            part = np.asarray(rows[block], dtype=np.float64)
            parts.append(part.reshape(len(rows), -1))
        values = np.concatenate(parts, axis=1) if parts else np.zeros((len(rows), 0))
        return np.asarray(rows["index"]), values

    # ------------------------------------------------------------------ fixed format
    def _init_fixed(self, group: Any) -> None:
        if int(np.asarray(group.attrs.get("ndim", 2))) != 2:
            raise ValueError("not a two-dimensional frame")
        n_blocks = int(np.asarray(group.attrs.get("nblocks", 0)))
        if not 1 <= n_blocks <= 64:
            raise ValueError(f"{n_blocks} blocks")
        self.columns = _fixed_index(group, "axis0")
        index = _fixed_index(group, "axis1")
        if isinstance(index, pd.MultiIndex) or index.dtype.kind not in "iu":
            raise Unsupported("an index that is not integers")
        self._index = np.asarray(index, dtype=np.int64)
        self._values: list[tuple[Any, bool]] = []
        labels: list[Any] = []
        for b in range(n_blocks):
            values = group[f"block{b}_values"]
            if values.dtype.kind == "O":
                raise Unsupported("a block of Python objects")
            if values.ndim != 2 or values.dtype.kind not in "fiub":
                raise ValueError("a values block that is not a numeric matrix")
            if values.dtype.kind != "f":
                raise Unsupported("a values block that is not of floats")
            items = _fixed_index(group, f"block{b}_items")
            # a block is (columns, rows) in pandas, "transposed" when stored (rows, columns)
            by_rows = bool(np.asarray(values.attrs.get("transposed", 0)))
            shape = (len(self._index), len(items)) if by_rows else (len(items), len(self._index))
            if values.shape != shape:
                raise ValueError(
                    f"block {b} has shape {values.shape} for {len(self._index)} rows x "
                    f"{len(items)} columns"
                )
            self._values.append((values, by_rows))
            labels.extend(items)
        if len(labels) != len(self.columns):
            raise ValueError("the blocks do not hold every column")
        self._block_labels = _labels(labels, list(self.columns.names))
        self.n_rows = len(self._index)

    def _rows_fixed(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        parts = [
            np.asarray(v[start:stop] if by_rows else v[:, start:stop].T, dtype=np.float64)
            for v, by_rows in self._values
        ]
        return self._index[start:stop], np.concatenate(parts, axis=1)

    # ------------------------------------------------------------------ reading
    def read(self, start: int = 0, stop: int | None = None) -> pd.DataFrame:
        """Rows ``start`` to ``stop`` (exclusive; None: the end) as a DataFrame."""
        a = max(0, int(start))
        b = self.n_rows if stop is None else min(self.n_rows, int(stop))
        b = max(a, b)
        if hasattr(self, "_table"):
            index, values = self._rows_table(a, b)
        else:
            index, values = self._rows_fixed(a, b)
        frame = pd.DataFrame(values, index=pd.Index(index), columns=self._block_labels)
        if not self._block_labels.equals(self.columns):
            if not self._block_labels.is_unique:
                raise Unsupported("repeated column labels")
            frame = frame.reindex(columns=self.columns)
        return frame

    def chunks(self, size: int) -> Iterator[pd.DataFrame]:
        """The frame ``size`` rows at a time."""
        for a in range(0, self.n_rows, max(1, int(size))):
            yield self.read(a, a + size)
