"""Issue 11 defects at the command line: per-file failures, arguments checked first, messages
in the command line's terms, help from the code's constants, units of 3D outputs."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent / "workflow"))
from realdata import shared_file  # noqa: E402
from wf_helpers import (  # noqa: E402
    MOUSE,
    mouse_2d,
    mouse_library,
    one_thread_fixture,
    trained_mouse_model,
    write_analysis,
    write_config,
)

from liftpose_dlc import Poses, lift_dlc_project  # noqa: E402
from liftpose_dlc.cli import build_parser, main  # noqa: E402
from liftpose_dlc.errors import ConfigError  # noqa: E402
from liftpose_dlc.io.sleap import save_sleap_3d  # noqa: E402

one_torch_thread = pytest.fixture(autouse=True)(one_thread_fixture)


def _lift(*args: str) -> list[str]:
    return ["lift", *args, "--model", str(trained_mouse_model()), "-q"]


# ----------------------------------------------------------------------------- defect 6
def test_a_3d_file_among_others_is_reported_and_the_others_are_lifted(tmp_path, capsys):
    a = write_analysis(tmp_path, "a.mp4", mouse_2d(n=30))
    b = write_analysis(tmp_path, "b.mp4", mouse_2d(n=30, seed=4))
    assert main(_lift(str(a))) == 0
    a3 = a.with_name(a.stem + "_3d.h5")
    sleap3 = save_sleap_3d(Poses(mouse_library(10).data, MOUSE), tmp_path / "s_3d.h5")
    capsys.readouterr()
    assert main(_lift(str(a3), str(sleap3), str(b))) == 1
    err = capsys.readouterr().err
    assert err.count("this is already 3D") == 2
    assert "ValueError" not in err
    assert "Traceback" not in err
    assert f"2 of 3 file(s) not lifted: {a3.name}, {sleap3.name}; 1 lifted" in err
    assert b.with_name(b.stem + "_3d.h5").is_file()  # the file after them was lifted


# ----------------------------------------------------------------------------- defect 8
@pytest.mark.parametrize(
    "extra",
    [
        ["--plot", "--frames", "10-20"],
        ["--plot", "--frames", "20:10"],
        ["--chunk-size", "0"],
        ["--pcutoff", "1.5"],
    ],
)
def test_bad_arguments_are_rejected_before_anything_is_written(tmp_path, capsys, extra):
    src = write_analysis(tmp_path, "v.mp4", mouse_2d(n=20))
    before = sorted(tmp_path.iterdir())
    with pytest.raises(SystemExit) as info:
        main([*_lift(str(src)), *extra])
    assert info.value.code == 2
    assert sorted(tmp_path.iterdir()) == before  # no 3D file, no figure
    assert f"argument {extra[-2]}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--angle-ranges", "10", "-10", "0", "0", "0", "0"], "LOW <= HIGH; Z is 10.0 -10.0"),
        (["--dropout", "1"], "argument --dropout: must be in [0, 1)"),
        (["--epochs", "x"], "argument --epochs: expects an integer"),
    ],
)
def test_bad_training_arguments_are_rejected_before_training(tmp_path, capsys, extra, words):
    np.save(tmp_path / "lib.npy", mouse_library(50).data[:, 0])
    out = tmp_path / "m.safetensors"
    args = ["train", "--library", str(tmp_path / "lib.npy"), "--library-keypoints", *MOUSE]
    args += ["--out", str(out), "-q", *extra]
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    assert words in " ".join(capsys.readouterr().err.split())
    assert not out.exists()
    assert not (tmp_path / "m_training").exists()


# ----------------------------------------------------------------------------- defect 10
def test_messages_speak_the_command_line(tmp_path, capsys):
    src = write_analysis(tmp_path, "v.mp4", mouse_2d(n=20))
    assert main(_lift(str(src))) == 0
    assert main(_lift(str(src))) == 0  # kept, with a warning
    err = capsys.readouterr().err
    assert "use --overwrite to replace it" in err
    assert "overwrite=True" not in err


def test_the_wrong_lifter_lists_each_name_once(shared_data, capsys):
    slp = shared_file(shared_data, "sleap/centered_pair_predictions.slp")
    assert main(_lift(str(slp))) == 1
    err = capsys.readouterr().err
    for name in [*MOUSE, "thorax", "hindlegR3"]:
        assert err.count(f"'{name}'") == 1, name
    assert "none of the lifter's 4 keypoints" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("python", "cli"),
    [
        ("x exists; pass overwrite=True to replace it", "x exists; use --overwrite to replace it"),
        (
            "p: no names; pass node_names=[...] (15 names) or node_names=<a .slp file>",
            "p: no names; use --library-keypoints NAME... (15 names)",
        ),
        (
            "no match. Pass keypoint_map={your_name: library_name} for names that differ",
            "no match. Use --keypoint-map NAME=LIBRARY_NAME for names that differ",
        ),
        (
            "several tables; pass key=... to choose one",
            "several tables; pass key=... (an option of the Python API, not of the command "
            "line) to choose one",
        ),
    ],
)
def test_python_parameters_become_options(python, cli):
    from liftpose_dlc.cli import cli_terms

    assert cli_terms(python) == cli
    assert cli_terms(cli) == cli  # idempotent


def test_a_permission_error_names_the_output_not_its_temporary_file():
    from liftpose_dlc.cli import _os_error

    exc = PermissionError(13, "Permission denied", "/data/videos/.v_3d.h5.k2j4h_x.tmp")
    assert _os_error(exc) == (
        "cannot write /data/videos/v_3d.h5: permission denied (in the folder /data/videos)"
    )


def test_angle_ranges_error_is_ours():
    from liftpose_dlc.cameras import sample_cameras

    with pytest.raises(ConfigError, match="each angle range must be"):
        sample_cameras([[10, -10], [0, 0], [0, 0]], n=2)


# ----------------------------------------------------------------------------- defect 11
def test_help_defaults_are_the_code_defaults(capsys):
    from liftpose_dlc.lifter.lifter import DEFAULT_MODEL_OPTIONS, Lifter
    from liftpose_dlc.lifter.session import TrainOptions
    from liftpose_dlc.workflow.lifting import DEFAULT_CHUNK_SIZE

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    lifter = Lifter(["a", "b"], ["a"], [["b"]])  # what the code builds without options
    assert lifter.options.linear_size == DEFAULT_MODEL_OPTIONS["linear_size"]
    assert f"width of the network (default: {lifter.options.linear_size})" in text
    assert f"(default: {lifter.options.num_stage})" in text
    assert f"dropout rate (default: {lifter.options.dropout})" in text
    assert f"step (default: {TrainOptions().batch_size})" in text
    assert "1024" not in text
    with pytest.raises(SystemExit):
        main(["lift", "--help"])
    assert f"(default: {DEFAULT_CHUNK_SIZE})" in " ".join(capsys.readouterr().out.split())
    assert build_parser().parse_args(["lift", "x.h5"]).chunk_size is None  # the code decides


# ----------------------------------------------------------------------------- defect 12
def test_units_of_the_library_reach_the_3d_of_a_sleap_file(shared_data, tmp_path):
    session = shared_file(shared_data, "3d/sleap_anipose_mouse/points3d.h5").parent
    view = session / "back" / "minimal_back_proofread.analysis.h5"
    with h5py.File(view, "r") as f:
        names = [n.decode() for n in f["node_names"][()]]
    model = tmp_path / "mouse.safetensors"
    args = ["train", "--library", str(session / "points3d.h5"), "--library-keypoints", *names]
    args += ["--calibration", str(session / "calibration.toml"), "--cameras", "back"]
    args += ["--out", str(model), "--units", "mm", "--epochs", "1", "--linear-size", "16", "-q"]
    assert main(args) == 0
    from liftpose_dlc import Lifter

    lifter = Lifter.load(model)
    assert lifter.units == "mm"
    assert lifter.frame == "camera"
    local = tmp_path / view.name
    local.write_bytes(view.read_bytes())
    assert main(["lift", str(local), "--model", str(model), "-q"]) == 0
    with h5py.File(tmp_path / "minimal_back_proofread.analysis_3d.h5", "r") as f:
        assert f.attrs["units"] == "mm"
        assert f.attrs["frame"] == "camera"
        assert f["tracks"].shape[1] == 3  # SLEAP analysis layout (tracks, 3, nodes, frames)


def test_units_reach_the_3d_of_a_dlc_file(tmp_path):
    from liftpose_dlc.workflow import lift_file
    from liftpose_dlc.workflow.training import train_from_library

    model = tmp_path / "m.safetensors"
    train_from_library(
        mouse_library(200),
        None,
        model_path=model,
        angle_ranges=[[-180, 180], [-20, 20], [-20, 20]],
        n_virtual_cameras=2,
        epochs=1,
        linear_size=8,
        units="mm",
        verbose=False,
    )
    src = write_analysis(tmp_path, "v.mp4", mouse_2d(n=20))
    out = lift_file(src, model, verbose=False)
    with h5py.File(out, "r") as f:
        attrs = f["df_with_missing"].attrs
        assert _text(attrs["liftpose_dlc_units"]) == "mm"
        assert _text(attrs["liftpose_dlc_frame"]) == "camera"
    # a lifter that does not know its units says so
    out2 = lift_file(src, trained_mouse_model(), output=tmp_path / "u_3d.h5", verbose=False)
    with h5py.File(out2, "r") as f:
        assert _text(f["df_with_missing"].attrs["liftpose_dlc_units"]) == "unknown"


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# ----------------------------------------------------------------------------- defect 9
def test_renamed_bodyparts_are_reported(tmp_path):
    renamed = ["nose", *MOUSE[1:]]  # "snout" renamed in config.yaml after the analysis
    config = write_config(tmp_path / "p", renamed, ["v.mp4"])
    write_analysis(tmp_path / "p" / "videos", "v.mp4", mouse_2d(n=20))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lift_dlc_project(config, trained_mouse_model(), verbose=False)
    messages = [str(w.message) for w in caught if "renamed" in str(w.message)]
    assert len(messages) == 1
    assert "only in the analysis file ['snout']" in messages[0]
    assert "only in config.yaml ['nose']" in messages[0]


def test_matching_bodyparts_say_nothing(tmp_path):
    config = write_config(tmp_path / "p", MOUSE, ["v.mp4"])
    write_analysis(tmp_path / "p" / "videos", "v.mp4", mouse_2d(n=20))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lift_dlc_project(config, trained_mouse_model(), verbose=False)
    assert not [w for w in caught if "renamed" in str(w.message)]


# ----------------------------------------------------------------------------- defect 7
def test_a_failed_training_run_keeps_the_log_of_the_kept_lifter(tmp_path, monkeypatch):
    from liftpose_dlc.lifter.lifter import Lifter
    from liftpose_dlc.workflow.training import train_from_library

    model = tmp_path / "m.safetensors"
    opts = {
        "angle_ranges": [[-180, 180], [-20, 20], [-20, 20]],
        "n_virtual_cameras": 2,
        "epochs": 1,
        "linear_size": 8,
        "verbose": False,
    }
    train_from_library(mouse_library(200), None, model_path=model, **opts)
    log = tmp_path / "m_training" / "train_log.txt"
    kept = {p.name: p.read_bytes() for p in (tmp_path / "m_training").iterdir()}
    kept_model = model.read_bytes()
    assert "train_log.txt" in kept

    def fail(self, path, overwrite=False):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Lifter, "save", fail)
    with pytest.raises(OSError, match="No space"):
        train_from_library(
            mouse_library(200, seed=5), None, model_path=model, overwrite=True, **opts
        )
    # the new run trained (and wrote a log) but failed: the kept lifter's log is untouched
    assert {p.name: p.read_bytes() for p in (tmp_path / "m_training").iterdir()} == kept
    assert model.read_bytes() == kept_model
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors", "m.yaml", "m_training"]
    assert log.is_file()


def test_train_checks_the_destination_before_training(tmp_path, capsys):
    np.save(tmp_path / "lib.npy", mouse_library(50).data[:, 0])
    (tmp_path / "afile").write_text("not a folder")
    out = tmp_path / "afile" / "m.safetensors"
    args = ["train", "--library", str(tmp_path / "lib.npy"), "--library-keypoints", *MOUSE]
    args += ["--out", str(out), "--angle-ranges", "-180", "180", "-10", "10", "-10", "10", "-q"]
    assert main(args) == 1
    assert "is not a folder" in capsys.readouterr().err


def test_record_of_training_is_unchanged(tmp_path):
    from liftpose_dlc.workflow.training import train_from_library

    model = tmp_path / "m.safetensors"
    train_from_library(
        mouse_library(100),
        None,
        model_path=model,
        angle_ranges=[[-180, 180], [-20, 20], [-20, 20]],
        n_virtual_cameras=1,
        epochs=1,
        linear_size=8,
        units="mm",
        verbose=False,
    )
    record = yaml.safe_load(model.with_suffix(".yaml").read_text())
    assert record["library"]["units"] == "mm"
    assert record["training_log"].startswith("m_training/train_log.txt")
