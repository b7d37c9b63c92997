"""Helpers of the napari plugin tests: tiny videos written with PyAV, small 3D poses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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
