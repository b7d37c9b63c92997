import pytest
import torch

from liftpose_dlc.errors import ConfigError
from liftpose_dlc.lifter.model import LiftPoseNet, ModelOptions


def _n_params(net):
    return sum(p.numel() for p in net.parameters())


def test_original_architecture_exactly():
    net = LiftPoseNet(24, 36, ModelOptions())
    # w1 + BN, 2 blocks of (2 linear + 2 BN), w2; no skip path
    expected = (24 * 1024 + 1024) + 2 * 1024
    expected += 2 * 2 * (1024 * 1024 + 1024 + 2 * 1024)
    expected += 1024 * 36 + 36
    assert _n_params(net) == expected
    assert net.skip is None
    assert len(net.linear_stages) == 2
    assert net.dropout.p == 0.5
    assert isinstance(net.linear_stages[0].batch_norm1, torch.nn.BatchNorm1d)


def test_options_change_the_model():
    small = LiftPoseNet(24, 36, ModelOptions(linear_size=64, num_stage=1, dropout=0.1))
    assert small.w1.out_features == 64
    assert len(small.linear_stages) == 1
    assert small.linear_stages[0].dropout.p == 0.1
    skip = LiftPoseNet(24, 36, ModelOptions(linear_size=64, linear_skip=True))
    assert skip.skip is not None
    assert (
        _n_params(skip)
        == _n_params(LiftPoseNet(24, 36, ModelOptions(linear_size=64))) + 24 * 36 + 36
    )


def test_linear_skip_starts_as_the_linear_map():
    net = LiftPoseNet(4, 3, ModelOptions(linear_size=16, linear_skip=True)).eval()
    with torch.no_grad():
        net.skip.weight.copy_(torch.arange(12.0).reshape(3, 4))
        net.skip.bias.fill_(1.0)
    x = torch.randn(5, 4)
    torch.testing.assert_close(net(x), x @ net.skip.weight.T + 1.0)


def test_bad_options():
    with pytest.raises(ConfigError, match="dropout"):
        ModelOptions(dropout=1.5)
    with pytest.raises(ConfigError, match="unknown model options"):
        ModelOptions.from_kwargs(width=3)


def test_original_options_constant():
    from liftpose_dlc.lifter.lifter import DEFAULT_MODEL_OPTIONS, ORIGINAL_MODEL_OPTIONS

    assert ORIGINAL_MODEL_OPTIONS == {
        "linear_size": 1024,
        "num_stage": 2,
        "dropout": 0.5,
        "linear_skip": False,
        "norm_2d": False,
        "root_input": False,
        "chain_features": False,
    }
    assert set(DEFAULT_MODEL_OPTIONS) == set(ORIGINAL_MODEL_OPTIONS)
