"""Sample data: the demo's generated walking fly (video, 2D tracking, ground-truth 3D).

File > Open Sample > liftpose-dlc > "Walking fly (generated)" calls :func:`demo_fly_sample`.
The first call generates the demo's sample DeepLabCut project
(:func:`~liftpose_dlc.demo.make_demo_project`, a few seconds) into a cache folder
(:func:`sample_cache_dir`); later calls reuse it. The 3D shown is the generator's exact 3D
(the ground truth the demo scores lifted poses against), and its layers say so; lift the
project's 2D with the LiftPose3D widget to compare (its tracking file and video are in
the cache folder).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liftpose_dlc._cache import CACHE_ENV, cache_root
from liftpose_dlc.errors import LiftPoseError

if TYPE_CHECKING:  # pragma: no cover
    from liftpose_dlc.demo import DemoProject
    from napari_liftpose.layers import LayerData

__all__ = ["CACHE_ENV", "sample_cache_dir", "demo_project", "demo_sample_layers", "demo_fly_sample"]

GROUND_TRUTH = " (ground truth)"


def sample_cache_dir() -> Path:
    """Where the sample project is generated: ``napari-sample`` in the user cache folder.

    That is ``$LIFTPOSE_DLC_CACHE_DIR`` when set, else platformdirs'
    ``user_cache_dir("liftpose-dlc")`` (e.g. ``~/.cache/liftpose-dlc`` on Linux): see
    :func:`liftpose_dlc._cache.cache_root`.
    """
    return cache_root() / "napari-sample"


def demo_project(cache_dir: str | os.PathLike | None = None) -> DemoProject:
    """The demo's sample project in the cache folder, generated the first time.

    A cached project that is incomplete or damaged is generated again.
    """
    from liftpose_dlc.demo import DemoProject, make_demo_project
    from liftpose_dlc.demo.project import PROJECT_NAME

    folder = Path(cache_dir) if cache_dir is not None else sample_cache_dir()
    existing = folder / PROJECT_NAME
    if existing.is_dir():
        try:
            project = DemoProject.from_dir(existing)
            if project.video_path.is_file():
                return project
        except LiftPoseError:
            pass
        return make_demo_project(folder, overwrite=True)
    return make_demo_project(folder)


def demo_sample_layers(project: DemoProject) -> list[LayerData]:
    """The sample's layers: video, 2D keypoints and bones, ground-truth 3D beside the video.

    The 2D are the project's tracking file (points below the config's ``pcutoff`` hidden),
    the 3D the generator's exact 3D in the camera frame (mm): its layers are named
    ``"bones 3D (ground truth)"`` and ``"joints 3D (ground truth)"``.
    """
    from napari_liftpose.actions import inspect_tracking
    from napari_liftpose.scene import scene_layers
    from napari_liftpose.video import VideoArray

    info = inspect_tracking(project.analysis_path)
    poses_2d = info.poses.mask_below(info.pcutoff)
    truth = project.ground_truth("camera")
    video = VideoArray(project.video_path)
    out = []
    for data, kwargs, kind in scene_layers(poses_2d, truth, video):
        if kwargs["name"].endswith(" 3D"):
            kwargs = {**kwargs, "name": kwargs["name"] + GROUND_TRUTH}
        out.append((data, kwargs, kind))
    return out


def demo_fly_sample() -> list[LayerData]:
    """npe2 ``sample_data`` command: the generated walking fly, ready to look at in 3D.

    When napari has a current viewer, the scene is framed as
    :func:`~napari_liftpose.scene.add_layers` frames it (first frame, depth slider on the
    video plane, 3D display) once napari has added the layers.
    """
    layers = demo_sample_layers(demo_project())
    _frame_when_added(layers)
    return layers


def _frame_when_added(layers: list[LayerData]) -> None:
    """Frame the scene once the last of ``layers`` is in the current viewer."""
    try:
        from napari import current_viewer
    except ImportError:  # pragma: no cover - napari is what calls this
        return
    viewer = current_viewer()
    if viewer is None or not layers:
        return
    last = layers[-1][1]["name"]

    def on_inserted(event: Any) -> None:
        if getattr(event, "value", None) is None or not event.value.name.startswith(last):
            return
        viewer.layers.events.inserted.disconnect(on_inserted)
        from napari_liftpose.scene import frame_scene

        frame_scene(viewer, ndisplay=3)

    viewer.layers.events.inserted.connect(on_inserted)
