"""The temporal lifter: each frame's 3D from a window of frames around it.

:class:`TemporalLifter` is a :class:`~liftpose_dlc.Lifter` whose network
(:class:`~liftpose_dlc.lifter.temporal_net.TemporalNet`) sees the encoded 2D of
``temporal`` frames (3, 9, 27, 81, ...) around each frame, or before it (``causal``).
``Lifter(keypoints, roots, target_sets, temporal=27)`` makes one, and so does the seed API's
``train(..., training_kwargs={"temporal": 27})``. Everything else is the frame lifter's:
the input encoder (roots and target sets, masking of missing 2D points with visibility
flags, statistics), the linear path, augmentation (the same rotation and camera for the
whole window: a window is augmented as one pose), model files (safetensors + JSON, with
the window's options), ``predict``, fine-tuning and checkpoints.

Data are sequences: an array is one sequence, each key of a seed dictionary is one and each
individual of a :class:`~liftpose_dlc.Poses` is one; windows never cross from one sequence
into another, and frames without any 2D point split a sequence (see
:mod:`~liftpose_dlc.lifter.windows`). The lifting engine
(:mod:`~liftpose_dlc.engine`) reads :attr:`TemporalLifter.context_frames` and calls
:meth:`TemporalLifter.predict_sequences`, so that every front end (``lift_poses``,
``lift_file``, ``lift_dlc_project``, the CLI, napari) lifts with it unchanged, streamed in
chunks that overlap by the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch

from liftpose_dlc.lifter.augmentation import Augmentation, PoseBatch
from liftpose_dlc.lifter.encoder import InputEncoder
from liftpose_dlc.lifter.inputs import Structure
from liftpose_dlc.lifter.lifter import DEFAULT_MODEL_OPTIONS, Lifter
from liftpose_dlc.lifter.session import (
    Pairs,
    TrainingSession,
    kept_lengths,
    score_batches,
)
from liftpose_dlc.lifter.temporal_net import TemporalNet, TemporalOptions
from liftpose_dlc.lifter.windows import segments, window_index

__all__ = ["TemporalLifter", "TemporalSession", "TEMPORAL_MODEL_OPTIONS", "SequencePairs"]

#: The temporal lifter's default frame network and input (``benchmarks/RESULTS.md``,
#: "Temporal lifter"): the frame lifter's.
TEMPORAL_MODEL_OPTIONS: dict[str, Any] = dict(DEFAULT_MODEL_OPTIONS)


@dataclass
class SequencePairs(Pairs):
    """:class:`~liftpose_dlc.lifter.session.Pairs` that know their sequences' lengths."""

    lengths: Sequence[int] = ()

    def take(self, rows: np.ndarray) -> SequencePairs:
        """The pairs of the frames ``rows`` (bool), with the sequences' lengths that remain."""
        rows = np.asarray(rows, dtype=bool)
        kept = kept_lengths(self.lengths, rows)
        return SequencePairs(self.pose_2d[rows], self.pose_3d[rows], self.mask[rows], kept)


class TemporalLifter(Lifter):
    """Lift sequences of 2D poses to 3D with dilated temporal convolutions.

    Parameters
    ----------
    keypoints, roots, target_sets
        As for :class:`~liftpose_dlc.Lifter`.
    temporal
        Receptive field in frames (3, 9, 27, 81, ...).
    causal
        Use only past frames (the window ends at the lifted frame).
    channels, temporal_dropout
        Width and dropout of the temporal convolutions.
    **model_options
        The frame network's and the input's options, as for :class:`~liftpose_dlc.Lifter`;
        unset ones take :data:`TEMPORAL_MODEL_OPTIONS`.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 6, 120)[:, None, None]
    >>> pose_3d = np.concatenate([np.cos(t * [1, 2, 3]), np.sin(t * [2, 1, 3])], 1) + 1.0
    >>> lifter = Lifter(2, roots=[0], target_sets=[[1]], temporal=9, linear_size=32)
    >>> type(lifter).__name__, lifter.context_frames
    ('TemporalLifter', (4, 4))
    >>> lifter = lifter.fit(pose_3d[..., :2], pose_3d, epochs=2, verbose=False)
    >>> lifter.predict(pose_3d[:50, :, :2]).shape
    (50, 2, 3)
    """

    def __init__(
        self,
        keypoints: Sequence[str] | int,
        roots: Sequence[int | str] | int | str,
        target_sets: Sequence[Sequence[int | str]] | Sequence[int | str],
        temporal: int = 27,
        causal: bool = False,
        channels: int = TemporalOptions.channels,
        temporal_dropout: float = TemporalOptions.temporal_dropout,
        **model_options: Any,
    ) -> None:
        self.temporal = TemporalOptions(temporal, bool(causal), channels, temporal_dropout)
        super().__init__(
            keypoints, roots, target_sets, **{**TEMPORAL_MODEL_OPTIONS, **model_options}
        )

    session_class = TrainingSession  # TemporalSession, set below

    def _make_net(self) -> TemporalNet:  # type: ignore[override]
        enc = self.encoder
        return TemporalNet(
            enc.input_size, enc.output_size, self.options, self.temporal, groups=enc.set_columns()
        )

    @property
    def context_frames(self) -> tuple[int, int]:
        """Frames before and after each frame that the network sees (the lifting engine's)."""
        return self.temporal.context

    @property
    def lifter_options(self) -> dict[str, Any]:
        """The network's, the encoder's and the window's options, as :class:`Lifter` takes them."""
        return {**super().lifter_options, **self.temporal.as_dict()}

    def __repr__(self) -> str:
        return super().__repr__().replace("Lifter(", f"TemporalLifter({self.temporal}, ", 1)

    def _pairs(
        self, poses_2d: Any, poses_3d: Any, keypts: Any, what: str
    ) -> tuple[Pairs, Structure]:
        pairs, struct = super()._pairs(poses_2d, poses_3d, keypts, what)
        lengths = struct.sequences(len(pairs.pose_2d))
        return SequencePairs(pairs.pose_2d, pairs.pose_3d, pairs.mask, lengths), struct

    # --------------------------------------------------------------- predict
    def _default_batch_size(self, dev: torch.device) -> int:
        return 65536

    @torch.no_grad()
    def predict_sequences(
        self,
        x: np.ndarray,
        *,
        batch_size: int = 65536,
        device: str | torch.device | None = None,
        root_positions: str | np.ndarray = "zero",
    ) -> np.ndarray:
        """Lift ``(n_sequences, n_frames, J, 2)`` to ``(n_sequences, n_frames, J, 3)``.

        The lifting engine's entry point (see :mod:`liftpose_dlc.engine`): each sequence is
        lifted on its own, edge-padded at its ends and at its gaps.
        """
        x = np.asarray(x, dtype=np.float64)
        s, n = x.shape[:2]
        flat = x.reshape(s * n, *x.shape[2:])
        out = self.predict(
            flat,
            batch_size=batch_size,
            device=device,
            root_positions=root_positions,
            lengths=[n] * s,
        )
        return out.reshape(s, n, *out.shape[1:])

    def _predict_rel(
        self,
        arr: np.ndarray,
        batch_size: int,
        dev: torch.device,
        amp: bool = False,
        lengths: Sequence[int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Root-relative predictions ``(N, T, 3)`` (NaN in gaps) and root visibility.

        Each segment of each sequence (``lengths``) on its own, edge-padded; ``amp`` is not
        used (the temporal network runs in float32).
        """
        net = cast(TemporalNet, self.net.to(dev).eval())
        n = arr.shape[0]
        before, after = self.context_frames
        pad = before + after
        rel = np.full((n, self.layout.n_targets, 3), np.nan)
        present = np.isfinite(arr).all(-1).any(-1)
        # pieces of segments, each with its edge-padded context; several pieces run as one
        # sequence (the outputs whose window straddles two pieces are dropped)
        pieces = []
        for a, b in segments(present, lengths or [n]):
            step = max(1, batch_size)
            for p in range(a, b, step):
                pieces.append((a, b, p, min(b, p + step)))
        group: list[tuple[int, int, int, int]] = []
        size = 0
        for piece in pieces:
            length = piece[3] - piece[2] + pad
            if group and size + length > batch_size + pad:
                self._run_pieces(net, arr, group, rel, dev)
                group, size = [], 0
            group.append(piece)
            size += length
        if group:
            self._run_pieces(net, arr, group, rel, dev)
        vis_root = np.isfinite(arr[:, list(self.layout.roots)]).all(-1)
        return rel, vis_root

    def _run_pieces(
        self,
        net: TemporalNet,
        arr: np.ndarray,
        group: list[tuple[int, int, int, int]],
        rel: np.ndarray,
        dev: torch.device,
    ) -> None:
        before, after = self.context_frames
        idx, starts = [], []
        offset = 0
        for a, b, p, q in group:
            frames = np.clip(np.arange(p - before, q + after), a, b - 1)
            idx.append(frames)
            starts.append(offset)
            offset += len(frames)
        rows = np.concatenate(idx)
        p2 = torch.as_tensor(arr[rows], dtype=torch.float32, device=dev)
        x = self.encoder.encode(p2, torch.isfinite(p2).all(-1))
        out = net.forward_sequence(x[None])[0]
        pred = self.encoder.decode(out).double().cpu().numpy()
        for (_, _, p, q), start in zip(group, starts, strict=True):
            rel[p:q] = pred[start : start + q - p]


# ----------------------------------------------------------------------- training
@dataclass
class _Windows:
    """Training windows: frames (tensors), each window's frame indices and its own frame."""

    frames: PoseBatch
    index: torch.Tensor  # (M, W) into the frames

    def __len__(self) -> int:
        return self.index.shape[0]


def _windows(
    pairs: Pairs, lengths: Sequence[int], context: tuple[int, int], dev: torch.device
) -> _Windows:
    """Windows around every frame that has a 3D target (edge-padded at segment ends)."""
    frames = pairs.batch(dev)
    present = np.isfinite(pairs.pose_2d).all(-1).any(-1)
    target = (pairs.mask & np.isfinite(pairs.pose_3d).all(-1)).any(-1)
    rows = np.flatnonzero(target & present)
    index = window_index(present, lengths, context[0], context[1], frames=rows)
    return _Windows(frames, torch.as_tensor(index, device=dev))


def _window_batch(
    frames: PoseBatch,
    index: torch.Tensor,
    encoder: InputEncoder,
    before: int,
    augs: Sequence[Augmentation] = (),
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, PoseBatch, PoseBatch]:
    """Input ``(B, W, F)``, target and weights of the windows ``index`` ``(B, W)``.

    A window is augmented as one pose of ``W * J`` points: one rotation, one camera.
    Also returns the windows' own frames before and after augmentation.
    """
    b, w = index.shape
    j = frames.pose_2d.shape[1]
    flat = frames.index(index.reshape(-1))
    batch = orig = PoseBatch(
        flat.pose_2d.reshape(b, w * j, 2),
        flat.pose_3d.reshape(b, w * j, 3),
        flat.valid_2d.reshape(b, w * j),
        flat.weight_3d.reshape(b, w * j),
    )
    for aug in augs:
        batch = aug(batch)
    x = encoder.encode(batch.pose_2d.reshape(b * w, j, 2), batch.valid_2d.reshape(b * w, j))
    own = _own_frame(batch, w, before)
    y, wt = encoder.target(own.pose_3d, own.weight_3d)
    return x.reshape(b, w, -1), y, wt, _own_frame(orig, w, before), own


def _own_frame(batch: PoseBatch, w: int, before: int) -> PoseBatch:
    j = batch.pose_2d.shape[1] // w
    sl = slice(before * j, (before + 1) * j)
    return PoseBatch(
        batch.pose_2d[:, sl], batch.pose_3d[:, sl], batch.valid_2d[:, sl], batch.weight_3d[:, sl]
    )


def evaluate_windows(
    net: TemporalNet, data: _Windows, encoder: InputEncoder, loss_kind: str, before: int
) -> tuple[float, float]:
    """Loss and MPJPE of ``net`` on windows (as :func:`~liftpose_dlc.lifter.session.evaluate`)."""
    batches = (
        _window_batch(data.frames, data.index[i : i + 4096], encoder, before)[:3]
        for i in range(0, len(data), 4096)
    )
    return score_batches(net, batches, encoder, loss_kind, data.index.device)


class TemporalSession(TrainingSession):
    """A :class:`~liftpose_dlc.lifter.session.TrainingSession` on windows of frames.

    The same run (:meth:`~liftpose_dlc.lifter.session.TrainingSession.run`: settings, setup
    with the statistics and linear path from the frames and the augmentation fitted on them,
    schedule, ``torchrun``, progress and :func:`~liftpose_dlc.lifter.session.observe_training`,
    checkpoints and log); only what a sample is differs: the window around a frame that has
    a 3D target, whose loss is that frame's. It trains in float32 (``amp`` is not used).
    """

    lifter: TemporalLifter
    progress_desc = "training temporal lifter"
    progress_unit = "window"
    sample_name = "frames with a 3D target"
    mixed_precision = False

    def _samples(self, pairs: Pairs, lengths: Sequence[int] | None = None) -> _Windows:
        """The windows around the frames of ``pairs`` that have a 3D target."""
        seq = _pair_lengths(pairs) if lengths is None else lengths
        return _windows(pairs, seq, self.lifter.context_frames, self.device)

    def _frames(self, data: _Windows) -> PoseBatch:
        return data.frames

    def _batch(
        self, data: _Windows, idx: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, PoseBatch, PoseBatch]:
        """The windows ``idx``, each augmented as one pose (see :func:`_window_batch`)."""
        index = data.index.index_select(0, idx)
        before = self.lifter.context_frames[0]
        return _window_batch(data.frames, index, self.lifter.encoder, before, self.augmentation)

    def _evaluate(self, net: torch.nn.Module, data: _Windows) -> tuple[float, float]:
        before = self.lifter.context_frames[0]
        net = cast(TemporalNet, net)
        return evaluate_windows(net, data, self.lifter.encoder, self.options.loss, before)


def _pair_lengths(pairs: Pairs) -> list[int]:
    return list(getattr(pairs, "lengths", ())) or [len(pairs.pose_2d)]


TemporalLifter.session_class = TemporalSession
