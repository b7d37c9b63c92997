"""DeepLabCut pose tables (``.h5`` / ``.csv``) to and from :class:`~liftpose_dlc.Poses`.

DeepLabCut stores poses as a pandas table with one row per frame and MultiIndex columns:

- single animal: ``(scorer, bodyparts, coords)``,
- multi-animal: ``(scorer, individuals, bodyparts, coords)``,

with ``coords`` ``x, y, likelihood`` for 2D and ``x, y, z`` for DeepLabCut 3D. The same reader
opens analysis outputs (``analyze_videos``, tracked ``_el``/``_bx`` tables, ``_filtered``),
labelled data (``CollectedData_*.h5/.csv``, indexed by image paths) and the 3D files this
package writes.

Multi-animal unique bodyparts
-----------------------------
DeepLabCut puts the project's unique bodyparts (e.g. arena corners) under a pseudo-individual
called ``single``. :func:`load_dlc` keeps it as an individual named ``"single"``; the keypoints
of the :class:`~liftpose_dlc.Poses` are the union of all bodyparts in file order (animal
bodyparts first, then unique ones, as DeepLabCut writes them). Points an individual does not
have (a unique bodypart of an animal, an animal bodypart of ``single``) are NaN, with NaN
confidence. :func:`save_dlc` undoes this: the keypoints that only ``single`` has data for are
written under ``single`` and not under the animals, so a file read and written back has
DeepLabCut's own columns.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import pickle
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from liftpose_dlc._boundary import reader_boundary
from liftpose_dlc._filesystem import atomic_path, check_file, check_overwrite
from liftpose_dlc.errors import FileFormatError, PosesValidationError
from liftpose_dlc.io._hdf5 import (
    attr_str,
    check_hdf5_tree,
    is_hdf5,
    json_attr,
    memory_store,
    write_image,
)
from liftpose_dlc.io._sniff import DLCCSVHead, describe_content, dlc_csv_head, flat_dlc_header
from liftpose_dlc.io.dlc_config import (
    as_config,
    config_pcutoff,
    config_skeleton,
    read_dlc_meta,
)
from liftpose_dlc.io.metadata import fields_from_attrs, output_attrs
from liftpose_dlc.io.registry import Format, Probe
from liftpose_dlc.poses import Poses, Source, check_pcutoff

__all__ = [
    "load_dlc",
    "save_dlc",
    "read_dlc_table",
    "poses_from_dlc_table",
    "poses_to_dlc_table",
    "load_dlc_inferred",
    "find_dlc_3d_key",
    "DLCTable",
    "HDF_KEY",
    "INFERRED_KEY",
    "write_inferred",
]

#: The HDF5 key DeepLabCut (and :func:`save_dlc`) use for the pose table.
HDF_KEY = "df_with_missing"
#: The HDF5 array (not a pandas table) where :func:`save_dlc` writes the ``inferred`` mask.
INFERRED_KEY = "liftpose_dlc_inferred"

_LEVELS = {
    3: ["scorer", "bodyparts", "coords"],
    4: ["scorer", "individuals", "bodyparts", "coords"],
}
_KNOWN_COORDS = ("x", "y", "z", "likelihood", "inferred")
_SINGLE = "single"  # DeepLabCut's pseudo-individual holding the unique bodyparts
_ATTR = "liftpose_dlc_"  # prefix of the HDF5 attributes save_dlc adds (fps, skeleton, ...)

ConfigLike = str | os.PathLike | Mapping[str, Any]


# ---------------------------------------------------------------------------- reading
@reader_boundary("DeepLabCut file")
def load_dlc(
    path: str | os.PathLike,
    pcutoff: float | None = None,
    *,
    config: ConfigLike | None = None,
    key: str | None = None,
    read_meta: bool = True,
) -> Poses:
    """Read a DeepLabCut pose file (``.h5`` or ``.csv``, 2D or 3D, single or multi-animal).

    Parameters
    ----------
    path
        The file. Its content decides how it is read (HDF5 or CSV), not its extension.
    pcutoff
        Points whose likelihood is below ``pcutoff`` become NaN in ``data`` (their
        ``confidence`` is kept). Default: the config's ``pcutoff`` when ``config`` is given,
        else all points are kept.
    config
        The project's ``config.yaml`` (path) or a dict from
        :func:`~liftpose_dlc.io.dlc_config.read_dlc_config`; gives the default ``pcutoff``
        and the ``skeleton`` (edges between keypoints present in the file).
    key
        The HDF5 key, needed only when the file holds several pandas tables (the one table of
        a DeepLabCut file is found whatever its key: ``df_with_missing``, ``tracks``, ...).
    read_meta
        Take ``fps`` from DeepLabCut's ``<output>_meta.pickle`` beside the file when present.
        That pickle is written by the user's own DeepLabCut (see
        :func:`~liftpose_dlc.io.dlc_config.read_dlc_meta`); pass False for files you do not
        trust. A missing or unreadable pickle gives ``fps=None``.

    Returns
    -------
    Poses
        ``data`` (n_frames, n_individuals, n_keypoints, 2 or 3); ``confidence`` from
        ``likelihood`` (NaN for 3D tables); one individual (``"individual_0"``) for
        single-animal tables; ``source=Source(path, "DeepLabCut")`` (``"liftpose-dlc"`` for
        files written by :func:`save_dlc`). Rows are frames, in file order, whatever the index
        (frame numbers or image paths).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    FileFormatError
        If it is not a DeepLabCut table: not HDF5 or CSV, no pandas table or several, columns
        that are not a DeepLabCut layout, non-numeric values.
    ConfigError
        If ``config`` is invalid.

    Examples
    --------
    >>> poses = load_dlc("m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5")  # doctest: +SKIP
    >>> poses.data.shape  # doctest: +SKIP
    (2330, 1, 4, 2)
    >>> poses.keypoints  # doctest: +SKIP
    ['snout', 'leftear', 'rightear', 'tailbase']
    """
    p = check_file(path, "DeepLabCut file")
    cfg = None if config is None else as_config(config)
    if pcutoff is None and cfg is not None:
        pcutoff = config_pcutoff(cfg)
    pcutoff = check_pcutoff(pcutoff)

    table = read_dlc_table(p, key=key)
    attrs = _read_our_attrs(p, table.key) if table.key is not None else {}
    ours = bool(attrs)
    source = Source(p, "liftpose-dlc" if ours else "DeepLabCut")
    poses = poses_from_dlc_table(table.frame, source=source).mask_below(pcutoff)

    changes: dict[str, Any] = {}
    if poses.n_individuals == 1 and table.frame.columns.nlevels == 3 and "individual" in attrs:
        changes["individuals"] = [str(attrs["individual"])]
    if cfg is not None:
        changes["skeleton"] = config_skeleton(cfg, poses.keypoints)
    elif "skeleton" in attrs:
        changes["skeleton"] = [
            e for e in attrs["skeleton"] if e[0] in poses.keypoints and e[1] in poses.keypoints
        ]
    if "fps" in attrs:
        changes["fps"] = attrs["fps"]
    elif read_meta and not ours:
        meta = read_dlc_meta(p, scorer=_scorer(table.frame))
        if meta is not None and meta.fps is not None:
            changes["fps"] = meta.fps
    changes.update(attrs.get("fields", {}))
    return poses.replace(**changes) if changes else poses


def load_dlc_inferred(path: str | os.PathLike, *, key: str | None = None) -> np.ndarray | None:
    """The ``inferred`` mask :func:`save_dlc` may write, shape (n_frames, n_individuals, n_kp).

    Returns None when the file has no mask (the :data:`INFERRED_KEY` array of ``.h5`` files;
    files written by older versions had an ``inferred`` coordinate, read too). Individuals
    and keypoints are in the order of :func:`load_dlc`'s :class:`~liftpose_dlc.Poses`;
    points the mask does not name are False.
    """
    p = check_file(path, "DeepLabCut file")
    table = read_dlc_table(p, key=key)
    arrays = _table_arrays(table.frame, p.as_posix())
    if arrays["inferred"] is not None:  # files written before the mask had its own array
        return arrays["inferred"]
    if table.key is None:
        return None
    individuals = arrays["individuals"] or [_SINGLE_ANIMAL]
    return _read_inferred_array(p, individuals, arrays["keypoints"])


_SINGLE_ANIMAL = ""  # the individual of a single-animal table, in _read_inferred_array


def _read_inferred_array(
    path: Path, individuals: list[str], keypoints: list[str]
) -> np.ndarray | None:
    import h5py

    with h5py.File(path, "r") as f:
        ds = f.get(INFERRED_KEY)
        if not isinstance(ds, h5py.Dataset) or ds.ndim != 3:
            return None
        mask = np.asarray(ds[()]) > 0
        names_i = json_attr(ds.attrs.get("individuals"))
        names_k = json_attr(ds.attrs.get("keypoints"))
    if not isinstance(names_i, list) or not isinstance(names_k, list):
        raise FileFormatError(
            f"{path}: the {INFERRED_KEY} array lacks its individuals and keypoints names"
        )
    out = np.zeros((mask.shape[0], len(individuals), len(keypoints)), dtype=bool)
    index_i = {n: i for i, n in enumerate(names_i)}
    index_k = {n: k for k, n in enumerate(names_k)}
    for i, ind in enumerate(individuals):
        j = index_i.get(ind, 0 if len(names_i) == 1 and ind == _SINGLE_ANIMAL else None)
        if j is None:
            continue
        for k, kp in enumerate(keypoints):
            if kp in index_k:
                out[:, i, k] = mask[:, j, index_k[kp]]
    return out


def find_dlc_3d_key(path: str | os.PathLike) -> str | None:
    """The HDF5 key of a 3D pose table in DeepLabCut's layout in ``path``, or None.

    A table is 3D when its column index has 3 or 4 levels and the last (``coords``) holds
    ``x``, ``y`` and ``z``. Cheap: for HDF5 only the column index of each pandas table is read
    (no rows); for CSV only the header rows. Never raises: an unreadable file is not one.

    Returns
    -------
    str or None
        The key (``""`` for a CSV), or None when the file is not such a table.
    """
    p = Path(path)
    if not p.is_file():
        return None
    suffix = p.suffix.lower()
    try:
        if suffix in (".h5", ".hdf5"):
            return _find_3d_key_h5(p)
        if suffix == ".csv":
            head = dlc_csv_head(p)
            rows = [] if head is None else [r[head.skip :] for r in head.rows]
            coords = next((r for r in rows if r and r[0] == "coords"), [])
            return "" if set(coords[1:]) >= _XYZ else None
    except Exception:  # noqa: BLE001 - whatever is unreadable is simply not ours
        return None
    return None


_XYZ = {"x", "y", "z"}


def _find_3d_key_h5(path: Path) -> str | None:
    import h5py

    with h5py.File(path, "r") as h5:
        keys = [
            key
            for key, node in h5.items()
            if isinstance(node, h5py.Group)
            and node.attrs.get("pandas_type") in (b"frame", b"frame_table", "frame", "frame_table")
        ]
    for key in keys:
        columns = _table_columns(path, key)
        if (
            isinstance(columns, pd.MultiIndex)
            and columns.nlevels in (3, 4)
            and set(map(str, columns.get_level_values(-1))) >= _XYZ
        ):
            return key
    return None


def _table_columns(path: Path, key: str) -> pd.Index:
    """The column index of a pandas table (h5py; pandas for layouts h5py reading lacks)."""
    from liftpose_dlc.io._pandas_hdf import Unsupported

    try:
        with open_pandas_table(path, key) as (table, _):
            return table.columns
    except Unsupported:
        return pd.read_hdf(path, key, start=0, stop=0).columns


class DLCTable(NamedTuple):
    """A DeepLabCut pandas table and the HDF5 key it was read from (None for CSV)."""

    frame: pd.DataFrame
    key: str | None


def read_dlc_table(path: str | os.PathLike, *, key: str | None = None) -> DLCTable:
    """Read the pandas table of a DeepLabCut ``.h5`` or ``.csv`` (detected from the content).

    Raises the same errors as :func:`load_dlc` for files that are not DeepLabCut tables.
    """
    p = check_file(path, "DeepLabCut file")
    if is_hdf5(p):
        return _read_hdf(p, key)
    head = dlc_csv_head(p)
    if head is not None:
        return DLCTable(_read_csv(p, head), None)
    flat = _read_flat_csv(p)
    if flat is not None:
        return DLCTable(flat, None)
    raise FileFormatError(
        f"{p}: not a DeepLabCut file: expected an HDF5 pose table or a CSV whose header rows "
        f"start with scorer/[individuals/]bodyparts/coords; the file is {describe_content(p)}"
    )


def _read_hdf(path: Path, key: str | None) -> DLCTable:
    """The table of a DeepLabCut ``.h5``, read with h5py when it can, else with pandas.

    h5py (:mod:`~liftpose_dlc.io._pandas_hdf`) reads the layouts DeepLabCut writes; other
    layouts pandas writes go to pandas (PyTables) after the h5py check of the file.
    """
    from liftpose_dlc.io._pandas_hdf import Unsupported

    check_hdf5_tree(path, "DeepLabCut HDF5 file")  # before PyTables, which may crash on it
    try:
        with open_pandas_table(path, key) as (table, wanted):
            frame = table.read()
        return DLCTable(frame, wanted.lstrip("/"))
    except Unsupported:
        pass  # a layout pandas writes and h5py reading does not know: ask pandas
    try:
        store = pd.HDFStore(path, mode="r")
    except Exception as exc:  # noqa: BLE001 - PyTables raises many kinds
        raise FileFormatError(f"{path}: cannot open the HDF5 file: {exc}") from exc
    with store:
        wanted = pick_table_key(path, store.keys(), key)
        try:
            frame = store.get(wanted)
        except Exception as exc:  # noqa: BLE001
            raise FileFormatError(f"{path}: cannot read table {wanted!r}: {exc}") from exc
    if not isinstance(frame, pd.DataFrame):
        raise FileFormatError(
            f"{path}: table {wanted!r} is a {type(frame).__name__}, not a DeepLabCut DataFrame"
        )
    return DLCTable(frame, wanted.lstrip("/"))


def pick_table_key(path: Path, keys: list[str], key: str | None) -> str:
    """The key (``"/name"``) of the pose table among a file's pandas ``keys``.

    Raises
    ------
    FileFormatError
        If ``key`` is not among them, or without ``key`` there is none or several.
    """
    if key is not None:
        wanted = key if key.startswith("/") else f"/{key}"
        if wanted not in keys:
            raise FileFormatError(f"{path}: no table {key!r} in the file; tables: {keys}")
        return wanted
    if len(keys) == 1:
        return keys[0]
    if not keys:
        raise FileFormatError(
            f"{path}: the HDF5 file holds no pandas pose table (top-level objects: "
            f"{_h5_names(path)}); DeepLabCut files hold one table"
            f"{_sleap_hint(path)}"
        )
    raise FileFormatError(
        f"{path}: the HDF5 file holds several pandas tables {keys}; pass key=... to choose one"
    )


@contextlib.contextmanager
def open_pandas_table(path: Path, key: str | None) -> Iterator[tuple[Any, str]]:
    """Yield ``(PandasTable, key)``: the pose table of a DeepLabCut ``.h5``, open with h5py.

    Raises
    ------
    FileFormatError
        If the file is damaged, holds no (or several) tables, or the table is not a frame.
    Unsupported
        If the table has a layout pandas writes that the h5py reader does not decode (the
        caller reads it with pandas).
    """
    import h5py

    from liftpose_dlc.io._pandas_hdf import PandasTable, Unsupported, pandas_keys

    try:
        f = h5py.File(path, "r")
    except Exception as exc:  # noqa: BLE001 - h5py raises OSError and others on damage
        raise FileFormatError(f"{path}: cannot open the HDF5 file: {exc}") from exc
    with f:
        wanted = None
        try:
            wanted = pick_table_key(path, pandas_keys(f), key)
            table = PandasTable(f[wanted])
        except (FileFormatError, Unsupported):
            raise
        except Exception as exc:  # noqa: BLE001 - damaged content of any kind
            what = f"table {wanted!r}" if wanted else "the file's tables"
            raise FileFormatError(f"{path}: cannot read {what}: {_h5_reason(exc)}") from exc
        try:
            yield table, wanted
        except (FileFormatError, Unsupported):
            raise
        except (OSError, ValueError, KeyError, TypeError, pickle.UnpicklingError) as exc:
            raise FileFormatError(f"{path}: cannot read table {wanted!r}: {exc}") from exc


def _h5_reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"a name is not UTF-8 ({exc})"
    return f"{type(exc).__name__}: {exc}" if not isinstance(exc, OSError) else str(exc)


def _h5_names(path: Path) -> list[str]:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return sorted(f.keys())
    except Exception:  # noqa: BLE001
        return []


def _sleap_hint(path: Path) -> str:
    names = set(_h5_names(path))
    if {"tracks", "node_names"} <= names or {"metadata", "frames"} <= names:
        return "; it looks like a SLEAP file: use load_sleap or load_poses"
    return ""


def _read_csv(path: Path, head: DLCCSVHead) -> pd.DataFrame:
    """Read a DeepLabCut CSV, also as other tools re-save it (see :func:`dlc_csv_head`).

    Handled: a byte-order mark, ``;``/tab separators (with decimal commas), a leading
    column of row numbers, a row naming the index after the header rows, and the scorer
    repeated as ``scorer.1``, ``scorer.2``, ... (pandas' names for repeated columns).
    """
    rows = [r[head.skip :] for r in head.rows]
    first = [r[0] if r else "" for r in rows]
    n_header = 4 if len(first) > 3 and first[1] == "individuals" else 3
    expected = _LEVELS[n_header]
    if first[1:n_header] != expected[1:]:  # the first cell ("scorer") may be renamed
        raise FileFormatError(
            f"{path}: the CSV header rows must start with {expected} (DeepLabCut layout), "
            f"got {first[:n_header]}"
        )
    # index columns: "scorer" followed by empty cells (labelled data have 3: folder/video/image)
    n_index = 1
    for cell in rows[0][1:]:
        if cell:
            break
        n_index += 1
    n_index += head.skip
    rename = head.skip > 0 or first[0] != "scorer"
    data_rows = [r for r in rows[n_header:] if any(r)]
    decimal = "."
    if head.sep != "," and any("," in c for r in data_rows[:2] for c in r[n_index:]):
        decimal = ","
    try:
        frame = pd.read_csv(
            path,
            sep=head.sep,
            decimal=decimal,
            header=list(range(n_header)),
            index_col=list(range(n_index)) if n_index > 1 else 0,
            encoding="utf-8-sig",
            low_memory=False,
        )
    except Exception as exc:  # noqa: BLE001 - pandas parser errors
        raise FileFormatError(f"{path}: cannot parse the DeepLabCut CSV: {exc}") from exc
    if head.skip and isinstance(frame.index, pd.MultiIndex):
        frame.index = frame.index.droplevel(list(range(head.skip)))  # a re-save's row numbers
    frame = _restore_first_empty_frame(frame)
    if rename and isinstance(frame.columns, pd.MultiIndex):
        frame.columns = frame.columns.set_names(expected)
    return _unmangle_scorer(frame, path)


def _restore_first_empty_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Put back a first frame without values that pandas took for the index's name.

    With ``index_col``, a first data row ``0,,,,`` (a frame where nothing was detected) looks
    to pandas like a row naming the index: it becomes the index's name and the frame is lost.
    """
    name = frame.index.name if frame.index.nlevels == 1 else None
    if name is None or not str(name).strip().isdigit():
        frame.index.name = None if frame.index.nlevels == 1 else frame.index.name
        return frame
    row = int(str(name).strip())
    lost = pd.DataFrame(np.nan, index=[row], columns=frame.columns)
    if len(frame) and not pd.api.types.is_integer_dtype(frame.index):
        lost.index = lost.index.astype(frame.index.dtype)
    frame = pd.concat([lost, frame])
    frame.index.name = None
    return frame


def _unmangle_scorer(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """One scorer again when pandas renamed the repeated scorer ``s, s.1, s.2, ...``."""
    cols = frame.columns
    if not isinstance(cols, pd.MultiIndex):
        return frame
    scorers = [str(s) for s in cols.get_level_values(0)]
    if len(set(scorers)) == 1:
        return frame
    base = scorers[0]
    if scorers != [base] + [f"{base}.{i}" for i in range(1, len(scorers))]:
        return frame  # not pandas' renaming: _table_arrays reports the scorers found
    frame = frame.copy()
    frame.columns = pd.MultiIndex.from_arrays(
        [[base] * len(scorers)] + [cols.get_level_values(i) for i in range(1, cols.nlevels)],
        names=cols.names,
    )
    return frame


def _read_flat_csv(path: Path) -> pd.DataFrame | None:
    """A DeepLabCut table saved with one header row of column tuples, or None.

    ``DataFrame.to_csv`` after ``df.columns = [str(c) for c in df.columns]`` writes cells like
    ``"('scorer', 'snout', 'x')"``: unambiguous, so they are read. One header row of names
    joined with ``_`` (``snout_x``) cannot be split reliably: a clear error says so.
    """
    flat = flat_dlc_header(path)
    if flat is None:
        return None
    kind, names = flat
    if kind == "tuples":
        tuples = [ast.literal_eval(c) for c in names]
        try:
            frame = pd.read_csv(path, header=0, index_col=0, encoding="utf-8-sig")
        except Exception as exc:  # noqa: BLE001 - pandas parser errors
            raise FileFormatError(f"{path}: cannot parse the CSV: {exc}") from exc
        frame.columns = pd.MultiIndex.from_tuples(
            [tuple(str(v) for v in t) for t in tuples], names=_LEVELS[len(tuples[0])]
        )
        return frame
    if kind == "joined":
        raise FileFormatError(
            f"{path}: a CSV with one header row whose names look like flattened DeepLabCut "
            f"columns ({', '.join(names[:3])}, ...): the scorer, bodypart and coordinate "
            "parts of such names cannot be told apart reliably. Save the table with its "
            "header rows (scorer, [individuals,] bodyparts, coords), e.g. DataFrame.to_csv "
            "without flattening the columns"
        )
    return None


def _read_our_attrs(path: Path, key: str) -> dict[str, Any]:
    """fps/skeleton/individual written by save_dlc, read with h5py (never unpickles)."""
    import h5py

    out: dict[str, Any] = {}
    try:
        with h5py.File(path, "r") as f:
            attrs = f[key].attrs
            if f"{_ATTR}version" not in attrs:
                return {}
            out["version"] = attr_str(attrs[f"{_ATTR}version"])
            if f"{_ATTR}fps" in attrs:
                fps = float(np.asarray(attrs[f"{_ATTR}fps"]))
                if np.isfinite(fps) and fps > 0:
                    out["fps"] = fps
            if f"{_ATTR}skeleton" in attrs:
                edges = json_attr(attrs[f"{_ATTR}skeleton"])
                out["skeleton"] = [(str(a), str(b)) for a, b in edges]
            if f"{_ATTR}individual" in attrs:
                out["individual"] = attr_str(attrs[f"{_ATTR}individual"])
            stored = {k[len(_ATTR) :]: attr_str(v) for k, v in attrs.items() if k.startswith(_ATTR)}
            out["fields"] = fields_from_attrs(stored)
    except Exception:  # noqa: BLE001 - extra metadata only; the table itself was read
        return out if "version" in out else {}
    return out


def _scorer(frame: pd.DataFrame) -> str | None:
    cols = frame.columns
    if isinstance(cols, pd.MultiIndex) and cols.nlevels in _LEVELS:
        scorers = cols.get_level_values(0).unique()
        if len(scorers) == 1:
            return str(scorers[0])
    return None


def _table_arrays(frame: pd.DataFrame, where: str) -> dict[str, Any]:
    cols = frame.columns
    if not isinstance(cols, pd.MultiIndex) or cols.nlevels not in _LEVELS:
        names = list(cols.names) if isinstance(cols, pd.MultiIndex) else [cols.name]
        raise FileFormatError(
            f"{where}: columns are not a DeepLabCut layout: expected levels "
            f"{_LEVELS[3]} or {_LEVELS[4]}, got {cols.nlevels} level(s) {names}"
        )
    nlevels = cols.nlevels
    names = [None if n is None else str(n) for n in cols.names]
    if any(n is not None for n in names) and names != _LEVELS[nlevels]:
        raise FileFormatError(
            f"{where}: columns are not a DeepLabCut layout: expected levels "
            f"{_LEVELS[nlevels]}, got {names}"
        )
    levels = [[str(v) for v in cols.get_level_values(i)] for i in range(nlevels)]
    scorers = list(dict.fromkeys(levels[0]))
    if len(scorers) != 1:
        raise FileFormatError(f"{where}: expected one scorer, found {scorers}")
    coords = levels[-1]
    unknown = sorted(set(coords) - set(_KNOWN_COORDS))
    if unknown:
        raise FileFormatError(
            f"{where}: unknown coords {unknown} (a DeepLabCut table has x, y, likelihood; "
            "3D tables x, y, z)"
        )
    if cols.duplicated().any():
        dupes = [tuple(c) for c in cols[cols.duplicated()]]
        raise FileFormatError(f"{where}: repeated columns {dupes[:5]}")
    dims = ["x", "y", "z"] if "z" in coords else ["x", "y"]
    inds = levels[1] if nlevels == 4 else [""] * len(coords)
    bps = levels[-2]
    ind_names = list(dict.fromkeys(inds))
    kp_names = list(dict.fromkeys(bps))
    ind_index = {n: i for i, n in enumerate(ind_names)}
    kp_index = {n: i for i, n in enumerate(kp_names)}
    try:
        values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise FileFormatError(f"{where}: the table holds non-numeric values ({exc})") from exc

    n_frames = values.shape[0]
    data = np.full((n_frames, len(ind_names), len(kp_names), len(dims)), np.nan)
    conf = np.full((n_frames, len(ind_names), len(kp_names)), np.nan)
    inferred = None
    pairs: dict[tuple[str, str], dict[str, int]] = {}
    for j, (ind, bp, c) in enumerate(zip(inds, bps, coords, strict=True)):
        pairs.setdefault((ind, bp), {})[c] = j
    for (ind, bp), cmap in pairs.items():
        lacking = [d for d in dims if d not in cmap]
        if lacking:
            label = f"{ind}/{bp}" if ind else bp
            raise FileFormatError(f"{where}: bodypart {label} has no {lacking} column(s)")
        i, k = ind_index[ind], kp_index[bp]
        data[:, i, k, :] = values[:, [cmap[d] for d in dims]]
        if "likelihood" in cmap:
            conf[:, i, k] = values[:, cmap["likelihood"]]
        if "inferred" in cmap:
            if inferred is None:
                inferred = np.zeros(conf.shape, dtype=bool)
            inferred[:, i, k] = np.nan_to_num(values[:, cmap["inferred"]]) > 0.5
    return {
        "data": data,
        "confidence": conf,
        "keypoints": kp_names,
        "individuals": ind_names if nlevels == 4 else None,
        "inferred": inferred,
    }


def poses_from_dlc_table(
    frame: pd.DataFrame,
    *,
    source: Source | None = None,
) -> Poses:
    """Convert a DeepLabCut pandas table (as in the ``.h5``) to :class:`~liftpose_dlc.Poses`.

    See :func:`load_dlc` for the layout rules; ``source`` only names the table in errors and
    in the result.
    """
    source = source or Source(None, "DeepLabCut")
    arrays = _table_arrays(frame, source.describe())
    return Poses(
        arrays["data"],
        arrays["keypoints"],
        individuals=arrays["individuals"],
        confidence=arrays["confidence"],
        source=source,
    )


# ---------------------------------------------------------------------------- writing
def _has_values(poses: Poses) -> np.ndarray:
    """(n_individuals, n_keypoints): whether any frame has a coordinate or a confidence."""
    data_any = ~np.isnan(poses.data).all(axis=(0, 3))
    conf_any = ~np.isnan(poses.confidence).all(axis=0)
    return data_any | conf_any


def _column_pairs(poses: Poses) -> list[tuple[int, int]]:
    """(individual, keypoint) pairs to write, leaving unique bodyparts to ``single`` only."""
    n_ind, n_kp = poses.n_individuals, poses.n_keypoints
    all_pairs = [(i, k) for i in range(n_ind) for k in range(n_kp)]
    if n_ind == 1 or _SINGLE not in poses.individuals:
        return all_pairs
    s = poses.individuals.index(_SINGLE)
    has = _has_values(poses)
    others = [i for i in range(n_ind) if i != s]
    unique = [bool(has[s, k] and not has[others, k].any()) for k in range(n_kp)]
    if not any(unique):
        return all_pairs
    pairs = []
    for i in range(n_ind):
        for k in range(n_kp):
            if i == s:
                if unique[k] or has[s, k]:
                    pairs.append((i, k))
            elif not unique[k]:
                pairs.append((i, k))
    return pairs


def poses_to_dlc_table(
    poses: Poses,
    *,
    scorer: str = "liftpose-dlc",
    multianimal: bool | None = None,
) -> pd.DataFrame:
    """The DeepLabCut pandas table of a :class:`~liftpose_dlc.Poses` (see :func:`save_dlc`)."""
    where = poses.source.describe()
    if multianimal is None:
        multianimal = poses.n_individuals > 1
    if not multianimal and poses.n_individuals != 1:
        raise PosesValidationError(
            f"{where}: the single-animal layout holds one individual, got "
            f"{poses.n_individuals}; pass multianimal=True"
        )
    coords = ["x", "y", "likelihood"] if poses.n_dims == 2 else ["x", "y", "z"]
    if poses.n_dims == 3 and "confidence" in poses.provenance:
        # a lifter's error model made the confidence (liftpose_dlc.lifter.uncertainty)
        coords.append("likelihood")

    tuples: list[tuple[str, ...]] = []
    columns: list[np.ndarray] = []
    for i, k in _column_pairs(poses) if multianimal else _column_pairs_single(poses):
        head = (scorer, poses.individuals[i]) if multianimal else (scorer,)
        for c in coords:
            tuples.append((*head, poses.keypoints[k], c))
            if c in ("x", "y", "z"):
                columns.append(poses.data[:, i, k, "xyz".index(c)])
            else:
                columns.append(poses.confidence[:, i, k])
    values = np.stack(columns, axis=1) if columns else np.empty((poses.n_frames, 0))
    names = _LEVELS[4] if multianimal else _LEVELS[3]
    return pd.DataFrame(
        values,
        columns=pd.MultiIndex.from_tuples(tuples, names=names),
        index=pd.Index(np.arange(poses.n_frames, dtype=np.int64)),
    )


def _column_pairs_single(poses: Poses) -> list[tuple[int, int]]:
    return [(0, k) for k in range(poses.n_keypoints)]


def save_dlc(
    poses: Poses,
    path: str | os.PathLike,
    *,
    scorer: str = "liftpose-dlc",
    overwrite: bool = False,
    save_as_csv: bool = False,
    inferred: np.ndarray | None = None,
    multianimal: bool | None = None,
    units: str | None = None,
    frame: str | None = None,
) -> Path:
    """Write poses in DeepLabCut's layout (HDF5 readable by pandas 2.x and 3.x, and CSV).

    Parameters
    ----------
    poses
        2D or 3D poses.
    path
        Destination. ``.h5``: an HDF5 file (key ``df_with_missing``, pandas *fixed* format, as
        DeepLabCut writes it; pandas 3's table format is not readable by the pandas 2.x that
        DeepLabCut pins). ``.csv``: only a CSV.
    scorer
        The value of the ``scorer`` column level.
    overwrite
        Replace existing files; otherwise :class:`~liftpose_dlc.errors.OutputExistsError`.
    save_as_csv
        With a ``.h5`` path, also write the same table as ``.csv`` beside it.
    inferred
        Optional boolean mask (n_frames, n_individuals, n_keypoints): True where the 3D is
        the lifter's estimate of a point missing in 2D. Written to the ``.h5`` only, as the
        HDF5 array :data:`INFERRED_KEY` (uint8, the poses' individual and keypoint names as
        JSON attributes) beside the table, so that the table keeps DeepLabCut's ``x, y, z``
        columns (movement and DeepLabCut read it); :func:`load_dlc_inferred` reads it.
    multianimal
        Force the layout: ``(scorer, individuals, bodyparts, coords)`` if True,
        ``(scorer, bodyparts, coords)`` if False. Default: multi-animal when there is more than
        one individual.
    units, frame
        Units and coordinate frame of the coordinates (e.g. ``"mm"`` and a lifter's
        ``"camera"``), stored as the HDF5 attributes ``liftpose_dlc_units``
        and ``liftpose_dlc_frame`` (``"unknown"`` when None; 2D tables: not written).

    Returns
    -------
    Path
        The file written (the ``.h5``, or the ``.csv`` for a ``.csv`` path).

    Notes
    -----
    Columns: ``x, y, likelihood`` (likelihood = ``confidence``) for 2D, ``x, y, z`` for 3D
    (DeepLabCut's triangulated layout; the 2D confidence a 3D point carries is not written),
    and ``x, y, z, likelihood`` for 3D whose confidence a lifter's error model made (its
    ``provenance`` has ``confidence``: the probability that the point's error is below the
    recorded tolerance, see :mod:`liftpose_dlc.lifter.uncertainty`). The index is the frame
    number. An individual named ``single`` gets only the keypoints no other individual has
    data for (DeepLabCut's unique bodyparts), and the other individuals do not get those.
    The HDF5 group also carries attributes ``liftpose_dlc_version``, ``liftpose_dlc_fps``,
    ``liftpose_dlc_skeleton`` (JSON), ``liftpose_dlc_units``, ``liftpose_dlc_frame``, the
    lifter and the 2D source (``liftpose_dlc_lifter_name``, ``..._lifter_version``,
    ``..._lifter_training_data``, ``..._source_2d_file``, ``..._source_2d_software``, see
    :mod:`liftpose_dlc.io.metadata`) and, for the single-animal layout,
    ``liftpose_dlc_individual``, which :func:`load_dlc` reads back (pandas ignores them).
    The CSV cannot carry them. Writes are atomic: a failure leaves no partial file.

    Examples
    --------
    >>> save_dlc(poses_3d, "videos/m3v1mp4_3d.h5")  # doctest: +SKIP
    PosixPath('videos/m3v1mp4_3d.h5')
    """
    dest = Path(path).expanduser()
    suffix = dest.suffix.lower()
    if suffix not in (".h5", ".hdf5", ".csv"):
        raise FileFormatError(f"{dest}: save_dlc writes .h5 or .csv files, got {suffix!r}")
    table = poses_to_dlc_table(poses, scorer=scorer, multianimal=multianimal)
    if inferred is not None:
        inferred = poses.point_mask(inferred, "inferred")
        if suffix == ".csv":
            raise FileFormatError(
                f"{dest}: a CSV cannot hold the inferred mask; write a .h5 (save_as_csv=True "
                "adds the CSV beside it)"
            )
    if suffix == ".csv":
        with atomic_path(dest, overwrite, verify=same_csv_table(table)) as tmp:
            table.to_csv(tmp)
        return dest
    csv_dest = dest.with_suffix(".csv") if save_as_csv else None
    check_overwrite(dest, overwrite)
    if csv_dest is not None:
        check_overwrite(csv_dest, overwrite)
    with atomic_path(dest, overwrite, verify=same_hdf_table(table)) as tmp:
        _write_hdf(
            table, tmp, poses, multianimal=table.columns.nlevels == 4, units=units, frame=frame
        )
        if inferred is not None:
            write_inferred(tmp, poses, inferred)
        if csv_dest is not None:
            with atomic_path(csv_dest, overwrite, verify=same_csv_table(table)) as tmp_csv:
                table.to_csv(tmp_csv)
    return dest


def _write_hdf(
    table: pd.DataFrame,
    tmp: Path,
    poses: Poses,
    *,
    multianimal: bool,
    units: str | None = None,
    frame: str | None = None,
) -> None:
    """Build the file in memory, then write its bytes (a full disk gives one clean error)."""
    from liftpose_dlc._version import __version__

    with memory_store() as (store, image):
        store.put(HDF_KEY, table, format="fixed", track_times=False)
        attrs = store.get_storer(HDF_KEY).attrs
        # plain strings and floats only (no pickled attributes)
        setattr(attrs, f"{_ATTR}version", str(__version__))
        setattr(attrs, f"{_ATTR}skeleton", json.dumps([list(e) for e in poses.skeleton.edges]))
        if poses.fps is not None:
            setattr(attrs, f"{_ATTR}fps", float(poses.fps))
        if not multianimal:
            setattr(attrs, f"{_ATTR}individual", str(poses.individuals[0]))
        for name, value in output_attrs(poses).items():
            if name not in ("fps", "liftpose_dlc_version"):
                setattr(attrs, f"{_ATTR}{name}", value)
        if poses.n_dims == 3:  # explicit units / frame (e.g. the lifter's) win
            if units is not None:
                setattr(attrs, f"{_ATTR}units", str(units))
            if frame is not None:
                setattr(attrs, f"{_ATTR}frame", str(frame))
    write_image(image[0], tmp)


def write_inferred(path: Path, poses: Poses, inferred: np.ndarray | None = None) -> None:
    """Add the inferred mask of ``poses`` to a DeepLabCut ``.h5`` as :data:`INFERRED_KEY`.

    ``inferred`` None writes an all-False mask of the poses' shape (filled later by a
    chunked writer).
    """
    import h5py

    shape = (poses.n_frames, poses.n_individuals, poses.n_keypoints)
    mask = np.zeros(shape, np.uint8) if inferred is None else inferred.astype(np.uint8)
    with h5py.File(path, "a") as f:
        ds = f.create_dataset(INFERRED_KEY, data=mask, maxshape=(None, *shape[1:]))
        ds.attrs["individuals"] = json.dumps(list(poses.individuals))
        ds.attrs["keypoints"] = json.dumps(list(poses.keypoints))
        ds.attrs["dims"] = json.dumps(["frame", "individual", "keypoint"])
        ds.attrs["Description"] = (
            "1 where the 2D point was missing and the 3D is the lifter's estimate"
        )


def _same_values(path: Path, expected: pd.DataFrame, got: pd.DataFrame, rtol: float) -> None:
    if got.shape != expected.shape:
        raise ValueError(
            f"{got.shape[0]} rows x {got.shape[1]} columns read back, "
            f"{expected.shape[0]} x {expected.shape[1]} written"
        )
    if not np.array_equal(got.index.to_numpy(), expected.index.to_numpy()):
        raise ValueError("the frame index read back differs")
    a, b = got.to_numpy(dtype=np.float64), expected.to_numpy(dtype=np.float64)
    same = (
        np.allclose(a, b, rtol=rtol, atol=0.0, equal_nan=True)
        if rtol
        else (np.array_equal(a, b, equal_nan=True))
    )
    if not same:
        raise ValueError("the values read back differ from those written")


def same_hdf_table(frame: pd.DataFrame) -> Any:
    """A check for :func:`~liftpose_dlc._filesystem.atomic_path`: the ``.h5`` holds ``frame``."""

    def verify(path: Path) -> None:
        got = pd.read_hdf(path, HDF_KEY)
        if not isinstance(got, pd.DataFrame):
            raise ValueError(f"a {type(got).__name__} read back, a table written")
        _same_values(path, frame, got, rtol=0.0)

    return verify


def same_csv_table(frame: pd.DataFrame) -> Any:
    """A check for :func:`~liftpose_dlc._filesystem.atomic_path`: the ``.csv`` holds ``frame``."""

    def verify(path: Path) -> None:
        n_levels = frame.columns.nlevels
        # the index is set after reading (see _read_csv: a first frame without values)
        got = pd.read_csv(path, header=list(range(n_levels)))
        got = got.set_index(got.columns[0])
        _same_values(path, frame, got, rtol=1e-12)

    return verify


# ------------------------------------------------------------------------- registry
def _sniff(probe: Probe) -> bool:
    if probe.is_hdf5:
        return bool(probe.h5["pandas"])
    if dlc_csv_head(probe.path) is not None:  # the CSV variants _read_csv reads
        return True
    from liftpose_dlc.io.anipose import is_anipose_csv_header

    if probe.first_row and is_anipose_csv_header(probe.first_row):
        return False  # its x/y/z columns look like a flattened table: Anipose's sniffer decides
    flat = flat_dlc_header(probe.path)  # read, or explained, by _read_csv
    # joined names are <bodypart>_<coord>: a plain x, y table is no DeepLabCut table
    return flat is not None and (flat[0] == "tuples" or any("_" in n for n in flat[1]))


def _like_options(path: Path) -> dict[str, Any]:
    """The scorer and layout of the DeepLabCut table ``path``: a result is written like it."""
    from liftpose_dlc.io.dlc_stream import DLCChunkReader

    with DLCChunkReader(path) as reader:
        return {"scorer": reader.scorer, "multianimal": reader.multianimal}


def _file_dims(probe: Probe) -> int:
    """3 for a table of x, y, z (its chunk reader's ``n_dims`` tells it from the same header)."""
    return 3 if find_dlc_3d_key(probe.path) is not None else 2


def _chunk_reader(path: str | os.PathLike, **options: Any) -> Any:
    from liftpose_dlc.io.dlc_stream import DLCChunkReader

    return DLCChunkReader(path, **options)


def _chunk_writer(path: str | os.PathLike, n_frames: int, **options: Any) -> Any:
    from liftpose_dlc.io.dlc_stream import open_dlc_writer

    return open_dlc_writer(path, n_frames, **options)


FORMATS = (
    Format(
        name="dlc",
        description="a DeepLabCut .h5/.csv table",
        sniff=_sniff,
        read=load_dlc,
        dims=(2, 3),
        software=("DeepLabCut",),
        write=save_dlc,
        suffixes=(".h5", ".hdf5", ".csv"),
        write_as="dlc",
        like_options=_like_options,
        chunk_reader=_chunk_reader,
        chunk_writer=_chunk_writer,
        file_dims=_file_dims,
    ),
)
