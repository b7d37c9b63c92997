"""The demo's main job, end to end, on generated data: ``liftpose-dlc demo``.

:func:`run_demo` does what a DeepLabCut user does with liftpose-dlc, on a sample project that
the package generates (nothing is read from outside the package):

1. :func:`~liftpose_dlc.demo.project.make_demo_project` writes a DeepLabCut project of a
   generated walking fly: ``config.yaml``, a rendered video, and the 2D "analysis output" in
   DeepLabCut's naming (the exact projection of the generated 3D plus detector-like noise,
   missed points with low likelihood), and a separate 3D library of other generated flies
   with the camera's calibration.
2. :func:`~liftpose_dlc.train_dlc_project` trains a lifter on that library seen through the
   calibrated camera, and saves it in the project (``liftpose/``).
3. :func:`~liftpose_dlc.lift_dlc_project` lifts the analysis output to
   ``..._3d.h5`` beside it.
4. The lifted 3D is compared with the walk's known 3D, and the figures and a summary are
   written to ``<out>/results/``.

Every output says that the data are generated: no real animal was filmed.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import yaml

from liftpose_dlc._filesystem import atomic_path
from liftpose_dlc.workflow._progress import say

__all__ = ["DemoResult", "run_demo", "DEMO_SETTINGS", "QUICK_SETTINGS"]

#: Sizes of the full demo (about a minute of work on two CPU cores).
DEMO_SETTINGS: dict[str, Any] = {
    "n_frames": 300,
    "library_walks": 6,
    "library_frames": 1500,
    "epochs": 15,
    "linear_size": 256,
    "batch_size": 128,
    "animation_frames": 150,
}
#: Sizes of ``quick=True`` (for tests: a few seconds).
QUICK_SETTINGS: dict[str, Any] = {
    "n_frames": 80,
    "library_walks": 2,
    "library_frames": 400,
    "epochs": 2,
    "linear_size": 64,
    "batch_size": 64,
    "animation_frames": 10,
}
RESULTS_DIR = "results"
NOTICE = (
    "ALL DATA IN THIS DEMO ARE GENERATED: a kinematic model of a walking fly (liftpose-dlc's "
    "demo generator), a rendered video and simulated 2D tracking. No real animal was filmed "
    "and no DeepLabCut network was run; the errors below measure the lifter on generated "
    "data only."
)


@attrs.frozen
class DemoResult:
    """What :func:`run_demo` wrote and measured.

    Attributes
    ----------
    out_dir
        The demo's output folder.
    project
        The generated DeepLabCut project (:class:`~liftpose_dlc.demo.project.DemoProject`).
    model_path
        The trained lifter, inside the project.
    lifted_path
        The ``_3d.h5`` written by :func:`~liftpose_dlc.lift_dlc_project`.
    evaluation
        Errors of the lifted 3D against the known 3D (mm, root-relative).
    baseline
        Errors of a constant pose (the library's mean, root-relative), for reference.
    figures
        ``{"loss": ..., "errors": ..., "frame": ..., "animation": ...}`` image paths.
    summary_path
        The summary (Markdown); ``summary.yaml`` beside it has the numbers.
    seconds
        Wall time of the run.
    """

    out_dir: Path
    project: Any
    model_path: Path
    lifted_path: Path
    evaluation: Any
    baseline: Any
    figures: dict[str, Path]
    summary_path: Path
    seconds: float


def _leg_layout(keypoints: list[str]) -> tuple[list[str], list[list[str]]]:
    """Each leg's coxa is the root of its femur, tibia, tarsus and claw."""
    roots = [k for k in keypoints if k.endswith("_Coxa")]
    sets = [[k for k in keypoints if k.startswith(r[:3]) and k != r] for r in roots]
    return roots, sets


def _mean_pose_baseline(library_camera: Any, truth: Any, roots: list[str], sets: list[list[str]]):
    """A constant pose: the library's mean root-relative pose (camera frame), at each root."""
    from liftpose_dlc.metrics import root_relative

    names = truth.keypoints
    r = [names.index(x) for x in roots]
    s = [[names.index(x) for x in ts] for ts in sets]
    lib = library_camera.select(keypoints=names).data
    flat = lib.reshape(-1, lib.shape[2], 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_rel = np.nanmean(root_relative(flat, r, s), axis=0)
    t = truth.data[:, 0]
    pred = np.full_like(t, np.nan)
    for root, ts in zip(r, s, strict=True):
        pred[:, root] = t[:, root]
        pred[:, ts] = t[:, [root]] + mean_rel[ts]
    return pred


def _anchor_at_true_roots(lifted: Any, truth: Any, roots: list[str], sets: list[list[str]]) -> Any:
    """Lifted poses with each target set moved so that its root is at the true root."""
    data = lifted.data.copy()
    names = lifted.keypoints
    true = truth.select(keypoints=names).data
    for root, ts in zip(roots, sets, strict=True):
        r = names.index(root)
        idx = [names.index(k) for k in ts]
        shift = true[:, :, r] - data[:, :, r]
        data[:, :, r] = np.where(np.isfinite(data[:, :, r]), true[:, :, r], np.nan)
        data[:, :, idx] = data[:, :, idx] + shift[:, :, None]
    return lifted.replace(data=data)


def _in_world(poses: Any, camera: dict) -> Any:
    """Camera-frame poses in the world frame: ``R^T (X - t)``."""
    R, t = np.asarray(camera["R"]), np.asarray(camera["t"])
    return poses.replace(data=(poses.data - t) @ R)


def run_demo(
    out_dir: str | os.PathLike = "liftpose_demo",
    *,
    seed: int = 0,
    quick: bool = False,
    verbose: bool = True,
) -> DemoResult:
    """Run the whole demo on generated data and write its results.

    Parameters
    ----------
    out_dir
        Output folder. It receives the generated DeepLabCut project
        (``demofly-liftpose-2026-11-25/``, holding the lifter in ``liftpose/`` and the lifted
        ``_3d.h5`` in ``videos/``) and ``results/`` (figures and summary). The demo replaces
        its own earlier outputs there; other files are never touched (a folder of the
        project's name that is not a demo project is an error).
    seed
        Seed of the generated walk, its noise and the library (same seed, same data).
    quick
        Fewer frames and a tiny lifter (seconds instead of about a minute): for tests.
    verbose
        Progress bars and the summary on the terminal.

    Returns
    -------
    DemoResult

    Examples
    --------
    >>> result = run_demo("liftpose_demo")  # doctest: +SKIP
    >>> result.evaluation.mpjpe  # root-relative error, mm  # doctest: +SKIP
    """
    with _torch_threads(1):
        return _run(out_dir, seed=seed, quick=quick, verbose=verbose)


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Run torch on ``n`` threads, then restore the previous setting.

    The demo's lifter is small and trains on small batches: more threads gain almost nothing,
    and torch's thread pool slows down several times when other programs share the cores.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _run(out_dir: str | os.PathLike, *, seed: int, quick: bool, verbose: bool) -> DemoResult:
    from liftpose_dlc.demo.project import make_demo_project
    from liftpose_dlc.io.dlc import load_dlc
    from liftpose_dlc.lifter.augmentation import keypoint_dropout, random_view
    from liftpose_dlc.plot import video_frame
    from liftpose_dlc.workflow import lift_dlc_project, train_dlc_project
    from liftpose_dlc.workflow.dlc_project import project_lifter_path
    from liftpose_dlc.workflow.report import (
        animate_lifted,
        evaluate,
        plot_errors,
        plot_lifted_frame,
        plot_training,
    )

    start = time.perf_counter()
    settings = QUICK_SETTINGS if quick else DEMO_SETTINGS
    out = Path(out_dir).expanduser().resolve()
    say(f"liftpose-dlc demo: {NOTICE}", verbose)
    say("1/4 generating a DeepLabCut project of a walking fly ...", verbose)
    demo = make_demo_project(
        out,
        n_frames=settings["n_frames"],
        seed=seed,
        library_walks=settings["library_walks"],
        library_frames=settings["library_frames"],
        overwrite=True,
    )
    roots, sets = _leg_layout(demo.keypoints)

    say("2/4 training a lifter on the generated 3D library (other flies) ...", verbose)
    train_dlc_project(
        demo.config_path,
        demo.training_library("world"),
        demo.calibration_path,
        roots=roots,
        target_sets=sets,
        units="mm",
        noise_px=1.5,
        seed=seed,
        verbose=verbose,
        overwrite=True,
        epochs=settings["epochs"],
        linear_size=settings["linear_size"],
        batch_size=settings["batch_size"],
        augment=[random_view(max_angle=20.0, p=0.5), keypoint_dropout(0.1)],
    )
    model_path = project_lifter_path(demo.config_path)

    say("3/4 lifting the project's analysis output to 3D ...", verbose)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the demo has one video; nothing to report
        written = lift_dlc_project(demo.config_path, overwrite=True, verbose=verbose)
    lifted_path = written[0]

    say("4/4 comparing with the known 3D and drawing the figures ...", verbose)
    lifted = load_dlc(lifted_path)
    truth = demo.ground_truth("camera")
    evaluation = evaluate(lifted, truth, roots=roots, target_sets=sets, units="mm")
    baseline_pred = _mean_pose_baseline(demo.training_library("camera"), truth, roots, sets)
    baseline = evaluate(
        truth.replace(data=baseline_pred[:, None]), truth, roots=roots, target_sets=sets, units="mm"
    )
    results = out / RESULTS_DIR
    results.mkdir(parents=True, exist_ok=True)
    figures = {
        "loss": plot_training(
            model_path.parent / "training",
            results / "loss_curves.png",
            held_out="validation",
            title="Training the demo lifter (generated data)",
            overwrite=True,
            units="mm",
        ),
        "errors": plot_errors(
            lifted,
            truth,
            results / "errors_per_keypoint.png",
            roots=roots,
            target_sets=sets,
            units="mm",
            title="Root-relative error per keypoint (generated data)",
            overwrite=True,
        ),
    }
    # For the figures, each lifted leg (known relative to its coxa) is placed at its true coxa
    # and shown in the arena's frame (z up); the errors above do not depend on this.
    shown = _in_world(_anchor_at_true_roots(lifted, truth, roots, sets), demo.camera)
    truth_world = demo.ground_truth("world")
    analysis_2d = load_dlc(demo.analysis_path, config=demo.config_path)
    frame_index = int(np.argmax(np.isfinite(lifted.data).all(-1).sum(-1)[:, 0]))
    figures["frame"] = plot_lifted_frame(
        analysis_2d,
        shown,
        results / "pose_3d_beside_2d.png",
        frame=frame_index,
        image=video_frame(demo.video_path, frame_index),
        truth_3d=truth_world,
        title=f"Generated fly, frame {frame_index}: 2D tracking and lifted 3D "
        "(legs placed at their true coxae)",
        elev=25.0,
        azim=-60.0,
        overwrite=True,
    )
    animation_ext = "mp4" if _has_av() else "gif"
    figures["animation"] = animate_lifted(
        shown,
        results / f"lifted_skeleton.{animation_ext}",
        frames=range(min(lifted.n_frames, settings["animation_frames"])),
        fps=25.0,
        title="Lifted legs, generated fly",
        elev=25.0,
        azim=-60.0,
        overwrite=True,
        truth_3d=truth_world,
        progress=verbose,
    )
    seconds = time.perf_counter() - start
    summary_path = _write_summary(
        results, demo, model_path, lifted_path, evaluation, baseline, figures, seconds, quick
    )
    result = DemoResult(
        out_dir=out,
        project=demo,
        model_path=model_path,
        lifted_path=lifted_path,
        evaluation=evaluation,
        baseline=baseline,
        figures=figures,
        summary_path=summary_path,
        seconds=seconds,
    )
    say("", verbose)
    say(summary_text(result), verbose)
    return result


def _has_av() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def summary_text(result: DemoResult) -> str:
    """The short summary printed at the end of the demo."""
    ev, base = result.evaluation, result.baseline
    lines = [
        "=" * 78,
        "liftpose-dlc demo -- " + NOTICE,
        "",
        f"  lifted 3D:   {result.lifted_path}",
        f"  lifter:      {result.model_path}",
        f"  error:       root-relative MPJPE {ev.mpjpe:.3f} mm on {ev.n_points} points "
        f"({100 * ev.coverage:.0f}% of the true points lifted; missed or low-likelihood 2D "
        "points are left NaN)",
        f"  reference:   a constant mean pose errs {base.mpjpe:.3f} mm",
        f"  figures:     {result.summary_path.parent}",
        f"  summary:     {result.summary_path}",
        f"  time:        {result.seconds:.0f} s",
        "=" * 78,
    ]
    return "\n".join(lines)


def _write_summary(
    results: Path,
    demo: Any,
    model_path: Path,
    lifted_path: Path,
    evaluation: Any,
    baseline: Any,
    figures: dict[str, Path],
    seconds: float,
    quick: bool,
) -> Path:
    from liftpose_dlc._version import __version__

    numbers = {
        "notice": NOTICE,
        "liftpose_dlc_version": __version__,
        "seed": int(demo.seed),
        "quick": bool(quick),
        "frames": int(demo.n_frames),
        "keypoints": len(demo.keypoints),
        "project": str(demo.project_dir),
        "lifter": str(model_path),
        "lifted_3d": str(lifted_path),
        "error_mm": evaluation.to_dict(),
        "constant_mean_pose_error_mm": baseline.to_dict(),
        "figures": {k: str(v) for k, v in figures.items()},
        "seconds": round(float(seconds), 1),
    }
    with atomic_path(results / "summary.yaml", overwrite=True) as tmp:
        tmp.write_text(yaml.safe_dump(numbers, sort_keys=False), encoding="utf-8")
    per_kp = "\n".join(
        f"| {k} | {'-' if v != v else f'{v:.3f}'} |" for k, v in evaluation.per_keypoint.items()
    )
    text = f"""# liftpose-dlc demo results

> **{NOTICE}**

A DeepLabCut project of a generated walking fly was written to `{demo.project_dir}`
({demo.n_frames} frames, {len(demo.keypoints)} leg keypoints, one calibrated camera). A lifter
was trained on a separate generated 3D library (other flies, other walks) seen through that
camera, and `lift_dlc_project` lifted the project's 2D analysis output to
`{lifted_path.name}`.

## Error against the known 3D (camera frame, millimetres)

- Root-relative MPJPE (each leg relative to its coxa): **{evaluation.mpjpe:.3f} mm**
  over {evaluation.n_points} points
- Procrustes-aligned MPJPE of the whole skeleton: {evaluation.procrustes_mpjpe:.3f} mm (the
  coxae, which the lifter does not place, are at their mean positions relative to LF_Coxa)
- Points lifted: {100 * evaluation.coverage:.1f}% of the true points (2D points missed by
  the simulated tracker or below the project's pcutoff are NaN in 3D, never guessed)
- For reference, a constant pose (the library's mean leg posture) errs
  {baseline.mpjpe:.3f} mm

| keypoint | mean error (mm) |
|---|---|
{per_kp}

## Figures

- Loss curves: `{figures["loss"].name}`
- Error per keypoint: `{figures["errors"].name}`
- A 3D pose beside its 2D: `{figures["frame"].name}`
- Animation of the lifted skeleton: `{figures["animation"].name}`

Run time: {seconds:.0f} s{" (quick mode: tiny lifter, few frames)" if quick else ""}.
"""
    path = results / "summary.md"
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
