"""Helpers of the napari plugin tests: tiny videos written with PyAV, small 3D poses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from liftpose_dlc.cameras import euler_to_matrix

# real data (../shared/data) used by the widget tests
OPENFIELD_H5 = "dlc/openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
OPENFIELD_VIDEO = "dlc/openfield/videos/m3v1mp4.mp4"
OPENFIELD_SKELETON = [["snout", "leftear"], ["snout", "rightear"], ["snout", "tailbase"]]
SLEAP_SLP = "sleap/centered_pair_predictions.slp"
SLEAP_VIDEO = "sleap/centered_pair_low_quality.mp4"

FLY_KEYPOINTS = [f"{leg}_{seg}" for leg in ("LF", "RF") for seg in ("coxa", "femur", "tibia")]
FLY_SKELETON = [
    ("LF_coxa", "LF_femur"),
    ("LF_femur", "LF_tibia"),
    ("RF_coxa", "RF_femur"),
    ("RF_femur", "RF_tibia"),
]


def frame_value(index: int) -> int:
    """The grey level that encodes frame ``index`` in the test videos."""
    return (index * 6) % 256


def write_video(path: Path, n_frames: int = 40, width: int = 64, height: int = 48) -> Path:
    """An H.264 mp4 (keyframe every 10 frames, B-frames) whose frame k is grey ``6 k``."""
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "5", "g": "10", "x264-params": "scenecut=0:bframes=2:b-adapt=0"}
        for k in range(n_frames):
            image = np.full((height, width, 3), frame_value(k), np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_mkv(path: Path, n_frames: int = 30, width: int = 32, height: int = 24) -> Path:
    """A lossless FFV1 .mkv (no frame count in its metadata) whose frame k is grey ``6 k``."""
    av = pytest.importorskip("av")
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "bgr0"
        stream.options = {"g": "10"}
        for k in range(n_frames):
            image = np.full((height, width, 3), frame_value(k), np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


# ------------------------------------------------------------------ small lifters
MOUSE_KEYPOINTS = ["snout", "leftear", "rightear", "tailbase"]
#: A mouse's head and tail base (mm, body frame: x forward, y left, z up).
MOUSE_TEMPLATE = np.array([[30.0, 0, 0], [15, 8, 5], [15, -8, 5], [-40, 0, 0]])


def rigid_library(
    template: np.ndarray,
    n_frames: int,
    *,
    focal: float,
    center: tuple[float, float],
    depth: float,
    spread: tuple[float, float],
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Random rigid motions of a template seen from above by a pinhole camera.

    Returns the 2D projections ``(n, J, 2)`` in pixels and the 3D in the camera frame
    ``(n, J, 3)`` (x right, y down, z away from the camera), with a little size jitter and
    shape noise so the lifter does not see a perfectly rigid body.
    """
    rng = np.random.default_rng(seed)
    scale = np.abs(template).max()
    points = np.empty((n_frames, len(template), 3))
    for i in range(n_frames):
        yaw_pitch_roll = [rng.uniform(0, 2 * np.pi), rng.normal(0, 0.2), rng.normal(0, 0.2)]
        rotation = euler_to_matrix(yaw_pitch_roll, "ZYX", degrees=False)
        body = template * rng.uniform(0.9, 1.1) + rng.normal(0, 0.02 * scale, template.shape)
        p = body @ rotation.T
        p[:, 2] *= -1  # the body's up points towards the camera
        p += [rng.uniform(-spread[0], spread[0]), rng.uniform(-spread[1], spread[1]), depth]
        points[i] = p
    uv = focal * points[..., :2] / points[..., 2:] + np.asarray(center)
    return uv, points


def train_small_lifter(
    keypoints: list[str],
    root: str,
    uv: np.ndarray,
    xyz: np.ndarray,
    epochs: int = 3,
):
    """A small lifter (width 64, one stage) trained for a few epochs, without augmentation.

    Trained on one CPU thread: on a busy machine torch's threads make this 20 times slower.
    """
    import torch

    from liftpose_dlc.lifter.lifter import Lifter

    lifter = Lifter(
        keypoints,
        roots=[root],
        target_sets=[[k for k in keypoints if k != root]],
        linear_size=64,
        num_stage=1,
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny network: threads only fight over the CPU
    try:
        return lifter.fit(uv, xyz, epochs=epochs, augment=None, verbose=False, device="cpu")
    finally:
        torch.set_num_threads(threads)


def mouse_lifter():
    """A lifter for DeepLabCut's openfield mouse (640 x 480 top view)."""
    uv, xyz = rigid_library(
        MOUSE_TEMPLATE, 3000, focal=500.0, center=(320, 240), depth=600.0, spread=(330, 250)
    )
    return train_small_lifter(MOUSE_KEYPOINTS, "snout", uv, xyz)


def fly_lifter(keypoints: list[str], root: str):
    """A lifter for SLEAP's centered-pair flies (384 x 384), on a made-up 3D fly shape."""
    rng = np.random.default_rng(7)
    template = rng.normal(0.0, 1.0, size=(len(keypoints), 3)) * [1.2, 0.8, 0.3]
    template -= template[keypoints.index(root)]
    uv, xyz = rigid_library(
        template, 3000, focal=4000.0, center=(192, 192), depth=100.0, spread=(3.5, 3.5), seed=1
    )
    return train_small_lifter(keypoints, root, uv, xyz)
