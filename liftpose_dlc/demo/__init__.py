"""Generated (synthetic) data for the demo: a walking fly, its camera, video and DLC project.

Nothing here reads data from outside the package. The pieces:

* :mod:`~liftpose_dlc.demo.generator`: a seeded kinematic model of a fly walking with a tripod
  gait (:func:`generate_walking_fly`, :func:`generate_library`, :func:`simulate_walk`).
* :mod:`~liftpose_dlc.demo.scene`: the demo camera (:func:`demo_camera`), projection, which
  joints the body hides, and detector-like 2D noise (:func:`add_detector_noise`).
* :mod:`~liftpose_dlc.demo.render`: the walk rendered to an mp4 (needs PyAV).
* :mod:`~liftpose_dlc.demo.project`: a sample DeepLabCut project on disk
  (:func:`make_demo_project`, :class:`DemoProject`).

Every output says that it is generated: the poses' ``source.software``, a caption in the
video, the project's ``README.txt`` and ``config.yaml``.

Examples
--------
>>> from liftpose_dlc.demo import generate_walking_fly
>>> generate_walking_fly(10, seed=0).data.shape
(10, 1, 30, 3)
"""

from __future__ import annotations

from liftpose_dlc._lazy import lazy_exports

_EXPORTS = {
    "generate_walking_fly": "liftpose_dlc.demo.generator",
    "generate_library": "liftpose_dlc.demo.generator",
    "simulate_walk": "liftpose_dlc.demo.generator",
    "FlyWalk": "liftpose_dlc.demo.generator",
    "LEG_KEYPOINTS": "liftpose_dlc.demo.generator",
    "demo_camera": "liftpose_dlc.demo.scene",
    "project_points": "liftpose_dlc.demo.scene",
    "add_detector_noise": "liftpose_dlc.demo.scene",
    "render_walk_video": "liftpose_dlc.demo.render",
    "make_demo_project": "liftpose_dlc.demo.project",
    "DemoProject": "liftpose_dlc.demo.project",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
