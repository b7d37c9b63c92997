import numpy as np
import pytest
import torch

from liftpose_dlc.errors import ConfigError
from liftpose_dlc.lifter.encoder import EncoderOptions, InputEncoder
from liftpose_dlc.lifter.lifter import Lifter, known_options, split_options
from liftpose_dlc.lifter.session import (
    Pairs,
    TrainOptions,
    _clip_grad_norm,
    masked_loss,
    validation_mask,
)


def test_validation_mask_is_the_last_frames_of_each_sequence():
    assert validation_mask([10, 3], 0.2).nonzero()[0].tolist() == [8, 9, 12]
    # a sequence too short to give one frame and keep two gives none
    assert validation_mask([2, 10], 0.3).nonzero()[0].tolist() == [9, 10, 11]
    assert not validation_mask([10], 0.0).any()
    assert not validation_mask([4], 0.1).any()  # round(0.4) = 0


def test_workflow_monitor_uses_the_same_rule():
    from liftpose_dlc.workflow.training import _validation_monitor

    rng = np.random.default_rng(0)
    p2 = {"a": rng.normal(size=(20, 3, 2)), "b": rng.normal(size=(7, 3, 2))}
    p3 = {"a": rng.normal(size=(20, 3, 3)), "b": rng.normal(size=(7, 3, 3))}
    m2, m3 = _validation_monitor(p2, p3, 0.2)
    is_val = validation_mask([20, 7], 0.2)
    np.testing.assert_array_equal(m2, np.concatenate([p2["a"], p2["b"]])[is_val])
    np.testing.assert_array_equal(m3, np.concatenate([p3["a"], p3["b"]])[is_val])
    np.testing.assert_array_equal(m2, np.concatenate([p2["a"][16:], p2["b"][6:]]))
    assert _validation_monitor(p2, p3, 0) is None


def test_split_options_sorts_every_option_once():
    enc, model, train = split_options(
        {"norm_2d": True, "linear_size": 64, "epochs": 3, "lr": 1e-4, "val": 0.1, "device": "cpu"}
    )
    assert enc == {"norm_2d": True}
    assert model == {"linear_size": 64}
    assert train == {"epochs": 3, "lr": 1e-4, "val": 0.1, "device": "cpu"}
    names = known_options()
    assert set(EncoderOptions.names()) | set(TrainOptions.names()) <= set(names)
    assert len(names) == len(set(names))
    with pytest.raises(ConfigError, match=r"unknown options \['width'\]; known keys: .*batch_size"):
        split_options({"width": 3, "epochs": 1})
    # a training option is not the lifter's
    with pytest.raises(ConfigError, match=r"options \['epochs'\] \(training options go to fit"):
        Lifter(3, [0], [1, 2], epochs=3)


def test_encoder_round_trip_and_encode_decode():
    rng = np.random.default_rng(0)
    p3 = rng.normal(size=(30, 4, 3))
    p2 = p3[..., :2] * 10
    enc = InputEncoder(
        ["r", "a", "q", "b"], ["r", "q"], [["a"], ["b"]], EncoderOptions(True, True, True)
    )
    assert not enc.is_fitted
    data = Pairs(p2, p3, np.ones((30, 4), dtype=bool)).batch(torch.device("cpu"))
    enc.fit(data)
    assert enc.input_size == 2 * 3 + 3 + 2 * 2
    x = enc.encode(data.pose_2d, data.valid_2d)
    assert x.shape == (30, enc.input_size)
    y, w = enc.target(data.pose_3d, data.weight_3d)
    rel = enc.decode(y)  # the standardised target back to root-relative 3D
    np.testing.assert_allclose(rel[:, 0].numpy(), p3[:, 1] - p3[:, 0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rel[:, 1].numpy(), p3[:, 3] - p3[:, 2], rtol=1e-5, atol=1e-5)
    again = InputEncoder.from_tensors(
        enc.keypoints, [0, 2], [[1], [3]], enc.options, enc.to_tensors()
    )
    torch.testing.assert_close(again.encode(data.pose_2d, data.valid_2d), x)
    np.testing.assert_array_equal(again.root_offsets, enc.root_offsets)


def test_mpjpe_loss_and_clipping():
    out = torch.zeros(2, 6)
    target = torch.tensor([[3.0, 4.0, 0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 2.0, 9.0, 9.0, 9.0]])
    w = torch.ones(2, 6)
    w[1, 3:] = 0  # second joint of frame 1 excluded
    # joint distances 5, 1, 2 (the excluded one does not count)
    assert float(masked_loss(out, target, w, "mpjpe")) == pytest.approx(8 / 3)
    scale = torch.tensor([2.0, 2.0, 2.0, 1.0, 1.0, 1.0])
    assert float(masked_loss(out, target, w, "mpjpe", scale)) == pytest.approx((10 + 1 + 4) / 3)
    a = torch.nn.Linear(4, 3)
    b = torch.nn.Linear(4, 3)
    b.load_state_dict(a.state_dict())
    x = torch.randn(8, 4) * 10
    for net in (a, b):
        net(x).pow(2).sum().backward()
    torch.nn.utils.clip_grad_norm_(a.parameters(), 1.0)
    _clip_grad_norm(list(b.parameters()), 1.0)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa.grad, pb.grad)


def test_checkpoints_of_a_long_run_are_spaced(tmp_path, monkeypatch):
    from liftpose_dlc.lifter.session import TrainingSession, checkpoint_every

    assert [checkpoint_every(e) for e in (1, 20, 21, 40, 286)] == [1, 1, 2, 2, 15]
    written = []
    write = TrainingSession._write_checkpoint

    def spy(self, path, with_optimizer):
        written.append((self.state.epoch, path.name))
        write(self, path, with_optimizer)

    monkeypatch.setattr(TrainingSession, "_write_checkpoint", spy)
    rng = np.random.default_rng(0)
    p3 = rng.normal(size=(40, 3, 3))
    lifter = Lifter(3, [0], [[1, 2]], linear_size=8, num_stage=1, set_size=0, view_gate=False)
    lifter.fit(p3[..., :2], p3, epochs=45, batch_size=40, out_dir=tmp_path, verbose=False)
    # 45 epochs: every third epoch and the last, ckpt_last and ckpt_best each time
    epochs = [3 * k for k in range(1, 16)]
    assert written == [
        (e, n) for e in epochs for n in ("ckpt_last.safetensors", "ckpt_best.safetensors")
    ]
    log = (tmp_path / "train_log.txt").read_text().splitlines()
    assert len(log) == 46  # the log still gets every epoch
    written.clear()
    # a held-out set selects the epoch: a new best is written at once
    lifter.fit(p3[..., :2], p3, epochs=45, batch_size=40, val=0.2, out_dir=tmp_path, verbose=False)
    best = [e for e, n in written if n == "ckpt_best.safetensors"]
    assert best == [i + 1 for i, r in enumerate(lifter.history) if r.is_best]
    assert [e for e, n in written if n == "ckpt_last.safetensors"] == epochs


def test_automatic_epochs_grow_with_the_data_up_to_min_steps():
    opts = TrainOptions()
    # P1-sized data (800 frames, 7 steps of 128): the epoch cap, 1,120 steps
    assert opts.resolved(800).epochs == opts.max_auto_epochs == 160
    # from about 1,600 frames on: enough epochs for min_steps (2,000) steps
    assert opts.resolved(1600).epochs == 154
    assert opts.resolved(100_000).epochs == 30
    # given epochs are kept as they are, and the schedule spans them
    assert TrainOptions(epochs=15).resolved(800).epochs == 15
    assert TrainOptions(max_auto_epochs=500).resolved(800).epochs == 286
    with pytest.raises(ConfigError, match="max_auto_epochs"):
        TrainOptions(max_auto_epochs=0)


def test_given_epochs_set_the_cosine_schedule():
    rng = np.random.default_rng(1)
    p3 = rng.normal(size=(64, 3, 3))
    lifter = Lifter(3, [0], [[1, 2]], linear_size=8, num_stage=1, set_size=0, view_gate=False)
    lifter.fit(p3[..., :2], p3, epochs=7, batch_size=32, augment=None, verbose=False)
    assert len(lifter.history) == 7
    # 7 epochs of 2 steps: the rate after epoch k is the cosine at step 2k of 14
    expected = [1e-3 * 0.5 * (1 + np.cos(np.pi * 2 * k / 14)) for k in range(1, 8)]
    np.testing.assert_allclose([r.lr for r in lifter.history], expected, atol=1e-12)
