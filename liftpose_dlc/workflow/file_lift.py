"""Lift a 2D pose file (DeepLabCut ``.h5``/``.csv``, SLEAP ``.slp``/analysis ``.h5``) to a 3D file.

The 3D is written beside the input, as ``<input stem>_3d.h5``:

* **DeepLabCut inputs** give a DeepLabCut-layout table: columns ``(scorer, bodyparts, coords)``
  (``(scorer, individuals, bodyparts, coords)`` for multi-animal tables) with coords
  ``x, y, z``, HDF5 key ``df_with_missing``, pandas *fixed* format (readable by the pandas
  2.x DeepLabCut pins), the input's scorer, one row per frame; with ``infer_occluded=True``
  the inferred points' mask is the array ``liftpose_dlc_inferred`` beside the table.
  ``save_as_csv=True`` adds the same table as CSV. ``.h5`` inputs are streamed: a recording
  of any length is lifted in bounded memory.
* **SLEAP inputs** give a SLEAP analysis-style HDF5 (:func:`~liftpose_dlc.io.sleap.save_sleap_3d`):
  ``tracks`` ``(tracks, 3, nodes, frames)`` as SLEAP's analysis export (movement opens it),
  ``node_names``, ``track_names``, ``edge_names``, ``edge_inds``, ``point_scores`` and, with
  ``infer_occluded=True``, ``inferred``.

Both record units, frame, fps, the lifter and the 2D source (:mod:`liftpose_dlc.io.metadata`).
Writes are atomic (a temporary file renamed at the end): an interrupted lift leaves no
partial file, and an existing output is replaced only with ``overwrite=True``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from liftpose_dlc._docs import PLACE, PLACEMENT, VIEW, shared_doc
from liftpose_dlc._filesystem import check_file, check_overwrite
from liftpose_dlc.engine import DEFAULT_CHUNK_SIZE, Cancel, LiftEngine, as_lifter
from liftpose_dlc.errors import FileFormatError
from liftpose_dlc.io.metadata import lifted_fields
from liftpose_dlc.workflow._progress import progress_bar, say
from liftpose_dlc.workflow.lifting import lift_poses, output_path

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import Unpack

    from liftpose_dlc.world import PlacementKwargs, PlaceOptions

__all__ = ["lift_file", "lift_dlc_file", "output_path"]


@shared_doc(view=VIEW, placement=PLACEMENT, place=PLACE)
def lift_file(
    path: str | os.PathLike,
    model: Any,
    *,
    output: str | os.PathLike | None = None,
    pcutoff: float | None = None,
    infer_occluded: bool = False,
    root_positions: str | np.ndarray = "mean",
    overwrite: bool = False,
    save_as_csv: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    device: Any = None,
    verbose: bool = True,
    cancel: Cancel | None = None,
    keypoint_map: Any = None,
    view: Any = None,
    place: PlaceOptions | None = None,
    **placement: Unpack[PlacementKwargs],
) -> Path:
    """Lift a 2D pose file to 3D and write the 3D beside it.

    Parameters
    ----------
    path
        A DeepLabCut ``.h5``/``.csv``, a SLEAP ``.slp`` (needs sleap-io) or a SLEAP analysis
        ``.h5``; the format is recognised from the content.
    model
        A trained :class:`~liftpose_dlc.Lifter`, the path of its model file
        (``.safetensors``) or a pretrained model's name (``"fly"``). A plain lifter's
        keypoints must be among the file's (by name); a pretrained model's are matched to
        the file's names and a tracked subset is lifted.
    output
        The 3D file; default ``<input stem>_3d.h5`` beside the input.
    pcutoff
        2D points whose likelihood (DeepLabCut) or score (SLEAP) is below this are missing.
        Default None: only points absent from the file are missing.
    infer_occluded
        Keep the network's estimate for missing points, flagged as inferred, instead of NaN
        (see :func:`~liftpose_dlc.workflow.lifting.lift_poses`).
    root_positions
        ``"mean"`` (default), ``"zero"`` or ``(n_roots, 3)``: where the roots are placed.
    overwrite
        Replace an existing output; otherwise :class:`~liftpose_dlc.errors.OutputExistsError`.
    save_as_csv
        For DeepLabCut inputs, also write ``<output stem>.csv``.
    chunk_size
        Frames lifted at a time.
    device
        Torch device; None: CUDA when available.
    verbose
        Show a progress bar.
    cancel
        A callable or :class:`threading.Event`: when true before a chunk, the lift stops
        with :class:`~liftpose_dlc.engine.LiftCancelled` and nothing is written.
    keypoint_map
        ``{your keypoint: model keypoint}`` corrections (or a YAML file of them) for a
        pretrained model (see :func:`~liftpose_dlc.workflow.lifting.lift_poses`).
    {view}
    {placement}
    {place}

    Returns
    -------
    Path
        The 3D file written.

    Raises
    ------
    MissingFileError
        If ``path`` or the model file does not exist.
    FileFormatError
        If the file is not a pose file the readers know.
    KeypointError
        If the file lacks some of the lifter's keypoints.
    OutputExistsError
        If the output exists and ``overwrite`` is False.

    Examples
    --------
    >>> lift_file("centered_pair_predictions.slp", "fly.safetensors")  # doctest: +SKIP
    PosixPath('centered_pair_predictions_3d.h5')
    """
    from liftpose_dlc.io.registry import recognise, require_2d
    from liftpose_dlc.world import PlaceOptions

    place = PlaceOptions.of(place, placement)
    src = check_file(path, "pose file")
    fmt, probe = recognise(src, dims=2)
    dest = Path(output).expanduser() if output is not None else output_path(src)
    if dest.resolve() == src.resolve():
        raise FileFormatError(f"{src}: the output would replace the input; choose another output")
    with contextlib.ExitStack() as stack:
        # a DeepLabCut table's header, read once, tells its dims, keypoints and size
        reader = stack.enter_context(fmt.chunk_reader(src)) if fmt.name == "dlc" else None
        require_2d(src, fmt.dims_of(probe) if reader is None else reader.n_dims)
        from liftpose_dlc.pretrained.views import apply_view

        lifter = apply_view(as_lifter(model), view)
        poses_in = None
        from liftpose_dlc.pretrained.adapt import adapt_lifter, describe_map, needs_adapting

        if needs_adapting(lifter, keypoint_map):
            if reader is not None:
                names = list(reader.keypoints)
            else:
                from liftpose_dlc.io import load_poses

                poses_in = load_poses(src, format=fmt.name)
                names = poses_in.keypoints
            # a MappedLifter lifts like a Lifter (keypoints, roots, target_sets, predict)
            lifter, match = adapt_lifter(lifter, names, keypoint_map, where=str(src))
            if match is not None and not match.is_identity:
                say(f"{src.name}: {describe_map(lifter, match)}", verbose)
        options = {
            "pcutoff": pcutoff,
            "infer_occluded": infer_occluded,
            "root_positions": root_positions,
            "chunk_size": chunk_size,
            "device": device,
            "cancel": cancel,
        }
        if reader is not None:
            check_overwrite(dest, overwrite)
            with progress_bar(verbose, total=None, desc=src.name) as bar:
                return lift_dlc_file(
                    src,
                    dest,
                    lifter,
                    overwrite=overwrite,
                    save_as_csv=save_as_csv,
                    progress=bar,
                    model_ref=model,
                    reader=reader,
                    place=place,
                    **options,
                )
    check_overwrite(dest, overwrite)
    from liftpose_dlc.io import load_poses, save_poses

    poses_2d = poses_in if poses_in is not None else load_poses(src, format=fmt.name)
    with progress_bar(verbose, total=poses_2d.n_frames, desc=src.name) as bar:
        result = lift_poses(poses_2d, lifter, progress=bar.update, place=place, **options)
    fields = lifted_fields(lifter, poses_2d.source, model, frame=result.poses.frame or "camera")
    # the engine's placement and confidence records, with the lifter named by ``model``
    fields["provenance"] = {**result.poses.provenance, **fields["provenance"]}
    placed = result.poses.frame if place.placed else None
    return save_poses(
        result.poses.replace(**fields),
        dest,
        like=src,
        inferred=result.inferred if infer_occluded else None,
        overwrite=overwrite,
        units=getattr(lifter, "units", None),
        frame=placed or getattr(lifter, "frame", None),
    )


def lift_dlc_file(
    src: str | os.PathLike,
    dest: str | os.PathLike,
    lifter: Any,
    *,
    pcutoff: float | None = None,
    infer_occluded: bool = False,
    root_positions: str | np.ndarray = "mean",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    device: Any = None,
    overwrite: bool = False,
    save_as_csv: bool = False,
    skeleton: list[tuple[str, str]] | None = None,
    fps: float | None = None,
    read_meta: bool = True,
    progress: Any = None,
    cancel: Cancel | None = None,
    model_ref: Any = None,
    reader: Any = None,
    place: PlaceOptions | None = None,
    **placement: Unpack[PlacementKwargs],
) -> Path:
    """Stream one DeepLabCut table through a lifter into a DeepLabCut-layout 3D table.

    ``skeleton`` (pairs of names; edges between lifted keypoints are kept) and ``fps`` are
    stored in the file's attributes; ``fps`` defaults to DeepLabCut's ``_meta.pickle`` when
    ``read_meta``. ``progress`` is a tqdm-like bar (its ``total`` is set here).
    ``model_ref`` (default ``lifter``) is what the file records as the lifter (a model file's
    path names it, see :func:`~liftpose_dlc.io.metadata.describe_lifter`). ``reader`` is
    ``src``'s chunk reader when the caller opened it already (its header, read once, served
    the caller's checks; it stays open). ``place`` or the placement keywords: see
    :class:`~liftpose_dlc.world.PlaceOptions`. Other parameters: see :func:`lift_file`. Returns
    ``dest``.

    Raises
    ------
    FileFormatError
        If ``src`` holds 3D poses, or no frames.
    LiftCancelled
        If ``cancel`` became true: the output is not written (an existing one is kept).
    """
    from liftpose_dlc.io.dlc_config import read_dlc_meta
    from liftpose_dlc.io.registry import get_format, require_2d

    dlc = get_format("dlc")
    src, dest = Path(src), Path(dest)
    model = as_lifter(lifter)
    csv_dest = dest.with_suffix(".csv") if save_as_csv else None
    check_overwrite(dest, overwrite)
    if csv_dest is not None:
        check_overwrite(csv_dest, overwrite)
    from liftpose_dlc.world import PlaceOptions

    where = PlaceOptions.of(place, placement).placement(model, hint=src.name)
    with contextlib.nullcontext(reader) if reader is not None else dlc.chunk_reader(src) as reader:
        require_2d(src, reader.n_dims)
        if reader.n_frames == 0:
            raise FileFormatError(f"{src}: the table has no frames")
        if fps is None and read_meta:
            meta = read_dlc_meta(src, scorer=reader.scorer)
            fps = None if meta is None else meta.fps
        engine = LiftEngine(
            model,
            reader,
            pcutoff=pcutoff,
            infer_occluded=infer_occluded,
            root_positions=root_positions,
            chunk_size=chunk_size,
            device=device,
            skeleton=skeleton or [],
            fps=fps,
            where=str(src),
            model_ref=lifter if model_ref is None else model_ref,
            placement=where,
        )
        if progress is not None and hasattr(progress, "total"):
            progress.total = reader.n_frames
            if hasattr(progress, "refresh"):
                progress.refresh()
        # the registry's chunk writer: checked atomic writes of the .h5 (and .csv)
        with dlc.chunk_writer(
            dest,
            reader.n_frames,
            scorer=reader.scorer,
            multianimal=reader.multianimal,
            with_inferred=infer_occluded,
            save_as_csv=save_as_csv,
            overwrite=overwrite,
            units=getattr(model, "units", None),  # models other than a Lifter: unknown
            frame=getattr(model, "frame", None) if where is None else where.frame,
        ) as writer:
            for chunk in engine.chunks(cancel):
                writer.write(chunk.poses, chunk.inferred)
                if progress is not None:
                    progress.update(chunk.n_frames)
    return dest
