"""The :class:`Lifter`: a LiftPose3D network with its keypoints, roots and statistics.

Output convention
-----------------
The network predicts each joint of a target set relative to the set's root, in the
units of the 3D training data and in the frame the 3D training data was given in (for
training pairs made with a camera, the camera's frame). :meth:`Lifter.predict` returns a
full ``(N, J, 3)`` pose per frame:

* ``root_positions="zero"`` (default, the seed's convention): every root at the origin
  and each target set relative to its own root. With one root this is one coherent
  skeleton; with several roots the target sets overlap at the origin.
* ``root_positions="mean"``: each root placed at its mean position relative to the
  first root in the 3D training data (the first root at the origin), which gives one
  coherent skeleton when the roots keep their relative positions (e.g. the leg bases of a
  tethered fly); the skeleton is then relative to the first root.
* an array ``(R, 3)`` or ``(N, R, 3)``: the roots' 3D positions, given by the caller
  (e.g. measured or triangulated); each target set is added to its root.

Joints that are neither a root nor in a target set are NaN. In a frame where a root's 2D
position is missing (NaN), the root and its whole target set are NaN in that frame (the
set cannot be anchored); other target sets of the frame are predicted normally. A missing
non-root 2D point is masked (the network sees a visibility flag) and its 3D position is
still predicted from the other points.
"""

from __future__ import annotations

import copy
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from liftpose_dlc._boundary import reader_boundary
from liftpose_dlc.errors import ConfigError, ModelFileError, PosesValidationError
from liftpose_dlc.lifter.augmentation import (
    Augmentation,
    PoseBatch,
    default_augmentation,
)
from liftpose_dlc.lifter.inputs import Structure, from_array, to_array, to_mask
from liftpose_dlc.lifter.model import LiftPoseNet, ModelOptions
from liftpose_dlc.lifter.modelfile import read_model_file, write_model_file
from liftpose_dlc.lifter.preprocessing import (
    Layout,
    Stats,
    compute_stats,
    input_size,
    make_input,
    make_layout,
    make_target,
    set_columns,
    unnormalise_output,
)
from liftpose_dlc.lifter.training import (
    EpochResult,
    TrainOptions,
    TrainState,
    run_training,
)

__all__ = ["Lifter", "DEFAULT_MODEL_OPTIONS", "ORIGINAL_MODEL_OPTIONS", "DEFAULT_TRAIN_OPTIONS"]

logger = logging.getLogger(__name__)

#: The default network (chosen by the benchmark in ``benchmarks/RESULTS.md``).
DEFAULT_MODEL_OPTIONS: dict[str, Any] = {
    "linear_size": 256,
    "num_stage": 2,
    "dropout": 0.2,
    "linear_skip": True,
    "norm_2d": False,
    "root_input": True,
    "chain_features": True,
    "set_size": 128,
    "set_stage": 1,
    "view_gate": True,
}
#: The original LiftPose3D network exactly (liftpose 0.22's, with its options working):
#: ``Lifter(keypoints, roots, target_sets, **ORIGINAL_MODEL_OPTIONS)``.
ORIGINAL_MODEL_OPTIONS: dict[str, Any] = ModelOptions().as_dict()
#: The default training settings (chosen by the same benchmark).
DEFAULT_TRAIN_OPTIONS: dict[str, Any] = {}

LOG_HEADER = "epoch\tlr\tloss_train\tloss_test\terr_test"
CKPT_BEST = "ckpt_best.safetensors"
CKPT_LAST = "ckpt_last.safetensors"
LOG_FILE = "train_log.txt"


def _device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ConfigError(f"invalid device {device!r}: {err}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for, but CUDA is not available")
    return dev


class Lifter:
    """Lift 2D poses from one camera to 3D with a LiftPose3D network.

    Parameters
    ----------
    keypoints
        Keypoint names in the order of the poses' joint axis (or the number of joints,
        then named ``"0"``, ``"1"``, ...).
    roots
        Root joints (indices or names), one per target set.
    target_sets
        For each root, the joints predicted relative to it (indices or names); with one
        root a flat list is accepted (the seed's form).
    **model_options
        Network options, see :class:`~liftpose_dlc.lifter.model.ModelOptions`
        (``linear_size``, ``num_stage``, ``dropout``, ``linear_skip``, ``norm_2d``,
        ``root_input``, ``chain_features``, ``set_size``, ``set_stage``, ``view_gate``).
        Unset ones take :data:`DEFAULT_MODEL_OPTIONS`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> pose_3d = rng.normal(size=(200, 4, 3))
    >>> pose_2d = pose_3d[..., :2]
    >>> lifter = Lifter(["a", "b", "c", "d"], roots=["a"], target_sets=[["b", "c", "d"]],
    ...                 linear_size=64)
    >>> lifter = lifter.fit(pose_2d, pose_3d, epochs=2, verbose=False)
    >>> lifter.predict(pose_2d[:5]).shape
    (5, 4, 3)
    """

    def __init__(
        self,
        keypoints: Sequence[str] | int,
        roots: Sequence[int | str] | int | str,
        target_sets: Sequence[Sequence[int | str]] | Sequence[int | str],
        **model_options: Any,
    ) -> None:
        if isinstance(keypoints, int | np.integer):
            keypoints = [str(i) for i in range(int(keypoints))]
        self.keypoints = [str(k) for k in keypoints]
        if len(set(self.keypoints)) != len(self.keypoints):
            raise ConfigError(f"keypoint names must be unique: {self.keypoints}")
        self.layout: Layout = make_layout(self.keypoints, roots, target_sets)
        self.options = ModelOptions.from_kwargs(**{**DEFAULT_MODEL_OPTIONS, **model_options})
        self.net = self._make_net()
        self.stats: Stats | None = None
        self.root_offsets: np.ndarray | None = None
        self.train_options: dict[str, Any] = {}
        self.augmentation: list[str] = []
        self.history: list[EpochResult] = []
        self.best_epoch: int | None = None
        self._ema_net: LiftPoseNet | None = None
        #: Units and coordinate frame of the 3D it was trained on (and so of its output),
        #: saved in the model file; None when unknown.
        self.units: str | None = None
        self.frame: str | None = None

    def _make_net(self) -> LiftPoseNet:
        """A new network for this lifter's layout and options."""
        opt = self.options
        return LiftPoseNet(
            input_size(self.layout, opt.root_input, opt.chain_features),
            self.layout.n_targets * 3,
            opt,
            groups=set_columns(self.layout, opt.root_input, opt.chain_features),
        )

    # ------------------------------------------------------------------ info
    @property
    def roots(self) -> list[int]:
        """Root joint indices."""
        return list(self.layout.roots)

    @property
    def target_sets(self) -> list[list[int]]:
        """Target sets (joint indices), one per root."""
        return [list(ts) for ts in self.layout.target_sets]

    @property
    def is_trained(self) -> bool:
        """Whether the lifter has normalisation statistics and trained weights."""
        return self.stats is not None

    def __repr__(self) -> str:
        state = "trained" if self.is_trained else "untrained"
        return (
            f"Lifter({len(self.keypoints)} keypoints, roots={self.roots}, "
            f"target_sets={self.target_sets}, {self.options}, {state})"
        )

    # ------------------------------------------------------------------ data
    def _pairs(
        self, poses_2d: Any, poses_3d: Any, keypts: Any, what: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Structure]:
        a2, s2 = to_array(poses_2d, 2, self.keypoints, f"{what}_2d")
        a3, _ = to_array(poses_3d, 3, self.keypoints, f"{what}_3d")
        if a2.shape[0] != a3.shape[0]:
            raise PosesValidationError(
                f"{what}_2d has {a2.shape[0]} frames but {what}_3d has {a3.shape[0]}"
            )
        mask = to_mask(keypts, s2, a2.shape[:2], f"{what}_keypts")
        return a2, a3, mask, s2

    @staticmethod
    def _batch(a2: np.ndarray, a3: np.ndarray, mask: np.ndarray, dev: torch.device) -> PoseBatch:
        p2 = torch.as_tensor(a2, dtype=torch.float32, device=dev)
        p3 = torch.as_tensor(a3, dtype=torch.float32, device=dev)
        m = torch.as_tensor(mask, dtype=torch.bool, device=dev)
        return PoseBatch(p2, p3, torch.isfinite(p2).all(-1), m & torch.isfinite(p3).all(-1))

    # ------------------------------------------------------------------- fit
    def fit(
        self,
        poses_2d: Any,
        poses_3d: Any,
        val: float | tuple[Any, Any] | None = None,
        epochs: int | None = None,
        augment: str | bool | Sequence[Augmentation] | None = "default",
        device: str | torch.device | None = None,
        *,
        keypts: Any = None,
        test: tuple[Any, Any] | tuple[Any, Any, Any] | None = None,
        stats: Stats | Sequence[np.ndarray] | None = None,
        out_dir: str | os.PathLike | None = None,
        resume: bool = False,
        load: str | os.PathLike | None = None,
        verbose: bool = True,
        **train_options: Any,
    ) -> Lifter:
        """Train on paired 2D/3D poses.

        Parameters
        ----------
        poses_2d, poses_3d
            Paired poses: :class:`~liftpose_dlc.Poses`, arrays ``(N, J, 2)``/``(N, J, 3)``
            or seed dictionaries ``{key: array}`` with the same keys. NaN marks a missing
            point: a NaN 2D point is masked in the input, a NaN 3D point is left out of the
            loss. The caller's arrays are not modified.
        val
            Validation data selecting the best epoch: a fraction of the training frames
            (the last frames of each sequence, so that neighbouring frames do not leak),
            a pair ``(val_2d, val_3d)``, or 0 to keep the last epoch. None (default): the
            ``val_fraction`` training option, 0 by default (with the default cosine
            schedule, training ends at a low rate and the last epoch is kept).
        epochs
            Number of epochs (default: :class:`~liftpose_dlc.lifter.training.TrainOptions`).
        augment
            ``"default"``/True: :func:`~liftpose_dlc.lifter.augmentation.random_view`
            with a camera estimated from the training pairs. None/False: none. Or a list
            of augmentations (e.g. ``[random_project(...), add_noise(1.0)]``).
        device
            ``"cpu"``, ``"cuda"``, ...; None: CUDA when available, else CPU.
        keypts
            Bool ``(N, J)`` (or ``(N, J, 3)``, or a dictionary of those): False excludes a
            point from the loss (the seed's ``train_keypts``).
        test
            Optional ``(test_2d, test_3d[, test_keypts])`` to monitor each epoch (logged as
            ``loss_test``/``err_test``; never used for selection).
        stats
            Precomputed normalisation statistics: a :class:`Stats` or the seed's tuple
            ``(mean_2d, std_2d, mean_3d, std_3d)`` (see :meth:`Stats.from_seed`).
        out_dir
            If given, ``train_log.txt`` and the checkpoints ``ckpt_best.safetensors`` and
            ``ckpt_last.safetensors`` are written there after every epoch (replacing those
            of a previous run).
        resume
            Continue the run saved in ``out_dir``'s ``ckpt_last.safetensors`` (or ``load``)
            up to ``epochs``; the log is appended to.
        load
            A checkpoint to start from (weights, optimiser and counters); a relative path is
            looked up in ``out_dir`` first. A seed name ``*.pth.tar`` is mapped to ours.
        verbose
            Show a progress bar.
        **train_options
            Other :class:`~liftpose_dlc.lifter.training.TrainOptions` (``batch_size``,
            ``lr``, ``lr_decay``, ``lr_gamma``, ``max_norm``, ``weight_decay``, ``loss``,
            ``seed``).

        Returns
        -------
        Lifter
            ``self``, trained (the best epoch's weights).
        """
        unknown = sorted(set(train_options) - set(TrainOptions.names()))
        if unknown:
            raise ConfigError(
                f"unknown training options {unknown}; known: {sorted(TrainOptions.names())}"
            )
        opts_dict = {**TrainOptions().as_dict(), **DEFAULT_TRAIN_OPTIONS, **train_options}
        if epochs is not None:
            opts_dict["epochs"] = epochs
        if isinstance(val, float | int) and not isinstance(val, bool):
            opts_dict["val_fraction"] = float(val)
        opts = TrainOptions(**opts_dict)
        dev = _device(device)

        a2, a3, mask, struct = self._pairs(poses_2d, poses_3d, keypts, "train")
        val_batch: PoseBatch | None = None
        if isinstance(val, tuple | list):
            if len(val) != 2:
                raise ConfigError("val must be a fraction or a pair (val_2d, val_3d)")
            v2, v3, vm, _ = self._pairs(val[0], val[1], None, "val")
            val_batch = self._batch(v2, v3, vm, dev)
        elif opts.val_fraction > 0:
            is_val = np.zeros(len(a2), dtype=bool)
            start = 0
            for n in struct.lengths or [len(a2)]:
                k = int(round(n * opts.val_fraction))
                if n - k >= 2 and k >= 1:
                    is_val[start + n - k : start + n] = True
                start += n
            if is_val.any():
                val_batch = self._batch(a2[is_val], a3[is_val], mask[is_val], dev)
                a2, a3, mask = a2[~is_val], a3[~is_val], mask[~is_val]
        test_batch: PoseBatch | None = None
        if test is not None:
            t2, t3, tm, _ = self._pairs(
                test[0], test[1], test[2] if len(test) > 2 else None, "test"
            )
            test_batch = self._batch(t2, t3, tm, dev)
        train = self._batch(a2, a3, mask, dev)
        opts = opts.resolved(len(train))

        if augment is True or augment == "default":
            augs: list[Augmentation] = default_augmentation()
        elif augment is None or augment is False:
            augs = []
        elif isinstance(augment, str):
            raise ConfigError(f"augment must be 'default', None or a list, got {augment!r}")
        else:
            augs = list(augment)
            for aug in augs:
                if not callable(aug):
                    raise ConfigError(f"augmentation {aug!r} is not callable")

        out_path = None if out_dir is None else Path(out_dir)
        ckpt = self._find_checkpoint(out_path, load, resume)

        with torch.random.fork_rng(devices=[dev.index or 0] if dev.type == "cuda" else []):
            torch.manual_seed(opts.seed)
            # camera fit, statistics and linear init use at most SETUP_SAMPLES frames
            setup = _subsample(train, SETUP_SAMPLES)
            for aug in augs:
                if hasattr(aug, "fit"):
                    aug.fit(setup)
            self.net = self._make_net().to(dev)
            if ckpt is None:
                real = setup
                setup = _with_augmented_pass(setup, augs)
                self._init_stats(setup, stats)
                self._init_linear(setup, real)
            optimizer = torch.optim.Adam(
                self.net.parameters(), lr=opts.lr, weight_decay=opts.weight_decay, foreach=True
            )
            state = TrainState(lr=opts.lr)
            best_state = None
            ema_net = None
            rng = None
            if ckpt is not None:
                state = self._restore_checkpoint(ckpt, optimizer, dev)
                best_file = ckpt.parent / CKPT_BEST
                if best_file.exists():
                    best_state = Lifter.load(best_file).net.state_dict()
                # last: building networks above draws random numbers
                ckpt_tensors = read_model_file(ckpt)[0]
                rng = ckpt_tensors.get("rng.cpu")
            if opts.ema > 0:
                ema_net = copy.deepcopy(self.net)
                if ckpt is not None:
                    ema_sd = {k[4:]: v for k, v in ckpt_tensors.items() if k.startswith("ema.")}
                    if ema_sd:
                        ema_net.load_state_dict(ema_sd)
            self._ema_net = ema_net
            if ckpt is not None and rng is not None:
                torch.set_rng_state(rng)
            self.train_options = opts.as_dict()
            self.augmentation = [repr(a) for a in augs]
            assert self.stats is not None
            stats_t = self.stats.tensors(dev)

            log_file = None
            if out_path is not None:
                out_path.mkdir(parents=True, exist_ok=True)
                log_file = out_path / LOG_FILE
                if not (resume and log_file.exists()):
                    log_file.write_text(LOG_HEADER + "\n")
            if not resume:
                self.history = []

            def on_epoch_end(
                res: EpochResult, st: TrainState, best: dict[str, torch.Tensor]
            ) -> None:
                self.history.append(res)
                self.best_epoch = st.best_epoch
                if out_path is None:
                    return
                assert log_file is not None
                with log_file.open("a") as fh:
                    fh.write(
                        f"{res.epoch}\t{res.lr:.6g}\t{res.loss_train:.6g}\t"
                        f"{res.loss_test:.6g}\t{res.err_test:.6g}\n"
                    )
                self._write(out_path / CKPT_LAST, optimizer=optimizer, state=st)
                if res.is_best:
                    self._write(out_path / CKPT_BEST, state=st)

            assert opts.epochs is not None
            total = max(opts.epochs - state.epoch, 0) * len(train)
            bar = None
            if verbose and total:
                from tqdm.auto import tqdm

                bar = tqdm(total=total, desc="training lifter", unit="pose")
            try:
                best = run_training(
                    self.net,
                    optimizer,
                    self.layout,
                    stats_t,
                    self.options.norm_2d,
                    opts,
                    train,
                    val_batch,
                    test_batch,
                    augs,
                    state,
                    on_epoch_end=on_epoch_end,
                    progress=None if bar is None else bar.update,
                    best_state=best_state,
                    ema_net=ema_net,
                )
            finally:
                if bar is not None:
                    bar.close()
            self.net.load_state_dict(best)
            self.best_epoch = state.best_epoch
            self._ema_net = None
        self.net.eval()
        return self

    def _find_checkpoint(
        self, out_path: Path | None, load: str | os.PathLike | None, resume: bool
    ) -> Path | None:
        if load is not None:
            p = Path(load)
            if p.name.endswith(".pth.tar"):
                p = p.with_name(p.name[: -len(".pth.tar")] + ".safetensors")
            if not p.is_absolute() and out_path is not None and (out_path / p).exists():
                p = out_path / p
            if not p.exists():
                raise ConfigError(f"checkpoint to load not found: {p}")
            return p
        if resume:
            if out_path is None:
                raise ConfigError("resume=True needs out_dir (where ckpt_last.safetensors is)")
            p = out_path / CKPT_LAST
            if not p.exists():
                raise ConfigError(f"resume=True but there is no checkpoint {p}")
            return p
        return None

    def _init_stats(self, data: PoseBatch, stats: Stats | Sequence | None) -> None:
        """Normalisation statistics and mean root offsets from ``data`` (training frames)."""
        computed = compute_stats(
            data.pose_2d,
            data.valid_2d,
            data.pose_3d,
            data.weight_3d,
            self.layout,
            self.options.norm_2d,
            self.options.root_input,
            self.options.chain_features,
        )
        if stats is None:
            self.stats = computed
        else:
            given = stats if isinstance(stats, Stats) else Stats.from_seed(stats, self.layout)
            # the roots' and chain statistics are not part of the seed's tuple: computed
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

    @torch.no_grad()
    def _init_linear(self, data: PoseBatch, real: PoseBatch) -> None:
        """Set the linear paths to ridge least-squares maps.

        The skip path gets the map fitted on ``data`` (the training data with an augmented
        copy), the view gate's expert (``view_gate``) the one fitted on ``real`` (the
        training data alone), the samples it is trained on.
        """
        if self.net.skip is not None:
            _set_ridge(self.net.skip, self._ridge(data))
        if self.net.view is not None:
            _set_ridge(self.net.view.skip, self._ridge(real))

    def _ridge(self, data: PoseBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Ridge least-squares map from network input to standardised target on ``data``."""
        assert self.stats is not None
        st = self.stats.tensors(data.pose_2d.device)
        x = make_input(data.pose_2d, data.valid_2d, self.layout, st, self.options.norm_2d)
        y, w = make_target(data.pose_3d, data.weight_3d, self.layout, st)
        x, y, w = x.double(), y.double(), w.double()
        # per output: weighted least squares would need one solve per output; rows with
        # missing targets are rare, so use the rows with every target present when enough
        full = w.min(1).values > 0
        if int(full.sum()) > x.shape[1] + 1:
            x, y = x[full], y[full]
        xm, ym = x.mean(0), y.mean(0)
        xc, yc = x - xm, y - ym
        gram = xc.T @ xc
        lam = 1e-3 * float(torch.trace(gram)) / gram.shape[0] + 1e-8
        eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
        coef = torch.linalg.solve(gram + lam * eye, xc.T @ yc)
        return coef.T, ym - xm @ coef

    # --------------------------------------------------------------- predict
    @torch.no_grad()
    def predict(
        self,
        poses_2d: Any,
        batch_size: int = 65536,
        device: str | torch.device | None = None,
        root_positions: str | np.ndarray = "zero",
    ) -> Any:
        """Lift 2D poses to 3D.

        Parameters
        ----------
        poses_2d
            :class:`~liftpose_dlc.Poses`, an array ``(N, J, 2)`` or a seed dictionary;
            NaN where a point is missing. Not modified.
        batch_size
            Frames per chunk (memory bound only; results do not depend on it).
        device
            As in :meth:`fit`; None: CUDA when available, else CPU.
        root_positions
            ``"zero"``, ``"mean"`` or an array of root positions: see the module docstring.

        Returns
        -------
        The same container as ``poses_2d`` (array ``(N, J, 3)``, dictionary or 3D
        :class:`~liftpose_dlc.Poses`), float64, in the 3D training data's units.
        """
        if not self.is_trained:
            raise ConfigError("this Lifter is not trained: call fit() or Lifter.load() first")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        assert self.stats is not None
        arr, struct = to_array(poses_2d, 2, self.keypoints, "poses_2d")
        dev = _device(device)
        rel, vis_root = self._predict_rel(arr, batch_size, dev)
        out = self._assemble(rel, vis_root, root_positions)
        return from_array(out, struct)

    def _predict_rel(
        self, arr: np.ndarray, batch_size: int, dev: torch.device
    ) -> tuple[np.ndarray, np.ndarray]:
        """Root-relative predictions ``(N, T, 3)`` and root visibility ``(N, R)``."""
        assert self.stats is not None
        net = self.net.to(dev).eval()
        st = self.stats.tensors(dev)
        n = arr.shape[0]
        rel = np.empty((n, self.layout.n_targets, 3), dtype=np.float64)
        for i in range(0, n, batch_size):
            p2 = torch.as_tensor(arr[i : i + batch_size], dtype=torch.float32, device=dev)
            valid = torch.isfinite(p2).all(-1)
            x = make_input(p2, valid, self.layout, st, self.options.norm_2d)
            out = unnormalise_output(net(x), st)
            rel[i : i + batch_size] = out.double().cpu().numpy()
        vis_root = np.isfinite(arr[:, list(self.layout.roots)]).all(-1)
        return rel, vis_root

    def _assemble(
        self, rel: np.ndarray, vis_root: np.ndarray, root_positions: str | np.ndarray
    ) -> np.ndarray:
        n, n_roots = rel.shape[0], len(self.layout.roots)
        if isinstance(root_positions, str):
            if root_positions == "zero":
                rp = np.zeros((n, n_roots, 3))
            elif root_positions == "mean":
                assert self.root_offsets is not None
                rp = np.broadcast_to(self.root_offsets, (n, n_roots, 3))
            else:
                raise ConfigError(
                    f"root_positions must be 'zero', 'mean' or an array, got {root_positions!r}"
                )
        else:
            rp = np.asarray(root_positions, dtype=np.float64)
            if rp.shape == (n_roots, 3):
                rp = np.broadcast_to(rp, (n, n_roots, 3))
            if rp.shape != (n, n_roots, 3):
                raise ConfigError(
                    f"root_positions must have shape ({n_roots}, 3) or ({n}, {n_roots}, 3), "
                    f"got {rp.shape}"
                )
        out = np.full((n, self.layout.n_joints, 3), np.nan)
        start = 0
        for k, (root, ts) in enumerate(
            zip(self.layout.roots, self.layout.target_sets, strict=True)
        ):
            ok = vis_root[:, k][:, None]
            out[:, root] = np.where(ok, rp[:, k], np.nan)
            part = rel[:, start : start + len(ts)] + rp[:, k][:, None]
            out[:, list(ts)] = np.where(ok[..., None], part, np.nan)
            start += len(ts)
        return out

    # ------------------------------------------------------------- save/load
    def _tensors(self) -> dict[str, torch.Tensor]:
        assert self.stats is not None
        assert self.root_offsets is not None
        t = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        for k, v in self.stats.as_dict().items():
            t[f"stats.{k}"] = torch.as_tensor(np.asarray(v, dtype=np.float64))
        t["root_offsets"] = torch.as_tensor(np.asarray(self.root_offsets, dtype=np.float64))
        return t

    def _meta(self) -> dict[str, Any]:
        return {
            "keypoints": self.keypoints,
            "roots": self.roots,
            "target_sets": self.target_sets,
            "model_options": self.options.as_dict(),
            "input_convention": {
                "input": "2D poses (N, J, 2) in the units of the training 2D (e.g. pixels)",
                "output": "3D, each target set relative to its root, in the units and frame "
                "of the training 3D",
                "missing": "NaN 2D points are masked; a missing root makes its set NaN",
            },
            "train_options": self.train_options,
            "augmentation": self.augmentation,
            "best_epoch": self.best_epoch,
            "units": self.units,
            "frame": self.frame,
        }

    def _write(
        self,
        path: Path,
        optimizer: torch.optim.Optimizer | None = None,
        state: TrainState | None = None,
        overwrite: bool = True,
    ) -> None:
        tensors = self._tensors()
        meta = self._meta()
        if state is not None:
            meta["train_state"] = {
                "epoch": state.epoch,
                "step": state.step,
                "lr": state.lr,
                "best_err": state.best_err if math.isfinite(state.best_err) else None,
                "best_epoch": state.best_epoch,
            }
        if optimizer is not None:
            osd = optimizer.state_dict()
            for idx, pstate in osd["state"].items():
                for name, value in pstate.items():
                    tensors[f"optim.{idx}.{name}"] = torch.as_tensor(value)
            meta["optimizer_param_groups"] = osd["param_groups"]
            tensors["rng.cpu"] = torch.get_rng_state()
            ema_net = getattr(self, "_ema_net", None)
            if ema_net is not None:
                for k, v in ema_net.state_dict().items():
                    tensors[f"ema.{k}"] = v
        write_model_file(path, tensors, meta, overwrite=overwrite)

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Save the trained lifter to one ``.safetensors`` file.

        Parameters
        ----------
        path
            Destination (conventionally ending in ``.safetensors``).
        overwrite
            Replace an existing file.

        Raises
        ------
        OutputExistsError
            If ``path`` exists and ``overwrite`` is False.
        """
        if not self.is_trained:
            raise ConfigError("cannot save an untrained Lifter")
        self._write(Path(path), overwrite=overwrite)
        return Path(path)

    @classmethod
    @reader_boundary("lifter model file", ModelFileError, path_arg=1)
    def load(cls, path: str | os.PathLike) -> Lifter:
        """Load a lifter saved by :meth:`save` (or a training checkpoint).

        Raises
        ------
        ModelFileError
            If the file is not a lifter model file, is truncated or inconsistent, or has
            a newer format version.
        """
        tensors, meta = read_model_file(path)
        try:
            # an option missing from an older file is off (the original network's value)
            lifter = cls(
                meta["keypoints"],
                meta["roots"],
                meta["target_sets"],
                **{**ModelOptions().as_dict(), **meta["model_options"]},
            )
            net_sd = {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}
            lifter.net.load_state_dict(net_sd, strict=True)
            names = ["mean_2d", "std_2d", "mean_3d", "std_3d"]
            names += [
                k
                for k in ("mean_root", "std_root", "mean_chain", "std_chain")
                if f"stats.{k}" in tensors
            ]
            lifter.stats = Stats(**{k: tensors[f"stats.{k}"].numpy() for k in names})
            lifter.root_offsets = tensors["root_offsets"].numpy()
        except (KeyError, TypeError, ValueError, RuntimeError, ConfigError) as err:
            raise ModelFileError(f"{path}: inconsistent lifter model file: {err}") from None
        lifter.train_options = meta.get("train_options", {})
        lifter.augmentation = meta.get("augmentation", [])
        lifter.best_epoch = meta.get("best_epoch")
        lifter.units = _optional_str(meta.get("units"))
        lifter.frame = _optional_str(meta.get("frame"))
        lifter.net.eval()
        return lifter

    def _restore_checkpoint(
        self, path: Path, optimizer: torch.optim.Optimizer, dev: torch.device
    ) -> TrainState:
        tensors, meta = read_model_file(path)
        loaded = Lifter.load(path)
        if loaded.keypoints != self.keypoints or loaded.layout != self.layout:
            raise ConfigError(
                f"checkpoint {path} is for keypoints {loaded.keypoints}, roots {loaded.roots}, "
                f"target sets {loaded.target_sets}: not this lifter's"
            )
        if loaded.options != self.options:
            raise ConfigError(
                f"checkpoint {path} has model options {loaded.options}, not {self.options}"
            )
        self.net.load_state_dict(loaded.net.state_dict())
        self.net.to(dev)
        self.stats = loaded.stats
        self.root_offsets = loaded.root_offsets
        groups = meta.get("optimizer_param_groups")
        ts = meta.get("train_state")
        if groups is None or ts is None:
            raise ModelFileError(f"{path}: a model file, not a training checkpoint (no state)")
        opt_state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, idx, name = key.split(".", 2)
                opt_state.setdefault(int(idx), {})[name] = value.to(dev)
        optimizer.load_state_dict({"state": opt_state, "param_groups": groups})
        best = ts.get("best_err")
        return TrainState(
            epoch=int(ts["epoch"]),
            step=int(ts["step"]),
            lr=float(ts["lr"]),
            best_err=math.inf if best is None else float(best),
            best_epoch=int(ts.get("best_epoch", 0)),
        )


SETUP_SAMPLES = 10_000


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


@torch.no_grad()
def _set_ridge(layer: torch.nn.Linear, coef: tuple[torch.Tensor, torch.Tensor]) -> None:
    layer.weight.copy_(coef[0].to(layer.weight.dtype))
    layer.bias.copy_(coef[1].to(layer.bias.dtype))


def _subsample(data: PoseBatch, n: int) -> PoseBatch:
    """At most ``n`` frames of ``data``, drawn at random (torch's generator)."""
    if len(data) <= n:
        return data
    return data.index(torch.randperm(len(data), device=data.pose_2d.device)[:n])


def _with_augmented_pass(train: PoseBatch, augs: list[Augmentation]) -> PoseBatch:
    """The training data plus one augmented copy of it (for statistics and the linear init)."""
    if not augs:
        return train
    # augmentations expect batches in random order (random_view rotates the first ones)
    aug = train.index(torch.randperm(len(train), device=train.pose_2d.device))
    for a in augs:
        aug = a(aug)
    if any(getattr(a, "replaces_2d", False) for a in augs):
        return aug
    return PoseBatch(
        torch.cat([train.pose_2d, aug.pose_2d]),
        torch.cat([train.pose_3d, aug.pose_3d]),
        torch.cat([train.valid_2d, aug.valid_2d]),
        torch.cat([train.weight_3d, aug.weight_3d]),
    )
