"""The examples run as scripts on the real data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.realdata
def test_read_real_data_example(shared_data):
    env = {**os.environ, "LIFTPOSE_SHARED_DATA": str(shared_data), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / "read_real_data.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "2330 frames, 1 individual(s)" in out
    assert "snout, leftear, rightear, tailbase" in out
    assert "31 frames, 4 individual(s)" in out
    assert "180 frames, 4 individual(s)" in out
    assert "fps=29.98" in out


def test_read_real_data_example_without_data(tmp_path):
    env = {
        **os.environ,
        "LIFTPOSE_SHARED_DATA": str(tmp_path / "absent"),
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / "read_real_data.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "absent" in proc.stdout
    assert "Nothing to read" in proc.stdout
