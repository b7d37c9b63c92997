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
