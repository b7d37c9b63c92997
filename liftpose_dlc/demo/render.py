"""Render a generated walk as a video: the skeleton seen by the demo camera, drawn with numpy.

Frames are drawn in numpy (anti-aliased capsules for the leg segments, shaded ellipses for the
body, painted far to near) over a background drawn once (the arena floor, a grid and a caption
saying that the video is synthetic), and encoded to H.264 (MPEG-4 Part 2 where the encoder is
missing) with PyAV. The video has exactly one frame per pose frame, at the poses' frame rate.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from liftpose_dlc._filesystem import atomic_path
from liftpose_dlc.demo.scene import project_points, world_to_camera
from liftpose_dlc.errors import LiftPoseError, MissingDependencyError

__all__ = ["LEG_COLOURS", "render_walk_video", "render_frames", "write_video", "read_video_info"]

#: RGB colour of each leg, in the order of :data:`~liftpose_dlc.demo.generator.LEGS`.
LEG_COLOURS: tuple[tuple[int, int, int], ...] = (
    (255, 99, 71),  # LF tomato
    (255, 190, 60),  # LM amber
    (120, 220, 90),  # LH green
    (80, 170, 255),  # RF blue
    (190, 120, 255),  # RM violet
    (255, 110, 200),  # RH pink
)
_BODY_COLOURS = ((150, 110, 70), (140, 120, 90), (170, 150, 110))  # head, thorax, abdomen
_BACKGROUND = (14, 16, 22)
_FLOOR = (34, 38, 48)
_GRID = (52, 58, 72)
# segment half-widths in mm: coxa, femur, tibia, tarsus
_SEGMENT_RADIUS_MM = (0.07, 0.06, 0.045, 0.03)


def import_av() -> Any:
    """The ``av`` (PyAV) module; :class:`MissingDependencyError` when it is not installed."""
    try:
        import av
    except ImportError as err:  # pragma: no cover - exercised only without PyAV
        raise MissingDependencyError(
            "writing and reading the demo video needs PyAV: pip install av"
        ) from err
    return av


# ------------------------------------------------------------------ drawing primitives
def _draw_capsule(
    img: np.ndarray, p0: np.ndarray, p1: np.ndarray, radius: float, colour: np.ndarray
) -> None:
    """Blend an anti-aliased thick line with round caps into ``img`` (H, W, 3 float32)."""
    h, w = img.shape[:2]
    x0 = int(max(0, np.floor(min(p0[0], p1[0]) - radius - 1)))
    x1 = int(min(w, np.ceil(max(p0[0], p1[0]) + radius + 2)))
    y0 = int(max(0, np.floor(min(p0[1], p1[1]) - radius - 1)))
    y1 = int(min(h, np.ceil(max(p0[1], p1[1]) + radius + 2)))
    if x1 <= x0 or y1 <= y0:
        return
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] - p0[0]
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] - p0[1]
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    length2 = dx * dx + dy * dy
    if length2 > 1e-12:
        s = np.clip((xs * dx + ys * dy) / length2, 0.0, 1.0)
        ex, ey = xs - s * dx, ys - s * dy
    else:
        ex, ey = xs + 0.0 * ys, ys + 0.0 * xs
    alpha = np.clip(radius + 0.5 - np.sqrt(ex * ex + ey * ey), 0.0, 1.0)[..., None]
    region = img[y0:y1, x0:x1]
    region += alpha * (colour - region)


def _draw_ellipse(
    img: np.ndarray, centre: np.ndarray, shape: np.ndarray, colour: np.ndarray
) -> None:
    """Blend a shaded filled ellipse ``{x: (x-c)^T shape^-1 (x-c) <= 1}`` into ``img``."""
    h, w = img.shape[:2]
    half = np.sqrt(np.maximum(np.diag(shape), 0.0)) + 2.0
    x0, x1 = int(max(0, centre[0] - half[0])), int(min(w, centre[0] + half[0] + 1))
    y0, y1 = int(max(0, centre[1] - half[1])), int(min(h, centre[1] + half[1] + 1))
    if x1 <= x0 or y1 <= y0:
        return
    try:
        inv = np.linalg.inv(shape)
    except np.linalg.LinAlgError:
        return
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] - centre[0]
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] - centre[1]
    q = inv[0, 0] * xs * xs + 2.0 * inv[0, 1] * xs * ys + inv[1, 1] * ys * ys
    minor = float(np.sqrt(max(np.linalg.eigvalsh(shape)[0], 1e-6)))
    r = np.sqrt(q)
    alpha = np.clip((1.0 - r) * minor + 0.5, 0.0, 1.0)[..., None]
    # a dome-like shading, lit from above-left
    shade = 0.55 + 0.45 * np.sqrt(np.clip(1.0 - q, 0.0, 1.0))
    shade = shade - 0.12 * np.clip((xs + ys) / (2.0 * minor + 1e-6), -1.0, 1.0)
    region = img[y0:y1, x0:x1]
    region += alpha * (colour * shade[..., None] - region)


def _projected_ellipses(
    centres: np.ndarray, axes: np.ndarray, camera: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Image ellipses of world ellipsoids under the camera's local affine approximation."""
    K, R, t = (np.asarray(camera[k], dtype=float) for k in ("K", "R", "t"))
    c_cam = world_to_camera(centres, R, t)  # (..., 3)
    z = c_cam[..., 2]
    jac = np.zeros((*c_cam.shape[:-1], 2, 3))
    jac[..., 0, 0] = K[0, 0] / z
    jac[..., 1, 1] = K[1, 1] / z
    jac[..., 0, 2] = -K[0, 0] * c_cam[..., 0] / z**2
    jac[..., 1, 2] = -K[1, 1] * c_cam[..., 1] / z**2
    ja = jac @ R @ axes  # (..., 2, 3)
    return project_points(centres, camera), ja @ np.swapaxes(ja, -1, -2)


# --------------------------------------------------------------------------- frames
def _background(camera: dict, arena_radius: float, caption: Sequence[str]) -> np.ndarray:
    width, height = camera["size"]
    img = np.empty((height, width, 3), dtype=np.float32)
    img[:] = _BACKGROUND
    # the floor: a disc and a 1 mm grid, projected
    ring = np.linspace(0.0, 2.0 * np.pi, 97)
    rim = arena_radius * np.column_stack([np.cos(ring), np.sin(ring), np.zeros_like(ring)])
    rim_px = project_points(rim, camera)
    floor = np.asarray(_FLOOR, dtype=np.float32)
    # fill the disc: intersect each pixel's line of sight with the ground plane
    K, R, t = (np.asarray(camera[k], dtype=float) for k in ("K", "R", "t"))
    eye = -R.T @ t
    yy, xx = np.mgrid[0:height, 0:width]
    rays = np.stack([xx + 0.5, yy + 0.5, np.ones_like(xx)], -1) @ np.linalg.inv(K).T @ R
    with np.errstate(divide="ignore", invalid="ignore"):
        s = -eye[2] / rays[..., 2]
        ground = eye[:2] + s[..., None] * rays[..., :2]
        inside = (s > 0) & (np.hypot(ground[..., 0], ground[..., 1]) < arena_radius)
    img[inside] = floor
    grid = np.asarray(_GRID, dtype=np.float32)
    n = int(np.floor(arena_radius))
    for k in range(-n, n + 1):
        half = np.sqrt(max(arena_radius**2 - k**2, 0.0))
        for a, b in (((k, -half, 0.0), (k, half, 0.0)), ((-half, k, 0.0), (half, k, 0.0))):
            p = project_points(np.array([a, b]), camera)
            _draw_capsule(img, p[0], p[1], 0.6, grid)
    for i in range(len(rim_px) - 1):
        _draw_capsule(img, rim_px[i], rim_px[i + 1], 1.0, grid * 1.4)
    if caption:
        _draw_text(img, caption)
    return img


def _draw_text(img: np.ndarray, lines: Sequence[str]) -> None:
    """Write ``lines`` in the top-left corner (matplotlib's Agg renders the glyphs)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    height, width = img.shape[:2]
    fig = Figure(figsize=(width / 100.0, height / 100.0), dpi=100)
    fig.patch.set_alpha(0.0)
    canvas = FigureCanvasAgg(fig)
    for i, line in enumerate(lines):
        fig.text(
            8 / width,
            1.0 - (8 + 15 * i) / height,
            line,
            color="white",
            fontsize=8.5,
            va="top",
            ha="left",
            family="DejaVu Sans",
        )
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba(), dtype=np.float32)[:height, :width]
    alpha = rgba[..., 3:4] / 255.0
    img += alpha * (np.float32(225.0) - img)


def render_frames(
    points: np.ndarray,
    camera: dict,
    *,
    leg_edges: Sequence[tuple[int, int]],
    edge_colours: np.ndarray,
    edge_radius_mm: np.ndarray,
    ellipsoids: tuple[np.ndarray, np.ndarray] | None = None,
    arena_radius: float = 4.0,
    caption: Sequence[str] = (),
) -> np.ndarray:
    """Draw every frame of a 3D skeleton seen by ``camera``; returns ``(n, H, W, 3)`` uint8.

    Parameters
    ----------
    points
        ``(n_frames, n_points, 3)`` world points.
    camera
        As returned by :func:`~liftpose_dlc.demo.scene.demo_camera`.
    leg_edges
        Pairs of point indices drawn as capsules.
    edge_colours
        ``(n_edges, 3)`` RGB colours.
    edge_radius_mm
        ``(n_edges,)`` half-widths in mm (scaled by the camera's focal length and depth).
    ellipsoids
        ``(centres (n_frames, E, 3), axes (n_frames, E, 3, 3))`` body parts drawn as shaded
        ellipses (colours: head, thorax, abdomen), or None.
    arena_radius
        Radius of the floor disc drawn in the background (mm).
    caption
        Lines of text written in the top-left corner of every frame.
    """
    points = np.asarray(points, dtype=float)
    n_frames = points.shape[0]
    width, height = camera["size"]
    if width % 2 or height % 2:
        raise LiftPoseError(f"the video size must be even for H.264, got {width}x{height}")
    background = _background(camera, arena_radius, caption)
    px = project_points(points, camera).astype(np.float32)
    depth = world_to_camera(points, camera["R"], camera["t"])[..., 2]
    focal = float(np.asarray(camera["K"])[0, 0])
    edges = np.asarray(leg_edges, dtype=int).reshape(-1, 2)
    edge_depth = depth[:, edges].mean(-1)  # (T, E)
    edge_px_radius = np.asarray(edge_radius_mm)[None] * focal / edge_depth
    colours = np.asarray(edge_colours, dtype=np.float32)
    joint_colours = np.minimum(colours * 1.25 + 30.0, 255.0)
    if ellipsoids is not None:
        e_centre, e_shape = _projected_ellipses(*ellipsoids, camera)
        e_depth = world_to_camera(ellipsoids[0], camera["R"], camera["t"])[..., 2]
        n_ell = e_depth.shape[1]
        body_colours = np.asarray(_BODY_COLOURS, dtype=np.float32)
    else:
        n_ell = 0
    # only the region around the animal changes: draw there, on a copy of the background
    lo = px.min(axis=1) - edge_px_radius.max(axis=1)[:, None]
    hi = px.max(axis=1) + edge_px_radius.max(axis=1)[:, None]
    if n_ell:
        reach = np.sqrt(np.maximum(np.diagonal(e_shape, axis1=-2, axis2=-1), 0.0))
        lo = np.minimum(lo, (e_centre - reach).min(axis=1))
        hi = np.maximum(hi, (e_centre + reach).max(axis=1))
    lo = np.clip(np.floor(lo) - 4, 0, [width, height]).astype(int)
    hi = np.clip(np.ceil(hi) + 4, 0, [width, height]).astype(int)
    background_u8 = np.clip(background, 0.0, 255.0).astype(np.uint8)
    frames = np.empty((n_frames, height, width, 3), dtype=np.uint8)
    for f in range(n_frames):
        frames[f] = background_u8
        (x0, y0), (x1, y1) = lo[f], hi[f]
        if x1 <= x0 or y1 <= y0:
            continue
        roi = background[y0:y1, x0:x1].copy()
        shift = np.array([x0, y0], dtype=np.float32)
        order_keys = [(edge_depth[f, e], 0, e) for e in range(len(edges))]
        order_keys += [(e_depth[f, e], 1, e) for e in range(n_ell)]
        for _, kind, e in sorted(order_keys, reverse=True):  # far to near
            if kind == 0:
                a, b = px[f, edges[e, 0]] - shift, px[f, edges[e, 1]] - shift
                r = float(edge_px_radius[f, e])
                _draw_capsule(roi, a, b, r, colours[e])
                _draw_capsule(roi, b, b, r * 0.6 + 0.5, joint_colours[e])
            else:
                _draw_ellipse(roi, e_centre[f, e] - shift, e_shape[f, e], body_colours[e % 3])
        np.clip(roi, 0.0, 255.0, out=roi)
        frames[f, y0:y1, x0:x1] = roi.astype(np.uint8)
    return frames


def write_video(
    frames: np.ndarray, path: str | os.PathLike, *, fps: float, overwrite: bool = False
) -> Path:
    """Encode ``(n, H, W, 3)`` uint8 RGB frames to an mp4 with PyAV (H.264, or MPEG-4 Part 2).

    The video has a key frame every 10 frames and no B-frames, so that readers can seek to any
    frame cheaply and count frames exactly.

    Raises
    ------
    MissingDependencyError
        If PyAV is not installed.
    OutputExistsError
        If ``path`` exists and ``overwrite`` is False.
    """
    av = import_av()
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise LiftPoseError(f"frames must be (n, height, width, 3) uint8, got {frames.shape}")
    rate = Fraction(float(fps)).limit_denominator(1001)
    codecs = av.codecs_available
    codec = "libx264" if "libx264" in codecs else "mpeg4"
    path = Path(path)
    with (
        atomic_path(path, overwrite=overwrite) as tmp,
        av.open(str(tmp), mode="w", format="mp4") as container,
    ):
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = 10
        stream.codec_context.max_b_frames = 0
        if codec == "libx264":
            stream.options = {"crf": "20", "preset": "veryfast", "tune": "animation"}
        else:
            stream.codec_context.bit_rate = 4_000_000
        for frame in frames:
            packet = stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24"))
            container.mux(packet)
        container.mux(stream.encode(None))
    return path


def read_video_info(path: str | os.PathLike) -> dict[str, Any]:
    """Decode a video completely and return its ``n_frames``, ``width``, ``height`` and ``fps``."""
    av = import_av()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        n = sum(1 for _ in container.decode(stream))
        return {
            "n_frames": n,
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "fps": float(stream.average_rate) if stream.average_rate else None,
        }


def render_walk_video(
    walk: Any,
    camera: dict,
    path: str | os.PathLike,
    *,
    caption: Sequence[str] = (),
    arena_radius: float = 4.0,
    overwrite: bool = False,
) -> Path:
    """Render a :class:`~liftpose_dlc.demo.generator.FlyWalk` as an mp4 seen by ``camera``.

    Parameters
    ----------
    walk
        The walk (its first 30 points are the legs; its ellipsoids are the body).
    camera
        As returned by :func:`~liftpose_dlc.demo.scene.demo_camera`.
    path
        The mp4 to write.
    caption
        Lines of text written on every frame (say there that the video is synthetic).
    arena_radius
        Radius of the floor disc drawn in the background (mm).
    overwrite
        Replace ``path`` if it exists.

    Returns
    -------
    pathlib.Path
        ``path``; the video has ``walk.n_frames`` frames of ``camera["size"]`` at ``walk.fps``.
    """
    from liftpose_dlc.demo.generator import LEGS, SEGMENTS

    per_leg = len(SEGMENTS)
    edges, colours, radii = [], [], []
    for leg in range(len(LEGS)):
        for s in range(per_leg - 1):
            edges.append((leg * per_leg + s, leg * per_leg + s + 1))
            colours.append(LEG_COLOURS[leg])
            radii.append(_SEGMENT_RADIUS_MM[s] * walk.morphology.body_length / 2.6)
    frames = render_frames(
        walk.points,
        camera,
        leg_edges=edges,
        edge_colours=np.asarray(colours, dtype=np.float32),
        edge_radius_mm=np.asarray(radii),
        ellipsoids=walk.ellipsoids(),
        arena_radius=arena_radius,
        caption=caption,
    )
    return write_video(frames, path, fps=walk.fps, overwrite=overwrite)
