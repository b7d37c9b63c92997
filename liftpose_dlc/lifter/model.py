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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from liftpose_dlc.errors import ConfigError

__all__ = ["ModelOptions", "LiftPoseNet", "weight_init"]


@dataclass(frozen=True)
class ModelOptions:
    """Options of the network and its input convention.

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
    norm_2d
        Divide each 2D pose (root-relative) by its RMS length before standardising,
        making the lifter invariant to the animal's image size (the seed's ``norm_2d``).
    root_input
        Also give the network the 2D positions of the other roots relative to the first
        root (the seed gives only each target set relative to its own root, so the network
        never sees how the body is oriented in the image). No effect with one root.
    chain_features
        Also give the network, for each target set taken as a chain (root, then the targets
        in the given order), the squared 2D length and the 2D length of each segment: with
        segments of fixed 3D length, the 2D length tells how much a segment points along
        the camera's axis (foreshortening), a quadratic function of the coordinates that
        the linear path cannot represent.
    """

    linear_size: int = 1024
    num_stage: int = 2
    dropout: float = 0.5
    linear_skip: bool = False
    norm_2d: bool = False
    root_input: bool = False
    chain_features: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.linear_size, int) and self.linear_size > 0):
            raise ConfigError(f"linear_size must be a positive int, got {self.linear_size!r}")
        if not (isinstance(self.num_stage, int) and self.num_stage >= 0):
            raise ConfigError(f"num_stage must be an int >= 0, got {self.num_stage!r}")
        if not (0.0 <= float(self.dropout) < 1.0):
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout!r}")

    @classmethod
    def names(cls) -> list[str]:
        """The option names."""
        return [f.name for f in fields(cls)]

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> ModelOptions:
        """Build from keyword arguments; an unknown key is a :class:`ConfigError`."""
        unknown = sorted(set(kwargs) - set(cls.names()))
        if unknown:
            raise ConfigError(f"unknown model options {unknown}; known: {cls.names()}")
        return cls(**kwargs)

    def as_dict(self) -> dict[str, Any]:
        """The options as a JSON-friendly dictionary."""
        return asdict(self)


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
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dropout(self.relu(self.batch_norm1(self.w1(x))))
        y = self.dropout(self.relu(self.batch_norm2(self.w2(y))))
        return x + y


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
        self, input_size: int, output_size: int, options: ModelOptions | None = None
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
        self.dropout = nn.Dropout(opt.dropout)
        self.apply(weight_init)
        self.skip: nn.Linear | None = None
        if opt.linear_skip:
            self.skip = nn.Linear(input_size, output_size)
            nn.init.zeros_(self.skip.weight)
            nn.init.zeros_(self.skip.bias)
            # start from the linear path alone; the MLP learns the remainder
            nn.init.zeros_(self.w2.weight)
            nn.init.zeros_(self.w2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map inputs ``(B, input_size)`` to outputs ``(B, output_size)``."""
        y = self.dropout(self.relu(self.batch_norm1(self.w1(x))))
        for stage in self.linear_stages:
            y = stage(y)
        y = self.w2(y)
        if self.skip is not None:
            y = y + self.skip(x)
        return y
