"""Pure functions turning :class:`~liftpose_dlc.Poses` into napari layer data (no Qt).

Every ``*_layer`` function returns ``(data, kwargs)``: ``viewer.add_points(data, **kwargs)``
(or ``add_vectors``) builds the layer, and ``(data, kwargs, "points")`` is a napari layer
data tuple, what readers return. :func:`scene_layers` lays out a whole scene (video, 2D
keypoints, 3D skeleton) and :func:`add_layers` adds such tuples to a viewer.

Axis conventions
----------------
- 2D poses hold ``(x, y)`` in pixels (x = column, y = row). napari orders axes
  ``(row, column)``, so 2D points are rows ``(t, y, x)``.
- 3D poses are in the camera frame: x to the right, y down, z forward (depth, away from the
  camera). napari's default 3D camera (orientation ``("towards", "down", "right")``) shows the
  first displayed axis pointing **towards** the viewer, the second down and the third right.
  3D points are therefore rows ``(t, -z, y, x)``: with the default 3D camera the skeleton is
  seen exactly as the camera saw it (x right, y down, farther points farther away, not
  mirrored), the same view as the video; rotate it to see the depth. :func:`to_napari_3d` and
  :func:`from_napari_3d` convert.

Time alignment and layout (see :func:`scene_layers`)
----------------------------------------------------
napari aligns the trailing axes of layers with different numbers of dimensions. A video
``(T, H, W, 3)`` is a 3-D layer ``(t, y, x)`` and 3D points ``(t, z, y, x)`` a 4-D one, so
napari would put the video's time on the 3D depth axis. We give every layer the same four
axes ``(frame, depth, y, x)``:

- the video gets a singleton depth axis, ``(T, 1, H, W, 3)``, lazily (nothing decoded),
  and the 2D keypoints and 2D bones depth 0: they lie on the plane of the video;
- the 3D skeleton keeps its real coordinates in the layer data and gets a layer ``scale``
  and ``translate`` that place it beside the video (to its right, one slot per individual,
  each slot the video's height, same depth as the video), so the video never hides it.

One viewer and one time slider drive everything; ``ndisplay=3`` shows the video as a
plane with the 3D skeleton next to it, ``ndisplay=2`` shows the video with the 2D
keypoints (at depth 0). A second, linked viewer would also work but costs a second canvas,
a second layer list and dims syncing code for no gain.

Multi-animal data
-----------------
- 2D keypoints: one layer for all individuals, with an ``individual`` feature (and a border
  colour per individual): they share the image frame.
- 3D skeleton: one joints layer and one bones layer **per individual**, because lifted 3D
  poses are root-relative (every individual sits around the origin) and a layer has one
  transform: each individual gets its own slot beside the video. Toggle an individual by
  hiding its layers.

Colours
-------
Joints (2D and 3D) are coloured per keypoint (DLC's default colormap ``rainbow``); bones
are coloured per limb (:func:`skeleton_limbs`, :func:`limb_colors`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import pandas as pd

from liftpose_dlc.errors import KeypointError, PosesValidationError
from liftpose_dlc.poses import Poses

__all__ = [
    "LayerData",
    "AXIS_LABELS",
    "to_napari_3d",
    "from_napari_3d",
    "keypoint_colors",
    "individual_colors",
    "skeleton_limbs",
    "limb_colors",
    "points_2d_layer",
    "points_3d_layer",
    "bones_layer",
    "Placement",
    "SceneLayout",
    "scene_layout",
    "with_depth_axis",
    "add_depth_axis",
    "video_layer",
    "scene_layers",
    "add_layers",
    "layer_by_name",
]

LayerData = tuple[Any, dict[str, Any], str]
"""A napari layer data tuple ``(data, kwargs, layer_type)``."""

AXIS_LABELS = ("frame", "depth", "y", "x")
"""The axes of every layer of a scene (:func:`scene_layers`)."""

KEYPOINT_CMAP = "rainbow"  # DeepLabCut's default ``colormap``
LIMB_CMAP = "tab10"
INDIVIDUAL_CMAP = "Set2"


# --------------------------------------------------------------------------- axes
def to_napari_3d(xyz: np.ndarray) -> np.ndarray:
    """Camera-frame ``(..., 3)`` points ``(x, y, z)`` to napari's displayed ``(-z, y, x)``.

    Examples
    --------
    >>> to_napari_3d(np.array([1.0, 2.0, 3.0]))
    array([-3.,  2.,  1.])
    """
    xyz = np.asarray(xyz, dtype=float)
    return np.stack([-xyz[..., 2], xyz[..., 1], xyz[..., 0]], axis=-1)


def from_napari_3d(zyx: np.ndarray) -> np.ndarray:
    """The inverse of :func:`to_napari_3d`: napari ``(-z, y, x)`` back to ``(x, y, z)``."""
    zyx = np.asarray(zyx, dtype=float)
    return np.stack([zyx[..., 2], zyx[..., 1], -zyx[..., 0]], axis=-1)


def _to_napari(points: np.ndarray) -> np.ndarray:
    """``(..., 2)`` (x, y) to (y, x), or ``(..., 3)`` (x, y, z) to (-z, y, x)."""
    if points.shape[-1] == 2:
        return points[..., ::-1].astype(float)
    return to_napari_3d(points)


# ------------------------------------------------------------------------ colours
def _colors(n: int, cmap: str) -> np.ndarray:
    """``n`` RGBA colours from a matplotlib colormap: qualitative ones are cycled."""
    import matplotlib

    colormap = matplotlib.colormaps[cmap]
    if n == 0:
        return np.zeros((0, 4))
    if getattr(colormap, "N", 256) <= 20:  # qualitative (tab10, Set2, ...)
        return np.array([colormap(i % colormap.N) for i in range(n)], dtype=float)
    return np.array(colormap(np.linspace(0, 1, n)), dtype=float)


def keypoint_colors(keypoints: Sequence[str], cmap: str = KEYPOINT_CMAP) -> dict[str, np.ndarray]:
    """One RGBA colour per keypoint, sampled evenly from ``cmap`` in keypoint order.

    Examples
    --------
    >>> colors = keypoint_colors(["snout", "tail"])
    >>> colors["snout"].shape
    (4,)
    """
    return dict(zip(keypoints, _colors(len(keypoints), cmap), strict=True))


def individual_colors(
    individuals: Sequence[str], cmap: str = INDIVIDUAL_CMAP
) -> dict[str, np.ndarray]:
    """One RGBA colour per individual (used for the border of 2D keypoints)."""
    return dict(zip(individuals, _colors(len(individuals), cmap), strict=True))


def skeleton_limbs(
    keypoints: Sequence[str], skeleton: Sequence[tuple[str, str]]
) -> list[list[tuple[str, str]]]:
    """Group the skeleton's edges into limbs: chains of bones between branch points or ends.

    A limb is a maximal chain of edges whose inner keypoints have exactly two bones. A
    skeleton made of separate chains (a fly's six legs) gives one limb per connected
    component; a branching component is split at its branch points, so a star skeleton
    (snout to each ear and to the tail base) gives one limb per branch instead of a single
    colour for the whole animal. A ring gives one limb.

    Parameters
    ----------
    keypoints
        Keypoint names; they order the limbs (by their first keypoint).
    skeleton
        Edges as pairs of keypoint names, as in DLC's ``skeleton`` or SLEAP's edges.
        Repeated edges (either direction) and self-loops are ignored.

    Returns
    -------
    list of list of (str, str)
        The limbs, each a list of edges as given in ``skeleton``, in chain order.

    Raises
    ------
    KeypointError
        If an edge names a keypoint that is not in ``keypoints``.

    Examples
    --------
    >>> skeleton_limbs(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("c", "d")])
    [[('a', 'b'), ('b', 'c'), ('c', 'd')]]
    >>> skeleton_limbs(["s", "l", "r", "t"], [("s", "l"), ("s", "r"), ("s", "t")])
    [[('s', 'l')], [('s', 'r')], [('s', 't')]]
    """
    order = {name: i for i, name in enumerate(keypoints)}
    unknown = sorted({n for edge in skeleton for n in edge} - set(order))
    if unknown:
        raise KeypointError(
            f"skeleton names keypoints {unknown} that are not among the keypoints {list(keypoints)}"
        )
    edges: dict[frozenset[str], tuple[str, str]] = {}
    for a, b in skeleton:
        if a != b:
            edges.setdefault(frozenset((a, b)), (a, b))
    neighbours: dict[str, list[str]] = {}
    for a, b in edges.values():
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    for names in neighbours.values():
        names.sort(key=order.__getitem__)
    seen: set[frozenset[str]] = set()

    def walk(start: str, nxt: str) -> list[tuple[str, str]]:
        chain = []
        previous, current = start, nxt
        while True:
            key = frozenset((previous, current))
            if key in seen:
                break
            seen.add(key)
            chain.append(edges[key])
            if len(neighbours[current]) != 2:
                break
            previous, current = current, next(n for n in neighbours[current] if n != previous)
        return chain

    nodes = sorted(neighbours, key=order.__getitem__)
    limbs = []
    for node in nodes:  # chains start at ends and branch points
        if len(neighbours[node]) != 2:
            for other in neighbours[node]:
                if frozenset((node, other)) not in seen:
                    limbs.append(walk(node, other))
    for node in nodes:  # what is left are rings
        for other in neighbours[node]:
            if frozenset((node, other)) not in seen:
                limbs.append(walk(node, other))
    return limbs


def limb_colors(
    keypoints: Sequence[str],
    skeleton: Sequence[tuple[str, str]],
    cmap: str = LIMB_CMAP,
) -> dict[tuple[str, str], np.ndarray]:
    """One RGBA colour per limb (:func:`skeleton_limbs`), given for each skeleton edge.

    Returns
    -------
    dict
        Maps every edge of ``skeleton`` (as given, and reversed) to its limb's colour.

    Examples
    --------
    >>> colors = limb_colors(["a", "b", "c"], [("a", "b"), ("b", "c")])
    >>> bool((colors[("a", "b")] == colors[("c", "b")]).all())
    True
    """
    limbs = skeleton_limbs(keypoints, skeleton)
    palette = _colors(len(limbs), cmap)
    out: dict[tuple[str, str], np.ndarray] = {}
    for limb, color in zip(limbs, palette, strict=True):
        for a, b in limb:
            out[(a, b)] = color
            out[(b, a)] = color
    return out


def _limb_index(
    keypoints: Sequence[str], skeleton: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    out = {}
    for i, limb in enumerate(skeleton_limbs(keypoints, skeleton)):
        for a, b in limb:
            out[(a, b)] = out[(b, a)] = i
    return out


# ------------------------------------------------------------------------- layers
def _pick(poses: Poses, individual: str | Sequence[str] | None) -> Poses:
    if individual is None:
        return poses
    return poses.select(individuals=[individual] if isinstance(individual, str) else individual)


def _check_dims(poses: Poses, n_dims: int, what: str) -> None:
    if poses.n_dims != n_dims:
        raise PosesValidationError(
            f"{poses.source.describe()}: {what} needs {n_dims}D poses, got {poses.n_dims}D"
        )


def _point_rows(poses: Poses) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Finite points as napari rows ``(t, ...)`` and their (frame, individual, keypoint)."""
    finite = np.isfinite(poses.data).all(axis=-1)
    t, i, k = np.nonzero(finite)
    coords = _to_napari(poses.data[t, i, k])
    return np.column_stack([t.astype(float), coords]), (t, i, k)


def _points_layer(
    poses: Poses,
    *,
    name: str,
    cmap: str,
    size: float,
    border_by_individual: bool,
) -> tuple[np.ndarray, dict[str, Any]]:
    data, (t, i, k) = _point_rows(poses)
    keypoints = np.asarray(poses.keypoints, dtype=object)
    individuals = np.asarray(poses.individuals, dtype=object)
    features = pd.DataFrame(
        {
            "keypoint": pd.Categorical(keypoints[k], categories=poses.keypoints),
            "individual": pd.Categorical(individuals[i], categories=poses.individuals),
            "confidence": poses.confidence[t, i, k],
        }
    )
    kp_colors = np.array(list(keypoint_colors(poses.keypoints, cmap).values())).reshape(-1, 4)
    kwargs: dict[str, Any] = {
        "name": name,
        "features": features,
        "face_color": kp_colors[k],
        "size": size,
        "ndim": data.shape[1],
        "metadata": {
            "liftpose": {
                "keypoints": list(poses.keypoints),
                "individuals": list(poses.individuals),
                "source": poses.source.path,
            }
        },
    }
    if border_by_individual and poses.n_individuals > 1:
        ind_colors = np.array(list(individual_colors(poses.individuals).values()))
        kwargs["border_color"] = ind_colors[i]
        kwargs["border_width"] = 0.2
    else:
        kwargs["border_color"] = "white"
        kwargs["border_width"] = 0.05
    return data, kwargs


def points_2d_layer(
    poses: Poses,
    individual: str | Sequence[str] | None = None,
    *,
    name: str = "keypoints 2D",
    cmap: str = KEYPOINT_CMAP,
    size: float = 8.0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """2D keypoints as napari Points data: rows ``(t, y, x)``, missing points dropped.

    Parameters
    ----------
    poses
        2D poses (x, y in pixels).
    individual
        One name or several to keep; None keeps all (one layer, ``individual`` feature).
    name
        The layer's name.
    cmap
        Matplotlib colormap for the per-keypoint face colours.
    size
        Point size in pixels of the video.

    Returns
    -------
    data : numpy.ndarray
        ``(n_points, 3)`` rows ``(frame, y, x)``; points with a NaN coordinate are left out.
    kwargs : dict
        Keyword arguments for ``viewer.add_points``: ``features`` (``keypoint``,
        ``individual``, ``confidence``), ``face_color`` per keypoint, ``border_color`` per
        individual when there are several, ``size``, ``name``, ``metadata``.

    Raises
    ------
    PosesValidationError
        If ``poses`` are not 2D.
    KeypointError
        If ``individual`` names an unknown individual.

    Examples
    --------
    >>> poses = Poses(np.array([[[1.0, 2.0], [np.nan, np.nan]]]), keypoints=["a", "b"])
    >>> data, kwargs = points_2d_layer(poses)
    >>> data
    array([[0., 2., 1.]])
    >>> list(kwargs["features"]["keypoint"])
    ['a']
    """
    _check_dims(poses, 2, "points_2d_layer")
    return _points_layer(
        _pick(poses, individual), name=name, cmap=cmap, size=size, border_by_individual=True
    )


def points_3d_layer(
    poses_3d: Poses,
    individual: str | Sequence[str] | None = None,
    *,
    name: str = "joints 3D",
    cmap: str = KEYPOINT_CMAP,
    size: float | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """3D joints as napari Points data: rows ``(t, -z, y, x)``, missing joints dropped.

    See the module notes for the axis mapping (camera frame x right, y down, z forward, shown
    as the camera saw it by napari's default 3D camera).

    Parameters
    ----------
    poses_3d
        3D poses (camera frame).
    individual
        One name or several to keep; None keeps all.
    name
        The layer's name.
    cmap
        Matplotlib colormap for the per-keypoint face colours.
    size
        Point size in the poses' units; default 1/30 of the poses' extent.

    Returns
    -------
    data : numpy.ndarray
        ``(n_points, 4)`` rows ``(frame, -z, y, x)``.
    kwargs : dict
        As :func:`points_2d_layer`.

    Examples
    --------
    >>> poses = Poses(np.array([[[1.0, 2.0, 3.0]]]), keypoints=["a"])
    >>> points_3d_layer(poses)[0]
    array([[ 0., -3.,  2.,  1.]])
    """
    _check_dims(poses_3d, 3, "points_3d_layer")
    poses_3d = _pick(poses_3d, individual)
    if size is None:
        size = _extent(poses_3d.data) / 30.0
    return _points_layer(poses_3d, name=name, cmap=cmap, size=size, border_by_individual=False)


def bones_layer(
    poses: Poses,
    individual: str | Sequence[str] | None = None,
    *,
    name: str | None = None,
    cmap: str = LIMB_CMAP,
    edge_width: float | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The skeleton's bones as napari Vectors data, coloured per limb.

    Each bone of each frame and individual whose two ends are finite is one vector
    ``[[t, *start], [0, *(end - start)]]`` in napari's axis order (``(y, x)`` for 2D,
    ``(-z, y, x)`` for 3D); the zero time component keeps it inside its frame.

    Parameters
    ----------
    poses
        2D or 3D poses with a ``skeleton``.
    individual
        One name or several to keep; None keeps all.
    name
        The layer's name; default ``"bones 2D"`` or ``"bones 3D"``.
    cmap
        Matplotlib colormap for the limb colours (:func:`limb_colors`).
    edge_width
        Line width in the poses' units; default 2 px for 2D, 1/100 of the extent for 3D.

    Returns
    -------
    data : numpy.ndarray
        ``(n_bones, 2, 1 + n_dims)``; empty (0 rows) when the skeleton is empty.
    kwargs : dict
        Keyword arguments for ``viewer.add_vectors``: ``features`` (``bone``, ``limb``,
        ``individual``), ``edge_color`` per limb, ``edge_width``, ``vector_style="line"``.

    Examples
    --------
    >>> poses = Poses(np.array([[[0.0, 0.0], [3.0, 4.0]]]), keypoints=["a", "b"],
    ...               skeleton=[("a", "b")])
    >>> bones_layer(poses)[0]
    array([[[0., 0., 0.],
            [0., 4., 3.]]])
    """
    poses = _pick(poses, individual)
    n_dims = poses.n_dims
    if name is None:
        name = f"bones {n_dims}D"
    if edge_width is None:
        edge_width = 2.0 if n_dims == 2 else _extent(poses.data) / 100.0
    skeleton = list(dict.fromkeys(poses.skeleton))  # drop exact repeats, keep order
    colors = limb_colors(poses.keypoints, skeleton, cmap)
    limb = _limb_index(poses.keypoints, skeleton)
    index = {n: j for j, n in enumerate(poses.keypoints)}
    vectors, colour_rows, bone_names, limb_ids, ind_ids = [], [], [], [], []
    for a, b in skeleton:
        if a == b:
            continue
        start = poses.data[:, :, index[a]]
        end = poses.data[:, :, index[b]]
        ok = np.isfinite(start).all(-1) & np.isfinite(end).all(-1)
        t, i = np.nonzero(ok)
        if len(t) == 0:
            continue
        p0 = _to_napari(start[t, i])
        p1 = _to_napari(end[t, i])
        v = np.zeros((len(t), 2, 1 + n_dims))
        v[:, 0, 0] = t
        v[:, 0, 1:] = p0
        v[:, 1, 1:] = p1 - p0
        vectors.append(v)
        colour_rows.append(np.repeat(colors[(a, b)][None], len(t), axis=0))
        bone_names.append(np.full(len(t), f"{a}-{b}", dtype=object))
        limb_ids.append(np.full(len(t), limb[(a, b)]))
        ind_ids.append(i)
    if vectors:
        data = np.concatenate(vectors)
        edge_color = np.concatenate(colour_rows)
        individuals = np.asarray(poses.individuals, dtype=object)[np.concatenate(ind_ids)]
        features = pd.DataFrame(
            {
                "bone": np.concatenate(bone_names),
                "limb": np.concatenate(limb_ids).astype(int),
                "individual": pd.Categorical(individuals, categories=poses.individuals),
            }
        )
    else:
        data = np.zeros((0, 2, 1 + n_dims))
        edge_color = np.zeros((0, 4))
        features = pd.DataFrame(
            {
                "bone": np.array([], dtype=object),
                "limb": np.array([], dtype=int),
                "individual": pd.Categorical([], categories=poses.individuals),
            }
        )
    kwargs: dict[str, Any] = {
        "name": name,
        "features": features,
        "edge_color": edge_color if len(data) else "white",
        "edge_width": edge_width,
        "vector_style": "line",
        "length": 1.0,
        "ndim": 1 + n_dims,
        "opacity": 1.0,
        "metadata": {"liftpose": {"skeleton": skeleton, "source": poses.source.path}},
    }
    return data, kwargs


# ------------------------------------------------------------------------- layout
def _extent(data: np.ndarray) -> float:
    """A robust size of a point cloud: the largest 1st-99th percentile range of an axis."""
    flat = data.reshape(-1, data.shape[-1])
    flat = flat[np.isfinite(flat).all(axis=1)]
    if len(flat) == 0:
        return 1.0
    low, high = np.percentile(flat, [1, 99], axis=0)
    extent = float(np.max(high - low))
    return extent if extent > 0 else 1.0


def _center(data: np.ndarray) -> np.ndarray:
    """Robust centre (median) of ``(..., 3)`` camera-frame points, in napari order."""
    flat = data.reshape(-1, 3)
    flat = flat[np.isfinite(flat).all(axis=1)]
    if len(flat) == 0:
        return np.zeros(3)
    return to_napari_3d(np.median(flat, axis=0))


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
    """

    n_frames: int
    frames_match: bool
    image_shape: tuple[int, int] | None
    placements: dict[str, Placement]


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

    With a video, individual ``j``'s 3D skeleton is scaled (one isotropic scale for all
    individuals, so they keep their relative sizes) to fill ``fill`` of a square slot of
    the video's height, and centred in slot ``j``: slots stand in a row to the right of the
    video, ``gap`` × height apart, at the depth of the video plane. Without a video the
    data keep their units (scale 1); several individuals are still put side by side, one
    slot (1.2 × the largest extent) apart; a single one stays where it is.

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
        Slot filling and spacing, fractions of the video's height.

    Returns
    -------
    SceneLayout

    Examples
    --------
    >>> layout = scene_layout(100, (480, 640))
    >>> layout.n_frames, layout.placements
    (100, {})
    """
    counts = [n for n in (n_video_frames, n_pose_frames) if n is not None]
    if poses_3d is not None:
        counts.append(poses_3d.n_frames)
    n_frames = max(counts) if counts else 0
    frames_match = len(set(counts)) <= 1
    placements: dict[str, Placement] = {}
    if poses_3d is not None:
        _check_dims(poses_3d, 3, "scene_layout")
        extent = max(_extent(poses_3d.data[:, j]) for j in range(poses_3d.n_individuals))
        centers = [_center(poses_3d.data[:, j]) for j in range(poses_3d.n_individuals)]
        if image_shape is not None:
            height, width = image_shape
            scale = fill * height / extent
            for j, (ind, center) in enumerate(zip(poses_3d.individuals, centers, strict=True)):
                target = np.array(
                    [0.0, height / 2.0, width + gap * height + (j + 0.5) * height * (1 + gap)]
                )
                translate = target - scale * center
                placements[ind] = Placement(
                    scale=(1.0, scale, scale, scale),
                    translate=(0.0, *map(float, translate)),
                )
        else:
            for j, (ind, center) in enumerate(zip(poses_3d.individuals, centers, strict=True)):
                if poses_3d.n_individuals == 1:
                    translate = np.zeros(3)
                else:
                    translate = np.array([0.0, 0.0, j * 1.2 * extent]) - center
                placements[ind] = Placement(
                    scale=(1.0, 1.0, 1.0, 1.0), translate=(0.0, *map(float, translate))
                )
    return SceneLayout(
        n_frames=n_frames,
        frames_match=frames_match,
        image_shape=None if image_shape is None else (int(image_shape[0]), int(image_shape[1])),
        placements=placements,
    )


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
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is Ellipsis for k in key):
            at = next(i for i, k in enumerate(key) if k is Ellipsis)
            key = key[:at] + (slice(None),) * (self.ndim - len(key) + 1) + key[at + 1 :]
        key = key + (slice(None),) * (self.ndim - len(key))
        depth = key[1]
        if isinstance(depth, (int, np.integer)):
            if depth not in (0, -1):
                raise IndexError(f"index {depth} is out of range for the depth axis of size 1")
            return np.asarray(self.array[(key[0], *key[2:])])
        if not isinstance(depth, slice):
            raise IndexError("only integers and slices can index the depth axis")
        out = np.asarray(self.array[(key[0], *key[2:])])
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
) -> list[LayerData]:
    """All layers of a scene, laid out to share one viewer and one time slider.

    Every layer has the axes ``(frame, depth, y, x)``:

    - ``video``: Image ``(T, 1, H, W, 3)`` (lazy, :func:`with_depth_axis`);
    - ``keypoints 2D`` and ``bones 2D`` (when there is a skeleton): at depth 0, on the video;
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

    Returns
    -------
    list of (data, kwargs, layer_type)
        Layer data tuples, in the order to add them (video first, 3D joints last).

    Examples
    --------
    >>> poses = Poses(np.ones((5, 1, 2, 3)), keypoints=["a", "b"], skeleton=[("a", "b")])
    >>> [(kw["name"], kind) for _, kw, kind in scene_layers(poses_3d=poses)]
    [('bones 3D', 'vectors'), ('joints 3D', 'points')]
    """
    if poses_2d is not None:
        poses_2d = _pick(poses_2d, individual)
        _check_dims(poses_2d, 2, "scene_layers' poses_2d")
    if poses_3d is not None:
        poses_3d = _pick(poses_3d, individual)
        _check_dims(poses_3d, 3, "scene_layers' poses_3d")
    image_shape = None if video is None else tuple(video.shape[1:3])
    if layout is None:
        layout = scene_layout(
            None if video is None else video.shape[0],
            image_shape,  # type: ignore[arg-type]
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
        if poses_2d.skeleton:
            data, kwargs = bones_layer(poses_2d, edge_width=point_size_2d / 4)
            out.append((add_depth_axis(data), _with_axes(kwargs), "vectors"))
        data, kwargs = points_2d_layer(poses_2d, size=point_size_2d)
        out.append((add_depth_axis(data), _with_axes(kwargs), "points"))
    if poses_3d is not None:
        several = poses_3d.n_individuals > 1
        for ind in poses_3d.individuals:
            suffix = f" {ind}" if several else ""
            placement = layout.placements.get(ind, Placement((1.0,) * 4, (0.0,) * 4))
            one = poses_3d.select(individuals=[ind])
            extent = _extent(poses_3d.data)
            transform = {"scale": placement.scale, "translate": placement.translate}
            if one.skeleton:
                data, kwargs = bones_layer(one, name=f"bones 3D{suffix}", edge_width=extent / 80)
                out.append((data, _with_axes({**kwargs, **transform}), "vectors"))
            data, kwargs = points_3d_layer(one, name=f"joints 3D{suffix}", size=extent / 25)
            out.append((data, _with_axes({**kwargs, **transform}), "points"))
    return out


def _with_axes(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {**kwargs, "ndim": len(AXIS_LABELS), "axis_labels": AXIS_LABELS}


def add_layers(viewer: Any, layer_data: Sequence[LayerData], *, ndisplay: int | None = 3) -> list:
    """Add layer data tuples to a viewer (``napari.Viewer`` or ``ViewerModel``) and frame them.

    After adding, the time slider is put on the first frame, the depth slider on the video
    plane (depth 0) so that the 2D view shows the video and its keypoints, and ``ndisplay``
    (3 by default: the rotatable 3D view; None leaves it) is set.

    Returns
    -------
    list of napari.layers.Layer
        The layers added, in order.
    """
    from napari.layers import Layer

    layers = []
    for data, kwargs, layer_type in layer_data:
        layers.append(viewer.add_layer(Layer.create(data, dict(kwargs), layer_type)))
    if layers and viewer.dims.ndim == len(AXIS_LABELS):
        viewer.dims.axis_labels = AXIS_LABELS
        viewer.dims.set_current_step(0, 0)
        viewer.dims.set_point(1, 0.0)
    if ndisplay is not None:
        viewer.dims.ndisplay = ndisplay
    return layers


def layer_by_name(layer_data: Sequence[LayerData]) -> Mapping[str, LayerData]:
    """Index layer data tuples by their layer names (a convenience for tests and the widget)."""
    return {kwargs["name"]: (data, kwargs, kind) for data, kwargs, kind in layer_data}
