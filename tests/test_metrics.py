import doctest

import numpy as np
import pytest

from liftpose_dlc import metrics
from liftpose_dlc.errors import KeypointError, PosesValidationError
from liftpose_dlc.metrics import (
    mpjpe,
    normalize_target_sets,
    per_joint_errors,
    procrustes_align,
    procrustes_mpjpe,
    root_relative,
)


def test_docstring_examples():
    result = doctest.testmod(metrics, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 5
    assert result.failed == 0


def test_mpjpe_hand_computed():
    gt = np.zeros((2, 2, 3))
    pred = np.zeros((2, 2, 3))
    pred[0, 0] = [3, 4, 0]  # 5
    pred[0, 1] = [0, 0, 2]  # 2
    pred[1, 0] = [1, 2, 2]  # 3
    pred[1, 1] = [0, 0, 0]  # 0
    np.testing.assert_allclose(per_joint_errors(gt, pred), [[5, 2], [3, 0]])
    assert mpjpe(gt, pred) == pytest.approx(10 / 4)


def test_mpjpe_ignores_nan_in_either_array():
    gt = np.zeros((1, 3, 3))
    pred = np.array([[[3.0, 4, 0], [np.nan, 0, 0], [0, 0, 1]]])
    gt[0, 2] = np.nan
    err = per_joint_errors(gt, pred)
    assert err[0, 0] == 5
    assert np.isnan(err[0, 1:]).all()
    assert mpjpe(gt, pred) == 5
    assert np.isnan(mpjpe(np.full((1, 2, 3), np.nan), np.zeros((1, 2, 3))))


def test_root_relative_errors_the_liftpose3d_way():
    # two legs: root 0 with target 1, root 2 with target 3
    gt = np.array([[[0.0, 0, 0], [1, 0, 0], [10, 0, 0], [10, 1, 0]]])
    pred = gt.copy()
    pred[0, 0] += [5, 5, 5]  # a shifted root moves its targets' root-relative position
    pred[0, 3] += [0, 0, 2]  # target error 2
    err = per_joint_errors(gt, pred, roots=[0, 2], target_sets=[[1], [3]])
    # joint 1: (pred1 - pred0) - (gt1 - gt0) = -(5, 5, 5) -> sqrt(75)
    np.testing.assert_allclose(err, [[np.nan, np.sqrt(75), np.nan, 2.0]])
    assert mpjpe(gt, pred, [0, 2], [[1], [3]]) == pytest.approx((np.sqrt(75) + 2) / 2)
    # a translation of the whole pose does not matter
    assert mpjpe(gt, gt + 7, roots=[0, 2], target_sets=[[1], [3]]) == pytest.approx(0)


def test_single_root_flat_target_set_and_default():
    gt = np.zeros((1, 3, 3))
    pred = np.array([[[1.0, 0, 0], [1, 0, 2], [1, 3, 0]]])
    assert mpjpe(gt, pred, roots=[0], target_sets=[1, 2]) == pytest.approx(2.5)
    assert mpjpe(gt, pred, roots=[0]) == pytest.approx(2.5)
    # joints in no target set have no error
    err = per_joint_errors(gt, pred, roots=[0], target_sets=[1])
    assert np.isnan(err[0, 2])


def test_root_relative_nan_root_propagates():
    poses = np.array([[[np.nan, 0, 0], [1, 1, 1]]])
    rel = root_relative(poses, [0], [1])
    assert np.isnan(rel).all()


def test_normalize_target_sets_errors():
    with pytest.raises(KeypointError, match="2 roots but 1"):
        normalize_target_sets([0, 5], [[1, 2]])
    with pytest.raises(KeypointError, match="out of range"):
        normalize_target_sets([0], [[1, 9]], n_joints=5)
    with pytest.raises(KeypointError, match="more than one"):
        normalize_target_sets([0, 3], [[1, 2], [2, 4]])
    with pytest.raises(KeypointError, match="integer"):
        normalize_target_sets([0], [[1.5]])
    with pytest.raises(KeypointError, match="single root"):
        normalize_target_sets([0, 1], None, n_joints=4)
    assert normalize_target_sets(np.array([0, 5]), [np.array([1, 2]), [6]]) == (
        [0, 5],
        [[1, 2], [6]],
    )


def test_shape_mismatch():
    with pytest.raises(PosesValidationError, match="differ"):
        mpjpe(np.zeros((2, 3, 3)), np.zeros((2, 4, 3)))
    with pytest.raises(PosesValidationError, match="shape"):
        mpjpe(np.zeros(3), np.zeros(3))


def _rotation(angle_deg, axis):
    a = np.deg2rad(angle_deg)
    c, s = np.cos(a), np.sin(a)
    if axis == "z":
        return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def test_procrustes_recovers_similarity_per_frame():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(3, 6, 3))
    pred = np.empty_like(gt)
    pred[0] = 2.5 * gt[0] @ _rotation(30, "z").T + [1, 2, 3]
    pred[1] = 0.5 * gt[1] @ _rotation(-70, "x").T - 4
    pred[2] = gt[2]
    np.testing.assert_allclose(procrustes_align(pred, gt), gt, atol=1e-10)
    assert procrustes_mpjpe(gt, pred) == pytest.approx(0, abs=1e-10)
    assert mpjpe(gt, pred) > 0.5
    # rigid only: the scale is not removed
    assert procrustes_mpjpe(gt, pred, scale=False) > 0.1


def test_procrustes_hand_computed_residual():
    # gt: unit square; pred: the same square with one corner pushed out along z by 1.
    gt = np.array([[[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]]])
    pred = gt.copy()
    pred[0, 2, 2] = 1.0
    aligned = procrustes_align(pred, gt)
    # the alignment can only reduce the error
    assert procrustes_mpjpe(gt, pred) < mpjpe(gt, pred) == pytest.approx(0.25)
    # and it is optimal: no small extra rotation/scale does better (sum of squares)
    best = ((aligned - gt) ** 2).sum()
    for angle in (-2, 2):
        rot = _rotation(angle, "x")
        centre = aligned[0].mean(0)
        other = (aligned[0] - centre) @ rot.T + centre
        assert ((other - gt[0]) ** 2).sum() >= best - 1e-12


def test_procrustes_does_not_reflect():
    gt = np.array([[[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]])
    mirrored = gt * [1, 1, -1]
    aligned = procrustes_align(mirrored, gt)
    assert procrustes_mpjpe(gt, mirrored) > 0.1  # a mirror image is not a rotation
    assert np.isfinite(aligned).all()


def test_procrustes_ignores_nan_joints_and_skips_degenerate_frames():
    rng = np.random.default_rng(1)
    gt = rng.normal(size=(2, 5, 3))
    pred = 2 * gt @ _rotation(40, "z").T + 1
    pred[0, 4] = np.nan  # missing joint: fitted on the other four, still exact
    pred[1, 2:] = np.nan  # only two joints left: frame cannot be aligned
    aligned = procrustes_align(pred, gt)
    np.testing.assert_allclose(aligned[0, :4], gt[0, :4], atol=1e-10)
    assert np.isnan(aligned[0, 4]).all()
    assert np.isnan(aligned[1]).all()
    assert procrustes_mpjpe(gt, pred) == pytest.approx(0, abs=1e-10)


def test_procrustes_with_roots_uses_target_joints_only():
    gt = np.zeros((1, 4, 3))
    gt[0, 1:] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    pred = 3 * gt @ _rotation(25, "z").T
    pred[0, 0] = [100, 100, 100]  # a wrong root breaks root-relative positions...
    # ...but relative positions are only shifted, which the alignment removes
    assert procrustes_mpjpe(gt, pred, roots=[0], target_sets=[[1, 2, 3]]) == pytest.approx(
        0, abs=1e-9
    )
    assert mpjpe(gt, pred, roots=[0], target_sets=[[1, 2, 3]]) > 100
