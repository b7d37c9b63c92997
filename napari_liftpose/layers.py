"""Pure functions turning :class:`~liftpose_dlc.Poses` into napari layer data (no Qt).

Every ``*_layer`` function returns ``(data, kwargs)``: ``viewer.add_points(data, **kwargs)``
(or ``add_vectors``) builds the layer, and ``(data, kwargs, "points")`` is a napari layer
data tuple, what readers return. :mod:`napari_liftpose.scene` puts these layers together
with the video in one viewer.

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
- 3D poses in the **world** frame (``Poses.frame == "world"``: z up, the floor at z = 0)
  are rows ``(t, z, -y, x)``: the default 3D camera looks down on the floor from above, x to
  the right and y up the screen (right-handed, not mirrored).

Missing data
------------
A point with any NaN coordinate is left out of the Points data; a bone is drawn only where
both of its ends are finite.

Colours
-------
Joints (2D and 3D) are coloured per keypoint (DLC's default colormap ``rainbow``); bones
take the colour of their limb from the poses' :class:`~liftpose_dlc.skeleton.Skeleton`, the
same colours as the matplotlib figures; in multi-animal 2D layers the border colour tells
individuals apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from liftpose_dlc.errors import PosesValidationError
from liftpose_dlc.poses import Poses

__all__ = [
    "LayerData",
    "WORLD",
    "to_napari_3d",
    "from_napari_3d",
    "confidence_sizes",
    "shows_confidence",
    "keypoint_colors",
    "individual_colors",
    "points_2d_layer",
    "points_3d_layer",
    "bones_layer",
]

LayerData = tuple[Any, dict[str, Any], str]
"""A napari layer data tuple ``(data, kwargs, layer_type)``."""

KEYPOINT_CMAP = "rainbow"  # DeepLabCut's default ``colormap``
INDIVIDUAL_CMAP = "Set2"


# --------------------------------------------------------------------------- axes
WORLD = "world"
"""``Poses.frame`` of poses placed in the world frame (z up, floor at z = 0)."""


def to_napari_3d(xyz: np.ndarray, frame: str | None = None) -> np.ndarray:
    """``(..., 3)`` points ``(x, y, z)`` to napari's displayed axes.

    Camera frame (``frame`` None or ``"camera"``): ``(-z, y, x)``; world frame
    (``"world"``, z up): ``(z, -y, x)`` (see the module notes).

    Examples
    --------
    >>> to_napari_3d(np.array([1.0, 2.0, 3.0]))
    array([-3.,  2.,  1.])
    >>> to_napari_3d(np.array([1.0, 2.0, 3.0]), "world")
    array([ 3., -2.,  1.])
    """
    xyz = np.asarray(xyz, dtype=float)
    if frame == WORLD:
        return np.stack([xyz[..., 2], -xyz[..., 1], xyz[..., 0]], axis=-1)
    return np.stack([-xyz[..., 2], xyz[..., 1], xyz[..., 0]], axis=-1)


def from_napari_3d(zyx: np.ndarray, frame: str | None = None) -> np.ndarray:
    """The inverse of :func:`to_napari_3d`: napari's axes back to ``(x, y, z)``."""
    zyx = np.asarray(zyx, dtype=float)
    if frame == WORLD:
        return np.stack([zyx[..., 2], -zyx[..., 1], zyx[..., 0]], axis=-1)
    return np.stack([zyx[..., 2], zyx[..., 1], -zyx[..., 0]], axis=-1)


def _to_napari(points: np.ndarray, frame: str | None = None) -> np.ndarray:
    """``(..., 2)`` (x, y) to (y, x), or ``(..., 3)`` as :func:`to_napari_3d`."""
    if points.shape[-1] == 2:
        return points[..., ::-1].astype(float)
    return to_napari_3d(points, frame)


def confidence_sizes(confidence: np.ndarray, size: float, smallest: float = 0.35) -> np.ndarray:
    """Point sizes that show confidence: ``size`` at confidence 1, ``smallest × size`` at 0.

    Confidences are clipped to [0, 1]; a NaN confidence (none known) gets the full size.

    Examples
    --------
    >>> confidence_sizes(np.array([1.0, 0.0, np.nan]), 10.0)
    array([10. ,  3.5, 10. ])
    """
    c = np.clip(np.asarray(confidence, dtype=float), 0.0, 1.0)
    c = np.where(np.isnan(c), 1.0, c)
    return size * (smallest + (1.0 - smallest) * c)


def shows_confidence(confidence: np.ndarray) -> bool:
    """Whether the confidences of some points tell them apart (not all equal or unknown)."""
    c = np.asarray(confidence, dtype=float)
    c = c[np.isfinite(c)]
    return c.size > 0 and float(np.ptp(c)) > 1e-6


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


# ------------------------------------------------------------------------- layers
def restrict_individuals(poses: Poses, individual: str | Sequence[str] | None) -> Poses:
    """The poses of one individual (a name) or several (names); all when None."""
    if individual is None:
        return poses
    return poses.select(individuals=[individual] if isinstance(individual, str) else individual)


def check_dims(poses: Poses, n_dims: int, what: str) -> None:
    """Raise :class:`PosesValidationError` unless the poses are ``n_dims``-D."""
    if poses.n_dims != n_dims:
        raise PosesValidationError(
            f"{poses.source.describe()}: {what} needs {n_dims}D poses, got {poses.n_dims}D"
        )


def _point_rows(poses: Poses) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Finite points as napari rows ``(t, ...)`` and their (frame, individual, keypoint)."""
    finite = np.isfinite(poses.data).all(axis=-1)
    t, i, k = np.nonzero(finite)
    coords = _to_napari(poses.data[t, i, k], poses.frame)
    return np.column_stack([t.astype(float), coords]), (t, i, k)


def _points_layer(
    poses: Poses,
    *,
    name: str,
    cmap: str,
    size: float,
    border_by_individual: bool,
    size_by_confidence: bool = False,
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
        # napari cannot take an empty colour array for an empty layer (all points missing)
        "face_color": kp_colors[k] if len(k) else "white",
        "size": size,
        # keypoint names on demand: the layer controls' "display text" (or the View panel)
        "text": {"string": "{keypoint}", "size": 9, "color": "white", "visible": False},
        "ndim": data.shape[1],
        "metadata": {
            "liftpose": {
                "keypoints": list(poses.keypoints),
                "individuals": list(poses.individuals),
                "source": poses.source.path,
            }
        },
    }
    confidence = poses.confidence[t, i, k]
    if size_by_confidence and len(k) and shows_confidence(confidence):
        kwargs["size"] = confidence_sizes(confidence, size)
        kwargs["metadata"]["liftpose"]["size_by_confidence"] = True
    if border_by_individual and poses.n_individuals > 1 and len(i):
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
    check_dims(poses, 2, "points_2d_layer")
    return _points_layer(
        restrict_individuals(poses, individual),
        name=name,
        cmap=cmap,
        size=size,
        border_by_individual=True,
    )


def points_3d_layer(
    poses_3d: Poses,
    individual: str | Sequence[str] | None = None,
    *,
    name: str = "joints 3D",
    cmap: str = KEYPOINT_CMAP,
    size: float | None = None,
    size_by_confidence: bool = True,
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
    size_by_confidence
        When the points' confidences differ, a point's size shows its confidence
        (:func:`confidence_sizes`: ``size`` at 1, a third of it at 0).

    Returns
    -------
    data : numpy.ndarray
        ``(n_points, 4)`` rows ``(frame, -z, y, x)`` (``(frame, z, -y, x)`` in the world
        frame).
    kwargs : dict
        As :func:`points_2d_layer`.

    Examples
    --------
    >>> poses = Poses(np.array([[[1.0, 2.0, 3.0]]]), keypoints=["a"])
    >>> points_3d_layer(poses)[0]
    array([[ 0., -3.,  2.,  1.]])
    """
    check_dims(poses_3d, 3, "points_3d_layer")
    poses_3d = restrict_individuals(poses_3d, individual)
    if size is None:
        size = robust_extent(poses_3d.data) / 30.0
    return _points_layer(
        poses_3d,
        name=name,
        cmap=cmap,
        size=size,
        border_by_individual=False,
        size_by_confidence=size_by_confidence,
    )


def bones_layer(
    poses: Poses,
    individual: str | Sequence[str] | None = None,
    *,
    name: str | None = None,
    edge_width: float | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The skeleton's bones as napari Vectors data, coloured per limb.

    Each bone of each frame and individual whose two ends are finite is one vector
    ``[[t, *start], [0, *(end - start)]]`` in napari's axis order (``(y, x)`` for 2D,
    ``(-z, y, x)`` for 3D); the zero time component keeps it inside its frame. Bones, limbs
    and colours are the skeleton's (:attr:`~liftpose_dlc.skeleton.Skeleton.bones`,
    :attr:`~liftpose_dlc.skeleton.Skeleton.edge_limbs`,
    :attr:`~liftpose_dlc.skeleton.Skeleton.edge_colors`): each pair of keypoints is drawn once.

    Parameters
    ----------
    poses
        2D or 3D poses with a ``skeleton``.
    individual
        One name or several to keep; None keeps all.
    name
        The layer's name; default ``"bones 2D"`` or ``"bones 3D"``.
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
    poses = restrict_individuals(poses, individual)
    n_dims = poses.n_dims
    if name is None:
        name = f"bones {n_dims}D"
    if edge_width is None:
        edge_width = 2.0 if n_dims == 2 else robust_extent(poses.data) / 100.0
    sk = poses.skeleton
    skeleton = [sk.edges[k] for k in sk.bones]
    indices, colours, limbs = sk.edge_indices, sk.edge_colors, sk.edge_limbs
    vectors, colour_rows, bone_names, limb_ids, ind_ids = [], [], [], [], []
    for k in sk.bones:
        a, b = sk.edges[k]
        ia, ib = indices[k]
        start = poses.data[:, :, ia]
        end = poses.data[:, :, ib]
        ok = np.isfinite(start).all(-1) & np.isfinite(end).all(-1)
        t, i = np.nonzero(ok)
        if len(t) == 0:
            continue
        p0 = _to_napari(start[t, i], poses.frame)
        p1 = _to_napari(end[t, i], poses.frame)
        v = np.zeros((len(t), 2, 1 + n_dims))
        v[:, 0, 0] = t
        v[:, 0, 1:] = p0
        v[:, 1, 1:] = p1 - p0
        vectors.append(v)
        colour_rows.append(np.tile([*colours[k], 1.0], (len(t), 1)))
        bone_names.append(np.full(len(t), f"{a}-{b}", dtype=object))
        limb_ids.append(np.full(len(t), limbs[k]))
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


def robust_extent(data: np.ndarray) -> float:
    """A robust size of a point cloud: the largest 1st-99th percentile range of an axis."""
    flat = data.reshape(-1, data.shape[-1])
    flat = flat[np.isfinite(flat).all(axis=1)]
    if len(flat) == 0:
        return 1.0
    low, high = np.percentile(flat, [1, 99], axis=0)
    extent = float(np.max(high - low))
    return extent if extent > 0 else 1.0
