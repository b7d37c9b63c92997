import socket

import numpy as np
import pytest
import yaml
from zoo_helpers import MOUSE_KEYPOINTS, card, lab_folder, tiny_mouse, write_model

import liftpose_dlc as lp
from liftpose_dlc.errors import ConfigError, MissingFileError, ModelFileError
from liftpose_dlc.pretrained import (
    MODELS_ENV,
    ModelCard,
    ModelShadowWarning,
    list_models,
    load_model,
    load_pretrained,
    model_card,
    read_card,
)
from liftpose_dlc.pretrained.registry import BUILTIN_DIR, find_model


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a pretrained model must load without network access")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def lab(tmp_path_factory, monkeypatch):
    folder = lab_folder(tmp_path_factory.mktemp("lab_models"))
    monkeypatch.setenv(MODELS_ENV, str(folder))
    return folder


def test_lab_model_is_listed_and_loads(lab, no_network):
    entries = {m.name: m for m in list_models()}
    assert {"labmouse", "labfly"} <= set(entries)
    entry = entries["labmouse"]
    assert entry.source == str(lab.resolve())
    assert not entry.builtin
    assert entry.card.species == "mouse"
    lifter = load_pretrained("labmouse")
    assert lifter.keypoints == MOUSE_KEYPOINTS
    assert isinstance(lifter.card, ModelCard)
    assert lifter.card.licences == ["CC0-1.0"]
    assert lifter.card.citations == ["liftpose-dlc test suite"]
    assert lifter.card.path == lab.resolve() / "labmouse.yaml"
    # the same weights as the trained model
    x = np.random.default_rng(0).normal(300, 30, (5, 8, 2))
    np.testing.assert_allclose(lifter.predict(x), tiny_mouse().predict(x), atol=1e-6)
    assert model_card("labfly").keypoints[0] == "LF_Coxa"
    # the public names
    assert lp.load_pretrained is load_pretrained
    assert [m.name for m in lp.list_models()] == [m.name for m in list_models()]


def test_builtin_cards_load_offline_with_licence_and_citation(no_network):
    # every model shipped in the package (the research branch adds them) has a valid card
    # naming its data's licences and citations, and its weights load without network
    shipped = sorted(BUILTIN_DIR.glob("*.yaml")) if BUILTIN_DIR.is_dir() else []
    for card_path in shipped:
        card_ = read_card(card_path)
        assert card_.name == card_path.stem
        assert card_.units == "mm"
        for data in card_.training_data:
            assert data.licence.strip()
            assert data.citation.strip()
            assert data.url.strip()
        lifter = load_pretrained(card_.name)
        assert lifter.keypoints == card_.keypoints
        assert lifter.is_trained
    names = {m.name for m in list_models() if m.builtin}
    assert names == {p.stem for p in shipped}


def test_several_folders_first_wins_with_a_warning(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    write_model(a, "mouse", tiny_mouse(), "mouse")
    write_model(b, "mouse", tiny_mouse(), "rat")
    monkeypatch.setenv(MODELS_ENV, f"{a}{__import__('os').pathsep}{b}")
    with pytest.warns(ModelShadowWarning, match="two models are named 'mouse'"):
        entry = find_model("mouse")
    assert entry.source == str(a.resolve())
    with pytest.warns(ModelShadowWarning):
        assert load_pretrained("mouse").card.species == "mouse"


def test_missing_lab_folder_warns(tmp_path, monkeypatch):
    monkeypatch.setenv(MODELS_ENV, str(tmp_path / "nope"))
    with pytest.warns(UserWarning, match="not a folder"):
        list_models()


def test_unknown_model_lists_the_known_ones(lab):
    with pytest.raises(MissingFileError, match="no pretrained model 'elephant'.*labfly, labmouse"):
        load_pretrained("elephant")
    with pytest.raises(MissingFileError, match="no such file, and no pretrained model"):
        load_model("elephant")
    with pytest.raises(MissingFileError, match="no built-in pretrained model 'labmouse'"):
        load_pretrained("builtin:labmouse")


def test_invalid_card_names_the_file(tmp_path, monkeypatch):
    write_model(tmp_path, "broken", tiny_mouse(), "mouse")
    data = yaml.safe_load((tmp_path / "broken.yaml").read_text())
    del data["training_data"][0]["licence"]
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(data))
    monkeypatch.setenv(MODELS_ENV, str(tmp_path))
    with pytest.raises(ModelFileError, match=r"broken\.yaml.*lacks \['licence'\]"):
        model_card("broken")
    with pytest.warns(UserWarning, match="model 'broken' left out"):
        assert "broken" not in [m.name for m in list_models()]
    # a card that does not describe its model file
    data = card("other", tiny_mouse(), "mouse", [])
    data["keypoints"] = list(reversed(data["keypoints"]))
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ModelFileError, match="the card does not describe"):
        load_pretrained("broken")
    (tmp_path / "broken.yaml").write_text("name: [unclosed")
    with pytest.raises(ModelFileError, match="not valid YAML"):
        model_card("broken")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("roots", ["Nope", "SpineF"], "not in `keypoints`"),
        ("target_sets", [["Snout"]], "one list of names per root"),
        ("views", {}, "`views` must be"),
        ("keypoints", ["a", "a"], "unique names"),
        ("skeleton", [["Snout"]], r"\[a, b\] pairs"),
        ("species", "", "non-empty string"),
    ],
)
def test_card_validation(key, value, message):
    data = card("m", tiny_mouse(), "mouse", [])
    data[key] = value
    with pytest.raises(ModelFileError, match=message):
        ModelCard.from_dict(data, where="m.yaml")


def test_view_hint(lab):
    assert load_pretrained("labmouse", view="top").card.name == "labmouse"
    with pytest.raises(ConfigError, match="has no view 'ventral'; its views: top"):
        load_pretrained("labmouse", view="ventral")
    # a card may name a model specialised for a view
    data = yaml.safe_load((lab / "labmouse.yaml").read_text())
    data["views"]["side"] = [[-180, 180], [60, 90], [-20, 20]]
    data["view_models"] = {"side": "labmouse_side.safetensors"}
    (lab / "labmouse.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ModelFileError, match="view model 'labmouse_side.safetensors'"):
        load_pretrained("labmouse", view="side")
    tiny_mouse().save(lab / "labmouse_side.safetensors", overwrite=True)
    assert load_pretrained("labmouse", view="side").card.view_models == data["view_models"]


def test_load_model_path_with_card_beside_it(lab, tmp_path):
    lifter = load_model(lab / "labmouse.safetensors")
    assert lifter.card.name == "labmouse"
    # a training record beside a model file is not a card
    plain = tiny_mouse().save(tmp_path / "lifter.safetensors")
    (tmp_path / "lifter.yaml").write_text("keypoints: [a]\nmodel_file: lifter.safetensors\n")
    assert getattr(load_model(plain), "card", None) is None
    with pytest.raises(MissingFileError, match="lifter model file not found"):
        load_model(tmp_path / "missing.safetensors")


def test_card_keeps_unknown_keys_and_round_trips(tmp_path):
    from liftpose_dlc.pretrained import write_card

    data = card("m", tiny_mouse(), "mouse", [["Snout", "EarL"]])
    data["view_convention"] = "Euler angles [[z], [y], [x]] in degrees"
    data["training_frames"] = 1234
    parsed = ModelCard.from_dict(data, where="m.yaml")
    assert parsed.extra == {"view_convention": data["view_convention"], "training_frames": 1234}
    path = write_card(parsed, tmp_path / "m.yaml")
    again = read_card(path)
    assert again.as_dict() == parsed.as_dict()
    assert again.skeleton == [("Snout", "EarL")]
    assert "cite: liftpose-dlc test suite" in again.describe()
