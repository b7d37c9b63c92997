"""What depends on the device: batch sizes, host-to-device copies, mixed precision.

Nothing here needs a GPU: on the CPU the batch size is the CPU's, copies are plain, and
``amp=True`` is ignored with a warning (mixed precision is a CUDA feature here: on the
CPU, ``bfloat16`` is slower than ``float32`` for these small networks and less exact).

Mixed precision is asked for per call (``Lifter.predict(..., amp=True)``, ``Lifter.fit(...,
amp=True)``), or for everything run inside :func:`mixed_precision` (what ``liftpose-dlc lift
--amp`` does: the lifting functions need no option of their own).
"""

from __future__ import annotations

import contextlib
import contextvars
import warnings
from collections.abc import Iterator

import numpy as np
import torch

__all__ = [
    "CPU_PREDICT_BATCH",
    "CUDA_PREDICT_BATCH",
    "predict_batch_size",
    "to_device",
    "use_amp",
    "autocast",
    "mixed_precision",
    "AmpIgnoredWarning",
]

#: Frames per forward pass when predicting on the CPU (the network slices them further).
CPU_PREDICT_BATCH = 65_536
#: Frames per forward pass on CUDA: large enough to fill a GPU, bounded by its memory.
CUDA_PREDICT_BATCH = 1_048_576
#: Bytes of GPU memory one predicted frame may take (input, hidden layers, output; float32).
_BYTES_PER_FRAME = 64 * 1024


class AmpIgnoredWarning(UserWarning):
    """``amp=True`` was asked for on a device without mixed precision (the CPU)."""


def predict_batch_size(device: torch.device) -> int:
    """Frames per forward pass for ``device``.

    The CPU: :data:`CPU_PREDICT_BATCH`. CUDA: :data:`CUDA_PREDICT_BATCH`, or fewer when a
    quarter of the device's free memory holds fewer frames (about 64 KiB each).
    """
    if device.type != "cuda":
        return CPU_PREDICT_BATCH
    free, _ = torch.cuda.mem_get_info(device)
    return int(max(4096, min(CUDA_PREDICT_BATCH, free // 4 // _BYTES_PER_FRAME)))


def to_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """``array`` as float32 on ``device``; through pinned memory, asynchronously, on CUDA."""
    host = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    if device.type != "cuda":
        return host
    return host.pin_memory().to(device, non_blocking=True)


#: Whether :func:`mixed_precision` is in effect (in this thread or task).
_AMP: contextvars.ContextVar[bool] = contextvars.ContextVar("liftpose_amp", default=False)


@contextlib.contextmanager
def mixed_precision(enabled: bool = True) -> Iterator[None]:
    """Compute in mixed precision (as ``amp=True``) in every predict and fit run inside.

    For callers that do not pass ``amp`` on themselves (the lifting workflow, the engine):
    :func:`use_amp` is True inside on CUDA, and warns and is False on other devices. It
    holds in the current thread (a :mod:`contextvars` variable), not in worker processes.

    Examples
    --------
    >>> with mixed_precision():  # doctest: +SKIP
    ...     lp.lift_dlc_project("project/config.yaml", device="cuda")
    """
    token = _AMP.set(bool(enabled))
    try:
        yield
    finally:
        _AMP.reset(token)


def use_amp(amp: bool, device: torch.device) -> bool:
    """Whether mixed precision is used: ``amp`` on CUDA; on other devices a warning, False.

    ``amp`` is True also inside :func:`mixed_precision`.
    """
    if not (amp or _AMP.get()):
        return False
    if device.type == "cuda":
        return True
    warnings.warn(
        f"amp=True (mixed precision) is used on CUDA only; ignored on {device.type!r}: "
        "computing in float32",
        AmpIgnoredWarning,
        stacklevel=3,
    )
    return False


@contextlib.contextmanager
def autocast(enabled: bool, device: torch.device) -> Iterator[None]:
    """float16 autocast on CUDA when ``enabled`` (see :func:`use_amp`), else nothing."""
    if enabled and device.type == "cuda":
        with torch.autocast("cuda", dtype=torch.float16):
            yield
    else:
        yield
