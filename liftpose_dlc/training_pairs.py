"""Training pairs for the lifter: 3D poses projected into cameras, in the seed's dictionaries.

The seed (LiftPose3D) trains on two dictionaries with the same keys: 2D poses ``(N, J, 2)``
as a camera sees them and the matching 3D poses ``(N, J, 3)`` in that camera's frame.
:func:`make_training_pairs` builds them from a 3D pose library (:class:`~liftpose_dlc.Poses`
read with :func:`~liftpose_dlc.load_poses_3d`) and cameras (from
:func:`~liftpose_dlc.load_calibration` or the virtual cameras of :mod:`liftpose_dlc.cameras`),
so that ``train(...)`` and ``Lifter.fit(...)`` take them directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from liftpose_dlc.cameras import Camera
from liftpose_dlc.errors import KeypointError, PosesValidationError
from liftpose_dlc.poses import Poses
from liftpose_dlc.skeleton import map_keypoints

__all__ = ["make_training_pairs", "match_keypoints"]


def match_keypoints(
    wanted: Sequence[str],
    available: Sequence[str],
    keypoint_map: Mapping[str, str] | None = None,
    *,
    where: str = "3D poses",
) -> list[int]:
    """Indices into ``available`` of the keypoints ``wanted``, matched by name.

    Parameters
    ----------
    wanted
        The names to find (e.g. a DeepLabCut project's ``bodyparts``), in output order.
    available
        The names in the 3D library.
    keypoint_map
        ``{wanted_name: library_name}`` for names that differ between the two.
    where
        Used in error messages.

    Raises
    ------
    KeypointError
        Listing every wanted name that has no match, and the library's names; or if
        ``keypoint_map`` is wrong (:func:`liftpose_dlc.skeleton.map_keypoints`).

    Examples
    --------
    >>> match_keypoints(["snout", "tail"], ["Nose", "Trunk", "tail"], {"snout": "Nose"})
    [0, 2]
    """
    mapped = map_keypoints(wanted, keypoint_map, what="keypoints asked for")
    index = {name: i for i, name in enumerate(available)}
    out, unmatched = [], []
    for name, lib in zip(wanted, mapped, strict=True):
        if lib in index:
            out.append(index[lib])
        else:
            unmatched.append(name if lib == name else f"{name} -> {lib}")
    if unmatched:
        raise KeypointError(
            f"{where}: no match for keypoints {unmatched}; the 3D library has {list(available)}. "
            "Pass keypoint_map={your_name: library_name} for names that differ"
        )
    return out


def _cameras(cameras: Any) -> dict[str, Camera]:
    if isinstance(cameras, Camera):
        cameras = [cameras]
    if isinstance(cameras, Mapping):
        out = dict(cameras)
    else:
        out = {}
        for i, cam in enumerate(cameras):
            name = cam.name if getattr(cam, "name", None) is not None else f"camera_{i}"
            if name in out:
                raise PosesValidationError(f"two cameras are named {name!r}")
            out[name] = cam
    if not out:
        raise PosesValidationError("no cameras given")
    bad = [k for k, v in out.items() if not isinstance(v, Camera)]
    if bad:
        raise TypeError(f"cameras must be liftpose_dlc.Camera objects; not: {bad}")
    return {str(k): v for k, v in out.items()}


def _visibility(
    visibility: Mapping[str, Any] | None,
    cams: Mapping[str, Camera],
    keypoints: list[str],
) -> dict[str, np.ndarray]:
    if visibility is None:
        return {}
    unknown = [k for k in visibility if k not in cams]
    if unknown:
        raise KeypointError(f"visibility names unknown cameras {unknown}; cameras: {list(cams)}")
    out = {}
    for cam, vis in visibility.items():
        if vis is None:
            continue
        if len(vis) and all(isinstance(v, str) for v in vis):
            missing = [v for v in vis if v not in keypoints]
            if missing:
                raise KeypointError(
                    f"visibility[{cam!r}] names unknown keypoints {missing}; keypoints: {keypoints}"
                )
            mask = np.array([k in set(vis) for k in keypoints])
        else:
            mask = np.asarray(vis, dtype=bool)
            if mask.shape[-1] != len(keypoints) or mask.ndim not in (1, 2):
                raise KeypointError(
                    f"visibility[{cam!r}] must be {len(keypoints)} booleans (one per keypoint), "
                    f"an (n_frames, {len(keypoints)}) array or a list of names; got shape "
                    f"{mask.shape}"
                )
        out[cam] = mask
    return out


def make_training_pairs(
    poses_3d: Poses | Sequence[Poses],
    cameras: Mapping[str, Camera] | Sequence[Camera] | Camera,
    *,
    keypoints: Sequence[str] | None = None,
    keypoint_map: Mapping[str, str] | None = None,
    noise_px: float = 0.0,
    visibility: Mapping[str, Any] | None = None,
    distorted: bool = False,
    seed: int | np.random.Generator | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Project 3D poses into cameras: the 2D inputs and 3D targets for training a lifter.

    Parameters
    ----------
    poses_3d
        One or several 3D :class:`~liftpose_dlc.Poses` in the cameras' world frame.
    cameras
        Cameras by name (as :func:`~liftpose_dlc.load_calibration` returns them), a list of
        named cameras, or one camera.
    keypoints
        The keypoints to produce, in order (typically the ``bodyparts`` of the DeepLabCut
        project whose 2D tracking will be lifted). They are matched by name to the 3D
        library's keypoints. Default: all keypoints of the first ``Poses``.
    keypoint_map
        ``{name_in_keypoints: name_in_3d_library}`` for names that differ.
    noise_px
        Standard deviation of Gaussian noise added to the 2D points, in pixels (as the
        seed's ``add_noise``, but once, at creation).
    visibility
        ``{camera_name: mask}``: which keypoints that camera sees; a mask is ``J`` booleans,
        an ``(n_frames, J)`` array, or a list of visible keypoint names. Keypoints a camera
        does not see are NaN in both its 2D and 3D arrays, so they are neither inputs nor
        targets (the seed's ``good_keypts`` as NaN).
    distorted
        False (default): ideal pinhole pixels (distortion removed: lift 2D tracking after
        ``camera.undistort_points``). True: the distorted pixels a tracker reports on the
        raw video.
    seed
        Seed or generator for the noise.

    Returns
    -------
    dict_2d, dict_3d : dict of str to numpy.ndarray
        Same keys, ``"<file stem>/<individual>/<camera>"`` (``"<individual>/<camera>"`` for
        poses built in memory): ``(n_frames, J, 2)`` pixels and ``(n_frames, J, 3)`` in the
        camera's frame (``R X + t``, the library's units). Points behind a camera are NaN
        in 2D, with a :class:`~liftpose_dlc.cameras.PointsBehindCameraWarning`.

    Raises
    ------
    KeypointError
        If a keypoint has no match in the 3D library (the message lists them all), or
        ``visibility`` names unknown cameras or keypoints.
    PosesValidationError
        If a ``Poses`` is not 3D, or two inputs would give the same key.

    Examples
    --------
    >>> import numpy as np
    >>> from liftpose_dlc import Poses
    >>> from liftpose_dlc.cameras import sample_cameras
    >>> lib = Poses(np.random.default_rng(0).normal(size=(50, 4, 3)), ["a", "b", "c", "d"])
    >>> cams = sample_cameras([[-10, 10], [-10, 10], [-10, 10]], distance=20, n=2, seed=1)
    >>> d2, d3 = make_training_pairs(lib, cams, keypoints=["d", "a"])
    >>> sorted(d2), d2["individual_0/virtual_0"].shape, d3["individual_0/virtual_0"].shape
    (['individual_0/virtual_0', 'individual_0/virtual_1'], (50, 2, 2), (50, 2, 3))
    """
    poses_list = [poses_3d] if isinstance(poses_3d, Poses) else list(poses_3d)
    if not poses_list:
        raise PosesValidationError("no 3D poses given")
    for p in poses_list:
        if not isinstance(p, Poses):
            raise TypeError(f"poses_3d must be Poses objects, got {type(p).__name__}")
        if p.n_dims != 3:
            raise PosesValidationError(
                f"{p.source.describe()}: training pairs need 3D poses, got {p.n_dims}D"
            )
    if not np.isfinite(noise_px) or noise_px < 0:
        raise ValueError(f"noise_px must be a non-negative number, got {noise_px}")
    cams = _cameras(cameras)
    wanted = list(poses_list[0].keypoints) if keypoints is None else [str(k) for k in keypoints]
    vis = _visibility(visibility, cams, wanted)
    rng = np.random.default_rng(seed)

    dict_2d: dict[str, np.ndarray] = {}
    dict_3d: dict[str, np.ndarray] = {}
    for p in poses_list:
        idx = match_keypoints(wanted, p.keypoints, keypoint_map, where=p.source.describe())
        for i, ind in enumerate(p.individuals):
            X = p.data[:, i][:, idx]
            for cam_name, cam in cams.items():
                key = f"{p.dict_key(ind)}/{cam_name}"
                if key in dict_2d:
                    raise PosesValidationError(
                        f"two inputs give the same key {key!r}; give the Poses distinct "
                        "sources or individuals"
                    )
                Xc = cam.world_to_camera(X)
                uv = cam.project_camera_points(Xc, distort=distorted)
                if noise_px > 0:
                    uv = uv + rng.normal(0.0, noise_px, size=uv.shape)
                if cam_name in vis:
                    mask = vis[cam_name]
                    if mask.ndim == 2 and mask.shape[0] != X.shape[0]:
                        raise KeypointError(
                            f"visibility[{cam_name!r}] has {mask.shape[0]} frames, the poses "
                            f"{X.shape[0]}"
                        )
                    hidden = np.broadcast_to(~mask, X.shape[:2])
                    uv[hidden] = np.nan
                    Xc[hidden] = np.nan
                dict_2d[key] = uv
                dict_3d[key] = Xc
    return dict_2d, dict_3d
