"""Train a lifter from a 3D pose library and cameras (real or virtual), with a record.

:func:`train_from_library` is the one training path of the workflow: the 3D library is
projected into the cameras (:func:`~liftpose_dlc.make_training_pairs`), a
:class:`~liftpose_dlc.Lifter` is fitted on the pairs, and the model file is written with a
small YAML record of how it was trained and the training log beside it.
:func:`~liftpose_dlc.train_dlc_project` calls it with a DeepLabCut project's bodyparts and
paths; the command line's ``train --library`` calls it with a model path.

Without a calibration, virtual cameras look at the animal from Euler angles drawn in
``angle_ranges`` (the seed's ``eangles``); they are orthographic with unit scale, so the lifter
normalises each 2D pose's scale (``norm_2d=True``): pixels and library units need not match.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import yaml

from liftpose_dlc._boundary import check_writable
from liftpose_dlc._filesystem import (
    atomic_path,
    check_file,
    check_overwrite,
    remove_stale_temp_dirs,
    remove_stale_temps,
    staging_dir,
)
from liftpose_dlc.errors import ConfigError, PosesValidationError
from liftpose_dlc.poses import Poses

__all__ = ["train_from_library", "record_path_for", "training_dir_for", "DEFAULT_ANGLE_RANGES"]

#: Euler-angle ranges (degrees, axes ``zyx``) of the virtual cameras used without a
#: calibration: every direction around the animal.
DEFAULT_ANGLE_RANGES = [[-180.0, 180.0], [-90.0, 90.0], [-180.0, 180.0]]
#: The coordinate frame of a lifter's output (recorded in the model file and in 3D outputs).
#: "camera": the frame of the camera the 2D is seen from (one of ``liftpose_dlc.poses.FRAMES``),
#: each target set relative to its root.
OUTPUT_FRAME = "camera"


def record_path_for(model_path: str | os.PathLike) -> Path:
    """The YAML record beside a model file: ``<model stem>.yaml``."""
    return Path(model_path).with_suffix(".yaml")


def training_dir_for(model_path: str | os.PathLike) -> Path:
    """The training folder (log, checkpoints) beside a model file: ``<model stem>_training``."""
    p = Path(model_path)
    return p.with_name(p.stem + "_training")


def as_library(poses_3d: Any) -> list[Poses]:
    """A 3D library as a list of Poses, from Poses, 3D pose files or a list of those."""
    from liftpose_dlc.io.poses3d import load_poses_3d

    items = [poses_3d] if isinstance(poses_3d, (Poses, str, os.PathLike)) else list(poses_3d)
    if not items:
        raise PosesValidationError("no 3D poses given to train on")
    out = []
    for item in items:
        if isinstance(item, Poses):
            out.append(item)
        elif isinstance(item, (str, os.PathLike)):
            out.append(load_poses_3d(item))
        else:
            raise PosesValidationError(
                f"poses_3d must be Poses or 3D pose files, got {type(item).__name__}"
            )
    for p in out:
        if p.n_dims != 3:
            raise PosesValidationError(
                f"{p.source.describe()}: training needs 3D poses, got {p.n_dims}D"
            )
    return out


def _cameras_for_training(
    cameras: Any,
    angle_ranges: Sequence[Sequence[float]] | None,
    n_virtual_cameras: int,
    camera_distance: float | None,
    seed: int,
) -> tuple[Any, dict[str, Any]]:
    from liftpose_dlc.cameras import Camera, sample_cameras
    from liftpose_dlc.io.calibration import load_calibration

    if cameras is None:
        ranges = DEFAULT_ANGLE_RANGES if angle_ranges is None else angle_ranges
        cams = sample_cameras(ranges, camera_distance, n=n_virtual_cameras, seed=seed)
        record = {
            "kind": "virtual",
            "angle_ranges_deg": np.asarray(ranges, dtype=float).tolist(),
            "axes_order": "zyx",
            "n": int(n_virtual_cameras),
            "distance": None if camera_distance is None else float(camera_distance),
            "projection": "orthographic" if camera_distance is None else "perspective",
        }
        return cams, record
    if angle_ranges is not None:
        raise ConfigError("angle_ranges is for virtual cameras: give it with cameras=None")
    if isinstance(cameras, (str, os.PathLike)):
        path = check_file(cameras, "camera calibration")
        calibrated = load_calibration(path)
        return calibrated, {"kind": "calibration", "file": str(path), "names": list(calibrated)}
    if isinstance(cameras, Camera):
        cameras = [cameras]
    names = list(cameras) if isinstance(cameras, Mapping) else [c.name for c in cameras]
    return cameras, {"kind": "given", "names": [None if n is None else str(n) for n in names]}


def _validation_monitor(
    pairs_2d: dict[str, np.ndarray], pairs_3d: dict[str, np.ndarray], val: Any
) -> tuple[np.ndarray, np.ndarray] | None:
    """The frames :meth:`Lifter.fit` holds out for validation with fraction ``val``.

    Given to ``fit`` as its monitoring ``test`` set, they put the validation loss and error
    in the training log (``loss_test``/``err_test``); they are held out of training anyway,
    and ``test`` is never used to select the epoch.
    """
    from liftpose_dlc.lifter.session import validation_mask

    if not isinstance(val, (int, float)) or isinstance(val, bool) or not 0 < val < 1:
        return None
    is_val = validation_mask([len(v) for v in pairs_2d.values()], float(val))
    if not is_val.any():
        return None
    all_2d = np.concatenate(list(pairs_2d.values()))
    all_3d = np.concatenate([pairs_3d[k] for k in pairs_2d])
    return all_2d[is_val], all_3d[is_val]


def _held_out(
    pairs_2d: dict[str, np.ndarray], pairs_3d: dict[str, np.ndarray], val: Any
) -> list[tuple[Any, Any]]:
    """The validation frames of each sequence (``val``: a fraction), or the pair ``val``."""
    from liftpose_dlc.lifter.session import validation_mask

    if isinstance(val, (tuple, list)) and len(val) == 2:
        return [(val[0], val[1])]
    if not isinstance(val, (int, float)) or isinstance(val, bool) or not 0 < val < 1:
        return []
    out = []
    for key, p2 in pairs_2d.items():
        is_val = validation_mask([len(p2)], float(val))
        if is_val.any():
            out.append((p2[is_val], pairs_3d[key][is_val]))
    return out


def _fit_confidence(
    lifter: Any, held_out: list[tuple[Any, Any]], wanted: bool | None, seed: int, val: Any
) -> dict[str, Any]:
    """Fit ``lifter.error_model`` on the held-out frames when asked; what the record says."""
    from liftpose_dlc.lifter.uncertainty import fit_error_model_on_sequences

    if wanted is False:
        return {"fitted": False, "reason": "turned off (error_model=False)"}
    if hasattr(lifter, "predict_sequences"):  # its features are a frame lifter's
        if wanted:
            raise ConfigError("the 3D confidence (error model) is for frame lifters")
        return {"fitted": False, "reason": "a temporal lifter has no error model"}
    if not held_out:
        return {
            "fitted": False,
            "reason": "no validation frames to calibrate it on: train with val > 0 (e.g. "
            "val=0.2) to give 3D outputs a likelihood",
        }
    try:
        model = fit_error_model_on_sequences(lifter, held_out, seed=seed)
    except ConfigError as exc:
        if wanted:
            raise
        return {"fitted": False, "reason": str(exc)}
    lifter.error_model = model
    return {
        "fitted": True,
        "held_out": "the validation frames"
        + (f" (the last {val:.0%} of each sequence)" if isinstance(val, float) else ""),
        "tolerance": model.tolerance,
        "units": model.units,
        **model.info,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def train_from_library(
    poses_3d: Poses | str | os.PathLike | Iterable[Poses | str | os.PathLike],
    cameras: Any = None,
    *,
    model_path: str | os.PathLike,
    keypoints: Sequence[str] | None = None,
    keypoint_map: Mapping[str, str] | None = None,
    roots: Sequence[int | str] | None = None,
    target_sets: Sequence[Sequence[int | str]] | Sequence[int | str] | None = None,
    angle_ranges: Sequence[Sequence[float]] | None = None,
    n_virtual_cameras: int = 8,
    camera_distance: float | None = None,
    noise_px: float = 0.0,
    distorted: bool = True,
    units: str | None = None,
    seed: int = 0,
    record: Mapping[str, Any] | None = None,
    training_dir: str | os.PathLike | None = None,
    overwrite: bool = False,
    verbose: bool = True,
    init: Any = None,
    init_keypoint_map: Mapping[str, str | None] | None = None,
    floor: Any = None,
    error_model: bool | None = None,
    **training: Any,
) -> Any:
    """Train a lifter on a 3D library seen by cameras; save it with a record of its training.

    Parameters
    ----------
    poses_3d
        The 3D library: :class:`~liftpose_dlc.Poses`, 3D pose files
        (:func:`~liftpose_dlc.load_poses_3d`), or a list of those.
    cameras
        A calibration file (:func:`~liftpose_dlc.load_calibration`), a
        :class:`~liftpose_dlc.Camera`, or a list/dict of cameras, with the library in their
        world frame. None: ``n_virtual_cameras`` virtual cameras in ``angle_ranges``.
    model_path
        The model file to write (``.safetensors``). The record goes to
        :func:`record_path_for` (``<stem>.yaml``) and the log and checkpoints to
        ``training_dir`` (default :func:`training_dir_for`, ``<stem>_training/``).
    keypoints
        The keypoints to lift, in order (default: the library's).
    keypoint_map
        ``{keypoint: library keypoint}`` for names that differ.
    roots, target_sets
        Root keypoints and the keypoints predicted relative to each (names or indices into
        ``keypoints``). Default: the first keypoint is the root of all others.
    angle_ranges
        Three ``[low, high]`` Euler-angle ranges in degrees (axes ``zyx``) of the virtual
        cameras; default :data:`DEFAULT_ANGLE_RANGES`.
    n_virtual_cameras, camera_distance
        Number of virtual cameras, and their distance to the animal (None: orthographic).
    noise_px
        Gaussian noise added once to the projected 2D (2D units).
    distorted
        Apply the cameras' lens distortion to the projected 2D (default), as a tracker run
        on the raw video reports it; False for 2D that was undistorted before lifting.
    units
        The library's units (e.g. ``"mm"``), recorded.
    seed
        Seed of the virtual cameras, the noise and the training.
    record
        Extra entries for the YAML record.
    overwrite
        Replace an existing model and record; otherwise
        :class:`~liftpose_dlc.errors.OutputExistsError` before training.
    verbose
        Show the training progress bar.
    init
        Fine-tune this model instead of training from scratch: a pretrained model's name
        (``"mouse"``), a model file or a Lifter (see :mod:`liftpose_dlc.pretrained.finetune`).
        ``keypoints`` are mapped onto its keypoints (automatically, corrected by
        ``init_keypoint_map``); the lifter keeps the model's keypoints, network and target
        sets, trains with :data:`~liftpose_dlc.pretrained.finetune.FINE_TUNE_OPTIONS` unless
        given, and its card is written to ``<stem>.card.yaml``.
    init_keypoint_map
        ``{keypoint: model keypoint}`` corrections of the automatic map (with ``init``).
    floor
        The floor of the library's world frame, from which each root's height is learned
        (``Lifter.root_heights``, saved with the model, used by ``frame="world"`` lifts):
        None for the world's ``z = 0``, a plane (:func:`~liftpose_dlc.world.as_floor`), or
        ``"fit"`` to fit it to the library's lowest points
        (:func:`~liftpose_dlc.world.fit_floor`, oriented by the calibrated cameras).
    error_model
        Fit the 3D confidence (:class:`~liftpose_dlc.lifter.uncertainty.ErrorModel`, saved
        with the lifter: lifts write it as the ``likelihood`` column) on the validation
        frames (``val``), which training holds out (see
        :func:`~liftpose_dlc.lifter.uncertainty.fit_error_model_on_sequences`). None
        (default): when there are validation frames, else the record says why there is
        none; False: never; True: always, raising
        :class:`~liftpose_dlc.errors.ConfigError` (before training) without ``val``.
    **training
        Lifter and training options (``epochs``, ``batch_size``, ``lr``, ``linear_size``,
        ``num_stage``, ``dropout``, ``norm_2d``, ``augment``, ``val``, ``device``, ``init``
        to fine-tune a lifter, ...), sorted by
        :func:`~liftpose_dlc.lifter.lifter.split_options`. ``val`` (default
        :data:`~liftpose_dlc.lifter.session.DEFAULT_VAL_FRACTION`, as for :meth:`Lifter.fit`:
        every frame trained on) holds out the last frames of each sequence
        (:func:`~liftpose_dlc.lifter.session.validation_mask`), which select the epoch and
        are logged as ``loss_test``/``err_test``.

    Returns
    -------
    Lifter
        The trained lifter (with ``init``: carrying its card as ``lifter.card``).
    """
    from liftpose_dlc._version import __version__
    from liftpose_dlc.lifter.lifter import Lifter, split_options
    from liftpose_dlc.training_pairs import make_training_pairs

    model_path = Path(model_path)
    record_path = record_path_for(model_path)
    train_dir = training_dir_for(model_path) if training_dir is None else Path(training_dir)
    check_overwrite(model_path, overwrite)
    check_overwrite(record_path, overwrite)
    if init is not None:
        from liftpose_dlc.pretrained.registry import SIDE_CARD_SUFFIX

        card_path = model_path.with_name(model_path.stem + SIDE_CARD_SUFFIX)
        check_overwrite(card_path, overwrite)
    encoder_opts, model_opts, fit_opts = split_options(training, "training options")
    for path, what in ((model_path, "model file"), (record_path, "record"), (train_dir, "log")):
        check_writable(path, what)  # before training, not after hours of it
    library = as_library(poses_3d)
    names = list(library[0].keypoints) if keypoints is None else [str(k) for k in keypoints]
    cams, cam_record = _cameras_for_training(
        cameras, angle_ranges, n_virtual_cameras, camera_distance, seed
    )
    if cam_record["kind"] == "virtual" and init is None:
        encoder_opts.setdefault("norm_2d", True)
    pairs_2d, pairs_3d = make_training_pairs(
        library,
        cams,
        keypoints=names,
        keypoint_map=keypoint_map,
        noise_px=noise_px,
        distorted=distorted,
        seed=seed,
    )
    roots_ = [0] if roots is None else ([roots] if isinstance(roots, (str, int)) else list(roots))
    if target_sets is None and init is None:
        if len(roots_) != 1:
            raise ConfigError("give target_sets with several roots")
        root_name = names[roots_[0]] if isinstance(roots_[0], int) else str(roots_[0])
        target_sets = [[n for n in names if n != root_name]]
    tune = None
    if init is not None:
        from liftpose_dlc.pretrained.finetune import FINE_TUNE_OPTIONS, prepare_fine_tune

        tune = prepare_fine_tune(
            init,
            names,
            pairs_2d,
            pairs_3d,
            init_keypoint_map,
            model_options={**encoder_opts, **model_opts},
            roots=roots,
            target_sets=target_sets,
        )
        pairs_2d, pairs_3d = tune.pairs_2d, tune.pairs_3d
        lifter = tune.new_lifter()
        for key, value in FINE_TUNE_OPTIONS.items():
            fit_opts.setdefault(key, value)
        fit_opts["init"] = tune.base
    else:
        assert target_sets is not None  # filled in above when there is no init
        lifter = Lifter(names, roots_, target_sets, **encoder_opts, **model_opts)
    fit_opts.setdefault("seed", seed)
    val = fit_opts.get("val", fit_opts.get("val_fraction"))
    held_out = _held_out(pairs_2d, pairs_3d, val)
    if error_model and not held_out:
        raise ConfigError(
            "error_model=True fits the 3D confidence on validation frames: give val (e.g. "
            "val=0.2, the last fifth of each sequence held out)"
        )
    monitor = None
    if "test" not in fit_opts:
        monitor = _validation_monitor(pairs_2d, pairs_3d, val)
        if monitor is not None:
            fit_opts["test"] = monitor
    from liftpose_dlc.lifter.distributed import is_main_process, world_size

    if not is_main_process():  # torchrun: rank 0 alone writes the log, model and record
        resume_dir = train_dir if fit_opts.get("resume") else None
        return lifter.fit(pairs_2d, pairs_3d, out_dir=resume_dir, verbose=False, **fit_opts)
    _remove_killed_runs(
        [model_path, record_path, *([card_path] if init is not None else [])], train_dir
    )
    with _training_run(train_dir, resume=bool(fit_opts.get("resume"))) as run_dir:
        lifter.fit(pairs_2d, pairs_3d, out_dir=run_dir, verbose=verbose, **fit_opts)
        lifter.units = units
        lifter.frame = OUTPUT_FRAME
        lifter.root_heights, lifter.floor_clearance = _root_heights(
            library, lifter, keypoint_map, floor, cams
        )
        confidence = _fit_confidence(lifter, held_out, error_model, int(fit_opts["seed"]), val)
        model_path.parent.mkdir(parents=True, exist_ok=True)
        lifter.save(model_path, overwrite=overwrite)
        if tune is not None:
            from liftpose_dlc.pretrained.card import write_card
            from liftpose_dlc.pretrained.finetune import fine_tuned_card

            card = fine_tuned_card(
                tune,
                name=model_path.stem,
                sources=[p.source.describe() for p in library],
                trained_with={
                    "init": _init_name(tune.base, init),
                    "train_options": lifter.train_options,
                },
                version=__version__,
                units=units,
            )
            write_card(card, card_path, overwrite=overwrite)
            lifter.card = attrs.evolve(card, path=card_path)
        n_poses = sum(p.n_frames * p.n_individuals for p in library)
        entries: dict[str, Any] = {
            "liftpose_dlc_version": __version__,
            "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "model_file": model_path.name,
            **dict(record or {}),
            **(
                {}
                if tune is None
                else {
                    "init": _init_name(tune.base, init),
                    "init_keypoint_map": dict(tune.match.mapping),
                    "card": card_path.name,
                }
            ),
            "keypoints": list(lifter.keypoints),
            "keypoint_map": dict(keypoint_map or {}),
            "roots": [lifter.keypoints[i] for i in lifter.roots],
            "target_sets": [[lifter.keypoints[j] for j in ts] for ts in lifter.target_sets],
            "library": {
                "sources": [p.source.describe() for p in library],
                "poses": int(n_poses),
                "units": units,
            },
            "cameras": cam_record,
            "training_pairs": int(sum(len(v) for v in pairs_2d.values())),
            "noise_px": float(noise_px),
            "distorted_2d": bool(distorted),
            "seed": int(seed),
            "processes": world_size(),
            "model_options": lifter.lifter_options,
            "train_options": lifter.train_options,
            "augmentation": lifter.augmentation,
            "best_epoch": lifter.best_epoch,
            "root_heights": lifter.root_heights,
            "floor_clearance": lifter.floor_clearance,
            "error_model": confidence,
            "output": "3D of each target set relative to its root, in the library's units, in "
            "the frame of the camera the 2D is seen from",
            "training_log": f"{_relative(train_dir, model_path.parent)}/train_log.txt"
            + (" (loss_test/err_test: the validation frames)" if monitor is not None else ""),
        }
        with atomic_path(record_path, overwrite) as tmp:
            tmp.write_text(
                "# How this lifter was trained (written by liftpose-dlc)\n"
                + yaml.safe_dump(_plain(entries), sort_keys=False),
                encoding="utf-8",
            )
    return lifter


def _root_heights(
    library: list[Poses],
    lifter: Any,
    keypoint_map: Mapping[str, str] | None,
    floor: Any,
    cameras: Any,
) -> tuple[list[float] | None, float | None]:
    """Each root's median height above the library's floor, and its poses' lowest point's.

    ``(None, None)`` when the library lacks some root.
    """
    from liftpose_dlc.cameras import Camera
    from liftpose_dlc.world import fit_floor, floor_clearance, root_heights

    names = [
        dict(keypoint_map or {}).get(lifter.keypoints[r], lifter.keypoints[r]) for r in lifter.roots
    ]
    if not all(n in p.keypoints for p in library for n in names):
        if floor is not None:
            raise ConfigError(f"floor: the library lacks the roots {names}")
        return None, None
    arrays = [p.select(keypoints=names).data for p in library]
    if isinstance(floor, str):
        if floor != "fit":
            raise ConfigError(f"floor must be None, a plane or 'fit', got {floor!r}")
        cams = [] if cameras is None else cameras
        cams = list(cams.values()) if isinstance(cams, Mapping) else list(cams)
        real = [c for c in cams if isinstance(c, Camera) and c.projection == "perspective"]
        whole = np.concatenate([p.data.reshape(p.n_frames, -1, 3) for p in library])
        floor = fit_floor(whole, cameras=real or None, where="3D library")
    heights = root_heights(arrays, list(range(len(names))), floor).tolist()
    return heights, floor_clearance([p.data for p in library], floor)


def _init_name(base: Any, init: Any) -> str:
    card = getattr(base, "card", None)
    if card is not None:
        return str(card.name)
    return str(init) if isinstance(init, (str, os.PathLike)) else "a Lifter"


def _remove_killed_runs(files: Sequence[Path], train_dir: Path) -> list[Path]:
    """Remove what an earlier training killed on its way to these outputs left behind.

    ``SIGKILL`` (or a power cut) leaves the run's hidden training folder
    (:func:`_training_run`) and hidden temporary files of the model, record, card and
    checkpoints. Only ours for these very outputs, of writers that have exited, older than
    this process, are removed (:func:`~liftpose_dlc._filesystem.remove_stale_temps`,
    :func:`~liftpose_dlc._filesystem.remove_stale_temp_dirs`); a folder holding anything
    but a run's log and checkpoints is kept.
    """
    from liftpose_dlc.lifter.session import CKPT_BEST, CKPT_LAST, LOG_FILE

    run_files = (LOG_FILE, CKPT_BEST, CKPT_LAST)
    removed = [p for f in files for p in remove_stale_temps(f)]
    removed += remove_stale_temp_dirs(train_dir, run_files)
    removed += [p for f in run_files for p in remove_stale_temps(train_dir / f)]  # resume
    return removed


@contextlib.contextmanager
def _training_run(train_dir: Path, *, resume: bool) -> Iterator[Path]:
    """The folder a run writes its log and checkpoints to, committed only if it succeeds.

    The run writes to a hidden folder beside ``train_dir``; when the body (training, saving
    the model and its record) succeeds, that folder replaces ``train_dir``. A failed or
    interrupted run (Ctrl-C) removes it, so ``train_dir`` keeps the log and checkpoints
    of the lifter that was kept. ``resume`` continues the run in ``train_dir`` itself.
    """
    if resume:
        yield train_dir
        return
    staging = staging_dir(train_dir)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = train_dir.with_name(f"{staging.name}.old")
    if train_dir.exists():
        os.replace(train_dir, old)
    os.replace(staging, train_dir)
    shutil.rmtree(old, ignore_errors=True)


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)
