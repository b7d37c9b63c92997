"""How sure the lifter is: a calibrated estimate of each lifted point's own error.

An :class:`ErrorModel` is a small network beside a trained :class:`~liftpose_dlc.Lifter`
(the lifter's network and its defaults are not touched): from the lifter's input features
and its output it predicts, for every target point, a scale ``σ`` of the point's error (the
Euclidean distance, in the lifter's units, between the lifted and the true position of the
point relative to its root). It is fitted *after* the lifter, on held-out 2D/3D pairs
(:func:`fit_error_model`), in two parts:

1. **regression**: ``log σ`` is fitted to ``log error`` with an L1 loss, so ``σ`` estimates
   the conditional median of the error; 2D points are dropped at random (``drop``) so
   that it also learns how much less sure the lifter is about points it infers;
2. **calibration** (split conformal): on held-out pairs not used in 1, the quantiles of
   ``error / σ`` at levels ``0.001 … 0.999`` are stored, one table for the points seen in
   2D and one for the points whose 2D was missing (inferred points: Mondrian calibration,
   so that each kind is calibrated, not only both together). The bound of a point at level
   ``p`` is ``σ · q(p)``: on data like the calibration data, a fraction ``p`` of the points
   have their error below it (:meth:`ErrorModel.bounds`).

Its **confidence** of a point (what lifted outputs carry as ``Poses.confidence`` and write
in the DeepLabCut ``likelihood`` column / SLEAP ``point_scores``) is likelihood-like: the
probability, under the calibrated error distribution, that the point's error is below the
model's *tolerance* ``τ`` (the median error of the calibration points), ``F(τ / σ)``. A typical
point has 0.5, a point the lifter is surer about more, an inferred (occluded) one less. The
bound at level ``p`` follows from the confidence ``c`` alone: ``τ · q(p) / q(c)``
(:func:`bounds_from_confidence`), with the point's table; the outputs record ``τ`` and both
tables (``confidence_quantiles``, ``confidence_quantiles_inferred``). A root is at
its own position by construction: its error is 0 and its confidence 1 (the model estimates
the posture's error, not the placement's).

The model is saved in the lifter's model file (tensors ``uncertainty.*``, metadata key
``uncertainty``): files without it load as before and give the same outputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from liftpose_dlc.errors import ConfigError, ModelFileError

if TYPE_CHECKING:  # pragma: no cover
    from liftpose_dlc.lifter.lifter import Lifter

__all__ = [
    "ErrorModel",
    "fit_error_model",
    "fit_error_model_on_sequences",
    "bounds_from_confidence",
    "calibration_curve",
    "LEVELS",
]

#: Levels of the stored calibration table.
LEVELS = np.concatenate([[0.001, 0.005], np.round(np.arange(0.01, 0.995, 0.01), 2), [0.995, 0.999]])


class _Net(nn.Module):
    def __init__(self, n_in: int, n_out: int, hidden: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(n_in, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _clean(arr: np.ndarray) -> np.ndarray:
    return np.asarray(arr, dtype=np.float64)


class ErrorModel:
    """A post-hoc error regressor for a lifter, calibrated on held-out data.

    Use :func:`fit_error_model` to make one; it is saved and loaded with the lifter
    (``Lifter.error_model``).

    Parameters
    ----------
    n_in, n_targets
        Input features (the lifter's network input and output) and target points.
    hidden
        Width of the two hidden layers.
    """

    def __init__(self, n_in: int, n_targets: int, hidden: int = 64) -> None:
        self.n_in, self.n_targets, self.hidden = int(n_in), int(n_targets), int(hidden)
        self.net = _Net(self.n_in, self.n_targets, self.hidden)
        self.levels = LEVELS.copy()
        self.quantiles: np.ndarray | None = None
        #: The table of points whose 2D was missing (inferred points), calibrated apart.
        self.quantiles_inferred: np.ndarray | None = None
        self.tolerance: float | None = None
        self.units: str | None = None
        self.info: dict[str, Any] = {}

    # --------------------------------------------------------------- features
    @staticmethod
    def features(lifter: Lifter, p2: torch.Tensor) -> torch.Tensor:
        """The lifter's network input and output for 2D poses ``(B, J, 2)``: ``(B, n_in)``."""
        valid = torch.isfinite(p2).all(-1)
        x = lifter.encoder.encode(p2, valid)
        return torch.cat([x, lifter.net(x)], dim=1)

    @torch.no_grad()
    def sigma(self, lifter: Lifter, poses_2d: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        """The error scale ``σ`` ``(N, n_targets)`` of the lifted target points."""
        arr = np.asarray(poses_2d, dtype=np.float32)
        lifter.net.eval()
        self.net.eval()
        dev = next(lifter.net.parameters()).device
        self.net.to(dev)
        out = np.empty((arr.shape[0], self.n_targets))
        for i in range(0, arr.shape[0], batch_size):
            p2 = torch.as_tensor(arr[i : i + batch_size], device=dev)
            out[i : i + batch_size] = torch.exp(self.net(self.features(lifter, p2))).double().cpu()
        return out

    def _per_joint(self, lifter: Lifter, values: np.ndarray, root_value: float) -> np.ndarray:
        """``(N, n_targets)`` → ``(N, J)``: roots get ``root_value``, other joints NaN."""
        n, n_kp = values.shape[0], len(lifter.keypoints)
        out = np.full((n, n_kp), np.nan)
        out[:, list(lifter.layout.roots)] = root_value
        out[:, np.asarray(lifter.layout.targets)] = values
        return out

    def _check(self) -> tuple[np.ndarray, float]:
        if self.quantiles is None or self.tolerance is None:
            raise ConfigError("the error model is not calibrated: use fit_error_model()")
        return self.quantiles, self.tolerance

    def bounds(
        self, lifter: Lifter, poses_2d: np.ndarray, level: float = 0.5, batch_size: int = 65536
    ) -> np.ndarray:
        """Error bound ``(N, J)`` of each point at ``level``, in the lifter's units.

        A point's error is below its bound with probability ``level``; roots are 0, joints
        that are not lifted (and sets whose root is missing) NaN.
        """
        q, _ = self._check()
        if not 0.0 < float(level) < 1.0:
            raise ConfigError(f"level must be between 0 and 1, got {level}")
        q_inf = self._inferred_table()
        inferred = self._inferred(lifter, poses_2d)
        factor = np.where(
            inferred, np.interp(level, self.levels, q_inf), np.interp(level, self.levels, q)
        )
        s = self.sigma(lifter, poses_2d, batch_size) * factor
        return self._missing_nan(self._per_joint(lifter, s, 0.0), poses_2d, lifter)

    def _inferred_table(self) -> np.ndarray:
        q, _ = self._check()
        return q if self.quantiles_inferred is None else self.quantiles_inferred

    @staticmethod
    def _inferred(lifter: Lifter, poses_2d: np.ndarray) -> np.ndarray:
        """``(N, n_targets)``: whether each target point's 2D is missing (it is inferred)."""
        arr = np.asarray(poses_2d, dtype=np.float64)[:, np.asarray(lifter.layout.targets)]
        return np.asarray(~np.isfinite(arr).all(-1))

    def confidence(
        self, lifter: Lifter, poses_2d: np.ndarray, batch_size: int = 65536
    ) -> np.ndarray:
        """Likelihood-like confidence ``(N, J)`` in (0, 1]: ``P(error < tolerance)``.

        Roots are 1; joints that are not lifted, and sets whose root is missing, NaN.
        """
        q, tol = self._check()
        s = self.sigma(lifter, poses_2d, batch_size)
        inferred = self._inferred(lifter, poses_2d)
        with np.errstate(divide="ignore"):
            c = np.where(
                inferred,
                np.interp(tol / s, self._inferred_table(), self.levels, left=0.0, right=1.0),
                np.interp(tol / s, q, self.levels, left=0.0, right=1.0),
            )
        c = np.clip(c, self.levels[0], self.levels[-1])
        return self._missing_nan(self._per_joint(lifter, c, 1.0), poses_2d, lifter)

    @staticmethod
    def _missing_nan(values: np.ndarray, poses_2d: np.ndarray, lifter: Lifter) -> np.ndarray:
        vis = np.asarray(np.isfinite(np.asarray(poses_2d, dtype=np.float64)).all(-1))
        for root, ts in zip(lifter.layout.roots, lifter.layout.target_sets, strict=True):
            bad = ~vis[:, root]
            values[bad, root] = np.nan
            values[np.ix_(bad, np.asarray(list(ts), dtype=np.intp))] = np.nan
        return values

    def provenance(self) -> dict[str, str]:
        """What lifted outputs record about their confidence (text)."""
        q, tol = self._check()
        unit = f" {self.units}" if self.units else ""
        return {
            "confidence": "probability that the point's error relative to its root is below "
            "confidence_tolerance (lifter error model; bound at level p = "
            "tolerance * q(p) / q(confidence))",
            "confidence_tolerance": f"{tol:.6g}{unit}",
            "confidence_levels": ",".join(f"{v:g}" for v in self.levels),
            "confidence_quantiles": ",".join(f"{v:.6g}" for v in q),
            "confidence_quantiles_inferred": ",".join(f"{v:.6g}" for v in self._inferred_table()),
        }

    # --------------------------------------------------------------- saving
    def to_tensors(self) -> dict[str, torch.Tensor]:
        """The network's weights as ``uncertainty.<name>`` tensors."""
        return {f"uncertainty.{k}": v for k, v in self.net.state_dict().items()}

    def to_meta(self) -> dict[str, Any]:
        """JSON-able description: sizes, calibration table, tolerance, units, info."""
        q, tol = self._check()
        return {
            "kind": "post-hoc error regressor, split-conformal calibration",
            "n_in": self.n_in,
            "n_targets": self.n_targets,
            "hidden": self.hidden,
            "levels": [float(v) for v in self.levels],
            "quantiles": [float(v) for v in q],
            "quantiles_inferred": [float(v) for v in self._inferred_table()],
            "tolerance": float(tol),
            "units": self.units,
            "info": self.info,
        }

    @classmethod
    def from_saved(cls, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> ErrorModel:
        """The model :meth:`to_meta` and :meth:`to_tensors` describe.

        Raises
        ------
        ModelFileError
            If the metadata or tensors are inconsistent.
        """
        try:
            model = cls(int(meta["n_in"]), int(meta["n_targets"]), int(meta["hidden"]))
            sd = {
                k[len("uncertainty.") :]: v
                for k, v in tensors.items()
                if k.startswith("uncertainty.")
            }
            model.net.load_state_dict(sd, strict=True)
            model.levels = np.asarray(meta["levels"], dtype=np.float64)
            model.quantiles = np.asarray(meta["quantiles"], dtype=np.float64)
            model.quantiles_inferred = np.asarray(
                meta.get("quantiles_inferred", meta["quantiles"]), dtype=np.float64
            )
            model.tolerance = float(meta["tolerance"])
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise ModelFileError(f"inconsistent error model in the lifter file: {err}") from None
        tables = (model.quantiles, model.quantiles_inferred)
        if any(t.shape != model.levels.shape or np.any(np.diff(t) < 0) for t in tables):
            raise ModelFileError("the error model's calibration table is not increasing")
        model.units = meta.get("units")
        model.info = dict(meta.get("info") or {})
        model.net.eval()
        return model


# --------------------------------------------------------------------------- fitting
@torch.no_grad()
def _target_errors(lifter: Lifter, p2: np.ndarray, p3: np.ndarray) -> np.ndarray:
    """Errors ``(N, n_targets)`` of the lifter's root-relative predictions (NaN: unknown)."""
    dev = next(lifter.net.parameters()).device
    rel, vis_root = lifter._predict_rel(p2, 65536, dev)
    layout = lifter.layout
    true = p3[:, np.asarray(layout.targets)] - p3[:, np.asarray(layout.target_roots)]
    err = np.linalg.norm(rel - true, axis=-1)
    root_ok = vis_root[
        :, np.repeat(np.arange(len(layout.roots)), [len(t) for t in layout.target_sets])
    ]
    return np.where(root_ok, err, np.nan)


def _drop_points(
    p2: np.ndarray, lifter: Lifter, rate: float, rng: np.random.Generator
) -> np.ndarray:
    out = p2.copy()
    drop = rng.random(p2.shape[:2]) < rate
    drop[:, list(lifter.layout.roots)] = False
    out[drop] = np.nan
    return out


def fit_error_model(
    lifter: Lifter,
    poses_2d: Any,
    poses_3d: Any,
    *,
    calibration: float | tuple[Any, Any] = 0.3,
    drop: float = 0.1,
    copies: int = 3,
    hidden: int = 64,
    epochs: int = 200,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    block: int | None = None,
    seed: int = 0,
    verbose: bool = False,
) -> ErrorModel:
    """Fit and calibrate an :class:`ErrorModel` for a trained lifter on held-out pairs.

    Parameters
    ----------
    lifter
        The trained lifter (not changed; set ``lifter.error_model`` to the result to use and
        save it).
    poses_2d, poses_3d
        Held-out 2D/3D pairs ``(N, J, 2)``/``(N, J, 3)`` (arrays, Poses or seed dictionaries)
        the lifter was not trained on, like the 2D it will lift (noise, missing points).
    calibration
        The fraction of the pairs (the last frames) kept for the calibration, or separate
        ``(calib_2d, calib_3d)`` pairs.
    drop
        Rate at which non-root 2D points are dropped (set missing) in the regression and
        calibration data, so that inferred points get their own, larger, errors.
    copies
        Copies of each pair with different dropped points.
    hidden, epochs, lr, seed
        The regressor's width, full-batch Adam epochs, learning rate and seed.
    verbose
        Print the calibration's fit.

    Returns
    -------
    ErrorModel

    Raises
    ------
    ConfigError
        If the lifter is not trained, or there are too few pairs (under 20 each).
    """
    from liftpose_dlc.lifter.inputs import to_array

    if not lifter.is_trained:
        raise ConfigError("fit_error_model needs a trained lifter")
    a2, _ = to_array(poses_2d, 2, lifter.keypoints, "poses_2d")
    a3, _ = to_array(poses_3d, 3, lifter.keypoints, "poses_3d")
    if a2.shape[0] != a3.shape[0]:
        raise ConfigError(f"poses_2d has {a2.shape[0]} frames, poses_3d {a3.shape[0]}")
    if isinstance(calibration, tuple | list):
        c2, _ = to_array(calibration[0], 2, lifter.keypoints, "calibration 2D")
        c3, _ = to_array(calibration[1], 3, lifter.keypoints, "calibration 3D")
        f2, f3 = a2, a3
    else:
        frac = float(calibration)
        if not 0.0 < frac < 1.0:
            raise ConfigError(f"calibration must be a fraction in (0, 1), got {calibration}")
        if block is None:
            cut = int(round(a2.shape[0] * (1.0 - frac)))
            calib = np.arange(a2.shape[0]) >= cut
        else:  # interleaved blocks of frames: every part of the recording in both
            n_blocks = max(1, int(np.ceil(a2.shape[0] / block)))
            picked = np.random.default_rng(seed + 1).random(n_blocks) < frac
            calib = np.repeat(picked, block)[: a2.shape[0]]
        f2, f3, c2, c3 = a2[~calib], a3[~calib], a2[calib], a3[calib]
    if len(f2) < 20 or len(c2) < 20:
        raise ConfigError(
            f"an error model needs at least 20 pairs to fit and 20 to calibrate, got "
            f"{len(f2)} and {len(c2)}"
        )
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)

    def expand(p2: np.ndarray, p3: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p2s = [p2] + [_drop_points(p2, lifter, drop, rng) for _ in range(max(0, copies - 1))]
        return np.concatenate(p2s), np.concatenate([p3] * len(p2s))

    f2, f3 = expand(f2, f3)
    c2, c3 = expand(c2, c3)
    err = _target_errors(lifter, f2, f3)
    dev = next(lifter.net.parameters()).device
    lifter.net.eval()
    with torch.no_grad():
        feats = ErrorModel.features(lifter, torch.as_tensor(f2, dtype=torch.float32, device=dev))
    model = ErrorModel(feats.shape[1], lifter.layout.n_targets, hidden)
    model.units = lifter.units
    net = model.net.to(dev).train()
    floor = max(float(np.nanmedian(err)) * 1e-3, 1e-9)
    target = torch.as_tensor(np.log(np.maximum(err, floor)), dtype=torch.float32, device=dev)
    known = torch.isfinite(target)
    target = torch.where(known, target, torch.zeros_like(target))
    mean, std = feats.mean(0, keepdim=True), feats.std(0, keepdim=True).clamp_min(1e-6)
    # standardise the inputs inside the first layer, so the saved net takes raw features
    with torch.no_grad():
        first: Any = net.body[0]
        first.bias -= (first.weight * (mean / std)).sum(1)
        first.weight /= std
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    # start from the median log error of each point
    with torch.no_grad():
        last: Any = net.body[-1]
        med = [
            float(np.nanmedian(np.log(np.maximum(err[:, t], floor)))) for t in range(err.shape[1])
        ]
        last.bias.copy_(torch.as_tensor(med))
        last.weight.mul_(0.1)
    for _ in range(int(epochs)):
        opt.zero_grad()
        loss = (torch.abs(net(feats) - target) * known).sum() / known.sum().clamp_min(1)
        loss.backward()
        opt.step()
    net.eval()
    # split-conformal calibration on the other pairs
    # (Mondrian: points seen in 2D and inferred points each get their own table)
    c_err = _target_errors(lifter, c2, c3)
    ratio = c_err / model.sigma(lifter, c2)
    known_c = np.isfinite(ratio)
    inferred = ErrorModel._inferred(lifter, c2)
    if int(known_c.sum()) < 20:
        raise ConfigError("too few calibration points with a known error")
    seen = known_c & ~inferred
    model.quantiles = np.quantile(ratio[seen if seen.sum() >= 20 else known_c], model.levels)
    hidden_ = known_c & inferred
    model.quantiles_inferred = (
        np.quantile(ratio[hidden_], model.levels) if hidden_.sum() >= 20 else model.quantiles
    )
    model.tolerance = float(np.nanmedian(c_err))
    model.info = {
        "fit_pairs": int(len(f2)),
        "calibration_pairs": int(len(c2)),
        "calibration_points_inferred": int((known_c & inferred).sum()),
        "drop": float(drop),
        "copies": int(copies),
        "epochs": int(epochs),
        "final_loss": float(loss.detach()),
        "seed": int(seed),
    }
    if verbose:
        q50 = np.interp(0.5, model.levels, model.quantiles)
        print(f"error model: tolerance {model.tolerance:.4g}, q50 {q50:.3g}")
    return model


def fit_error_model_on_sequences(
    lifter: Lifter,
    held_out: Sequence[tuple[Any, Any]],
    *,
    calibration: float = 0.3,
    seed: int = 0,
    max_poses: int | None = 30_000,
    **options: Any,
) -> ErrorModel:
    """Fit an :class:`ErrorModel` on held-out sequences, calibrated on the last frames of each.

    What training does with its validation frames
    (:func:`~liftpose_dlc.workflow.training.train_from_library`): every sequence (a camera's
    view of a recording) gives its first frames to the regression and its last
    ``calibration`` to the split-conformal calibration
    (:func:`~liftpose_dlc.lifter.session.validation_mask`), so both parts see every view and
    the calibration frames follow the fitted ones in time, as the frames to lift do.

    Parameters
    ----------
    lifter
        The trained lifter.
    held_out
        ``(poses_2d, poses_3d)`` pairs of each held-out sequence, none trained on.
    calibration
        Fraction of each sequence's frames (its last) that calibrate.
    seed
        Seed of the fit.
    max_poses
        At most about this many poses are used (every k-th frame of each sequence): the
        regression is full-batch. None: all.
    **options
        Other options of :func:`fit_error_model` (``drop``, ``copies``, ``hidden``,
        ``epochs``, ...).

    Returns
    -------
    ErrorModel

    Raises
    ------
    ConfigError
        If there are too few held-out pairs (see :func:`fit_error_model`).
    """
    from liftpose_dlc.lifter.inputs import to_array
    from liftpose_dlc.lifter.session import validation_mask

    seqs = [
        (
            to_array(p2, 2, lifter.keypoints, "held-out 2D")[0],
            to_array(p3, 3, lifter.keypoints, "held-out 3D")[0],
        )
        for p2, p3 in held_out
    ]
    if not seqs:
        raise ConfigError("an error model needs held-out pairs; none were given")
    total = sum(len(a) for a, _ in seqs)
    if max_poses is not None and total > max_poses:
        step = math.ceil(total / max_poses)
        seqs = [(a[::step], b[::step]) for a, b in seqs]
    is_cal = validation_mask([len(a) for a, _ in seqs], calibration)
    a2 = np.concatenate([a for a, _ in seqs])
    a3 = np.concatenate([b for _, b in seqs])
    return fit_error_model(
        lifter,
        a2[~is_cal],
        a3[~is_cal],
        calibration=(a2[is_cal], a3[is_cal]),
        seed=seed,
        **options,
    )


# --------------------------------------------------------------------------- checks
def bounds_from_confidence(
    confidence: Any,
    level: float,
    tolerance: float,
    levels: Sequence[float],
    quantiles: Sequence[float],
) -> np.ndarray:
    """Error bounds at ``level`` from confidences, with the table an output records.

    ``σ = τ / q(c)`` and the bound is ``σ q(level)``: what :meth:`ErrorModel.bounds` gives,
    up to the clipping of ``c`` to the table's levels.
    """
    c = np.asarray(confidence, dtype=np.float64)
    lv, q = np.asarray(levels, dtype=np.float64), np.asarray(quantiles, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return tolerance * np.interp(level, lv, q) / np.interp(c, lv, q)


def calibration_curve(errors: Any, bounds_by_level: dict[float, Any]) -> dict[float, float]:
    """Fraction of points whose true error is below their bound, per level (NaN ignored)."""
    e = np.asarray(errors, dtype=np.float64)
    out = {}
    for level, b in bounds_by_level.items():
        b = np.asarray(b, dtype=np.float64)
        ok = np.isfinite(e) & np.isfinite(b)
        out[float(level)] = float(np.mean(e[ok] <= b[ok])) if ok.any() else math.nan
    return out
