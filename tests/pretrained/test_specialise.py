"""Specialists: a zoo model trained again for exactly the keypoints a user tracks.

The shipped models carry their 3D pose library (``<name>.library.safetensors``); these
tests train specialists from it (few steps where only the plumbing is tested), lift the
real openfield DeepLabCut project and the real sleap-anipose mouse with them, and check
the cache, the card's ``pose_library`` and the errors.
"""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest
import torch
import yaml
from realdata import shared_file
from zoo_helpers import ANIPOSE_MAP, OPENFIELD_H5, lab_folder, one_thread

import liftpose_dlc as lp
import liftpose_dlc.pretrained.specialise as spec_mod
from liftpose_dlc.cli import main
from liftpose_dlc.errors import ConfigError, KeypointError, ModelFileError
from liftpose_dlc.lifter.augmentation import PoseBatch
from liftpose_dlc.lifter.virtual_views import virtual_views
from liftpose_dlc.pretrained import MODELS_ENV, load_pose_library, model_card, read_card
from liftpose_dlc.pretrained.specialise import CACHE_ENV, cache_folder, specialise

OPENFIELD_MODEL = ["EarL", "EarR", "Snout", "TailBase"]


@pytest.fixture(autouse=True)
def _one_thread_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    with one_thread():
        yield


def test_shipped_models_carry_their_pose_library():
    frames = {"fly": 2560, "mouse": 4600, "rat": 1000}
    for name, n in frames.items():
        card = model_card(name)
        lib = load_pose_library(card)
        assert sum(len(v) for v in lib.values()) == n == card.pose_library["frames"]
        assert all(v.shape[1:] == (len(card.keypoints), 3) for v in lib.values())
        # in mm, body frame: a mouse is about 80-120 mm from snout to tail base
        if name == "mouse":
            k = card.keypoints
            d = np.linalg.norm(
                lib["stac"][:, k.index("Snout")] - lib["stac"][:, k.index("TailBase")], axis=-1
            )
            assert 80 < np.median(d) < 130
        assert card.pose_library["parents"][card.keypoints.index(card.roots[0])] == -1
        assert "pose library" in card.describe()


def test_the_pose_libraries_ship_with_their_licences():
    text = (model_card("mouse").path.parent / "DATA_LICENSES.txt").read_text(encoding="utf-8")
    for name in ("fly", "mouse", "rat"):
        card = model_card(name)
        assert f"{name}.library.safetensors" in text
        for licence in card.licences:
            assert licence.split(" ")[0] in text, (name, licence)
    assert "Copyright (c) 2023, Talmo Lab at the Salk Institute" in text  # BSD-3: the notice
    assert "Copyright (c) 2020 Timothy Dunn" in text  # MIT: the notice


def test_virtual_views_hide_and_leave_out_untracked_keypoints():
    card = model_card("mouse")
    lib = load_pose_library(card)["dannce"][:256]
    idx = [card.keypoints.index(k) for k in OPENFIELD_MODEL]
    roots = [card.keypoints.index(r) for r in card.roots]
    sets = [[card.keypoints.index(t) for t in ts] for ts in card.target_sets]
    aug = virtual_views(card.views, card.pose_library["parents"], roots, sets, inputs=idx)
    p3 = torch.as_tensor(lib, dtype=torch.float32)
    ok = torch.isfinite(p3).all(-1)
    torch.manual_seed(0)
    out = aug(PoseBatch(p3[..., :2], p3, ok, ok))
    seen = torch.isfinite(out.pose_2d).all(-1)
    others = [j for j in range(len(card.keypoints)) if j not in idx]
    assert not seen[:, others].any()
    assert seen[:, idx].float().mean() > 0.6  # misses happen, the tracked points stay
    assert not out.weight_3d[:, others].any()
    assert out.weight_3d[:, idx].all()
    assert "inputs=[" in repr(aug)


def test_specialise_maps_caches_and_lifts_the_openfield_project(openfield, monkeypatch):
    lifter = specialise("mouse", openfield, steps=60)
    assert sorted(lifter.specialised_for) == sorted(OPENFIELD_MODEL)
    assert lifter.card.name == "mouse"
    cached = sorted(cache_folder().glob("mouse-4kp-*.safetensors"))
    assert len(cached) == 1
    # the second call loads it (no training), with the same weights
    with monkeypatch.context() as m:
        m.setattr(spec_mod, "fit_on_library", lambda *a, **k: pytest.fail("retrained"))
        again = specialise("mouse", ["snout", "leftear", "rightear", "tailbase"], steps=60)
    for a, b in zip(lifter.net.parameters(), again.net.parameters(), strict=True):
        assert torch.equal(a, b)
    h5 = openfield.parent / "videos" / OPENFIELD_H5
    out = lp.lift_file(h5, model=again, output=openfield.parent / "of_3d.h5", verbose=False)
    lifted = lp.load_dlc(out)
    assert lifted.keypoints == ["snout", "leftear", "rightear", "tailbase"]
    assert lifted.n_frames == 2330
    assert np.isfinite(lifted.data[..., 2]).mean() > 0.5  # 3D where the 2D is confident
    # other steps or another seed: another specialist
    specialise("mouse", openfield, steps=20, seed=1)
    assert len(list(cache_folder().glob("mouse-4kp-*.safetensors"))) == 2


def test_a_specialist_refuses_keypoints_it_was_not_trained_for():
    lifter = specialise("mouse", ["Snout", "EarL", "TailBase"], steps=20)
    two = lp.Poses(
        np.zeros((3, 4, 2)) + np.arange(4)[:, None], ["Snout", "EarL", "TailBase", "SpineF"]
    )
    with pytest.raises(KeypointError, match="specialised for .* also has SpineF"):
        lp.lift_poses(two, lifter)
    # every keypoint tracked: nothing to specialise, the model itself
    card = model_card("mouse")
    assert specialise("mouse", card.keypoints) is not None
    assert not hasattr(specialise("mouse", card.keypoints), "specialised_for")


def test_specialise_errors(tmp_path, monkeypatch):
    monkeypatch.setenv(MODELS_ENV, str(lab_folder(tmp_path / "lab")))
    with pytest.raises(ConfigError, match="ships no pose library"):
        specialise("labmouse", ["Snout", "EarL", "Tail(base)"])
    with pytest.raises(KeypointError, match="too few keypoints"):
        specialise("mouse", ["nose_tip", "whatever"])
    # a card whose pose_library is wrong, or whose library file is missing
    src = model_card("mouse").path
    folder = tmp_path / "broken"
    folder.mkdir()
    shutil.copy(src.with_suffix(".safetensors"), folder / "mouse2.safetensors")
    data = yaml.safe_load(src.read_text())
    data["name"] = "mouse2"
    data["pose_library"]["parents"] = [0] * 3
    (folder / "mouse2.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ModelFileError, match="mouse2.yaml.*pose_library.*parents"):
        read_card(folder / "mouse2.yaml")
    data["pose_library"]["parents"] = model_card("mouse").pose_library["parents"]
    data["pose_library"]["file"] = "mouse2.library.safetensors"
    (folder / "mouse2.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.setenv(MODELS_ENV, str(folder))
    with pytest.raises(ModelFileError, match="mouse2.library.safetensors.*missing"):
        specialise("mouse2", ["Snout", "EarL", "TailBase"], steps=5)
    (folder / "mouse2.library.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelFileError, match="not a readable pose library"):
        specialise("mouse2", ["Snout", "EarL", "TailBase"], steps=5)


def test_cli_lift_with_specialise(openfield, capsys):
    code = main(
        [
            "lift",
            str(openfield),
            "--pretrained",
            "mouse",
            "--specialise",
            "--specialise-steps",
            "40",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "specialised mouse for 4 keypoints" in printed
    out = openfield.parent / "videos" / OPENFIELD_H5.replace(".h5", "_3d.h5")
    assert lp.load_dlc(out).keypoints == ["snout", "leftear", "rightear", "tailbase"]
    assert len(list(cache_folder().glob("mouse-4kp-*.safetensors"))) == 1
    assert main(["lift", str(openfield), "--pretrained", "mouse", "--specialise-steps", "4"]) == 2


def test_specialist_beats_the_general_model_on_the_sleap_anipose_mouse(shared_data):
    """Real proofread SLEAP 2D of a mouse never trained on, 8 of the model's keypoints."""
    folder = shared_file(shared_data, "3d/sleap_anipose_mouse")
    cams = lp.load_calibration(folder / "calibration.toml")
    with h5py.File(folder / "points3d.h5", "r") as f:
        truth_world = np.asarray(f["tracks"][:, 0], dtype=np.float64)
    general = lp.load_pretrained("mouse")
    first = lp.load_poses(folder / "top" / "minimal_top_proofread.analysis.h5")
    special = specialise("mouse", first, ANIPOSE_MAP)
    assert len(special.specialised_for) == 9  # 8 of the model's keypoints and the tail base
    err: dict[str, list[float]] = {"general": [], "specialist": []}
    for view in ("top", "back", "mid"):
        poses = lp.load_poses(folder / view / f"minimal_{view}_proofread.analysis.h5")
        names = poses.keypoints
        cam = cams[view]
        xc = cam.world_to_camera(truth_world.reshape(-1, 3)).reshape(truth_world.shape)
        for label, model in (("general", general), ("specialist", special)):
            lifted = lp.lift_poses(
                poses, model, keypoint_map=ANIPOSE_MAP, root_positions="zero"
            ).poses
            used = [k for k in lifted.keypoints if k != "TTI"]
            cols = [names.index(k) for k in used]
            gt = xc[:, cols] - xc[:, [names.index("TTI")]]
            pred = lifted.data[:, 0][:, [lifted.keypoints.index(k) for k in used]]
            err[label].append(float(np.nanmean(np.linalg.norm(pred - gt, axis=-1))))
    g, s = np.mean(err["general"]), np.mean(err["specialist"])
    # measured when written: general 27.6 mm (top 24.4, back 19.2, mid 39.1), specialist
    # 16.9 mm (15.9, 13.9, 21.0)
    assert s < 0.8 * g, err
    assert s < 25.0, err


def test_the_map_printed_for_a_subset_suggests_specialising(openfield, capsys):
    h5 = openfield.parent / "videos" / OPENFIELD_H5
    lp.lift_file(h5, model="mouse", output=openfield.parent / "general_3d.h5", verbose=True)
    printed = capsys.readouterr()
    assert "you track 4 of the model's 22 keypoints: `--specialise`" in printed.out + printed.err
    lifter = specialise("mouse", openfield, steps=10)
    lp.lift_file(h5, model=lifter, output=openfield.parent / "special_3d.h5", verbose=True)
    printed = capsys.readouterr()
    assert "--specialise" not in printed.out + printed.err
