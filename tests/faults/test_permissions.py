"""Files of another user, unreadable files and read-only folders (run as root: the reading or
writing process drops its privileges to ``nobody`` with ``setpriv``; as another user: plain
``chmod``). Messages say "permission denied" and name the file the user gave, and nothing is
written before a check that could fail after long work."""

from __future__ import annotations

import functools
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from liftpose_dlc import Poses
from liftpose_dlc.io.dlc import poses_to_dlc_table

REPO = Path(__file__).resolve().parents[2]
NAMES = ["snout", "leftear", "rightear", "tailbase"]
SCORER = "DLC_resnet50_permAug20shuffle1_1000"
ROOT = os.geteuid() == 0


def _nobody() -> list[str]:
    """The command prefix that runs a process as ``nobody`` (root), or [] (not root)."""
    if not ROOT:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot drop privileges to test this")
    try:
        user = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root and there is no user 'nobody' to drop privileges to")
    prefix = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
    if not _can_import_as(tuple(prefix)):
        pytest.skip(
            f"user 'nobody' cannot import liftpose_dlc from {REPO} with {sys.executable} "
            "(a folder on the way is private): cannot test another user's view"
        )
    return prefix


@functools.cache
def _can_import_as(prefix: tuple[str, ...]) -> bool:
    probe = subprocess.run(
        [*prefix, sys.executable, "-c", "import liftpose_dlc.io"],
        capture_output=True,
        env={"PYTHONPATH": str(REPO), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        cwd="/",
        timeout=120,
    )
    return probe.returncode == 0


def _run(code: str, *args: str, home: Path) -> dict:
    """Run ``code`` (which prints one JSON line) as the other user; return what it printed."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "HOME": str(home),
        "MPLCONFIGDIR": str(home / "mpl"),
        "OMP_NUM_THREADS": "1",
    }
    proc = subprocess.run(
        [*_nobody(), sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=str(home),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def place() -> Iterator[Path]:
    """A folder every user may enter (pytest's own tmp folders are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="liftpose perm é "))
    folder.chmod(0o755)
    home = folder / "home"
    home.mkdir()
    home.chmod(0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _unreadable(path: Path) -> None:
    path.chmod(0o600 if ROOT else 0o000)  # root's 0600 file is another user's to nobody


def _read_only(folder: Path) -> None:
    folder.chmod(0o755 if ROOT else 0o555)


@pytest.fixture(scope="module")
def lifter_file(tmp_path_factory) -> Path:
    import torch

    from liftpose_dlc import Lifter

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    p3 = rng.normal(size=(200, 4, 3))
    lifter = Lifter(NAMES, roots=["tailbase"], target_sets=[NAMES[:3]], linear_size=8)
    lifter.fit(p3[..., :2], p3, epochs=1, verbose=False)
    return lifter.save(tmp_path_factory.mktemp("perm") / "lifter.safetensors")


def _analysis(folder: Path) -> Path:
    xy = np.random.default_rng(1).normal(300, 20, size=(50, 1, 4, 2))
    frame = poses_to_dlc_table(Poses(xy, NAMES, confidence=np.ones((50, 1, 4))), scorer=SCORER)
    path = folder / f"vidéo 1{SCORER}.h5"
    frame.to_hdf(path, key="df_with_missing", format="table", mode="w")
    path.chmod(0o644)
    return path


READ = """
import json, sys
from liftpose_dlc import LiftPoseError, load_poses
from liftpose_dlc.lifter.lifter import Lifter
reader = {"lifter": Lifter.load, "poses": load_poses}[sys.argv[1]]
try:
    reader(sys.argv[2])
    print(json.dumps({"ok": True}))
except Exception as e:
    print(json.dumps({"type": type(e).__name__, "ours": isinstance(e, LiftPoseError),
                      "message": str(e)}))
"""

CLI = """
import contextlib, io, json, sys
from liftpose_dlc.cli import main
err = io.StringIO()
with contextlib.redirect_stderr(err):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "err": err.getvalue()}))
"""


@pytest.mark.parametrize("what", ["lifter", "poses"])
def test_an_unreadable_file_says_permission_denied(place, lifter_file, what):
    path = place / ("modèle.safetensors" if what == "lifter" else "x.h5")
    if what == "lifter":
        shutil.copy(lifter_file, path)
    else:
        path = _analysis(place)
    _unreadable(path)
    got = _run(READ, what, str(path), home=place / "home")
    assert got.get("ours"), got
    assert got["type"] == "FileAccessError"
    assert "permission denied" in got["message"]
    assert str(path) in got["message"]
    assert "No such file" not in got["message"]


def test_lifting_into_a_read_only_folder_names_the_output(place, lifter_file):
    videos = place / "videos"
    videos.mkdir()
    src = _analysis(videos)
    model = place / "lifter.safetensors"
    shutil.copy(lifter_file, model)
    model.chmod(0o644)
    _read_only(videos)
    got = _run(CLI, "lift", str(src), "--model", str(model), "-q", home=place / "home")
    assert got["code"] == 1
    out = src.with_name(src.stem + "_3d.h5")
    assert f"cannot write {out}" in got["err"] or str(out) in got["err"], got["err"]
    assert "permission denied" in got["err"].lower()
    assert ".tmp" not in got["err"]  # the output, not its hidden temporary file
    assert sorted(p.name for p in videos.iterdir()) == [src.name]


def test_training_into_a_read_only_folder_fails_before_training(place):
    lib = place / "library.npy"
    np.save(lib, np.random.default_rng(0).normal(size=(100, 4, 3)))
    lib.chmod(0o644)
    dest = place / "models"
    dest.mkdir()
    _read_only(dest)
    out = dest / "m.safetensors"
    got = _run(
        CLI,
        *["train", "--library", str(lib), "--library-keypoints", *NAMES, "--out", str(out)],
        *["--angle-ranges", "-180", "180", "-10", "10", "-10", "10", "--epochs", "100000", "-q"],
        home=place / "home",
    )  # 100000 epochs: this returns quickly only if it fails before training
    assert got["code"] == 1
    assert "permission denied" in got["err"]
    assert str(dest) in got["err"]
    assert list(dest.iterdir()) == []
