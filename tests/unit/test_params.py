import doctest

import pytest
import yaml
from realdata import shared_file

from liftpose_dlc import params as params_module
from liftpose_dlc.errors import ConfigError, MissingFileError, OutputExistsError
from liftpose_dlc.params import (
    PALETTE,
    load_params,
    save_params,
    validate_params,
    vis_from_dlc_config,
)

SEED_README_PARAMS = """\
data:
    roots       : [0]
    target_sets : [[1, 2, 3, 4]]

vis:
    colors      : [[186, 30, 49]]
    bones       : [[0, 1], [1, 2], [2, 3], [3, 4]]
    limb_id     : [0, 0, 0, 0, 0]
"""

# the fly_tether example of liftpose 0.22: the old key "targets", extra keys
FLY_TETHER_PARAMS = """\
data:
  ndims: 38
  out_dim: 3
  dims_to_exclude: [15, 16, 17, 18, 34, 35, 36, 37]
  roots: [0, 5, 10]
  targets: [[1, 2, 3, 4], [6, 7, 8, 9], [11, 12, 13, 14]]
vis:
    colors: [[186,30,49], [201,86,79], [213,133,121], [15,115, 153], [26,141, 175], [117,190,203]]
    bones: [[0,1],[1,2],[2,3], [3,4],[5,6],[6,7],[7,8],[8,9],
          [10,11],[11,12],[12,13],[13,14]]
    limb_id: [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3]
"""


def write(tmp_path, text, name="param.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_docstring_examples():
    result = doctest.testmod(params_module)
    assert result.attempted > 5
    assert result.failed == 0


def test_load_seed_readme_params(tmp_path):
    p = load_params(write(tmp_path, SEED_README_PARAMS), n_keypoints=5)
    assert p["data"] == {"roots": [0], "target_sets": [[1, 2, 3, 4]]}
    assert p["vis"]["colors"] == [[186, 30, 49]]
    assert p["vis"]["bones"] == [[0, 1], [1, 2], [2, 3], [3, 4]]
    assert p["vis"]["limb_id"] == [0, 0, 0, 0, 0]


def test_load_022_example_with_old_keys(tmp_path):
    p = load_params(write(tmp_path, FLY_TETHER_PARAMS))
    assert p["data"]["target_sets"] == [[1, 2, 3, 4], [6, 7, 8, 9], [11, 12, 13, 14]]
    assert "targets" not in p["data"]
    assert p["data"]["ndims"] == 38  # other keys kept
    assert len(p["vis"]["colors"]) == 6


def test_names_as_one_element_lists_and_float_colors(tmp_path):
    text = (
        "vis:\n  colors: [[0., 127.5, 0.]]\n  bones: [[0, 1]]\n  limb_id: [0, 0]\n"
        "  names: [['HeadF'], ['HeadB']]\n"
    )
    p = load_params(write(tmp_path, text))
    assert p["vis"]["names"] == ["HeadF", "HeadB"]
    assert p["vis"]["colors"] == [[0, 127.5, 0]]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("data: {roots: [0]}\n", r"lacks \['target_sets'\]"),
        ("data: {roots: [0, 5], target_sets: [[1, 2]]}\n", "2 roots but 1 target sets"),
        ("data: {roots: [0], target_sets: [[1, 7]]}\n", "out of range for 5"),
        ("data: {roots: [0], target_sets: [[1, -2]]}\n", "non-negative"),
        ("vis: {colors: [[300, 0, 0]], bones: [[0, 1]], limb_id: [0, 0]}\n", "0-255"),
        ("vis: {colors: [[3, 0]], bones: [[0, 1]], limb_id: [0, 0]}\n", "triplet"),
        ("vis: {colors: [[3, 0, 0]], bones: [[0, 1, 2]], limb_id: [0, 0, 0]}\n", "pair"),
        ("vis: {colors: [[3, 0, 0]], bones: [[0, 1], [1, 2]], limb_id: [0, 0]}\n", "one per joint"),
        ("vis: {colors: [[3, 0, 0]], bones: [[0, 1]], limb_id: [0, 1, 0, 0, 0]}\n", r"limbs \[1\]"),
        ("vis: {colors: [[3, 0, 0]], bones: [[0, 9]], limb_id: [0, 0]}\n", "out of range"),
        ("vis: {colors: [[3, 0, 0]], bones: [[0, 1]]}\n", r"lacks \['limb_id'\]"),
        ("other: 1\n", "neither"),
        ("- 1\n- 2\n", "mapping"),
        ("data: [roots\n", "not a valid YAML"),
    ],
)
def test_invalid_params_name_the_file(tmp_path, text, match):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=match) as info:
        load_params(path, n_keypoints=5)
    assert str(path) in str(info.value)


def test_names_must_match_keypoint_count(tmp_path):
    text = "vis: {colors: [[3, 0, 0]], bones: [[0, 1]], limb_id: [0, 0], names: [a, b]}\n"
    with pytest.raises(ConfigError, match="2 names for 3 keypoints"):
        load_params(write(tmp_path, text), n_keypoints=3)


def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match="nope.yaml"):
        load_params(tmp_path / "nope.yaml")


def test_save_params_roundtrip_and_overwrite(tmp_path):
    import numpy as np

    params = {
        "data": {"roots": np.array([0, 5]), "target_sets": [[1, 2], (6, 7)]},
        "vis": {"colors": [[1, 2, 3], [4, 5, 6]], "bones": [[0, 1]], "limb_id": [0] * 8},
    }
    path = save_params(params, tmp_path / "out" / "param.yaml")
    back = load_params(path)
    assert back["data"] == {"roots": [0, 5], "target_sets": [[1, 2], [6, 7]]}
    assert back["vis"]["limb_id"] == [0] * 8
    assert yaml.safe_load(path.read_text())["vis"]["colors"] == [[1, 2, 3], [4, 5, 6]]
    with pytest.raises(OutputExistsError):
        save_params(params, path)
    params["data"]["roots"] = [0, 4]
    save_params(params, path, overwrite=True)
    assert load_params(path)["data"]["roots"] == [0, 4]
    # invalid parameters are refused before anything is written
    with pytest.raises(ConfigError):
        save_params({"data": {"roots": [0]}}, tmp_path / "bad.yaml")
    assert not (tmp_path / "bad.yaml").exists()
    assert sorted(p.name for p in path.parent.iterdir()) == ["param.yaml"]


def test_vis_from_dict_components_and_palette():
    cfg = {
        "bodyparts": ["a", "b", "c", "d", "e", "f"],
        "skeleton": [["a", "b"], ["d", "e"], ["b", "c"]],
    }
    vis = vis_from_dlc_config(cfg)
    assert vis["names"] == ["a", "b", "c", "d", "e", "f"]
    assert vis["bones"] == [[0, 1], [3, 4], [1, 2]]
    assert vis["limb_id"] == [0, 0, 0, 1, 1, 2]  # {a,b,c}, {d,e}, {f}
    assert vis["colors"] == PALETTE[:3]
    # the result is a valid vis section
    validate_params({"vis": vis}, n_keypoints=6)
    # keypoint order of the data can be imposed
    vis2 = vis_from_dlc_config(cfg, keypoints=["e", "d", "a"])
    assert vis2["bones"] == [[1, 0]]
    assert vis2["limb_id"] == [0, 0, 1]


def test_vis_from_dict_errors():
    with pytest.raises(ConfigError, match="unknown bodyparts"):
        vis_from_dlc_config({"bodyparts": ["a"], "skeleton": [["a", "z"]]})
    with pytest.raises(ConfigError, match="not a pair"):
        vis_from_dlc_config({"bodyparts": ["a", "b"], "skeleton": [["a", "b", "a"]]})
    with pytest.raises(ConfigError, match="no 'bodyparts'"):
        vis_from_dlc_config({"skeleton": []})
    with pytest.raises(ConfigError, match="not bodyparts"):
        vis_from_dlc_config({"bodyparts": ["a"]}, keypoints=["q"])


def test_vis_from_dlc_config_file_errors(tmp_path):
    with pytest.raises(MissingFileError, match="config"):
        vis_from_dlc_config(tmp_path / "config.yaml")
    bad = write(tmp_path, "bodyparts: [a\n", "config.yaml")
    with pytest.raises(ConfigError, match="config.yaml"):
        vis_from_dlc_config(bad)


@pytest.mark.realdata
def test_vis_from_real_multianimal_config(shared_data):
    path = shared_file(shared_data, "dlc/multi_mouse-dlc_team-2022-04-12/config.yaml")
    vis = vis_from_dlc_config(path)
    assert vis["names"] == ["bodypart1", "bodypart2", "bodypart3", "corner1", "corner2"]
    # skeleton: a triangle over the three bodyparts; the corners are limbs of their own
    assert vis["bones"] == [[0, 1], [1, 2], [0, 2]]
    assert vis["limb_id"] == [0, 0, 0, 1, 2]
    assert len(vis["colors"]) == 3
    vis_ma = vis_from_dlc_config(path, keypoints=["bodypart1", "bodypart2", "bodypart3"])
    assert vis_ma["limb_id"] == [0, 0, 0]
    assert validate_params({"vis": vis}, n_keypoints=5)["vis"] == vis


@pytest.mark.realdata
def test_vis_from_real_single_animal_config(shared_data):
    path = shared_file(shared_data, "dlc/openfield/config.yaml")
    vis = vis_from_dlc_config(path)
    assert vis["names"] == ["snout", "leftear", "rightear", "tailbase"]
    assert vis["bones"] == []  # the project has no skeleton
    assert vis["limb_id"] == [0, 1, 2, 3]
    assert len(vis["colors"]) == 4
