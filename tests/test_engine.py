"""The lifting engine: planned once, chunks and progress, cancel, context windows, masking."""

from __future__ import annotations

import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "workflow"))
from wf_helpers import (
    mouse_2d,
    one_thread_fixture,
    trained_mouse_model,
    trained_tiny_lifter,
    write_analysis,
)

from liftpose_dlc import Poses, engine  # noqa: E402
from liftpose_dlc.engine import (  # noqa: E402
    LiftCancelled,
    LiftEngine,
    context_frames,
)
from liftpose_dlc.errors import ConfigError, KeypointError  # noqa: E402
from liftpose_dlc.workflow import lift_poses  # noqa: E402
from liftpose_dlc.workflow.file_lift import lift_dlc_file  # noqa: E402

one_torch_thread = pytest.fixture(autouse=True)(one_thread_fixture)

KEYPOINTS = ["a", "b", "c", "d"]


class MovingAverage:
    """A stand-in temporal model: each frame's 3D is the mean 2D over a window around it.

    Its output at frame t depends on the frames ``t - before .. t + after`` of the sequence
    it is given (fewer at the sequence's ends), as a temporal lifter's does.
    """

    keypoints = KEYPOINTS
    roots = [0]
    target_sets = [[1, 2, 3]]

    def __init__(self, context: int | tuple[int, int]) -> None:
        self.context_frames = context
        self.calls: list[tuple[int, ...]] = []

    def predict_sequences(self, x, *, batch_size, device, root_positions):
        self.calls.append(x.shape)
        before, after = context_frames(self)
        out = np.empty(x.shape[:-1] + (3,))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a window without the point
            for t in range(x.shape[1]):
                m = np.nanmean(x[:, max(0, t - before) : t + after + 1], axis=1)
                out[:, t] = np.concatenate([m, m.sum(-1, keepdims=True)], -1)
        return out


def moving_average(x: np.ndarray, before: int, after: int) -> np.ndarray:
    """The reference: MovingAverage over a whole recording ``(n, J, 2)`` at once."""
    out = np.empty(x.shape[:-1] + (3,))
    for t in range(x.shape[0]):
        m = np.nanmean(x[max(0, t - before) : t + after + 1], axis=0)
        out[t] = np.concatenate([m, m.sum(-1, keepdims=True)], -1)
    return out


class Recording:
    """A minimal source (n_frames, individuals, keypoints, read) that logs its reads."""

    def __init__(self, poses: Poses) -> None:
        self.poses = poses
        self.n_frames = poses.n_frames
        self.individuals = poses.individuals
        self.keypoints = poses.keypoints
        self.reads: list[tuple[int, int]] = []

    def read(self, start: int, stop: int) -> Poses:
        self.reads.append((start, stop))
        return self.poses.select(frames=slice(start, stop))


def _poses(n: int = 25, n_ind: int = 1, seed: int = 0) -> Poses:
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(n, n_ind, 4, 2))
    conf = rng.uniform(0.5, 1.0, size=(n, n_ind, 4))
    return Poses(data, KEYPOINTS, confidence=conf, fps=30.0, skeleton=[("a", "b")])


# ------------------------------------------------------------------ planning, chunks
def test_the_lift_is_planned_once(monkeypatch):
    calls = []
    original = engine.make_plan

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(engine, "make_plan", counting)
    lift_poses(_poses(40), trained_tiny_lifter(), chunk_size=7)
    assert len(calls) == 1

    from napari_liftpose.actions import LiftRequest, TrackingInfo, run_lift

    info = TrackingInfo(Path("x.h5"), Path("x.h5"), "DeepLabCut", _poses(40))
    steps = list(run_lift(LiftRequest(info, trained_tiny_lifter()), chunk=6))
    assert len(calls) == 2  # one more lift, one more plan (not one per chunk)
    assert steps == [(0, 40)] + [(min(40, k), 40) for k in range(6, 43, 6)]


def test_chunks_have_their_frame_ranges_and_progress():
    poses = _poses(25)
    source = Recording(poses)
    eng = LiftEngine(trained_tiny_lifter(), source, chunk_size=10)
    chunks = list(eng.chunks())
    assert [(c.start, c.stop, c.done, c.total) for c in chunks] == [
        (0, 10, 10, 25),
        (10, 20, 20, 25),
        (20, 25, 25, 25),
    ]
    assert [c.poses.n_frames for c in chunks] == [10, 10, 5]
    assert source.reads == [(0, 10), (10, 20), (20, 25)]  # a frame lifter reads no context
    whole = eng.collect(chunks)
    np.testing.assert_array_equal(whole.poses.data, np.concatenate([c.poses.data for c in chunks]))
    assert whole.poses.edge_indices == []  # the source named no skeleton
    done = []
    lift_poses(poses, trained_tiny_lifter(), chunk_size=10, progress=done.append)
    assert done == [10, 10, 5]


def test_engine_options_are_checked_once_up_front():
    lifter = trained_tiny_lifter()
    with pytest.raises(ConfigError, match="chunk_size"):
        LiftEngine(lifter, _poses(), chunk_size=0)
    with pytest.raises(ConfigError, match="root_positions"):
        LiftEngine(lifter, _poses(), root_positions="middle")
    with pytest.raises(KeypointError, match=r"\['d'\]"):
        LiftEngine(lifter, _poses().select(keypoints=["a", "b", "c"]))
    with pytest.raises(ConfigError, match="source"):
        LiftEngine(lifter, np.zeros((3, 4, 2)))
    with pytest.raises(ConfigError, match="context_frames"):
        LiftEngine(MovingAverage(-1), _poses())


# -------------------------------------------------------------------------- cancel
def test_stopping_the_iteration_reads_no_further():
    source = Recording(_poses(50))
    chunks = LiftEngine(trained_tiny_lifter(), source, chunk_size=10).chunks()
    next(chunks)
    chunks.close()
    assert source.reads == [(0, 10)]


def test_cancel_stops_early():
    stop = threading.Event()
    source = Recording(_poses(50))
    eng = LiftEngine(trained_tiny_lifter(), source, chunk_size=10)
    seen = []

    def consume():
        for chunk in eng.chunks(cancel=stop):
            seen.append(chunk.stop)
            if chunk.stop == 20:
                stop.set()

    with pytest.raises(LiftCancelled, match="cancelled at frame 20"):
        consume()
    assert seen == [10, 20]
    assert source.reads == [(0, 10), (10, 20)]
    with pytest.raises(LiftCancelled):
        lift_poses(_poses(50), trained_tiny_lifter(), chunk_size=10, cancel=lambda: True)


def test_a_cancelled_file_lift_writes_nothing(tmp_path):
    src = write_analysis(tmp_path, "v.mp4", mouse_2d(n=90))
    dest = tmp_path / "v_3d.h5"
    done = []

    class Bar:  # a tqdm-like progress bar that asks to cancel after the first chunk
        total = None

        def update(self, n):
            done.append(n)

    with pytest.raises(LiftCancelled):
        lift_dlc_file(
            src,
            dest,
            trained_mouse_model(),
            chunk_size=30,
            save_as_csv=True,
            progress=Bar(),
            cancel=lambda: bool(done),
        )
    assert done == [30]
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]


# ------------------------------------------------------------------------- windows
@pytest.mark.parametrize("context", [2, (3, 0), (0, 4), 0])
def test_windows_give_chunked_output_equal_to_whole(context):
    poses = _poses(47, seed=1)
    model = MovingAverage(context)
    before, after = context_frames(model)
    whole = lift_poses(poses, model, chunk_size=1000).poses.data
    source = Recording(poses)
    chunked = LiftEngine(model, source, chunk_size=10).lift_all().poses.data
    np.testing.assert_array_equal(chunked, whole)
    np.testing.assert_array_equal(whole[:, 0], moving_average(poses.data[:, 0], before, after))
    # each chunk was read with its context, clipped at the recording's ends
    assert source.reads == [(max(0, a - before), min(47, a + 10 + after)) for a in range(0, 47, 10)]


def test_a_window_follows_one_individual():
    poses = _poses(30, n_ind=3, seed=2)
    model = MovingAverage(2)
    lifted = LiftEngine(model, poses, chunk_size=8).lift_all().poses
    assert lifted.individuals == poses.individuals
    assert model.calls[0] == (3, 10, 4, 2)  # one sequence per individual, 8 frames + 2 after
    for i, ind in enumerate(poses.individuals):
        alone = lift_poses(poses.select(individuals=[ind]), MovingAverage(2), chunk_size=30)
        np.testing.assert_array_equal(lifted.data[:, i], alone.poses.data[:, 0])


def test_multi_animal_plan_with_single_is_made_from_the_whole_recording():
    # ``single`` holds the unique bodypart d only in the last frames: a plan made per
    # chunk would differ between chunks, the engine's plan does not
    data = np.full((20, 3, 4, 2), np.nan)
    rng = np.random.default_rng(3)
    data[:, :2, :3] = rng.normal(size=(20, 2, 3, 2))
    data[15:, 2, 3] = rng.normal(size=(5, 2))
    poses = Poses(data, KEYPOINTS, individuals=["m1", "m2", "single"])
    lifted = LiftEngine(MovingAverage(1), poses, chunk_size=5).lift_all().poses
    assert lifted.individuals == ["m1", "m2"]
    # d of each animal comes from single (NaN until frame 15, where the window sees it)
    assert np.isnan(lifted.data[:15, :, 3]).all()
    np.testing.assert_array_equal(lifted.data[15:, 0, 3], lifted.data[15:, 1, 3])
    assert np.isfinite(lifted.data[15:, :, 3]).all()


# ------------------------------------------------------------------------- masking
def test_masking_by_pcutoff_happens_in_mask_below(monkeypatch):
    poses = _poses(20)
    conf = poses.confidence.copy()
    conf[4, 0, 2] = 0.1
    poses = poses.replace(confidence=conf)
    calls = []
    original = Poses.mask_below

    def spy(self, pcutoff):
        calls.append(pcutoff)
        return original(self, pcutoff)

    monkeypatch.setattr(Poses, "mask_below", spy)
    out = lift_poses(poses, MovingAverage(0), pcutoff=0.5, chunk_size=10).poses.data
    assert calls == [0.5, 0.5]  # once per chunk, by the engine
    assert np.isnan(out[4, 0, 2]).all()
    assert np.isfinite(np.delete(out.reshape(-1, 3), 4 * 4 + 2, axis=0)).all()
    with pytest.raises(ConfigError, match="between 0 and 1"):
        lift_poses(poses, MovingAverage(0), pcutoff=1.5)


def test_infer_occluded_with_a_model_keeps_its_estimate():
    poses = _poses(12)
    conf = poses.confidence.copy()
    conf[3, 0, 1] = 0.1
    poses = poses.replace(confidence=conf)
    result = lift_poses(poses, MovingAverage(1), pcutoff=0.5, infer_occluded=True)
    assert np.argwhere(result.inferred[:, 0]).tolist() == [[3, 1]]
    # the estimate from the neighbouring frames is kept
    expected = np.nanmean(poses.data[2:5:2, 0, 1], axis=0)
    np.testing.assert_allclose(result.poses.data[3, 0, 1, :2], expected)
    without = lift_poses(poses, MovingAverage(1), pcutoff=0.5)
    assert np.isnan(without.poses.data[3, 0, 1]).all()
    assert not without.inferred.any()


# ------------------------------------------------------------ pcutoff out of range
def test_pcutoff_out_of_range_is_refused_before_anything_is_written(tmp_path, capsys):
    from liftpose_dlc.cli import main
    from liftpose_dlc.io.dlc import load_dlc

    src = write_analysis(tmp_path, "v.mp4", mouse_2d(n=20))
    args = ["lift", str(src), "--model", str(trained_mouse_model()), "--pcutoff", "1.5", "-q"]
    with pytest.raises(SystemExit) as info:  # the CLI checks its arguments first
        main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --pcutoff: must be in [0, 1]" in err
    assert "1.5" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [src.name]
    with pytest.raises(ConfigError, match="between 0 and 1"):
        load_dlc(src, pcutoff=-0.2)


def test_a_config_pcutoff_out_of_range_names_the_config(tmp_path):
    from wf_helpers import MOUSE, write_config

    from liftpose_dlc import lift_dlc_project

    config = write_config(tmp_path / "p", MOUSE, ["v.mp4"], pcutoff=60)
    write_analysis(tmp_path / "p" / "videos", "v.mp4", mouse_2d(n=20))
    with pytest.raises(ConfigError, match=r"config\.yaml: pcutoff must be between 0 and 1"):
        lift_dlc_project(config, trained_mouse_model(), verbose=False)


def test_a_model_with_context_streams_a_dlc_file_like_it_lifts_it_whole(tmp_path):
    from liftpose_dlc.io.dlc import load_dlc
    from liftpose_dlc.io.dlc_stream import DLCChunkReader

    poses = mouse_2d(n=53).replace(keypoints=KEYPOINTS)
    src = write_analysis(tmp_path, "v.mp4", poses)
    model = MovingAverage((2, 3))
    out = lift_dlc_file(src, tmp_path / "v_3d.h5", model, pcutoff=0.6, chunk_size=10)
    whole = lift_poses(load_dlc(src), MovingAverage((2, 3)), pcutoff=0.6, chunk_size=100)
    np.testing.assert_array_equal(load_dlc(out).data, whole.poses.data)
    assert [shape[1] for shape in model.calls] == [13, 15, 15, 15, 15, 5]  # with context
    with DLCChunkReader(src) as reader:  # the chunk reader is a source as it is
        eng = LiftEngine(MovingAverage((2, 3)), reader, pcutoff=0.6, chunk_size=7)
        np.testing.assert_array_equal(eng.lift_all().poses.data, whole.poses.data)
