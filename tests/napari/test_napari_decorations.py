"""The 3D panel's layout and decorations in a napari ViewerModel (no Qt)."""

from __future__ import annotations

import numpy as np
import pytest
from napari_testdata import FLY_KEYPOINTS, FLY_SKELETON

from liftpose_dlc import Poses
from liftpose_dlc.drawing import drawing_skeleton, guess_bones, is_guessed, legend
from napari_liftpose.decorations import (
    floor_layer,
    nice_step,
    scene_decorations,
    show_keypoint_names,
    trajectories_layer,
)
from napari_liftpose.layers import confidence_sizes, from_napari_3d, to_napari_3d
from napari_liftpose.scene import add_layers, scene_bounds, scene_layers, scene_layout

napari_components = pytest.importorskip("napari.components")

H, W = 480, 640


def camera_poses(n_individuals=3, n_frames=20, size=1.0, seed=0):
    """Root-relative poses of a few flies; ``size`` sets the units (1: mm, 1000: um)."""
    rng = np.random.default_rng(seed)
    data = rng.normal(0, 2, size=(n_frames, n_individuals, 6, 3)) * size
    data[..., 2] += 50 * size
    data[3, 0, 5] = 1e4 * size  # one wild point far away
    individuals = [f"fly{i}" for i in range(n_individuals)]
    return Poses(data, keypoints=FLY_KEYPOINTS, individuals=individuals, skeleton=FLY_SKELETON)


def world_poses(n_frames=50):
    """Two animals walking on the floor (z up, mm), 10 fps."""
    t = np.arange(n_frames)
    body = np.array([[0, 0, 20], [30, 0, 25], [15, 10, 5], [15, -10, 5], [45, 0, 10], [-20, 0, 5]])
    data = np.zeros((n_frames, 2, 6, 3))
    data[:, 0] = body + np.stack([4 * t, 0 * t, 0 * t], -1)[:, None]
    data[:, 1] = body + np.stack([300 - 2 * t, 200 + 3 * t, 0 * t], -1)[:, None]
    return Poses(
        data,
        keypoints=FLY_KEYPOINTS,
        individuals=["m1", "m2"],
        skeleton=FLY_SKELETON,
        frame="world",
        units="mm",
        fps=10.0,
    )


def placed_box(poses, layout, j):
    """The 1st-99th percentile box of individual j's points once placed (depth, y, x)."""
    placement = layout.placements[poses.individuals[j]]
    world = to_napari_3d(poses.data[:, j], poses.frame) * placement.scale[1:]
    world = (world + placement.translate[1:]).reshape(-1, 3)
    world = world[np.isfinite(world).all(axis=1)]
    return np.percentile(world, [1, 99], axis=0)


@pytest.mark.parametrize("units", [1.0, 1000.0])
def test_individuals_fill_a_grid_in_the_panel_whatever_the_units(units):
    poses = camera_poses(n_individuals=3, size=units)
    layout = scene_layout(20, (H, W), poses)
    y0, x0, height, width = layout.panel
    assert (y0, height, width) == (0.0, H, W)
    assert x0 > W  # right of the video
    cells = []
    for j in range(3):
        low, high = placed_box(poses, layout, j)
        # each one inside the panel, in its cell of a 2 x 2 grid (row by row)
        assert low[1] >= 0
        assert high[1] <= H
        assert low[2] >= x0
        assert high[2] <= x0 + W
        cells.append(
            (int((low[1] + high[1]) / 2 // (H / 2)), int((low[2] + high[2]) / 2 - x0) // (W // 2))
        )
    assert cells == [(0, 0), (0, 1), (1, 0)]
    # the largest fills 80 % of its cell in y or x: never a speck, whatever the units
    sizes = [np.subtract(*placed_box(poses, layout, j)[::-1])[1:] for j in range(3)]
    fill = max(max(s[0] / (H / 2), s[1] / (W / 2)) for s in sizes)
    assert fill == pytest.approx(0.8, rel=0.05)
    # the camera frames the video and the panel, not the wild point
    assert layout.bounds == ((-W / 2, 0.0, 0.0), (W / 2, H, x0 + W))


def test_the_camera_frames_the_scene_not_a_wild_point():
    poses = camera_poses(n_individuals=1)
    viewer = napari_components.ViewerModel()
    add_layers(viewer, scene_layers(poses_3d=poses))
    low, high = scene_bounds(viewer.layers)
    assert high[2] - low[2] < 100  # the robust extent (a few mm), not the 1e4 outlier
    camera = viewer.scene.camera
    assert camera.angles == (0.0, 0.0, 0.0)
    np.testing.assert_allclose(camera.center, (low + high) / 2)
    viewbox = np.asarray(viewer.canvas.viewbox_size(viewer.layers), float)
    # the box fills 95 % of the canvas on its fuller axis
    assert max((high - low)[1:] * camera.zoom / viewbox) == pytest.approx(0.95)
    napari_extent = viewer.layers["joints 3D"].extent.world
    assert (napari_extent[1] - napari_extent[0]).max() > 1000  # napari's own would be a speck


def test_world_frame_one_placement_floor_and_trajectories():
    poses = world_poses()
    layout = scene_layout(50, (H, W), poses)
    first, second = layout.placements.values()
    assert first == second  # the animals keep their relative positions
    layers = {
        kw["name"]: (data, kw, kind)
        for data, kw, kind in scene_layers(poses_3d=poses, layout=layout)
    }
    assert list(layers) == [
        "bones 3D m1",
        "joints 3D m1",
        "bones 3D m2",
        "joints 3D m2",
        "floor",
        "trajectories",
        "individuals",
        "limb legend",
    ]
    # world axes (z, -y, x): the joints' napari rows read back as the poses
    joints = layers["joints 3D m1"][0]
    np.testing.assert_allclose(from_napari_3d(joints[:6, 1:], "world"), poses.data[0, 0])
    # the floor: grid lines at z = 0 under both trajectories, round spacing
    floor, kwargs, kind = layers["floor"]
    assert kind == "vectors"
    assert kwargs["metadata"]["liftpose"]["step"] == 50.0
    np.testing.assert_array_equal(floor[:, :, 0], 0.0)  # on the floor, flat
    xs = from_napari_3d(floor[:, 0], "world")[:, 0]
    assert xs.min() <= poses.data[..., 0].min()
    assert xs.max() >= poses.data[..., 0].max()
    # the trajectories: one track per animal, the centroid of each frame
    tracks, kwargs, kind = layers["trajectories"]
    assert kind == "tracks"
    assert kwargs["tail_length"] == 50  # 5 s at 10 fps
    assert sorted(set(tracks[:, 0])) == [0.0, 1.0]
    m2 = tracks[tracks[:, 0] == 1]
    np.testing.assert_allclose(from_napari_3d(m2[7, 2:], "world"), poses.data[7, 1].mean(axis=0))
    viewer = napari_components.ViewerModel()
    add_layers(viewer, scene_layers(poses_3d=poses))
    assert viewer.layers["trajectories"].ndim == 4
    viewer.dims.set_current_step(0, 30)  # napari accepts them, frame by frame


def test_camera_frame_has_no_floor_or_trajectories():
    poses = camera_poses(n_individuals=1)
    assert floor_layer(poses, None) is None
    assert trajectories_layer(poses, None) is None
    names = [kw["name"] for _, kw, _ in scene_decorations(poses, scene_layout(20, (H, W), poses))]
    assert names == ["limb legend"]


def test_legend_lists_the_limbs_in_the_bones_colours():
    poses = camera_poses(n_individuals=2)
    layer_data = {kw["name"]: (d, kw) for d, kw, _ in scene_layers(poses_3d=poses)}
    data, kwargs = layer_data["limb legend"]
    entries = legend(poses.skeleton)
    assert list(kwargs["features"]["limb"]) == [label for label, _ in entries]
    assert len(entries) == 2  # two legs
    bones = layer_data["bones 3D fly0"][1]
    legend_colours = {tuple(np.round(c[:3], 6)) for c in kwargs["text"]["color"]}
    bone_colours = {tuple(np.round(c[:3], 6)) for c in bones["edge_color"]}
    assert legend_colours == bone_colours
    # individuals told apart: a name above each, and the joints' border in its colour
    labels, label_kwargs = layer_data["individuals"]
    assert set(label_kwargs["features"]["individual"]) == {"fly0", "fly1"}
    border0 = layer_data["joints 3D fly0"][1]["border_color"]
    border1 = layer_data["joints 3D fly1"][1]["border_color"]
    assert not np.allclose(border0, border1)


def test_openfield_without_skeleton_gets_guessed_bones(shared_data):
    from realdata import shared_file

    from liftpose_dlc.io.dlc import load_dlc

    h5 = shared_file(
        shared_data, "dlc/openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
    )
    poses = load_dlc(h5, pcutoff=0.9)
    assert not poses.skeleton.edges  # the file has none (and the config says skeleton: [])
    drawn = drawing_skeleton(poses)
    assert is_guessed(drawn)
    bones = {frozenset(b) for b in drawn.skeleton.edges}
    # nearest neighbours of a mouse seen from above: ears to the snout or to each other,
    # and the tail base joined to the head by its nearest point, never ear to ear across
    assert len(bones) == 3
    assert (
        frozenset(("leftear", "rightear")) in bones
        or {
            frozenset(("snout", "leftear")),
            frozenset(("snout", "rightear")),
        }
        <= bones
    )
    assert any("tailbase" in b for b in bones)
    layer_data = {kw["name"]: kw for _, kw, _ in scene_layers(poses_2d=poses)}
    assert len(layer_data["bones 2D"]["features"]) > 1000  # drawn in most of the 2330 frames


def test_guess_bones_joins_nearest_neighbours():
    chain = np.array([[[[0.0, 0, 0], [1, 0, 0], [3, 0, 0], [6, 0, 0]]]])
    assert guess_bones(chain, list("abcd")) == [("a", "b"), ("b", "c"), ("c", "d")]
    apart = np.array([[[[0.0, 0, 0], [np.nan] * 3]]])
    assert guess_bones(apart, ["a", "b"]) == []  # never seen together: not joined


def test_confidence_sets_the_size_of_3d_points():
    poses = camera_poses(n_individuals=1)
    conf = np.linspace(0, 1, poses.data[..., 0].size).reshape(poses.data.shape[:3])
    with_conf = poses.replace(confidence=conf)
    _, kwargs = [
        (d, kw) for d, kw, _ in scene_layers(poses_3d=with_conf) if kw["name"] == "joints 3D"
    ][0]
    sizes = np.asarray(kwargs["size"])
    assert sizes.shape == (poses.data[..., 0].size,)
    assert sizes.max() / sizes.min() == pytest.approx(1 / 0.35, rel=1e-6)
    np.testing.assert_allclose(confidence_sizes(np.array([0.5]), 2.0), [1.35])
    # equal confidences: one size
    _, kwargs = [(d, kw) for d, kw, _ in scene_layers(poses_3d=poses) if kw["name"] == "joints 3D"][
        0
    ]
    assert np.ndim(kwargs["size"]) == 0


def test_keypoint_names_on_demand():
    poses = camera_poses(n_individuals=2)
    viewer = napari_components.ViewerModel()
    add_layers(viewer, scene_layers(poses_3d=poses))
    joints = viewer.layers["joints 3D fly0"]
    assert not joints.text.visible  # hidden by default
    assert show_keypoint_names(viewer.layers, True) == 2  # the two joints layers
    assert joints.text.visible
    viewer.dims.set_current_step(0, 4)
    assert list(joints.text.values[:6]) == FLY_KEYPOINTS
    assert viewer.layers["limb legend"].text.visible  # the legend is always shown
    show_keypoint_names(viewer.layers, False)
    assert not joints.text.visible


def test_nice_step():
    assert nice_step(480.0) == 50.0
    assert nice_step(0.9) == 0.1
    assert nice_step(3.0, lines=3) == 1.0
