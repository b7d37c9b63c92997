"""The reader fuzzer: real files, truncated and with flipped bytes, read in worker processes.

Each case copies one real file of ``../shared/data`` (or a lifter model made by the test),
damages it (seeded), and asks a worker process (``fuzz_worker.py``) to read it with one
public reader. A case passes when the file reads, or the reader raises a ``LiftPoseError``
whose message names the file, within ``timeout`` seconds. Any other exception type, a message
that does not name the file, a hang (killed after ``timeout``) or a crash of the worker's
interpreter is a failure. ``benchmarks/bench_reliability.py`` runs more cases the same way.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

WORKER = Path(__file__).with_name("fuzz_worker.py")
REPO = Path(__file__).resolve().parents[2]

SLP_BACK = "3d/sleap_anipose_mouse/back/minimal_back_proofread.slp"
STAC_NAMES = " ".join(
    [
        "Nose Ear_R Ear_L TTI TailTip Head Trunk Tail_0 Tail_1 Tail_2 Shoulder_L Shoulder_R",
        "Knee_L Knee_R Neck Elbow_L Elbow_R Wrist_L Wrist_R Forepaw_L Forepaw_R Heel_L",
        "Heel_R Spine Eye_L Eye_R Tail_3 Tail_4 Hip_L Hip_R Lisfranc_R MTP_L Lisfranc_L MTP_R",
    ]
).split()
MULTI = "dlc/multi_mouse-dlc_team-2022-04-12"
MULTI_OUT = f"{MULTI}/videos/m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5"
DF3D_NPZ = "3d/df3d_fly/df3d_210902_PR_Fly1_1000f_in_reference_rig.npz"

#: (reader, file in ../shared/data, keyword arguments). ``{shared}`` in a value is replaced
#: by the data folder. ``Lifter.load`` targets are added by the caller (a model it trained).
TARGETS: list[tuple[str, str, dict[str, Any]]] = [
    ("load_poses", "dlc/openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5", {}),
    ("load_poses", f"{MULTI_OUT}_el.h5", {}),
    ("load_poses", f"{MULTI_OUT}_el_filtered.h5", {}),
    ("load_poses", f"{MULTI_OUT}_el_filtered.csv", {}),
    ("load_poses", f"{MULTI}/labeled-data/m3v1mp4/CollectedData_dlc_team.csv", {}),
    ("load_poses", "dlc/montblanc_tracks.h5", {}),
    ("load_poses", "sleap/centered_pair_predictions.analysis.h5", {}),
    ("load_poses", "sleap/centered_pair_predictions.slp", {}),
    ("load_poses", SLP_BACK, {}),
    ("load_poses", "3d/sleap_anipose_mouse/back/minimal_back_proofread.analysis.h5", {}),
    ("load_poses_3d", "3d/sleap_anipose_mouse/points3d.h5", {"keypoints": "{shared}/" + SLP_BACK}),
    ("load_poses_3d", "3d/stac_mouse/test_mouse_mocap_3600_frames.h5", {"keypoints": STAC_NAMES}),
    ("load_poses_3d", "3d/df3d_fly/pose_result__210902_PR_Fly1_aligned.pkl", {}),
    ("load_poses_3d", DF3D_NPZ, {"key": "points3d_world"}),
    ("load_poses_3d", "3d/flygym_spotlight/spotlight_behavior_clip.npz", {}),
    ("load_calibration", "3d/sleap_anipose_mouse/calibration.toml", {}),
    (
        "load_calibration",
        "3d/neuromechfly_df3d_walking/calib_180921_aDN_PR_Fly8_005_SG1_behData_images_images.pkl",
        {},
    ),
    ("load_calibration", DF3D_NPZ, {}),
    ("read_dlc_config", "dlc/openfield/config.yaml", {}),
    ("read_dlc_config", f"{MULTI}/config.yaml", {}),
]

GOOD = ("read", "error")  # outcomes that pass
#: Seconds a worker may take to start (import torch, pandas, h5py, sleap-io).
STARTUP_TIMEOUT = 180.0
#: A case that times out is run once more (in a fresh worker) with this many times the time:
#: on a machine shared with other jobs a case may wait for the CPU; a real hang (a reader
#: that loops or allocates for minutes) still times out.
RETRY_FACTOR = 4


@dataclass
class Case:
    """One damaged file and the reader to try on it."""

    index: int
    reader: str
    source: Path
    kwargs: dict[str, Any]
    damage: str
    path: Path | None = None


@dataclass
class Outcome:
    """What happened: ``read``, ``error`` (a LiftPoseError naming the file) or a failure."""

    case: Case
    kind: str  # read | error | wrong-type | unnamed | hang | crash
    detail: str = ""
    seconds: float = 0.0
    pid: int | None = None  # the worker process that ran it

    @property
    def ok(self) -> bool:
        return self.kind in GOOD

    def describe(self) -> str:
        c = self.case
        return (
            f"case {c.index}: {c.reader}({c.source.name}, {c.damage}) -> {self.kind}: {self.detail}"
        )


def damage(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """Truncate at a random offset, or flip 1-32 random bytes (half of them in the head)."""
    n = len(data)
    if n == 0 or rng.random() < 0.4:
        cut = int(rng.integers(0, max(n, 1)))
        return data[:cut], f"truncated at {cut}/{n}"
    buf = bytearray(data)
    k = int(rng.integers(1, 33))
    head = min(n, 4096)
    where = np.where(rng.random(k) < 0.5, rng.integers(0, head, k), rng.integers(0, n, k)).astype(
        int
    )
    for i in where:
        buf[i] ^= int(rng.integers(1, 256))
    return bytes(buf), f"{k} bytes flipped (first at {int(where.min())})"


def make_cases(
    targets: list[tuple[str, Path, dict[str, Any]]], n_cases: int, seed: int, folder: Path
) -> list[Case]:
    """``n_cases`` damaged copies, round-robin over ``targets``, written under ``folder``."""
    rng = np.random.default_rng(seed)
    cache: dict[Path, bytes] = {}
    cases = []
    for i in range(n_cases):
        reader, source, kwargs = targets[i % len(targets)]
        data = cache.setdefault(source, source.read_bytes())
        damaged, how = damage(data, rng)
        # a folder name with a space and a non-ASCII letter: readers must cope with both
        case_dir = folder / f"case {i:05d} ü"
        case_dir.mkdir(parents=True)
        path = case_dir / source.name
        path.write_bytes(damaged)
        cases.append(Case(i, reader, source, kwargs, how, path))
    return cases


class _Worker:
    """One worker interpreter; restarted after a hang or a crash."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.cases_run = 0  # by the current process

    def start(self, timeout: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=self.env,
            cwd=REPO,
        )
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc, self.lines), daemon=True).start()
        try:
            first = self.lines.get(timeout=max(timeout, STARTUP_TIMEOUT))
        except queue.Empty:
            first = None
        if first is None:
            self.stop()
            raise RuntimeError("the fuzz worker did not start")

    @staticmethod
    def _pump(proc: subprocess.Popen, lines: queue.Queue) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def run(self, case: Case, timeout: float) -> Outcome:
        if self.proc is None:
            try:
                self.start(timeout)
            except RuntimeError as exc:
                return Outcome(case, "crash", str(exc))
            self.cases_run = 0
        self.cases_run += 1
        assert self.proc is not None
        assert self.proc.stdin is not None
        request = {"reader": case.reader, "path": str(case.path), "kwargs": case.kwargs}
        t0 = time.perf_counter()
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            return Outcome(case, "hang", f"no answer in {timeout:.0f} s", timeout)
        except BrokenPipeError:
            line = None
        seconds = time.perf_counter() - t0
        pid = self.proc.pid
        if line is None:
            code = self.proc.wait()
            self.proc = None
            return Outcome(case, "crash", f"the interpreter died (exit code {code})", seconds, pid)
        answer = json.loads(line)
        if answer["ok"]:
            return Outcome(case, "read", "", seconds, pid)
        message = answer["message"]
        if not answer["liftpose"]:
            return Outcome(case, "wrong-type", f"{answer['type']}: {message[:300]}", seconds, pid)
        assert case.path is not None
        if case.path.name not in message:
            return Outcome(case, "unnamed", f"{answer['type']}: {message[:300]}", seconds, pid)
        return Outcome(case, "error", answer["type"], seconds, pid)


def run_cases(cases: list[Case], *, workers: int = 2, timeout: float = 10.0) -> list[Outcome]:
    """Run every case on ``workers`` worker processes; return the outcomes in case order.

    Each worker is one long-lived interpreter that reads case after case, as a napari session
    or a batch script does: a damaged file must leave no state behind that breaks a later
    read (DeepLabCut ``.h5`` files are read with h5py, not PyTables, for this: RELIABILITY.md).
    A worker is restarted only after a hang or a crash, which fail the run; a case that
    timed out runs once more with :data:`RETRY_FACTOR` times the time (a busy machine).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("OMP_NUM_THREADS", "1")
    todo: queue.Queue[Case] = queue.Queue()
    for c in cases:
        todo.put(c)
    results: dict[int, Outcome] = {}

    def loop() -> None:
        worker = _Worker(env)
        try:
            while True:
                try:
                    case = todo.get_nowait()
                except queue.Empty:
                    return
                outcome = worker.run(case, timeout)
                if outcome.kind == "hang":  # a busy machine, or a real hang? once more, longer
                    outcome = worker.run(case, RETRY_FACTOR * timeout)
                    if outcome.ok:
                        outcome.detail = f"slow: over {timeout:.0f} s once, then answered"
                results[case.index] = outcome
        finally:
            worker.stop()

    threads = [threading.Thread(target=loop) for _ in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [results[c.index] for c in cases]


def shared_targets(shared: Path) -> list[tuple[str, Path, dict[str, Any]]]:
    """:data:`TARGETS` whose files exist in ``shared``, with ``{shared}`` filled in."""
    out = []
    for reader, rel, kwargs in TARGETS:
        path = shared / rel
        if not path.is_file():
            continue
        filled = {
            k: v.replace("{shared}", str(shared)) if isinstance(v, str) else v
            for k, v in kwargs.items()
        }
        out.append((reader, path, filled))
    return out


def summary(outcomes: list[Outcome]) -> dict[str, int]:
    """Counts of each outcome kind."""
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.kind] = counts.get(o.kind, 0) + 1
    return counts


def cleanup(folder: Path) -> None:
    """Remove the damaged copies."""
    shutil.rmtree(folder, ignore_errors=True)
