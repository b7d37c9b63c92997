"""SLEAP files: 2D poses from ``.slp`` and analysis ``.h5``; 3D poses as ``points3d.h5``.

Readers
-------
:func:`load_sleap` reads a SLEAP labels/predictions file (``.slp``, through sleap-io) or a
SLEAP analysis HDF5 export (``.analysis.h5``, through h5py only) into a 2D :class:`Poses`.
Both give the same result for the same data:

- **Frames**: the array index is the frame index in the video, from frame 0 to the last
  frame with an instance (or the video's length when the ``.slp`` records it); NaN where
  a frame has no instance.
- **Individuals are SLEAP tracks**, named by track name, in the file's track order.
  Tracks with no instance in the chosen video are left out (as SLEAP's analysis export
  does). Track *fragments* are kept as they are: when SLEAP's tracker split two animals
  into 27 tracks, you get 27 individuals, each NaN outside its fragment. liftpose-dlc
  never guesses identities; merge tracks in SLEAP's proofreading GUI first, or pick
  some with ``tracks=``.
- **User instances win** over predicted ones of the same track in the same frame
  (``sleap_io.Labels.numpy`` semantics).
- **Untracked instances**: when no instance of the video has a track, each frame's
  instances fill slots ``track_0, track_1, ...`` in frame order (user instances first,
  predictions that duplicate a user instance dropped) -- the naming of sleap-io's
  analysis export. Slot identity is then arbitrary across frames unless there is one
  animal. When some instances are tracked and some are not, the untracked ones are
  dropped with a warning (``Labels.numpy(untracked=False)``).
- **Confidence** is SLEAP's per-point score for predicted instances (0 for points the
  network did not find), **1.0** for visible points of user-labelled instances (a
  human placed them: they survive any ``pcutoff``; sleap-io's ``Labels.numpy`` does
  the same), and NaN where there is no point. An analysis file does not say which
  instances were user-labelled; there, a present point with a NaN score is a
  user-labelled one and gets 1.0 too.
- **Skeleton**: node names are the keypoints; edges become pairs of node names.
- **fps**: from the video's recorded metadata, else read from the video file (with
  PyAV, when installed) if it exists at its stored path or beside the SLEAP file under
  the same name (as SLEAP itself looks for moved videos); else None. Missing videos are
  never an error.

3D files
--------
:func:`save_sleap_3d` writes 3D poses in SLEAP's analysis layout (``tracks`` with shape
``(n_tracks, 3, n_nodes, n_frames)``, which movement's SLEAP loader opens) with the names,
skeleton and scores; :func:`load_sleap_3d` reads it back, and reads sleap-anipose's
own ``points3d.h5`` when given the node names (or a SLEAP file of the session).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from liftpose_dlc._boundary import reader_boundary
from liftpose_dlc._filesystem import atomic_path, check_file, check_overwrite
from liftpose_dlc.errors import (
    ConfigError,
    FileFormatError,
    KeypointError,
    MissingDependencyError,
)
from liftpose_dlc.io._hdf5 import (
    attr_str,
    is_hdf5,
    memory_file,
    one_string,
    strings,
    write_image,
)
from liftpose_dlc.io.metadata import fields_from_attrs, output_attrs
from liftpose_dlc.io.registry import Format, Probe
from liftpose_dlc.poses import Poses, Source, require_poses

__all__ = ["load_sleap", "load_sleap_3d", "load_sleap_3d_inferred", "save_sleap_3d"]

SOFTWARE = "SLEAP"
INSTALL_HINT = 'pip install "liftpose-dlc[sleap]"'

# Axis orders of an analysis file's ``tracks`` dataset (dimension name -> axis).
ANALYSIS_LAYOUTS: dict[str, dict[str, int]] = {
    # SLEAP's and sleap-io's default export, transposed for MATLAB: (track, xy, node, frame)
    "matlab": {"track": 0, "xy": 1, "node": 2, "frame": 3},
    # sleap-io's ``preset="standard"``: (frame, track, node, xy)
    "standard": {"frame": 0, "track": 1, "node": 2, "xy": 3},
    # SLEAP's export with ``transpose=False``: (frame, node, xy, track)
    "untransposed": {"frame": 0, "node": 1, "xy": 2, "track": 3},
}
_CANONICAL_2D = ("frame", "track", "node", "xy")

# Layout of sleap-anipose's points3d.h5 (and of Poses): the axes load_sleap_3d returns.
POINTS3D_DIMS = ("frame", "track", "node", "xyz")
POINTS3D_FORMAT = "points3d"
# Layout save_sleap_3d writes: SLEAP's analysis export, so that movement opens the file.
ANALYSIS_3D_DIMS = ("track", "xyz", "node", "frame")

_VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".mpg", ".mpeg", ".m4v", ".webm", ".wmv"}


# =========================================================================== 2D reader
@reader_boundary("SLEAP file")
def load_sleap(
    path: str | os.PathLike,
    *,
    tracks: Sequence[str] | None = None,
    video: int = 0,
) -> Poses:
    """Read 2D poses from a SLEAP ``.slp`` file or a SLEAP analysis ``.h5`` export.

    The format is recognised from the file's content. See the module documentation for
    how tracks, untracked instances, user instances and scores are mapped.

    Parameters
    ----------
    path
        A ``.slp`` labels/predictions file (needs sleap-io) or an analysis HDF5 file as
        written by SLEAP's "Export Analysis HDF5" or ``sleap_io.save_analysis_h5`` (any of
        its axis layouts; needs only h5py).
    tracks
        Track names to keep, in this order; None keeps every track with an instance.
    video
        For a ``.slp`` holding several videos, the index of the video to read. An
        analysis file holds one video: only 0 is valid there.

    Returns
    -------
    Poses
        ``data`` of shape ``(n_frames, n_tracks, n_nodes, 2)`` in pixels, individuals named
        after the tracks, confidence from the point scores, the skeleton's edges, fps when
        known, and ``source.software == "SLEAP"``.

    Raises
    ------
    MissingFileError
        If ``path`` does not exist.
    FileFormatError
        If the file is not a SLEAP file, lacks required datasets, or holds no instance.
    MissingDependencyError
        For a ``.slp`` when sleap-io is not installed.
    ConfigError
        If ``video`` is out of range (the message lists the videos).
    KeypointError
        If a name in ``tracks`` is not a track with instances (the message lists them).

    Examples
    --------
    >>> poses = load_sleap("centered_pair_predictions.slp")  # doctest: +SKIP
    >>> poses.n_frames, poses.n_individuals, poses.n_keypoints  # doctest: +SKIP
    (1100, 27, 24)
    >>> head = poses.select(keypoints=["head"], individuals=["1", "2"])  # doctest: +SKIP
    """
    p = check_file(path, "SLEAP file")
    kind = _sniff(p)
    if kind == "analysis":
        poses = _load_analysis_h5(p, video)
    else:
        poses = _load_slp(p, video)
    if tracks is not None:
        names = [tracks] if isinstance(tracks, str) else [str(t) for t in tracks]
        poses = poses.select(individuals=names)
    return poses


def _sniff(path: Path) -> str:
    """Return ``"slp"`` or ``"analysis"`` from the file's content (the registry's probe)."""
    probe = Probe.of(path)
    if not probe.is_hdf5:
        raise FileFormatError(
            f"{path}: not a SLEAP file: SLEAP .slp and analysis .h5 files are HDF5, this is not"
        )
    h5 = probe.h5  # raises FileFormatError naming the file when HDF5 cannot open it
    keys = set(h5["names"])
    if "tracks" in h5["datasets"]:
        return "analysis"
    if "metadata" in keys or path.suffix.lower() == ".slp":
        return "slp"
    hint = ""
    if keys & {"df_with_missing", "tracks", "df"}:
        hint = " It looks like a DeepLabCut file: read it with load_dlc."
    raise FileFormatError(
        f"{path}: HDF5 file is neither a SLEAP .slp (no 'metadata' group) nor a SLEAP analysis "
        f"file (no 'tracks' dataset); it holds {sorted(keys)}.{hint}"
    )


# --------------------------------------------------------------------------- .slp
def _import_sleap_io() -> Any:
    try:
        import sleap_io
    except ImportError as e:
        raise MissingDependencyError(
            f"reading SLEAP .slp files needs the sleap-io package: {INSTALL_HINT} "
            "(analysis .h5 exports are read without it)"
        ) from e
    return sleap_io


def _load_slp(path: Path, video: int) -> Poses:
    sio = _import_sleap_io()
    try:
        labels = sio.load_slp(str(path), open_videos=False)
    except Exception as e:  # sleap-io raises many kinds on a damaged file
        raise FileFormatError(
            f"{path}: cannot be read as a SLEAP .slp file ({type(e).__name__}: {e})"
        ) from e

    n_instances = sum(len(lf.instances) for lf in labels.labeled_frames)
    if n_instances == 0:
        raise FileFormatError(
            f"{path}: the SLEAP file holds no pose instances (no labelled or predicted "
            "frames); there are no poses to read"
        )
    vid = _pick_video(path, labels, video)
    lfs = sorted(
        (lf for lf in labels.labeled_frames if lf.video is vid and len(lf.instances) > 0),
        key=lambda lf: lf.frame_idx,
    )
    if not lfs:
        raise FileFormatError(
            f"{path}: video {video} ({_video_name(vid)}) has no pose instances; "
            f"videos: {_list_videos(labels)}"
        )
    instances = [inst for lf in lfs for inst in lf.instances]

    skeletons = list({id(inst.skeleton): inst.skeleton for inst in instances}.values())
    if len(skeletons) > 1:
        raise FileFormatError(
            f"{path}: video {video} mixes instances of {len(skeletons)} skeletons "
            f"({[s.name for s in skeletons]}); liftpose-dlc reads one skeleton per file"
        )
    skeleton = skeletons[0]
    node_names = [node.name for node in skeleton.nodes]
    edges = [(e.source.name, e.destination.name) for e in skeleton.edges]

    used = {id(inst.track) for inst in instances if inst.track is not None}
    track_list = [t for t in labels.tracks if id(t) in used]
    track_list += [
        t
        for t in {id(i.track): i.track for i in instances if i.track is not None}.values()
        if t not in track_list
    ]

    if track_list:
        n_untracked = sum(inst.track is None for inst in instances)
        if n_untracked:
            warnings.warn(
                f"{path}: {n_untracked} instance(s) without a track were dropped (the other "
                f"instances are tracked, so untracked ones have no individual); assign them "
                "tracks in SLEAP to keep them",
                UserWarning,
                stacklevel=3,
            )
        slot_of = {id(t): i for i, t in enumerate(track_list)}
        names = [str(t.name) for t in track_list]
        slotted = [
            (lf.frame_idx, slot_of[id(track)], inst)
            for lf in lfs
            for track, inst in _tracked_frame_instances(lf)
        ]
    else:
        # as sleap-io: user and predicted instances of a frame are taken to overlap
        n_slots = max(max(len(lf.user_instances), len(lf.predicted_instances)) for lf in lfs)
        per_frame = [(lf, _untracked_frame_instances(lf, single=n_slots == 1)) for lf in lfs]
        slotted, n_extra = [], 0
        for lf, chosen in per_frame:
            n_extra += max(0, len(chosen) - n_slots)
            slotted += [(lf.frame_idx, j, inst) for j, inst in enumerate(chosen[:n_slots])]
        if n_extra:
            warnings.warn(
                f"{path}: {n_extra} untracked instance(s) beyond the {n_slots} per frame "
                "were dropped (predictions beside user instances they were not linked to)",
                UserWarning,
                stacklevel=3,
            )
        names = [f"track_{i}" for i in range(n_slots)]

    n_frames = max(lf.frame_idx for lf in lfs) + 1
    video_length = _safe_len(vid)
    n_frames = max(n_frames, video_length)
    n_nodes = len(node_names)
    data = np.full((n_frames, len(names), n_nodes, 2), np.nan)
    conf = np.full((n_frames, len(names), n_nodes), np.nan)
    for frame, slot, inst in slotted:
        if isinstance(inst, sio.PredictedInstance):
            values = np.asarray(inst.numpy(scores=True), dtype=np.float64)
            data[frame, slot] = values[:, :2]
            conf[frame, slot] = values[:, 2]
        else:
            xy = np.asarray(inst.numpy(), dtype=np.float64)
            data[frame, slot] = xy
            conf[frame, slot] = np.where(np.isfinite(xy).all(axis=1), 1.0, np.nan)

    fps = _positive(getattr(vid, "backend_metadata", {}).get("fps")) or _probe_fps(
        _video_name(vid), path
    )
    return Poses(
        data,
        keypoints=node_names,
        individuals=names,
        confidence=conf,
        skeleton=edges,
        fps=fps,
        source=Source(path, SOFTWARE),
    )


def _pick_video(path: Path, labels: Any, video: int) -> Any:
    if isinstance(video, bool) or not isinstance(video, (int, np.integer)):
        raise ConfigError(f"{path}: video must be an integer index, got {video!r}")
    if not 0 <= video < len(labels.videos):
        raise ConfigError(
            f"{path}: video={video} is out of range; the file has {len(labels.videos)} "
            f"video(s): {_list_videos(labels)}"
        )
    return labels.videos[int(video)]


def _video_name(vid: Any) -> str:
    name = vid.filename
    if isinstance(name, (list, tuple)):  # an image sequence
        return str(name[0]) if name else ""
    return str(name)


def _list_videos(labels: Any) -> str:
    counts = [0] * len(labels.videos)
    index = {id(v): i for i, v in enumerate(labels.videos)}
    for lf in labels.labeled_frames:
        if id(lf.video) in index and len(lf.instances) > 0:
            counts[index[id(lf.video)]] += 1
    return "; ".join(
        f"{i}: {_video_name(v)} ({counts[i]} frames with instances)"
        for i, v in enumerate(labels.videos)
    )


def _safe_len(vid: Any) -> int:
    try:
        return int(len(vid))
    except Exception:  # the video's length is only a hint
        return 0


def _tracked_frame_instances(lf: Any) -> list[tuple[Any, Any]]:
    """One instance per track in a frame: predictions first, user instances override."""
    chosen: dict[int, tuple[Any, Any]] = {}
    for inst in lf.predicted_instances:
        if inst.track is not None:
            chosen[id(inst.track)] = (inst.track, inst)
    for inst in lf.user_instances:
        if inst.track is not None:
            chosen[id(inst.track)] = (inst.track, inst)
    return list(chosen.values())


def _untracked_frame_instances(lf: Any, *, single: bool) -> list[Any]:
    """A frame's instances in slot order without tracks (sleap-io's rules).

    User instances come first; a prediction is dropped when a user instance was made
    from it (``from_predicted``). When no frame holds more than one instance, a user
    instance hides every prediction of its frame.
    """
    users = list(lf.user_instances)
    preds = list(lf.predicted_instances)
    if not users:
        return preds
    if single:
        return users
    linked = {id(getattr(u, "from_predicted", None)) for u in users}
    return users + [p for p in preds if id(p) not in linked]


# --------------------------------------------------------------------------- analysis .h5
def _load_analysis_h5(path: Path, video: int) -> Poses:
    if video not in (0, None):
        raise ConfigError(
            f"{path}: an analysis .h5 file holds the poses of one video; video={video!r} is "
            "out of range (only 0 is valid)"
        )
    try:
        with h5py.File(path, "r") as f:
            tracks_ds = f["tracks"]
            if "node_names" not in f:
                hint = ""
                if tracks_ds.ndim == 4 and tracks_ds.shape[-1] == 3:
                    hint = (
                        " It looks like a 3D points3d.h5 (last axis 3): read it with "
                        "load_sleap_3d(path, node_names=...)."
                    )
                raise FileFormatError(
                    f"{path}: SLEAP analysis file has no 'node_names' dataset.{hint}"
                )
            node_names = strings(f["node_names"][()])
            track_names = strings(f["track_names"][()]) if "track_names" in f else []
            order = _analysis_layout(path, f, tracks_ds, len(node_names), len(track_names))
            raw = tracks_ds[()]
            scores_raw = f["point_scores"][()] if "point_scores" in f else None
            scores_dims = _dims_attr(f["point_scores"]) if "point_scores" in f else None
            edges = _analysis_edges(path, f, node_names)
            video_path = attr_str(f["video_path"][()]) if "video_path" in f else ""
            backend_meta = _json_attr(f.attrs.get("video_backend_metadata"))
    except OSError as e:
        raise FileFormatError(f"{path}: cannot read the SLEAP analysis file ({e})") from e

    axes = [order[d] for d in _CANONICAL_2D]
    data = np.transpose(np.asarray(raw, dtype=np.float64), axes)  # (frame, track, node, xy)
    n_frames, n_tracks, n_nodes, _ = data.shape
    if n_tracks == 0 or n_frames == 0 or np.isnan(data).all():
        raise FileFormatError(
            f"{path}: the SLEAP analysis file holds no pose instances (tracks has shape "
            f"{tuple(raw.shape)}{', all NaN' if raw.size else ''}); there are no poses to read"
        )

    if scores_raw is None:
        conf = np.full((n_frames, n_tracks, n_nodes), np.nan)
    else:
        if scores_dims is None:  # the order of tracks without its "xy" axis
            kept = sorted((a, d) for d, a in order.items() if d != "xy")
            scores_dims = [d for _, d in kept]
        if sorted(scores_dims) != ["frame", "node", "track"]:
            raise FileFormatError(f"{path}: point_scores has unknown dims {scores_dims}")
        conf = np.transpose(
            np.asarray(scores_raw, dtype=np.float64),
            [scores_dims.index(d) for d in ("frame", "track", "node")],
        )
        if conf.shape != (n_frames, n_tracks, n_nodes):
            raise FileFormatError(
                f"{path}: point_scores has shape {tuple(scores_raw.shape)}, which does not "
                f"match tracks {tuple(raw.shape)}"
            )
        # user-labelled points are exported without a score: they are certain
        present = np.isfinite(data).all(axis=-1)
        conf = np.where(present & np.isnan(conf), 1.0, conf)

    fps = _positive(backend_meta.get("fps")) or _probe_fps(video_path, path)
    return _tracks_poses(data, node_names, track_names, conf, edges, fps, Source(path, SOFTWARE))


def _tracks_poses(
    data: np.ndarray,
    nodes: list[str],
    track_names: list[str],
    confidence: np.ndarray | None,
    edges: Any,
    fps: float | None,
    source: Source,
    recorded: Mapping[str, Any] | None = None,
) -> Poses:
    """The :class:`Poses` of a SLEAP tracks array ``(frames, tracks, nodes, dims)``.

    The individuals are the file's track names, or ``track_0, ...`` when it has none (or not
    one per track); ``recorded`` adds the fields a liftpose-dlc file records.
    """
    n_tracks = data.shape[1]
    if len(track_names) != n_tracks:
        track_names = [f"track_{i}" for i in range(n_tracks)]
    return Poses(
        data,
        keypoints=nodes,
        individuals=track_names,
        confidence=confidence,
        skeleton=edges,
        fps=fps,
        source=source,
        **(recorded or {}),
    )


def _analysis_layout(
    path: Path, f: h5py.File, tracks: h5py.Dataset, n_nodes: int, n_named_tracks: int
) -> dict[str, int]:
    """The axis of each dimension of ``tracks``: from its attributes, else from its shape."""
    shape = tracks.shape
    if tracks.ndim != 4:
        raise FileFormatError(
            f"{path}: 'tracks' has shape {shape}; a SLEAP analysis file's tracks have 4 axes "
            "(track, xy, node, frame in SLEAP's default export)"
        )

    def fits(order: dict[str, int]) -> bool:
        return (
            shape[order["xy"]] == 2
            and shape[order["node"]] == n_nodes
            and (n_named_tracks == 0 or shape[order["track"]] == n_named_tracks)
        )

    dims = _dims_attr(tracks)
    if dims is not None:
        if sorted(dims) != sorted(_CANONICAL_2D):
            raise FileFormatError(f"{path}: 'tracks' has unknown dims {dims}")
        order, why = {d: i for i, d in enumerate(dims)}, f"its dims attribute {dims}"
    elif (preset := attr_str(f.attrs.get("preset"))) in ("matlab", "standard"):
        order, why = ANALYSIS_LAYOUTS[preset], f"its preset attribute {preset!r}"
    elif "transpose" in f.attrs:
        transposed = bool(f.attrs["transpose"])
        order = ANALYSIS_LAYOUTS["matlab" if transposed else "untransposed"]
        why = f"its transpose attribute {transposed}"
    else:
        candidates = [name for name, o in ANALYSIS_LAYOUTS.items() if fits(o)]
        if not candidates:
            raise FileFormatError(
                f"{path}: 'tracks' has shape {shape}, which fits no SLEAP analysis layout for "
                f"{n_nodes} nodes and {n_named_tracks or 'any number of'} tracks (expected "
                "(tracks, 2, nodes, frames), (frames, tracks, nodes, 2) or "
                "(frames, nodes, 2, tracks))"
            )
        # several fit only in degenerate shapes; SLEAP's default export wins
        return ANALYSIS_LAYOUTS["matlab" if "matlab" in candidates else candidates[0]]
    if not fits(order):
        raise FileFormatError(
            f"{path}: 'tracks' has shape {shape}, which does not match {why} for "
            f"{n_nodes} nodes and {n_named_tracks} track names"
        )
    return order


def _analysis_edges(path: Path, f: h5py.File, node_names: list[str]) -> list[tuple[str, str]]:
    if "edge_names" in f and f["edge_names"].size > 0:
        pairs = np.asarray(f["edge_names"][()]).reshape(-1, 2)
        return [(one_string(a), one_string(b)) for a, b in pairs]
    if "edge_inds" in f and f["edge_inds"].size > 0:
        inds = np.asarray(f["edge_inds"][()]).reshape(-1, 2)
        try:
            return [(node_names[int(a)], node_names[int(b)]) for a, b in inds]
        except IndexError as e:
            raise FileFormatError(
                f"{path}: edge_inds names a node beyond the {len(node_names)} node_names"
            ) from e
    return []


# =========================================================================== 3D files
def save_sleap_3d(
    poses: Poses,
    path: str | os.PathLike,
    *,
    inferred: np.ndarray | None = None,
    overwrite: bool = False,
    units: str | None = None,
    frame: str | None = None,
) -> Path:
    """Write 3D poses as an HDF5 file in SLEAP's analysis layout, with 3 coordinates.

    Datasets, as SLEAP's analysis export (and movement's ``to_sleap_analysis_file``) lay
    them out, so that ``movement.io.load_dataset(path, "SLEAP")`` opens the file:
    ``tracks`` ``(n_tracks, 3, n_nodes, n_frames)`` float64 (NaN where missing),
    ``point_scores`` ``(n_tracks, n_nodes, n_frames)`` (the poses' confidence),
    ``track_occupancy`` ``(n_frames, n_tracks)``, ``node_names``, ``track_names``,
    ``edge_names`` ``(n_edges, 2)`` and ``edge_inds``. Each array has a ``dims`` attribute
    (JSON list of axis names) from which :func:`load_sleap_3d` reads it back (as it reads
    sleap-anipose's own ``(n_frames, n_tracks, n_nodes, 3)`` files). The file has
    attributes ``format="points3d"``, ``layout`` (the axis names of ``tracks``), ``units``,
    ``frame``, ``software``, ``fps`` (when known), ``liftpose_dlc_version``, the lifter and
    the 2D source (:mod:`liftpose_dlc.io.metadata`) and ``source_path``. With ``inferred``,
    a bool dataset ``inferred`` ``(n_tracks, n_nodes, n_frames)`` is added (read back with
    :func:`load_sleap_3d_inferred`; movement ignores it).

    Parameters
    ----------
    poses
        3D poses (``n_dims == 3``).
    path
        Destination file (conventionally ``points3d.h5``).
    inferred
        True where the 2D point was missing and the 3D is the lifter's estimate, shape
        ``(n_frames, n_tracks, n_nodes)`` (``(n_frames, n_nodes)`` for one track).
    overwrite
        Replace an existing file; otherwise an existing file raises.
    units
        Unit of the coordinates (e.g. ``"mm"``), stored as an attribute; default the
        poses' ``units`` (``"unknown"`` when None).
    frame
        Their coordinate frame (e.g. ``"camera"``), stored as the attribute ``frame``;
        default the poses' ``frame``.

    Returns
    -------
    Path
        The written file. It is written to a temporary file first and renamed, so a
        failure never leaves a half-written file.

    Raises
    ------
    PosesValidationError
        If ``poses`` is not 3D, or ``inferred`` does not have the poses' shape.
    OutputExistsError
        If ``path`` exists and ``overwrite`` is False.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> poses = Poses(np.zeros((5, 1, 2, 3)), keypoints=["head", "tail"],
    ...               skeleton=[("head", "tail")])
    >>> out = save_sleap_3d(poses, pathlib.Path(tempfile.mkdtemp()) / "points3d.h5",
    ...                     units="mm")
    >>> load_sleap_3d(out).data.shape
    (5, 1, 2, 3)
    """
    require_poses(poses, "save_sleap_3d", dims=3)
    if inferred is not None:
        inferred = poses.point_mask(inferred, "inferred")
    edge_names = np.array(
        [[a.encode("utf-8"), b.encode("utf-8")] for a, b in poses.skeleton.edges], dtype=bytes
    ).reshape(-1, 2)
    # (frames, tracks, nodes[, xyz]) -> (tracks, [xyz,] nodes, frames)
    tracks = np.transpose(poses.data, (1, 3, 2, 0))
    scores = np.transpose(poses.confidence, (1, 2, 0))
    occupancy = (~np.isnan(poses.data).all(axis=(2, 3))).astype(np.uint8)
    attrs = output_attrs(poses)
    if units is not None:
        attrs["units"] = units
    if frame is not None:
        attrs["frame"] = frame
    check_overwrite(path, overwrite)
    # built in memory, then written with plain I/O: a full disk gives one clean error
    with memory_file() as (f, image):
        ds = f.create_dataset("tracks", data=tracks, compression="gzip")
        ds.attrs["dims"] = json.dumps(list(ANALYSIS_3D_DIMS))
        ds.attrs["Description"] = "Shape: (n_tracks, 3, n_nodes, n_frames)."
        ds = f.create_dataset("point_scores", data=scores, compression="gzip")
        ds.attrs["dims"] = json.dumps(["track", "node", "frame"])
        ds = f.create_dataset("track_occupancy", data=occupancy, compression="gzip")
        ds.attrs["dims"] = json.dumps(["frame", "track"])
        f.create_dataset("node_names", data=_encode(poses.keypoints))
        f.create_dataset("track_names", data=_encode(poses.individuals))
        f.create_dataset("edge_names", data=edge_names)
        f.create_dataset(
            "edge_inds", data=np.array(poses.edge_indices, dtype=np.int64).reshape(-1, 2)
        )
        f.attrs["format"] = POINTS3D_FORMAT
        f.attrs["layout"] = ",".join(ANALYSIS_3D_DIMS)
        f.attrs["software"] = "liftpose-dlc"
        for name, value in attrs.items():
            f.attrs[name] = value
        if poses.source.path is not None:
            f.attrs["source_path"] = poses.source.path
        if inferred is not None:
            ds = f.create_dataset("inferred", data=np.transpose(inferred, (1, 2, 0)))
            ds.attrs["dims"] = json.dumps(["track", "node", "frame"])
            ds.attrs["Description"] = (
                "True where the 2D point was missing and the 3D is the lifter's estimate"
            )
    check = _same_points3d(poses, inferred)
    with atomic_path(path, overwrite=overwrite, verify=check) as tmp:
        write_image(image[0], tmp)
    return Path(path)


def _same_points3d(poses: Poses, inferred: np.ndarray | None) -> Any:
    """A check for :func:`~liftpose_dlc._filesystem.atomic_path`: the file holds these poses."""

    def verify(path: Path) -> None:
        with h5py.File(path, "r") as f:
            # the file's axes are SLEAP's analysis layout (see save_sleap_3d)
            tracks = np.transpose(f["tracks"][()], (3, 0, 2, 1))
            if not np.array_equal(tracks, poses.data, equal_nan=True):
                raise ValueError("the 3D read back differs from the 3D written")
            scores = np.transpose(f["point_scores"][()], (2, 0, 1))
            if not np.array_equal(scores, poses.confidence, equal_nan=True):
                raise ValueError("the scores read back differ from those written")
            if strings(f["node_names"][()]) != list(poses.keypoints):
                raise ValueError("the node names read back differ from those written")
            mask = np.transpose(f["inferred"][()], (2, 0, 1)) if inferred is not None else None
            if inferred is not None and mask is not None and not np.array_equal(mask, inferred):
                raise ValueError("the inferred mask read back differs from the one written")

    return verify


def load_sleap_3d_inferred(path: str | os.PathLike) -> np.ndarray | None:
    """The ``inferred`` mask :func:`save_sleap_3d` may write, shape (n_frames, n_tracks, n_nodes).

    Returns None when the file has none (sleap-anipose's files never do).

    Raises
    ------
    MissingFileError
        If ``path`` does not exist.
    FileFormatError
        If the file is not HDF5, or its ``inferred`` is not a 3-axis dataset.
    """
    p = check_file(path, "3D poses file")
    if not is_hdf5(p):
        raise FileFormatError(f"{p}: not an HDF5 file; a points3d.h5 file is HDF5")
    try:
        with h5py.File(p, "r") as f:
            ds = f.get("inferred")
            if ds is None:
                return None
            if not isinstance(ds, h5py.Dataset) or ds.ndim != 3:
                raise FileFormatError(
                    f"{p}: 'inferred' must be a (n_frames, n_tracks, n_nodes) dataset"
                )
            return _canonical(np.asarray(ds[()], dtype=bool), _dims_attr(ds), p, "inferred")
    except OSError as e:
        raise FileFormatError(f"{p}: cannot read the 3D poses file ({e})") from e


@reader_boundary("3D poses file")
def load_sleap_3d(
    path: str | os.PathLike,
    node_names: Sequence[str] | str | os.PathLike | None = None,
) -> Poses:
    """Read 3D poses from a ``points3d.h5`` (sleap-anipose's or :func:`save_sleap_3d`'s).

    Parameters
    ----------
    path
        The HDF5 file; its ``tracks`` dataset has shape ``(n_frames, n_tracks, n_nodes, 3)``.
    node_names
        The node names, needed for sleap-anipose's own ``points3d.h5`` which does not store
        them: a list of names in node order, or the path of a SLEAP file of the session
        (``.slp`` or analysis ``.h5`` of any view), whose skeleton also gives the edges.
        When the file stores names, names given here must equal them.

    Returns
    -------
    Poses
        3D poses; individuals from ``track_names`` (else ``track_0, ...``), confidence from
        ``point_scores`` (else NaN), fps when stored. An ``inferred`` dataset is not part of
        :class:`Poses`: read it with :func:`load_sleap_3d_inferred`.

    Raises
    ------
    MissingFileError
        If ``path`` (or a SLEAP file given as ``node_names``) does not exist.
    FileFormatError
        If the file is not HDF5 or its ``tracks`` is not ``(frames, tracks, nodes, 3)``.
    KeypointError
        If the node names are unknown or disagree with the file.

    Examples
    --------
    >>> poses = load_sleap_3d("points3d.h5",
    ...                       node_names="back/minimal_back_proofread.slp")  # doctest: +SKIP
    >>> poses.data.shape  # doctest: +SKIP
    (120, 1, 15, 3)
    """
    p = check_file(path, "3D poses file")
    if not is_hdf5(p):
        raise FileFormatError(f"{p}: not an HDF5 file; a points3d.h5 file is HDF5")
    try:
        with h5py.File(p, "r") as f:
            if not isinstance(f.get("tracks"), h5py.Dataset):
                raise FileFormatError(
                    f"{p}: no 'tracks' dataset; a points3d.h5 holds one, with shape "
                    "(n_frames, n_tracks, n_nodes, 3)"
                )
            raw = np.asarray(f["tracks"][()], dtype=np.float64)
            dims = _dims_attr(f["tracks"])
            stored_nodes = strings(f["node_names"][()]) if "node_names" in f else None
            track_names = strings(f["track_names"][()]) if "track_names" in f else []
            scores = f["point_scores"][()] if "point_scores" in f else None
            edges = _analysis_edges(p, f, stored_nodes) if stored_nodes is not None else []
            fps = _positive(f.attrs.get("fps"))
            software = attr_str(f.attrs.get("software")) or "sleap-anipose"
            score_dims = _dims_attr(f["point_scores"]) if scores is not None else None
            recorded = fields_from_attrs(dict(f.attrs))
    except OSError as e:
        raise FileFormatError(f"{p}: cannot read the 3D poses file ({e})") from e

    if dims is not None and list(dims) != list(POINTS3D_DIMS):
        if raw.ndim != 4 or sorted(dims) != sorted(POINTS3D_DIMS):
            raise FileFormatError(f"{p}: 'tracks' has unknown dims {dims}")
        raw = np.transpose(raw, [dims.index(d) for d in POINTS3D_DIMS])
    if raw.ndim != 4 or raw.shape[-1] != 3:
        raise FileFormatError(
            f"{p}: 'tracks' has shape {raw.shape}; a points3d.h5 holds "
            "(n_frames, n_tracks, n_nodes, 3). For 2D SLEAP analysis files use load_sleap."
        )
    n_frames, n_tracks, n_nodes, _ = raw.shape

    keypoints, edges = _resolve_3d_names(p, n_nodes, stored_nodes, edges, node_names)
    conf = None
    if scores is not None:
        scores = _canonical(np.asarray(scores, dtype=np.float64), score_dims, p, "point_scores")
        if scores.shape == (n_frames, n_tracks, n_nodes):
            conf = scores
    source = Source(p, software)
    return _tracks_poses(raw, keypoints, track_names, conf, edges, fps, source, recorded)


_POINT_DIMS = ("frame", "track", "node")


def _canonical(values: np.ndarray, dims: list[str] | None, path: Path, name: str) -> np.ndarray:
    """A per-point array ``(frames, tracks, nodes)`` from the axis order its ``dims`` says."""
    if dims is None or list(dims) == list(_POINT_DIMS):
        return values
    if values.ndim != 3 or sorted(dims) != sorted(_POINT_DIMS):
        raise FileFormatError(f"{path}: {name!r} has unknown dims {dims}")
    return np.transpose(values, [dims.index(d) for d in _POINT_DIMS])


def _resolve_3d_names(
    path: Path,
    n_nodes: int,
    stored: list[str] | None,
    stored_edges: list[tuple[str, str]],
    given: Sequence[str] | str | os.PathLike | None,
) -> tuple[list[str], list[tuple[str, str]]]:
    edges = stored_edges
    if given is None:
        if stored is None:
            raise KeypointError(
                f"{path}: the file does not store node names (sleap-anipose's points3d.h5 "
                f"does not); pass node_names=[...] ({n_nodes} names in node order) or "
                "node_names=<a .slp or .analysis.h5 file of the same session>"
            )
        names = stored
    elif isinstance(given, (str, os.PathLike)):
        names, file_edges = _read_sleap_skeleton(Path(given))
        edges = edges or file_edges
        source = f"{given}"
        if stored is None and len(names) != n_nodes:
            raise KeypointError(
                f"{path}: has {n_nodes} nodes but the SLEAP file {source} has "
                f"{len(names)}: {names}; is it from the same session?"
            )
    else:
        names = [str(n) for n in given]
        if stored is None and len(names) != n_nodes:
            raise KeypointError(
                f"{path}: has {n_nodes} nodes but {len(names)} node_names were given: {names}"
            )
    if stored is not None and names != stored:
        raise KeypointError(
            f"{path}: the file names its nodes {stored}, which differ from the node names "
            f"given {names}"
        )
    return names, edges


def _read_sleap_skeleton(path: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Node names and edges of a SLEAP ``.slp`` or analysis ``.h5`` (no poses read)."""
    p = check_file(path, "SLEAP file for node names")
    kind = _sniff(p)
    if kind == "analysis":
        with h5py.File(p, "r") as f:
            if "node_names" not in f:
                raise FileFormatError(f"{p}: SLEAP analysis file has no 'node_names' dataset")
            names = strings(f["node_names"][()])
            return names, _analysis_edges(p, f, names)
    sio = _import_sleap_io()
    try:
        labels = sio.load_slp(str(p), open_videos=False)
    except Exception as e:
        raise FileFormatError(
            f"{p}: cannot be read as a SLEAP .slp file ({type(e).__name__}: {e})"
        ) from e
    if not labels.skeletons:
        raise FileFormatError(f"{p}: the SLEAP file has no skeleton")
    if len({tuple(s.node_names) for s in labels.skeletons}) > 1:
        raise FileFormatError(
            f"{p}: the SLEAP file has {len(labels.skeletons)} different skeletons; pass "
            "node_names as a list instead"
        )
    skeleton = labels.skeletons[0]
    return (
        [n.name for n in skeleton.nodes],
        [(e.source.name, e.destination.name) for e in skeleton.edges],
    )


# =========================================================================== helpers
def _json_attr(value: Any) -> dict:
    if value is None:
        return {}
    try:
        loaded = json.loads(attr_str(value) or "")
    except (TypeError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _dims_attr(ds: h5py.Dataset) -> list[str] | None:
    raw = ds.attrs.get("dims")
    if raw is None:
        return None
    try:
        dims = json.loads(attr_str(raw) or "")
    except (TypeError, ValueError):
        return None
    return [str(d) for d in dims] if isinstance(dims, list) else None


def _encode(names: Sequence[str]) -> np.ndarray:
    return np.array([n.encode("utf-8") for n in names], dtype=bytes)


def _positive(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) and number > 0 else None


def _probe_fps(stored_path: str | None, labels_path: Path) -> float | None:
    """Frame rate of the video, if it can be found and PyAV is installed; else None.

    The video is looked for at its stored path, relative to the SLEAP file's folder, and
    under its own name beside the SLEAP file (where SLEAP looks for moved videos).
    """
    if not stored_path:
        return None
    name = re.split(r"[\\/]", stored_path)[-1]
    if Path(name).suffix.lower() not in _VIDEO_SUFFIXES:
        return None
    folder = labels_path.parent
    stored = Path(stored_path)
    candidates = [stored] if stored.is_absolute() else [folder / stored]
    candidates.append(folder / name)
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        return None
    try:
        import av
    except ImportError:
        return None
    try:
        with av.open(str(found)) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.base_rate or stream.guessed_rate
    except Exception:  # an unreadable video only means the fps is unknown
        return None
    return _positive(rate)


# =========================================================================== registry
def _sniff_points3d(probe: Probe) -> bool:
    if not probe.is_hdf5:
        return False
    h5 = probe.h5
    if h5["format"] == POINTS3D_FORMAT:
        return True
    shape = h5["datasets"].get("tracks")
    return (
        shape is not None and len(shape) == 4 and shape[-1] == 3 and "node_names" not in h5["names"]
    )


def _sniff_analysis(probe: Probe) -> bool:
    h5 = probe.h5 if probe.is_hdf5 else {}
    return bool(h5) and "tracks" in h5["datasets"] and "node_names" in h5["names"]


def _analysis_dims(probe: Probe) -> int:
    """3 for an analysis-layout file that holds 3D (ours, or ``tracks`` ``(F, T, N, 3)``)."""
    h5 = probe.h5
    shape: tuple[int, ...] = h5["datasets"].get("tracks") or ()
    three_d = h5["format"] == POINTS3D_FORMAT or (
        len(shape) == 4 and shape[-1] == 3 and 2 not in shape[1:3]
    )
    return 3 if three_d else 2


def _sniff_slp(probe: Probe) -> bool:
    if probe.is_hdf5:
        names = set(probe.h5["names"])
        return "metadata" in names and bool(names & {"frames", "instances", "points"})
    return probe.path.suffix.lower() == ".slp" and probe.head.lstrip().startswith(b"{")


def _read_points3d(path: str | os.PathLike, keypoints: Sequence[str] | None = None) -> Poses:
    return load_sleap_3d(path, node_names=keypoints)


_WRITE_AS = "sleap-anipose"
FORMATS = (
    Format(
        name="sleap-anipose",
        description="a sleap-anipose points3d.h5 (a 'tracks' dataset of shape "
        "(frames, tracks, nodes, 3))",
        sniff=_sniff_points3d,
        read=_read_points3d,
        dims=(3,),
        names_keypoints=True,
        software=("sleap-anipose",),
        write=save_sleap_3d,
        suffixes=(".h5", ".hdf5"),
        write_as=_WRITE_AS,
    ),
    Format(
        name="sleap_analysis",
        description="a SLEAP analysis .h5",
        sniff=_sniff_analysis,
        read=load_sleap,
        software=(SOFTWARE,),
        write_as=_WRITE_AS,
        file_dims=_analysis_dims,
    ),
    Format(
        name="sleap",
        description="a SLEAP .slp",
        sniff=_sniff_slp,
        read=load_sleap,
        software=(SOFTWARE,),
        write_as=_WRITE_AS,
    ),
)
