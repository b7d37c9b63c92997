"""Errors between 3D poses: MPJPE, Procrustes-aligned MPJPE, per-joint and smoothness errors.

All functions take poses as arrays of shape ``(n_frames, n_joints, 3)`` (a single pose
``(n_joints, 3)`` is accepted too) and return errors in the units of the data (e.g. mm).
Missing joints are NaN and are left out of every mean; a joint missing in either the
ground truth or the prediction has no error.

Errors can be measured the LiftPose3D way, relative to root joints: with ``roots`` and
``target_sets`` given, the error of joint ``j`` in the target set of root ``r`` is
``|(pred[j] - pred[r]) - (gt[j] - gt[r])|`` and roots themselves have no error. This is the
error a lifter is trained to minimise, as it predicts each target joint relative to its root.
Without ``roots`` the error is the plain distance between corresponding joints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from liftpose_dlc.errors import KeypointError, PosesValidationError

__all__ = [
    "normalize_target_sets",
    "root_relative",
    "per_joint_errors",
    "mpjpe",
    "procrustes_align",
    "procrustes_mpjpe",
    "velocity_error",
    "acceleration_error",
]

TargetSets = Sequence[int] | Sequence[Sequence[int]]


def normalize_target_sets(
    roots: Sequence[int], target_sets: TargetSets | None, n_joints: int | None = None
) -> tuple[list[int], list[list[int]]]:
    """Check ``roots``/``target_sets`` and return them as ``(list, list of lists)``.

    Parameters
    ----------
    roots
        Root joint indices, e.g. ``[0, 5, 10]``.
    target_sets
        The joints predicted relative to each root: a list of lists (one per root), or a flat
        list when there is one root. None with one root means every other joint.
    n_joints
        Number of joints; when given, indices are checked against it.

    Returns
    -------
    roots, target_sets
        As plain lists of ints.

    Raises
    ------
    KeypointError
        If the numbers of roots and target sets differ, an index is out of range, or a
        joint is in more than one set.

    Examples
    --------
    >>> normalize_target_sets([0], [1, 2, 3])
    ([0], [[1, 2, 3]])
    >>> normalize_target_sets([0], None, n_joints=3)
    ([0], [[1, 2]])
    """
    roots = [_as_index(r, "root") for r in np.atleast_1d(np.asarray(roots, dtype=object))]
    if not roots:
        raise KeypointError("roots must name at least one joint")
    if target_sets is None:
        if len(roots) != 1 or n_joints is None:
            raise KeypointError("target_sets must be given unless there is a single root")
        sets = [[j for j in range(n_joints) if j != roots[0]]]
    else:
        items: list[Any] = list(target_sets)
        if items and all(np.ndim(t) == 0 for t in items):
            items = [items]  # flat list for a single root
        sets = [[_as_index(j, "target joint") for j in t] for t in items]
    if len(sets) != len(roots):
        raise KeypointError(
            f"{len(roots)} roots but {len(sets)} target sets; give one target set per root"
        )
    seen: set[int] = set()
    for root, targets in zip(roots, sets, strict=True):
        for j in [root, *targets]:
            if n_joints is not None and not 0 <= j < n_joints:
                raise KeypointError(f"joint index {j} is out of range for {n_joints} joints")
        repeated = seen.intersection(targets)
        if repeated or root in targets:
            raise KeypointError(
                f"joints {sorted(repeated | ({root} & set(targets)))} appear in more than one "
                "target set or as their own root"
            )
        seen.update(targets)
    return roots, sets


def _as_index(value: object, what: str) -> int:
    try:
        ok = not isinstance(value, bool) and float(value).is_integer()  # type: ignore[arg-type]
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise KeypointError(f"{what} index must be an integer, got {value!r}")
    return int(value)  # type: ignore[call-overload]


def _as_poses(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gt = np.asarray(gt, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    if gt.ndim == 2:
        gt = gt[None]
    if pred.ndim == 2:
        pred = pred[None]
    if gt.ndim != 3:
        raise PosesValidationError(
            f"poses must have shape (n_frames, n_joints, n_dims), got {gt.shape}"
        )
    if gt.shape != pred.shape:
        raise PosesValidationError(
            f"ground truth and prediction shapes differ: {gt.shape} vs {pred.shape}"
        )
    return gt, pred


def root_relative(
    poses: np.ndarray, roots: Sequence[int], target_sets: TargetSets | None = None
) -> np.ndarray:
    """Express target joints relative to their root; other joints become NaN.

    Parameters
    ----------
    poses
        Shape ``(n_frames, n_joints, n_dims)``.
    roots, target_sets
        See :func:`normalize_target_sets`.

    Returns
    -------
    numpy.ndarray
        Same shape as ``poses``: ``poses[:, j] - poses[:, root]`` for each target joint,
        zeros at the roots and NaN for joints in no target set.

    Examples
    --------
    >>> p = np.array([[[1.0, 1, 1], [2, 3, 4], [9, 9, 9]]])
    >>> root_relative(p, [0], [1])[0]
    array([[ 0.,  0.,  0.],
           [ 1.,  2.,  3.],
           [nan, nan, nan]])
    """
    poses = np.asarray(poses, dtype=np.float64)
    roots, sets = normalize_target_sets(roots, target_sets, poses.shape[-2])
    out = np.full_like(poses, np.nan)
    for root, targets in zip(roots, sets, strict=True):
        out[..., targets, :] = poses[..., targets, :] - poses[..., [root], :]
        out[..., root, :] = 0.0
        out[..., root, :][np.isnan(poses[..., root, :])] = np.nan
    out[np.isnan(out).any(axis=-1)] = np.nan  # a joint missing one coordinate is missing
    return out


def per_joint_errors(
    gt: np.ndarray,
    pred: np.ndarray,
    roots: Sequence[int] | None = None,
    target_sets: TargetSets | None = None,
) -> np.ndarray:
    """Euclidean error of every joint in every frame.

    Parameters
    ----------
    gt, pred
        Ground truth and prediction, shape ``(n_frames, n_joints, 3)``.
    roots, target_sets
        When given, errors are root-relative (see the module docstring); roots and joints
        in no target set get NaN.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_frames, n_joints)``, in the units of the data; NaN where the joint (or its
        root) is missing in either array.

    Examples
    --------
    >>> gt = np.zeros((1, 2, 3))
    >>> pred = np.array([[[0.0, 0, 0], [3, 4, 0]]])
    >>> per_joint_errors(gt, pred)
    array([[0., 5.]])
    >>> per_joint_errors(gt, pred + 1, roots=[0], target_sets=[1])
    array([[nan,  5.]])
    """
    gt, pred = _as_poses(gt, pred)
    if roots is not None:
        gt = root_relative(gt, roots, target_sets)
        pred = root_relative(pred, roots, target_sets)
        for root in normalize_target_sets(roots, target_sets, gt.shape[1])[0]:
            gt[:, root] = np.nan  # roots have no error
    return np.linalg.norm(pred - gt, axis=-1)


def _nanmean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def mpjpe(
    gt: np.ndarray,
    pred: np.ndarray,
    roots: Sequence[int] | None = None,
    target_sets: TargetSets | None = None,
) -> float:
    """Mean per-joint position error (MPJPE), ignoring missing joints.

    Parameters
    ----------
    gt, pred
        Ground truth and prediction, shape ``(n_frames, n_joints, 3)``.
    roots, target_sets
        When given, the error is root-relative, the LiftPose3D way (see the module docstring).

    Returns
    -------
    float
        Mean Euclidean error over all frames and joints that have one, in the units of the
        data; NaN if no joint has one.

    Examples
    --------
    >>> gt = np.zeros((2, 3, 3))
    >>> pred = np.zeros((2, 3, 3))
    >>> pred[0, 1] = [3, 4, 0]            # error 5 on one joint of six
    >>> mpjpe(gt, pred)
    0.8333333333333334
    >>> moved = pred + 10                 # root-relative errors ignore a translation
    >>> mpjpe(gt, moved, roots=[0], target_sets=[[1, 2]])
    1.25
    """
    return _nanmean(per_joint_errors(gt, pred, roots, target_sets))


def procrustes_align(pred: np.ndarray, gt: np.ndarray, scale: bool = True) -> np.ndarray:
    """Align each predicted pose onto the ground truth with a similarity transform.

    For every frame, the rotation, translation and (if ``scale``) uniform scale that best map
    ``pred`` onto ``gt`` in the least-squares sense (Umeyama's method, no reflections) are
    fitted on the joints present in both, and applied to all joints of ``pred``.

    Parameters
    ----------
    pred, gt
        Shape ``(n_frames, n_joints, 3)`` (or ``(n_joints, 3)``).
    scale
        Fit a uniform scale as well (default); False fits a rigid transform.

    Returns
    -------
    numpy.ndarray
        The aligned prediction, shape of ``pred``. Frames with fewer than three joints
        present in both arrays cannot be aligned and are all NaN.

    Examples
    --------
    >>> gt = np.array([[0.0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3]])
    >>> rot = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])   # 90 degrees about z
    >>> pred = 2 * gt @ rot.T + 5
    >>> np.allclose(procrustes_align(pred, gt), gt)
    True
    """
    single = np.ndim(pred) == 2
    gt, pred = _as_poses(gt, pred)
    mask = np.isfinite(gt).all(-1) & np.isfinite(pred).all(-1)  # (N, J)
    count = mask.sum(1)  # (N,)
    m = mask[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        mu_p = np.where(m, pred, 0).sum(1, keepdims=True) / count[:, None, None]
        mu_g = np.where(m, gt, 0).sum(1, keepdims=True) / count[:, None, None]
    p0 = np.where(m, pred - mu_p, 0.0)
    g0 = np.where(m, gt - mu_g, 0.0)
    cov = np.einsum("nji,njk->nik", p0, g0)  # (N, D, D)
    ok = count >= 3
    cov[~ok] = np.eye(cov.shape[-1])
    u, s, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(np.einsum("nij,njk->nik", u, vt)))
    d[d == 0] = 1.0
    signs = np.ones_like(s)
    signs[:, -1] = d
    # rotation applied as x @ rot, with rot = U diag(signs) V^T
    rot = np.einsum("nij,nj,njk->nik", u, signs, vt)
    if scale:
        var_p = (p0**2).sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            factor = (s * signs).sum(1) / var_p
    else:
        factor = np.ones(len(pred))
    aligned = factor[:, None, None] * np.einsum("nji,nik->njk", pred - mu_p, rot) + mu_g
    aligned[~ok] = np.nan
    return aligned[0] if single else aligned


def procrustes_mpjpe(
    gt: np.ndarray,
    pred: np.ndarray,
    roots: Sequence[int] | None = None,
    target_sets: TargetSets | None = None,
    scale: bool = True,
) -> float:
    """MPJPE after aligning each predicted pose to the ground truth (PA-MPJPE).

    Parameters
    ----------
    gt, pred
        As in :func:`mpjpe`.
    roots, target_sets
        When given, the alignment is fitted on, and the error measured over, the target
        joints only, expressed relative to their roots.
    scale
        Fit a uniform scale as well as a rotation and translation (default).

    Returns
    -------
    float
        Mean Euclidean error after alignment, in the units of the data. Frames with fewer
        than three joints present in both arrays are left out; NaN if no frame remains.

    Examples
    --------
    >>> gt = np.array([[[0.0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 3]]])
    >>> round(procrustes_mpjpe(gt, 3 * gt + 7), 12)  # scaled and moved: no error
    0.0
    >>> mpjpe(gt, 3 * gt + 7) > 1
    True
    """
    gt, pred = _as_poses(gt, pred)
    if roots is not None:
        roots_, sets = normalize_target_sets(roots, target_sets, gt.shape[1])
        keep = [j for t in sets for j in t]
        gt = root_relative(gt, roots_, sets)[:, keep]
        pred = root_relative(pred, roots_, sets)[:, keep]
    aligned = procrustes_align(pred, gt, scale=scale)
    return _nanmean(np.linalg.norm(aligned - gt, axis=-1))


def _derivative_error(
    gt: np.ndarray,
    pred: np.ndarray,
    order: int,
    roots: Sequence[int] | None,
    target_sets: TargetSets | None,
    lengths: Sequence[int] | None,
) -> float:
    """Mean Euclidean error of the ``order``-th finite difference over frames, per sequence."""
    gt, pred = _as_poses(gt, pred)
    if roots is not None:
        gt = root_relative(gt, roots, target_sets)
        pred = root_relative(pred, roots, target_sets)
        for root in normalize_target_sets(roots, target_sets, gt.shape[1])[0]:
            gt[:, root] = np.nan  # roots have no error
    lens = [gt.shape[0]] if lengths is None else [int(n) for n in lengths]
    if sum(lens) != gt.shape[0] or min(lens, default=0) < 0:
        raise PosesValidationError(f"sequence lengths {lens} do not add up to {gt.shape[0]} frames")
    errs = []
    start = 0
    for n in lens:
        if n > order:
            d_gt = np.diff(gt[start : start + n], order, axis=0)
            d_pred = np.diff(pred[start : start + n], order, axis=0)
            errs.append(np.linalg.norm(d_pred - d_gt, axis=-1).ravel())
        start += n
    return _nanmean(np.concatenate(errs)) if errs else float("nan")


def velocity_error(
    gt: np.ndarray,
    pred: np.ndarray,
    roots: Sequence[int] | None = None,
    target_sets: TargetSets | None = None,
    lengths: Sequence[int] | None = None,
) -> float:
    """Mean per-joint velocity error: ``|(pred[t+1] - pred[t]) - (gt[t+1] - gt[t])|``.

    Parameters
    ----------
    gt, pred
        Ground truth and prediction, shape ``(n_frames, n_joints, 3)``: consecutive frames.
    roots, target_sets
        When given, the velocities are root-relative (as for :func:`mpjpe`).
    lengths
        Frame counts of consecutive sequences in the arrays (default: one sequence);
        no difference is taken across two sequences.

    Returns
    -------
    float
        In the data's units per frame; a difference with a missing joint in either of its
        frames is left out; NaN if none is left.

    Examples
    --------
    >>> gt = np.zeros((3, 1, 3))
    >>> pred = gt.copy(); pred[1, 0, 0] = 1.0     # one frame jumps by 1
    >>> velocity_error(gt, pred)
    1.0
    """
    return _derivative_error(gt, pred, 1, roots, target_sets, lengths)


def acceleration_error(
    gt: np.ndarray,
    pred: np.ndarray,
    roots: Sequence[int] | None = None,
    target_sets: TargetSets | None = None,
    lengths: Sequence[int] | None = None,
) -> float:
    """Mean per-joint acceleration error (second differences over frames): the jitter.

    ``|(pred[t+1] - 2 pred[t] + pred[t-1]) - (gt[t+1] - 2 gt[t] + gt[t-1])|``, averaged; the
    parameters are those of :func:`velocity_error`. A prediction that is off by a constant
    or by a smooth drift has none; one that jitters from frame to frame has much.

    Examples
    --------
    >>> gt = np.zeros((3, 1, 3))
    >>> pred = gt.copy(); pred[1, 0, 0] = 1.0
    >>> acceleration_error(gt, pred)
    2.0
    >>> acceleration_error(gt, gt + 5.0)
    0.0
    """
    return _derivative_error(gt, pred, 2, roots, target_sets, lengths)
