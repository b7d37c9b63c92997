"""Training libraries larger than memory: paired arrays read from disk, shard by shard.

A library on disk is a folder of three ``.npy`` files (``pose_2d.npy`` ``(N, J, 2)``,
``pose_3d.npy`` ``(N, J, 3)``, optionally ``mask.npy`` ``(N, J)`` bool), memory-mapped, or
an HDF5 file with the same three datasets. :func:`open_pairs` opens one without reading
it; :meth:`~liftpose_dlc.lifter.lifter.Lifter.fit` trains on it::

    pairs = open_pairs("library/")            # or "library.h5"
    lifter.fit(pairs, None, epochs=5, batch_size=1024)

Only the frames of the current batch are read. An epoch visits the shards
(:data:`SHARD_FRAMES` consecutive frames) in a random order and the frames of each shard
in a random order (:meth:`MappedBatch.epoch_order`), so that reads stay within one region
of the file at a time; under ``torchrun`` every rank draws the same order and reads its
slice of each batch. Statistics and the least-squares initialisation use a random
subsample (:data:`~liftpose_dlc.lifter.session.SETUP_SAMPLES` frames), as for arrays in
memory. :func:`write_pairs` writes such a folder chunk by chunk.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from liftpose_dlc.errors import FileFormatError, MissingFileError
from liftpose_dlc.lifter import devices
from liftpose_dlc.lifter.augmentation import PoseBatch
from liftpose_dlc.lifter.session import Pairs

__all__ = ["MappedPairs", "MappedBatch", "open_pairs", "write_pairs", "SHARD_FRAMES"]

#: Consecutive frames read as one shard of an epoch.
SHARD_FRAMES = 65_536
#: A selection of at most this many frames (validation, test) is read into memory.
IN_MEMORY_FRAMES = 1_000_000
NAMES = ("pose_2d", "pose_3d", "mask")


class MappedPairs(Pairs):
    """Paired arrays that stay on disk (memory-mapped ``.npy`` or HDF5 datasets).

    ``rows`` (None: all) selects the frames; :meth:`take` selects further without reading,
    except for selections of at most :data:`IN_MEMORY_FRAMES` frames, read into memory.
    """

    def __init__(self, pose_2d: Any, pose_3d: Any, mask: Any, rows: np.ndarray | None = None):
        self.pose_2d, self.pose_3d, self.mask = pose_2d, pose_3d, mask
        self.rows = rows
        self.source = ""

    def __len__(self) -> int:
        return int(self.pose_2d.shape[0] if self.rows is None else len(self.rows))

    def read(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The 2D, 3D and mask of ``rows`` (positions in this selection), in their order."""
        rows = np.asarray(rows, dtype=np.int64)
        where = rows if self.rows is None else self.rows[rows]
        order = np.argsort(where, kind="stable")
        sorted_rows = where[order]  # increasing: sequential reads (and h5py needs it)
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        n_kp = self.pose_2d.shape[1]
        if len(sorted_rows) and isinstance(self.pose_2d, np.ndarray):
            p2, p3 = self.pose_2d[sorted_rows], self.pose_3d[sorted_rows]
            m = np.ones((len(rows), n_kp), bool) if self.mask is None else self.mask[sorted_rows]
        else:  # HDF5: unique increasing indices
            uniq, inv = np.unique(sorted_rows, return_inverse=True)
            p2, p3 = self.pose_2d[uniq][inv], self.pose_3d[uniq][inv]
            m = np.ones((len(rows), n_kp), bool) if self.mask is None else self.mask[uniq][inv]
        return p2[back], p3[back], np.asarray(m, dtype=bool)[back]

    def take(self, rows: np.ndarray) -> Pairs:
        """The frames ``rows`` (bool or indices): on disk, or in memory when few."""
        rows = np.asarray(rows)
        idx = np.flatnonzero(rows) if rows.dtype == bool else rows.astype(np.int64)
        if len(idx) <= IN_MEMORY_FRAMES:
            return Pairs(*self.read(idx))
        out = MappedPairs(
            self.pose_2d, self.pose_3d, self.mask, idx if self.rows is None else self.rows[idx]
        )
        out.source = self.source
        return out

    def batch(self, dev: torch.device) -> MappedBatch:  # type: ignore[override]
        """A batch that reads its frames when indexed."""
        return MappedBatch(self, dev)


class MappedBatch:
    """What the training loop indexes: frames of a :class:`MappedPairs`, read on demand.

    ``index(idx)`` reads the frames ``idx`` and returns a
    :class:`~liftpose_dlc.lifter.augmentation.PoseBatch` on the device (through pinned
    memory on CUDA).
    """

    def __init__(self, pairs: MappedPairs, device: torch.device) -> None:
        self.pairs = pairs
        self.device = torch.device(device)

    def __len__(self) -> int:
        return len(self.pairs)

    def index(self, idx: torch.Tensor) -> PoseBatch:
        """The frames ``idx`` (positions) as tensors on the device; NaN points invalid."""
        p2, p3, m = self.pairs.read(idx.cpu().numpy())
        t2, t3 = devices.to_device(p2, self.device), devices.to_device(p3, self.device)
        tm = torch.from_numpy(m).to(self.device)
        return PoseBatch(t2, t3, torch.isfinite(t2).all(-1), tm & torch.isfinite(t3).all(-1))

    def epoch_order(self, seed: int, epoch: int) -> torch.Tensor:
        """The frames of an epoch: shards in a random order, each shuffled.

        The same for the same ``seed`` and ``epoch`` (on every rank of a launch).
        """
        n = len(self)
        rng = np.random.default_rng([int(seed), int(epoch), 0x5A4D])
        starts = np.arange(0, n, SHARD_FRAMES)
        rng.shuffle(starts)
        parts = [s + rng.permutation(min(SHARD_FRAMES, n - s)) for s in starts]
        order = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        return torch.from_numpy(order).to(self.device)


def _check(arrays: dict[str, Any], where: str) -> None:
    p2, p3, m = arrays["pose_2d"], arrays["pose_3d"], arrays.get("mask")
    n, n_kp = p2.shape[0], p2.shape[1] if p2.ndim == 3 else -1
    if p2.ndim != 3 or p2.shape[2] != 2:
        raise FileFormatError(f"{where}: pose_2d must be (N, J, 2), got {p2.shape}")
    if p3.shape != (n, n_kp, 3):
        raise FileFormatError(f"{where}: pose_3d must be ({n}, {n_kp}, 3), got {p3.shape}")
    if m is not None and m.shape != (n, n_kp):
        raise FileFormatError(f"{where}: mask must be ({n}, {n_kp}), got {m.shape}")


def open_pairs(path: str | os.PathLike) -> MappedPairs:
    """Open a training library on disk without reading it.

    Parameters
    ----------
    path
        A folder with ``pose_2d.npy``, ``pose_3d.npy`` (and optionally ``mask.npy``), or
        an HDF5 file (``.h5``/``.hdf5``) with datasets of those names.

    Returns
    -------
    MappedPairs
        For :meth:`~liftpose_dlc.lifter.lifter.Lifter.fit` (with ``poses_3d=None``).

    Raises
    ------
    MissingFileError
        If the folder or a file is missing.
    FileFormatError
        If the arrays have the wrong shapes.
    """
    p = Path(path)
    if not p.exists():
        raise MissingFileError(f"training library {p} does not exist")
    arrays: dict[str, Any] = {}
    if p.is_dir():
        for name in NAMES:
            f = p / f"{name}.npy"
            if f.exists():
                try:
                    arrays[name] = np.load(f, mmap_mode="r", allow_pickle=False)
                except ValueError as exc:
                    raise FileFormatError(f"{f}: not a .npy array ({exc})") from None
            elif name != "mask":
                raise MissingFileError(f"training library {p} has no {name}.npy")
    else:
        import h5py

        try:
            h5 = h5py.File(p, "r")
        except OSError as exc:
            raise FileFormatError(f"{p}: not an HDF5 file ({exc})") from None
        for name in NAMES:
            if name in h5:
                arrays[name] = h5[name]
            elif name != "mask":
                raise FileFormatError(f"{p}: no dataset {name!r} (has {sorted(h5)})")
    _check(arrays, str(p))
    out = MappedPairs(arrays["pose_2d"], arrays["pose_3d"], arrays.get("mask"))
    out.source = str(p)
    return out


def write_pairs(
    folder: str | os.PathLike,
    n_frames: int,
    n_keypoints: int,
    chunks: Iterable[tuple[np.ndarray, np.ndarray]],
) -> Path:
    """Write a library folder (float32 ``.npy``) from chunks ``(pose_2d, pose_3d)``.

    The chunks must hold ``n_frames`` frames in all; memory stays at one chunk.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fmt = np.lib.format
    out2 = fmt.open_memmap(folder / "pose_2d.npy", "w+", np.float32, (n_frames, n_keypoints, 2))
    out3 = fmt.open_memmap(folder / "pose_3d.npy", "w+", np.float32, (n_frames, n_keypoints, 3))
    start = 0
    for p2, p3 in chunks:
        k = len(p2)
        out2[start : start + k] = p2
        out3[start : start + k] = p3
        start += k
    if start != n_frames:
        raise FileFormatError(f"{folder}: chunks gave {start} frames, not {n_frames}")
    out2.flush()
    out3.flush()
    del out2, out3
    return folder
