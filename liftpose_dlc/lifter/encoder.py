"""The input encoder: roots, target sets, statistics and the network's input/target tensors.

The lifter predicts every joint of a *target set* relative to the set's *root* joint
(LiftPose3D's root anchoring). :class:`InputEncoder` is how 2D poses become the network's
input and the network's output becomes 3D; it is saved with the model. It holds:

* :class:`Layout` -- which joint is predicted relative to which root;
* :class:`EncoderOptions` -- the feature options (``norm_2d``, ``root_input``,
  ``chain_features``);
* :class:`Stats` -- per-coordinate mean and standard deviation of the anchored 2D input
  and 3D target, computed from the training data only (:meth:`InputEncoder.fit`).

The functions below are its vectorised kernels (over a batch):

* :func:`make_input` -- 2D poses ``(B, J, 2)`` to the network input: anchored, optionally
  scale-normalised per pose (``norm_2d``), standardised, missing points set to 0 and a
  visibility channel per target joint appended (so a NaN is *masked*, not replaced by
  the mean); optionally the roots' layout (``root_input``) and the 2D segment lengths
  along each target set (``chain_features``);
* :func:`make_target` -- 3D poses ``(B, J, 3)`` to the standardised target and the loss
  weights (0 where the target or its root is missing or excluded).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from liftpose_dlc.errors import ConfigError, KeypointError
from liftpose_dlc.lifter._options import OptionsMixin

if TYPE_CHECKING:
    from liftpose_dlc.lifter.augmentation import PoseBatch

__all__ = [
    "EncoderOptions",
    "InputEncoder",
    "Layout",
    "Stats",
    "make_layout",
    "anchor",
    "compute_stats",
    "make_input",
    "make_target",
    "input_size",
    "set_columns",
]

_EPS = 1e-8


@dataclass(frozen=True)
class EncoderOptions(OptionsMixin):
    """How 2D poses are encoded for the network (the input features).

    The defaults are the original LiftPose3D's (each option off); the lifter's defaults
    are in :data:`~liftpose_dlc.lifter.lifter.DEFAULT_MODEL_OPTIONS`.

    Attributes
    ----------
    norm_2d
        Divide each 2D pose (root-relative) by its RMS length before standardising,
        making the lifter invariant to the animal's image size (the seed's ``norm_2d``).
    root_input
        Also give the network the 2D positions of the other roots relative to the first
        root (the seed gives only each target set relative to its own root, so the network
        never sees how the body is oriented in the image). No effect with one root.
    chain_features
        Also give the network, for each target set taken as a chain (root, then the targets
        in the given order), the squared 2D length and the 2D length of each segment: with
        segments of fixed 3D length, the 2D length tells how much a segment points along
        the camera's axis (foreshortening), a quadratic function of the coordinates that
        the linear path cannot represent.
    """

    kind: ClassVar[str] = "encoder"

    norm_2d: bool = False
    root_input: bool = False
    chain_features: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, bool | np.bool_):
                raise ConfigError(f"{f.name} must be True or False, got {value!r}")
            object.__setattr__(self, f.name, bool(value))


@dataclass(frozen=True)
class Layout:
    """Which joints are predicted, and relative to which root.

    Attributes
    ----------
    n_joints
        Number of joints of the full pose.
    roots
        Root joint indices, one per target set.
    target_sets
        For each root, the joint indices predicted relative to it.
    """

    n_joints: int
    roots: tuple[int, ...]
    target_sets: tuple[tuple[int, ...], ...]

    @property
    def targets(self) -> np.ndarray:
        """All predicted joints, in target-set order, shape ``(T,)``."""
        return np.array([j for ts in self.target_sets for j in ts], dtype=np.int64)

    @property
    def target_roots(self) -> np.ndarray:
        """The root of each predicted joint, shape ``(T,)``."""
        return np.array(
            [r for r, ts in zip(self.roots, self.target_sets, strict=True) for _ in ts],
            dtype=np.int64,
        )

    @property
    def n_targets(self) -> int:
        """Number of predicted joints ``T``."""
        return int(sum(len(ts) for ts in self.target_sets))


def _index(value: int | str, keypoints: Sequence[str], what: str) -> int:
    if isinstance(value, str):
        if value not in keypoints:
            raise KeypointError(f"{what} {value!r} is not a keypoint; keypoints: {list(keypoints)}")
        return list(keypoints).index(value)
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(f"{what} must be a keypoint index or name, got {value!r}")
    idx = int(value)
    if not 0 <= idx < len(keypoints):
        raise KeypointError(
            f"{what} index {idx} is out of range for {len(keypoints)} keypoints {list(keypoints)}"
        )
    return idx


def make_layout(
    keypoints: Sequence[str],
    roots: Sequence[int | str] | int | str,
    target_sets: Sequence[Sequence[int | str]] | Sequence[int | str],
) -> Layout:
    """Validate ``roots`` and ``target_sets`` (indices or names) and build a :class:`Layout`.

    ``target_sets`` is a list of lists, one per root; with a single root the seed's flat
    form ``[1, 2, 3, 4]`` is accepted too.

    Raises
    ------
    ConfigError
        If the numbers of roots and target sets differ, a set is empty, a root is in a
        target set, or a joint appears twice.
    KeypointError
        If an index is out of range or a name is unknown.

    Examples
    --------
    >>> make_layout(["a", "b", "c"], roots=[0], target_sets=[1, 2]).target_sets
    ((1, 2),)
    >>> make_layout(["a", "b", "c"], roots="a", target_sets=[["b", "c"]]).targets
    array([1, 2])
    """
    if isinstance(roots, str | int | np.integer):
        roots = [roots]
    roots = list(roots)
    sets: list[Any] = list(target_sets)
    if not roots:
        raise ConfigError("roots must name at least one root joint")
    if sets and all(isinstance(t, str | int | np.integer) for t in sets):
        if len(roots) != 1:
            raise ConfigError(
                f"a flat target_sets list is only allowed with one root; got {len(roots)} roots "
                "and target_sets={target_sets}: give one list per root"
            )
        sets = [sets]
    if len(roots) != len(sets):
        raise ConfigError(
            f"need one target set per root: {len(roots)} roots, {len(sets)} target sets"
        )
    r_idx = tuple(_index(r, keypoints, "root") for r in roots)
    ts_idx = []
    for r, ts in zip(r_idx, sets, strict=True):
        ts = list(ts)
        if not ts:
            raise ConfigError(f"the target set of root {keypoints[r]!r} is empty")
        ts_idx.append(tuple(_index(t, keypoints, "target") for t in ts))
    flat = [t for ts in ts_idx for t in ts]
    dupes = sorted({keypoints[t] for t in flat if flat.count(t) > 1})
    if dupes:
        raise ConfigError(f"joints appear in more than one target set: {dupes}")
    if len(set(r_idx)) != len(r_idx):
        raise ConfigError(f"a root appears twice in roots: {[keypoints[r] for r in r_idx]}")
    clash = sorted({keypoints[r] for r in r_idx} & {keypoints[t] for t in flat})
    if clash:
        raise ConfigError(f"roots cannot be in a target set: {clash}")
    return Layout(len(keypoints), r_idx, tuple(ts_idx))


@functools.lru_cache(maxsize=64)
def _indices(layout: Layout, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Index tensors of the target joints and of their roots, cached per device."""
    return (
        torch.as_tensor(layout.targets, device=device),
        torch.as_tensor(layout.target_roots, device=device),
    )


@functools.lru_cache(maxsize=64)
def _chain_indices(layout: Layout, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """For each target (in target order), the previous joint of its chain.

    Each target set is taken as a chain root -> targets in the given order. Returns the
    index (into the targets) of the previous joint, and a ``(T, 1)`` factor that is 0
    where the previous joint is the root (at 0 after anchoring; the index then points to
    the target itself, times 0) and 1 elsewhere.
    """
    prev, has_prev, k = [], [], 0
    for ts in layout.target_sets:
        prev += [k] + [k + i for i in range(len(ts) - 1)]
        has_prev += [0.0] + [1.0] * (len(ts) - 1)
        k += len(ts)
    return (
        torch.as_tensor(prev, dtype=torch.int64, device=device),
        torch.as_tensor(has_prev, dtype=torch.float32, device=device)[:, None],
    )


@functools.lru_cache(maxsize=64)
def _root_indices(layout: Layout, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Index tensors of roots 2..R and of the first root, cached per device."""
    r = torch.as_tensor(layout.roots, device=device)
    return r[1:], r[:1]


def anchor(poses: torch.Tensor, layout: Layout) -> torch.Tensor:
    """Target joints relative to their roots: ``(B, J, D)`` to ``(B, T, D)``.

    NaN propagates: a missing root makes its whole target set NaN.
    """
    t, r = _indices(layout, poses.device)
    return poses.index_select(1, t) - poses.index_select(1, r)


def _scale_2d(rel: torch.Tensor, vis: torch.Tensor) -> torch.Tensor:
    """Per-pose RMS length of the visible anchored 2D points, shape ``(B, 1, 1)``."""
    sq = (rel * rel).sum(-1) * vis
    n = vis.sum(-1).clamp(min=1)
    return torch.sqrt(sq.sum(-1) / n).clamp(min=_EPS)[:, None, None]


@dataclass
class Stats:
    """Per-coordinate normalisation statistics of the anchored data.

    Attributes
    ----------
    mean_2d, std_2d
        Shape ``(T * 2,)``: mean and standard deviation of each anchored 2D coordinate
        (after the per-pose scale normalisation when ``norm_2d`` is on), in target order
        ``[t0_x, t0_y, t1_x, ...]``.
    mean_3d, std_3d
        Shape ``(T * 3,)``, the same for the anchored 3D targets.
    mean_root, std_root
        Shape ``((R - 1) * 2,)``: the same for the 2D positions of the other roots relative
        to the first root (the ``root_input`` encoder option); empty when not used.
    mean_chain, std_chain
        Shape ``(T * 2,)``: the same for the chain features (the ``chain_features`` encoder
        option: squared 2D length, then length, of the segment ending at each target);
        empty when not used.
    """

    mean_2d: np.ndarray
    std_2d: np.ndarray
    mean_3d: np.ndarray
    std_3d: np.ndarray
    mean_root: np.ndarray = field(default_factory=lambda: np.zeros(0))
    std_root: np.ndarray = field(default_factory=lambda: np.zeros(0))
    mean_chain: np.ndarray = field(default_factory=lambda: np.zeros(0))
    std_chain: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def root_input(self) -> bool:
        """Whether the input includes the roots' relative 2D positions."""
        return self.mean_root.size > 0

    @property
    def chain_features(self) -> bool:
        """Whether the input includes the 2D segment lengths along each target set."""
        return self.mean_chain.size > 0

    def as_dict(self) -> dict[str, np.ndarray]:
        """The arrays by name (the root ones only when used)."""
        out = {
            "mean_2d": self.mean_2d,
            "std_2d": self.std_2d,
            "mean_3d": self.mean_3d,
            "std_3d": self.std_3d,
        }
        if self.root_input:
            out.update(mean_root=self.mean_root, std_root=self.std_root)
        if self.chain_features:
            out.update(mean_chain=self.mean_chain, std_chain=self.std_chain)
        return out

    def tensors(self, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """The arrays as float32 tensors on ``device``.

        Also holds the standardisation as scale and shift (``x * scale + shift``), computed
        once: ``input_scale``/``input_shift`` (targets, then roots), ``chain_scale``/
        ``chain_shift`` and ``target_scale``/``target_shift``.
        """
        arrays = self.as_dict()
        out = {k: torch.as_tensor(v, dtype=torch.float32, device=device) for k, v in arrays.items()}
        mean_in = np.concatenate([self.mean_2d, self.mean_root])
        std_in = np.concatenate([self.std_2d, self.std_root])
        pairs = {
            "input": (mean_in, std_in),
            "target": (self.mean_3d, self.std_3d),
        }
        if self.chain_features:
            pairs["chain"] = (self.mean_chain, self.std_chain)
        for name, (mean, std) in pairs.items():
            inv = 1.0 / np.asarray(std, dtype=np.float64)
            out[f"{name}_scale"] = torch.as_tensor(inv, dtype=torch.float32, device=device)
            out[f"{name}_shift"] = torch.as_tensor(-mean * inv, dtype=torch.float32, device=device)
        return out

    @classmethod
    def from_seed(cls, stats: Sequence[np.ndarray], layout: Layout) -> Stats:
        """Accept the seed's ``stats=(mean_2d, std_2d, mean_3d, std_3d)``.

        Each vector may cover every joint (length ``J * D``, the seed's layout of a
        flattened anchored pose; the target joints' entries are picked) or only the
        target joints (length ``T * D``, target order).
        """
        if len(stats) != 4:
            raise ConfigError(
                f"stats must be (mean_2d, std_2d, mean_3d, std_3d), got {len(stats)} items"
            )
        out = []
        for arr, dim, name in zip(
            stats, (2, 2, 3, 3), ("mean_2d", "std_2d", "mean_3d", "std_3d"), strict=True
        ):
            arr = np.asarray(arr, dtype=np.float64).ravel()
            if arr.size == layout.n_joints * dim:
                arr = arr.reshape(layout.n_joints, dim)[layout.targets].ravel()
            elif arr.size != layout.n_targets * dim:
                raise ConfigError(
                    f"stats {name} has {arr.size} values; expected {layout.n_joints * dim} "
                    f"(all joints) or {layout.n_targets * dim} (target joints)"
                )
            out.append(arr.copy())
        std_ok = [np.where(np.isfinite(s) & (s > _EPS), s, 1.0) for s in (out[1], out[3])]
        return cls(np.nan_to_num(out[0]), std_ok[0], np.nan_to_num(out[2]), std_ok[1])


def _anchored_2d_scale(
    poses_2d: torch.Tensor, valid: torch.Tensor, layout: Layout, norm_2d: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    rel = anchor(poses_2d, layout)
    t, r = _indices(layout, poses_2d.device)
    vis = valid.index_select(1, t) & valid.index_select(1, r) & torch.isfinite(rel).all(-1)
    if not norm_2d:  # missing points are NaN here: callers mask them with ``vis``
        return rel, vis, None
    rel = torch.where(vis[..., None], rel, 0.0)
    scale = _scale_2d(rel, vis)
    return rel / scale, vis, scale


def roots_2d(
    poses_2d: torch.Tensor, valid: torch.Tensor, layout: Layout, scale: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """2D positions of roots 2..R relative to the first root ``(B, R - 1, 2)``, visibility."""
    others, first = _root_indices(layout, poses_2d.device)
    rel = poses_2d.index_select(1, others) - poses_2d.index_select(1, first)
    vis = valid.index_select(1, others) & valid.index_select(1, first)
    vis = vis & torch.isfinite(rel).all(-1)
    rel = torch.where(vis[..., None], rel, torch.zeros((), dtype=rel.dtype, device=rel.device))
    if scale is not None:
        rel = rel / scale
    return rel, vis


def chain_2d(
    rel: torch.Tensor, vis: torch.Tensor, layout: Layout
) -> tuple[torch.Tensor, torch.Tensor]:
    """Chain features ``(B, T, 2)`` of anchored 2D ``rel`` ``(B, T, 2)`` and their presence.

    Each target set is a chain root -> targets in the given order; for the segment ending
    at each target: its squared 2D length, then its length. With fixed 3D segment lengths
    the 2D length tells how much of the segment points along the camera's axis
    (foreshortening), which a linear map of the coordinates cannot compute. A segment is
    missing (0, and False in the returned ``(B, T)`` presence) when either end is (``vis``
    is the targets' visibility).
    """
    feats, ok = _chain_raw(rel, vis, layout)
    return torch.where(
        ok[..., None], feats, torch.zeros((), dtype=rel.dtype, device=rel.device)
    ), ok


def _chain_raw(
    rel: torch.Tensor, vis: torch.Tensor, layout: Layout
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`chain_2d` without zeroing the missing segments (they may be NaN)."""
    prev, has_prev = _chain_indices(layout, rel.device)
    # a missing end is NaN or masked by ``vis``: the segment is masked by ``ok``
    seg = rel - rel.index_select(1, prev) * has_prev.to(rel.dtype)
    sq = (seg * seg).sum(-1)
    ok = vis & vis.index_select(1, prev)
    return torch.stack([sq, torch.sqrt(sq)], -1), ok


def compute_stats(
    poses_2d: torch.Tensor,
    valid_2d: torch.Tensor,
    poses_3d: torch.Tensor,
    weight_3d: torch.Tensor,
    layout: Layout,
    norm_2d: bool,
    root_input: bool = False,
    chain_features: bool = False,
) -> Stats:
    """Mean and standard deviation of each anchored coordinate, ignoring missing points."""
    rel2, vis2, scale = _anchored_2d_scale(poses_2d, valid_2d, layout, norm_2d)
    rel3, w3 = _anchored_3d(poses_3d, weight_3d, layout)

    def moments(rel: torch.Tensor, vis: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        x = torch.where(vis[..., None], rel, 0.0).double()
        w = vis[..., None].double().expand_as(x)
        n = w.sum(0)
        mean = (x * w).sum(0) / n.clamp(min=1)
        var = (((x - mean) ** 2) * w).sum(0) / n.clamp(min=1)
        std = torch.sqrt(var)
        std = torch.where((n > 1) & (std > _EPS), std, torch.ones_like(std))
        mean = torch.where(n > 0, mean, torch.zeros_like(mean))
        return mean.reshape(-1).cpu().numpy(), std.reshape(-1).cpu().numpy()

    m2, s2 = moments(rel2, vis2)
    m3, s3 = moments(rel3, w3)
    stats = Stats(m2, s2, m3, s3)
    if root_input and len(layout.roots) > 1:
        rr, rv = roots_2d(poses_2d, valid_2d, layout, scale)
        stats.mean_root, stats.std_root = moments(rr, rv)
    if chain_features:
        ch, ok = chain_2d(rel2, vis2, layout)
        stats.mean_chain, stats.std_chain = moments(ch, ok)
    return stats


def input_size(layout: Layout, root_input: bool = False, chain_features: bool = False) -> int:
    """Length of the network input.

    ``T * 2`` coordinates plus ``T`` visibility flags; with ``root_input`` (and more than
    one root) also ``(R - 1) * 2`` root coordinates and ``R - 1`` flags; with
    ``chain_features`` also ``T * 2`` segment features.
    """
    extra = 3 * (len(layout.roots) - 1) if root_input else 0
    if chain_features:
        extra += 2 * layout.n_targets
    return layout.n_targets * 3 + extra


def set_columns(
    layout: Layout, root_input: bool, chain_features: bool
) -> tuple[list[list[int]], list[list[int]]]:
    """For each target set, its input columns and its output columns.

    The input columns are the set's own 2D coordinates, chain features and visibility
    flags (see :func:`make_input` for the order), plus the roots' layout (coordinates and
    flags) when ``root_input`` is on; the output columns are its targets' 3 coordinates.

    Examples
    --------
    >>> lay = make_layout(["r", "a", "b"], ["r"], [["a", "b"]])
    >>> set_columns(lay, root_input=False, chain_features=False)
    ([[0, 1, 2, 3, 4, 5]], [[0, 1, 2, 3, 4, 5]])
    """
    n_t = layout.n_targets
    n_r = len(layout.roots) - 1 if root_input else 0
    n_pts = n_t + n_r
    chain0 = 2 * n_pts
    vis0 = chain0 + (2 * n_t if chain_features else 0)
    root_cols = [2 * (n_t + i) + k for i in range(n_r) for k in range(2)]
    root_cols += [vis0 + n_t + i for i in range(n_r)]
    ins, outs, start = [], [], 0
    for ts in layout.target_sets:
        idx = range(start, start + len(ts))
        cols = [2 * i + k for i in idx for k in range(2)]
        if chain_features:
            cols += [chain0 + 2 * i + k for i in idx for k in range(2)]
        cols += [vis0 + i for i in idx]
        cols += root_cols
        ins.append(cols)
        outs.append([3 * i + k for i in idx for k in range(3)])
        start += len(ts)
    return ins, outs


def make_input(
    poses_2d: torch.Tensor,
    valid_2d: torch.Tensor,
    layout: Layout,
    stats: dict[str, torch.Tensor],
    norm_2d: bool,
) -> torch.Tensor:
    """Network input ``(B, T * 3)``: standardised anchored 2D, zero where missing, then flags.

    Parameters
    ----------
    poses_2d
        ``(B, J, 2)`` 2D poses; NaN where missing.
    valid_2d
        ``(B, J)`` bool, False to hide a point from the network.
    layout, stats, norm_2d
        See :class:`Layout`, :meth:`Stats.tensors` and the ``norm_2d`` encoder option.
    """
    roots = "mean_root" in stats
    pts, anc = _input_indices(layout, roots, poses_2d.device)
    rel = poses_2d.index_select(1, pts) - poses_2d.index_select(1, anc)
    vis = valid_2d.index_select(1, pts) & valid_2d.index_select(1, anc)
    vis = vis & torch.isfinite(rel).all(-1)
    b, n_t = rel.shape[0], layout.n_targets
    if norm_2d:
        zero = torch.zeros((), dtype=rel.dtype, device=rel.device)
        rel = torch.where(vis[..., None], rel, zero)
        rel = rel / _scale_2d(rel[:, :n_t], vis[:, :n_t])
    scale, shift = _affine(stats, "input", "mean_2d", "std_2d", roots)
    z = torch.addcmul(shift.view(-1, 2), rel, scale.view(-1, 2))
    parts = [torch.where(vis[..., None], z, 0.0).reshape(b, -1)]
    if "mean_chain" in stats:
        ch, ok = _chain_raw(rel[:, :n_t], vis[:, :n_t], layout)
        c_scale, c_shift = _affine(stats, "chain", "mean_chain", "std_chain", False)
        zc = torch.addcmul(c_shift.view(-1, 2), ch, c_scale.view(-1, 2))
        # a missing segment (an end missing) is 0 after standardisation, as missing points
        parts.append(torch.where(ok[..., None], zc, 0.0).reshape(b, -1))
    parts.append(vis.to(z.dtype))
    return torch.cat(parts, dim=1)


@functools.lru_cache(maxsize=64)
def _input_indices(
    layout: Layout, roots: bool, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Index tensors of the input points (targets, then roots 2..R) and of their anchors."""
    pts, anc = list(layout.targets), list(layout.target_roots)
    if roots:
        pts += list(layout.roots[1:])
        anc += [layout.roots[0]] * (len(layout.roots) - 1)
    return (
        torch.as_tensor(pts, dtype=torch.int64, device=device),
        torch.as_tensor(anc, dtype=torch.int64, device=device),
    )


def _affine(
    stats: dict[str, torch.Tensor], name: str, mean: str, std: str, roots: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale and shift of a standardisation (from :meth:`Stats.tensors`, else computed)."""
    if f"{name}_scale" in stats:
        return stats[f"{name}_scale"], stats[f"{name}_shift"]
    m, sd = stats[mean], stats[std]
    if roots:
        m, sd = torch.cat([m, stats["mean_root"]]), torch.cat([sd, stats["std_root"]])
    return 1.0 / sd, -m / sd


def _anchored_3d(
    poses_3d: torch.Tensor, weight_3d: torch.Tensor, layout: Layout
) -> tuple[torch.Tensor, torch.Tensor]:
    rel = anchor(poses_3d, layout)
    t, r = _indices(layout, poses_3d.device)
    w = weight_3d.index_select(1, t) & weight_3d.index_select(1, r)
    w = w & torch.isfinite(rel).all(-1)
    rel = torch.where(w[..., None], rel, torch.zeros((), dtype=rel.dtype, device=rel.device))
    return rel, w


def make_target(
    poses_3d: torch.Tensor,
    weight_3d: torch.Tensor,
    layout: Layout,
    stats: dict[str, torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Standardised anchored 3D target ``(B, T * 3)`` and its loss weights ``(B, T * 3)``.

    A coordinate's weight is 0 when the joint or its root is NaN or excluded by
    ``weight_3d``; its target value is then 0 (it never reaches the loss).
    """
    rel, w_joint = _anchored_3d(poses_3d, weight_3d, layout)
    w = w_joint[..., None]
    b = rel.shape[0]
    scale, shift = _affine(stats, "target", "mean_3d", "std_3d", False)
    z = torch.addcmul(shift.view(-1, 3), rel, scale.view(-1, 3))
    z = torch.where(w, z, 0.0).reshape(b, -1)
    return z, w.expand(-1, -1, 3).reshape(b, -1).to(z.dtype)


def unnormalise_output(out: torch.Tensor, stats: dict[str, torch.Tensor]) -> torch.Tensor:
    """Network output ``(B, T * 3)`` back to anchored 3D ``(B, T, 3)`` in input units."""
    return (out * stats["std_3d"] + stats["mean_3d"]).reshape(out.shape[0], -1, 3)


class InputEncoder:
    """Turns 2D poses into the network's input and its output into root-relative 3D.

    It holds the keypoint names, the :class:`Layout` (roots and target sets), the
    :class:`EncoderOptions` and, once fitted, the normalisation :class:`Stats` and the
    roots' mean offsets (for ``root_positions="mean"``); it is saved with the model
    (:meth:`to_tensors`, :meth:`from_tensors`).

    Parameters
    ----------
    keypoints
        Keypoint names in the order of the poses' joint axis (or their number, then
        named ``"0"``, ``"1"``, ...).
    roots, target_sets
        See :func:`make_layout`.
    options
        The feature options (default: all off, the original LiftPose3D's input).

    Examples
    --------
    >>> enc = InputEncoder(["r", "a", "b"], ["r"], [["a", "b"]], EncoderOptions(norm_2d=True))
    >>> enc.input_size, enc.output_size
    (6, 6)
    """

    def __init__(
        self,
        keypoints: Sequence[str] | int,
        roots: Sequence[int | str] | int | str,
        target_sets: Sequence[Sequence[int | str]] | Sequence[int | str],
        options: EncoderOptions | None = None,
    ) -> None:
        if isinstance(keypoints, int | np.integer):
            keypoints = [str(i) for i in range(int(keypoints))]
        self.keypoints = [str(k) for k in keypoints]
        if len(set(self.keypoints)) != len(self.keypoints):
            raise ConfigError(f"keypoint names must be unique: {self.keypoints}")
        self.layout = make_layout(self.keypoints, roots, target_sets)
        self.options = options or EncoderOptions()
        self._stats: Stats | None = None
        self._cache: dict[torch.device, dict[str, torch.Tensor]] = {}
        self.root_offsets: np.ndarray | None = None

    @property
    def stats(self) -> Stats | None:
        """The normalisation statistics (None until fitted)."""
        return self._stats

    @stats.setter
    def stats(self, value: Stats | None) -> None:
        self._stats = value
        self._cache = {}

    @property
    def is_fitted(self) -> bool:
        """Whether the statistics are known."""
        return self._stats is not None

    @property
    def input_size(self) -> int:
        """Length of the network input (see :func:`input_size`)."""
        return input_size(self.layout, self.options.root_input, self.options.chain_features)

    @property
    def output_size(self) -> int:
        """Length of the network output: 3 coordinates per target joint."""
        return self.layout.n_targets * 3

    def set_columns(self) -> tuple[list[list[int]], list[list[int]]]:
        """Each target set's input and output columns (see :func:`set_columns`)."""
        return set_columns(self.layout, self.options.root_input, self.options.chain_features)

    def check_same_keypoints(self, other: InputEncoder, what: str) -> None:
        """Raise :class:`KeypointError` unless ``other`` has these keypoints, roots and sets."""
        if other.keypoints != self.keypoints or other.layout != self.layout:
            raise KeypointError(
                f"{what} has keypoints {other.keypoints}, roots {list(other.layout.roots)} and "
                f"target sets {[list(t) for t in other.layout.target_sets]}; this lifter has "
                f"keypoints {self.keypoints}, roots {list(self.layout.roots)} and target sets "
                f"{[list(t) for t in self.layout.target_sets]}"
            )

    # ------------------------------------------------------------------ fit
    def fit(self, data: PoseBatch, stats: Stats | Sequence[np.ndarray] | None = None) -> None:
        """Statistics and mean root offsets from ``data`` (training frames).

        ``stats`` (a :class:`Stats` or the seed's ``(mean_2d, std_2d, mean_3d, std_3d)``)
        replaces the computed 2D/3D statistics; the roots' and chain statistics are not
        part of the seed's tuple and are computed.
        """
        opt = self.options
        computed = compute_stats(
            data.pose_2d,
            data.valid_2d,
            data.pose_3d,
            data.weight_3d,
            self.layout,
            opt.norm_2d,
            opt.root_input,
            opt.chain_features,
        )
        if stats is None:
            self.stats = computed
        else:
            given = stats if isinstance(stats, Stats) else Stats.from_seed(stats, self.layout)
            self.stats = Stats(
                given.mean_2d,
                given.std_2d,
                given.mean_3d,
                given.std_3d,
                computed.mean_root,
                computed.std_root,
                computed.mean_chain,
                computed.std_chain,
            )
        p3 = data.pose_3d.double().cpu().numpy()
        roots = np.asarray(self.layout.roots)
        rel = p3[:, roots] - p3[:, roots[:1]]
        with np.errstate(invalid="ignore"):
            offsets = np.nanmean(np.where(np.isfinite(rel), rel, np.nan), axis=0)
        self.root_offsets = np.nan_to_num(offsets)

    # --------------------------------------------------------------- encode
    def tensors(self, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """The statistics as tensors on ``device`` (:meth:`Stats.tensors`, cached)."""
        if self._stats is None:
            raise ConfigError("the input encoder has no statistics: fit it first")
        dev = torch.device(device)
        if dev not in self._cache:
            self._cache[dev] = self._stats.tensors(dev)
        return self._cache[dev]

    def encode(self, pose_2d: torch.Tensor, valid_2d: torch.Tensor) -> torch.Tensor:
        """Network input ``(B, input_size)`` of 2D poses ``(B, J, 2)`` (see :func:`make_input`)."""
        st = self.tensors(pose_2d.device)
        return make_input(pose_2d, valid_2d, self.layout, st, self.options.norm_2d)

    def target(
        self, pose_3d: torch.Tensor, weight_3d: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Standardised target and loss weights of 3D poses (see :func:`make_target`)."""
        return make_target(pose_3d, weight_3d, self.layout, self.tensors(pose_3d.device))

    def decode(self, out: torch.Tensor) -> torch.Tensor:
        """Network output ``(B, T * 3)`` to root-relative 3D ``(B, T, 3)`` in input units."""
        return unnormalise_output(out, self.tensors(out.device))

    # ----------------------------------------------------------------- save
    def to_tensors(self) -> dict[str, torch.Tensor]:
        """The statistics (``stats.<name>``) and ``root_offsets`` as float64 tensors."""
        if self._stats is None or self.root_offsets is None:
            raise ConfigError("the input encoder has no statistics: fit it first")
        t = {
            f"stats.{k}": torch.as_tensor(np.asarray(v, dtype=np.float64))
            for k, v in self._stats.as_dict().items()
        }
        t["root_offsets"] = torch.as_tensor(np.asarray(self.root_offsets, dtype=np.float64))
        return t

    def load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Set the statistics and root offsets from :meth:`to_tensors`' tensors.

        Raises
        ------
        KeyError
            If a tensor is missing.
        """
        names = ["mean_2d", "std_2d", "mean_3d", "std_3d"]
        names += [
            k
            for k in ("mean_root", "std_root", "mean_chain", "std_chain")
            if f"stats.{k}" in tensors
        ]
        self.stats = Stats(**{k: tensors[f"stats.{k}"].numpy() for k in names})
        self.root_offsets = tensors["root_offsets"].numpy()

    @classmethod
    def from_tensors(
        cls,
        keypoints: Sequence[str],
        roots: Sequence[int | str],
        target_sets: Sequence[Sequence[int | str]],
        options: EncoderOptions,
        tensors: dict[str, torch.Tensor],
    ) -> InputEncoder:
        """An encoder with the statistics saved by :meth:`to_tensors`."""
        enc = cls(keypoints, roots, target_sets, options)
        enc.load_tensors(tensors)
        return enc

    def __repr__(self) -> str:
        state = "fitted" if self.is_fitted else "not fitted"
        return f"InputEncoder({len(self.keypoints)} keypoints, {self.options}, {state})"
