"""Docstring text that several public functions share, written once.

A function's docstring holds a placeholder line such as ``{placement}`` (alone on its line,
indented like a parameter); :func:`shared_doc` replaces it with the text, indented the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])

__all__ = ["shared_doc", "PLACEMENT", "PLACE", "VIEW"]

#: The placement keywords of the lifting front ends (:class:`~liftpose_dlc.world.PlaceOptions`).
PLACEMENT = """\
frame, cameras, camera, floor, root_height
    Where the 3D is (:func:`~liftpose_dlc.world.make_placement`): ``frame="world"``
    with ``cameras`` (a calibration file or :class:`~liftpose_dlc.Camera`; ``camera``
    names one of several) places each frame's root on its camera ray at its height above
    the floor (``floor``, default the world's ``z = 0``; ``root_height``, default the
    lifter's, learned from its 3D library); ``frame="camera"`` with ``cameras`` places
    it at the depth the pose's size gives; without ``cameras``, each pose is around its
    own root in the camera's frame (the default)."""

#: The ``place`` keyword that goes with :data:`PLACEMENT`.
PLACE = """\
place
    The same settings as one :class:`~liftpose_dlc.world.PlaceOptions` (instead of the
    keywords above)."""

#: The ``view`` keyword of the lifting front ends.
VIEW = """\
view
    For a pretrained model, an optional hint of the camera's view: a name of its card's
    ``views`` (``"top"``), angle ranges or a calibrated camera
    (:func:`~liftpose_dlc.pretrained.views.apply_view`: a model specialised for that view
    when the card has one)."""


def shared_doc(**texts: str) -> Callable[[F], F]:
    r"""Replace each ``{name}`` line of the decorated function's docstring by ``texts[name]``.

    Examples
    --------
    >>> @shared_doc(note="x\n    an argument")
    ... def f(x):
    ...     '''F.
    ...
    ...     Parameters
    ...     ----------
    ...     {note}
    ...     '''
    >>> print(f.__doc__.splitlines()[4:6])
    ['    x', '        an argument']
    """

    def decorate(func: F) -> F:
        doc = func.__doc__
        if doc is None:  # python -OO
            return func
        lines = []
        for line in doc.splitlines():
            key = line.strip()
            if key.startswith("{") and key.endswith("}") and key[1:-1] in texts:
                indent = line[: len(line) - len(line.lstrip())]
                lines += [indent + t if t else t for t in texts[key[1:-1]].splitlines()]
            else:
                lines.append(line)
        func.__doc__ = "\n".join(lines) + ("\n" if doc.endswith("\n") else "")
        return func

    return decorate
