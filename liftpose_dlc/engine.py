"""The lifting engine: 2D poses in, 3D poses out, planned once and lifted chunk by chunk.

Every front end lifts through :class:`LiftEngine`: :func:`~liftpose_dlc.lift_poses` (poses in
memory), :func:`~liftpose_dlc.lift_file` and :func:`~liftpose_dlc.lift_dlc_project` (files,
streamed) and the napari widget (progress and Cancel). The engine

1. **plans once** (:func:`make_plan`): which input keypoints and individuals feed which
   lifted point, the options (``pcutoff``, ``infer_occluded``, ``root_positions``) checked,
   the model's context read;
2. **reads windows** from a *source* (anything with ``n_frames``, ``individuals``,
   ``keypoints`` and ``read(start, stop) -> Poses``: :class:`PosesSource` for poses in memory,
   :class:`~liftpose_dlc.io.dlc_stream.DLCChunkReader` for a DeepLabCut table on disk);
3. **masks** the 2D below ``pcutoff`` (:meth:`~liftpose_dlc.Poses.mask_below`, the one place
   that masks by confidence), runs the model and applies the missing-point rules;
4. **yields** one :class:`LiftedChunk` per chunk of frames (its frame range, 3D poses,
   ``inferred`` mask, and progress counts). Stopping the iteration, or a ``cancel`` callback
   or :class:`threading.Event` that becomes true, stops the lift (:class:`LiftCancelled`).

Windows
-------
A model may need frames around each frame (a temporal lifter): it declares
``context_frames``, an int (as many frames before as after) or a pair ``(before, after)``
(``(n, 0)`` for a causal model), and a ``predict_sequences(x, *, batch_size, device,
root_positions)`` that maps ``(n_sequences, n_frames, n_keypoints, 2)`` to
``(n_sequences, n_frames, n_keypoints, 3)``. The engine then reads each chunk with that
many extra frames on each side (clipped at the recording's ends), hands the model one
sequence per lifted individual (a window follows one individual), and keeps the chunk's own
frames of the output: chunked and whole lifts agree. A frame model (``context_frames`` 0 or
absent, :class:`~liftpose_dlc.Lifter`) gets the frames flattened through its ``predict``.

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
* **Confidence** of a 3D point is the confidence of its 2D point (NaN where there was none),
  unless the lifter has an error model (:mod:`liftpose_dlc.lifter.uncertainty`): then it is
  the model's likelihood-like confidence of the 3D point (the probability that its error is
  below the model's tolerance), NaN where the point is not lifted.
* **Placement** (``placement=``, a :class:`~liftpose_dlc.world.Placement`): each frame's
  first root is placed on its camera ray (on the floor, in the ``"world"`` frame, or at a
  depth from the pose's size, in the ``"camera"`` frame) and the pose moved with it; the
  3D's ``frame`` and ``provenance["placement"]`` say which.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs
import numpy as np

from liftpose_dlc.errors import ConfigError, KeypointError, LiftPoseError, PosesValidationError
from liftpose_dlc.io.metadata import lifted_fields
from liftpose_dlc.poses import Poses, Source, check_pcutoff

if TYPE_CHECKING:  # pragma: no cover
    from liftpose_dlc.lifter.lifter import Lifter
    from liftpose_dlc.world import Placement

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "SINGLE",
    "SOFTWARE",
    "LiftCancelled",
    "LiftEngine",
    "LiftPlan",
    "LiftResult",
    "LiftedChunk",
    "PoseSource",
    "PosesSource",
    "as_lifter",
    "as_source",
    "context_frames",
    "make_plan",
    "presence_from_poses",
]

#: Frames lifted at a time: bounds the memory of a lift, whatever the recording's length.
DEFAULT_CHUNK_SIZE = 8192
#: DeepLabCut's pseudo-individual holding a multi-animal project's unique bodyparts.
SINGLE = "single"
#: The ``software`` of lifted poses' :class:`~liftpose_dlc.Source`.
SOFTWARE = "liftpose-dlc"

Progress = Callable[[int], Any]
Cancel = Callable[[], bool] | Any  # a callable, or an object with is_set() (threading.Event)


class LiftCancelled(LiftPoseError):
    """A lift was cancelled (its ``cancel`` callback or event became true); nothing is kept."""


# ----------------------------------------------------------------------------- models
def as_lifter(model: Any) -> Lifter:
    """A trained :class:`~liftpose_dlc.Lifter`, one loaded from a model file path, or a model.

    Any object with ``keypoints``, ``roots``, ``target_sets`` and ``predict`` (a frame
    model) or ``predict_sequences`` (a model with context, see the module docstring) is
    taken as it is.

    Raises
    ------
    MissingFileError
        If ``model`` is a path that does not exist.
    ModelFileError
        If the file is not a lifter model file.
    ConfigError
        If the Lifter is not trained, or ``model`` is neither a model nor a path.
    """
    from liftpose_dlc.lifter.lifter import Lifter

    if isinstance(model, Lifter):
        if not model.is_trained:
            raise ConfigError("the Lifter is not trained: call fit() or Lifter.load() first")
        return model
    if isinstance(model, (str, os.PathLike)):
        # a model file (with its card, if one is beside it) or a pretrained model's name
        from liftpose_dlc.pretrained.registry import load_model

        return load_model(model)
    runs = hasattr(model, "predict") or hasattr(model, "predict_sequences")
    if runs and all(hasattr(model, a) for a in ("keypoints", "roots", "target_sets")):
        return model
    raise ConfigError(
        f"model must be a Lifter or the path of a lifter model file, got {type(model).__name__}"
    )


def context_frames(model: Any) -> tuple[int, int]:
    """The frames a model needs before and after each frame: ``(0, 0)`` for a frame lifter.

    Read from the model's ``context_frames`` (an int for both sides, or ``(before,
    after)``).

    Raises
    ------
    ConfigError
        If it is not one or two non-negative integers.
    """
    value: Any = getattr(model, "context_frames", 0) or 0
    pair = (value, value) if np.ndim(value) == 0 else tuple(value)
    try:
        before, after = (int(v) for v in pair)
        ok = before >= 0 and after >= 0 and (before, after) == tuple(pair)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ConfigError(
            f"a model's context_frames must be n or (before, after), n >= 0; got {value!r}"
        )
    return before, after


# ------------------------------------------------------------------------------ plan
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


# --------------------------------------------------------------------------- sources
@runtime_checkable
class PoseSource(Protocol):
    """Where the engine reads 2D from: a recording of ``n_frames`` frames, read by ranges.

    Optional attributes the engine uses when present: ``present`` (``{individual:
    keypoints it has}``, see :func:`make_plan`), ``skeleton``, ``fps`` and ``source`` (a
    :class:`~liftpose_dlc.Source` naming the recording).
    """

    n_frames: int
    individuals: list[str]
    keypoints: list[str]

    def read(self, start: int, stop: int) -> Poses:
        """The 2D poses of frames ``start`` to ``stop`` (exclusive)."""
        ...  # pragma: no cover


class PosesSource:
    """A :class:`PoseSource` over 2D :class:`~liftpose_dlc.Poses` in memory."""

    def __init__(self, poses: Poses) -> None:
        self.poses = poses
        self.n_frames = poses.n_frames
        self.individuals = list(poses.individuals)
        self.keypoints = list(poses.keypoints)
        self.present = presence_from_poses(poses)
        self.skeleton = poses.skeleton
        self.fps = poses.fps
        self.source = poses.source

    def read(self, start: int, stop: int) -> Poses:
        """Frames ``start`` to ``stop`` (exclusive)."""
        return self.poses.select(frames=slice(start, stop))


def as_source(source: Poses | PoseSource) -> PoseSource:
    """A :class:`PoseSource`: ``source`` itself, or :class:`PosesSource` over a Poses."""
    if isinstance(source, Poses):
        return PosesSource(source)
    if isinstance(source, PoseSource):
        return source
    raise ConfigError(
        "a lift's source must be 2D Poses or have n_frames, individuals, keypoints and "
        f"read(start, stop); got {type(source).__name__}"
    )


# --------------------------------------------------------------------------- results
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
class LiftedChunk:
    """One chunk of a lift: frames ``start`` to ``stop`` (exclusive) of the recording.

    Attributes
    ----------
    start, stop
        The chunk's frames in the recording.
    poses
        Its 3D :class:`~liftpose_dlc.Poses` (``stop - start`` frames).
    inferred
        Its ``inferred`` mask (see :attr:`LiftResult.inferred`).
    done, total
        Frames lifted so far (``stop``) and in all.
    """

    start: int
    stop: int
    poses: Poses
    inferred: np.ndarray
    done: int
    total: int

    @property
    def n_frames(self) -> int:
        """Frames in this chunk."""
        return self.stop - self.start


def _cancelled(cancel: Cancel | None) -> bool:
    if cancel is None:
        return False
    is_set = getattr(cancel, "is_set", None)
    return bool(is_set() if callable(is_set) else cancel())


# ---------------------------------------------------------------------------- engine
class LiftEngine:
    """Lift a 2D source to 3D with one model: planned once, lifted chunk by chunk.

    Parameters
    ----------
    model
        A trained :class:`~liftpose_dlc.Lifter`, the path of its model file, or a model
        with context (see the module docstring).
    source
        2D :class:`~liftpose_dlc.Poses`, or a :class:`PoseSource` (e.g. a
        :class:`~liftpose_dlc.io.dlc_stream.DLCChunkReader`).
    pcutoff
        2D points whose confidence is below this are missing; None: only NaN points are.
    infer_occluded
        Keep the network's estimate of missing points (flagged as inferred) instead of NaN.
    root_positions
        ``"mean"``, ``"zero"`` or ``(n_roots, 3)``: where the roots are placed.
    chunk_size
        Frames per chunk (memory bound; a frame model's results do not depend on it).
    batch_size
        Rows per forward pass of the network; default ``chunk_size``.
    device
        Torch device; None: CUDA when available.
    skeleton, fps
        Of the 3D poses (edges between lifted keypoints are kept); default the source's.
    where
        Names the source in error messages; default its ``source``'s description.
    model_ref
        What the 3D records as the lifter (default ``model``): a model file's path names it
        (:func:`~liftpose_dlc.io.metadata.lifted_fields` gives the 3D's ``units``, ``frame``
        and ``provenance``).
    placement
        Where each frame's roots go (:class:`~liftpose_dlc.world.Placement`); None: each pose
        around its own first root, in the camera's frame.

    Raises
    ------
    KeypointError
        If the source lacks some of the model's keypoints.
    ConfigError
        If an option is invalid (``pcutoff`` outside [0, 1], ``chunk_size`` < 1, ...).

    Examples
    --------
    >>> engine = LiftEngine("lifter.safetensors", load_poses("v1DLC.h5"))  # doctest: +SKIP
    >>> for chunk in engine.chunks():  # doctest: +SKIP
    ...     print(chunk.start, chunk.stop, chunk.poses.data.shape)
    """

    def __init__(
        self,
        model: Any,
        source: Poses | PoseSource,
        *,
        pcutoff: float | None = None,
        infer_occluded: bool = False,
        root_positions: str | np.ndarray = "mean",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        batch_size: int | None = None,
        device: Any = None,
        skeleton: Sequence[tuple[str, str]] | None = None,
        fps: float | None = None,
        where: str | None = None,
        model_ref: Any = None,
        placement: Placement | None = None,
    ) -> None:
        self.model = as_lifter(model)
        self.source = as_source(source)
        self.pcutoff = check_pcutoff(pcutoff)
        if int(chunk_size) < 1:
            raise ConfigError(f"chunk_size must be >= 1, got {chunk_size}")
        self.chunk_size = int(chunk_size)
        self.batch_size = self.chunk_size if batch_size is None else int(batch_size)
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        self.infer_occluded = bool(infer_occluded)
        self.root_positions = _check_root_positions(root_positions, len(self.model.roots))
        self.device = device
        self.context = context_frames(self.model)
        src_info = getattr(self.source, "source", None)
        self.path = src_info.path if isinstance(src_info, Source) else None
        if where is None:
            where = src_info.describe() if isinstance(src_info, Source) else "2D poses"
        self.where = where
        self.plan = make_plan(
            self.source.individuals,
            self.source.keypoints,
            self.model.keypoints,
            getattr(self.source, "present", None),
            where=where,
        )
        lifted = np.zeros(len(self.model.keypoints), dtype=bool)
        lifted[list(self.model.roots)] = True
        for ts in self.model.target_sets:
            lifted[list(ts)] = True
        self._lifted = lifted
        self.skeleton = self._restrict(
            getattr(self.source, "skeleton", None) if skeleton is None else skeleton
        )
        self.fps = getattr(self.source, "fps", None) if fps is None else fps
        # units, frame, the lifter and the 2D source, recorded by every writer
        self.placement = placement
        self.recorded = lifted_fields(
            self.model,
            src_info if isinstance(src_info, Source) else Source(),
            model if model_ref is None else model_ref,
            frame="camera" if placement is None else placement.frame,
        )
        if placement is not None:
            self.recorded["provenance"]["placement"] = placement.describe()
            if placement.mode == "floor":  # the plane, for viewers that draw the floor
                n, d = placement.floor.normal, placement.floor.offset
                self.recorded["provenance"]["floor"] = ",".join(f"{v:.9g}" for v in (*n, -d))
        self.error_model = getattr(self.model, "error_model", None)
        if self.error_model is not None:
            self.recorded["provenance"].update(self.error_model.provenance())

    @property
    def n_frames(self) -> int:
        """Frames of the source."""
        return int(self.source.n_frames)

    def chunks(self, cancel: Cancel | None = None) -> Iterator[LiftedChunk]:
        """Lift the source chunk by chunk, in order.

        Parameters
        ----------
        cancel
            A callable returning True, or an object whose ``is_set()`` is True (a
            :class:`threading.Event`), to stop: checked before each chunk.

        Yields
        ------
        LiftedChunk

        Raises
        ------
        LiftCancelled
            When ``cancel`` becomes true (a consumer that writes files discards them).
        """
        total, step = self.n_frames, self.chunk_size
        before, after = self.context
        for start in range(0, total, step):
            if _cancelled(cancel):
                raise LiftCancelled(f"{self.where}: the lift was cancelled at frame {start}")
            stop = min(total, start + step)
            lo, hi = max(0, start - before), min(total, stop + after)
            window = self.source.read(lo, hi)
            if window.n_frames != hi - lo:
                raise LiftPoseError(
                    f"{self.where}: read {window.n_frames} frames for frames {lo}-{hi}"
                )
            points, conf, inferred = self._lift(window)
            keep = slice(start - lo, stop - lo)
            yield LiftedChunk(
                start=start,
                stop=stop,
                poses=self._poses_3d(points[keep], conf[keep]),
                inferred=inferred[keep],
                done=stop,
                total=total,
            )

    def lift_all(
        self, progress: Progress | None = None, cancel: Cancel | None = None
    ) -> LiftResult:
        """Lift the whole source into memory.

        ``progress`` is called with each chunk's number of frames (e.g. ``tqdm.update``);
        ``cancel`` as for :meth:`chunks`.
        """

        def counted() -> Iterator[LiftedChunk]:
            for chunk in self.chunks(cancel):
                yield chunk
                if progress is not None:
                    progress(chunk.n_frames)

        return self.collect(counted())

    def collect(self, chunks: Iterable[LiftedChunk]) -> LiftResult:
        """Join chunks of this engine (in order) into one :class:`LiftResult`."""
        parts = list(chunks)
        n_out, n_kp = len(self.plan.individuals), len(self.plan.keypoints)
        if not parts:
            return LiftResult(
                self._poses_3d(np.empty((0, n_out, n_kp, 3)), np.empty((0, n_out, n_kp))),
                np.zeros((0, n_out, n_kp), dtype=bool),
            )
        poses = self._poses_3d(
            np.concatenate([p.poses.data for p in parts]),
            np.concatenate([p.poses.confidence for p in parts]),
        )
        return LiftResult(poses, np.concatenate([p.inferred for p in parts]))

    # ------------------------------------------------------------------ internals
    def _restrict(self, skeleton: Any) -> Any:
        """The skeleton over the lifted keypoints (a skeleton object keeps its own kind)."""
        with_nodes = getattr(skeleton, "with_nodes", None)
        if callable(with_nodes):
            return with_nodes(self.plan.keypoints)
        kept = set(self.plan.keypoints)
        return [(e[0], e[1]) for e in skeleton or [] if e[0] in kept and e[1] in kept]

    def _poses_3d(self, points: np.ndarray, conf: np.ndarray) -> Poses:
        return Poses(
            points,
            keypoints=self.plan.keypoints,
            individuals=self.plan.individuals,
            confidence=conf,
            skeleton=self.skeleton,
            fps=self.fps,
            source=Source(self.path, SOFTWARE),
            **self.recorded,
        )

    def _lift(self, window: Poses) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Lift a window of 2D: ``(n, n_out, J, 3)`` points, confidence and inferred."""
        if window.n_dims != 2:
            raise PosesValidationError(
                f"{self.where}: the lifter lifts 2D poses; these are {window.n_dims}D"
            )
        plan = self.plan
        n_out, n_kp = plan.source_individual.shape
        kp = np.broadcast_to(plan.source_keypoint, (n_out, n_kp))
        x = window.mask_below(self.pcutoff).data[:, plan.source_individual, kp]
        conf = window.confidence[:, plan.source_individual, kp]
        missing = ~np.isfinite(x).all(-1)  # (n, n_out, J)
        x = np.where(missing[..., None], np.nan, x)
        pred = self._forward(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
        if self.error_model is not None:
            conf = self._confidence(x)
        if self.placement is not None:
            root = int(self.model.roots[0])
            flat = self.placement.place(pred.reshape(-1, n_kp, 3), x.reshape(-1, n_kp, 2), root)
            pred = flat.reshape(pred.shape)
        finite = np.isfinite(pred).all(-1)
        if self.infer_occluded:
            inferred = missing & finite & self._lifted
        else:
            inferred = np.zeros(missing.shape, dtype=bool)
            pred = np.where(missing[..., None], np.nan, pred)
        if self.error_model is not None:
            conf = np.where(finite, conf, np.nan)
        return np.ascontiguousarray(pred), conf, inferred

    def _confidence(self, x: np.ndarray) -> np.ndarray:
        """The error model's likelihood-like confidence of each lifted point ``(n, n_out, J)``."""
        n, n_out, n_kp, _ = x.shape
        flat = x.reshape(n * n_out, n_kp, 2)
        assert self.error_model is not None  # only called with an error model
        conf = self.error_model.confidence(self.model, flat, batch_size=self.batch_size)
        return conf.reshape(n, n_out, n_kp)

    def _forward(self, sequences: np.ndarray) -> np.ndarray:
        """The model on ``(n_out, n, J, 2)`` sequences: ``(n_out, n, J, 3)``."""
        options = {
            "batch_size": self.batch_size,
            "device": self.device,
            "root_positions": self.root_positions,
        }
        n_out, n, n_kp, _ = sequences.shape
        if hasattr(self.model, "predict_sequences"):
            out = self.model.predict_sequences(sequences, **options)
        else:
            flat = sequences.reshape(n_out * n, n_kp, 2)
            out = self.model.predict(flat, **options)
        out = np.asarray(out, dtype=np.float64)
        if out.size != n_out * n * n_kp * 3:
            raise LiftPoseError(
                f"{self.where}: the model gave {out.shape} for input {sequences.shape}"
            )
        return out.reshape(n_out, n, n_kp, 3)
