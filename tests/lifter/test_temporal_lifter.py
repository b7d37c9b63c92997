"""The temporal lifter: options, masking, causality, sequences, save/load, streaming, seed API."""

import numpy as np
import pytest
import torch

from liftpose_dlc import Lifter, Poses, lift_poses
from liftpose_dlc.engine import LiftEngine
from liftpose_dlc.errors import ConfigError
from liftpose_dlc.lifter.model import ModelOptions
from liftpose_dlc.lifter.temporal import TemporalLifter, _window_batch, _windows
from liftpose_dlc.lifter.temporal_net import TemporalNet, TemporalOptions

KP = ["root", "a", "b", "c"]


def walk(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth 3D motion of 4 joints and its noisy 2D (x, y)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None] / 10.0
    phase = rng.uniform(0, 6, 3)
    p3 = np.zeros((n, 4, 3))
    for j in range(1, 4):
        p3[:, j] = j * np.hstack(
            [np.cos(t + phase[j - 1]), np.sin(t + phase[j - 1]), 0.5 * np.cos(2 * t)]
        )
    p3 += 5.0
    return p3[..., :2] + rng.normal(0, 0.02, (n, 4, 2)), p3


@pytest.fixture(scope="module")
def trained() -> TemporalLifter:
    p2, p3 = walk(120)
    lifter = Lifter(KP, [0], [[1, 2, 3]], temporal=9, linear_size=32, set_size=16, channels=16)
    return lifter.fit(p2, p3, epochs=3, verbose=False)


def test_options_make_a_temporal_lifter():
    lifter = Lifter(KP, [0], [[1, 2, 3]], temporal=27, causal=True, linear_size=32)
    assert isinstance(lifter, TemporalLifter)
    assert lifter.context_frames == (26, 0)
    assert Lifter(KP, [0], [[1, 2, 3]], temporal=81).context_frames == (40, 40)
    assert type(Lifter(KP, [0], [[1, 2, 3]])) is Lifter
    assert lifter.lifter_options["temporal"] == 27
    assert lifter.lifter_options["causal"]
    assert isinstance(Lifter.like(lifter), TemporalLifter)
    with pytest.raises(ConfigError, match="power of 3"):
        Lifter(KP, [0], [[1, 2, 3]], temporal=10)
    with pytest.raises(ConfigError, match="give temporal"):
        Lifter(KP, [0], [[1, 2, 3]], causal=True)
    with pytest.raises(ConfigError, match="channels"):
        Lifter(KP, [0], [[1, 2, 3]], temporal=9, channels=0)


@pytest.mark.parametrize("causal", [False, True])
def test_windows_and_sequences_agree(causal):
    """The strided (training) and dilated (prediction) forms give the same outputs."""
    torch.manual_seed(0)
    opts = TemporalOptions(temporal=27, causal=causal, channels=16)
    net = TemporalNet(7, 6, ModelOptions(linear_size=16, linear_skip=True, set_size=0), opts)
    for p in net.parameters():
        torch.nn.init.normal_(p, 0, 0.3)
    net.eval()
    seq = torch.randn(1, 40 + 26, 7)
    whole = net.forward_sequence(seq)[0]
    windows = torch.stack([seq[0, i : i + 27] for i in range(40)])
    torch.testing.assert_close(net(windows), whole, rtol=1e-4, atol=1e-5)


def test_causal_output_ignores_future_frames():
    p2, p3 = walk(80)
    lifter = Lifter(KP, [0], [[1, 2, 3]], temporal=9, causal=True, linear_size=16)
    lifter.fit(p2, p3, epochs=1, verbose=False)
    base = lifter.predict(p2)
    moved = p2.copy()
    moved[50:] += 3.0
    out = lifter.predict(moved)
    np.testing.assert_array_equal(out[:50], base[:50])
    assert not np.allclose(out[50:], base[50:])


def test_a_missing_point_touches_only_its_receptive_field(trained):
    p2, p3 = walk(60, seed=1)
    base = trained.predict(p2)
    holed = p2.copy()
    holed[30, 2] = np.nan
    out = trained.predict(holed)
    before, after = trained.context_frames
    far = np.r_[0 : 30 - after, 30 + before + 1 : 60]
    np.testing.assert_allclose(out[far], base[far], rtol=0, atol=1e-6)
    near = [f for f in range(30 - after, 30 + before + 1) if f != 30]
    assert np.isfinite(out[near]).all()  # the other frames of its windows are still lifted
    assert not np.allclose(out[29], base[29])
    # the other frames' inputs are unchanged, and the loss denominator too
    pairs, _ = trained._pairs(p2, p3, None, "t")
    holed_pairs, _ = trained._pairs(holed, p3, None, "t")
    dev = torch.device("cpu")
    w0, w1 = (_windows(p, p.lengths, trained.context_frames, dev) for p in (pairs, holed_pairs))
    x0, _, wt0, _, _ = _window_batch(w0.frames, w0.index, trained.encoder, before)
    x1, _, wt1, _, _ = _window_batch(w1.frames, w1.index, trained.encoder, before)
    torch.testing.assert_close(wt0, wt1)
    changed = (x0 != x1).any(-1)  # (windows, frames of the window)
    frames = w0.index[changed]
    assert set(frames.tolist()) == {30}


def test_sequences_are_lifted_apart(trained):
    p2a, _ = walk(40, seed=2)
    p2b, _ = walk(25, seed=3)
    both = trained.predict({"a": p2a, "b": p2b})
    np.testing.assert_allclose(both["a"], trained.predict(p2a), atol=1e-6)
    np.testing.assert_allclose(both["b"], trained.predict(p2b), atol=1e-6)
    joined = trained.predict(np.concatenate([p2a, p2b]))
    assert not np.allclose(joined[38:42], np.concatenate([both["a"][38:], both["b"][:2]]))


def test_a_gap_splits_a_sequence(trained):
    p2, _ = walk(60, seed=4)
    holed = p2.copy()
    holed[20:24] = np.nan
    out = trained.predict(holed)
    assert np.isnan(out[20:24]).all()
    np.testing.assert_allclose(out[:20], trained.predict(p2[:20]), atol=1e-6)
    np.testing.assert_allclose(out[24:], trained.predict(p2[24:]), atol=1e-6)


def test_save_load_bit_identical(trained, tmp_path):
    path = trained.save(tmp_path / "t.safetensors")
    back = Lifter.load(path)
    assert isinstance(back, TemporalLifter)
    assert back.temporal == trained.temporal
    assert back.lifter_options == trained.lifter_options
    p2, _ = walk(50, seed=5)
    np.testing.assert_array_equal(back.predict(p2), trained.predict(p2))
    assert b"pickle" not in path.read_bytes()[:200]


def test_streaming_equals_whole(trained):
    """The engine's chunks overlap by the window: chunked and whole lifts agree."""
    p2, _ = walk(203, seed=6)
    p2[100:104] = np.nan  # a gap across a chunk boundary
    data = np.stack([p2, walk(203, seed=7)[0]], axis=1)
    data[150:170, 1] = np.nan  # the second individual leaves for a while
    poses = Poses(data, keypoints=KP, individuals=["f1", "f2"])
    whole = LiftEngine(trained, poses, chunk_size=10_000).lift_all().poses.data
    for size in (13, 101):
        chunked = LiftEngine(trained, poses, chunk_size=size).lift_all().poses.data
        np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-5, equal_nan=True)
    # a window follows one individual: f2 alone lifts the same
    alone = lift_poses(poses.select(individuals=["f2"]), trained).poses.data
    np.testing.assert_allclose(alone[:, 0], whole[:, 1], atol=1e-5, equal_nan=True)
    assert np.isnan(whole[150:170, 1]).all()
    assert np.isfinite(whole[171, 1, 1:]).all()


def test_seed_api_trains_and_tests_a_temporal_lifter(tmp_path):
    from liftpose_dlc import load_test_results, test, train

    p2, p3 = walk(100)
    t2, t3 = walk(40, seed=9)
    t2, t3 = {"t1": t2[:25], "t2": t2[25:]}, {"t1": t3[:25], "t2": t3[25:]}
    lifter = train(
        {"s1": p2[:60], "s2": p2[60:]},
        t2,
        {"s1": p3[:60], "s2": p3[60:]},
        t3,
        [0],
        [1, 2, 3],
        out_dir=tmp_path,
        training_kwargs={"temporal": 9, "linear_size": 16, "epochs": 2, "verbose": False},
    )
    assert isinstance(lifter, TemporalLifter)
    test(tmp_path)
    gt, pred, good = load_test_results(tmp_path)
    assert pred.shape == (40, 4, 3)
    assert good[:, 1:].all()
    assert isinstance(Lifter.load(tmp_path / "ckpt_best.safetensors"), TemporalLifter)
    # resume to more epochs from the last checkpoint
    lifter2 = Lifter(4, [0], [[1, 2, 3]], temporal=9, linear_size=16)
    lifter2.fit(
        {"s1": p2[:60], "s2": p2[60:]},
        {"s1": p3[:60], "s2": p3[60:]},
        epochs=3,
        out_dir=tmp_path,
        resume=True,
        verbose=False,
    )
    assert lifter2.history[-1].epoch == 3


def test_a_keypoint_map_keeps_the_temporal_context(trained):
    """Through a keypoint map (the user's names) a temporal model still gets its windows."""
    from liftpose_dlc.pretrained.adapt import MappedTemporalLifter, adapt_lifter

    users = ["Root", "A", "B", "C"]
    mapping = dict(zip(users, KP, strict=True))
    mapped, match = adapt_lifter(trained, users, mapping)
    assert isinstance(mapped, MappedTemporalLifter)
    assert mapped.context_frames == trained.context_frames == (4, 4)
    p2, _ = walk(60, seed=3)
    direct = lift_poses(Poses(p2[:, None], keypoints=KP), trained).poses.data
    through = lift_poses(Poses(p2[:, None], keypoints=users), mapped).poses.data
    np.testing.assert_allclose(through, direct, atol=1e-5)
    # lifted frame by frame instead, the output would differ (the window matters)
    frames = np.stack([np.asarray(trained.predict(p2[i : i + 1]))[0] for i in range(5)])
    assert np.abs(frames - direct[:5, 0]).max() > 1e-4


class _Stop(Exception):
    pass


@pytest.mark.parametrize("temporal", [None, 9])
def test_training_reports_progress_and_cancels_through_the_observer(temporal):
    # the napari Train panel's hook (observe_training) sees a temporal lifter's steps as it
    # sees a frame lifter's, and an exception from it stops training
    from liftpose_dlc.lifter.session import observe_training

    p2, p3 = walk(100)
    window = {} if temporal is None else {"temporal": temporal, "channels": 16}
    seen: list[tuple[int, int]] = []
    lifter = Lifter(KP, [0], [[1, 2, 3]], linear_size=32, **window)
    with observe_training(lambda done, total: seen.append((done, total))):
        lifter.fit(p2, p3, epochs=2, batch_size=32, augment=None, verbose=False)
    assert type(lifter).__name__ == ("Lifter" if temporal is None else "TemporalLifter")
    # every frame has its 2D and 3D: 100 samples (frames or windows) an epoch, 32 a step
    assert seen[-1] == (200, 200)
    assert [d for d, _ in seen[:4]] == [32, 64, 96, 100]
    assert len(seen) == 8

    def cancel(done: int, total: int) -> None:
        if done >= 64:
            raise _Stop

    again = Lifter(KP, [0], [[1, 2, 3]], linear_size=32, **window)
    with observe_training(cancel), pytest.raises(_Stop):
        again.fit(p2, p3, epochs=2, batch_size=32, augment=None, verbose=False)
    assert not again.history  # stopped in the first epoch


def test_training_windows_stay_within_each_individual(monkeypatch):
    # each individual of a Poses is one sequence in training too (as in predict)
    from liftpose_dlc.lifter.temporal import TemporalSession

    seen: list[list[int]] = []
    samples = TemporalSession._samples

    def spy(self, pairs, lengths=None):
        seen.append(list(lengths) if lengths is not None else None)
        return samples(self, pairs, lengths)

    monkeypatch.setattr(TemporalSession, "_samples", spy)
    (a2, a3), (b2, b3) = walk(60, seed=1), walk(60, seed=2)
    p2 = Poses(np.stack([a2, b2], 1), keypoints=KP, individuals=["a", "b"])
    p3 = Poses(np.stack([a3, b3], 1), keypoints=KP, individuals=["a", "b"])
    lifter = Lifter(KP, [0], [[1, 2, 3]], temporal=9, linear_size=32, channels=16)
    lifter.fit(p2, p3, epochs=1, augment=None, verbose=False, val=0.1)
    assert seen == [[6, 6], [54, 54]]  # validation: the last 10% of each; training: the rest
