import numpy as np
import pytest
import torch

from liftpose_dlc.errors import ConfigError, KeypointError
from liftpose_dlc.lifter.encoder import (
    Stats,
    compute_stats,
    make_input,
    make_layout,
    make_target,
)
from liftpose_dlc.lifter.session import masked_loss

KP = ["a", "b", "c", "d", "e"]


def test_layout_accepts_flat_nested_and_names():
    flat = make_layout(KP, [0], [1, 2, 3, 4])
    nested = make_layout(KP, [0], [[1, 2, 3, 4]])
    names = make_layout(KP, ["a"], [["b", "c", "d", "e"]])
    assert flat == nested == names
    assert flat.targets.tolist() == [1, 2, 3, 4]
    two = make_layout(KP, [0, 3], [[1, 2], [4]])
    assert two.target_roots.tolist() == [0, 0, 3]


@pytest.mark.parametrize(
    ("roots", "sets", "err", "match"),
    [
        ([0, 1], [2, 3], ConfigError, "flat target_sets list is only allowed with one root"),
        ([0], [[1], [2]], ConfigError, "one target set per root"),
        ([0], [[0, 1]], ConfigError, "roots cannot be in a target set"),
        ([0, 3], [[1, 2], [2]], ConfigError, "more than one target set"),
        ([0], [[1, 9]], KeypointError, "out of range"),
        (["zz"], [[1]], KeypointError, "'zz' is not a keypoint"),
    ],
)
def test_layout_errors(roots, sets, err, match):
    with pytest.raises(err, match=match):
        make_layout(KP, roots, sets)


def _data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    p3 = torch.as_tensor(rng.normal(size=(n, 5, 3)), dtype=torch.float32)
    p2 = p3[..., :2] * 10 + 3
    return p2, p3


def test_stats_ignore_missing_points():
    layout = make_layout(KP, [0], [1, 2, 3, 4])
    p2, p3 = _data()
    valid = torch.ones(50, 5, dtype=torch.bool)
    s_full = compute_stats(p2, valid, p3, valid, layout, False)
    p2n = p2.clone()
    p2n[0, 2] = float("nan")
    s_nan = compute_stats(p2n, torch.isfinite(p2n).all(-1), p3, valid, layout, False)
    rel = (p2[1:, 2] - p2[1:, 0]).double().numpy()
    np.testing.assert_allclose(s_nan.mean_2d[2:4], rel.mean(0), rtol=1e-6)
    np.testing.assert_allclose(s_nan.mean_2d[4:], s_full.mean_2d[4:], rtol=1e-6)
    assert s_full.mean_2d.shape == (8,)
    assert s_full.std_3d.shape == (12,)


def test_input_masks_missing_points_and_roots():
    layout = make_layout(KP, [0, 3], [[1, 2], [4]])
    p2, p3 = _data(4)
    valid = torch.ones(4, 5, dtype=torch.bool)
    st = compute_stats(p2, valid, p3, valid, layout, False).tensors()
    p2[1, 2] = float("nan")  # a target point
    p2[2, 3] = float("nan")  # a root: its set (joint 4) is masked
    x = make_input(p2, torch.isfinite(p2).all(-1), layout, st, norm_2d=False)
    assert x.shape == (4, 3 * 3)
    assert torch.isfinite(x).all()
    vis = x[:, 6:]
    assert vis.tolist() == [[1, 1, 1], [1, 0, 1], [1, 1, 0], [1, 1, 1]]
    assert (x[1, 2:4] == 0).all()
    assert (x[2, 4:6] == 0).all()


def test_norm_2d_makes_input_scale_invariant():
    layout = make_layout(KP, [0], [1, 2, 3, 4])
    p2, p3 = _data(10)
    valid = torch.ones(10, 5, dtype=torch.bool)
    st = compute_stats(p2, valid, p3, valid, layout, True).tensors()
    x1 = make_input(p2, valid, layout, st, norm_2d=True)
    x2 = make_input(p2 * 3 + 7, valid, layout, st, norm_2d=True)
    torch.testing.assert_close(x1, x2, rtol=1e-4, atol=1e-4)


def test_nan_target_leaves_denominator_of_other_points():
    layout = make_layout(KP, [0], [1, 2, 3, 4])
    p2, p3 = _data(3)
    valid = torch.ones(3, 5, dtype=torch.bool)
    st = Stats(np.zeros(8), np.ones(8), np.zeros(12), np.ones(12)).tensors()
    y, w = make_target(p3, valid, layout, st)
    out = y + 1.0  # every coordinate off by exactly 1
    out[0, 0:3] += 5.0  # joint 1 of frame 0 off by 6
    assert float(masked_loss(out, y, w, "l1")) == pytest.approx((33 + 18) / 36)
    p3n = p3.clone()
    p3n[0, 1] = float("nan")
    y2, w2 = make_target(p3n, valid, layout, st)
    assert float(w2.sum()) == 33
    # the NaN point is out; the other 33 coordinates keep a mean error of exactly 1
    assert float(masked_loss(out, y2, w2, "l1")) == pytest.approx(1.0)
    excluded = valid.clone()
    excluded[0, 1] = False
    y3, w3 = make_target(p3, excluded, layout, st)
    assert float(masked_loss(out, y3, w3, "l1")) == pytest.approx(1.0)


def test_seed_stats_full_or_target_length():
    layout = make_layout(KP, [0], [1, 2, 3, 4])
    full = [np.arange(10.0), np.ones(10), np.arange(15.0), np.full(15, 2.0)]
    st = Stats.from_seed(full, layout)
    assert st.mean_2d.tolist() == list(range(2, 10))
    assert st.mean_3d.tolist() == list(range(3, 15))
    st2 = Stats.from_seed([np.zeros(8), np.zeros(8), np.zeros(12), np.ones(12)], layout)
    assert (st2.std_2d == 1).all()  # zero std replaced by 1
    with pytest.raises(ConfigError, match="expected 10"):
        Stats.from_seed([np.zeros(3), np.ones(8), np.zeros(12), np.ones(12)], layout)


def test_root_input_adds_root_layout():
    from liftpose_dlc.lifter.encoder import input_size

    layout = make_layout(KP, [0, 3], [[1, 2], [4]])
    p2, p3 = _data(20)
    valid = torch.ones(20, 5, dtype=torch.bool)
    st = compute_stats(p2, valid, p3, valid, layout, False, root_input=True)
    assert st.mean_root.shape == (2,)
    rel = (p2[:, 3] - p2[:, 0]).double().numpy()
    np.testing.assert_allclose(st.mean_root, rel.mean(0), rtol=1e-6)
    x = make_input(p2, valid, layout, st.tensors(), norm_2d=False)
    assert x.shape == (20, input_size(layout, root_input=True)) == (20, 9 + 3)
    z = (rel[0] - st.mean_root) / st.std_root
    np.testing.assert_allclose(x[0, 6:8].numpy(), z, rtol=1e-5)
    assert x[:, -1].eq(1).all()
    p2[5, 3] = float("nan")  # second root missing: its layout entry is masked
    x = make_input(p2, torch.isfinite(p2).all(-1), layout, st.tensors(), norm_2d=False)
    assert x[5, -1] == 0
    assert (x[5, 6:8] == 0).all()
    one_root = make_layout(KP, [0], [1, 2, 3, 4])
    assert input_size(one_root, root_input=True) == input_size(one_root) == 12


def test_chain_features_are_segment_lengths():
    from liftpose_dlc.lifter.encoder import input_size

    # chains: root 0 -> 1 -> 2, root 3 -> 4
    layout = make_layout(KP, [0, 3], [[1, 2], [4]])
    p2, p3 = _data(20)
    valid = torch.ones(20, 5, dtype=torch.bool)
    st = compute_stats(p2, valid, p3, valid, layout, False, chain_features=True)
    assert st.mean_chain.shape == st.std_chain.shape == (6,)
    a = p2.double().numpy()
    seg = np.stack([a[:, 1] - a[:, 0], a[:, 2] - a[:, 1], a[:, 4] - a[:, 3]], 1)
    sq = (seg**2).sum(-1)
    raw = np.stack([sq, np.sqrt(sq)], -1).reshape(20, -1)  # [l0^2, l0, l1^2, l1, ...]
    np.testing.assert_allclose(st.mean_chain, raw.mean(0), rtol=1e-5)
    x = make_input(p2, valid, layout, st.tensors(), norm_2d=False)
    assert x.shape == (20, input_size(layout, chain_features=True)) == (20, 9 + 6)
    np.testing.assert_allclose(
        x[:, 6:12].numpy(), (raw - st.mean_chain) / st.std_chain, rtol=1e-4, atol=1e-5
    )
    assert (x[:, 12:] == 1).all()  # the visibility flags come last
    # joint 1 missing: both segments that touch it are masked (0), the other one is not
    p2[3, 1] = float("nan")
    xn = make_input(p2, torch.isfinite(p2).all(-1), layout, st.tensors(), norm_2d=False)
    assert torch.isfinite(xn).all()
    assert (xn[3, 6:10] == 0).all()
    torch.testing.assert_close(xn[3, 10:12], x[3, 10:12])
    torch.testing.assert_close(xn[4], x[4])
    # with root_input too, the order is: targets, roots, chain, flags
    st2 = compute_stats(p2, valid, p3, valid, layout, False, root_input=True, chain_features=True)
    x2 = make_input(p2, valid, layout, st2.tensors(), norm_2d=False)
    assert x2.shape == (20, input_size(layout, True, True)) == (20, 9 + 3 + 6)
