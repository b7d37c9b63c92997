"""3D poses stored as plain NumPy arrays (``.npy`` / ``.npz``), named by the caller.

Arrays are loaded with ``allow_pickle=False``: object arrays are refused.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from liftpose_dlc._filesystem import check_file
from liftpose_dlc.errors import FileFormatError
from liftpose_dlc.io._keypoints import array_keypoint_names
from liftpose_dlc.io.registry import Format, Probe
from liftpose_dlc.poses import Poses, Source

__all__ = ["load_array_poses"]

_PREFERRED_KEYS = ("points3d", "poses3d", "poses_3d", "poses", "data", "tracks")
_NAME_KEYS = ("keypoint_names", "keypoints", "bodyparts", "node_names")


def load_array_poses(
    path: str | os.PathLike,
    *,
    keypoints: Sequence[str] | None = None,
    key: str | None = None,
    individuals: Sequence[str] | None = None,
    fps: float | None = None,
) -> Poses:
    """Read 3D poses from a ``.npy`` or ``.npz`` array.

    Parameters
    ----------
    path
        ``.npy`` with shape ``(n_frames, n_keypoints, 3)`` or ``(n_frames, n_individuals,
        n_keypoints, 3)``, or ``.npz`` holding such an array.
    keypoints
        The keypoint names, in the array's order. Required unless an ``.npz`` stores them
        (as ``keypoint_names``, ``keypoints``, ``bodyparts`` or ``node_names``).
    key
        The array to read in an ``.npz``. Default: ``points3d``, ``poses3d``, ``poses``,
        ``data`` or ``tracks`` if present, else the only array with last axis 3.
    individuals, fps
        Recorded in the result.

    Returns
    -------
    Poses

    Raises
    ------
    KeypointError
        If no names are known, or their number differs from the array's keypoints.
    FileFormatError
        If the file is not a NumPy array file, or the array has the wrong shape.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "poses.npy"
    >>> np.save(path, np.zeros((5, 2, 3)))
    >>> load_array_poses(path, keypoints=["head", "tail"]).data.shape
    (5, 1, 2, 3)
    """
    p = check_file(path, "array file")
    try:
        loaded = np.load(p, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise FileFormatError(f"{p}: not a readable .npy/.npz file ({exc})") from exc
    stored_names = None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            files = list(loaded.files)
            if key is not None:
                if key not in files:
                    raise FileFormatError(f"{p}: no array {key!r}; arrays: {files}")
                name = key
            else:
                preferred = [k for k in _PREFERRED_KEYS if k in files]
                shapes = {k: _shape(loaded, k) for k in files}
                candidates = [k for k, s in shapes.items() if len(s) in (3, 4) and s[-1] == 3]
                if preferred:
                    name = preferred[0]
                elif len(candidates) == 1:
                    name = candidates[0]
                else:
                    raise FileFormatError(
                        f"{p}: cannot tell which array holds the poses (candidates: "
                        f"{candidates or files}); pass key=..."
                    )
            arr = loaded[name]
            for nk in _NAME_KEYS:
                if nk in files and _shape(loaded, nk):
                    stored_names = [str(s) for s in loaded[nk].reshape(-1)]
                    break
        what = f"{p}[{name!r}]"
    else:
        arr = loaded
        what = str(p)
    arr = np.asarray(arr)
    if not np.issubdtype(arr.dtype, np.number):
        raise FileFormatError(f"{what}: expected a numeric array, got dtype {arr.dtype}")
    if arr.ndim not in (3, 4) or arr.shape[-1] != 3:
        raise FileFormatError(
            f"{what}: 3D poses must have shape (n_frames, n_keypoints, 3) or (n_frames, "
            f"n_individuals, n_keypoints, 3), got {arr.shape}"
        )
    n_kp = arr.shape[-2]
    names = array_keypoint_names(
        keypoints,
        n_kp,
        what,
        default=stored_names,
        missing=f"a plain array has no keypoint names; pass keypoints=[...] ({n_kp} names)",
    )
    return Poses(arr, names, individuals=individuals, fps=fps, source=Source(p, "NumPy"))


def _shape(npz: Any, key: str) -> tuple[int, ...]:
    """The shape of ``npz[key]``; ``()`` for an array that needs pickle (object arrays)."""
    try:
        return tuple(npz[key].shape)
    except ValueError:  # "Object arrays cannot be loaded when allow_pickle=False"
        return ()


# ------------------------------------------------------------------------- registry
def _sniff(probe: Probe) -> bool:
    return probe.head.startswith((b"\x93NUMPY", b"PK\x03\x04"))


FORMATS = (
    Format(
        name="array",
        description=".npy/.npz arrays",
        sniff=_sniff,
        read=load_array_poses,
        dims=(3,),
        names_keypoints=True,
        software=("NumPy",),
    ),
)
