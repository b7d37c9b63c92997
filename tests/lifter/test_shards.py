"""Training libraries on disk: memory-mapped .npy folders and HDF5, read shard by shard."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from liftpose_dlc.errors import FileFormatError, MissingFileError, PosesValidationError
from liftpose_dlc.lifter import shards
from liftpose_dlc.lifter.lifter import Lifter
from liftpose_dlc.lifter.session import Pairs

KP = ["r", "a", "b", "c"]


def _library(n, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(4, 3))
    t = np.linspace(0, 20, n)[:, None, None]
    p3 = base + 0.4 * np.sin(t + np.arange(4)[None, :, None] * np.arange(1, 4))
    p3 = (p3 + 0.02 * rng.normal(size=p3.shape)).astype(np.float32)
    return p3[..., :2] + np.float32(0.01) * rng.normal(size=(n, 4, 2)).astype(np.float32), p3


@pytest.fixture
def folder(tmp_path):
    p2, p3 = _library(1500)
    chunks = [(p2[i : i + 500], p3[i : i + 500]) for i in range(0, 1500, 500)]
    return shards.write_pairs(tmp_path / "lib", 1500, 4, chunks), p2, p3


def test_open_read_and_take(folder):
    path, p2, p3 = folder
    pairs = shards.open_pairs(path)
    assert isinstance(pairs.pose_2d, np.memmap)
    assert len(pairs) == 1500
    rows = np.array([1499, 5, 5, 500])
    r2, r3, m = pairs.read(rows)
    np.testing.assert_array_equal(r2, p2[rows])
    np.testing.assert_array_equal(r3, p3[rows])
    assert m.all()
    small = pairs.take(np.arange(1500) % 3 == 0)
    assert type(small) is Pairs
    np.testing.assert_array_equal(small.pose_3d, p3[::3])


def test_epoch_order_visits_shards(folder, monkeypatch):
    monkeypatch.setattr(shards, "SHARD_FRAMES", 250)
    batch = shards.open_pairs(folder[0]).batch(torch.device("cpu"))
    order = batch.epoch_order(0, 1)
    assert sorted(order.tolist()) == list(range(1500))
    assert torch.equal(order, batch.epoch_order(0, 1))
    assert not torch.equal(order, batch.epoch_order(0, 2))
    blocks = (order // 250).reshape(6, 250)  # each run of 250 frames lies in one shard
    assert (blocks == blocks[:, :1]).all()
    got = batch.index(order[:7])
    np.testing.assert_array_equal(got.pose_2d.numpy(), folder[1][order[:7].numpy()])


def test_fit_from_disk_like_in_memory(folder, tmp_path):
    path, p2, p3 = folder
    opts = {"epochs": 3, "batch_size": 64, "augment": None, "verbose": False, "device": "cpu"}
    errs = []
    for data in (shards.open_pairs(path), None):
        lifter = Lifter(KP, ["r"], [["a", "b", "c"]], linear_size=32, num_stage=1)
        if data is None:
            lifter.fit(p2, p3, **opts)
        else:
            lifter.fit(data, None, **opts)
        pred = lifter.predict(p2.astype(np.float64))
        errs.append(np.linalg.norm(pred[:, 1:] - (p3[:, 1:] - p3[:, :1]), axis=-1).mean())
    assert errs[0] == pytest.approx(errs[1], rel=0.25)
    assert errs[0] < 0.1

    h5 = tmp_path / "lib.h5"
    with h5py.File(h5, "w") as f:
        f["pose_2d"], f["pose_3d"] = p2, p3
        f["mask"] = np.ones((1500, 4), bool)
    pairs = shards.open_pairs(h5)
    np.testing.assert_array_equal(pairs.read(np.array([9, 3, 3]))[1], p3[[9, 3, 3]])
    lifter = Lifter(KP, ["r"], [["a", "b", "c"]], linear_size=16, num_stage=1)
    lifter.fit(pairs, None, **{**opts, "epochs": 1}, val=0.1)
    assert len(lifter.history) == 1


def test_bad_libraries(tmp_path, folder):
    with pytest.raises(MissingFileError, match="does not exist"):
        shards.open_pairs(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingFileError, match="no pose_2d.npy"):
        shards.open_pairs(tmp_path / "empty")
    np.save(tmp_path / "empty" / "pose_2d.npy", np.zeros((5, 4, 2), np.float32))
    np.save(tmp_path / "empty" / "pose_3d.npy", np.zeros((6, 4, 3), np.float32))
    with pytest.raises(FileFormatError, match=r"pose_3d must be \(5, 4, 3\)"):
        shards.open_pairs(tmp_path / "empty")
    lifter = Lifter(["r", "a", "b"], ["r"], [["a", "b"]])
    with pytest.raises(PosesValidationError, match="4 keypoints"):
        lifter.fit(shards.open_pairs(folder[0]), None, epochs=1, verbose=False)
