"""A lifter model file of seeded random weights, built without training (for tests).

The weights do not depend on the training code, so tests that compare lifted outputs with
stored checksums (``tests/workflow/test_outputs_unchanged.py``) or only need some lifter
(``tests/faults/``) get the same model whatever happens to training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from liftpose_dlc.lifter.modelfile import write_model_file

__all__ = ["MOUSE", "FLY", "seeded_model_file"]

#: (keypoints, roots, target sets) of a lifter for the openfield mouse and the SLEAP fly.
MOUSE = (["snout", "leftear", "rightear", "tailbase"], [3], [[0, 1, 2]])
FLY = (["thorax", "head", "abdomen", "wingL", "wingR"], [0], [[1, 2, 3, 4]])


def _net_shapes(n_targets: int, h: int = 16) -> dict[str, tuple[int, ...]]:
    """Names and shapes of the network's state for one target set, width ``h``, one stage."""
    n_in, n_out = 3 * n_targets, 3 * n_targets  # x, y and a visibility flag per target
    shapes: dict[str, tuple[int, ...]] = {"w1.weight": (h, n_in), "w1.bias": (h,)}

    def bn(prefix: str) -> None:
        for k in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.{k}"] = (h,)
        shapes[f"{prefix}.num_batches_tracked"] = ()

    bn("batch_norm1")
    for i in (1, 2):
        shapes[f"linear_stages.0.w{i}.weight"] = (h, h)
        shapes[f"linear_stages.0.w{i}.bias"] = (h,)
        bn(f"linear_stages.0.batch_norm{i}")
    shapes.update({"w2.weight": (n_out, h), "w2.bias": (n_out,)})
    shapes.update({"skip.weight": (n_out, n_out), "skip.bias": (n_out,)})
    for block, size_in in (("first", n_in), ("blocks.0.0", h), ("blocks.0.1", h)):
        for k in ("bn_weight", "bn_bias", "running_mean", "running_var"):
            shapes[f"sets.{block}.{k}"] = (1, 1, h)
        shapes[f"sets.{block}.linear.weight"] = (1, size_in, h)
        shapes[f"sets.{block}.linear.bias"] = (1, 1, h)
    shapes.update({"sets.last.weight": (1, h, n_out), "sets.last.bias": (1, 1, n_out)})
    return shapes


def seeded_model_file(path: Path, spec: tuple, scale_2d: float, scale_3d: float, seed: int) -> Path:
    """A lifter model file of seeded random weights (format version 1, as written in 2026)."""
    keypoints, roots, target_sets = spec
    n_t = len(target_sets[0])
    rng = np.random.default_rng(seed)
    tensors: dict[str, torch.Tensor] = {}
    for name, shape in _net_shapes(n_t).items():
        if name.endswith("num_batches_tracked"):
            value = torch.tensor(10, dtype=torch.int64)
        elif name.endswith("running_var"):
            value = torch.as_tensor(rng.uniform(0.5, 1.5, shape).astype(np.float32))
        elif name.endswith(("bn_weight", "batch_norm1.weight", "batch_norm2.weight")):
            value = torch.as_tensor(rng.uniform(0.8, 1.2, shape).astype(np.float32))
        else:
            value = torch.as_tensor(rng.normal(0, 0.3, shape).astype(np.float32))
        tensors[f"net.{name}"] = value
    tensors["stats.mean_2d"] = torch.as_tensor(rng.normal(0, scale_2d / 4, 2 * n_t))
    tensors["stats.std_2d"] = torch.as_tensor(rng.uniform(0.5, 1.5, 2 * n_t) * scale_2d)
    tensors["stats.mean_3d"] = torch.as_tensor(rng.normal(0, scale_3d / 4, 3 * n_t))
    tensors["stats.std_3d"] = torch.as_tensor(rng.uniform(0.5, 1.5, 3 * n_t) * scale_3d)
    tensors["root_offsets"] = torch.as_tensor(rng.normal(0, scale_3d, (1, 3)))
    options = {
        "linear_size": 16,
        "num_stage": 1,
        "dropout": 0.2,
        "linear_skip": True,
        "norm_2d": True,
        "root_input": True,
        "chain_features": False,
        "set_size": 16,
        "set_stage": 1,
        "view_gate": False,
    }
    meta = {
        "keypoints": keypoints,
        "roots": roots,
        "target_sets": target_sets,
        "model_options": options,
        "train_options": {},
        "augmentation": [],
        "best_epoch": 1,
    }
    return write_model_file(path, tensors, meta)
