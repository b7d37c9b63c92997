"""Rendering the walk to a video that PyAV reads back frame for frame."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from liftpose_dlc.demo import render
from liftpose_dlc.demo.generator import simulate_walk
from liftpose_dlc.demo.scene import demo_camera, project_points
from liftpose_dlc.errors import LiftPoseError, MissingDependencyError, OutputExistsError

av = pytest.importorskip("av")


def _decode(path):
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def test_video_has_one_frame_per_pose_frame_and_the_camera_size(tmp_path):
    walk = simulate_walk(37, seed=0, body_points=True)
    cam = demo_camera((320, 240))
    path = render.render_walk_video(walk, cam, tmp_path / "walk.mp4", caption=["SYNTHETIC"])
    info = render.read_video_info(path)
    assert info == {"n_frames": 37, "width": 320, "height": 240, "fps": 100.0}
    frames = _decode(path)
    assert frames.shape == (37, 240, 320, 3)
    # the fly is drawn where its points project: bright pixels near the claws, dark corners
    xy = project_points(walk.points[:, :30], cam)
    for f in (0, 36):
        near = [frames[f, int(round(y)), int(round(x))].max() for x, y in xy[f, 4::5]]
        assert np.median(near) > 90
    assert frames[:, -1, -1].max() < 40  # background corner


def test_frames_match_the_encoded_video(tmp_path):
    walk = simulate_walk(12, seed=1, body_points=True)
    cam = demo_camera((160, 120), field_of_view_mm=10.0)
    edges = [(i, i + 1) for i in range(0, 30, 5)]
    frames = render.render_frames(
        walk.points,
        cam,
        leg_edges=edges,
        edge_colours=np.full((len(edges), 3), 200.0),
        edge_radius_mm=np.full(len(edges), 0.05),
        ellipsoids=walk.ellipsoids(),
    )
    assert frames.shape == (12, 120, 160, 3)
    assert frames.dtype == np.uint8
    render.write_video(frames, tmp_path / "v.mp4", fps=25.0)
    decoded = _decode(tmp_path / "v.mp4")
    assert decoded.shape == frames.shape
    # lossy, but close
    assert np.abs(decoded.astype(float) - frames).mean() < 6.0
    assert render.read_video_info(tmp_path / "v.mp4")["fps"] == 25.0


def test_write_video_refuses_to_overwrite_and_checks_frames(tmp_path):
    frames = np.zeros((3, 16, 16, 3), dtype=np.uint8)
    path = render.write_video(frames, tmp_path / "v.mp4", fps=10)
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        render.write_video(frames, path, fps=10)
    render.write_video(frames[:2], path, fps=10, overwrite=True)
    assert render.read_video_info(path)["n_frames"] == 2
    with pytest.raises(LiftPoseError, match="uint8"):
        render.write_video(frames.astype(float), tmp_path / "w.mp4", fps=10)


def test_odd_video_size_is_refused():
    walk = simulate_walk(3, seed=0, body_points=True)
    with pytest.raises(LiftPoseError, match="even"):
        render.render_frames(
            walk.points,
            demo_camera((321, 240)),
            leg_edges=[(0, 1)],
            edge_colours=np.zeros((1, 3)),
            edge_radius_mm=np.ones(1),
        )


def test_missing_pyav_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(MissingDependencyError, match="pip install av"):
        render.write_video(np.zeros((1, 8, 8, 3), dtype=np.uint8), "unused.mp4", fps=10)


def test_timing_of_the_default_demo_video(tmp_path):
    """Generation + rendering of the demo's default 300 frames (printed, not asserted)."""
    t0 = time.perf_counter()
    c0 = time.process_time()
    walk = simulate_walk(300, seed=0, body_points=True)
    t1 = time.perf_counter()
    cam = demo_camera()
    path = render.render_walk_video(walk, cam, tmp_path / "demo.mp4", caption=["SYNTHETIC"])
    t2 = time.perf_counter()
    print(
        f"\ndemo video: generate 300 frames {t1 - t0:.3f} s, render + encode {t2 - t1:.2f} s "
        f"(wall), {time.process_time() - c0:.2f} s CPU in this process; "
        f"{path.stat().st_size / 1e6:.2f} MB"
    )
    assert render.read_video_info(path)["n_frames"] == 300
