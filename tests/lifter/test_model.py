import pytest
import torch

from liftpose_dlc.errors import ConfigError
from liftpose_dlc.lifter.augmentation import PoseBatch
from liftpose_dlc.lifter.encoder import input_size, make_layout, set_columns
from liftpose_dlc.lifter.model import LiftPoseNet, ModelOptions, SetBranches
from liftpose_dlc.lifter.session import _view_gate_loss


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
        "set_size": 0,
        "set_stage": 1,
        "view_gate": False,
    }
    assert set(DEFAULT_MODEL_OPTIONS) == set(ORIGINAL_MODEL_OPTIONS)


def test_bad_set_options():
    with pytest.raises(ConfigError, match="set_size"):
        ModelOptions(set_size=-1)
    with pytest.raises(ValueError, match="set_size > 0 needs"):
        LiftPoseNet(6, 6, ModelOptions(set_size=8))


def _two_sets():
    # 7 joints: roots 0 and 4; sets of unequal size (3 and 2 targets)
    layout = make_layout([str(i) for i in range(7)], [0, 4], [[1, 2, 3], [5, 6]])
    n_in = input_size(layout, root_input=True, chain_features=True)
    return layout, n_in, set_columns(layout, root_input=True, chain_features=True)


def test_set_columns_pick_each_sets_inputs_and_outputs():
    layout, n_in, (ins, outs) = _two_sets()
    # input: 5 targets + 1 root (x, y) = 12, chain 10, flags 5 + 1 = 28 columns
    assert n_in == 28
    root_cols = [10, 11, 27]
    assert ins[0] == [0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17, 22, 23, 24, *root_cols]
    assert ins[1] == [6, 7, 8, 9, 18, 19, 20, 21, 25, 26, *root_cols]
    assert outs == [list(range(9)), list(range(9, 15))]


def test_set_branches_see_only_their_own_inputs():
    layout, n_in, (ins, outs) = _two_sets()
    branches = SetBranches(n_in, ins, outs, 15, ModelOptions(set_size=16, dropout=0.0))
    torch.nn.init.normal_(branches.last.weight)  # the output layer starts at zero
    branches.eval()
    x = torch.randn(4, n_in)
    y = branches(x)
    assert y.shape == (4, 15)
    # changing an input of set 1 only (its first chain feature) leaves set 0's outputs
    x2 = x.clone()
    x2[:, 18] += 5.0
    y2 = branches(x2)
    torch.testing.assert_close(y2[:, :9], y[:, :9])
    assert (y2[:, 9:] - y[:, 9:]).abs().max() > 1e-3
    # and the shared roots' layout reaches both
    x3 = x.clone()
    x3[:, 10] += 5.0
    y3 = branches(x3)
    assert (y3[:, :9] - y[:, :9]).abs().max() > 1e-3
    assert (y3[:, 9:] - y[:, 9:]).abs().max() > 1e-3


def test_set_branches_start_at_zero_and_add_to_the_output():
    layout, n_in, groups = _two_sets()
    opts = ModelOptions(linear_size=16, linear_skip=True)
    plain = LiftPoseNet(n_in, 15, opts).eval()
    with_sets = LiftPoseNet(n_in, 15, ModelOptions(**{**opts.as_dict(), "set_size": 8}), groups)
    with_sets.load_state_dict(plain.state_dict(), strict=False)
    with_sets.eval()
    x = torch.randn(3, n_in)
    torch.testing.assert_close(with_sets(x), plain(x))
    assert _n_params(with_sets) > _n_params(plain)


def test_view_gate_mixes_expert_and_general_by_the_gate():
    layout, n_in, groups = _two_sets()
    net = LiftPoseNet(n_in, 15, ModelOptions(linear_size=16, set_size=8, view_gate=True), groups)
    net.eval()
    x = torch.randn(5, n_in)
    general, expert, logit = net.parts(x)
    g = torch.sigmoid(logit)[:, None]
    torch.testing.assert_close(net(x), g * expert + (1 - g) * general)
    with torch.no_grad():  # a gate that is sure: the expert alone answers
        net.view.gate[2].bias.fill_(50.0)
    torch.testing.assert_close(net(x), net.view.expert(x))
    with pytest.raises(RuntimeError, match="view_gate"):
        LiftPoseNet(n_in, 15, ModelOptions(linear_size=16)).parts(x)


def test_view_gate_loss_trains_the_expert_on_unchanged_samples_only():
    layout, n_in, groups = _two_sets()
    opts = ModelOptions(linear_size=16, set_size=8, view_gate=True, dropout=0.0)
    net = LiftPoseNet(n_in, 15, opts, groups)
    pose_2d = torch.randn(4, 7, 2)
    pose_3d = torch.randn(4, 7, 3)
    pose_3d[0, 2] = float("nan")  # a missing point is not a change
    ones = torch.ones(4, 7, dtype=torch.bool)
    before = PoseBatch(pose_2d, pose_3d, ones, ones)
    rotated = pose_3d.clone()
    rotated[2:] += 1.0  # samples 2 and 3 "seen from another view"
    after = PoseBatch(pose_2d, rotated, ones, ones)
    x = torch.randn(4, n_in)
    y = torch.randn(4, 15)
    w = torch.ones(4, 15)
    loss = _view_gate_loss(net, x, y, w, before, after, "l1", torch.ones(15))
    loss.backward()
    expert_grad = net.view.skip.weight.grad
    # the expert's gradient comes from samples 0 and 1 only: recompute it from them
    net.zero_grad()
    general, expert, logit = net.parts(x)
    ref = (expert[:2] - y[:2]).abs().mean()
    ref.backward()
    torch.testing.assert_close(expert_grad, net.view.skip.weight.grad)
    # the gate is told which samples are real (1, 1, 0, 0)
    net.zero_grad()
    general, expert, logit = net.parts(x)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        logit, torch.tensor([1.0, 1.0, 0.0, 0.0])
    )
    general_l1 = (general - y).abs().mean()
    torch.testing.assert_close(loss, general_l1 + ref.detach() + bce)


def test_group_layer_normalises_as_batchnorm1d_per_group():
    from liftpose_dlc.lifter.model import _GroupLayer

    torch.manual_seed(0)
    layer = _GroupLayer(3, 5, 4, dropout=0.0)
    with torch.no_grad():
        layer.bn_weight.uniform_(0.5, 2.0)
        layer.bn_bias.normal_()
    refs = []
    for g in range(3):
        lin = torch.nn.Linear(5, 4)
        bn = torch.nn.BatchNorm1d(4)
        with torch.no_grad():
            lin.weight.copy_(layer.linear.weight[g].T)
            lin.bias.copy_(layer.linear.bias[g, 0])
            bn.weight.copy_(layer.bn_weight[g, 0])
            bn.bias.copy_(layer.bn_bias[g, 0])
        refs.append((lin, bn))
    x = torch.randn(3, 16, 5)

    def reference(x):
        silu = torch.nn.functional.silu
        return torch.stack([silu(bn(lin(x[g]))) for g, (lin, bn) in enumerate(refs)])

    for _ in range(3):  # training: batch statistics, running averages updated alike
        torch.testing.assert_close(layer(x), reference(x))
    for g, (_, bn) in enumerate(refs):
        torch.testing.assert_close(layer.running_mean[g, 0], bn.running_mean)
        torch.testing.assert_close(layer.running_var[g, 0], bn.running_var)
    layer.eval()
    for _, bn in refs:
        bn.eval()
    x_new = torch.randn(3, 7, 5)
    torch.testing.assert_close(layer(x_new), reference(x_new))


def test_eval_forward_does_not_depend_on_the_batch():
    from liftpose_dlc.lifter.model import EVAL_CHUNK

    layout, n_in, groups = _two_sets()
    net = LiftPoseNet(n_in, 15, ModelOptions(linear_size=16, set_size=8, view_gate=True), groups)
    for _ in range(3):
        net(torch.randn(32, n_in))  # move the running statistics away from their start
    net.eval()
    x = torch.randn(EVAL_CHUNK + 300, n_in)
    with torch.no_grad():
        whole = net(x)
        rows = torch.cat([net(x[i : i + 7]) for i in range(0, len(x), 7)])
    torch.testing.assert_close(whole, rows)


def test_set_columns_match_the_columns_make_input_fills():
    # set_columns and make_input describe one input layout: moving one target's 2D point
    # must change only columns of its own set (its coordinates, chain features)
    from liftpose_dlc.lifter.encoder import compute_stats, make_input

    layout, n_in, (ins, _) = _two_sets()
    torch.manual_seed(0)
    pose = torch.randn(4, 7, 2)
    valid = torch.ones(4, 7, dtype=torch.bool)
    stats = compute_stats(
        pose, valid, torch.randn(4, 7, 3), valid, layout, False, True, True
    ).tensors()
    x = make_input(pose, valid, layout, stats, False)
    assert x.shape[1] == n_in
    for joint, own in ((2, 0), (6, 1)):
        moved = pose.clone()
        moved[:, joint] += 0.5
        changed = (make_input(moved, valid, layout, stats, False) != x).any(0)
        cols = set(torch.nonzero(changed)[:, 0].tolist())
        assert cols
        assert cols <= set(ins[own])
    # hiding a point clears its flag, which belongs to its set
    hidden = valid.clone()
    hidden[:, 5] = False
    changed = (make_input(pose, hidden, layout, stats, False) != x).any(0)
    assert set(torch.nonzero(changed)[:, 0].tolist()) <= set(ins[1])


def test_pool_dropout_is_dropout_with_pooled_masks():
    from liftpose_dlc.lifter.model import PoolDropout

    drop = PoolDropout(0.25)
    x = torch.ones(64, 300)
    torch.manual_seed(0)
    a, b = drop(x), drop(x)
    # each unit is 0 or 1 / (1 - p); about p of them are dropped; two calls differ
    assert torch.unique(a).tolist() == [0.0, pytest.approx(4 / 3)]
    assert (a == 0).float().mean().item() == pytest.approx(0.25, abs=0.01)
    assert not torch.equal(a, b)
    # the same generator state gives the same masks (runs are reproducible and resumable)
    torch.manual_seed(0)
    assert torch.equal(drop(x), a)
    # evaluation mode and p = 0: the identity
    assert drop.eval()(x) is x
    assert PoolDropout(0.0)(x) is x
    net = LiftPoseNet(12, 6, ModelOptions(linear_size=16, num_stage=1, dropout=0.3))
    assert [m.p for m in net.modules() if isinstance(m, PoolDropout)] == [0.3, 0.3]
