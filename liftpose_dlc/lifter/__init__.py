"""The LiftPose3D lifter: network, preprocessing, augmentation, training and model files.

Modules: :mod:`~liftpose_dlc.lifter.model` (networks), :mod:`~liftpose_dlc.lifter.preprocessing`
(roots, normalisation, masks), :mod:`~liftpose_dlc.lifter.augmentation`,
:mod:`~liftpose_dlc.lifter.training` (loop), :mod:`~liftpose_dlc.lifter.lifter` (the
:class:`~liftpose_dlc.lifter.lifter.Lifter` and its model files).
"""

from liftpose_dlc.lifter.lifter import DEFAULT_MODEL_OPTIONS, ORIGINAL_MODEL_OPTIONS, Lifter

__all__ = ["Lifter", "DEFAULT_MODEL_OPTIONS", "ORIGINAL_MODEL_OPTIONS"]
