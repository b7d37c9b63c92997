"""NWB files with ndx-pose: 3D (and 2D) poses as ``PoseEstimation`` with their ``Skeleton``.

:func:`save_nwb` writes one NWB file holding, in the ``behavior`` processing module:

- a ``Skeletons`` container with one ndx-pose ``Skeleton`` per individual (nodes: the
  keypoints; edges: the skeleton as node-index pairs);
- per individual, a ``PoseEstimation`` (named ``PoseEstimation`` for one individual, the
  name movement's NWB reader looks for, else ``PoseEstimation_<individual>``) with one
  ``PoseEstimationSeries`` per keypoint: ``data`` ``(n_frames, 3)`` (or 2), ``confidence``,
  ``unit`` (the poses' units), ``reference_frame`` (camera or world), ``rate`` (fps);
- optionally the 2D that was lifted, as ``PoseEstimation2D[_<individual>]`` in pixels.

``scorer`` is the lifter's name, ``source_software`` / its version the writing software,
and ``description`` ends with a JSON line (``liftpose-dlc metadata: {...}``) holding units,
frame, fps, the lifter and the 2D source (:mod:`liftpose_dlc.io.metadata`), which
:func:`load_nwb` reads back. Needs the ``nwb`` extra: ``pip install "liftpose-dlc[nwb]"``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from liftpose_dlc._filesystem import atomic_path, check_file
from liftpose_dlc.errors import FileFormatError, MissingDependencyError, PosesValidationError
from liftpose_dlc.io.metadata import fields_from_attrs, output_attrs
from liftpose_dlc.io.registry import Format
from liftpose_dlc.poses import Poses, Source

__all__ = ["save_nwb", "load_nwb", "sniff_nwb", "FORMATS"]

INSTALL_HINT = 'pip install "liftpose-dlc[nwb]"'
MODULE = "behavior"
_MARKER = "liftpose-dlc metadata: "
_FRAMES = {
    "camera": "camera frame: x right, y down (image axes), z along the optical axis; "
    "each target set relative to its root",
    "world": "world frame of the camera calibration",
}


def _import() -> tuple[Any, Any]:
    try:
        import ndx_pose
        import pynwb
    except ImportError as e:
        raise MissingDependencyError(f"NWB files need pynwb and ndx-pose: {INSTALL_HINT}") from e
    return pynwb, ndx_pose


def _pose_name(base: str, individual: str, n_individuals: int) -> str:
    return base if n_individuals == 1 else f"{base}_{individual}"


def _check_names(poses: Poses, where: str) -> None:
    bad = [n for n in [*poses.keypoints, *poses.individuals] if "/" in n or not n]
    if bad:
        raise PosesValidationError(f"{where}: NWB names cannot be empty or contain '/': {bad}")
    if poses.n_keypoints > 256:
        raise PosesValidationError(
            f"{where}: ndx-pose skeletons hold at most 256 nodes, got {poses.n_keypoints}"
        )


def save_nwb(
    poses: Poses,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    poses_2d: Poses | None = None,
    session_description: str | None = None,
    session_start_time: _dt.datetime | None = None,
    identifier: str | None = None,
) -> Path:
    """Write poses to an NWB file as ndx-pose ``PoseEstimation`` (see the module docstring).

    Parameters
    ----------
    poses
        3D (or 2D) poses.
    path
        Destination (conventionally ``.nwb``).
    overwrite
        Replace an existing file; otherwise :class:`~liftpose_dlc.errors.OutputExistsError`.
    poses_2d
        The 2D tracking the 3D was lifted from (same frames; its individuals and keypoints
        are matched by name, the others left out), written as ``PoseEstimation2D``.
    session_description, session_start_time, identifier
        The NWB file's required fields. Defaults: a description of the poses, the current
        time, and the individual's name for one individual (movement's NWB reader names
        the individual after the identifier), else a random UUID.

    Returns
    -------
    Path
        The file written (atomically).

    Raises
    ------
    MissingDependencyError
        If pynwb or ndx-pose is not installed.
    PosesValidationError
        If a name contains ``/``, or ``poses_2d`` does not have the same number of frames.
    OutputExistsError
        If ``path`` exists and ``overwrite`` is False.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> poses = Poses(np.zeros((4, 1, 2, 3)), ["head", "tail"], skeleton=[("head", "tail")],
    ...               fps=30, units="mm", frame="camera")
    >>> out = save_nwb(poses, pathlib.Path(tempfile.mkdtemp()) / "poses.nwb")
    >>> load_nwb(out).data.shape
    (4, 1, 2, 3)
    """
    pynwb, ndx_pose = _import()
    if not isinstance(poses, Poses):
        raise PosesValidationError(f"save_nwb expects a Poses, got {type(poses).__name__}")
    where = poses.source.describe()
    _check_names(poses, where)
    if poses_2d is not None:
        if poses_2d.n_frames != poses.n_frames:
            raise PosesValidationError(
                f"{where}: poses_2d has {poses_2d.n_frames} frames, the poses {poses.n_frames}"
            )
        _check_names(poses_2d, poses_2d.source.describe())
    from liftpose_dlc import __version__

    attrs = output_attrs(poses)
    nwbfile = pynwb.NWBFile(
        session_description=session_description
        or f"{poses.n_dims}D poses of {', '.join(poses.individuals)} ({where})",
        identifier=identifier
        or (poses.individuals[0] if poses.n_individuals == 1 else str(uuid.uuid4())),
        session_start_time=session_start_time or _dt.datetime.now(_dt.timezone.utc),
    )
    module = nwbfile.create_processing_module(name=MODULE, description="pose estimation")
    skeletons = []
    estimations = []
    n_ind = poses.n_individuals
    for i, ind in enumerate(poses.individuals):
        skeleton = ndx_pose.Skeleton(
            name=f"{ind}_skeleton" if n_ind > 1 else "skeleton",
            nodes=list(poses.keypoints),
            edges=np.array(poses.edge_indices, dtype=np.uint8).reshape(-1, 2),
        )
        skeletons.append(skeleton)
        meta = {**attrs, "individual": ind, "n_dims": poses.n_dims, "keypoints": poses.keypoints}
        estimations.append(
            _estimation(
                ndx_pose,
                poses,
                i,
                name=_pose_name("PoseEstimation", ind, n_ind),
                skeleton=skeleton,
                meta=meta,
                version=str(__version__),
            )
        )
        if poses_2d is not None and ind in poses_2d.individuals:
            kept = [k for k in poses_2d.keypoints if k in poses.keypoints]
            two = poses_2d.select(keypoints=kept, individuals=[ind])
            meta_2d = {
                "units": two.units or "pixels",
                "individual": ind,
                "n_dims": 2,
                "keypoints": kept,
                "source_software": two.source.software or "unknown",
            }
            if two.source.path:
                meta_2d["source_file"] = two.source.path
            estimations.append(
                _estimation(
                    ndx_pose,
                    two.replace(units=two.units or "pixels", frame=None),
                    0,
                    name=_pose_name("PoseEstimation2D", ind, n_ind),
                    skeleton=skeleton if kept == poses.keypoints else None,
                    meta=meta_2d,
                    version=str(__version__),
                )
            )
    module.add(ndx_pose.Skeletons(skeletons=skeletons))
    for estimation in estimations:
        module.add(estimation)
    dest = Path(path).expanduser()
    with atomic_path(dest, overwrite) as tmp, warnings.catch_warnings():
        # the temporary name does not end in .nwb; the final one does
        warnings.filterwarnings("ignore", message="The file path provided", category=UserWarning)
        with pynwb.NWBHDF5IO(str(tmp), mode="w") as io:
            io.write(nwbfile)
    return dest


def _estimation(
    ndx_pose: Any,
    poses: Poses,
    i: int,
    *,
    name: str,
    skeleton: Any,
    meta: dict[str, Any],
    version: str,
) -> Any:
    unit = poses.units or "unknown"
    frame = _FRAMES.get(poses.frame or "", "image (pixels): x right, y down, origin top left")
    if poses.n_dims == 3 and poses.frame is None:
        frame = "unknown"
    timing: dict[str, Any] = {"rate": float(poses.fps or 1.0), "starting_time": 0.0}
    series = [
        ndx_pose.PoseEstimationSeries(
            name=kp,
            description=f"{poses.n_dims}D position of {kp}"
            + (
                ""
                if poses.fps
                else " (frame rate unknown: one sample per second stands for one frame)"
            ),
            data=poses.data[:, i, k],
            confidence=poses.confidence[:, i, k],
            confidence_definition="Poses.confidence of liftpose-dlc: the 2D tracker's "
            "likelihood or score of the point (NaN where none)",
            unit=unit,
            reference_frame=frame,
            **timing,
        )
        for k, kp in enumerate(poses.keypoints)
    ]
    text = (
        f"{poses.n_dims}D poses of {meta['individual']} written by liftpose-dlc"
        f" ({unit}, {poses.frame or 'image'} frame).\n{_MARKER}{json.dumps(meta)}"
    )
    kwargs: dict[str, Any] = {
        "name": name,
        "pose_estimation_series": series,
        "description": text,
        "scorer": str(poses.provenance.get("lifter_name", poses.source.software or "unknown")),
        "source_software": poses.source.software or "unknown",
        "source_software_version": version,
    }
    if skeleton is not None:
        kwargs["skeleton"] = skeleton
    return ndx_pose.PoseEstimation(**kwargs)


def load_nwb(
    path: str | os.PathLike, *, dims: int = 3, names: Sequence[str] | None = None
) -> Poses:
    """Read poses from the ndx-pose ``PoseEstimation`` objects of an NWB file.

    Parameters
    ----------
    path
        The ``.nwb`` file.
    dims
        Read the 3D (``3``, default) or the 2D (``2``) ``PoseEstimation`` objects; a file
        without any of those dimensions raises.
    names
        The ``PoseEstimation`` names to read (each one individual); default: all of ``dims``.

    Returns
    -------
    Poses
        One individual per ``PoseEstimation`` (named as written by :func:`save_nwb`, else by
        the file's ``identifier``, as movement does), the keypoints of the first, fps from
        ``rate`` (or the timestamps), skeleton from the linked ``Skeleton``, and units,
        frame and provenance as :func:`save_nwb` stored them.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    FileFormatError
        If it is not an NWB file, has no ``behavior`` module or no matching
        ``PoseEstimation``, or the individuals have different keypoints or frame counts.
    """
    pynwb, ndx_pose = _import()
    p = check_file(path, "NWB file")
    try:
        io = pynwb.NWBHDF5IO(str(p), mode="r")
        nwbfile = io.read()
    except Exception as exc:  # noqa: BLE001 - pynwb/hdmf raise many kinds
        raise FileFormatError(f"{p}: cannot be read as an NWB file: {exc}") from exc
    try:
        return _read(p, nwbfile, ndx_pose, dims, names)
    finally:
        io.close()


def _read(p: Path, nwbfile: Any, ndx_pose: Any, dims: int, names: Sequence[str] | None) -> Poses:
    found = []
    for module in nwbfile.processing.values():
        for obj in module.data_interfaces.values():
            if isinstance(obj, ndx_pose.PoseEstimation) and obj.pose_estimation_series:
                first = next(iter(obj.pose_estimation_series.values()))
                if np.shape(first.data)[-1] == dims and (names is None or obj.name in names):
                    found.append(obj)
    if not found:
        raise FileFormatError(
            f"{p}: no ndx-pose PoseEstimation with {dims}D series"
            + (f" named {list(names)}" if names else "")
        )
    keypoints = _keypoint_order(found[0])
    data, conf, individuals = [], [], []
    meta: dict[str, Any] = {}
    fps = None
    for obj in found:
        if sorted(obj.pose_estimation_series) != sorted(keypoints):
            raise FileFormatError(
                f"{p}: {obj.name} has keypoints {sorted(obj.pose_estimation_series)}, "
                f"{found[0].name} has {keypoints}; read them one at a time with names=[...]"
            )
        series = {k: obj.pose_estimation_series[k] for k in keypoints}
        one_meta = _meta(obj.description)
        meta = meta or one_meta
        individuals.append(str(one_meta.get("individual", nwbfile.identifier)))
        data.append(
            np.stack([np.asarray(s.data[()], dtype=np.float64) for s in series.values()], 1)
        )
        conf.append(
            np.stack(
                [
                    np.asarray(s.confidence[()], dtype=np.float64)
                    if s.confidence is not None
                    else np.full(len(s.data), np.nan)
                    for s in series.values()
                ],
                1,
            )
        )
        first = next(iter(series.values()))
        if fps is None:
            fps = first.rate or _rate(first.timestamps)
    lengths = {len(d) for d in data}
    if len(lengths) != 1:
        raise FileFormatError(f"{p}: the PoseEstimation objects have different lengths {lengths}")
    if meta and "fps" not in meta:
        fps = None  # written by save_nwb without a frame rate
    skeleton = []
    sk = found[0].skeleton
    if sk is not None and sk.edges is not None:
        nodes = [str(n) for n in sk.nodes[()]]
        skeleton = [(nodes[a], nodes[b]) for a, b in np.asarray(sk.edges[()], dtype=int)]
        skeleton = [e for e in skeleton if e[0] in keypoints and e[1] in keypoints]
    software = found[0].source_software
    try:
        return Poses(
            np.stack(data, 1),
            keypoints,
            individuals=individuals,
            confidence=np.stack(conf, 1),
            skeleton=skeleton,
            fps=fps,
            source=Source(p, str(software) if software else None),
            **fields_from_attrs(meta),
        )
    except PosesValidationError as exc:
        raise FileFormatError(f"{p}: not valid poses: {exc}") from exc


def _keypoint_order(estimation: Any) -> list[str]:
    """The series' names in the order of the linked skeleton's nodes (pynwb sorts them)."""
    names = list(estimation.pose_estimation_series.keys())
    order = _meta(estimation.description).get("keypoints")
    if not (isinstance(order, list) and sorted(order) == sorted(names)):
        sk = estimation.skeleton
        order = [str(n) for n in sk.nodes[()]] if sk is not None else None
    return list(order) if order is not None and sorted(order) == sorted(names) else names


def _meta(description: Any) -> dict[str, Any]:
    text = str(description or "")
    at = text.rfind(_MARKER)
    if at < 0:
        return {}
    try:
        loaded = json.loads(text[at + len(_MARKER) :])
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _rate(timestamps: Any) -> float | None:
    if timestamps is None or len(timestamps) < 2:
        return None
    rate = float(np.nanmedian(1.0 / np.diff(np.asarray(timestamps[()], dtype=np.float64))))
    return rate if np.isfinite(rate) and rate > 0 else None


def sniff_nwb(probe: Any) -> bool:
    """Whether a file (a registry ``Probe``) is an NWB file (HDF5 with NWB's top groups)."""
    if not probe.is_hdf5:
        return False
    names = set(probe.h5.get("names", []))
    return {"acquisition", "processing", "general"} <= names


#: The format declarations of this module (for ``liftpose_dlc.io.registry``).
FORMATS = (
    Format(
        name="nwb",
        description="NWB with ndx-pose PoseEstimation (.nwb)",
        sniff=sniff_nwb,
        read=load_nwb,
        dims=(2, 3),
        write=save_nwb,
        suffixes=(".nwb",),
        write_as="nwb",
    ),
)
