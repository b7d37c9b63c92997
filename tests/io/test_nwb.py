"""NWB with ndx-pose: what pynwb reads back, the round trip, and errors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from liftpose_dlc import Poses
from liftpose_dlc.errors import (
    FileFormatError,
    MissingFileError,
    OutputExistsError,
    PosesValidationError,
)
from liftpose_dlc.poses import Source

pynwb = pytest.importorskip("pynwb", reason="pynwb is not installed (the nwb extra)")
ndx_pose = pytest.importorskip("ndx_pose", reason="ndx-pose is not installed (the nwb extra)")

from liftpose_dlc.io.nwb import load_nwb, save_nwb  # noqa: E402

KEYPOINTS = ["snout", "ear", "tailbase"]
PROVENANCE = {"lifter_name": "mouse_v1", "source_2d_software": "DeepLabCut"}


def _poses(individuals=("m1", "m2"), fps: float | None = 30.0) -> Poses:
    rng = np.random.default_rng(len(individuals))
    data = rng.normal(0, 20, size=(6, len(individuals), 3, 3))
    data[2, 0, 1] = np.nan
    return Poses(
        data,
        KEYPOINTS,
        individuals=list(individuals),
        confidence=rng.uniform(size=(6, len(individuals), 3)),
        skeleton=[("snout", "ear"), ("ear", "tailbase")],
        fps=fps,
        units="mm",
        frame="camera",
        provenance=PROVENANCE,
        source=Source("m3v1mp4DLC.h5", "liftpose-dlc"),
    )


def _poses_2d(individuals=("m1", "m2")) -> Poses:
    rng = np.random.default_rng(9)
    return Poses(
        rng.uniform(0, 640, size=(6, len(individuals), 4, 2)),
        [*KEYPOINTS, "unused"],
        individuals=list(individuals),
        confidence=rng.uniform(size=(6, len(individuals), 4)),
        source=Source("m3v1mp4DLC.h5", "DeepLabCut"),
    )


def test_pynwb_reads_pose_estimation_and_skeleton(tmp_path):
    poses = _poses()
    start = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    out = save_nwb(
        poses, tmp_path / "poses.nwb", poses_2d=_poses_2d(), session_start_time=start,
        identifier="session-1",
    )  # fmt: skip
    with pynwb.NWBHDF5IO(str(out), mode="r") as io:
        nwbfile = io.read()
        assert nwbfile.identifier == "session-1"
        assert nwbfile.session_start_time == start
        behavior = nwbfile.processing["behavior"]
        names = sorted(behavior.data_interfaces)
        assert names == [
            "PoseEstimation2D_m1",
            "PoseEstimation2D_m2",
            "PoseEstimation_m1",
            "PoseEstimation_m2",
            "Skeletons",
        ]
        skeleton = behavior["Skeletons"].skeletons["m2_skeleton"]
        assert list(skeleton.nodes[()]) == KEYPOINTS
        np.testing.assert_array_equal(skeleton.edges[()], [[0, 1], [1, 2]])
        pe = behavior["PoseEstimation_m2"]
        assert pe.skeleton.name == "m2_skeleton"
        assert pe.scorer == "mouse_v1"
        assert pe.source_software == "liftpose-dlc"
        assert sorted(pe.pose_estimation_series) == sorted(KEYPOINTS)
        ear = pe.pose_estimation_series["ear"]
        np.testing.assert_array_equal(ear.data[()], poses.data[:, 1, 1])
        np.testing.assert_array_equal(ear.confidence[()], poses.confidence[:, 1, 1])
        assert ear.unit == "mm"
        assert ear.reference_frame.startswith("camera frame")
        assert ear.rate == 30.0
        two = behavior["PoseEstimation2D_m1"]
        assert sorted(two.pose_estimation_series) == sorted(KEYPOINTS)  # the lifted ones
        snout = two.pose_estimation_series["snout"]
        assert snout.unit == "pixels"
        np.testing.assert_array_equal(snout.data[()], _poses_2d().data[:, 0, 0])
        assert two.source_software == "DeepLabCut"


def test_round_trip(tmp_path):
    poses = _poses()
    out = save_nwb(poses, tmp_path / "poses.nwb", poses_2d=_poses_2d())
    back = load_nwb(out)
    np.testing.assert_array_equal(back.data, poses.data)
    np.testing.assert_array_equal(back.confidence, poses.confidence)
    assert back.keypoints == KEYPOINTS
    assert back.individuals == ["m1", "m2"]
    assert back.edge_indices == poses.edge_indices
    assert back.fps == 30.0
    assert back.units == "mm"
    assert back.frame == "camera"
    assert back.provenance == PROVENANCE
    two = load_nwb(out, dims=2)
    np.testing.assert_array_equal(two.data, _poses_2d().data[:, :, :3])
    assert two.units == "pixels"
    one = load_nwb(out, names=["PoseEstimation_m2"])
    assert one.individuals == ["m2"]


def test_one_individual_is_what_movement_expects(tmp_path):
    poses = _poses(individuals=("mouse",), fps=None)
    out = save_nwb(poses, tmp_path / "mouse.nwb")
    with pynwb.NWBHDF5IO(str(out), mode="r") as io:
        nwbfile = io.read()
        assert nwbfile.identifier == "mouse"  # movement names the individual after it
        assert "PoseEstimation" in nwbfile.processing["behavior"].data_interfaces
    back = load_nwb(out)
    assert back.fps is None  # written without a frame rate
    assert back.individuals == ["mouse"]
    movement_io = pytest.importorskip("movement.io")
    ds = movement_io.load_dataset(out, source_software="NWB")
    assert list(ds.individuals.values) == ["mouse"]
    np.testing.assert_array_equal(
        ds.position.sel(keypoints=KEYPOINTS).values[..., 0], poses.data[:, 0].transpose(0, 2, 1)
    )


def test_overwrite_and_errors(tmp_path):
    out = save_nwb(_poses(), tmp_path / "poses.nwb")
    with pytest.raises(OutputExistsError):
        save_nwb(_poses(), out)
    save_nwb(_poses(individuals=("a",)), out, overwrite=True)
    assert load_nwb(out).individuals == ["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["poses.nwb"]  # no temporary left
    with pytest.raises(PosesValidationError, match="cannot be empty or contain '/'"):
        save_nwb(Poses(np.zeros((2, 3, 3)), ["a/b", "c", "d"]), tmp_path / "x.nwb")
    with pytest.raises(PosesValidationError, match="poses_2d has 3 frames"):
        save_nwb(_poses(), tmp_path / "x.nwb", poses_2d=_poses_2d().select(frames=slice(0, 3)))
    assert not (tmp_path / "x.nwb").exists()
    with pytest.raises(MissingFileError):
        load_nwb(tmp_path / "none.nwb")
    bad = tmp_path / "bad.nwb"
    bad.write_text("not nwb")
    with pytest.raises(FileFormatError, match=r"bad\.nwb: cannot be read as an NWB file"):
        load_nwb(bad)
    with pytest.raises(FileFormatError, match="no ndx-pose PoseEstimation with 2D series"):
        load_nwb(out, dims=2)
