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
