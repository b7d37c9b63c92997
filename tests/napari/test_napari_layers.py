"""Pure layer-building functions: Poses -> napari layer data (no viewer, no Qt)."""

from __future__ import annotations

import numpy as np
import pytest

from liftpose_dlc import Poses
from liftpose_dlc.errors import KeypointError, PosesValidationError
from napari_liftpose.layers import (
    bones_layer,
    from_napari_3d,
    keypoint_colors,
    points_2d_layer,
    points_3d_layer,
    to_napari_3d,
)

# ------------------------------------------------------------------ axes


def test_axis_mapping_round_trip():
    xyz = np.array([[1.0, 2.0, 3.0], [-4.0, 5.0, 60.0]])
    zyx = to_napari_3d(xyz)
    np.testing.assert_array_equal(zyx, [[-3.0, 2.0, 1.0], [-60.0, 5.0, -4.0]])
    np.testing.assert_array_equal(from_napari_3d(zyx), xyz)


# --------------------------------------------------------------- 2D points


def test_points_2d_rows_features_and_nan_dropped(small_poses_2d):
    data, kwargs = points_2d_layer(small_poses_2d)
    assert data.shape == (20 * 2 * 4 - 1, 3)  # one NaN point in the fixture
    features = kwargs["features"]
    assert list(features.columns) == ["keypoint", "individual", "confidence"]
    # every row is (t, y, x) of the keypoint and individual its features name
    kp = {n: i for i, n in enumerate(small_poses_2d.keypoints)}
    ind = {n: i for i, n in enumerate(small_poses_2d.individuals)}
    for row, k_name, i_name, conf in zip(
        data, features["keypoint"], features["individual"], features["confidence"], strict=True
    ):
        t = int(row[0])
        x, y = small_poses_2d.data[t, ind[i_name], kp[k_name]]
        assert row[1] == y
        assert row[2] == x
        assert conf == small_poses_2d.confidence[t, ind[i_name], kp[k_name]]
    # the NaN point (frame 3, mouse2, rightear) is absent
    missing = (
        (data[:, 0] == 3)
        & (features["individual"] == "mouse2").to_numpy()
        & (features["keypoint"] == "rightear").to_numpy()
    )
    assert not missing.any()
    assert not np.isnan(data).any()


def test_points_2d_colours_per_keypoint_and_border_per_individual(small_poses_2d):
    data, kwargs = points_2d_layer(small_poses_2d)
    colors = keypoint_colors(small_poses_2d.keypoints)
    assert len({tuple(c) for c in colors.values()}) == 4  # distinct
    for face, name in zip(kwargs["face_color"], kwargs["features"]["keypoint"], strict=True):
        np.testing.assert_array_equal(face, colors[name])
    borders = {
        (name, tuple(c))
        for name, c in zip(kwargs["features"]["individual"], kwargs["border_color"], strict=True)
    }
    assert len(borders) == 2  # one border colour per individual


def test_points_2d_one_individual(small_poses_2d):
    data, kwargs = points_2d_layer(small_poses_2d, individual="mouse2")
    assert data.shape == (20 * 4 - 1, 3)
    assert set(kwargs["features"]["individual"]) == {"mouse2"}
    with pytest.raises(KeypointError, match="mouse3"):
        points_2d_layer(small_poses_2d, individual="mouse3")


def test_points_2d_rejects_3d(fly_3d):
    with pytest.raises(PosesValidationError, match="2D"):
        points_2d_layer(fly_3d)


# --------------------------------------------------------------- 3D points


def test_points_3d_rows_are_t_minus_z_y_x(fly_3d):
    data, kwargs = points_3d_layer(fly_3d, individual="fly0")
    assert data.shape == (12 * 6 - 1, 4)  # LF_femur missing in frame 4
    first = fly_3d.data[0, 0, 0]
    np.testing.assert_array_equal(data[0], [0.0, -first[2], first[1], first[0]])
    frame4 = data[data[:, 0] == 4]
    assert len(frame4) == 5
    assert "LF_femur" not in set(kwargs["features"]["keypoint"][data[:, 0] == 4])
    assert kwargs["size"] > 0


def test_points_3d_drops_partly_nan_joints(fly_3d):
    data, kwargs = points_3d_layer(fly_3d, individual="fly1")
    assert data.shape == (12 * 6 - 1, 4)  # frame 7's RF_tibia has a NaN z
    assert not np.isnan(data).any()


# ------------------------------------------------------------------- bones


def test_bones_3d_only_finite_ends_and_coloured_per_limb(fly_3d):
    data, kwargs = bones_layer(fly_3d)
    # 4 bones x 12 frames x 2 flies, minus fly0 frame 4 (both LF bones) and fly1 frame 7
    # (RF_femur-RF_tibia)
    assert data.shape == (4 * 12 * 2 - 2 - 1, 2, 4)
    assert not np.isnan(data).any()
    np.testing.assert_array_equal(data[:, 1, 0], 0)  # no time component
    features = kwargs["features"]
    kp = {n: i for i, n in enumerate(fly_3d.keypoints)}
    ind = {n: i for i, n in enumerate(fly_3d.individuals)}
    for vec, bone, name in zip(data, features["bone"], features["individual"], strict=True):
        a, b = bone.split("-")
        t = int(vec[0, 0])
        np.testing.assert_allclose(vec[0, 1:], to_napari_3d(fly_3d.data[t, ind[name], kp[a]]))
        np.testing.assert_allclose(
            vec[0, 1:] + vec[1, 1:], to_napari_3d(fly_3d.data[t, ind[name], kp[b]])
        )
    # colour per limb: the two LF bones share a colour, LF and RF differ
    colors = {
        bone: tuple(c) for bone, c in zip(features["bone"], kwargs["edge_color"], strict=True)
    }
    assert colors["LF_coxa-LF_femur"] == colors["LF_femur-LF_tibia"]
    assert colors["RF_coxa-RF_femur"] == colors["RF_femur-RF_tibia"]
    assert colors["LF_coxa-LF_femur"] != colors["RF_coxa-RF_femur"]
    assert set(features["limb"]) == {0, 1}
    frame4 = (data[:, 0, 0] == 4) & (features["individual"] == "fly0").to_numpy()
    assert set(features["bone"][frame4]) == {"RF_coxa-RF_femur", "RF_femur-RF_tibia"}


def test_bones_2d(small_poses_2d):
    data, kwargs = bones_layer(small_poses_2d, individual="mouse1")
    assert data.shape == (3 * 20, 2, 3)
    snout, leftear = small_poses_2d.data[0, 0, 0], small_poses_2d.data[0, 0, 1]
    np.testing.assert_allclose(data[0], [[0, snout[1], snout[0]], [0, *(leftear - snout)[::-1]]])
    assert kwargs["name"] == "bones 2D"
    # star skeleton: one limb per branch
    assert len({tuple(c) for c in kwargs["edge_color"]}) == 3


def test_bones_without_skeleton():
    poses = Poses(np.ones((3, 2, 3)), keypoints=["a", "b"])
    data, kwargs = bones_layer(poses)
    assert data.shape == (0, 2, 4)
    assert len(kwargs["features"]) == 0


def test_layers_of_poses_with_every_point_missing():
    napari_components = pytest.importorskip("napari.components")
    from napari_liftpose.scene import add_layers, scene_layers

    data = np.full((5, 2, 2, 3), np.nan)
    data[:, 0] = 1.0
    poses = Poses(data, keypoints=["a", "b"], individuals=["seen", "never"], skeleton=[("a", "b")])
    data_3d, kwargs = points_3d_layer(poses, individual="never")
    assert data_3d.shape == (0, 4)
    assert kwargs["face_color"] == "white"
    poses_2d = Poses(np.full((5, 2, 2, 2), np.nan), keypoints=["a", "b"])
    viewer = napari_components.ViewerModel()
    layers = add_layers(viewer, scene_layers(poses_2d, poses))  # napari accepts them
    assert [layer.name for layer in layers][:5] == [
        "keypoints 2D",
        "bones 3D seen",
        "joints 3D seen",
        "bones 3D never",
        "joints 3D never",
    ]
    assert [len(layer.data) for layer in layers][:5] == [0, 5, 10, 0, 0]
    # "seen" is named in each of its 5 frames; one limb in the legend
    assert [len(layer.data) for layer in layers][5:] == [5, 1]
