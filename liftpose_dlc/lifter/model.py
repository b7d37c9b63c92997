"""The LiftPose3D network (Martinez et al. 2017 residual MLP) with real, working options.

``LiftPoseNet(input_size, output_size)`` with ``linear_size=1024, num_stage=2,
dropout=0.5, linear_skip=False`` is the original network exactly: a linear layer to
``linear_size`` units, BatchNorm, ReLU, Dropout; ``num_stage`` residual blocks of two
such layers; a linear output layer; Kaiming-normal initialisation of the linear weights.
Unlike liftpose 0.22, every option changes the model.

``linear_skip=True`` adds a linear path from input to output
(``output = Linear(x) + MLP(x)``), so that the near-linear part of the 2D-to-3D map is
represented directly and the MLP only learns the remainder. The lifter initialises
that path with the ridge least-squares solution on the training data.

``set_size`` adds one small MLP per target set (:class:`SetBranches`, run as batched
matrix products), and ``view_gate`` a training-view expert with a gate
(:class:`ViewGate`); see :class:`ModelOptions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from liftpose_dlc.errors import ConfigError
from liftpose_dlc.lifter._options import OptionsMixin

__all__ = [
    "ModelOptions",
    "LiftPoseNet",
    "SetBranches",
    "ViewGate",
    "PoolDropout",
    "weight_init",
]

#: Hidden width of the view gate's classifier.
GATE_WIDTH = 64
#: Rows per slice of a forward pass in evaluation mode (see :meth:`LiftPoseNet.forward`).
EVAL_CHUNK = 2048


@dataclass(frozen=True)
class ModelOptions(OptionsMixin):
    """Options of the network: its shape.

    The input encoding's options are in :class:`~liftpose_dlc.lifter.encoder.EncoderOptions`,
    training's in :class:`~liftpose_dlc.lifter.session.TrainOptions`.

    Attributes
    ----------
    linear_size
        Width of the hidden layers (original: 1024).
    num_stage
        Number of residual blocks (original: 2).
    dropout
        Dropout probability of the hidden layers (original: 0.5).
    linear_skip
        Add a linear input-to-output path (see module docstring).
    set_size
        Hidden width of the set branches: one small residual MLP per target set that sees
        only that set's inputs (its 2D, chain features and flags) plus the roots' layout,
        and predicts that set's 3D; added to the output. 0: none. A per-set map has far
        fewer inputs than the whole pose, so it learns a leg's nonlinear 2D-to-depth
        relation from few frames.
    set_stage
        Residual blocks of each set branch.
    view_gate
        Add a training-view expert and a gate (:class:`ViewGate`): with rotation
        augmentation, one network has to serve the real views and the rotated ones, which
        blurs its answer on the real views; the gate recognises the training cameras'
        views and hands them to an expert trained on the real samples only.
    """

    kind: ClassVar[str] = "model"

    linear_size: int = 1024
    num_stage: int = 2
    dropout: float = 0.5
    linear_skip: bool = False
    set_size: int = 0
    set_stage: int = 1
    view_gate: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.linear_size, int) and self.linear_size > 0):
            raise ConfigError(f"linear_size must be a positive int, got {self.linear_size!r}")
        if not (isinstance(self.num_stage, int) and self.num_stage >= 0):
            raise ConfigError(f"num_stage must be an int >= 0, got {self.num_stage!r}")
        if not (isinstance(self.set_size, int) and self.set_size >= 0):
            raise ConfigError(f"set_size must be an int >= 0, got {self.set_size!r}")
        if not (isinstance(self.set_stage, int) and self.set_stage >= 0):
            raise ConfigError(f"set_stage must be an int >= 0, got {self.set_stage!r}")
        if not (0.0 <= float(self.dropout) < 1.0):
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout!r}")


#: Smallest pool of dropout masks, and the seed of its own generator (see :class:`PoolDropout`).
MASK_POOL_MIN = 1 << 20
MASK_POOL_SEED = 20211
_MASK_POOLS: dict[tuple[int, float, torch.dtype, torch.device], torch.Tensor] = {}


def _mask_pool(n: int, p: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Scaled Bernoulli masks (0 or ``1 / (1 - p)``), at least ``8 * n`` of them."""
    size = max(MASK_POOL_MIN, 1 << (8 * n - 1).bit_length())
    key = (size, p, dtype, device)
    pool = _MASK_POOLS.get(key)
    if pool is None:
        if len(_MASK_POOLS) > 16:
            _MASK_POOLS.clear()
        gen = torch.Generator().manual_seed(MASK_POOL_SEED)
        keep = torch.rand(size, generator=gen) >= p
        pool = (keep.to(dtype) / (1.0 - p)).to(device)
        _MASK_POOLS[key] = pool
    return pool


class PoolDropout(nn.Module):
    """Dropout whose masks are cut from a pool of random masks drawn once.

    In training, each call multiplies its input by a slice of a pool of scaled Bernoulli
    masks (0 with probability ``p``, else ``1 / (1 - p)``) starting at an offset drawn from
    torch's (CPU) generator: the same distribution per unit as :class:`torch.nn.Dropout`,
    without drawing one random number per unit and step, which on the CPU cost more than
    the layers' matrix products at the default network's sizes (``benchmarks/RESULTS.md``,
    "Training time"). The pool comes from its own generator with a fixed seed, so that a
    run is reproducible and a resumed run continues it exactly. In evaluation mode it is
    the identity.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = float(p)

    def extra_repr(self) -> str:
        """The dropout probability."""
        return f"p={self.p}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` times a random mask in training, ``x`` itself in evaluation mode."""
        if not self.training or self.p == 0.0:
            return x
        n = x.numel()
        pool = _mask_pool(n, self.p, x.dtype, x.device)
        start = int(torch.randint(len(pool) - n + 1, (1,)))
        return x * pool[start : start + n].view(x.shape)


def weight_init(module: nn.Module) -> None:
    """Kaiming-normal initialisation of linear weights (the original's ``weight_init``)."""
    if isinstance(module, nn.Linear):
        nn.init.kaiming_normal_(module.weight)


class _Block(nn.Module):
    """Two (Linear, BatchNorm, ReLU, Dropout) layers with a residual connection."""

    def __init__(self, size: int, dropout: float) -> None:
        super().__init__()
        self.w1 = nn.Linear(size, size)
        self.batch_norm1 = nn.BatchNorm1d(size)
        self.w2 = nn.Linear(size, size)
        self.batch_norm2 = nn.BatchNorm1d(size)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = PoolDropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dropout(self.relu(self.batch_norm1(self.w1(x))))
        y = self.dropout(self.relu(self.batch_norm2(self.w2(y))))
        return x + y


class _GroupLinear(nn.Module):
    """``G`` independent linear maps applied to ``(G, B, m)``, giving ``(G, B, n)``."""

    def __init__(self, groups: int, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(groups, n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(groups, 1, n_out))
        # Kaiming normal with fan_in = n_in, as nn.init.kaiming_normal_ on a Linear
        nn.init.normal_(self.weight, 0.0, (2.0 / n_in) ** 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class _GroupLayer(nn.Module):
    """Grouped Linear, BatchNorm, SiLU, Dropout on ``(G, B, n)``.

    The batch normalisation is ``nn.BatchNorm1d``'s (batch statistics in training, running
    averages with momentum 0.1 otherwise) per group and unit, computed in the ``(G, B, n)``
    layout so that no tensor is transposed. SiLU, not ReLU: the set branches learn smooth
    maps from few frames, and a smooth activation does that better
    (``benchmarks/RESULTS.md``).
    """

    running_mean: torch.Tensor  # buffers
    running_var: torch.Tensor

    EPS = 1e-5
    MOMENTUM = 0.1

    def __init__(self, groups: int, n_in: int, n_out: int, dropout: float) -> None:
        super().__init__()
        self.linear = _GroupLinear(groups, n_in, n_out)
        self.bn_weight = nn.Parameter(torch.ones(groups, 1, n_out))
        self.bn_bias = nn.Parameter(torch.zeros(groups, 1, n_out))
        self.register_buffer("running_mean", torch.zeros(groups, 1, n_out))
        self.register_buffer("running_var", torch.ones(groups, 1, n_out))
        self.dropout = PoolDropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lin = self.linear
        if self.training:
            y = lin(x)
            var, mean = torch.var_mean(y, dim=1, keepdim=True, correction=0)
            with torch.no_grad():
                n = y.shape[1]
                self.running_mean.lerp_(mean, self.MOMENTUM)
                self.running_var.lerp_(var * (n / max(n - 1, 1)), self.MOMENTUM)
            scale = self.bn_weight * torch.rsqrt(var + self.EPS)
            y = torch.addcmul(self.bn_bias - mean * scale, y, scale)
        else:  # the normalisation folded into the linear map: one product, no extra pass
            scale = self.bn_weight * torch.rsqrt(self.running_var + self.EPS)
            bias = (lin.bias - self.running_mean) * scale + self.bn_bias
            y = torch.baddbmm(bias, x, lin.weight * scale)
        return self.dropout(nn.functional.silu(y))


class SetBranches(nn.Module):
    """One small residual MLP per target set, each seeing only its own inputs.

    Parameters
    ----------
    input_size
        Length of the input vector.
    in_columns
        For each group, the input columns it sees.
    out_columns
        For each group, the output columns it predicts (together, every output once).
    output_size
        Length of the output vector.
    options
        ``set_size`` (hidden width per group), ``set_stage`` (residual blocks) and
        ``dropout`` are used.
    """

    in_index: torch.Tensor  # buffers
    out_index: torch.Tensor

    def __init__(
        self,
        input_size: int,
        in_columns: list[list[int]],
        out_columns: list[list[int]],
        output_size: int,
        options: ModelOptions,
    ) -> None:
        super().__init__()
        width, num_stage, dropout = options.set_size, options.set_stage, options.dropout
        g = len(in_columns)
        m = max(len(c) for c in in_columns)
        o = max(len(c) for c in out_columns)
        pad = input_size  # an appended zero column
        idx = [list(c) + [pad] * (m - len(c)) for c in in_columns]
        self.register_buffer("in_index", torch.tensor(idx).reshape(-1), persistent=False)
        pos = torch.full((output_size,), -1, dtype=torch.int64)
        for k, cols in enumerate(out_columns):
            for i, c in enumerate(cols):
                pos[c] = k * o + i
        if bool((pos < 0).any()):
            raise ValueError("out_columns must cover every output")
        self.register_buffer("out_index", pos, persistent=False)
        self.groups, self.n_in = g, m
        self.padded = any(len(c) < m for c in in_columns)
        self.first = _GroupLayer(g, m, width, dropout)
        self.blocks = nn.ModuleList(
            [
                nn.Sequential(
                    _GroupLayer(g, width, width, dropout), _GroupLayer(g, width, width, dropout)
                )
                for _ in range(num_stage)
            ]
        )
        self.last = _GroupLinear(g, width, o)
        nn.init.zeros_(self.last.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map inputs ``(B, input_size)`` to outputs ``(B, output_size)``."""
        b = x.shape[0]
        # sets smaller than the largest read the zero column appended here
        xp = torch.cat([x, x.new_zeros(b, 1)], dim=1) if self.padded else x
        # (G, B, m): the groups' inputs, batched over the groups
        xg = xp.index_select(1, self.in_index).reshape(b, self.groups, self.n_in)
        y = self.first(xg.transpose(0, 1))
        for block in self.blocks:
            y = y + block(y)
        out = self.last(y).transpose(0, 1).reshape(b, -1)
        return out.index_select(1, self.out_index)


class LiftPoseNet(nn.Module):
    """The LiftPose3D residual MLP, optionally with a linear skip path.

    Parameters
    ----------
    input_size
        Length of the input vector.
    output_size
        Length of the output vector.
    options
        :class:`ModelOptions` (width, depth, dropout, linear skip).

    Examples
    --------
    >>> net = LiftPoseNet(36, 36, ModelOptions(linear_size=64, num_stage=1))
    >>> net.eval()(torch.zeros(5, 36)).shape
    torch.Size([5, 36])
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        options: ModelOptions | None = None,
        groups: tuple[list[list[int]], list[list[int]]] | None = None,
    ) -> None:
        super().__init__()
        opt = options or ModelOptions()
        self.input_size = input_size
        self.output_size = output_size
        self.w1 = nn.Linear(input_size, opt.linear_size)
        self.batch_norm1 = nn.BatchNorm1d(opt.linear_size)
        self.linear_stages = nn.ModuleList(
            [_Block(opt.linear_size, opt.dropout) for _ in range(opt.num_stage)]
        )
        self.w2 = nn.Linear(opt.linear_size, output_size)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = PoolDropout(opt.dropout)
        self.apply(weight_init)
        self.skip: nn.Linear | None = None
        if opt.linear_skip:
            self.skip = nn.Linear(input_size, output_size)
            nn.init.zeros_(self.skip.weight)
            nn.init.zeros_(self.skip.bias)
            # start from the linear path alone; the MLP learns the remainder
            nn.init.zeros_(self.w2.weight)
            nn.init.zeros_(self.w2.bias)
        self.sets: SetBranches | None = None
        if opt.set_size > 0:
            self.sets = SetBranches(input_size, *_need(groups), output_size, opt)
        self.view: ViewGate | None = None
        if opt.view_gate:
            self.view = ViewGate(input_size, output_size, opt, groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map inputs ``(B, input_size)`` to outputs ``(B, output_size)``.

        In evaluation mode large batches run in slices of :data:`EVAL_CHUNK` rows (the
        result is the same: every row is independent then), which keeps the hidden layers
        in the CPU's cache: about twice the throughput of one 65,536-row product.
        """
        if not self.training and x.shape[0] > EVAL_CHUNK:
            return torch.cat([self._forward(part) for part in x.split(EVAL_CHUNK)])
        return self._forward(x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.view is None:
            return self.general(x)
        general, expert, logit = self.parts(x)
        return general + torch.sigmoid(logit)[:, None] * (expert - general)

    def parts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """With ``view_gate``: the general output, the training-view expert's, the gate logit."""
        if self.view is None:
            raise RuntimeError("parts() needs the view_gate option")
        return self.general(x), self.view.expert(x), self.view.gate(x)[:, 0]

    def general(self, x: torch.Tensor) -> torch.Tensor:
        """The output of the MLP, the linear path and the set branches (no view gate)."""
        y = self.dropout(self.relu(self.batch_norm1(self.w1(x))))
        for stage in self.linear_stages:
            y = stage(y)
        y = self.w2(y)
        if self.skip is not None:
            y = y + self.skip(x)
        if self.sets is not None:
            y = y + self.sets(x)
        return y


def _need(
    groups: tuple[list[list[int]], list[list[int]]] | None,
) -> tuple[list[list[int]], list[list[int]]]:
    if groups is None:
        raise ValueError("set_size > 0 needs the input/output columns of each target set")
    return groups


class ViewGate(nn.Module):
    """A training-view expert and a gate that recognises the training cameras' views.

    The expert (a linear map plus, with ``set_size``, its own set branches) is trained on
    the samples whose 3D no augmentation changed, i.e. the real views; the gate (a small
    MLP on the input) is trained to tell those from the augmented views. The network's
    output is ``general + sigmoid(gate) * (expert - general)``: on the training cameras'
    views the expert, which no rotated sample has blurred, answers; on other views the
    general network trained on all samples does. Without augmentation every sample is real
    and the gate learns to hand every input to the expert.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        options: ModelOptions,
        groups: tuple[list[list[int]], list[list[int]]] | None,
    ) -> None:
        super().__init__()
        self.skip = nn.Linear(input_size, output_size)
        nn.init.zeros_(self.skip.weight)
        nn.init.zeros_(self.skip.bias)
        self.sets: SetBranches | None = None
        if options.set_size > 0:
            self.sets = SetBranches(input_size, *_need(groups), output_size, options)
        self.gate = nn.Sequential(
            nn.Linear(input_size, GATE_WIDTH), nn.ReLU(), nn.Linear(GATE_WIDTH, 1)
        )

    def expert(self, x: torch.Tensor) -> torch.Tensor:
        """The training-view expert's output."""
        y = self.skip(x)
        if self.sets is not None:
            y = y + self.sets(x)
        return y
