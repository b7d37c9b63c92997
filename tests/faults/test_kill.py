"""SIGKILL and SIGINT of a real ``liftpose-dlc lift`` / ``train`` process, and two lifts of the
same project at once: no partial file under a final name, the previous output byte-identical,
and a rerun succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from liftpose_dlc import Poses, load_dlc
from liftpose_dlc.io.dlc import poses_to_dlc_table

REPO = Path(__file__).resolve().parents[2]
NAMES = ["snout", "leftear", "rightear", "tailbase"]
SCORER = "DLC_resnet50_killAug20shuffle1_1000"
N_FRAMES = 40_000


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["OMP_NUM_THREADS"] = "1"
    return env


def _default_sigint() -> None:
    """In the child: SIGINT as a terminal delivers it (a shell may start jobs ignoring it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(cmd: list[str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=_env(), preexec_fn=_default_sigint, **kwargs)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "liftpose_dlc.cli", *args]


def _library(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    heading = rng.uniform(0, 2 * np.pi, n)
    body = np.stack([np.cos(heading), np.sin(heading), np.zeros(n)], 1)
    side = np.stack([-np.sin(heading), np.cos(heading), np.zeros(n)], 1)
    tail = np.zeros((n, 3))
    neck = 80 * body
    return np.stack([neck + 15 * body, neck + 8 * side + 6, neck - 8 * side + 6, tail], 1)


def _analysis(path: Path, seed: int) -> Path:
    """A DeepLabCut analysis output of N_FRAMES frames (the 2D of a generated mouse)."""
    xy = _library(N_FRAMES, seed)[..., :2] * 2 + 320
    conf = np.full((N_FRAMES, 1, 4), 0.95)
    frame = poses_to_dlc_table(Poses(xy[:, None], NAMES, confidence=conf), scorer=SCORER)
    frame.to_hdf(path, key="df_with_missing", format="table", mode="w")
    return path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a space and a non-ASCII letter: a model, a library, an analysis."""
    import torch

    from liftpose_dlc import Lifter

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("kill") / "séance 1"
    folder.mkdir()
    p3 = _library(300, 0)
    lifter = Lifter(NAMES, roots=["tailbase"], target_sets=[NAMES[:3]], linear_size=8)
    lifter.fit(p3[..., :2] * 2, p3, epochs=1, verbose=False)
    lifter.save(folder / "lifter.safetensors")
    np.save(folder / "library.npy", p3)
    return folder


def _stray(folder: Path) -> list[str]:
    """Temporary files and folders left in ``folder`` (hidden names)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _wait_for(folder: Path, prefix: str, proc: subprocess.Popen, timeout: float) -> bool:
    """Wait until a new hidden file or folder starting with ``prefix`` appears in ``folder``."""
    known = set(_stray(folder))
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if any(p.name.startswith(prefix) and p.name not in known for p in folder.iterdir()):
            return True
        time.sleep(0.01)
    return False


KILLS = [(signal.SIGKILL, "starting"), (signal.SIGKILL, "writing"), (signal.SIGINT, "writing")]


def test_a_killed_lift_keeps_the_previous_output(workdir: Path, tmp_path: Path):
    folder = tmp_path / "vidéos"
    folder.mkdir()
    src = _analysis(folder / f"v1{SCORER}.h5", seed=1)
    model = str(workdir / "lifter.safetensors")
    out = folder / f"v1{SCORER}_3d.h5"
    env = _env()
    # small chunks: the lift takes long enough (seconds) for a signal to reach it mid-write
    lift = _cli("lift", str(src), "--model", model, "--chunk-size", "25", "-q")
    subprocess.run(lift, check=True, env=env, timeout=600)
    before = out.read_bytes()
    _analysis(src, seed=2)  # new 2D: a completed rerun would change the output

    for sig, when in KILLS:
        stray = _stray(folder)
        proc = _start([*lift, "--overwrite"], stderr=subprocess.PIPE)
        if when == "starting":
            time.sleep(0.3)
        else:
            assert _wait_for(folder, f".{out.name}.", proc, 300), "the lift never wrote"
        assert proc.poll() is None, "the lift ended before the signal: make it longer"
        proc.send_signal(sig)
        code = proc.wait(timeout=600)
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        assert code == (-9 if sig == signal.SIGKILL else 130), stderr[-2000:]
        assert out.read_bytes() == before, (sig, when)  # the previous output, byte for byte
        names = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        assert names == sorted([src.name, out.name])  # nothing else under a final name
        if sig == signal.SIGINT:
            assert "interrupted" in stderr
            # Ctrl-C removes its temporary file (and its start those the kills left)
            assert set(_stray(folder)) <= set(stray)
    rerun = subprocess.run([*lift, "--overwrite"], env=env, timeout=600, capture_output=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert out.read_bytes() != before
    assert load_dlc(out).data.shape == (N_FRAMES, 1, 4, 3)
    # SIGKILL leaves a hidden temporary file, never a file under the output's name, and the
    # next write of the output removes it
    assert _stray(folder) == []


def test_a_killed_training_keeps_the_previous_lifter_and_its_log(workdir: Path, tmp_path):
    lib = workdir / "library.npy"
    model = tmp_path / "m.safetensors"
    train = _cli("train", "--library", str(lib), "--library-keypoints", *NAMES, "--out", str(model))
    train += ["--angle-ranges", "-180", "180", "-10", "10", "-10", "10", "--n-cameras", "2"]
    train += ["--linear-size", "8", "-q"]
    env = _env()
    subprocess.run([*train, "--epochs", "1"], check=True, env=env, timeout=600)
    kept = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    for sig in (signal.SIGINT, signal.SIGKILL):
        stray = _stray(tmp_path)
        proc = _start([*train, "--epochs", "100000", "--overwrite"])
        assert _wait_for(tmp_path, ".m_training.", proc, 300), "training never started"
        end = time.monotonic() + 300
        while not list(tmp_path.glob(".m_training.*/train_log.txt")) and time.monotonic() < end:
            time.sleep(0.01)
        time.sleep(0.5)  # training, writing its log and checkpoints
        assert proc.poll() is None
        proc.send_signal(sig)
        assert proc.wait(timeout=600) == (-9 if sig == signal.SIGKILL else 130)
        now = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
        visible = {k: v for k, v in now.items() if not any(s.startswith(".") for s in k.parts)}
        assert visible == kept  # model, record, log and checkpoints of the kept lifter
        if sig == signal.SIGINT:
            assert _stray(tmp_path) == stray  # Ctrl-C removes the run's folder
    # SIGKILL left the run's hidden folder (its pid in the name) with its log in it
    (left,) = [tmp_path / n for n in set(_stray(tmp_path)) - set(stray)]
    assert left.name.startswith(f".m_training.{proc.pid}-")
    assert (left / "train_log.txt").exists()
    # look-alikes of the user's, which the next run must keep
    mine = tmp_path / ".m_training.q1w2e3r4"  # our name, but it holds the user's notes
    mine.mkdir()
    (mine / "train_log.txt").write_text("my own log")
    (mine / "notes.txt").write_text("the user's")
    (tmp_path / ".m_training.mine").write_text("a file of the user's")
    # training is seeded (the same call gives the same bytes): two epochs make a new lifter
    rerun = subprocess.run([*train, "--epochs", "2", "--overwrite"], env=env, timeout=600)
    assert rerun.returncode == 0
    assert model.read_bytes() != kept[Path("m.safetensors")]
    assert not left.exists()  # the next run to the same output removed the killed run's folder
    assert _stray(tmp_path) == [".m_training.mine", ".m_training.q1w2e3r4"]
    assert (mine / "notes.txt").read_text() == "the user's"
    assert (mine / "train_log.txt").read_text() == "my own log"
    log = (tmp_path / "m_training" / "train_log.txt").read_text().splitlines()
    assert [row.split("\t")[0] for row in log[1:]] == ["1", "2"]  # the rerun's own log


def test_two_lifts_of_one_project_at_once(workdir: Path, tmp_path: Path):
    import yaml

    project = tmp_path / "proj ü"
    videos = project / "videos"
    videos.mkdir(parents=True)
    (project / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "Task": "kill",
                "scorer": "t",
                "date": "Aug20",
                "multianimalproject": False,
                "project_path": "/elsewhere",
                "video_sets": {"/elsewhere/videos/v1.mp4": {"crop": "0, 640, 0, 480"}},
                "bodyparts": NAMES,
                "skeleton": [],
                "pcutoff": 0.6,
            }
        )
    )
    src = _analysis(videos / f"v1{SCORER}.h5", seed=3)
    out = videos / f"v1{SCORER}_3d.h5"
    lift = _cli(
        "lift", str(project / "config.yaml"), "--model", str(workdir / "lifter.safetensors")
    )
    lift += ["--chunk-size", "2000", "-q"]
    env = _env()
    for extra in ([], ["--overwrite"]):
        out.unlink(missing_ok=True)
        procs = [
            subprocess.Popen([*lift, *extra], env=env, stderr=subprocess.PIPE) for _ in range(2)
        ]
        results = [(p.wait(timeout=600), p.stderr.read().decode()) for p in procs]
        codes = sorted(code for code, _ in results)
        # each run either wrote a whole file or said clearly why it did not
        for code, err in results:
            assert code in (0, 1), err[-2000:]
            if code == 1:
                assert str(out) in err
                assert "appeared while writing" in err or "exists" in err
        if extra:
            assert codes == [0, 0]
        assert 0 in codes
        lifted = load_dlc(out)
        assert lifted.data.shape == (N_FRAMES, 1, 4, 3)
        assert np.isfinite(lifted.data).all()
        assert _stray(videos) == []
    assert sorted(p.name for p in videos.iterdir()) == sorted([src.name, out.name])
