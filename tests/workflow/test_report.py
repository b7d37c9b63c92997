"""Errors against known 3D and the figures (files written, real numbers)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from liftpose_dlc import Poses
from liftpose_dlc.errors import KeypointError, OutputExistsError, PosesValidationError
from liftpose_dlc.workflow.report import (
    animate_lifted,
    best_frame,
    evaluate,
    plot_errors,
    plot_lifted,
    plot_lifted_frame,
    plot_training,
)

NAMES = ["root", "a", "b"]


def _truth_and_pred(n: int = 10):
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(n, 1, 3, 3))
    pred = truth.copy()
    pred[:, 0, 1] += [3.0, 4.0, 0.0]  # 5 units off
    pred += 100.0  # a translation: root-relative errors ignore it
    return Poses(pred, NAMES, skeleton=[("root", "a"), ("root", "b")]), Poses(truth, NAMES)


def test_evaluate_root_relative_and_plain():
    pred, truth = _truth_and_pred()
    ev = evaluate(pred, truth, roots=["root"], units="mm")
    assert ev.root_relative
    assert ev.mpjpe == pytest.approx(2.5)  # (5 + 0) / 2 per frame
    assert ev.per_keypoint["a"] == pytest.approx(5.0)
    assert ev.per_keypoint["b"] == pytest.approx(0.0)
    assert np.isnan(ev.per_keypoint["root"])
    assert ev.coverage == 1.0
    assert ev.n_points == 20
    assert "2.5 mm" in ev.summary()
    plain = evaluate(pred, truth)
    assert plain.mpjpe > 100
    assert plain.to_dict()["mpjpe"] == pytest.approx(plain.mpjpe)


def test_evaluate_counts_missing_predictions():
    pred, truth = _truth_and_pred()
    data = pred.data.copy()
    data[:5, 0, 2] = np.nan
    ev = evaluate(pred.replace(data=data), truth, roots=["root"], target_sets=["a", "b"])
    assert ev.coverage == pytest.approx(15 / 20)
    assert ev.n_points == 15


def test_evaluate_checks_its_inputs():
    pred, truth = _truth_and_pred()
    with pytest.raises(KeypointError, match="lacks keypoints"):
        evaluate(pred, truth.select(keypoints=["root", "a"]))
    with pytest.raises(PosesValidationError, match="frames"):
        evaluate(pred, truth.select(frames=slice(0, 5)))


def _is_png(path):
    with Image.open(path) as img:
        return img.format == "PNG" and img.size[0] > 100


def test_figures_are_written(tmp_path):
    pred, truth = _truth_and_pred(20)
    two = Poses(np.random.default_rng(1).normal(size=(20, 1, 3, 2)), NAMES)
    assert _is_png(plot_errors(pred, truth, tmp_path / "e.png", roots=["root"], units="mm"))
    assert _is_png(plot_lifted_frame(two, pred, tmp_path / "f.png", truth_3d=truth))
    gif = animate_lifted(pred, tmp_path / "a.gif", frames=range(3, 8))
    with Image.open(gif) as img:
        assert img.format == "GIF"
        assert img.n_frames == 5
    with pytest.raises(OutputExistsError):
        plot_errors(pred, truth, tmp_path / "e.png")
    written = plot_lifted(two, pred, tmp_path / "out", stem="x", frames=range(4))
    assert sorted(p.name for p in written.values()) == ["x_3d.gif", "x_frame.png"]


def test_best_frame_picks_the_most_complete():
    data = np.full((4, 2, 3, 3), np.nan)
    data[2, 1] = 0.0
    data[3, 0, 0] = 0.0
    assert best_frame(Poses(data, NAMES)) == (2, 1)


def test_plot_training_reads_the_log(tmp_path):
    (tmp_path / "train_log.txt").write_text(
        "epoch\tlr\tloss_train\tloss_test\terr_test\n1\t0.001\t0.5\t0.6\t2.0\n2\t0.001\t0.4\t0.5\t1.5\n"
    )
    assert _is_png(plot_training(tmp_path, tmp_path / "loss.png", held_out="validation"))
