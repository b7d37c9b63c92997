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

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from liftpose_dlc._boundary import reader_boundary
from liftpose_dlc.errors import ConfigError, ModelFileError, PosesValidationError
from liftpose_dlc.lifter import devices
from liftpose_dlc.lifter.augmentation import Augmentation
from liftpose_dlc.lifter.encoder import EncoderOptions, InputEncoder, Layout, Stats
from liftpose_dlc.lifter.inputs import Structure, from_array, to_array, to_mask
from liftpose_dlc.lifter.model import LiftPoseNet, ModelOptions
from liftpose_dlc.lifter.modelfile import read_model_file, write_model_file
from liftpose_dlc.lifter.session import (
    CKPT_BEST,
    CKPT_LAST,
    LOG_FILE,
    EpochResult,
    Pairs,
    TrainingSession,
    TrainOptions,
    resolve_device,
)
from liftpose_dlc.lifter.temporal_net import TemporalOptions

__all__ = [
    "Lifter",
    "DEFAULT_MODEL_OPTIONS",
    "ORIGINAL_MODEL_OPTIONS",
    "FIT_OPTIONS",
    "split_options",
    "known_options",
    "CKPT_BEST",
    "CKPT_LAST",
    "LOG_FILE",
]

logger = logging.getLogger(__name__)

#: The default network and input encoding (chosen by the benchmark in
#: ``benchmarks/RESULTS.md``): :class:`~liftpose_dlc.lifter.model.ModelOptions` and
#: :class:`~liftpose_dlc.lifter.encoder.EncoderOptions` together, as :class:`Lifter` takes
#: them. The training defaults are :class:`~liftpose_dlc.lifter.session.TrainOptions`'.
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
ORIGINAL_MODEL_OPTIONS: dict[str, Any] = {
    **ModelOptions().as_dict(),
    **EncoderOptions().as_dict(),
}
#: The keywords of :meth:`Lifter.fit` that are not :class:`TrainOptions` nor data.
FIT_OPTIONS = ("val", "augment", "device", "resume", "load", "verbose")
#: The keywords of :meth:`Lifter.fit` that are data (accepted by the library workflow).
FIT_DATA = ("keypts", "stats", "test", "init")


def known_options() -> list[str]:
    """Every option :func:`split_options` accepts, sorted."""
    return sorted(
        {
            *EncoderOptions.names(),
            *ModelOptions.names(),
            *TemporalOptions.names(),
            *TrainOptions.names(),
            *FIT_OPTIONS,
            *FIT_DATA,
        }
    )


def split_options(
    options: Mapping[str, Any], what: str = "options"
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Sort user options into the input encoder's, the network's and training's.

    The one place that knows which option belongs where: the seed's
    ``training_kwargs``, ``train_dlc_project(**options)``, ``train_from_library`` and the
    command line all go through it.

    Parameters
    ----------
    options
        Option names and values.
    what
        How the options are called in the error message (e.g. ``"training_kwargs"``).

    Returns
    -------
    encoder, model, train
        :class:`~liftpose_dlc.lifter.encoder.EncoderOptions` and
        :class:`~liftpose_dlc.lifter.model.ModelOptions` keywords (for :class:`Lifter`),
        and the keywords of :meth:`Lifter.fit` (:class:`TrainOptions` and
        :data:`FIT_OPTIONS`, :data:`FIT_DATA`).

    Raises
    ------
    ConfigError
        On an unknown option (the message lists the known ones).

    Examples
    --------
    >>> split_options({"norm_2d": True, "linear_size": 64, "epochs": 3, "val": 0.1})
    ({'norm_2d': True}, {'linear_size': 64}, {'epochs': 3, 'val': 0.1})
    """
    encoder: dict[str, Any] = {}
    model: dict[str, Any] = {}
    train: dict[str, Any] = {}
    unknown = []
    for key, value in options.items():
        if key in EncoderOptions.names():
            encoder[key] = value
        elif key in ModelOptions.names() or key in TemporalOptions.names():
            model[key] = value
        elif key in TrainOptions.names() or key in FIT_OPTIONS or key in FIT_DATA:
            train[key] = value
        else:
            unknown.append(key)
    if unknown:
        raise ConfigError(
            f"unknown {what} {sorted(unknown)}; known keys: {', '.join(known_options())}"
        )
    return encoder, model, train


class Lifter:
    """Lift 2D poses from one camera to 3D with a LiftPose3D network.

    A lifter is an :class:`~liftpose_dlc.lifter.encoder.InputEncoder` (keypoints, roots,
    target sets, input features and statistics) and a network
    (:class:`~liftpose_dlc.lifter.model.LiftPoseNet`); :meth:`fit` trains them with a
    :class:`~liftpose_dlc.lifter.session.TrainingSession`.

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
        Network options (:class:`~liftpose_dlc.lifter.model.ModelOptions`: ``linear_size``,
        ``num_stage``, ``dropout``, ``linear_skip``, ``set_size``, ``set_stage``,
        ``view_gate``) and input options
        (:class:`~liftpose_dlc.lifter.encoder.EncoderOptions`: ``norm_2d``, ``root_input``,
        ``chain_features``). Unset ones take :data:`DEFAULT_MODEL_OPTIONS`.

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

    With ``temporal=27`` (a receptive field: 3, 9, 27, 81, ...; ``causal=True`` for past
    frames only) it is a :class:`~liftpose_dlc.lifter.temporal.TemporalLifter`.
    """

    #: The training loop (a temporal lifter's trains on windows of frames).
    session_class: type[TrainingSession] = TrainingSession

    def __new__(cls, *args: Any, **kwargs: Any) -> Lifter:
        """A :class:`~liftpose_dlc.lifter.temporal.TemporalLifter` when ``temporal`` is set."""
        if cls is Lifter and kwargs.get("temporal"):
            from liftpose_dlc.lifter.temporal import TemporalLifter

            cls = TemporalLifter
        return super().__new__(cls)

    def __init__(
        self,
        keypoints: Sequence[str] | int,
        roots: Sequence[int | str] | int | str,
        target_sets: Sequence[Sequence[int | str]] | Sequence[int | str],
        **model_options: Any,
    ) -> None:
        if not model_options.pop("temporal", 0) and model_options.pop("causal", False):
            raise ConfigError("causal=True is an option of a temporal lifter: give temporal too")
        known = [*ModelOptions.names(), *EncoderOptions.names()]
        unknown = sorted(set(model_options) - set(known))
        if unknown:
            hint = " (training options go to fit())" if set(unknown) & set(known_options()) else ""
            raise ConfigError(f"unknown model options {unknown}{hint}; known: {sorted(known)}")
        merged = {**DEFAULT_MODEL_OPTIONS, **model_options}
        enc_opts = {k: v for k, v in merged.items() if k in EncoderOptions.names()}
        net_opts = {k: v for k, v in merged.items() if k not in EncoderOptions.names()}
        self.options = ModelOptions.from_kwargs(**net_opts)
        self.encoder = InputEncoder(
            keypoints, roots, target_sets, EncoderOptions.from_kwargs(**enc_opts)
        )
        self.net = self._make_net()
        self.train_options: dict[str, Any] = {}
        self.augmentation: list[str] = []
        self.history: list[EpochResult] = []
        self.best_epoch: int | None = None
        #: Units and coordinate frame of the 3D it was trained on (and so of its output),
        #: saved in the model file; None when unknown.
        self.units: str | None = None
        self.frame: str | None = None
        #: Median height of each root above the floor in the 3D training library (its
        #: world frame), saved in the model file; None when unknown (older files). Used to
        #: place lifted poses in the world (:mod:`liftpose_dlc.world`).
        self.root_heights: list[float] | None = None
        #: Median height of a library pose's lowest point above the floor (the same frame).
        self.floor_clearance: float | None = None
        #: The calibrated error model (:mod:`liftpose_dlc.lifter.uncertainty`), saved in the
        #: model file; None when the lifter has none (outputs then carry the 2D confidence).
        self.error_model: Any = None

    @classmethod
    def like(cls, other: Lifter) -> Lifter:
        """A new, untrained lifter with ``other``'s keypoints, roots, sets and options.

        With :meth:`fit`'s ``init=other`` it fine-tunes ``other``.
        """
        return cls(other.keypoints, other.roots, other.target_sets, **other.lifter_options)

    def _make_net(self) -> LiftPoseNet:
        """A new network for this lifter's encoder and options."""
        enc = self.encoder
        return LiftPoseNet(enc.input_size, enc.output_size, self.options, groups=enc.set_columns())

    # ------------------------------------------------------------------ info
    @property
    def keypoints(self) -> list[str]:
        """Keypoint names, in the order of the poses' joint axis."""
        return self.encoder.keypoints

    @property
    def layout(self) -> Layout:
        """Roots and target sets (see :class:`~liftpose_dlc.lifter.encoder.Layout`)."""
        return self.encoder.layout

    @property
    def stats(self) -> Stats | None:
        """The encoder's normalisation statistics (None until trained)."""
        return self.encoder.stats

    @property
    def root_offsets(self) -> np.ndarray | None:
        """Mean position of each root relative to the first in the 3D training data."""
        return self.encoder.root_offsets

    @property
    def lifter_options(self) -> dict[str, Any]:
        """The network's and the encoder's options, as :class:`Lifter` takes them."""
        return {**self.options.as_dict(), **self.encoder.options.as_dict()}

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
        return self.encoder.is_fitted

    def __repr__(self) -> str:
        state = "trained" if self.is_trained else "untrained"
        return (
            f"Lifter({len(self.keypoints)} keypoints, roots={self.roots}, "
            f"target_sets={self.target_sets}, {self.options}, {self.encoder.options}, {state})"
        )

    # ------------------------------------------------------------------ data
    def _pairs(
        self, poses_2d: Any, poses_3d: Any, keypts: Any, what: str
    ) -> tuple[Pairs, Structure]:
        a2, s2 = to_array(poses_2d, 2, self.keypoints, f"{what}_2d")
        a3, _ = to_array(poses_3d, 3, self.keypoints, f"{what}_3d")
        if a2.shape[0] != a3.shape[0]:
            raise PosesValidationError(
                f"{what}_2d has {a2.shape[0]} frames but {what}_3d has {a3.shape[0]}"
            )
        mask = to_mask(keypts, s2, a2.shape[:2], f"{what}_keypts")
        return Pairs(a2, a3, mask), s2

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
        init: Lifter | None = None,
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
            (:func:`~liftpose_dlc.lifter.session.validation_mask`: the last frames of each
            sequence, so that neighbouring frames do not leak), a pair ``(val_2d,
            val_3d)``, or 0 to keep the last epoch. None (default): the ``val_fraction``
            training option, 0 by default (with the default cosine schedule, training ends
            at a low rate and the last epoch is kept).
        epochs
            Number of epochs (default: :class:`~liftpose_dlc.lifter.session.TrainOptions`).
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
        init
            Fine-tune: start from this trained lifter's network weights and input
            statistics (instead of new weights and statistics of the training data), then
            train with the given options (typically fewer ``epochs`` and a lower ``lr``).
            It must have this lifter's keypoints, roots and target sets
            (:class:`~liftpose_dlc.errors.KeypointError` otherwise) and options
            (see :meth:`like`). A checkpoint to resume from takes precedence.
        **train_options
            Other :class:`~liftpose_dlc.lifter.session.TrainOptions` (``batch_size``,
            ``lr``, ``lr_decay``, ``lr_gamma``, ``max_norm``, ``weight_decay``, ``loss``,
            ``ema``, ``seed``, ...).

        Returns
        -------
        Lifter
            ``self``, trained (the best epoch's weights).
        """
        given = dict(train_options)
        if epochs is not None:
            given["epochs"] = epochs
        if isinstance(val, float | int) and not isinstance(val, bool):
            given["val_fraction"] = float(val)
        opts = TrainOptions.from_kwargs(**given)
        if init is not None:
            if stats is not None:
                raise ConfigError("give stats or init (whose statistics are used), not both")
            self._check_init(init)
        session = self.session_class(
            self,
            opts,
            augment=augment,
            device=device,
            out_dir=out_dir,
            resume=resume,
            load=load,
            verbose=verbose,
            init=init,
        )
        if isinstance(poses_2d, Pairs):  # e.g. a library on disk (lifter.shards.open_pairs)
            train, lengths = self._check_pairs(poses_2d, poses_3d, keypts)
        else:
            train, struct = self._pairs(poses_2d, poses_3d, keypts, "train")
            # the sequences: a temporal lifter's pairs know theirs (each individual is one)
            lengths = list(getattr(train, "lengths", ())) or struct.lengths or [len(train.pose_2d)]
        val_pairs = None
        if isinstance(val, tuple | list):
            if len(val) != 2:
                raise ConfigError("val must be a fraction or a pair (val_2d, val_3d)")
            val_pairs = self._pairs(val[0], val[1], None, "val")[0]
        test_pairs = None
        if test is not None:
            keys = test[2] if len(test) > 2 else None
            test_pairs = self._pairs(test[0], test[1], keys, "test")[0]
        session.run(train, lengths, val_pairs, test_pairs, stats)
        return self

    def _check_pairs(self, pairs: Pairs, poses_3d: Any, keypts: Any) -> tuple[Pairs, list[int]]:
        if poses_3d is not None or keypts is not None:
            raise ConfigError("with paired arrays (e.g. open_pairs), poses_3d and keypts are None")
        n_kp = pairs.pose_2d.shape[1]
        if n_kp != len(self.keypoints):
            raise PosesValidationError(
                f"{getattr(pairs, 'source', 'the pairs')}: {n_kp} keypoints, the lifter has "
                f"{len(self.keypoints)} ({self.keypoints})"
            )
        return pairs, [int(pairs.pose_2d.shape[0])]

    def _check_init(self, init: Lifter) -> None:
        if not isinstance(init, Lifter) or not init.is_trained:
            raise ConfigError(f"init must be a trained Lifter, got {init!r}")
        self.encoder.check_same_keypoints(init.encoder, "the lifter to fine-tune (init)")
        if init.lifter_options != self.lifter_options:
            raise ConfigError(
                f"the lifter to fine-tune (init) has options {init.lifter_options}, this one "
                f"{self.lifter_options}: make this lifter with Lifter.like(init)"
            )

    # --------------------------------------------------------------- predict
    @torch.no_grad()
    def predict(
        self,
        poses_2d: Any,
        batch_size: int | None = None,
        device: str | torch.device | None = None,
        root_positions: str | np.ndarray = "zero",
        amp: bool = False,
        lengths: Sequence[int] | None = None,
    ) -> Any:
        """Lift 2D poses to 3D.

        Parameters
        ----------
        poses_2d
            :class:`~liftpose_dlc.Poses`, an array ``(N, J, 2)`` or a seed dictionary;
            NaN where a point is missing. Not modified.
        batch_size
            Frames per chunk (memory bound only; results do not depend on it); None:
            chosen for the device (:func:`~liftpose_dlc.lifter.devices.predict_batch_size`;
            65536 for a temporal lifter).
        device
            As in :meth:`fit`; None: CUDA when available, else CPU.
        root_positions
            ``"zero"``, ``"mean"`` or an array of root positions: see the module docstring.
        amp
            Mixed precision (float16) on CUDA; ignored with a warning on the CPU (and by a
            temporal lifter's network, which runs in float32).
        lengths
            Frame counts of the consecutive sequences of an array, for a temporal lifter,
            whose windows do not cross from one sequence into another (default: the
            dictionary's keys, the individuals, or one sequence). A frame lifter lifts each
            frame alone.

        Returns
        -------
        The same container as ``poses_2d`` (array ``(N, J, 3)``, dictionary or 3D
        :class:`~liftpose_dlc.Poses`), float64, in the 3D training data's units.
        """
        if not self.is_trained:
            raise ConfigError("this Lifter is not trained: call fit() or Lifter.load() first")
        if batch_size is not None and batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        arr, struct = to_array(poses_2d, 2, self.keypoints, "poses_2d")
        dev = resolve_device(device)
        if batch_size is None:
            batch_size = self._default_batch_size(dev)
        seq = struct.sequences(len(arr)) if lengths is None else [int(n) for n in lengths]
        rel, vis_root = self._predict_rel(arr, batch_size, dev, devices.use_amp(amp, dev), seq)
        out = self._assemble(rel, vis_root, root_positions)
        return from_array(out, struct)

    def _default_batch_size(self, dev: torch.device) -> int:
        """Frames per chunk of :meth:`predict` when none is asked for."""
        return devices.predict_batch_size(dev)

    def _predict_rel(
        self,
        arr: np.ndarray,
        batch_size: int,
        dev: torch.device,
        amp: bool = False,
        lengths: Sequence[int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Root-relative predictions ``(N, T, 3)`` and root visibility ``(N, R)``.

        Each frame alone (``lengths``, the sequences, matter to a temporal lifter only).
        """
        net = self.net.to(dev).eval()
        n = arr.shape[0]
        rel = np.empty((n, self.layout.n_targets, 3), dtype=np.float64)
        for i in range(0, n, batch_size):
            p2 = devices.to_device(arr[i : i + batch_size], dev)
            valid = torch.isfinite(p2).all(-1)
            x = self.encoder.encode(p2, valid)
            with devices.autocast(amp, dev):
                y = net(x)
            out = self.encoder.decode(y.float())
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
    def predict_error(
        self, poses_2d: Any, level: float = 0.5, batch_size: int = 65536
    ) -> np.ndarray:
        """Each lifted point's error bound at ``level``, from the lifter's error model.

        Parameters
        ----------
        poses_2d
            As for :meth:`predict` (an array ``(N, J, 2)``, a seed dictionary or Poses).
        level
            The probability that a point's true error (relative to its root) is below the
            bound, on data like the error model's calibration data (e.g. 0.5, 0.9).
        batch_size
            Frames per forward pass.

        Returns
        -------
        numpy.ndarray
            ``(N, J)`` bounds in the lifter's units: roots 0, joints that are not lifted (and
            sets whose root is missing) NaN.

        Raises
        ------
        ConfigError
            If the lifter has no error model
            (:func:`~liftpose_dlc.lifter.uncertainty.fit_error_model`).
        """
        if self.error_model is None:
            raise ConfigError(
                "this lifter has no error model: fit one with "
                "liftpose_dlc.lifter.uncertainty.fit_error_model and set lifter.error_model"
            )
        arr, _ = to_array(poses_2d, 2, self.keypoints, "poses_2d")
        return self.error_model.bounds(self, arr, level, batch_size)

    def _tensors(self) -> dict[str, torch.Tensor]:
        t = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        t.update(self.encoder.to_tensors())
        if self.error_model is not None:
            t.update(self.error_model.to_tensors())
        return t

    def _meta(self) -> dict[str, Any]:
        return {
            "keypoints": self.keypoints,
            "roots": self.roots,
            "target_sets": self.target_sets,
            # the network's and the encoder's options in one object, as in files written
            # before they were separate (so that older readers read newer files right)
            "model_options": self.lifter_options,
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
            # only in files of lifters that have them (older files' metadata unchanged)
            **({} if self.root_heights is None else {"root_heights": self.root_heights}),
            **(
                {}
                if self.floor_clearance is None
                else {"floor_clearance": float(self.floor_clearance)}
            ),
            **({} if self.error_model is None else {"uncertainty": self.error_model.to_meta()}),
        }

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
        write_model_file(Path(path), self._tensors(), self._meta(), overwrite=overwrite)
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
                **{**ORIGINAL_MODEL_OPTIONS, **meta["model_options"]},
            )
            net_sd = {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}
            lifter.net.load_state_dict(net_sd, strict=True)
            lifter.encoder.load_tensors(tensors)
        except (KeyError, TypeError, ValueError, RuntimeError, ConfigError) as err:
            raise ModelFileError(f"{path}: inconsistent lifter model file: {err}") from None
        lifter.train_options = meta.get("train_options", {})
        lifter.augmentation = meta.get("augmentation", [])
        lifter.best_epoch = meta.get("best_epoch")
        lifter.units = _optional_str(meta.get("units"))
        lifter.frame = _optional_str(meta.get("frame"))
        heights = meta.get("root_heights")
        if heights is not None:
            try:
                lifter.root_heights = [float(h) for h in heights]
            except (TypeError, ValueError):
                raise ModelFileError(f"{path}: root_heights must be numbers: {heights!r}") from None
            if len(lifter.root_heights) != len(lifter.roots):
                raise ModelFileError(
                    f"{path}: {len(lifter.root_heights)} root heights for {len(lifter.roots)} roots"
                )
        if meta.get("floor_clearance") is not None:
            try:
                lifter.floor_clearance = float(meta["floor_clearance"])
            except (TypeError, ValueError):
                raise ModelFileError(
                    f"{path}: floor_clearance must be a number: {meta['floor_clearance']!r}"
                ) from None
        if "uncertainty" in meta:
            from liftpose_dlc.lifter.uncertainty import ErrorModel

            try:
                lifter.error_model = ErrorModel.from_saved(meta["uncertainty"], tensors)
            except ModelFileError as err:
                raise ModelFileError(f"{path}: {err}") from None
        lifter.net.eval()
        return lifter


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)
