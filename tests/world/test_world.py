"""World placement (issue 14 §1): floor, rays, depth from size, on the real DANNCE rig."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.io
from realdata import shared_file

from liftpose_dlc.cameras import Camera, orthographic_camera
from liftpose_dlc.errors import CalibrationError, ConfigError
from liftpose_dlc.io.calibration import cameras_from_dannce
from liftpose_dlc.world import (
    Floor,
    Placement,
    PlacementWarning,
    as_floor,
    depth_from_size,
    fit_floor,
    make_placement,
    place_at_depth,
    place_on_floor,
    root_heights,
    select_camera,
)

DANNCE = "3d/dannce_mouse1_predictions"
TAILBASE = 5  # Tail(base) in mouse22


@pytest.fixture(scope="module")
def dannce(shared_data):
    pred = scipy.io.loadmat(shared_file(shared_data, f"{DANNCE}/save_data_AVG.mat"))["pred"]
    cams = {}
    for i in range(1, 7):
        m = scipy.io.loadmat(
            shared_file(shared_data, f"{DANNCE}/calibration/kyle_cam{i}_params.mat")
        )
        params = {k: m[k] for k in ("K", "r", "t", "RDistort", "TDistort")}
        cams.update(cameras_from_dannce(params, camera_names=[f"Camera{i}"]))
    return pred.transpose(0, 2, 1), cams


def test_roots_on_their_rays_at_their_height_give_back_the_real_3d(dannce):
    pred, cams = dannce
    for cam in cams.values():
        uv = cam.project(pred)  # with the real lens distortion
        cam3 = cam.world_to_camera(pred)
        rel = cam3 - cam3[:, TAILBASE : TAILBASE + 1]
        world, roots = place_on_floor(rel, uv[:, TAILBASE], cam, pred[:, TAILBASE, 2])
        np.testing.assert_allclose(world, pred, atol=1e-6)
        np.testing.assert_allclose(roots, pred[:, TAILBASE], atol=1e-6)
        # the depth at which the pose's size matches its 2D is the true depth (no noise)
        z = depth_from_size(rel, uv, cam, TAILBASE)
        np.testing.assert_allclose(z, cam3[:, TAILBASE, 2], rtol=1e-8)
        placed, _ = place_at_depth(rel, uv[:, TAILBASE], cam, z)
        np.testing.assert_allclose(placed, cam3, atol=1e-6)


def test_root_height_and_floor_from_the_dannce_paws(dannce):
    pred, cams = dannce
    h = root_heights(pred, [TAILBASE])
    assert h.shape == (1,)
    assert 10.0 < h[0] < 13.0  # the tail base is ~11 mm above the floor
    floor = fit_floor(pred, up=[0, 0, 1])
    np.testing.assert_allclose(floor.normal, [0, 0, 1])
    assert 0.5 < floor.offset < 3.0  # paws at z~2.5 mm, the lowest ~1.5 mm: the floor z=0
    oriented = fit_floor(pred, cameras=cams)  # which way is up: towards the cameras
    assert np.degrees(np.arccos(oriented.normal @ [0, 0, 1])) < 5.0
    # the world's z = 0 and a plane through a point agree with the heights
    assert Floor().height([[0, 0, 7.0]])[0] == 7.0
    assert as_floor({"normal": [0, 0, 2], "point": [0, 0, 1]}).height([[5, 5, 3.0]])[0] == 2.0
    assert as_floor([0, 0, 1, -1]).offset == 1.0


def test_a_ray_that_meets_the_floor_behind_the_camera_is_nan(dannce):
    pred, cams = dannce
    cam = cams["Camera1"]
    uv = cam.project(pred[:3])
    above = Floor([0, 0, 1], cam.center[2] + 100.0)  # a floor above the camera
    with pytest.warns(PlacementWarning, match="3 of 3 roots"):
        world, _ = place_on_floor(np.zeros((3, 1, 3)), uv[:, TAILBASE], cam, 0.0, above)
    assert np.isnan(world).all()


def test_bad_floors_and_placements_raise():
    with pytest.raises(CalibrationError, match="normal"):
        Floor([0, 0, 0])
    with pytest.raises(CalibrationError, match="offset"):
        Floor([0, 0, 1], np.nan)
    with pytest.raises(CalibrationError, match="keys"):
        as_floor({"normal": [0, 0, 1]})
    with pytest.raises(CalibrationError, match="plane coefficients"):
        as_floor([1, 2, 3])
    with pytest.raises(ConfigError, match="at least 10 frames"):
        fit_floor(np.full((20, 4, 3), np.nan))
    cam = Camera(np.diag([500.0, 500.0, 1.0]), np.eye(3), [0, 0, 500])
    with pytest.raises(ConfigError, match="root_height"):
        Placement(cam, "floor")
    with pytest.raises(ConfigError, match="mode"):
        Placement(cam, "sky", root_height=1.0)
    with pytest.raises(CalibrationError, match="perspective"):
        Placement(orthographic_camera(), "size")
    with pytest.raises(ConfigError, match="needs the calibrated camera"):
        make_placement(None, "world")
    with pytest.raises(ConfigError, match="frame must be"):
        make_placement(None, "arena")
    with pytest.raises(ConfigError, match="no root heights"):
        make_placement(object(), "world", cam)
    assert make_placement(None, "camera") is None


def test_choosing_a_camera_of_a_real_calibration(shared_data):
    toml = shared_file(shared_data, "3d/sleap_anipose_mouse/calibration.toml")
    assert select_camera(toml, "mid").name == "mid"
    assert select_camera(toml, hint="minimal_top_proofread.slp").name == "top"
    with pytest.raises(CalibrationError, match="4 cameras"):
        select_camera(toml)
    with pytest.raises(CalibrationError, match="no camera 'front'"):
        select_camera(toml, "front")


def test_placement_keeps_nan_and_records_its_frame(dannce):
    pred, cams = dannce
    cam = cams["Camera2"]
    uv = cam.project(pred[:10])
    cam3 = cam.world_to_camera(pred[:10])
    rel = cam3 - cam3[:, TAILBASE : TAILBASE + 1]
    rel[4, 0] = np.nan
    world = Placement(cam, "floor", root_height=float(pred[0, TAILBASE, 2])).place(
        rel, uv, TAILBASE
    )
    assert np.isnan(world[4, 0]).all()
    assert np.isfinite(world[4, 1:]).all()
    np.testing.assert_allclose(world[0], pred[0], atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Placement(cam, "size").frame == "camera"
    assert "floor" in Placement(cam, "floor", root_height=1.0).describe()
