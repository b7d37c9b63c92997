"""Keypoint names of a file that stores an array without them (NumPy arrays, DeepFly3D)."""

from __future__ import annotations

from collections.abc import Sequence

from liftpose_dlc.errors import KeypointError

__all__ = ["array_keypoint_names"]


def array_keypoint_names(
    given: Sequence[str] | None,
    n_keypoints: int,
    where: str,
    *,
    default: Sequence[str] | None,
    missing: str,
) -> list[str]:
    """The names of an array's keypoints: those ``given``, else ``default``.

    Parameters
    ----------
    given
        The caller's ``keypoints=`` (None: not given).
    n_keypoints
        The number of keypoints in the array.
    where
        The file (and array) for messages.
    default
        The names to use when none are given (stored in the file, or a known layout's), or
        None when there are none.
    missing
        What the error says when neither is known (after ``where: ``).

    Returns
    -------
    list of str
        One name per keypoint, in the array's order.

    Raises
    ------
    KeypointError
        If no names are known, or their number is not ``n_keypoints``.
    """
    if given is not None:
        names = [str(k) for k in given]
    elif default is not None:
        names = list(default)
    else:
        raise KeypointError(f"{where}: {missing}")
    if len(names) != n_keypoints:
        raise KeypointError(
            f"{where}: {len(names)} keypoint names given for {n_keypoints} keypoints"
        )
    return names
