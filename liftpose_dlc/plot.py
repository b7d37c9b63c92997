"""Plots of poses, training logs and errors, with the seed's (liftpose 0.22) functions.

The seed README's functions keep their names and arguments: :func:`read_log_train`,
:func:`plot_log_train`, :func:`violin_plot`, :func:`plot_pose_3d`, :func:`plot_pose_2d` and
:func:`plot_video_3d`. Two functions are new: :func:`plot_pose_3d_beside_2d` (one frame, 2D
next to 3D) and :func:`animate_skeleton_3d` (a GIF or MP4 of a 3D pose sequence).

Everything works headless: this module never imports :mod:`matplotlib.pyplot`; the new
functions build a :class:`matplotlib.figure.Figure` directly, the seed's functions draw on the
axes they are given. Missing (NaN) joints are not drawn, nor are the bones that touch them.

Colours follow the seed's parameter files: ``colors`` is a list of 0-255 RGB triplets, one per
limb, and ``limb_id`` gives each joint's limb (a bone is drawn in the colour of the limb of its
first joint). A ``limb_id`` with one entry per bone is accepted too, and colours may also be
matplotlib colour names. The two new functions also take a
:class:`~liftpose_dlc.skeleton.Skeleton` instead (``skeleton=``): bones, limbs and colours
are then the skeleton's, the same as napari's layers draw.

Differences from liftpose 0.22 (its bugs, fixed): :func:`violin_plot` no longer overwrites the
ground truth or the caller's joint names, draws on the axes it is given, uses the Euclidean
error, keeps every error (no silent removal of the top 5 %), and its body-length axis is right;
:func:`plot_video_3d` writes GIF files as well as MP4 (MP4 through PyAV or ffmpeg) and never
replaces an existing file unless asked; :func:`read_log_train` reads the error column too.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from liftpose_dlc._filesystem import atomic_path, check_image
from liftpose_dlc.errors import (
    ConfigError,
    FileFormatError,
    KeypointError,
    MissingDependencyError,
    MissingFileError,
    PosesValidationError,
)
from liftpose_dlc.metrics import per_joint_errors
from liftpose_dlc.skeleton import Skeleton

__all__ = [
    "read_log_train",
    "plot_log_train",
    "violin_plot",
    "plot_pose_3d",
    "plot_pose_2d",
    "plot_video_3d",
    "plot_pose_3d_beside_2d",
    "animate_skeleton_3d",
    "LOG_FILE",
]

#: The training log written by the lifter in its output folder.
LOG_FILE = "train_log.txt"
_LOG_FILE_022 = "log_train.txt"  # liftpose 0.22's name (4 columns, no err_test)
_LOG_COLUMNS = ("epoch", "lr", "loss_train", "loss_test", "err_test")
_DEFAULT_COLOR = (0.0, 0.0, 1.0)  # 0.22 painted everything blue without colours
_LABELS = ("LiftPose3D prediction", "Triangulated 3D pose")
_VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi"}


# ----------------------------------------------------------------------------- training log
def read_log_train(
    out_dir: str | os.PathLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Read the training log of a lifter's output folder.

    Parameters
    ----------
    out_dir
        The output folder of training, holding ``train_log.txt`` (or liftpose 0.22's
        ``log_train.txt``); a path to the log file itself is accepted too.

    Returns
    -------
    epoch, lr, loss_train, loss_test, err_test : numpy.ndarray
        One value per epoch. ``err_test`` (the test error in the data's units) is NaN for
        0.22 logs, which do not record it.

    Raises
    ------
    MissingFileError
        If neither log file exists.
    FileFormatError
        If the header lacks a column or a row is not numbers; the message names the file
        and line.

    Notes
    -----
    The log is tab-separated text with the header ``epoch lr loss_train loss_test err_test``
    and one row per epoch; columns are found by name, so extra columns are ignored.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "train_log.txt").write_text(
    ...     "epoch\tlr\tloss_train\tloss_test\terr_test\n1\t0.001\t0.5\t0.6\t0.12\n")
    >>> epoch, lr, loss_train, loss_test, err_test = read_log_train(d)
    >>> epoch.tolist(), err_test.tolist()
    ([1.0], [0.12])
    """
    path = Path(out_dir).expanduser()
    if path.is_dir():
        candidates = [path / LOG_FILE, path / _LOG_FILE_022]
        found = [c for c in candidates if c.is_file()]
        if not found:
            raise MissingFileError(
                f"no training log in {path}: expected {LOG_FILE} (or liftpose 0.22's "
                f"{_LOG_FILE_022})"
            )
        path = found[0]
    elif not path.is_file():
        raise MissingFileError(f"training log not found: {path}")
    lines = [ln.rstrip("\r\n") for ln in path.read_text().splitlines()]
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        raise FileFormatError(f"{path}: empty training log (expected a header line)")
    header = [h.strip() for h in lines[0].rstrip("\t").split("\t")]
    required = _LOG_COLUMNS[:4]
    missing = [c for c in required if c not in header]
    if missing:
        raise FileFormatError(
            f"{path}: header {header} lacks columns {missing}; expected tab-separated "
            f"{'/'.join(_LOG_COLUMNS)}"
        )
    cols: dict[str, list[float]] = {c: [] for c in _LOG_COLUMNS}
    for number, line in enumerate(lines[1:], start=2):
        fields = [f.strip() for f in line.rstrip("\t").split("\t")]
        if len(fields) != len(header):
            raise FileFormatError(
                f"{path}, line {number}: {len(fields)} fields for {len(header)} columns"
            )
        row = dict(zip(header, fields, strict=True))
        try:
            for c in _LOG_COLUMNS:
                cols[c].append(float(row[c]) if c in row else math.nan)
        except ValueError:
            raise FileFormatError(f"{path}, line {number}: not numbers: {line!r}") from None
    return tuple(np.asarray(cols[c], dtype=np.float64) for c in _LOG_COLUMNS)  # type: ignore[return-value]


def plot_log_train(
    ax: Any, loss_train: Sequence[float], loss_test: Sequence[float], epoch: Sequence[float]
) -> Any:
    """Plot training and test losses against the epoch.

    Parameters
    ----------
    ax
        Matplotlib axes.
    loss_train, loss_test, epoch
        As returned by :func:`read_log_train`.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``, with two lines labelled ``train`` and ``test``.
    """
    ax.plot(epoch, loss_train, label="train")
    ax.plot(epoch, loss_test, label="test")
    ax.set_ylabel("Loss")
    ax.set_xlabel("Epochs")
    ax.legend()
    return ax


# ----------------------------------------------------------------------------- colours
def to_rgb(color: Any) -> Any:
    """A seed colour (0-255 RGB triplet) as a matplotlib colour; other colours unchanged.

    Examples
    --------
    >>> to_rgb([255, 0, 51])
    (1.0, 0.0, 0.2)
    >>> to_rgb("red")
    'red'
    """
    if isinstance(color, str):
        return color
    values = np.asarray(color, dtype=float).ravel()
    if values.size not in (3, 4) or np.any(values < 0) or np.any(values > 255):
        raise ConfigError(f"a colour must be an RGB triplet in 0-255, got {color!r}")
    rgb = tuple(float(v) / 255.0 for v in values[:3])
    return rgb if values.size == 3 else (*rgb, float(values[3]) / 255.0)


def bone_colors(
    bones: Sequence[Sequence[int]],
    limb_id: Sequence[int] | None,
    colors: Sequence[Any] | None,
    n_joints: int | None = None,
) -> list[Any]:
    """The colour of each bone, from ``limb_id`` (per joint, or per bone) and ``colors``.

    Without ``limb_id`` or ``colors`` every bone is blue, as in liftpose 0.22.

    Examples
    --------
    >>> bone_colors([[0, 1], [1, 2]], [0, 1, 1], [[255, 0, 0], [0, 0, 255]])
    [(1.0, 0.0, 0.0), (0.0, 0.0, 1.0)]
    """
    bones = [tuple(int(j) for j in b) for b in bones]
    if limb_id is None or colors is None:
        return [_DEFAULT_COLOR] * len(bones)
    limb_id = [int(i) for i in limb_id]
    palette = [to_rgb(c) for c in colors]
    needed = max([max(b) for b in bones], default=-1) + 1
    needed = max(needed, n_joints or 0)
    if len(limb_id) >= needed:
        ids = [limb_id[b[0]] for b in bones]  # per joint: the limb of the bone's first joint
    elif len(limb_id) == len(bones):
        ids = limb_id  # one per bone
    else:
        raise ConfigError(
            f"limb_id has {len(limb_id)} entries: give one per joint ({needed}) or one per "
            f"bone ({len(bones)})"
        )
    bad = sorted({i for i in ids if not 0 <= i < len(palette)})
    if bad:
        raise ConfigError(f"limb_id uses limbs {bad} but {len(palette)} colours are given")
    return [palette[i] for i in ids]


# ----------------------------------------------------------------------------- poses
def _pose(arr: Any, dims: int, what: str) -> np.ndarray:
    pose = np.asarray(arr, dtype=np.float64)
    if pose.ndim != 2 or pose.shape[1] != dims:
        raise PosesValidationError(f"{what} must have shape (n_joints, {dims}), got {pose.shape}")
    return pose


def _keypoint_mask(good_keypts: Any, n_joints: int) -> np.ndarray | None:
    if good_keypts is None:
        return None
    mask: np.ndarray = np.asarray(good_keypts).astype(bool)
    if mask.ndim == 2:
        mask = np.asarray(mask.all(axis=1))  # (J, D) as in 0.22
    if mask.shape != (n_joints,):
        raise PosesValidationError(
            f"good_keypts must have shape ({n_joints},) or ({n_joints}, D), "
            f"got {np.shape(good_keypts)}"
        )
    return mask


def _draw_bones(
    ax: Any,
    pose: np.ndarray,
    bones: Sequence[Sequence[int]],
    edge_colors: Sequence[Any],
    style: str,
    mask: np.ndarray | None,
    linewidth: float,
) -> list[Any]:
    """Draw one line per bone whose joints are both present; return the lines."""
    present = np.isfinite(pose).all(axis=1)
    if mask is not None:
        present &= mask
    lines = []
    for (a, b), color in zip(bones, edge_colors, strict=True):
        if not (present[a] and present[b]):
            continue
        coords = [pose[[a, b], d] for d in range(pose.shape[1])]
        (line,) = ax.plot(*coords, style, color=color, linewidth=linewidth)
        lines.append(line)
    return lines


def _check_bones(bones: Sequence[Sequence[int]] | None, n_joints: int) -> list[tuple[int, int]]:
    out = []
    for b in bones or []:
        pair = tuple(int(j) for j in b)
        if len(pair) != 2:
            raise ConfigError(f"a bone must be a pair of joint indices, got {b!r}")
        if not all(0 <= j < n_joints for j in pair):
            raise KeypointError(f"bone {list(pair)} is out of range for {n_joints} joints")
        out.append(pair)
    return out


def _style(
    bones: Sequence[Sequence[int]] | None,
    limb_id: Sequence[int] | None,
    colors: Sequence[Any] | None,
    skeleton: Skeleton | None,
    n_joints: int,
) -> tuple[list[tuple[int, int]], list[Any], list[Any]]:
    """Bones, their colours and the joints' colours: from a Skeleton or from param.yaml's."""
    if skeleton is None:
        bones_ = _check_bones(bones, n_joints)
        edge_colors = bone_colors(bones_, limb_id, colors, n_joints)
        return bones_, edge_colors, _joint_colors(n_joints, bones_, edge_colors)
    if bones is not None or limb_id is not None or colors is not None:
        raise ConfigError("give a skeleton, or bones with limb_id and colors, not both")
    if skeleton.n_nodes != n_joints:
        raise KeypointError(f"the skeleton has {skeleton.n_nodes} keypoints for {n_joints} joints")
    indices, limb_colors = skeleton.edge_indices, skeleton.edge_colors
    return (
        [indices[k] for k in skeleton.bones],
        [limb_colors[k] for k in skeleton.bones],
        list(skeleton.node_colors),
    )


def _require_3d(ax: Any) -> None:
    if getattr(ax, "name", None) != "3d":
        raise TypeError(
            "this plot needs 3D axes: create them with fig.add_subplot(projection='3d')"
        )


def plot_pose_3d(
    ax: Any,
    tar: np.ndarray | None = None,
    pred: np.ndarray | None = None,
    bones: Sequence[Sequence[int]] | None = None,
    limb_id: Sequence[int] | None = None,
    colors: Sequence[Any] | None = None,
    good_keypts: np.ndarray | None = None,
    show_pred_always: bool = False,
    show_gt_always: bool = False,
    normalize: bool = False,
    legend: bool = False,
    axes: bool = False,
    linewidth: float = 2.0,
    labels: tuple[str, str] = _LABELS,
) -> list[Any]:
    """Plot a 3D pose: the target with solid bones, a prediction with dashed bones.

    Parameters
    ----------
    ax
        3D matplotlib axes (``fig.add_subplot(projection="3d")``).
    tar
        Target (ground-truth) pose, shape ``(n_joints, 3)``; NaN joints are not drawn.
    pred
        Predicted pose, shape ``(n_joints, 3)``; dashed when ``tar`` is given too.
    bones
        Pairs of joint indices to join with lines.
    limb_id, colors
        Limb of each joint and one colour per limb (0-255 RGB), as in ``param.yaml``;
        without them every bone is blue.
    good_keypts
        Boolean ``(n_joints,)`` or ``(n_joints, 3)``: bones touching a False joint are not
        drawn.
    show_pred_always, show_gt_always
        Ignore ``good_keypts`` for the prediction / the target.
    normalize
        Centre the poses on the prediction's (else the target's) median joint.
    legend
        Show a legend telling prediction and target apart.
    axes
        Keep the tick labels (hidden by default, as in 0.22).
    linewidth
        Width of the bone lines.
    labels
        Legend labels of the prediction and of the target.

    Returns
    -------
    list of matplotlib.lines.Line2D
        The bone lines drawn, the target's first.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot(projection="3d")
    >>> pose = np.array([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [np.nan, np.nan, np.nan]])
    >>> len(plot_pose_3d(ax, pose, bones=[[0, 1], [1, 2], [2, 3]]))  # the bone to NaN is left out
    2
    """
    _require_3d(ax)
    tar = None if tar is None else _pose(tar, 3, "tar")
    pred = None if pred is None else _pose(pred, 3, "pred")
    ref = pred if pred is not None else tar
    if ref is None:
        raise PosesValidationError("give a pose to plot: tar, pred or both")
    if tar is not None and pred is not None and tar.shape != pred.shape:
        raise PosesValidationError(f"tar and pred shapes differ: {tar.shape} vs {pred.shape}")
    n_joints = ref.shape[0]
    bones_ = _check_bones(bones, n_joints)
    if normalize:
        centre = np.nanmedian(ref, axis=0, keepdims=True)
        tar = None if tar is None else tar - centre
        pred = None if pred is None else pred - centre
    edge_colors = bone_colors(bones_, limb_id, colors, n_joints)
    mask = _keypoint_mask(good_keypts, n_joints)
    lines: list[Any] = []
    if tar is not None:
        lines += _draw_bones(
            ax, tar, bones_, edge_colors, "-", None if show_gt_always else mask, linewidth
        )
    if pred is not None:
        style = "--" if tar is not None else "-"
        lines += _draw_bones(
            ax, pred, bones_, edge_colors, style, None if show_pred_always else mask, linewidth
        )
    if legend:
        from matplotlib.lines import Line2D

        handles, names = [], []
        if pred is not None:
            handles.append(Line2D([], [], color="k", linestyle="--" if tar is not None else "-"))
            names.append(labels[0])
        if tar is not None:
            handles.append(Line2D([], [], color="k", linestyle="-"))
            names.append(labels[1])
        ax.legend(handles, names, loc=(0.1, 0.95), frameon=False)
    if not axes:
        ax.set_xticklabels([])
        ax.set_yticklabels([])
        ax.set_zticklabels([])
    return lines


def plot_pose_2d(
    ax: Any,
    tar: np.ndarray,
    bones: Sequence[Sequence[int]],
    normalize: bool = True,
    limb_id: Sequence[int] | None = None,
    colors: Sequence[Any] | None = None,
    good_keypts: np.ndarray | None = None,
    linewidth: float = 2.0,
) -> list[Any]:
    """Plot a 2D pose.

    Parameters
    ----------
    ax
        Matplotlib axes.
    tar
        The pose, shape ``(n_joints, 2)``; NaN joints are not drawn.
    bones
        Pairs of joint indices to join with lines.
    normalize
        Centre the pose on its median joint (default, as in 0.22); pass False to draw in
        image coordinates, e.g. over a video frame.
    limb_id, colors
        Limb of each joint and one colour per limb (0-255 RGB), as in ``param.yaml``.
    good_keypts
        Boolean ``(n_joints,)`` or ``(n_joints, 2)``: bones touching a False joint are not
        drawn.
    linewidth
        Width of the bone lines.

    Returns
    -------
    list of matplotlib.lines.Line2D
        The bone lines drawn.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> lines = plot_pose_2d(ax, np.array([[0.0, 0], [3, 4]]), [[0, 1]], normalize=False)
    >>> lines[0].get_xydata().tolist()
    [[0.0, 0.0], [3.0, 4.0]]
    """
    tar = _pose(tar, 2, "tar")
    bones_ = _check_bones(bones, tar.shape[0])
    if normalize:
        tar = tar - np.nanmedian(tar, axis=0, keepdims=True)
    edge_colors = bone_colors(bones_, limb_id, colors, tar.shape[0])
    mask = _keypoint_mask(good_keypts, tar.shape[0])
    return _draw_bones(ax, tar, bones_, edge_colors, "-", mask, linewidth)


def _plot_trailing_points(
    ax: Any, idx: int, pos: np.ndarray, length: int, keypts: Sequence[int] | None
) -> None:
    """Fading trails of the last ``length`` positions of some keypoints (frames < idx)."""
    start = max(0, idx - length)
    if idx - start < 2:
        return
    trail = pos[start:idx] if keypts is None else pos[start:idx][:, list(keypts)]
    n = len(trail)
    alphas = np.linspace(0.1, 1.0, n)
    for j in range(trail.shape[1]):
        for i in range(n - 1):
            seg = trail[i : i + 2, j]
            if np.isfinite(seg).all():
                ax.plot(seg[:, 0], seg[:, 1], seg[:, 2], color=(0.8, 0.8, 0.8, alphas[i]))


def _vis_section(par: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if par is None:
        return {}
    return par.get("vis", par)


def _data_limits(*arrays: np.ndarray | None, margin: float = 0.05) -> list[tuple[float, float]]:
    """Equal-length axis limits enclosing all finite points of the arrays (..., 3)."""
    pts = np.concatenate([a.reshape(-1, 3) for a in arrays if a is not None])
    pts = pts[np.isfinite(pts).all(axis=1)]
    if not len(pts):
        return [(-1.0, 1.0)] * 3
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = (lo + hi) / 2
    half = max(float((hi - lo).max()) / 2 * (1 + margin), 1e-9)
    return [(float(c - half), float(c + half)) for c in centre]


def plot_video_3d(
    fig: Any,
    ax: Any,
    n: int,
    par: Mapping[str, Any],
    tar: np.ndarray | None = None,
    pred: np.ndarray | None = None,
    good_keypts: np.ndarray | None = None,
    trailing: int | None = None,
    trailing_keypts: Sequence[int] | None = None,
    fps: float = 10,
    name: str | os.PathLike | None = None,
    dpi: float = 100,
    legend: bool = True,
    overwrite: bool = False,
) -> Path:
    """Write a movie of 3D poses, frame by frame, as in liftpose 0.22.

    Parameters
    ----------
    fig, ax
        The figure and its 3D axes. Axis limits set on ``ax`` beforehand are kept; otherwise
        they are fitted to all frames. The view angle is kept.
    n
        Number of frames to write (the first ``n``).
    par
        The parameters (``load_params``) or their ``vis`` section: ``bones``, and
        optionally ``limb_id`` and ``colors``.
    tar, pred
        Target and/or predicted poses, shape ``(n_frames, n_joints, 3)``.
    good_keypts
        Boolean ``(n_frames, n_joints[, 3])``: joints to draw (predictions are always drawn).
    trailing
        Length of the fading trail drawn behind ``trailing_keypts`` (of the prediction, or of
        the target when there is no prediction).
    trailing_keypts
        Joints with a trail; default all.
    fps
        Frames per second.
    name
        Output file: ``.gif`` (always available) or ``.mp4`` (needs PyAV or ffmpeg); default
        ``LP3D_prediction.mp4``.
    dpi
        Resolution of the frames.
    legend
        Show the prediction/target legend.
    overwrite
        Replace an existing file (default: raise :class:`OutputExistsError`).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    _require_3d(ax)
    vis = _vis_section(par)
    if "bones" not in vis:
        raise ConfigError("par must hold the skeleton: par['vis']['bones']")
    tar = None if tar is None else np.asarray(tar, dtype=np.float64)
    pred = None if pred is None else np.asarray(pred, dtype=np.float64)
    ref = pred if pred is not None else tar
    if ref is None:
        raise PosesValidationError("give poses to animate: tar, pred or both")
    if ref.ndim != 3 or ref.shape[-1] != 3:
        raise PosesValidationError(f"poses must have shape (n_frames, n_joints, 3): {ref.shape}")
    n = int(n)
    if not 0 < n <= len(ref):
        raise ConfigError(f"n must be between 1 and the number of frames ({len(ref)}), got {n}")
    if ax.get_autoscalex_on() and ax.get_autoscaley_on() and ax.get_autoscalez_on():
        limits = _data_limits(None if tar is None else tar[:n], None if pred is None else pred[:n])
    else:
        limits = [ax.get_xlim(), ax.get_ylim(), ax.get_zlim()]
    path = Path(name) if name is not None else Path("LP3D_prediction.mp4")

    def draw(i: int) -> None:
        ax.cla()
        plot_pose_3d(
            ax,
            tar=None if tar is None else tar[i],
            pred=None if pred is None else pred[i],
            bones=vis["bones"],
            limb_id=vis.get("limb_id"),
            colors=vis.get("colors"),
            good_keypts=None if good_keypts is None else np.asarray(good_keypts)[i],
            show_pred_always=True,
            legend=legend,
        )
        if trailing:
            _plot_trailing_points(ax, i, ref, int(trailing), trailing_keypts)
        ax.set_xlim(limits[0])
        ax.set_ylim(limits[1])
        ax.set_zlim(limits[2])

    return _write_animation(fig, draw, range(n), path, fps=fps, dpi=dpi, overwrite=overwrite)


# ----------------------------------------------------------------------------- new plots
def _frame_3d(
    ax: Any, limits: list[tuple[float, float]], elev: float | None, azim: float | None
) -> None:
    """Set a 3D axes' limits, an equal box aspect and, when given, the view angles."""
    ax.set_xlim(limits[0])
    ax.set_ylim(limits[1])
    ax.set_zlim(limits[2])
    ax.set_box_aspect((1, 1, 1))
    if elev is not None or azim is not None:
        ax.view_init(elev=elev, azim=azim)


def axis_label(axis: str, units: str | None, frame: str | None = None) -> str:
    """An axis label with its units: ``"x (mm)"``, ``"camera z (mm)"``, ``"x"``.

    Examples
    --------
    >>> axis_label("x", "mm"), axis_label("y", "px"), axis_label("z", None, "camera")
    ('x (mm)', 'y (px)', 'camera z')
    """
    name = f"{frame} {axis}" if frame else axis
    return f"{name} ({units})" if units else name


def _label_axes(ax: Any, units: str | None, frame: str | None = None) -> None:
    ax.set_xlabel(axis_label("x", units, frame))
    ax.set_ylabel(axis_label("y", units, frame))
    if getattr(ax, "name", None) == "3d":
        ax.set_zlabel(axis_label("z", units, frame))


def limb_legend(fig: Any, skeleton: Skeleton | None, **kwargs: Any) -> Any:
    """A figure legend naming each limb in its colour (the colours of the bones and napari).

    Returns the legend, or None when the skeleton has no bones. The labels are
    :func:`liftpose_dlc.drawing.legend`'s; ``kwargs`` go to ``fig.legend``.
    """
    from matplotlib.lines import Line2D

    from liftpose_dlc.drawing import legend

    if skeleton is None:
        return None
    entries = legend(skeleton)
    if not entries:
        return None
    handles = [Line2D([], [], color=rgb, linewidth=2.5) for _, rgb in entries]
    options = {
        "loc": "lower center",
        "ncols": min(len(entries), 4),
        "frameon": False,
        "fontsize": 8,
    }
    options.update(kwargs)
    return fig.legend(handles, [label for label, _ in entries], **options)


def video_frame(video: str | os.PathLike, index: int) -> np.ndarray | None:
    """Frame ``index`` of a video as ``(H, W, 3)`` RGB, or None when it cannot be read.

    Needs PyAV (the ``video`` extra); figures are drawn without the frame otherwise.
    """
    try:
        import av
    except ImportError:
        return None
    try:
        with av.open(str(video)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i == index:
                    return frame.to_ndarray(format="rgb24")
    except Exception:  # noqa: BLE001 - a figure without its frame is still a figure
        return None
    return None


def _new_figure(figsize: tuple[float, float], dpi: float) -> Any:
    import mpl_toolkits.mplot3d  # noqa: F401  (registers the 3d projection)
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=dpi)


def plot_pose_3d_beside_2d(
    pose_2d: np.ndarray,
    pose_3d: np.ndarray,
    bones: Sequence[Sequence[int]] | None = None,
    limb_id: Sequence[int] | None = None,
    colors: Sequence[Any] | None = None,
    image: np.ndarray | None = None,
    title: str | None = None,
    elev: float | None = None,
    azim: float | None = None,
    figsize: tuple[float, float] = (10.0, 5.0),
    dpi: float = 100,
    *,
    skeleton: Skeleton | None = None,
    units: str | None = None,
    frame: str | None = None,
    legend: bool | str = True,
) -> Any:
    """One frame: the 2D pose (image coordinates) beside the lifted 3D pose.

    Parameters
    ----------
    pose_2d
        Shape ``(n_joints, 2)``, in pixels.
    pose_3d
        Shape ``(n_joints, 3)``.
    bones
        Pairs of joint indices; default none (joints only).
    limb_id, colors
        Limb of each joint and one 0-255 RGB colour per limb, as in ``param.yaml``.
    image
        The video frame, drawn under the 2D pose (its pixels match the 2D coordinates).
    title
        Figure title.
    elev, azim
        View angles of the 3D axes.
    figsize, dpi
        Figure size in inches and its resolution.
    skeleton
        Instead of ``bones``, ``limb_id`` and ``colors``: a Skeleton over the joints, whose
        bones, limb colours and keypoint colours are drawn (joints without bones too).
    units, frame
        The 3D's units (``"mm"``) and coordinate frame (``"camera"``, ``"world"``), in the
        3D axis labels; the 2D axes are in pixels.
    legend
        With a ``skeleton``: a legend naming each limb in its colour (:func:`limb_legend`);
        a string is the legend's title.

    Returns
    -------
    matplotlib.figure.Figure
        With two axes: the 2D one (y pointing down, as in the image) and the 3D one. Save it
        with ``fig.savefig(path)``.

    Examples
    --------
    >>> fig = plot_pose_3d_beside_2d(np.array([[10.0, 20], [30, 40]]),
    ...                              np.array([[0.0, 0, 0], [1, 1, 1]]), bones=[[0, 1]])
    >>> [ax.name for ax in fig.axes]
    ['rectilinear', '3d']
    """
    p2 = _pose(pose_2d, 2, "pose_2d")
    p3 = _pose(pose_3d, 3, "pose_3d")
    if len(p2) != len(p3):
        raise PosesValidationError(f"pose_2d has {len(p2)} joints but pose_3d has {len(p3)} joints")
    fig = _new_figure(figsize, dpi)
    ax2 = fig.add_subplot(1, 2, 1)
    ax3 = fig.add_subplot(1, 2, 2, projection="3d")
    bones_, edge_colors, joint_colors = _style(bones, limb_id, colors, skeleton, len(p2))
    if image is not None:
        ax2.imshow(np.asarray(image))
    _draw_bones(ax2, p2, bones_, edge_colors, "-", None, 2.0)
    ok2 = np.isfinite(p2).all(axis=1)
    ax2.scatter(p2[ok2, 0], p2[ok2, 1], s=12, c=[joint_colors[i] for i in np.flatnonzero(ok2)])
    if image is None:
        ax2.set_aspect("equal", adjustable="datalim")
        ax2.invert_yaxis()
    ax2.set_title("2D" if image is None else "2D on the video frame")
    _label_axes(ax2, "px")
    _draw_bones(ax3, p3, bones_, edge_colors, "-", None, 2.0)
    ok3 = np.isfinite(p3).all(axis=1)
    ax3.scatter(
        p3[ok3, 0], p3[ok3, 1], p3[ok3, 2], s=12, c=[joint_colors[i] for i in np.flatnonzero(ok3)]
    )
    limits = _data_limits(p3)
    _frame_3d(ax3, limits, elev, azim)
    _label_axes(ax3, units, frame)
    ax3.set_title("3D")
    if title:
        fig.suptitle(title)
    if legend:
        limb_legend(fig, skeleton, **({} if legend is True else {"title": str(legend)}))
    return fig


def _joint_colors(n_joints: int, bones: Sequence[tuple[int, int]], edge_colors: list) -> list:
    colors: list[Any] = ["k"] * n_joints
    for (a, b), c in zip(bones, edge_colors, strict=True):
        colors[a] = c
        colors[b] = c
    return colors


def animate_skeleton_3d(
    poses_3d: np.ndarray,
    bones: Sequence[Sequence[int]] | None,
    path: str | os.PathLike,
    frames: Sequence[int] | range | None = None,
    fps: float = 30,
    limb_id: Sequence[int] | None = None,
    colors: Sequence[Any] | None = None,
    elev: float | None = None,
    azim: float | None = None,
    trailing: int | None = None,
    trailing_keypts: Sequence[int] | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (5.0, 5.0),
    dpi: float = 100,
    overwrite: bool = False,
    *,
    skeleton: Skeleton | None = None,
    truth: np.ndarray | None = None,
    units: str | None = None,
    frame: str | None = None,
    legend: bool | str = True,
    progress: bool = False,
) -> Path:
    """Write an animation of a 3D pose sequence: MP4 or GIF, chosen by the file's extension.

    Parameters
    ----------
    poses_3d
        Shape ``(n_frames, n_joints, 3)``; NaN joints are not drawn.
    bones
        Pairs of joint indices (None with ``skeleton``).
    path
        Output file, ``.gif`` (always available) or ``.mp4`` (needs PyAV or ffmpeg).
    frames
        Frame indices to draw, in order; default all.
    fps
        Frames per second of the animation.
    limb_id, colors
        Limb of each joint and one 0-255 RGB colour per limb, as in ``param.yaml``.
    elev, azim
        View angles.
    trailing, trailing_keypts
        Length of a fading trail behind some joints (default all), as in
        :func:`plot_video_3d`.
    title
        Title; the frame index is appended.
    figsize, dpi
        Size in inches and resolution of each frame.
    overwrite
        Replace an existing file (default: raise :class:`OutputExistsError`).
    skeleton
        Instead of ``bones``, ``limb_id`` and ``colors``: a Skeleton over the joints (see
        :func:`plot_pose_3d_beside_2d`).
    truth
        The known 3D, same shape as ``poses_3d``: drawn dashed grey under the lifted pose.
    units, frame
        Units and coordinate frame of the 3D, in the axis labels.
    legend
        With a ``skeleton``: a legend of its limbs (and of lifted/true with ``truth``); a
        string is the legend's title.
    progress
        Show a progress bar over the frames drawn.

    Returns
    -------
    pathlib.Path
        The file written: bones, and the joints as dots. Axis limits are fixed over the whole
        animation.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> poses = np.cumsum(np.ones((3, 2, 3)), axis=0)
    >>> out = animate_skeleton_3d(poses, [[0, 1]], pathlib.Path(tempfile.mkdtemp()) / "a.gif")
    >>> out.suffix, out.stat().st_size > 0
    ('.gif', True)
    """
    poses = np.asarray(poses_3d, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[-1] != 3:
        raise PosesValidationError(
            f"poses_3d must have shape (n_frames, n_joints, 3), got {poses.shape}"
        )
    order = list(range(len(poses))) if frames is None else [int(f) for f in frames]
    if not order:
        raise ConfigError("no frames to animate")
    bad = [f for f in order if not 0 <= f < len(poses)]
    if bad:
        raise ConfigError(f"frames {bad[:5]} are out of range for {len(poses)} frames")
    bones_, edge_colors, joint_colors = _style(bones, limb_id, colors, skeleton, poses.shape[1])
    true = None
    if truth is not None:
        true = np.asarray(truth, dtype=np.float64)
        if true.shape != poses.shape:
            raise PosesValidationError(
                f"truth has shape {true.shape} but poses_3d has {poses.shape}"
            )
    limits = _data_limits(poses[order], None if true is None else true[order])
    fig = _new_figure(figsize, dpi)
    ax = fig.add_subplot(projection="3d")
    if legend:
        title_kw = {} if legend is True else {"title": str(legend)}
        shown = limb_legend(fig, skeleton, ncols=2, **title_kw)
        if true is not None:
            from matplotlib.lines import Line2D

            fig.legend(
                [Line2D([], [], color="0.4", linestyle="--")],
                ["true 3D"],
                loc="upper right",
                frameon=False,
                fontsize=8,
            )
        if shown is not None:
            fig.subplots_adjust(bottom=0.18)

    def draw(i: int) -> None:
        ax.cla()
        if true is not None:
            _draw_bones(ax, true[i], bones_, ["0.4"] * len(bones_), "--", None, 1.2)
        _draw_bones(ax, poses[i], bones_, edge_colors, "-", None, 2.0)
        ok = np.flatnonzero(np.isfinite(poses[i]).all(axis=1))
        if len(ok):
            p = poses[i, ok]
            ax.scatter(p[:, 0], p[:, 1], p[:, 2], s=8, c=[joint_colors[j] for j in ok])
        if trailing:
            _plot_trailing_points(ax, i, poses, int(trailing), trailing_keypts)
        _frame_3d(ax, limits, elev, azim)
        _label_axes(ax, units, frame)
        ax.set_title(f"{title} – frame {i}" if title else f"frame {i}")

    shown_frames: Any = order
    if progress:
        from tqdm.auto import tqdm

        shown_frames = tqdm(order, desc=f"drawing {Path(path).name}", unit="frame", leave=False)
    return _write_animation(
        fig, draw, shown_frames, Path(path), fps=fps, dpi=dpi, overwrite=overwrite
    )


# ----------------------------------------------------------------------------- writers
def _render(fig: Any, dpi: float) -> Any:
    """The figure as an RGB PIL image (through PNG, so any canvas and backend works)."""
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    buf.seek(0)
    with Image.open(buf) as img:
        return img.convert("RGB")


def _video_backend() -> str:
    try:
        import av  # noqa: F401

        return "av"
    except ImportError:
        pass
    from matplotlib import animation

    if animation.writers.is_available("ffmpeg"):
        return "ffmpeg"
    raise MissingDependencyError(
        "writing a video (.mp4) needs PyAV (pip install av) or ffmpeg; "
        "or give a .gif file name, which always works"
    )


def _write_animation(
    fig: Any,
    draw: Callable[[int], None],
    frames: Sequence[int] | range,
    path: Path,
    fps: float,
    dpi: float,
    overwrite: bool,
) -> Path:
    suffix = path.suffix.lower()
    if suffix != ".gif" and suffix not in _VIDEO_SUFFIXES:
        raise ConfigError(f"cannot tell the animation format from {path.name!r}: use .gif or .mp4")
    if not fps or fps <= 0:
        raise ConfigError(f"fps must be positive, got {fps}")
    backend = "gif" if suffix == ".gif" else _video_backend()
    with atomic_path(path, overwrite=overwrite, verify=check_image(suffix.lstrip("."))) as tmp:
        if backend == "gif":
            _write_gif(fig, draw, frames, tmp, fps, dpi)
        elif backend == "av":
            _write_av(fig, draw, frames, tmp, fps, dpi, suffix)
        else:
            _write_ffmpeg(fig, draw, frames, tmp, fps, dpi, suffix)
    return path


def _write_gif(fig: Any, draw: Callable, frames: Any, tmp: Path, fps: float, dpi: float) -> None:
    images = []
    for i in frames:
        draw(i)
        images.append(_render(fig, dpi).quantize(colors=255))
    images[0].save(
        tmp,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=max(int(round(1000 / fps)), 10),
        loop=0,
    )


def _write_av(
    fig: Any, draw: Callable, frames: Any, tmp: Path, fps: float, dpi: float, suffix: str
) -> None:
    import av

    fmt = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi"}[suffix]
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(tmp), mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.pix_fmt = "yuv420p"
        for k, i in enumerate(frames):
            draw(i)
            rgb = np.asarray(_render(fig, dpi))
            h, w = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2  # yuv420p needs even sizes
            if k == 0:
                stream.width, stream.height = w, h
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:h, :w]), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _write_ffmpeg(
    fig: Any, draw: Callable, frames: Any, tmp: Path, fps: float, dpi: float, suffix: str
) -> None:
    from matplotlib import animation

    fmt = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi"}[suffix]
    # ffmpeg takes a fractional rate (29.97); matplotlib's stubs say int
    writer = animation.FFMpegWriter(
        fps=fps,  # type: ignore[arg-type]
        extra_args=["-f", fmt, "-pix_fmt", "yuv420p"],
    )
    with writer.saving(fig, str(tmp), dpi=dpi):
        for i in frames:
            draw(i)
            writer.grab_frame(facecolor="white")


# ----------------------------------------------------------------------------- violin plot
def violin_plot(
    ax: Any,
    test_3d_gt: np.ndarray,
    test_3d_pred: np.ndarray | Sequence[np.ndarray],
    test_keypoints: np.ndarray | None = None,
    joints_name: Sequence[str] | None = None,
    units: str | None = None,
    body_length: float | None = None,
    ylim: Sequence[float] | None = None,
    order: Sequence[str] | None = None,
    hue_names: Sequence[str] | None = None,
    overall: bool = True,
    roots: Sequence[int] | None = None,
    target_sets: Sequence[int] | Sequence[Sequence[int]] | None = None,
    clip_quantile: float | None = None,
) -> Any:
    """Violin plot of the error distribution of each joint.

    Parameters
    ----------
    ax
        Matplotlib axes.
    test_3d_gt
        Ground truth, shape ``(n_frames, n_joints, 3)``. Not modified.
    test_3d_pred
        Prediction of the same shape, or a list of them (e.g. several methods), drawn side by
        side and told apart by ``hue_names``.
    test_keypoints
        Boolean ``(n_frames, n_joints[, 3])``: errors of False joints are left out.
    joints_name
        One name per joint (default ``"0"``, ``"1"``, ...). Not modified.
    units
        Units of the data, for the axis label (e.g. ``"mm"``).
    body_length
        Body length in the data's units: adds a right axis in percent of body length.
    ylim
        Limits of the error axis.
    order
        Joint names to show, in this order (default all joints, in order).
    hue_names
        Names of the predictions, for the legend.
    overall
        Add a violin of each frame's mean error over joints, named ``overall``.
    roots, target_sets
        Measure root-relative errors, the LiftPose3D way (roots then have no violin).
    clip_quantile
        If given (e.g. 0.95), errors above this quantile of each joint are drawn at the
        quantile, so that outliers do not stretch the axis. Default: all errors as they are.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``. Each violin is a :class:`~matplotlib.collections.PolyCollection` in
        ``ax.collections``; joints without any error (e.g. roots) are left empty.

    Notes
    -----
    The error of a joint is the Euclidean distance between prediction and ground truth, in
    the units of the data (liftpose 0.22 used the mean absolute coordinate difference).
    """
    gt = np.asarray(test_3d_gt, dtype=np.float64)
    preds = [test_3d_pred] if isinstance(test_3d_pred, np.ndarray) else list(test_3d_pred)
    if gt.ndim != 3:
        raise PosesValidationError(
            f"test_3d_gt must have shape (n_frames, n_joints, 3), got {gt.shape}"
        )
    n_joints = gt.shape[1]
    names = [str(i) for i in range(n_joints)] if joints_name is None else list(joints_name)
    if len(names) != n_joints:
        raise KeypointError(f"joints_name has {len(names)} names for {n_joints} joints")
    mask = None
    if test_keypoints is not None:
        mask = np.asarray(test_keypoints).astype(bool)
        if mask.ndim == 3:
            mask = np.asarray(mask.all(axis=2))
        if mask.shape != gt.shape[:2]:
            raise PosesValidationError(
                f"test_keypoints must have shape {gt.shape[:2]} or {gt.shape}, "
                f"got {np.shape(test_keypoints)}"
            )
    columns = [*names, "overall"] if overall else list(names)
    shown = list(columns) if order is None else list(order)
    unknown = [s for s in shown if s not in columns]
    if unknown:
        raise KeypointError(f"order names unknown joints {unknown}; joints are {columns}")

    n_hues = len(preds)
    width = 0.8 / n_hues
    palette = ["0.6"] if n_hues == 1 else [f"C{k % 10}" for k in range(n_hues)]
    handles = []
    for k, pred in enumerate(preds):
        err = per_joint_errors(gt, pred, roots, target_sets)
        if mask is not None:
            err = np.where(mask, err, np.nan)
        if overall:
            with np.errstate(all="ignore"):
                valid = np.isfinite(err)
                total = np.where(valid, err, 0).sum(1) / valid.sum(1)
            err = np.hstack([err, total[:, None]])
        data, positions = [], []
        for i, label in enumerate(shown):
            values = err[:, columns.index(label)]
            values = values[np.isfinite(values)]
            if clip_quantile is not None and values.size:
                values = np.minimum(values, np.quantile(values, clip_quantile))
            if not values.size:
                continue
            pos = i + (k - (n_hues - 1) / 2) * width
            if np.ptp(values) == 0:  # a KDE needs spread: draw a flat mark
                ax.hlines(values[0], pos - width / 3, pos + width / 3, colors=palette[k])
                continue
            data.append(values)
            positions.append(pos)
        if data:
            parts = ax.violinplot(data, positions=positions, widths=width * 0.9, showmedians=True)
            for body in parts["bodies"]:
                body.set_facecolor(palette[k])
                body.set_edgecolor("k")
                body.set_alpha(0.8)
            for key in ("cmedians", "cmins", "cmaxes", "cbars"):
                if key in parts:
                    parts[key].set_color("k")
                    parts[key].set_linewidth(0.8)
        from matplotlib.patches import Patch

        handles.append(Patch(facecolor=palette[k], edgecolor="k"))
    ax.set_xticks(range(len(shown)))
    ax.set_xticklabels(shown, rotation=30, ha="right")
    ax.set_xlabel("")
    ax.set_ylabel(f"Error ({units})" if units else "Error")
    if ylim is not None:
        ax.set_ylim(ylim)
    if hue_names is not None or n_hues > 1:
        labels = list(hue_names) if hue_names is not None else [str(k) for k in range(n_hues)]
        ax.legend(handles, labels, frameon=False)
    if body_length is not None:
        if not body_length > 0:
            raise ConfigError(f"body_length must be positive, got {body_length}")
        sec = ax.secondary_yaxis(
            "right",
            functions=(lambda x: x * 100.0 / body_length, lambda x: x * body_length / 100.0),
        )
        sec.set_ylabel("Percentage of body length")
    return ax
