"""The Lift widget's "Specialise for my keypoints" without Qt: which models can be
specialised, training (and the cache) as worker steps, cancelling, lifting with the
specialist (the real openfield project and the shipped mouse model)."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest
import torch
import yaml

from liftpose_dlc.errors import ConfigError, KeypointError
from liftpose_dlc.pretrained import MODELS_ENV
from liftpose_dlc.pretrained.registry import BUILTIN_DIR
from liftpose_dlc.pretrained.specialise import CACHE_ENV, cache_folder
from liftpose_dlc.workflow.lifting import lift_poses
from napari_liftpose.actions import LiftRequest, inspect_tracking
from napari_liftpose.specialising import (
    SpecialiseCancelled,
    SpecialiseRequest,
    SpecialiseStep,
    can_specialise,
    run_specialise,
    run_specialised_lift,
    specialise_tooltip,
)

OPENFIELD = ["snout", "leftear", "rightear", "tailbase"]
#: the user leaves the right ear out in the table
NO_RIGHT_EAR = {"snout": "Snout", "leftear": "EarL", "rightear": None, "tailbase": "TailBase"}
STEPS = 30  # the recipe's floor of 30 epochs still trains ~540 batches (~20 s on one core)


@pytest.fixture(autouse=True)
def _cache_and_one_thread(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def drain(generator):
    """Run a generator to its end: its yields and its return value."""
    steps = []
    while True:
        try:
            steps.append(next(generator))
        except StopIteration as stop:
            return steps, stop.value


def lab_copy_without_library(folder):
    """A lab folder with ``labmouse``: the shipped mouse, its card without ``pose_library``."""
    folder.mkdir()
    shutil.copy(BUILTIN_DIR / "mouse.safetensors", folder / "labmouse.safetensors")
    card = yaml.safe_load((BUILTIN_DIR / "mouse.yaml").read_text())
    card["name"] = "labmouse"
    card.pop("pose_library")
    (folder / "labmouse.yaml").write_text(yaml.safe_dump(card))
    return folder


def specialist_threads():
    return [t for t in threading.enumerate() if t.name == "liftpose-specialise"]


def test_which_lifters_can_be_specialised(tmp_path, monkeypatch, mouse_lifter_path):
    monkeypatch.setenv(MODELS_ENV, str(lab_copy_without_library(tmp_path / "lab")))
    assert [can_specialise(m) for m in ("mouse", "fly", "rat")] == [True, True, True]
    assert can_specialise(str(BUILTIN_DIR / "mouse.safetensors"))  # a model file with its card
    assert not can_specialise("labmouse")  # its card ships no pose library
    assert not can_specialise(str(mouse_lifter_path))  # a project's own lifter: no card
    assert not can_specialise("")
    assert not can_specialise("no such model")
    tip = specialise_tooltip()
    assert str(tmp_path / "cache" / "specialists") in tip
    assert "once" in tip
    assert "minute" in tip
    with pytest.raises(ConfigError, match="ships no pose library"):
        drain(run_specialise(SpecialiseRequest("labmouse", OPENFIELD)))
    # too few keypoints: said before any training
    with pytest.raises(KeypointError, match="too few keypoints"):
        drain(run_specialise(SpecialiseRequest("mouse", ["nose_tip", "whatever"])))
    assert not cache_folder().exists()


@pytest.mark.realdata
def test_specialise_then_lift_the_openfield_project(openfield_project):
    info = inspect_tracking(openfield_project["h5"])
    assert info.poses.keypoints == OPENFIELD
    request = SpecialiseRequest("mouse", info.poses.keypoints, NO_RIGHT_EAR, steps=STEPS)
    steps, specialist = drain(run_specialise(request, poll_s=0.05))
    assert all(isinstance(s, SpecialiseStep) for s in steps)
    assert steps[0].text == (
        "Specialising the mouse model for your 3 keypoints (EarL, Snout, TailBase)…"
    )
    training = [s for s in steps if s.total]
    done = [s.done for s in training]
    assert len(set(done)) > 5
    assert np.all(np.diff(done) >= 0)  # a poll between two training steps repeats the last
    assert training[-1].done == training[-1].total  # every sample of the run
    assert training[0].text.startswith("Training the mouse model for your 3 keypoints: ")
    assert steps[-1].specialist is specialist
    assert steps[-1].text == (
        "The mouse model specialised for your 3 keypoints (trained now and cached)."
    )
    assert specialist.trained
    assert specialist.needed
    assert specialist.tracked == ["EarL", "Snout", "TailBase"]
    assert specialist.lifter.specialised_for == specialist.tracked
    cached = list(cache_folder().glob("mouse-3kp-*.safetensors"))
    assert len(cached) == 1

    # the next run loads it: no training steps, the same weights
    steps, again = drain(run_specialise(request))
    assert not any(s.total for s in steps)
    assert steps[-1].text == "The mouse model specialised for your 3 keypoints (from the cache)."
    assert not again.trained
    for a, b in zip(specialist.lifter.net.parameters(), again.lifter.net.parameters(), strict=True):
        assert torch.equal(a, b)

    # specialise, then lift: what lift_poses gives with the specialist and the same map
    lift = LiftRequest(tracking=info, lifter="mouse", pcutoff=0.4)
    steps, outcome = drain(run_specialised_lift(lift, request, chunk=500))
    assert isinstance(steps[0], SpecialiseStep)
    frames = [s for s in steps if not isinstance(s, SpecialiseStep)]
    assert frames[0] == (0, 2330)
    assert frames[-1] == (2330, 2330)
    lifted = outcome.poses_3d
    assert lifted.keypoints == ["snout", "leftear", "tailbase"]
    assert lifted.n_frames == 2330
    expected = lift_poses(
        info.poses, again.lifter, keypoint_map=NO_RIGHT_EAR, pcutoff=0.4
    ).poses.data
    np.testing.assert_allclose(lifted.data, expected, atol=1e-5)
    assert np.isfinite(lifted.data[..., 2]).mean() > 0.5


@pytest.mark.realdata
def test_every_keypoint_tracked_needs_no_specialist():
    from liftpose_dlc.pretrained import model_card

    keypoints = model_card("mouse").keypoints
    steps, specialist = drain(run_specialise(SpecialiseRequest("mouse", keypoints)))
    assert not specialist.needed
    assert not specialist.trained
    assert "no specialist needed" in steps[-1].text
    assert not cache_folder().exists()


def test_closing_the_steps_stops_training_and_caches_nothing():
    request = SpecialiseRequest("mouse", ["Snout", "EarL", "TailBase"])  # the recipe's steps
    steps = run_specialise(request, poll_s=0.05)
    for step in steps:
        if step.total:  # training has started
            break
    assert step.done < step.total
    steps.close()  # e.g. the generator is garbage-collected
    assert not specialist_threads()
    assert not list(cache_folder().glob("*.safetensors"))
    # the cancel event stops it too, with an error saying so
    cancel = threading.Event()
    steps = run_specialise(request, cancel, poll_s=0.05)

    def cancel_once_training():
        for step in steps:
            if step.total:
                cancel.set()

    with pytest.raises(SpecialiseCancelled, match="cancelled: nothing was cached"):
        cancel_once_training()
    assert not specialist_threads()
    assert not list(cache_folder().glob("*.safetensors"))
