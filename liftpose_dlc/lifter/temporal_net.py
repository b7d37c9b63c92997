"""The temporal network: dilated temporal convolutions over a window of frames (VideoPose3D).

:class:`TemporalNet` (Pavllo et al. 2019, "3D human pose estimation in video with temporal
convolutions") maps the encoded 2D of a window of ``temporal`` frames (3, 9, 27, 81, ...)
to the 3D of one frame: an expanding convolution of width 3, then residual blocks of a
width-3 convolution and a pointwise one, each with BatchNorm, ReLU and dropout. It runs in
two equivalent ways with the same weights:

* on windows ``(B, temporal, F)`` (training, one output per window): strided convolutions
  (stride 3), which compute only what the window's output needs;
* on whole sequences ``(S, L + temporal - 1, F)`` (prediction): dilated convolutions
  (dilation 1, 3, 9, ...), one output per frame, each frame's input encoded once.

``causal`` aligns each block's residual with the window's last frame instead of its
centre: the output of frame ``t`` then depends on frames ``t - temporal + 1`` to ``t`` only.

The convolutions are added to the frame network
(:class:`~liftpose_dlc.lifter.model.LiftPoseNet`, with its linear path, set branches and
view gate) on the lifted frame's own input: the frame network gives the pose, the
convolutions what the neighbouring frames add.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import torch
from torch import nn
from torch.nn import functional as F

from liftpose_dlc.errors import ConfigError
from liftpose_dlc.lifter._options import OptionsMixin
from liftpose_dlc.lifter.model import LiftPoseNet, ModelOptions

__all__ = ["TemporalOptions", "TemporalNet", "receptive_levels"]

#: Width of every temporal convolution (VideoPose3D's).
KERNEL = 3


def receptive_levels(temporal: int) -> int:
    """The number of convolution levels ``k`` of a receptive field ``temporal = 3 ** k``.

    Raises
    ------
    ConfigError
        If ``temporal`` is not a power of 3 of at least 3.
    """
    if isinstance(temporal, bool) or not isinstance(temporal, int) or temporal < KERNEL:
        raise ConfigError(f"temporal must be a receptive field 3, 9, 27, 81, ...; got {temporal!r}")
    k = round(math.log(temporal, KERNEL))
    if KERNEL**k != temporal:
        raise ConfigError(f"temporal must be a power of 3 (3, 9, 27, 81, ...); got {temporal}")
    return k


@dataclass(frozen=True)
class TemporalOptions(OptionsMixin):
    """Options of the temporal lifter: its window.

    Attributes
    ----------
    temporal
        Receptive field in frames: 3, 9, 27, 81, ... (a power of 3).
    causal
        Use past frames only (for online use): the window of frame ``t`` is
        ``t - temporal + 1 .. t``; otherwise it is centred on ``t``.
    channels
        Channels of the temporal convolutions.
    temporal_dropout
        Dropout probability of the temporal convolutions.
    """

    kind: ClassVar[str] = "temporal"

    temporal: int = 27
    causal: bool = False
    channels: int = 64
    temporal_dropout: float = 0.25

    def __post_init__(self) -> None:
        receptive_levels(self.temporal)
        if not isinstance(self.causal, bool):
            raise ConfigError(f"causal must be True or False, got {self.causal!r}")
        if not (isinstance(self.channels, int) and self.channels > 0):
            raise ConfigError(f"channels must be a positive int, got {self.channels!r}")
        if not 0.0 <= float(self.temporal_dropout) < 1.0:
            raise ConfigError(f"temporal_dropout must be in [0, 1), got {self.temporal_dropout!r}")

    @property
    def context(self) -> tuple[int, int]:
        """Frames before and after each frame that its window holds."""
        span = self.temporal - 1
        return (span, 0) if self.causal else (span // 2, span // 2)


class TemporalNet(nn.Module):
    """Dilated temporal convolutions added to the frame network on the window's own frame.

    The output of a window is ``frame(x[own]) + convolutions(x)``: the frame network
    (:class:`~liftpose_dlc.lifter.model.LiftPoseNet` with the model options: its linear
    path, set branches and view gate) on the lifted frame's input, plus the dilated temporal
    convolutions over the whole window (their output layer starts at zero, so training
    starts from the frame network and the convolutions learn what the neighbouring frames
    add).

    Parameters
    ----------
    input_size
        Length of one frame's encoded input.
    output_size
        Length of one frame's output.
    options
        The frame network's options (:class:`~liftpose_dlc.lifter.model.ModelOptions`).
    temporal
        The window and the convolutions' width (:class:`TemporalOptions`).
    groups
        Each target set's input and output columns (for the set branches).

    Examples
    --------
    >>> opts = ModelOptions(linear_size=32)
    >>> net = TemporalNet(12, 9, opts, TemporalOptions(temporal=9, channels=16))
    >>> net.eval()(torch.zeros(4, 9, 12)).shape
    torch.Size([4, 9])
    >>> net.forward_sequence(torch.zeros(2, 30 + 8, 12)).shape
    torch.Size([2, 30, 9])
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        options: ModelOptions,
        temporal: TemporalOptions,
        groups: tuple[list[list[int]], list[list[int]]] | None = None,
    ) -> None:
        super().__init__()
        width = temporal.channels
        self.input_size, self.output_size = input_size, output_size
        self.receptive_field = temporal.temporal
        self.causal = temporal.causal
        self.before = temporal.context[0]
        self.frame = LiftPoseNet(input_size, output_size, options, groups)
        levels = receptive_levels(temporal.temporal)
        self.expand = nn.Conv1d(input_size, width, KERNEL, bias=False)
        self.expand_bn = nn.BatchNorm1d(width)
        self.convs = nn.ModuleList(
            [nn.Conv1d(width, width, KERNEL, bias=False) for _ in range(levels - 1)]
        )
        self.conv_bns = nn.ModuleList([nn.BatchNorm1d(width) for _ in range(levels - 1)])
        self.points = nn.ModuleList(
            [nn.Conv1d(width, width, 1, bias=False) for _ in range(levels - 1)]
        )
        self.point_bns = nn.ModuleList([nn.BatchNorm1d(width) for _ in range(levels - 1)])
        self.shrink = nn.Conv1d(width, output_size, 1)
        nn.init.zeros_(self.shrink.weight)
        nn.init.zeros_(cast(torch.Tensor, self.shrink.bias))
        self.dropout = nn.Dropout(temporal.temporal_dropout)

    @property
    def skip(self) -> nn.Linear | None:
        """The frame network's linear path (initialised by the training session)."""
        return self.frame.skip

    @property
    def view(self) -> nn.Module | None:
        """The frame network's view gate, if any."""
        return self.frame.view

    def _layer(self, h: torch.Tensor, conv: Any, bn: nn.Module, **how: int) -> torch.Tensor:
        return self.dropout(F.relu(bn(F.conv1d(h, conv.weight, conv.bias, **how))))

    def _trunk(self, h: torch.Tensor, strided: bool) -> torch.Tensor:
        """The convolutions on ``(B, F, length)``; strided (windows) or dilated (sequences)."""
        k = KERNEL
        h = self._layer(h, self.expand, self.expand_bn, stride=k if strided else 1)
        dilation = k
        for conv, bn, point, pbn in zip(
            self.convs, self.conv_bns, self.points, self.point_bns, strict=True
        ):
            if strided:  # the residual is the centre (causal: last) of each group of 3
                res = h[:, :, k - 1 :: k] if self.causal else h[:, :, k // 2 :: k]
                y = self._layer(h, conv, bn, stride=k)
            else:
                span = (k - 1) * dilation
                res = h[:, :, span:] if self.causal else h[:, :, span // 2 : h.shape[2] - span // 2]
                y = self._layer(h, conv, bn, dilation=dilation)
                dilation *= k
            h = res + self._layer(y, point, pbn)
        return self.shrink(h)

    def _check(self, x: torch.Tensor) -> None:
        if x.shape[1] != self.receptive_field:
            raise ValueError(f"windows must have {self.receptive_field} frames, got {x.shape[1]}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map windows ``(B, temporal, F)`` to the output of their frame ``(B, output_size)``."""
        self._check(x)
        return self.frame(x[:, self.before]) + self._trunk(x.transpose(1, 2), True)[:, :, 0]

    def parts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """With a view gate: the general output, the expert's and the gate logit of windows."""
        self._check(x)
        general, expert, logit = self.frame.parts(x[:, self.before])
        trunk = self._trunk(x.transpose(1, 2), True)[:, :, 0]
        return general + trunk, expert + trunk, logit

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        """Map padded sequences ``(S, L + temporal - 1, F)`` to outputs ``(S, L, output_size)``.

        Frame ``i`` of the output is the window ``x[:, i : i + temporal]``'s (the same as
        :meth:`forward` on it, to float rounding).
        """
        s, n, f = x.shape
        length = n - self.receptive_field + 1
        if length < 1:
            raise ValueError(f"a padded sequence needs >= {self.receptive_field} frames, got {n}")
        out = self._trunk(x.transpose(1, 2), strided=False).transpose(1, 2)
        own = x[:, self.before : self.before + length].reshape(s * length, f)
        return out + self.frame(own).reshape(s, length, -1)
