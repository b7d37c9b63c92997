import math

import numpy as np
import pytest
import torch

from liftpose_dlc.errors import ConfigError
from liftpose_dlc.lifter.augmentation import (
    PoseBatch,
    add_noise,
    euler_to_matrix,
    fit_camera,
    keypoint_dropout,
    random_project,
    random_view,
)


def _batch(n=64, j=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    p3 = torch.randn(n, j, 3, generator=g) + torch.tensor([0.0, 0.0, 50.0])
    p2 = p3[..., :2].clone()
    ones = torch.ones(n, j, dtype=torch.bool)
    return PoseBatch(p2, p3, ones, ones.clone())


def test_euler_matches_scipy_convention():
    # extrinsic 'zyx' with angles (a, b, c): R = Rx(c) @ Ry(b) @ Rz(a)
    a, b, c = 30.0, -20.0, 10.0
    r = euler_to_matrix(torch.tensor([[a, b, c]], dtype=torch.float64), "zyx")[0]
    rz = euler_to_matrix(torch.tensor([[a, 0, 0]], dtype=torch.float64), "zxy")[0]
    ca, sa = math.cos(math.radians(a)), math.sin(math.radians(a))
    np.testing.assert_allclose(rz.numpy(), [[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]], atol=1e-12)
    ry = euler_to_matrix(torch.tensor([[b, 0, 0]], dtype=torch.float64), "yxz")[0]
    rx = euler_to_matrix(torch.tensor([[c, 0, 0]], dtype=torch.float64), "xyz")[0]
    np.testing.assert_allclose(r.numpy(), (rx @ ry @ rz).numpy(), atol=1e-12)
    intr = euler_to_matrix(torch.tensor([[a, b, c]], dtype=torch.float64), "ZYX")[0]
    np.testing.assert_allclose(intr.numpy(), (rz @ ry @ rx).numpy(), atol=1e-12)
    with pytest.raises(ConfigError, match="axsorder"):
        euler_to_matrix(torch.zeros(1, 3), "zyq")


def test_random_project_seed_call_and_consistency():
    angle_aug = {
        "eangles": {0: [[-10, 10], [-10, 10], [-10, 10]]},
        "axsorder": "zyx",
        "vis": None,
        "tvec": None,
        "intr": None,
    }
    aug = random_project(**angle_aug)
    batch = _batch()
    before = batch.pose_3d.clone()
    out = aug(batch)
    assert torch.equal(batch.pose_3d, before)  # input untouched
    # weak perspective: 2D is the x, y of the rotated 3D target
    torch.testing.assert_close(out.pose_2d, out.pose_3d[..., :2])
    # rotations keep distances to the first joint
    d0 = (before - before[:, :1]).norm(dim=-1)
    d1 = (out.pose_3d - out.pose_3d[:, :1]).norm(dim=-1)
    torch.testing.assert_close(d0, d1, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(out.pose_3d, before)


def test_random_project_pinhole_per_camera_and_visibility():
    k = np.array([[100.0, 0, 10], [0, 100, 20], [0, 0, 1]])
    vis = {0: [1, 1, 1, 0, 0, 0], 1: [0, 0, 0, 1, 1, 1]}
    aug = random_project(
        eangles={0: [[0, 0], [0, 0], [0, 0]], 1: [[90, 90], [0, 0], [0, 0]]},
        axsorder="zyx",
        vis=vis,
        tvec={0: [0, 0, 10], 1: [0, 0, 10]},
        intr={0: k, 1: k},
    )
    batch = _batch()
    out = aug(batch)
    x = out.pose_3d
    expected = x @ torch.tensor(k, dtype=torch.float32).T
    torch.testing.assert_close(out.pose_2d, expected[..., :2] / expected[..., 2:3])
    first_half = out.valid_2d[:, :3].all(1)
    assert ((first_half & ~out.valid_2d[:, 3:].any(1)) | (~out.valid_2d[:, :3].any(1))).all()
    assert 0 < int(first_half.sum()) < 64  # both cameras drawn
    with pytest.raises(ConfigError, match="needs tvec"):
        random_project(eangles=[[0, 1], [0, 1], [0, 1]], intr=k)


def test_fit_camera_recovers_affine_and_pinhole():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8, 3))
    a = np.array([[2.0, 0.5, 0.1, 3.0], [-0.3, 1.5, 0.2, -1.0]])
    uv = x @ a[:, :3].T + a[:, 3]
    cam = fit_camera(uv, x)
    assert cam.kind == "affine"
    np.testing.assert_allclose(cam.matrix, a, atol=1e-8)
    assert cam.residual < 1e-8
    k = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
    xc = x + [0, 0, 6]
    h = xc @ k.T
    uv = h[..., :2] / h[..., 2:3]
    cam = fit_camera(uv, xc)
    assert cam.kind == "pinhole"
    torch.testing.assert_close(
        cam.project(torch.as_tensor(xc)), torch.as_tensor(uv), rtol=1e-6, atol=1e-6
    )


def test_random_view_keeps_pairs_consistent():
    torch.manual_seed(0)
    batch = _batch(256)
    aug = random_view(max_angle=40, p=1.0, noise=None)
    aug.fit(batch)
    out = aug(batch)
    # camera is x, y of the 3D (weak perspective): the new 2D projects the new 3D
    torch.testing.assert_close(out.pose_2d, out.pose_3d[..., :2], atol=1e-4, rtol=1e-4)
    centre0 = batch.pose_3d.mean(1)
    torch.testing.assert_close(out.pose_3d.mean(1), centre0, atol=1e-4, rtol=1e-4)
    # noise "auto" takes the camera fit's residual
    noisy = PoseBatch(
        batch.pose_2d + 0.1 * torch.randn_like(batch.pose_2d),
        batch.pose_3d,
        batch.valid_2d,
        batch.weight_3d,
    )
    aug2 = random_view()
    aug2.fit(noisy)
    assert aug2.sigma == pytest.approx(0.1, rel=0.1)


def test_random_view_disabled_for_unrelated_pairs():
    batch = _batch()
    unrelated = PoseBatch(torch.randn(64, 6, 2), batch.pose_3d, batch.valid_2d, batch.weight_3d)
    aug = random_view()
    aug.fit(unrelated)
    assert aug(unrelated) is unrelated


def test_noise_and_dropout():
    torch.manual_seed(0)
    batch = _batch(2000)
    out = add_noise(0.5)(batch)
    assert float((out.pose_2d - batch.pose_2d).std()) == pytest.approx(0.5, rel=0.05)
    assert torch.equal(out.pose_3d, batch.pose_3d)
    dropped = keypoint_dropout(0.2)(batch)
    assert float(1 - dropped.valid_2d.float().mean()) == pytest.approx(0.2, abs=0.02)
    assert dropped.weight_3d.all()


def test_random_view_rotates_about_a_fraction_p():
    torch.manual_seed(0)
    batch = _batch(4000)
    aug = random_view(max_angle=30, p=0.25, noise=None)
    aug.fit(batch)
    out = aug(batch)
    changed = ~torch.isclose(out.pose_3d, batch.pose_3d, atol=1e-6).all(-1).all(-1)
    assert float(changed.float().mean()) == pytest.approx(0.25, abs=0.03)
    same = ~changed
    assert torch.equal(out.pose_2d[same], batch.pose_2d[same])  # kept poses keep their 2D
