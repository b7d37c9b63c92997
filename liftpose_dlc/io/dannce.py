"""DANNCE 3D predictions (``save_data_AVG.mat``, stac-mjx's ``*_mocap_*.mat``) and skeletons.

DANNCE writes its 3D predictions as a MATLAB v5 file with ``pred`` ``(n_frames, 3,
n_keypoints)`` (frames, xyz, keypoints) in the calibration's world units (mm in every
published DANNCE rig), optionally ``p_max`` ``(n_frames, n_keypoints)`` (peak of each
keypoint's probability map, a confidence) and ``sampleID`` (video frame numbers). The file
holds no keypoint names: they come from the skeleton file that goes with the model
(``mouse22_skeleton.mat``, ``rat23.mat``): ``joint_names`` (a 1 × K cell) and ``joints_idx``
(edges, 1-based).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from liftpose_dlc._filesystem import check_file
from liftpose_dlc.errors import FileFormatError, KeypointError
from liftpose_dlc.poses import Poses, Source

__all__ = ["load_dannce_skeleton", "load_dannce_predictions"]


def _loadmat(path: os.PathLike | str, what: str) -> dict:
    import scipy.io

    try:
        return scipy.io.loadmat(str(path))
    except (ValueError, TypeError, OSError, NotImplementedError) as err:
        raise FileFormatError(f"{path}: not a readable MATLAB {what}: {err}") from None


def load_dannce_skeleton(path: str | os.PathLike) -> tuple[list[str], list[tuple[str, str]]]:
    """Keypoint names and skeleton edges from a DANNCE skeleton ``.mat``.

    Parameters
    ----------
    path
        A skeleton file with ``joint_names`` (1 × K cell of strings) and ``joints_idx``
        (E × 2, 1-based indices), e.g. ``mouse22_skeleton.mat`` or ``rat23.mat``.

    Returns
    -------
    names, edges
        The K names in file order and the edges as pairs of names.

    Raises
    ------
    FileFormatError
        If the fields are missing or the edges point outside the names.
    """
    p = check_file(path, "DANNCE skeleton file")
    m = _loadmat(p, "skeleton file")
    if "joint_names" not in m or "joints_idx" not in m:
        raise FileFormatError(
            f"{p}: a DANNCE skeleton needs 'joint_names' and 'joints_idx'; "
            f"found {sorted(k for k in m if not k.startswith('__'))}"
        )
    try:
        names = [str(np.asarray(n).ravel()[0]) for n in np.asarray(m["joint_names"]).ravel()]
    except (IndexError, TypeError) as err:
        raise FileFormatError(f"{p}: 'joint_names' is not a cell of strings: {err}") from None
    idx = np.asarray(m["joints_idx"], dtype=np.int64)
    if idx.ndim != 2 or idx.shape[1] != 2:
        raise FileFormatError(f"{p}: 'joints_idx' must be (n_edges, 2), got {idx.shape}")
    if idx.size and (idx.min() < 1 or idx.max() > len(names)):
        raise FileFormatError(
            f"{p}: 'joints_idx' holds indices {idx.min()}..{idx.max()}, outside 1..{len(names)}"
        )
    edges = [(names[a - 1], names[b - 1]) for a, b in idx]
    return names, edges


def load_dannce_predictions(
    path: str | os.PathLike,
    skeleton: str | os.PathLike | None = None,
    *,
    keypoints: Sequence[str] | None = None,
    fps: float | None = None,
) -> Poses:
    """Read DANNCE 3D predictions (``pred`` of a ``.mat`` file) as 3D :class:`Poses`.

    Parameters
    ----------
    path
        The predictions file (``save_data_AVG.mat``, or stac-mjx's mocap ``.mat``).
    skeleton
        The skeleton ``.mat`` with the keypoint names and edges
        (:func:`load_dannce_skeleton`); or give ``keypoints``.
    keypoints
        Names of the keypoints in ``pred`` order (when there is no skeleton file).
    fps
        Frame rate to record.

    Returns
    -------
    Poses
        ``(n_frames, 1, n_keypoints, 3)`` in the file's units (mm for DANNCE rigs), with
        the skeleton's edges and, when the file has ``p_max``, its values as confidence.

    Raises
    ------
    FileFormatError
        If there is no ``pred`` ``(n_frames, 3, n_keypoints)``.
    KeypointError
        If the names do not match the number of keypoints.
    """
    p = check_file(path, "DANNCE predictions file")
    m = _loadmat(p, "DANNCE predictions file")
    if "pred" not in m:
        raise FileFormatError(
            f"{p}: no 'pred' array (DANNCE predictions); "
            f"found {sorted(k for k in m if not k.startswith('__'))}"
        )
    pred = np.asarray(m["pred"], dtype=np.float64)
    if pred.ndim != 3 or pred.shape[1] != 3:
        raise FileFormatError(f"{p}: 'pred' must be (n_frames, 3, n_keypoints), got {pred.shape}")
    n_kp = pred.shape[2]
    edges: list[tuple[str, str]] = []
    if skeleton is not None:
        names, edges = load_dannce_skeleton(skeleton)
        where = f"skeleton {skeleton}"
    elif keypoints is not None:
        names, where = [str(k) for k in keypoints], "keypoints"
    else:
        raise KeypointError(
            f"{p}: DANNCE predictions hold no keypoint names; pass skeleton= (the model's "
            "skeleton .mat, e.g. mouse22_skeleton.mat) or keypoints=[...]"
        )
    if len(names) != n_kp:
        raise KeypointError(f"{p}: 'pred' has {n_kp} keypoints but the {where} names {len(names)}")
    data = pred.transpose(0, 2, 1)[:, None]
    conf = None
    if "p_max" in m and np.asarray(m["p_max"]).shape == (pred.shape[0], n_kp):
        conf = np.asarray(m["p_max"], dtype=np.float64)[:, None]
    return Poses(data, names, confidence=conf, skeleton=edges, fps=fps, source=Source(p, "DANNCE"))
