"""Build the demo's sample DeepLabCut project from the generator (no outside data needed).

:func:`make_demo_project` writes, under ``out_dir``::

    demofly-liftpose-2026-11-25/                 a DeepLabCut project (Task-scorer-date)
        config.yaml                               DLC's project config (single animal)
        README.txt                                says the data is generated, by what, the seed
        videos/fly_walk.mp4                       the rendered walk (one frame per pose frame)
        videos/fly_walkDLC_resnet50_demoflyNov25shuffle1_100000.h5
                                                  2D "analysis" output in DLC's layout: the
                                                  projected 3D plus detector-like noise
        synthetic-3d/fly_walk_ground_truth.npz    the walk's exact 3D (camera and world frame)
        synthetic-3d/training_library.npz         separate walks of other animals, for training
        synthetic-3d/calibration.toml             the camera (aniposelib's format)

The date in the names is fixed so that the project is the same on every run. All ``.npz``
files load with ``numpy.load(path)`` (no pickle).
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import yaml

from liftpose_dlc.demo.generator import (
    LEG_KEYPOINTS,
    SOFTWARE,
    fly_skeleton,
    generate_library,
    simulate_walk,
)
from liftpose_dlc.demo.scene import (
    add_detector_noise,
    demo_camera,
    occluded_by_body,
    project_points,
    world_to_camera,
)
from liftpose_dlc.errors import FileFormatError, LiftPoseError, MissingFileError, OutputExistsError
from liftpose_dlc.io.dlc import save_dlc
from liftpose_dlc.poses import Poses, Source

__all__ = ["DemoProject", "make_demo_project", "PROJECT_NAME", "SCORER"]

TASK = "demofly"
EXPERIMENTER = "liftpose"
DATE = "Nov25"
#: The project folder's name (DeepLabCut's ``Task-experimenter-YYYY-MM-DD``).
PROJECT_NAME = f"{TASK}-{EXPERIMENTER}-2026-11-25"
#: The network name DeepLabCut would give the analysis output (``DLC_<net>_<Task><date>...``).
SCORER = f"DLC_resnet50_{TASK}{DATE}shuffle1_100000"
VIDEO_NAME = "fly_walk"
_MARKER = "liftpose-dlc demo project"


@attrs.frozen
class DemoProject:
    """The files of a generated demo project and what is known about them.

    Attributes
    ----------
    project_dir
        The DeepLabCut project folder.
    config_path
        Its ``config.yaml``.
    video_paths
        The videos (one; it may be absent if the project was made with ``video=False``).
    analysis_paths
        DLC analysis outputs (``.h5``), one per video, same order.
    ground_truth_path
        ``.npz`` with the exact 3D of each video's walk: ``points3d_camera`` and
        ``points3d_world`` ``(n_frames, 30, 3)`` mm, ``points2d`` (exact projection),
        ``keypoint_names``, ``fps``, the camera ``K``, ``R``, ``t``, ``image_size_wh``, and the
        generator's ``stance``, ``joint_angles``, ``occluded``, ``seed``.
    library_path
        ``.npz`` with the training library: ``points3d_world`` ``(n_walks, n_frames, 30, 3)``
        mm, ``keypoint_names``, ``walk_names``, ``walk_seeds``, ``fps``, and the camera ``K``,
        ``R``, ``t``, ``image_size_wh``.
    calibration_path
        The camera in aniposelib's ``calibration.toml`` format.
    readme_path
        ``README.txt`` describing the generated data.
    camera
        ``dict(K, R, t, size)`` (see :func:`~liftpose_dlc.demo.scene.demo_camera`).
    keypoints
        The DLC bodyparts (the 30 fly leg keypoints).
    seed
        The seed of the video's walk.
    fps
        Frame rate of the video and the poses.
    n_frames
        Frames in the video.
    """

    project_dir: Path
    config_path: Path
    video_paths: list[Path]
    analysis_paths: list[Path]
    ground_truth_path: Path
    library_path: Path
    calibration_path: Path
    readme_path: Path
    camera: dict[str, Any]
    keypoints: list[str]
    seed: int
    fps: float
    n_frames: int

    @property
    def video_path(self) -> Path:
        """The (only) video."""
        return self.video_paths[0]

    @property
    def analysis_path(self) -> Path:
        """The (only) DLC analysis output."""
        return self.analysis_paths[0]

    def ground_truth(self, frame: str = "camera") -> Poses:
        """The video's exact 3D poses (mm) in the ``"camera"`` or ``"world"`` frame."""
        key = _frame_key(frame)
        with np.load(self.ground_truth_path) as z:
            data = z[key]
        return Poses(
            data[:, None],
            keypoints=self.keypoints,
            individuals=["fly"],
            confidence=np.ones(data.shape[:2])[:, None],
            skeleton=fly_skeleton(),
            fps=self.fps,
            source=Source(self.ground_truth_path, SOFTWARE),
        )

    def training_library(self, frame: str = "world") -> Poses:
        """The training library's 3D poses (mm): one individual per walk (``walk_0``, ...)."""
        _frame_key(frame)
        with np.load(self.library_path) as z:
            data = np.moveaxis(z["points3d_world"], 0, 1)  # (n_frames, n_walks, 30, 3)
            walks = [str(w) for w in z["walk_names"]]
            fps = float(z["fps"])
        if frame == "camera":
            data = world_to_camera(data, self.camera["R"], self.camera["t"])
        return Poses(
            data,
            keypoints=self.keypoints,
            individuals=walks,
            confidence=np.ones(data.shape[:3]),
            skeleton=fly_skeleton(),
            fps=fps,
            source=Source(self.library_path, SOFTWARE),
        )

    @classmethod
    def from_dir(cls, project_dir: str | os.PathLike) -> DemoProject:
        """Open a demo project written earlier by :func:`make_demo_project`.

        Raises
        ------
        MissingFileError
            If a file of the project is missing.
        FileFormatError
            If the folder is not a demo project.
        """
        root = Path(project_dir)
        paths = _layout(root)
        for what, p in paths.items():
            if what != "video" and not Path(p).exists():
                raise MissingFileError(f"{root} is not a complete demo project: {what} {p} missing")
        with np.load(paths["ground_truth"]) as z:
            try:
                camera = {
                    "K": z["K"],
                    "R": z["R"],
                    "t": z["t"],
                    "size": tuple(int(v) for v in z["image_size_wh"]),
                }
                keypoints = [str(k) for k in z["keypoint_names"]]
                seed, fps, n = int(z["seed"]), float(z["fps"]), int(z["points3d_camera"].shape[0])
            except KeyError as err:
                raise FileFormatError(
                    f"{paths['ground_truth']}: not a demo ground-truth file ({err} missing)"
                ) from None
        return cls(
            project_dir=root,
            config_path=paths["config"],
            video_paths=[paths["video"]],
            analysis_paths=[paths["analysis"]],
            ground_truth_path=paths["ground_truth"],
            library_path=paths["library"],
            calibration_path=paths["calibration"],
            readme_path=paths["readme"],
            camera=camera,
            keypoints=keypoints,
            seed=seed,
            fps=fps,
            n_frames=n,
        )


def _frame_key(frame: str) -> str:
    if frame not in ("camera", "world"):
        raise LiftPoseError(f"frame must be 'camera' or 'world', got {frame!r}")
    return f"points3d_{frame}"


def _layout(root: Path) -> dict[str, Path]:
    videos = root / "videos"
    synthetic = root / "synthetic-3d"
    return {
        "config": root / "config.yaml",
        "readme": root / "README.txt",
        "video": videos / f"{VIDEO_NAME}.mp4",
        "analysis": videos / f"{VIDEO_NAME}{SCORER}.h5",
        "ground_truth": synthetic / f"{VIDEO_NAME}_ground_truth.npz",
        "library": synthetic / "training_library.npz",
        "calibration": synthetic / "calibration.toml",
    }


def make_demo_project(
    out_dir: str | os.PathLike,
    *,
    n_frames: int = 300,
    fps: float = 100.0,
    seed: int = 0,
    library_walks: int = 4,
    library_frames: int = 1500,
    image_size: tuple[int, int] = (640, 480),
    video: bool = True,
    overwrite: bool = False,
) -> DemoProject:
    """Write a sample DeepLabCut project of a generated (synthetic) walking fly.

    The 2D in the analysis file are the exact projections of the generated 3D through the demo
    camera plus detector-like noise (:func:`~liftpose_dlc.demo.scene.add_detector_noise`):
    Gaussian jitter, short runs of missed detections with low likelihood, and more misses for
    joints hidden behind the body. The video shows the same walk. The training library holds
    other animals and walks from the same generator (seeds ``(seed, 1, i)``), never the
    video's walk.

    Parameters
    ----------
    out_dir
        Folder in which the project folder :data:`PROJECT_NAME` is created.
    n_frames
        Frames of the video's walk.
    fps
        Frame rate of the walk and the video.
    seed
        Seed of the video's walk (and, derived from it, of the noise and the library).
    library_walks, library_frames
        Number of walks in the training library and frames in each.
    image_size
        ``(width, height)`` of the video (even numbers).
    video
        Render the video (needs PyAV). Without it the project is complete but for the mp4,
        which ``config.yaml`` still names (as in a DLC project whose videos were moved).
    overwrite
        Replace an existing demo project folder of the same name. A folder that is not a demo
        project is never replaced.

    Returns
    -------
    DemoProject
        The paths written and the camera.

    Raises
    ------
    OutputExistsError
        If the project folder exists and ``overwrite`` is False, or it exists and is not a
        demo project.
    MissingDependencyError
        If PyAV (needed for the video) is not installed and ``video`` is True.

    Examples
    --------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> demo = make_demo_project(out, n_frames=20, library_frames=50)  # doctest: +SKIP
    >>> demo.config_path.name, demo.analysis_path.suffix  # doctest: +SKIP
    ('config.yaml', '.h5')
    """
    from liftpose_dlc.demo.render import import_av, render_walk_video

    if video:
        import_av()  # fail before doing any work when PyAV is missing
    out = Path(out_dir).expanduser().resolve()
    final = out / PROJECT_NAME
    if final.exists():
        if not overwrite:
            raise OutputExistsError(
                f"{final} exists; pass overwrite=True (--overwrite) to replace the demo project, "
                "or choose another output folder"
            )
        if not _is_demo_project(final):
            raise OutputExistsError(
                f"{final} exists and is not a liftpose-dlc demo project (no {_MARKER!r} "
                "README.txt); it is left untouched"
            )
    out.mkdir(parents=True, exist_ok=True)
    n_frames, seed = int(n_frames), int(seed)

    walk = simulate_walk(n_frames, fps=fps, seed=seed, body_points=True)
    camera: dict[str, Any] = demo_camera(image_size)
    legs = walk.points[:, : len(LEG_KEYPOINTS)]
    xy_exact = project_points(legs, camera)
    occluded = occluded_by_body(legs, *walk.ellipsoids(), camera)
    xy, likelihood = add_detector_noise(xy_exact, seed=(seed, 2), occluded=occluded)
    width, height = camera["size"]
    xy = np.clip(xy, 0.0, [width - 1.0, height - 1.0])  # detectors answer inside the image
    library = generate_library(library_walks, library_frames, fps=fps, seed=seed)

    tmp = out / f".{PROJECT_NAME}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    tmp.mkdir()
    try:
        paths = _layout(tmp)
        final_paths = _layout(final)
        for p in paths.values():
            p.parent.mkdir(parents=True, exist_ok=True)
        caption = [
            "SYNTHETIC DATA - generated by the liftpose-dlc demo generator",
            f"not a real fly; seed {seed}, {fps:g} fps",
        ]
        if video:
            render_walk_video(walk, camera, paths["video"], caption=caption)
        _write_dlc_h5(paths["analysis"], xy, likelihood, list(LEG_KEYPOINTS), SCORER)
        _write_config(paths["config"], final, final_paths["video"], camera["size"])
        camera_arrays = {
            "K": camera["K"],
            "R": camera["R"],
            "t": camera["t"],
            "image_size_wh": np.array(camera["size"]),
        }
        np.savez_compressed(
            paths["ground_truth"],
            points3d_camera=world_to_camera(legs, camera["R"], camera["t"]),
            points3d_world=legs,
            points2d=xy_exact,
            keypoint_names=np.array(LEG_KEYPOINTS),
            fps=np.float64(fps),
            seed=np.int64(seed),
            stance=walk.stance,
            joint_angles=walk.joint_angles,
            occluded=occluded,
            generator=np.array(SOFTWARE),
            **camera_arrays,
        )
        lib_world = np.moveaxis(library.data, 1, 0)  # (n_walks, n_frames, 30, 3)
        np.savez_compressed(
            paths["library"],
            points3d_world=lib_world,
            keypoint_names=np.array(LEG_KEYPOINTS),
            walk_names=np.array(library.individuals),
            walk_seeds=np.array([[seed, 1, i] for i in range(len(library.individuals))]),
            fps=np.float64(fps),
            generator=np.array(SOFTWARE),
            **camera_arrays,
        )
        paths["calibration"].write_text(_calibration_toml(camera))
        paths["readme"].write_text(
            _readme(seed, n_frames, fps, library_walks, library_frames, camera)
        )
        _move_into_place(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return DemoProject.from_dir(final)


def _is_demo_project(folder: Path) -> bool:
    readme = folder / "README.txt"
    try:
        return readme.is_file() and _MARKER in readme.read_text(errors="replace")[:2000]
    except OSError:
        return False


def _move_into_place(tmp: Path, final: Path) -> None:
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------------------ writers
def _write_dlc_h5(
    path: Path, xy: np.ndarray, likelihood: np.ndarray, bodyparts: list[str], scorer: str
) -> None:
    # the analysis output DeepLabCut would write: no fps, no liftpose-dlc metadata
    poses = Poses(xy[:, None], bodyparts, confidence=likelihood[:, None])
    save_dlc(poses, path, scorer=scorer)


def _write_config(path: Path, project: Path, video: Path, size: tuple[int, int]) -> None:
    width, height = size

    def block(data: dict[str, Any]) -> str:
        return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)

    sections: list[tuple[str, dict[str, Any]]] = [
        (
            "# Project definitions (do not edit)",
            {
                "Task": TASK,
                "scorer": EXPERIMENTER,
                "date": DATE,
                "multianimalproject": False,
                "identity": None,
            },
        ),
        ("# Project path (change when moving around)", {"project_path": str(project)}),
        (
            "# Annotation data set configuration (and individual video cropping parameters)",
            {
                "video_sets": {str(video): {"crop": f"0, {width}, 0, {height}"}},
                "bodyparts": list(LEG_KEYPOINTS),
            },
        ),
        (
            "# Fraction of video to start/stop when extracting frames for labeling/refinement",
            {"start": 0, "stop": 1, "numframes2pick": 20},
        ),
        (
            "# Plotting configuration",
            {
                "skeleton": [list(e) for e in fly_skeleton()],
                "skeleton_color": "black",
                "pcutoff": 0.6,
                "dotsize": 6,
                "alphavalue": 0.7,
                "colormap": "rainbow",
            },
        ),
        (
            "# Training,Evaluation and Analysis configuration",
            {
                "TrainingFraction": [0.95],
                "iteration": 0,
                "default_net_type": "resnet_50",
                "default_augmenter": "default",
                "snapshotindex": -1,
                "batch_size": 8,
            },
        ),
        (
            "# Cropping Parameters (for analysis and outlier frame detection)",
            {"cropping": False, "x1": 0, "x2": width, "y1": 0, "y2": height},
        ),
        (
            "# Refinement configuration (parameters from annotation dataset configuration "
            "also relevant in this stage)",
            {"corner2move2": [50, 50], "move2corner": True},
        ),
    ]
    header = (
        "# SYNTHETIC demo project written by liftpose-dlc (no network was trained: the\n"
        "# analysis output holds generated 2D poses, see README.txt)\n"
    )
    text = header + "\n".join(f"{comment}\n{block(data)}" for comment, data in sections)
    path.write_text(text)


def _rodrigues(R: np.ndarray) -> np.ndarray:
    """Rotation vector (axis times angle) of a rotation matrix."""
    cos = np.clip((np.trace(R) - 1.0) / 2.0, -1.0, 1.0)
    angle = float(np.arccos(cos))
    if angle < 1e-9:
        return np.zeros(3)
    if np.pi - angle < 1e-6:  # axis from the symmetric part
        w, v = np.linalg.eigh((R + R.T) / 2.0)
        return v[:, np.argmax(w)] * angle
    axis = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]])
    return axis / (2.0 * np.sin(angle)) * angle


def _calibration_toml(camera: dict) -> str:
    def fmt(values: Any) -> str:
        arr = np.asarray(values, dtype=float)
        if arr.ndim == 2:
            return "[" + ", ".join(fmt(row) for row in arr) + "]"
        return "[" + ", ".join(repr(float(v)) for v in arr) + "]"

    width, height = camera["size"]
    return (
        "# The liftpose-dlc demo camera (synthetic), aniposelib format: world -> camera,\n"
        "# rotation as a Rodrigues vector, millimetres, no lens distortion.\n"
        "[cam_0]\n"
        'name = "demo"\n'
        f"size = [{int(width)}, {int(height)}]\n"
        f"matrix = {fmt(camera['K'])}\n"
        "distortions = [0.0, 0.0, 0.0, 0.0, 0.0]\n"
        f"rotation = {fmt(_rodrigues(np.asarray(camera['R'])))}\n"
        f"translation = {fmt(camera['t'])}\n"
        "\n[metadata]\n"
        'software = "liftpose-dlc demo generator (synthetic)"\n'
    )


def _readme(seed: int, n_frames: int, fps: float, walks: int, frames: int, camera: dict) -> str:
    width, height = camera["size"]
    return f"""{_MARKER}: GENERATED (SYNTHETIC) DATA - NOT A REAL ANIMAL
====================================================================

Everything in this folder was generated by the liftpose-dlc demo generator
(liftpose_dlc.demo, "{SOFTWARE}") with seed {seed}. No animal was filmed and no
DeepLabCut network was trained or run.

* videos/{VIDEO_NAME}.mp4: a rendering of a generated fly-like hexapod ({n_frames} frames,
  {fps:g} fps, {width}x{height} px) walking with a tripod gait on a floor disc of 4 mm radius,
  seen by a fixed virtual camera from the side, 20 degrees above the ground.
* videos/{VIDEO_NAME}{SCORER}.h5: what a DeepLabCut analysis would give, in DLC's
  layout (key df_with_missing; columns scorer/bodyparts/coords with x, y, likelihood):
  the exact projection of the generated 3D with Gaussian noise (about 1.5-2 px), short runs
  of missed detections (likelihood < 0.6, displaced), and more misses for joints hidden
  behind the body. The scorer name imitates DLC's naming only.
* config.yaml: a DeepLabCut single-animal project config for these 30 bodyparts
  (6 legs x Coxa, Femur, Tibia, Tarsus, Claw; the names and order of DeepFly3D's fly data).
* synthetic-3d/{VIDEO_NAME}_ground_truth.npz: the exact 3D of the video's walk, in mm, in the
  camera frame (points3d_camera) and the world frame (points3d_world, z up, ground at 0),
  with the camera (K, R, t) - the reference against which lifted 3D can be scored.
* synthetic-3d/training_library.npz: {walks} other generated walks ({frames} frames each, other
  animals, seeds ({seed}, 1, i)) for training a lifter; the video's walk is not among them.
* synthetic-3d/calibration.toml: the virtual camera in aniposelib's format.

Load the .npz files with numpy.load(path); they need no pickle.
The generator is kinematic: segment lengths are constant, claws do not slip during stance,
joints stay within limits and motion is smooth, but it is not a recording of a real fly.
"""
