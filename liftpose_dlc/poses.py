"""The :class:`Poses` container: every reader ends in it, every writer starts from it."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from liftpose_dlc.errors import ConfigError, KeypointError, LiftPoseError, PosesValidationError
from liftpose_dlc.skeleton import Skeleton

__all__ = ["Poses", "Source", "check_pcutoff", "poses_to_dict", "require_poses", "FRAMES"]

#: The coordinate frames a 3D :class:`Poses` can be in (``Poses.frame``).
FRAMES = ("camera", "world")


def check_pcutoff(pcutoff: Any, *, where: str | None = None) -> float | None:
    """``pcutoff`` as a float in [0, 1] (None stays None).

    A confidence cutoff compares with likelihoods (DeepLabCut) and scores (SLEAP), which
    lie in [0, 1]: a cutoff above 1 would hide every point, one below 0 none.

    Parameters
    ----------
    pcutoff
        The cutoff, or None for none.
    where
        Names where the value came from (e.g. a ``config.yaml``) in the error.

    Raises
    ------
    ConfigError
        If it is not a number, or not within [0, 1].

    Examples
    --------
    >>> check_pcutoff("0.6"), check_pcutoff(None)
    (0.6, None)
    """
    if pcutoff is None:
        return None
    prefix = f"{where}: " if where else ""
    try:
        value = float(pcutoff)
    except (TypeError, ValueError):
        raise ConfigError(f"{prefix}pcutoff must be a number, got {pcutoff!r}") from None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ConfigError(
            f"{prefix}pcutoff must be between 0 and 1 (it is compared with confidences, "
            f"which lie in [0, 1]), got {pcutoff!r}"
        )
    return value


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


@attrs.frozen
class Source:
    """Where a :class:`Poses` came from.

    Attributes
    ----------
    path
        The file it was read from, or None for poses built in memory.
    software
        The software that wrote it (``"DeepLabCut"``, ``"SLEAP"``, ``"liftpose-dlc"``, ...).
    """

    path: str | None = attrs.field(default=None, converter=_optional_str)
    software: str | None = None

    def describe(self) -> str:
        """A short human-readable description, used in error messages."""
        if self.path is None:
            return "poses in memory" if self.software is None else f"{self.software} poses"
        return self.path


def _as_names(value: Iterable[Any]) -> list[str]:
    return [str(v) for v in value]


def _as_skeleton(
    value: Skeleton | Iterable[Sequence[Any]] | None,
) -> Skeleton | tuple[tuple[str, str], ...]:
    """A Skeleton as given, or edges as pairs of names (placed on the keypoints later)."""
    if isinstance(value, Skeleton):
        return value
    edges = []
    for edge in value or ():
        pair = (edge,) if isinstance(edge, str) else tuple(edge)
        if len(pair) != 2:
            raise PosesValidationError(f"a skeleton edge must be a pair of names, got {edge!r}")
        edges.append((str(pair[0]), str(pair[1])))
    return tuple(edges)


def _as_float_array(value: Any) -> np.ndarray:
    # copy=True: a Poses never shares memory with the caller's array
    return np.array(value, dtype=np.float64, copy=True)


def _set_in_post_init(value: Any) -> Any:
    """Kept as given: ``__attrs_post_init__`` fills in a None and checks the value."""
    return value


def _per_point(value: Any, shape: tuple[int, int, int], what: str, where: str) -> np.ndarray:
    """``value`` as an array of ``shape`` (frames, individuals, keypoints).

    An array ``(frames, keypoints)`` is accepted for one individual.
    """
    arr = np.asarray(value)
    if arr.ndim == 2 and shape[1] == 1:
        arr = arr[:, None]
    if arr.shape != shape:
        raise PosesValidationError(
            f"{where}: {what} must have shape {shape} (frames, individuals, keypoints), "
            f"got {np.shape(value)}"
        )
    return arr


def _check_unique(names: list[str], what: str, where: str) -> None:
    dupes = sorted(n for n, count in Counter(names).items() if count > 1)
    if dupes:
        raise PosesValidationError(f"{where}: {what} names must be unique; repeated: {dupes}")


@attrs.define(eq=False)
class Poses:
    """Pose tracks of one recording: 2D (from a tracker) or 3D (lifted or triangulated).

    Parameters
    ----------
    data
        Coordinates, shape ``(n_frames, n_individuals, n_keypoints, n_dims)`` with
        ``n_dims`` 2 (x, y in pixels) or 3; NaN where a point is missing. A 3-D array
        ``(n_frames, n_keypoints, n_dims)`` is taken as a single individual.
    keypoints
        Keypoint (bodypart, node) names, in the order of ``data``'s third axis.
    individuals
        Individual (track) names; default ``["individual_0", ...]``.
    confidence
        Per-point confidence (DLC likelihood, SLEAP score), shape
        ``(n_frames, n_individuals, n_keypoints)``; NaN where the source has none.
        Default: all NaN. Lifted 3D carries the 2D point's confidence, or, when the lifter
        has an error model, the 3D point's own (``provenance["confidence"]`` says so; see
        :mod:`liftpose_dlc.lifter.uncertainty`).
    skeleton
        A :class:`~liftpose_dlc.skeleton.Skeleton`, or its edges as pairs of keypoint names
        (may be empty). It is stored as a Skeleton over ``keypoints``: edges as given, and
        the colours of a given Skeleton kept (:meth:`Skeleton.with_nodes`). Change it with
        :meth:`replace`.
    fps
        Frame rate in frames per second, or None when unknown.
    source
        Where the poses came from (:class:`Source`).
    units
        Units of the coordinates (``"pixels"`` for 2D tracking, ``"mm"``, ...), or None
        when unknown.
    frame
        Coordinate frame of 3D poses: ``"camera"`` (the camera the 2D was seen from) or
        ``"world"``; None when unknown (and for 2D).
    provenance
        How the poses were made, as text: for lifted poses ``lifter_name``,
        ``lifter_version``, ``lifter_training_data``, ``source_2d_file`` and
        ``source_2d_software`` (see :func:`liftpose_dlc.io.metadata.lift_provenance`).
        Writers store it, readers give it back.

    Raises
    ------
    PosesValidationError
        If shapes disagree, names repeat, ``n_dims`` is not 2 or 3, or a skeleton edge
        names an unknown keypoint.

    Examples
    --------
    >>> import numpy as np
    >>> poses = Poses(np.zeros((10, 1, 3, 2)), keypoints=["head", "body", "tail"])
    >>> poses.n_frames, poses.n_individuals, poses.n_keypoints, poses.n_dims
    (10, 1, 3, 2)
    >>> poses.select(keypoints=["tail", "head"]).keypoints
    ['tail', 'head']
    >>> sorted(poses.to_dict())
    ['individual_0']
    """

    data: np.ndarray = attrs.field(converter=_as_float_array)
    keypoints: list[str] = attrs.field(converter=_as_names)
    # None (the default) is replaced in __attrs_post_init__, so after __init__ both are set
    individuals: list[str] = attrs.field(default=None, converter=_set_in_post_init, kw_only=True)
    confidence: np.ndarray = attrs.field(default=None, converter=_set_in_post_init, kw_only=True)
    skeleton: Skeleton = attrs.field(
        default=None, converter=_as_skeleton, kw_only=True, on_setattr=attrs.setters.frozen
    )
    fps: float | None = attrs.field(default=None, kw_only=True)
    source: Source = attrs.field(factory=Source, kw_only=True)
    units: str | None = attrs.field(default=None, kw_only=True)
    frame: str | None = attrs.field(default=None, kw_only=True)
    provenance: dict[str, str] = attrs.field(factory=dict, kw_only=True)

    def __attrs_post_init__(self) -> None:
        where = self.source.describe()
        if self.data.ndim == 3:
            self.data = self.data[:, None]
        if self.data.ndim != 4:
            raise PosesValidationError(
                f"{where}: data must have shape (n_frames, n_individuals, n_keypoints, n_dims), "
                f"got {self.data.shape}"
            )
        n_frames, n_ind, n_kp, n_dims = self.data.shape
        if n_dims not in (2, 3):
            raise PosesValidationError(f"{where}: n_dims must be 2 or 3, got {n_dims}")
        if len(self.keypoints) != n_kp:
            raise PosesValidationError(
                f"{where}: {len(self.keypoints)} keypoint names for {n_kp} keypoints in data"
            )
        _check_unique(self.keypoints, "keypoint", where)
        if self.individuals is None:
            self.individuals = [f"individual_{i}" for i in range(n_ind)]
        self.individuals = _as_names(self.individuals)
        if len(self.individuals) != n_ind:
            raise PosesValidationError(
                f"{where}: {len(self.individuals)} individual names for {n_ind} individuals in data"
            )
        _check_unique(self.individuals, "individual", where)
        if self.confidence is None:
            self.confidence = np.full((n_frames, n_ind, n_kp), np.nan)
        else:
            conf = np.array(self.confidence, dtype=np.float64, copy=True)
            self.confidence = _per_point(conf, (n_frames, n_ind, n_kp), "confidence", where)
        given = self.skeleton
        edges = given.edges if isinstance(given, Skeleton) else given
        unknown = sorted({n for edge in edges for n in edge} - set(self.keypoints))
        if unknown:
            raise PosesValidationError(f"{where}: skeleton names unknown keypoints {unknown}")
        try:
            if isinstance(given, Skeleton):
                skeleton = given.with_nodes(self.keypoints)
            else:
                skeleton = Skeleton(self.keypoints, given)
        except LiftPoseError as exc:
            raise PosesValidationError(f"{where}: {exc}") from None
        object.__setattr__(self, "skeleton", skeleton)  # the field is frozen: use replace()
        if self.fps is not None:
            self.fps = float(self.fps)
            if not np.isfinite(self.fps) or self.fps <= 0:
                raise PosesValidationError(f"{where}: fps must be positive, got {self.fps}")
        if self.units is not None:
            self.units = str(self.units)
        if self.frame is not None and self.frame not in FRAMES:
            raise PosesValidationError(
                f"{where}: frame must be one of {FRAMES} or None, got {self.frame!r}"
            )
        self.provenance = {str(k): str(v) for k, v in dict(self.provenance).items()}

    # ------------------------------------------------------------------ shape
    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return self.data.shape[0]

    @property
    def n_individuals(self) -> int:
        """Number of individuals (tracks)."""
        return self.data.shape[1]

    @property
    def n_keypoints(self) -> int:
        """Number of keypoints."""
        return self.data.shape[2]

    @property
    def n_dims(self) -> int:
        """2 for image coordinates, 3 for 3D poses."""
        return self.data.shape[3]

    @property
    def edge_indices(self) -> list[tuple[int, int]]:
        """The skeleton's edges as pairs of keypoint indices."""
        return list(self.skeleton.edge_indices)

    def __repr__(self) -> str:
        return (
            f"Poses(n_frames={self.n_frames}, individuals={self.individuals}, "
            f"keypoints={self.keypoints}, n_dims={self.n_dims}, fps={self.fps}, "
            f"source={self.source.describe()!r})"
        )

    # -------------------------------------------------------------- selection
    def select(
        self,
        keypoints: Sequence[str] | None = None,
        individuals: Sequence[str] | None = None,
        frames: slice | Sequence[int] | np.ndarray | None = None,
    ) -> Poses:
        """Return a new :class:`Poses` with keypoints/individuals picked and reordered by name.

        Parameters
        ----------
        keypoints
            Keypoint names in the wanted order; None keeps all.
        individuals
            Individual names in the wanted order; None keeps all.
        frames
            A slice or indices of frames to keep; None keeps all.

        Raises
        ------
        KeypointError
            If a name is not present; the message lists the missing and the available names.
        """
        where = self.source.describe()
        kp_idx = _indices(self.keypoints, keypoints, "keypoint", where)
        ind_idx = _indices(self.individuals, individuals, "individual", where)
        frame_idx = slice(None) if frames is None else frames
        data = self.data[frame_idx][:, ind_idx][:, :, kp_idx]
        conf = self.confidence[frame_idx][:, ind_idx][:, :, kp_idx]
        return attrs.evolve(
            self,
            data=data,
            keypoints=[self.keypoints[i] for i in kp_idx],
            individuals=[self.individuals[i] for i in ind_idx],
            confidence=conf,
            skeleton=self.skeleton.restrict([self.keypoints[i] for i in kp_idx]),
        )

    def mask_below(self, pcutoff: float | None) -> Poses:
        """These poses with every point whose confidence is below ``pcutoff`` set to NaN.

        The one place that masks by confidence (readers, the lifting engine and napari call
        it). The confidence itself is kept; points without a confidence (NaN) are kept.

        Parameters
        ----------
        pcutoff
            In [0, 1] (:func:`check_pcutoff`); None returns these poses themselves.

        Returns
        -------
        Poses
            A new :class:`Poses` (or ``self`` when ``pcutoff`` is None).

        Raises
        ------
        ConfigError
            If ``pcutoff`` is not a number in [0, 1].

        Examples
        --------
        >>> conf = np.array([[[0.9, 0.1, np.nan]]])
        >>> poses = Poses(np.ones((1, 1, 3, 2)), ["a", "b", "c"], confidence=conf)
        >>> np.isnan(poses.mask_below(0.5).data[0, 0, :, 0]).tolist()
        [False, True, False]
        """
        cutoff = check_pcutoff(pcutoff, where=self.source.describe())
        if cutoff is None:
            return self
        with np.errstate(invalid="ignore"):
            low = self.confidence < cutoff
        data = self.data.copy()
        data[low] = np.nan
        return attrs.evolve(self, data=data)

    def point_mask(self, values: Any, what: str) -> np.ndarray:
        """``values`` checked as a boolean mask with one entry per point of these poses.

        Parameters
        ----------
        values
            Shape ``(n_frames, n_individuals, n_keypoints)``, or ``(n_frames, n_keypoints)``
            with one individual.
        what
            Its name, for the error message.

        Returns
        -------
        numpy.ndarray
            Boolean, shape ``(n_frames, n_individuals, n_keypoints)``.

        Raises
        ------
        PosesValidationError
            If the shape does not match.
        """
        shape = (self.n_frames, self.n_individuals, self.n_keypoints)
        return _per_point(values, shape, what, self.source.describe()).astype(bool)

    def replace(self, **changes: Any) -> Poses:
        """Return a copy with some fields changed (validated again)."""
        return attrs.evolve(self, **changes)

    # ------------------------------------------------------------ conversion
    def dict_key(self, individual: str) -> str:
        """The key :meth:`to_dict` uses for ``individual``."""
        if self.source.path is None:
            return individual
        return f"{Path(self.source.path).stem}/{individual}"

    def to_dict(self) -> dict[str, np.ndarray]:
        """The lifter's input convention: ``{key: (n_frames, n_keypoints, n_dims)}``.

        One key per individual: the individual's name for poses in memory,
        ``"<file stem>/<individual>"`` for poses read from a file (so that dictionaries from
        several files can be merged with :func:`poses_to_dict`). Arrays are copies.
        """
        return {
            self.dict_key(ind): self.data[:, i].copy() for i, ind in enumerate(self.individuals)
        }

    def confidence_dict(self) -> dict[str, np.ndarray]:
        """Confidence with the same keys as :meth:`to_dict`, each ``(n_frames, n_keypoints)``."""
        return {
            self.dict_key(ind): self.confidence[:, i].copy()
            for i, ind in enumerate(self.individuals)
        }

    @classmethod
    def from_dict(
        cls,
        arrays: Mapping[str, np.ndarray],
        keypoints: Sequence[str],
        **kwargs: Any,
    ) -> Poses:
        """Build one :class:`Poses` per seed-style dictionary, stacking keys as individuals.

        All arrays must have the same number of frames; the keys become individual names.
        """
        if not arrays:
            raise PosesValidationError("cannot build Poses from an empty dictionary")
        shapes = {k: np.shape(v) for k, v in arrays.items()}
        if len({s[0] for s in shapes.values()}) != 1:
            raise PosesValidationError(
                f"all arrays must have the same number of frames to stack them: {shapes}"
            )
        data = np.stack([np.asarray(v, dtype=np.float64) for v in arrays.values()], axis=1)
        return cls(data, keypoints, individuals=list(arrays), **kwargs)


def _indices(names: list[str], wanted: Sequence[str] | None, what: str, where: str) -> list[int]:
    if wanted is None:
        return list(range(len(names)))
    if isinstance(wanted, str):
        wanted = [wanted]
    wanted = [str(w) for w in wanted]
    missing = [w for w in wanted if w not in names]
    if missing:
        raise KeypointError(f"{where}: {what}s not found: {missing}; available {what}s: {names}")
    index = {n: i for i, n in enumerate(names)}
    return [index[w] for w in wanted]


def require_poses(value: Any, caller: str, dims: int | None = None) -> Poses:
    """``value`` itself if it is a :class:`Poses` (with ``dims`` dimensions, when given).

    Parameters
    ----------
    value
        What ``caller`` was given.
    caller
        The function's name, for the error message.
    dims
        2 or 3: the number of coordinates ``caller`` takes.

    Returns
    -------
    Poses
        ``value``.

    Raises
    ------
    PosesValidationError
        If ``value`` is not a :class:`Poses` or has other than ``dims`` dimensions.
    """
    if not isinstance(value, Poses):
        raise PosesValidationError(f"{caller} expects a Poses, got {type(value).__name__}")
    if dims is not None and value.n_dims != dims:
        hint = " (lift them first)" if dims == 3 else ""
        raise PosesValidationError(
            f"{value.source.describe()}: {caller} takes {dims}D poses; these have "
            f"n_dims={value.n_dims}{hint}"
        )
    return value


def poses_to_dict(poses: Iterable[Poses]) -> dict[str, np.ndarray]:
    """Merge several :class:`Poses` into one seed-style dictionary (one key per file/individual).

    Raises
    ------
    PosesValidationError
        If two entries would get the same key, or keypoints differ between them.
    """
    out: dict[str, np.ndarray] = {}
    keypoints: list[str] | None = None
    for p in poses:
        if keypoints is None:
            keypoints = p.keypoints
        elif p.keypoints != keypoints:
            raise PosesValidationError(
                f"{p.source.describe()}: keypoints {p.keypoints} differ from {keypoints}; "
                "use .select(keypoints=...) first"
            )
        for key, arr in p.to_dict().items():
            if key in out:
                raise PosesValidationError(f"two poses give the same key {key!r}")
            out[key] = arr
    return out
