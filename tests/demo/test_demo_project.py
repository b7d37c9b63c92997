"""The generated sample DeepLabCut project: files, formats, and the overwrite rules."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import tables
import yaml

from liftpose_dlc.demo.generator import LEG_KEYPOINTS, SOFTWARE, fly_skeleton, simulate_walk
from liftpose_dlc.demo.project import (
    PROJECT_NAME,
    SCORER,
    DemoProject,
    _rodrigues,
    make_demo_project,
)
from liftpose_dlc.demo.scene import world_to_camera
from liftpose_dlc.errors import MissingFileError, OutputExistsError

pytest.importorskip("av")

N_FRAMES = 40


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoProject:
    out = tmp_path_factory.mktemp("demo")
    return make_demo_project(out, n_frames=N_FRAMES, seed=3, library_walks=2, library_frames=150)


def test_layout_and_names(demo):
    root = demo.project_dir
    assert root.name == PROJECT_NAME == "demofly-liftpose-2026-11-25"
    assert demo.config_path == root / "config.yaml"
    assert demo.video_path == root / "videos" / "fly_walk.mp4"
    assert demo.analysis_path.name == "fly_walkDLC_resnet50_demoflyNov25shuffle1_100000.h5"
    assert demo.analysis_path.parent == root / "videos"
    for p in (demo.video_path, demo.analysis_path, demo.ground_truth_path, demo.library_path):
        assert p.is_file()
    assert demo.keypoints == list(LEG_KEYPOINTS)
    assert (demo.seed, demo.fps, demo.n_frames) == (3, 100.0, N_FRAMES)
    # no temporary folders left behind
    assert [p.name for p in root.parent.iterdir()] == [PROJECT_NAME]


def test_config_is_a_dlc_project_config(demo):
    cfg = yaml.safe_load(demo.config_path.read_text())
    assert cfg["Task"] == "demofly"
    assert cfg["scorer"] == "liftpose"
    assert cfg["date"] == "Nov25"
    assert cfg["multianimalproject"] is False
    assert cfg["project_path"] == str(demo.project_dir)
    assert cfg["bodyparts"] == demo.keypoints
    assert cfg["video_sets"] == {str(demo.video_path): {"crop": "0, 640, 0, 480"}}
    assert cfg["skeleton"] == [list(e) for e in fly_skeleton()]
    assert cfg["pcutoff"] == 0.6
    assert cfg["TrainingFraction"] == [0.95]
    assert cfg["iteration"] == 0
    assert cfg["snapshotindex"] == -1
    assert cfg["default_net_type"] == "resnet_50"
    assert {"dotsize", "colormap", "alphavalue", "cropping", "numframes2pick"} <= set(cfg)
    # the scorer name of the analysis file is what DLC derives from Task and date
    assert f"DLC_resnet50_{cfg['Task']}{cfg['date']}shuffle1_100000" == SCORER
    assert "SYNTHETIC" in demo.config_path.read_text().splitlines()[0]


def test_analysis_file_has_dlc_layout_and_the_noisy_projection(demo):
    df = pd.read_hdf(demo.analysis_path)
    assert df.shape == (N_FRAMES, 90)
    assert df.columns.names == ["scorer", "bodyparts", "coords"]
    assert list(df.columns.get_level_values("scorer").unique()) == [SCORER]
    assert list(df.columns.get_level_values("bodyparts").unique()) == demo.keypoints
    assert list(df.columns[:3].get_level_values("coords")) == ["x", "y", "likelihood"]
    assert list(df.index) == list(range(N_FRAMES))
    assert all(df.dtypes == np.float64)
    with pd.HDFStore(demo.analysis_path, mode="r") as store:
        assert store.keys() == ["/df_with_missing"]
        assert store.get_storer("df_with_missing").format_type == "fixed"
    with tables.open_file(demo.analysis_path) as h5:  # no pickled object arrays
        for leaf in h5.walk_nodes("/", classname="Leaf"):
            assert not isinstance(leaf, tables.VLArray), leaf
    x = df.xs("x", level="coords", axis=1).to_numpy()
    y = df.xs("y", level="coords", axis=1).to_numpy()
    lik = df.xs("likelihood", level="coords", axis=1).to_numpy()
    assert lik.min() > 0
    assert lik.max() <= 1
    with np.load(demo.ground_truth_path) as z:
        exact = z["points2d"]
    err = np.hypot(x - exact[..., 0], y - exact[..., 1])
    assert np.median(err[lik > 0.9]) < 4.0
    assert 0.0 < (lik < 0.6).mean() < 0.25
    assert x.min() >= 0
    assert x.max() <= 639
    assert y.min() >= 0
    assert y.max() <= 479


def test_ground_truth_is_the_video_walk_in_the_camera_frame(demo):
    with np.load(demo.ground_truth_path, allow_pickle=False) as z:
        world, cam3d = z["points3d_world"], z["points3d_camera"]
        assert [str(k) for k in z["keypoint_names"]] == demo.keypoints
        assert str(z["generator"]) == SOFTWARE
        assert int(z["seed"]) == 3
        np.testing.assert_array_equal(z["image_size_wh"], [640, 480])
    walk = simulate_walk(N_FRAMES, seed=3)
    np.testing.assert_allclose(world, walk.points)
    np.testing.assert_allclose(cam3d, world_to_camera(world, demo.camera["R"], demo.camera["t"]))
    gt = demo.ground_truth()
    assert gt.data.shape == (N_FRAMES, 1, 30, 3)
    np.testing.assert_allclose(gt.data[:, 0], cam3d)
    assert gt.source.software == SOFTWARE
    assert 55 < gt.data[..., 2].mean() < 65  # about 60 mm in front of the camera
    np.testing.assert_allclose(demo.ground_truth("world").data[:, 0], world)


def test_training_library_is_separate_from_the_video_walk(demo):
    lib = demo.training_library()
    assert lib.data.shape == (150, 2, 30, 3)
    assert lib.individuals == ["walk_0", "walk_1"]
    video_walk = demo.ground_truth("world").data[:, 0]
    for i in range(2):
        assert not np.allclose(lib.data[:N_FRAMES, i], video_walk)
    cam = demo.training_library("camera")
    np.testing.assert_allclose(
        cam.data, world_to_camera(lib.data, demo.camera["R"], demo.camera["t"])
    )
    with np.load(demo.library_path, allow_pickle=False) as z:
        np.testing.assert_array_equal(z["walk_seeds"], [[3, 1, 0], [3, 1, 1]])


def test_video_matches_the_poses(demo):
    from liftpose_dlc.demo.render import read_video_info

    assert read_video_info(demo.video_path) == {
        "n_frames": N_FRAMES,
        "width": 640,
        "height": 480,
        "fps": 100.0,
    }


def test_readme_says_the_data_is_generated(demo):
    text = demo.readme_path.read_text()
    assert "SYNTHETIC" in text
    assert "GENERATED" in text
    assert "seed 3" in text
    assert SOFTWARE in text


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is in Python 3.11+")
def test_calibration_toml_holds_the_camera(demo):
    import tomllib

    calib = tomllib.loads(demo.calibration_path.read_text())["cam_0"]
    np.testing.assert_allclose(calib["matrix"], demo.camera["K"])
    np.testing.assert_allclose(calib["translation"], demo.camera["t"])
    assert calib["size"] == [640, 480]
    rvec = np.asarray(calib["rotation"])
    angle = np.linalg.norm(rvec)
    k = rvec / angle
    skew = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    R = np.eye(3) + np.sin(angle) * skew + (1 - np.cos(angle)) * skew @ skew
    np.testing.assert_allclose(R, demo.camera["R"], atol=1e-12)


def test_rodrigues_near_half_turn():
    R = np.diag([1.0, -1.0, -1.0])  # 180 degrees about x
    np.testing.assert_allclose(np.abs(_rodrigues(R)), [np.pi, 0, 0], atol=1e-9)
    np.testing.assert_allclose(_rodrigues(np.eye(3)), 0.0)


def test_from_dir_reopens_the_project(demo):
    again = DemoProject.from_dir(demo.project_dir)
    assert again.analysis_paths == demo.analysis_paths
    np.testing.assert_array_equal(again.camera["K"], demo.camera["K"])
    assert again.camera["size"] == (640, 480)
    with pytest.raises(MissingFileError, match="not a complete demo project"):
        DemoProject.from_dir(demo.project_dir.parent)


def test_existing_project_is_not_overwritten_without_permission(tmp_path):
    first = make_demo_project(tmp_path, n_frames=5, library_walks=1, library_frames=20, video=False)
    marker = first.project_dir / "user_file.txt"
    marker.write_text("keep me?")
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        make_demo_project(tmp_path, n_frames=5, library_walks=1, library_frames=20, video=False)
    assert marker.exists()
    second = make_demo_project(
        tmp_path, n_frames=6, library_walks=1, library_frames=20, video=False, overwrite=True
    )
    assert second.n_frames == 6
    assert not marker.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [PROJECT_NAME]
    # video=False: everything but the mp4, which the config still names
    assert not second.video_path.exists()
    cfg = yaml.safe_load(second.config_path.read_text())
    assert list(cfg["video_sets"]) == [str(second.video_path)]


def test_a_foreign_folder_is_never_replaced(tmp_path):
    foreign = tmp_path / PROJECT_NAME
    foreign.mkdir()
    (foreign / "config.yaml").write_text("Task: mine\n")
    with pytest.raises(OutputExistsError, match="not a liftpose-dlc demo project"):
        make_demo_project(tmp_path, n_frames=5, library_frames=20, video=False, overwrite=True)
    assert (foreign / "config.yaml").read_text() == "Task: mine\n"


def test_same_seed_same_project(tmp_path):
    a = make_demo_project(
        tmp_path / "a", n_frames=8, seed=5, library_walks=1, library_frames=20, video=False
    )
    b = make_demo_project(
        tmp_path / "b", n_frames=8, seed=5, library_walks=1, library_frames=20, video=False
    )
    pd.testing.assert_frame_equal(pd.read_hdf(a.analysis_path), pd.read_hdf(b.analysis_path))
    with np.load(a.library_path) as za, np.load(b.library_path) as zb:
        np.testing.assert_array_equal(za["points3d_world"], zb["points3d_world"])
