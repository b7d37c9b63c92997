"""The optional view hint of a pretrained model: a view's name, angle ranges or a calibrated camera.

A zoo model is trained over the views a lab uses for its species (its card's ``views``:
Euler angle ranges ``[[z], [y], [x]]`` of the camera in the animal's body frame, see the
card's ``view_convention``). The hint says which of them the user's camera is:

* a **name** (``"top"``): one of the card's views;
* **angle ranges** ``[[zlo, zhi], [ylo, yhi], [xlo, xhi]]`` (degrees, the card's
  convention): the card view whose viewing directions are nearest;
* a calibrated :class:`~liftpose_dlc.cameras.Camera`: the card view nearest to its viewing
  direction, the calibration's world frame taken as the animal's body frame (+z up; for
  rodents the heading does not matter). :func:`to_world_axes` then turns the lifted 3D
  (camera frame) into the world's axes with the camera's rotation.

How the hint narrows the model (:func:`apply_view`): a card may name a model specialised
for a view (``view_models``), which is then used instead of the general one; without one,
the general model (trained over all its views) lifts, and the hint is checked (a camera far
from every trained view is warned about: the model never saw such 2D) and recorded
(``lifter.view``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from liftpose_dlc.errors import ConfigError, ModelFileError

if TYPE_CHECKING:  # pragma: no cover
    from liftpose_dlc.cameras import Camera
    from liftpose_dlc.poses import Poses
    from liftpose_dlc.pretrained.card import ModelCard

__all__ = [
    "ViewHintWarning",
    "ViewMatch",
    "resolve_view",
    "apply_view",
    "view_model_path",
    "to_world_axes",
    "FAR_DEGREES",
]

#: A hint whose viewing directions are further than this (degrees) from every view's is warned.
FAR_DEGREES = 30.0
_SAMPLES = 256


class ViewHintWarning(UserWarning):
    """The view hint is far from every view the model was trained over."""


class ViewMatch:
    """A view hint resolved to one of a card's views.

    Attributes
    ----------
    view
        The card's view name.
    distance
        Degrees between the hint's viewing directions and the view's (0 for a name).
    hint
        What the user gave.
    """

    def __init__(self, view: str, distance: float, hint: Any):
        self.view = view
        self.distance = float(distance)
        self.hint = hint

    def __repr__(self) -> str:
        return f"ViewMatch({self.view!r}, {self.distance:.1f} deg)"


def _ranges(value: Any, where: str) -> np.ndarray:
    try:
        r = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        r = np.empty(0)
    if r.shape == (6,):
        r = r.reshape(3, 2)
    if r.shape != (3, 2) or not np.isfinite(r).all():
        raise ConfigError(
            f"{where} must be a view name or angle ranges [[zlo, zhi], [ylo, yhi], [xlo, xhi]] "
            f"(degrees), got {value!r}"
        )
    return r


def _directions(ranges: np.ndarray, n: int = _SAMPLES, seed: int = 0) -> np.ndarray:
    """Viewing directions (unit vectors, body frame) of cameras drawn from Euler ranges."""
    from liftpose_dlc.cameras import euler_to_matrix

    rng = np.random.default_rng(seed)
    lo, hi = ranges[:, 0], ranges[:, 1]
    angles = np.vstack([(lo + hi) / 2, lo, hi, rng.uniform(lo, hi, (n, 3))])
    # the optical axis in body coordinates is the rotation's third row
    return np.stack([euler_to_matrix(a, "zyx")[2] for a in angles])


def _distance(hint: np.ndarray, view: np.ndarray) -> float:
    """Mean over the hint's directions of the angle to the nearest direction of the view."""
    cos = np.clip(hint @ view.T, -1.0, 1.0)
    return float(np.degrees(np.arccos(cos.max(axis=1))).mean())


def resolve_view(card: ModelCard, view: Any, *, where: str = "view") -> ViewMatch:
    """The card view a hint names (a name, angle ranges or a :class:`~liftpose_dlc.Camera`).

    Raises
    ------
    ConfigError
        If a name is not one of the card's views, or the hint is neither a name, angle
        ranges nor a camera.

    Warns
    -----
    ViewHintWarning
        If the hint's viewing directions are more than :data:`FAR_DEGREES` from every view.
    """
    from liftpose_dlc.cameras import Camera

    names = [str(v) for v in card.views]
    if isinstance(view, str):
        if view in names or view in card.view_models:
            return ViewMatch(view, 0.0, view)
        raise ConfigError(
            f"model {card.name!r} has no view {view!r}; its views: {', '.join(names)}"
        )
    if isinstance(view, Camera):
        hint = np.asarray(view.R, dtype=np.float64)[2][None]
        what = f"camera {view.name or ''}".strip()
    else:
        hint = _directions(_ranges(view, where))
        what = f"angle ranges {np.asarray(view).tolist()}"
    dist = {
        n: _distance(hint, _directions(_ranges(card.views[n], f"{card.name} view {n}")))
        for n in names
    }
    best = min(dist, key=lambda n: dist[n])
    if dist[best] > FAR_DEGREES:
        warnings.warn(
            f"{what} is {dist[best]:.0f} degrees from the nearest view model {card.name!r} was "
            f"trained over ({best}); its 3D may be poor (views: {', '.join(names)})",
            ViewHintWarning,
            stacklevel=3,
        )
    return ViewMatch(best, dist[best], view)


def view_model_path(card: ModelCard, view: str) -> Path | None:
    """The model file the card names for ``view`` (``view_models``), or None.

    Raises
    ------
    ModelFileError
        If the card names a file that is not there.
    """
    if view not in card.view_models:
        return None
    if card.path is None:
        raise ModelFileError(f"model {card.name!r}: a view model needs the card's folder")
    path = (Path(card.path).parent / card.view_models[view]).resolve()
    if not path.is_file():
        raise ModelFileError(
            f"{card.path}: view model {card.view_models[view]!r} for view {view!r} not found "
            f"({path})"
        )
    return path


def apply_view(lifter: Any, view: Any) -> Any:
    """The lifter to use for a view hint (None: ``lifter`` itself).

    With a card that names a model specialised for the hinted view (``view_models``), that
    model (with the same card); otherwise ``lifter``. Either way ``lifter.view`` is the
    :class:`ViewMatch`.

    Raises
    ------
    ConfigError
        If the lifter has no card (only pretrained models know their views), or the hint
        is invalid (see :func:`resolve_view`).
    """
    if view is None:
        return lifter
    from liftpose_dlc.pretrained.adapt import MappedLifter

    base = lifter.base if isinstance(lifter, MappedLifter) else lifter
    card = getattr(base, "card", None)
    if card is None:
        raise ConfigError(
            "a view hint needs a pretrained model (a card with its views); this lifter has no "
            "card. Lifters of your own are trained for the views you gave them."
        )
    match = resolve_view(card, view)
    path = view_model_path(card, match.view)
    base = lifter.base if isinstance(lifter, MappedLifter) else lifter
    if getattr(base, "specialised_for", None) is not None:
        path = None  # a specialist for the user's keypoints is kept (it was trained on all views)
    if path is not None:
        from liftpose_dlc.pretrained.registry import _load_with_card

        special = _load_with_card(path, card)
        if isinstance(lifter, MappedLifter):
            lifter = MappedLifter(special, lifter.match)
        else:
            lifter = special
    lifter.view = match
    return lifter


def to_world_axes(poses_3d: Poses, camera: Camera) -> Poses:
    """Lifted 3D (the camera's frame) turned into the world's axes with the camera's rotation.

    ``X_world = R.T @ X_camera``: directions and distances in the calibration's world axes.
    The origin stays where the lift put it (the roots; placing the animal in the world needs
    its position, which one camera does not give).

    Raises
    ------
    PosesValidationError
        If the poses are not 3D.
    """
    from liftpose_dlc.poses import require_poses

    require_poses(poses_3d, "to_world_axes", dims=3)
    R = np.asarray(camera.R, dtype=np.float64)
    return poses_3d.replace(data=poses_3d.data @ R, frame="world")


def _as_hint(value: str | Sequence[float] | None) -> Any:
    """A command-line ``--view``: a name, or six numbers ``zlo,zhi,ylo,yhi,xlo,xhi``."""
    if value is None:
        return None
    text = str(value).strip()
    parts = [p for p in text.replace(",", " ").split() if p]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return text
    return _ranges(numbers, "--view").tolist()
