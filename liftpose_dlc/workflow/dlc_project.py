"""DeepLabCut projects: train a lifter for a project, lift its analysed videos to 3D.

A project's lifter lives inside the project, never in DeepLabCut's own files::

    <project>/liftpose/lifter.safetensors      the trained lifter (Lifter.load reads it)
    <project>/liftpose/lifter.yaml             how it was trained (library, cameras, options)
    <project>/liftpose/training/               train_log.txt and checkpoints

``config.yaml`` is read, never written. After ``deeplabcut.analyze_videos``,
:func:`lift_dlc_project` writes ``<analysis file stem>_3d.h5`` beside each analysis output
(e.g. ``videoDLC_resnet50_taskAug20shuffle1_30000_3d.h5``), in DeepLabCut's layout (see
:mod:`liftpose_dlc.workflow.file_lift`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from liftpose_dlc._docs import PLACE, PLACEMENT, VIEW, shared_doc
from liftpose_dlc.errors import MissingFileError
from liftpose_dlc.poses import Poses
from liftpose_dlc.workflow._progress import progress_bar, say
from liftpose_dlc.workflow.file_lift import lift_dlc_file
from liftpose_dlc.workflow.lifting import DEFAULT_CHUNK_SIZE, as_lifter, output_path
from liftpose_dlc.workflow.training import DEFAULT_ANGLE_RANGES, as_library, train_from_library

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import Unpack

    from liftpose_dlc.world import PlacementKwargs, PlaceOptions

__all__ = [
    "train_dlc_project",
    "lift_dlc_project",
    "BodypartsWarning",
    "ProjectLift",
    "VideoLift",
    "project_lifter_path",
    "load_project_lifter",
    "LiftSkippedWarning",
    "DEFAULT_ANGLE_RANGES",
    "MODEL_DIR",
]

#: Folder of a project that holds its lifter.
MODEL_DIR = "liftpose"
MODEL_FILE = "lifter.safetensors"
TRAINING_DIR = "training"


class LiftSkippedWarning(UserWarning):
    """A video was not lifted: no analysis output, or its 3D output exists already."""


@attrs.frozen
class VideoLift:
    """What :func:`lift_dlc_project` did with one video.

    Attributes
    ----------
    video
        The video (as the config or ``videos=`` names it; it need not exist).
    analysis
        Its analysis output (the 2D lifted), or None when it has none.
    output
        The 3D ``.h5`` written from ``analysis``, or None when the video was skipped.
    csv
        The 3D ``.csv`` written with ``save_as_csv``, else None.
    skipped
        Why nothing was written (no analysis output, or the 3D exists), else None.
    error
        With ``scheduler=...``: why lifting this video failed (the others went on), else None.
    """

    video: Path
    analysis: Path | None
    output: Path | None = None
    csv: Path | None = None
    skipped: str | None = None
    error: str | None = None


class ProjectLift(list[Path]):
    """The files :func:`lift_dlc_project` wrote (a list of Path, in video order), and per video.

    A list of the written files (``.h5``, and ``.csv`` with ``save_as_csv``), as before;
    :attr:`videos` says which 3D file came from which analysis file, and why the others
    were skipped.
    """

    def __init__(self, videos: list[VideoLift]) -> None:
        files = [f for v in videos for f in (v.output, v.csv) if f is not None]
        super().__init__(files)
        self.videos = list(videos)

    @property
    def lifted(self) -> list[VideoLift]:
        """The videos lifted (``output`` set)."""
        return [v for v in self.videos if v.output is not None]

    @property
    def skipped(self) -> list[VideoLift]:
        """The videos skipped, with ``skipped`` saying why."""
        return [v for v in self.videos if v.output is None and v.error is None]

    @property
    def failed(self) -> list[VideoLift]:
        """The videos whose lifting failed (``scheduler=...``), with ``error`` saying why."""
        return [v for v in self.videos if v.error is not None]

    @property
    def outputs(self) -> dict[Path, Path]:
        """``{analysis file: 3D .h5 written from it}``."""
        return {
            v.analysis: v.output
            for v in self.lifted
            if v.analysis is not None and v.output is not None
        }


def _project_dir(config: Mapping[str, Any]) -> Path:
    return Path(config["project_path"])


def project_lifter_path(config_path: str | os.PathLike) -> Path:
    """``<project>/liftpose/lifter.safetensors`` of the project whose config is given."""
    return Path(config_path).expanduser().resolve().parent / MODEL_DIR / MODEL_FILE


def load_project_lifter(config_path: str | os.PathLike) -> Any:
    """Load the lifter :func:`train_dlc_project` saved in a project.

    Raises
    ------
    MissingFileError
        If the project has no lifter (the message says how to train one).
    """
    path = project_lifter_path(config_path)
    if not path.is_file():
        raise MissingFileError(
            f"no lifter in this project ({path} not found); train one with "
            "liftpose_dlc.train_dlc_project(config_path, poses_3d) or `liftpose-dlc train "
            "--config ...`, or pass model=<lifter file>"
        )
    from liftpose_dlc.pretrained.registry import load_model

    return load_model(path)


# ----------------------------------------------------------------------------- training
def _default_bodyparts(
    cfg: Mapping[str, Any], library: list[Poses], keypoint_map: Mapping[str, str] | None
) -> list[str]:
    from liftpose_dlc.io.dlc_config import config_bodyparts, is_multianimal
    from liftpose_dlc.skeleton import map_keypoints

    if not is_multianimal(cfg):
        return config_bodyparts(cfg)
    animal = [str(b) for b in cfg["multianimalbodyparts"]]
    unique = [str(b) for b in cfg.get("uniquebodyparts") or []]
    names = set(library[0].keypoints)
    mapped = map_keypoints(animal + unique, keypoint_map, what="bodyparts")[len(animal) :]
    return animal + [u for u, m in zip(unique, mapped, strict=True) if m in names]


def train_dlc_project(
    config_path: str | os.PathLike,
    poses_3d: Poses | str | os.PathLike | Iterable[Poses | str | os.PathLike],
    cameras: Any = None,
    *,
    keypoint_map: Mapping[str, str] | None = None,
    bodyparts: Sequence[str] | None = None,
    **options: Any,
) -> Any:
    """Train a lifter for a DeepLabCut project's bodyparts and save it inside the project.

    The 3D library is projected into the cameras
    (:func:`~liftpose_dlc.make_training_pairs`) to make 2D/3D training pairs; the lifter
    learns to lift the project's 2D tracking to 3D in a camera's frame, in the library's
    units. It is saved as ``<project>/liftpose/lifter.safetensors`` with
    ``<project>/liftpose/lifter.yaml`` recording how it was trained, and the training log
    and checkpoints in ``<project>/liftpose/training/``. DeepLabCut's ``config.yaml`` is
    only read. The training is :func:`~liftpose_dlc.workflow.training.train_from_library`'s,
    for the project's bodyparts.

    Parameters
    ----------
    config_path
        The project's ``config.yaml``.
    poses_3d
        The 3D library: :class:`~liftpose_dlc.Poses`, 3D pose files
        (:func:`~liftpose_dlc.load_poses_3d` reads them), or a list of those.
    cameras
        The cameras that film the animal: a calibration file
        (:func:`~liftpose_dlc.load_calibration`), a :class:`~liftpose_dlc.Camera`, a list or
        a dict of cameras (with the library in the calibration's world frame). None: no
        calibration; ``n_virtual_cameras`` virtual cameras looking at the animal from Euler
        angles drawn in ``angle_ranges`` (the seed's ``eangles``), orthographic unless
        ``camera_distance`` is given, and the lifter normalises each 2D pose's scale
        (``norm_2d=True``) so that pixels and library units need not match.
    keypoint_map
        ``{project bodypart: library keypoint}`` for names that differ.
    bodyparts
        The bodyparts to lift (default: the project's; for multi-animal projects the
        animals' bodyparts plus the unique bodyparts the library has).
    **options
        Any keyword of :func:`~liftpose_dlc.workflow.training.train_from_library` but
        ``model_path``, ``keypoints``, ``training_dir`` and ``record`` (the project sets
        them), with its defaults:

        - ``roots``, ``target_sets``: root keypoints and the keypoints predicted relative
          to each (names or indices into ``bodyparts``); default: the first bodypart is
          the root of all others.
        - ``angle_ranges``, ``n_virtual_cameras``, ``camera_distance``: the virtual
          cameras; the default ranges
          (:data:`~liftpose_dlc.workflow.training.DEFAULT_ANGLE_RANGES`) are every
          direction: narrow them to the views your camera can have for a more accurate
          lifter.
        - ``noise_px``, ``distorted``: noise added to the projected 2D, and the cameras'
          lens distortion applied to it (default: DeepLabCut tracks the raw video).
        - ``units`` (recorded in ``lifter.yaml``), ``seed``, ``verbose``.
        - ``overwrite``: replace a lifter the project already has; otherwise
          :class:`~liftpose_dlc.errors.OutputExistsError` (raised before training).
        - ``init``, ``init_keypoint_map``: fine-tune a pretrained model (``"mouse"``, a
          model file or a Lifter) instead of training from scratch: the bodyparts are
          mapped onto its keypoints (corrections: ``init_keypoint_map``), it keeps its
          network and target sets, and a short schedule is used.
        - ``floor``, ``error_model``: the floor the roots' heights are learned from, and
          the 3D confidence (fitted on the validation frames of ``val``).
        - The lifter and training options: ``epochs``, ``batch_size``, ``lr``,
          ``linear_size``, ``num_stage``, ``dropout``, ``norm_2d``, ``augment``, ``val``,
          ``device``, ... (see :meth:`~liftpose_dlc.Lifter.fit`).

    Returns
    -------
    Lifter
        The trained lifter (also saved in the project).

    Raises
    ------
    KeypointError
        If the library lacks some bodyparts (the message lists them; use ``keypoint_map``).
    OutputExistsError
        If the project has a lifter and ``overwrite`` is False.

    Examples
    --------
    >>> lifter = train_dlc_project("openfield/config.yaml", "mouse_library.csv",
    ...                            angle_ranges=[[-180, 180], [-20, 20], [-20, 20]],
    ...                            epochs=10)  # doctest: +SKIP
    """
    from liftpose_dlc.io.dlc_config import read_dlc_config

    cfg = read_dlc_config(config_path)
    model_dir = _project_dir(cfg) / MODEL_DIR
    library = as_library(poses_3d)
    names = (
        [str(b) for b in bodyparts]
        if bodyparts is not None
        else _default_bodyparts(cfg, library, keypoint_map)
    )
    return train_from_library(
        library,
        cameras,
        model_path=model_dir / MODEL_FILE,
        training_dir=model_dir / TRAINING_DIR,
        keypoints=names,
        keypoint_map=keypoint_map,
        record={"project_config": str(cfg["config_path"])},
        **options,
    )


# ----------------------------------------------------------------------------- lifting
@shared_doc(view=VIEW, placement=PLACEMENT, place=PLACE)
def lift_dlc_project(
    config_path: str | os.PathLike,
    model: Any = None,
    *,
    videos: str | os.PathLike | Iterable[str | os.PathLike] | None = None,
    shuffle: int = 1,
    trainingsetindex: int = 0,
    filtered: bool = False,
    destfolder: str | os.PathLike | None = None,
    pcutoff: float | None = None,
    overwrite: bool = False,
    save_as_csv: bool = False,
    infer_occluded: bool = False,
    root_positions: str | np.ndarray = "mean",
    scorer: str | None = None,
    track_method: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    device: Any = None,
    verbose: bool = True,
    keypoint_map: Any = None,
    scheduler: Any = None,
    workers: int | None = None,
    view: Any = None,
    place: PlaceOptions | None = None,
    **placement: Unpack[PlacementKwargs],
) -> ProjectLift:
    """Lift every analysed video of a DeepLabCut project to 3D (after ``analyze_videos``).

    For each video, the analysis output is found by DeepLabCut's naming
    (:func:`~liftpose_dlc.find_analysis_outputs`; the video file itself need not exist),
    every frame of every individual is lifted, and ``<analysis stem>_3d.h5`` is written
    beside the output in DeepLabCut's layout (coords ``x, y, z``, key ``df_with_missing``,
    readable by pandas 2.x and DeepLabCut's tools). Long recordings are streamed in chunks.

    Parameters
    ----------
    config_path
        The project's ``config.yaml``.
    model
        A :class:`~liftpose_dlc.Lifter`, a model file or a pretrained model's name
        (``"mouse"``: its keypoints are matched to the bodyparts); default the project's
        own (``<project>/liftpose/lifter.safetensors``, from :func:`train_dlc_project`).
    videos
        Videos or folders of videos (only their names are used: archived videos need not
        exist); default the config's ``video_sets`` and the videos in ``<project>/videos``.
    shuffle, trainingsetindex, filtered, destfolder
        As in DeepLabCut's ``analyze_videos``/``filterpredictions``: which analysis output
        to lift, and where it is.
    pcutoff
        2D points with a likelihood below this get NaN in 3D; default the config's
        ``pcutoff``.
    overwrite
        Replace existing 3D outputs; otherwise they are kept (and reported).
    save_as_csv
        Also write ``<analysis stem>_3d.csv``.
    infer_occluded
        Keep the network's estimate for missing/low-likelihood points, flagged in an
        ``inferred`` coordinate (0/1), instead of NaN.
    root_positions
        ``"mean"`` (default) or ``"zero"``: see :func:`~liftpose_dlc.workflow.lift_poses`.
    scorer, track_method
        Choose among several models' outputs / trackers' tables (multi-animal).
    chunk_size
        Frames lifted at a time (bounds memory).
    device
        Torch device; None: CUDA when available.
    verbose
        Progress bars over videos and frames, and a line per skipped video.
    scheduler, workers
        Lift the videos in parallel on :mod:`dask.distributed`, one task per video (see
        :mod:`liftpose_dlc.workflow.batch`): ``"local"`` (or ``workers=N`` alone) makes a
        local cluster of ``N`` processes (default: the CPU count); an address
        (``"tcp://host:8786"``), a ``distributed.Client`` or a cluster object (e.g.
        dask-jobqueue's ``SLURMCluster``) uses that cluster. Each worker loads the lifter
        once and writes its outputs atomically; a video that fails is reported in
        ``error`` (and a :class:`LiftSkippedWarning`) while the others are lifted. None
        (default): one video after the other, in this process.
    keypoint_map
        ``{bodypart: model keypoint}`` corrections (or a YAML file of them) for a
        pretrained model, whose names are matched to the bodyparts automatically.
    {view}
    {placement}
        With several cameras and no
        ``camera``, each video is lifted with the camera whose name is in its file name.
    {place}

    Returns
    -------
    ProjectLift
        A list of the files written (``.h5``, and ``.csv`` with ``save_as_csv``), in video
        order, whose ``videos`` (:class:`VideoLift`) say which 3D file came from which
        analysis file. Videos without analysis output, and videos whose 3D exists (without
        ``overwrite``), are skipped with a :class:`LiftSkippedWarning` (and their reason).

    Raises
    ------
    MissingFileError
        If the config or the project's lifter does not exist, or no video has an analysis
        output.
    KeypointError
        If an analysis output lacks the lifter's keypoints.

    Examples
    --------
    >>> lift_dlc_project("openfield/config.yaml")  # doctest: +SKIP
    [PosixPath('openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000_3d.h5')]
    """
    from liftpose_dlc.io.dlc_config import (
        config_pcutoff,
        config_skeleton,
        find_analysis_outputs,
        read_dlc_config,
    )
    from liftpose_dlc.io.registry import get_format
    from liftpose_dlc.world import PlaceOptions

    place = PlaceOptions.of(place, placement)
    cfg = read_dlc_config(config_path)
    lifter = load_project_lifter(cfg["config_path"]) if model is None else as_lifter(model)
    from liftpose_dlc.pretrained.views import apply_view

    lifter = apply_view(lifter, view)
    viewed = lifter
    from liftpose_dlc.io.dlc_config import config_bodyparts
    from liftpose_dlc.pretrained.adapt import adapt_lifter, describe_map

    lifter, match = adapt_lifter(
        lifter, config_bodyparts(cfg), keypoint_map, where=f"{cfg['config_path']} bodyparts"
    )
    if match is not None and not match.is_identity:
        say(describe_map(lifter, match), verbose)
    if pcutoff is None:
        pcutoff = config_pcutoff(cfg)
    outputs = find_analysis_outputs(
        cfg,
        videos,
        shuffle=shuffle,
        trainingsetindex=trainingsetindex,
        filtered=filtered,
        destfolder=destfolder,
        scorer=scorer,
        track_method=track_method,
        missing="skip",
        all_project_videos=True,
    )
    lacking = [video.name for video, analysis in outputs.items() if analysis is None]
    report = {
        video: VideoLift(Path(video), None, skipped=f"no analysis output for shuffle {shuffle}")
        for video, analysis in outputs.items()
        if analysis is None
    }
    if lacking:
        _skip(
            f"{len(lacking)} video(s) have no analysis output for shuffle {shuffle} and are "
            f"skipped (run deeplabcut.analyze_videos on them first): {', '.join(lacking)}"
        )
    todo = {v: a for v, a in outputs.items() if a is not None}
    if not todo:
        raise MissingFileError(
            f"{cfg['config_path']}: no analysis output found for any of the {len(outputs)} "
            f"video(s) (shuffle {shuffle}); run deeplabcut.analyze_videos first, or pass "
            "videos=..., destfolder=..., shuffle=..."
        )
    skeleton = config_skeleton(cfg, lifter.keypoints) or _card_skeleton(lifter, match)
    parallel = scheduler is not None or workers is not None
    # how each analysis file is lifted (lift_dlc_file's options), here or on a cluster
    file_options = {
        "pcutoff": pcutoff,
        "infer_occluded": infer_occluded,
        "root_positions": root_positions,
        "chunk_size": chunk_size,
        "device": device,
        "overwrite": overwrite,
        "save_as_csv": save_as_csv,
        "skeleton": skeleton,
        "place": place,
        "model_ref": project_lifter_path(cfg["config_path"]) if model is None else model,
    }
    jobs: dict[Any, tuple[Path, Path]] = {}
    with progress_bar(verbose, total=len(todo), desc="videos", unit="video") as videos_bar:
        for video, analysis in todo.items():
            dest = output_path(analysis)
            csv_dest = dest.with_suffix(".csv")
            if not overwrite and (dest.exists() or (save_as_csv and csv_dest.exists())):
                existing = dest if dest.exists() else csv_dest
                _skip(
                    f"video {video.name}: {existing} exists and is kept (pass overwrite=True "
                    "to replace it)"
                )
                report[video] = VideoLift(
                    Path(video), Path(analysis), skipped=f"{existing} exists and is kept"
                )
                videos_bar.update(1)
                continue
            if parallel:
                jobs[video] = (Path(analysis), dest)
                continue
            # one read of the table's header serves the bodyparts check, the 3D check and the lift
            with (
                get_format("dlc").chunk_reader(analysis) as reader,
                progress_bar(verbose, total=None, desc=video.name, leave=False) as frames_bar,
            ):
                _check_bodyparts(cfg, analysis, reader.keypoints)
                lift_dlc_file(
                    analysis, dest, lifter, progress=frames_bar, reader=reader, **file_options
                )
            report[video] = VideoLift(
                Path(video), Path(analysis), dest, csv_dest if save_as_csv else None
            )
            say(f"{video.name}: wrote {dest}", verbose)
            videos_bar.update(1)
        if jobs:
            from liftpose_dlc.workflow.batch import ProjectJob, lift_on_cluster

            where = f"{cfg['config_path']} bodyparts"
            done = lift_on_cluster(
                jobs,
                # a view hint chose the model here: the workers get that lifter itself
                file_options["model_ref"] if view is None else viewed,
                ProjectJob(config_bodyparts(cfg), keypoint_map, where, cfg, file_options),
                scheduler=scheduler,
                workers=workers,
                progress=videos_bar,
            )
            for video, (analysis, dest) in jobs.items():
                written, error, _ = done[video]
                if error is not None:
                    _skip(f"video {video.name}: lifting {analysis} failed: {error}")
                    report[video] = VideoLift(Path(video), analysis, error=f"{error}")
                else:
                    csv = dest.with_suffix(".csv") if save_as_csv else None
                    report[video] = VideoLift(Path(video), analysis, written, csv)
    return ProjectLift([report[video] for video in outputs])


def _card_skeleton(lifter: Any, match: Any) -> list[tuple[str, str]]:
    """A pretrained model's skeleton in the user's names (for a config without one)."""
    card = getattr(lifter, "card", None)
    if card is None:
        return []
    to_user = {m: u for u, m in match.mapping.items()} if match is not None else {}
    out = []
    for a, b in card.skeleton:
        ua, ub = to_user.get(a, a), to_user.get(b, b)
        if ua in lifter.keypoints and ub in lifter.keypoints:
            out.append((ua, ub))
    return out


class BodypartsWarning(UserWarning):
    """An analysis output's bodyparts are not the config's (renamed after the analysis?)."""


def _check_bodyparts(cfg: Mapping[str, Any], analysis: Path, in_file: Sequence[str]) -> None:
    """Warn when ``analysis`` has other bodyparts (``in_file``) than ``config.yaml``.

    The file's are used.
    """
    from liftpose_dlc.io.dlc_config import config_bodyparts

    in_config = config_bodyparts(cfg)
    if set(in_file) == set(in_config):
        return
    only_file = [b for b in in_file if b not in in_config]
    only_config = [b for b in in_config if b not in in_file]
    warnings.warn(
        f"{analysis}: its bodyparts are not those of {cfg['config_path']}: only in the "
        f"analysis file {only_file}, only in config.yaml {only_config}. Were bodyparts "
        "renamed in config.yaml after the videos were analysed? The analysis file's names "
        "are used",
        BodypartsWarning,
        stacklevel=3,
    )


def _skip(message: str) -> None:
    warnings.warn(message, LiftSkippedWarning, stacklevel=3)
