"""The walking-fly generator: determinism, names, and physical plausibility."""

from __future__ import annotations

import numpy as np
import pytest
from realdata import shared_file

from liftpose_dlc.demo.generator import (
    BODY_KEYPOINTS,
    FEMUR_TIBIA_LIMITS,
    LEG_KEYPOINTS,
    SOFTWARE,
    FlyWalk,
    fly_skeleton,
    forward_kinematics,
    generate_library,
    generate_walking_fly,
    simulate_walk,
)
from liftpose_dlc.errors import LiftPoseError

SEEDS = [0, 1, 7]


@pytest.fixture(scope="module")
def walks() -> dict[int, FlyWalk]:
    return {s: simulate_walk(1000, seed=s, body_points=True) for s in SEEDS}


def _stance_runs(stance: np.ndarray) -> list[np.ndarray]:
    idx = np.flatnonzero(stance)
    return [r for r in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1) if len(r) > 1]


def test_same_seed_gives_identical_data_and_other_seeds_differ():
    a = generate_walking_fly(200, seed=3)
    b = generate_walking_fly(200, seed=3)
    c = generate_walking_fly(200, seed=4)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.allclose(a.data, c.data)
    # a seed sequence is a seed too, and differs from the plain int
    d = generate_walking_fly(200, seed=(3, 1, 0))
    assert not np.allclose(a.data, d.data)


def test_poses_names_shape_and_source():
    poses = generate_walking_fly(50, fps=50.0, seed=0)
    assert poses.data.shape == (50, 1, 30, 3)
    assert poses.keypoints[:5] == ["LF_Coxa", "LF_Femur", "LF_Tibia", "LF_Tarsus", "LF_Claw"]
    assert poses.keypoints[-1] == "RH_Claw"
    assert [k.split("_")[0] for k in poses.keypoints[::5]] == ["LF", "LM", "LH", "RF", "RM", "RH"]
    assert poses.fps == 50.0
    assert poses.source.path is None
    assert poses.source.software == SOFTWARE
    assert "synthetic" in poses.source.software
    assert len(poses.skeleton.edges) == 24
    assert ("LF_Tarsus", "LF_Claw") in poses.skeleton.edges
    np.testing.assert_array_equal(poses.confidence, 1.0)
    with_body = generate_walking_fly(10, seed=0, body_points=True)
    assert with_body.keypoints == list(LEG_KEYPOINTS) + list(BODY_KEYPOINTS)
    assert ("Thorax", "Abdomen") in with_body.skeleton.edges
    assert len(fly_skeleton(with_body=True)) == 32


@pytest.mark.realdata
def test_keypoint_names_match_the_real_fly_data(shared_data):
    path = shared_file(shared_data, "3d/df3d_fly/df3d_210902_PR_Fly1_1000f_in_reference_rig.npz")
    with np.load(path) as z:
        real = [str(n) for n in z["keypoint_names"]]
    assert real == list(LEG_KEYPOINTS)


def test_segment_lengths_are_constant_and_fly_sized(walks):
    for walk in walks.values():
        legs = walk.points[:, :30].reshape(-1, 6, 5, 3)
        lengths = np.linalg.norm(np.diff(legs, axis=2), axis=-1)  # (T, 6, 4)
        assert np.abs(lengths - lengths[0]).max() < 1e-9
        np.testing.assert_allclose(lengths[0], walk.morphology.segment_lengths, atol=1e-9)
        # coxa 0.15-0.5, femur 0.6-0.9, tibia 0.4-0.8, tarsus 0.6-0.95 mm
        lo, hi = np.array([0.15, 0.6, 0.4, 0.6]), np.array([0.5, 0.9, 0.8, 0.95])
        assert np.all(lengths[0] > lo)
        assert np.all(lengths[0] < hi)
        # left and right legs of one animal are equal
        np.testing.assert_allclose(lengths[0, :3], lengths[0, 3:])
        assert 2.3 < walk.morphology.body_length < 3.0


def test_animals_differ_between_seeds(walks):
    lengths = [w.morphology.segment_lengths for w in walks.values()]
    assert not np.allclose(lengths[0], lengths[1])


def test_claws_do_not_slip_and_stay_on_the_ground_in_stance(walks):
    for walk in walks.values():
        assert walk.n_clamped == 0
        claws = walk.points[:, 4:30:5]  # (T, 6, 3)
        n_runs = 0
        for leg in range(6):
            assert 0.5 < walk.stance[:, leg].mean() < 0.7  # duty factor
            for run in _stance_runs(walk.stance[:, leg]):
                slip = np.linalg.norm(claws[run, leg] - claws[run[0], leg], axis=-1).max()
                assert slip < 1e-6, f"leg {leg} slips {slip} mm"
                n_runs += 1
            assert np.abs(claws[walk.stance[:, leg], leg, 2]).max() < 1e-9
            # a swing lifts the claw
            assert claws[~walk.stance[:, leg], leg, 2].max() > 0.1
        assert n_runs > 6 * 20  # many steps in 10 s


def test_nothing_goes_below_the_ground_and_the_body_is_up(walks):
    for walk in walks.values():
        assert walk.points[..., 2].min() > -1e-9
        assert np.all(walk.body_position[:, 2] > 0.5)


def test_tripod_gait(walks):
    stance = walks[0].stance.astype(float)
    corr = np.corrcoef(stance.T)
    # LF, RM, LH step together; RF, LM, RH step together, in antiphase to the first tripod
    for a, b in [(0, 4), (0, 2), (3, 1), (3, 5)]:
        assert corr[a, b] > 0.6
    for a, b in [(0, 3), (0, 1), (4, 5)]:
        assert corr[a, b] < -0.3


def test_joint_angles_within_limits_and_reproduce_the_points(walks):
    lo, hi = FEMUR_TIBIA_LIMITS
    for walk in walks.values():
        interior = np.pi - np.abs(walk.joint_angles[..., 3])
        assert interior.min() > lo
        assert interior.max() < hi
        assert np.all(np.abs(walk.joint_angles) <= np.pi)
        # the leg-plane yaw of each leg stays on its own side and sector
        yaw = np.degrees(walk.joint_angles[..., 0])
        assert np.all(yaw[:, :3] > 0)
        assert np.all(yaw[:, 3:] < 0)
        assert np.all(np.ptp(yaw, axis=0) < 90)
        legs = forward_kinematics(
            walk.morphology, walk.joint_angles, walk.body_position, walk.body_rotation
        )
        np.testing.assert_allclose(legs.reshape(-1, 30, 3), walk.points[:, :30], atol=1e-12)


def test_motion_is_smooth_and_walking_speed_plausible(walks):
    for walk in walks.values():
        acc = np.linalg.norm(np.diff(walk.points, 2, axis=0), axis=-1) * walk.fps**2
        assert acc.max() < 5000.0  # mm/s^2 (0.5 g): no jumps
        body_speed = np.linalg.norm(np.diff(walk.body_position, axis=0), axis=-1) * walk.fps
        assert 1.0 < body_speed.mean() < 10.0  # mm/s: a slow to moderate fly walk
        # the animal stays in the arena (the demo camera sees +-6 mm)
        assert np.hypot(*walk.body_position[:, :2].T).max() < 4.0


def test_rotations_are_rotations(walks):
    rot = walks[1].body_rotation
    np.testing.assert_allclose(
        rot @ np.swapaxes(rot, 1, 2), np.broadcast_to(np.eye(3), rot.shape), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(rot), 1.0)


def test_library_walks_are_separate_animals():
    lib = generate_library(3, 120, seed=0)
    assert lib.data.shape == (120, 3, 30, 3)
    assert lib.individuals == ["walk_0", "walk_1", "walk_2"]
    assert sorted(lib.to_dict()) == ["walk_0", "walk_1", "walk_2"]
    test_walk = generate_walking_fly(120, seed=0).data[:, 0]
    for i in range(3):
        assert not np.allclose(lib.data[:, i], test_walk)
    np.testing.assert_array_equal(lib.data[:, 1], simulate_walk(120, seed=(0, 1, 1)).points)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_frames": 1}, "n_frames"),
        ({"n_frames": 10, "fps": 0}, "fps"),
        ({"n_frames": 10, "speed": -1.0}, "speed"),
        ({"n_frames": 10, "arena_radius": 0.0}, "arena_radius"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(LiftPoseError, match=message):
        simulate_walk(**kwargs)


def test_speed_argument_sets_the_mean_speed():
    slow = simulate_walk(400, seed=2, speed=3.0, turning=0.0)
    fast = simulate_walk(400, seed=2, speed=7.0, turning=0.0)
    assert fast.speed.mean() > 1.8 * slow.speed.mean()
