"""The lifted outputs of real files do not change when the code is restructured.

A lifter model file is built here from seeded random weights (no training, so a change of the
training code cannot move it), the real openfield DeepLabCut file and the real SLEAP
centered-pair file are lifted with it, and the SHA-256 of the output *arrays* (values, index,
names; not the file bytes, which carry HDF5 timestamps) are compared with constants computed
with the code before the format-registry redesign (issue 10).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from realdata import shared_file

from liftpose_dlc.lifter.modelfile import write_model_file
from liftpose_dlc.workflow.files import lift_file

OPENFIELD = "dlc/openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
SLEAP = "sleap/centered_pair_predictions.slp"

MOUSE = (["snout", "leftear", "rightear", "tailbase"], [3], [[0, 1, 2]])
FLY = (["thorax", "head", "abdomen", "wingL", "wingR"], [0], [[1, 2, 3, 4]])

# computed with the code of main 4367a36 (before the io registry)
EXPECTED = {
    "dlc_h5": "fdaa072f5f983a4ee64267ed07825158fc6b642944c6055d4a78e77b9fccb7d3",
    "dlc_h5_inferred": "422f75db090d3a502c98e1e7c5743f365b7a6d2da0a4db86f5ced87c2470ffc8",
    "dlc_csv_inferred": "422f75db090d3a502c98e1e7c5743f365b7a6d2da0a4db86f5ced87c2470ffc8",
    "sleap_h5": "ece02d434113c6506401569f455c740fc04aba52909c7867e78999a5922c1316",
    "sleap_h5_inferred": "b36b1e6be9332b22fc00ea13c624594d49318ab883a70631a37314dc3d7bbd3a",
}


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


def _model_file(path: Path, spec: tuple, scale_2d: float, scale_3d: float, seed: int) -> Path:
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


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind == "f":
            a = np.where(np.isnan(a), -12345.678, a).astype(np.float64)
        elif a.dtype.kind in "OSU":
            a = np.array([str(v) for v in a.ravel()])
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _dlc_digest(path: Path) -> str:
    frame = pd.read_hdf(path) if path.suffix == ".h5" else pd.read_csv(path, header=[0, 1, 2])
    if path.suffix == ".csv":
        frame = frame.set_index(frame.columns[0])
    names = np.array(["|".join(map(str, c)) for c in frame.columns])
    return _digest(frame.to_numpy(dtype=np.float64), frame.index.to_numpy(np.int64), names)


def _sleap_digest(path: Path) -> str:
    with h5py.File(path, "r") as f:
        arrays = [f[k][()] for k in sorted(f.keys())]
    return _digest(*arrays)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    return {
        "mouse": _model_file(d / "mouse.safetensors", MOUSE, 60.0, 20.0, seed=1),
        "fly": _model_file(d / "fly.safetensors", FLY, 30.0, 1.0, seed=2),
    }


def _check(key: str, digest: str) -> None:
    assert digest == EXPECTED[key], f"{key}: lifted output changed ({digest})"


def test_openfield_dlc_output_unchanged(shared_data, models, tmp_path):
    src = tmp_path / Path(OPENFIELD).name
    shutil.copy(shared_file(shared_data, OPENFIELD), src)
    out = lift_file(src, models["mouse"], verbose=False, chunk_size=500)
    assert np.isfinite(pd.read_hdf(out).to_numpy()).mean() > 0.9  # real numbers, not NaN
    _check("dlc_h5", _dlc_digest(out))
    out2 = lift_file(
        src,
        models["mouse"],
        output=tmp_path / "inferred_3d.h5",
        infer_occluded=True,
        pcutoff=0.6,
        save_as_csv=True,
        verbose=False,
    )
    _check("dlc_h5_inferred", _dlc_digest(out2))
    _check("dlc_csv_inferred", _dlc_digest(out2.with_suffix(".csv")))


def test_sleap_centered_pair_output_unchanged(shared_data, models, tmp_path):
    pytest.importorskip("sleap_io")
    src = tmp_path / Path(SLEAP).name
    shutil.copy(shared_file(shared_data, SLEAP), src)
    out = lift_file(src, models["fly"], verbose=False)
    with h5py.File(out, "r") as f:
        assert np.isfinite(f["tracks"][()]).any()
    _check("sleap_h5", _sleap_digest(out))
    out2 = lift_file(
        src,
        models["fly"],
        output=tmp_path / "inferred_3d.h5",
        infer_occluded=True,
        pcutoff=0.3,
        verbose=False,
    )
    _check("sleap_h5_inferred", _sleap_digest(out2))
