"""The zoo's user-facing API on the shipped models: view hints, the keypoint map to correct,
subsets too small to lift, and the workflows (Python, command line, napari actions).

The 2D are the real openfield DeepLabCut project and the real SLEAP flies.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import yaml
from realdata import shared_file
from zoo_helpers import OPENFIELD_H5, lab_folder, one_thread, tiny_mouse

import liftpose_dlc as lp
from liftpose_dlc.cameras import camera_from_euler
from liftpose_dlc.cli import main
from liftpose_dlc.errors import ConfigError, KeypointError
from liftpose_dlc.pretrained import (
    MODELS_ENV,
    KeypointSubsetWarning,
    ViewHintWarning,
    apply_view,
    load_pretrained,
    model_card,
    resolve_view,
    to_world_axes,
)
from liftpose_dlc.workflow import LiftSkippedWarning

BODYPARTS = ["snout", "leftear", "rightear", "tailbase"]
OPENFIELD_PAIRS = {"snout": "Snout", "leftear": "EarL", "rightear": "EarR", "tailbase": "TailBase"}
SLEAP = "sleap/centered_pair_predictions.slp"


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():
        yield


@pytest.fixture
def lab(tmp_path_factory, monkeypatch):
    folder = lab_folder(tmp_path_factory.mktemp("lab_models"))
    monkeypatch.setenv(MODELS_ENV, str(folder))
    return folder


# ----------------------------------------------------------------------------- view hints
def test_view_hint_by_name_ranges_and_camera(lab):
    card = model_card("mouse")
    assert {"top", "side", "oblique"} <= set(card.views)
    assert resolve_view(card, "side").view == "side"
    with pytest.raises(ConfigError, match="has no view 'front'; its views: "):
        resolve_view(card, "front")
    # angle ranges: the card view they overlap
    assert resolve_view(card, [[-180, 180], [-5, 5], [170, 190]]).view == "top"
    assert resolve_view(card, [-90, 90, 0, 0, 80, 100]).view == "side"
    # a calibrated camera (world +z up): its viewing direction picks the view
    assert resolve_view(card, camera_from_euler([37, 3, 175], distance=300)).view == "top"
    assert resolve_view(card, camera_from_euler([-120, 0, 92], distance=300)).view == "side"
    oblique = resolve_view(card, camera_from_euler([10, 0, 135], distance=300))
    assert oblique.view == "oblique"
    assert oblique.distance < 10
    # a camera the model never saw anything like: warned, the nearest view is used
    # (the lab mouse was trained from below only: x in [-20, 20])
    with pytest.warns(ViewHintWarning, match="degrees from the nearest view model 'labmouse'"):
        far = resolve_view(model_card("labmouse"), camera_from_euler([0, 0, 90], distance=300))
    assert far.distance > 30
    with pytest.raises(ConfigError, match="angle ranges"):
        resolve_view(card, [1, 2, 3])
    lifter = load_pretrained("mouse", view=[[-180, 180], [-5, 5], [170, 190]])
    assert lifter.view.view == "top"


def test_view_hint_picks_a_view_model(lab):
    data = yaml.safe_load((lab / "labmouse.yaml").read_text())
    data["views"]["side"] = [[-180, 180], [-10, 10], [75, 105]]
    data["view_models"] = {"side": "labmouse_side.safetensors"}
    (lab / "labmouse.yaml").write_text(yaml.safe_dump(data))
    special = tiny_mouse()
    torch = pytest.importorskip("torch")
    with torch.no_grad():
        for p in special.net.parameters():
            p.mul_(1.5)  # another network than the general model
    special.save(lab / "labmouse_side.safetensors", overwrite=True)
    x = np.random.default_rng(0).normal(300, 30, (4, 8, 2))
    general = load_pretrained("labmouse")
    side = apply_view(general, camera_from_euler([50, 0, 88], distance=100))
    assert side.view.view == "side"
    assert side.card.name == "labmouse"
    np.testing.assert_allclose(side.predict(x), special.predict(x), atol=1e-6)
    assert not np.allclose(general.predict(x), side.predict(x))
    top = apply_view(load_pretrained("labmouse"), "top")
    np.testing.assert_allclose(top.predict(x), general.predict(x))
    # a plain lifter knows no views
    with pytest.raises(ConfigError, match="a view hint needs a pretrained model"):
        apply_view(tiny_mouse(), "top")


def test_world_axes_from_the_cameras_rotation():
    cam = camera_from_euler([30, 10, 160], distance=200)
    world = np.random.default_rng(1).normal(0, 20, (5, 1, 3, 3))
    in_cam = world @ cam.R.T  # directions: X_cam = R X_world
    poses = lp.Poses(in_cam, ["a", "b", "c"], frame="camera")
    back = to_world_axes(poses, cam)
    assert back.frame == "world"
    np.testing.assert_allclose(back.data, world, atol=1e-9)


# ----------------------------------------------------------------------------- workflows
def test_lift_dlc_project_with_the_mouse_model_and_a_corrected_map(openfield, capsys):
    with (
        pytest.warns(LiftSkippedWarning),  # the config's other videos have no output
    ):
        written = lp.lift_dlc_project(
            openfield, model="mouse", keypoint_map={"rightear": None}, view="top"
        )
    printed = capsys.readouterr()
    text = printed.out + printed.err
    assert "leftear  -> EarL  (synonym)" in text
    assert "tailbase -> TailBase  (case)" in text
    assert "rightear -> -  (left out by the keypoint map)" in text
    lifted = lp.load_dlc(written[0])
    assert lifted.keypoints == ["snout", "leftear", "tailbase"]
    assert lifted.units == "mm"
    # the 3D: a mouse's head, tens of mm from the tail base, where the 2D is confident
    conf = lp.load_dlc(openfield.parent / "videos" / OPENFIELD_H5).confidence[:, 0]
    good = (conf[:, [0, 1, 3]] >= 0.4).all(1)
    head = np.linalg.norm(lifted.data[good, 0, 0] - lifted.data[good, 0, 2], axis=-1)
    assert 40 < np.median(head) < 140


def test_cli_lift_config_with_pretrained_mouse_and_view(openfield, capsys):
    code = main(["lift", str(openfield), "--pretrained", "mouse", "--view", "top", "-q"])
    assert code == 0
    out = openfield.parent / "videos" / OPENFIELD_H5.replace(".h5", "_3d.h5")
    assert lp.load_dlc(out).keypoints == BODYPARTS
    capsys.readouterr()
    h5 = openfield.parent / "videos" / OPENFIELD_H5
    code = main(
        ["lift", str(h5), "--pretrained", "mouse", "--view=-180,180,-5,5,170,190", "--overwrite"]
    )
    assert code == 0
    assert main(["lift", str(h5), "--pretrained", "mouse", "--view", "front", "--overwrite"]) == 1
    assert "has no view 'front'" in capsys.readouterr().err


def test_lift_file_with_the_fly_model_on_the_sleap_flies(shared_data, tmp_path):
    slp = tmp_path / "flies.slp"
    shutil.copy(shared_file(shared_data, SLEAP), slp)
    # SLEAP's leg points (forelegL1..3) name no DeepFly3D joint: nothing is lifted, and the
    # message says which names could be and how to map them
    with pytest.raises(KeypointError) as info:
        lp.lift_file(slp, model="fly", verbose=False)
    text = str(info.value)
    assert "too few keypoints to lift with model 'fly'" in text
    assert "forelegL1, forelegL2, forelegL3 (same side and leg as LF_Coxa ... LF_Claw)" in text
    # with the user's map of the legs' points (base, middle, tip) the legs are lifted
    kmap = {}
    for leg, pos in (("fore", "F"), ("mid", "M"), ("hind", "H")):
        for side in "LR":
            kmap[f"{leg}leg{side}1"] = f"{side}{pos}_Coxa"
            kmap[f"{leg}leg{side}2"] = f"{side}{pos}_Tibia"
            kmap[f"{leg}leg{side}3"] = f"{side}{pos}_Claw"
    out = lp.lift_file(slp, model="fly", keypoint_map=kmap, view="ventral", verbose=False)
    lifted = lp.io.sleap.load_sleap_3d(out)
    assert lifted.keypoints == list(kmap)
    assert lifted.units == "mm"
    # legs of a fly: tip to base under 3 mm, where both were seen
    tip = lifted.data[:, :, 2::3]
    base = lifted.data[:, :, 0::3]
    reach = np.linalg.norm(tip - base, axis=-1)
    assert np.isfinite(reach).any()
    assert np.nanmedian(reach) < 3.0


def test_a_subset_too_small_to_lift_says_so(openfield):
    # the tail base alone: the mouse's one target set needs its root and one more point
    with pytest.raises(KeypointError) as info:
        lp.lift_dlc_project(
            openfield,
            model="mouse",
            keypoint_map={"snout": None, "leftear": None, "rightear": None},
            verbose=False,
        )
    text = str(info.value)
    assert "too few keypoints to lift with model 'mouse'" in text
    assert "Matched: tailbase (TailBase)" in text
    assert "root TailBase (your tailbase) with one of SpineM" in text
    assert "(tracked: none)" in text
    # two points, the root and one more: lifted
    with pytest.warns(LiftSkippedWarning):
        written = lp.lift_dlc_project(
            openfield,
            model="mouse",
            keypoint_map={"leftear": None, "rightear": None},
            verbose=False,
        )
    assert lp.load_dlc(written[0]).keypoints == ["snout", "tailbase"]


def test_subset_of_the_fly_from_one_side(shared_data):
    # a side camera sees three legs: the other side's target sets are left out, with a warning
    from liftpose_dlc.io.df3d_2d import load_df3d_2d

    folder = shared_file(shared_data, "3d/neuromechfly_df3d_walking")
    poses = load_df3d_2d(folder / "preds_180921_aDN_PR_Fly8_005_SG1_behData_images-images.pkl")[4]
    with pytest.warns(KeypointSubsetWarning, match=r"RF_Coxa \(RF_Femur"):
        lifted = lp.lift_poses(poses, "fly")
    assert lifted.poses.keypoints == poses.keypoints[:15]


# ----------------------------------------------------------------------------- napari actions
def test_napari_picker_shows_the_map_and_the_views(openfield, lab):
    pytest.importorskip("napari_liftpose.actions")
    from napari_liftpose.actions import (
        keypoint_map_rows,
        prepare_lifter,
        pretrained_choices,
        rows_to_keypoint_map,
        view_choices,
    )

    names = [name for _, name in pretrained_choices()]
    assert {"fly", "mouse", "rat", "labmouse", "labfly"} <= set(names)
    assert view_choices("mouse") == list(model_card("mouse").views)
    assert "top" in view_choices("mouse")
    assert view_choices(lab / "labmouse.safetensors") == ["top"]
    assert view_choices("elephant") == []
    rows, choices = keypoint_map_rows("mouse", BODYPARTS)
    assert [(u, m) for u, m, _ in rows] == list(OPENFIELD_PAIRS.items())
    assert [why for _, _, why in rows] == ["case", "synonym", "synonym", "case"]
    assert choices == model_card("mouse").keypoints
    # the user corrects the table: the right ear left out
    edited = [(u, "" if u == "rightear" else m) for u, m, _ in rows]
    kmap = rows_to_keypoint_map(edited)
    assert kmap["rightear"] is None
    lifter, shown = prepare_lifter("mouse", BODYPARTS, kmap, view="top")
    assert lifter.keypoints == ["snout", "leftear", "tailbase"]
    assert lifter.base.view.view == "top"
    assert "rightear -> -  (left out by the keypoint map)" in shown
    # a lab model is listed and its map shown the same way
    rows, _ = keypoint_map_rows("labmouse", BODYPARTS)
    assert rows[3][:2] == ("tailbase", "Tail(base)")
    # a plain lifter file: no table
    plain = tiny_mouse().save(lab.parent / "plain.safetensors", overwrite=True)
    assert keypoint_map_rows(str(plain), BODYPARTS) == ([], [])
    assert view_choices(str(plain)) == []
