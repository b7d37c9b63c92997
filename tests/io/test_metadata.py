"""Units, frame, fps, the lifter and the 2D source: recorded by every writer, read back."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from liftpose_dlc import Poses, load_dlc, save_dlc
from liftpose_dlc.errors import PosesValidationError
from liftpose_dlc.io.metadata import describe_lifter, fields_from_attrs, lifted_fields
from liftpose_dlc.io.sleap import load_sleap_3d, save_sleap_3d
from liftpose_dlc.poses import Source

PROVENANCE = {
    "lifter_name": "mouse_v1",
    "lifter_version": "0.1.0",
    "lifter_training_data": "session1.csv",
    "source_2d_file": "videos/m3v1mp4DLC.h5",
    "source_2d_software": "DeepLabCut",
}


def _poses(individuals=("m1",)) -> Poses:
    data = np.random.default_rng(0).normal(size=(5, len(individuals), 3, 3))
    return Poses(
        data,
        ["a", "b", "c"],
        individuals=list(individuals),
        fps=25.0,
        units="mm",
        frame="camera",
        provenance=PROVENANCE,
    )


def test_poses_validate_the_frame():
    with pytest.raises(PosesValidationError, match="frame must be one of"):
        Poses(np.zeros((2, 3, 3)), ["a", "b", "c"], frame="image")
    poses = _poses()
    kept = poses.select(keypoints=["b"])
    assert (kept.units, kept.frame, kept.provenance) == ("mm", "camera", PROVENANCE)


@pytest.mark.parametrize("individuals", [("m1",), ("m1", "m2")])
def test_dlc_h5_records_and_reads_back(tmp_path, individuals):
    out = save_dlc(_poses(individuals), tmp_path / "p_3d.h5")
    with h5py.File(out, "r") as f:
        # PyTables stores text attributes as bytes
        attrs = {
            k: v.decode() for k, v in f["df_with_missing"].attrs.items() if isinstance(v, bytes)
        }
        assert attrs["liftpose_dlc_units"] == "mm"
        assert attrs["liftpose_dlc_frame"] == "camera"
        assert attrs["liftpose_dlc_lifter_name"] == "mouse_v1"
        assert attrs["liftpose_dlc_source_2d_file"] == "videos/m3v1mp4DLC.h5"
    back = load_dlc(out)
    assert back.units == "mm"
    assert back.frame == "camera"
    assert back.fps == 25.0
    assert back.provenance == PROVENANCE
    # a 2D file of DeepLabCut's own carries none of it
    two = save_dlc(Poses(np.zeros((2, 3, 2)), ["a", "b", "c"]), tmp_path / "p_2d.h5")
    plain = load_dlc(two)
    assert (plain.units, plain.frame, plain.provenance) == (None, None, {})


def test_sleap_3d_records_and_reads_back(tmp_path):
    out = save_sleap_3d(_poses(("m1", "m2")), tmp_path / "x_3d.h5")
    with h5py.File(out, "r") as f:
        assert f.attrs["units"] == "mm"
        assert f.attrs["frame"] == "camera"
        assert f.attrs["lifter_training_data"] == "session1.csv"
        assert f.attrs["liftpose_dlc_version"] == "0.1.0"
    back = load_sleap_3d(out)
    assert (back.units, back.frame, back.fps) == ("mm", "camera", 25.0)
    assert back.provenance == PROVENANCE
    assert load_sleap_3d(save_sleap_3d(_poses(), tmp_path / "y.h5", units="cm")).units == "cm"


def test_fields_from_attrs_leaves_out_unknowns():
    assert fields_from_attrs({"units": "unknown", "frame": "image", "other": "x"}) == {}
    assert fields_from_attrs({"units": b"mm", "frame": "world", "lifter_name": "m"}) == {
        "units": "mm",
        "frame": "world",
        "provenance": {"lifter_name": "m"},
    }


def test_describe_lifter_from_the_record_beside_the_model(tmp_path: Path):
    model = tmp_path / "fly.safetensors"
    record = {
        "liftpose_dlc_version": "0.0.9",
        "library": {"sources": ["a.csv", "b.csv"], "poses": 10, "units": "mm"},
    }
    model.with_suffix(".yaml").write_text(yaml.safe_dump(record), encoding="utf-8")
    assert describe_lifter(None, model) == {
        "lifter_name": "fly",
        "lifter_version": "0.0.9",
        "lifter_training_data": "a.csv; b.csv",
        "units": "mm",
    }
    fields = lifted_fields(None, Source("v.slp", "SLEAP"), model)
    assert fields["units"] == "mm"
    assert fields["frame"] == "camera"
    assert fields["provenance"]["source_2d_software"] == "SLEAP"
    unknown = describe_lifter(None, tmp_path / "other.safetensors")
    assert unknown["lifter_version"] == "unknown"
    assert "units" not in unknown
