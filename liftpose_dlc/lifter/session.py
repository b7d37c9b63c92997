"""Training a lifter's network: :class:`TrainingSession` and its settings.

A session trains the network of a :class:`~liftpose_dlc.lifter.lifter.Lifter` on paired
2D/3D arrays: it holds out the validation frames (:func:`validation_mask`, the one rule),
sets up the augmentation, the input encoder's statistics and the linear paths, runs the
loop (batches from tensors in memory, Adam, learning-rate schedule, clipping, EMA, epoch
selection), and writes the log and the checkpoints, from which it can resume.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

import numpy as np
import torch
from torch import nn

from liftpose_dlc.errors import ConfigError, ModelFileError
from liftpose_dlc.lifter import devices, distributed
from liftpose_dlc.lifter._options import OptionsMixin
from liftpose_dlc.lifter.augmentation import Augmentation, PoseBatch, default_augmentation
from liftpose_dlc.lifter.encoder import InputEncoder
from liftpose_dlc.lifter.model import LiftPoseNet
from liftpose_dlc.lifter.modelfile import read_model_file, write_model_file

if TYPE_CHECKING:
    from liftpose_dlc.lifter.lifter import Lifter

__all__ = [
    "TrainOptions",
    "TrainingSession",
    "EpochResult",
    "TrainState",
    "validation_mask",
    "DEFAULT_VAL_FRACTION",
    "evaluate",
    "resolve_device",
    "observe_training",
]

LOG_HEADER = "epoch\tlr\tloss_train\tloss_test\terr_test"
CKPT_BEST = "ckpt_best.safetensors"
CKPT_LAST = "ckpt_last.safetensors"
LOG_FILE = "train_log.txt"
#: The camera fit, the statistics and the linear initialisation use at most this many frames.
SETUP_SAMPLES = 10_000


#: At most about this many checkpoints are written per run (see :func:`checkpoint_every`).
CHECKPOINTS_PER_RUN = 20


def checkpoint_every(epochs: int) -> int:
    """Epochs between two checkpoints of a run of ``epochs`` epochs.

    Every epoch for runs of up to :data:`CHECKPOINTS_PER_RUN` epochs; longer runs (the
    default schedule makes hundreds of short epochs on small data sets) write about
    :data:`CHECKPOINTS_PER_RUN` checkpoints, each one a copy of the network and the
    optimiser's state, which would otherwise take a fifth of the training time.

    Examples
    --------
    >>> checkpoint_every(30), checkpoint_every(300)
    (2, 15)
    """
    return max(1, math.ceil(int(epochs) / CHECKPOINTS_PER_RUN))


LOSSES = ("l1", "mse", "mpjpe")
LR_SCHEDULES = ("step", "cosine")


#: The fraction of the training frames held out for validation unless one is asked for, by
#: every way into training (``Lifter.fit``, ``train_from_library``, ``train_dlc_project``, the
#: seed's ``train`` and the command line): none. With the cosine schedule the last epoch is
#: the best one (``benchmarks/RESULTS.md``), so every frame is trained on; ``val=0.1`` holds
#: out the last 10% of each sequence (:func:`validation_mask`) to select the epoch and
#: report a validation error.
DEFAULT_VAL_FRACTION = 0.0


@dataclass(frozen=True)
class TrainOptions(OptionsMixin):
    """Training settings.

    The defaults are the ones the benchmark in ``benchmarks/RESULTS.md`` found best. The
    seed's values are ``epochs=30, batch_size=64, lr=1e-3, lr_decay=5000, lr_gamma=0.9,
    max_norm=True, weight_decay=0, loss="l1"`` with the staircase schedule alone and the
    epoch selected on held-out frames (with the network's ``dropout=0.5``); the defaults
    differ in ``epochs``, ``batch_size``, ``lr_schedule`` (cosine: training ends at a low
    rate, so the last epoch is kept), ``val_fraction`` (:data:`DEFAULT_VAL_FRACTION`, 0: every
    frame is trained on) and ``loss`` (``"mpjpe"``, the evaluation metric itself).

    Attributes
    ----------
    epochs
        Number of passes over the training frames; None (default): at least 30 and
        enough for ``min_steps`` optimisation steps (small data sets need many epochs),
        but at most ``max_auto_epochs`` (the smallest data sets then train for fewer
        steps: a step budget that grows with the data up to ``min_steps``). Given, the
        learning-rate schedule spans exactly these epochs.
    min_steps, max_auto_epochs
        See ``epochs``.
    batch_size
        Samples per optimisation step.
    lr
        Initial learning rate of Adam.
    lr_decay, lr_gamma
        Every ``lr_decay`` steps the learning rate becomes ``lr * lr_gamma ** (step /
        lr_decay)`` (the seed's staircase schedule).
    lr_schedule
        ``"step"``: the staircase above (the seed's); ``"cosine"``: the staircase's rate
        times a cosine from 1 to 0 over the run, so that training ends at a low rate.
    max_norm
        Clip the gradient norm at 1 (the seed's ``max_norm``); a float clips at that value;
        False disables clipping.
    weight_decay
        Adam's L2 weight decay.
    val_fraction
        Fraction of the training frames held out (:func:`validation_mask`: the last frames
        of each sequence) to select the best epoch and report a validation error;
        :data:`DEFAULT_VAL_FRACTION` (0) trains on every frame and keeps the last epoch.
    loss
        ``"l1"`` (the seed's) or ``"mse"`` on the standardised coordinates, or ``"mpjpe"``
        (default): the mean Euclidean distance per joint in the data's units (the
        evaluation metric).
    ema
        If > 0, evaluate, select and keep an exponential moving average of the weights
        with this decay per step (e.g. 0.99); 0 uses the raw weights.
    seed
        Seed of every random draw (initialisation, shuffling, augmentation, dropout).
    amp
        Mixed precision (float16 forward with a gradient scaler) on CUDA; ignored with a
        warning on the CPU (:func:`~liftpose_dlc.lifter.devices.use_amp`).
    """

    kind: ClassVar[str] = "training"

    epochs: int | None = None
    min_steps: int = 2000
    max_auto_epochs: int = 160
    batch_size: int = 128
    lr: float = 1e-3
    lr_decay: int = 5000
    lr_gamma: float = 0.9
    lr_schedule: str = "cosine"
    max_norm: bool | float = True
    weight_decay: float = 0.0
    val_fraction: float = DEFAULT_VAL_FRACTION
    loss: str = "mpjpe"
    ema: float = 0.0
    seed: int = 0
    amp: bool = False

    def __post_init__(self) -> None:
        checks = [
            (
                self.epochs is None or (isinstance(self.epochs, int) and self.epochs >= 0),
                "epochs must be None or an int >= 0",
            ),
            (isinstance(self.min_steps, int) and self.min_steps >= 0, "min_steps must be >= 0"),
            (
                isinstance(self.max_auto_epochs, int) and self.max_auto_epochs >= 1,
                "max_auto_epochs must be an int >= 1",
            ),
            (isinstance(self.batch_size, int) and self.batch_size >= 2, "batch_size must be >= 2"),
            (float(self.lr) > 0, "lr must be > 0"),
            (isinstance(self.lr_decay, int) and self.lr_decay > 0, "lr_decay must be an int > 0"),
            (0 < float(self.lr_gamma) <= 1, "lr_gamma must be in (0, 1]"),
            (self.lr_schedule in LR_SCHEDULES, f"lr_schedule must be one of {LR_SCHEDULES}"),
            (float(self.weight_decay) >= 0, "weight_decay must be >= 0"),
            (0 <= float(self.val_fraction) < 1, "val_fraction must be in [0, 1)"),
            (self.loss in LOSSES, f"loss must be one of {LOSSES}"),
            (0 <= float(self.ema) < 1, "ema must be in [0, 1)"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ConfigError(f"{msg}; got {self}")

    def resolved(self, n_train: int) -> TrainOptions:
        """These options with ``epochs`` fixed for ``n_train`` training frames."""
        if self.epochs is not None:
            return self
        steps = max(1, math.ceil(n_train / min(self.batch_size, max(n_train, 2))))
        epochs = min(math.ceil(self.min_steps / steps), self.max_auto_epochs)
        return replace(self, epochs=max(30, epochs))


@dataclass
class EpochResult:
    """One row of ``train_log.txt``."""

    epoch: int
    lr: float
    loss_train: float
    loss_test: float
    err_test: float
    err_val: float
    is_best: bool


@dataclass
class TrainState:
    """What a :class:`TrainingSession` needs to resume: counters and the best result so far."""

    epoch: int = 0
    step: int = 0
    lr: float = 0.0
    best_err: float = math.inf
    best_epoch: int = 0


def _clip_grad_norm(params: list[torch.Tensor], max_norm: float) -> None:
    """Scale gradients so that their global norm is at most ``max_norm``.

    Same result as :func:`torch.nn.utils.clip_grad_norm_` (L2 norm, coefficient clamped
    at 1), with less per-call overhead.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    torch._foreach_mul_(grads, coef)


def _lr_at(step: int, opts: TrainOptions, total_steps: int = 0) -> float:
    lr = float(opts.lr) * float(opts.lr_gamma) ** (step // opts.lr_decay)
    if opts.lr_schedule == "cosine" and total_steps > 0:
        lr *= 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))
    return lr


def masked_loss(
    out: torch.Tensor,
    target: torch.Tensor,
    w: torch.Tensor,
    kind: str,
    scale: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean loss over the points with weight 1 (the denominator counts only those).

    ``"l1"``/``"mse"``: per standardised coordinate. ``"mpjpe"``: the Euclidean distance per
    joint in the data's units (``scale`` is the standard deviation of each coordinate,
    divided by its mean so that the loss is of order 1), i.e. the evaluation metric.
    """
    diff = out - target
    if kind == "mpjpe":
        if scale is not None:
            diff = diff * scale
        d = diff.reshape(diff.shape[0], -1, 3)
        dist = torch.sqrt((d * d).sum(-1) + 1e-12)
        wj = w.reshape(w.shape[0], -1, 3)[..., 0]
        return (dist * wj).sum() / wj.sum().clamp(min=1.0)
    per = diff.abs() if kind == "l1" else diff * diff
    return (per * w).sum() / w.sum().clamp(min=1.0)


def _view_gate_loss(
    net: LiftPoseNet | Any,  # the network, or its DDP wrapper (distributed._DDPNet)
    x: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor,
    before: PoseBatch,
    after: PoseBatch,
    kind: str,
    scale: torch.Tensor,
) -> torch.Tensor:
    """Loss of a network with a view gate (the ``view_gate`` model option).

    The general output is trained on every sample, the training-view expert on the
    samples whose 3D no augmentation changed (the real views), and the gate to tell the
    two kinds apart (binary cross-entropy).
    """
    # NaN - NaN is NaN, not > 0: a missing point does not count as changed
    new_view = ((after.pose_3d - before.pose_3d).abs() > 0).flatten(1).any(1)
    real = (~new_view).to(x.dtype)
    general, expert, logit = net.parts(x)
    loss = masked_loss(general, y, w, kind, scale)
    loss = loss + masked_loss(expert, y, w * real[:, None], kind, scale)
    return loss + nn.functional.binary_cross_entropy_with_logits(logit, real)


def loss_scale(stats: dict[str, torch.Tensor]) -> torch.Tensor:
    """Per-coordinate weights of the ``"mpjpe"`` loss: ``std_3d / mean(std_3d)``."""
    return stats["std_3d"] / stats["std_3d"].mean()


@torch.no_grad()
def evaluate(
    net: nn.Module,
    data: PoseBatch,
    encoder: InputEncoder,
    loss_kind: str,
    batch_size: int = 4096,
) -> tuple[float, float]:
    """Loss (standardised, as in training) and MPJPE (input units) of ``net`` on ``data``.

    MPJPE is the mean Euclidean distance between predicted and true root-relative
    positions over the target joints that have a 3D value (and a root).
    """
    dev = data.pose_2d.device

    def batches() -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        for i in range(0, len(data), batch_size):
            b = data.index(torch.arange(i, min(i + batch_size, len(data)), device=dev))
            y, w = encoder.target(b.pose_3d, b.weight_3d)
            yield encoder.encode(b.pose_2d, b.valid_2d), y, w

    return score_batches(net, batches(), encoder, loss_kind, dev)


@torch.no_grad()
def score_batches(
    net: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
    encoder: InputEncoder,
    loss_kind: str,
    device: torch.device,
) -> tuple[float, float]:
    """Loss and MPJPE of ``net`` (in eval mode) over ``(input, target, weights)`` batches.

    The scoring of :func:`evaluate`, for any kind of sample (frames, or the windows of
    :mod:`~liftpose_dlc.lifter.temporal`).
    """
    net.eval()
    scale = loss_scale(encoder.tensors(device))
    loss_sum = w_sum = err_sum = n_err = 0.0
    for x, y, w in batches:
        out = net(x)
        n_w = float(w.sum()) if loss_kind != "mpjpe" else float(w.sum()) / 3
        loss_sum += float(masked_loss(out, y, w, loss_kind, scale)) * n_w
        w_sum += n_w
        pred = encoder.decode(out)
        true = encoder.decode(y)
        wj = w.reshape(w.shape[0], -1, 3)[..., 0]
        dist = torch.linalg.vector_norm(pred - true, dim=-1)
        err_sum += float((dist * wj).sum())
        n_err += float(wj.sum())
    nan = float("nan")
    return (loss_sum / w_sum if w_sum else nan, err_sum / n_err if n_err else nan)


def validation_mask(lengths: Sequence[int], fraction: float) -> np.ndarray:
    """The frames held out for validation: the last ``fraction`` of each sequence.

    The one validation rule of the package (neighbouring frames do not leak into the
    validation set). A sequence of ``n`` frames gives its last ``round(n * fraction)``
    frames when that is at least 1 and leaves at least 2 for training; otherwise none.

    Parameters
    ----------
    lengths
        Frame counts of the consecutive sequences (one entry for a single array).
    fraction
        Fraction to hold out, in ``[0, 1)``.

    Returns
    -------
    numpy.ndarray
        Bool ``(sum(lengths),)``, True for a validation frame.

    Examples
    --------
    >>> validation_mask([10, 3], 0.2).nonzero()[0].tolist()
    [8, 9, 12]
    """
    is_val = np.zeros(int(sum(lengths)), dtype=bool)
    start = 0
    for n in lengths:
        k = int(round(n * float(fraction)))
        if n - k >= 2 and k >= 1:
            is_val[start + n - k : start + n] = True
        start += n
    return is_val


def kept_lengths(lengths: Sequence[int], rows: np.ndarray) -> list[int]:
    """The frame counts of the sequences once only the frames ``rows`` (bool) are kept.

    Examples
    --------
    >>> kept_lengths([3, 2], np.array([True, False, True, True, False]))
    [2, 1]
    """
    rows = np.asarray(rows, dtype=bool)
    kept, start = [], 0
    for n in lengths:
        kept.append(int(rows[start : start + n].sum()))
        start += n
    return kept


def resolve_device(device: str | torch.device | None) -> torch.device:
    """A torch device from a name; None: CUDA when available, else the CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ConfigError(f"invalid device {device!r}: {err}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for, but CUDA is not available")
    return dev


def parse_augmentation(augment: str | bool | Sequence[Augmentation] | None) -> list[Augmentation]:
    """The augmentations of ``augment``: ``"default"``/True, None/False or a list."""
    if augment is True or augment == "default":
        return default_augmentation()
    if augment is None or augment is False:
        return []
    if isinstance(augment, str):
        raise ConfigError(f"augment must be 'default', None or a list, got {augment!r}")
    augs = list(augment)
    for aug in augs:
        if not callable(aug):
            raise ConfigError(f"augmentation {aug!r} is not callable")
    return augs


@dataclass
class Pairs:
    """Paired training arrays: 2D ``(N, J, 2)``, 3D ``(N, J, 3)``, loss mask ``(N, J)``."""

    pose_2d: np.ndarray
    pose_3d: np.ndarray
    mask: np.ndarray

    def take(self, rows: np.ndarray) -> Pairs:
        """The pairs of the frames selected by ``rows`` (bool or indices)."""
        return Pairs(self.pose_2d[rows], self.pose_3d[rows], self.mask[rows])

    def batch(self, dev: torch.device) -> PoseBatch:
        """The pairs as tensors on ``dev`` (NaN points invalid)."""
        p2 = torch.as_tensor(self.pose_2d, dtype=torch.float32, device=dev)
        p3 = torch.as_tensor(self.pose_3d, dtype=torch.float32, device=dev)
        m = torch.as_tensor(self.mask, dtype=torch.bool, device=dev)
        return PoseBatch(p2, p3, torch.isfinite(p2).all(-1), m & torch.isfinite(p3).all(-1))


_observer = threading.local()


@contextlib.contextmanager
def observe_training(callback: Callable[[int, int], Any]) -> Iterator[None]:
    """Call ``callback(samples done, total samples)`` after each step of training in this thread.

    For interfaces that show progress and cancel (the napari Train panel): ``callback`` may
    raise (e.g. :class:`napari_liftpose.training.TrainingCancelled`) to stop training; the
    exception leaves :meth:`TrainingSession.run`, so nothing is saved by the caller.

    Examples
    --------
    >>> with observe_training(lambda done, total: print(done, total)):  # doctest: +SKIP
    ...     lifter.fit(poses_2d, poses_3d, epochs=2, verbose=False)
    """
    previous = getattr(_observer, "callback", None)
    _observer.callback = callback
    try:
        yield
    finally:
        _observer.callback = previous


def _progress_of(bar: Any, total: int) -> Callable[[int], Any] | None:
    """The step callback of a run: the progress bar, and the thread's observer if any."""
    observer = getattr(_observer, "callback", None)
    if observer is None:
        return None if bar is None else bar.update
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if bar is not None:
            bar.update(n)
        observer(done, total)

    return step


class TrainingSession:
    """One training run of a lifter's network (see :meth:`Lifter.fit`, which makes one).

    Parameters
    ----------
    lifter
        The :class:`~liftpose_dlc.lifter.lifter.Lifter` to train: its network is replaced
        by a new one (or ``init``'s weights) and trained; its encoder gets the statistics.
    options
        The training settings.
    augment
        See :func:`parse_augmentation`.
    device
        See :func:`resolve_device`.
    out_dir
        Where the log and the checkpoints go (None: nowhere).
    resume, load
        Continue from ``out_dir``'s last checkpoint, or from the checkpoint ``load``.
    verbose
        Show a progress bar.
    init
        A trained lifter with the same keypoints and options to start from (its network's
        weights and its encoder's statistics), for fine-tuning; a checkpoint to resume
        from takes precedence.
    """

    def __init__(
        self,
        lifter: Lifter,
        options: TrainOptions,
        *,
        augment: str | bool | Sequence[Augmentation] | None = "default",
        device: str | torch.device | None = None,
        out_dir: str | os.PathLike | None = None,
        resume: bool = False,
        load: str | os.PathLike | None = None,
        verbose: bool = True,
        init: Lifter | None = None,
    ) -> None:
        self.lifter = lifter
        self.options = options
        self.device = resolve_device(device)
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.resume = resume
        self.verbose = verbose
        self.init = init
        self.augmentation: list[Augmentation] = []
        self._augment = augment
        self._load = load
        self.state = TrainState(lr=options.lr)
        self.optimizer: torch.optim.Optimizer | None = None
        self.ema_net: nn.Module | None = None
        #: The ``torchrun`` launch this session is part of (set by :meth:`run`), else None.
        self.dist: distributed.DistContext | None = None

    # ------------------------------------------------------------------ run
    #: What the progress bar says and counts, and what :meth:`_loop` needs two of.
    progress_desc = "training lifter"
    progress_unit = "pose"
    sample_name = "frames"
    #: Whether ``TrainOptions.amp`` applies (a temporal network trains in float32).
    mixed_precision = True

    def run(
        self,
        train: Pairs,
        lengths: Sequence[int],
        val: Pairs | None = None,
        test: Pairs | None = None,
        stats: Any = None,
    ) -> None:
        """Train on ``train`` (``lengths``: its sequences' frame counts).

        ``val`` (else the ``val_fraction`` of ``train`` by :func:`validation_mask`) selects
        the epoch; ``test`` is only monitored. ``stats`` replaces the encoder's computed 2D/3D
        statistics (see :meth:`~liftpose_dlc.lifter.encoder.InputEncoder.fit`).

        The one training template: a subclass changes what a sample is
        (:meth:`_samples`, :meth:`_frames`, :meth:`_batch`, :meth:`_evaluate`), never the
        run (setup, ``torchrun``, log, progress and :func:`observe_training`, checkpoints).
        """
        lifter, opts = self.lifter, self.options
        self.dist = distributed.from_env(self.device)
        if self.dist is not None:  # torchrun: DDP (see liftpose_dlc.lifter.distributed)
            self.device = self.dist.device
        dev = self.device
        val_data = None if val is None else self._samples(val)
        if val is None and opts.val_fraction > 0:
            is_val = validation_mask(lengths, opts.val_fraction)
            if is_val.any():
                val_data = self._samples(train.take(is_val), kept_lengths(lengths, is_val))
                lengths = kept_lengths(lengths, ~is_val)
                train = train.take(~is_val)
        test_data = None if test is None else self._samples(test)
        data = self._samples(train, lengths)
        opts = self.options = opts.resolved(len(data))
        augs = self.augmentation = parse_augmentation(self._augment)
        ckpt = self._find_checkpoint()
        if self.dist is not None and not self.dist.is_main:  # rank 0 alone writes
            self.out_dir, self.verbose = None, False

        with torch.random.fork_rng(devices=[dev.index or 0] if dev.type == "cuda" else []):
            torch.manual_seed(opts.seed)
            best_state = self._setup(self._frames(data), stats, ckpt)
            if self.dist is not None:
                self.dist.broadcast_setup(lifter, augs)
                torch.manual_seed(distributed.rank_seed(opts.seed, self.dist.rank, self.state.step))
            lifter.train_options = opts.as_dict()
            lifter.augmentation = [repr(a) for a in augs]
            self._start_log()
            if not self.resume:
                lifter.history = []
            assert opts.epochs is not None
            total = max(opts.epochs - self.state.epoch, 0) * len(data)
            bar = None
            if self.verbose and total:
                from tqdm.auto import tqdm

                bar = tqdm(total=total, desc=self.progress_desc, unit=self.progress_unit)
            try:
                best = self._loop(data, val_data, test_data, best_state, _progress_of(bar, total))
            finally:
                if bar is not None:
                    bar.close()
                if self.dist is not None:
                    self.dist.close()
            lifter.net.load_state_dict(best)
            lifter.best_epoch = self.state.best_epoch
        lifter.net.eval()

    # -------------------------------------------------- what a sample is
    def _samples(self, pairs: Pairs, lengths: Sequence[int] | None = None) -> Any:
        """The training samples of ``pairs`` (``lengths``: its sequences): its frames."""
        return pairs.batch(self.device)

    def _frames(self, data: Any) -> PoseBatch:
        """The frames of samples (what the setup fits the statistics and augmentation on)."""
        return cast(PoseBatch, data)

    def _batch(
        self, data: Any, idx: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, PoseBatch, PoseBatch]:
        """Input, target, weights of the samples ``idx``, augmented; their frames before/after."""
        batch = orig = data.index(idx)
        for aug in self.augmentation:
            batch = aug(batch)
        encoder = self.lifter.encoder
        y, w = encoder.target(batch.pose_3d, batch.weight_3d)
        return encoder.encode(batch.pose_2d, batch.valid_2d), y, w, orig, batch

    def _evaluate(self, net: nn.Module, data: Any) -> tuple[float, float]:
        """Loss and MPJPE of ``net`` on samples (see :func:`evaluate`)."""
        return evaluate(net, data, self.lifter.encoder, self.options.loss)

    def _setup(
        self, data: PoseBatch, stats: Any, ckpt: Path | None
    ) -> dict[str, torch.Tensor] | None:
        """Augmentation, network, statistics, linear paths, optimiser, EMA, resumed state.

        Called with the generator seeded; the order of the random draws is part of the
        result (the same seed gives the same network). Returns the best weights so far of
        a resumed run (None otherwise).
        """
        lifter, opts = self.lifter, self.options
        setup = _subsample(data, SETUP_SAMPLES)
        main = self.dist is None or self.dist.is_main  # the others get rank 0's, broadcast
        for aug in self.augmentation:
            if hasattr(aug, "fit") and main:
                aug.fit(setup)
        lifter.net = lifter._make_net().to(self.device)
        if ckpt is None and self.init is None:
            if main:
                real = setup
                setup = _with_augmented_pass(setup, self.augmentation)
                lifter.encoder.fit(setup, stats)
                self._init_linear(setup, real)
        elif ckpt is None:
            assert self.init is not None
            lifter.net.load_state_dict(self.init.net.state_dict())
            lifter.encoder.stats = copy.deepcopy(self.init.encoder.stats)
            lifter.encoder.root_offsets = copy.deepcopy(self.init.encoder.root_offsets)
        self.optimizer = torch.optim.Adam(
            lifter.net.parameters(), lr=opts.lr, weight_decay=opts.weight_decay, foreach=True
        )
        best_state = None
        rng = None
        ckpt_tensors: dict[str, torch.Tensor] = {}
        if ckpt is not None:
            self.state = self._restore_checkpoint(ckpt)
            best_file = ckpt.parent / CKPT_BEST
            if best_file.exists():
                best_state = type(lifter).load(best_file).net.state_dict()
            # last: building networks above draws random numbers
            ckpt_tensors = read_model_file(ckpt)[0]
            rng = ckpt_tensors.get("rng.cpu")
        if opts.ema > 0:
            self.ema_net = copy.deepcopy(lifter.net)
            ema_sd = {k[4:]: v for k, v in ckpt_tensors.items() if k.startswith("ema.")}
            if ema_sd:
                self.ema_net.load_state_dict(ema_sd)
        if rng is not None:
            torch.set_rng_state(rng)
        return best_state

    # ----------------------------------------------------------------- loop
    def _loop(
        self,
        train: Any,
        val: Any,
        test: Any,
        best_state: dict[str, torch.Tensor] | None,
        progress: Callable[[int], Any] | None,
    ) -> dict[str, torch.Tensor]:
        """Train from ``state.epoch`` to ``options.epochs``; return the best weights.

        The best epoch is the one with the lowest MPJPE on ``val`` (the last epoch when
        ``val`` is None). ``progress(n)`` is called with the number of samples done after
        each step. ``best_state`` is the best weights so far when resuming (default: the
        current weights). With ``ema > 0`` the averaged weights (:attr:`ema_net`) are
        evaluated and kept.
        """
        net, encoder, state, opts = self.lifter.net, self.lifter.encoder, self.state, self.options
        optimizer = self.optimizer
        assert optimizer is not None
        n = len(train)
        if n < 2:
            raise ConfigError(f"need at least 2 training {self.sample_name}, got {n}")
        dev = self.device
        bs = min(opts.batch_size, n)
        best = copy.deepcopy(net.state_dict() if best_state is None else best_state)
        ema_net = self.ema_net
        ema_params: list[torch.Tensor] = [] if ema_net is None else list(ema_net.parameters())
        net_params: list[torch.Tensor] = list(net.parameters())
        eval_net = net if ema_net is None else ema_net
        assert opts.epochs is not None
        scale = loss_scale(encoder.tensors(dev))
        dist = self.dist
        min_batch = 2 if dist is None else dist.min_batch  # BatchNorm needs two per rank
        fwd = net if dist is None else dist.wrap(net)
        amp = devices.use_amp(opts.amp, dev) if self.mixed_precision else False
        scaler = torch.amp.GradScaler("cuda") if amp else None
        steps_per_epoch = sum(1 for s in range(0, n, bs) if n - s >= min_batch)
        total_steps = opts.epochs * steps_per_epoch
        cosine = opts.lr_schedule == "cosine"
        for epoch in range(state.epoch, opts.epochs):
            net.train()
            if hasattr(train, "epoch_order"):  # a library on disk: shard by shard
                perm = train.epoch_order(opts.seed, epoch)
            elif dist is None:
                perm = torch.randperm(n, device=dev)
            else:  # the same order on every rank; each takes its slice of a batch
                perm = distributed.epoch_order(n, opts.seed, epoch, dev)
            loss_sum = w_sum = 0.0
            for start in range(0, n, bs):
                idx = perm[start : start + bs]
                if len(idx) < min_batch:
                    continue
                state.step += 1
                if cosine or state.step == 1 or state.step % opts.lr_decay == 0:
                    state.lr = _lr_at(state.step, opts, total_steps)
                    for group in optimizer.param_groups:
                        group["lr"] = state.lr
                x, y, w, orig, batch = self._batch(train, idx if dist is None else dist.shard(idx))
                with devices.autocast(amp, dev):
                    if net.view is not None:
                        loss = _view_gate_loss(fwd, x, y, w, orig, batch, opts.loss, scale)
                    else:
                        loss = masked_loss(fwd(x).float(), y, w, opts.loss, scale)
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.unscale_(optimizer)
                else:
                    loss.backward()
                if opts.max_norm:
                    clip = 1.0 if opts.max_norm is True else float(opts.max_norm)
                    _clip_grad_norm(net_params, clip)
                if scaler is not None:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    optimizer.step()
                if ema_net is not None:
                    with torch.no_grad():
                        torch._foreach_lerp_(ema_params, net_params, 1.0 - float(opts.ema))
                ws = float(w.sum())
                loss_sum += float(loss.detach()) * ws
                w_sum += ws
                if progress is not None:
                    progress(len(idx))
            loss_train = loss_sum / w_sum if w_sum else float("nan")
            if dist is not None:
                loss_train = dist.mean(loss_sum, w_sum)
            if ema_net is not None:  # BatchNorm statistics follow the raw network
                for b_e, b in zip(ema_net.buffers(), net.buffers(), strict=True):
                    b_e.copy_(b)
            if val is not None and len(val):
                _, err_val = self._evaluate(eval_net, val)
            else:
                err_val = float("nan")
            if test is not None and len(test):
                loss_test, err_test = self._evaluate(eval_net, test)
            else:
                loss_test = err_test = float("nan")
            if val is None or not len(val):
                is_best = True
            else:
                is_best = bool(err_val < state.best_err) or not math.isfinite(state.best_err)
            if is_best:
                state.best_err = err_val if math.isfinite(err_val) else state.best_err
                state.best_epoch = epoch + 1
                best = copy.deepcopy(eval_net.state_dict())
            state.epoch = epoch + 1
            self._epoch_end(
                EpochResult(epoch + 1, state.lr, loss_train, loss_test, err_test, err_val, is_best),
                selecting=val is not None and bool(len(val)),
            )
        return best

    # --------------------------------------------------------- linear init
    @torch.no_grad()
    def _init_linear(self, data: PoseBatch, real: PoseBatch) -> None:
        """Set the linear paths to ridge least-squares maps.

        The skip path gets the map fitted on ``data`` (the training data with an augmented
        copy), the view gate's expert (``view_gate``) the one fitted on ``real`` (the
        training data alone), the samples it is trained on.
        """
        net = self.lifter.net
        if net.skip is not None:
            _set_ridge(net.skip, _ridge(self.lifter.encoder, data))
        if net.view is not None:
            _set_ridge(net.view.skip, _ridge(self.lifter.encoder, real))

    # ------------------------------------------------------- log and files
    def _start_log(self) -> None:
        if self.out_dir is None:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        log_file = self.out_dir / LOG_FILE
        if not (self.resume and log_file.exists()):
            log_file.write_text(LOG_HEADER + "\n")

    def _epoch_end(self, res: EpochResult, selecting: bool = True) -> None:
        """Record the epoch; with ``out_dir``, append the log row and write checkpoints.

        ``ckpt_last`` is written every :func:`checkpoint_every` epochs and after the last
        one; ``ckpt_best`` with it, or at once when a held-out set selects the epoch
        (``selecting``) and this one is the best so far.
        """
        self.lifter.history.append(res)
        self.lifter.best_epoch = self.state.best_epoch
        if self.out_dir is None:
            return
        with (self.out_dir / LOG_FILE).open("a") as fh:
            fh.write(
                f"{res.epoch}\t{res.lr:.6g}\t{res.loss_train:.6g}\t"
                f"{res.loss_test:.6g}\t{res.err_test:.6g}\n"
            )
        epochs = self.options.epochs or res.epoch
        due = res.epoch >= epochs or res.epoch % checkpoint_every(epochs) == 0
        if due:
            self._write_checkpoint(self.out_dir / CKPT_LAST, with_optimizer=True)
        if res.is_best and (due or selecting):
            self._write_checkpoint(self.out_dir / CKPT_BEST, with_optimizer=False)

    def _write_checkpoint(self, path: Path, with_optimizer: bool) -> None:
        """The lifter's model file plus the training state (and optimiser, RNG, EMA)."""
        tensors, meta = self.lifter._tensors(), self.lifter._meta()
        st = self.state
        meta["train_state"] = {
            "epoch": st.epoch,
            "step": st.step,
            "lr": st.lr,
            "best_err": st.best_err if math.isfinite(st.best_err) else None,
            "best_epoch": st.best_epoch,
        }
        if with_optimizer:
            assert self.optimizer is not None
            osd = self.optimizer.state_dict()
            for idx, pstate in osd["state"].items():
                for name, value in pstate.items():
                    tensors[f"optim.{idx}.{name}"] = torch.as_tensor(value)
            meta["optimizer_param_groups"] = osd["param_groups"]
            tensors["rng.cpu"] = torch.get_rng_state()
            if self.ema_net is not None:
                for k, v in self.ema_net.state_dict().items():
                    tensors[f"ema.{k}"] = v
        write_model_file(path, tensors, meta, overwrite=True)

    def _find_checkpoint(self) -> Path | None:
        out_path, load = self.out_dir, self._load
        if load is not None:
            p = Path(load)
            if p.name.endswith(".pth.tar"):
                p = p.with_name(p.name[: -len(".pth.tar")] + ".safetensors")
            if not p.is_absolute() and out_path is not None and (out_path / p).exists():
                p = out_path / p
            if not p.exists():
                raise ConfigError(f"checkpoint to load not found: {p}")
            return p
        if self.resume:
            if out_path is None:
                raise ConfigError("resume=True needs out_dir (where ckpt_last.safetensors is)")
            p = out_path / CKPT_LAST
            if not p.exists():
                raise ConfigError(f"resume=True but there is no checkpoint {p}")
            return p
        return None

    def _restore_checkpoint(self, path: Path) -> TrainState:
        """Load the weights, statistics and optimiser of a checkpoint; return its state."""
        lifter, dev = self.lifter, self.device
        assert self.optimizer is not None
        tensors, meta = read_model_file(path)
        loaded = type(lifter).load(path)
        if loaded.keypoints != lifter.keypoints or loaded.layout != lifter.layout:
            raise ConfigError(
                f"checkpoint {path} is for keypoints {loaded.keypoints}, roots {loaded.roots}, "
                f"target sets {loaded.target_sets}: not this lifter's"
            )
        if loaded.options != lifter.options or loaded.encoder.options != lifter.encoder.options:
            raise ConfigError(
                f"checkpoint {path} has options {loaded.options}, {loaded.encoder.options}, "
                f"not {lifter.options}, {lifter.encoder.options}"
            )
        lifter.net.load_state_dict(loaded.net.state_dict())
        lifter.net.to(dev)
        lifter.encoder.stats = loaded.encoder.stats
        lifter.encoder.root_offsets = loaded.encoder.root_offsets
        groups = meta.get("optimizer_param_groups")
        ts = meta.get("train_state")
        if groups is None or ts is None:
            raise ModelFileError(f"{path}: a model file, not a training checkpoint (no state)")
        opt_state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, idx, name = key.split(".", 2)
                opt_state.setdefault(int(idx), {})[name] = value.to(dev)
        self.optimizer.load_state_dict({"state": opt_state, "param_groups": groups})
        best = ts.get("best_err")
        return TrainState(
            epoch=int(ts["epoch"]),
            step=int(ts["step"]),
            lr=float(ts["lr"]),
            best_err=math.inf if best is None else float(best),
            best_epoch=int(ts.get("best_epoch", 0)),
        )


def _ridge(encoder: InputEncoder, data: PoseBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """Ridge least-squares map from network input to standardised target on ``data``."""
    x = encoder.encode(data.pose_2d, data.valid_2d)
    y, w = encoder.target(data.pose_3d, data.weight_3d)
    x, y, w = x.double(), y.double(), w.double()
    # per output: weighted least squares would need one solve per output; rows with
    # missing targets are rare, so use the rows with every target present when enough
    full = w.min(1).values > 0
    if int(full.sum()) > x.shape[1] + 1:
        x, y = x[full], y[full]
    xm, ym = x.mean(0), y.mean(0)
    xc, yc = x - xm, y - ym
    gram = xc.T @ xc
    lam = 1e-3 * float(torch.trace(gram)) / gram.shape[0] + 1e-8
    eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
    coef = torch.linalg.solve(gram + lam * eye, xc.T @ yc)
    return coef.T, ym - xm @ coef


@torch.no_grad()
def _set_ridge(layer: nn.Linear, coef: tuple[torch.Tensor, torch.Tensor]) -> None:
    layer.weight.copy_(coef[0].to(layer.weight.dtype))
    layer.bias.copy_(coef[1].to(layer.bias.dtype))


def _subsample(data: PoseBatch, n: int) -> PoseBatch:
    """At most ``n`` frames of ``data``, drawn at random (torch's generator), in memory."""
    if isinstance(data, PoseBatch):
        if len(data) <= n:
            return data
        dev = data.pose_2d.device
    else:  # a library on disk (liftpose_dlc.lifter.shards.MappedBatch)
        dev = data.device
    return data.index(torch.randperm(len(data), device=dev)[:n])


def _with_augmented_pass(train: PoseBatch, augs: list[Augmentation]) -> PoseBatch:
    """The training data plus one augmented copy of it (for statistics and the linear init)."""
    if not augs:
        return train
    # augmentations expect batches in random order (random_view rotates the first ones)
    aug = train.index(torch.randperm(len(train), device=train.pose_2d.device))
    for a in augs:
        aug = a(aug)
    if any(getattr(a, "replaces_2d", False) for a in augs):
        return aug
    return PoseBatch(
        torch.cat([train.pose_2d, aug.pose_2d]),
        torch.cat([train.pose_3d, aug.pose_3d]),
        torch.cat([train.valid_2d, aug.valid_2d]),
        torch.cat([train.weight_3d, aug.weight_3d]),
    )
