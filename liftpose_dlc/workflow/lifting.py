"""Lift 2D :class:`~liftpose_dlc.Poses` in memory to 3D: :func:`lift_poses`.

The lifting itself (plan, chunks, windows, masking, the missing-point rules) is
:class:`~liftpose_dlc.engine.LiftEngine`'s; see :mod:`liftpose_dlc.engine` for the rules.
:func:`lift_poses` is its front end for poses in memory, as
:func:`~liftpose_dlc.lift_file` and :func:`~liftpose_dlc.lift_dlc_project` are for files
and the napari widget for the viewer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from liftpose_dlc._docs import PLACE, PLACEMENT, VIEW, shared_doc
from liftpose_dlc.engine import (
    DEFAULT_CHUNK_SIZE,
    SINGLE,
    SOFTWARE,
    Cancel,
    LiftEngine,
    LiftPlan,
    LiftResult,
    Progress,
    as_lifter,
    make_plan,
    presence_from_poses,
)
from liftpose_dlc.poses import Poses, require_poses

if TYPE_CHECKING:  # pragma: no cover
    from typing_extensions import Unpack

    from liftpose_dlc.lifter.lifter import Lifter
    from liftpose_dlc.world import PlacementKwargs, PlaceOptions

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "SINGLE",
    "SOFTWARE",
    "LiftResult",
    "LiftPlan",
    "lift_poses",
    "make_plan",
    "as_lifter",
    "presence_from_poses",
    "output_path",
]


@shared_doc(view=VIEW, placement=PLACEMENT, place=PLACE)
def lift_poses(
    poses_2d: Poses,
    lifter: Lifter | str | os.PathLike,
    *,
    pcutoff: float | None = None,
    infer_occluded: bool = False,
    root_positions: str | np.ndarray = "mean",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    device: Any = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    keypoint_map: Any = None,
    view: Any = None,
    place: PlaceOptions | None = None,
    **placement: Unpack[PlacementKwargs],
) -> LiftResult:
    """Lift 2D poses to 3D with a trained lifter (see :mod:`liftpose_dlc.engine` for the rules).

    Parameters
    ----------
    poses_2d
        2D poses, e.g. from :func:`~liftpose_dlc.load_poses`; NaN where a point is missing.
    lifter
        A trained :class:`~liftpose_dlc.Lifter` or the path of its model file.
    pcutoff
        2D points whose confidence is below this are treated as missing. None: only NaN
        points are missing.
    infer_occluded
        Keep the network's 3D estimate of missing 2D points (flagged in
        :attr:`LiftResult.inferred`) instead of NaN.
    root_positions
        ``"mean"``, ``"zero"`` or an array ``(n_roots, 3)``: where the roots are placed.
    chunk_size
        Frames lifted at a time (memory bound; results do not depend on it).
    device
        ``"cpu"``, ``"cuda"``...; None: CUDA when available.
    progress
        Called with the number of frames done after each chunk (e.g. ``tqdm.update``).
    cancel
        A callable or :class:`threading.Event`: when true before a chunk, the lift stops
        with :class:`~liftpose_dlc.engine.LiftCancelled`.

    keypoint_map
        ``{your keypoint: model keypoint}`` corrections (or a YAML file of them) for a
        pretrained model, whose names are matched automatically
        (:func:`~liftpose_dlc.pretrained.adapt_lifter`); a tracked subset of its keypoints
        is lifted, and the 3D has your names.
    {view}
    {placement}
    {place}

    Returns
    -------
    LiftResult
        The 3D poses (``source.software == "liftpose-dlc"``) and the inferred-points mask.

    Raises
    ------
    KeypointError
        If the poses lack some of the lifter's keypoints.
    PosesValidationError
        If the poses are not 2D.

    Examples
    --------
    >>> result = lift_poses(load_poses("video1DLC_resnet50.h5"), "lifter.safetensors",
    ...                     pcutoff=0.6)  # doctest: +SKIP
    >>> result.poses.data.shape  # doctest: +SKIP
    (2330, 1, 4, 3)
    """
    require_poses(poses_2d, "lift_poses", dims=2)
    from liftpose_dlc.pretrained.adapt import adapt_lifter
    from liftpose_dlc.pretrained.views import apply_view

    model, _ = adapt_lifter(
        apply_view(as_lifter(lifter), view),
        poses_2d.keypoints,
        keypoint_map,
        where=poses_2d.source.describe(),
    )
    from liftpose_dlc.world import PlaceOptions

    where = PlaceOptions.of(place, placement).placement(model, hint=poses_2d.source.path)
    engine = LiftEngine(
        model,
        poses_2d,
        placement=where,
        pcutoff=pcutoff,
        infer_occluded=infer_occluded,
        root_positions=root_positions,
        chunk_size=chunk_size,
        device=device,
    )
    return engine.lift_all(progress=progress, cancel=cancel)


def output_path(path: str | os.PathLike, suffix: str = "_3d.h5") -> Path:
    """Where the 3D of a 2D file is written: ``<stem>_3d.h5`` beside it."""
    p = Path(path)
    return p.with_name(p.stem + suffix)
