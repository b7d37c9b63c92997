"""Windows of frames for a temporal lifter: sequence boundaries, gaps and several sequences.

A temporal lifter sees, for each frame ``t``, the frames ``t - before`` to ``t + after`` of
the same sequence. Frames are held as one array of consecutive sequences (``lengths``: the
seed dictionaries' keys, a Poses' individuals, or one array); a window never crosses from
one sequence into the next.

Inside a sequence, a *gap* is a run of frames without any 2D point (the animal was not
detected, or the individual was absent). A gap is a boundary like the sequence's ends: the
frames on either side of it form separate *segments*, and a window is *edge-padded* at the
end of its segment (the first or last frame of the segment is repeated), never filled with
frames from beyond the gap. A frame with some points missing is not a gap: its missing
points are masked (the network sees their visibility flags).

Edge padding depends only on the segment, so lifting a recording in overlapping chunks
(the lifting engine reads each chunk with ``before``/``after`` extra frames) gives the same
result as lifting it whole.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from liftpose_dlc.errors import ConfigError

__all__ = ["segments", "segment_bounds", "window_index", "window_offsets"]


def _check_lengths(lengths: Sequence[int], n: int) -> np.ndarray:
    arr = np.asarray(list(lengths), dtype=np.int64)
    if arr.ndim != 1 or (arr < 0).any() or int(arr.sum()) != n:
        raise ConfigError(f"sequence lengths {list(lengths)} do not add up to {n} frames")
    return arr


def segments(present: np.ndarray, lengths: Sequence[int] | None = None) -> list[tuple[int, int]]:
    """The segments: runs of present frames within each sequence, as ``(start, stop)``.

    Parameters
    ----------
    present
        Bool ``(N,)``: True for a frame with at least one 2D point.
    lengths
        Frame counts of the consecutive sequences (default: one sequence).

    Returns
    -------
    list of (int, int)
        Start and stop (exclusive) of each segment, in order.

    Examples
    --------
    >>> segments(np.array([1, 1, 0, 1, 1, 1], bool), [4, 2])
    [(0, 2), (3, 4), (4, 6)]
    """
    present = np.asarray(present, dtype=bool)
    n = present.shape[0]
    lens = _check_lengths([n] if lengths is None else lengths, n)
    out: list[tuple[int, int]] = []
    start = 0
    for length in lens:
        p = present[start : start + length].astype(np.int8)
        edges = np.diff(np.concatenate([[0], p, [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            out.append((start + int(a), start + int(b)))
        start += int(length)
    return out


def segment_bounds(
    present: np.ndarray, lengths: Sequence[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """For each frame, the first and last frame of its segment (a gap frame: itself).

    Returns
    -------
    first, last
        Int64 ``(N,)`` each.

    Examples
    --------
    >>> segment_bounds(np.array([1, 1, 0, 1], bool))
    (array([0, 0, 2, 3]), array([1, 1, 2, 3]))
    """
    n = np.asarray(present).shape[0]
    first = np.arange(n, dtype=np.int64)
    last = first.copy()
    for a, b in segments(present, lengths):
        first[a:b] = a
        last[a:b] = b - 1
    return first, last


def window_offsets(before: int, after: int) -> np.ndarray:
    """Offsets ``-before .. after`` of a window's frames from its frame."""
    return np.arange(-int(before), int(after) + 1, dtype=np.int64)


def window_index(
    present: np.ndarray,
    lengths: Sequence[int] | None,
    before: int,
    after: int,
    frames: np.ndarray | None = None,
) -> np.ndarray:
    """The frames of each frame's window, edge-padded at segment ends.

    Parameters
    ----------
    present
        Bool ``(N,)``: True for a frame with at least one 2D point (see :func:`segments`).
    lengths
        Frame counts of the consecutive sequences (default: one sequence).
    before, after
        Frames of context on each side.
    frames
        The frames whose windows are wanted (default: every frame).

    Returns
    -------
    numpy.ndarray
        Int64 ``(len(frames), before + 1 + after)``: indices into the ``N`` frames, each
        row within one segment of one sequence.

    Examples
    --------
    >>> window_index(np.ones(5, bool), [3, 2], 1, 1).tolist()
    [[0, 0, 1], [0, 1, 2], [1, 2, 2], [3, 3, 4], [3, 4, 4]]
    """
    first, last = segment_bounds(present, lengths)
    rows = np.arange(first.shape[0], dtype=np.int64) if frames is None else np.asarray(frames)
    idx = rows[:, None] + window_offsets(before, after)[None]
    return np.clip(idx, first[rows][:, None], last[rows][:, None])
