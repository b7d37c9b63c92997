"""liftpose-dlc: 3D poses from a single camera for DeepLabCut and SLEAP users.

The public names below are imported lazily, so ``import liftpose_dlc`` is fast and does
not import torch until a lifter is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from liftpose_dlc._lazy import lazy_exports
from liftpose_dlc._version import __version__

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # data model and errors
    "Poses": "liftpose_dlc.poses",
    "Source": "liftpose_dlc.poses",
    "Skeleton": "liftpose_dlc.skeleton",
    "poses_to_dict": "liftpose_dlc.poses",
    "LiftPoseError": "liftpose_dlc.errors",
    # readers and writers
    "load_poses": "liftpose_dlc.io",
    "save_poses": "liftpose_dlc.io",
    "load_dlc": "liftpose_dlc.io.dlc",
    "save_dlc": "liftpose_dlc.io.dlc",
    "read_dlc_config": "liftpose_dlc.io.dlc_config",
    "find_analysis_outputs": "liftpose_dlc.io.dlc_config",
    "load_sleap": "liftpose_dlc.io.sleap",
    "load_sleap_3d": "liftpose_dlc.io.sleap",
    "save_sleap_3d": "liftpose_dlc.io.sleap",
    "load_poses_3d": "liftpose_dlc.io.poses3d",
    # cameras
    "Camera": "liftpose_dlc.cameras",
    "load_calibration": "liftpose_dlc.io.calibration",
    "make_training_pairs": "liftpose_dlc.training_pairs",
    # lifter
    "Lifter": "liftpose_dlc.lifter.lifter",
    "train": "liftpose_dlc.seed_api",
    "test": "liftpose_dlc.seed_api",
    "load_test_results": "liftpose_dlc.seed_api",
    "load_params": "liftpose_dlc.params",
    # workflow
    "lift_dlc_project": "liftpose_dlc.workflow",
    "train_dlc_project": "liftpose_dlc.workflow",
    "lift_file": "liftpose_dlc.workflow",
    "lift_poses": "liftpose_dlc.workflow",
    "LiftEngine": "liftpose_dlc.engine",
    # pretrained lifters (the zoo)
    "load_pretrained": "liftpose_dlc.pretrained",
    "list_models": "liftpose_dlc.pretrained",
    "specialise": "liftpose_dlc.pretrained",
    "rescale_to_length": "liftpose_dlc.scale",
    "propose_keypoint_map": "liftpose_dlc.keypoint_names",
}
_SUBMODULES = {
    "metrics", "plot", "io", "lifter", "errors", "cameras", "demo", "workflow", "engine",
    "pretrained", "keypoint_names",
}  # fmt: skip

__all__, __getattr__, __dir__ = lazy_exports(
    __name__, globals(), {**_EXPORTS, "__version__": "liftpose_dlc._version"}, _SUBMODULES
)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from liftpose_dlc.cameras import Camera
    from liftpose_dlc.engine import LiftEngine
    from liftpose_dlc.errors import LiftPoseError
    from liftpose_dlc.io import load_poses, save_poses
    from liftpose_dlc.io.calibration import load_calibration
    from liftpose_dlc.io.dlc import load_dlc, save_dlc
    from liftpose_dlc.io.dlc_config import find_analysis_outputs, read_dlc_config
    from liftpose_dlc.io.poses3d import load_poses_3d
    from liftpose_dlc.io.sleap import load_sleap, load_sleap_3d, save_sleap_3d
    from liftpose_dlc.keypoint_names import propose_keypoint_map
    from liftpose_dlc.lifter.lifter import Lifter
    from liftpose_dlc.params import load_params
    from liftpose_dlc.poses import Poses, Source, poses_to_dict
    from liftpose_dlc.pretrained import list_models, load_pretrained, specialise
    from liftpose_dlc.scale import rescale_to_length
    from liftpose_dlc.seed_api import load_test_results, test, train
    from liftpose_dlc.skeleton import Skeleton
    from liftpose_dlc.training_pairs import make_training_pairs
    from liftpose_dlc.workflow import lift_dlc_project, lift_file, lift_poses, train_dlc_project
