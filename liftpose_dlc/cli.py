"""The ``liftpose-dlc`` command: ``train``, ``lift``, ``evaluate``, ``models`` and ``demo``.

A thin layer over :mod:`liftpose_dlc.workflow`, :mod:`liftpose_dlc.seed_api` and
:mod:`liftpose_dlc.demo.pipeline`: it parses arguments, calls them, and turns errors on bad
input into one line on stderr and a non-zero exit code (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser"]

PROG = "liftpose-dlc"


# ----------------------------------------------------------------------------- helpers
class UsageError(Exception):
    """Bad combination of command-line options (exit code 2)."""


def _name_or_index(token: str) -> int | str:
    return int(token) if token.lstrip("-").isdigit() else token


def _names(tokens: Sequence[str] | None) -> list[int | str] | None:
    if tokens is None:
        return None
    out: list[int | str] = []
    for t in tokens:
        out.extend(_name_or_index(x) for x in t.split(",") if x.strip())
    return out


def _target_sets(tokens: Sequence[str] | None) -> list[list[int | str]] | None:
    if tokens is None:
        return None
    return [[_name_or_index(x.strip()) for x in t.split(",") if x.strip()] for t in tokens]


def _keypoint_map(tokens: Sequence[str] | None) -> dict[str, str] | None:
    if not tokens:
        return None
    out = {}
    for t in tokens:
        if "=" not in t:
            raise UsageError(f"--keypoint-map entries are NAME=LIBRARY_NAME, got {t!r}")
        a, b = t.split("=", 1)
        out[a.strip()] = b.strip()
    return out


def _lift_keypoint_map(text: str | None) -> dict[str, str | None] | None:
    """A keypoint map: a YAML file (``your_name: model_keypoint``) or ``A=B,C=D``."""
    if not text:
        return None
    if "=" not in text:
        from liftpose_dlc.keypoint_names import read_keypoint_map

        return read_keypoint_map(text)
    return dict(_keypoint_map([t for t in text.split(",") if t.strip()]) or {})


def _angle_ranges(values: Sequence[float] | None) -> list[list[float]] | None:
    if values is None:
        return None
    if len(values) != 6:
        raise UsageError("--angle-ranges takes 6 numbers: ZLOW ZHIGH YLOW YHIGH XLOW XHIGH")
    ranges = [list(values[0:2]), list(values[2:4]), list(values[4:6])]
    for axis, (low, high) in zip("ZYX", ranges, strict=True):
        if not low <= high:
            raise UsageError(
                f"--angle-ranges: each range is LOW HIGH with LOW <= HIGH; {axis} is {low} {high}"
            )
    return ranges


def _frames(text: str) -> range:
    """``--frames START:STOP`` (or one frame ``N``), checked when the arguments are parsed."""
    try:
        if ":" in text:
            a, b = text.split(":", 1)
            frames = range(int(a or 0), int(b))
        else:
            frames = range(int(text), int(text) + 1)
    except ValueError:
        frames = range(0)
    if len(frames) == 0 or frames.start < 0:
        raise argparse.ArgumentTypeError(
            f"takes START:STOP with 0 <= START < STOP (e.g. 0:200), got {text!r}"
        )
    return frames


def _number(kind: type, low: float | None = None, high: float | None = None, *, open_high=False):
    """An argparse type: a number of ``kind`` in [low, high] (or [low, high))."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expects {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        too_high = high is not None and (value >= high if open_high else value > high)
        if (low is not None and value < low) or too_high or value != value:
            bounds = f"[{low}, {high}{')' if open_high else ']'}" if high is not None else None
            rule = f"in {bounds}" if bounds else f">= {low}"
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _training_options(args: argparse.Namespace) -> dict[str, Any]:
    names = {
        "epochs": "epochs",
        "batch_size": "batch_size",
        "lr": "lr",
        "val": "val",
        "linear_size": "linear_size",
        "num_stage": "num_stage",
        "dropout": "dropout",
        "norm_2d": "norm_2d",
        "device": "device",
        "amp": "amp",
    }
    return {
        key: getattr(args, attr) for key, attr in names.items() if getattr(args, attr) is not None
    }


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet and os.environ.get("RANK", "0") == "0":  # torchrun: rank 0 speaks
        print(text)


# ----------------------------------------------------------------------------- train
def _cmd_train(args: argparse.Namespace) -> int:
    modes = [m for m in ("config", "data") if getattr(args, m)]
    if len(modes) > 1:
        raise UsageError("give --config (a DeepLabCut project) or --data (arrays), not both")
    training = _training_options(args)
    from liftpose_dlc.lifter.distributed import world_size

    if world_size() > 1:
        _say(args, f"data-parallel training on {world_size()} processes (torchrun)")
    if args.data and args.init:
        raise UsageError("--init fine-tunes on a 3D --library, not on --data arrays")
    if args.data:
        return _train_from_arrays(args, training)
    if not args.library:
        raise UsageError(
            "train needs --library FILE... (a 3D library) with --config or --out, "
            "or --data PAIRS.npz with --out"
        )
    cameras: Any = args.calibration
    if args.calibration and args.cameras:
        from liftpose_dlc.io.calibration import load_calibration

        cameras = load_calibration(args.calibration, cameras=args.cameras)
    from liftpose_dlc.io.poses3d import load_poses_3d

    library = [
        load_poses_3d(p, keypoints=args.library_keypoints) if args.library_keypoints else p
        for p in args.library
    ]
    common = {
        "keypoint_map": _keypoint_map(args.keypoint_map),
        "roots": _names(args.roots),
        "target_sets": _target_sets(args.target_sets),
        "angle_ranges": _angle_ranges(args.angle_ranges),
        "n_virtual_cameras": args.n_cameras,
        "camera_distance": args.camera_distance,
        "noise_px": args.noise_px,
        "units": args.units,
        "seed": args.seed,
        "overwrite": args.overwrite,
        "verbose": not args.quiet,
        **({} if args.error_model is None else {"error_model": args.error_model}),
        **training,
    }
    if args.init:
        common["init"] = args.init
        common["init_keypoint_map"] = _lift_keypoint_map(args.init_keypoint_map)
    elif args.init_keypoint_map:
        raise UsageError("--init-keypoint-map goes with --init MODEL")
    if args.config:
        from liftpose_dlc.workflow import project_lifter_path, train_dlc_project

        if args.out:
            raise UsageError("--out is not used with --config: the lifter goes in the project")
        lifter = train_dlc_project(
            args.config, library, cameras, bodyparts=args.keypoints, **common
        )
        _say(args, f"lifter saved to {project_lifter_path(args.config)}")
        _say_confidence(args, lifter)
        return 0
    if not args.out:
        raise UsageError("give --config (a DeepLabCut project) or --out MODEL.safetensors")
    from liftpose_dlc.workflow.training import record_path_for, train_from_library

    out = Path(args.out)
    if out.suffix != ".safetensors":
        out = out / "lifter.safetensors"
    lifter = train_from_library(
        library, cameras, model_path=out, keypoints=args.keypoints, **common
    )
    _say(args, f"lifter saved to {out} (how it was trained: {record_path_for(out)})")
    _say_confidence(args, lifter)
    return 0


def _say_confidence(args: argparse.Namespace, lifter: Any) -> None:
    """Whether the lifter has a 3D confidence (its error model), and if not, why."""
    model = getattr(lifter, "error_model", None)
    if model is not None:
        unit = f" {model.units}" if model.units else ""
        info = model.info
        poses = (info["fit_pairs"] + info["calibration_pairs"]) // max(1, info["copies"])
        _say(
            args,
            f"3D confidence: fitted and calibrated on {poses} validation poses; a likelihood "
            f"of 0.5 is an error of {model.tolerance:.3g}{unit}",
        )
    elif args.error_model is None:
        _say(
            args,
            "no 3D confidence (the likelihood column of lifted 3D): it is fitted on "
            "validation poses; train with --val FRACTION (e.g. --val 0.2) to have one"
            + (" (too few validation poses)" if args.val else ""),
        )


def _load_pairs(path: str) -> dict[str, Any]:
    import numpy as np

    from liftpose_dlc._filesystem import check_file
    from liftpose_dlc.errors import FileFormatError

    p = check_file(path, "training data (.npz)")
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"{p}: not a numpy .npz file without pickles ({exc})") from None
    out: dict[str, Any] = {}
    for name in ("train_2d", "train_3d", "test_2d", "test_3d", "train_keypts", "test_keypts"):
        if name in arrays:
            out[name] = arrays[name]
            continue
        prefix = f"{name}/"
        entries = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
        if entries:
            out[name] = entries
    for name in ("roots", "target_sets"):
        if name in arrays:
            out[name] = arrays[name].tolist()
    if "train_3d" not in out:
        raise FileFormatError(
            f"{p}: no train_3d array; the file must hold train_2d and train_3d (arrays "
            "(N, J, 2)/(N, J, 3)) or dictionaries as train_2d/<key>, train_3d/<key>, and "
            f"optionally test_2d, test_3d; it holds {sorted(arrays)}"
        )
    return out


def _train_from_arrays(args: argparse.Namespace, training: dict[str, Any]) -> int:
    from liftpose_dlc.seed_api import test, train

    if not args.out:
        raise UsageError("--data needs --out DIR (the training folder)")
    if args.library or args.config:
        raise UsageError("--data trains from arrays: do not give --library or --config")
    pairs = _load_pairs(args.data)
    roots = _names(args.roots) or pairs.get("roots")
    target_sets = _target_sets(args.target_sets) or pairs.get("target_sets")
    if roots is None or target_sets is None:
        raise UsageError("give --roots and --target-sets (or store roots/target_sets in the .npz)")
    augmentation = None
    if args.no_augment:
        augmentation = []
    elif (ranges := _angle_ranges(args.angle_ranges)) is not None:
        from liftpose_dlc.lifter.augmentation import random_project

        augmentation = [random_project(eangles={0: ranges}, axsorder="zyx")]
    kwargs = dict(training)
    kwargs["verbose"] = not args.quiet
    kwargs["seed"] = args.seed
    if args.overwrite is False and (Path(args.out) / "ckpt_best.safetensors").exists():
        from liftpose_dlc.errors import OutputExistsError

        raise OutputExistsError(
            f"{args.out} holds a trained lifter; pass --overwrite to replace it"
        )
    train(
        pairs.get("train_2d"),
        pairs.get("test_2d"),
        pairs["train_3d"],
        pairs.get("test_3d"),
        roots,
        target_sets,
        out_dir=args.out,
        train_keypts=pairs.get("train_keypts"),
        test_keypts=pairs.get("test_keypts"),
        training_kwargs=kwargs,
        augmentation=augmentation,
    )
    if pairs.get("test_2d") is not None:
        test(args.out)
    _say(args, f"lifter saved to {Path(args.out) / 'ckpt_best.safetensors'}")
    if pairs.get("test_3d") is not None:
        _say(args, f"see the errors with: {PROG} evaluate {args.out}")
    return 0


# ----------------------------------------------------------------------------- models
def _cmd_models(args: argparse.Namespace) -> int:
    from liftpose_dlc.pretrained import list_models, model_card

    if args.map_for or args.write_map:
        if not args.name or not args.map_for:
            raise UsageError("--map-for FILE (and --write-map MAP.yaml) go with a model NAME")
        from liftpose_dlc.keypoint_names import write_keypoint_map
        from liftpose_dlc.pretrained import keypoint_map_for

        match = keypoint_map_for(args.name, args.map_for)
        print(match.describe())
        if args.write_map:
            write_keypoint_map(match, args.write_map, overwrite=args.overwrite)
            print(
                f"wrote {args.write_map}: correct it, then lift with "
                f"--keypoint-map {args.write_map}"
            )
        return 0
    if args.name:
        print(model_card(args.name).describe())
        return 0
    entries = list_models()
    if not entries:
        print("no pretrained models (a lab's own go in a folder named by LIFTPOSE_DLC_MODELS)")
        return 0
    rows = [("name", "species", "keypoints", "source", "licence")]
    for e in entries:
        card = e.card
        rows.append(
            (e.name, card.species, str(len(card.keypoints)), e.source, ", ".join(card.licences))
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1])
    print(
        f"\n`{PROG} models NAME` shows a model's card; "
        f"lift with `{PROG} lift ... --pretrained NAME`"
    )
    return 0


# ----------------------------------------------------------------------------- lift
def _cmd_lift(args: argparse.Namespace) -> int:
    from liftpose_dlc.lifter.devices import mixed_precision

    if args.amp and (args.workers or args.scheduler):
        raise UsageError(
            "--amp is not passed on to Dask workers: lift without --workers/--scheduler, "
            "or without --amp"
        )
    with mixed_precision(args.amp):  # every prediction of the lift (on CUDA; else a warning)
        return _lift_targets(args)


def _lift_targets(args: argparse.Namespace) -> int:
    if args.pretrained is not None:
        if args.model is not None:
            raise UsageError("give --model FILE or --pretrained NAME, not both")
        args.model = args.pretrained
    _placement_options(args)  # usage errors before any file is read
    targets = [Path(t) for t in args.targets]
    if args.specialise_steps is not None and not args.specialise:
        raise UsageError("--specialise-steps goes with --specialise")
    if args.specialise:
        args.model = _specialised(args, targets)
    is_config = [t.suffix.lower() in (".yaml", ".yml") for t in targets]
    if any(is_config):
        if len(targets) != 1:
            raise UsageError("give one DeepLabCut config.yaml, or 2D pose files, not both")
        return _lift_project(args, targets[0])
    if args.model is None:
        raise UsageError(
            "lifting files needs --model LIFTER.safetensors or --pretrained NAME "
            f"(`{PROG} models` lists the pretrained lifters)"
        )
    project_only = {
        "--videos": args.videos,
        "--destfolder": args.destfolder,
        "--filtered": args.filtered,
        "--workers": args.workers,
        "--scheduler": args.scheduler,
    }
    given = [k for k, v in project_only.items() if v]
    if given:
        raise UsageError(f"{', '.join(given)} only apply to a DeepLabCut config.yaml")
    return _lift_files(args, targets)


def _specialised(args: argparse.Namespace, targets: list[Path]) -> Any:
    """``--specialise``: the pretrained model trained for the keypoints of the first target."""
    from liftpose_dlc.pretrained.specialise import specialise

    if args.model is None:
        raise UsageError("--specialise goes with --pretrained NAME (or --model NAME)")
    lifter = specialise(
        args.model,
        targets[0],
        _lift_keypoint_map(args.keypoint_map),
        steps=args.specialise_steps,
        verbose=not args.quiet,
    )
    tracked = getattr(lifter, "specialised_for", None)
    if tracked and not args.quiet:
        print(f"specialised {args.model} for {len(tracked)} keypoints: {', '.join(tracked)}")
    return lifter


def _lift_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "pcutoff": args.pcutoff,
        "infer_occluded": args.infer_occluded,
        "root_positions": args.root_positions,
        "overwrite": args.overwrite,
        "save_as_csv": args.csv,
        **({} if args.chunk_size is None else {"chunk_size": args.chunk_size}),
        "device": args.device,
        "verbose": not args.quiet,
        "keypoint_map": _lift_keypoint_map(args.keypoint_map),
        **({} if args.view is None else {"view": _view_hint(args.view)}),
        **_placement_options(args),
    }


def _view_hint(text: str) -> Any:
    """``--view``: a view name, or angle ranges as six numbers ``zlo,zhi,ylo,yhi,xlo,xhi``."""
    from liftpose_dlc.errors import ConfigError
    from liftpose_dlc.pretrained.views import _as_hint

    try:
        return _as_hint(text)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _placement_options(args: argparse.Namespace) -> dict[str, Any]:
    """``frame``, ``cameras``, ``camera``, ``floor`` of a lift (see liftpose_dlc.world)."""
    if args.frame == "world" and args.calibration is None:
        raise UsageError("--frame world needs --calibration FILE (the calibrated camera)")
    out: dict[str, Any] = {}
    if args.frame is not None:
        out["frame"] = args.frame
    if args.calibration is not None:
        out["cameras"] = args.calibration
        out["camera"] = args.camera
    if args.root_height is not None:
        out["root_height"] = args.root_height
    if args.floor is not None:
        try:
            out["floor"] = [float(v) for v in args.floor.split(",")]
        except ValueError:
            raise UsageError(f"--floor takes a,b,c,d (numbers), got {args.floor!r}") from None
    return out


def _lift_project(args: argparse.Namespace, config: Path) -> int:
    from liftpose_dlc.workflow import lift_dlc_project

    result = lift_dlc_project(
        config,
        args.model,
        videos=args.videos,
        shuffle=args.shuffle,
        trainingsetindex=args.trainingsetindex,
        filtered=args.filtered,
        destfolder=args.destfolder,
        scheduler=args.scheduler,
        workers=args.workers,
        **_lift_options(args),
    )
    for video in result.failed:
        _error(f"{video.analysis}: {video.error}")
    if args.plot:
        from liftpose_dlc.io.dlc import load_dlc

        for video in result.lifted:
            path, analysis = video.output, video.analysis
            if path is None or analysis is None:  # not lifted: result.lifted has none
                continue
            two_d, three_d = load_dlc(analysis, config=config), load_dlc(path)
            _plot(args, two_d, three_d, path, video=video.video)
    _say(args, f"{len(result.lifted)} file(s) lifted")
    if result.failed:
        _error(f"{len(result.failed)} video(s) not lifted; {len(result.lifted)} lifted")
        return 1
    return 0


def _lift_files(args: argparse.Namespace, files: list[Path]) -> int:
    """Lift each file; one that fails is reported and the others are still lifted."""
    from liftpose_dlc.engine import as_lifter
    from liftpose_dlc.errors import OutputExistsError
    from liftpose_dlc.workflow import lift_file

    model = as_lifter(args.model)
    failed: list[Path] = []
    lifted = 0
    for path in files:
        try:
            out = lift_file(path, model, **_lift_options(args))
            _say(args, f"{path.name}: wrote {out}")
            lifted += 1
            if args.plot:
                from liftpose_dlc.io import load_poses
                from liftpose_dlc.io.poses3d import load_poses_3d

                _plot(args, load_poses(path), load_poses_3d(out), out)
        except OutputExistsError as exc:
            _warn(f"{exc} (kept)")
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - one file's failure does not stop the others
            if args.debug:
                raise
            message = _describe(exc)
            _error(message if str(path) in message else f"{path}: {message}")
            failed.append(path)
    if failed and len(files) > 1:
        _error(
            f"{len(failed)} of {len(files)} file(s) not lifted: "
            + ", ".join(p.name for p in failed)
            + f"; {lifted} lifted"
        )
    return 1 if failed else 0


def _plot(
    args: argparse.Namespace, poses_2d: Any, poses_3d: Any, lifted: Path, video: Any = None
) -> None:
    from liftpose_dlc.workflow.report import plot_lifted

    folder = Path(args.plot_dir) if args.plot_dir else lifted.with_name(lifted.stem + "_plots")
    _say(args, f"drawing figures of {lifted.name}…")
    written = plot_lifted(
        poses_2d,
        poses_3d,
        folder,
        stem=lifted.stem,
        frames=args.frames,
        animation="" if args.animation == "none" else args.animation,
        overwrite=args.overwrite,
        video=video if video is not None and Path(video).is_file() else None,
        progress=not args.quiet,
    )
    _say(args, "figures: " + ", ".join(str(p) for p in written.values()))


# ----------------------------------------------------------------------------- evaluate
def _cmd_evaluate(args: argparse.Namespace) -> int:
    pred = Path(args.prediction)
    if pred.is_dir():
        return _evaluate_training_dir(args, pred)
    if args.truth is None:
        raise UsageError("evaluating a 3D file needs --truth FILE (the known 3D)")
    from liftpose_dlc.io.poses3d import load_poses_3d
    from liftpose_dlc.workflow import report

    lifted = load_poses_3d(pred)
    truth = load_poses_3d(args.truth, keypoints=args.truth_keypoints)
    roots, sets = _names(args.roots), _target_sets(args.target_sets)
    if args.model is not None:
        from liftpose_dlc.engine import as_lifter

        lifter = as_lifter(args.model)
        roots = [lifter.keypoints[i] for i in lifter.roots]
        sets = [[lifter.keypoints[j] for j in ts] for ts in lifter.target_sets]
    if sets is not None and len(sets) == 1 and roots is not None and len(roots) == 1:
        sets = [sets[0]]
    evaluation = report.evaluate(lifted, truth, roots=roots, target_sets=sets, units=args.units)
    out = Path(args.out) if args.out else pred.with_name(pred.stem + "_evaluation")
    out.mkdir(parents=True, exist_ok=True)
    poses_2d = None
    if args.poses_2d:
        from liftpose_dlc.io import load_poses

        poses_2d = load_poses(args.poses_2d)
    return _report_evaluation(args, out, evaluation, lifted, truth, poses_2d, roots, sets, {})


def _evaluate_training_dir(args: argparse.Namespace, folder: Path) -> int:
    import numpy as np

    from liftpose_dlc.lifter.lifter import CKPT_BEST, Lifter
    from liftpose_dlc.poses import Poses
    from liftpose_dlc.seed_api import TEST_RESULTS, load_test_results, test
    from liftpose_dlc.workflow import report

    if args.truth is not None:
        raise UsageError("--truth is for a lifted 3D file; a training folder has its test data")
    if args.retest or not (folder / TEST_RESULTS).exists():
        test(folder)
    gt, pred, good = load_test_results(folder)
    lifter = Lifter.load(folder / CKPT_BEST)
    names = lifter.keypoints
    # test() puts the roots at their true positions; errors are of the predicted joints
    keep = good | np.isin(np.arange(len(names)), lifter.roots)[None, :]
    pred = np.where(keep[..., None], pred, np.nan)
    gt_eval = np.where(keep[..., None], gt, np.nan)
    roots = lifter.roots
    sets = lifter.target_sets
    evaluation = report.evaluate(pred, gt_eval, roots=roots, target_sets=sets, units=args.units)
    out = Path(args.out) if args.out else folder / "evaluation"
    out.mkdir(parents=True, exist_ok=True)
    pred_poses = Poses(pred, names)
    gt_poses = Poses(gt, names)
    with np.load(folder / TEST_RESULTS) as z:
        inputs = z["input"]
    loss = report.plot_training(
        folder,
        out / "loss_curves.png",
        overwrite=args.overwrite,
        units=args.units or getattr(lifter, "units", None),
    )
    return _report_evaluation(
        args,
        out,
        evaluation,
        pred_poses,
        gt_poses,
        Poses(inputs, names),
        roots,
        sets,
        {"loss": loss},
    )


def _report_evaluation(
    args: argparse.Namespace,
    out: Path,
    evaluation: Any,
    lifted: Any,
    truth: Any,
    poses_2d: Any,
    roots: Any,
    sets: Any,
    figures: dict[str, Path],
) -> int:
    """Draw the errors (and the 2D beside the 3D, the animation), write and print the summary."""
    from liftpose_dlc.workflow import report

    figures["errors"] = report.plot_errors(
        lifted,
        truth,
        out / "errors_per_keypoint.png",
        roots=roots,
        target_sets=sets,
        units=args.units,
        overwrite=args.overwrite,
    )
    if poses_2d is not None:
        figures["frame"] = report.plot_lifted_frame(
            poses_2d,
            lifted,
            out / "pose_3d_beside_2d.png",
            truth_3d=truth,
            overwrite=args.overwrite,
        )
    if args.animation != "none":
        figures["animation"] = report.animate_lifted(
            lifted,
            out / f"lifted_skeleton.{args.animation}",
            frames=args.frames,
            overwrite=args.overwrite,
        )
    _write_evaluation(out, evaluation, figures, args.overwrite)
    print(evaluation.summary())
    _say(args, "figures: " + ", ".join(str(p) for p in figures.values()))
    return 0


def _write_evaluation(
    out: Path, evaluation: Any, figures: dict[str, Path], overwrite: bool
) -> None:
    import yaml

    from liftpose_dlc._filesystem import atomic_path

    data = {"errors": evaluation.to_dict(), "figures": {k: str(v) for k, v in figures.items()}}
    with atomic_path(out / "evaluation.yaml", overwrite=overwrite) as tmp:
        tmp.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


# ----------------------------------------------------------------------------- demo
def _cmd_demo(args: argparse.Namespace) -> int:
    from liftpose_dlc.demo.pipeline import run_demo

    run_demo(args.out, seed=args.seed, quick=args.quick, verbose=not args.quiet)
    return 0


# ----------------------------------------------------------------------------- parser
def _code_defaults() -> dict[str, Any]:
    """The values the code uses for options not given (imported only to print the help)."""
    from liftpose_dlc.engine import DEFAULT_CHUNK_SIZE
    from liftpose_dlc.lifter.encoder import EncoderOptions
    from liftpose_dlc.lifter.lifter import DEFAULT_MODEL_OPTIONS
    from liftpose_dlc.lifter.model import ModelOptions
    from liftpose_dlc.lifter.session import TrainOptions

    return {
        **TrainOptions().as_dict(),
        **EncoderOptions().as_dict(),
        **ModelOptions().as_dict(),
        **DEFAULT_MODEL_OPTIONS,
        "chunk_size": DEFAULT_CHUNK_SIZE,
    }


_CODE_DEFAULT = re.compile(r"\{code:(\w+)\}")


class _Formatter(argparse.HelpFormatter):
    """Shows a default only when there is one worth showing.

    ``{code:NAME}`` in a help text is the value the code uses (:func:`_code_defaults`), so
    the help cannot drift from the code.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "{code:" in text:
            defaults = _code_defaults()
            text = _CODE_DEFAULT.sub(lambda m: str(defaults[m.group(1)]), text)
        default = action.default
        if (
            "%(default)" not in text
            and default not in (None, False, argparse.SUPPRESS)
            and action.option_strings
        ):
            text += " (default: %(default)s)"
        return text


def _version() -> str:
    from liftpose_dlc._version import __version__

    return f"{PROG} {__version__}"


def _common(debug_default: Any) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=debug_default,
        help="show the full traceback of an error",
    )
    common.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=debug_default,
        help="no progress bars or messages",
    )
    return common


def _command(
    sub: argparse._SubParsersAction, name: str, summary: str, description: str
) -> argparse.ArgumentParser:
    """Add the subcommand ``name``, with the common options and the help formatter."""
    return sub.add_parser(
        name,
        parents=[_common(argparse.SUPPRESS)],
        help=summary,
        description=description,
        formatter_class=_Formatter,
    )


def _add_training_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("network and training")
    g.add_argument(
        "--epochs",
        type=_number(int, 0),
        help="training epochs (default: at least 30, and enough for {code:min_steps} steps "
        "but at most {code:max_auto_epochs})",
    )
    g.add_argument(
        "--batch-size",
        type=_number(int, 2),
        help="poses per optimisation step (default: {code:batch_size})",
    )
    g.add_argument("--lr", type=_number(float, 0), help="learning rate (default: {code:lr})")
    g.add_argument(
        "--val",
        type=_number(float, 0, 1, open_high=True),
        metavar="FRACTION",
        help="hold out the last FRACTION of each sequence to choose the epoch and log a "
        "validation error (default: {code:val_fraction}, every pose trained on)",
    )
    g.add_argument(
        "--linear-size",
        type=_number(int, 1),
        help="width of the network (default: {code:linear_size})",
    )
    g.add_argument(
        "--num-stage",
        type=_number(int, 0),
        help="residual blocks of the network (default: {code:num_stage})",
    )
    g.add_argument(
        "--dropout",
        type=_number(float, 0, 1, open_high=True),
        help="dropout rate (default: {code:dropout})",
    )
    g.add_argument(
        "--norm-2d",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="normalise each 2D pose's scale (default: on with virtual cameras)",
    )
    g.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: CUDA when available)")
    g.add_argument(
        "--amp",
        action="store_true",
        default=None,
        help="mixed precision (float16) on a CUDA GPU: faster, about as exact; ignored with a "
        "warning on the CPU",
    )
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument(
        "--no-error-model",
        dest="error_model",
        action="store_false",
        default=None,
        help="do not fit the 3D confidence (the likelihood column of lifted 3D), which is "
        "fitted on the --val frames when there are some",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``liftpose-dlc``."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="3D poses from a single camera for DeepLabCut and SLEAP users (LiftPose3D).",
        epilog=f"Start with `{PROG} demo`. `{PROG} COMMAND --help` explains each command.",
        parents=[_common(False)],
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    # train
    tr = _command(
        sub,
        "train",
        "train a lifter",
        (
            "Train a lifter. Three ways: (1) --config CONFIG.yaml --library 3D_FILE...: for a "
            "DeepLabCut project, saved in <project>/liftpose/; (2) --library 3D_FILE... --out "
            "MODEL.safetensors: for the keypoints you name; (3) --data PAIRS.npz --out DIR: "
            "from paired 2D/3D arrays the seed's way (train_2d, train_3d[, test_2d, test_3d], "
            "arrays or dictionaries stored as train_2d/<key>). With --library, give the cameras "
            "with --calibration, or virtual cameras with --angle-ranges."
        ),
    )
    src = tr.add_argument_group("what to train on")
    src.add_argument("--config", help="a DeepLabCut project's config.yaml")
    src.add_argument("--library", nargs="+", metavar="FILE", help="3D pose files (the library)")
    src.add_argument(
        "--library-keypoints",
        nargs="+",
        metavar="NAME",
        help="keypoint names, for library files without names",
    )
    src.add_argument("--data", metavar="PAIRS.npz", help="paired 2D/3D arrays (seed style)")
    src.add_argument("--out", help="model file (.safetensors) or folder to write")
    kp = tr.add_argument_group("keypoints")
    kp.add_argument("--keypoints", nargs="+", metavar="NAME", help="keypoints (bodyparts) to lift")
    kp.add_argument("--keypoint-map", nargs="+", metavar="NAME=LIB", help="renames: ours=library's")
    kp.add_argument("--roots", nargs="+", metavar="ROOT", help="root keypoints (names or indices)")
    kp.add_argument(
        "--target-sets",
        nargs="+",
        metavar="A,B,C",
        help="one comma-separated list per root: the keypoints predicted relative to it",
    )
    cam = tr.add_argument_group("cameras")
    cam.add_argument("--calibration", metavar="FILE", help="camera calibration (Anipose, ...)")
    cam.add_argument("--cameras", nargs="+", metavar="NAME", help="cameras of the calibration")
    cam.add_argument(
        "--angle-ranges",
        nargs=6,
        type=float,
        metavar=("ZLO", "ZHI", "YLO", "YHI", "XLO", "XHI"),
        help="Euler-angle ranges (degrees) of virtual cameras / random_project",
    )
    cam.add_argument(
        "--n-cameras", type=_number(int, 1), default=8, help="number of virtual cameras"
    )
    cam.add_argument("--camera-distance", type=_number(float, 0), help="virtual cameras' distance")
    cam.add_argument(
        "--noise-px", type=_number(float, 0), default=0.0, help="2D noise added to projections"
    )
    cam.add_argument("--no-augment", action="store_true", help="(--data) no augmentation")
    tr.add_argument("--units", help="units of the 3D library (e.g. mm), recorded")
    tr.add_argument("--overwrite", action="store_true", help="replace an existing lifter")
    ft = tr.add_argument_group("fine-tuning a pretrained lifter")
    ft.add_argument(
        "--init", metavar="MODEL", help="start from this pretrained lifter (name or file)"
    )
    ft.add_argument(
        "--init-keypoint-map",
        metavar="MAP.yaml|NAME=MODEL,...",
        help="your keypoints onto the model's (corrections of the automatic map)",
    )
    _add_training_options(tr)
    tr.set_defaults(func=_cmd_train)

    # lift
    li = _command(
        sub,
        "lift",
        "lift 2D tracking to 3D",
        (
            "Lift 2D tracking to 3D. Give a DeepLabCut config.yaml (every analysed video is "
            "lifted to <analysis>_3d.h5 beside its output, with the project's lifter unless "
            "--model or --pretrained), or 2D files (DeepLabCut .h5/.csv, SLEAP "
            ".slp/.analysis.h5) with --model or --pretrained. A pretrained lifter's keypoints "
            "are matched to yours by name (the map is printed; correct it with --keypoint-map). "
            "Missing or low-likelihood 2D points get NaN in 3D unless --infer-occluded."
        ),
    )
    li.add_argument("targets", nargs="+", metavar="CONFIG_OR_FILE")
    li.add_argument("--model", help="lifter model file (.safetensors) or pretrained name")
    li.add_argument(
        "--pretrained", metavar="NAME", help=f"a pretrained lifter (`{PROG} models` lists them)"
    )
    li.add_argument(
        "--keypoint-map",
        metavar="MAP.yaml|NAME=MODEL,...",
        help="your keypoints onto a pretrained model's: a YAML file `your_name: "
        "model_keypoint` (null: not used) or NAME=MODEL,NAME=MODEL; corrects the automatic map",
    )
    li.add_argument(
        "--view",
        metavar="VIEW|ZLO,ZHI,YLO,YHI,XLO,XHI",
        help="a pretrained model's view of your camera (`models NAME` lists them: top, side, "
        "...) or its Euler angle ranges in degrees; uses a model specialised for it if the "
        "model has one",
    )
    li.add_argument(
        "--specialise",
        action="store_true",
        help="train the pretrained model again for exactly the keypoints you track (from the "
        "3D poses it ships; about a minute on one CPU core, cached in LIFTPOSE_DLC_CACHE_DIR or "
        "~/.cache/liftpose-dlc): better 3D when you track few of its keypoints",
    )
    li.add_argument(
        "--specialise-steps",
        type=_number(int, 1, None),
        metavar="N",
        help="training steps of --specialise (default: the model's recipe, 1200)",
    )
    li.add_argument(
        "--pcutoff",
        type=_number(float, 0, 1),
        help="likelihood/score below which a 2D point is missing (default: the project's "
        "pcutoff for a config.yaml; none for files)",
    )
    li.add_argument("--infer-occluded", action="store_true", help="keep estimates, flagged")
    li.add_argument("--root-positions", choices=["mean", "zero"], default="mean")
    li.add_argument("--overwrite", action="store_true", help="replace existing 3D files")
    li.add_argument("--csv", action="store_true", help="also write CSV (DeepLabCut inputs)")
    li.add_argument(
        "--chunk-size",
        type=_number(int, 1),
        help="frames lifted at a time (default: {code:chunk_size})",
    )
    li.add_argument("--device", help="cpu, cuda, ...")
    li.add_argument(
        "--amp",
        action="store_true",
        help="mixed precision (float16) on a CUDA GPU: faster, about as exact; ignored with a "
        "warning on the CPU and by temporal lifters",
    )
    wo = li.add_argument_group("where the animal is (absolute 3D)")
    wo.add_argument(
        "--frame",
        choices=["camera", "world"],
        help="world: each frame's root on its camera ray at its height above the floor "
        "(needs --calibration); camera with --calibration: the root's depth from the pose's "
        "size; default: each pose around its root, camera frame",
    )
    wo.add_argument("--calibration", metavar="FILE", help="calibration of the 2D's camera")
    wo.add_argument("--camera", metavar="NAME", help="the camera's name in the calibration")
    wo.add_argument(
        "--floor",
        metavar="A,B,C,D",
        help="the floor plane A x + B y + C z + D = 0 in the calibration's world (default: z = 0)",
    )
    wo.add_argument(
        "--root-height",
        type=float,
        help="the root's height above the floor in every frame (default: read from each "
        "lifted pose, with the lifter's floor clearance learned from its library)",
    )
    dlc = li.add_argument_group("DeepLabCut projects")
    dlc.add_argument("--videos", nargs="+", help="videos or folders (default: the project's)")
    dlc.add_argument("--shuffle", type=int, default=1)
    dlc.add_argument("--trainingsetindex", type=int, default=0)
    dlc.add_argument("--filtered", action="store_true", help="lift the _filtered outputs")
    dlc.add_argument("--destfolder", help="where analyze_videos wrote its outputs")
    par = dlc.add_mutually_exclusive_group()
    par.add_argument(
        "--workers", type=_number(int, 1), help="lift videos in parallel on N local Dask workers"
    )
    par.add_argument(
        "--scheduler", metavar="ADDRESS", help="lift videos on this Dask scheduler (tcp://...)"
    )
    pl = li.add_argument_group("figures")
    pl.add_argument("--plot", action="store_true", help="a 3D pose beside its 2D, an animation")
    pl.add_argument("--plot-dir", help="folder for the figures (default: beside each 3D file)")
    pl.add_argument("--frames", type=_frames, metavar="START:STOP", help="frame range to animate")
    pl.add_argument("--animation", choices=["gif", "mp4", "none"], default="gif")
    li.set_defaults(func=_cmd_lift)

    # evaluate
    ev = _command(
        sub,
        "evaluate",
        "errors and figures against known 3D",
        (
            "Compare lifted 3D with known 3D: errors (root-relative with --model or --roots, "
            "Procrustes-aligned), a violin of the error per keypoint, a 3D pose beside its 2D "
            "and an animation. PREDICTION is a lifted 3D file (with --truth) or a training "
            "folder of `train --data` (its test set is used; the loss curves are drawn too)."
        ),
    )
    ev.add_argument("prediction", metavar="PREDICTION")
    ev.add_argument("--truth", help="the known 3D (any 3D file load_poses_3d reads)")
    ev.add_argument("--truth-keypoints", nargs="+", metavar="NAME", help="names for --truth")
    ev.add_argument("--model", help="the lifter: its roots make the errors root-relative")
    ev.add_argument("--roots", nargs="+", metavar="ROOT")
    ev.add_argument("--target-sets", nargs="+", metavar="A,B,C")
    ev.add_argument("--poses-2d", help="the 2D file that was lifted (for the 3D-beside-2D figure)")
    ev.add_argument("--units", help="units of the 3D (for labels)")
    ev.add_argument("--out", help="folder for the figures and evaluation.yaml")
    ev.add_argument("--frames", type=_frames, metavar="START:STOP", help="frame range to animate")
    ev.add_argument("--animation", choices=["gif", "mp4", "none"], default="gif")
    ev.add_argument("--retest", action="store_true", help="(training folder) run the test again")
    ev.add_argument("--overwrite", action="store_true", help="replace existing figures")
    ev.set_defaults(func=_cmd_evaluate)

    # models
    mo = _command(
        sub,
        "models",
        "list the pretrained lifters, or show one's card",
        (
            "List the pretrained lifters (built in, and a lab's own in the folders named by "
            "LIFTPOSE_DLC_MODELS): name, species, number of keypoints, source and the licences "
            "of their training data. With NAME, show that model's card: keypoints, target "
            "sets, units, frame, views, training data with licences and citations."
        ),
    )
    mo.add_argument("name", nargs="?", metavar="NAME")
    mo.add_argument(
        "--map-for",
        metavar="CONFIG_OR_FILE",
        help="show how the keypoints of a DeepLabCut config.yaml or 2D file map onto NAME's",
    )
    mo.add_argument("--write-map", metavar="MAP.yaml", help="write that map to edit (YAML)")
    mo.add_argument("--overwrite", action="store_true", help="replace an existing --write-map")
    mo.set_defaults(func=_cmd_models)

    # demo
    de = _command(
        sub,
        "demo",
        "the whole job on generated data",
        (
            "Generate a sample DeepLabCut project of a walking fly (config.yaml, a rendered "
            "video, analysis .h5; all GENERATED, no real animal), train a lifter on a separate "
            "generated 3D library, lift the project with lift_dlc_project, and write figures "
            "and a summary with the error against the known 3D. Replaces its own earlier "
            "outputs in DIR."
        ),
    )
    de.add_argument("--out", default="liftpose_demo", metavar="DIR", help="output folder")
    de.add_argument("--seed", type=int, default=0, help="seed of the generated data")
    de.add_argument("--quick", action="store_true", help="a few seconds: tiny lifter, few frames")
    de.set_defaults(func=_cmd_demo)
    return parser


# ----------------------------------------------------------------------------- main
def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


#: Python parameters that messages name ("pass overwrite=True") and the options of this
#: command line that do the same: every message is shown in the command line's terms.
CLI_OPTIONS: dict[str, str] = {
    "overwrite": "--overwrite",
    "filtered": "--filtered",
    "videos": "--videos VIDEO...",
    "model": "--model LIFTER.safetensors",
    "keypoint_map": "--keypoint-map NAME=LIBRARY_NAME",
    "node_names": "--library-keypoints NAME...",
    "keypoints": "--library-keypoints NAME...",
    "pcutoff": "--pcutoff P",
    "angle_ranges": "--angle-ranges ZLO ZHI YLO YHI XLO XHI",
    "cameras": "--cameras NAME...",
    "amp": "--amp",
    "val": "--val FRACTION",
}
_VALUE = r"""(?:\[[^\]]*\]|\{[^}]*\}|<[^>]*>|'[^']*'|"[^"]*"|\.\.\.|[^\s,;)]+)"""
_PYTHON_ONLY = " (an option of the Python API, not of the command line)"
_PASS = re.compile(rf"\b([Pp])ass (\w+)={_VALUE}(?=[\s,;)]|$)(?!{re.escape(_PYTHON_ONLY)})")
_BARE = re.compile(rf"(\s+or\s+)?\b(\w+)={_VALUE}")
_TMP_NAME = re.compile(r"\.(?P<name>.+)\.[^./]+\.tmp")


def cli_terms(message: str) -> str:
    """``message`` with Python parameters (``pass overwrite=True``) as command-line options.

    Parameters without an option here are kept and marked as the Python API's.

    Examples
    --------
    >>> cli_terms("x_3d.h5 exists; pass overwrite=True to replace it")
    'x_3d.h5 exists; use --overwrite to replace it'
    """

    def pass_(m: re.Match) -> str:
        option = CLI_OPTIONS.get(m.group(2))
        if option is None:
            return m.group(0) + _PYTHON_ONLY
        return f"{'U' if m.group(1) == 'P' else 'u'}se {option}"

    out = _PASS.sub(pass_, message)

    def bare(m: re.Match) -> str:
        option = CLI_OPTIONS.get(m.group(2))
        if option is None:
            return m.group(0)
        if option in out:  # "use --x ... or x=<...>": the option is named already
            return ""
        return f"{m.group(1) or ''}{option}"

    return _BARE.sub(bare, out)


def _os_error(exc: OSError) -> str:
    """An OSError in the user's terms: the output, not its hidden temporary file."""
    name = exc.filename
    if not name:
        return _one_line(exc)
    path = Path(str(name))
    m = _TMP_NAME.fullmatch(path.name)
    reason = exc.strerror or type(exc).__name__
    if m:
        final = path.with_name(m.group("name"))
        return f"cannot write {final}: {reason.lower()} (in the folder {final.parent})"
    return f"{path}: {reason.lower()}"


def _describe(exc: BaseException) -> str:
    """One line for an error: ours as they are, an OSError by its file, others by type."""
    from liftpose_dlc.errors import LiftPoseError

    if isinstance(exc, LiftPoseError):
        return cli_terms(_one_line(exc))
    if isinstance(exc, OSError):
        return _os_error(exc)
    return f"{type(exc).__name__}: {_one_line(exc)} (run with --debug for the traceback)"


def _error(message: str) -> None:
    print(f"{PROG}: error: {cli_terms(message)}", file=sys.stderr)


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {cli_terms(' '.join(message.split()))}", file=sys.stderr)


def _show_warning(
    message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    _warn(str(message))


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``liftpose-dlc`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    old_show = warnings.showwarning
    if not args.debug:
        warnings.showwarning = _show_warning
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        if args.debug:
            raise
        print(f"{PROG} {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback without --debug
        if args.debug:
            raise
        _error(_describe(exc))
        return 1
    finally:
        warnings.showwarning = old_show


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
