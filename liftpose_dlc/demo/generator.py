"""A seeded, deterministic 3D generator of a walking fly (synthetic data for the demo).

The animal is a hexapod with the proportions of *Drosophila melanogaster*: six legs of four
segments (coxa, femur, tibia, tarsus) whose 30 keypoints have the names and order of the
DeepFly3D data (``LF_Coxa`` ... ``RH_Claw``), and a body of three ellipsoids (head, thorax,
abdomen), about 2.6 mm long. It walks on flat ground (``z = 0``, millimetres) with a tripod
gait:

1. A body path is integrated first: speed and turning rate vary smoothly (sums of slow random
   sinusoids), and a steering term keeps the animal inside a circular arena.
2. A gait phase advances at the step frequency (which grows with speed). Each leg is in stance
   for a fraction ``duty`` of its cycle; the two tripods (LF, RM, LH) and (RF, LM, RH) are half
   a cycle apart.
3. During a stance the claw stays at one point of the ground: the point under the leg's
   nominal foot position at mid-stance. During a swing it moves to the next such point along a
   minimum-jerk path, lifted by a smooth bump.
4. The leg's joint angles are found by inverse kinematics (a yaw of the leg plane at the
   thorax-coxa joint; in that plane a coxa at a fixed elevation, a two-link femur-tibia with the
   femur-tibia joint above the line, a tarsus at a fixed slope to the ground), and the keypoints
   are rebuilt from those angles by forward kinematics, so segment lengths are constant.

Everything comes from :func:`numpy.random.default_rng` seeded with ``seed``; the same seed gives
bit-identical output. Different seeds give different animals (segment lengths vary by a few
percent) and different walks (speed, turning, duty factor).

This is a kinematic model, not a physical simulation: it is plausible (feet do not slip, the
body does not pass through the ground, joints stay within limits, motion is smooth), not a
replica of real fly kinematics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from liftpose_dlc.errors import LiftPoseError
from liftpose_dlc.poses import Poses, Source

__all__ = [
    "LEGS",
    "SEGMENTS",
    "LEG_KEYPOINTS",
    "BODY_KEYPOINTS",
    "SOFTWARE",
    "FEMUR_TIBIA_LIMITS",
    "FlyMorphology",
    "FlyWalk",
    "fly_skeleton",
    "random_morphology",
    "simulate_walk",
    "forward_kinematics",
    "generate_walking_fly",
    "generate_library",
]

#: Leg names in the order of the DeepFly3D keypoints: left front, middle, hind, then right.
LEGS: tuple[str, ...] = ("LF", "LM", "LH", "RF", "RM", "RH")
#: Keypoints of each leg, proximal to distal (joints named after the segment they start).
SEGMENTS: tuple[str, ...] = ("Coxa", "Femur", "Tibia", "Tarsus", "Claw")
#: The 30 leg keypoints, same names and order as the real DeepFly3D fly data.
LEG_KEYPOINTS: tuple[str, ...] = tuple(f"{leg}_{seg}" for leg in LEGS for seg in SEGMENTS)
#: Optional body keypoints: head centre, thorax centre, tip of the abdomen.
BODY_KEYPOINTS: tuple[str, ...] = ("Head", "Thorax", "Abdomen")
#: The ``software`` of the :class:`~liftpose_dlc.poses.Source` of generated poses.
SOFTWARE = "liftpose-dlc demo generator (synthetic)"

_N_LEGS = len(LEGS)
_SIDE = np.array([1.0, 1.0, 1.0, -1.0, -1.0, -1.0])  # +1 left (body +y), -1 right

# Segment lengths (coxa, femur, tibia, tarsus) in mm of front, middle and hind legs: rounded
# means of a real fly tracked with DeepFly3D (front coxa long, others short).
_SEGMENT_MM = np.array(
    [
        [0.40, 0.72, 0.50, 0.74],
        [0.20, 0.75, 0.67, 0.70],
        [0.20, 0.80, 0.70, 0.82],
    ]
)
# Thorax-coxa joints in the body frame (x forward, y left, z up; origin at the thorax), mm.
_COXA_BODY_MM = np.array([[0.36, 0.17, -0.02], [0.02, 0.15, -0.08], [-0.22, 0.13, -0.10]])
# Nominal (mid-stance) foot positions on the ground in the body frame, mm.
_FOOT_BODY_MM = np.array([[1.60, 1.10], [0.15, 1.60], [-1.45, 1.25]])
# Coxa elevation below the horizontal and tarsus slope to the ground, radians.
_COXA_DOWN = np.radians([50.0, 75.0, 70.0])
_TARSUS_DOWN = np.radians([40.0, 25.0, 25.0])
# Body ellipsoids: (centre xyz, semi-axes abc) in the body frame, mm.
_HEAD = ((0.78, 0.0, 0.30), (0.24, 0.30, 0.24))
_THORAX = ((0.0, 0.0, 0.24), (0.56, 0.40, 0.34))
_ABDOMEN = ((-0.98, 0.0, 0.14), (0.66, 0.40, 0.32))

# Largest turning rate of the body, rad/s.
_MAX_TURN = 2.0

#: Limits of the interior angle between femur and tibia (pi: stretched), radians, that the
#: generated walks respect (checked by the tests; the default gait stays in about 30-110 deg).
FEMUR_TIBIA_LIMITS = (math.radians(25.0), math.radians(165.0))


def _leg_type(leg_index: int) -> int:
    return leg_index % 3  # 0 front, 1 middle, 2 hind


@attrs.frozen
class FlyMorphology:
    """The body plan of one generated animal (lengths in mm).

    Attributes
    ----------
    segment_lengths
        ``(6, 4)``: coxa, femur, tibia, tarsus length of each leg (order of :data:`LEGS`).
    coxa_body
        ``(6, 3)``: thorax-coxa joints in the body frame (x forward, y left, z up).
    foot_body
        ``(6, 2)``: nominal mid-stance foot positions on the ground, body frame x and y.
    body_height
        Height of the body-frame origin (thorax) above the ground.
    ellipsoids
        ``(3, 2, 3)``: head, thorax, abdomen as (centre, semi-axes) in the body frame.
    """

    segment_lengths: np.ndarray
    coxa_body: np.ndarray
    foot_body: np.ndarray
    body_height: float
    ellipsoids: np.ndarray

    @property
    def body_length(self) -> float:
        """Length from the front of the head to the tip of the abdomen."""
        (hx, _, _), (ha, _, _) = self.ellipsoids[0]
        (ax, _, _), (aa, _, _) = self.ellipsoids[2]
        return float(hx + ha - (ax - aa))


def random_morphology(rng: np.random.Generator) -> FlyMorphology:
    """Draw one animal: real fly proportions, overall size and each segment varied slightly.

    Parameters
    ----------
    rng
        The random generator to draw from.
    """
    scale = rng.uniform(0.92, 1.08)
    seg = np.empty((_N_LEGS, 4))
    coxa = np.empty((_N_LEGS, 3))
    foot = np.empty((_N_LEGS, 2))
    for i in range(_N_LEGS):
        t = _leg_type(i)
        seg[i] = _SEGMENT_MM[t]
        coxa[i] = _COXA_BODY_MM[t] * (1.0, _SIDE[i], 1.0)
        foot[i] = _FOOT_BODY_MM[t] * (1.0, _SIDE[i])
    # bilateral animals: left and right legs share lengths, a little jitter per segment type
    seg *= np.tile(rng.uniform(0.97, 1.03, size=(3, 4)), (2, 1))
    foot += rng.normal(0.0, 0.03, size=foot.shape)
    ellipsoids = np.array([_HEAD, _THORAX, _ABDOMEN], dtype=float)
    ellipsoids[:, 1] *= rng.uniform(0.95, 1.05, size=(3, 1))
    return FlyMorphology(
        segment_lengths=seg * scale,
        coxa_body=coxa * scale,
        foot_body=foot * scale,
        body_height=float(0.80 * scale),
        ellipsoids=ellipsoids * scale,
    )


@attrs.frozen
class FlyWalk:
    """One generated walk with everything the generator knows about it (world frame, mm).

    Attributes
    ----------
    points
        ``(n_frames, 30 or 33, 3)`` keypoints in the world frame (z up, ground at 0).
    keypoints
        Their names: :data:`LEG_KEYPOINTS`, then :data:`BODY_KEYPOINTS` if requested.
    fps
        Frames per second.
    joint_angles
        ``(n_frames, 6, 5)`` radians: leg-plane yaw at the thorax-coxa joint (relative to the
        body's x axis), coxa elevation (negative: down), then the flexion at the coxa-femur,
        femur-tibia and tibia-tarsus joints (relative angles in the leg plane).
    stance
        ``(n_frames, 6)`` True where the leg is in stance (claw on the ground).
    body_position
        ``(n_frames, 3)`` body-frame origin (thorax) in the world.
    body_rotation
        ``(n_frames, 3, 3)`` body-to-world rotations (columns: forward, left, up).
    speed
        ``(n_frames,)`` walking speed, mm/s.
    morphology
        The animal's :class:`FlyMorphology`.
    n_clamped
        How many (frame, leg) inverse-kinematics solutions needed the foot moved to be reachable
        (0 for the default parameters; the tests check the resulting foot slip).
    seed
        The seed the walk was generated with.
    """

    points: np.ndarray
    keypoints: list[str]
    fps: float
    joint_angles: np.ndarray
    stance: np.ndarray
    body_position: np.ndarray
    body_rotation: np.ndarray
    speed: np.ndarray
    morphology: FlyMorphology
    n_clamped: int
    seed: int | tuple[int, ...]

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return self.points.shape[0]

    def ellipsoids(self) -> tuple[np.ndarray, np.ndarray]:
        """Head, thorax and abdomen as ellipsoids in the world, for rendering.

        Returns
        -------
        centres, axes
            ``(n_frames, 3, 3)`` centres and ``(n_frames, 3, 3, 3)`` matrices whose columns are
            the semi-axis vectors (so the ellipsoid is ``centre + axes @ u`` for unit ``u``).
        """
        centres_b = self.morphology.ellipsoids[:, 0]  # (3, 3)
        semi = self.morphology.ellipsoids[:, 1]  # (3, 3)
        centres = self.body_position[:, None] + np.einsum(
            "tij,ej->tei", self.body_rotation, centres_b
        )
        axes = self.body_rotation[:, None] * semi[None, :, None, :]
        return centres, axes

    def to_poses(self) -> Poses:
        """The keypoints as a 3D :class:`~liftpose_dlc.poses.Poses` (world frame, mm)."""
        return Poses(
            self.points[:, None],
            keypoints=self.keypoints,
            individuals=["fly"],
            confidence=np.ones(self.points.shape[:2])[:, None],
            skeleton=fly_skeleton(with_body=len(self.keypoints) > len(LEG_KEYPOINTS)),
            fps=self.fps,
            source=Source(None, SOFTWARE),
        )


def fly_skeleton(with_body: bool = False) -> list[tuple[str, str]]:
    """Skeleton edges: along each leg, plus head-thorax-abdomen and thorax-coxae if ``with_body``.

    Examples
    --------
    >>> fly_skeleton()[:2]
    [('LF_Coxa', 'LF_Femur'), ('LF_Femur', 'LF_Tibia')]
    >>> len(fly_skeleton()), len(fly_skeleton(with_body=True))
    (24, 32)
    """
    pairs = list(zip(SEGMENTS[:-1], SEGMENTS[1:], strict=True))
    edges = [(f"{leg}_{a}", f"{leg}_{b}") for leg in LEGS for a, b in pairs]
    if with_body:
        edges += [("Head", "Thorax"), ("Thorax", "Abdomen")]
        edges += [("Thorax", f"{leg}_Coxa") for leg in LEGS]
    return edges


# ---------------------------------------------------------------- random smooth signals
def _smooth_noise(rng: np.random.Generator, t: np.ndarray, f_lo: float, f_hi: float) -> np.ndarray:
    """A smooth random signal with unit standard deviation: a sum of slow random sinusoids."""
    n = 6
    freqs = rng.uniform(f_lo, f_hi, size=n)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=n)
    amps = rng.uniform(0.5, 1.0, size=n)
    amps /= np.sqrt(np.sum(amps**2) / 2.0)
    return np.sum(amps[:, None] * np.sin(2.0 * np.pi * freqs[:, None] * t + phases[:, None]), 0)


def _rotation_zyx(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Body-to-world rotations ``Rz(yaw) @ Ry(-pitch) @ Rx(roll)``; positive pitch is nose up."""
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(-pitch), np.sin(-pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    rot = np.empty((*yaw.shape, 3, 3))
    rot[..., 0, 0] = cy * cp
    rot[..., 0, 1] = cy * sp * sr - sy * cr
    rot[..., 0, 2] = cy * sp * cr + sy * sr
    rot[..., 1, 0] = sy * cp
    rot[..., 1, 1] = sy * sp * sr + cy * cr
    rot[..., 1, 2] = sy * sp * cr - cy * sr
    rot[..., 2, 0] = -sp
    rot[..., 2, 1] = cp * sr
    rot[..., 2, 2] = cp * cr
    return rot


def _min_jerk(s: np.ndarray) -> np.ndarray:
    return s**3 * (10.0 - 15.0 * s + 6.0 * s**2)


# ---------------------------------------------------------------------------- the walk
def simulate_walk(
    n_frames: int,
    *,
    fps: float = 100.0,
    seed: int | Sequence[int] = 0,
    speed: float | None = None,
    turning: float = 1.0,
    arena_radius: float = 2.0,
    body_points: bool = False,
) -> FlyWalk:
    """Generate one walk of one animal, with its joint angles, stance phases and body path.

    Parameters
    ----------
    n_frames
        Number of frames (at least 2).
    fps
        Frame rate (frames per second).
    seed
        Seed (an int or a sequence of ints) of :func:`numpy.random.default_rng`; it picks the
        animal and its walk. The same seed gives identical output.
    speed
        Mean walking speed in mm/s; default drawn from the seed in [4, 8] mm/s (a slow to
        moderate fly walk, steps of 5-7 Hz).
    turning
        Scale of the random turning (1: typical, 0: straight walk apart from the arena's pull).
    arena_radius
        The body is steered back when it wanders further than this from the origin (mm).
    body_points
        Append the :data:`BODY_KEYPOINTS` (head, thorax, abdomen tip) after the 30 leg points.

    Returns
    -------
    FlyWalk
        Keypoints in the world frame plus the generator's internals.

    Raises
    ------
    LiftPoseError
        If ``n_frames``, ``fps``, ``speed`` or ``arena_radius`` is not positive.
    """
    if int(n_frames) < 2:
        raise LiftPoseError(f"n_frames must be at least 2, got {n_frames}")
    if not fps > 0:
        raise LiftPoseError(f"fps must be positive, got {fps}")
    if speed is not None and not speed > 0:
        raise LiftPoseError(f"speed must be positive (mm/s), got {speed}")
    if not arena_radius > 0:
        raise LiftPoseError(f"arena_radius must be positive (mm), got {arena_radius}")
    n_frames = int(n_frames)
    fps = float(fps)
    seed_key = seed if isinstance(seed, int) else tuple(int(s) for s in seed)
    rng = np.random.default_rng(seed_key)
    morph = random_morphology(rng)

    # -------- gait and path parameters
    v_mean = float(rng.uniform(3.5, 7.0)) if speed is None else float(speed)
    duty = float(rng.uniform(0.56, 0.64))
    offsets = np.where(np.isin(np.arange(6), [0, 4, 2]), 0.0, 0.5)  # tripods LF-RM-LH / RF-LM-RH
    offsets = offsets + rng.normal(0.0, 0.02, size=6)
    swing_height = morph.body_height * rng.uniform(0.28, 0.36)
    turn_sd = 0.6 * float(turning)  # rad/s
    phase0 = float(rng.uniform(0.0, 1.0))

    # a padded time grid: the first stance may start, and the last swing end, outside the clip
    dt = 1.0 / fps
    pad = int(math.ceil(1.0 * fps))
    n_grid = n_frames + 2 * pad
    t = (np.arange(n_grid) - pad) * dt
    speed_t = v_mean * np.clip(1.0 + 0.3 * _smooth_noise(rng, t, 0.05, 0.4), 0.5, 1.4)
    turn_t = turn_sd * _smooth_noise(rng, t, 0.05, 0.5)

    # -------- body path (heading steered back towards the arena centre)
    start_r = arena_radius * math.sqrt(rng.uniform(0.0, 0.5))
    start_a = rng.uniform(0.0, 2.0 * np.pi)
    x, y = start_r * math.cos(start_a), start_r * math.sin(start_a)
    heading = float(rng.uniform(-np.pi, np.pi))
    xy = np.empty((n_grid, 2))
    yaw = np.empty(n_grid)
    turn_rate = np.empty(n_grid)
    omega = 0.0
    for i in range(n_grid):
        xy[i] = x, y
        yaw[i] = heading
        # steer by where the animal will be in 0.5 s
        ahead = 0.5 * speed_t[i]
        xa, ya = x + ahead * math.cos(heading), y + ahead * math.sin(heading)
        r = math.hypot(xa, ya)
        to_centre = math.atan2(-ya, -xa)
        err = math.atan2(math.sin(to_centre - heading), math.cos(to_centre - heading))
        near_rim = min(1.0, max(0.0, 2.0 * r / arena_radius - 1.0)) ** 2
        target = min(_MAX_TURN, max(-_MAX_TURN, turn_t[i] + 4.0 * near_rim * err))
        omega += (target - omega) * min(1.0, dt / 0.12)  # the turning rate itself is smooth
        # flies slow down in sharp turns
        speed_t[i] *= 1.0 - 0.65 * min(1.0, abs(omega) / _MAX_TURN)
        turn_rate[i] = omega
        heading += omega * dt
        x += speed_t[i] * math.cos(heading) * dt
        y += speed_t[i] * math.sin(heading) * dt

    # -------- gait phase: step frequency grows with the speed of the feet relative to the body,
    # from walking and from turning (a foot is about 1.3 mm from the body's centre)
    foot_speed = speed_t + 1.3 * np.abs(turn_rate)
    freq = foot_speed / (0.5 + 0.06 * foot_speed)
    phase = phase0 + np.concatenate([[0.0], np.cumsum(0.5 * (freq[1:] + freq[:-1]) * dt)])
    pitch = np.radians(6.0) + np.radians(1.0) * np.sin(4.0 * np.pi * phase)
    roll = np.radians(1.5) * np.sin(2.0 * np.pi * phase)
    height = morph.body_height + 0.015 * np.cos(4.0 * np.pi * phase)
    body_pos = np.column_stack([xy, height])
    body_rot = _rotation_zyx(yaw, pitch, roll)

    # -------- claw trajectories in the world
    feet = np.zeros((n_grid, 6, 3))
    stance = np.zeros((n_grid, 6), dtype=bool)
    for leg in range(6):
        psi = phase + offsets[leg]
        step = np.floor(psi)
        u = psi - step
        k_all = np.arange(step.min() - 1, step.max() + 2)
        # mid-stance time of every step, then the body pose there places the foothold
        t_mid = np.interp(k_all + duty / 2.0, psi, t)
        px = np.interp(t_mid, t, xy[:, 0])
        py = np.interp(t_mid, t, xy[:, 1])
        pyaw = np.interp(t_mid, t, np.unwrap(yaw))
        fx, fy = morph.foot_body[leg]
        holds = np.column_stack(
            [
                px + np.cos(pyaw) * fx - np.sin(pyaw) * fy,
                py + np.sin(pyaw) * fx + np.cos(pyaw) * fy,
            ]
        )
        idx = (step - k_all[0]).astype(int)
        in_stance = u < duty
        s = np.clip((u - duty) / (1.0 - duty), 0.0, 1.0)
        a, b = holds[idx], holds[np.minimum(idx + 1, len(k_all) - 1)]
        w = np.where(in_stance, 0.0, _min_jerk(s))[:, None]
        feet[:, leg, :2] = a + (b - a) * w
        feet[:, leg, 2] = np.where(in_stance, 0.0, swing_height * 0.5 * (1 - np.cos(2 * np.pi * s)))
        stance[:, leg] = in_stance

    keep = slice(pad, pad + n_frames)
    body_pos, body_rot, feet = body_pos[keep], body_rot[keep], feet[keep]
    angles, leg_points, n_clamped = _legs_from_feet(morph, body_pos, body_rot, feet)

    points = leg_points.reshape(n_frames, 30, 3)
    names = list(LEG_KEYPOINTS)
    if body_points:
        head_c, thorax_c = morph.ellipsoids[0, 0], morph.ellipsoids[1, 0]
        tip = morph.ellipsoids[2, 0] - (morph.ellipsoids[2, 1, 0], 0.0, 0.0)
        body_b = np.stack([head_c, thorax_c, tip])
        body_w = body_pos[:, None] + np.einsum("tij,kj->tki", body_rot, body_b)
        points = np.concatenate([points, body_w], axis=1)
        names += list(BODY_KEYPOINTS)
    return FlyWalk(
        points=points,
        keypoints=names,
        fps=fps,
        joint_angles=angles,
        stance=stance[keep],
        body_position=body_pos,
        body_rotation=body_rot,
        speed=speed_t[keep],
        morphology=morph,
        n_clamped=n_clamped,
        seed=seed_key,
    )


def _legs_from_feet(
    morph: FlyMorphology, body_pos: np.ndarray, body_rot: np.ndarray, feet: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Inverse kinematics for the claws ``feet`` (T, 6, 3), then forward kinematics.

    Returns joint angles (T, 6, 5), keypoints (T, 6, 5, 3) and the number of clamped solutions.
    """
    n = feet.shape[0]
    lengths = morph.segment_lengths  # (6, 4)
    lc, lf, lt, lta = (lengths[:, i] for i in range(4))
    leg_type = np.array([_leg_type(i) for i in range(6)])
    coxa_down = _COXA_DOWN[leg_type]
    tarsus_down = _TARSUS_DOWN[leg_type]

    # claws in the body frame, relative to the thorax-coxa joints
    rel = np.einsum("tji,tlj->tli", body_rot, feet - body_pos[:, None]) - morph.coxa_body
    yaw = np.arctan2(rel[..., 1], rel[..., 0])
    r = np.hypot(rel[..., 0], rel[..., 1])
    z = rel[..., 2]

    # in the leg plane: (r outward, z up); the tarsus ends at the claw at a fixed slope
    ti_r = r - lta * np.cos(tarsus_down)
    ti_z = z + lta * np.sin(tarsus_down)
    ctr_r = lc * np.cos(coxa_down)
    ctr_z = -lc * np.sin(coxa_down)
    vr, vz = ti_r - ctr_r, ti_z - ctr_z
    dist = np.hypot(vr, vz)
    lo, hi = np.abs(lf - lt) + 0.02, lf + lt - 0.02
    clamped = (dist < lo) | (dist > hi)
    dist_c = np.clip(dist, lo, hi)
    cos_knee = (lf**2 + dist_c**2 - lt**2) / (2.0 * lf * dist_c)
    a_coxa = np.broadcast_to(-coxa_down, (n, 6))
    a_femur = np.arctan2(vz, vr) + np.arccos(np.clip(cos_knee, -1.0, 1.0))  # joint above the line
    knee_r = ctr_r + lf * np.cos(a_femur)
    knee_z = ctr_z + lf * np.sin(a_femur)
    tib_r = ctr_r + vr / dist * dist_c
    tib_z = ctr_z + vz / dist * dist_c
    a_tibia = np.arctan2(tib_z - knee_z, tib_r - knee_r)
    a_tarsus = np.broadcast_to(-tarsus_down, (n, 6))

    angles = np.stack(
        [yaw, a_coxa, a_femur - a_coxa, a_tibia - a_femur, a_tarsus - a_tibia], axis=-1
    )
    angles = (angles + np.pi) % (2.0 * np.pi) - np.pi  # in [-pi, pi)
    points = forward_kinematics(morph, angles, body_pos, body_rot)
    return angles, points, int(clamped.sum())


def forward_kinematics(
    morph: FlyMorphology, angles: np.ndarray, body_pos: np.ndarray, body_rot: np.ndarray
) -> np.ndarray:
    """Leg keypoints from joint angles (the generator's model; see :class:`FlyWalk`).

    Parameters
    ----------
    morph
        The animal.
    angles
        ``(n_frames, 6, 5)`` joint angles, as in :attr:`FlyWalk.joint_angles`.
    body_pos, body_rot
        ``(n_frames, 3)`` body positions and ``(n_frames, 3, 3)`` body-to-world rotations.

    Returns
    -------
    numpy.ndarray
        ``(n_frames, 6, 5, 3)`` keypoints in the world frame.
    """
    absolute = np.cumsum(angles[..., 1:], axis=-1)  # (T, 6, 4) in-plane segment directions
    directions = np.stack([np.cos(absolute), np.sin(absolute)])  # (2, T, 6, 4)
    seg = morph.segment_lengths[None, None] * directions
    plane = np.concatenate([np.zeros((2, *seg.shape[1:3], 1)), np.cumsum(seg, -1)], -1)
    yaw = angles[..., 0][..., None]
    local = np.stack(
        [plane[0] * np.cos(yaw), plane[0] * np.sin(yaw), plane[1]], axis=-1
    )  # (T, 6, 5, 3)
    local = local + morph.coxa_body[None, :, None, :]
    return body_pos[:, None, None] + np.einsum("tij,tlkj->tlki", body_rot, local)


def generate_walking_fly(n_frames: int, **walk: Any) -> Poses:
    """3D poses of a generated (synthetic) fly walking with a tripod gait.

    ``n_frames`` and the keyword arguments (``fps``, ``seed``, ``speed``, ``turning``,
    ``arena_radius``, ``body_points``) are those of :func:`simulate_walk`. Units are
    millimetres, in a world frame with ``z`` up and the ground at ``z = 0``.

    Returns
    -------
    Poses
        One individual (``"fly"``), the 30 :data:`LEG_KEYPOINTS` (same names and order as the
        DeepFly3D data), or 33 with ``body_points``; confidence 1; the leg skeleton; ``fps``;
        ``source.software`` says the poses are synthetic.

    Examples
    --------
    >>> poses = generate_walking_fly(50, seed=1)
    >>> poses.data.shape
    (50, 1, 30, 3)
    >>> poses.keypoints[:2], poses.source.software
    (['LF_Coxa', 'LF_Femur'], 'liftpose-dlc demo generator (synthetic)')
    """
    return simulate_walk(n_frames, **walk).to_poses()


def generate_library(
    n_walks: int = 4,
    n_frames: int = 1000,
    *,
    fps: float = 100.0,
    seed: int = 0,
    body_points: bool = False,
) -> Poses:
    """Several independent walks (different animals) as one :class:`Poses` for training.

    Walk ``i`` uses the seed ``(seed, 1, i)``, so it never coincides with
    ``generate_walking_fly(seed=seed)`` (the demo's test walk).

    Parameters
    ----------
    n_walks
        Number of walks (one animal each); they become the individuals ``walk_0``, ...
    n_frames
        Frames per walk.
    fps, body_points
        As in :func:`simulate_walk`.
    seed
        Base seed.

    Returns
    -------
    Poses
        ``(n_frames, n_walks, 30 or 33, 3)``; its :meth:`~liftpose_dlc.poses.Poses.to_dict` gives
        one array per walk (the seed's dictionary convention).
    """
    if int(n_walks) < 1:
        raise LiftPoseError(f"n_walks must be at least 1, got {n_walks}")
    walks = [
        simulate_walk(n_frames, fps=fps, seed=(int(seed), 1, i), body_points=body_points)
        for i in range(int(n_walks))
    ]
    data = np.stack([w.points for w in walks], axis=1)
    return Poses(
        data,
        keypoints=walks[0].keypoints,
        individuals=[f"walk_{i}" for i in range(len(walks))],
        confidence=np.ones(data.shape[:3]),
        skeleton=fly_skeleton(with_body=body_points),
        fps=fps,
        source=Source(None, SOFTWARE),
    )
