"""The Skeleton: limbs, colours, restriction and renaming, from real configs and files."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from realdata import shared_file

import liftpose_dlc.skeleton as skeleton_module
from liftpose_dlc import Poses
from liftpose_dlc.demo.generator import LEG_KEYPOINTS, fly_skeleton
from liftpose_dlc.errors import ConfigError, KeypointError, PosesValidationError
from liftpose_dlc.params import PALETTE, skeleton_from_params, validate_params
from liftpose_dlc.skeleton import LIMB_PALETTE, Skeleton, map_keypoints

TAB10 = [tuple(v / 255 for v in c) for c in LIMB_PALETTE]
LEGS = ("LF", "LM", "LH", "RF", "RM", "RH")
SEGMENTS = ("Coxa", "Femur", "Tibia", "Tarsus", "Claw")


def test_docstring_examples():
    assert doctest.testmod(skeleton_module).failed == 0


def test_palette_is_matplotlib_tab10():
    import matplotlib

    tab10 = matplotlib.colormaps["tab10"]
    np.testing.assert_allclose([tab10(i)[:3] for i in range(10)], TAB10)
    assert [list(c) for c in LIMB_PALETTE] == PALETTE


# ------------------------------------------------------------------ real skeletons
def test_demo_fly_legs_are_one_limb_each():
    sk = Skeleton(LEG_KEYPOINTS, fly_skeleton())
    assert sk.limbs == tuple(tuple(f"{leg}_{s}" for s in SEGMENTS) for leg in LEGS)
    assert sk.limb_colors == tuple(TAB10[:6])
    assert sk.edge_limbs == tuple(i for i in range(6) for _ in range(4))
    assert sk.node_limbs == tuple(i for i in range(6) for _ in range(5))
    assert sk.edge_indices[:4] == ((0, 1), (1, 2), (2, 3), (3, 4))


def test_demo_fly_with_body_splits_at_the_thorax():
    names = [*LEG_KEYPOINTS, "Head", "Thorax", "Abdomen"]
    sk = Skeleton(names, fly_skeleton(with_body=True))
    # the thorax is a branch point: each leg runs from it to the claw, head and abdomen apart
    assert sk.limbs[:6] == tuple(("Thorax", *(f"{leg}_{s}" for s in SEGMENTS)) for leg in LEGS)
    assert sk.limbs[6:] == (("Thorax", "Head"), ("Thorax", "Abdomen"))
    # the legs keep the colours they have without the body
    assert sk.limb_colors[:6] == Skeleton(LEG_KEYPOINTS, fly_skeleton()).limb_colors
    assert sk.node_colors[sk.index("Thorax")] == TAB10[0]  # its first limb: the LF leg
    assert sk.node_colors[sk.index("Head")] == TAB10[6]
    assert sk.edge_colors[-8:-6] == (TAB10[6], TAB10[7])  # Head-Thorax, Thorax-Abdomen


@pytest.mark.realdata
def test_openfield_config_without_edges(shared_data):
    sk = Skeleton.from_dlc_config(shared_file(shared_data, "dlc/openfield/config.yaml"))
    assert sk.nodes == ("snout", "leftear", "rightear", "tailbase")
    assert sk.edges == ()
    assert sk.limbs == (("snout",), ("leftear",), ("rightear",), ("tailbase",))
    assert sk.node_colors == tuple(TAB10[:4])
    assert sk.bones == ()
    # and the same through the DLC reader
    poses = Poses(np.zeros((1, 4, 2)), list(sk.nodes), skeleton=[])
    assert poses.skeleton == sk


@pytest.mark.realdata
def test_multi_mouse_config_ring_and_unique_bodyparts(shared_data):
    path = shared_file(shared_data, "dlc/multi_mouse-dlc_team-2022-04-12/config.yaml")
    sk = Skeleton.from_dlc_config(path)
    assert sk.nodes == ("bodypart1", "bodypart2", "bodypart3", "corner1", "corner2")
    assert sk.limbs == (
        ("bodypart1", "bodypart2", "bodypart3", "bodypart1"),  # the triangle is one ring
        ("corner1",),
        ("corner2",),
    )
    assert sk.edge_limbs == (0, 0, 0)
    assert sk.limb_colors == tuple(TAB10[:3])
    unique = Skeleton.from_dlc_config(path, keypoints=["corner2", "corner1"])
    assert unique.edges == ()
    assert unique.node_colors == (TAB10[2], TAB10[1])  # the colours they have in the project
    with pytest.raises(ConfigError, match="not bodyparts"):
        Skeleton.from_dlc_config(path, keypoints=["tail"])


@pytest.mark.realdata
def test_sleap_fly_ten_limbs_from_the_thorax(shared_data):
    from liftpose_dlc.io import load_poses

    poses = load_poses(shared_file(shared_data, "sleap/centered_pair_predictions.slp"))
    sk = poses.skeleton
    assert len(sk.edges) == 23
    assert sk.limbs[:4] == (
        ("thorax", "neck", "head"),
        ("thorax", "abdomen"),
        ("thorax", "wingL"),
        ("thorax", "wingR"),
    )
    assert sk.limbs[4] == ("thorax", "forelegL1", "forelegL2", "forelegL3")
    assert len(sk.limbs) == 10
    assert sk.limb_colors == tuple(TAB10)  # ten limbs, ten distinct colours
    assert sk.edge_colors[sk.edges.index(("neck", "head"))] == TAB10[0]
    import sleap_io

    labels = sleap_io.load_slp(
        str(shared_file(shared_data, "sleap/centered_pair_predictions.slp")), open_videos=False
    )
    assert Skeleton.from_sleap(labels) == sk
    assert Skeleton.from_sleap(labels.skeletons[0]) == sk


def test_star_one_limb_per_branch():
    sk = Skeleton(
        ["snout", "leftear", "rightear", "tailbase"],
        [("snout", "leftear"), ("snout", "rightear"), ("snout", "tailbase")],
    )
    assert sk.limbs == (("snout", "leftear"), ("snout", "rightear"), ("snout", "tailbase"))
    assert sk.edge_colors == tuple(TAB10[:3])


# ------------------------------------------------------------------ limbs: corner cases
def test_separate_chains_given_out_of_order():
    names = [f"{leg}_{seg}" for leg in ("LF", "RF") for seg in ("coxa", "femur", "tibia")]
    sk = Skeleton(
        names,
        [
            ("LF_coxa", "LF_femur"),
            ("RF_femur", "RF_tibia"),
            ("LF_femur", "LF_tibia"),
            ("RF_coxa", "RF_femur"),
        ],
    )
    assert sk.limbs == (("LF_coxa", "LF_femur", "LF_tibia"), ("RF_coxa", "RF_femur", "RF_tibia"))
    assert sk.limb_edges == ((0, 2), (3, 1))
    assert sk.edge_limbs == (0, 1, 0, 1)


def test_repeats_self_loops_and_ring():
    sk = Skeleton(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "a"), ("b", "a"), ("c", "c")])
    assert sk.limbs == (("a", "b", "c", "a"),)
    assert sk.bones == (0, 1, 2)  # the repeat (b, a) and the self-loop are not drawn
    assert sk.edge_limbs == (0, 0, 0, 0, 0)
    assert Skeleton(["a"], [("a", "a")]).limbs == (("a",),)


def test_errors():
    with pytest.raises(KeypointError, match="wing"):
        Skeleton(["a", "b"], [("a", "wing")])
    with pytest.raises(KeypointError, match="unique"):
        Skeleton(["a", "a"])
    with pytest.raises(KeypointError, match="pair"):
        Skeleton(["a", "b"], [("a", "b", "a")])
    with pytest.raises(ConfigError, match="2 limb colours"):
        Skeleton(["a", "b"], [("a", "b")], colors=[(1, 0, 0), (0, 1, 0)])
    with pytest.raises(ConfigError, match="0-1"):
        Skeleton(["a", "b"], [("a", "b")], colors=[(255, 0, 0)])
    with pytest.raises(KeypointError, match="no keypoint 'z'"):
        Skeleton(["a"]).index("z")
    with pytest.raises(KeypointError, match="not in the skeleton"):
        Skeleton(["a"]).restrict(["a", "z"])


# ------------------------------------------------------------------ restrict / rename
def test_restrict_keeps_edge_order_and_colours():
    sk = Skeleton(LEG_KEYPOINTS, fly_skeleton())
    kept = [n for n in LEG_KEYPOINTS if not n.startswith("LF")][::-1]  # reordered too
    small = sk.restrict(kept)
    assert small.nodes == tuple(kept)
    assert small.edges == tuple(fly_skeleton()[4:])
    colour = dict(zip(sk.edges, sk.edge_colors, strict=True))
    assert small.edge_colors == tuple(colour[e] for e in small.edges)
    # a leg cut in the middle keeps its colour on both pieces
    cut = sk.restrict([n for n in LEG_KEYPOINTS if n != "LM_Tibia"])
    lm = [c for e, c in zip(cut.edges, cut.edge_colors, strict=True) if e[0].startswith("LM")]
    assert lm == [TAB10[1], TAB10[1]]
    # restricting to everything changes nothing, and colours that follow the palette stay
    assert sk.restrict(LEG_KEYPOINTS) == sk
    assert sk.restrict(LEG_KEYPOINTS[:10]).colors is None


def test_poses_select_and_lifted_subset_keep_colours():
    names = [*LEG_KEYPOINTS, "Head", "Thorax", "Abdomen"]
    poses = Poses(np.zeros((2, len(names), 3)), names, skeleton=fly_skeleton(with_body=True))
    without_lf = poses.select(keypoints=[n for n in names if not n.startswith("LF")])
    full = dict(zip(poses.skeleton.edges, poses.skeleton.edge_colors, strict=True))
    sub = without_lf.skeleton
    assert sub.edge_colors == tuple(full[e] for e in sub.edges)
    # a Skeleton handed to a new Poses keeps its colours too
    again = Poses(without_lf.data, without_lf.keypoints, skeleton=sub)
    assert again.skeleton == sub


def test_poses_takes_pairs_or_a_skeleton():
    poses = Poses(np.zeros((1, 3, 2)), ["a", "b", "c"], skeleton=[("a", "b")])
    assert isinstance(poses.skeleton, Skeleton)
    assert poses.skeleton.nodes == ("a", "b", "c")
    assert poses.edge_indices == [(0, 1)]
    other = Skeleton(["b", "a"], [("b", "a")])
    assert Poses(np.zeros((1, 3, 2)), ["a", "b", "c"], skeleton=other).skeleton.edges == (
        ("b", "a"),
    )
    with pytest.raises(PosesValidationError, match="unknown keypoints"):
        Poses(np.zeros((1, 2, 2)), ["a", "b"], skeleton=Skeleton(["a", "z"], [("a", "z")]))
    with pytest.raises(PosesValidationError, match="pair"):
        Poses(np.zeros((1, 2, 2)), ["a", "b"], skeleton=[("a",)])
    with pytest.raises(AttributeError):
        poses.skeleton = [("b", "c")]  # use poses.replace(skeleton=...)
    assert poses.replace(skeleton=[("b", "c")]).skeleton.edges == (("b", "c"),)


def test_rename_and_map_keypoints():
    sk = Skeleton(["nose", "ear", "tail"], [("nose", "ear"), ("nose", "tail")])
    renamed = sk.rename({"nose": "Snout", "tail": "TailBase"})
    assert renamed.nodes == ("Snout", "ear", "TailBase")
    assert renamed.edges == (("Snout", "ear"), ("Snout", "TailBase"))
    assert renamed.limb_colors == sk.limb_colors
    assert sk.rename(None) == sk
    assert map_keypoints(["a", "b"], {"a": "A"}) == ["A", "b"]
    with pytest.raises(KeypointError, match=r"not asked for: \['wing'\]"):
        sk.rename({"wing": "Wing"})
    with pytest.raises(KeypointError, match="same name.*'ear': \\['nose', 'ear'\\]"):
        sk.rename({"nose": "ear"})


# ------------------------------------------------------------------ param.yaml
def test_params_round_trip_keeps_colours():
    names = [*LEG_KEYPOINTS, "Head", "Thorax", "Abdomen"]
    sk = Skeleton(names, fly_skeleton(with_body=True))
    vis = sk.to_params()
    assert validate_params({"vis": vis}, n_keypoints=len(names))["vis"] == vis
    assert vis["limb_id"][: len(LEG_KEYPOINTS)] == [i for i in range(6) for _ in range(5)]
    assert vis["colors"] == [list(c) for c in LIMB_PALETTE[:8]]
    back = Skeleton.from_params({"vis": vis})
    assert back.nodes == sk.nodes
    assert back.limbs == sk.limbs
    np.testing.assert_allclose(back.edge_colors, sk.edge_colors)
    # the plot functions draw each bone of the vis section in its limb's colour
    from liftpose_dlc.plot import bone_colors

    drawn = bone_colors(vis["bones"], vis["limb_id"], vis["colors"], len(names))
    np.testing.assert_allclose(drawn, sk.edge_colors)


def test_params_file_colours_are_kept():
    # a LiftPose3D example: one colour per leg given by the file, names as 1-lists
    vis = {
        "colors": [[186, 30, 49], [201, 86, 79]],
        "bones": [[0, 1], [1, 2], [3, 4], [4, 5]],
        "limb_id": [0, 0, 0, 1, 1, 1],
        "names": [["a1"], ["a2"], ["a3"], ["b1"], ["b2"], ["b3"]],
    }
    sk = skeleton_from_params(vis)
    assert sk.nodes == ("a1", "a2", "a3", "b1", "b2", "b3")
    np.testing.assert_allclose(sk.limb_colors, np.array([[186, 30, 49], [201, 86, 79]]) / 255)
    unnamed = skeleton_from_params({"colors": [[0, 0, 0]], "bones": [[0, 1]], "limb_id": [0, 0]})
    assert unnamed.nodes == ("0", "1")
    with pytest.raises(ConfigError, match="limb_id"):
        skeleton_from_params({"colors": [[0, 0, 0]], "bones": [[0, 1]], "limb_id": [0]})


# ------------------------------------------------------------------ one animal, one look
def _fly(n_dims: int) -> Poses:
    names = [*LEG_KEYPOINTS, "Head", "Thorax", "Abdomen"]
    data = np.random.default_rng(n_dims).normal(size=(3, 1, len(names), n_dims))
    return Poses(data, names, skeleton=fly_skeleton(with_body=True))


def test_report_figure_and_napari_bones_share_colours():
    from liftpose_dlc.workflow.report import lifted_frame_figure
    from napari_liftpose.layers import bones_layer

    two, three = _fly(2), _fly(3)
    sk = three.skeleton
    fig = lifted_frame_figure(two, three, frame=0)
    ax2, ax3 = fig.axes
    bones = [f"{a}-{b}" for a, b in (sk.edges[k] for k in sk.bones)]
    for ax in (ax2, ax3):
        drawn = [line.get_color() for line in ax.get_lines()]
        assert len(drawn) == len(bones) == 32
        assert drawn == [sk.edge_colors[k] for k in sk.bones]
    for layer_poses in (two, three):
        data, kwargs = bones_layer(layer_poses)
        napari = {}
        for bone, colour in zip(kwargs["features"]["bone"], kwargs["edge_color"], strict=True):
            napari.setdefault(bone, tuple(colour))
        assert napari == {
            b: (*sk.edge_colors[k], 1.0) for b, k in zip(bones, sk.bones, strict=True)
        }
    # joints: each keypoint in its first limb's colour
    joints = ax2.collections[0].get_facecolors()[:, :3]
    np.testing.assert_allclose(joints, sk.node_colors)


def test_report_figure_without_edges_draws_guessed_bones_and_says_so():
    from liftpose_dlc.drawing import drawing_skeleton
    from liftpose_dlc.workflow.report import GUESSED_TITLE, lifted_frame_figure

    names = ["snout", "leftear", "rightear", "tailbase"]
    rng = np.random.default_rng(0)
    two = Poses(rng.normal(size=(2, 4, 2)), names)
    three = Poses(rng.normal(size=(2, 4, 3)), names)
    fig = lifted_frame_figure(two, three, frame=1, truth_3d=three)
    guessed = drawing_skeleton(three).skeleton
    assert len(guessed.bones) == 3  # a tree over the four keypoints
    ax2, ax3 = fig.axes
    assert len(ax2.get_lines()) == 3
    assert len(ax3.get_lines()) == 6  # lifted, and the true 3D dashed
    for ax in fig.axes:
        assert len(ax.collections) >= 1  # the joints
    # the joints take the guessed limbs' colours; the legend says the bones are guessed
    np.testing.assert_allclose(
        fig.axes[0].collections[0].get_facecolors()[:, :3], guessed.node_colors
    )
    (legend,) = fig.legends
    assert legend.get_title().get_text() == GUESSED_TITLE
