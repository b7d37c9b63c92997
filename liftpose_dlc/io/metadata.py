"""What every output file records besides the coordinates: units, frame, fps, lifter, 2D source.

A lifted :class:`~liftpose_dlc.Poses` carries ``units``, ``frame`` (``"camera"`` or
``"world"``), ``fps`` and a ``provenance`` mapping of text:

- ``lifter_name``: the model (a pretrained model's name, else the model file's stem),
- ``lifter_version``: the liftpose-dlc version that trained it,
- ``lifter_training_data``: the 3D data it was trained on (``"; "``-separated),
- ``source_2d_file`` and ``source_2d_software``: the 2D tracking that was lifted;
- ``placement`` (placed outputs only): how each frame's root was placed on its camera ray
  (:mod:`liftpose_dlc.world`), and ``floor`` (world-frame outputs): the floor plane's
  ``a,b,c,d`` (``a x + b y + c z + d = 0``, ``(a, b, c)`` pointing up);
- ``confidence``, ``confidence_tolerance``, ``confidence_levels``, ``confidence_quantiles``
  (lifters with an error model only): what the confidence means and the calibration table
  that turns it into error bounds (:mod:`liftpose_dlc.lifter.uncertainty`).

Every writer stores these as plain attributes (text and numbers, never pickles) under the
names of :func:`output_attrs`, and every reader gives them back (:func:`fields_from_attrs`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from liftpose_dlc.poses import FRAMES, Poses, Source

__all__ = [
    "PROVENANCE_KEYS",
    "output_attrs",
    "fields_from_attrs",
    "describe_lifter",
    "lift_provenance",
    "lifted_fields",
]

#: The keys of :attr:`Poses.provenance` that lifted poses carry.
PROVENANCE_KEYS = (
    "lifter_name",
    "lifter_version",
    "lifter_training_data",
    "source_2d_file",
    "source_2d_software",
    # only in some outputs: how the roots were placed (liftpose_dlc.world), and what the
    # confidence is when the lifter has an error model (liftpose_dlc.lifter.uncertainty)
    "placement",
    "floor",
    "confidence",
    "confidence_tolerance",
    "confidence_levels",
    "confidence_quantiles",
    "confidence_quantiles_inferred",
)
_UNKNOWN = "unknown"


def output_attrs(poses: Poses) -> dict[str, str | float]:
    """The attributes a writer stores for ``poses`` (text and numbers only).

    Returns
    -------
    dict
        ``units`` and ``frame`` (``"unknown"`` when not known), ``fps`` (only when known),
        ``liftpose_dlc_version`` (the writing version) and the poses' ``provenance``.

    Examples
    --------
    >>> import numpy as np
    >>> p = Poses(np.zeros((2, 1, 3)), ["a", "b", "c"], units="mm", frame="camera", fps=30)
    >>> a = output_attrs(p)
    >>> a["units"], a["frame"], a["fps"]
    ('mm', 'camera', 30.0)
    """
    from liftpose_dlc import __version__

    out: dict[str, str | float] = {
        "units": poses.units or _UNKNOWN,
        "frame": poses.frame or _UNKNOWN,
    }
    if poses.fps is not None:
        out["fps"] = float(poses.fps)
    out["liftpose_dlc_version"] = str(__version__)
    out.update({k: str(v) for k, v in poses.provenance.items()})
    return out


def fields_from_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`Poses` fields (``units``, ``frame``, ``provenance``) stored by a writer.

    Unknown or malformed values are left out (a frame that is not one of
    :data:`~liftpose_dlc.poses.FRAMES` is dropped), so the result can be passed to
    :meth:`Poses.replace` as it is.
    """
    out: dict[str, Any] = {}
    units = _text(attrs.get("units"))
    if units and units != _UNKNOWN:
        out["units"] = units
    frame = _text(attrs.get("frame"))
    if frame in FRAMES:
        out["frame"] = frame
    provenance = {k: _text(attrs[k]) for k in PROVENANCE_KEYS if k in attrs}
    provenance = {k: v for k, v in provenance.items() if v is not None}
    if provenance:
        out["provenance"] = provenance
    return out


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    return None if value is None else str(value)


def describe_lifter(lifter: Any, model: Any = None) -> dict[str, str]:
    """Name, version, training data, units and frame of a lifter, from what records it.

    Parameters
    ----------
    lifter
        The :class:`~liftpose_dlc.Lifter`. A pretrained model carries its model card as
        ``lifter.card`` (name, ``liftpose_dlc_version``, ``training_data``, ``units``).
    model
        What the user passed as the model: a model file's path gives the name (its stem) and
        the record :func:`~liftpose_dlc.workflow.training.train_from_library` wrote beside it
        (``<stem>.yaml``: version, library sources and units).

    Returns
    -------
    dict
        ``lifter_name``, ``lifter_version``, ``lifter_training_data`` (``"unknown"`` where
        nothing says), and ``units`` when known.
    """
    info = {
        "lifter_name": _UNKNOWN,
        "lifter_version": _UNKNOWN,
        "lifter_training_data": _UNKNOWN,
    }
    card = getattr(lifter, "card", None) or getattr(getattr(lifter, "base", None), "card", None)
    if card is not None:
        info["lifter_name"] = str(getattr(card, "name", _UNKNOWN))
        info["lifter_version"] = str(getattr(card, "liftpose_dlc_version", _UNKNOWN))
        data = [str(getattr(d, "name", d)) for d in getattr(card, "training_data", [])]
        if data:
            info["lifter_training_data"] = "; ".join(data)
        if getattr(card, "units", None):
            info["units"] = str(card.units)
        return info
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        info["lifter_name"] = path.stem
        record = _read_record(path.with_suffix(".yaml"))
        if record.get("liftpose_dlc_version"):
            info["lifter_version"] = str(record["liftpose_dlc_version"])
        raw = record.get("library")
        library: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        sources = library.get("sources") or []
        if isinstance(sources, list) and sources:
            info["lifter_training_data"] = "; ".join(str(s) for s in sources)
        if library.get("units"):
            info["units"] = str(library["units"])
    return info


def _read_record(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        import yaml

        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - a broken record only means "unknown"
        return {}
    return loaded if isinstance(loaded, dict) else {}


def lift_provenance(lifter: Any, source_2d: Source, model: Any = None) -> dict[str, str]:
    """The ``provenance`` of poses lifted by ``lifter`` from the 2D of ``source_2d``."""
    info = describe_lifter(lifter, model)
    return {
        "lifter_name": info["lifter_name"],
        "lifter_version": info["lifter_version"],
        "lifter_training_data": info["lifter_training_data"],
        "source_2d_file": source_2d.path or "in memory",
        "source_2d_software": source_2d.software or _UNKNOWN,
    }


def lifted_fields(
    lifter: Any, source_2d: Source, model: Any = None, *, frame: str = "camera"
) -> dict[str, Any]:
    """``units``, ``frame`` and ``provenance`` for :class:`Poses` lifted from ``source_2d``.

    The lifter's 3D is in the units of its 3D training data and, unless placed in the world,
    in the frame of the camera the 2D is seen from (``frame="camera"``).

    Examples
    --------
    >>> fields = lifted_fields(None, Source("video1DLC.h5", "DeepLabCut"), "mouse.safetensors")
    >>> fields["frame"], fields["provenance"]["lifter_name"]
    ('camera', 'mouse')
    """
    info = describe_lifter(lifter, model)
    return {
        "units": info.get("units"),
        "frame": frame,
        "provenance": lift_provenance(lifter, source_2d, model),
    }
