"""The training loop: batches from tensors in memory, Adam, step decay, clipping, selection.

The loop is independent of files: the :class:`~liftpose_dlc.lifter.lifter.Lifter` passes
a callback that writes the log row and the checkpoints after each epoch.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch
from torch import nn

from liftpose_dlc.errors import ConfigError
from liftpose_dlc.lifter.augmentation import Augmentation, PoseBatch
from liftpose_dlc.lifter.preprocessing import (
    Layout,
    make_input,
    make_target,
    unnormalise_output,
)

__all__ = ["TrainOptions", "EpochResult", "TrainState", "run_training", "evaluate"]


LOSSES = ("l1", "mse", "mpjpe")
LR_SCHEDULES = ("step", "cosine")


@dataclass(frozen=True)
class TrainOptions:
    """Training settings.

    The defaults are the ones the benchmark in ``benchmarks/RESULTS.md`` found best. The
    seed's values are ``epochs=30, batch_size=64, lr=1e-3, lr_decay=5000, lr_gamma=0.9,
    max_norm=True, weight_decay=0, loss="l1"`` with the staircase schedule alone and the
    epoch selected on held-out frames (with the network's ``dropout=0.5``); the defaults
    differ in ``epochs``, ``batch_size``, ``lr_schedule`` (cosine: training ends at a low
    rate, so the last epoch is kept), ``val_fraction`` (0: every frame is trained on) and
    ``loss`` (``"mpjpe"``, the evaluation metric itself).

    Attributes
    ----------
    epochs
        Number of passes over the training frames; None (default): at least 30 and
        enough for ``min_steps`` optimisation steps (small data sets need many epochs).
    min_steps
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
        Fraction of the training frames held out (the last frames of each sequence) to
        select the best epoch; 0 (default) trains on every frame and keeps the last epoch.
    loss
        ``"l1"`` (the seed's) or ``"mse"`` on the standardised coordinates, or ``"mpjpe"``
        (default): the mean Euclidean distance per joint in the data's units (the
        evaluation metric).
    ema
        If > 0, evaluate, select and keep an exponential moving average of the weights
        with this decay per step (e.g. 0.99); 0 uses the raw weights.
    seed
        Seed of every random draw (initialisation, shuffling, augmentation, dropout).
    """

    epochs: int | None = None
    min_steps: int = 2000
    batch_size: int = 128
    lr: float = 1e-3
    lr_decay: int = 5000
    lr_gamma: float = 0.9
    lr_schedule: str = "cosine"
    max_norm: bool | float = True
    weight_decay: float = 0.0
    val_fraction: float = 0.0
    loss: str = "mpjpe"
    ema: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (
                self.epochs is None or (isinstance(self.epochs, int) and self.epochs >= 0),
                "epochs must be None or an int >= 0",
            ),
            (isinstance(self.min_steps, int) and self.min_steps >= 0, "min_steps must be >= 0"),
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

    @classmethod
    def names(cls) -> list[str]:
        """The option names."""
        return [f.name for f in fields(cls)]

    def as_dict(self) -> dict[str, Any]:
        """The options as a JSON-friendly dictionary."""
        return asdict(self)

    def resolved(self, n_train: int) -> TrainOptions:
        """These options with ``epochs`` fixed for ``n_train`` training frames."""
        if self.epochs is not None:
            return self
        steps = max(1, math.ceil(n_train / min(self.batch_size, max(n_train, 2))))
        return replace(self, epochs=max(30, math.ceil(self.min_steps / steps)))


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
    """What :func:`run_training` needs to resume: counters and the best result so far."""

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
    net: nn.Module,
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
    layout: Layout,
    stats: dict[str, torch.Tensor],
    norm_2d: bool,
    loss_kind: str,
    batch_size: int = 4096,
) -> tuple[float, float]:
    """Loss (standardised, as in training) and MPJPE (input units) of ``net`` on ``data``.

    MPJPE is the mean Euclidean distance between predicted and true root-relative
    positions over the target joints that have a 3D value (and a root).
    """
    net.eval()
    loss_sum = w_sum = err_sum = n_err = 0.0
    for i in range(0, len(data), batch_size):
        b = data.index(torch.arange(i, min(i + batch_size, len(data)), device=data.pose_2d.device))
        x = make_input(b.pose_2d, b.valid_2d, layout, stats, norm_2d)
        y, w = make_target(b.pose_3d, b.weight_3d, layout, stats)
        out = net(x)
        n_w = float(w.sum()) if loss_kind != "mpjpe" else float(w.sum()) / 3
        loss_sum += float(masked_loss(out, y, w, loss_kind, loss_scale(stats))) * n_w
        w_sum += n_w
        pred = unnormalise_output(out, stats)
        true = unnormalise_output(y, stats)
        wj = w.reshape(w.shape[0], -1, 3)[..., 0]
        dist = torch.linalg.vector_norm(pred - true, dim=-1)
        err_sum += float((dist * wj).sum())
        n_err += float(wj.sum())
    nan = float("nan")
    return (loss_sum / w_sum if w_sum else nan, err_sum / n_err if n_err else nan)


def run_training(
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    layout: Layout,
    stats: dict[str, torch.Tensor],
    norm_2d: bool,
    opts: TrainOptions,
    train: PoseBatch,
    val: PoseBatch | None,
    test: PoseBatch | None,
    augmentation: Sequence[Augmentation],
    state: TrainState,
    on_epoch_end: Callable[[EpochResult, TrainState, dict[str, torch.Tensor]], None] | None = None,
    progress: Callable[[int], Any] | None = None,
    best_state: dict[str, torch.Tensor] | None = None,
    ema_net: nn.Module | None = None,
) -> dict[str, torch.Tensor]:
    """Train ``net`` in place from ``state.epoch`` to ``opts.epochs``; return the best weights.

    The best epoch is the one with the lowest MPJPE on ``val`` (the last epoch when
    ``val`` is None). ``on_epoch_end(result, state, best_state_dict)`` is called after each
    epoch (for logs and checkpoints). ``progress(n)`` is called with the number of samples
    done after each step (for a progress bar). ``best_state`` is the best weights so far
    when resuming (default: the current weights). With ``opts.ema > 0``, ``ema_net`` (a copy
    of ``net``, updated in place) holds the averaged weights that are evaluated and kept.
    """
    n = len(train)
    if n < 2:
        raise ConfigError(f"need at least 2 training frames, got {n}")
    dev = train.pose_2d.device
    bs = min(opts.batch_size, n)
    best = copy.deepcopy(net.state_dict() if best_state is None else best_state)
    if opts.ema > 0 and ema_net is None:
        raise ConfigError("ema > 0 needs ema_net, a copy of the network")
    ema_params = [] if ema_net is None else list(ema_net.parameters())
    net_params = list(net.parameters())
    eval_net = net if ema_net is None or opts.ema <= 0 else ema_net
    opts = opts.resolved(n)
    assert opts.epochs is not None
    scale = loss_scale(stats)
    steps_per_epoch = sum(1 for s in range(0, n, bs) if n - s >= 2)
    total_steps = opts.epochs * steps_per_epoch
    cosine = opts.lr_schedule == "cosine"
    for epoch in range(state.epoch, opts.epochs):
        net.train()
        perm = torch.randperm(n, device=dev)
        loss_sum = w_sum = 0.0
        for start in range(0, n, bs):
            idx = perm[start : start + bs]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            state.step += 1
            if cosine or state.step == 1 or state.step % opts.lr_decay == 0:
                state.lr = _lr_at(state.step, opts, total_steps)
                for group in optimizer.param_groups:
                    group["lr"] = state.lr
            batch = orig = train.index(idx)
            for aug in augmentation:
                batch = aug(batch)
            x = make_input(batch.pose_2d, batch.valid_2d, layout, stats, norm_2d)
            y, w = make_target(batch.pose_3d, batch.weight_3d, layout, stats)
            if getattr(net, "view", None) is not None:
                loss = _view_gate_loss(net, x, y, w, orig, batch, opts.loss, scale)
            else:
                loss = masked_loss(net(x), y, w, opts.loss, scale)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if opts.max_norm:
                clip = 1.0 if opts.max_norm is True else float(opts.max_norm)
                _clip_grad_norm(net_params, clip)
            optimizer.step()
            if eval_net is not net:
                with torch.no_grad():
                    torch._foreach_lerp_(ema_params, net_params, 1.0 - float(opts.ema))
            ws = float(w.sum())
            loss_sum += float(loss.detach()) * ws
            w_sum += ws
            if progress is not None:
                progress(len(idx))
        loss_train = loss_sum / w_sum if w_sum else float("nan")
        if eval_net is not net:  # BatchNorm statistics follow the raw network
            assert ema_net is not None
            for b_e, b in zip(ema_net.buffers(), net.buffers(), strict=True):
                b_e.copy_(b)
        if val is not None and len(val):
            _, err_val = evaluate(eval_net, val, layout, stats, norm_2d, opts.loss)
        else:
            err_val = float("nan")
        if test is not None and len(test):
            loss_test, err_test = evaluate(eval_net, test, layout, stats, norm_2d, opts.loss)
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
        result = EpochResult(epoch + 1, state.lr, loss_train, loss_test, err_test, err_val, is_best)
        if on_epoch_end is not None:
            on_epoch_end(result, state, best)
    return best
