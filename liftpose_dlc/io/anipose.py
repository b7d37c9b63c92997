"""Anipose 3D poses: the ``pose-3d/*.csv`` tables written by ``anipose triangulate``.

Each row is a frame; for every bodypart ``bp`` the table has ``bp_x``, ``bp_y``, ``bp_z``
(the 3D position), ``bp_error`` (mean reprojection error in pixels), ``bp_ncams`` (cameras
used) and ``bp_score`` (the lowest 2D score among them). The table also holds
``M_00`` … ``M_22`` and ``center_0`` … ``center_2``: when Anipose's config sets
``triangulation.axes`` and ``reference_point``, the stored points are rotated and shifted
into that body-aligned frame, ``X_file = X_calibration @ Mᵀ - center``. Anipose's own
``project_2d`` undoes this (``X_calibration = (X_file + center) @ M⁻ᵀ``) before projecting
with ``calibration.toml``; :func:`load_anipose_3d` does the same with ``frame="calibration"``.

Bodyparts keep the file's column order (movement's reader sorts them alphabetically;
this one does not).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from liftpose_dlc._filesystem import check_file
from liftpose_dlc.errors import FileFormatError
from liftpose_dlc.io.registry import Format, Probe
from liftpose_dlc.poses import Poses, Source

__all__ = ["load_anipose_3d", "read_anipose_alignment", "is_anipose_csv_header"]


def is_anipose_csv_header(columns: list[str]) -> bool:
    """Whether a CSV header looks like an Anipose 3D table (``<bp>_x``, ``_y``, ``_z`` …)."""
    cols = set(columns)
    return any(
        c.endswith("_x") and f"{c[:-2]}_y" in cols and f"{c[:-2]}_z" in cols for c in columns
    ) and any(c.endswith(("_error", "_score", "_ncams")) for c in columns)


def _bodyparts(columns: list[str]) -> list[str]:
    cols = set(columns)
    return [
        c[:-2]
        for c in columns
        if c.endswith("_x") and f"{c[:-2]}_y" in cols and f"{c[:-2]}_z" in cols
    ]


def _read(path: str | os.PathLike) -> tuple[Path, pd.DataFrame]:
    p = check_file(path, "Anipose 3D table")
    try:
        df = pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{p}: not a readable CSV table ({exc})") from exc
    if not is_anipose_csv_header([str(c) for c in df.columns]):
        raise FileFormatError(
            f"{p}: not an Anipose 3D table: expected columns <bodypart>_x, _y, _z, _error, "
            f"_ncams, _score; got {list(df.columns)[:10]}"
        )
    return p, df


def read_anipose_alignment(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """The alignment Anipose applied to a 3D table: ``X_file = X_calibration @ Mᵀ - center``.

    Returns
    -------
    M : numpy.ndarray
        The 3 × 3 rotation (identity when the table has no ``M_*`` columns, as in Anipose
        versions before the axes option, or when no axes were configured).
    center : numpy.ndarray
        The offset (zeros when absent).

    Raises
    ------
    FileFormatError
        If the ``M_*``/``center_*`` columns are incomplete, vary between rows, are not
        finite, or ``M`` is singular.
    """
    p, df = _read(path)
    return _alignment(p, df)


def _alignment(p: Path, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    m_cols = [f"M_{i}{j}" for i in range(3) for j in range(3)]
    c_cols = [f"center_{i}" for i in range(3)]
    present_m = [c for c in m_cols if c in df.columns]
    present_c = [c for c in c_cols if c in df.columns]
    if present_m and len(present_m) != 9 or present_c and len(present_c) != 3:
        raise FileFormatError(
            f"{p}: incomplete alignment columns: M has {present_m}, center has {present_c}"
        )
    M = np.eye(3)
    center = np.zeros(3)
    for cols, target in ((present_m, M), (present_c, center)):
        if not cols:
            continue
        values = df[cols].to_numpy(dtype=np.float64)
        if len(values) == 0:
            continue
        if not np.all(np.isfinite(values)):
            raise FileFormatError(f"{p}: non-finite values in columns {cols}")
        if np.ptp(values, axis=0).max() > 1e-9 * max(1.0, np.abs(values).max()):
            raise FileFormatError(f"{p}: columns {cols} change between rows; expected constants")
        target.flat[:] = values[0]
    if abs(np.linalg.det(M)) < 1e-9:
        raise FileFormatError(f"{p}: the alignment matrix M is singular:\n{M}")
    return M, center


def load_anipose_3d(
    path: str | os.PathLike,
    *,
    frame: Literal["calibration", "file"] = "calibration",
    max_error: float | None = None,
    fps: float | None = None,
) -> Poses:
    """Read an Anipose ``pose-3d/*.csv`` table.

    Parameters
    ----------
    path
        The CSV file written by ``anipose triangulate``.
    frame
        ``"calibration"`` (default): undo the ``M``/``center`` alignment, so that the poses
        are in the world frame of the session's ``calibration.toml`` and can be projected
        with its cameras (as Anipose's ``project_2d`` does). ``"file"``: keep the values as
        stored (the body-aligned frame when Anipose's ``axes`` option was set).
        :func:`read_anipose_alignment` gives ``M`` and ``center``.
    max_error
        If given, points whose ``_error`` (reprojection error, pixels) exceeds it become NaN.
    fps
        Frame rate to record in the result (the table does not store it).

    Returns
    -------
    Poses
        ``(n_frames, 1, n_bodyparts, 3)`` with ``_score`` as confidence, bodyparts in the
        file's order.

    Raises
    ------
    FileFormatError
        If the file is not an Anipose 3D table or its alignment columns are invalid.
    """
    p, df = _read(path)
    if frame not in ("calibration", "file"):
        raise ValueError(f"frame must be 'calibration' or 'file', got {frame!r}")
    bodyparts = _bodyparts([str(c) for c in df.columns])
    n = len(df)
    data = np.empty((n, len(bodyparts), 3))
    conf = np.full((n, len(bodyparts)), np.nan)
    for j, bp in enumerate(bodyparts):
        try:
            data[:, j] = df[[f"{bp}_x", f"{bp}_y", f"{bp}_z"]].to_numpy(dtype=np.float64)
            if f"{bp}_score" in df.columns:
                conf[:, j] = df[f"{bp}_score"].to_numpy(dtype=np.float64)
            if max_error is not None and f"{bp}_error" in df.columns:
                err = df[f"{bp}_error"].to_numpy(dtype=np.float64)
                data[~(err <= max_error), j] = np.nan
        except (ValueError, TypeError) as exc:
            raise FileFormatError(
                f"{p}: non-numeric values in the columns of {bp!r} ({exc})"
            ) from exc
    if frame == "calibration":
        M, center = _alignment(p, df)
        data = (data + center) @ np.linalg.inv(M.T)
    return Poses(
        data[:, None],
        bodyparts,
        confidence=conf[:, None],
        fps=fps,
        source=Source(p, "Anipose"),
    )


# ------------------------------------------------------------------------- registry
def _sniff(probe: Probe) -> bool:
    return bool(probe.first_row) and is_anipose_csv_header(probe.first_row)


FORMATS = (
    Format(
        name="anipose",
        description="an Anipose pose-3d CSV",
        sniff=_sniff,
        read=load_anipose_3d,
        dims=(3,),
        software=("Anipose",),
    ),
)
