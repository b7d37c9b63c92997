"""Lifting with pretrained models: files, DeepLabCut projects, the command line, fine-tuning.

The models are the tiny lab-folder models of ``zoo_helpers`` (mouse22 and DeepFly3D names);
the 2D are the real openfield DeepLabCut output and the real SLEAP flies.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import yaml
from realdata import shared_file
from zoo_helpers import MOUSE_KEYPOINTS, OPENFIELD_H5, lab_folder, mouse_poses, one_thread

from liftpose_dlc import Poses, lift_dlc_project, lift_file, load_dlc, train_dlc_project
from liftpose_dlc.cli import main
from liftpose_dlc.errors import KeypointError
from liftpose_dlc.io.sleap import load_sleap_3d
from liftpose_dlc.pretrained import MODELS_ENV, KeypointSubsetWarning, load_pretrained
from liftpose_dlc.workflow import LiftSkippedWarning, load_project_lifter

SLEAP = "sleap/centered_pair_predictions.slp"
BODYPARTS = ["snout", "leftear", "rightear", "tailbase"]


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():
        yield


@pytest.fixture
def lab(tmp_path_factory, monkeypatch):
    folder = lab_folder(tmp_path_factory.mktemp("lab_models"))
    monkeypatch.setenv(MODELS_ENV, str(folder))
    return folder


def test_lift_file_with_a_zoo_name(lab, openfield):
    h5 = openfield.parent / "videos" / OPENFIELD_H5
    with pytest.warns(KeypointSubsetWarning, match="SpineF"):
        out = lift_file(h5, "labmouse", verbose=False)
    lifted = load_dlc(out)
    assert lifted.keypoints == BODYPARTS
    assert lifted.data.shape == (2330, 1, 4, 3)
    assert np.isfinite(lifted.data).all()  # no pcutoff for files: every frame is lifted
    # the same as the model itself on its own keypoint order
    src = load_dlc(h5)
    model = load_pretrained("labmouse")
    full = np.full((2330, 8, 2), np.nan)
    cols = [MOUSE_KEYPOINTS.index(k) for k in ("Snout", "EarL", "EarR", "Tail(base)")]
    full[:, cols] = src.data[:, 0]
    expected = model.predict(full, root_positions="mean")[:, cols]
    np.testing.assert_allclose(lifted.data[:, 0], expected, atol=1e-4)


def test_lift_dlc_project_with_a_zoo_model(lab, openfield, capsys):
    with (
        pytest.warns(LiftSkippedWarning),  # the config's other videos have no output
        pytest.warns(KeypointSubsetWarning, match=r"rooted at SpineF \(ForepawL, ForepawR\)"),
    ):
        written = lift_dlc_project(openfield, model="labmouse")
    assert [p.name for p in written] == [OPENFIELD_H5.replace(".h5", "_3d.h5")]
    printed = capsys.readouterr()
    text = printed.out + printed.err
    assert "leftear  -> EarL  (synonym)" in text
    assert "tailbase -> Tail(base)  (synonym)" in text
    lifted = load_dlc(written[0])
    assert lifted.keypoints == BODYPARTS
    conf = load_dlc(openfield.parent / "videos" / OPENFIELD_H5).confidence[:, 0]
    low = conf < 0.4
    np.testing.assert_array_equal(np.isnan(lifted.data[:, 0]).any(-1), low | low[:, 3:4])


def test_sleap_flies_cannot_be_lifted_without_a_map(lab, shared_data, tmp_path):
    slp = tmp_path / "flies.slp"
    shutil.copy(shared_file(shared_data, SLEAP), slp)
    with pytest.raises(KeypointError) as info:
        lift_file(slp, "labfly", verbose=False)
    text = str(info.value)
    assert "too few keypoints to lift with model 'labfly'" in text
    assert "Matched: none" in text
    assert "root LF_Coxa (not tracked)" in text
    assert "Not matched: head, neck, thorax" in text
    assert "keypoint_map={your_name: model_keypoint} (a YAML file" in text
    assert (
        "These name no joint of the model: forelegL1, forelegL2, forelegL3 (same side and leg "
        "as LF_Coxa ... LF_Claw)"
    ) in text
    assert not (tmp_path / "flies_3d.h5").exists()
    # with the user's map of the front legs (leg base, middle joint, tip) it lifts those
    kmap = {
        "forelegL1": "LF_Coxa",
        "forelegL2": "LF_Tibia",
        "forelegL3": "LF_Claw",
        "forelegR1": "RF_Coxa",
        "forelegR3": "RF_Claw",
    }
    with pytest.warns(KeypointSubsetWarning, match="LM_Coxa"):
        out = lift_file(slp, "labfly", keypoint_map=kmap, verbose=False)
    lifted = load_sleap_3d(out)
    assert lifted.keypoints == list(kmap)
    assert lifted.data.shape[2:] == (5, 3)
    assert np.isfinite(lifted.data).any()


def test_fine_tune_from_a_zoo_model(lab, openfield):
    # a small library of the user's own mouse (bigger than the model's), in the user's names
    p3 = mouse_poses(200, seed=9) * 1.3
    cols = [MOUSE_KEYPOINTS.index(k) for k in ("Snout", "EarL", "EarR", "Tail(base)")]
    library = Poses(p3[:, cols], BODYPARTS)
    ranges = [[-180, 180], [-20, 20], [-20, 20]]
    # zero epochs: exactly the model it started from
    lifter = train_dlc_project(
        openfield, library, angle_ranges=ranges, init="labmouse", epochs=0, verbose=False
    )
    model = load_pretrained("labmouse")
    x = np.random.default_rng(0).normal(300, 40, (20, 8, 2))
    np.testing.assert_allclose(lifter.predict(x), model.predict(x))
    assert lifter.keypoints == MOUSE_KEYPOINTS
    assert lifter.card.keypoint_map == {
        "snout": "Snout",
        "leftear": "EarL",
        "rightear": "EarR",
        "tailbase": "Tail(base)",
    }
    liftpose = openfield.parent / "liftpose"
    record = yaml.safe_load((liftpose / "lifter.yaml").read_text())
    assert record["init"] == "labmouse"
    card = yaml.safe_load((liftpose / "lifter.card.yaml").read_text())
    assert card["training_data"][0]["licence"] == "CC0-1.0"
    assert card["training_data"][-1]["name"] == "the user's own 3D library"
    # a real fine-tune changes the weights; the project then lifts with its names
    tuned = train_dlc_project(
        openfield,
        library,
        angle_ranges=ranges,
        init="labmouse",
        epochs=3,
        overwrite=True,
        verbose=False,
    )
    assert not np.allclose(tuned.predict(x), model.predict(x))
    assert load_project_lifter(openfield).card.name == "lifter"
    with pytest.warns((LiftSkippedWarning, KeypointSubsetWarning)):
        written = lift_dlc_project(openfield, verbose=False)
    assert load_dlc(written[0]).keypoints == BODYPARTS


def test_fine_tune_keeps_the_models_network(lab, openfield):
    from liftpose_dlc.errors import ConfigError

    library = Poses(mouse_poses(50)[:, [0, 1, 2, 5]], BODYPARTS)
    with pytest.raises(ConfigError, match="cannot be changed when fine-tuning"):
        train_dlc_project(openfield, library, init="labmouse", linear_size=64, verbose=False)
    with pytest.raises(ConfigError, match="roots and target_sets come from the model"):
        train_dlc_project(openfield, library, init="labmouse", roots=["snout"], verbose=False)


# ----------------------------------------------------------------------------- CLI
def test_cli_models(lab, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["name", "species", "keypoints", "source", "licence"]
    row = next(line for line in lines if line.startswith("labmouse"))
    assert row.split()[1:4] == ["mouse", "8", str(lab.resolve())]
    assert row.endswith("CC0-1.0")
    fly = next(line for line in lines if line.startswith("labfly"))
    assert " 30 " in fly
    assert main(["models", "labmouse"]) == 0
    card = capsys.readouterr().out
    assert "species:    mouse" in card
    assert "cite: liftpose-dlc test suite" in card
    assert "Tail(base): SpineM, Snout, EarL, EarR" in card
    assert main(["models", "elephant"]) == 1
    assert "no pretrained model 'elephant'" in capsys.readouterr().err


def test_cli_lift_pretrained_with_a_keypoint_map_file(lab, openfield, tmp_path, capsys):
    kmap = tmp_path / "map.yaml"
    kmap.write_text("rightear: null\n")
    code = main(["lift", str(openfield), "--pretrained", "labmouse", "--keypoint-map", str(kmap)])
    assert code == 0
    captured = capsys.readouterr()
    assert "rightear -> -  (left out by the keypoint map)" in captured.out + captured.err
    out = openfield.parent / "videos" / OPENFIELD_H5.replace(".h5", "_3d.h5")
    assert load_dlc(out).keypoints == ["snout", "leftear", "tailbase"]
    # a file with --pretrained
    h5 = openfield.parent / "videos" / OPENFIELD_H5
    dest = h5.with_name(h5.stem + "_3d.h5")
    code = main(["lift", str(h5), "--pretrained", "labmouse", "--overwrite", "-q"])
    assert code == 0
    assert load_dlc(dest).keypoints == BODYPARTS
    assert main(["lift", str(h5), "--pretrained", "labmouse", "--model", "x"]) == 2


def test_cli_train_init(lab, openfield, tmp_path):
    lib = tmp_path / "lib.npy"
    np.save(lib, mouse_poses(100)[:, [0, 1, 2, 5]])
    code = main(
        [
            "train",
            "--config",
            str(openfield),
            "--library",
            str(lib),
            "--library-keypoints",
            *BODYPARTS,
            "--angle-ranges",
            "-180",
            "180",
            "-20",
            "20",
            "-20",
            "20",
            "--init",
            "labmouse",
            "--epochs",
            "1",
            "-q",
        ]
    )
    assert code == 0
    assert load_project_lifter(openfield).card.keypoint_map["tailbase"] == "Tail(base)"


# ----------------------------------------------------------------------------- napari picker
def test_napari_picker_lists_the_zoo_and_matches_names(lab, openfield):
    pytest.importorskip("napari_liftpose.actions")
    from napari_liftpose.actions import inspect_tracking, prepare_lifter, pretrained_choices

    choices = dict((name, label) for label, name in pretrained_choices())
    assert choices["labmouse"] == f"labmouse: mouse, 8 keypoints (lab: {lab.resolve()})"
    assert "labfly" in choices
    info = inspect_tracking(openfield.parent / "videos" / OPENFIELD_H5)
    with pytest.warns(KeypointSubsetWarning):
        lifter, shown = prepare_lifter("labmouse", info.poses.keypoints)
    assert lifter.keypoints == BODYPARTS
    assert "leftear  -> EarL  (synonym)" in shown
    # a plain lifter file: loaded as it is, no map shown
    plain = load_pretrained("labmouse").save(lab.parent / "plain.safetensors", overwrite=True)
    lifter, shown = prepare_lifter(str(plain), MOUSE_KEYPOINTS)
    assert shown == ""
    assert lifter.keypoints == MOUSE_KEYPOINTS


def test_cli_models_map_for_writes_a_map_to_edit(lab, openfield, tmp_path, capsys):
    dest = tmp_path / "map.yaml"
    code = main(["models", "labmouse", "--map-for", str(openfield), "--write-map", str(dest)])
    assert code == 0
    out = capsys.readouterr().out
    assert "snout    -> Snout  (case)" in out
    assert "not tracked: SpineF, SpineM, ForepawL, ForepawR" in out
    from liftpose_dlc.keypoint_names import read_keypoint_map

    assert read_keypoint_map(dest) == {
        "snout": "Snout",
        "leftear": "EarL",
        "rightear": "EarR",
        "tailbase": "Tail(base)",
    }
    assert main(["models", "labmouse", "--map-for", str(openfield), "--write-map", str(dest)]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["models", "--map-for", str(openfield)]) == 2
    # the same from Python, for the SLEAP file's nodes
    from liftpose_dlc.pretrained import keypoint_map_for

    match = keypoint_map_for("labfly", ["L1_tarsus", "R3_claw", "thorax"])
    assert match.mapping == {"L1_tarsus": "LF_Tarsus", "R3_claw": "RH_Claw"}
    assert match.unmatched == ["thorax"]
