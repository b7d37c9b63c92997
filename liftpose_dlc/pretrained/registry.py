"""Where pretrained lifters are found: inside the package, and in a lab's own folders.

A model is a pair of files with the same stem in one folder: ``<name>.safetensors`` (a
:meth:`~liftpose_dlc.Lifter.save` model file) and ``<name>.yaml`` (its
:class:`~liftpose_dlc.pretrained.card.ModelCard`). The folders searched, in order:

1. the folders named by the environment variable ``LIFTPOSE_DLC_MODELS``
   (``os.pathsep``-separated, like ``PATH``): a lab's own models;
2. the models shipped inside the package (``liftpose_dlc/pretrained/models/``, package data:
   nothing is downloaded, ever).

**Names** are unique: the first folder that has a name wins, as on ``PATH``. A lab model
named like a built-in one therefore *replaces* it (a lab can ship its retrained ``mouse``),
with a :class:`ModelShadowWarning` saying which file is used and which is hidden;
:func:`list_models` shows each model's source. ``load_pretrained("builtin:mouse")`` always
gives the built-in one.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from liftpose_dlc.errors import ConfigError, MissingFileError, ModelFileError
from liftpose_dlc.pretrained.card import ModelCard, read_card

if TYPE_CHECKING:  # pragma: no cover
    from liftpose_dlc.lifter.lifter import Lifter

__all__ = [
    "MODELS_ENV",
    "BUILTIN",
    "BUILTIN_DIR",
    "ModelEntry",
    "ModelShadowWarning",
    "model_folders",
    "list_models",
    "find_model",
    "model_card",
    "load_pretrained",
    "load_model",
    "card_for_model_file",
]

logger = logging.getLogger(__name__)

#: Environment variable naming a lab's model folders (``os.pathsep``-separated).
MODELS_ENV = "LIFTPOSE_DLC_MODELS"
#: The source of the models shipped in the package.
BUILTIN = "built-in"
#: Folder of the shipped models (package data).
BUILTIN_DIR = Path(__file__).resolve().parent / "models"
_BUILTIN_PREFIX = "builtin:"
MODEL_SUFFIX = ".safetensors"
CARD_SUFFIX = ".yaml"
#: A card beside a model file that has a training record as ``<stem>.yaml`` (fine-tuning).
SIDE_CARD_SUFFIX = ".card.yaml"


class ModelShadowWarning(UserWarning):
    """Two model folders have a model of the same name: the first one is used."""


@attrs.frozen
class ModelEntry:
    """A pretrained model found in a folder.

    Attributes
    ----------
    name
        The model's name (the files' stem).
    model_path, card_path
        Its ``.safetensors`` model file and ``.yaml`` card.
    source
        ``"built-in"`` or the lab folder it was found in.
    """

    name: str
    model_path: Path
    card_path: Path
    source: str

    @property
    def builtin(self) -> bool:
        """Whether the model ships with the package."""
        return self.source == BUILTIN

    @property
    def card(self) -> ModelCard:
        """The model's card, read and validated."""
        return read_card(self.card_path)


def model_folders() -> list[tuple[Path, str]]:
    """The folders searched for models, in order, each with its source label."""
    out: list[tuple[Path, str]] = []
    for part in os.environ.get(MODELS_ENV, "").split(os.pathsep):
        if not part.strip():
            continue
        folder = Path(part).expanduser()
        if not folder.is_dir():
            warnings.warn(
                f"{MODELS_ENV} names {folder}, which is not a folder; it is ignored",
                UserWarning,
                stacklevel=3,
            )
            continue
        out.append((folder.resolve(), str(folder.resolve())))
    out.append((BUILTIN_DIR, BUILTIN))
    return out


def _entries_in(folder: Path, source: str) -> list[ModelEntry]:
    if not folder.is_dir():
        return []
    out = []
    for card in sorted(folder.glob(f"*{CARD_SUFFIX}")):
        model = card.with_suffix(MODEL_SUFFIX)
        if model.is_file():
            out.append(ModelEntry(card.stem, model, card, source))
    return out


def _all_entries(*, warn: bool = True) -> dict[str, ModelEntry]:
    found: dict[str, ModelEntry] = {}
    for folder, source in model_folders():
        for entry in _entries_in(folder, source):
            if entry.name in found:
                if warn:
                    first = found[entry.name]
                    warnings.warn(
                        f"two models are named {entry.name!r}: {first.model_path} ({first.source})"
                        f" is used, {entry.model_path} ({entry.source}) is hidden",
                        ModelShadowWarning,
                        stacklevel=3,
                    )
                continue
            found[entry.name] = entry
    return found


def list_models() -> list[ModelEntry]:
    """The pretrained models: the lab folders' (``LIFTPOSE_DLC_MODELS``) and the built-in ones.

    Returns
    -------
    list of ModelEntry
        Sorted by name; ``entry.card`` is each model's card, ``entry.source`` where it comes
        from. A model whose card is invalid is left out with a warning naming the file.

    Examples
    --------
    >>> [m.name for m in list_models()]  # doctest: +SKIP
    ['fly', 'mouse', 'rat']
    """
    out = []
    for name, entry in sorted(_all_entries().items()):
        try:
            entry.card  # noqa: B018 - validates the card
        except ModelFileError as exc:
            warnings.warn(f"model {name!r} left out: {exc}", UserWarning, stacklevel=2)
            continue
        out.append(entry)
    return out


def find_model(name: str) -> ModelEntry:
    """The model named ``name`` (``"builtin:NAME"``: the built-in one, even if a lab's shadows it).

    Raises
    ------
    MissingFileError
        If there is no such model (the message lists the models there are).
    """
    name = str(name)
    if name.startswith(_BUILTIN_PREFIX):
        plain = name[len(_BUILTIN_PREFIX) :]
        entries = {e.name: e for e in _entries_in(BUILTIN_DIR, BUILTIN)}
        if plain in entries:
            return entries[plain]
        raise MissingFileError(
            f"no built-in pretrained model {plain!r}; built-in models: {sorted(entries) or 'none'}"
        )
    entries = _all_entries()
    if name in entries:
        return entries[name]
    raise MissingFileError(
        f"no pretrained model {name!r}; there are: {', '.join(sorted(entries)) or 'none'} "
        f"(`liftpose-dlc models` lists them; a lab's own go in a folder named by {MODELS_ENV})"
    )


def model_card(name: str) -> ModelCard:
    """The card of the model named ``name``, validated.

    Raises
    ------
    MissingFileError
        If there is no such model.
    ModelFileError
        If its card is invalid (the message names the card file).
    """
    return find_model(name).card


def _check_card(lifter: Lifter, card: ModelCard, model_path: Path) -> None:
    names = lifter.keypoints
    roots = [names[i] for i in lifter.roots]
    sets = [[names[j] for j in ts] for ts in lifter.target_sets]
    if names != card.keypoints or roots != card.roots or sets != card.target_sets:
        raise ModelFileError(
            f"{card.path}: the card does not describe {model_path}: the card has keypoints "
            f"{card.keypoints}, roots {card.roots}, target sets {card.target_sets}; the model "
            f"file has {names}, {roots}, {sets}"
        )


def _load_with_card(model_path: Path, card: ModelCard) -> Lifter:
    from liftpose_dlc.lifter.lifter import Lifter

    lifter = Lifter.load(model_path)
    _check_card(lifter, card, model_path)
    lifter.card = card  # type: ignore[attr-defined]
    return lifter


def load_pretrained(name: str, *, view: Any = None) -> Lifter:
    """Load a pretrained lifter by name, with its card (no network access).

    Parameters
    ----------
    name
        A model name from :func:`list_models` (``"fly"``, ``"mouse"``, ``"rat"``, or a
        lab's own); ``"builtin:NAME"`` for the shipped one when a lab model shadows it.
    view
        Optional hint of the camera's view: a name (``"top"``, ``"side"``, ...; the card's
        ``views``), angle ranges ``[[zlo, zhi], [ylo, yhi], [xlo, xhi]]`` (degrees, the
        card's ``view_convention``) or a calibrated :class:`~liftpose_dlc.Camera` (see
        :mod:`~liftpose_dlc.pretrained.views`). A model specialised for that view is used
        when the card has one (``view_models``), otherwise the general model, which was
        trained over all its views; ``lifter.view`` records the view.

    Returns
    -------
    Lifter
        The trained lifter; ``lifter.card`` is its :class:`ModelCard` (species, keypoints,
        units, frame, training data with licences and citations). Lift with it as with any
        lifter; the workflows map your keypoint names onto its keypoints
        (:func:`~liftpose_dlc.keypoint_names.propose_keypoint_map`).

    Raises
    ------
    MissingFileError
        If there is no model of that name.
    ModelFileError
        If its card or model file is invalid, or they disagree.
    ConfigError
        If ``view`` is not one of the model's views.

    Examples
    --------
    >>> lifter = load_pretrained("mouse")  # doctest: +SKIP
    >>> lifter.card.species, lifter.card.units  # doctest: +SKIP
    ('mouse', 'mm')
    """
    from liftpose_dlc.pretrained.views import resolve_view, view_model_path

    entry = find_model(name)
    card = entry.card
    path = entry.model_path
    match = None
    if view is not None:
        match = resolve_view(card, view)
        path = view_model_path(card, match.view) or path
    lifter = _load_with_card(path, card)
    if match is not None:
        lifter.view = match  # type: ignore[attr-defined]
    logger.info("pretrained model %r from %s (%s)", entry.name, path, entry.source)
    return lifter


def card_for_model_file(path: str | os.PathLike) -> ModelCard | None:
    """The card beside a model file: ``<stem>.card.yaml``, or ``<stem>.yaml`` if it is a card.

    A ``<stem>.yaml`` that is not a card (the training record of
    :func:`~liftpose_dlc.workflow.training.train_from_library`) is ignored.
    """
    import yaml

    p = Path(path)
    side = p.with_name(p.stem + SIDE_CARD_SUFFIX)
    if side.is_file():
        return read_card(side)
    same = p.with_suffix(CARD_SUFFIX)
    if same.is_file():
        try:
            data = yaml.safe_load(same.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError):
            return None
        if isinstance(data, dict) and "species" in data and "training_data" in data:
            return read_card(same)
    return None


def load_model(model: Any) -> Lifter:
    """A trained lifter from a :class:`~liftpose_dlc.Lifter`, a model file or a zoo name.

    A path that exists is a model file (its card, if one is beside it, is attached as
    ``lifter.card``); otherwise a string is looked up among the pretrained models.

    Raises
    ------
    MissingFileError
        If ``model`` is neither an existing file nor a pretrained model's name.
    ModelFileError
        If the file is not a lifter model file.
    ConfigError
        If ``model`` is an untrained Lifter or of another type.
    """
    from liftpose_dlc._filesystem import check_file
    from liftpose_dlc.lifter.lifter import Lifter
    from liftpose_dlc.pretrained.adapt import MappedLifter

    if isinstance(model, MappedLifter):
        return model  # type: ignore[return-value]
    if isinstance(model, Lifter):
        if not model.is_trained:
            raise ConfigError("the Lifter is not trained: call fit() or Lifter.load() first")
        return model
    if not isinstance(model, (str, os.PathLike)):
        raise ConfigError(
            "model must be a Lifter, the path of a lifter model file or a pretrained model's "
            f"name, got {type(model).__name__}"
        )
    p = Path(model).expanduser()
    if p.exists() or isinstance(model, os.PathLike) or p.suffix == MODEL_SUFFIX:
        path = check_file(p, "lifter model file")
        card = card_for_model_file(path)
        return Lifter.load(path) if card is None else _load_with_card(path, card)
    entries = _all_entries(warn=False)
    if str(model) in entries or str(model).startswith(_BUILTIN_PREFIX):
        return load_pretrained(str(model))
    raise MissingFileError(
        f"lifter model {model!r}: no such file, and no pretrained model of that name "
        f"(pretrained: {', '.join(sorted(entries)) or 'none'}; `liftpose-dlc models` lists them)"
    )
