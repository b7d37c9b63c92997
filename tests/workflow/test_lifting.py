"""lift_poses: the missing-point rules, keypoint matching, chunking and multi-animal plans."""

from __future__ import annotations

import numpy as np
import pytest
from wf_helpers import one_thread_fixture, trained_tiny_lifter

from liftpose_dlc import Poses
from liftpose_dlc.errors import ConfigError, KeypointError, PosesValidationError
from liftpose_dlc.workflow import lift_poses
from liftpose_dlc.workflow.lifting import make_plan, presence_from_poses

one_torch_thread = pytest.fixture(autouse=True)(one_thread_fixture)


@pytest.fixture
def tiny_lifter():
    return trained_tiny_lifter()


def _poses(n: int = 50, seed: int = 0) -> Poses:
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(n, 1, 4, 2))
    conf = np.full((n, 1, 4), 0.9)
    return Poses(data, ["a", "b", "c", "d"], confidence=conf, fps=25.0, skeleton=[("a", "b")])


def test_lift_matches_lifter_predict(tiny_lifter):
    poses = _poses()
    result = lift_poses(poses, tiny_lifter)
    expected = tiny_lifter.predict(poses.data[:, 0], root_positions="mean")
    assert result.poses.data.shape == (50, 1, 4, 3)
    np.testing.assert_allclose(result.poses.data[:, 0], expected, rtol=1e-6, atol=1e-9)
    assert result.poses.keypoints == ["a", "b", "c", "d"]
    assert result.poses.fps == 25.0
    assert list(result.poses.skeleton.edges) == [("a", "b")]
    assert result.poses.source.software == "liftpose-dlc"
    np.testing.assert_array_equal(result.poses.confidence, poses.confidence)
    assert not result.inferred.any()


def test_missing_and_low_confidence_points_are_nan(tiny_lifter):
    poses = _poses()
    data, conf = poses.data.copy(), poses.confidence.copy()
    data[3, 0, 1] = np.nan  # b missing
    conf[4, 0, 2] = 0.1  # c below pcutoff
    conf[5, 0, 0] = 0.1  # root below pcutoff: the whole set is NaN
    conf[6, 0, 3] = np.nan  # no likelihood: kept
    poses = poses.replace(data=data, confidence=conf)
    out = lift_poses(poses, tiny_lifter, pcutoff=0.5).poses.data[:, 0]
    nan = np.isnan(out).any(-1)
    expected = np.zeros((50, 4), dtype=bool)
    expected[3, 1] = expected[4, 2] = True
    expected[5, :] = True
    np.testing.assert_array_equal(nan, expected)
    # without pcutoff only the NaN point (and nothing else) is missing
    nan = np.isnan(lift_poses(poses, tiny_lifter).poses.data[:, 0]).any(-1)
    assert nan.sum() == 1
    assert nan[3, 1]


def test_infer_occluded_keeps_estimates_and_flags_them(tiny_lifter):
    poses = _poses()
    data, conf = poses.data.copy(), poses.confidence.copy()
    data[3, 0, 1] = np.nan
    conf[4, 0, 2] = 0.1
    conf[5, 0, 0] = 0.1
    poses = poses.replace(data=data, confidence=conf)
    result = lift_poses(poses, tiny_lifter, pcutoff=0.5, infer_occluded=True)
    out = result.poses.data[:, 0]
    assert np.isfinite(out[3, 1]).all()
    assert np.isfinite(out[4, 2]).all()
    assert np.isnan(out[5]).all()  # a missing root is never made up
    flagged = np.argwhere(result.inferred[:, 0])
    assert flagged.tolist() == [[3, 1], [4, 2]]
    # the estimate is the network's, as Lifter.predict gives it for a masked point
    masked = poses.data[:, 0].copy()
    masked[4, 2] = np.nan
    np.testing.assert_allclose(out[4, 2], tiny_lifter.predict(masked, root_positions="mean")[4, 2])


def test_results_do_not_depend_on_chunk_size(tiny_lifter):
    poses = _poses(n=101)
    a = lift_poses(poses, tiny_lifter, chunk_size=7).poses.data
    b = lift_poses(poses, tiny_lifter, chunk_size=1000).poses.data
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # float32 batches


def test_progress_counts_frames(tiny_lifter):
    seen = []
    lift_poses(_poses(n=30), tiny_lifter, chunk_size=8, progress=seen.append)
    assert seen == [8, 8, 8, 6]


def test_keypoints_are_matched_by_name(tiny_lifter):
    poses = _poses()
    shuffled = Poses(
        np.concatenate([poses.data[:, :, ::-1], np.zeros((50, 1, 1, 2))], axis=2),
        ["d", "c", "b", "a", "extra"],
        confidence=np.ones((50, 1, 5)),
    )
    out = lift_poses(shuffled, tiny_lifter).poses
    assert out.keypoints == ["a", "b", "c", "d"]
    np.testing.assert_allclose(out.data, lift_poses(poses, tiny_lifter).poses.data, atol=1e-9)


def test_missing_keypoint_names_both_lists(tiny_lifter):
    poses = Poses(np.zeros((5, 1, 3, 2)), ["a", "b", "x"])
    with pytest.raises(KeypointError, match=r"\['c', 'd'\].*trained for") as info:
        lift_poses(poses, tiny_lifter)
    assert "'x'" in str(info.value)


def test_bad_inputs(tiny_lifter):
    with pytest.raises(PosesValidationError, match="2D"):
        lift_poses(Poses(np.zeros((5, 1, 4, 3)), ["a", "b", "c", "d"]), tiny_lifter)
    with pytest.raises(ConfigError, match="root_positions"):
        lift_poses(_poses(), tiny_lifter, root_positions="middle")
    with pytest.raises(ConfigError, match="pcutoff"):
        lift_poses(_poses(), tiny_lifter, pcutoff="high")


def test_root_positions_zero_puts_the_root_at_the_origin(tiny_lifter):
    out = lift_poses(_poses(), tiny_lifter, root_positions="zero").poses.data[:, 0]
    np.testing.assert_array_equal(out[:, 0], 0.0)


def test_multi_animal_plan_feeds_unique_bodyparts_to_every_animal():
    individuals = ["m1", "m2", "single"]
    keypoints = ["b1", "b2", "u1"]
    present = {"m1": {"b1", "b2"}, "m2": {"b1", "b2"}, "single": {"u1"}}
    plan = make_plan(individuals, keypoints, ["b1", "b2", "u1"], present)
    assert plan.individuals == ["m1", "m2"]
    assert plan.source_individual.tolist() == [[0, 0, 2], [1, 1, 2]]
    # a lifter of the animals' bodyparts only: ``single`` is not lifted
    plan = make_plan(individuals, keypoints, ["b2", "b1"], present)
    assert plan.individuals == ["m1", "m2"]
    assert plan.source_keypoint.tolist() == [1, 0]
    # a lifter of the unique bodyparts only lifts ``single``
    plan = make_plan(individuals, keypoints, ["u1"], present)
    assert plan.individuals == ["single"]


def test_multi_animal_lift_uses_single_for_unique_bodyparts(tiny_lifter):
    rng = np.random.default_rng(1)
    n = 20
    data = np.full((n, 3, 4, 2), np.nan)
    data[:, 0, :3] = rng.normal(size=(n, 3, 2))  # animal 1: a, b, c
    data[:, 1, :3] = rng.normal(size=(n, 3, 2))  # animal 2: a, b, c
    data[:, 2, 3] = rng.normal(size=(n, 2))  # single: d (a unique bodypart)
    poses = Poses(data, ["a", "b", "c", "d"], individuals=["m1", "m2", "single"])
    assert presence_from_poses(poses)["single"] == {"d"}
    out = lift_poses(poses, tiny_lifter).poses
    assert out.individuals == ["m1", "m2"]
    for i in range(2):
        inp = data[:, i].copy()
        inp[:, 3] = data[:, 2, 3]
        expected = tiny_lifter.predict(inp, root_positions="mean")
        np.testing.assert_allclose(out.data[:, i], expected, rtol=1e-6, atol=1e-9)
