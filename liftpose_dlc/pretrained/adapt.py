"""A pretrained lifter seen through the user's keypoint names and subset.

:func:`adapt_lifter` turns a lifter with its own keypoints (``Snout, EarL, ...``) into a
:class:`MappedLifter` whose keypoints are the user's names (``snout, leftear, ...``) and
only those the user tracks. Every lifting path (files, projects, napari) then works on it
unchanged: model keypoints the user does not track are fed to the network as missing
points (zoo models are trained with keypoint dropout, so any subset is a valid input), and
the 3D comes back under the user's names.

Rules
-----
* A target set of the model is lifted when its root and at least one more of its points
  are tracked; the others are dropped with a :class:`KeypointSubsetWarning` naming them.
* When no target set can be lifted, :class:`~liftpose_dlc.errors.KeypointError` says so in
  the user's names (and what the model would need).
* Tracked points of a dropped set still help as input, but have no 3D (NaN).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from liftpose_dlc.errors import ConfigError, KeypointError
from liftpose_dlc.keypoint_names import KeypointMatch, propose_keypoint_map

if TYPE_CHECKING:  # pragma: no cover
    from liftpose_dlc.lifter.lifter import Lifter

__all__ = [
    "MappedLifter",
    "KeypointSubsetWarning",
    "adapt_lifter",
    "needs_adapting",
    "keypoint_map_for",
    "keypoint_names_of",
]

logger = logging.getLogger(__name__)


class KeypointSubsetWarning(UserWarning):
    """Some of a model's target sets cannot be lifted from the keypoints tracked."""


def _model_name(lifter: Lifter) -> str:
    card = getattr(lifter, "card", None)
    return f"model {card.name!r}" if card is not None else "the lifter"


class MappedLifter:
    """A trained lifter that takes the user's keypoint names, and only those tracked.

    Made by :func:`adapt_lifter`. It is a *model* in the lifting engine's sense: it has
    ``keypoints``, ``roots``, ``target_sets`` (indices into ``keypoints``) and
    :meth:`predict`, so every lifting path takes it as it takes a
    :class:`~liftpose_dlc.Lifter`. It cannot be trained or saved: save or fine-tune
    ``base``.

    Attributes
    ----------
    base
        The model itself (a :class:`~liftpose_dlc.Lifter`).
    match
        The :class:`~liftpose_dlc.keypoint_names.KeypointMatch` it uses.
    card
        The base's model card (or None).
    keypoints, roots, target_sets
        The user's names that are used, and the lifted target sets in them.
    dropped
        Model roots whose target sets are not lifted.
    """

    is_trained = True

    def __init__(self, base: Lifter, match: KeypointMatch, *, where: str = "your keypoints"):
        names = base.keypoints
        to_user = {m: u for u, m in match.mapping.items()}
        user = list(match.mapping)
        index = {u: i for i, u in enumerate(user)}
        kept_k, roots, sets, dropped = [], [], [], []
        for k, (r, ts) in enumerate(zip(base.roots, base.target_sets, strict=True)):
            tracked = [index[to_user[names[j]]] for j in ts if names[j] in to_user]
            if names[r] in to_user and tracked:
                kept_k.append(k)
                roots.append(index[to_user[names[r]]])
                sets.append(tracked)
            else:
                dropped.append(names[r])
        if not kept_k:
            raise KeypointError(_too_small(base, match, where))
        special = getattr(base, "specialised_for", None)
        extra = sorted(set(match.mapping.values()) - set(special or match.mapping.values()))
        if extra:
            raise KeypointError(
                f"{where}: this lifter was specialised for {', '.join(special or [])} only, "
                f"but the input also has {', '.join(extra)}; specialise the model for these "
                "keypoints (liftpose_dlc.specialise) or lift with the general model"
            )
        self.base = base
        self.match = match
        self.card = getattr(base, "card", None)
        self.keypoints: list[str] = user
        self.roots: list[int] = roots
        self.target_sets: list[list[int]] = sets
        self.dropped: list[str] = dropped
        self._kept = kept_k
        self._index = np.array([names.index(match.mapping[u]) for u in user], dtype=np.int64)
        offsets = np.asarray(base.root_offsets, dtype=np.float64)
        self.root_offsets = offsets[kept_k] - offsets[kept_k[0]]
        lifted = np.zeros(len(user), dtype=bool)
        lifted[roots] = True
        for ts in sets:
            lifted[ts] = True
        self._lifted = lifted

    def __repr__(self) -> str:
        return (
            f"MappedLifter({len(self.keypoints)} of {len(self.base.keypoints)} keypoints of "
            f"{_model_name(self.base)}, roots={[self.keypoints[r] for r in self.roots]})"
        )

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        """Not possible: fine-tune ``base`` (``train_dlc_project(..., init=model)``)."""
        raise ConfigError(
            "a MappedLifter is a view of a trained model: fine-tune its `base` instead "
            "(train_dlc_project(..., init=model))"
        )

    def save(self, *args: Any, **kwargs: Any) -> Any:
        """Not possible: save ``base``."""
        raise ConfigError("a MappedLifter is a view of a trained model: save its `base`")

    def predict(
        self,
        poses_2d: Any,
        batch_size: int = 65536,
        device: Any = None,
        root_positions: str | np.ndarray = "zero",
        lengths: Sequence[int] | None = None,
    ) -> Any:
        """Lift 2D poses in the user's keypoints (see :meth:`Lifter.predict`).

        ``poses_2d`` is an array ``(N, len(keypoints), 2)`` or a dictionary of them.
        Untracked model keypoints are given to the model as missing; the 3D holds the
        user's keypoints, NaN for those in no lifted target set. ``root_positions``:
        ``"zero"``, ``"mean"`` (the first lifted root at the origin) or the lifted roots'
        positions ``(R, 3)``/``(N, R, 3)``. ``lengths``: for a temporal base model, the
        frame counts of the array's consecutive sequences (default: one sequence).
        """
        if isinstance(poses_2d, Mapping):
            return {
                k: self.predict(v, batch_size, device, root_positions) for k, v in poses_2d.items()
            }
        arr = np.asarray(poses_2d, dtype=np.float64)
        if arr.ndim != 3 or arr.shape[1:] != (len(self.keypoints), 2):
            raise ConfigError(
                f"poses_2d must have shape (N, {len(self.keypoints)}, 2) for keypoints "
                f"{self.keypoints}, got {arr.shape}"
            )
        base = self.base
        n, n_roots = arr.shape[0], len(base.roots)
        full = np.full((n, len(base.keypoints), 2), np.nan)
        full[:, self._index] = arr
        if isinstance(root_positions, str):
            if root_positions == "zero":
                rp: Any = "zero"
            elif root_positions == "mean":
                offsets = np.asarray(base.root_offsets, dtype=np.float64)
                rp = offsets - offsets[self._kept[0]]
            else:
                raise ConfigError(
                    f"root_positions must be 'zero', 'mean' or an array, got {root_positions!r}"
                )
        else:
            given = np.asarray(root_positions, dtype=np.float64)
            kept = len(self._kept)
            if given.shape == (kept, 3):
                rp = np.zeros((n_roots, 3))
                rp[self._kept] = given
            elif given.shape == (n, kept, 3):
                rp = np.zeros((n, n_roots, 3))
                rp[:, self._kept] = given
            else:
                raise ConfigError(
                    f"root_positions must have shape ({kept}, 3) or ({n}, {kept}, 3), got "
                    f"{given.shape}"
                )
        model: Any = base  # a temporal base model also takes the sequences' lengths
        sequences = {} if lengths is None else {"lengths": [int(k) for k in lengths]}
        out = np.asarray(
            model.predict(
                full, batch_size=batch_size, device=device, root_positions=rp, **sequences
            )
        )[:, self._index]
        out[:, ~self._lifted] = np.nan
        return out


class MappedTemporalLifter(MappedLifter):
    """A :class:`MappedLifter` of a temporal base model: the engine hands it windows.

    It has the base's ``context_frames`` and a ``predict_sequences`` (see
    :mod:`liftpose_dlc.engine`), so a temporal model lifts through a keypoint map with
    its frames around each frame, as it does without one.
    """

    @property
    def context_frames(self) -> Any:
        """The base model's frames of context (before, after)."""
        return self.base.context_frames  # type: ignore[attr-defined]

    def predict_sequences(
        self,
        x: np.ndarray,
        *,
        batch_size: int = 65536,
        device: Any = None,
        root_positions: str | np.ndarray = "zero",
    ) -> np.ndarray:
        """Lift ``(n_sequences, n_frames, len(keypoints), 2)``, each sequence on its own."""
        x = np.asarray(x, dtype=np.float64)
        s, n = x.shape[:2]
        flat = x.reshape(s * n, *x.shape[2:])
        out = self.predict(flat, batch_size, device, root_positions, lengths=[n] * s)
        return np.asarray(out).reshape(s, n, *np.asarray(out).shape[1:])


def _too_small(base: Lifter, match: KeypointMatch, where: str) -> str:
    names = base.keypoints
    to_user = {m: u for u, m in match.mapping.items()}
    tracked = ", ".join(f"{u} ({m})" for u, m in match.mapping.items()) or "none"
    needs = []
    for r, ts in zip(base.roots, base.target_sets, strict=True):
        root = names[r]
        state = f"your {to_user[root]}" if root in to_user else "not tracked"
        others = [to_user[names[j]] for j in ts if names[j] in to_user]
        needs.append(
            f"root {root} ({state}) with one of {', '.join(names[j] for j in ts)}"
            f" (tracked: {', '.join(others) or 'none'})"
        )
    unmatched = [*match.unmatched, *match.ambiguous]
    extra = ""
    if unmatched:
        extra = (
            f" Not matched: {', '.join(unmatched)}; map them with keypoint_map={{your_name: "
            "model_keypoint} (a YAML file --keypoint-map on the command line) if they are "
            "model keypoints."
        )
        # names on a leg/side the model knows, that name none of its joints (forelegL1)
        groups: dict[tuple[str, ...], list[str]] = {}
        for name in match.unmatched:
            hint = match.hints(name)
            if hint:
                groups.setdefault(tuple(hint), []).append(name)
        if groups:
            parts = [
                f"{', '.join(ns)} (same side and leg as {hint[0]} ... {hint[-1]})"
                for hint, ns in groups.items()
            ]
            extra += f" These name no joint of the model: {'; '.join(parts)}."
    return (
        f"{where}: too few keypoints to lift with {_model_name(base)}. Matched: {tracked}. "
        f"A target set is lifted from its root and at least one more of its points; none "
        f"is complete enough: {'; '.join(needs)}.{extra}"
    )


def needs_adapting(lifter: Lifter, keypoint_map: Mapping[str, Any] | None) -> bool:
    """Whether the workflows should map names for this lifter (a card, or a map given)."""
    return keypoint_map is not None or getattr(lifter, "card", None) is not None


def adapt_lifter(
    lifter: Lifter,
    user_keypoints: Sequence[str],
    keypoint_map: Mapping[str, str | None] | str | os.PathLike | None = None,
    *,
    where: str = "your keypoints",
) -> tuple[Lifter | MappedLifter, KeypointMatch | None]:
    """The lifter to use on 2D with the user's keypoint names, and the map it uses.

    Parameters
    ----------
    lifter
        A trained lifter. Names are mapped when it has a card (a pretrained model) or a
        ``keypoint_map`` is given; otherwise it is returned unchanged (its keypoints must
        then be among the user's, by name).
    user_keypoints
        The names in the user's 2D (bodyparts, nodes).
    keypoint_map
        Explicit ``{user name: model keypoint}`` corrections (None values leave a name out),
        or the path of a YAML file of them
        (:func:`~liftpose_dlc.keypoint_names.read_keypoint_map`); default: the card's
        ``keypoint_map`` (a fine-tuned model), then the automatic proposal
        (:func:`~liftpose_dlc.keypoint_names.propose_keypoint_map`).
    where
        Names the input in messages.

    Returns
    -------
    lifter, match
        The lifter (a :class:`MappedLifter` unless the names already match the model's
        keypoints one for one) and the map (None when no mapping applies). The map is also
        logged (``logging``, INFO).

    Raises
    ------
    KeypointError
        If too few keypoints match to lift any target set (the message, in the user's
        names, says what is missing).

    Warns
    -----
    KeypointSubsetWarning
        When some of the model's target sets cannot be lifted from the tracked subset.
    """
    keypoint_map = _read_map(keypoint_map)
    if not needs_adapting(lifter, keypoint_map):
        return lifter, None
    if (
        isinstance(lifter, MappedLifter)
        and keypoint_map is None
        and set(lifter.keypoints) <= {str(u) for u in user_keypoints}
    ):
        return lifter, lifter.match
    base = lifter.base if isinstance(lifter, MappedLifter) else lifter
    match = match_keypoints(base, user_keypoints, keypoint_map)
    logger.info("%s onto %s: %s", where, _model_name(base), match.describe())
    if match.is_identity:
        return base, match
    kind = MappedTemporalLifter if hasattr(base, "context_frames") else MappedLifter
    mapped = kind(base, match, where=where)
    if mapped.dropped:
        names = base.keypoints
        parts = []
        for r, ts in zip(base.roots, base.target_sets, strict=True):
            if names[r] in mapped.dropped:
                parts.append(f"{names[r]} ({', '.join(names[j] for j in ts)})")
        warnings.warn(
            f"{where}: {_model_name(base)} cannot lift the target set(s) rooted at "
            f"{'; '.join(parts)} from the keypoints tracked (a set needs its root and one more "
            "point); they are not lifted",
            KeypointSubsetWarning,
            stacklevel=2,
        )
    return mapped, match


def describe_map(lifter: Any, match: KeypointMatch) -> str:
    """The map as the workflows print it, with a hint to specialise when few keypoints match.

    The hint appears when ``lifter`` (from :func:`adapt_lifter`) is a general pretrained
    model seen through a subset of its keypoints and the model can be specialised
    (its card has a ``pose_library``).
    """
    text = match.describe()
    if not isinstance(lifter, MappedLifter):
        return text
    base = lifter.base
    card = getattr(base, "card", None)
    n_used = len(set(match.mapping.values()))
    if (
        card is None
        or not card.pose_library
        or getattr(base, "specialised_for", None) is not None
        or n_used >= len(base.keypoints)
    ):
        return text
    return (
        f"{text}\n  you track {n_used} of the model's {len(base.keypoints)} keypoints: "
        "`--specialise` (Python: liftpose_dlc.specialise) trains the model for exactly these "
        "once (about a minute, cached); with few keypoints that was 10-50% more accurate in "
        "the benchmarks (benchmarks/RESULTS.md)"
    )


def _read_map(keypoint_map: Any) -> Mapping[str, str | None] | None:
    if isinstance(keypoint_map, (str, os.PathLike)):
        from liftpose_dlc.keypoint_names import read_keypoint_map

        return read_keypoint_map(keypoint_map)
    return keypoint_map


def match_keypoints(
    base: Lifter,
    user_keypoints: Sequence[str],
    keypoint_map: Mapping[str, str | None] | str | os.PathLike | None = None,
) -> KeypointMatch:
    """The map of the user's names onto ``base``'s keypoints that the workflows use.

    ``keypoint_map`` (a mapping or a YAML file) corrects the automatic proposal; without
    it, the card's ``keypoint_map`` (a fine-tuned model's) applies to the names it lists.
    """
    users = [str(u) for u in user_keypoints]
    given = _read_map(keypoint_map)
    card = getattr(base, "card", None)
    if given is None and card is not None and card.keypoint_map:
        given = {u: m for u, m in card.keypoint_map.items() if u in users}
    return propose_keypoint_map(users, base.keypoints, given)


def keypoint_names_of(source: Any) -> list[str]:
    """The keypoint names of a DeepLabCut ``config.yaml``, a pose file, a Poses or a list.

    Raises
    ------
    MissingFileError, FileFormatError
        If a file does not exist or is not a config or pose file the readers know.
    """
    from liftpose_dlc.poses import Poses

    if isinstance(source, Poses):
        return list(source.keypoints)
    if isinstance(source, (str, os.PathLike)):
        from pathlib import Path

        path = Path(source)
        if path.suffix.lower() in (".yaml", ".yml"):
            from liftpose_dlc.io.dlc_config import config_bodyparts

            return config_bodyparts(path)
        from liftpose_dlc.io import load_poses

        return list(load_poses(path).keypoints)
    return [str(n) for n in source]


def keypoint_map_for(
    model: Any,
    source: Any,
    keypoint_map: Mapping[str, str | None] | str | os.PathLike | None = None,
) -> KeypointMatch:
    """The keypoint map a model would use for your keypoints, to check before lifting.

    Parameters
    ----------
    model
        A pretrained model's name, a model file or a Lifter.
    source
        Your keypoints: a DeepLabCut ``config.yaml``, a 2D pose file, a
        :class:`~liftpose_dlc.Poses` or a list of names.
    keypoint_map
        Corrections (a mapping or a YAML file), as for the lifting functions.

    Returns
    -------
    KeypointMatch
        ``match.describe()`` is the table the command line prints;
        :func:`~liftpose_dlc.keypoint_names.write_keypoint_map` writes it for editing.

    Examples
    --------
    >>> print(keypoint_map_for("mouse", "openfield/config.yaml").describe())  # doctest: +SKIP
    """
    from liftpose_dlc.pretrained.registry import load_model

    lifter = load_model(model)
    base = lifter.base if isinstance(lifter, MappedLifter) else lifter
    return match_keypoints(base, keypoint_names_of(source), keypoint_map)
