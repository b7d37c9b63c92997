"""virtual_views: the zoo's augmentation (views, body variation, detector-like 2D error)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from liftpose_dlc.errors import ConfigError
from liftpose_dlc.lifter.augmentation import PoseBatch
from liftpose_dlc.lifter.lifter import Lifter
from liftpose_dlc.lifter.virtual_views import virtual_views

# a 2-leg toy: roots 0 and 3, chains 0-1-2 and 3-4-5
PARENTS = [-1, 0, 1, -1, 3, 4]
ROOTS = [0, 3]
SETS = [[1, 2], [4, 5]]
TOP = {"top": [[-180.0, 180.0], [0.0, 0.0], [180.0, 180.0]]}


def _batch(n: int = 512) -> PoseBatch:
    g = torch.Generator().manual_seed(0)
    x = torch.randn((n, 6, 3), generator=g)
    x[:, 2, 2] = float("nan")  # a keypoint the source lacks
    ok = torch.isfinite(x).all(-1)
    return PoseBatch(x[..., :2], x, ok, ok)


def test_exact_projection_without_variation() -> None:
    torch.manual_seed(0)
    aug = virtual_views(
        TOP,
        PARENTS,
        ROOTS,
        SETS,
        bone_scale=(1, 1),
        body_scale=(1, 1),
        axis_scale=(1, 1),
        distance=(1e6, 1e6),
        noise=(0, 0),
        p_outlier=0,
        miss_rate=(0, 0),
        p_set_miss=0,
        p_subset=0,
    )
    b = _batch()
    out = aug(b)
    assert out.pose_2d.shape == (512, 6, 2)
    # seen from above (x = 180 deg): z is depth; distances between points are kept
    d_in = torch.linalg.norm(b.pose_3d[:, 0] - b.pose_3d[:, 1], dim=-1)
    d_out = torch.linalg.norm(out.pose_3d[:, 0] - out.pose_3d[:, 1], dim=-1)
    assert torch.allclose(d_in, d_out, atol=1e-4)
    # orthographic in the limit: the 2D is the camera frame's x, y
    ok = out.valid_2d
    assert torch.allclose(out.pose_2d[ok], out.pose_3d[..., :2][ok], atol=1e-3)
    # a camera looking down (x = 180 deg): up (+z) points towards it, so depth = -z
    z = b.pose_3d[..., 2] - b.pose_3d[..., 2].nanmean(1, keepdim=True)  # about the centre
    assert torch.allclose(out.pose_3d[..., 2][ok], -z[ok], atol=1e-3)
    assert not out.valid_2d[:, 2].any()
    assert not out.weight_3d[:, 2].any()


def test_misses_keep_roots_and_vary_bodies() -> None:
    torch.manual_seed(1)
    aug = virtual_views(TOP, PARENTS, ROOTS, SETS, miss_rate=(0.5, 0.5), p_subset=1.0)
    out = aug(_batch())
    assert out.valid_2d[:, ROOTS].all()
    assert out.valid_2d[:, [1, 4, 5]].float().mean() < 0.5
    assert torch.isnan(out.pose_2d[~out.valid_2d]).all()
    b = _batch()
    bone_in = torch.linalg.norm(b.pose_3d[:, 1] - b.pose_3d[:, 0], dim=-1)
    bone_out = torch.linalg.norm(out.pose_3d[:, 1] - out.pose_3d[:, 0], dim=-1)
    ratio = bone_out / bone_in
    assert float(ratio.min()) > 0.6
    assert float(ratio.max()) < 1.5
    assert float(ratio.std()) > 0.02


def test_bad_views() -> None:
    with pytest.raises(ConfigError, match="three"):
        virtual_views({"x": [[0, 1]]}, PARENTS, ROOTS, SETS)
    with pytest.raises(ConfigError, match="no views"):
        virtual_views({}, PARENTS, ROOTS, SETS)
    with pytest.raises(ConfigError, match="tree"):
        virtual_views(TOP, [1, 0, 1, -1, 3, 4], ROOTS, SETS)


def test_lifter_trains_with_it() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6, 3))
    lifter = Lifter(6, ROOTS, SETS, linear_size=32, set_size=16, norm_2d=True, view_gate=False)
    aug = virtual_views(TOP, PARENTS, ROOTS, SETS)
    lifter.fit(x[..., :2], x, augment=[aug], epochs=2, verbose=False)
    assert lifter.predict(x[:4, :, :2]).shape == (4, 6, 3)


def test_chain_subsets_drop_whole_chains() -> None:
    # root 0; 1 under 0 branches into 2 and the chain 3-4
    parents = [-1, 0, 1, 1, 3]
    aug = virtual_views(
        TOP,
        parents,
        [0],
        [[1, 2, 3, 4]],
        miss_rate=(0, 0),
        p_set_miss=0,
        p_subset=0,
        p_outlier=0,
        p_chain_subset=1.0,
    )
    assert aug.chains == [[1], [2], [3, 4]]
    torch.manual_seed(2)
    g = torch.Generator().manual_seed(0)
    x = torch.randn((2000, 5, 3), generator=g)
    ok = torch.ones((2000, 5), dtype=torch.bool)
    out = aug(PoseBatch(x[..., :2], x, ok, ok))
    v = out.valid_2d
    assert v[:, 0].all()  # the root is never dropped
    assert torch.equal(v[:, 3], v[:, 4])  # a chain goes as a whole
    for j in (1, 2, 3):
        assert 0.45 < float(v[:, j].float().mean()) < 0.55
    assert not torch.equal(v[:, 1], v[:, 2])  # chains drop independently
    assert "p_chain_subset=1.0" in repr(aug)
