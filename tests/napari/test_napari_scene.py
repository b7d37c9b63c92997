"""Scenes in a napari ViewerModel (no Qt): one time slider drives video, 2D and 3D layers."""

from __future__ import annotations

import numpy as np
import pytest
from napari_testdata import FLY_KEYPOINTS, FLY_SKELETON, frame_value

from liftpose_dlc import Poses
from napari_liftpose.layers import to_napari_3d
from napari_liftpose.scene import (
    AXIS_LABELS,
    add_depth_axis,
    add_layers,
    layer_by_name,
    scene_layers,
    scene_layout,
    with_depth_axis,
)

napari_components = pytest.importorskip("napari.components")

T, H, W = 10, 48, 64


def make_video(n_frames=T):
    video = np.zeros((n_frames, H, W, 3), np.uint8)
    for k in range(n_frames):
        video[k] = frame_value(k)
    return video


def make_poses(n_individuals=1, n_frames=T):
    rng = np.random.default_rng(3)
    data_2d = rng.uniform(5, 40, size=(n_frames, n_individuals, 6, 2))
    data_3d = rng.normal(0, 2, size=(n_frames, n_individuals, 6, 3))
    data_3d[..., 2] += 30
    data_3d[2, 0, 4] = np.nan  # a missing joint in frame 2
    data_2d[5, 0, 0] = np.nan  # a missing keypoint in frame 5
    individuals = [f"fly{i}" for i in range(n_individuals)]
    kwargs = dict(keypoints=FLY_KEYPOINTS, individuals=individuals, skeleton=FLY_SKELETON)
    return Poses(data_2d, **kwargs), Poses(data_3d, **kwargs)


def finite_rows(points):
    return points[np.isfinite(points).all(axis=-1)]


def test_single_animal_scene_follows_the_time_slider():
    poses_2d, poses_3d = make_poses()
    viewer = napari_components.ViewerModel()
    layers = add_layers(viewer, scene_layers(poses_2d, poses_3d, make_video()))
    assert [layer.name for layer in layers] == [
        "video",
        "bones 2D",
        "keypoints 2D",
        "bones 3D",
        "joints 3D",
        "limb legend",
    ]
    # the legend is shown in every frame: (depth, y, x) only
    assert [layer.ndim for layer in layers] == [4, 4, 4, 4, 4, 3]
    assert viewer.dims.nsteps[0] == T
    assert viewer.dims.axis_labels == AXIS_LABELS
    assert viewer.dims.ndisplay == 3
    assert viewer.dims.point[1] == 0.0  # depth slider on the video plane
    assert viewer.dims.current_step[0] == 0  # starts at the first frame

    video, bones_2d, keypoints_2d, bones_3d, joints_3d = layers[:5]
    for k in (0, 2, 5, T - 1):
        viewer.dims.set_current_step(0, k)
        # the video shows frame k, as a plane of depth 1
        assert video._data_view.shape == (1, H, W, 3)
        assert np.all(video._data_view == frame_value(k))
        # the 3D joints of frame k, in napari's (-z, y, x), NaN joints left out
        np.testing.assert_allclose(
            joints_3d._view_data, finite_rows(to_napari_3d(poses_3d.data[k, 0]))
        )
        # the 2D keypoints of frame k on the video plane: (depth 0, y, x)
        expected_2d = finite_rows(poses_2d.data[k, 0])[:, ::-1]
        np.testing.assert_allclose(keypoints_2d._view_data[:, 1:], expected_2d)
        np.testing.assert_array_equal(keypoints_2d._view_data[:, 0], 0.0)
        # bones of frame k only: 4, minus those with a missing end (frame 2: RF_femur in
        # 3D ends two bones; frame 5: LF_coxa in 2D ends one)
        assert len(bones_3d._view_indices) == (2 if k == 2 else 4)
        assert len(bones_2d._view_indices) == (3 if k == 5 else 4)

    # 2D display: the video and its keypoints at depth 0, and the 3D skeleton projected
    # along depth (its (y, x), the camera's view)
    viewer.dims.ndisplay = 2
    viewer.dims.set_current_step(0, 7)
    assert np.all(video._data_view == frame_value(7))
    assert video._data_view.shape == (H, W, 3)
    np.testing.assert_allclose(keypoints_2d._view_data, poses_2d.data[7, 0][:, ::-1])
    np.testing.assert_allclose(joints_3d._view_data, poses_3d.data[7, 0][:, [1, 0]])
    assert len(bones_3d._view_indices) == 4


def test_back_to_2d_shows_the_video_plane():
    poses_2d, poses_3d = make_poses()
    viewer = napari_components.ViewerModel()
    add_layers(viewer, scene_layers(poses_2d, poses_3d, make_video()))
    viewer.reset_view()
    viewer.scene.camera.center = (7.5, 20.0, 100.0)  # the 3D camera moved in depth
    viewer.dims.set_current_step(0, 4)
    viewer.dims.ndisplay = 2  # napari would put the depth slider at the camera's 7.5
    assert viewer.dims.point[1] == 0.0
    assert np.all(viewer.layers["video"]._data_view == frame_value(4))
    assert len(viewer.layers["keypoints 2D"]._view_data) == 6
    # the 2D overlays are drawn over the video plane in 3D
    assert viewer.layers["keypoints 2D"].blending == "translucent_no_depth"
    assert viewer.layers["joints 3D"].blending == "translucent"


def test_3d_skeleton_sits_beside_the_video_in_world_coordinates():
    poses_2d, poses_3d = make_poses()
    viewer = napari_components.ViewerModel()
    add_layers(viewer, scene_layers(poses_2d, poses_3d, make_video()))
    joints = viewer.layers["joints 3D"]
    world = np.array([joints.data_to_world(p) for p in joints.data])
    assert world[:, 3].min() > W  # right of the video
    assert world[:, 2].min() >= 0  # within the video's height
    assert world[:, 2].max() <= H
    # the layer data keep the real coordinates
    np.testing.assert_allclose(joints.data[0, 1:], to_napari_3d(poses_3d.data[0, 0, 0]))


def test_multi_animal_scene_one_3d_layer_pair_per_individual():
    poses_2d, poses_3d = make_poses(n_individuals=2)
    viewer = napari_components.ViewerModel()
    add_layers(viewer, scene_layers(poses_2d, poses_3d, make_video()))
    names = [layer.name for layer in viewer.layers]
    assert names == [
        "video",
        "bones 2D",
        "keypoints 2D",
        "bones 3D fly0",
        "joints 3D fly0",
        "bones 3D fly1",
        "joints 3D fly1",
        "individuals",
        "limb legend",
    ]
    keypoints_2d = viewer.layers["keypoints 2D"]
    assert set(keypoints_2d.features["individual"]) == {"fly0", "fly1"}
    viewer.dims.set_current_step(0, 4)
    for j, ind in enumerate(["fly0", "fly1"]):
        joints = viewer.layers[f"joints 3D {ind}"]
        np.testing.assert_allclose(joints._view_data, to_napari_3d(poses_3d.data[4, j]))
        assert set(joints.features["individual"]) == {ind}
    assert len(keypoints_2d._view_data) == 12  # 2 x 6 keypoints of frame 4
    x0 = viewer.layers["joints 3D fly0"].translate[3]
    x1 = viewer.layers["joints 3D fly1"].translate[3]
    assert x1 > x0  # side by side


def test_one_individual_selected():
    poses_2d, poses_3d = make_poses(n_individuals=2)
    layer_data = scene_layers(poses_2d, poses_3d, make_video(), individual="fly1")
    by_name = layer_by_name(layer_data)
    assert set(by_name) == {
        "video",
        "bones 2D",
        "keypoints 2D",
        "bones 3D",
        "joints 3D",
        "limb legend",
    }
    assert set(by_name["keypoints 2D"][1]["features"]["individual"]) == {"fly1"}


def test_video_longer_than_poses():
    poses_2d, poses_3d = make_poses(n_frames=6)
    layer_data = scene_layers(poses_2d, poses_3d, make_video(T))
    assert not scene_layout(T, (H, W), poses_3d, n_pose_frames=6).frames_match
    viewer = napari_components.ViewerModel()
    add_layers(viewer, layer_data)
    assert viewer.dims.nsteps[0] == T
    viewer.dims.set_current_step(0, 8)  # beyond the poses: video only
    assert np.all(viewer.layers["video"]._data_view == frame_value(8))
    assert len(viewer.layers["joints 3D"]._view_data) == 0


def test_3d_only_scene_without_video():
    _, poses_3d = make_poses()
    viewer = napari_components.ViewerModel()
    add_layers(viewer, scene_layers(poses_3d=poses_3d))
    assert viewer.dims.nsteps[0] == T
    joints = viewer.layers["joints 3D"]
    assert joints.translate.tolist() == [0.0, 0.0, 0.0, 0.0]
    viewer.dims.set_current_step(0, 3)
    np.testing.assert_allclose(joints._view_data, to_napari_3d(poses_3d.data[3, 0]))


def test_lazy_video_in_viewer_decodes_only_what_is_shown(video_path):
    from napari_liftpose.video import VideoArray

    poses_2d, poses_3d = make_poses(n_frames=40)
    with VideoArray(video_path, cache_size=8) as video:
        before = video.decoded_frames
        viewer = napari_components.ViewerModel()
        add_layers(viewer, scene_layers(poses_2d, poses_3d, video))
        assert viewer.dims.nsteps[0] == 40
        for k in (0, 1, 2, 25):
            viewer.dims.set_current_step(0, k)
            shown = viewer.layers["clip"]._data_view
            assert np.abs(shown.astype(int) - frame_value(k)).max() <= 3
        assert video.decoded_frames - before < 40  # never the whole video


# ------------------------------------------------------------------ layout


def test_scene_layout_places_each_individual_beside_the_video(fly_3d):
    layout = scene_layout(12, (48, 64), fly_3d, n_pose_frames=12)
    assert layout.n_frames == 12
    assert layout.frames_match
    assert list(layout.placements) == ["fly0", "fly1"]
    boxes = []
    for j, ind in enumerate(fly_3d.individuals):
        placement = layout.placements[ind]
        assert placement.scale[0] == 1.0
        assert placement.translate[0] == 0.0
        assert len(set(placement.scale[1:])) == 1  # isotropic
        world = to_napari_3d(fly_3d.data[:, j]) * placement.scale[1:] + placement.translate[1:]
        world = world.reshape(-1, 3)
        world = world[np.isfinite(world).all(axis=1)]
        center = np.median(world, axis=0)
        # depth range centred on the video plane (depth 0)
        assert world[:, 0].min() == pytest.approx(-world[:, 0].max())
        assert center[1] == pytest.approx(24.0)  # vertically centred on the video
        assert center[2] > 64  # right of the video (x beyond its width)
        boxes.append(np.percentile(world, [1, 99], axis=0))
        assert (boxes[-1][1] - boxes[-1][0]).max() <= 48  # fits the video's height
    assert boxes[1][0][2] > boxes[0][1][2]  # fly1 right of fly0, no overlap


def test_scene_layout_frame_mismatch_and_no_video(fly_3d):
    layout = scene_layout(40, (48, 64), fly_3d)
    assert layout.n_frames == 40
    assert not layout.frames_match
    alone = scene_layout(poses_3d=fly_3d.select(individuals=["fly1"]))
    assert alone.placements["fly1"].scale == (1.0, 1.0, 1.0, 1.0)
    assert alone.placements["fly1"].translate == (0.0, 0.0, 0.0, 0.0)


# --------------------------------------------------------------- depth axis


def test_with_depth_axis_numpy_and_lazy():
    video = np.arange(5 * 4 * 6 * 3, dtype=np.uint8).reshape(5, 4, 6, 3)
    view = with_depth_axis(video)
    assert view.shape == (5, 1, 4, 6, 3)
    assert np.shares_memory(view, video)

    class Lazy:
        shape, dtype, ndim = video.shape, video.dtype, 4
        reads: list = []

        def __getitem__(self, key):
            self.reads.append(key)
            return video[key]

    lazy = with_depth_axis(Lazy())
    assert lazy.shape == (5, 1, 4, 6, 3)
    np.testing.assert_array_equal(lazy[2, 0], video[2])
    np.testing.assert_array_equal(lazy[2], video[2][None])
    np.testing.assert_array_equal(lazy[1:3, :, :2], video[1:3, None, :2])
    np.testing.assert_array_equal(lazy[3, ..., 0], video[3, None, ..., 0])
    assert Lazy.reads[0] == (2, slice(None), slice(None), slice(None))
    with pytest.raises(IndexError):
        lazy[0, 1]


def test_add_depth_axis_points_and_vectors():
    points = np.array([[3.0, 10.0, 20.0]])
    np.testing.assert_array_equal(add_depth_axis(points), [[3.0, 0.0, 10.0, 20.0]])
    vectors = np.array([[[3.0, 10.0, 20.0], [0.0, 1.0, 2.0]]])
    np.testing.assert_array_equal(
        add_depth_axis(vectors), [[[3.0, 0.0, 10.0, 20.0], [0.0, 0.0, 1.0, 2.0]]]
    )
