"""Lifter model files: one ``.safetensors`` file with the weights and JSON metadata.

Layout of a file:

* tensors ``net.<name>`` -- the network's state dict (weights and BatchNorm buffers);
* tensors ``stats.mean_2d``, ``stats.std_2d``, ``stats.mean_3d``, ``stats.std_3d``
  (float64) -- normalisation statistics, and ``root_offsets`` (float64, ``(R, 3)``);
* in a training checkpoint also ``optim.<param index>.<name>`` (Adam's state) and
  ``rng.cpu`` (the random generator's state);
* header metadata ``format`` (``"liftpose-dlc-lifter"``), ``format_version``,
  ``liftpose_dlc_version`` and ``lifter`` (a JSON document: keypoint names, roots, target
  sets, model options, input convention, training options and, in a checkpoint, the
  training state).

Reading never unpickles anything; a file that is not a lifter model, is truncated, or
was written by a newer format version raises :class:`~liftpose_dlc.errors.ModelFileError`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from liftpose_dlc._boundary import reader_boundary
from liftpose_dlc._filesystem import check_file, replace_atomic
from liftpose_dlc._version import __version__
from liftpose_dlc.errors import ModelFileError

__all__ = ["FORMAT", "FORMAT_VERSION", "write_model_file", "read_model_file"]

FORMAT = "liftpose-dlc-lifter"
FORMAT_VERSION = 1


def write_model_file(
    path: str | os.PathLike,
    tensors: dict[str, torch.Tensor],
    meta: dict[str, Any],
    overwrite: bool = False,
) -> Path:
    """Write ``tensors`` and the JSON ``meta`` to ``path`` atomically."""
    header = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "liftpose_dlc_version": __version__,
        "lifter": json.dumps(meta, allow_nan=False),
    }
    contiguous = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    # serialised in memory, written with plain I/O and read back before the rename
    return replace_atomic(path, save(contiguous, metadata=header), overwrite=overwrite)


@reader_boundary("lifter model file", ModelFileError)
def read_model_file(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a model file; return its tensors and its JSON metadata.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    ModelFileError
        If it is not a safetensors file, is truncated, is not a liftpose-dlc lifter, or
        has a newer ``format_version`` than this liftpose-dlc reads.
    """
    p = check_file(path, "lifter model file")
    try:
        with safe_open(str(p), framework="pt", device="cpu") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - not a dict
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise ModelFileError(
            f"{p}: not a readable lifter model file (a safetensors file is expected; the "
            f"file may be truncated or of another format): {err}"
        ) from None
    if header.get("format") != FORMAT:
        raise ModelFileError(
            f"{p}: a safetensors file but not a liftpose-dlc lifter (metadata 'format' is "
            f"{header.get('format')!r}, expected {FORMAT!r})"
        )
    try:
        version = int(header["format_version"])
    except (KeyError, ValueError):
        raise ModelFileError(f"{p}: lifter metadata has no valid 'format_version'") from None
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{p}: written by liftpose-dlc {header.get('liftpose_dlc_version', '?')} with model "
            f"format version {version}; this liftpose-dlc ({__version__}) reads versions up to "
            f"{FORMAT_VERSION}. Upgrade liftpose-dlc to load it."
        )
    try:
        meta = json.loads(header["lifter"])
    except (KeyError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{p}: lifter metadata is missing or not valid JSON: {err}") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{p}: lifter metadata must be a JSON object")
    meta["_file_version"] = header.get("liftpose_dlc_version")
    return tensors, meta
