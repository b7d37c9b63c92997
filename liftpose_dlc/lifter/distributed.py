"""Data-parallel training under ``torchrun``: process group, shards, broadcasts, DDP.

:class:`~liftpose_dlc.lifter.session.TrainingSession` asks :func:`from_env` whether it runs
under ``torchrun`` (the environment variables ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``); with more than one process it trains with PyTorch's
:class:`~torch.nn.parallel.DistributedDataParallel`:

- the process group is ``gloo`` on the CPU and ``nccl`` on CUDA (each rank on
  ``cuda:LOCAL_RANK``), with a timeout (:data:`TIMEOUT_ENV`, default
  :data:`DEFAULT_TIMEOUT_S` seconds), so a rank that dies makes the others fail instead of
  waiting for ever;
- every rank sees the same order of the training frames in an epoch (:func:`epoch_order`,
  seeded by the seed and the epoch) and takes its own slice of each *global* batch
  (:meth:`DistContext.shard`): ``batch_size`` is the global batch, so the optimisation steps
  and the learning-rate schedule are those of a single process;
- the augmentation stream of each rank is torch's generator seeded by
  :func:`rank_seed` (the seed, the rank and the step the run starts at): reproducible, and
  different on every rank;
- rank 0 alone fits the augmentations' camera, the input statistics and the least-squares
  initialisation; they are broadcast (:meth:`DistContext.broadcast_setup`), and DDP
  broadcasts rank 0's initial weights;
- rank 0 alone writes the log and the checkpoints; the checkpoints are those of a
  single-process run (rank 0's generator state), so a run resumes with any number of
  processes.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from liftpose_dlc.errors import ConfigError

__all__ = [
    "DistContext",
    "from_env",
    "is_main_process",
    "world_size",
    "epoch_order",
    "rank_seed",
    "TIMEOUT_ENV",
    "DEFAULT_TIMEOUT_S",
]

#: Environment variable: seconds a collective waits for the other ranks before failing.
TIMEOUT_ENV = "LIFTPOSE_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 300.0


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"environment variable {name}={value!r} is not an integer") from None


def is_main_process() -> bool:
    """True unless this process is a rank other than 0 of a ``torchrun`` launch."""
    rank = _env_int("RANK")
    return rank is None or rank == 0


def world_size() -> int:
    """The number of processes of a ``torchrun`` launch (``WORLD_SIZE``); 1 outside one."""
    n = _env_int("WORLD_SIZE")
    return 1 if n is None else max(1, n)


def rank_seed(seed: int, rank: int, step: int) -> int:
    """The seed of rank ``rank``'s augmentation stream for a run starting at ``step``."""
    return (int(seed) * 1_000_003 + 7_919 * (int(rank) + 1) + int(step)) % (2**63 - 1)


def epoch_order(n: int, seed: int, epoch: int, device: torch.device) -> torch.Tensor:
    """The order of ``n`` training frames in ``epoch``: the same on every rank."""
    gen = torch.Generator().manual_seed((int(seed) * 1_000_033 + int(epoch)) % (2**63 - 1))
    return torch.randperm(n, generator=gen).to(device)


class _Forward(nn.Module):
    """The network's forward, or its ``parts`` (view gate), as one module for DDP."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, parts: bool = False) -> Any:
        net: Any = self.net
        return net.parts(x) if parts else net(x)


class _DDPNet:
    """Callable like the network (and its ``parts``), through a DDP wrapper."""

    def __init__(self, ddp: nn.Module, net: nn.Module) -> None:
        self.ddp = ddp
        self.net = net

    @property
    def view(self) -> Any:
        return self.net.view

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.ddp(x)

    def parts(self, x: torch.Tensor) -> Any:
        return self.ddp(x, parts=True)


@dataclass
class DistContext:
    """The place of this process in a ``torchrun`` launch.

    Attributes
    ----------
    rank, world_size, local_rank
        As ``torchrun`` sets them.
    device
        This rank's device (``cuda:local_rank`` on CUDA).
    owns_group
        True when this context created the process group (and so destroys it).
    """

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        """True on rank 0, the one that writes files."""
        return self.rank == 0

    @property
    def backend(self) -> str:
        """``nccl`` on CUDA, ``gloo`` on the CPU."""
        return "nccl" if self.device.type == "cuda" else "gloo"

    @property
    def min_batch(self) -> int:
        """The smallest global batch trained on: 2 frames per rank (BatchNorm needs 2)."""
        return 2 * self.world_size

    def shard(self, idx: torch.Tensor) -> torch.Tensor:
        """The frames of a global batch ``idx`` that this rank trains on."""
        return idx[self.rank :: self.world_size]

    def wrap(self, net: nn.Module) -> _DDPNet:
        """``net`` in :class:`~torch.nn.parallel.DistributedDataParallel`.

        DDP broadcasts rank 0's weights and buffers now, and averages the gradients over
        the ranks in every backward pass.
        """
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return _DDPNet(DistributedDataParallel(_Forward(net), device_ids=ids), net)

    def broadcast_setup(self, lifter: Any, augmentation: list[Any]) -> None:
        """Give every rank rank 0's input statistics and fitted augmentations."""
        import torch.distributed as dist

        fitted = [aug.__dict__ for aug in augmentation if hasattr(aug, "fit")]
        payload = [(lifter.encoder.stats, lifter.encoder.root_offsets, fitted)]
        dist.broadcast_object_list(payload, src=0, device=self._object_device())
        stats, offsets, fitted = payload[0]
        if not self.is_main:
            lifter.encoder.stats = stats
            lifter.encoder.root_offsets = offsets
            for aug, state in zip(
                (a for a in augmentation if hasattr(a, "fit")), fitted, strict=True
            ):
                aug.__dict__.update(state)

    def mean(self, total: float, weight: float) -> float:
        """``sum(total) / sum(weight)`` over the ranks (NaN when the weights sum to 0)."""
        import torch.distributed as dist

        t = torch.tensor([float(total), float(weight)], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return float(t[0] / t[1]) if float(t[1]) else float("nan")

    def _object_device(self) -> torch.device | None:
        return self.device if self.device.type == "cuda" else None

    def close(self) -> None:
        """Destroy the process group if this context created it."""
        import torch.distributed as dist

        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_group = False


def from_env(device: torch.device) -> DistContext | None:
    """The context of a ``torchrun`` launch with more than one process, else None.

    Joins (or creates) the process group: ``gloo`` when ``device`` is the CPU, ``nccl`` on
    CUDA, where this rank uses ``cuda:LOCAL_RANK``.

    Parameters
    ----------
    device
        The device asked for (its type is kept; its index is this rank's local rank).

    Returns
    -------
    DistContext or None
        None when ``WORLD_SIZE`` is unset or 1.
    """
    world = _env_int("WORLD_SIZE")
    rank = _env_int("RANK")
    if world is None or world <= 1 or rank is None:
        return None
    local = _env_int("LOCAL_RANK")
    local = rank if local is None else local
    if device.type == "cuda":
        if local >= torch.cuda.device_count():
            raise ConfigError(
                f"rank {rank}: LOCAL_RANK {local} but only {torch.cuda.device_count()} "
                "CUDA device(s); start fewer processes per node"
            )
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    ctx = DistContext(rank, world, local, device)
    import torch.distributed as dist

    if not dist.is_initialized():
        timeout = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S))
        dist.init_process_group(
            ctx.backend, rank=rank, world_size=world, timeout=_dt.timedelta(seconds=timeout)
        )
        ctx.owns_group = True
    elif dist.get_world_size() != world:
        raise ConfigError(
            f"the process group has {dist.get_world_size()} processes, WORLD_SIZE {world}"
        )
    return ctx
