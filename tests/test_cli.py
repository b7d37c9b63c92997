"""The ``liftpose-dlc`` command line: help, errors, and each command on small files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from wf_helpers import (
    MOUSE,
    mouse_2d,
    mouse_library,
    one_thread_fixture,
    trained_mouse_model,
    write_analysis,
    write_config,
)

from liftpose_dlc import Poses, __version__, load_dlc, save_dlc  # noqa: E402
from liftpose_dlc.cli import main  # noqa: E402
from liftpose_dlc.errors import MissingFileError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
one_torch_thread = pytest.fixture(autouse=True)(one_thread_fixture)


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"liftpose-dlc {__version__}"


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    for command in ("train", "lift", "evaluate", "demo"):
        assert command in out


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ("train", ["--config", "--library", "--data", "--calibration", "--angle-ranges"]),
        ("lift", ["config.yaml", "--model", "--pcutoff", "--infer-occluded", "--plot"]),
        ("evaluate", ["--truth", "root-relative", "Procrustes"]),
        ("demo", ["--out", "GENERATED", "--quick"]),
    ],
)
def test_help_of_each_command(capsys, command, words):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for word in words:
        assert word in out


def test_bad_input_gives_one_line_and_exit_code_1(tmp_path, capsys):
    code = main(["lift", str(tmp_path / "missing.h5"), "--model", str(trained_mouse_model())])
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("liftpose-dlc: error:")
    assert "missing.h5" in err
    assert "Traceback" not in err


def test_debug_shows_the_exception(tmp_path):
    with pytest.raises(MissingFileError):
        main(
            ["--debug", "lift", str(tmp_path / "missing.h5"), "--model", str(trained_mouse_model())]
        )


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["lift", str(tmp_path / "x.h5")]) == 2
    assert "--model" in capsys.readouterr().err
    assert main(["train", "--epochs", "1"]) == 2
    assert "--library" in capsys.readouterr().err


def test_errors_in_a_real_process_have_no_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    bad = tmp_path / "notposes.csv"
    bad.write_text("a,b\n1,2\n")
    proc = subprocess.run(
        [sys.executable, "-m", "liftpose_dlc.cli", "lift", str(bad), "--model", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_lift_files_with_plots_and_existing_outputs(tmp_path, capsys):
    src = write_analysis(tmp_path, "v.mp4", mouse_2d(n=40))
    model = str(trained_mouse_model())
    args = ["lift", str(src), "--model", model, "--plot", "--frames", "0:4", "--pcutoff", "0.6"]
    assert main([*args, "-q"]) == 0
    out = src.with_name(src.stem + "_3d.h5")
    assert load_dlc(out).data.shape == (40, 1, 4, 3)
    plots = out.with_name(out.stem + "_plots")
    assert sorted(p.name for p in plots.iterdir()) == [
        f"{out.stem}_3d.gif",
        f"{out.stem}_frame.png",
    ]
    before = out.read_bytes()
    assert main([*args, "-q"]) == 0
    assert "kept" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_lift_a_project(tmp_path):
    config = write_config(tmp_path / "p", MOUSE, ["v.mp4"])
    write_analysis(tmp_path / "p" / "videos", "v.mp4", mouse_2d(n=30))
    code = main(["lift", str(config), "--model", str(trained_mouse_model()), "--csv", "-q"])
    assert code == 0
    outs = sorted(p.name for p in (tmp_path / "p" / "videos").glob("*_3d.*"))
    assert [Path(o).suffix for o in outs] == [".csv", ".h5"]


def test_train_from_arrays_then_evaluate(tmp_path, capsys):
    rng = np.random.default_rng(0)
    base = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 1], [0.5, 0.5, 2.0]])
    a3 = base + rng.normal(0, 0.1, (200, 5, 3))
    b3 = base + rng.normal(0, 0.1, (50, 5, 3))
    np.savez(
        tmp_path / "pairs.npz",
        **{"train_2d/exp1": a3[..., :2], "train_3d/exp1": a3},
        **{"test_2d/exp2": b3[..., :2], "test_3d/exp2": b3},
    )
    out = tmp_path / "out"
    args = ["train", "--data", str(tmp_path / "pairs.npz"), "--out", str(out)]
    args += ["--roots", "0", "--target-sets", "1,2,3,4", "--epochs", "2", "--linear-size", "16"]
    assert main([*args, "-q"]) == 0
    assert (out / "ckpt_best.safetensors").is_file()
    assert (out / "test_results.npz").is_file()
    capsys.readouterr()
    assert main(["evaluate", str(out), "--animation", "gif", "--frames", "0:3", "-q"]) == 0
    printed = capsys.readouterr().out
    assert "root-relative MPJPE" in printed
    report = yaml.safe_load((out / "evaluation" / "evaluation.yaml").read_text())
    assert report["errors"]["n_points"] == 50 * 4
    assert report["errors"]["mpjpe"] > 0
    names = sorted(p.name for p in (out / "evaluation").iterdir())
    assert names == [
        "errors_per_keypoint.png",
        "evaluation.yaml",
        "lifted_skeleton.gif",
        "loss_curves.png",
        "pose_3d_beside_2d.png",
    ]
    assert main([*args, "-q"]) == 1  # exists: --overwrite needed


def test_train_from_a_library_lift_and_evaluate_a_file(tmp_path, capsys):
    lib = mouse_library(300)
    np.save(tmp_path / "library.npy", lib.data[:, 0])
    model = tmp_path / "mouse.safetensors"
    args = ["train", "--library", str(tmp_path / "library.npy"), "--library-keypoints", *MOUSE]
    args += ["--out", str(model), "--angle-ranges", "-180", "180", "-10", "10", "-10", "10"]
    args += ["--n-cameras", "2", "--epochs", "1", "--linear-size", "16", "--units", "mm", "-q"]
    assert main(args) == 0
    record = yaml.safe_load(model.with_suffix(".yaml").read_text())
    assert record["cameras"]["kind"] == "virtual"
    assert record["library"]["units"] == "mm"
    assert (tmp_path / "mouse_training" / "train_log.txt").is_file()

    two = mouse_2d(n=30)
    src = write_analysis(tmp_path, "v.mp4", two)
    assert main(["lift", str(src), "--model", str(model), "-q"]) == 0
    lifted = src.with_name(src.stem + "_3d.h5")
    truth = save_dlc(Poses(mouse_library(30, seed=3).data, MOUSE), tmp_path / "truth.h5")
    capsys.readouterr()
    code = main(
        ["evaluate", str(lifted), "--truth", str(truth), "--model", str(model)]
        + ["--poses-2d", str(src), "--animation", "none", "-q"]
    )
    assert code == 0
    assert "root-relative MPJPE" in capsys.readouterr().out
    folder = lifted.with_name(lifted.stem + "_evaluation")
    assert (folder / "pose_3d_beside_2d.png").is_file()
    assert (folder / "errors_per_keypoint.png").is_file()


def test_train_for_a_project(tmp_path):
    config = write_config(tmp_path / "p", MOUSE, ["v.mp4"])
    np.save(tmp_path / "library.npy", mouse_library(200).data[:, 0])
    code = main(
        ["train", "--config", str(config), "--library", str(tmp_path / "library.npy")]
        + ["--library-keypoints", *MOUSE, "--n-cameras", "1", "--epochs", "1"]
        + ["--linear-size", "16", "-q"]
    )
    assert code == 0
    assert (tmp_path / "p" / "liftpose" / "lifter.safetensors").is_file()
