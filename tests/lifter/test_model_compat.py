"""Model files and training results of the code before the lifter split (issue 10 §3).

``data/lifter_v1.safetensors`` was written by :func:`reference_lifter` with the code of
commit 4367a36 (before the split into encoder, network and training session), and the
SHA-256 sums below are of that code's predictions. The file must keep loading and
predicting the same, and the same seeded training must keep giving the same network.

The seeded trainings were re-pinned once, on purpose (issue 13, training time): dropout
masks are cut from a pool drawn once (:class:`~liftpose_dlc.lifter.model.PoolDropout`)
instead of drawn unit by unit, which changes the random draws of every training with
dropout. ``data/lifter_v2_pred.npz`` holds ``reference_lifter(kind).predict(inputs())``
computed with that code (one thread); the old file's predictions keep their 4367a36 pins.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from liftpose_dlc import Lifter

DATA = Path(__file__).parent / "data"
OLD_MODEL = DATA / "lifter_v1.safetensors"
OLD_PRED = DATA / "lifter_v1_pred.npz"
TRAINED_PRED = DATA / "lifter_v2_pred.npz"
KP = ["root", "a", "b", "c", "root2", "d", "e"]


def pairs(n: int = 160, seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Two seeded sequences of 2D/3D pairs (a dictionary, as the seed's data)."""
    rng = np.random.default_rng(seed)
    p3 = np.cumsum(rng.normal(0, 0.2, size=(n, len(KP), 3)), axis=0) + rng.normal(
        size=(1, len(KP), 3)
    )
    p2 = p3[..., :2] * 30 + 200 + rng.normal(0, 0.2, size=(n, len(KP), 2))
    p2[5, 2] = np.nan
    p3[7, 3] = np.nan
    half = n // 2
    return ({"s1": p2[:half], "s2": p2[half:]}, {"s1": p3[:half], "s2": p3[half:]})


def inputs() -> np.ndarray:
    """The 2D poses the hashes are of."""
    p2, _ = pairs(40, seed=1)
    return np.concatenate(list(p2.values()))


def reference_lifter(kind: str) -> Lifter:
    """A tiny seeded training of each kind (deterministic on one machine)."""
    p2, p3 = pairs()
    small = {"linear_size": 32, "num_stage": 1, "set_size": 8}
    roots, sets = ["root", "root2"], [["a", "b", "c"], ["d", "e"]]
    if kind == "default":
        lifter = Lifter(KP, roots, sets, **small)
        return lifter.fit(p2, p3, epochs=3, batch_size=32, verbose=False)
    if kind == "val_ema_norm":
        lifter = Lifter(KP, roots, sets, norm_2d=True, **small)
        t2, t3 = pairs(30, seed=2)
        return lifter.fit(
            p2, p3, val=0.2, epochs=3, batch_size=32, ema=0.9, test=(t2, t3), verbose=False
        )
    if kind == "original":
        from liftpose_dlc.lifter.lifter import ORIGINAL_MODEL_OPTIONS

        opts = {**ORIGINAL_MODEL_OPTIONS, "linear_size": 32, "num_stage": 1}
        lifter = Lifter(KP, ["root"], ["a", "b", "c", "root2", "d", "e"], **opts)
        return lifter.fit(p2, p3, epochs=2, batch_size=32, augment=None, verbose=False)
    raise ValueError(kind)


def sha256(arr: np.ndarray) -> str:
    """SHA-256 of an array's float64 bytes."""
    return hashlib.sha256(np.ascontiguousarray(arr, dtype=np.float64).tobytes()).hexdigest()


#: SHA-256 of each reference lifter's ``predict(inputs())`` with code 4367a36 (one thread).
PRED_SHA256 = {
    "default": "db5a71eaebb5d24d3e1e38dbee9500db0239cee3ae471f516a4a9d1dc6879dbf",
    "val_ema_norm": "52946ad65b60917385752e21def7ef92c353a40158c2244e5c762f7a2768e542",
    "original": "f15ab354427d56a036fc41a36850c333cb75a0b11a3d771d12889a02953074d8",
}


#: SHA-256 of each reference lifter's ``predict(inputs())`` since pooled dropout masks.
TRAINED_SHA256 = {
    "default": "e5feebe043f8f39a7ae0e4d1b3e2499ea6a7d92f4f7d7d68f14553b03d2dbf53",
    "val_ema_norm": "3c99b01ae530d88173fac05aa94b41b087411f6661bfd836d598fd33ed650b2e",
    "original": "8390c696fece41a107d83f36f2b5003c71d95affc79d1309be60ad7bf5828cad",
}


@pytest.fixture
def one_thread():
    """One torch thread: the float sums (and so the hashes) depend on the thread count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def old_predictions() -> dict[str, np.ndarray]:
    with np.load(OLD_PRED) as d:
        preds = {k: d[k] for k in d.files}
    # the stored arrays are the ones the hashes were taken of
    assert {k: sha256(v) for k, v in preds.items()} == PRED_SHA256
    return preds


@pytest.fixture(scope="module")
def trained_predictions() -> dict[str, np.ndarray]:
    with np.load(TRAINED_PRED) as d:
        preds = {k: d[k] for k in d.files}
    assert {k: sha256(v) for k, v in preds.items()} == TRAINED_SHA256
    return preds


def test_old_model_file_loads_and_predicts_the_same(one_thread, old_predictions):
    lifter = Lifter.load(OLD_MODEL)
    pred = lifter.predict(inputs())
    # bit-identical on the machine that wrote it; float32 rounding elsewhere
    np.testing.assert_allclose(pred, old_predictions["default"], rtol=1e-6, atol=1e-6)
    assert lifter.keypoints == KP
    assert lifter.roots == [0, 4]
    assert lifter.target_sets == [[1, 2, 3], [5, 6]]
    assert lifter.best_epoch == 3


@pytest.mark.parametrize("kind", sorted(TRAINED_SHA256))
def test_seeded_training_gives_the_pinned_result(one_thread, trained_predictions, kind):
    pred = reference_lifter(kind).predict(inputs())
    np.testing.assert_allclose(pred, trained_predictions[kind], rtol=1e-5, atol=1e-5)
