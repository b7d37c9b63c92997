"""The model card of a pretrained lifter: what it lifts, from which data, under which licence.

A card is a YAML file ``<name>.yaml`` beside the model file ``<name>.safetensors``. It is
validated when read (:func:`read_card`); a wrong card raises
:class:`~liftpose_dlc.errors.ModelFileError` naming the file and the field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from liftpose_dlc.errors import ModelFileError

__all__ = ["ModelCard", "TrainingData", "read_card", "write_card", "REQUIRED_KEYS"]

#: Keys every card must have.
REQUIRED_KEYS = (
    "name",
    "species",
    "description",
    "keypoints",
    "skeleton",
    "roots",
    "target_sets",
    "units",
    "frame",
    "input_2d",
    "views",
    "training_data",
    "metrics",
    "trained_with",
    "liftpose_dlc_version",
)
_OPTIONAL_KEYS = ("view_models", "keypoint_map", "pose_library")


@attrs.frozen
class TrainingData:
    """One data set a model was trained on, with its licence and how to cite it."""

    name: str
    files: list[str]
    licence: str
    citation: str
    url: str

    def as_dict(self) -> dict[str, Any]:
        """Plain dictionary (the card's form)."""
        return {
            "name": self.name,
            "files": list(self.files),
            "licence": self.licence,
            "citation": self.citation,
            "url": self.url,
        }


@attrs.frozen
class ModelCard:
    """What a pretrained lifter is: species, keypoints, units, views and training data.

    Attributes
    ----------
    name, species, description
        The model's name (its file stem), the animal, a sentence for the user.
    keypoints, skeleton, roots, target_sets
        The model's keypoints (its input and output order), the edges drawn between them,
        and its target sets: each root's set is predicted relative to that root.
    units, frame
        Units of the 3D (``"mm"``) and its coordinate frame.
    input_2d
        The 2D the model expects (text or a mapping, e.g. pixels of an unknown camera).
    views
        ``{view: angle ranges}``: the views the model was trained over.
    training_data
        :class:`TrainingData` entries: every data set with its licence and citation.
    metrics, trained_with
        Measured errors, and how the model was trained (free-form).
    liftpose_dlc_version
        The version that trained it.
    view_models
        ``{view: model file}``: optional models specialised for one view.
    keypoint_map
        ``{user name: model keypoint}`` a fine-tuned model was trained with (the default
        map when it lifts).
    pose_library
        Optional: the 3D poses the model was trained on, shipped beside it, and the recipe,
        so that :func:`~liftpose_dlc.pretrained.specialise.specialise` can train the same
        model for exactly the keypoints a user tracks: ``file`` (a safetensors file beside
        the card, one ``(frames, keypoints, 3)`` tensor per animal), ``parents`` (per
        keypoint, its parent in the skeleton tree, -1 for none), ``augmentation`` (the
        :func:`~liftpose_dlc.lifter.virtual_views.virtual_views` options),
        ``model_options`` and ``train_options``.
    path
        The card file (None for a card made in memory).
    extra
        Unknown keys of the card, kept as they are.
    """

    name: str
    species: str
    description: str
    keypoints: list[str]
    skeleton: list[tuple[str, str]]
    roots: list[str]
    target_sets: list[list[str]]
    units: str
    frame: str
    input_2d: Any
    views: dict[str, Any]
    training_data: list[TrainingData]
    metrics: dict[str, Any]
    trained_with: Any
    liftpose_dlc_version: str
    view_models: dict[str, str] = attrs.field(factory=dict)
    keypoint_map: dict[str, str] = attrs.field(factory=dict)
    pose_library: dict[str, Any] = attrs.field(factory=dict)
    path: Path | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)

    @property
    def licences(self) -> list[str]:
        """The licences of the training data (each once, in order)."""
        return list(dict.fromkeys(d.licence for d in self.training_data))

    @property
    def citations(self) -> list[str]:
        """The citations of the training data (each once, in order)."""
        return list(dict.fromkeys(d.citation for d in self.training_data))

    @classmethod
    def from_dict(cls, data: Any, where: str = "model card") -> ModelCard:
        """Validate a card's content (a mapping from its YAML) and build the card.

        Raises
        ------
        ModelFileError
            Naming ``where`` and the key that is missing or wrong.
        """
        if not isinstance(data, Mapping):
            raise ModelFileError(f"{where}: a model card is a YAML mapping, got {type(data)}")
        missing = [k for k in REQUIRED_KEYS if k not in data]
        if missing:
            raise ModelFileError(f"{where}: the model card lacks {missing}")

        def bad(key: str, what: str) -> ModelFileError:
            return ModelFileError(f"{where}: `{key}` must be {what}, got {data.get(key)!r}")

        def text(key: str) -> str:
            value = data[key]
            if not isinstance(value, str) or not value.strip():
                raise bad(key, "a non-empty string")
            return value

        def names(key: str) -> list[str]:
            value = data[key]
            if not isinstance(value, Sequence) or isinstance(value, str) or not value:
                raise bad(key, "a non-empty list of names")
            return [str(v) for v in value]

        keypoints = names("keypoints")
        if len(set(keypoints)) != len(keypoints):
            raise bad("keypoints", "unique names")
        known = set(keypoints)
        roots = names("roots")
        sets = data["target_sets"]
        if not isinstance(sets, Sequence) or len(sets) != len(roots):
            raise bad("target_sets", f"one list of names per root ({len(roots)})")
        target_sets = []
        for ts in sets:
            if not isinstance(ts, Sequence) or isinstance(ts, str) or not ts:
                raise bad("target_sets", "lists of names")
            target_sets.append([str(t) for t in ts])
        skeleton = []
        for edge in data["skeleton"] or []:
            if not isinstance(edge, Sequence) or isinstance(edge, str) or len(edge) != 2:
                raise bad("skeleton", "a list of [a, b] pairs")
            skeleton.append((str(edge[0]), str(edge[1])))
        unknown = sorted(
            {*roots, *(t for ts in target_sets for t in ts), *(n for e in skeleton for n in e)}
            - known
        )
        if unknown:
            raise ModelFileError(
                f"{where}: roots, target_sets or skeleton name {unknown}, not in `keypoints`"
            )
        views = data["views"]
        if not isinstance(views, Mapping) or not views:
            raise bad("views", "a mapping view -> angle ranges")
        entries = data["training_data"]
        if not isinstance(entries, Sequence) or isinstance(entries, str) or not entries:
            raise bad("training_data", "a non-empty list")
        training = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                raise bad("training_data", "a list of mappings")
            lack = [
                k
                for k in ("name", "licence", "citation", "url")
                if not isinstance(entry.get(k), str) or not entry.get(k, "").strip()
            ]
            if lack:
                raise ModelFileError(
                    f"{where}: training_data[{i}] ({entry.get('name')!r}) lacks {lack} "
                    "(every data set needs its name, licence, citation and url)"
                )
            files = entry.get("files") or []
            if isinstance(files, str):
                files = [files]
            training.append(
                TrainingData(
                    name=str(entry["name"]),
                    files=[str(f) for f in files],
                    licence=str(entry["licence"]),
                    citation=str(entry["citation"]),
                    url=str(entry["url"]),
                )
            )
        metrics = data["metrics"] or {}
        if not isinstance(metrics, Mapping):
            raise bad("metrics", "a mapping")
        view_models = data.get("view_models") or {}
        if not isinstance(view_models, Mapping) or not all(
            isinstance(v, str) for v in view_models.values()
        ):
            raise bad("view_models", "a mapping view -> model file")
        kmap = data.get("keypoint_map") or {}
        if not isinstance(kmap, Mapping):
            raise bad("keypoint_map", "a mapping your name -> model keypoint")
        library = data.get("pose_library") or {}
        if library:
            if not isinstance(library, Mapping) or not isinstance(library.get("file"), str):
                raise bad("pose_library", "a mapping with a `file`")
            parents = library.get("parents")
            if (
                not isinstance(parents, Sequence)
                or len(parents) != len(keypoints)
                or not all(isinstance(q, int) and -1 <= q < len(keypoints) for q in parents)
            ):
                raise bad("pose_library", f"`parents`: one index per keypoint ({len(keypoints)})")
            for key in ("augmentation", "model_options", "train_options"):
                if not isinstance(library.get(key) or {}, Mapping):
                    raise bad("pose_library", f"`{key}`: a mapping")
        path = Path(where) if where.endswith((".yaml", ".yml")) else None
        return cls(
            name=text("name"),
            species=text("species"),
            description=text("description"),
            keypoints=keypoints,
            skeleton=skeleton,
            roots=roots,
            target_sets=target_sets,
            units=text("units"),
            frame=text("frame"),
            input_2d=data["input_2d"],
            views=dict(views),
            training_data=training,
            metrics=dict(metrics),
            trained_with=data["trained_with"],
            liftpose_dlc_version=str(data["liftpose_dlc_version"]),
            view_models={str(k): str(v) for k, v in view_models.items()},
            keypoint_map={str(k): str(v) for k, v in kmap.items()},
            pose_library=dict(library),
            path=path,
            extra={
                str(k): v
                for k, v in data.items()
                if k not in REQUIRED_KEYS and k not in _OPTIONAL_KEYS
            },
        )

    def as_dict(self) -> dict[str, Any]:
        """The card as a plain dictionary (what :func:`write_card` writes)."""
        out: dict[str, Any] = {
            "name": self.name,
            "species": self.species,
            "description": self.description,
            "keypoints": list(self.keypoints),
            "skeleton": [list(e) for e in self.skeleton],
            "roots": list(self.roots),
            "target_sets": [list(t) for t in self.target_sets],
            "units": self.units,
            "frame": self.frame,
            "input_2d": self.input_2d,
            "views": dict(self.views),
            "training_data": [d.as_dict() for d in self.training_data],
            "metrics": dict(self.metrics),
            "trained_with": self.trained_with,
            "liftpose_dlc_version": self.liftpose_dlc_version,
        }
        if self.view_models:
            out["view_models"] = dict(self.view_models)
        if self.keypoint_map:
            out["keypoint_map"] = dict(self.keypoint_map)
        if self.pose_library:
            out["pose_library"] = dict(self.pose_library)
        out.update(self.extra)
        return out

    def describe(self) -> str:
        """The card as text for the user (``liftpose-dlc models NAME``)."""
        lines = [
            f"{self.name}: {self.description}",
            f"  species:    {self.species}",
            f"  keypoints:  {len(self.keypoints)}: {', '.join(self.keypoints)}",
            "  target sets:",
        ]
        for root, ts in zip(self.roots, self.target_sets, strict=True):
            lines.append(f"    {root}: {', '.join(ts)}")
        lines += [
            f"  units:      {self.units}",
            f"  frame:      {self.frame}",
            f"  input 2D:   {self.input_2d}",
            f"  views:      {', '.join(str(v) for v in self.views)}",
        ]
        if self.view_models:
            lines.append(f"  view models: {', '.join(self.view_models)}")
        if self.pose_library:
            lines.append(
                f"  pose library: {self.pose_library.get('frames', '?')} poses "
                f"({self.pose_library['file']}): `specialise` trains it for your keypoints"
            )
        lines.append("  training data:")
        for d in self.training_data:
            lines.append(f"    - {d.name} ({d.licence}) {d.url}")
            lines.append(f"      cite: {d.citation}")
        if self.metrics:
            lines.append("  metrics:")
            for k, v in self.metrics.items():
                lines.append(f"    {k}: {v}")
        lines.append(f"  trained with: {self.trained_with}")
        lines.append(f"  liftpose-dlc version: {self.liftpose_dlc_version}")
        if self.path is not None:
            lines.append(f"  card: {self.path}")
        return "\n".join(lines)


def read_card(path: str | os.PathLike) -> ModelCard:
    """Read and validate a model card (YAML).

    Raises
    ------
    MissingFileError
        If the file does not exist.
    ModelFileError
        If it is not valid YAML or not a valid card (the message names the file).
    """
    import yaml

    from liftpose_dlc._filesystem import check_file

    p = check_file(path, "model card")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{p}: the model card is not valid YAML ({exc})") from None
    return ModelCard.from_dict(data, where=str(p))


def write_card(card: ModelCard, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a model card as YAML (atomically; an existing file only with ``overwrite``)."""
    import yaml

    from liftpose_dlc._filesystem import atomic_path

    dest = Path(path)
    with atomic_path(dest, overwrite) as tmp:
        tmp.write_text(
            "# Model card of a liftpose-dlc lifter\n"
            + yaml.safe_dump(card.as_dict(), sort_keys=False, allow_unicode=True),
            encoding="utf-8",
        )
    return dest
