"""Fine-tuning a pretrained lifter on a user's own (small) 3D library.

:func:`~liftpose_dlc.workflow.training.train_from_library` (and so
:func:`~liftpose_dlc.train_dlc_project` and ``liftpose-dlc train --init``) calls these when
``init`` is given: the user's keypoint names are mapped onto the model's
(:func:`~liftpose_dlc.keypoint_names.propose_keypoint_map`), the training pairs are laid
out in the model's keypoints (untracked ones missing: left out of the input and the loss),
and a copy of the model is trained from its weights and statistics with a short schedule
(:data:`FINE_TUNE_OPTIONS`). The result keeps the model's keypoints and carries a card
(``<model stem>.card.yaml``) recording the map, so that lifting maps the names again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from liftpose_dlc.errors import ConfigError, KeypointError
from liftpose_dlc.keypoint_names import KeypointMatch, propose_keypoint_map
from liftpose_dlc.pretrained.card import ModelCard, TrainingData

__all__ = ["FINE_TUNE_OPTIONS", "FineTune", "prepare_fine_tune", "fine_tuned_card"]

#: Training options of a fine-tune unless given: a lower rate and fewer steps than from
#: scratch (the cosine schedule still ends at a low rate).
FINE_TUNE_OPTIONS: dict[str, Any] = {"lr": 3e-4, "min_steps": 600}


@attrs.frozen
class FineTune:
    """A prepared fine-tune: the base model, the map, and the pairs in its keypoints."""

    base: Any
    match: KeypointMatch
    pairs_2d: dict[str, np.ndarray]
    pairs_3d: dict[str, np.ndarray]

    def new_lifter(self) -> Any:
        """An untrained lifter with the base's keypoints, layout and network options."""
        from liftpose_dlc.lifter.lifter import Lifter

        return Lifter.like(self.base)


def prepare_fine_tune(
    init: Any,
    names: Sequence[str],
    pairs_2d: Mapping[str, np.ndarray],
    pairs_3d: Mapping[str, np.ndarray],
    keypoint_map: Mapping[str, str | None] | None = None,
    *,
    model_options: Mapping[str, Any] | None = None,
    roots: Any = None,
    target_sets: Any = None,
) -> FineTune:
    """Map the user's names onto ``init``'s keypoints and lay the pairs out in them.

    Parameters
    ----------
    init
        The model to start from: a pretrained model's name, a model file or a Lifter.
    names
        The user's keypoint names (the pairs' joint order).
    pairs_2d, pairs_3d
        The training pairs ``{key: (N, len(names), 2 | 3)}``.
    keypoint_map
        ``{user name: model keypoint}`` corrections of the automatic map.
    model_options, roots, target_sets
        Must be empty/None: a fine-tuned model keeps ``init``'s network and layout.

    Raises
    ------
    ConfigError
        If network options, roots or target sets are given.
    KeypointError
        If none of the user's names match the model's keypoints.
    """
    from liftpose_dlc.pretrained.adapt import MappedLifter
    from liftpose_dlc.pretrained.registry import load_model

    if model_options:
        raise ConfigError(
            f"network options {sorted(model_options)} cannot be changed when fine-tuning: the "
            "model keeps the network it was trained with"
        )
    if roots is not None or target_sets is not None:
        raise ConfigError(
            "roots and target_sets come from the model when fine-tuning (init=...): do not "
            "give them"
        )
    base = load_model(init)
    if isinstance(base, MappedLifter):
        base = base.base
    names = [str(n) for n in names]
    match = propose_keypoint_map(names, base.keypoints, keypoint_map)
    if not match.mapping:
        raise KeypointError(
            f"none of your keypoints {names} match the keypoints of the model to fine-tune "
            f"({base.keypoints}); give keypoint_map={{your_name: model_keypoint}}\n"
            + match.describe()
        )
    src = [i for i, n in enumerate(names) if n in match.mapping]
    dst = [base.keypoints.index(match.mapping[names[i]]) for i in src]
    n_model = len(base.keypoints)

    def expand(pairs: Mapping[str, np.ndarray], dims: int) -> dict[str, np.ndarray]:
        out = {}
        for key, arr in pairs.items():
            arr = np.asarray(arr, dtype=np.float64)
            full = np.full((arr.shape[0], n_model, dims), np.nan)
            full[:, dst] = arr[:, src]
            out[key] = full
        return out

    return FineTune(base, match, expand(pairs_2d, 2), expand(pairs_3d, 3))


def fine_tuned_card(
    tune: FineTune,
    *,
    name: str,
    sources: Sequence[str],
    trained_with: Mapping[str, Any],
    version: str,
    units: str | None,
) -> ModelCard:
    """The card of a fine-tuned model: the base's, with the user's data and map added."""
    base_card: ModelCard | None = getattr(tune.base, "card", None)
    b = tune.base
    names = b.keypoints
    own = TrainingData(
        name="the user's own 3D library",
        files=[str(s) for s in sources],
        licence="the user's own data (not recorded)",
        citation="the user's own data",
        url="local",
    )
    if base_card is not None:
        return attrs.evolve(
            base_card,
            name=name,
            description=f"{base_card.name} fine-tuned on the user's own 3D library",
            training_data=[*base_card.training_data, own],
            metrics={},
            trained_with=dict(trained_with),
            liftpose_dlc_version=version,
            view_models={},
            keypoint_map=dict(tune.match.mapping),
            path=None,
        )
    return ModelCard(
        name=name,
        species="unknown",
        description="a lifter fine-tuned on the user's own 3D library",
        keypoints=list(names),
        skeleton=[],
        roots=[names[r] for r in b.roots],
        target_sets=[[names[j] for j in ts] for ts in b.target_sets],
        units=units or "unknown",
        frame="camera frame, each target set relative to its root",
        input_2d="2D of the cameras it was trained with",
        views={"training cameras": []},
        training_data=[own],
        metrics={},
        trained_with=dict(trained_with),
        liftpose_dlc_version=version,
        keypoint_map=dict(tune.match.mapping),
    )
