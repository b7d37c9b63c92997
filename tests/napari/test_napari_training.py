"""The Train panel's logic (no Qt): train in a helper thread, progress, cancel, outcome."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from liftpose_dlc import Poses
from liftpose_dlc.errors import ConfigError
from napari_liftpose.training import TrainingCancelled, TrainRequest, run_train, train_summary

KEYPOINTS = ["root", "a", "b", "c"]


def library(n_frames: int = 120) -> Poses:
    """A small 3D library: a rigid 4-keypoint body turning around its root, in mm."""
    rng = np.random.default_rng(0)
    body = np.array([[0, 0, 0], [20, 0, 0], [10, 8, 0], [10, -8, 4]], float)
    angles = np.linspace(0, 2 * np.pi, n_frames)
    rot = np.stack(
        [
            np.stack([np.cos(angles), -np.sin(angles), 0 * angles], -1),
            np.stack([np.sin(angles), np.cos(angles), 0 * angles], -1),
            np.stack([0 * angles, 0 * angles, 1 + 0 * angles], -1),
        ],
        axis=1,
    )
    data = np.einsum("tij,kj->tki", rot, body) + rng.normal(0, 0.3, (n_frames, 4, 3))
    return Poses(data[:, None], keypoints=KEYPOINTS, units="mm")


def request(tmp_path, **changes):
    base = dict(
        library=library(),
        model_path=tmp_path / "lifter.safetensors",
        epochs=2,
        units="mm",
        options={"linear_size": 32, "num_stage": 1, "batch_size": 64, "roots": ["root"]},
    )
    return TrainRequest(**{**base, **changes})


def test_run_train_yields_progress_and_saves(tmp_path):
    steps = []
    gen = run_train(request(tmp_path), poll_s=0.05)
    try:
        while True:
            steps.append(next(gen))
    except StopIteration as stop:
        outcome = stop.value
    done = [d for d, t in steps if t]
    assert done, steps
    assert done == sorted(done)  # samples done only grow
    total = max(t for _, t in steps)
    assert done[-1] == total  # the last step is the end of the last epoch
    assert outcome.model_path.is_file()
    assert len(outcome.history) == 2
    assert "2 epochs" in train_summary(outcome)


def test_cancel_stops_training_and_saves_nothing(tmp_path):
    cancel = threading.Event()
    gen = run_train(request(tmp_path, epochs=50), cancel, poll_s=0.05)

    def until_training_then_cancel():
        for _done, total in gen:
            if total:  # training has started
                cancel.set()

    with pytest.raises(TrainingCancelled, match="nothing was saved"):
        until_training_then_cancel()
    assert not (tmp_path / "lifter.safetensors").exists()


def test_bad_requests_fail_before_training(tmp_path):
    with pytest.raises(ConfigError, match="where the lifter goes"):
        next(run_train(TrainRequest(library=library())))
    with pytest.raises(ConfigError, match="epochs"):
        next(run_train(request(tmp_path, epochs=0)))


@pytest.mark.realdata
def test_fine_tune_the_zoo_mouse_on_dannce(tmp_path, shared_data):
    """Fine-tuning a pretrained model (the zoo's mouse) on a real 3D library (DANNCE)."""
    scipy_io = pytest.importorskip("scipy.io")
    from realdata import shared_file

    from liftpose_dlc.lifter.lifter import Lifter

    folder = shared_file(shared_data, "3d/dannce_mouse1_predictions/save_data_AVG.mat").parent
    mat = scipy_io.loadmat(folder / "save_data_AVG.mat")
    names = [str(n[0]) for n in scipy_io.loadmat(folder / "mouse22_skeleton.mat")["joint_names"][0]]
    dannce = Poses(mat["pred"].transpose(0, 2, 1)[:300, None], keypoints=names, units="mm")
    steps = []
    gen = run_train(
        TrainRequest(
            library=dannce,
            model_path=tmp_path / "mouse_ft.safetensors",
            init="mouse",
            epochs=1,
            units="mm",
            options={"min_steps": 5, "n_virtual_cameras": 2},
        ),
        poll_s=0.05,
    )
    try:
        while True:
            steps.append(next(gen))
    except StopIteration as stop:
        outcome = stop.value
    assert any(total for _, total in steps)
    tuned = Lifter.load(outcome.model_path)
    assert len(tuned.keypoints) == 22  # the model's keypoints
    # a fine-tune carries the model's card (and the keypoint map) beside it
    assert outcome.model_path.with_name("mouse_ft.card.yaml").is_file()
