"""A full disk never leaves a corrupt or partial output (issue 11, defects 1 and 2).

Where the tests run as root (CI does) a tmpfs of a few hundred KB is mounted and every
writer is run until the disk is full: DeepLabCut ``.h5`` whole and streamed, CSV, the
SLEAP-style 3D ``.h5``, model files, checkpoints, figures, and ``liftpose-dlc lift`` on a copy
of the real openfield project. Elsewhere ``OSError(ENOSPC)`` is injected at the write and
flush calls. Each failure must be one :class:`~liftpose_dlc.errors.WriteError` (or a non-zero
exit with one message) naming the output; no temporary file is left; a previous output is
byte-identical; no file appears under the final name when there was none.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from realdata import shared_file
from seeded_model import FLY, MOUSE, seeded_model_file

from liftpose_dlc import Poses, lift_file, save_poses
from liftpose_dlc.errors import WriteError
from liftpose_dlc.io.dlc import save_dlc
from liftpose_dlc.lifter.modelfile import write_model_file

REPO = Path(__file__).resolve().parents[2]
OPENFIELD = "dlc/openfield"
OPENFIELD_H5 = "m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
SLEAP = "sleap/centered_pair_predictions.analysis.h5"
# a write that fails, or one HDF5 reports as done but that does not read back as written
FAILED = r"(could not be written|the file read back is not what was written)"


@contextlib.contextmanager
def _tmpfs(folder: Path, size_kb: int) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Callable[[int], contextlib.AbstractContextManager[Path]]:
    """``small_disk(kb)``: a context manager mounting a tmpfs of ``kb`` KiB in tmp_path."""
    return lambda kb: _tmpfs(tmp_path / f"disk{uuid.uuid4().hex[:6]}", kb)


def _fill(folder: Path, leave_kb: int) -> None:
    """Fill the file system of ``folder`` until about ``leave_kb`` KiB are free."""
    free = shutil.disk_usage(folder).free - leave_kb * 1024
    if free > 0:
        (folder / "ballast.bin").write_bytes(b"\0" * free)


def _poses_3d(n: int = 4000, k: int = 6) -> Poses:
    rng = np.random.default_rng(0)
    return Poses(
        rng.normal(size=(n, 1, k, 3)), [f"k{i}" for i in range(k)], skeleton=[("k0", "k1")]
    )


def _assert_clean(folder: Path, dest: Path, previous: bytes | None) -> None:
    left = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    assert left == [], f"temporary files left behind: {left}"
    if previous is None:
        assert not dest.exists()
    else:
        assert dest.read_bytes() == previous


def _model_tensors() -> dict[str, torch.Tensor]:
    return {"net.w": torch.zeros(200_000), "stats.mean_2d": torch.zeros(4, dtype=torch.float64)}


WRITERS: dict[str, Callable[[Path], object]] = {
    "dlc_h5": lambda p: save_dlc(_poses_3d(), p, overwrite=True),
    "dlc_csv": lambda p: save_dlc(_poses_3d(), p.with_suffix(".csv"), overwrite=True),
    "sleap_3d": lambda p: save_poses(_poses_3d(), p, format="sleap-anipose", overwrite=True),
    "model": lambda p: write_model_file(p.with_suffix(".safetensors"), _model_tensors(), {}, True),
}


def _target(folder: Path, name: str) -> Path:
    return folder / ("out.csv" if name == "dlc_csv" else "out.h5")


def _final(folder: Path, name: str) -> Path:
    p = _target(folder, name)
    return p.with_suffix(".safetensors") if name == "model" else p


@pytest.mark.parametrize("name", sorted(WRITERS))
@pytest.mark.parametrize("previous", [False, True])
@pytest.mark.parametrize("free_kb", [0, 16, 100])  # fails creating, writing, or part-way
def test_writer_on_a_full_disk(small_disk, name, previous, free_kb):
    with small_disk(400) as disk:
        dest = _final(disk, name)
        old = b"previous output\n" if previous else None
        if old is not None:
            dest.write_bytes(old)
        _fill(disk, free_kb)
        with pytest.raises(WriteError, match=rf"{dest.name}: could not be written") as info:
            WRITERS[name](_target(disk, name))
        assert ".tmp" not in str(info.value)
        (disk / "ballast.bin").unlink()
        _assert_clean(disk, dest, old)


def test_figure_on_a_full_disk(small_disk):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from liftpose_dlc.workflow.report import _save

    fig, ax = plt.subplots(figsize=(12, 12), dpi=100)
    ax.imshow(np.random.default_rng(0).uniform(size=(600, 600)))
    try:
        with small_disk(300) as disk:
            _fill(disk, 40)
            with pytest.raises(WriteError, match=r"fig\.png: could not be written"):
                _save(fig, disk / "fig.png", overwrite=False)
            (disk / "ballast.bin").unlink()
            _assert_clean(disk, disk / "fig.png", None)
    finally:
        plt.close(fig)


@pytest.mark.realdata
@pytest.mark.parametrize("with_csv", [False, True])
def test_streamed_dlc_lift_on_a_full_disk(small_disk, shared_data, tmp_path, with_csv):
    model = seeded_model_file(tmp_path / "mouse.safetensors", MOUSE, 60.0, 20.0, seed=1)
    src = shared_file(shared_data, f"{OPENFIELD}/videos/{OPENFIELD_H5}")
    with small_disk(400) as disk:
        copy = disk / src.name
        shutil.copy(src, copy)  # 276 KiB: the 3D table (about 230 KiB) does not fit
        dest = disk / (copy.stem + "_3d.h5")
        with pytest.raises(WriteError, match=rf"_3d\.(h5|csv): {FAILED}") as info:
            lift_file(copy, model, verbose=False, save_as_csv=with_csv)
        assert ".tmp" not in str(info.value)
        _assert_clean(disk, dest, None)
        assert not dest.with_suffix(".csv").exists()


@pytest.mark.realdata
def test_sleap_lift_on_a_full_disk_is_one_clean_error(small_disk, shared_data, tmp_path):
    """Defect 2: h5py on a full disk printed tracebacks and crashed at exit (rc 139)."""
    model = seeded_model_file(tmp_path / "fly.safetensors", FLY, 30.0, 1.0, seed=2)
    src = shared_file(shared_data, SLEAP)
    with small_disk(200) as disk:
        _fill(disk, 8)  # the compressed 3D of this file is small: leave less than it needs
        dest = disk / "pair_3d.h5"
        code = (
            "import sys\n"
            "from liftpose_dlc import lift_file\n"
            "from liftpose_dlc.errors import WriteError\n"
            "try:\n"
            f"    lift_file({str(src)!r}, {str(model)!r}, output={str(dest)!r}, verbose=False)\n"
            "except WriteError as e:\n"
            "    print('WRITE-ERROR', e)\n"
            "    sys.exit(3)\n"
        )
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
        )
        assert proc.returncode == 3, proc.stderr[-2000:]
        assert f"WRITE-ERROR {dest}: could not be written (No space left" in proc.stdout
        for noise in ("Exception ignored", "Traceback", "HDF5-DIAG"):
            assert noise not in proc.stderr
        _assert_clean(disk, dest, None)


def _project(shared_data: Path, root: Path, model: Path) -> Path:
    src = shared_file(shared_data, OPENFIELD)
    (root / "videos").mkdir(parents=True)
    (root / "liftpose").mkdir()
    shutil.copy(src / "config.yaml", root / "config.yaml")
    shutil.copy(src / "videos" / OPENFIELD_H5, root / "videos" / OPENFIELD_H5)
    shutil.copy(model, root / "liftpose" / "lifter.safetensors")
    for video in (src / "videos").glob("*.mp4"):  # the analysed video, linked (no space)
        (root / "videos" / video.name).symlink_to(video)
    return root / "config.yaml"


@pytest.mark.realdata
@pytest.mark.parametrize("previous", [False, True])
def test_cli_lift_project_on_a_full_disk(small_disk, shared_data, tmp_path, previous):
    """Defect 1: ``lift config.yaml`` said "wrote ..." and exited 0 with zero rows."""
    model = seeded_model_file(tmp_path / "mouse.safetensors", MOUSE, 60.0, 20.0, seed=1)
    with small_disk(400) as disk:
        config = _project(shared_data, disk / "project", model)
        dest = config.parent / "videos" / (Path(OPENFIELD_H5).stem + "_3d.h5")
        old = b"an earlier 3D file\n" if previous else None
        if old is not None:
            dest.write_bytes(old)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        args = [sys.executable, "-m", "liftpose_dlc.cli", "lift", str(config), "--overwrite"]
        proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode != 0
        assert re.search(rf"{re.escape(str(dest))}: {FAILED}", proc.stderr), proc.stderr
        assert "wrote" not in proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        assert ".tmp" not in proc.stderr
        _assert_clean(dest.parent, dest, old)


# ------------------------------------------------------------- injected ENOSPC (any user)
def _enospc(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("name", sorted(WRITERS))
@pytest.mark.parametrize("stage", ["write", "fsync"])
def test_injected_enospc(tmp_path, monkeypatch, name, stage):
    import liftpose_dlc._filesystem as files
    import liftpose_dlc.io._hdf5 as hdf5

    dest = _final(tmp_path, name)
    old = b"previous output\n"
    dest.write_bytes(old)
    if stage == "fsync":
        monkeypatch.setattr(files, "fsync_path", _enospc)
    elif name == "dlc_csv":
        monkeypatch.setattr("pandas.DataFrame.to_csv", _enospc)
    elif name == "model":
        monkeypatch.setattr(Path, "write_bytes", _enospc)
    else:
        monkeypatch.setattr(hdf5.os, "fsync", _enospc)  # inside write_image
    with pytest.raises(WriteError, match=rf"{dest.name}: could not be written \(No space") as info:
        WRITERS[name](_target(tmp_path, name))
    assert info.value.errno == errno.ENOSPC
    assert isinstance(info.value, OSError)
    _assert_clean(tmp_path, dest, old)


@pytest.mark.realdata
def test_injected_enospc_in_the_streamed_writer(shared_data, tmp_path, monkeypatch):
    import liftpose_dlc._filesystem as files

    model = seeded_model_file(tmp_path / "mouse.safetensors", MOUSE, 60.0, 20.0, seed=1)
    folder = tmp_path / "videos"
    folder.mkdir()
    copy = folder / OPENFIELD_H5
    shutil.copy(shared_file(shared_data, f"{OPENFIELD}/videos/{OPENFIELD_H5}"), copy)
    monkeypatch.setattr(files, "fsync_path", _enospc)
    with pytest.raises(WriteError, match=r"_3d\.(h5|csv): could not be written \(No space"):
        lift_file(copy, model, verbose=False, save_as_csv=True)
    assert sorted(p.name for p in folder.iterdir()) == [OPENFIELD_H5]


def test_verification_catches_a_silently_short_file(tmp_path, monkeypatch):
    """A writer that 'succeeds' but leaves fewer rows (what HDF5 did on a full tmpfs)."""
    import liftpose_dlc.io.dlc as dlc

    real = dlc.write_image

    def short(image: bytes, path: Path) -> None:
        real(image[: len(image) // 2], path)

    monkeypatch.setattr(dlc, "write_image", short)
    with pytest.raises(WriteError, match=r"out\.h5: the file read back is not what was written"):
        save_dlc(_poses_3d(), tmp_path / "out.h5")
    assert list(tmp_path.iterdir()) == []


def test_checkpoints_on_a_full_disk(small_disk):
    """Training stops with one WriteError naming the checkpoint; no temporary file is left."""
    from liftpose_dlc import Lifter

    p3 = np.random.default_rng(0).normal(size=(200, 4, 3))
    lifter = Lifter(["a", "b", "c", "d"], roots=["a"], target_sets=[["b", "c", "d"]], linear_size=8)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with small_disk(200) as disk:
            _fill(disk, 8)  # room for the training log, not for a checkpoint
            with pytest.raises(WriteError, match=r"ckpt_(last|best)\.safetensors: could not be"):
                lifter.fit(p3[..., :2], p3, epochs=1, out_dir=disk, verbose=False, min_steps=1)
            assert sorted(p.name for p in disk.iterdir()) == ["ballast.bin", "train_log.txt"]
    finally:
        torch.set_num_threads(n)


@pytest.mark.parametrize("suffix", [".gif", ".png"])
def test_figures_and_animations_with_injected_enospc(tmp_path, monkeypatch, suffix):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import liftpose_dlc._filesystem as files
    from liftpose_dlc.plot import _write_animation
    from liftpose_dlc.workflow.report import _save

    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    (line,) = ax.plot([0, 1], [0, 1])
    dest = tmp_path / f"fig{suffix}"
    dest.write_bytes(b"previous figure")
    monkeypatch.setattr(files, "fsync_path", _enospc)

    def write() -> object:
        if suffix == ".gif":
            return _write_animation(
                fig, lambda i: line.set_ydata([0, i]), range(3), dest, 5, 40, True
            )
        return _save(fig, dest, overwrite=True)

    try:
        with pytest.raises(WriteError, match=rf"fig\{suffix}: could not be written \(No space"):
            write()
    finally:
        plt.close(fig)
    _assert_clean(tmp_path, dest, b"previous figure")


def test_permission_error_names_the_output_not_the_temporary_file(tmp_path, monkeypatch):
    import tempfile

    def denied(*args: object, prefix: str = "", dir: object = None, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/{prefix}abc.tmp")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(
        WriteError, match=r"out\.h5: could not be written \(Permission denied\)"
    ) as e:
        save_dlc(_poses_3d(10), tmp_path / "out.h5")
    assert ".tmp" not in str(e.value)
    assert e.value.errno == errno.EACCES
