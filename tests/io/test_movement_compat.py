"""Every 3D file liftpose-dlc writes opens in movement in one call, with the right values.

The outputs are lifted from real shared data (the openfield DeepLabCut project, SLEAP's
centered pair) with tiny seeded lifters trained here on generated 3D libraries (the point
is the files, not accuracy). The real ``movement`` package reads them; the tests skip with
a reason when it is not installed (it is in the ``test`` extra).
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from realdata import shared_file

from liftpose_dlc import Poses, load_dlc, load_sleap
from liftpose_dlc.io.dlc import load_dlc_inferred
from liftpose_dlc.io.netcdf import save_netcdf
from liftpose_dlc.io.nwb import save_nwb
from liftpose_dlc.io.sleap import load_sleap_3d, load_sleap_3d_inferred
from liftpose_dlc.poses import Source
from liftpose_dlc.workflow.dlc_project import lift_dlc_project, train_dlc_project
from liftpose_dlc.workflow.file_lift import lift_file
from liftpose_dlc.workflow.training import train_from_library

movement_io = pytest.importorskip(
    "movement.io", reason="movement is not installed (pip install 'liftpose-dlc[test]')"
)

OPENFIELD = "dlc/openfield"
OPENFIELD_H5 = "m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
SLP = "sleap/centered_pair_predictions.slp"
MOUSE = ["snout", "leftear", "rightear", "tailbase"]
FLY = ["head", "thorax", "abdomen", "wingL", "wingR"]
TINY = {"epochs": 1, "linear_size": 16, "n_virtual_cameras": 2, "verbose": False, "seed": 0}


def _library(names: list[str], seed: int, where: Path) -> Poses:
    """A generated 3D library (mm): a template pose with small variations."""
    rng = np.random.default_rng(seed)
    template = rng.normal(0, 10.0, (len(names), 3))
    data = template + rng.normal(0, 1.0, (300, len(names), 3))
    return Poses(data, names, source=Source(where, "generated"))


@pytest.fixture(scope="module")
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def openfield(shared_data, tmp_path_factory, one_thread):
    """A copy of the openfield project with a tiny lifter trained in it, and its lift."""
    src = shared_file(shared_data, OPENFIELD)
    root = tmp_path_factory.mktemp("openfield")
    (root / "videos").mkdir()
    shutil.copy(src / "config.yaml", root / "config.yaml")
    shutil.copy(src / "videos" / OPENFIELD_H5, root / "videos" / OPENFIELD_H5)
    for video in (src / "videos").glob("*.mp4"):
        (root / "videos" / video.name).symlink_to(video)
    config = root / "config.yaml"
    train_dlc_project(
        config, _library(MOUSE, 0, root / "mouse_library.npy"), roots=["tailbase"], units="mm",
        **TINY,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the config's other videos have no analysis output
        written = lift_dlc_project(config, save_as_csv=True, verbose=False)
    return root, written


@pytest.fixture(scope="module")
def fly_model(tmp_path_factory, one_thread) -> Path:
    root = tmp_path_factory.mktemp("fly")
    model = root / "fly5.safetensors"
    library = _library(FLY, 1, root / "fly_library.npy")
    train_from_library(library, None, model_path=model, roots=["thorax"], units="mm", **TINY)
    return model


def _positions(ds) -> np.ndarray:
    """movement's ``position`` as liftpose-dlc's (frames, individuals, keypoints, space)."""
    return ds.position.transpose("time", "individuals", "keypoints", "space").values


def test_dlc_project_outputs_open_in_movement(openfield):
    root, written = openfield
    h5 = root / "videos" / OPENFIELD_H5.replace(".h5", "_3d.h5")
    assert written == [h5, h5.with_suffix(".csv")]
    ours = load_dlc(h5)
    assert ours.data.shape == (2330, 1, 4, 3)
    for path in written:
        ds = movement_io.load_dataset(path, source_software="DeepLabCut")
        assert ds.position.dims == ("time", "space", "keypoints", "individuals")
        assert list(ds.space.values) == ["x", "y", "z"]
        assert list(ds.keypoints.values) == MOUSE
        np.testing.assert_allclose(_positions(ds), ours.data, rtol=1e-6, equal_nan=True)
    # what the file records: units, frame, the project's lifter and the 2D it lifted
    assert ours.units == "mm"
    assert ours.frame == "camera"
    assert ours.provenance["lifter_name"] == "lifter"
    assert ours.provenance["lifter_training_data"] == str(root / "mouse_library.npy")
    assert ours.provenance["lifter_version"] == "0.1.0"
    assert ours.provenance["source_2d_file"] == str(root / "videos" / OPENFIELD_H5)
    assert ours.provenance["source_2d_software"] == "DeepLabCut"


def test_infer_occluded_dlc_output_opens_in_movement(openfield, tmp_path):
    root, _ = openfield
    src = root / "videos" / OPENFIELD_H5
    out = lift_file(
        src,
        root / "liftpose" / "lifter.safetensors",
        output=tmp_path / "occluded_3d.h5",
        pcutoff=0.9,
        infer_occluded=True,
        save_as_csv=True,
        verbose=False,
    )
    lifted = load_dlc(out)
    inferred = load_dlc_inferred(out)
    low = load_dlc(src).confidence < 0.9
    root_low = low[..., [MOUSE.index("tailbase")]]  # a missing root leaves its set NaN
    np.testing.assert_array_equal(inferred, low & ~root_low)
    assert inferred.any()
    assert np.isfinite(lifted.data[inferred]).all()  # the network's estimate is kept
    for path in (out, out.with_suffix(".csv")):
        ds = movement_io.load_dataset(path, source_software="DeepLabCut")
        assert ds.sizes["space"] == 3
        np.testing.assert_allclose(_positions(ds), lifted.data, rtol=1e-6, equal_nan=True)
    assert lifted.provenance["lifter_name"] == "lifter"


@pytest.mark.parametrize("infer_occluded", [False, True])
def test_sleap_output_opens_in_movement(shared_data, fly_model, tmp_path, infer_occluded):
    pytest.importorskip("sleap_io")
    src = tmp_path / "centered_pair_predictions.slp"
    src.symlink_to(shared_file(shared_data, SLP))
    video = shared_file(shared_data, "sleap/centered_pair_low_quality.mp4")
    (tmp_path / video.name).symlink_to(video)  # SLEAP's fps comes from the video
    out = lift_file(src, fly_model, infer_occluded=infer_occluded, pcutoff=0.5, verbose=False)
    ours = load_sleap_3d(out)
    two = load_sleap(src)
    assert ours.individuals == two.individuals
    ds = movement_io.load_dataset(out, source_software="SLEAP", fps=ours.fps)
    assert ds.position.shape == (1100, 3, 5, 27)
    assert list(ds.keypoints.values) == FLY
    assert list(ds.individuals.values) == two.individuals
    np.testing.assert_allclose(_positions(ds), ours.data, rtol=1e-5, equal_nan=True)
    np.testing.assert_allclose(
        ds.confidence.transpose("time", "individuals", "keypoints").values,
        ours.confidence,
        rtol=1e-6,
        equal_nan=True,
    )
    mask = load_sleap_3d_inferred(out)
    if infer_occluded:
        assert mask.any()
        assert np.isfinite(ours.data[mask]).all()
    else:
        assert mask is None
    assert ours.fps == 15.0
    assert ours.units == "mm"
    assert ours.frame == "camera"
    assert ours.provenance["lifter_name"] == "fly5"
    assert ours.provenance["lifter_training_data"].endswith("fly_library.npy")
    assert ours.provenance["source_2d_file"] == str(src)
    assert ours.provenance["source_2d_software"] == "SLEAP"


def test_netcdf_and_nwb_of_a_real_lift_open_in_movement(openfield, tmp_path):
    root, written = openfield
    lifted = load_dlc(written[0]).replace(fps=30.0)
    nc = save_netcdf(lifted, tmp_path / "openfield_3d.nc")
    import xarray as xr
    from movement.validators.datasets import ValidPosesInputs

    with xr.open_dataset(nc) as ds:
        ValidPosesInputs.validate(ds)  # a movement poses dataset as it is
        np.testing.assert_array_equal(_positions(ds), lifted.data)
        assert ds.attrs["units"] == "mm"
        assert ds.attrs["frame"] == "camera"
        assert ds.attrs["fps"] == 30.0
        assert ds.attrs["lifter_name"] == "lifter"
        assert ds.attrs["source_2d_software"] == "DeepLabCut"
    nwb = save_nwb(
        lifted, tmp_path / "openfield_3d.nwb", poses_2d=load_dlc(root / "videos" / OPENFIELD_H5)
    )
    ds = movement_io.load_dataset(nwb, source_software="NWB")
    assert list(ds.individuals.values) == lifted.individuals
    assert ds.attrs["fps"] == 30.0
    # movement's NWB reader merges keypoints in alphabetical order
    ds = ds.sel(keypoints=lifted.keypoints)
    np.testing.assert_allclose(_positions(ds), lifted.data, rtol=1e-6, equal_nan=True)
