"""Training fits the 3D confidence on its validation frames (issue 14 §2): a lift of a
trained-with-val lifter writes calibrated likelihoods, with no extra step; without
validation frames nothing changes and the record says why."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from realdata import shared_file
from wf_helpers import one_thread_fixture, write_analysis, write_config

from liftpose_dlc import Camera, Lifter, Poses, lift_dlc_project, load_dlc, train_dlc_project
from liftpose_dlc.cli import main
from liftpose_dlc.errors import ConfigError
from liftpose_dlc.lifter.uncertainty import bounds_from_confidence
from liftpose_dlc.workflow.training import record_path_for, train_from_library

one_torch_thread = pytest.fixture(autouse=True)(one_thread_fixture)

FLY_NPZ = "3d/df3d_fly/df3d_210902_PR_Fly1_1000f_in_reference_rig.npz"
ROOTS = ["LF_Coxa", "LM_Coxa", "LH_Coxa"]
#: The issue's bar: the fraction of points under the 50% / 90% bounds within 5 points.
COVERAGE_TOL = 0.05


@pytest.fixture(scope="module")
def fly(shared_data):
    """The real DeepFly3D fly's left legs: 3D in the rig's world, its three left cameras."""
    with np.load(shared_file(shared_data, FLY_NPZ)) as z:
        world = z["points3d_world"][:, :15]
        xy = z["points2d_xy"][1, :, :15]
        names = [str(n) for n in z["keypoint_names"][:15]]
        cams = [Camera(z["K"][c], z["R_cam"][c], z["tvec"][c], name=f"cam{c}") for c in range(3)]
    sets = [[n for n in names if n.startswith(r[:3]) and n != r] for r in ROOTS]
    return world, xy, names, cams, sets


def _project(root, names, xy_test):
    config = write_config(root, names, ["fly.mp4"])
    conf = np.ones((len(xy_test), 1, len(names)))
    poses = Poses(xy_test[:, None], names, confidence=conf)
    analysis = write_analysis(root / "videos", "fly.mp4", poses)
    return config, analysis


def test_a_lift_of_a_lifter_trained_with_val_has_calibrated_likelihoods(fly, tmp_path):
    world, xy, names, cams, sets = fly
    rng = np.random.default_rng(0)
    noisy = xy[800:] + rng.normal(0, 1.0, xy[800:].shape)  # held out: never trained on
    config, _ = _project(tmp_path / "fly", names, noisy)
    lifter = train_dlc_project(
        config,
        Poses(world[:800], names),
        cams,
        roots=ROOTS,
        target_sets=sets,
        noise_px=1.0,
        epochs=4,
        linear_size=128,
        val=0.2,
        verbose=False,
    )
    model = lifter.error_model
    assert model is not None
    # the validation frames: the last 20% of each camera's 800 frames, 30% of them calibrate
    assert model.info["calibration_pairs"] == 3 * 48 * 3  # cameras x frames x copies
    assert model.info["fit_pairs"] == 3 * 112 * 3
    record = yaml.safe_load((tmp_path / "fly" / "liftpose" / "lifter.yaml").read_text())
    assert record["error_model"]["fitted"] is True
    assert record["error_model"]["tolerance"] == pytest.approx(model.tolerance)
    # saved with the lifter: the lift writes the likelihood column with no extra step
    [out] = lift_dlc_project(config, verbose=False)
    lifted = load_dlc(out)
    pv = lifted.provenance
    levels = [float(v) for v in pv["confidence_levels"].split(",")]
    table = [float(v) for v in pv["confidence_quantiles"].split(",")]
    tol = float(pv["confidence_tolerance"].split()[0])
    assert tol == pytest.approx(model.tolerance, rel=1e-5)
    truth = cams[1].world_to_camera(world[800:])
    errors, conf = [], []
    for r, ts in zip(ROOTS, sets, strict=True):
        i, t = names.index(r), [names.index(x) for x in ts]
        rel = lifted.data[:, 0, t] - lifted.data[:, 0, [i]]
        errors.append(np.linalg.norm(rel - (truth[:, t] - truth[:, [i]]), axis=-1))
        conf.append(lifted.confidence[:, 0, t])
        assert np.all(lifted.confidence[:, 0, i] == 1.0)  # a root is at its own position
    err, c = np.concatenate(errors, 1), np.concatenate(conf, 1)
    assert err.shape == (200, 12)
    assert np.isfinite(c).all()
    assert 0 < c.min() < c.max() < 1
    # calibrated on the 200 held-out frames: measured 50.5% and 89.5%
    for level in (0.5, 0.9):
        covered = float(np.mean(err <= bounds_from_confidence(c, level, tol, levels, table)))
        assert covered == pytest.approx(level, abs=COVERAGE_TOL), level
    # the likelihood is P(error < tolerance): its mean is the fraction that is (60.6% / 0.597)
    assert float(np.mean(err <= tol)) == pytest.approx(float(c.mean()), abs=COVERAGE_TOL)
    # surer points have smaller errors
    assert np.corrcoef(c.ravel(), err.ravel())[0, 1] < -0.2


def test_without_validation_frames_nothing_changes_and_the_record_says_why(fly, tmp_path):
    world, _, names, cams, sets = fly
    lib = Poses(world[:200], names)
    opts = {"roots": ROOTS, "target_sets": sets, "epochs": 1, "linear_size": 16}
    model = tmp_path / "none.safetensors"
    lifter = train_from_library(lib, cams[:1], model_path=model, verbose=False, **opts)
    assert lifter.error_model is None
    assert Lifter.load(model).error_model is None
    entry = yaml.safe_load(record_path_for(model).read_text())["error_model"]
    assert entry["fitted"] is False
    assert "no validation frames" in entry["reason"]
    assert "val" in entry["reason"]
    # turned off although there are validation frames
    off = tmp_path / "off.safetensors"
    lifter = train_from_library(
        lib, cams[:1], model_path=off, verbose=False, val=0.2, error_model=False, **opts
    )
    assert lifter.error_model is None
    assert "turned off" in yaml.safe_load(record_path_for(off).read_text())["error_model"]["reason"]
    # asked for without validation frames: an error before training, nothing written
    asked = tmp_path / "asked.safetensors"
    with pytest.raises(ConfigError, match="validation frames"):
        train_from_library(lib, cams[:1], model_path=asked, error_model=True, **opts)
    assert not asked.exists()
    assert not record_path_for(asked).exists()
    # too few validation poses: trained, without a confidence, and the record says so
    few = tmp_path / "few.safetensors"
    lifter = train_from_library(
        Poses(world[:60], names), cams[:1], model_path=few, verbose=False, val=0.2, **opts
    )
    assert lifter.error_model is None
    entry = yaml.safe_load(record_path_for(few).read_text())["error_model"]
    assert "at least 20" in entry["reason"]


def test_the_command_line_says_whether_a_lifter_has_a_confidence(fly, tmp_path, capsys):
    world, _, names, _, sets = fly
    library = tmp_path / "fly_library.npy"  # the real 3D, as a library file
    np.save(library, world[:300])
    train = ["train", "--library", str(library), "--library-keypoints", *names]
    train += ["--roots", *ROOTS, "--target-sets", *(",".join(s) for s in sets)]
    train += ["--angle-ranges", "-180", "180", "-20", "20", "-20", "20", "--n-cameras", "2"]
    train += ["--epochs", "1", "--linear-size", "16"]
    out = tmp_path / "a.safetensors"
    assert main([*train, "--out", str(out), "--val", "0.2"]) == 0
    said = capsys.readouterr().out
    # the last 20% of each camera's 300 poses
    assert "3D confidence: fitted and calibrated on 120 validation poses" in said
    assert Lifter.load(out).error_model is not None
    b = tmp_path / "b.safetensors"
    assert main([*train, "--out", str(b)]) == 0
    assert "no 3D confidence" in capsys.readouterr().out
    assert "no validation frames" in record_path_for(b).read_text()
    c = tmp_path / "c.safetensors"
    assert main([*train, "--out", str(c), "--val", "0.2", "--no-error-model"]) == 0
    assert "confidence" not in capsys.readouterr().out
    assert Lifter.load(c).error_model is None
