"""What the LiftPose3D dock widget does, as plain functions (no Qt, no viewer).

The widget (:mod:`napari_liftpose.widget`) only wires these to buttons and threads:

- :func:`inspect_tracking`: read a picked tracking file (DeepLabCut ``.h5``/``.csv`` or
  ``config.yaml``, SLEAP ``.slp`` or analysis ``.h5``) and find what goes with it: the
  DeepLabCut project's ``config.yaml`` (skeleton, ``pcutoff``), the video (:func:`find_video`)
  and the project's own lifter (:func:`project_lifter`). The result pre-fills the widget.
- :func:`pretrained_choices`, :func:`prepare_lifter`: the lifter picker's pretrained models
  (the zoo, and a lab's folders), and a model matched to the tracking's keypoint names;
  :func:`keypoint_map_rows` / :func:`rows_to_keypoint_map` the map as a table to correct,
  :func:`view_choices` the model's views (the view hint), :func:`pretrained_card` its card.
- :func:`individual_choices`, :func:`default_individuals`, :func:`select_individuals`: the
  individual selector of multi-animal data (SLEAP's track fragments included).
- :func:`run_lift`: load the lifter and the video, lift in chunks of frames through the
  lifting engine (:class:`~liftpose_dlc.engine.LiftEngine`, planned once); a generator
  that yields ``(frames done, total)`` after each chunk and returns a :class:`LiftOutcome`
  (what napari's ``thread_worker`` runs: each yield is a progress step and a point where
  Cancel takes effect).
- :meth:`LiftOutcome.layer_data`: the scene's napari layers
  (:func:`~napari_liftpose.scene.scene_layers`).
- :func:`default_output_path` and :func:`save_lifted`: write the lifted 3D with the writer
  the command line uses for the same input (:func:`~liftpose_dlc.io.save_poses`: a DeepLabCut
  table for DeepLabCut, SLEAP-style 3D for SLEAP), atomically, never replacing a file
  unless ``overwrite=True``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from liftpose_dlc._filesystem import check_file
from liftpose_dlc.errors import ConfigError, FileFormatError, LiftPoseError
from liftpose_dlc.io.dlc_config import VIDEO_EXTENSIONS
from liftpose_dlc.poses import Poses

if TYPE_CHECKING:  # pragma: no cover
    from liftpose_dlc.engine import LiftResult
    from liftpose_dlc.lifter.lifter import Lifter
    from liftpose_dlc.pretrained.adapt import MappedLifter
    from liftpose_dlc.pretrained.card import ModelCard
    from napari_liftpose.layers import LayerData
    from napari_liftpose.video import VideoArray

__all__ = [
    "DLC",
    "SLEAP",
    "SINGLE",
    "TrackingInfo",
    "LiftRequest",
    "LiftOutcome",
    "inspect_tracking",
    "find_video",
    "find_dlc_config",
    "project_lifter",
    "pretrained_choices",
    "view_choices",
    "pretrained_card",
    "keypoint_map_rows",
    "rows_to_keypoint_map",
    "prepare_lifter",
    "individual_choices",
    "frames_tracked",
    "default_individuals",
    "select_individuals",
    "load_lifter",
    "chunk_frames",
    "run_lift",
    "default_output_path",
    "save_lifted",
]

DLC = "DeepLabCut"
SLEAP = "SLEAP"
#: DeepLabCut's pseudo-individual holding a multi-animal project's unique bodyparts.
SINGLE = "single"
_CONFIG_SUFFIXES = (".yaml", ".yml")
_DLC_SCORER_PREFIXES = ("DLC", "DeepCut")


# ----------------------------------------------------------------------- inspection
@attrs.frozen
class TrackingInfo:
    """A tracking file as read, with what was found beside it (to pre-fill the widget).

    Attributes
    ----------
    path
        The file the user picked (a pose file or a DeepLabCut ``config.yaml``).
    poses_path
        The 2D pose file read (for a ``config.yaml``: the video's analysis output).
    software
        ``"DeepLabCut"`` or ``"SLEAP"``.
    poses
        The 2D poses as stored (no ``pcutoff`` applied), with the project's skeleton for
        DeepLabCut files that have a ``config.yaml`` (the file itself has none).
    config_path
        The DeepLabCut project's ``config.yaml``, or None.
    video_path
        The video the tracking file names or sits beside, or None when none was found.
    lifter_path
        The DeepLabCut project's own lifter (``<project>/liftpose/lifter.safetensors``)
        when it exists, else None.
    pcutoff
        The project's ``pcutoff``, or None.
    """

    path: Path
    poses_path: Path
    software: str
    poses: Poses
    config_path: Path | None = None
    video_path: Path | None = None
    lifter_path: Path | None = None
    pcutoff: float | None = None

    @property
    def individuals(self) -> list[str]:
        """The individuals to choose from (see :func:`individual_choices`)."""
        return individual_choices(self.poses)


def inspect_tracking(
    path: str | os.PathLike, video: str | os.PathLike | None = None
) -> TrackingInfo:
    """Read a tracking file and find its project config, video and project lifter.

    Parameters
    ----------
    path
        A DeepLabCut ``.h5``/``.csv`` analysis output, a DeepLabCut project's
        ``config.yaml``, a SLEAP ``.slp`` or a SLEAP analysis ``.h5`` (recognised from the
        content, as :func:`~liftpose_dlc.io.load_poses` does).
    video
        For a ``config.yaml``: the video whose analysis output to read (default: the
        first video of the config's ``video_sets`` that has one). Ignored otherwise.

    Returns
    -------
    TrackingInfo

    Raises
    ------
    MissingFileError
        If ``path`` does not exist, or a ``config.yaml``'s video has no analysis output.
    FileFormatError
        If ``path`` is not a pose file or config liftpose-dlc can read.
    ConfigError
        If a ``config.yaml`` is invalid or lists no video with an analysis output.

    Examples
    --------
    >>> info = inspect_tracking("videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5")
    ... # doctest: +SKIP
    >>> info.video_path.name, info.config_path.name, info.pcutoff  # doctest: +SKIP
    ('m3v1mp4.mp4', 'config.yaml', 0.4)
    """
    from liftpose_dlc.io import detect_format

    picked = check_file(path, "tracking file")
    if picked.suffix.lower() in _CONFIG_SUFFIXES:
        return _inspect_dlc_config(picked, video)
    fmt = detect_format(picked)
    if fmt == "dlc":
        from liftpose_dlc.io.dlc import load_dlc

        poses = load_dlc(picked, pcutoff=None)
        config = find_dlc_config(picked, poses.keypoints)
        return _tracking_info(picked, picked, poses, find_video(picked, DLC), DLC, config)
    from liftpose_dlc.io.sleap import load_sleap

    return _tracking_info(picked, picked, load_sleap(picked), find_video(picked, SLEAP), SLEAP)


def _inspect_dlc_config(config_path: Path, video: str | os.PathLike | None) -> TrackingInfo:
    from liftpose_dlc.io.dlc import load_dlc
    from liftpose_dlc.io.dlc_config import find_analysis_outputs, read_dlc_config

    cfg = read_dlc_config(config_path)
    if video is not None:
        outputs = find_analysis_outputs(cfg, [video])
    else:
        outputs = find_analysis_outputs(cfg, missing="skip")
        if not any(outputs.values()):
            raise ConfigError(
                f"{config_path}: none of the project's videos has an analysis output "
                f"({[p.name for p in outputs]}); pick the video to lift, or the analysis "
                ".h5 file itself"
            )
    video_path, poses_path = next((v, o) for v, o in outputs.items() if o is not None)
    assert poses_path is not None
    poses = load_dlc(poses_path, pcutoff=None)
    found_video = Path(video_path) if Path(video_path).is_file() else None
    return _tracking_info(config_path, poses_path, poses, found_video, DLC, config_path)


def _tracking_info(
    picked: Path,
    poses_path: Path,
    poses: Poses,
    video: Path | None,
    software: str,
    config: Path | None = None,
) -> TrackingInfo:
    """What was found for ``picked``; a DeepLabCut ``config`` adds its skeleton, pcutoff, lifter."""
    from liftpose_dlc.io.dlc_config import config_pcutoff, config_skeleton, read_dlc_config

    pcutoff = None
    lifter = None
    if config is not None:
        cfg = read_dlc_config(config)
        poses = poses.replace(skeleton=config_skeleton(cfg, poses.keypoints))
        pcutoff = config_pcutoff(cfg)
        lifter = project_lifter(config)
    return TrackingInfo(
        path=picked,
        poses_path=poses_path,
        software=software,
        poses=poses,
        config_path=config,
        video_path=video,
        lifter_path=lifter,
        pcutoff=pcutoff,
    )


def find_dlc_config(
    pose_path: str | os.PathLike, keypoints: Sequence[str] | None = None
) -> Path | None:
    """The ``config.yaml`` of the DeepLabCut project a pose file belongs to, or None.

    Looks in the file's folder and the one above it (``<project>/videos/<output>.h5``).
    A config that cannot be read, or whose bodyparts do not include all ``keypoints``
    (another project's), is not taken.

    Examples
    --------
    >>> find_dlc_config("videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5")
    ... # doctest: +SKIP
    PosixPath('config.yaml')
    """
    from liftpose_dlc.io.dlc_config import config_bodyparts, read_dlc_config

    here = Path(pose_path).expanduser().resolve().parent
    for folder in (here, here.parent):
        candidate = folder / "config.yaml"
        if not candidate.is_file():
            continue
        try:
            bodyparts = set(config_bodyparts(read_dlc_config(candidate)))
        except LiftPoseError:
            continue
        if keypoints is None or set(keypoints) <= bodyparts:
            return candidate
    return None


def find_video(pose_path: str | os.PathLike, software: str | None = None) -> Path | None:
    """The video a tracking file names or sits beside, or None.

    - DeepLabCut: outputs are named ``<video stem>DLC_...`` (``DeepCut_...`` for old
      projects) and written beside the video or in ``<project>/videos``; the video with
      the longest such stem wins.
    - SLEAP: the video path stored in the file (``.slp``: its first video; analysis
      ``.h5``: ``video_path``), where it is stored (relative to the file's folder if
      relative), else under the same name beside the file (as SLEAP looks for moved
      videos).
    - Any file: a video with the same stem beside it (``session.slp`` and ``session.mp4``;
      ``session.analysis.h5`` counts as ``session``).

    Parameters
    ----------
    pose_path
        The tracking file.
    software
        ``"DeepLabCut"`` or ``"SLEAP"``; None: both rules are tried.

    Examples
    --------
    >>> find_video("m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5").name  # doctest: +SKIP
    'm3v1mp4.mp4'
    """
    p = Path(pose_path).expanduser().resolve()
    found: Path | None = None
    if software in (None, SLEAP):
        found = _sleap_stored_video(p)
    if found is None and software in (None, DLC):
        found = _dlc_video(p)
    if found is None:
        stem = p.name[: -len(".analysis.h5")] if p.name.endswith(".analysis.h5") else p.stem
        found = next((v for v in _videos_in(p.parent) if v.stem == stem), None)
    return found


def _videos_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        v for v in folder.iterdir() if v.is_file() and v.suffix.lower() in VIDEO_EXTENSIONS
    )


def _dlc_video(p: Path) -> Path | None:
    best: Path | None = None
    for folder in dict.fromkeys([p.parent, p.parent.parent / "videos"]):
        for v in _videos_in(folder):
            rest = p.stem[len(v.stem) :]
            is_output = p.stem.startswith(v.stem) and rest.startswith(_DLC_SCORER_PREFIXES)
            if is_output and (best is None or len(v.stem) > len(best.stem)):
                best = v
    return best


def _sleap_stored_video(p: Path) -> Path | None:
    stored = _sleap_video_name(p)
    if not stored:
        return None
    if "\\" in stored and os.name != "nt":
        stored_path = Path(stored.replace("\\", "/"))
    else:
        stored_path = Path(stored).expanduser()
    candidates = [stored_path if stored_path.is_absolute() else p.parent / stored_path]
    candidates.append(p.parent / stored_path.name)
    return next((c.resolve() for c in candidates if c.is_file()), None)


def _sleap_video_name(p: Path) -> str | None:
    """The first video's file name stored in a SLEAP ``.slp`` or analysis ``.h5``, or None."""
    import h5py

    from liftpose_dlc.io._hdf5 import attr_str, is_hdf5, json_attr

    try:
        if not is_hdf5(p):
            return None
        with h5py.File(p, "r") as f:
            if "videos_json" in f:
                entries = f["videos_json"]
                if len(entries) == 0:
                    return None
                video = json_attr(entries[0])
                backend = video.get("backend", {}) if isinstance(video, dict) else {}
                name = backend.get("filename") or video.get("filename")
                if isinstance(name, list):  # an image sequence
                    return None
                return str(name) if name else None
            if "video_path" in f:
                return attr_str(f["video_path"][()]) or None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return None


def project_lifter(config_path: str | os.PathLike) -> Path | None:
    """The DeepLabCut project's own lifter (what ``train_dlc_project`` saves), or None.

    Examples
    --------
    >>> project_lifter("openfield/config.yaml")  # doctest: +SKIP
    PosixPath('openfield/liftpose/lifter.safetensors')
    """
    from liftpose_dlc.workflow.dlc_project import project_lifter_path

    path = project_lifter_path(config_path)
    return path if path.is_file() else None


# ---------------------------------------------------------------------- individuals
def pretrained_choices() -> list[tuple[str, str]]:
    """The pretrained lifters for the picker: ``(label, name)``, built-in and a lab's own.

    >>> pretrained_choices()  # doctest: +SKIP
    [('mouse: mouse, 22 keypoints (built-in)', 'mouse'), ...]
    """
    from liftpose_dlc.pretrained import list_models

    out = []
    for entry in list_models():
        card = entry.card
        where = "built-in" if entry.builtin else f"lab: {entry.source}"
        out.append(
            (f"{entry.name}: {card.species}, {len(card.keypoints)} keypoints ({where})", entry.name)
        )
    return out


def view_choices(model: Any) -> list[str]:
    """The views a pretrained model knows (its card's ``views``), for the view picker.

    Empty for a lifter without a card (it is trained for the views it was given) or a name
    that is not a model.

    >>> view_choices("mouse")  # doctest: +SKIP
    ['top', 'side', 'bottom', 'oblique']
    """
    card = pretrained_card(model)
    return [] if card is None else [str(v) for v in card.views]


def pretrained_card(model: Any) -> ModelCard | None:
    """The card of a pretrained model's name, or of a model file with a card; else None.

    >>> pretrained_card("mouse").species  # doctest: +SKIP
    'Mus musculus'
    """
    from liftpose_dlc.pretrained.registry import card_for_model_file, find_model

    text = str(model).strip()
    if not text:
        return None
    try:
        path = Path(text).expanduser()
        return card_for_model_file(path) if path.is_file() else find_model(text).card
    except LiftPoseError:
        return None


def keypoint_map_rows(
    model: Any, keypoints: Sequence[str], keypoint_map: Any = None
) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The keypoint map as table rows ``(your name, model keypoint or "", why)``, to correct.

    Returns the rows, one per tracked keypoint in the tracking's order, and the model's
    keypoints (the choices for the second column). Both are empty for a lifter that takes
    names as they are (no card, no map).

    >>> rows, choices = keypoint_map_rows("mouse", ["snout", "leftear"])  # doctest: +SKIP
    >>> rows[1]  # doctest: +SKIP
    ('leftear', 'EarL', 'synonym')
    """
    from liftpose_dlc.pretrained.adapt import MappedLifter, keypoint_map_for, needs_adapting

    lifter = load_lifter(model)
    base = lifter.base if isinstance(lifter, MappedLifter) else lifter
    if not needs_adapting(base, keypoint_map):
        return [], []
    match = keypoint_map_for(base, list(keypoints), keypoint_map)
    rows = []
    for name in keypoints:
        if name in match.mapping:
            rows.append((name, match.mapping[name], match.how[name]))
        elif name in match.ambiguous:
            rows.append((name, "", f"ambiguous: {', '.join(match.ambiguous[name])}"))
        elif name in match.excluded:
            rows.append((name, "", "left out"))
        else:
            rows.append((name, "", "no model keypoint"))
    return rows, list(base.keypoints)


def rows_to_keypoint_map(rows: Sequence[tuple[str, str]]) -> dict[str, str | None]:
    """The ``keypoint_map`` of an edited table: ``{your name: model keypoint or None}``."""
    return {str(u): (str(m) if str(m).strip() else None) for u, m in rows}


def prepare_lifter(
    model: Any, keypoints: Sequence[str], keypoint_map: Any = None, *, view: Any = None
) -> tuple[Lifter | MappedLifter, str]:
    """The lifter to lift tracking with these keypoint names, and its keypoint map as text.

    A pretrained model (a name from :func:`pretrained_choices`, or a model file with a card)
    is matched to the tracking's names and a tracked subset is lifted
    (:func:`~liftpose_dlc.pretrained.adapt_lifter`); other lifters are returned as loaded.
    The text (empty when no map applies) is what the widget shows the user.
    ``keypoint_map`` holds the user's corrections (:func:`rows_to_keypoint_map` of the
    table); ``view`` a view hint of a pretrained model (one of :func:`view_choices`, see
    :func:`~liftpose_dlc.pretrained.views.apply_view`).

    Raises
    ------
    KeypointError
        If too few of the tracking's keypoints match the model's to lift (the message says
        which).
    """
    from liftpose_dlc.pretrained.adapt import adapt_lifter
    from liftpose_dlc.pretrained.views import apply_view

    lifter, match = adapt_lifter(apply_view(load_lifter(model), view), keypoints, keypoint_map)
    return lifter, "" if match is None or match.is_identity else match.describe()


def individual_choices(poses: Poses) -> list[str]:
    """The individuals a user can pick: all but DeepLabCut's ``single`` (unique bodyparts).

    ``single`` is not an animal: it is kept along with whichever animals are picked
    (:func:`select_individuals`), so that their lifting can use the unique bodyparts.
    """
    if poses.n_individuals > 1:
        return [ind for ind in poses.individuals if ind != SINGLE]
    return list(poses.individuals)


def frames_tracked(poses: Poses) -> dict[str, int]:
    """For each individual, the number of frames in which it has at least one point."""
    present = np.isfinite(poses.data).all(-1).any(-1)  # (n_frames, n_individuals)
    return {ind: int(n) for ind, n in zip(poses.individuals, present.sum(0), strict=True)}


def default_individuals(poses: Poses, max_individuals: int = 4) -> list[str]:
    """The individuals selected by default: all when few, else the best-tracked ones.

    With at most ``max_individuals`` individuals, all of them. Otherwise (e.g. SLEAP's
    track fragments) those tracked in at least half as many frames as the best-tracked
    one, at most ``max_individuals``, in file order.

    Examples
    --------
    >>> data = np.full((10, 6, 1, 2), np.nan)
    >>> data[:, 1] = data[:8, 4] = data[:2, 5] = 1.0
    >>> default_individuals(Poses(data, keypoints=["a"]))
    ['individual_1', 'individual_4']
    """
    choices = individual_choices(poses)
    if len(choices) <= max_individuals:
        return choices
    counts = frames_tracked(poses)
    best = max(counts[c] for c in choices)
    chosen = [c for c in choices if counts[c] > 0 and 2 * counts[c] >= best]
    chosen.sort(key=lambda c: -counts[c])
    chosen = chosen[:max_individuals]
    return [c for c in choices if c in chosen]


def select_individuals(poses: Poses, individuals: Sequence[str] | None) -> Poses:
    """Keep ``individuals`` (None or empty: all), and ``single`` along with them.

    Raises
    ------
    KeypointError
        If a name is not an individual of ``poses`` (the message lists them).
    """
    if not individuals:
        return poses
    names = [str(i) for i in individuals]
    if SINGLE in poses.individuals and SINGLE not in names and poses.n_individuals > 1:
        names.append(SINGLE)
    return poses.select(individuals=names)


# ---------------------------------------------------------------------------- lifting
@attrs.frozen
class LiftRequest:
    """Everything a lift needs, as the widget's fields give it.

    Attributes
    ----------
    tracking
        A :class:`TrackingInfo` (already inspected) or the tracking file's path.
    lifter
        A trained :class:`~liftpose_dlc.Lifter` or the path of its model file.
    video
        The video to show, or None.
    pcutoff
        2D points below this confidence are treated as missing (and not drawn); None
        keeps all.
    individuals
        The individuals to lift; None or empty: all.
    infer_occluded
        Keep the network's 3D estimate of missing 2D points (see
        :func:`~liftpose_dlc.workflow.lifting.lift_poses`).
    """

    tracking: TrackingInfo | str | os.PathLike
    lifter: Any
    video: str | os.PathLike | None = None
    pcutoff: float | None = None
    individuals: Sequence[str] | None = None
    infer_occluded: bool = False


@attrs.frozen
class LiftOutcome:
    """What a lift produced, to show and to save.

    Attributes
    ----------
    tracking
        The inspected tracking file.
    poses_2d
        The lifted individuals' 2D poses, points below ``pcutoff`` set to NaN.
    result
        The :class:`~liftpose_dlc.engine.LiftResult` (3D poses, inferred mask).
    video
        The opened video (lazy), or None.
    pcutoff, infer_occluded
        As requested.
    warnings
        Things the user should know (e.g. the video and the tracking have different
        numbers of frames).
    """

    tracking: TrackingInfo
    poses_2d: Poses
    result: LiftResult
    video: VideoArray | None
    pcutoff: float | None
    infer_occluded: bool
    warnings: list[str] = attrs.field(factory=list)

    @property
    def poses_3d(self) -> Poses:
        """The lifted 3D poses."""
        return self.result.poses

    def layer_data(self) -> list[LayerData]:
        """The scene's layers: video, 2D keypoints (and bones), 3D skeleton beside the video.

        See :func:`~napari_liftpose.scene.scene_layers`; add them with
        :func:`~napari_liftpose.scene.add_layers`.
        """
        from napari_liftpose.scene import scene_layers

        return scene_layers(self.poses_2d, self.poses_3d, self.video)


def load_lifter(model: Any) -> Lifter:
    """A trained :class:`~liftpose_dlc.Lifter`, or one loaded from a model file path.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    ModelFileError
        If it is not a lifter model file.
    ConfigError
        If no model is given, or the Lifter is not trained.
    """
    from liftpose_dlc.engine import as_lifter

    if model is None or (isinstance(model, str) and not model.strip()):
        raise ConfigError("no lifter model file given: pick a lifter (.safetensors) to lift with")
    return as_lifter(model)


def chunk_frames(n_frames: int, steps: int = 20, low: int = 64, high: int = 4096) -> int:
    """Frames per chunk of a lift: about ``steps`` progress steps, within ``[low, high]``.

    Examples
    --------
    >>> chunk_frames(2330), chunk_frames(100), chunk_frames(10**6)
    (117, 64, 4096)
    """
    return int(min(high, max(low, math.ceil(n_frames / steps))))


def run_lift(
    request: LiftRequest, *, chunk: int | None = None
) -> Generator[tuple[int, int], None, LiftOutcome]:
    """Load, lift chunk by chunk, and open the video: a generator for napari's ``thread_worker``.

    Yields ``(frames done, total frames)``: ``(0, total)`` once the inputs are loaded, then
    after each chunk of frames (each yield is where a worker's ``quit()`` stops it).
    Returns a :class:`LiftOutcome` (the value of ``StopIteration``, the worker's
    ``returned`` signal).

    Parameters
    ----------
    request
        What to lift and how.
    chunk
        Frames per chunk; default :func:`chunk_frames`.

    Raises
    ------
    LiftPoseError
        Its subclasses, with a message naming the file and what is wrong: a missing or
        unreadable tracking, model or video file (:class:`~liftpose_dlc.errors.ModelFileError`
        for a file that is not a lifter), a lifter whose keypoints the tracking lacks
        (:class:`~liftpose_dlc.errors.KeypointError`), an unknown individual.

    Examples
    --------
    >>> steps = run_lift(LiftRequest("v1DLC_resnet50.h5", "lifter.safetensors"))  # doctest: +SKIP
    >>> for done, total in steps:  # doctest: +SKIP
    ...     print(f"{done}/{total}")
    """
    from liftpose_dlc.engine import DEFAULT_CHUNK_SIZE, LiftEngine
    from liftpose_dlc.poses import check_pcutoff

    tracking = request.tracking
    if not isinstance(tracking, TrackingInfo):
        tracking = inspect_tracking(tracking, request.video)
    lifter = load_lifter(request.lifter)
    pcutoff = check_pcutoff(request.pcutoff)
    poses = select_individuals(tracking.poses, request.individuals)
    total = poses.n_frames
    step = int(chunk) if chunk else chunk_frames(total)
    if step < 1:
        raise ConfigError(f"chunk must be >= 1, got {chunk}")
    # planned once (a lifter whose keypoints the tracking lacks fails here, before the video)
    engine = LiftEngine(
        lifter,
        poses,
        pcutoff=pcutoff,
        infer_occluded=request.infer_occluded,
        chunk_size=step,
        batch_size=DEFAULT_CHUNK_SIZE,
        where=str(tracking.poses_path),
    )
    video = None
    if request.video is not None and str(request.video).strip():
        from napari_liftpose.video import VideoArray

        video = VideoArray(request.video)
    warnings = []
    if video is not None and video.n_frames != poses.n_frames:
        warnings.append(
            f"the video {video.path.name} has {video.n_frames} frames but the tracking file "
            f"{tracking.poses_path.name} has {poses.n_frames}: is it the right video?"
        )

    yield 0, total
    parts = []
    for part in engine.chunks():
        parts.append(part)
        yield part.done, part.total
    if not parts:
        raise FileFormatError(f"{tracking.poses_path}: the tracking file has no frames")
    result = engine.collect(parts)
    shown = poses.mask_below(pcutoff)
    return LiftOutcome(
        tracking=tracking,
        poses_2d=shown,
        result=result,
        video=video,
        pcutoff=pcutoff,
        infer_occluded=request.infer_occluded,
        warnings=warnings,
    )


# ----------------------------------------------------------------------------- saving
def default_output_path(tracking: TrackingInfo) -> Path:
    """``<tracking file stem>_3d.h5`` beside the 2D pose file (as ``lift_file`` writes it)."""
    p = tracking.poses_path
    return p.with_name(p.stem + "_3d.h5")


def save_lifted(outcome: LiftOutcome, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write the lifted 3D with the writer ``lift_file`` uses for the same input.

    The writer is :func:`~liftpose_dlc.io.save_poses`'s choice for the target and the input:
    a ``.csv`` is a DeepLabCut-layout table; a ``.h5`` is, for DeepLabCut inputs, the table
    ``lift_dlc_project`` writes (the input's scorer and layout) and, for SLEAP inputs, a
    SLEAP-style 3D file; with ``infer_occluded`` the ``.h5`` files hold the inferred mask
    (a ``.csv`` cannot: it keeps movement's ``x, y, z`` columns).

    The write is atomic (a temporary file, checked, then renamed).

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is False.
    FileFormatError
        If ``path``'s extension does not suit the writer.
    WriteError
        If the file cannot be written (disk full, no permission).
    """
    from liftpose_dlc.io import save_poses

    inferred = outcome.result.inferred if outcome.infer_occluded else None
    if Path(path).suffix.lower() == ".csv":
        inferred = None  # a CSV table holds x, y, z only (see save_dlc)
    return save_poses(
        outcome.poses_3d,
        path,
        like=outcome.tracking.poses_path,
        inferred=inferred,
        overwrite=overwrite,
    )
