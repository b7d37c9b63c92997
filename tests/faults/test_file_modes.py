"""Files we write get the mode the user's umask gives a new file (issue 11, defect 3).

Temporary files are created 0600 and renamed into place; model files and checkpoints used to
keep that mode, so lab mates could not read a project's lifter.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from liftpose_dlc import Lifter, Poses, save_poses
from liftpose_dlc._filesystem import default_file_mode
from liftpose_dlc.io.dlc import save_dlc


@contextlib.contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def checkpoint_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Lifter]:
    """A one-epoch training run with checkpoints, under umask 022."""
    out = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(0)
    p3 = rng.normal(size=(200, 4, 3))
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with _umask(0o022):
            lifter = Lifter(
                ["a", "b", "c", "d"], roots=["a"], target_sets=[["b", "c", "d"]], linear_size=16
            )
            lifter.fit(p3[..., :2], p3, epochs=1, out_dir=out, verbose=False, min_steps=1)
    finally:
        torch.set_num_threads(n)
    return out, lifter


def test_default_mode_follows_umask():
    with _umask(0o022):
        assert default_file_mode() == 0o644
    with _umask(0o077):
        assert default_file_mode() == 0o600
    with _umask(0o002):
        assert default_file_mode() == 0o664


def test_model_file_and_checkpoints_are_0644(checkpoint_run, tmp_path):
    out, lifter = checkpoint_run
    checkpoints = sorted(out.glob("*.safetensors"))
    assert [p.name for p in checkpoints] == ["ckpt_best.safetensors", "ckpt_last.safetensors"]
    for p in checkpoints:
        assert _mode(p) == 0o644, p
    with _umask(0o022):
        model = lifter.save(tmp_path / "lifter.safetensors")
    assert _mode(model) == 0o644
    with _umask(0o077):
        private = lifter.save(tmp_path / "private.safetensors")
    assert _mode(private) == 0o600  # the user's umask decides, not ours


@pytest.mark.parametrize("suffix", [".h5", ".csv"])
def test_3d_tables_are_0644(tmp_path, suffix):
    poses = Poses(np.zeros((5, 1, 2, 3)), ["a", "b"])
    with _umask(0o022):
        dlc = save_dlc(poses, tmp_path / f"t{suffix}")
        sleap = save_poses(poses, tmp_path / "p.h5", format="sleap-anipose")
    assert _mode(dlc) == 0o644
    assert _mode(sleap) == 0o644
