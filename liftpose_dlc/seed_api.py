"""The seed README's functional API: ``train``, ``test`` and ``load_test_results``.

These keep liftpose 0.22's calls and keyword names, on top of :class:`~liftpose_dlc.Lifter`,
without its bugs (``test`` on new data works, the caller's arrays are not modified,
model selection never uses the test set: it keeps the last epoch, or the best one on
a validation split of the training data with ``val``).

Files written in ``out_dir``:

* ``train_log.txt`` -- tab-separated, header ``epoch lr loss_train loss_test err_test``,
  one row per epoch (read it with :func:`liftpose_dlc.plot.read_log_train`);
  ``loss_test``/``err_test`` are the loss and the mean per-joint error (input units) on
  the test set given to :func:`train`, for monitoring only;
* ``ckpt_best.safetensors`` (the selected lifter; load it with
  :meth:`liftpose_dlc.Lifter.load`) and ``ckpt_last.safetensors`` (the last epoch, with
  the optimiser state for ``resume``);
* ``test_data.npz`` -- the test set given to :func:`train`, for :func:`test`;
* ``test_results.npz`` -- written by :func:`test`, read by :func:`load_test_results`.

A new :func:`train` call in the same ``out_dir`` replaces these files (unless resuming).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from liftpose_dlc._filesystem import atomic_path, check_file
from liftpose_dlc.errors import ConfigError, FileFormatError, MissingFileError
from liftpose_dlc.lifter.inputs import to_array, to_mask
from liftpose_dlc.lifter.lifter import CKPT_BEST, FIT_DATA, Lifter, known_options, split_options
from liftpose_dlc.lifter.temporal import TemporalLifter

__all__ = ["train", "test", "load_test_results", "TRAINING_KWARGS"]

TEST_DATA = "test_data.npz"
TEST_RESULTS = "test_results.npz"

#: Keys accepted in ``training_kwargs`` (the options of
#: :func:`~liftpose_dlc.lifter.lifter.split_options`; ``augment`` and the data keywords
#: are :func:`train`'s own arguments).
TRAINING_KWARGS = [k for k in known_options() if k not in {"augment", *FIT_DATA}]


def _n_joints(data: Any, what: str) -> int:
    if isinstance(data, Mapping):
        if not data:
            raise ConfigError(f"{what} is an empty dictionary")
        data = next(iter(data.values()))
    shape = np.shape(data)
    if len(shape) != 3:
        raise ConfigError(f"{what} must have shape (n_frames, n_joints, n_dims), got {shape}")
    return int(shape[1])


def train(
    train_2d: Any,
    test_2d: Any,
    train_3d: Any,
    test_3d: Any,
    roots: Sequence[int | str],
    target_sets: Sequence[Sequence[int | str]] | Sequence[int | str],
    out_dir: str | os.PathLike = "out",
    train_keypts: Any = None,
    test_keypts: Any = None,
    training_kwargs: Mapping[str, Any] | None = None,
    augmentation: Sequence[Any] | None = None,
    stats: Sequence[np.ndarray] | None = None,
    norm_2d: bool = False,
    *,
    aug: Sequence[Any] | None = None,
) -> Lifter:
    """Train a lifter, the seed's way (``liftpose.main.train``).

    Parameters
    ----------
    train_2d, test_2d
        2D poses: arrays ``(N, J, 2)`` or dictionaries ``{experiment: array}``. NaN marks
        a missing point. ``train_2d`` may be None when ``augmentation`` makes the 2D from
        the 3D (:func:`~liftpose_dlc.lifter.augmentation.random_project`).
    train_3d, test_3d
        The matching 3D poses ``(N, J, 3)`` (same container kind and keys). ``test_3d``
        may be None.
    roots
        Root joint indices.
    target_sets
        One list of joints per root, predicted relative to it (a flat list with one root).
    out_dir
        Folder for the log, checkpoints and test data (created if needed).
    train_keypts, test_keypts
        Bool arrays (or dictionaries) shaped like the 3D poses or ``(N, J)``: False leaves
        a point out of the loss and of the error.
    training_kwargs
        Training and model options: ``epochs``, ``resume``, ``load``, ``lr``,
        ``batch_size``, ``dropout``, ``linear_size``, ``num_stage`` and the others in
        :data:`TRAINING_KWARGS`. An unknown key is an error.
    augmentation
        A list of augmentations (see :mod:`liftpose_dlc.lifter.augmentation`). None (the
        default) uses the default augmentation (random viewpoints with a camera estimated
        from the training pairs); ``[]`` trains without augmentation.
    stats
        Precomputed ``(mean_2d, std_2d, mean_3d, std_3d)`` of the anchored coordinates,
        each covering all joints (length ``J * 2`` / ``J * 3``, the seed's layout) or only
        the target joints; None computes them from the training data.
    norm_2d
        Normalise each 2D pose's scale (root-relative RMS length) before standardising.
    aug
        Alias of ``augmentation`` (the seed README's example uses ``aug=aug``).

    Returns
    -------
    Lifter
        The trained lifter (also saved as ``out_dir/ckpt_best.safetensors``).

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from numpy.random import rand
    >>> n_points, n_joints = 100, 5
    >>> train_2d, test_2d = rand(n_points, n_joints, 2), rand(n_points, n_joints, 2)
    >>> train_3d, test_3d = rand(n_points, n_joints, 3), rand(n_points, n_joints, 3)
    >>> out = tempfile.mkdtemp()
    >>> lifter = train({"experiment_1": train_2d}, {"experiment_2": test_2d},
    ...                {"experiment_1": train_3d}, {"experiment_2": test_3d},
    ...                roots=[0], target_sets=[1, 2, 3, 4], out_dir=out,
    ...                training_kwargs={"epochs": 2, "linear_size": 32, "verbose": False})
    """
    if aug is not None and augmentation is not None:
        raise ConfigError("give augmentation= or its alias aug=, not both")
    augmentation = aug if aug is not None else augmentation
    kwargs = dict(training_kwargs or {})
    unknown = sorted(set(kwargs) - set(TRAINING_KWARGS))
    if unknown:  # (augment and the data are train()'s own arguments)
        raise ConfigError(
            f"unknown training_kwargs {unknown}; known keys: {', '.join(TRAINING_KWARGS)}"
        )
    encoder_kwargs, model_kwargs, fit_kwargs = split_options(kwargs, "training_kwargs")
    if "norm_2d" in encoder_kwargs and bool(encoder_kwargs["norm_2d"]) != bool(norm_2d):
        raise ConfigError("norm_2d given twice with different values")
    encoder_kwargs["norm_2d"] = bool(norm_2d)

    if train_2d is None:
        if not augmentation:
            raise ConfigError(
                "train_2d is None: give an augmentation that makes the 2D from the 3D, "
                "e.g. augmentation=[random_project(...)]"
            )
        train_2d = (
            {k: np.zeros((*np.shape(v)[:2], 2)) for k, v in train_3d.items()}
            if isinstance(train_3d, Mapping)
            else np.zeros((*np.shape(train_3d)[:2], 2))
        )
    n_joints = _n_joints(train_3d, "train_3d")
    lifter = Lifter(n_joints, roots, target_sets, **encoder_kwargs, **model_kwargs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    test_pair = None
    if test_2d is not None:
        _save_test_data(out / TEST_DATA, lifter, test_2d, test_3d, test_keypts)
        if test_3d is not None:
            test_pair = (test_2d, test_3d, test_keypts)
    lifter.fit(
        train_2d,
        train_3d,
        augment="default" if augmentation is None else list(augmentation),
        keypts=train_keypts,
        test=test_pair,
        stats=stats,
        out_dir=out,
        **fit_kwargs,
    )
    return lifter


def _test_arrays(
    lifter: Lifter, test_2d: Any, test_3d: Any, test_keypts: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Test data as arrays: 2D, 3D (NaN when absent), keypoint mask, keys and lengths."""
    a2, struct = to_array(test_2d, 2, lifter.keypoints, "test_2d")
    if test_3d is None:
        a3 = np.full((*a2.shape[:2], 3), np.nan)
    else:
        a3, _ = to_array(test_3d, 3, lifter.keypoints, "test_3d")
        if len(a3) != len(a2):
            raise ConfigError(f"test_2d has {len(a2)} frames but test_3d has {len(a3)}")
    mask = to_mask(test_keypts, struct, a2.shape[:2], "test_keypts")
    keys = np.array(struct.keys or ["test"], dtype=str)
    lengths = np.array(struct.lengths or [len(a2)], dtype=np.int64)
    return a2, a3, mask, keys, lengths


def _save_test_data(
    path: Path, lifter: Lifter, test_2d: Any, test_3d: Any, test_keypts: Any
) -> None:
    a2, a3, mask, keys, lengths = _test_arrays(lifter, test_2d, test_3d, test_keypts)
    with atomic_path(path, overwrite=True) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, test_2d=a2, test_3d=a3, test_keypts=mask, keys=keys, lengths=lengths)


def test(
    out_dir: str | os.PathLike,
    test_2d: Any = None,  # noqa: PT028 - not a pytest test
    test_3d: Any = None,  # noqa: PT028
    test_keypts: Any = None,  # noqa: PT028
    *,
    device: str | None = None,  # noqa: PT028
) -> None:
    """Run the selected lifter (``ckpt_best.safetensors``) on test data; save the results.

    With only ``out_dir``, the test set given to :func:`train` is used; with ``test_2d``
    (and optionally ``test_3d``, ``test_keypts``), that new data is used instead. The
    results are written to ``out_dir/test_results.npz`` (replacing a previous one) with
    arrays ``gt`` and ``pred`` ``(N, J, 3)``, ``good_keypts`` ``(N, J)``, ``input``
    ``(N, J, 2)``, and ``keys``/``lengths`` (the dictionary keys and their frame counts,
    in order, when the data were dictionaries).

    ``pred`` is in the frame and units of the 3D data: the lifter's root-relative
    prediction of each target set plus its root's *true* position from ``test_3d`` (as
    liftpose 0.22 did), so ``pred - gt`` is the lifting error. Where ``test_3d`` is absent
    (or a root is NaN in it), a root is placed at its mean training offset from the first
    root (``root_positions="mean"``, see :class:`~liftpose_dlc.Lifter`), itself at its true
    position when known, else at the origin; ``gt`` is then NaN.
    ``good_keypts`` is True for the predicted (non-root) joints that have a true 3D
    position and are not excluded by ``test_keypts``.
    """
    out = Path(out_dir)
    if not out.is_dir():
        raise MissingFileError(f"{out} does not exist: call liftpose_dlc.train(...) first")
    lifter = Lifter.load(check_file(out / CKPT_BEST, "trained lifter (ckpt_best)"))
    if test_2d is None:
        if test_3d is not None or test_keypts is not None:
            raise ConfigError("test_3d/test_keypts given without test_2d")
        path = check_file(out / TEST_DATA, "test data saved by train()")
        with np.load(path, allow_pickle=False) as d:
            a2, a3, mask = d["test_2d"], d["test_3d"], d["test_keypts"]
            keys, lengths = d["keys"], d["lengths"]
    else:
        a2, a3, mask, keys, lengths = _test_arrays(lifter, test_2d, test_3d, test_keypts)

    roots = lifter.roots
    assert lifter.root_offsets is not None
    root_pos = a3[:, roots].copy()
    # a root missing from test_3d: its mean training offset from the first root, added to
    # the first root's true position when that one is known
    first = a3[:, roots[0]]
    first = np.where(np.isfinite(first).all(-1, keepdims=True), first, 0.0)
    fallback = first[:, None, :] + lifter.root_offsets[None]
    missing = ~np.isfinite(root_pos).all(-1)
    root_pos[missing] = fallback[missing]
    # a temporal lifter lifts each test sequence (dictionary key) on its own
    if isinstance(lifter, TemporalLifter):
        pred = lifter.predict(
            a2, device=device, root_positions=root_pos, lengths=[int(n) for n in lengths]
        )
    else:
        pred = lifter.predict(a2, device=device, root_positions=root_pos)
    targets = [j for ts in lifter.target_sets for j in ts]
    good = np.zeros(a2.shape[:2], dtype=bool)
    good[:, targets] = True
    good &= mask & np.isfinite(a3).all(-1) & np.isfinite(pred).all(-1)
    with atomic_path(out / TEST_RESULTS, overwrite=True) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, gt=a3, pred=pred, good_keypts=good, input=a2, keys=keys, lengths=lengths)


def load_test_results(out_dir: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read ``out_dir/test_results.npz`` written by :func:`test`.

    Returns
    -------
    gt, pred, good_keypts
        ``(N, J, 3)`` true and predicted 3D poses in the 3D data's units (see :func:`test`
        for where the roots are) and the ``(N, J)`` bool mask of the points to evaluate.
    """
    path = check_file(Path(out_dir) / TEST_RESULTS, "test results (run liftpose_dlc.test first)")
    try:
        with np.load(path, allow_pickle=False) as d:
            return d["gt"], d["pred"], d["good_keypts"]
    except (KeyError, ValueError, OSError) as err:
        raise FileFormatError(f"{path}: not a test results file: {err}") from None
