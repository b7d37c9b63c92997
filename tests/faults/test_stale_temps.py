"""Temporary files a killed writer left are removed by the next write of the same output, and
nothing else is: not the user's files, not those of a writer still running."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from liftpose_dlc import Poses, load_dlc, save_dlc
from liftpose_dlc._filesystem import (
    atomic_path,
    remove_stale_temp_dirs,
    remove_stale_temps,
    staging_dir,
)

HOUR = 3600.0


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _old(path: Path, data: bytes = b"partial") -> Path:
    path.write_bytes(data)
    then = time.time() - HOUR
    os.utime(path, (then, then))
    return path


def test_only_our_stale_temporary_files_are_removed(tmp_path: Path):
    dest = tmp_path / "v1_3d.h5"
    dead, alive = _dead_pid(), os.getppid()
    stale = [
        _old(tmp_path / f".v1_3d.h5.{dead}-abcd_123.tmp"),  # a killed writer's
        _old(tmp_path / f".v1_3d.h5.{dead}-abcd_123.tmp.first.h5"),  # the DLC chunk writer's
        _old(tmp_path / ".v1_3d.h5.x1y2z3w4.tmp"),  # written before names held the pid
    ]
    kept = [
        _old(tmp_path / f".v1_3d.h5.{alive}-abcd_123.tmp"),  # its writer still runs
        tmp_path / f".v1_3d.h5.{dead}-newer123.tmp",  # written after this process started
        _old(tmp_path / ".v1_3d.h5.notes.tmp"),  # not our name: 5 characters, not 8
        _old(tmp_path / ".v1_3d.h5.abcdefgh.tmp.bak"),
        _old(tmp_path / f".v2_3d.h5.{dead}-abcd_123.tmp"),  # another output's
        _old(tmp_path / "v1_3d.h5.abcdefgh.tmp"),  # not hidden: the user's
        _old(tmp_path / ".v1_3d.h5.ABCDEFGH.tmp"),  # mkstemp writes lower case
    ]
    kept[1].write_bytes(b"in progress")
    folder = tmp_path / f".v1_3d.h5.{dead}-folder12.tmp"
    folder.mkdir()
    link = tmp_path / f".v1_3d.h5.{dead}-symlink1.tmp"
    link.symlink_to(kept[5])
    os.utime(link, (time.time() - HOUR,) * 2, follow_symlinks=False)
    kept += [folder, link]

    removed = remove_stale_temps(dest)

    assert sorted(removed) == sorted(stale)
    assert not any(p.exists() for p in stale)
    assert all(p.exists() or p.is_symlink() for p in kept)
    assert kept[1].read_bytes() == b"in progress"
    assert remove_stale_temps(dest) == []  # nothing more to do


def test_the_next_write_of_an_output_removes_what_a_kill_left(tmp_path: Path):
    dest = tmp_path / "out.txt"
    left = _old(tmp_path / f".out.txt.{_dead_pid()}-q1w2e3r4.tmp")
    user = _old(tmp_path / ".out.txt.mine")
    with atomic_path(dest) as tmp:
        assert tmp.name.startswith(f".out.txt.{os.getpid()}-")  # ours carry the writer's pid
        tmp.write_text("done")
    assert dest.read_text() == "done"
    assert not left.exists()
    assert user.read_bytes() == b"partial"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.txt.mine", "out.txt"]


def test_a_dlc_table_write_cleans_its_killed_predecessors(tmp_path: Path):
    dest = tmp_path / "v_3d.h5"
    dead = _dead_pid()
    left = [
        _old(tmp_path / f".v_3d.h5.{dead}-k1k2k3k4.tmp", b"\x89HDF\r\n\x1a\n"),
        _old(tmp_path / f".v_3d.h5.{dead}-k1k2k3k4.tmp.first.h5"),
    ]
    xyz = np.arange(2 * 3 * 3, dtype=float).reshape(2, 1, 3, 3)
    save_dlc(Poses(xyz, ["a", "b", "c"]), dest)
    assert not any(p.exists() for p in left)
    assert np.array_equal(load_dlc(dest).data, xyz)
    assert [p.name for p in tmp_path.iterdir()] == ["v_3d.h5"]


def _old_dir(path: Path, files: dict[str, bytes]) -> Path:
    path.mkdir()
    then = time.time() - HOUR
    for name, data in files.items():
        _old(path / name, data)
    os.utime(path, (then, then))
    return path


def test_only_our_stale_temporary_folders_are_removed(tmp_path: Path):
    dest = tmp_path / "m_training"
    dead, alive = _dead_pid(), os.getppid()
    run = {"train_log.txt": b"epoch\n1\n", "ckpt_last.safetensors": b"weights"}
    stale = [
        _old_dir(tmp_path / f".m_training.{dead}-abcd_123", run),  # a killed run's
        # killed while writing a checkpoint: its temporary file inside
        _old_dir(
            tmp_path / f".m_training.{dead}-efgh_456",
            {"train_log.txt": b"", f".ckpt_best.safetensors.{dead}-q1w2e3r4.tmp": b"half"},
        ),
        _old_dir(tmp_path / f".m_training.{dead}-ijkl_789.old", run),  # killed mid-swap
        _old_dir(tmp_path / ".m_training.x1y2z3w4", run),  # before names held the pid
        _old_dir(tmp_path / f".m_training.{dead}-emptyrun", {}),
    ]
    kept = [
        _old_dir(tmp_path / f".m_training.{alive}-abcd_123", run),  # its writer still runs
        _old_dir(tmp_path / f".m_training.{dead}-notes123", {**run, "notes.txt": b"mine"}),
        _old_dir(tmp_path / ".m_training.backup", run),  # not our name
        _old_dir(tmp_path / f".m_training2.{dead}-abcd_123", run),  # another output's
        _old_dir(tmp_path / f"m_training.{dead}-abcd_123", run),  # not hidden
    ]
    with_sub = _old_dir(tmp_path / f".m_training.{dead}-subdir12", run)
    _old_dir(with_sub / "evaluation", {"report.txt": b"the user's evaluation"})
    os.utime(with_sub, (time.time() - HOUR,) * 2)
    newer = tmp_path / f".m_training.{dead}-newer123"  # written after this process started
    newer.mkdir()
    (newer / "train_log.txt").write_bytes(b"in progress")
    touched = _old_dir(tmp_path / f".m_training.{dead}-touched1", run)
    (touched / "train_log.txt").write_bytes(b"appended just now")
    as_file = _old(tmp_path / f".m_training.{dead}-afile123")  # a file, not a folder
    link = tmp_path / f".m_training.{dead}-symlink1"
    link.symlink_to(kept[0], target_is_directory=True)
    kept += [with_sub, newer, touched, as_file, link]

    names = ["train_log.txt", "ckpt_last.safetensors", "ckpt_best.safetensors"]
    removed = remove_stale_temp_dirs(dest, names)

    assert sorted(removed) == sorted(stale)
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in kept)
    assert (kept[1] / "notes.txt").read_bytes() == b"mine"
    assert (with_sub / "evaluation" / "report.txt").exists()
    assert (kept[0] / "ckpt_last.safetensors").read_bytes() == b"weights"  # through the link too
    assert remove_stale_temp_dirs(dest, ["train_log.txt"]) == []


def test_staging_folders_carry_the_writer_pid(tmp_path: Path):
    folder = staging_dir(tmp_path / "sub" / "m_training")
    assert folder.parent == tmp_path / "sub"
    assert folder.is_dir()
    assert folder.name.startswith(f".m_training.{os.getpid()}-")
    # this process's own folder, being written: never removed
    _old(folder / "train_log.txt")
    os.utime(folder, (time.time() - HOUR,) * 2)
    assert remove_stale_temp_dirs(tmp_path / "sub" / "m_training", ["train_log.txt"]) == []
    assert folder.exists()
