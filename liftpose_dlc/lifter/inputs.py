"""Accept poses as :class:`~liftpose_dlc.Poses`, arrays ``(N, J, D)`` or the seed's dictionaries.

Everything is converted to one float array ``(N, J, D)`` (a *copy*: the caller's arrays
are never modified) plus a :class:`Structure` that turns a result back into the caller's
container.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from liftpose_dlc.errors import PosesValidationError
from liftpose_dlc.poses import Poses, Source

__all__ = ["Structure", "to_array", "to_mask", "from_array"]


@dataclass
class Structure:
    """How an input was laid out, to give results back in the same form."""

    kind: str  # "array", "dict" or "poses"
    keys: list[str] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    poses: Poses | None = None

    def sequences(self, n: int) -> list[int]:
        """The frame counts of the input's sequences (``n`` rows in all).

        Each individual of :class:`Poses` is one, each key of a dictionary is one, an
        array is one.
        """
        if self.kind == "poses" and self.poses is not None:
            return [self.poses.n_frames] * self.poses.n_individuals
        return list(self.lengths) or [n]


def to_array(
    data: Any, n_dims: int, keypoints: Sequence[str], what: str
) -> tuple[np.ndarray, Structure]:
    """Convert ``data`` to a float64 array ``(N, J, n_dims)`` ordered as ``keypoints``.

    Parameters
    ----------
    data
        A :class:`Poses` (its individuals are stacked as extra frames, keypoints picked by
        name), a dictionary ``{key: (n_frames, J, D)}`` (concatenated in key order) or an
        array ``(N, J, D)``.
    n_dims
        Expected last dimension (2 or 3).
    keypoints
        The lifter's keypoint names (used to select a :class:`Poses`' keypoints; arrays
        and dictionaries must have exactly ``len(keypoints)`` joints in this order).
    what
        Name used in error messages (e.g. ``"train_2d"``).

    Raises
    ------
    PosesValidationError
        On a wrong shape, a wrong number of joints or dimensions, or an empty input.
    """
    if isinstance(data, Poses):
        sel = data.select(keypoints=list(keypoints))
        if sel.n_dims != n_dims:
            raise PosesValidationError(
                f"{what} ({data.source.describe()}): expected {n_dims}D poses, got {sel.n_dims}D"
            )
        f, i, j, d = sel.data.shape
        arr = sel.data.transpose(1, 0, 2, 3).reshape(i * f, j, d).copy()
        return arr, Structure("poses", poses=sel)
    if isinstance(data, Mapping):
        if not data:
            raise PosesValidationError(f"{what} is an empty dictionary")
        arrays, keys, lengths = [], [], []
        for key, value in data.items():
            arr = _check(value, n_dims, len(keypoints), f"{what}[{key!r}]")
            arrays.append(arr)
            keys.append(str(key))
            lengths.append(arr.shape[0])
        return np.concatenate(arrays, 0), Structure("dict", keys, lengths)
    arr = _check(data, n_dims, len(keypoints), what)
    return arr, Structure("array", lengths=[arr.shape[0]])


def _check(value: Any, n_dims: int, n_joints: int, what: str) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as err:
        raise PosesValidationError(f"{what} is not a numeric array: {err}") from None
    if arr.ndim != 3:
        raise PosesValidationError(
            f"{what} must have shape (n_frames, n_joints, {n_dims}), got {arr.shape}"
        )
    if arr.shape[1] != n_joints:
        raise PosesValidationError(f"{what} has {arr.shape[1]} joints; the lifter has {n_joints}")
    if arr.shape[2] != n_dims:
        raise PosesValidationError(
            f"{what} must have {n_dims} coordinates per joint (last axis), got {arr.shape[2]}"
        )
    return arr


def to_mask(mask: Any, structure: Structure, shape: tuple[int, int], what: str) -> np.ndarray:
    """Convert the seed's ``train_keypts``/``test_keypts`` to a bool array ``(N, J)``.

    Accepts a bool array ``(N, J)`` or ``(N, J, D)`` (a point is used only if all its
    coordinates are True), or a dictionary of those with the data's keys.
    """
    if mask is None:
        return np.ones(shape, dtype=bool)
    if isinstance(mask, Mapping):
        if structure.kind != "dict":
            raise PosesValidationError(f"{what} is a dictionary but the poses are not")
        missing = [k for k in structure.keys if k not in {str(m) for m in mask}]
        if missing:
            raise PosesValidationError(f"{what} has no entry for keys {missing}")
        by_key = {str(k): v for k, v in mask.items()}
        parts = [np.asarray(by_key[k]) for k in structure.keys]
        for k, p, n in zip(structure.keys, parts, structure.lengths, strict=True):
            if p.shape[0] != n:
                raise PosesValidationError(f"{what}[{k!r}] has {p.shape[0]} frames, expected {n}")
        arr = np.concatenate(parts, 0)
    else:
        arr = np.asarray(mask)
    if arr.ndim == 3:
        arr = np.asarray(arr.astype(bool).all(-1))
    if arr.shape != shape:
        raise PosesValidationError(
            f"{what} must have shape {shape} (or (N, J, D)), got {arr.shape}"
        )
    return arr.astype(bool).copy()


def from_array(arr: np.ndarray, structure: Structure) -> Any:
    """Give ``arr`` ``(N, J, D)`` back in the caller's container (array, dict or Poses)."""
    if structure.kind == "dict":
        out, start = {}, 0
        for key, n in zip(structure.keys, structure.lengths, strict=True):
            out[key] = arr[start : start + n]
            start += n
        return out
    if structure.kind == "poses":
        p = structure.poses
        assert p is not None
        f, i = p.n_frames, p.n_individuals
        data = arr.reshape(i, f, arr.shape[1], arr.shape[2]).transpose(1, 0, 2, 3)
        return Poses(
            data,
            keypoints=p.keypoints,
            individuals=p.individuals,
            skeleton=p.skeleton,
            fps=p.fps,
            source=Source(p.source.path, "liftpose-dlc"),
        )
    return arr
