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
from realdata import shared_file
from seeded_model import FLY, MOUSE, seeded_model_file

from liftpose_dlc.workflow.file_lift import lift_file

OPENFIELD = "dlc/openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
SLEAP = "sleap/centered_pair_predictions.slp"


# computed with the code of main 4367a36 (before the io registry)
# dlc_*_inferred and sleap_*: re-pinned for issue 14's layouts (the inferred mask beside the
# DLC table, so the table equals the plain lift here; SLEAP 3D in SLEAP's analysis layout)
EXPECTED = {
    "dlc_h5": "fdaa072f5f983a4ee64267ed07825158fc6b642944c6055d4a78e77b9fccb7d3",
    "dlc_h5_inferred": "fdaa072f5f983a4ee64267ed07825158fc6b642944c6055d4a78e77b9fccb7d3",
    "dlc_csv_inferred": "fdaa072f5f983a4ee64267ed07825158fc6b642944c6055d4a78e77b9fccb7d3",
    "sleap_h5": "655dd8b689ea9c0acd2bc17a67608072102c56a7404042c8c195e94f03283aff",
    "sleap_h5_inferred": "1e7e3f436da306b51e6b72e0626fb0adca06f8bc93c4098aa7be9f0f7a8d6280",
}


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
        "mouse": seeded_model_file(d / "mouse.safetensors", MOUSE, 60.0, 20.0, seed=1),
        "fly": seeded_model_file(d / "fly.safetensors", FLY, 30.0, 1.0, seed=2),
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
