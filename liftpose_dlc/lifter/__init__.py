"""The LiftPose3D lifter: input encoder, network, training session and model files.

Modules: :mod:`~liftpose_dlc.lifter.encoder` (keypoint layout, statistics and input
features: :class:`~liftpose_dlc.lifter.encoder.InputEncoder`),
:mod:`~liftpose_dlc.lifter.model` (networks), :mod:`~liftpose_dlc.lifter.augmentation`,
:mod:`~liftpose_dlc.lifter.session` (training:
:class:`~liftpose_dlc.lifter.session.TrainingSession`), :mod:`~liftpose_dlc.lifter.lifter`
(the :class:`~liftpose_dlc.lifter.lifter.Lifter`: encoder + network; which option belongs
where: :func:`~liftpose_dlc.lifter.lifter.split_options`),
:mod:`~liftpose_dlc.lifter.modelfile` (safetensors + JSON), :mod:`~liftpose_dlc.lifter.inputs`
(Poses, arrays and the seed's dictionaries in and out).
"""

from liftpose_dlc.lifter.lifter import DEFAULT_MODEL_OPTIONS, ORIGINAL_MODEL_OPTIONS, Lifter

__all__ = ["Lifter", "DEFAULT_MODEL_OPTIONS", "ORIGINAL_MODEL_OPTIONS"]
