"""The model zoo: pretrained lifters for users who have no 3D of their own.

>>> import liftpose_dlc as lp
>>> [m.name for m in lp.list_models()]  # doctest: +SKIP
['fly', 'mouse', 'rat']
>>> lifter = lp.load_pretrained("mouse")  # doctest: +SKIP
>>> lifter.card.licences  # doctest: +SKIP

- :mod:`~liftpose_dlc.pretrained.registry`: where models are found (built in, package data;
  and a lab's folders named by ``LIFTPOSE_DLC_MODELS``), :func:`list_models`,
  :func:`model_card`, :func:`load_pretrained` (a :class:`~liftpose_dlc.Lifter` carrying its
  card as ``lifter.card``), :func:`load_model` (a Lifter, a model file or a name).
- :mod:`~liftpose_dlc.pretrained.card`: :class:`ModelCard`, validated when read.
- :mod:`~liftpose_dlc.pretrained.adapt`: the model seen through the user's keypoint names
  and subset (:func:`adapt_lifter`); :func:`keypoint_map_for` shows the map before lifting.
- :mod:`~liftpose_dlc.pretrained.specialise`: :func:`specialise` trains a zoo model again
  for exactly the keypoints you track, from the 3D pose library it ships (cached).
- :mod:`~liftpose_dlc.pretrained.views`: the view hint (a name, angle ranges or a calibrated
  camera, :func:`apply_view`) and :func:`to_world_axes`.

Importing this package does not import torch.
"""

from __future__ import annotations

from liftpose_dlc._lazy import lazy_exports

_EXPORTS = {
    "ModelCard": "liftpose_dlc.pretrained.card",
    "TrainingData": "liftpose_dlc.pretrained.card",
    "read_card": "liftpose_dlc.pretrained.card",
    "write_card": "liftpose_dlc.pretrained.card",
    "MODELS_ENV": "liftpose_dlc.pretrained.registry",
    "ModelEntry": "liftpose_dlc.pretrained.registry",
    "ModelShadowWarning": "liftpose_dlc.pretrained.registry",
    "list_models": "liftpose_dlc.pretrained.registry",
    "find_model": "liftpose_dlc.pretrained.registry",
    "model_card": "liftpose_dlc.pretrained.registry",
    "load_pretrained": "liftpose_dlc.pretrained.registry",
    "load_model": "liftpose_dlc.pretrained.registry",
    "MappedLifter": "liftpose_dlc.pretrained.adapt",
    "KeypointSubsetWarning": "liftpose_dlc.pretrained.adapt",
    "adapt_lifter": "liftpose_dlc.pretrained.adapt",
    "keypoint_map_for": "liftpose_dlc.pretrained.adapt",
    "ViewHintWarning": "liftpose_dlc.pretrained.views",
    "resolve_view": "liftpose_dlc.pretrained.views",
    "apply_view": "liftpose_dlc.pretrained.views",
    "to_world_axes": "liftpose_dlc.pretrained.views",
    "specialise": "liftpose_dlc.pretrained.specialise",
    "load_pose_library": "liftpose_dlc.pretrained.specialise",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
