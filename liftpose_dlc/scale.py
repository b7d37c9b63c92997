"""The animal's size: lifted 3D made to match a length you know.

From one uncalibrated camera, 2D says nothing about how large the animal is: a pretrained
lifter (which normalises each pose's 2D scale) gives 3D at the size of the animals it was
trained on. When you know your animal's size, say one length of it and
:func:`rescale_to_length` scales the 3D to match. On the zoo benchmark this lowered the
error by 10-15% for mice whose size differs from the training mice's by 20-25%, and did
not help where the sizes agree (``benchmarks/RESULTS.md``, "Body size").

>>> import liftpose_dlc as lp
>>> poses = lp.load_poses("video1DLC_resnet50_3d.h5")  # doctest: +SKIP
>>> path = ["snout", "tailbase"]
>>> poses = lp.rescale_to_length(poses, 95.0, path, about="tailbase")  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from liftpose_dlc.errors import ConfigError, KeypointError
from liftpose_dlc.poses import Poses

__all__ = ["path_length", "rescale_to_length"]


def path_length(poses: Poses, path: Sequence[str]) -> np.ndarray:
    """Length along ``path`` (keypoint names, in order) per frame and individual.

    Returns
    -------
    ndarray
        ``(n_frames, n_individuals)``, in the poses' units; NaN where a point is missing.

    Raises
    ------
    KeypointError
        If a name is not one of the poses' keypoints.
    ConfigError
        If the path has fewer than two points or the poses are not 3D.
    """
    if poses.n_dims != 3:
        raise ConfigError(
            f"{poses.source.describe()}: a length needs 3D poses, got {poses.n_dims}D"
        )
    names = [str(n) for n in path]
    if len(names) < 2:
        raise ConfigError(f"a length is measured along two keypoints or more, got {names}")
    missing = [n for n in names if n not in poses.keypoints]
    if missing:
        raise KeypointError(
            f"{poses.source.describe()}: no keypoints {missing}; it has {list(poses.keypoints)}"
        )
    idx = [poses.keypoints.index(n) for n in names]
    pts = poses.data[:, :, idx]
    return np.linalg.norm(np.diff(pts, axis=2), axis=-1).sum(axis=2)


def rescale_to_length(
    poses: Poses,
    length: float,
    path: Sequence[str],
    *,
    about: str | None = None,
) -> Poses:
    """Scale 3D poses so that their median length along ``path`` is ``length``.

    Parameters
    ----------
    poses
        Lifted 3D poses (any frame: camera, root-relative, world).
    length
        The length you know, in the poses' units (mm for the zoo models): e.g. your mouse's
        snout to tail base, or a fly's femur.
    path
        Keypoint names, in order, whose summed segment lengths are that length (two names:
        the straight distance). The median over all frames and individuals is used, so a
        few bad frames do not matter.
    about
        The keypoint that stays in place (e.g. the root, or a point placed on the floor);
        default, and in frames where that keypoint is missing: each pose's centroid (the
        mean of its points).

    Returns
    -------
    Poses
        The poses scaled about ``about`` in every frame; ``provenance["rescaled"]`` records
        the factor, the length and the path. The input is not modified.

    Raises
    ------
    ConfigError
        If ``length`` is not a positive number, or no frame has the whole path.
    KeypointError
        If a name is not one of the poses' keypoints.

    Examples
    --------
    >>> import numpy as np
    >>> p = Poses(np.array([[[0.0, 0, 0], [0, 0, 2.0]]]), ["a", "b"], units="mm")
    >>> rescale_to_length(p, 10.0, ["a", "b"], about="a").data[0, 0, 1]
    array([ 0.,  0., 10.])
    """
    if not (isinstance(length, (int, float)) and np.isfinite(length) and length > 0):
        raise ConfigError(f"length must be a positive number, got {length!r}")
    measured = path_length(poses, path)
    if not np.isfinite(measured).any():
        raise ConfigError(
            f"{poses.source.describe()}: no frame has all of {list(path)}: nothing to measure"
        )
    factor = float(length) / float(np.nanmedian(measured))
    data = poses.data
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames stay NaN
        centre = np.nanmean(data, axis=2, keepdims=True)
    if about is not None:
        if about not in poses.keypoints:
            raise KeypointError(
                f"{poses.source.describe()}: no keypoint {about!r} to scale about; it has "
                f"{list(poses.keypoints)}"
            )
        point = data[:, :, [poses.keypoints.index(about)]]
        # where that keypoint is missing, the pose's centroid stays in place instead
        centre = np.where(np.isfinite(point).all(-1, keepdims=True), point, centre)
    out = centre + factor * (data - centre)
    provenance = {
        **poses.provenance,
        "rescaled": f"x{factor:.4g}: median length {length:g} along {'-'.join(map(str, path))}",
    }
    return poses.replace(data=out, provenance=provenance)
