"""The demo camera, projection, occlusion and detector noise."""

from __future__ import annotations

import numpy as np
import pytest

from liftpose_dlc.demo.generator import simulate_walk
from liftpose_dlc.demo.scene import (
    _project_pinhole,
    add_detector_noise,
    demo_camera,
    occluded_by_body,
    project_points,
    world_to_camera,
)
from liftpose_dlc.errors import LiftPoseError


def test_demo_camera_is_a_proper_pinhole():
    cam = demo_camera((640, 480))
    assert cam["size"] == (640, 480)
    K, R, t = cam["K"], cam["R"], cam["t"]
    assert K.shape == R.shape == (3, 3)
    assert t.shape == (3,)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)
    # the point it looks at lands in the image centre, 60 mm in front of the camera
    target = np.array([0.0, 0.0, 0.5])
    np.testing.assert_allclose(project_points(target, cam), [320.0, 240.0], atol=1e-9)
    assert world_to_camera(target, R, t)[2] == pytest.approx(60.0)
    # side-ish view from above: the ground's up vector points up in the image (-y pixels)
    up = project_points(target + [0, 0, 1.0], cam) - project_points(target, cam)
    assert up[1] < 0
    assert abs(up[0]) < 1e-9
    # the camera centre is 20 degrees above the ground
    eye = -R.T @ t
    assert np.degrees(np.arcsin((eye[2] - 0.5) / 60.0)) == pytest.approx(20.0)


def test_projection_matches_the_pinhole_formula():
    cam = demo_camera()
    X = np.array([[1.0, -0.5, 0.2], [0.0, 2.0, 0.0]])
    Xc = X @ cam["R"].T + cam["t"]
    expected = np.column_stack(
        [
            cam["K"][0, 0] * Xc[:, 0] / Xc[:, 2] + cam["K"][0, 2],
            cam["K"][1, 1] * Xc[:, 1] / Xc[:, 2] + cam["K"][1, 2],
        ]
    )
    np.testing.assert_allclose(project_points(X, cam), expected)
    np.testing.assert_allclose(_project_pinhole(X, cam["K"], cam["R"], cam["t"]), expected)


def test_point_behind_the_camera_raises():
    cam = demo_camera()
    eye = -cam["R"].T @ cam["t"]
    behind = eye - cam["R"][2] * 5.0
    with pytest.raises(LiftPoseError, match="behind the camera"):
        project_points(behind, cam)


def test_generated_walk_projects_inside_the_image():
    cam = demo_camera()
    for seed in (0, 1, 2):
        walk = simulate_walk(300, seed=seed)
        xy = project_points(walk.points, cam)
        assert xy.shape == (300, 30, 2)
        assert xy[..., 0].min() > 20
        assert xy[..., 0].max() < 620
        assert xy[..., 1].min() > 20
        assert xy[..., 1].max() < 460
        # the fly is a sizeable object in the image: > 100 px across
        assert np.ptp(xy[0, :, 0]) > 100


def test_occlusion_by_an_ellipsoid():
    cam = demo_camera()
    eye = -cam["R"].T @ cam["t"]
    centre = np.array([0.0, 0.0, 0.5])
    axes = np.eye(3)[None, None] * 0.5  # a sphere of radius 0.5
    sight = (centre - eye) / np.linalg.norm(centre - eye)
    points = np.array([centre + 1.0 * sight, centre - 1.0 * sight, centre + [2.0, 0, 0]])[None]
    hidden = occluded_by_body(points, centre[None, None], axes, cam)
    assert hidden.tolist() == [[True, False, False]]


def test_occlusion_of_the_walk_is_partial():
    walk = simulate_walk(200, seed=0, body_points=True)
    hidden = occluded_by_body(walk.points[:, :30], *walk.ellipsoids(), demo_camera())
    assert hidden.shape == (200, 30)
    assert 0.05 < hidden.mean() < 0.5
    # claws are seldom hidden, thorax-coxa joints (under the body) often
    assert hidden[:, 4::5].mean() < hidden[:, ::5].mean()


def test_detector_noise_is_deterministic_and_dlc_like():
    rng = np.random.default_rng(0)
    xy = rng.uniform(100, 500, size=(2000, 30, 2))
    noisy, lik = add_detector_noise(xy, seed=1)
    noisy2, lik2 = add_detector_noise(xy, seed=1)
    np.testing.assert_array_equal(noisy, noisy2)
    np.testing.assert_array_equal(lik, lik2)
    assert noisy.shape == xy.shape
    assert lik.shape == (2000, 30)
    assert lik.min() > 0.0
    assert lik.max() <= 1.0
    low = lik < 0.6
    assert 0.01 < low.mean() < 0.04  # dropout_rate 0.02
    good = lik > 0.9
    assert good.mean() > 0.95
    err = noisy - xy
    # coxae: sigma 1.5 px; claws: 1.5 times that
    assert np.std(err[:, 0][good[:, 0]]) == pytest.approx(1.5, rel=0.1)
    assert np.std(err[:, 4][good[:, 4]]) == pytest.approx(2.25, rel=0.1)
    # a missed detection is far off
    assert np.median(np.linalg.norm(err[low], axis=-1)) > 8.0
    # misses come in runs of several frames
    runs = np.diff(np.flatnonzero(np.diff(low[:, 0].astype(int)) != 0))
    assert runs.size == 0 or np.mean(runs) > 1.5


def test_occluded_points_get_lower_likelihood():
    xy = np.full((3000, 2, 2), 200.0)
    occluded = np.zeros((3000, 2), dtype=bool)
    occluded[:, 1] = True
    _, lik = add_detector_noise(xy, seed=0, occluded=occluded)
    assert lik[:, 1].mean() < lik[:, 0].mean() - 0.1
    assert (lik[:, 1] < 0.6).mean() == pytest.approx(0.3, abs=0.05)
    assert lik[:, 1].max() <= 0.9


def test_detector_noise_rejects_bad_shapes():
    with pytest.raises(LiftPoseError, match="n_frames, n_points, 2"):
        add_detector_noise(np.zeros((10, 3)))
    with pytest.raises(LiftPoseError, match="dropout_rate"):
        add_detector_noise(np.zeros((10, 3, 2)), dropout_rate=1.5)
