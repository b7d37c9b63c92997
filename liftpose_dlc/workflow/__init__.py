"""From 2D tracking to 3D files: DeepLabCut projects, single files, poses in memory.

Every front end lifts through the engine (:class:`~liftpose_dlc.engine.LiftEngine`).

- :func:`lift_poses` (:mod:`~liftpose_dlc.workflow.lifting`): 2D
  :class:`~liftpose_dlc.Poses` in memory to 3D with the missing-point rules.
- :func:`lift_file` (:mod:`~liftpose_dlc.workflow.file_lift`): a DeepLabCut or SLEAP file to a 3D
  file beside it.
- :func:`train_dlc_project`, :func:`lift_dlc_project`
  (:mod:`~liftpose_dlc.workflow.dlc_project`): a DeepLabCut project's lifter, and its
  analysed videos to ``_3d.h5``.
- :mod:`~liftpose_dlc.workflow.report`: errors against ground truth and the plots.
"""

from __future__ import annotations

from liftpose_dlc.workflow.dlc_project import (
    LiftSkippedWarning,
    lift_dlc_project,
    load_project_lifter,
    project_lifter_path,
    train_dlc_project,
)
from liftpose_dlc.workflow.file_lift import lift_file
from liftpose_dlc.workflow.lifting import LiftResult, lift_poses

__all__ = [
    "lift_poses",
    "LiftResult",
    "lift_file",
    "lift_dlc_project",
    "train_dlc_project",
    "load_project_lifter",
    "project_lifter_path",
    "LiftSkippedWarning",
]
