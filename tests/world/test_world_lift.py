"""Lifting into the world (issue 14 §1) through lift_file and the CLI, on real 2D files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from realdata import shared_file
from wf_helpers import one_thread_fixture

from liftpose_dlc import lift_file
from liftpose_dlc.cli import main
from liftpose_dlc.errors import CalibrationError
from liftpose_dlc.io import load_poses
from liftpose_dlc.io.calibration import load_calibration
from liftpose_dlc.io.dlc import load_dlc
from liftpose_dlc.io.poses3d import load_poses_3d

one_torch_thread = pytest.fixture(autouse=True)(one_thread_fixture)

LIFTERS = Path(__file__).resolve().parents[1] / "data" / "lifters"
MOUSE = LIFTERS / "mouse_engine.safetensors"
FLY = LIFTERS / "fly_engine.safetensors"
OPENFIELD = "dlc/openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
SLP = "sleap/centered_pair_predictions.slp"
# a camera 600 mm above the arena looking straight down (x right, y down in the image), and
# one beside it: an aniposelib calibration.toml
TOML = """
[cam_0]
name = "top"
size = [640, 480]
matrix = [[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]]
distortions = [0.0, 0.0, 0.0, 0.0, 0.0]
rotation = [3.141592653589793, 0.0, 0.0]
translation = [0.0, 0.0, 600.0]

[cam_1]
name = "side"
size = [640, 480]
matrix = [[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]]
distortions = [0.0, 0.0, 0.0, 0.0, 0.0]
rotation = [1.5707963267948966, 0.0, 0.0]
translation = [0.0, 0.0, 600.0]

[metadata]
"""


@pytest.fixture
def setup(shared_data, tmp_path):
    src = tmp_path / Path(OPENFIELD).name
    src.symlink_to(shared_file(shared_data, OPENFIELD))
    toml = tmp_path / "calibration.toml"
    toml.write_text(TOML)
    return src, toml, load_calibration(toml)["top"]


def test_world_lift_puts_the_root_on_its_ray_at_its_height(setup, tmp_path):
    src, toml, top = setup
    plain = load_dlc(lift_file(src, MOUSE, pcutoff=0.9, verbose=False))
    out = lift_file(
        src,
        MOUSE,
        output=tmp_path / "world_3d.h5",
        pcutoff=0.9,
        frame="world",
        cameras=toml,
        camera="top",
        root_height=20.0,
        verbose=False,
    )
    world = load_dlc(out)
    assert world.frame == "world"
    assert plain.frame == "camera"
    assert world.provenance["placement"].startswith("floor: roots on the rays of top at 20")
    assert [float(v) for v in world.provenance["floor"].split(",")] == [0, 0, 1, 0]
    root = world.data[:, 0, 0]  # snout, the lifter's root
    ok = np.isfinite(root).all(-1)
    assert ok.sum() == np.isfinite(plain.data[:, 0, 0]).all(-1).sum() > 1000
    np.testing.assert_allclose(root[ok, 2], 20.0, atol=1e-9)
    # the root is where its 2D says: on the camera's ray through the tracked pixel
    uv = load_dlc(src).data[:, 0, 0]
    np.testing.assert_allclose(top.project(root[ok]), uv[ok], atol=1e-6)
    # the posture is the camera-frame lift, turned into the world
    rel = world.data[:, 0] - world.data[:, 0, 0:1]
    cam = plain.data[:, 0] - plain.data[:, 0, 0:1]
    np.testing.assert_allclose(rel, cam @ top.R, atol=1e-6)


def test_place_options_are_the_keywords_as_one_object(setup, tmp_path):
    from liftpose_dlc.errors import ConfigError
    from liftpose_dlc.world import PlaceOptions

    src, toml, _ = setup
    keywords = {"frame": "world", "cameras": toml, "camera": "top", "root_height": 20.0}
    by_keywords = lift_file(src, MOUSE, output=tmp_path / "k_3d.h5", verbose=False, **keywords)
    place = PlaceOptions(**keywords)
    assert place.placed
    by_object = lift_file(src, MOUSE, output=tmp_path / "o_3d.h5", verbose=False, place=place)
    a, b = load_dlc(by_keywords), load_dlc(by_object)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.provenance["placement"] == b.provenance["placement"]
    with pytest.raises(ConfigError, match="not both"):
        lift_file(src, MOUSE, output=tmp_path / "x_3d.h5", place=place, frame="world")
    with pytest.raises(TypeError, match="rooot_height"):
        lift_file(src, MOUSE, output=tmp_path / "y_3d.h5", rooot_height=1.0)
    assert not PlaceOptions().placed


def test_camera_frame_with_intrinsics_gives_an_absolute_depth(setup, tmp_path):
    src, toml, top = setup
    out = lift_file(
        src, MOUSE, pcutoff=0.9, frame="camera", cameras=toml, camera="top", verbose=False
    )
    poses = load_dlc(out)
    assert poses.frame == "camera"
    assert poses.provenance["placement"].startswith("size")
    depth = poses.data[:, 0, 0, 2]
    assert np.nanmin(depth) > 0  # in front of the camera, not at the origin
    with pytest.raises(CalibrationError, match="2 cameras"):
        lift_file(src, MOUSE, frame="world", cameras=toml, root_height=20.0, overwrite=True)


def test_sleap_input_world_lift_records_its_frame(shared_data, tmp_path):
    src = tmp_path / Path(SLP).name
    src.symlink_to(shared_file(shared_data, SLP))
    toml = tmp_path / "calibration.toml"
    toml.write_text(TOML)
    out = lift_file(
        src, FLY, frame="world", cameras=toml, camera="top", root_height=1.0, verbose=False
    )
    poses = load_poses_3d(out)
    assert poses.frame == "world"
    assert "placement" in poses.provenance
    assert load_poses(src).n_frames == poses.n_frames


def test_cli_world_lift(setup, capsys):
    src, toml, _ = setup
    assert main(["lift", str(src), "--model", str(MOUSE), "--frame", "world"]) == 2
    assert "--calibration" in capsys.readouterr().err
    # the engine's test lifter has no root heights: the error says what to do
    code = main(
        ["lift", str(src), "--model", str(MOUSE), "--frame", "world", "--calibration", str(toml)]
    )
    assert code == 1
    assert "camera=NAME" in capsys.readouterr().err
    code = main(
        [
            "lift", str(src), "--model", str(MOUSE), "--frame", "world", "--calibration",
            str(toml), "--camera", "top", "--root-height", "25", "--pcutoff", "0.9", "--quiet",
        ]
    )  # fmt: skip
    assert code == 0
    poses = load_dlc(src.with_name(src.stem + "_3d.h5"))
    assert poses.frame == "world"
    np.testing.assert_allclose(np.nanmax(poses.data[:, 0, 0, 2]), 25.0)
