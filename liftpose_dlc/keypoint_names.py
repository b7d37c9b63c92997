"""Match the user's keypoint names onto a model's: automatically where it is safe.

Users name their keypoints their own way (``snout, leftear, tailbase``; ``L1_tarsus``;
``Nose``); a pretrained lifter has its own names (``Snout, EarL, Tail(base)``; ``LF_Tarsus``).
:func:`propose_keypoint_map` proposes ``{user name: model keypoint}`` and reports what it
could not match, so that the user can check and correct it (``keypoint_map=`` in Python, a
YAML file on the command line: :func:`read_keypoint_map`).

How names are compared
----------------------
A name is cut into words (separators, ``camelCase``, letters/digits, and compound words such
as ``leftear`` or ``tailbase`` segmented with a small body-part vocabulary), and each word is
replaced by its concept: ``left/lft/lt/l`` → L, ``right/rt/r`` → R, ``front/fore/anterior/f``
→ F, ``hind/back/rear/posterior/h`` → H, ``mid/middle/m`` → M, ``snout`` → nose, ``centre``
→ center, ``end`` → tip, ``forepaw`` → F paw, ``tail 0`` → tail base. A numbered fly leg
``L1``/``R2``/``L3`` (no other leg word in the name) is the front/middle/hind leg of that
side. Two names match when their concepts are the same multiset of words, in any order:
``leftear`` = ``EarL`` = ``ear_left``; ``Tail(base)`` = ``TailBase`` = ``tailbase``.

Safety rules
------------
* An explicit ``keypoint_map`` entry always wins; then exact names; then names equal but for
  case; then equal concepts.
* A name is mapped only when exactly one model keypoint has its concepts, and no other user
  name claims that keypoint: two user names are never mapped to one model keypoint. Anything
  else is reported (:attr:`KeypointMatch.ambiguous`), never guessed.
* No looser similarity is used (``hand`` is not ``forepaw``, a numbered joint ``forelegL1``
  is not ``LF_Coxa``): such names are :attr:`KeypointMatch.unmatched`, with the model
  keypoints of the same side and leg as hints.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import attrs

from liftpose_dlc.errors import ConfigError, KeypointError

__all__ = [
    "KeypointMatch",
    "propose_keypoint_map",
    "name_concepts",
    "read_keypoint_map",
    "write_keypoint_map",
]

# word -> concept(s); a word not listed is its own concept
_SIDE = {
    "left": "L",
    "lft": "L",
    "lt": "L",
    "l": "L",
    "right": "R",
    "rght": "R",
    "rgt": "R",
    "rt": "R",
    "r": "R",
}
_POSITION = {
    "front": "F",
    "fore": "F",
    "anterior": "F",
    "ant": "F",
    "f": "F",
    "hind": "H",
    "back": "H",
    "rear": "H",
    "posterior": "H",
    "post": "H",
    "h": "H",
    "mid": "M",
    "middle": "M",
    "m": "M",
}
_SYNONYM: dict[str, tuple[str, ...]] = {
    "snout": ("nose",),
    "centre": ("center",),
    "end": ("tip",),
    "forepaw": ("F", "paw"),
    "frontpaw": ("F", "paw"),
    "hindpaw": ("H", "paw"),
    "backpaw": ("H", "paw"),
    "foreleg": ("F", "leg"),
    "frontleg": ("F", "leg"),
    "midleg": ("M", "leg"),
    "middleleg": ("M", "leg"),
    "hindleg": ("H", "leg"),
    "backleg": ("H", "leg"),
    "forelimb": ("F", "limb"),
    "hindlimb": ("H", "limb"),
    "ears": ("ear",),
    "eyes": ("eye",),
}
#: words dropped from a name's concepts (they do not tell points apart)
_FILLER = {"leg", "joint", "point", "pt", "kp", "keypoint", "bodypart"}
#: fly leg joints (a numbered leg ``L1`` is read as a leg only next to one of them)
_FLY_JOINTS = {"coxa", "trochanter", "femur", "tibia", "tarsus", "claw", "tarsus1", "tarsus5"}
#: the vocabulary that segments compound words (``leftear`` -> ``left ear``)
_VOCABULARY = (
    set(_SIDE)
    | set(_POSITION)
    | set(_SYNONYM)
    | _FLY_JOINTS
    | {
        "nose",
        "snout",
        "ear",
        "eye",
        "head",
        "neck",
        "tail",
        "base",
        "tip",
        "spine",
        "body",
        "center",
        "centre",
        "paw",
        "hand",
        "foot",
        "wrist",
        "elbow",
        "shoulder",
        "hip",
        "knee",
        "ankle",
        "heel",
        "toe",
        "leg",
        "limb",
        "thorax",
        "abdomen",
        "wing",
        "antenna",
        "trunk",
        "chest",
        "jaw",
        "chin",
        "mouth",
        "haunch",
        "root",
        "start",
        "upper",
        "lower",
    }
)
#: vocabulary words too short to be trusted inside a compound word (``l``, ``rt``, ...)
_MIN_PART = 3

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


@lru_cache(maxsize=4096)
def _segment(word: str) -> tuple[str, ...] | None:
    """``word`` cut into vocabulary words (the fewest parts), or None if it cannot be."""
    n = len(word)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for end in range(1, n + 1):
        for start in range(end):
            part = word[start:end]
            prev = best[start]
            if prev is None or len(part) < _MIN_PART or part not in _VOCABULARY:
                continue
            cand = (*prev, part)
            if best[end] is None or len(cand) < len(best[end]):  # type: ignore[arg-type]
                best[end] = cand
    return best[n]


def _words(name: str) -> list[str]:
    """Lower-case words of a name: separators, camelCase, digits, then compound words."""
    out: list[str] = []
    for raw in _WORD.findall(str(name)):
        word = raw.lower()
        if raw.isupper() and 1 < len(raw) <= 2 and all(c in "lrfhm" for c in word):
            # ``RF``, ``LH``: a side letter and a position letter stuck together
            out.extend(word)
            continue
        if word in _VOCABULARY or word.isdigit():
            out.append(word)
            continue
        parts = _segment(word)
        out.extend(parts if parts else (word,))
    return out


def name_concepts(name: str) -> tuple[str, ...]:
    """The concepts of a keypoint name, sorted: two names match when these are equal.

    Examples
    --------
    >>> name_concepts("leftear") == name_concepts("EarL") == ("L", "ear")
    True
    >>> name_concepts("Tail(base)") == name_concepts("tailbase") == name_concepts("TailBase")
    True
    >>> name_concepts("L1_tarsus") == name_concepts("LF_Tarsus")
    True
    """
    words = _words(name)
    has_position = any(w in _POSITION and len(w) > 1 for w in words) or any(
        w in _SYNONYM and any(c in ("F", "M", "H") for c in _SYNONYM[w]) for w in words
    )
    is_fly_joint = any(w in _FLY_JOINTS for w in words)
    concepts: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else None
        if (
            w in ("l", "r", "left", "right")
            and nxt in ("1", "2", "3")
            and is_fly_joint
            and not has_position
        ):
            # a numbered fly leg: L1 = left front, R3 = right hind
            concepts += [_SIDE[w], {"1": "F", "2": "M", "3": "H"}[nxt]]
            i += 2
            continue
        if w in _SIDE:
            concepts.append(_SIDE[w])
        elif w in _POSITION:
            concepts.append(_POSITION[w])
        elif w in _SYNONYM:
            concepts.extend(_SYNONYM[w])
        elif w not in _FILLER:
            concepts.append(w)
        i += 1
    # tail 0 / tail root / tail start: the base of the tail
    if "tail" in concepts:
        for alias in ("0", "root", "start"):
            if alias in concepts and "base" not in concepts:
                concepts[concepts.index(alias)] = "base"
    return tuple(sorted(concepts))


@attrs.frozen
class KeypointMatch:
    """A proposed map of the user's keypoint names onto a model's keypoints.

    Attributes
    ----------
    mapping
        ``{user name: model keypoint}``, in the user's order; never two user names for one
        model keypoint.
    how
        ``{user name: "given" | "exact" | "case" | "synonym"}``: why each name was mapped.
    unmatched
        User names with no model keypoint (they are not lifted).
    ambiguous
        ``{user name: [model keypoints]}``: names left out because several model keypoints
        (or several user names) fit; give them in ``keypoint_map``.
    excluded
        User names the explicit map set to None (not used).
    model_keypoints
        The model's keypoints, in the model's order.
    """

    mapping: dict[str, str]
    how: dict[str, str]
    unmatched: list[str]
    ambiguous: dict[str, list[str]]
    excluded: list[str]
    model_keypoints: list[str]

    @property
    def missing(self) -> list[str]:
        """Model keypoints no user name maps to (their 2D is treated as missing)."""
        used = set(self.mapping.values())
        return [k for k in self.model_keypoints if k not in used]

    @property
    def is_identity(self) -> bool:
        """Whether every model keypoint is matched by its own name."""
        return not self.missing and all(u == m for u, m in self.mapping.items())

    def hints(self, name: str) -> list[str]:
        """Model keypoints sharing a name's side and leg words (suggestions for a name)."""
        want = {c for c in name_concepts(name) if c in ("L", "R", "F", "M", "H")}
        if len(want) < 2:
            return []
        return [k for k in self.model_keypoints if want <= set(name_concepts(k))]

    def describe(self) -> str:
        """A table for the user: each name, the model keypoint it maps to, and why."""
        lines = ["keypoint map (your name -> model keypoint):"]
        width = max([len(n) for n in [*self.mapping, *self.unmatched, *self.ambiguous]] + [4])
        for user, model in self.mapping.items():
            lines.append(f"  {user:<{width}} -> {model}  ({self.how[user]})")
        for user, cands in self.ambiguous.items():
            lines.append(f"  {user:<{width}} -> ?  (ambiguous: {', '.join(cands)})")
        for user in self.unmatched:
            hint = self.hints(user)
            extra = f"; same side/leg: {', '.join(hint)}" if hint else ""
            lines.append(f"  {user:<{width}} -> -  (no model keypoint{extra})")
        for user in self.excluded:
            lines.append(f"  {user:<{width}} -> -  (left out by the keypoint map)")
        if self.missing:
            lines.append(f"  not tracked: {', '.join(self.missing)}")
        return "\n".join(lines)


def propose_keypoint_map(
    user_keypoints: Sequence[str],
    model_keypoints: Sequence[str],
    keypoint_map: Mapping[str, str | None] | None = None,
) -> KeypointMatch:
    """Propose ``{user name: model keypoint}`` for the names that can be matched safely.

    Parameters
    ----------
    user_keypoints
        The user's keypoint names (a DeepLabCut project's bodyparts, a SLEAP skeleton's
        nodes).
    model_keypoints
        The model's keypoints.
    keypoint_map
        Explicit ``{user name: model keypoint}`` entries (the user's corrections); they
        win over the automatic proposal. A None value leaves that user name out.

    Returns
    -------
    KeypointMatch
        The map, and what could not be matched.

    Raises
    ------
    KeypointError
        If ``keypoint_map`` names a user keypoint that is not in ``user_keypoints``, a model
        keypoint that the model does not have, or one model keypoint twice.

    Examples
    --------
    >>> m = propose_keypoint_map(["snout", "leftear", "rightear", "tailbase"],
    ...                          ["EarL", "EarR", "Snout", "SpineF", "Tail(base)"])
    >>> m.mapping
    {'snout': 'Snout', 'leftear': 'EarL', 'rightear': 'EarR', 'tailbase': 'Tail(base)'}
    >>> m.missing
    ['SpineF']
    """
    users = [str(u) for u in user_keypoints]
    models = [str(k) for k in model_keypoints]
    given = dict(keypoint_map or {})
    unknown_users = [u for u in given if u not in users]
    if unknown_users:
        raise KeypointError(
            f"the keypoint map names {unknown_users}, which are not among your keypoints {users}"
        )
    unknown_models = sorted({str(m) for m in given.values() if m is not None} - set(models))
    if unknown_models:
        raise KeypointError(
            f"the keypoint map maps onto {unknown_models}, which the model does not have; "
            f"the model's keypoints are {models}"
        )
    targets = [m for m in given.values() if m is not None]
    twice = sorted({m for m in targets if targets.count(m) > 1})
    if twice:
        raise KeypointError(
            f"the keypoint map maps several of your keypoints onto {twice}; each model "
            "keypoint can take one of yours"
        )

    mapping: dict[str, str] = {}
    how: dict[str, str] = {}
    excluded = [u for u in users if u in given and given[u] is None]
    for u in users:
        if given.get(u) is not None:
            mapping[u], how[u] = str(given[u]), "given"
    taken = set(mapping.values())
    todo = [u for u in users if u not in given]

    def assign(rule: str, key: Any) -> None:
        free = [m for m in models if m not in taken]
        claims: dict[str, list[str]] = {}
        for u in todo:
            if u in mapping:
                continue
            k = key(u)
            cands = [m for m in free if key(m) == k]
            if len(cands) == 1:
                claims.setdefault(cands[0], []).append(u)
        for m, us in claims.items():
            if len(us) == 1:
                mapping[us[0]], how[us[0]] = m, rule
                taken.add(m)

    assign("exact", lambda n: n)
    assign("case", lambda n: n.casefold())
    assign("synonym", name_concepts)

    ambiguous: dict[str, list[str]] = {}
    unmatched: list[str] = []
    free = [m for m in models if m not in taken]
    for u in todo:
        if u in mapping:
            continue
        concepts = name_concepts(u)
        cands = [m for m in free if name_concepts(m) == concepts]
        # several free model keypoints fit, or other user names fit the same one
        rivals = [v for v in todo if v != u and v not in mapping and name_concepts(v) == concepts]
        if len(cands) > 1 or (cands and rivals):
            ambiguous[u] = cands
        else:
            unmatched.append(u)
    ordered = {u: mapping[u] for u in users if u in mapping}
    return KeypointMatch(
        mapping=ordered,
        how={u: how[u] for u in ordered},
        unmatched=unmatched,
        ambiguous=ambiguous,
        excluded=excluded,
        model_keypoints=models,
    )


def read_keypoint_map(path: str | os.PathLike) -> dict[str, str | None]:
    """Read a keypoint map from a YAML file.

    The file holds ``your name: model keypoint`` lines (optionally under a top-level
    ``keypoint_map:`` key); ``your name: null`` (or ``~``) leaves that keypoint out::

        snout: Snout
        leftear: EarL
        tailbase: Tail(base)
        implant: null

    Raises
    ------
    MissingFileError
        If the file does not exist.
    ConfigError
        If it is not such a mapping.
    """
    import yaml

    from liftpose_dlc._filesystem import check_file

    p = check_file(path, "keypoint map")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: not a YAML file ({exc})") from None
    if isinstance(data, Mapping) and set(data) == {"keypoint_map"}:
        data = data["keypoint_map"]
    if not isinstance(data, Mapping) or not all(
        isinstance(v, (str, type(None))) for v in data.values()
    ):
        raise ConfigError(
            f"{p}: a keypoint map is lines `your_name: model_keypoint` (or `: null` to leave "
            f"one out); got {type(data).__name__}"
        )
    return {str(k): (None if v is None else str(v)) for k, v in data.items()}


def write_keypoint_map(
    mapping: Mapping[str, str | None] | KeypointMatch,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
) -> Path:
    """Write a keypoint map as YAML (for the user to check and correct).

    A :class:`KeypointMatch` is written with its unmatched and ambiguous names as ``null``
    entries, each with a comment listing the candidates.
    """
    import yaml

    from liftpose_dlc._filesystem import atomic_path

    dest = Path(path)
    lines = ["# your keypoint: model keypoint (null: not used); written by liftpose-dlc"]
    if isinstance(mapping, KeypointMatch):
        lines += [yaml.safe_dump({u: m}).strip() for u, m in mapping.mapping.items()]
        for u, cands in mapping.ambiguous.items():
            lines.append(f"{yaml.safe_dump({u: None}).strip()}  # one of: {', '.join(cands)}")
        for u in [*mapping.unmatched, *mapping.excluded]:
            hint = mapping.hints(u)
            comment = f"  # same side/leg: {', '.join(hint)}" if hint else ""
            lines.append(f"{yaml.safe_dump({u: None}).strip()}{comment}")
    else:
        lines += [yaml.safe_dump({str(u): m}).strip() for u, m in mapping.items()]
    with atomic_path(dest, overwrite) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dest
