"""Each workflow example runs as a script and prints real numbers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run(script: str, out_dir: Path, data: Path | None = None) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    if data is not None:
        env["LIFTPOSE_SHARED_DATA"] = str(data)
    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / script), str(out_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match, text
    return float(match.group(1))


@pytest.mark.slow
def test_seed_walkthrough(tmp_path):
    out = _run("seed_walkthrough.py", tmp_path / "out")
    assert _number(r"test error: ([\d.]+)", out) < 1.0  # the arm is 2.8 long
    assert "epochs: 4" in out
    for name in ("loss.png", "violin.png", "pose_3d.png", "test_results.npz", "train_log.txt"):
        assert (tmp_path / "out" / name).is_file()


@pytest.mark.slow
def test_dlc_project_from_3d_library(tmp_path):
    out = _run("dlc_project_from_3d_library.py", tmp_path / "out")
    assert "100 frames x 30 bodyparts x 3" in out
    assert _number(r"root-relative error ([\d.]+) mm", out) < 0.8
    assert list((tmp_path / "out").glob("*/videos/*_3d.h5"))


@pytest.mark.slow
@pytest.mark.realdata
def test_train_from_anipose_session(tmp_path, shared_data):
    out = _run("train_from_anipose_session.py", tmp_path / "out", shared_data)
    assert "120 frames x 15 keypoints" in out
    assert "cameras: ['back', 'mid', 'top']" in out
    assert "trained on 270 2D/3D pairs" in out
    assert _number(r"validation error after the last epoch: ([\d.]+) mm", out) < 60
    assert (tmp_path / "out" / "mouse_lifter.yaml").is_file()


@pytest.mark.slow
@pytest.mark.realdata
def test_lift_sleap_file(tmp_path, shared_data):
    pytest.importorskip("sleap_io")
    out = _run("lift_sleap_file.py", tmp_path / "out", shared_data)
    assert "tracks (1, 3, 15, 120), 15 nodes" in out
    assert _number(r"root-relative error ([\d.]+) mm", out) < 60
    assert (tmp_path / "out" / "minimal_back_proofread_3d.h5").is_file()


def test_examples_without_data_say_so(tmp_path):
    for script in ("train_from_anipose_session.py", "lift_sleap_file.py"):
        out = _run(script, tmp_path / "out", tmp_path / "absent")
        assert "Nothing to do" in out or "sleap-io" in out
