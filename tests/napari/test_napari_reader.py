"""The napari reader: claims 3D DLC-layout tables only, returns 3D layers."""

from __future__ import annotations

import importlib
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from realdata import shared_file

from liftpose_dlc.errors import FileFormatError
from napari_liftpose.layers import to_napari_3d
from napari_liftpose.reader import napari_get_reader, read_poses_3d_layers

MANIFEST = Path(__file__).resolve().parents[2] / "napari_liftpose" / "napari.yaml"


def dlc_table(
    n_frames=8,
    bodyparts=("head", "thorax", "tail"),
    coords=("x", "y", "z"),
    individuals=None,
    seed=0,
):
    rng = np.random.default_rng(seed)
    if individuals is None:
        columns = pd.MultiIndex.from_product(
            [["DLC_3D"], list(bodyparts), list(coords)], names=["scorer", "bodyparts", "coords"]
        )
    else:
        columns = pd.MultiIndex.from_product(
            [["DLC_3D"], list(individuals), list(bodyparts), list(coords)],
            names=["scorer", "individuals", "bodyparts", "coords"],
        )
    values = rng.normal(0, 5, size=(n_frames, len(columns)))
    values[2, 0] = np.nan  # first bodypart's x missing in frame 2
    return pd.DataFrame(values, columns=columns)


def xyz_of(table, frame, bodypart, individual=None):
    scorer = table.columns.get_level_values(0)[0]
    key = (scorer, bodypart) if individual is None else (scorer, individual, bodypart)
    return np.array([table.loc[frame, (*key, c)] for c in "xyz"])


@pytest.mark.parametrize("fmt", ["fixed", "table"])
def test_reads_3d_h5(tmp_path, fmt):
    table = dlc_table()
    path = tmp_path / f"walk_{fmt}_3d.h5"
    table.to_hdf(path, key="df_with_missing", format=fmt, mode="w")
    reader = napari_get_reader(str(path))
    assert callable(reader)
    layer_data = reader(str(path))
    # no skeleton in the file: bones guessed (nearest neighbours), and a legend saying so
    assert [(kw["name"], kind) for _, kw, kind in layer_data] == [
        ("bones 3D", "vectors"),
        ("joints 3D", "points"),
        ("limb legend", "points"),
    ]
    assert layer_data[0][1]["metadata"]["liftpose"]["guessed"]
    assert "bones guessed" in layer_data[2][1]["features"]["limb"][-1]
    data, kwargs, _ = layer_data[1]
    assert data.shape == (8 * 3 - 1, 4)  # frame 2's head is missing
    assert list(kwargs["features"]["keypoint"][:3]) == ["head", "thorax", "tail"]
    np.testing.assert_allclose(data[1, 1:], to_napari_3d(xyz_of(table, 0, "thorax")))
    frame2 = kwargs["features"]["keypoint"][data[:, 0] == 2]
    assert list(frame2) == ["thorax", "tail"]


def test_reads_multi_animal_3d_h5_and_csv(tmp_path):
    table = dlc_table(individuals=["m1", "m2"], coords=("x", "y", "z", "likelihood"))
    h5 = tmp_path / "mice_DLC_3D.h5"
    table.to_hdf(h5, key="df_with_missing", format="fixed", mode="w")
    csv = tmp_path / "mice_DLC_3D.csv"
    table.to_csv(csv)
    for path in (h5, csv):
        layer_data = napari_get_reader(path)(path)
        names = [kw["name"] for _, kw, _ in layer_data]
        assert names == [
            "bones 3D m1",
            "joints 3D m1",
            "bones 3D m2",
            "joints 3D m2",
            "individuals",
            "limb legend",
        ]
        data, kwargs, _ = layer_data[3]
        assert set(kwargs["features"]["individual"]) == {"m2"}
        np.testing.assert_allclose(data[0, 1:], to_napari_3d(xyz_of(table, 0, "head", "m2")))
        np.testing.assert_allclose(
            kwargs["features"]["confidence"].iloc[0],
            table[("DLC_3D", "m2", "head", "likelihood")][0],
        )


def test_leaves_2d_and_other_files_alone(tmp_path):
    two_d = tmp_path / "video_2D_3d.h5"  # a 3d-like name, but x, y, likelihood inside
    dlc_table(coords=("x", "y", "likelihood")).to_hdf(two_d, key="df_with_missing", mode="w")
    assert napari_get_reader(str(two_d)) is None

    plain = tmp_path / "stack_3d.h5"
    with h5py.File(plain, "w") as h5:
        h5["volume"] = np.zeros((4, 4, 4))
        h5.create_group("meta").attrs["pandas_type"] = "something_else"
    assert napari_get_reader(str(plain)) is None

    flat = tmp_path / "flat_3d.h5"
    pd.DataFrame({"x": [1.0], "y": [2.0], "z": [3.0]}).to_hdf(flat, key="df", mode="w")
    assert napari_get_reader(flat) is None  # single-level columns are not DLC's layout

    garbage = tmp_path / "broken_3d.h5"
    garbage.write_bytes(b"\x89HDF not really")
    assert napari_get_reader(garbage) is None

    csv_2d = tmp_path / "video_3d.csv"
    dlc_table(coords=("x", "y", "likelihood")).to_csv(csv_2d)
    assert napari_get_reader(csv_2d) is None

    yaml = tmp_path / "config.yaml"
    yaml.write_text("skeleton: []\n")
    assert napari_get_reader(yaml) is None
    assert napari_get_reader(tmp_path / "absent_3d.h5") is None
    assert napari_get_reader(tmp_path) is None
    assert napari_get_reader([str(two_d), str(plain)]) is None


def test_read_error_names_the_file(tmp_path):
    path = tmp_path / "nothing_3d.h5"
    path.write_text("x")
    with pytest.raises(FileFormatError, match="nothing_3d.h5"):
        read_poses_3d_layers(path)


@pytest.mark.realdata
def test_real_2d_dlc_output_is_not_claimed(shared_data):
    for rel in (
        "dlc/openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5",
        "dlc/montblanc_tracks.h5",
        "sleap/centered_pair_predictions.analysis.h5",
        "dlc/openfield/config.yaml",
    ):
        assert napari_get_reader(str(shared_file(shared_data, rel))) is None, rel


def test_manifest_is_valid_and_patterns_are_narrow():
    npe2 = pytest.importorskip("npe2")
    manifest = npe2.PluginManifest.from_file(MANIFEST)
    assert manifest.name == "liftpose-dlc"
    (reader,) = manifest.contributions.readers
    commands = {c.id: c for c in manifest.contributions.commands}
    assert commands[reader.command].python_name == "napari_liftpose.reader:napari_get_reader"
    widget, train = manifest.contributions.widgets
    assert widget.display_name == "LiftPose3D"
    assert train.display_name == "LiftPose3D: Train"
    assert commands[train.command].python_name == "napari_liftpose.train_widget:TrainPanel"
    assert manifest.on_activate == "napari_liftpose.reader:activate"
    (sample,) = manifest.contributions.sample_data
    # every command names an importable callable
    for command in commands.values():
        module, name = command.python_name.split(":")
        assert callable(getattr(importlib.import_module(module), name)), command.python_name
    assert commands[widget.command].python_name == "napari_liftpose.widget:LiftPoseWidget"
    assert commands[sample.command].python_name == "napari_liftpose.sample:demo_fly_sample"
    manager = npe2.PluginManager()
    manager.register(manifest)

    def claimed(name):
        return [r.command for r in manager.iter_compatible_readers([f"/data/{name}"])]

    for ours in ("walk_3d.h5", "m3v1mp4_DLC_3D.h5", "WALK_3D.h5", "walk_3d.csv"):
        assert claimed(ours) == [reader.command], ours
    for theirs in (
        "m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5",
        "m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.csv",
        "config.yaml",
        "CollectedData_me.h5",
        "predictions.analysis.h5",
        "movie.mp4",
    ):
        assert claimed(theirs) == [], theirs


@pytest.fixture
def fresh_napari_settings(monkeypatch):
    """napari settings in memory only (nothing read from or written to the user's)."""
    napari_settings = pytest.importorskip("napari.settings")
    settings = napari_settings.NapariSettings(config_path=None)
    monkeypatch.setattr(napari_settings, "_SETTINGS", settings)
    return settings


def test_viewer_open_without_naming_the_plugin(tmp_path, fresh_napari_settings):
    from napari.components import ViewerModel
    from napari.errors import MultipleReaderError
    from napari.plugins import _initialize_plugins

    from napari_liftpose.reader import READER_PATTERNS, activate

    _initialize_plugins()
    path = tmp_path / "walk_3d.h5"
    dlc_table().to_hdf(path, key="df_with_missing", mode="w")
    viewer = ViewerModel()
    # napari's own reader claims every .h5 as well: without a preference napari asks
    with pytest.raises(MultipleReaderError, match="liftpose-dlc"):
        viewer.open(path, plugin=None)
    activate()  # what the manifest's on_activate runs the first time a command of ours runs
    assert fresh_napari_settings.plugins.extension2reader == dict.fromkeys(
        READER_PATTERNS, "liftpose-dlc"
    )
    layers = viewer.open(path, plugin=None)  # drag and drop, File > Open, `napari FILE`
    assert [layer.name for layer in layers] == ["bones 3D", "joints 3D", "limb legend"]
    assert layers[1].source.reader_plugin == "liftpose-dlc"
    np.testing.assert_allclose(
        layers[1].data[1, 1:], to_napari_3d(xyz_of(dlc_table(), 0, "thorax"))
    )
    csv = tmp_path / "mice_DLC_3D.csv"
    dlc_table(individuals=["m1", "m2"]).to_csv(csv)
    assert "joints 3D m2" in [layer.name for layer in viewer.open(csv, plugin=None)]


def test_a_users_reader_choice_is_kept(fresh_napari_settings):
    from napari_liftpose.reader import prefer_liftpose_reader

    fresh_napari_settings.plugins.extension2reader = {"*_3d.h5": "napari"}
    assert prefer_liftpose_reader() == ["*_3D.h5", "*_3d.csv", "*_3D.csv"]
    assert fresh_napari_settings.plugins.extension2reader["*_3d.h5"] == "napari"
    assert prefer_liftpose_reader() == []  # nothing more to add
