"""The shared core of every lifting front end: 2D :class:`~liftpose_dlc.Poses` in, 3D out.

:func:`lift_poses` is what :func:`~liftpose_dlc.lift_dlc_project`,
:func:`~liftpose_dlc.lift_file` and the napari widget call. It works frame chunk by frame
chunk, so the file front ends can stream long recordings through it (see
:class:`ChunkLifter`).

Rules
-----
* **Keypoints** are matched by name: the lifter's keypoints are picked from the poses (other
  keypoints of the poses are ignored); a lifter keypoint the poses lack is a
  :class:`~liftpose_dlc.errors.KeypointError`. The 3D poses have the lifter's keypoints, in
  its order.
* **Missing 2D points**: a point that is NaN, or whose confidence is below ``pcutoff``, is
  hidden from the network (it is masked, not guessed). By default its 3D is NaN too: the
  output never holds a made-up pose. With ``infer_occluded=True`` the network's estimate of
  it (made from the other points) is kept and flagged in :attr:`LiftResult.inferred`.
* **Roots**: when a target set's root is missing in a frame, the root and its whole set are
  NaN in that frame, whatever ``infer_occluded`` says (the set cannot be anchored).
  Keypoints that are neither a root nor in a target set are inputs only: always NaN.
* **Where the 3D is**: the lifter predicts each target set relative to its root, in the
  units and camera frame of its 3D training data. ``root_positions`` places the roots (see
  :meth:`~liftpose_dlc.Lifter.predict`): ``"mean"`` (the default here) puts them at their
  mean positions relative to the first root in the training data, so that a lifter with
  several roots gives one skeleton around the first root at the origin; ``"zero"`` puts
  every root at the origin. One camera gives no depth, so individuals are not placed
  relative to each other: each one's 3D is around its own first root.
* **Multi-animal DeepLabCut** (an individual named ``single`` holding the unique
  bodyparts): every animal is lifted. When the lifter has unique bodyparts among its
  keypoints, each animal's input takes them from ``single``, and its 3D holds them too (in
  that animal's frame). ``single`` itself is lifted only when all the lifter's keypoints
  are unique bodyparts.
* **Confidence** of a 3D point is the confidence of its 2D point (NaN where there was none).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from liftpose_dlc.errors import ConfigError, KeypointError, PosesValidationError
from liftpose_dlc.io.dlc_project import check_pcutoff
from liftpose_dlc.poses import Poses, Source

if TYPE_CHECKING:  # pragma: no cover
    from liftpose_dlc.lifter.lifter import Lifter

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "SINGLE",
    "LiftResult",
    "LiftPlan",
    "ChunkLifter",
    "lift_poses",
    "make_plan",
    "as_lifter",
    "presence_from_poses",
]

#: Frames lifted at a time: bounds the memory of a lift, whatever the recording's length.
DEFAULT_CHUNK_SIZE = 8192
#: DeepLabCut's pseudo-individual holding a multi-animal project's unique bodyparts.
SINGLE = "single"
#: The ``software`` of lifted poses' :class:`~liftpose_dlc.Source`.
SOFTWARE = "liftpose-dlc"

Progress = Callable[[int], Any]


def as_lifter(model: Any) -> Lifter:
    """A :class:`~liftpose_dlc.Lifter`, or one loaded from a model file path.

    Raises
    ------
    MissingFileError
        If ``model`` is a path that does not exist.
    ModelFileError
        If the file is not a lifter model file.
    """
    from liftpose_dlc._files import check_file
    from liftpose_dlc.lifter.lifter import Lifter

    if isinstance(model, Lifter):
        if not model.is_trained:
            raise ConfigError("the Lifter is not trained: call fit() or Lifter.load() first")
        return model
    if isinstance(model, (str, os.PathLike)):
        return Lifter.load(check_file(model, "lifter model file"))
    raise ConfigError(
        f"model must be a Lifter or the path of a lifter model file, got {type(model).__name__}"
    )


@attrs.frozen
class LiftResult:
    """3D poses lifted from 2D, with the points whose 3D the network inferred.

    Attributes
    ----------
    poses
        3D :class:`~liftpose_dlc.Poses` ``(n_frames, n_individuals, n_keypoints, 3)``, the
        lifter's keypoints, NaN where not lifted.
    inferred
        Bool ``(n_frames, n_individuals, n_keypoints)``: True where the 2D point was missing
        or below ``pcutoff`` and the 3D is the network's estimate (only with
        ``infer_occluded=True``; all False otherwise).
    """

    poses: Poses
    inferred: np.ndarray


@attrs.frozen
class LiftPlan:
    """Which input individuals and keypoints feed each lifted individual.

    Attributes
    ----------
    keypoints
        The lifter's keypoints (the 3D poses' keypoints).
    individuals
        The lifted individuals (the 3D poses' individuals).
    source_individual
        ``(n_out, J)`` index into the input individuals of each lifted point's 2D.
    source_keypoint
        ``(J,)`` index into the input keypoints of each lifter keypoint.
    """

    keypoints: list[str]
    individuals: list[str]
    source_individual: np.ndarray
    source_keypoint: np.ndarray


def presence_from_poses(poses: Poses) -> dict[str, set[str]]:
    """Which keypoints each individual of ``poses`` has (for :func:`make_plan`).

    Without a ``single`` individual, every individual has every keypoint. With one (a
    multi-animal DeepLabCut table), ``single`` has the keypoints it holds any value for
    and the animals those that any animal holds a value for.
    """
    if SINGLE not in poses.individuals or poses.n_individuals == 1:
        return {ind: set(poses.keypoints) for ind in poses.individuals}
    has = ~np.isnan(poses.data).all(axis=(0, 3)) | ~np.isnan(poses.confidence).all(axis=0)
    s = poses.individuals.index(SINGLE)
    animals = [i for i in range(poses.n_individuals) if i != s]
    animal_kps = {k for j, k in enumerate(poses.keypoints) if has[animals, j].any()}
    single_kps = {k for j, k in enumerate(poses.keypoints) if has[s, j]}
    out = {poses.individuals[i]: set(animal_kps) for i in animals}
    out[SINGLE] = single_kps
    return out


def make_plan(
    individuals: Sequence[str],
    keypoints: Sequence[str],
    lifter_keypoints: Sequence[str],
    present: Mapping[str, set[str]] | None = None,
    *,
    where: str = "2D poses",
) -> LiftPlan:
    """Decide which individuals are lifted and where each one's 2D points come from.

    Parameters
    ----------
    individuals, keypoints
        The input's individuals and keypoints.
    lifter_keypoints
        The lifter's keypoints.
    present
        ``{individual: keypoints it has}`` (a DeepLabCut table's columns); default: every
        individual has every keypoint.
    where
        Names the input in error messages.

    Raises
    ------
    KeypointError
        If the input lacks some of the lifter's keypoints (the message lists both), or no
        individual can be lifted.
    """
    individuals, keypoints = list(individuals), list(keypoints)
    lifter_keypoints = list(lifter_keypoints)
    lacking = [k for k in lifter_keypoints if k not in keypoints]
    if lacking:
        if len(lacking) < len(lifter_keypoints):
            what = (
                f"the lifter's keypoints {lacking} are not in the poses; the lifter was "
                f"trained for {lifter_keypoints}"
            )
        else:  # each list once: none of the lifter's keypoints is there
            what = f"none of the lifter's {len(lacking)} keypoints {lacking} is in the poses"
        raise KeypointError(
            f"{where}: {what}; the poses have {keypoints}. Is this the lifter for these poses?"
        )
    if present is None:
        present = {ind: set(keypoints) for ind in individuals}
    kp_index = {k: i for i, k in enumerate(keypoints)}
    source_keypoint = np.array([kp_index[k] for k in lifter_keypoints], dtype=np.int64)
    animals = [ind for ind in individuals if ind != SINGLE or len(individuals) == 1]
    has_single = SINGLE in individuals and len(individuals) > 1
    single_kps = set(present.get(SINGLE, set())) if has_single else set()
    animal_kps: set[str] = set()
    for a in animals:
        animal_kps |= set(present.get(a, set()))

    wanted = set(lifter_keypoints)
    out_names: list[str] = []
    rows: list[list[int]] = []
    if has_single and wanted <= single_kps and not wanted & animal_kps:
        # a lifter for the unique bodyparts only: lift ``single`` alone
        out_names = [SINGLE]
        rows = [[individuals.index(SINGLE)] * len(lifter_keypoints)]
    else:
        s = individuals.index(SINGLE) if has_single else -1
        for ind in animals:
            own = present.get(ind, set())
            i = individuals.index(ind)
            row = []
            for k in lifter_keypoints:
                if k in own or k not in single_kps:
                    row.append(i)
                else:
                    row.append(s)
            out_names.append(ind)
            rows.append(row)
    if not out_names:
        raise KeypointError(f"{where}: no individual to lift (individuals: {individuals})")
    return LiftPlan(
        keypoints=lifter_keypoints,
        individuals=out_names,
        source_individual=np.array(rows, dtype=np.int64).reshape(len(out_names), -1),
        source_keypoint=source_keypoint,
    )


def _check_root_positions(root_positions: Any, n_roots: int) -> str | np.ndarray:
    if isinstance(root_positions, str):
        if root_positions not in ("mean", "zero"):
            raise ConfigError(
                f"root_positions must be 'mean', 'zero' or an array ({n_roots}, 3), "
                f"got {root_positions!r}"
            )
        return root_positions
    arr = np.asarray(root_positions, dtype=np.float64)
    if arr.shape != (n_roots, 3):
        raise ConfigError(
            f"root_positions must be 'mean', 'zero' or an array ({n_roots}, 3), got shape "
            f"{arr.shape}"
        )
    return arr


class ChunkLifter:
    """Lift chunks of frames with one plan: the streaming core of every front end.

    Parameters
    ----------
    lifter
        A trained :class:`~liftpose_dlc.Lifter`.
    plan
        From :func:`make_plan`.
    pcutoff, infer_occluded, root_positions, device
        As for :func:`lift_poses`.
    batch_size
        Frames per forward pass of the network.
    """

    def __init__(
        self,
        lifter: Lifter,
        plan: LiftPlan,
        *,
        pcutoff: float | None = None,
        infer_occluded: bool = False,
        root_positions: str | np.ndarray = "mean",
        device: Any = None,
        batch_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        if list(plan.keypoints) != list(lifter.keypoints):
            raise ConfigError("the plan was made for another lifter's keypoints")
        pcutoff = check_pcutoff(pcutoff)
        if int(batch_size) < 1:
            raise ConfigError(f"chunk_size must be >= 1, got {batch_size}")
        self.lifter = lifter
        self.plan = plan
        self.pcutoff = pcutoff
        self.infer_occluded = bool(infer_occluded)
        self.root_positions = _check_root_positions(root_positions, len(lifter.roots))
        self.device = device
        self.batch_size = int(batch_size)
        lifted = np.zeros(len(lifter.keypoints), dtype=bool)
        lifted[lifter.roots] = True
        for ts in lifter.target_sets:
            lifted[ts] = True
        self._lifted = lifted

    @classmethod
    def for_input(
        cls,
        lifter: Lifter,
        individuals: Sequence[str],
        keypoints: Sequence[str],
        present: Mapping[str, set[str]] | None = None,
        *,
        where: str = "2D poses",
        **options: Any,
    ) -> ChunkLifter:
        """Plan the lift of 2D input with these names (:func:`make_plan`), then build the lifter.

        ``options`` are those of :class:`ChunkLifter` (``pcutoff``, ``batch_size``...).
        """
        plan = make_plan(individuals, keypoints, lifter.keypoints, present, where=where)
        return cls(lifter, plan, **options)

    def edges(self, skeleton: Sequence[tuple[str, str]] | None) -> list[tuple[str, str]]:
        """The skeleton edges whose both ends are lifted keypoints."""
        kept = set(self.plan.keypoints)
        return [tuple(e) for e in skeleton or [] if e[0] in kept and e[1] in kept]

    def lift_chunk(
        self, data: np.ndarray, confidence: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Lift one chunk.

        Parameters
        ----------
        data
            2D ``(n, n_input_individuals, n_input_keypoints, 2)``.
        confidence
            ``(n, n_input_individuals, n_input_keypoints)``.

        Returns
        -------
        points_3d, confidence_3d, inferred
            ``(n, n_out, J, 3)``, ``(n, n_out, J)`` and bool ``(n, n_out, J)``.
        """
        plan = self.plan
        n = data.shape[0]
        n_out, n_kp = plan.source_individual.shape
        kp = np.broadcast_to(plan.source_keypoint, (n_out, n_kp))
        x = data[:, plan.source_individual, kp]  # (n, n_out, J, 2)
        conf = confidence[:, plan.source_individual, kp]
        missing = ~np.isfinite(x).all(-1)
        if self.pcutoff is not None:
            with np.errstate(invalid="ignore"):
                missing |= conf < self.pcutoff
        x = np.where(missing[..., None], np.nan, x)
        flat = x.transpose(1, 0, 2, 3).reshape(n_out * n, n_kp, 2)
        pred = self.lifter.predict(
            flat,
            batch_size=self.batch_size,
            device=self.device,
            root_positions=self.root_positions,
        )
        pred = pred.reshape(n_out, n, n_kp, 3).transpose(1, 0, 2, 3)
        finite = np.isfinite(pred).all(-1)
        if self.infer_occluded:
            inferred = missing & finite & self._lifted
        else:
            inferred = np.zeros(missing.shape, dtype=bool)
            pred = np.where(missing[..., None], np.nan, pred)
        return np.ascontiguousarray(pred), conf, inferred


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
) -> LiftResult:
    """Lift 2D poses to 3D with a trained lifter (see the module docstring for the rules).

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
    if not isinstance(poses_2d, Poses):
        raise PosesValidationError(f"lift_poses expects a Poses, got {type(poses_2d).__name__}")
    if poses_2d.n_dims != 2:
        raise PosesValidationError(
            f"{poses_2d.source.describe()}: lift_poses lifts 2D poses; these are {poses_2d.n_dims}D"
        )
    model = as_lifter(lifter)
    core = ChunkLifter.for_input(
        model,
        poses_2d.individuals,
        poses_2d.keypoints,
        presence_from_poses(poses_2d),
        where=poses_2d.source.describe(),
        pcutoff=pcutoff,
        infer_occluded=infer_occluded,
        root_positions=root_positions,
        device=device,
        batch_size=chunk_size,
    )
    plan = core.plan
    n = poses_2d.n_frames
    n_out, n_kp = len(plan.individuals), len(plan.keypoints)
    points = np.empty((n, n_out, n_kp, 3))
    conf = np.empty((n, n_out, n_kp))
    inferred = np.zeros((n, n_out, n_kp), dtype=bool)
    step = max(1, int(chunk_size))
    for a in range(0, n, step):
        b = min(n, a + step)
        p, c, i = core.lift_chunk(poses_2d.data[a:b], poses_2d.confidence[a:b])
        points[a:b], conf[a:b], inferred[a:b] = p, c, i
        if progress is not None:
            progress(b - a)
    poses_3d = Poses(
        points,
        keypoints=plan.keypoints,
        individuals=plan.individuals,
        confidence=conf,
        skeleton=core.edges(poses_2d.skeleton),
        fps=poses_2d.fps,
        source=Source(poses_2d.source.path, SOFTWARE),
    )
    return LiftResult(poses_3d, inferred)


def output_path(path: str | os.PathLike, suffix: str = "_3d.h5") -> Path:
    """Where the 3D of a 2D file is written: ``<stem>_3d.h5`` beside it."""
    p = Path(path)
    return p.with_name(p.stem + suffix)
