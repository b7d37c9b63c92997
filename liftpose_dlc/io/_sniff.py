"""Look at a file's first bytes to tell which kind of file it is (used by the readers)."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import NamedTuple

from liftpose_dlc.io._hdf5 import is_hdf5

__all__ = [
    "is_hdf5",
    "read_head",
    "first_csv_cells",
    "describe_content",
    "dlc_csv_head",
    "DLCCSVHead",
    "flat_dlc_header",
]


def read_head(path: str | os.PathLike, n: int = 4096) -> bytes:
    """The first ``n`` bytes of a file (fewer if it is shorter)."""
    with open(path, "rb") as fh:
        return fh.read(n)


def first_csv_cells(path: str | os.PathLike, n_rows: int = 6) -> list[list[str]] | None:
    """The first rows of a text file split on commas, or None if it does not look like text.

    Lines may be long (a multi-animal DeepLabCut CSV header has one cell per column); each is
    read up to 16 MiB.
    """
    lines = first_text_lines(path, n_rows)
    return None if lines is None else [line.split(",") for line in lines]


def first_text_lines(path: str | os.PathLike, n_rows: int = 6) -> list[str] | None:
    """The first ``n_rows`` lines of a text file (UTF-8, a byte-order mark dropped), or None.

    None when the file does not look like text (a NUL byte in its head, or not UTF-8). Lines
    may be long (a multi-animal DeepLabCut CSV header has one cell per column); each is read
    up to 16 MiB.
    """
    if b"\x00" in read_head(path, 4096):
        return None
    lines: list[str] = []
    with open(path, "rb") as fh:
        for i in range(n_rows):
            raw = fh.readline(16 * 1024 * 1024)
            if not raw:
                break
            try:
                lines.append(raw.decode("utf-8-sig" if i == 0 else "utf-8").rstrip("\r\n"))
            except UnicodeDecodeError:
                return None
    return lines


def describe_content(path: str | os.PathLike) -> str:
    """A few words on what a file looks like, for error messages."""
    head = read_head(path, 16)
    if head.startswith(b"\x89PNG"):
        return "a PNG image"
    if head[:3] == b"\xff\xd8\xff":
        return "a JPEG image"
    if head[4:8] == b"ftyp":
        return "an MP4/MOV video"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive (e.g. .npz)"
    if head.startswith(b"\x93NUMPY"):
        return "a NumPy .npy array"
    if head[:1] == b"\x80":
        return "a Python pickle"
    if not head:
        return "an empty file"
    if Path(path).exists() and is_hdf5(path):
        return "an HDF5 file"
    if first_csv_cells(path) is not None:
        return "a text file"
    return "a binary file of unknown type"


class DLCCSVHead(NamedTuple):
    """How a DeepLabCut CSV is laid out, seen from its first lines.

    ``sep`` is the field separator (``,``, or ``;``/tab of spreadsheet exports), ``skip``
    the number of columns before the ``scorer`` column (a row index that pandas added when
    the table was re-saved), ``rows`` the first lines split on ``sep``, quotes removed.
    """

    sep: str
    skip: int
    rows: list[list[str]]


_SEPARATORS = (",", ";", "\t")


def dlc_csv_head(path: str | os.PathLike, n_rows: int = 6) -> DLCCSVHead | None:
    """The layout of a DeepLabCut CSV, or None if the file does not start like one.

    A DeepLabCut CSV starts with a row ``scorer,<scorer>,...``; accepted variants: a
    byte-order mark, ``;`` or tab separators, CRLF line ends, another name than ``scorer``
    in the first cell (when the next rows are ``bodyparts``/``coords``), and one leading
    column of row numbers (``,scorer,...``, as ``DataFrame.to_csv`` writes a table read
    with one header row).
    """
    lines = first_text_lines(path, n_rows)
    if not lines:
        return None
    for sep in _SEPARATORS:
        if sep not in lines[0]:
            continue
        try:
            rows = [[c.strip() for c in r] for r in csv.reader(lines, delimiter=sep)]
        except csv.Error:
            continue
        first = rows[0] if rows else []
        firsts = [r[0] if r else "" for r in rows]
        renamed = firsts[1:3] in (["bodyparts", "coords"], ["individuals", "bodyparts"])
        if first[:1] == ["scorer"] or (len(first) > 1 and renamed):
            return DLCCSVHead(sep, 0, rows)
        if len(first) > 1 and first[1] == "scorer" and first[0] in ("", "Unnamed: 0"):
            return DLCCSVHead(sep, 1, rows)
    return None


def flat_dlc_header(path: str | os.PathLike) -> tuple[str, list[str]] | None:
    """A DeepLabCut table saved with ONE header row: ``("tuples" | "joined", names)``.

    ``"tuples"``: every column name is a tuple's text, ``"('scorer', 'snout', 'x')"`` (a
    table whose columns were turned into strings): unambiguous. ``"joined"``: most names end
    in ``_x``, ``_y`` or ``_likelihood`` (columns joined with ``_``): ambiguous. None for
    anything else.
    """
    import ast

    if b"\x00" in read_head(path, 4096):
        return None
    with open(path, "rb") as fh:
        raw = fh.readline(16 * 1024 * 1024)
    try:
        first = next(csv.reader([raw.decode("utf-8-sig").rstrip("\r\n")]))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return None
    names = [c.strip() for c in first[1:]]
    if not names:
        return None
    lengths = set()
    for cell in names:
        try:
            value = ast.literal_eval(cell) if cell.startswith("(") else None
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            value = None
        if not isinstance(value, tuple) or len(value) not in (3, 4):
            break
        lengths.add(len(value))
    else:
        if len(lengths) == 1:
            return "tuples", names
    coord_like = [c for c in names if c.rsplit("_", 1)[-1] in ("x", "y", "z", "likelihood")]
    if len(coord_like) * 2 >= len(names):
        return "joined", names
    return None
