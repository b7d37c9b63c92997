"""Fuzz every public reader with damaged copies of the real files (see ``fuzzing.py``).

``LIFTPOSE_FUZZ_CASES`` (default 320) sets the number of cases, ``LIFTPOSE_FUZZ_SEED`` the
seed, ``LIFTPOSE_FUZZ_WORKERS`` the worker processes (default 2).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import fuzzing
import numpy as np
import pytest

OPENFIELD = "dlc/openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
MULTI_EL = f"{fuzzing.MULTI_OUT}_el.h5"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny trained lifter's model file, for ``Lifter.load``."""
    import torch

    from liftpose_dlc import Lifter

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    p3 = rng.normal(size=(200, 4, 3))
    lifter = Lifter(["a", "b", "c", "d"], roots=["a"], target_sets=[["b", "c", "d"]], linear_size=8)
    lifter.fit(p3[..., :2], p3, epochs=1, verbose=False)
    return lifter.save(tmp_path_factory.mktemp("model") / "tiny.safetensors")


def test_fuzz_every_reader(shared_data: Path, model_file: Path, tmp_path: Path) -> None:
    n_cases = int(os.environ.get("LIFTPOSE_FUZZ_CASES", "320"))
    seed = int(os.environ.get("LIFTPOSE_FUZZ_SEED", "0"))
    workers = int(os.environ.get("LIFTPOSE_FUZZ_WORKERS", "2"))
    targets = fuzzing.shared_targets(shared_data)
    targets += [("Lifter.load", model_file, {})] * 2  # the model file gets a larger share
    readers = {t[0] for t in targets}
    assert readers == {
        "load_poses",
        "load_poses_3d",
        "load_calibration",
        "read_dlc_config",
        "Lifter.load",
    }
    cases = fuzzing.make_cases(targets, n_cases, seed, tmp_path)
    outcomes = fuzzing.run_cases(cases, workers=workers, timeout=10.0)
    failures = [o.describe() for o in outcomes if not o.ok]
    counts = fuzzing.summary(outcomes)
    assert not failures, f"{len(failures)} of {n_cases} cases failed ({counts}):\n" + "\n".join(
        failures[:20]
    )
    assert len(outcomes) == n_cases
    # in-process: every case ran in one of the long-lived workers, none was restarted (a
    # damaged .h5 leaves no state that breaks the next read)
    slow = sum(o.detail.startswith("slow") for o in outcomes)  # retried in a fresh worker
    assert len({o.pid for o in outcomes}) <= workers + slow
    assert sum(o.case.source.suffix in (".h5", ".slp") for o in outcomes) > n_cases // 3
    # the damage is real: most cases end in an error, some still read
    assert counts.get("error", 0) > n_cases // 2
    assert counts.get("read", 0) > 0


def test_harness_reports_a_crash_and_a_hang(tmp_path: Path) -> None:
    src = tmp_path / "x.txt"
    src.write_text("x")
    cases = [
        fuzzing.Case(0, "_crash", src, {}, "none", src),
        fuzzing.Case(1, "_hang", src, {}, "none", src),
        fuzzing.Case(2, "read_dlc_config", src, {}, "none", src),
    ]
    kinds = [o.kind for o in fuzzing.run_cases(cases, workers=1, timeout=3.0)]
    # the worker is restarted after each failure, and the last case is judged normally
    assert kinds == ["crash", "hang", "error"]


def _read_in_subprocess(path: Path) -> subprocess.CompletedProcess:
    code = (
        "import sys, liftpose_dlc as lp\n"
        "try:\n    lp.load_poses(sys.argv[1])\n"
        "except lp.LiftPoseError as e:\n    print('LiftPoseError', e)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(fuzzing.REPO)}
    return subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


def test_damaged_object_name_is_an_error_not_a_segfault(shared_data: Path, tmp_path: Path) -> None:
    # found by the fuzzer: a non-UTF-8 byte in the table's name made PyTables segfault
    src = shared_data / OPENFIELD
    data = bytearray(src.read_bytes())
    name_at = data.find(b"df_with_missing\x00")
    assert name_at > 0
    data[name_at + len("df_with_missing")] = 0xCE
    data[name_at + len("df_with_missing") + 1] = 0x01
    bad = tmp_path / src.name
    bad.write_bytes(bytes(data))
    run = _read_in_subprocess(bad)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("LiftPoseError")
    assert str(bad) in run.stdout
    assert "not UTF-8" in run.stdout


def test_damaged_pickled_attribute_is_an_error_not_a_hang(
    shared_data: Path, tmp_path: Path
) -> None:
    # found by the fuzzer: one flipped byte in pandas' pickled 'non_index_axes' asked
    # PyTables' unpickler for a memo of ~900 million entries (minutes, gigabytes)
    src = shared_data / MULTI_EL
    data = bytearray(src.read_bytes())
    at = data.find(b"p19\ng4\ng5")
    assert at > 0
    data[at + 4 : at + 5] = b"r"
    bad = tmp_path / src.name
    bad.write_bytes(bytes(data))
    run = _read_in_subprocess(bad)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "damaged pickle" in run.stdout
    assert str(bad) in run.stdout


def test_a_damaged_numpy_dtype_in_a_pickle_does_not_crash_a_later_read(tmp_path: Path) -> None:
    # found by the fuzzer in one long-lived worker: a flipped byte turned a pickled scalar's
    # dtype 'f8' into 'S8' with f8's state (item size -1); NumPy's unpickling built a dtype
    # '<S-1' that corrupted memory: a clean FileFormatError, then a segfault at the next
    # garbage collection (in whatever file the process read next)
    import pickle

    data = pickle.dumps({"scale": np.float64(1.0), 0: {"R": np.eye(3)}}, protocol=3)
    at = data.index(b"X\x02\x00\x00\x00f8", data.index(b"scalar"))
    bad = tmp_path / "calib_bad.pkl"
    bad.write_bytes(data[:at] + b"X\x02\x00\x00\x00S8" + data[at + 7 :])
    code = (
        "import gc, sys\n"
        "from liftpose_dlc.errors import LiftPoseError\n"
        "from liftpose_dlc.io.calibration import load_calibration\n"
        "try:\n    load_calibration(sys.argv[1])\n"
        "except LiftPoseError as e:\n    print('LiftPoseError', e)\n"
        "gc.collect()\nprint('alive')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(fuzzing.REPO)}
    run = subprocess.run(
        [sys.executable, "-c", code, str(bad)], capture_output=True, text=True, timeout=60, env=env
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("LiftPoseError")
    assert str(bad) in run.stdout
    assert run.stdout.rstrip().endswith("alive")
