"""Errors against known 3D, and the plots users look at.

Loss curves (:func:`plot_training`), per-keypoint error violins (:func:`plot_errors`), a 3D
pose beside its 2D (:func:`plot_lifted_frame`) and an animation of the lifted skeleton
(:func:`animate_lifted`); :func:`plot_lifted` makes the last two for a lift. Everything
writes image files (PNG, GIF or MP4) and works headless (no :mod:`matplotlib.pyplot`); the
drawing itself is done by :mod:`liftpose_dlc.plot`. Files are written atomically and an
existing file is replaced only with ``overwrite=True``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from liftpose_dlc._filesystem import atomic_path, check_image
from liftpose_dlc.drawing import drawing_skeleton, is_guessed
from liftpose_dlc.errors import KeypointError, PosesValidationError
from liftpose_dlc.poses import Poses

__all__ = [
    "Evaluation",
    "evaluate",
    "plot_training",
    "plot_errors",
    "plot_lifted_frame",
    "lifted_frame_figure",
    "animate_lifted",
    "plot_lifted",
    "best_frame",
]


# ----------------------------------------------------------------------------- errors
@attrs.frozen
class Evaluation:
    """Errors of lifted 3D poses against known 3D.

    Attributes
    ----------
    mpjpe
        Mean per-joint position error, root-relative when roots were given (the error the
        lifter is trained on; roots have none), else the plain distance.
    procrustes_mpjpe
        Mean error after aligning each predicted pose to the truth (rotation, translation
        and scale): the error of the pose's shape alone.
    per_keypoint
        ``{keypoint: mean error}`` (NaN for keypoints without an error, e.g. roots).
    coverage
        Fraction of the truth's points (of evaluated keypoints) that have a 3D prediction.
    n_points
        Number of points with an error.
    units
        The units of the 3D (e.g. ``"mm"``), or None.
    root_relative
        Whether :attr:`mpjpe` is root-relative.
    velocity_error, acceleration_error
        Mean per-joint velocity and acceleration errors (first and second differences over
        consecutive frames of each individual, root-relative like :attr:`mpjpe`; per frame):
        the smoothness of the lifted motion (see :func:`~liftpose_dlc.metrics.velocity_error`).
    """

    mpjpe: float
    procrustes_mpjpe: float
    per_keypoint: dict[str, float]
    coverage: float
    n_points: int
    units: str | None = None
    root_relative: bool = False
    velocity_error: float = math.nan
    acceleration_error: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """Plain types, for YAML/JSON."""
        return {
            "mpjpe": _num(self.mpjpe),
            "procrustes_mpjpe": _num(self.procrustes_mpjpe),
            "root_relative": self.root_relative,
            "units": self.units,
            "coverage": _num(self.coverage),
            "n_points": int(self.n_points),
            "velocity_error": _num(self.velocity_error),
            "acceleration_error": _num(self.acceleration_error),
            "per_keypoint": {k: _num(v) for k, v in self.per_keypoint.items()},
        }

    def summary(self) -> str:
        """One line: the errors with their units."""
        u = f" {self.units}" if self.units else ""
        kind = "root-relative MPJPE" if self.root_relative else "MPJPE"
        return (
            f"{kind} {self.mpjpe:.3g}{u}, Procrustes-aligned {self.procrustes_mpjpe:.3g}{u} "
            f"over {self.n_points} points ({100 * self.coverage:.1f}% of the true points lifted); "
            f"velocity error {self.velocity_error:.3g}{u}/frame, acceleration error "
            f"{self.acceleration_error:.3g}{u}/frame²"
        )


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _as_array_3d(poses: Poses | np.ndarray, what: str) -> tuple[np.ndarray, list[str] | None]:
    if isinstance(poses, Poses):
        if poses.n_dims != 3:
            raise PosesValidationError(f"{what} must be 3D poses, got {poses.n_dims}D")
        f, i, j, _ = poses.data.shape
        return poses.data.transpose(1, 0, 2, 3).reshape(i * f, j, 3), list(poses.keypoints)
    arr = np.asarray(poses, dtype=np.float64)
    if arr.ndim == 4:
        arr = arr.transpose(1, 0, 2, 3).reshape(-1, arr.shape[2], arr.shape[3])
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise PosesValidationError(
            f"{what} must have shape (n_frames, n_joints, 3), got {arr.shape}"
        )
    return arr, None


def _align(
    pred: Poses | np.ndarray, truth: Poses | np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Prediction and truth as ``(N, J, 3)`` arrays over the prediction's keypoints."""
    if isinstance(pred, Poses) and isinstance(truth, Poses):
        missing = [k for k in pred.keypoints if k not in truth.keypoints]
        if missing:
            raise KeypointError(
                f"the ground truth lacks keypoints {missing} of the prediction; truth has "
                f"{truth.keypoints}"
            )
        truth = truth.select(keypoints=pred.keypoints)
        if truth.n_individuals != pred.n_individuals:
            raise PosesValidationError(
                f"the prediction has {pred.n_individuals} individuals, the truth "
                f"{truth.n_individuals}"
            )
        if truth.n_frames != pred.n_frames:
            raise PosesValidationError(
                f"the prediction has {pred.n_frames} frames, the truth {truth.n_frames}"
            )
    p, names = _as_array_3d(pred, "prediction")
    t, tnames = _as_array_3d(truth, "ground truth")
    if p.shape != t.shape:
        raise PosesValidationError(f"prediction {p.shape} and truth {t.shape} differ in shape")
    names = names or tnames or [str(j) for j in range(p.shape[1])]
    return p, t, names


def _sequence_lengths(poses: Poses | np.ndarray, n: int) -> list[int]:
    """Frames of each individual's sequence in the stacked ``(N, J, 3)`` array."""
    if isinstance(poses, Poses):
        return [poses.n_frames] * poses.n_individuals
    shape = np.shape(poses)
    return [shape[0]] * shape[1] if len(shape) == 4 else [n]


def _indices(names: list[str], wanted: Sequence[int | str]) -> list[int]:
    out = []
    for w in wanted:
        if isinstance(w, str):
            if w not in names:
                raise KeypointError(f"{w!r} is not a keypoint; keypoints: {names}")
            out.append(names.index(w))
        else:
            out.append(int(w))
    return out


def _layout(
    names: list[str],
    roots: Sequence[int | str] | None,
    target_sets: Sequence[Sequence[int | str]] | Sequence[int | str] | None,
) -> tuple[list[int] | None, list[list[int]] | None]:
    if roots is None:
        return None, None
    r = _indices(names, roots)
    if target_sets is None:
        sets = [[j for j in range(len(names)) if j not in r]] if len(r) == 1 else None
        if sets is None:
            raise KeypointError("give target_sets with several roots")
    elif target_sets and not isinstance(target_sets[0], (list, tuple, np.ndarray)):
        sets = [_indices(names, target_sets)]  # type: ignore[arg-type]
    else:
        sets = [_indices(names, ts) for ts in target_sets]  # type: ignore[arg-type]
    return r, sets


def evaluate(
    pred: Poses | np.ndarray,
    truth: Poses | np.ndarray,
    *,
    roots: Sequence[int | str] | None = None,
    target_sets: Sequence[Sequence[int | str]] | Sequence[int | str] | None = None,
    units: str | None = None,
) -> Evaluation:
    """Compare lifted 3D poses with known 3D.

    Parameters
    ----------
    pred, truth
        3D :class:`~liftpose_dlc.Poses` (keypoints matched by name, individuals and frames
        by position) or arrays ``(n_frames, n_joints, 3)``, in the same frame and units
        (e.g. a lifter trained with a calibrated camera, against the truth in that camera's
        frame).
    roots, target_sets
        The lifter's roots and target sets (names or indices): errors are then
        root-relative, the LiftPose3D way. Without them, plain distances.
    units
        Units of the data, for the summary.

    Returns
    -------
    Evaluation

    Examples
    --------
    >>> truth = np.zeros((2, 3, 3)); pred = truth.copy(); pred[:, 2] = [0.0, 3.0, 4.0]
    >>> evaluate(pred, truth, roots=[0]).mpjpe
    2.5
    """
    from liftpose_dlc.metrics import (
        acceleration_error,
        per_joint_errors,
        procrustes_mpjpe,
        velocity_error,
    )

    p, t, names = _align(pred, truth)
    r, sets = _layout(names, roots, target_sets)
    err = per_joint_errors(t, p, r, sets)
    finite = np.isfinite(err)
    evaluated = np.ones(len(names), dtype=bool)
    if r is not None:
        evaluated[:] = False
        for ts in sets or []:
            evaluated[ts] = True
    has_truth = np.isfinite(t).all(-1) & evaluated
    has_pred = np.isfinite(p).all(-1) & has_truth
    coverage = float(has_pred.sum() / has_truth.sum()) if has_truth.any() else math.nan
    per_kp = {}
    for j, name in enumerate(names):
        col = err[:, j][finite[:, j]]
        per_kp[name] = float(col.mean()) if col.size else math.nan
    mean = float(err[finite].mean()) if finite.any() else math.nan
    try:
        pa = float(procrustes_mpjpe(t, p))
    except Exception:  # noqa: BLE001 - too few points in every frame
        pa = math.nan
    lengths = _sequence_lengths(pred, len(p))
    return Evaluation(
        velocity_error=velocity_error(t, p, r, sets, lengths),
        acceleration_error=acceleration_error(t, p, r, sets, lengths),
        mpjpe=mean,
        procrustes_mpjpe=pa,
        per_keypoint=per_kp,
        coverage=coverage,
        n_points=int(finite.sum()),
        units=units,
        root_relative=r is not None,
    )


# ----------------------------------------------------------------------------- figures
def _figure(figsize: tuple[float, float]) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=100, layout="constrained")


def _save(fig: Any, path: str | os.PathLike, overwrite: bool) -> Path:
    dest = Path(path)
    fmt = dest.suffix.lstrip(".").lower() or "png"
    with atomic_path(dest, overwrite, verify=check_image(fmt)) as tmp:
        fig.savefig(tmp, format=fmt, dpi=fig.dpi)
    return dest


#: The title of the limb legend when the bones were guessed (a config without a skeleton).
GUESSED_TITLE = "bones guessed (no skeleton): nearest keypoints joined"

#: The caption of the loss curves: what the two losses are measured on.
TRAINING_CURVE_NOTE = (
    "Training loss: mean over each epoch of the loss on the training samples as the network "
    "saw them, augmented (random camera views, noise, dropped points), so it is often above "
    "the {held_out} loss. {held_out_cap} loss: after each epoch, on held-out frames without "
    "augmentation; the lifter keeps the epoch where the {held_out} error is lowest."
)


def plot_training(
    log_dir: str | os.PathLike,
    path: str | os.PathLike,
    *,
    held_out: str = "test",
    title: str | None = None,
    overwrite: bool = False,
    units: str | None = None,
) -> Path:
    """Loss curves (training and validation/test loss per epoch) of a training folder.

    The legend and a caption say what each curve is measured on: the training loss on the
    augmented training samples, the held-out loss on frames the network does not train on,
    without augmentation (:data:`TRAINING_CURVE_NOTE`).

    Parameters
    ----------
    log_dir
        The folder holding ``train_log.txt`` (the ``out_dir`` of training, or a project's
        ``liftpose/training``), or the log file.
    path
        The image to write (``.png``, ``.pdf``, ``.svg``...).
    held_out
        What the log's ``loss_test``/``err_test`` columns were measured on (``"test"``, or
        ``"validation"`` for :func:`~liftpose_dlc.train_dlc_project`), for the legend.
    title
        Figure title.
    overwrite
        Replace an existing image.
    units
        The 3D units of the error axis (e.g. ``"mm"``).
    """
    from liftpose_dlc.plot import read_log_train

    epoch, _lr, loss_train, loss_test, err_test = read_log_train(log_dir)
    fig = _figure((6.5, 4.8))
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(epoch, loss_train, marker=".", label="training loss (augmented training samples)")
    if np.isfinite(loss_test).any():
        ax.plot(epoch, loss_test, marker=".", label=f"{held_out} loss (held-out, not augmented)")
    finite = np.concatenate([np.asarray(v, float) for v in (loss_train, loss_test)])
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if len(finite) and finite.max() / finite.min() > 20:
        ax.set_yscale("log")
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Loss (normalised 3D, per point)")
    fig.get_layout_engine().set(rect=(0, 0.12, 1, 0.88))
    fig.text(
        0.01,
        0.01,
        TRAINING_CURVE_NOTE.format(held_out=held_out, held_out_cap=held_out.capitalize()),
        fontsize=7.5,
        color="0.3",
        wrap=True,
        va="bottom",
    )
    handles, labels = ax.get_legend_handles_labels()
    if np.isfinite(err_test).any():
        ax2 = ax.twinx()
        ax2.plot(epoch, err_test, color="C2", linestyle=":", marker=".", label=f"{held_out} error")
        ax2.set_ylabel(f"{held_out.capitalize()} error ({units or '3D units'})")
        more = ax2.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    ax.legend(handles, labels, frameon=False)
    ax.set_title(title or "Training")
    return _save(fig, path, overwrite)


def plot_errors(
    pred: Poses | np.ndarray,
    truth: Poses | np.ndarray,
    path: str | os.PathLike,
    *,
    roots: Sequence[int | str] | None = None,
    target_sets: Sequence[Sequence[int | str]] | Sequence[int | str] | None = None,
    units: str | None = None,
    title: str | None = None,
    overwrite: bool = False,
) -> Path:
    """A violin per keypoint of the 3D error against known 3D (see :func:`evaluate`)."""
    from liftpose_dlc.plot import violin_plot

    p, t, names = _align(pred, truth)
    r, sets = _layout(names, roots, target_sets)
    order = None
    if r is not None:
        order = [names[j] for ts in sets or [] for j in ts] + ["overall"]
    fig = _figure((max(5.0, 0.45 * len(names) + 2.0), 4.0))
    ax = fig.add_subplot(1, 1, 1)
    violin_plot(
        ax,
        t,
        p,
        joints_name=names,
        units=units,
        roots=r,
        target_sets=sets,
        order=order,
    )
    ax.set_title(title or ("Root-relative error per keypoint" if r is not None else "Error"))
    return _save(fig, path, overwrite)


def best_frame(poses_3d: Poses, frames: Sequence[int] | range | None = None) -> tuple[int, int]:
    """``(frame, individual)`` with the most lifted points (the first such), for a figure."""
    counts = np.isfinite(poses_3d.data).all(-1).sum(-1)  # (frames, individuals)
    idx = np.arange(poses_3d.n_frames) if frames is None else np.asarray(list(frames), int)
    if idx.size == 0:
        raise PosesValidationError("no frames to choose from")
    sub = counts[idx]
    flat = int(np.argmax(sub))
    f, i = np.unravel_index(flat, sub.shape)
    return int(idx[f]), int(i)


def _limits(*poses: np.ndarray) -> list[tuple[float, float]] | None:
    pts = np.concatenate([np.asarray(p).reshape(-1, 3) for p in poses])
    pts = pts[np.isfinite(pts).all(-1)]
    if not len(pts):
        return None
    lo, hi = pts.min(0), pts.max(0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-9) * 1.05
    return [(float(c - half), float(c + half)) for c in centre]


def _individual(poses: Poses, individual: int | str | None, default: int) -> int:
    if individual is None:
        return default
    if isinstance(individual, str):
        if individual not in poses.individuals:
            raise KeypointError(f"no individual {individual!r}; individuals: {poses.individuals}")
        return poses.individuals.index(individual)
    return int(individual)


def lifted_frame_figure(
    poses_2d: Poses,
    poses_3d: Poses,
    *,
    frame: int | None = None,
    individual: int | str | None = None,
    image: np.ndarray | None = None,
    truth_3d: Poses | None = None,
    title: str | None = None,
    elev: float | None = None,
    azim: float | None = None,
) -> Any:
    """One frame's 2D pose beside its lifted 3D pose (with the true 3D when given).

    Bones, limb colours and keypoint colours are those of ``poses_3d.skeleton``, as in
    napari; without edges each keypoint is drawn as a dot of its own colour.

    Parameters
    ----------
    poses_2d, poses_3d
        The 2D input and the lifted 3D (keypoints matched by name, individuals by name).
    frame, individual
        Which frame and individual; default the first frame with the most lifted points.
    image
        The video frame (H, W, 3) drawn under the 2D.
    truth_3d
        Known 3D, drawn dashed over the lifted pose (same frame and units).
    title, elev, azim
        Figure title and the 3D view angles.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (:func:`plot_lifted_frame` writes it).
    """
    from liftpose_dlc.plot import plot_pose_3d_beside_2d

    default_frame, default_ind = best_frame(poses_3d)
    f = default_frame if frame is None else int(frame)
    i = _individual(poses_3d, individual, default_ind)
    name = poses_3d.individuals[i]
    two = poses_2d.select(keypoints=poses_3d.keypoints)
    j = two.individuals.index(name) if name in two.individuals else min(i, two.n_individuals - 1)
    drawn = drawing_skeleton(poses_3d)  # guessed bones without a skeleton
    skeleton = drawn.skeleton
    fig = plot_pose_3d_beside_2d(
        two.data[f, j],
        poses_3d.data[f, i],
        image=image,
        title=title or f"frame {f}, {name}",
        elev=elev,
        azim=azim,
        skeleton=skeleton,
        units=poses_3d.units,
        frame=poses_3d.frame,
        legend=GUESSED_TITLE if is_guessed(drawn) else True,
    )
    if truth_3d is not None:
        true = truth_3d.select(keypoints=poses_3d.keypoints)
        t = true.data[f, min(i, true.n_individuals - 1)]
        ax3 = fig.axes[1]
        for k in skeleton.bones:
            a, b = skeleton.edge_indices[k]
            if np.isfinite(t[[a, b]]).all():
                ax3.plot(*t[[a, b]].T, color="0.3", linestyle="--", linewidth=1.0)
        if not skeleton.bones:
            ok = np.isfinite(t).all(axis=1)
            ax3.scatter(*t[ok].T, s=12, color="0.3", marker="x")
        ax3.set_title("3D (lifted solid, true dashed)")
        limits = _limits(poses_3d.data[f, i], t)
        if limits is not None:
            ax3.set_xlim(limits[0])
            ax3.set_ylim(limits[1])
            ax3.set_zlim(limits[2])
    return fig


def plot_lifted_frame(
    poses_2d: Poses,
    poses_3d: Poses,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    **options: Any,
) -> Path:
    """Write one frame's 2D pose beside its lifted 3D pose (with the true 3D when given).

    Parameters
    ----------
    poses_2d, poses_3d
        The 2D input and the lifted 3D, as in :func:`lifted_frame_figure`.
    path
        The image to write.
    overwrite
        Replace an existing image.
    **options
        ``frame``, ``individual``, ``image``, ``truth_3d``, ``title``, ``elev``, ``azim``:
        see :func:`lifted_frame_figure`.
    """
    return _save(lifted_frame_figure(poses_2d, poses_3d, **options), path, overwrite)


def animate_lifted(
    poses_3d: Poses,
    path: str | os.PathLike,
    *,
    frames: Sequence[int] | range | None = None,
    individual: int | str | None = None,
    fps: float | None = None,
    title: str | None = None,
    elev: float | None = None,
    azim: float | None = None,
    overwrite: bool = False,
    truth_3d: Poses | None = None,
    progress: bool = False,
) -> Path:
    """Animate one individual's lifted skeleton over a frame range (``.gif`` or ``.mp4``).

    Drawn with ``poses_3d.skeleton``'s bones and colours, as :func:`plot_lifted_frame`.

    Parameters
    ----------
    poses_3d
        Lifted 3D poses.
    path
        ``.gif`` (always works) or ``.mp4`` (needs PyAV or ffmpeg).
    frames
        Frame indices, e.g. ``range(0, 200)``; default the first 200 frames.
    individual
        Index or name; default the one with the most lifted points.
    fps
        Frames per second; default the poses' fps (else 30), at most 50.
    title, elev, azim
        Title and the 3D view angles.
    overwrite
        Replace an existing file.
    truth_3d
        Known 3D (same frames, units and frame; keypoints matched by name): drawn dashed
        under the lifted skeleton.
    progress
        Show a progress bar while the frames are drawn.
    """
    from liftpose_dlc.plot import animate_skeleton_3d

    order = list(range(min(poses_3d.n_frames, 200))) if frames is None else list(frames)
    _, default_ind = best_frame(poses_3d, order)
    i = _individual(poses_3d, individual, default_ind)
    rate = fps or poses_3d.fps or 30.0
    truth = None
    if truth_3d is not None:
        known = truth_3d.select(keypoints=poses_3d.keypoints)
        truth = np.full(poses_3d.data[:, i].shape, np.nan)
        n = min(known.n_frames, poses_3d.n_frames)
        truth[:n] = known.data[:n, min(i, known.n_individuals - 1)]
    drawn = drawing_skeleton(poses_3d)
    return animate_skeleton_3d(
        poses_3d.data[:, i],
        None,
        path,
        skeleton=drawn.skeleton,
        legend=GUESSED_TITLE if is_guessed(drawn) else True,
        frames=order,
        fps=min(float(rate), 50.0),
        title=title or poses_3d.individuals[i],
        elev=elev,
        azim=azim,
        overwrite=overwrite,
        truth=truth,
        units=poses_3d.units,
        frame=poses_3d.frame,
        progress=progress,
    )


def plot_lifted(
    poses_2d: Poses,
    poses_3d: Poses,
    out_dir: str | os.PathLike,
    *,
    stem: str = "lifted",
    frames: Sequence[int] | range | None = None,
    individual: int | str | None = None,
    animation: str = "gif",
    overwrite: bool = False,
    video: str | os.PathLike | None = None,
    truth_3d: Poses | None = None,
    progress: bool = False,
) -> dict[str, Path]:
    """The standard figures of a lift: a 3D pose beside its 2D, and an animation.

    Writes ``<stem>_frame.png`` and ``<stem>_3d.<animation>`` in ``out_dir`` and returns
    ``{"frame": path, "animation": path}``. ``animation=None``/``""`` skips the animation.
    With ``video`` (the video the 2D was tracked on) its frame is drawn under the 2D; with
    ``truth_3d`` the known 3D is drawn dashed in both; ``progress`` shows a progress bar
    while the animation is drawn.
    """
    from liftpose_dlc.plot import video_frame

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    order = list(range(min(poses_3d.n_frames, 200))) if frames is None else list(frames)
    f, i = best_frame(poses_3d, order)
    if individual is not None:
        i = _individual(poses_3d, individual, i)
    written = {
        "frame": plot_lifted_frame(
            poses_2d,
            poses_3d,
            out / f"{stem}_frame.png",
            frame=f,
            individual=i,
            overwrite=overwrite,
            image=None if video is None else video_frame(video, f),
            truth_3d=truth_3d,
        )
    }
    if animation:
        written["animation"] = animate_lifted(
            poses_3d,
            out / f"{stem}_3d.{animation.lstrip('.')}",
            frames=order,
            individual=i,
            overwrite=overwrite,
            truth_3d=truth_3d,
            progress=progress,
        )
    return written
