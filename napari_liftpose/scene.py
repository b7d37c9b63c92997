"""One viewer, one time slider: the layout of video, 2D keypoints and 3D skeleton (no Qt).

napari aligns the trailing axes of layers with different numbers of dimensions. A video
``(T, H, W, 3)`` is a 3-D layer ``(t, y, x)`` and 3D points ``(t, z, y, x)`` a 4-D one, so
napari would put the video's time on the 3D depth axis. Every layer of a scene therefore has
the same four axes :data:`AXIS_LABELS` ``(frame, depth, y, x)``:

- the video gets a singleton depth axis, ``(T, 1, H, W, 3)``, lazily (nothing decoded;
  :func:`with_depth_axis`), and the 2D keypoints and 2D bones depth 0: they lie on the plane
  of the video;
- the 3D skeleton keeps its real coordinates in the layer data and gets a layer ``scale``
  and ``translate`` (:func:`scene_layout`) that place it beside the video: to its right,
  one slot per individual, each slot the video's height, its depth range centred on the
  video plane; so the video never hides it and napari's 3D camera, centred on the scene,
  sees both.

One viewer and one time slider drive everything; ``ndisplay=3`` shows the video as a plane
with the 3D skeleton next to it (rotatable), ``ndisplay=2`` the video with the 2D keypoints
(depth slider at 0, which :func:`add_layers` keeps there). A second, linked viewer (or a
second canvas) would also work, but costs a second canvas, a second layer list and code to
keep two sets of dims in step, for nothing the single viewer cannot show.

Multi-animal data
-----------------
- 2D keypoints: one layer for all individuals, with an ``individual`` feature (and a border
  colour per individual): they share the image frame.
- 3D skeleton: one joints layer and one bones layer **per individual**, because lifted 3D
  poses are root-relative (every individual sits around the origin) and a layer has one
  transform: each individual gets its own slot beside the video. Toggle an individual by
  hiding its layers.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from liftpose_dlc.drawing import drawing_skeleton, is_guessed
from liftpose_dlc.poses import Poses
from napari_liftpose.layers import (
    LayerData,
    bones_layer,
    check_dims,
    individual_colors,
    points_2d_layer,
    points_3d_layer,
    restrict_individuals,
    robust_extent,
    to_napari_3d,
)
from napari_liftpose.video import expand_ellipsis

__all__ = [
    "AXIS_LABELS",
    "Placement",
    "SceneLayout",
    "scene_layout",
    "with_depth_axis",
    "add_depth_axis",
    "video_layer",
    "scene_layers",
    "add_layers",
    "frame_scene",
    "fit_camera",
    "scene_bounds",
    "pose_size",
    "layer_by_name",
]

AXIS_LABELS = ("frame", "depth", "y", "x")
"""The axes of every layer of a scene (:func:`scene_layers`)."""


def _center(points: np.ndarray) -> np.ndarray:
    """Centre of ``(..., 3)`` points in napari order ``(depth, y, x)``.

    ``y`` and ``x``: the median (robust to outliers). Depth: the middle of its full range,
    so the skeleton's depth extent is symmetric about the video plane once placed; napari
    centres its 3D camera on the scene's bounding box and, going back to 2D, puts the depth
    slider where the camera's centre was, which is then the video plane.
    """
    flat = points.reshape(-1, 3)
    flat = flat[np.isfinite(flat).all(axis=1)]
    if len(flat) == 0:
        return np.zeros(3)
    center = np.median(flat, axis=0)
    center[0] = (flat[:, 0].min() + flat[:, 0].max()) / 2.0
    return center


@attrs.frozen
class Placement:
    """Where one individual's 3D layers go: world = data × ``scale`` + ``translate``.

    Both are 4-tuples over ``(frame, depth, y, x)``; the frame axis is never scaled or moved.
    """

    scale: tuple[float, float, float, float]
    translate: tuple[float, float, float, float]


@attrs.frozen
class SceneLayout:
    """How a scene's layers share one viewer (see the module notes).

    Attributes
    ----------
    n_frames
        Length of the time slider: the most frames of the video and the poses.
    frames_match
        False when the video and the poses have different numbers of frames (the widget
        should warn: the tracking file is probably not from this video).
    image_shape
        ``(height, width)`` of the video, or None without video.
    placements
        One :class:`Placement` per 3D individual, in order.
    bounds
        ``((depth, y, x) lowest, (depth, y, x) highest)`` in world coordinates: what the
        camera frames (:func:`fit_camera`): the video and the 3D panel beside it, or the
        3D poses' robust extent (1st-99th percentiles, so that a few wild points do not
        shrink the animals to specks); None without 3D poses and video.
    panel
        ``(y0, x0, height, width)`` of the 3D panel in world coordinates (beside the
        video: the video's size), or None.
    frame
        The 3D poses' coordinate frame (``Poses.frame``), or None.
    """

    n_frames: int
    frames_match: bool
    image_shape: tuple[int, int] | None
    placements: dict[str, Placement]
    bounds: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    panel: tuple[float, float, float, float] | None = None
    frame: str | None = None


def _robust_box(points: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """1st and 99th percentiles per axis of ``(..., 3)`` napari points, or None if none."""
    flat = points.reshape(-1, 3)
    flat = flat[np.isfinite(flat).all(axis=1)]
    if len(flat) == 0:
        return None
    low, high = np.percentile(flat, [1, 99], axis=0)
    return low, high


def _grid(n: int) -> tuple[int, int]:
    """Rows and columns of a near-square grid of ``n`` cells (more columns than rows)."""
    cols = int(np.ceil(np.sqrt(max(n, 1))))
    return int(np.ceil(max(n, 1) / cols)), cols


def scene_layout(
    n_video_frames: int | None = None,
    image_shape: tuple[int, int] | None = None,
    poses_3d: Poses | None = None,
    *,
    n_pose_frames: int | None = None,
    fill: float = 0.8,
    gap: float = 0.1,
) -> SceneLayout:
    """Decide the layout of a scene: slider length and where each 3D individual goes.

    With a video, the 3D poses go into a **panel** of the video's size to its right (``gap``
    × height apart), so that the default view shows the video and the 3D side by side, each
    filling its half of the canvas:

    - camera frame (lifted poses, each individual around its own root): the panel is
      divided into a near-square grid of cells, one per individual, in order, row by row;
      one isotropic scale for all (they keep their relative sizes) makes the largest
      robust extent (1st-99th percentiles) in y or x fill ``fill`` of a cell; each
      individual is centred in its cell (median of its points in y and x) and its depth
      range on the video plane (depth 0);
    - world frame (``Poses.frame == "world"``): one placement for all individuals, which
      keep their real positions: the robust extent of all points (the part of the arena
      they cover) fills ``fill`` of the panel.

    Without a video the data keep their units (scale 1): a single individual, or a world
    frame, stays where it is; several camera-frame individuals stand in a grid of cells
    1.2 × the largest extent apart.

    Parameters
    ----------
    n_video_frames
        Number of video frames, or None without video.
    image_shape
        ``(height, width)`` of the video frames, or None without video.
    poses_3d
        The 3D poses to place, or None.
    n_pose_frames
        Number of frames of the 2D poses, if any (for the slider length and the check).
    fill, gap
        Panel filling and spacing, fractions of the panel and of the video's height.

    Returns
    -------
    SceneLayout

    Examples
    --------
    >>> layout = scene_layout(100, (480, 640))
    >>> layout.n_frames, layout.placements, layout.bounds
    (100, {}, ((-320.0, 0.0, 0.0), (320.0, 480.0, 640.0)))
    """
    from napari_liftpose.layers import WORLD

    counts = [n for n in (n_video_frames, n_pose_frames) if n is not None]
    if poses_3d is not None:
        counts.append(poses_3d.n_frames)
    n_frames = max(counts) if counts else 0
    frames_match = len(set(counts)) <= 1
    placements: dict[str, Placement] = {}
    boxes: list[tuple[np.ndarray, np.ndarray]] = []
    panel = None
    frame = None if poses_3d is None else poses_3d.frame
    if image_shape is not None:
        height, width = float(image_shape[0]), float(image_shape[1])
        half = max(height, width) / 2.0
        boxes.append((np.array([-half, 0.0, 0.0]), np.array([half, height, width])))
    if poses_3d is not None:
        check_dims(poses_3d, 3, "scene_layout")
        individuals = list(poses_3d.individuals)
        points = [to_napari_3d(poses_3d.data[:, j], frame) for j in range(len(individuals))]
        if frame == WORLD:
            placements, box = _place_world(points, individuals, image_shape, fill, gap)
        else:
            placements, box = _place_cells(points, individuals, image_shape, fill, gap)
        if image_shape is not None:
            height, width = float(image_shape[0]), float(image_shape[1])
            x0 = width + gap * height
            panel = (0.0, x0, height, width)
            half = max(height, width) / 2.0
            boxes.append((np.array([-half, 0.0, x0]), np.array([half, height, x0 + width])))
        elif box is not None:
            boxes.append(box)
    bounds = None
    if boxes:
        low = np.min([b[0] for b in boxes], axis=0)
        high = np.max([b[1] for b in boxes], axis=0)
        bounds = (tuple(map(float, low)), tuple(map(float, high)))
    return SceneLayout(
        n_frames=n_frames,
        frames_match=frames_match,
        image_shape=None if image_shape is None else (int(image_shape[0]), int(image_shape[1])),
        placements=placements,
        bounds=bounds,  # type: ignore[arg-type]
        panel=panel,
        frame=frame,
    )


def _extent_yx(points: Sequence[np.ndarray]) -> np.ndarray:
    """The largest robust extent in (depth, y, x) over the individuals' points."""
    extents = []
    for p in points:
        box = _robust_box(p)
        if box is not None:
            extents.append(box[1] - box[0])
    if not extents:
        return np.ones(3)
    extent = np.max(extents, axis=0)
    return np.where(extent > 0, extent, max(float(extent.max()), 1.0))


def _place_cells(
    points: Sequence[np.ndarray],
    individuals: Sequence[str],
    image_shape: tuple[int, int] | None,
    fill: float,
    gap: float,
) -> tuple[dict[str, Placement], tuple[np.ndarray, np.ndarray] | None]:
    """Camera-frame individuals in a grid of cells (see :func:`scene_layout`)."""
    n = len(individuals)
    rows, cols = _grid(n)
    extent = _extent_yx(points)
    centers = [_center(p) for p in points]
    placements: dict[str, Placement] = {}
    placed: list[tuple[np.ndarray, np.ndarray]] = []
    if image_shape is not None:
        height, width = float(image_shape[0]), float(image_shape[1])
        cell_h, cell_w = height / rows, width / cols
        scale = fill * min(cell_h / extent[1], cell_w / extent[2])
        x0 = width + gap * height
        for j, (ind, center) in enumerate(zip(individuals, centers, strict=True)):
            r, c = divmod(j, cols)
            target = np.array([0.0, (r + 0.5) * cell_h, x0 + (c + 0.5) * cell_w])
            translate = target - scale * center
            placements[ind] = Placement(
                scale=(1.0, scale, scale, scale), translate=_frame_and(translate)
            )
        return placements, None
    step = 1.2 * float(extent.max())
    for j, (ind, center) in enumerate(zip(individuals, centers, strict=True)):
        if n == 1:
            translate = np.zeros(3)
        else:
            r, c = divmod(j, cols)
            translate = np.array([0.0, r * step, c * step]) - center
        placements[ind] = Placement(scale=(1.0, 1.0, 1.0, 1.0), translate=_frame_and(translate))
        box = _robust_box(points[j] + translate)
        if box is not None:
            placed.append(box)
    return placements, _union(placed)


def _place_world(
    points: Sequence[np.ndarray],
    individuals: Sequence[str],
    image_shape: tuple[int, int] | None,
    fill: float,
    gap: float,
) -> tuple[dict[str, Placement], tuple[np.ndarray, np.ndarray] | None]:
    """World-frame individuals: one placement for all (see :func:`scene_layout`)."""
    allpoints = np.concatenate([p.reshape(-1, 3) for p in points]) if points else np.zeros((0, 3))
    box = _robust_box(allpoints)
    if box is None:
        box = (np.zeros(3), np.ones(3))
    if image_shape is None:
        same = Placement(scale=(1.0, 1.0, 1.0, 1.0), translate=(0.0, 0.0, 0.0, 0.0))
        return dict.fromkeys(individuals, same), box
    height, width = float(image_shape[0]), float(image_shape[1])
    extent = np.where(box[1] - box[0] > 0, box[1] - box[0], 1.0)
    scale = fill * min(height / extent[1], width / extent[2])
    center = (box[0] + box[1]) / 2.0
    target = np.array([0.0, height / 2.0, width + gap * height + width / 2.0])
    translate = target - scale * center
    same = Placement(scale=(1.0, scale, scale, scale), translate=_frame_and(translate))
    return dict.fromkeys(individuals, same), None


def _frame_and(translate: np.ndarray) -> tuple[float, float, float, float]:
    """A ``(depth, y, x)`` translation as a scene's 4-tuple (the frame axis does not move)."""
    depth, y, x = (float(v) for v in translate)
    return (0.0, depth, y, x)


def _union(boxes: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray] | None:
    if not boxes:
        return None
    return np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)


class _DepthAxisArray:
    """A lazy view of a ``(T, H, W[, C])`` array as ``(T, 1, H, W[, C])``."""

    def __init__(self, array: Any) -> None:
        self.array = array
        self.shape = (array.shape[0], 1, *array.shape[1:])
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape))

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        out = np.asarray(self.array)[:, None]
        return out if dtype is None else out.astype(dtype)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = expand_ellipsis(key, self.ndim)
        key = key + (slice(None),) * (self.ndim - len(key))
        depth, rest = key[1], (key[0], *key[2:])
        if isinstance(depth, (int, np.integer)):
            if depth not in (0, -1):
                raise IndexError(f"index {depth} is out of range for the depth axis of size 1")
            return np.asarray(self.array[rest])
        if not isinstance(depth, slice):
            raise IndexError("only integers and slices can index the depth axis")
        out = np.asarray(self.array[rest])
        n_depth = len(range(*depth.indices(1)))
        axis = 0 if isinstance(key[0], (int, np.integer)) else 1
        out = np.expand_dims(out, axis)
        return np.repeat(out, n_depth, axis=axis) if n_depth != 1 else out


def with_depth_axis(video: Any) -> Any:
    """A video ``(T, H, W, 3)`` (or ``(T, H, W)``) as ``(T, 1, H, W, 3)``, without reading it.

    A numpy array gets a view; anything else (a :class:`~napari_liftpose.video.VideoArray`,
    a dask array, ...) is wrapped so that indexing forwards to it frame by frame.
    """
    if isinstance(video, np.ndarray):
        return video[:, None]
    return _DepthAxisArray(video)


def add_depth_axis(data: np.ndarray, depth: float = 0.0) -> np.ndarray:
    """Insert a depth coordinate after the frame in 2D points ``(t, y, x)`` or vectors.

    Points ``(n, 3)`` become ``(n, 4)`` rows ``(t, depth, y, x)``; vectors
    ``(n, 2, 3)`` become ``(n, 2, 4)`` (start at ``depth``, direction 0 along depth).
    """
    data = np.asarray(data, dtype=float)
    if data.ndim == 2:
        return np.insert(data, 1, depth, axis=1)
    out = np.insert(data, 1, 0.0, axis=2)
    out[:, 0, 1] = depth
    return out


def video_layer(video: Any, *, name: str = "video") -> tuple[Any, dict[str, Any]]:
    """The video as napari Image data with a singleton depth axis (see :func:`with_depth_axis`).

    Parameters
    ----------
    video
        ``(T, H, W, 3)`` RGB or ``(T, H, W)`` grayscale, numpy or lazy (``VideoArray``).
    name
        The layer's name.
    """
    if video.ndim not in (3, 4):
        raise ValueError(f"a video must be (T, H, W) or (T, H, W, 3), got shape {video.shape}")
    rgb = video.ndim == 4 and video.shape[-1] in (3, 4)
    kwargs: dict[str, Any] = {"name": name, "rgb": rgb, "axis_labels": AXIS_LABELS}
    if np.dtype(video.dtype) == np.uint8:
        kwargs["contrast_limits"] = (0, 255)  # napari would otherwise sample the data
    return with_depth_axis(video), kwargs


def scene_layers(
    poses_2d: Poses | None = None,
    poses_3d: Poses | None = None,
    video: Any | None = None,
    *,
    individual: str | Sequence[str] | None = None,
    point_size_2d: float | None = None,
    layout: SceneLayout | None = None,
    decorations: bool = True,
) -> list[LayerData]:
    """All layers of a scene, laid out to share one viewer and one time slider.

    Every layer has the axes ``(frame, depth, y, x)``:

    - ``video``: Image ``(T, 1, H, W, 3)`` (lazy, :func:`with_depth_axis`);
    - ``keypoints 2D`` and ``bones 2D`` (when there is a skeleton): at depth 0, on the video,
      with blending ``translucent_no_depth`` so the 3D view draws them over the video plane;
    - per 3D individual, ``bones 3D`` and ``joints 3D`` (suffixed ``" <individual>"`` when
      there are several), with the layer ``scale`` and ``translate`` of
      :func:`scene_layout` that put them beside the video.

    Parameters
    ----------
    poses_2d, poses_3d
        The tracked 2D poses and the lifted (or triangulated) 3D poses; either may be None.
    video
        ``(T, H, W, 3)`` array or :class:`~napari_liftpose.video.VideoArray`, or None.
    individual
        Individual(s) to show; None shows all.
    point_size_2d
        Size of the 2D keypoints in pixels; default 1/60 of the video's height (8 without).
    layout
        A layout from :func:`scene_layout`; computed when None.
    decorations
        Add the limb legend, the individuals' names and, in the world frame, the floor
        and the trajectories (:func:`~napari_liftpose.decorations.scene_decorations`) after
        the skeletons.

    Returns
    -------
    list of (data, kwargs, layer_type)
        Layer data tuples, in the order to add them (video first, decorations last).

    Examples
    --------
    >>> poses = Poses(np.ones((5, 1, 2, 3)), keypoints=["a", "b"], skeleton=[("a", "b")])
    >>> [(kw["name"], kind) for _, kw, kind in scene_layers(poses_3d=poses)]
    [('bones 3D', 'vectors'), ('joints 3D', 'points'), ('limb legend', 'points')]
    """
    if poses_2d is not None:
        poses_2d = restrict_individuals(poses_2d, individual)
        check_dims(poses_2d, 2, "scene_layers' poses_2d")
    if poses_3d is not None:
        poses_3d = restrict_individuals(poses_3d, individual)
        check_dims(poses_3d, 3, "scene_layers' poses_3d")
    image_shape = None if video is None else tuple(video.shape[1:3])
    if layout is None:
        layout = scene_layout(
            None if video is None else video.shape[0],
            image_shape,
            poses_3d,
            n_pose_frames=None if poses_2d is None else poses_2d.n_frames,
        )
    out: list[LayerData] = []
    if video is not None:
        data, kwargs = video_layer(video, name=getattr(video, "name", None) or "video")
        out.append((data, kwargs, "image"))
    if poses_2d is not None:
        if point_size_2d is None:
            point_size_2d = 8.0 if image_shape is None else max(image_shape[0] / 60.0, 3.0)
        drawn_2d = drawing_skeleton(poses_2d)  # a config without a skeleton: guessed bones
        if drawn_2d.skeleton.edges:
            data, kwargs = bones_layer(drawn_2d, edge_width=point_size_2d / 4)
            out.append((add_depth_axis(data), _with_axes(kwargs, overlay=True), "vectors"))
        data, kwargs = points_2d_layer(poses_2d, size=point_size_2d)
        out.append((add_depth_axis(data), _with_axes(kwargs, overlay=True), "points"))
    if poses_3d is not None:
        drawn = drawing_skeleton(poses_3d)
        several = poses_3d.n_individuals > 1
        extent = pose_size(poses_3d)
        colors = individual_colors(poses_3d.individuals)
        scene = {"scene_bounds": layout.bounds, "frame": poses_3d.frame}
        for ind in poses_3d.individuals:
            suffix = f" {ind}" if several else ""
            placement = layout.placements.get(ind, Placement((1.0,) * 4, (0.0,) * 4))
            one = drawn.select(individuals=[ind])
            transform = {"scale": placement.scale, "translate": placement.translate}
            if one.skeleton.edges:
                data, kwargs = bones_layer(one, name=f"bones 3D{suffix}", edge_width=extent / 40)
                kwargs["metadata"]["liftpose"].update(scene, guessed=is_guessed(drawn))
                out.append((data, _with_axes({**kwargs, **transform}), "vectors"))
            data, kwargs = points_3d_layer(one, name=f"joints 3D{suffix}", size=extent / 25)
            kwargs["metadata"]["liftpose"].update(scene)
            if several:  # individuals told apart: a border in the individual's colour
                kwargs["border_color"] = colors[ind]
                kwargs["border_width"] = 0.2
            out.append((data, _with_axes({**kwargs, **transform}), "points"))
        if decorations:
            from napari_liftpose.decorations import scene_decorations

            for data, kwargs, kind in scene_decorations(drawn, layout):
                if kind == "tracks":
                    kwargs = {**kwargs, "axis_labels": AXIS_LABELS}
                elif kwargs.get("ndim") == len(AXIS_LABELS):
                    kwargs = _with_axes(kwargs)
                out.append((data, kwargs, kind))
    return out


def pose_size(poses_3d: Poses) -> float:
    """The size of one animal: the median over frames and individuals of a pose's extent.

    Unlike :func:`~napari_liftpose.layers.robust_extent` of all the data, it does not grow
    with the distance an animal travels (world-frame poses); joints and bones are drawn in
    proportion to it.
    """
    data = poses_3d.data
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames
        ranges = np.nanmax(data, axis=2) - np.nanmin(data, axis=2)  # (T, I, 3)
        sizes = np.nanmax(ranges, axis=-1)
    sizes = sizes[np.isfinite(sizes) & (sizes > 0)]
    if poses_3d.frame != "world" or len(sizes) == 0:
        return robust_extent(data)  # root-relative poses: the data's extent is the pose's
    return float(np.median(sizes))


def _with_axes(kwargs: dict[str, Any], overlay: bool = False) -> dict[str, Any]:
    out = {**kwargs, "ndim": len(AXIS_LABELS), "axis_labels": AXIS_LABELS}
    if overlay:  # 2D layers on the video plane: drawn over the video in the 3D view
        out["blending"] = "translucent_no_depth"
    return out


def add_layers(viewer: Any, layer_data: Sequence[LayerData], *, ndisplay: int | None = 3) -> list:
    """Add layer data tuples to a viewer (``napari.Viewer`` or ``ViewerModel``) and frame them.

    After adding, the time slider is put on the first frame and the depth slider on the
    video plane (depth 0), so that the 2D view shows the video and its keypoints; it is put
    back there whenever the viewer returns to 2D display (napari would otherwise move it to
    the depth of the 3D camera's centre). The depth slice is made as thick as the scene, so
    the 2D view also shows the whole 3D skeleton projected along depth (Points and Vectors
    project a thick slice; the video ignores thickness): the camera's view of the lifted
    pose next to the video. ``ndisplay`` (3 by default: the rotatable 3D view; None leaves
    it) is then set.

    Returns
    -------
    list of napari.layers.Layer
        The layers added, in order.
    """
    from napari.layers import Layer

    layers = []
    for data, kwargs, layer_type in layer_data:
        layers.append(viewer.add_layer(Layer.create(data, dict(kwargs), layer_type)))
    if layers:
        frame_scene(viewer, ndisplay=ndisplay)
    elif ndisplay is not None:
        viewer.dims.ndisplay = ndisplay
    return layers


def frame_scene(viewer: Any, *, ndisplay: int | None = 3) -> None:
    """Frame a viewer holding a scene's layers (the second half of :func:`add_layers`).

    Puts the time slider on the first frame and the depth slider on the video plane, makes
    the depth slice as thick as the scene, keeps the depth slider on the video plane when
    the display goes back to 2D, sets ``ndisplay`` and fits the camera to all layers (the
    3D skeleton beside the video included). Only ``ndisplay`` and the camera are changed
    when the viewer's axes are not a scene's four.
    """
    if viewer.dims.ndim == len(AXIS_LABELS):
        viewer.dims.axis_labels = AXIS_LABELS
        viewer.dims.set_current_step(0, 0)
        viewer.dims.set_point(1, 0.0)
        depth = viewer.dims.range[1]
        half = max(abs(depth.start), abs(depth.stop)) + 1.0
        viewer.dims.margin_left = _replace_at(viewer.dims.margin_left, 1, half)
        viewer.dims.margin_right = _replace_at(viewer.dims.margin_right, 1, half)
        # connected after napari's own handler, so it runs last; connecting twice is a no-op
        viewer.dims.events.ndisplay.connect(_depth_to_video_plane)
    if ndisplay is not None:
        viewer.dims.ndisplay = ndisplay
    # napari frames the first layer added to an empty viewer only: show the whole scene
    viewer.reset_view()
    bounds = scene_bounds(viewer.layers)
    if bounds is not None:  # the robust extent, not a few wild points' (fit_camera)
        fit_camera(viewer, bounds)


def scene_bounds(layers: Sequence[Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """The union of the ``scene_bounds`` scene layers carry in their metadata, or None."""
    boxes = []
    for layer in layers:
        meta = getattr(layer, "metadata", {}).get("liftpose", {})
        bounds = meta.get("scene_bounds") if isinstance(meta, dict) else None
        if bounds is not None:
            boxes.append((np.asarray(bounds[0], float), np.asarray(bounds[1], float)))
    if not boxes:
        return None
    return np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)


def fit_camera(viewer: Any, bounds: Any, *, margin: float = 0.05) -> None:
    """Centre the camera on ``bounds`` (world ``(depth, y, x)`` low and high) and zoom to fit.

    The zoom makes the box's (y, x) extent fill the canvas less ``margin`` on its fuller
    axis, as napari's ``reset_view`` does for all the data, whatever the units (mm, pixels)
    and whatever a few points far away. In 3D the camera looks along depth (angles reset).
    Only the trailing ``(depth, y, x)`` axes are used.
    """
    low, high = (np.asarray(b, dtype=float)[-3:] for b in bounds)
    size = np.where(high - low > 0, high - low, 1.0)
    center = (low + high) / 2.0
    camera = viewer.scene.camera
    if viewer.dims.ndisplay == 3:
        camera.angles = (0.0, 0.0, 0.0)
        camera.center = tuple(map(float, center))
    else:
        camera.center = tuple(map(float, center[1:]))
    viewbox = np.asarray(viewer.canvas.viewbox_size(viewer.layers), dtype=float)
    camera.zoom = float((1.0 - margin) * np.min(viewbox / size[1:]))


def _replace_at(values: Sequence[float], index: int, value: float) -> tuple[float, ...]:
    out = list(values)
    out[index] = value
    return tuple(out)


def _depth_to_video_plane(event: Any) -> None:
    dims = event.source
    if dims.ndisplay == 2 and tuple(dims.axis_labels) == AXIS_LABELS:
        dims.set_point(1, 0.0)


def layer_by_name(layer_data: Sequence[LayerData]) -> Mapping[str, LayerData]:
    """Index layer data tuples by their layer names (a convenience for tests and the widget)."""
    return {kwargs["name"]: (data, kwargs, kind) for data, kwargs, kind in layer_data}
