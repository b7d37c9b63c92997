"""What explains a 3D scene: limb legend, individual names, floor and trajectories (no Qt).

Each function returns napari layer data tuples ``(data, kwargs, layer_type)`` for a scene
laid out by :func:`napari_liftpose.scene.scene_layout`; :func:`scene_decorations` gives all
that apply (``scene_layers`` adds them after the skeletons):

- ``limb legend``: each limb's label written in the limb's colour (the colours of the
  bones and of the matplotlib figures: :func:`liftpose_dlc.drawing.legend`), under the
  video (or beside the 3D without one); it says so when the bones were guessed (a config
  without a skeleton). It is a 3-D layer ``(depth, y, x)``: shown in every frame.
- ``individuals``: when several individuals are shown, each one's name above its skeleton
  in every frame, in its colour (the border colour of its joints).
- world frame only (``Poses.frame == "world"``): ``floor``, grid lines on the plane z = 0,
  and ``trajectories``, a napari Tracks layer of each individual's centroid with a tail
  of the last seconds (``tail_length`` frames; the layer controls change it).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from liftpose_dlc.drawing import is_guessed, legend
from liftpose_dlc.poses import Poses
from napari_liftpose.layers import WORLD, LayerData, individual_colors, to_napari_3d

__all__ = [
    "legend_layer",
    "individual_labels_layer",
    "floor_layer",
    "trajectories_layer",
    "scene_decorations",
    "nice_step",
    "show_keypoint_names",
]

AXES_3D = ("depth", "y", "x")
LEGEND_NAME = "limb legend"
LABELS_NAME = "individuals"
FLOOR_NAME = "floor"
TRACKS_NAME = "trajectories"
#: The legend's last line when the bones were guessed (a config without a skeleton).
GUESSED_NOTE = "(bones guessed: no skeleton)"


#: Width of a legend character as a fraction of the scene's width (10 pt text on a canvas
#: about 1200 px wide framing the scene): how much room the legend's labels need.
CHAR_WIDTH = 0.0085


def _legend_rows(
    n: int, longest: int, layout: Any
) -> tuple[np.ndarray, tuple[tuple[float, ...], tuple[float, ...]]]:
    """Where the legend's ``n`` labels go, and the world box they take (``(depth, y, x)``).

    With a video: under the video (the scene is wider than the canvas, so rows there cost
    no zoom), in one or two columns. Without: under the scene when it is wide, else to
    its right. Labels are centred on their points.
    """
    low, high = (np.array(b, dtype=float) for b in layout.bounds)
    size = np.where(high - low > 0, high - low, 1.0)
    label_w = CHAR_WIDTH * longest * size[2]
    if layout.image_shape is not None:
        height, width = map(float, layout.image_shape)
        cols = 1 if n <= 10 else 2
        per_col = int(np.ceil(n / cols))
        step = 0.06 * height
        k = np.arange(n)
        col, row = k // per_col, k % per_col
        x = 0.5 * label_w + col * (label_w + 0.05 * width)
        y = height + step * (row + 1)
        box_high = (high[0], height + step * (per_col + 1), float(x.max() + 0.5 * label_w))
        box = ((low[0], height, 0.0), box_high)
    elif size[2] >= 1.5 * size[1]:  # wide: under it
        step = 0.06 * size[2] / 2.8
        y = high[1] + step * (np.arange(n) + 1)
        x = np.full(n, low[2] + 0.5 * label_w)
        box = ((low[0], high[1], low[2]), (high[0], float(y.max() + step), low[2] + label_w))
    else:  # tall or square: to its right
        step = min(0.045, 0.95 / (n + 1)) * size[1]
        y = low[1] + step * (np.arange(n) + 1)
        x0 = high[2] + 0.04 * size[2]
        x = np.full(n, x0 + 0.5 * label_w)
        box = ((low[0], low[1], high[2]), (high[0], high[1], x0 + label_w))
    rows = np.column_stack([np.full(n, high[0]), y, x])  # towards the viewer: in front
    return rows, box


def legend_layer(poses_3d: Poses, layout: Any) -> LayerData | None:
    """The limb legend: each limb's label written in its colour, beside the 3D.

    Parameters
    ----------
    poses_3d
        The drawn 3D poses (with the skeleton their bones are drawn with).
    layout
        The scene's :class:`~napari_liftpose.scene.SceneLayout` (its ``bounds``).

    Returns
    -------
    (data, kwargs, "points") or None
        None when no limb has a bone (nothing to explain) or the layout has no bounds.
        ``features["limb"]`` holds the labels; the points are unmarked (size 0), the text
        has the limbs' colours. Under the video with a video, else beside the 3D
        (``metadata["liftpose"]["scene_bounds"]``: the room it takes, which the camera
        frames with the rest).
    """
    entries = legend(poses_3d.skeleton)
    if not entries or layout.bounds is None:
        return None
    if is_guessed(poses_3d):
        entries = [*entries, (GUESSED_NOTE, (0.6, 0.6, 0.6))]
    labels = [label for label, _ in entries]
    data, box = _legend_rows(len(labels), max(len(label) for label in labels), layout)
    colors = np.array([[*rgb, 1.0] for _, rgb in entries])
    kwargs: dict[str, Any] = {
        "name": LEGEND_NAME,
        "features": {"limb": labels},
        "face_color": "transparent",
        "border_color": "transparent",
        "border_width": 0.0,
        "size": 0.0,
        "text": {"string": "{limb}", "size": 10, "color": colors},
        "ndim": 3,
        "axis_labels": AXES_3D,
        "blending": "translucent_no_depth",
        "metadata": {
            "liftpose": {
                "legend": [(label, tuple(rgb)) for label, rgb in entries],
                "scene_bounds": box,
            }
        },
    }
    return data, kwargs, "points"


def _pose_tops(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the point above a pose: (frames with points, (depth, y, x) rows)."""
    finite = np.isfinite(points).all(axis=-1)  # (T, K)
    frames = np.nonzero(finite.any(axis=1))[0]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames
        center = np.nanmedian(points[frames], axis=1)
        top = np.nanmin(points[frames, :, 1], axis=1)
        spread = np.nanmax(points[frames, :, 1], axis=1) - top
    rows = center.copy()
    rows[:, 1] = top - 0.25 * np.nan_to_num(spread)
    return frames, rows


def individual_labels_layer(
    poses_3d: Poses, placements: dict[str, Any], *, name: str = LABELS_NAME
) -> LayerData | None:
    """Each individual's name above its 3D skeleton, in every frame it has points.

    One Points layer ``(t, depth, y, x)`` in world coordinates (each individual's placement
    applied), invisible markers with text coloured per individual. None for one individual.
    """
    if poses_3d.n_individuals < 2:
        return None
    colors = individual_colors(poses_3d.individuals)
    rows, texts, color_rows = [], [], []
    for j, ind in enumerate(poses_3d.individuals):
        points = to_napari_3d(poses_3d.data[:, j], poses_3d.frame)
        frames, tops = _pose_tops(points)
        if len(frames) == 0:
            continue
        placement = placements[ind]
        world = tops * np.asarray(placement.scale[1:]) + np.asarray(placement.translate[1:])
        rows.append(np.column_stack([frames.astype(float), world]))
        texts.extend([ind] * len(frames))
        color_rows.append(np.tile(colors[ind], (len(frames), 1)))
    if not rows:
        return None
    data = np.concatenate(rows)
    text_colors = np.concatenate(color_rows)
    kwargs: dict[str, Any] = {
        "name": name,
        "features": {"individual": texts},
        "size": 0.0,
        "face_color": "transparent",
        "border_color": "transparent",
        "border_width": 0.0,
        "text": {"string": "{individual}", "size": 11, "color": text_colors},
        "ndim": 4,
        "blending": "translucent_no_depth",
        "metadata": {
            "liftpose": {
                "individuals": list(poses_3d.individuals),
                # the names stand above the skeletons: the camera frames them too
                "scene_bounds": tuple(
                    tuple(map(float, b)) for b in np.percentile(data[:, 1:], [1, 99], axis=0)
                ),
            }
        },
    }
    return data, kwargs, "points"


def nice_step(extent: float, lines: int = 8) -> float:
    """A round grid spacing (1, 2 or 5 × 10^k) nearest to ``extent / lines``.

    Examples
    --------
    >>> nice_step(480.0), nice_step(0.9)
    (50.0, 0.1)
    """
    raw = max(float(extent), 1e-12) / lines
    power = 10.0 ** np.floor(np.log10(raw))
    candidates = np.array([1.0, 2.0, 5.0, 10.0]) * power
    best = candidates[np.argmin(np.abs(np.log(candidates / raw)))]
    return float(np.round(best, 12))


def floor_layer(poses_3d: Poses, placement: Any, *, name: str = FLOOR_NAME) -> LayerData | None:
    """Grid lines on the world floor (z = 0) under the area the animals cover.

    A 3-D Vectors layer ``(depth, y, x)`` (shown in every frame) with the world-frame
    placement's scale and translate; the spacing is round (:func:`nice_step`) in the poses'
    units (``metadata["liftpose"]["step"]``). None unless the poses are in the world frame.
    """
    if poses_3d.frame != WORLD:
        return None
    xy = poses_3d.data[..., :2].reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) == 0:
        return None
    low, high = np.percentile(xy, [1, 99], axis=0)
    margin = 0.1 * max(float((high - low).max()), 1e-9)
    low, high = low - margin, high + margin
    step = nice_step(float((high - low).max()))
    xs = np.arange(np.floor(low[0] / step), np.ceil(high[0] / step) + 1) * step
    ys = np.arange(np.floor(low[1] / step), np.ceil(high[1] / step) + 1) * step
    segments = []
    for x in xs:  # world (x, y, z): lines of constant x, then of constant y
        segments.append(((x, ys[0], 0.0), (x, ys[-1], 0.0)))
    for y in ys:
        segments.append(((xs[0], y, 0.0), (xs[-1], y, 0.0)))
    ends = to_napari_3d(np.array(segments), WORLD)  # (n, 2, 3)
    data = np.stack([ends[:, 0], ends[:, 1] - ends[:, 0]], axis=1)
    kwargs: dict[str, Any] = {
        "name": name,
        "edge_color": "#8c8c8c",
        "edge_width": step / 80.0,
        "vector_style": "line",
        "length": 1.0,
        "opacity": 0.6,
        "ndim": 3,
        "axis_labels": AXES_3D,
        "scale": tuple(placement.scale[1:]),
        "translate": tuple(placement.translate[1:]),
        "metadata": {"liftpose": {"step": step, "units": poses_3d.units}},
    }
    return data, kwargs, "vectors"


def trajectories_layer(
    poses_3d: Poses, placement: Any, *, name: str = TRACKS_NAME, seconds: float = 5.0
) -> LayerData | None:
    """Each individual's centroid over time as a napari Tracks layer (world frame only).

    Rows ``(track id, t, z, -y, x)`` (napari's world-frame axes), one track per individual
    (``features["individual"]``), a tail of ``seconds`` of frames (``fps`` known; else 60
    frames). None unless the poses are in the world frame.
    """
    if poses_3d.frame != WORLD:
        return None
    rows = []
    names = []
    for j, ind in enumerate(poses_3d.individuals):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames
            centroid = np.nanmean(poses_3d.data[:, j], axis=1)  # (T, 3)
        frames = np.nonzero(np.isfinite(centroid).all(axis=1))[0]
        if len(frames) < 2:
            continue
        coords = to_napari_3d(centroid[frames], WORLD)
        rows.append(np.column_stack([np.full(len(frames), j), frames, coords]))
        names.extend([ind] * len(frames))
    if not rows:
        return None
    tail = int(round(seconds * poses_3d.fps)) if poses_3d.fps else 60
    kwargs: dict[str, Any] = {
        "name": name,
        "features": {"individual": names},
        "tail_length": max(tail, 2),
        "tail_width": 3,
        "head_length": 0,
        "colormap": "hsv",
        "scale": tuple(placement.scale),
        "translate": tuple(placement.translate),
        "blending": "translucent",
        "metadata": {"liftpose": {"individuals": list(poses_3d.individuals)}},
    }
    return np.concatenate(rows).astype(float), kwargs, "tracks"


def scene_decorations(poses_3d: Poses, layout: Any) -> list[LayerData]:
    """The decorations that apply to a scene's 3D poses, in the order to add them.

    Floor and trajectories first (world frame), then the individuals' names and the limb
    legend (see the module notes).
    """
    out: list[LayerData] = []
    first = next(iter(layout.placements.values()), None)
    if first is not None:
        for make in (floor_layer, trajectories_layer):
            layer = make(poses_3d, first)
            if layer is not None:
                out.append(layer)
    for layer in (
        individual_labels_layer(poses_3d, layout.placements),
        legend_layer(poses_3d, layout),
    ):
        if layer is not None:
            out.append(layer)
    return out


def show_keypoint_names(layers: Any, visible: bool = True) -> int:
    """Show (or hide) the keypoint names of every joints/keypoints layer of a scene.

    The names are each Points layer's text (``"{keypoint}"``, hidden by default:
    :func:`~napari_liftpose.layers.points_2d_layer`); napari's layer controls ("display
    text") toggle one layer, this all of them. Returns the number of layers changed.
    """
    changed = 0
    for layer in layers:
        meta = getattr(layer, "metadata", {}).get("liftpose", {})
        features = getattr(layer, "features", None)
        if "keypoints" in meta and features is not None and "keypoint" in features:
            layer.text.visible = bool(visible)
            changed += 1
    return changed
