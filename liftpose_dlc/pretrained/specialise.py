"""A pretrained model trained again for exactly the keypoints a user tracks.

A zoo model is one network for every subset of its keypoints (it is trained with keypoint
dropout). A user who tracks few of them (the open-field mouse's snout, ears and tail base)
gets better 3D from a network trained for that subset alone: on the zoo benchmark's
leave-one-animal-out splits, such a *specialist* is clearly better than the general model
on small subsets (``benchmarks/RESULTS.md``, "Specialists for the keypoints you track").

The zoo models that ship their 3D pose library (card key ``pose_library``: the poses they
were trained on, with their licences in the card's ``training_data``) can be specialised
on the user's machine in a minute or two of CPU, with the model's own recipe (the same
virtual views, body variation and detector-like 2D error), the 2D input restricted to the
tracked keypoints and the loss to them. The result is cached (``LIFTPOSE_DLC_CACHE_DIR``,
by default the user cache, ``~/.cache/liftpose-dlc`` on Linux), so that the next lift with
the same keypoints loads it.

>>> import liftpose_dlc as lp
>>> lifter = lp.specialise("mouse", ["snout", "leftear", "rightear", "tailbase"])  # doctest: +SKIP
>>> lp.lift_file("video1DLC.h5", model=lifter)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from liftpose_dlc._cache import CACHE_ENV, cache_root
from liftpose_dlc.errors import ConfigError, LiftPoseError, ModelFileError

if TYPE_CHECKING:  # pragma: no cover
    from liftpose_dlc.lifter.lifter import Lifter
    from liftpose_dlc.pretrained.card import ModelCard

__all__ = [
    "CACHE_ENV",  # re-exported from liftpose_dlc._cache
    "cache_folder",
    "load_pose_library",
    "fit_on_library",
    "specialise",
    "tracked_model_keypoints",
]

logger = logging.getLogger(__name__)

#: Bumped when the training of specialists changes (old cached files are then not reused).
RECIPE_VERSION = 1


def cache_folder() -> Path:
    """Where specialists are cached: ``specialists`` in the user cache folder.

    That is ``$LIFTPOSE_DLC_CACHE_DIR`` when set, else the platform's user cache
    (``~/.cache/liftpose-dlc`` on Linux): see :func:`liftpose_dlc._cache.cache_root`.
    """
    return cache_root() / "specialists"


def _library_path(card: ModelCard) -> Path:
    if not card.pose_library:
        raise ConfigError(
            f"model {card.name!r} ships no pose library (its card has no `pose_library`), "
            "so it cannot be specialised; lift with it as it is"
        )
    if card.path is None:
        raise ConfigError(f"model {card.name!r}: its card was not read from a file")
    path = card.path.parent / card.pose_library["file"]
    if not path.is_file():
        raise ModelFileError(f"{path}: the pose library of model {card.name!r} is missing")
    return path


def load_pose_library(card: ModelCard) -> dict[str, np.ndarray]:
    """The 3D poses a zoo model was trained on: ``{animal: (frames, keypoints, 3)}``, in mm.

    Raises
    ------
    ConfigError
        If the model has no pose library.
    ModelFileError
        If the library file is missing or not what its card says (the message names it).
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = _library_path(card)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: not a readable pose library ({exc})") from None
    out: dict[str, np.ndarray] = {}
    for name, arr in tensors.items():
        if arr.ndim != 3 or arr.shape[1:] != (len(card.keypoints), 3) or not len(arr):
            raise ModelFileError(
                f"{path}: {name!r} has shape {arr.shape}, not (frames, {len(card.keypoints)}, 3)"
            )
        out[name.removeprefix("poses/")] = arr.astype(np.float64)
    if not out:
        raise ModelFileError(f"{path}: the pose library holds no poses")
    return out


def fit_on_library(
    card: ModelCard,
    bodies: Mapping[str, np.ndarray],
    tracked: Sequence[str] | None = None,
    *,
    views: Mapping[str, Any] | None = None,
    steps: int | None = None,
    seed: int = 0,
    verbose: bool = False,
) -> Lifter:
    """Train a lifter with a zoo model's recipe on body-frame 3D poses.

    Parameters
    ----------
    card
        The model's card: its keypoints, roots, target sets, views and ``pose_library``
        recipe (``parents``, ``augmentation``, ``model_options``, ``train_options``).
    bodies
        ``{animal: (frames, keypoints, 3)}`` 3D in the card's body frame (NaN: unknown).
    tracked
        The model keypoints the 2D input will have (the roots are always included); the
        loss is on those only. None: every keypoint (the general model).
    views
        Views to train over instead of the card's.
    steps
        Training steps of batch ``train_options["batch_size"]``, rounded up to whole epochs
        (default: the recipe's ``min_steps``, at least 30 epochs).
    seed
        Seeds the weights, the sampling and the virtual views.
    verbose
        Show a progress bar.
    """
    import torch

    from liftpose_dlc.lifter.lifter import Lifter
    from liftpose_dlc.lifter.virtual_views import virtual_views

    recipe = card.pose_library
    lifter = Lifter(
        card.keypoints, card.roots, card.target_sets, **dict(recipe.get("model_options") or {})
    )
    inputs = None
    if tracked is not None:
        unknown = sorted(set(tracked) - set(card.keypoints))
        if unknown:
            raise ConfigError(f"model {card.name!r} has no keypoints {unknown}")
        inputs = [card.keypoints.index(k) for k in tracked]
    aug_options = {k: _tuples(v) for k, v in (recipe.get("augmentation") or {}).items()}
    augment = virtual_views(
        views or card.views,
        recipe["parents"],
        lifter.roots,
        lifter.target_sets,
        inputs=inputs,
        **aug_options,
    )
    train = dict(recipe.get("train_options") or {})
    if steps is not None:  # exactly these steps (the recipe's epochs are at least 30)
        n = sum(len(v) for v in bodies.values())
        batch = int(train.get("batch_size", 256))
        per_epoch = max(1, math.ceil(n / min(batch, max(n, 2))))
        train["epochs"] = max(1, math.ceil(int(steps) / per_epoch))
        train.pop("min_steps", None)
    two = {k: np.asarray(v)[..., :2].copy() for k, v in bodies.items()}
    three = {k: np.asarray(v, dtype=np.float64) for k, v in bodies.items()}
    torch.manual_seed(seed)  # virtual_views draws from torch's generator
    lifter.fit(two, three, augment=[augment], seed=seed, verbose=verbose, val=0, **train)
    return lifter


def _tuples(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def tracked_model_keypoints(
    model: Lifter, keypoints: Any, keypoint_map: Any = None, *, where: str = "your keypoints"
) -> list[str]:
    """The model keypoints that ``keypoints`` (the user's names, or a file of them) map to.

    Raises
    ------
    KeypointError
        If too few of them match to lift any of the model's target sets.
    """
    from liftpose_dlc.pretrained.adapt import MappedLifter, keypoint_names_of, match_keypoints

    match = match_keypoints(model, keypoint_names_of(keypoints), keypoint_map)
    MappedLifter(model, match, where=where)  # raises KeypointError when too few match
    mapped = set(match.mapping.values())
    return [k for k in model.keypoints if k in mapped]


def _cache_key(card: ModelCard, model_path: Path, tracked: Sequence[str], steps, seed) -> str:
    h = hashlib.sha256()
    for part in (model_path, _library_path(card)):
        h.update(Path(part).read_bytes())
    recipe = {k: v for k, v in card.pose_library.items() if k != "frames"}
    h.update(repr((sorted(tracked), steps, seed, RECIPE_VERSION, recipe)).encode())
    return h.hexdigest()[:16]


def specialise(
    model: Any,
    keypoints: Any,
    keypoint_map: Mapping[str, str | None] | str | os.PathLike | None = None,
    *,
    steps: int | None = None,
    seed: int = 0,
    cache: bool = True,
    verbose: bool = False,
) -> Lifter:
    """A zoo model trained again for exactly the keypoints you track (cached).

    Parameters
    ----------
    model
        A pretrained model's name (``"mouse"``) or a pretrained Lifter; its card must have
        a ``pose_library`` (the shipped fly, mouse and rat models do).
    keypoints
        Your keypoint names, or where to read them: a DeepLabCut ``config.yaml``, a 2D
        pose file or a :class:`~liftpose_dlc.Poses`. They are mapped onto the model's
        keypoints as for lifting (:func:`~liftpose_dlc.keypoint_names.propose_keypoint_map`).
    keypoint_map
        Corrections of that map, ``{your name: model keypoint}`` or a YAML file of them.
    steps
        Training steps (default: the model's recipe, 1200 batches of 256 poses: about a
        minute on one CPU core).
    seed
        Seeds the training; the same seed gives the same specialist.
    cache
        Reuse a specialist trained before for the same model, keypoints, steps and seed,
        and save a new one (``LIFTPOSE_DLC_CACHE_DIR``; a cache that cannot be written is
        skipped with a warning).
    verbose
        Show a progress bar while training.

    Returns
    -------
    Lifter
        A lifter with the model's keypoints and card (``lifter.card``), trained on 2D of
        the tracked keypoints only; ``lifter.specialised_for`` lists them. Pass it as
        ``model=`` to any lifting function, with your keypoint names as usual. When you
        track every keypoint of the model, the model itself is returned.

    Raises
    ------
    ConfigError
        If the model ships no pose library.
    KeypointError
        If too few of your keypoints match the model's to lift any target set.

    Examples
    --------
    >>> lifter = specialise("mouse", "openfield/config.yaml")  # doctest: +SKIP
    >>> lifter.specialised_for  # doctest: +SKIP
    ['Snout', 'EarL', 'EarR', 'TailBase']
    """
    from liftpose_dlc.lifter.lifter import Lifter
    from liftpose_dlc.pretrained.adapt import MappedLifter
    from liftpose_dlc.pretrained.registry import find_model, load_model

    base = load_model(model)
    if isinstance(base, MappedLifter):
        base = base.base
    card = getattr(base, "card", None)
    if card is None:
        raise ConfigError(
            "only a pretrained model (with a model card) can be specialised; for your own "
            "3D, train a lifter on the keypoints you track (train_dlc_project)"
        )
    _library_path(card)  # a clear error before any mapping
    tracked = tracked_model_keypoints(base, keypoints, keypoint_map)
    if len(tracked) == len(card.keypoints):
        logger.info("you track every keypoint of model %r: no specialist needed", card.name)
        return base
    given = None if steps is None else int(steps)
    recipe_steps = (card.pose_library.get("train_options") or {}).get("min_steps", 1200)
    steps = given if given is not None else int(recipe_steps)
    model_path = card.path.with_suffix(".safetensors") if card.path else None
    if model_path is None or not model_path.is_file():
        model_path = find_model(card.name).model_path
    key = _cache_key(card, model_path, tracked, steps, seed)
    target = cache_folder() / f"{card.name}-{len(tracked)}kp-{key}.safetensors"
    lifter: Lifter | None = None
    if cache and target.is_file():
        try:
            lifter = Lifter.load(target)
            logger.info("specialist of %r for %s from the cache: %s", card.name, tracked, target)
        except LiftPoseError as exc:
            warnings.warn(
                f"{target}: a damaged cached specialist is trained again ({exc})", stacklevel=2
            )
    if lifter is None:
        logger.warning(
            "training model %r for your %d keypoints (%s): %d steps, about a minute per "
            "CPU core; cached for the next time in %s",
            card.name,
            len(tracked),
            ", ".join(tracked),
            steps,
            target.parent,
        )
        lifter = fit_on_library(
            card, load_pose_library(card), tracked, steps=given, seed=seed, verbose=verbose
        )
        if cache:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                lifter.save(target, overwrite=True)
            except (OSError, LiftPoseError) as exc:
                warnings.warn(
                    f"the specialist could not be cached in {target.parent}: {exc}", stacklevel=2
                )
    lifter.card = card  # type: ignore[attr-defined]
    lifter.specialised_for = tracked  # type: ignore[attr-defined]
    return lifter
