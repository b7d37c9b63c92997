"""DeepFly3D network 2D predictions (``preds_*.pkl``) and their triangulation into 3D.

DeepFly3D's 2D predictions are one array ``(n_slots, n_frames, 19, 2)`` per recording,
normalised by the image size (pixels = value × (width, height)). Each side camera holds the
19 points of the side it sees: three legs of five joints (``Coxa``, ``Femur``, ``Tibia``,
``Tarsus``, ``Claw``), the antenna and three abdominal stripes. Slots 0–2 hold the right
side and slots 4–6 the left; slot 3 (the front camera) and slot 7 are empty.

QUIRK (NeuroMechFly's walking recording): slots 0, 1, 2 pair with calibration cameras 0, 1,
2, but slots 4, 5, 6 pair with cameras 6, 5, 4 (reversed); with that pairing a 3-camera DLT
reprojects the legs within a few pixels. The two camera triplets share no point, so each
side is triangulated on its own (its placement relative to the other side is not
constrained by the data): :func:`triangulate_df3d_2d` returns the two sides in one array,
but only positions within a side are meaningful.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from liftpose_dlc._filesystem import check_file
from liftpose_dlc.errors import FileFormatError
from liftpose_dlc.io._pickle import load_pickle
from liftpose_dlc.io.df3d import DF3D_LEG_SEGMENTS
from liftpose_dlc.poses import Poses, Source

__all__ = [
    "DF3D_SIDE_POINTS",
    "NEUROMECHFLY_SLOT_CAMERAS",
    "load_df3d_2d",
    "triangulate_df3d_2d",
]

#: The 19 point names of one side, with ``{s}`` the side letter.
DF3D_SIDE_POINTS = tuple(
    [f"{{s}}{leg}_{seg}" for leg in "FMH" for seg in DF3D_LEG_SEGMENTS]
    + ["{s}_Antenna", "{s}_Stripe_1", "{s}_Stripe_2", "{s}_Stripe_3"]
)
#: prediction slot -> (calibration camera, side) for NeuroMechFly's walking recording.
NEUROMECHFLY_SLOT_CAMERAS: dict[int, tuple[int, str]] = {
    0: (0, "R"),
    1: (1, "R"),
    2: (2, "R"),
    4: (6, "L"),
    5: (5, "L"),
    6: (4, "L"),
}


def _names(side: str) -> list[str]:
    return [n.format(s=side) for n in DF3D_SIDE_POINTS]


def load_df3d_2d(
    path: str | os.PathLike,
    *,
    image_size: tuple[int, int] = (960, 480),
    slot_cameras: Mapping[int, tuple[int, str]] | None = None,
) -> dict[int, Poses]:
    """Read DeepFly3D 2D predictions as one 2D :class:`Poses` per calibration camera.

    Parameters
    ----------
    path
        The ``preds_*.pkl`` (one array ``(n_slots, n_frames, 19, 2)``, normalised).
    image_size
        ``(width, height)`` in pixels that the normalised values are scaled by.
    slot_cameras
        ``{slot: (camera id, side)}``; default :data:`NEUROMECHFLY_SLOT_CAMERAS`.

    Returns
    -------
    dict
        ``{camera id: Poses (n_frames, 1, 19, 2)}`` in pixels, keypoints named for the
        side the camera sees (``RF_Coxa`` ... ``R_Stripe_3``); all-zero points are NaN.

    Raises
    ------
    FileFormatError
        If the pickle is not one array of that shape.
    """
    p = check_file(path, "DeepFly3D 2D predictions")
    arr = load_pickle(p, "DeepFly3D 2D predictions")
    arr = np.asarray(arr, dtype=np.float64) if isinstance(arr, np.ndarray) else None
    if arr is None or arr.ndim != 4 or arr.shape[2] != 19 or arr.shape[3] != 2:
        raise FileFormatError(
            f"{p}: expected one array (n_slots, n_frames, 19, 2) of DeepFly3D predictions"
        )
    mapping = NEUROMECHFLY_SLOT_CAMERAS if slot_cameras is None else slot_cameras
    out = {}
    for slot, (cam, side) in mapping.items():
        if slot >= arr.shape[0]:
            raise FileFormatError(f"{p}: no slot {slot} (the file has {arr.shape[0]})")
        xy = arr[slot] * np.asarray(image_size, dtype=np.float64)
        xy[(arr[slot] == 0).all(-1)] = np.nan
        out[int(cam)] = Poses(
            xy[:, None], _names(side), source=Source(p, f"DeepFly3D camera {cam}")
        )
    return out


def _dlt(projections: Sequence[np.ndarray], points: Sequence[np.ndarray]) -> np.ndarray:
    """Linear triangulation of ``(N, 2)`` points seen by ``(3, 4)`` projections -> ``(N, 3)``."""
    rows = []
    for P, uv in zip(projections, points, strict=True):
        rows.append(uv[:, 0:1] * P[2] - P[0])
        rows.append(uv[:, 1:2] * P[2] - P[1])
    a = np.stack(rows, axis=1)  # (N, 2C, 4)
    ok = np.isfinite(a).all(axis=(1, 2))
    out = np.full((a.shape[0], 3), np.nan)
    if ok.any():
        _, _, vt = np.linalg.svd(a[ok])
        h = vt[:, -1]
        out[ok] = h[:, :3] / h[:, 3:4]
    return out


def triangulate_df3d_2d(
    preds_path: str | os.PathLike,
    calibration: str | os.PathLike,
    *,
    image_size: tuple[int, int] = (960, 480),
    slot_cameras: Mapping[int, tuple[int, str]] | None = None,
    scale: float = 1.0,
) -> Poses:
    """Triangulate DeepFly3D 2D predictions into 3D leg joints, each side on its own.

    Parameters
    ----------
    preds_path
        The ``preds_*.pkl`` (see :func:`load_df3d_2d`).
    calibration
        The session's DeepFly3D calibration pickle (cameras 0–6: ``R``, ``tvec``, ``intr``,
        ``distort``).
    image_size, slot_cameras
        As for :func:`load_df3d_2d`.
    scale
        The 3D is divided by this (the calibration's units per output unit).

    Returns
    -------
    Poses
        ``(n_frames, 1, 30, 3)``: the leg joints of both sides in DeepFly3D's naming
        (``LF_Coxa`` ... ``RH_Claw``, left legs first), in the calibration's world frame
        divided by ``scale``. Antenna and stripes are not triangulated (the views disagree
        on them). The two sides come from disjoint cameras: their relative placement is
        not meaningful.

    Raises
    ------
    FileFormatError
        If the files do not hold what is expected.
    """
    from liftpose_dlc.io.calibration import load_calibration

    cams = load_calibration(calibration)
    by_id = {}
    for name, cam in cams.items():
        by_id[int(str(name).rsplit("_", 1)[-1])] = cam
    views = load_df3d_2d(preds_path, image_size=image_size, slot_cameras=slot_cameras)
    mapping = NEUROMECHFLY_SLOT_CAMERAS if slot_cameras is None else slot_cameras
    names: list[str] = []
    columns = []
    for side in ("L", "R"):
        ids = [cam for cam, s in mapping.values() if s == side]
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise FileFormatError(f"{calibration}: no cameras {missing} in the calibration")
        side_names = _names(side)[:15]
        for j, kp in enumerate(side_names):
            uv = [views[i].data[:, 0, j] for i in ids]
            uv = [
                by_id[i].undistort_points(u) if by_id[i].has_distortion else u
                for i, u in zip(ids, uv, strict=True)
            ]
            columns.append(_dlt([by_id[i].P for i in ids], uv) / scale)
            names.append(kp)
    data = np.stack(columns, axis=1)[:, None]
    edges = [(a, b) for a, b in zip(names[:-1], names[1:], strict=True) if a[:2] == b[:2]]
    return Poses(data, names, skeleton=edges, source=Source(preds_path, "DeepFly3D (triangulated)"))
