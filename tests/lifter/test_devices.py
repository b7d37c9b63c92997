"""Device choices: batch sizes, host-to-device copies, mixed precision (CPU here; CUDA if any)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
import torch

from liftpose_dlc.errors import ConfigError
from liftpose_dlc.lifter import devices
from liftpose_dlc.lifter.lifter import Lifter
from liftpose_dlc.lifter.session import resolve_device

KP = ["r", "a", "b", "c"]
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def _data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    p3 = rng.normal(size=(n, 4, 3))
    return p3[..., :2] + 0.01 * rng.normal(size=(n, 4, 2)), p3


@pytest.fixture(scope="module")
def trained():
    p2, p3 = _data()
    lifter = Lifter(KP, ["r"], [["a", "b", "c"]], linear_size=32, num_stage=1)
    return lifter.fit(p2, p3, epochs=2, augment=None, device="cpu", verbose=False), p2, p3


def test_cpu_choices():
    cpu = torch.device("cpu")
    assert devices.predict_batch_size(cpu) == devices.CPU_PREDICT_BATCH
    arr = np.arange(6, dtype=np.float64).reshape(3, 2)
    t = devices.to_device(arr, cpu)
    assert t.dtype == torch.float32
    assert not t.is_pinned()
    np.testing.assert_array_equal(t.numpy(), arr)
    assert devices.use_amp(False, cpu) is False
    with pytest.warns(devices.AmpIgnoredWarning, match="ignored on 'cpu'"):
        assert devices.use_amp(True, cpu) is False


def test_cuda_refused_without_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        resolve_device("cuda")


def test_predict_amp_on_cpu_is_ignored_with_a_warning(trained):
    lifter, p2, _ = trained
    plain = lifter.predict(p2)
    with pytest.warns(devices.AmpIgnoredWarning):
        np.testing.assert_array_equal(lifter.predict(p2, amp=True), plain)
    # the batch size only bounds memory
    np.testing.assert_allclose(lifter.predict(p2, batch_size=7), plain, atol=1e-6)


def test_fit_amp_on_cpu_is_ignored_with_a_warning(trained):
    p2, p3 = _data(128)
    runs = []
    for amp in (False, True):
        lifter = Lifter(KP, ["r"], [["a", "b", "c"]], linear_size=16, num_stage=1)
        with pytest.warns(devices.AmpIgnoredWarning) if amp else contextlib.nullcontext():
            lifter.fit(p2, p3, epochs=1, augment=None, device="cpu", verbose=False, amp=amp)
        runs.append(lifter.predict(p2))
    np.testing.assert_array_equal(runs[0], runs[1])


@cuda
def test_cuda_predict_matches_cpu_and_amp_keeps_the_error(trained):
    lifter, p2, p3 = trained
    cpu = lifter.predict(p2, device="cpu")
    gpu = lifter.predict(p2, device="cuda")
    np.testing.assert_allclose(gpu, cpu, atol=1e-4)
    half = lifter.predict(p2, device="cuda", amp=True)
    err = np.linalg.norm(cpu[:, 1:] - (p3[:, 1:] - p3[:, :1]), axis=-1).mean()
    err_half = np.linalg.norm(half[:, 1:] - (p3[:, 1:] - p3[:, :1]), axis=-1).mean()
    assert err_half == pytest.approx(err, rel=0.01)
    assert devices.predict_batch_size(torch.device("cuda")) >= 4096
    assert devices.to_device(p2, torch.device("cuda")).device.type == "cuda"


@cuda
def test_cuda_fit_matches_cpu_within_tolerance():
    p2, p3 = _data()
    errs = []
    for dev, amp in (("cpu", False), ("cuda", False), ("cuda", True)):
        lifter = Lifter(KP, ["r"], [["a", "b", "c"]], linear_size=32, num_stage=1)
        lifter.fit(p2, p3, epochs=5, augment=None, device=dev, verbose=False, amp=amp)
        pred = lifter.predict(p2, device="cpu")
        errs.append(np.linalg.norm(pred[:, 1:] - (p3[:, 1:] - p3[:, :1]), axis=-1).mean())
    assert errs[1] == pytest.approx(errs[0], rel=0.1)
    assert errs[2] == pytest.approx(errs[0], rel=0.1)


def test_mixed_precision_asks_for_amp_in_every_call_inside(trained):
    lifter, p2, _ = trained
    cpu = torch.device("cpu")
    plain = lifter.predict(p2)
    with devices.mixed_precision():
        with pytest.warns(devices.AmpIgnoredWarning, match="ignored on 'cpu'"):
            assert devices.use_amp(False, cpu) is False
        with pytest.warns(devices.AmpIgnoredWarning):
            np.testing.assert_array_equal(lifter.predict(p2), plain)
        with devices.mixed_precision(False):  # nested: off again
            assert devices.use_amp(False, cpu) is False
    assert devices.use_amp(False, cpu) is False  # outside: off


@cuda
def test_mixed_precision_on_cuda_is_amp(trained):
    lifter, p2, _ = trained
    with devices.mixed_precision():
        assert devices.use_amp(False, torch.device("cuda")) is True
        inside = lifter.predict(p2, device="cuda")
    np.testing.assert_array_equal(inside, lifter.predict(p2, device="cuda", amp=True))


OPENFIELD = "dlc/openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
MOUSE = Path(__file__).resolve().parents[1] / "data" / "lifters" / "mouse_engine.safetensors"


def test_cli_amp_on_the_cpu_warns_and_computes_in_float32(shared_data, tmp_path, capsys):
    """``--amp`` on a machine without CUDA: a warning, and the float32 result."""
    from realdata import shared_file

    from liftpose_dlc.cli import main
    from liftpose_dlc.io.dlc import load_dlc

    src = tmp_path / Path(OPENFIELD).name
    src.symlink_to(shared_file(shared_data, OPENFIELD))
    lift = ["lift", str(src), "--model", str(MOUSE), "--device", "cpu", "-q"]
    assert main(lift) == 0
    out = tmp_path / (src.stem + "_3d.h5")
    plain = load_dlc(out).data
    assert main([*lift, "--amp", "--overwrite"]) == 0
    err = capsys.readouterr().err
    assert "warning: --amp (mixed precision) is used on CUDA only; ignored on 'cpu'" in err
    np.testing.assert_array_equal(load_dlc(out).data, plain)
    assert plain.shape == (2330, 1, 4, 3)
    # Dask workers do not get it: said before anything is lifted
    assert main([*lift, "--amp", "--workers", "2"]) == 2
    assert "--amp is not passed on to Dask workers" in capsys.readouterr().err

    # train --amp: the same lifter as without
    p2, p3 = _data(128)
    library = tmp_path / "library.npy"
    np.save(library, p3)
    train = ["train", "--library", str(library), "--library-keypoints", *KP, "--epochs", "1"]
    train += ["--linear-size", "8", "--device", "cpu", "--n-cameras", "2", "-q"]
    assert main([*train, "--out", str(tmp_path / "a.safetensors")]) == 0
    assert main([*train, "--out", str(tmp_path / "b.safetensors"), "--amp"]) == 0
    assert "--amp (mixed precision) is used on CUDA only" in capsys.readouterr().err
    a, b = (Lifter.load(tmp_path / f"{n}.safetensors") for n in "ab")
    assert b.train_options["amp"] is True
    np.testing.assert_array_equal(a.predict(p2), b.predict(p2))
