"""netCDF in movement's poses dataset layout: layout, round trip, attributes and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from liftpose_dlc import Poses
from liftpose_dlc.errors import FileFormatError, MissingFileError, OutputExistsError
from liftpose_dlc.poses import Source

xr = pytest.importorskip("xarray", reason="xarray is not installed (the netcdf extra)")
pytest.importorskip("h5netcdf", reason="h5netcdf is not installed (the netcdf extra)")

from liftpose_dlc.io.netcdf import DIMS, load_netcdf, save_netcdf  # noqa: E402

PROVENANCE = {
    "lifter_name": "mouse_v1",
    "lifter_version": "0.1.0",
    "lifter_training_data": "session1.csv; session2.csv",
    "source_2d_file": "videos/m3v1mp4DLC.h5",
    "source_2d_software": "DeepLabCut",
}


def _poses(n_dims: int = 3, fps: float | None = 30.0) -> Poses:
    rng = np.random.default_rng(n_dims)
    data = rng.normal(0, 20, size=(7, 2, 3, n_dims))
    data[2, 1, 0] = np.nan
    conf = rng.uniform(size=(7, 2, 3))
    conf[4, 0, 2] = np.nan
    return Poses(
        data,
        ["snout", "ear", "tailbase"],
        individuals=["m1", "m2"],
        confidence=conf,
        skeleton=[("snout", "ear"), ("ear", "tailbase")],
        fps=fps,
        units="mm" if n_dims == 3 else "pixels",
        frame="camera" if n_dims == 3 else None,
        provenance=PROVENANCE,
        source=Source("videos/m3v1mp4DLC.h5", "liftpose-dlc"),
    )


@pytest.mark.parametrize("n_dims", [2, 3])
def test_layout_is_movements(tmp_path, n_dims):
    poses = _poses(n_dims)
    out = save_netcdf(poses, tmp_path / "poses.nc")
    with xr.open_dataset(out) as ds:
        assert ds.position.dims == DIMS == ("time", "space", "keypoints", "individuals")
        assert ds.confidence.dims == ("time", "keypoints", "individuals")
        assert list(ds.space.values) == ["x", "y", "z"][:n_dims]
        assert list(ds.keypoints.values) == poses.keypoints
        assert list(ds.individuals.values) == ["m1", "m2"]
        np.testing.assert_allclose(ds.time.values, np.arange(7) / 30.0)
        # frame 2, individual m2, keypoint snout
        np.testing.assert_array_equal(ds.position.values[3, :, 1, 0], poses.data[3, 0, 1])
        assert np.isnan(ds.position.values[2, :, 0, 1]).all()
        assert ds.attrs["ds_type"] == "poses"
        assert ds.attrs["source_software"] == "liftpose-dlc"
        assert ds.attrs["time_unit"] == "seconds"
        assert ds.attrs["fps"] == 30.0
        assert ds.attrs["units"] == poses.units
        assert ds.attrs["frame"] == ("camera" if n_dims == 3 else "unknown")
        assert ds.attrs["lifter_name"] == "mouse_v1"
        assert ds.attrs["lifter_training_data"] == "session1.csv; session2.csv"
        assert ds.attrs["source_2d_software"] == "DeepLabCut"
        assert json.loads(ds.attrs["skeleton"]) == [["snout", "ear"], ["ear", "tailbase"]]


@pytest.mark.parametrize("n_dims", [2, 3])
def test_round_trip(tmp_path, n_dims):
    poses = _poses(n_dims)
    back = load_netcdf(save_netcdf(poses, tmp_path / "poses.nc"))
    np.testing.assert_array_equal(back.data, poses.data)
    np.testing.assert_array_equal(back.confidence, poses.confidence)
    assert back.keypoints == poses.keypoints
    assert back.individuals == poses.individuals
    assert back.edge_indices == poses.edge_indices
    assert back.fps == 30.0
    assert back.units == poses.units
    assert back.frame == poses.frame
    assert back.provenance == PROVENANCE
    assert back.source.software == "liftpose-dlc"
    assert back.source.path == str(tmp_path / "poses.nc")


def test_without_fps_time_is_frames(tmp_path):
    out = save_netcdf(_poses(fps=None), tmp_path / "poses.nc")
    with xr.open_dataset(out) as ds:
        assert ds.attrs["time_unit"] == "frames"
        assert "fps" not in ds.attrs
        np.testing.assert_array_equal(ds.time.values, np.arange(7))
    assert load_netcdf(out).fps is None


def test_reads_a_dataset_movement_made(tmp_path):
    from_numpy = pytest.importorskip("movement.io.load_poses").from_numpy
    rng = np.random.default_rng(0)
    ds = from_numpy(
        rng.normal(size=(10, 2, 3, 1)),
        np.ones((10, 3, 1)),
        individual_names=["id_0"],
        keypoint_names=["a", "b", "c"],
        fps=25,
        source_software="SLEAP",
    )
    ds.to_netcdf(tmp_path / "movement.nc")
    back = load_netcdf(tmp_path / "movement.nc")
    np.testing.assert_array_equal(back.data[:, 0], ds.position.values[..., 0].transpose(0, 2, 1))
    assert back.fps == 25.0
    assert back.source.software == "SLEAP"
    assert back.units is None


def test_overwrite_and_atomic(tmp_path):
    out = save_netcdf(_poses(), tmp_path / "poses.nc")
    with pytest.raises(OutputExistsError):
        save_netcdf(_poses(), out)
    save_netcdf(_poses(2), out, overwrite=True)
    assert load_netcdf(out).n_dims == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["poses.nc"]


def test_errors_name_the_file(tmp_path):
    with pytest.raises(MissingFileError, match="netCDF file not found"):
        load_netcdf(tmp_path / "none.nc")
    bad = tmp_path / "bad.nc"
    bad.write_text("not netcdf")
    with pytest.raises(FileFormatError, match=r"bad\.nc: cannot be opened as a netCDF file"):
        load_netcdf(bad)
    other = tmp_path / "other.nc"
    xr.Dataset({"speed": ("time", np.arange(3.0))}).to_netcdf(other)
    with pytest.raises(FileFormatError, match=r"other\.nc: not a movement poses dataset"):
        load_netcdf(other)
    wrong = tmp_path / "wrong.nc"
    xr.Dataset({"position": (("time", "space"), np.zeros((3, 2)))}).to_netcdf(wrong)
    with pytest.raises(FileFormatError, match=r"lacks the dimension\(s\) \['keypoints'"):
        load_netcdf(wrong)
