"""Look at a file's first bytes to tell which kind of file it is (used by the readers)."""

from __future__ import annotations

import os
from pathlib import Path

from liftpose_dlc.io._hdf5 import is_hdf5

__all__ = ["read_head", "first_csv_cells", "describe_content"]


def read_head(path: str | os.PathLike, n: int = 4096) -> bytes:
    """The first ``n`` bytes of a file (fewer if it is shorter)."""
    with open(path, "rb") as fh:
        return fh.read(n)


def first_csv_cells(path: str | os.PathLike, n_rows: int = 6) -> list[list[str]] | None:
    """The first rows of a text file split on commas, or None if it does not look like text.

    Lines may be long (a multi-animal DeepLabCut CSV header has one cell per column); each is
    read up to 16 MiB.
    """
    if b"\x00" in read_head(path, 4096):
        return None
    rows = []
    with open(path, "rb") as fh:
        for i in range(n_rows):
            line = fh.readline(16 * 1024 * 1024)
            if not line:
                break
            try:
                text = line.decode("utf-8-sig" if i == 0 else "utf-8")
            except UnicodeDecodeError:
                return None
            rows.append(text.rstrip("\r\n").split(","))
    return rows


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
