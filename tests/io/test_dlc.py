"""DeepLabCut tables: real files, round trips, pandas 2 compatibility and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from realdata import shared_file

from liftpose_dlc import Poses, load_dlc, load_poses, save_dlc
from liftpose_dlc.errors import (
    ConfigError,
    FileFormatError,
    KeypointError,
    MissingFileError,
    OutputExistsError,
)
from liftpose_dlc.io import detect_format
from liftpose_dlc.io.dlc import HDF_KEY, load_dlc_inferred, poses_to_dlc_table

OPENFIELD = "dlc/openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
OPENFIELD_SCORER = "DLC_resnet50_openfieldAug20shuffle1_30000"
MM = "dlc/multi_mouse-dlc_team-2022-04-12"
MM_STEM = "m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5"
MM_EL = f"{MM}/videos/{MM_STEM}_el.h5"
MM_FILT_H5 = f"{MM}/videos/{MM_STEM}_el_filtered.h5"
MM_FILT_CSV = f"{MM}/videos/{MM_STEM}_el_filtered.csv"
MONTBLANC = "dlc/montblanc_tracks.h5"
OPENFIELD_KP = ["snout", "leftear", "rightear", "tailbase"]
MM_KP = ["bodypart1", "bodypart2", "bodypart3", "corner1", "corner2"]
MM_IND = ["individual1", "individual2", "individual3", "single"]


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    return np.array_equal(a, b, equal_nan=True)


# ------------------------------------------------------------------- real files
@pytest.mark.realdata
def test_openfield_single_animal(shared_data):
    path = shared_file(shared_data, OPENFIELD)
    poses = load_dlc(path)
    assert poses.data.shape == (2330, 1, 4, 2)
    assert poses.keypoints == OPENFIELD_KP
    assert poses.individuals == ["individual_0"]
    assert poses.source.path == str(path)
    assert poses.source.software == "DeepLabCut"
    assert poses.fps is None  # no _meta.pickle beside this file
    assert list(poses.skeleton.edges) == []

    df = pd.read_hdf(path)
    for frame, bp in [(0, "snout"), (1000, "rightear"), (2329, "tailbase"), (17, "leftear")]:
        k = OPENFIELD_KP.index(bp)
        assert poses.data[frame, 0, k, 0] == df[(OPENFIELD_SCORER, bp, "x")].iloc[frame]
        assert poses.data[frame, 0, k, 1] == df[(OPENFIELD_SCORER, bp, "y")].iloc[frame]
        assert poses.confidence[frame, 0, k] == df[(OPENFIELD_SCORER, bp, "likelihood")].iloc[frame]
    # values printed from the file once, to catch a reader and a check wrong in the same way
    np.testing.assert_allclose(poses.data[0, 0, 0], [77.29780579, 88.87557983])
    np.testing.assert_allclose(poses.data[1000, 0, 3], [335.80471802, 356.87692261])
    np.testing.assert_allclose(poses.confidence[2329, 0, 2], 0.92651188)
    # every cell
    values = df.to_numpy().reshape(2330, 4, 3)
    assert _equal(poses.data[:, 0], values[..., :2])
    assert _equal(poses.confidence[:, 0], values[..., 2])


@pytest.mark.realdata
def test_openfield_pcutoff_nan_placement(shared_data):
    path = shared_file(shared_data, OPENFIELD)
    full = load_dlc(path)
    cut = load_dlc(path, pcutoff=0.95)
    lik = pd.read_hdf(path).xs("likelihood", level="coords", axis=1).to_numpy()
    low = lik < 0.95
    assert low.sum() == 91
    assert np.isnan(cut.data[:, 0][low]).all()
    assert not np.isnan(cut.data[:, 0][~low]).any()
    assert _equal(cut.data[:, 0][~low], full.data[:, 0][~low])
    assert _equal(cut.confidence, full.confidence)  # confidence kept
    # the single point below 0.8 in the file: frame 2325, rightear
    assert np.isnan(load_dlc(path, pcutoff=0.8).data[2325, 0, 2]).all()
    assert np.isnan(load_dlc(path, pcutoff=0.8).data).sum() == 2


@pytest.mark.realdata
def test_pcutoff_from_config_and_override(shared_data):
    path = shared_file(shared_data, OPENFIELD)
    config = shared_file(shared_data, "dlc/openfield/config.yaml")  # pcutoff: 0.4
    assert not np.isnan(load_dlc(path, config=config).data).any()
    assert np.isnan(load_dlc(path, 0.95, config=config).data).sum() == 2 * 91


@pytest.mark.realdata
def test_multi_animal_tracks_with_unique_bodyparts(shared_data):
    path = shared_file(shared_data, MM_EL)
    config = shared_file(shared_data, f"{MM}/config.yaml")
    poses = load_dlc(path, pcutoff=0.0, config=config)
    assert poses.data.shape == (31, 4, 5, 2)
    assert poses.individuals == MM_IND
    assert poses.keypoints == MM_KP
    assert list(poses.skeleton.edges) == [
        ("bodypart1", "bodypart2"),
        ("bodypart2", "bodypart3"),
        ("bodypart1", "bodypart3"),
    ]
    assert poses.fps == pytest.approx(29.980657640232106)  # from the _meta.pickle
    # animals have no unique bodyparts, "single" has only them
    assert np.isnan(poses.data[:, :3, 3:]).all()
    assert np.isnan(poses.confidence[:, :3, 3:]).all()
    assert np.isnan(poses.data[:, 3, :3]).all()
    assert not np.isnan(poses.data[:, 3, 3:]).any()
    df = pd.read_hdf(path)
    sc = "DLC_effnet_b0_multi_mouseApr12shuffle1_5"
    for ind, bp, c in [("individual2", "bodypart3", "y"), ("single", "corner2", "x")]:
        i, k = MM_IND.index(ind), MM_KP.index(bp)
        assert _equal(poses.data[:, i, k, "xy".index(c)], df[(sc, ind, bp, c)].to_numpy())


@pytest.mark.realdata
def test_multi_animal_pcutoff_from_config(shared_data):
    path = shared_file(shared_data, MM_EL)
    config = shared_file(shared_data, f"{MM}/config.yaml")  # pcutoff: 0.6
    poses = load_dlc(path, config=config)
    raw = load_dlc(path)
    low = raw.confidence < 0.6
    assert low.any()
    assert np.isnan(poses.data[low]).all()
    keep = ~low & ~np.isnan(raw.data[..., 0])
    assert _equal(poses.data[keep], raw.data[keep])


@pytest.mark.realdata
def test_filtered_h5_and_csv_are_identical(shared_data):
    h5 = load_dlc(shared_file(shared_data, MM_FILT_H5))
    csv = load_dlc(shared_file(shared_data, MM_FILT_CSV))
    assert h5.keypoints == csv.keypoints == MM_KP
    assert h5.individuals == csv.individuals == MM_IND
    assert _equal(h5.data, csv.data)
    assert _equal(h5.confidence, csv.confidence)
    assert csv.fps == h5.fps == pytest.approx(29.980657640232106)


@pytest.mark.realdata
def test_montblanc_key_df(shared_data):
    path = shared_file(shared_data, MONTBLANC)
    poses = load_dlc(path)
    assert poses.data.shape == (180, 4, 5, 2)
    assert poses.individuals == ["bird1", "bird2", "bird3", "single"]
    assert poses.keypoints == ["head", "tail", "leftwing", "rightwing", "center"]
    assert poses.fps is None  # its meta pickle has no fps
    np.testing.assert_allclose(poses.data[0, 0, 1], [375.628, 557.43])
    np.testing.assert_allclose(poses.data[0, 3, 4], [1344.887, 572.616])
    assert np.isnan(poses.data[0, 0, 0]).all()
    assert np.isnan(poses.data[:, :3, 4]).all()  # center belongs to "single"


@pytest.mark.realdata
@pytest.mark.parametrize("video", ["m3v1mp4short", "m3v1mp4"])
def test_labeled_data_with_path_index(shared_data, video):
    base = f"{MM}/labeled-data/{video}/CollectedData_dlc_team"
    h5 = load_dlc(shared_file(shared_data, f"{base}.h5"))
    csv = load_dlc(shared_file(shared_data, f"{base}.csv"))
    assert h5.data.shape == (5, 4, 5, 2)
    assert np.isnan(h5.confidence).all()  # labels have no likelihood
    assert _equal(h5.data, csv.data)
    df = pd.read_hdf(shared_file(shared_data, f"{base}.h5"))
    assert _equal(h5.data[:, 0, 0], df[("dlc_team", "individual1", "bodypart1")].to_numpy())


@pytest.mark.realdata
def test_real_multi_animal_round_trip_keeps_dlc_columns(shared_data, tmp_path):
    path = shared_file(shared_data, MM_EL)
    poses = load_dlc(path)
    out = save_dlc(poses, tmp_path / "copy.h5", scorer="DLC_effnet_b0_multi_mouseApr12shuffle1_5")
    original, written = pd.read_hdf(path), pd.read_hdf(out)
    assert written.columns.equals(original.columns)
    assert _equal(written.to_numpy(), original.to_numpy())
    back = load_dlc(out)
    assert back.source.software == "liftpose-dlc"
    assert back.fps == poses.fps
    assert _equal(back.data, poses.data)


@pytest.mark.realdata
def test_select_unknown_keypoint(shared_data):
    poses = load_dlc(shared_file(shared_data, OPENFIELD))
    with pytest.raises(KeypointError, match=r"nose.*available keypoints.*snout") as err:
        poses.select(keypoints=["snout", "nose"])
    assert "m3v1mp4DLC_resnet50" in str(err.value)


# ------------------------------------------------------------------ round trips
def _poses(n_dims: int, individuals: list[str], fps: float | None = 25.0) -> Poses:
    rng = np.random.default_rng(n_dims + len(individuals))
    data = rng.normal(200, 50, size=(12, len(individuals), 3, n_dims))
    data[2, 0, 1] = np.nan
    data[5, -1, 2] = np.nan
    conf = rng.uniform(0, 1, size=(12, len(individuals), 3))
    conf[5, -1, 2] = np.nan
    return Poses(
        data,
        ["head", "thorax", "tail"],
        individuals=individuals,
        confidence=conf,
        skeleton=[("head", "thorax"), ("thorax", "tail")],
        fps=fps,
    )


@pytest.mark.parametrize("n_dims", [2, 3])
@pytest.mark.parametrize("individuals", [["fly"], ["fly1", "fly2"]])
@pytest.mark.parametrize("suffix", [".h5", ".csv"])
def test_round_trip(tmp_path, n_dims, individuals, suffix):
    poses = _poses(n_dims, individuals)
    out = save_dlc(poses, tmp_path / f"poses{suffix}")
    assert out == tmp_path / f"poses{suffix}"
    back = load_dlc(out)
    assert back.n_dims == n_dims
    assert back.keypoints == poses.keypoints
    assert _equal(back.data, poses.data)  # values and NaN positions
    if n_dims == 2:
        assert _equal(back.confidence, poses.confidence)
    else:
        assert np.isnan(back.confidence).all()  # DLC's 3D layout has no likelihood
    df = pd.read_hdf(out) if suffix == ".h5" else None
    if len(individuals) > 1:
        assert back.individuals == individuals
    if suffix == ".h5":
        assert back.fps == 25.0
        assert back.skeleton == poses.skeleton
        assert back.individuals == individuals  # the single-animal name is kept in an attribute
        levels = 4 if len(individuals) > 1 else 3
        assert df.columns.nlevels == levels
        expected = ["x", "y", "likelihood"] if n_dims == 2 else ["x", "y", "z"]
        assert list(dict.fromkeys(df.columns.get_level_values("coords"))) == expected
        assert list(df.index) == list(range(12))
    else:
        assert back.fps is None  # CSV carries no metadata
        if len(individuals) == 1:
            assert back.individuals == ["individual_0"]


def test_csv_with_a_very_long_header(tmp_path):
    # 12 individuals x 60 keypoints: the header rows are longer than 64 KiB
    rng = np.random.default_rng(3)
    kps = [f"keypoint_number_{k}" for k in range(60)]
    poses = Poses(rng.normal(size=(3, 12, 60, 2)), kps, individuals=[f"m{i}" for i in range(12)])
    out = save_dlc(
        poses, tmp_path / "wide.csv", scorer="DLC_resnet50_someLongTaskNameJan1shuffle1_1"
    )
    assert len(out.read_text().splitlines()[0]) > 64 * 1024
    assert _equal(load_dlc(out).data, poses.data)


def test_unique_bodyparts_written_under_single_only(tmp_path):
    data = np.full((4, 3, 3, 2), np.nan)
    data[:, :2, :2] = 1.0  # two mice with snout, tail
    data[:, 2, 2] = 5.0  # "single" with corner
    poses = Poses(data, ["snout", "tail", "corner"], individuals=["m1", "m2", "single"])
    df = poses_to_dlc_table(poses)
    pairs = list(dict.fromkeys(zip(*(df.columns.get_level_values(i) for i in (1, 2)), strict=True)))
    assert pairs == [
        ("m1", "snout"),
        ("m1", "tail"),
        ("m2", "snout"),
        ("m2", "tail"),
        ("single", "corner"),
    ]
    back = load_dlc(save_dlc(poses, tmp_path / "u.h5"))
    assert back.keypoints == poses.keypoints
    assert _equal(back.data, poses.data)


def test_hdf5_is_fixed_format_with_dlc_key(tmp_path):
    out = save_dlc(_poses(2, ["a", "b"]), tmp_path / "p.h5")
    with pd.HDFStore(out, mode="r") as store:
        assert store.keys() == [f"/{HDF_KEY}"]
        assert store.get_storer(HDF_KEY).is_table is False
        assert store.get_storer(HDF_KEY).format_type == "fixed"


def test_inferred_column(tmp_path):
    poses = _poses(3, ["a", "b"])
    mask = np.zeros((12, 2, 3), dtype=bool)
    mask[3, 1, 0] = mask[7, 0, 2] = True
    out = save_dlc(poses, tmp_path / "p_3d.h5", inferred=mask)
    df = pd.read_hdf(out)
    assert list(dict.fromkeys(df.columns.get_level_values("coords"))) == ["x", "y", "z", "inferred"]
    assert df[("liftpose-dlc", "b", "head", "inferred")].tolist()[3] == 1.0
    assert df.xs("inferred", level="coords", axis=1).to_numpy().sum() == 2
    back = load_dlc(out)  # the extra coord does not disturb the reader
    assert _equal(back.data, poses.data)
    assert np.array_equal(load_dlc_inferred(out), mask)
    assert load_dlc_inferred(save_dlc(poses, tmp_path / "no_mask.h5")) is None
    with pytest.raises(ValueError, match="inferred must have shape"):
        save_dlc(poses, tmp_path / "bad.h5", inferred=mask[:, :1])


def test_overwrite_and_atomic_pair(tmp_path):
    poses = _poses(2, ["a"])
    out = save_dlc(poses, tmp_path / "p.h5")
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        save_dlc(poses, out)
    (tmp_path / "q.csv").write_text("user's file")
    with pytest.raises(OutputExistsError, match=r"q\.csv"):
        save_dlc(poses, tmp_path / "q.h5", save_as_csv=True)
    assert not (tmp_path / "q.h5").exists()  # nothing written when one output is in the way
    assert (tmp_path / "q.csv").read_text() == "user's file"
    moved = poses.replace(data=poses.data + 1)
    save_dlc(moved, out, overwrite=True, save_as_csv=True)
    assert _equal(load_dlc(out).data, moved.data)
    assert _equal(load_dlc(tmp_path / "p.csv").data, moved.data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv", "p.h5", "q.csv"]


def test_3d_tables_with_and_without_likelihood(tmp_path):
    rng = np.random.default_rng(1)
    for coords in (["x", "y", "z"], ["x", "y", "z", "likelihood"]):
        cols = pd.MultiIndex.from_product(
            [["DLC_3D"], ["nose", "tail"], coords], names=["scorer", "bodyparts", "coords"]
        )
        df = pd.DataFrame(rng.uniform(0, 1, (6, len(cols))), columns=cols)
        path = tmp_path / f"t{len(coords)}.h5"
        df.to_hdf(path, key="df_with_missing", format="table")
        poses = load_dlc(path)
        assert poses.data.shape == (6, 1, 2, 3)
        assert _equal(poses.data[:, 0, 1], df["DLC_3D"]["tail"][["x", "y", "z"]].to_numpy())
        if "likelihood" in coords:
            assert _equal(
                poses.confidence[:, 0, 0], df[("DLC_3D", "nose", "likelihood")].to_numpy()
            )
        else:
            assert np.isnan(poses.confidence).all()


PANDAS2_CHECK = textwrap.dedent(
    """
    import json, sys
    import pandas as pd
    assert int(pd.__version__.split(".")[0]) == 2, pd.__version__
    df = pd.read_hdf(sys.argv[1])
    print(json.dumps({
        "version": pd.__version__,
        "names": list(df.columns.names),
        "columns": [list(c) for c in df.columns],
        "index": [int(i) for i in df.index],
        "values": [[None if v != v else v for v in row] for row in df.to_numpy().tolist()],
    }))
    """
)


@pytest.mark.parametrize(("n_dims", "individuals"), [(2, ["a"]), (3, ["a", "b"])])
def test_readable_by_pandas_2(tmp_path, n_dims, individuals):
    python = os.environ.get("LIFTPOSE_PANDAS2_PYTHON")
    if not python:
        pytest.skip(
            "LIFTPOSE_PANDAS2_PYTHON is not set (make test sets it to a venv with pandas<3 "
            "and tables)"
        )
    if not Path(python).exists():
        pytest.skip(f"LIFTPOSE_PANDAS2_PYTHON={python} does not exist")
    poses = _poses(n_dims, individuals)
    out = save_dlc(poses, tmp_path / "p.h5", inferred=np.isnan(poses.data[..., 0]))
    proc = subprocess.run(
        [python, "-c", PANDAS2_CHECK, str(out)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    expected = pd.read_hdf(out)
    assert got["version"].startswith("2.")
    assert got["names"] == list(expected.columns.names)
    assert [tuple(c) for c in got["columns"]] == list(expected.columns)
    assert got["index"] == list(range(12))
    values = np.array([[np.nan if v is None else v for v in row] for row in got["values"]])
    assert _equal(values, expected.to_numpy())


# -------------------------------------------------------------------- facade
@pytest.mark.realdata
def test_load_poses_picks_dlc_by_content(shared_data, tmp_path):
    src = shared_file(shared_data, MM_FILT_CSV)
    renamed = tmp_path / "tracks.dat"  # the extension says nothing
    renamed.write_bytes(src.read_bytes())
    assert detect_format(renamed) == "dlc"
    assert _equal(load_poses(renamed).data, load_dlc(src).data)
    assert detect_format(shared_file(shared_data, MM_EL)) == "dlc"  # HDF5 key "tracks"
    h5 = shared_file(shared_data, OPENFIELD)
    assert load_poses(h5, pcutoff=0.95).data.shape == (2330, 1, 4, 2)
    assert np.isnan(load_poses(h5, pcutoff=0.95).data).sum() == 2 * 91


@pytest.mark.realdata
def test_detect_sleap_files(shared_data):
    assert detect_format(shared_file(shared_data, "sleap/centered_pair_predictions.slp")) == "sleap"
    analysis = shared_file(shared_data, "sleap/centered_pair_predictions.analysis.h5")
    assert detect_format(analysis) == "sleap_analysis"
    with pytest.raises(FileFormatError, match="SLEAP"):
        load_dlc(analysis)


@pytest.mark.realdata
def test_load_poses_sleap(shared_data):
    poses = load_poses(shared_file(shared_data, "sleap/centered_pair_predictions.analysis.h5"))
    assert poses.n_keypoints == 24
    assert poses.n_frames == 1100


def test_load_poses_unknown_content(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("just some notes\n")
    with pytest.raises(FileFormatError, match=r"notes\.h5.*text file"):
        load_poses(path)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["weights"] = np.zeros(3)
    with pytest.raises(FileFormatError, match=r"other\.h5.*neither.*\['weights'\]"):
        load_poses(other)
    with pytest.raises(MissingFileError, match=r"absent\.slp"):
        load_poses(tmp_path / "absent.slp")


# ----------------------------------------------------------------- bad input
def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match=r"DeepLabCut file not found: .*nope\.h5"):
        load_dlc(tmp_path / "nope.h5")


def test_text_file_with_h5_extension(tmp_path):
    path = tmp_path / "fake.h5"
    path.write_text("this is not HDF5\n")
    with pytest.raises(FileFormatError, match=r"fake\.h5: not a DeepLabCut file.*text file"):
        load_dlc(path)


def test_png_file(tmp_path):
    path = tmp_path / "frame.h5"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(FileFormatError, match=r"frame\.h5: not a DeepLabCut file.*PNG"):
        load_dlc(path)


def test_hdf5_without_pose_table(tmp_path):
    path = tmp_path / "random.h5"
    with h5py.File(path, "w") as f:
        f["random"] = np.random.default_rng(0).normal(size=(5, 3))
    with pytest.raises(FileFormatError, match=r"random\.h5: .*no pandas pose table.*'random'"):
        load_dlc(path)


def test_hdf5_with_several_tables(tmp_path):
    path = tmp_path / "two.h5"
    poses_df = poses_to_dlc_table(_poses(2, ["a"]))
    poses_df.to_hdf(path, key="first", format="fixed")
    poses_df.to_hdf(path, key="second", format="fixed")
    with pytest.raises(FileFormatError, match=r"two\.h5: .*several pandas tables.*key="):
        load_dlc(path)
    assert load_dlc(path, key="second").data.shape == (12, 1, 3, 2)
    with pytest.raises(FileFormatError, match="no table 'third'"):
        load_dlc(path, key="third")


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"x": [1.0], "y": [2.0]}), r"not a DeepLabCut layout.*1 level"),
        (
            pd.DataFrame(
                [[1.0, 2.0]],
                columns=pd.MultiIndex.from_tuples(
                    [("s", "a", "x"), ("s", "a", "y")], names=["a", "b", "c"]
                ),
            ),
            r"not a DeepLabCut layout.*\['a', 'b', 'c'\]",
        ),
        (
            pd.DataFrame(
                [[1.0, 2.0]],
                columns=pd.MultiIndex.from_tuples(
                    [("s", "a", "x"), ("s", "a", "speed")],
                    names=["scorer", "bodyparts", "coords"],
                ),
            ),
            r"unknown coords \['speed'\]",
        ),
        (
            pd.DataFrame(
                [[1.0, 2.0]],
                columns=pd.MultiIndex.from_tuples(
                    [("s", "a", "x"), ("s", "a", "likelihood")],
                    names=["scorer", "bodyparts", "coords"],
                ),
            ),
            r"bodypart a has no \['y'\] column",
        ),
    ],
)
def test_columns_not_dlc_layout(tmp_path, frame, match):
    path = tmp_path / "table.h5"
    frame.to_hdf(path, key="df_with_missing", format="fixed")
    with pytest.raises(FileFormatError, match=rf"table\.h5: .*{match}"):
        load_dlc(path)


def test_csv_with_wrong_header_rows(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("scorer,s,s\nparts,a,a\ncoords,x,y\n0,1,2\n")
    with pytest.raises(FileFormatError, match=r"bad\.csv: the CSV header rows"):
        load_dlc(path)


def test_csv_with_text_values(tmp_path):
    path = tmp_path / "words.csv"
    path.write_text("scorer,s,s\nbodyparts,a,a\ncoords,x,y\n0,1,two\n")
    with pytest.raises(FileFormatError, match=r"words\.csv: the table holds non-numeric"):
        load_dlc(path)


def test_bad_pcutoff(tmp_path):
    out = save_dlc(_poses(2, ["a"]), tmp_path / "p.h5")
    with pytest.raises(ConfigError, match="pcutoff must be a number"):
        load_dlc(out, pcutoff="high")


def test_save_unknown_extension(tmp_path):
    with pytest.raises(FileFormatError, match=r"\.npy"):
        save_dlc(_poses(2, ["a"]), tmp_path / "p.npy")
