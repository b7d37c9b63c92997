"""How to draw an animal: the bones to draw (guessed when there is no skeleton) and a legend.

matplotlib figures (:mod:`liftpose_dlc.plot`) and napari layers (:mod:`napari_liftpose`)
both take their bones and their limb legend from here, so they agree.

Configs without a skeleton
--------------------------
DeepLabCut's ``skeleton: []`` (the openfield mouse: snout, ears, tail base) would draw
unconnected dots. :func:`drawing_skeleton` then joins the keypoints by their **minimum
spanning tree** over the median distances between them (over all frames and
individuals): every keypoint is joined to its nearest neighbours, without cycles, so a
mouse becomes snout - ears - tail base. Such a skeleton is only a drawing: it is marked
(:func:`is_guessed`) and the legend says so.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from liftpose_dlc.poses import Poses
from liftpose_dlc.skeleton import RGB, Skeleton

__all__ = ["GUESSED", "drawing_skeleton", "guess_bones", "is_guessed", "limb_labels", "legend"]

#: Provenance key set on poses whose skeleton :func:`drawing_skeleton` guessed.
GUESSED = "skeleton"
_GUESSED_VALUE = "guessed (minimum spanning tree of median keypoint distances)"


def guess_bones(data: np.ndarray, keypoints: Sequence[str]) -> list[tuple[str, str]]:
    """Bones joining ``keypoints`` by the minimum spanning tree of their median distances.

    Parameters
    ----------
    data
        ``(n_frames, n_individuals, n_keypoints, n_dims)`` points (NaN: missing).
    keypoints
        The keypoint names, in the order of ``data``'s keypoint axis.

    Returns
    -------
    list of (str, str)
        ``n - 1`` bones for ``n`` keypoints seen together at least once (keypoints never
        seen with the others stay unjoined), in the order they join the tree.

    Examples
    --------
    >>> data = np.array([[[[0.0, 0.0], [1.0, 0.0], [5.0, 0.0]]]])
    >>> guess_bones(data, ["a", "b", "c"])
    [('a', 'b'), ('b', 'c')]
    """
    names = list(keypoints)
    n = len(names)
    if n < 2:
        return []
    points = np.asarray(data, dtype=float).reshape(-1, n, np.shape(data)[-1])
    distances = np.full((n, n), np.inf)
    for a in range(n):
        d = np.linalg.norm(points[:, a, None, :] - points, axis=-1)  # (samples, n)
        seen = np.isfinite(d)
        counts = seen.sum(axis=0)
        with warnings.catch_warnings():  # pairs never seen together: NaN, then inf
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(np.where(seen, d, np.nan), axis=0)
        distances[a] = np.where(counts > 0, median, np.inf)
    np.fill_diagonal(distances, np.inf)
    # Prim's algorithm from the first keypoint
    in_tree = np.zeros(n, dtype=bool)
    in_tree[0] = True
    best = distances[0].copy()
    parent = np.zeros(n, dtype=int)
    bones = []
    for _ in range(n - 1):
        candidates = np.where(in_tree, np.inf, best)
        nxt = int(np.argmin(candidates))
        if not np.isfinite(candidates[nxt]):
            break
        in_tree[nxt] = True
        bones.append((names[parent[nxt]], names[nxt]))
        closer = distances[nxt] < best
        best = np.where(closer, distances[nxt], best)
        parent = np.where(closer, nxt, parent)
    return bones


def drawing_skeleton(poses: Poses) -> Poses:
    """The poses with bones to draw: their own skeleton, or guessed bones when it has none.

    A guessed skeleton (:func:`guess_bones`) is recorded in ``provenance`` (see
    :func:`is_guessed`). Poses with a skeleton, or with fewer than two keypoints, are
    returned as they are.

    Examples
    --------
    >>> poses = Poses(np.array([[[[0.0, 0.0], [1.0, 0.0], [5.0, 0.0]]]]), keypoints=list("abc"))
    >>> drawn = drawing_skeleton(poses)
    >>> drawn.skeleton.edges, is_guessed(drawn)
    ((('a', 'b'), ('b', 'c')), True)
    """
    if poses.skeleton.edges or poses.n_keypoints < 2:
        return poses
    bones = guess_bones(poses.data, poses.keypoints)
    if not bones:
        return poses
    provenance = {**poses.provenance, GUESSED: _GUESSED_VALUE}
    return poses.replace(skeleton=bones, provenance=provenance)


def is_guessed(poses: Poses) -> bool:
    """Whether the poses' skeleton was guessed by :func:`drawing_skeleton`."""
    return poses.provenance.get(GUESSED) == _GUESSED_VALUE


def limb_labels(skeleton: Skeleton, max_names: int = 4) -> list[str]:
    """A short label per limb: its keypoints in chain order, ``"a–b–c"``.

    A chain of more than ``max_names`` keypoints is shortened to its ends, ``"a–…–z"``.

    Examples
    --------
    >>> leg = ["coxa", "femur", "tibia"]
    >>> limb_labels(Skeleton(leg, [("coxa", "femur"), ("femur", "tibia")]))
    ['coxa–femur–tibia']
    >>> limb_labels(Skeleton(leg, [("coxa", "femur"), ("femur", "tibia")]), max_names=2)
    ['coxa–…–tibia']
    """
    out = []
    for chain in skeleton.limbs:
        names = list(chain) if len(chain) <= max_names else [chain[0], "…", chain[-1]]
        out.append("–".join(names))
    return out


def legend(skeleton: Skeleton) -> list[tuple[str, RGB]]:
    """The limb legend: ``(label, RGB colour)`` per limb with a bone, in limb order.

    Limbs without a bone (lone keypoints) are left out: they have no line to explain.

    Examples
    --------
    >>> spokes = [("snout", "l_ear"), ("snout", "r_ear"), ("snout", "tail")]
    >>> [label for label, _ in legend(Skeleton(["snout", "l_ear", "r_ear", "tail"], spokes))]
    ['snout–l_ear', 'snout–r_ear', 'snout–tail']
    """
    labels = limb_labels(skeleton)
    colors = skeleton.limb_colors
    with_bones = {skeleton.edge_limbs[k] for k in skeleton.bones}
    return [(labels[i], colors[i]) for i in range(len(labels)) if i in with_bones]
