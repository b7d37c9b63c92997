"""STAC-MJX motion-capture keypoints: an HDF5 ``tracks`` array and the model's YAML config.

stac-mjx's test mocap (``test_mouse_mocap_3600_frames.h5``) is one HDF5 dataset ``tracks``
``(n_frames, n_tracks, n_keypoints, 3)`` in mm with no names; the names are ``KP_NAMES`` of
the STAC model config (``test_mouse.yaml``). The config's other keypoint lists use names
that are not all in ``KP_NAMES`` (an upstream quirk), so only ``KP_NAMES`` is read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from liftpose_dlc._filesystem import check_file
from liftpose_dlc.errors import FileFormatError, KeypointError
from liftpose_dlc.poses import Poses, Source

__all__ = ["load_stac_keypoint_names", "load_stac_mocap", "STAC_MOUSE_SKELETON"]

#: Skeleton edges of the STAC mouse keypoints (``test_mouse.yaml``'s ``KP_NAMES``), by anatomy.
STAC_MOUSE_SKELETON: tuple[tuple[str, str], ...] = (
    ("Nose", "Head"),
    ("Head", "Eye_L"),
    ("Head", "Eye_R"),
    ("Head", "Ear_L"),
    ("Head", "Ear_R"),
    ("Head", "Neck"),
    ("Neck", "Spine"),
    ("Spine", "Trunk"),
    ("Trunk", "TTI"),
    ("TTI", "Tail_0"),
    ("Tail_0", "Tail_1"),
    ("Tail_1", "Tail_2"),
    ("Tail_2", "Tail_3"),
    ("Tail_3", "Tail_4"),
    ("Tail_4", "TailTip"),
    ("Neck", "Shoulder_L"),
    ("Shoulder_L", "Elbow_L"),
    ("Elbow_L", "Wrist_L"),
    ("Wrist_L", "Forepaw_L"),
    ("Neck", "Shoulder_R"),
    ("Shoulder_R", "Elbow_R"),
    ("Elbow_R", "Wrist_R"),
    ("Wrist_R", "Forepaw_R"),
    ("TTI", "Hip_L"),
    ("Hip_L", "Knee_L"),
    ("Knee_L", "Heel_L"),
    ("Heel_L", "Lisfranc_L"),
    ("Lisfranc_L", "MTP_L"),
    ("TTI", "Hip_R"),
    ("Hip_R", "Knee_R"),
    ("Knee_R", "Heel_R"),
    ("Heel_R", "Lisfranc_R"),
    ("Lisfranc_R", "MTP_R"),
)


def load_stac_keypoint_names(path: str | os.PathLike) -> list[str]:
    """``KP_NAMES`` of a STAC-MJX model config (YAML).

    Raises
    ------
    FileFormatError
        If the file is not YAML or has no list ``KP_NAMES``.
    """
    import yaml

    p = check_file(path, "STAC model config")
    try:
        cfg = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise FileFormatError(f"{p}: not a YAML STAC config: {err}") from None
    names = cfg.get("KP_NAMES") if isinstance(cfg, dict) else None
    if not isinstance(names, list) or not names:
        raise FileFormatError(f"{p}: no KP_NAMES list (the keypoint order of the mocap data)")
    return [str(n) for n in names]


def load_stac_mocap(
    path: str | os.PathLike,
    config: str | os.PathLike | None = None,
    *,
    keypoints: Sequence[str] | None = None,
    dataset: str = "tracks",
    fps: float | None = None,
) -> Poses:
    """Read STAC-MJX mocap keypoints (HDF5 ``tracks``) as 3D :class:`Poses`.

    Parameters
    ----------
    path
        The HDF5 file with ``tracks`` ``(n_frames, n_tracks, n_keypoints, 3)``.
    config
        The STAC model config (YAML) whose ``KP_NAMES`` names the keypoints; or give
        ``keypoints``.
    keypoints
        The names in file order (instead of ``config``).
    dataset
        The HDF5 dataset to read.
    fps
        Frame rate to record.

    Returns
    -------
    Poses
        ``(n_frames, n_tracks, n_keypoints, 3)`` in the file's units (mm), with
        :data:`STAC_MOUSE_SKELETON`'s edges between the keypoints present.

    Raises
    ------
    FileFormatError
        If the file is not HDF5 or the dataset has the wrong shape.
    KeypointError
        If no names are given or their number does not match.
    """
    import h5py

    p = check_file(path, "STAC mocap file")
    try:
        with h5py.File(p, "r") as fh:
            if dataset not in fh:
                raise FileFormatError(f"{p}: no dataset {dataset!r}; found {sorted(fh)}")
            arr = np.asarray(fh[dataset], dtype=np.float64)
    except OSError as err:
        raise FileFormatError(f"{p}: not a readable HDF5 file: {err}") from None
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4 or arr.shape[3] != 3:
        raise FileFormatError(
            f"{p}: {dataset!r} must be (n_frames, n_tracks, n_keypoints, 3), got {arr.shape}"
        )
    if config is not None:
        names = load_stac_keypoint_names(config)
    elif keypoints is not None:
        names = [str(k) for k in keypoints]
    else:
        raise KeypointError(
            f"{p}: the mocap file holds no keypoint names; pass config= (the STAC model "
            "YAML with KP_NAMES) or keypoints=[...]"
        )
    if len(names) != arr.shape[2]:
        raise KeypointError(f"{p}: {dataset!r} has {arr.shape[2]} keypoints, {len(names)} names")
    have = set(names)
    edges = [e for e in STAC_MOUSE_SKELETON if e[0] in have and e[1] in have]
    return Poses(arr, names, skeleton=edges, fps=fps, source=Source(p, "STAC-MJX"))
