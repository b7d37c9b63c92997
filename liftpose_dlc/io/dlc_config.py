"""DeepLabCut projects without DeepLabCut: ``config.yaml``, analysis outputs, ``_meta.pickle``.

Nothing here imports ``deeplabcut``. The config is read with PyYAML; analysis outputs are found
by DeepLabCut's naming scheme
``<video stem><scorer>[_<tracker>][_filtered].h5``, where the scorer is
``DLC_<net>_<Task><date>shuffle<shuffle>_<snapshot>`` (``DeepCut_...`` for very old projects).
Projects are often moved between machines: the ``project_path`` stored in the config and the
video paths under ``video_sets`` may point to another computer (even another OS). The folder
holding ``config.yaml`` is taken as the project folder, and a video that is not at its stored
path is looked for under ``<project>/videos/<name>``. The video file itself need not exist:
only its name is used to find its analysis output.
"""

from __future__ import annotations

import os
import pickle
import re
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Literal

import attrs
import yaml

from liftpose_dlc._boundary import reader_boundary
from liftpose_dlc._filesystem import check_file
from liftpose_dlc.errors import ConfigError, MissingFileError
from liftpose_dlc.poses import check_pcutoff

__all__ = [
    "read_dlc_config",
    "as_config",
    "is_multianimal",
    "config_bodyparts",
    "config_skeleton",
    "config_pcutoff",
    "find_analysis_outputs",
    "video_name",
    "DLCMeta",
    "read_dlc_meta",
    "meta_pickle_candidates",
    "VIDEO_EXTENSIONS",
    "TRACKERS",
]

#: File extensions taken as videos when a folder is passed to :func:`find_analysis_outputs`.
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".mpg", ".mpeg", ".wmv", ".m4v", ".webm")

#: DeepLabCut's tracker suffixes (``default_track_method`` -> file suffix, without underscore).
TRACKERS = {
    "ellipse": "el",
    "box": "bx",
    "skeleton": "sk",
    "transformer": "tr",
    "ctd": "ctd",
    "identity": "id",
}

# the part of a scorer after "shuffle<N>_": DLC 2 writes the training iterations (30000),
# DLC 3 "snapshot_<uid>" or "detector_<uid>_snapshot_<uid>" (uids hold no underscore)
_SNAPSHOT = r"(?:\d+|(?:detector_[A-Za-z0-9.\-]+_)?snapshot_[A-Za-z0-9.\-]+)"


# ----------------------------------------------------------------------------- config
@reader_boundary("DeepLabCut config", ConfigError)
def read_dlc_config(config_path: str | os.PathLike) -> dict[str, Any]:
    """Read a DeepLabCut project's ``config.yaml`` (with PyYAML; DeepLabCut is not needed).

    Parameters
    ----------
    config_path
        Path to ``config.yaml``.

    Returns
    -------
    dict
        The config's entries, plus:

        - ``"project_path"``: the folder holding ``config.yaml`` (the effective project
          folder: moved projects keep a stale path in the file),
        - ``"project_path_in_config"``: the ``project_path`` written in the file,
        - ``"config_path"``: the absolute path of the config file.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    ConfigError
        If the file is not YAML, not a mapping, or has no ``bodyparts`` (multi-animal
        projects, with ``bodyparts: MULTI!``, need ``multianimalbodyparts``).

    Examples
    --------
    >>> cfg = read_dlc_config("openfield/config.yaml")  # doctest: +SKIP
    >>> config_bodyparts(cfg)  # doctest: +SKIP
    ['snout', 'leftear', 'rightear', 'tailbase']
    """
    path = check_file(config_path, "DeepLabCut config")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a DeepLabCut config (not a UTF-8 text file)") from exc
    try:
        cfg = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not a valid YAML file: {exc}") from exc
    if not isinstance(cfg, dict):
        raise ConfigError(
            f"{path}: a DeepLabCut config must be a YAML mapping (key: value), "
            f"got {type(cfg).__name__}"
        )
    _check_config(cfg, str(path))
    cfg = dict(cfg)
    cfg["project_path_in_config"] = cfg.get("project_path")
    cfg["project_path"] = str(path.resolve().parent)
    cfg["config_path"] = str(path.resolve())
    return cfg


def _check_config(cfg: Mapping[str, Any], where: str) -> None:
    if "bodyparts" not in cfg:
        raise ConfigError(f"{where}: no 'bodyparts' entry; is this a DeepLabCut config.yaml?")
    if is_multianimal(cfg):
        mabp = cfg.get("multianimalbodyparts")
        if not isinstance(mabp, list) or not mabp:
            raise ConfigError(
                f"{where}: a multi-animal config (bodyparts: MULTI!) needs a non-empty "
                "'multianimalbodyparts' list"
            )
        unique = cfg.get("uniquebodyparts") or []
        if not isinstance(unique, list):
            raise ConfigError(f"{where}: 'uniquebodyparts' must be a list")
    else:
        bp = cfg["bodyparts"]
        if not isinstance(bp, list) or not bp:
            raise ConfigError(f"{where}: 'bodyparts' must be a non-empty list of names, got {bp!r}")


def is_multianimal(cfg: Mapping[str, Any]) -> bool:
    """Whether a config (from :func:`read_dlc_config`) is a multi-animal project's."""
    return bool(cfg.get("multianimalproject")) or cfg.get("bodyparts") == "MULTI!"


def as_config(config: str | os.PathLike | Mapping[str, Any]) -> dict[str, Any]:
    """A checked config dict from a path to ``config.yaml`` or an already read config."""
    if isinstance(config, Mapping):
        cfg = dict(config)
        _check_config(cfg, str(cfg.get("config_path", "DeepLabCut config")))
        return cfg
    return read_dlc_config(config)


def config_bodyparts(config: str | os.PathLike | Mapping[str, Any]) -> list[str]:
    """All keypoint names of a project: ``bodyparts``, or multi-animal then unique bodyparts."""
    cfg = as_config(config)
    if is_multianimal(cfg):
        return [str(b) for b in cfg["multianimalbodyparts"]] + [
            str(b) for b in cfg.get("uniquebodyparts") or []
        ]
    return [str(b) for b in cfg["bodyparts"]]


def config_skeleton(
    config: str | os.PathLike | Mapping[str, Any], keypoints: Iterable[str] | None = None
) -> list[tuple[str, str]]:
    """The config's ``skeleton`` as pairs of names, keeping only edges between ``keypoints``."""
    cfg = as_config(config)
    names = None if keypoints is None else set(keypoints)
    edges = []
    for edge in cfg.get("skeleton") or []:
        if not isinstance(edge, (list, tuple)) or len(edge) != 2:
            continue
        a, b = str(edge[0]), str(edge[1])
        wanted = names is None or (a in names and b in names)
        if wanted and (a, b) not in edges:
            edges.append((a, b))
    return edges


def config_pcutoff(config: str | os.PathLike | Mapping[str, Any]) -> float | None:
    """The config's ``pcutoff``, or None when it has none.

    Raises
    ------
    ConfigError
        If it is not a number in [0, 1] (the message names the config).
    """
    cfg = as_config(config)
    return check_pcutoff(cfg.get("pcutoff"), where=str(cfg.get("config_path", "DeepLabCut config")))


# ------------------------------------------------------------------- analysis outputs
def video_name(video: str | os.PathLike) -> str:
    """The file name of a video path, also of a Windows path read on another OS."""
    text = os.fspath(video)
    if "\\" in text:  # a path written on Windows
        return PureWindowsPath(text).name
    return PurePosixPath(text).name


def _list_videos(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS
    )


def _tracker_code(track_method: str) -> str:
    code = TRACKERS.get(track_method.lower(), track_method.lower())
    return code.lstrip("_")


def _scorer_pattern(cfg: Mapping[str, Any], shuffle: int, scorer: str | None) -> str:
    if scorer is not None:
        return re.escape(scorer)
    task, date = cfg.get("Task"), cfg.get("date")
    if task is not None and date is not None:
        middle = rf".+?_{re.escape(str(task))}{re.escape(str(date))}"
    else:
        middle = r".+?"
    return rf"(?:DLC|DeepCut)_{middle}shuffle{int(shuffle)}_{_SNAPSHOT}"


@attrs.frozen
class _Output:
    path: Path
    scorer: str
    tracker: str | None
    filtered: bool


def _candidates(folders: list[Path], stem: str, scorer_re: str) -> list[_Output]:
    pattern = re.compile(
        rf"^{re.escape(stem)}(?P<scorer>{scorer_re})"
        rf"(?:_(?P<tracker>[a-z]{{2,3}}))?(?P<filtered>_filtered)?\.h5$"
    )
    found: dict[Path, _Output] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            m = pattern.match(path.name)
            if m is None or not path.is_file():
                continue
            tracker = m.group("tracker")
            if tracker is not None and tracker not in TRACKERS.values():
                continue
            found.setdefault(
                path.resolve(),
                _Output(path, m.group("scorer"), tracker, m.group("filtered") is not None),
            )
    return sorted(found.values(), key=lambda o: o.path.name)


def _pick(
    outputs: list[_Output],
    video: Path,
    cfg: Mapping[str, Any],
    filtered: bool,
    track_method: str | None,
) -> _Output | str:
    """The chosen output, or a string saying why none fits."""
    scorers = sorted({o.scorer for o in outputs})
    if len(scorers) > 1:
        raise ConfigError(
            f"video {video.name}: analysis outputs from several models were found: {scorers} "
            f"({[o.path.name for o in outputs]}); pass scorer='...' to choose one"
        )
    if filtered:
        chosen = [o for o in outputs if o.filtered]
        if not chosen:
            chosen = [o for o in outputs if not o.filtered]
            if chosen:
                warnings.warn(
                    f"video {video.name}: no filtered analysis output (_filtered.h5); "
                    "using the unfiltered one",
                    stacklevel=3,
                )
    else:
        chosen = [o for o in outputs if not o.filtered]
        if not chosen:
            return (
                "only filtered outputs exist "
                f"({[o.path.name for o in outputs]}); pass filtered=True to use them"
            )
    tracked = [o for o in chosen if o.tracker is not None]
    plain = [o for o in chosen if o.tracker is None]
    if is_multianimal(cfg) or not plain:
        method = track_method or cfg.get("default_track_method")
        if tracked and method is not None:
            code = _tracker_code(str(method))
            matching = [o for o in tracked if o.tracker == code]
            if matching:
                tracked = matching
            elif track_method is not None:
                return (
                    f"no output tracked with {track_method!r} "
                    f"(found {[o.path.name for o in chosen]})"
                )
        if len(tracked) > 1:
            raise ConfigError(
                f"video {video.name}: outputs of several trackers were found: "
                f"{[o.path.name for o in tracked]}; pass track_method='ellipse'|'box'|... "
                "to choose one"
            )
        if tracked:
            return tracked[0]
    return plain[0]


def find_analysis_outputs(
    config: str | os.PathLike | Mapping[str, Any],
    videos: str | os.PathLike | Iterable[str | os.PathLike] | None = None,
    *,
    shuffle: int = 1,
    trainingsetindex: int = 0,
    filtered: bool = False,
    destfolder: str | os.PathLike | None = None,
    scorer: str | None = None,
    track_method: str | None = None,
    missing: Literal["raise", "skip"] = "raise",
    all_project_videos: bool = False,
) -> dict[Path, Path | None]:
    """Find the DeepLabCut analysis output (``.h5``) of each video of a project.

    Outputs are named ``<video stem><scorer>[_<tracker>][_filtered].h5`` by DeepLabCut's
    ``analyze_videos``, ``stitch_tracklets`` and ``filterpredictions``. The scorer is
    ``DLC_<net>_<Task><date>shuffle<shuffle>_<snapshot>``; the network and snapshot cannot be
    known without DeepLabCut, so any output of this project's ``Task``/``date`` and the given
    ``shuffle`` matches, and several matching scorers are an error (pass ``scorer=``).
    Pickles (``_full.pickle``, ``_assemblies.pickle``, ``_meta.pickle``) are never returned.

    Parameters
    ----------
    config
        Path to the project's ``config.yaml``, or a dict from :func:`read_dlc_config`.
    videos
        Video files or folders (a folder means the video files it holds, by extension:
        :data:`VIDEO_EXTENSIONS`). Default: the config's ``video_sets``. A video need not exist;
        only its name is used.
    shuffle
        The shuffle whose outputs are wanted (part of the scorer name).
    trainingsetindex
        Accepted for symmetry with DeepLabCut's functions. DeepLabCut's output names do not
        contain the training fraction, so it does not change which file is found.
    filtered
        If True, prefer ``_filtered.h5`` (falling back, with a warning, to the unfiltered
        output); if False, only unfiltered outputs are returned.
    destfolder
        The folder ``analyze_videos`` wrote to (its ``destfolder``); default: the video's
        folder, and ``<project>/videos``.
    scorer
        The exact scorer (e.g. ``"DLC_resnet50_openfieldAug20shuffle1_30000"``) when several
        models analysed the same video.
    track_method
        For multi-animal projects, which tracker's table to use (``"ellipse"``, ``"box"``,
        ``"skeleton"``, ... or the suffix ``"el"``, ``"bx"``, ...). Default: the config's
        ``default_track_method``, else the only tracked table. Tracked tables are preferred
        over untracked ones in multi-animal projects.
    missing
        ``"raise"``: a video without output raises :class:`MissingFileError`. ``"skip"``: the
        video maps to None (so the caller can report it).
    all_project_videos
        With ``videos=None``: also the video files in ``<project>/videos`` that ``video_sets``
        does not list, each name once (a video found there is used from there). The config
        may then list no videos as long as that folder holds some.

    Returns
    -------
    dict
        ``{video path: output path or None}`` in the order of the videos. The video path is
        the file passed, or, for config videos not found at their stored path,
        ``<project>/videos/<name>``.

    Raises
    ------
    MissingFileError
        If an output is missing and ``missing="raise"``, or a folder in ``videos`` does not
        exist.
    ConfigError
        If several scorers or trackers match (the message lists the files), or the config
        lists no videos and none are passed.

    Examples
    --------
    >>> outputs = find_analysis_outputs("openfield/config.yaml")  # doctest: +SKIP
    >>> {v.name: o.name for v, o in outputs.items() if o is not None}  # doctest: +SKIP
    {'m3v1mp4.mp4': 'm3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5'}
    """
    del trainingsetindex  # not part of DeepLabCut's output names (see docstring)
    if missing not in ("raise", "skip"):
        raise ConfigError(f"missing must be 'raise' or 'skip', got {missing!r}")
    cfg = as_config(config)
    project = Path(cfg.get("project_path") or ".")
    project_videos = project / "videos"
    if videos is None and all_project_videos:
        video_list = _config_and_folder_videos(cfg, project_videos)
    else:
        video_list = _resolve_videos(cfg, videos, project_videos)
    scorer_re = _scorer_pattern(cfg, shuffle, scorer)
    dest = None if destfolder is None else Path(destfolder).expanduser()
    if dest is not None and not dest.is_dir():
        raise MissingFileError(f"destfolder not found: {dest}")

    result: dict[Path, Path | None] = {}
    for video in video_list:
        stem = Path(video_name(video)).stem
        if dest is not None:
            folders = [dest]
        else:
            folders = [video.parent] if video.parent.is_dir() else []
            if project_videos not in folders:
                folders.append(project_videos)
        outputs = _candidates(folders, stem, scorer_re)
        picked: _Output | str
        if outputs:
            picked = _pick(outputs, video, cfg, filtered, track_method)
        else:
            what = f"scorer {scorer!r}" if scorer else f"shuffle {shuffle}"
            picked = (
                f"no analysis output '{stem}DLC_...shuffle{shuffle}_....h5' ({what}) in "
                f"{[str(f) for f in folders]}; run deeplabcut.analyze_videos first"
            )
        if isinstance(picked, str):
            if missing == "raise":
                raise MissingFileError(f"video {video.name}: {picked}")
            result[video] = None
        else:
            result[video] = picked.path
    return result


def _config_and_folder_videos(cfg: Mapping[str, Any], project_videos: Path) -> list[Path]:
    """The config's ``video_sets`` and the videos in ``<project>/videos``, once per name."""
    names: dict[str, Path] = {}
    for video in cfg.get("video_sets") or {}:
        names.setdefault(video_name(video), _config_video(video, project_videos))
    if project_videos.is_dir():
        for p in _list_videos(project_videos):
            names[p.name] = p
    if not names:
        where = cfg.get("config_path", "DeepLabCut config")
        raise ConfigError(
            f"{where}: no videos under 'video_sets' and none in {project_videos}; pass videos=..."
        )
    return list(names.values())


def _config_video(video: str | os.PathLike, project_videos: Path) -> Path:
    """A ``video_sets`` entry, or ``<project>/videos/<name>`` when it is not where stored."""
    p = Path(str(video)).expanduser()
    if not p.is_absolute():
        p = project_videos.parent / p
    if not p.exists():  # moved project, another machine or OS: use <project>/videos
        p = project_videos / video_name(video)
    return p


def _resolve_videos(
    cfg: Mapping[str, Any],
    videos: str | os.PathLike | Iterable[str | os.PathLike] | None,
    project_videos: Path,
) -> list[Path]:
    if videos is None:
        sets = cfg.get("video_sets") or {}
        if not sets:
            where = cfg.get("config_path", "DeepLabCut config")
            raise ConfigError(f"{where}: no videos under 'video_sets'; pass videos=...")
        return [_config_video(v, project_videos) for v in sets]
    if isinstance(videos, (str, os.PathLike)):
        videos = [videos]
    out = []
    for v in videos:
        if "\\" in os.fspath(v) and os.name != "nt":  # a Windows path on another OS
            out.append(project_videos / video_name(v))
            continue
        p = Path(v).expanduser()
        if p.is_dir():
            found = _list_videos(p)
            if not found:
                raise MissingFileError(
                    f"no video files ({', '.join(VIDEO_EXTENSIONS)}) in folder {p}"
                )
            out.extend(found)
        else:
            out.append(p)
    return out


# ---------------------------------------------------------------------- meta pickle
@attrs.frozen
class DLCMeta:
    """What liftpose-dlc uses from DeepLabCut's ``<output>_meta.pickle``.

    Attributes
    ----------
    fps
        The video's frame rate, or None when not recorded.
    scorer
        The scorer that wrote the analysis (``data["Scorer"]``).
    cropping
        Whether the video was cropped for the analysis.
    crop
        ``(x1, x2, y1, y2)`` of the crop, or None. DeepLabCut stores coordinates relative to
        the cropped frame: add ``(x1, y1)`` to get full-frame pixels.
    nframes
        Number of frames analysed, or None.
    frame_dimensions
        ``(height, width)`` of the analysed frames, or None.
    path
        The pickle that was read.
    """

    fps: float | None
    scorer: str | None
    cropping: bool
    crop: tuple[float, float, float, float] | None
    nframes: int | None
    frame_dimensions: tuple[int, int] | None
    path: Path

    @property
    def crop_offset(self) -> tuple[float, float]:
        """``(x1, y1)`` to add to stored coordinates for full-frame pixels; (0, 0) if uncropped."""
        if self.cropping and self.crop is not None:
            return (self.crop[0], self.crop[2])
        return (0.0, 0.0)


_OUTPUT_SUFFIXES = ("_filtered", *(f"_{t}" for t in TRACKERS.values()), "_tracks")


def meta_pickle_candidates(analysis_path: str | os.PathLike) -> list[Path]:
    """Where DeepLabCut's ``_meta.pickle`` for an analysis file may be, most specific first.

    DeepLabCut writes ``<video stem><scorer>_meta.pickle`` beside ``<video stem><scorer>.h5``;
    the tracked (``_el``, ``_bx``, ...) and filtered (``_filtered``) tables share it.
    """
    path = Path(analysis_path)
    stem = path.stem
    names = [stem]
    changed = True
    while changed:
        changed = False
        for suffix in _OUTPUT_SUFFIXES:
            if stem.endswith(suffix) and len(stem) > len(suffix):
                stem = stem[: -len(suffix)]
                names.append(stem)
                changed = True
                break
    return [path.with_name(f"{n}_meta.pickle") for n in names]


def read_dlc_meta(analysis_path: str | os.PathLike, scorer: str | None = None) -> DLCMeta | None:
    """Read DeepLabCut's ``_meta.pickle`` beside an analysis file; None when absent/unreadable.

    This reads a *pickle written by the user's own DeepLabCut* next to their analysis output
    (pickle can run code: only use it on files you trust; :func:`~liftpose_dlc.io.dlc.load_dlc`
    has ``read_meta=False`` to skip it). liftpose-dlc never uses pickle for its own files.

    Parameters
    ----------
    analysis_path
        The analysis ``.h5``/``.csv``.
    scorer
        If given, a pickle whose ``Scorer`` differs is ignored (it belongs to another model).

    Returns
    -------
    DLCMeta or None
        None when no pickle is found or it cannot be read (never raises for a bad pickle).
    """
    for candidate in meta_pickle_candidates(analysis_path):
        if not candidate.is_file():
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # numpy.core renames etc. in old pickles
                with open(candidate, "rb") as fh:
                    content = pickle.load(fh)  # noqa: S301 - the user's own DLC metadata
            meta = _parse_meta(content, candidate)
        except Exception:  # noqa: BLE001 - a bad pickle only loses metadata
            continue
        if meta is None:
            continue
        if scorer is not None and meta.scorer is not None and meta.scorer != scorer:
            continue
        return meta
    return None


def _parse_meta(content: Any, path: Path) -> DLCMeta | None:
    if not isinstance(content, Mapping):
        return None
    data = content.get("data", content)
    if not isinstance(data, Mapping):
        return None
    fps = data.get("fps")
    try:
        fps = float(fps) if fps is not None else None
    except (TypeError, ValueError):
        fps = None
    if fps is not None and not (fps > 0 and fps < float("inf")):
        fps = None
    crop = data.get("cropping_parameters")
    try:
        crop = tuple(float(c) for c in crop) if crop is not None else None
    except (TypeError, ValueError):
        crop = None
    if crop is not None and len(crop) != 4:
        crop = None
    dims = data.get("frame_dimensions")
    try:
        dims = (int(dims[0]), int(dims[1])) if dims is not None else None
    except (TypeError, ValueError, IndexError):
        dims = None
    nframes = data.get("nframes")
    try:
        nframes = int(nframes) if nframes is not None else None
    except (TypeError, ValueError):
        nframes = None
    scorer = data.get("Scorer")
    return DLCMeta(
        fps=fps,
        scorer=None if scorer is None else str(scorer),
        cropping=bool(data.get("cropping", False)),
        crop=crop,
        nframes=nframes,
        frame_dimensions=dims,
        path=path,
    )
