"""Data-parallel training (``torchrun``, 2 CPU processes on gloo) against one process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from liftpose_dlc.lifter import distributed
from liftpose_dlc.lifter.modelfile import read_model_file

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import ddp_train  # noqa: E402

REPO = HERE.parent.parent
#: Tolerances of "the same training": per-epoch loss and final error, relative. They
#: differ by BatchNorm's statistics (per rank: 32 frames, not 64) and the shuffling.
LOSS_RTOL = 0.05
ERR_RTOL = 0.15


def _torchrun(out: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        distributed.TIMEOUT_ENV: "30",
    }
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    cmd += [str(HERE / "ddp_train.py"), str(out), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def test_context_outside_torchrun(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert distributed.from_env(torch.device("cpu")) is None
    assert distributed.is_main_process()
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("RANK", "0")
    assert distributed.from_env(torch.device("cpu")) is None
    monkeypatch.setenv("RANK", "1")
    assert not distributed.is_main_process()


def test_shards_and_seeds():
    ctx = [distributed.DistContext(r, 2, r, torch.device("cpu")) for r in range(2)]
    order = distributed.epoch_order(10, 0, 3, torch.device("cpu"))
    assert torch.equal(order, distributed.epoch_order(10, 0, 3, torch.device("cpu")))
    assert not torch.equal(order, distributed.epoch_order(10, 0, 4, torch.device("cpu")))
    parts = [c.shard(order) for c in ctx]
    assert sorted(torch.cat(parts).tolist()) == list(range(10))
    assert ctx[0].min_batch == 4
    assert ctx[0].backend == "gloo"
    assert ctx[0].is_main
    seeds = {distributed.rank_seed(0, r, s) for r in range(2) for s in (0, 100)}
    assert len(seeds) == 4


@pytest.mark.slow
def test_two_processes_match_one_and_resume_across(tmp_path):
    multi = tmp_path / "multi"
    multi.mkdir()
    run = _torchrun(multi, "4")
    assert run.returncode == 0, run.stderr[-3000:]
    ddp = json.loads((multi / "result.json").read_text())
    one = ddp_train.train(tmp_path / "single", 4)
    assert ddp["epochs"] == [1, 2, 3, 4]
    np.testing.assert_allclose(ddp["loss_train"], one["loss_train"], rtol=LOSS_RTOL)
    assert ddp["err"] == pytest.approx(one["err"], rel=ERR_RTOL)
    # the log and checkpoints are rank 0's alone: one row per epoch, no duplicates
    log = (multi / "train_log.txt").read_text().splitlines()
    assert len(log) == 5
    assert log[-1].startswith("4\t")

    # multi-process checkpoint -> one process
    shutil.copytree(multi, tmp_path / "resumed")
    res = ddp_train.train(tmp_path / "resumed", 5, resume=True)
    assert res["epochs"] == [5]
    _, meta = read_model_file(tmp_path / "resumed" / "ckpt_last.safetensors")
    assert meta["train_state"]["epoch"] == 5
    # one-process checkpoint -> two processes
    run = _torchrun(tmp_path / "resumed", "6", "--resume")
    assert run.returncode == 0, run.stderr[-3000:]
    back = json.loads((tmp_path / "resumed" / "result.json").read_text())
    assert back["epochs"] == [6]
    assert back["loss_train"][-1] < ddp["loss_train"][-1]
    rows = (tmp_path / "resumed" / "train_log.txt").read_text().splitlines()
    assert [r.split("\t")[0] for r in rows[1:]] == [str(e) for e in range(1, 7)]


@pytest.mark.slow
def test_a_temporal_lifter_trains_on_two_processes_like_one(tmp_path):
    # the temporal session is the frame session's template: it joins the process group,
    # shards each batch of windows and writes on rank 0 alone
    multi = tmp_path / "multi"
    multi.mkdir()
    run = _torchrun(multi, "3", "--temporal", "9")
    assert run.returncode == 0, run.stderr[-3000:]
    ddp = json.loads((multi / "result.json").read_text())
    one = ddp_train.train(tmp_path / "single", 3, temporal=9)
    assert type(one["lifter"]).__name__ == "TemporalLifter"
    assert ddp["epochs"] == [1, 2, 3]
    np.testing.assert_allclose(ddp["loss_train"], one["loss_train"], rtol=LOSS_RTOL)
    assert ddp["err"] == pytest.approx(one["err"], rel=ERR_RTOL)
    assert len((multi / "train_log.txt").read_text().splitlines()) == 4


@pytest.mark.slow
def test_a_killed_rank_fails_the_run_without_hanging(tmp_path):
    start = time.monotonic()
    run = _torchrun(tmp_path, "100000", "--kill-after", "3", timeout=90)
    took = time.monotonic() - start
    assert run.returncode != 0
    assert "SIGKILL" in run.stderr or "Signal 9" in run.stderr, run.stderr[-2000:]
    assert not (tmp_path / "result.json").exists()
    assert not (tmp_path / "lifter.safetensors").exists()
    assert took < 90


_PREFLIGHT = """
import torch.distributed as dist, torch
dist.init_process_group("gloo")
t = torch.ones(1)
dist.all_reduce(t)
assert t.item() == dist.get_world_size() == 2
dist.destroy_process_group()
"""


def _log(folder: Path) -> dict[str, list[float]]:
    rows = [r.split("\t") for r in (folder / "train_log.txt").read_text().splitlines()]
    return {k: [float(r[i]) for r in rows[1:]] for i, k in enumerate(rows[0])}


@pytest.mark.slow
def test_torchrun_runs_the_command_line_train_on_two_processes(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    env[distributed.TIMEOUT_ENV] = "60"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    check = tmp_path / "preflight.py"
    check.write_text(_PREFLIGHT)
    pre = subprocess.run([*torchrun, str(check)], env=env, capture_output=True, text=True)
    if pre.returncode != 0:
        pytest.skip(f"torchrun cannot start 2 gloo processes here: {pre.stderr[-500:]}")
    _, p3 = ddp_train.library()
    library = tmp_path / "library.npy"
    np.save(library, p3)
    args = ["train", "--library", str(library), "--library-keypoints", *ddp_train.KEYPOINTS]
    args += ["--angle-ranges", "-180", "180", "-20", "20", "-20", "20", "--n-cameras", "2"]
    args += ["--epochs", "3", "--batch-size", "64", "--linear-size", "32", "--dropout", "0"]
    args += ["--val", "0.2"]
    two, one = tmp_path / "two", tmp_path / "one"
    run = subprocess.run(
        [*torchrun, "-m", "liftpose_dlc.cli", *args, "--out", str(two / "m.safetensors")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    # rank 0 alone speaks and writes: one model, its record, its training folder
    assert run.stdout.count("data-parallel training on 2 processes (torchrun)") == 1
    assert run.stdout.count("lifter saved to") == 1
    assert sorted(p.name for p in two.iterdir()) == ["m.safetensors", "m.yaml", "m_training"]
    assert sorted(p.name for p in (two / "m_training").iterdir()) == [
        "ckpt_best.safetensors",
        "ckpt_last.safetensors",
        "train_log.txt",
    ]
    record = (two / "m.yaml").read_text()
    assert "processes: 2" in record
    from liftpose_dlc import Lifter

    lifter = Lifter.load(two / "m.safetensors")
    assert lifter.keypoints == ddp_train.KEYPOINTS
    assert lifter.error_model is not None  # fitted on rank 0 on the validation frames
    p2, _ = ddp_train.library(seed=1)
    assert np.isfinite(lifter.predict(p2)).all()
    # the same training as one process with the same global batch
    alone = subprocess.run(
        [sys.executable, "-m", "liftpose_dlc.cli", *args, "--out", str(one / "m.safetensors")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert alone.returncode == 0, alone.stderr[-3000:]
    assert "data-parallel" not in alone.stdout
    assert "processes: 1" in (one / "m.yaml").read_text()
    log2, log1 = _log(two / "m_training"), _log(one / "m_training")
    assert log2["epoch"] == log1["epoch"] == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(log2["loss_train"], log1["loss_train"], rtol=LOSS_RTOL)
    assert log2["err_test"][-1] == pytest.approx(log1["err_test"][-1], rel=ERR_RTOL)
