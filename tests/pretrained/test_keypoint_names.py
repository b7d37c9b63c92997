import pytest
from realdata import shared_file
from zoo_helpers import FLY_KEYPOINTS

from liftpose_dlc import load_poses
from liftpose_dlc.errors import ConfigError, KeypointError
from liftpose_dlc.io.dlc_config import config_bodyparts
from liftpose_dlc.keypoint_names import (
    name_concepts,
    propose_keypoint_map,
    read_keypoint_map,
    write_keypoint_map,
)

# the mouse22 skeleton (DANNCE), as in ../shared/data/README.md
MOUSE22 = [
    "EarL",
    "EarR",
    "Snout",
    "SpineF",
    "SpineM",
    "Tail(base)",
    "Tail(mid)",
    "Tail(end)",
    "ForepawL",
    "WristL",
    "ElbowL",
    "ShoulderL",
    "ForepawR",
    "WristR",
    "ElbowR",
    "ShoulderR",
    "HindpawL",
    "AnkleL",
    "KneeL",
    "HindpawR",
    "AnkleR",
    "KneeR",
]
RAT23 = [
    "Snout",
    "EarL",
    "EarR",
    "SpineF",
    "SpineM",
    "SpineL",
    "TailBase",
    "ShoulderL",
    "ElbowL",
    "WristL",
    "HandL",
    "ShoulderR",
    "ElbowR",
    "WristR",
    "HandR",
    "HipL",
    "KneeL",
    "AnkleL",
    "FootL",
    "HipR",
    "KneeR",
    "AnkleR",
    "FootR",
]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("leftear", "EarL"),
        ("left_ear", "Ear_L"),
        ("LeftEar", "ear-left"),
        ("tailbase", "Tail(base)"),
        ("tailbase", "TailBase"),
        ("Tail base", "tail_base"),
        ("Tail_0", "TailBase"),
        ("snout", "Nose"),
        ("centre", "Center"),
        ("left_forepaw", "ForepawL"),
        ("lft_front_paw", "ForepawL"),
        ("rt_hindpaw", "HindpawR"),
        ("L1_tarsus", "LF_Tarsus"),
        ("R3_claw", "RH_Claw"),
        ("l2-femur", "LM_Femur"),
        ("RFCoxa", "RF_Coxa"),
        ("TailTip", "Tail(end)"),
    ],
)
def test_names_that_match(a, b):
    assert name_concepts(a) == name_concepts(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("leftear", "EarR"),
        ("hand_l", "ForepawL"),  # conservative: hand is not forepaw
        ("forelegL1", "LF_Coxa"),  # a numbered joint is not a named one
        ("forelegL3", "LF_Claw"),
        ("Tail_1", "TailBase"),
        ("SpineM", "SpineF"),
        ("L1_tarsus", "LM_Tarsus"),
    ],
)
def test_names_that_do_not_match(a, b):
    assert name_concepts(a) != name_concepts(b)


def test_openfield_bodyparts_onto_mouse22(shared_data):
    config = shared_file(shared_data, "dlc/openfield/config.yaml")
    bodyparts = config_bodyparts(config)
    assert bodyparts == ["snout", "leftear", "rightear", "tailbase"]
    match = propose_keypoint_map(bodyparts, MOUSE22)
    assert match.mapping == {
        "snout": "Snout",
        "leftear": "EarL",
        "rightear": "EarR",
        "tailbase": "Tail(base)",
    }
    assert match.unmatched == []
    assert match.ambiguous == {}
    assert len(match.missing) == 18
    # the rat's naming (TailBase) works the same way
    assert propose_keypoint_map(bodyparts, RAT23).mapping["tailbase"] == "TailBase"


def test_sleap_flies_onto_deepfly3d_names(shared_data):
    poses = load_poses(shared_file(shared_data, "sleap/centered_pair_predictions.slp"))
    assert len(poses.keypoints) == 24
    match = propose_keypoint_map(poses.keypoints, FLY_KEYPOINTS)
    # SLEAP's fly numbers the points along each leg (forelegL1..3) without naming the joint:
    # nothing corresponds safely to DeepFly3D's Coxa/Femur/Tibia/Tarsus/Claw, and the body
    # points (head, thorax, wings...) have no DeepFly3D counterpart
    assert match.mapping == {}
    assert set(match.unmatched) == set(poses.keypoints)
    # the hints name the right leg of the right side
    segments = ("Coxa", "Femur", "Tibia", "Tarsus", "Claw")
    assert match.hints("forelegL2") == [f"LF_{j}" for j in segments]
    assert match.hints("hindlegR1")[0] == "RH_Coxa"
    assert match.hints("thorax") == []
    text = match.describe()
    assert "forelegL1 -> -  (no model keypoint; same side/leg: LF_Coxa" in text
    # a corrected map is used as given
    fixed = propose_keypoint_map(
        poses.keypoints, FLY_KEYPOINTS, {"forelegL3": "LF_Claw", "thorax": None}
    )
    assert fixed.mapping == {"forelegL3": "LF_Claw"}
    assert fixed.how == {"forelegL3": "given"}
    assert fixed.excluded == ["thorax"]


def test_df3d_postprocessing_names_onto_deepfly3d():
    # NeuroMechFly's df3dPostProcessing names (RFCoxa ...) map one for one
    names = [f"{s}{p}{j}" for s in "RL" for p in "FMH" for j in ("Coxa", "Femur", "Claw")]
    match = propose_keypoint_map(names, FLY_KEYPOINTS)
    assert len(match.mapping) == 18
    assert match.mapping["RHClaw"] == "RH_Claw"


def test_never_two_user_names_onto_one_keypoint():
    match = propose_keypoint_map(["left_ear", "ear_l", "snout"], MOUSE22)
    assert match.mapping == {"snout": "Snout"}
    assert match.ambiguous == {"left_ear": ["EarL"], "ear_l": ["EarL"]}
    # an exact name wins over a synonym for the same keypoint
    match = propose_keypoint_map(["EarL", "leftear"], MOUSE22)
    assert match.mapping == {"EarL": "EarL"}
    assert match.unmatched == ["leftear"]


def test_several_model_keypoints_fit_one_name_is_ambiguous():
    match = propose_keypoint_map(["nose"], ["Snout", "Nose_tip", "nose_"])
    # "Snout" and "nose_" have the same concepts as "nose": neither is chosen
    assert match.mapping == {}
    assert match.ambiguous == {"nose": ["Snout", "nose_"]}


def test_exact_and_case_before_synonyms():
    match = propose_keypoint_map(["snout", "Nose"], ["Snout", "Nose"])
    assert match.mapping == {"snout": "Snout", "Nose": "Nose"}
    assert match.how == {"snout": "case", "Nose": "exact"}


def test_explicit_map_errors():
    with pytest.raises(KeypointError, match="not among your keypoints"):
        propose_keypoint_map(["a"], ["A"], {"b": "A"})
    with pytest.raises(KeypointError, match="which the model does not have"):
        propose_keypoint_map(["a"], ["A"], {"a": "B"})
    with pytest.raises(KeypointError, match="several of your keypoints onto"):
        propose_keypoint_map(["a", "b"], ["A"], {"a": "A", "b": "A"})


def test_keypoint_map_yaml_round_trip(tmp_path):
    match = propose_keypoint_map(["snout", "leftear", "implant", "ear_l"], MOUSE22)
    path = write_keypoint_map(match, tmp_path / "map.yaml")
    text = path.read_text()
    assert "implant: null" in text
    assert "leftear: null  # one of: EarL" in text  # leftear and ear_l both fit EarL
    assert read_keypoint_map(path) == {
        "snout": "Snout",
        "leftear": None,
        "ear_l": None,
        "implant": None,
    }
    with pytest.raises(Exception, match="exists"):
        write_keypoint_map(match, path)
    (tmp_path / "nested.yaml").write_text("keypoint_map:\n  snout: Snout\n")
    assert read_keypoint_map(tmp_path / "nested.yaml") == {"snout": "Snout"}
    (tmp_path / "bad.yaml").write_text("- snout\n- Snout\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        read_keypoint_map(tmp_path / "bad.yaml")


def test_openfield_onto_the_zoo_mouse_naming(shared_data):
    # the zoo mouse (benchmarks/train_zoo.py) names the tail points TailBase/TailMid/TailEnd
    zoo_mouse = [k.replace("Tail(base)", "TailBase") for k in MOUSE22]
    zoo_mouse = [
        k.replace("Tail(mid)", "TailMid").replace("Tail(end)", "TailEnd") for k in zoo_mouse
    ]
    bodyparts = config_bodyparts(shared_file(shared_data, "dlc/openfield/config.yaml"))
    match = propose_keypoint_map(bodyparts, zoo_mouse)
    assert match.mapping == {
        "snout": "Snout",
        "leftear": "EarL",
        "rightear": "EarR",
        "tailbase": "TailBase",
    }
