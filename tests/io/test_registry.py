"""The format registry: every format recognised from real files, round trips, writer choice."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from realdata import shared_file

from liftpose_dlc import Poses, load_poses, load_poses_3d, save_poses
from liftpose_dlc.errors import FileFormatError, OutputExistsError
from liftpose_dlc.io import detect_format
from liftpose_dlc.io.poses3d import detect_3d_format
from liftpose_dlc.io.registry import FORMAT_MODULES, formats, get_format, sniff, writer_for

OPENFIELD = "dlc/openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
MM = (
    "dlc/multi_mouse-dlc_team-2022-04-12/videos/"
    "m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5"
)
MONTBLANC = "dlc/montblanc_tracks.h5"
SLP = "sleap/centered_pair_predictions.slp"
ANALYSIS = "sleap/centered_pair_predictions.analysis.h5"
POINTS3D = "3d/sleap_anipose_mouse/points3d.h5"
DF3D = "3d/df3d_fly/pose_result__210902_PR_Fly1_aligned.pkl"
NPZ = "3d/df3d_fly/df3d_210902_PR_Fly1_1000f_in_reference_rig.npz"


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("relative", "name", "dims"),
    [
        (OPENFIELD, "dlc", 2),  # key df_with_missing
        (f"{MM}_el.h5", "dlc", 2),  # key tracks
        (MONTBLANC, "dlc", 2),  # key df
        (f"{MM}_el_filtered.csv", "dlc", 2),
        (SLP, "sleap", 2),
        (ANALYSIS, "sleap_analysis", 2),
        (POINTS3D, "sleap-anipose", 3),
        (DF3D, "df3d", 3),
        (NPZ, "array", 3),
    ],
)
def test_every_format_is_sniffed_from_real_files(shared_data, relative, name, dims):
    path = shared_file(shared_data, relative)
    fmt = sniff(path)
    assert fmt.name == name
    assert dims in fmt.dims
    assert sniff(path, dims=dims).name == name
    # the two historical entry points are the same sniffer
    assert (detect_format(path) if dims == 2 else detect_3d_format(path)) == name


@pytest.mark.realdata
def test_anipose_csv_is_sniffed(shared_data, tmp_path):
    # no Anipose CSV among the real data: write the real points3d.h5 in Anipose's layout
    with h5py.File(shared_file(shared_data, POINTS3D)) as f:
        points = f["tracks"][()][:, 0]  # (120, 15, 3)
    table = {}
    for k in range(points.shape[1]):
        for j, axis in enumerate("xyz"):
            table[f"kp{k}_{axis}"] = points[:, k, j]
        table[f"kp{k}_error"] = np.ones(len(points))
        table[f"kp{k}_ncams"] = np.full(len(points), 4)
        table[f"kp{k}_score"] = np.ones(len(points))
    csv = tmp_path / "session.csv"
    pd.DataFrame(table).to_csv(csv, index=False)
    assert sniff(csv).name == "anipose"
    poses = load_poses(csv, frame="file")
    np.testing.assert_allclose(poses.data[:, 0], points)


def test_registry_declarations():
    names = [f.name for f in formats()]
    assert len(names) == len(set(names))
    assert {"dlc", "sleap", "sleap_analysis", "sleap-anipose", "anipose", "df3d", "array"} <= set(
        names
    )
    assert len(FORMAT_MODULES) == 5
    dlc = get_format("dlc")
    assert dlc.write is not None
    assert dlc.chunk_reader is not None
    assert dlc.chunk_writer is not None
    assert get_format("sleap").write_as == "sleap-anipose"
    with pytest.raises(FileFormatError, match=r"unknown pose file format 'nope'.*'dlc'"):
        get_format("nope")


def _same(a: Poses, b: Poses, rtol: float = 0.0) -> None:
    assert a.keypoints == b.keypoints
    assert a.data.shape == b.data.shape
    np.testing.assert_allclose(a.data, b.data, rtol=rtol, atol=0)


@pytest.mark.realdata
@pytest.mark.parametrize("suffix", [".h5", ".csv"])
def test_dlc_round_trip(shared_data, tmp_path, suffix):
    src = load_poses(shared_file(shared_data, OPENFIELD))
    out = save_poses(src, tmp_path / f"copy{suffix}")
    back = load_poses(out)
    _same(src, back, rtol=1e-12 if suffix == ".csv" else 0.0)
    np.testing.assert_allclose(back.confidence, src.confidence, rtol=1e-12)


@pytest.mark.realdata
def test_multi_animal_dlc_round_trip(shared_data, tmp_path):
    src = load_poses(shared_file(shared_data, f"{MM}_el.h5"))
    back = load_poses(save_poses(src, tmp_path / "tracks.h5"))
    _same(src, back)
    assert back.individuals == src.individuals


@pytest.mark.realdata
def test_sleap_3d_round_trip(shared_data, tmp_path):
    names = [f"n{i}" for i in range(15)]
    src = load_poses(shared_file(shared_data, POINTS3D), keypoints=names)
    out = save_poses(src, tmp_path / "points3d.h5", format="sleap-anipose")
    back = load_poses(out)
    _same(src, back)
    assert sniff(out).name == "sleap-anipose"
    # and as a DeepLabCut 3D table
    back_dlc = load_poses_3d(save_poses(src, tmp_path / "as_dlc.h5", format="dlc"))
    _same(src, back_dlc)


@pytest.mark.realdata
def test_save_poses_picks_the_writer(shared_data, tmp_path):
    data = np.random.default_rng(0).normal(size=(6, 1, 3, 3))
    poses = Poses(data, ["a", "b", "c"])
    # by suffix: .csv is DeepLabCut's
    assert writer_for(tmp_path / "x.csv")[0].name == "dlc"
    # .h5 is ambiguous: like= decides; lifted SLEAP results are written SLEAP-style
    slp = shared_file(shared_data, ANALYSIS)
    assert writer_for(tmp_path / "x.h5", like=slp)[0].name == "sleap-anipose"
    out = save_poses(poses, tmp_path / "x.h5", like=slp)
    assert sniff(out).name == "sleap-anipose"
    # a DeepLabCut input gives a DeepLabCut table with the input's scorer
    openfield = shared_file(shared_data, OPENFIELD)
    fmt, options = writer_for(tmp_path / "y.h5", like=openfield)
    assert fmt.name == "dlc"
    assert options == {"scorer": "DLC_resnet50_openfieldAug20shuffle1_30000", "multianimal": False}
    out = save_poses(poses, tmp_path / "y.h5", like=load_poses(openfield))
    assert pd.read_hdf(out).columns.get_level_values(0)[0] == options["scorer"]
    # poses' own source decides when nothing else does; default: DeepLabCut
    assert save_poses(poses, tmp_path / "z.h5") == tmp_path / "z.h5"
    assert sniff(tmp_path / "z.h5").name == "dlc"
    with pytest.raises(OutputExistsError):
        save_poses(poses, tmp_path / "z.h5")
    save_poses(poses, tmp_path / "z.h5", overwrite=True, format="sleap")  # sleap -> its writer
    assert sniff(tmp_path / "z.h5").name == "sleap-anipose"


def test_unknown_formats_give_clear_errors(tmp_path):
    poses = Poses(np.zeros((2, 1, 2, 3)), ["a", "b"])
    with pytest.raises(FileFormatError, match=r"x\.txt: cannot tell which format.*\.csv"):
        save_poses(poses, tmp_path / "x.txt")
    with pytest.raises(FileFormatError, match=r"unknown pose file format 'parquet'"):
        save_poses(poses, tmp_path / "x.h5", format="parquet")
    with pytest.raises(FileFormatError, match=r"writes \['\.h5', '\.hdf5'\] files, not '\.csv'"):
        save_poses(poses, tmp_path / "x.csv", format="sleap-anipose")
    with pytest.raises(FileFormatError, match="cannot write"):
        save_poses(poses, tmp_path / "x.npz", format="array")
    notes = tmp_path / "notes.bin"
    notes.write_bytes(b"\x00\x01binary")
    with pytest.raises(FileFormatError, match=r"notes\.bin: not a recognised pose file.*binary"):
        load_poses(notes)
    assert not list(tmp_path.glob(".*tmp"))


@pytest.mark.realdata
def test_load_poses_reads_3d_and_checks_dims(shared_data, tmp_path):
    pkl = shared_file(shared_data, DF3D)
    assert load_poses(pkl).n_dims == 3  # one facade for 2D and 3D
    with pytest.raises(FileFormatError, match="not a recognised 2D pose file"):
        load_poses(pkl, dims=2)
    shutil.copy(shared_file(shared_data, OPENFIELD), tmp_path / "v.h5")
    with pytest.raises(FileFormatError, match="2D poses, not 3D"):
        load_poses_3d(tmp_path / "v.h5")


def test_one_hdf5_signature_in_the_package():
    package = Path(__file__).resolve().parents[2] / "liftpose_dlc"
    holders = [
        p.relative_to(package).as_posix()
        for p in package.rglob("*.py")
        if "\\x89HDF" in p.read_text(encoding="utf-8")
    ]
    assert holders == ["io/_hdf5.py"]
