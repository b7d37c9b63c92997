"""The zoo's species, their 3D sources (``../shared/data``) and the test views of each animal.

Every source becomes one "animal": its 3D in the species' keypoints (NaN where the source
has no such keypoint), in mm, in a body frame with +z up (flies also +x anterior, +y left),
plus the test views used for leave-one-animal-out evaluation: 2D (real detector 2D where
the data have it) paired with the 3D in that camera's frame, for the test block of frames.

Used by ``train_zoo.py`` (the shipped models) and ``bench_zoo.py`` (the evaluation).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("LIFTPOSE_SHARED_DATA", HERE.parent.parent / "shared" / "data"))
D3 = SHARED / "3d"

#: DeepFly3D rig units per mm (the similarity fit of the df3d npz; README of the data).
DF3D_RIG_UNITS_PER_MM = 1.504
#: The first frame of each animal's test block (the last 30% of its frames).
TEST_FRACTION = 0.3


# ----------------------------------------------------------------------------- species
@dataclass
class Species:
    """A zoo model's keypoints, roots, target sets, skeleton tree and views."""

    name: str
    species: str
    keypoints: list[str]
    roots: list[str]
    target_sets: list[list[str]]
    parents: dict[str, str | None]
    views: dict[str, list[list[float]]]
    skeleton: list[tuple[str, str]] = field(default_factory=list)

    def idx(self, names: list[str]) -> list[int]:
        return [self.keypoints.index(n) for n in names]

    @property
    def parent_idx(self) -> list[int]:
        return [
            -1 if self.parents.get(k) is None else self.keypoints.index(self.parents[k])
            for k in self.keypoints
        ]


FLY_LEGS = ["LF", "LM", "LH", "RF", "RM", "RH"]
FLY_SEGMENTS = ["Coxa", "Femur", "Tibia", "Tarsus", "Claw"]
_fly_kp = [f"{leg}_{s}" for leg in FLY_LEGS for s in FLY_SEGMENTS]
_fly_par: dict[str, str | None] = {}
for _leg in FLY_LEGS:
    for _i, _s in enumerate(FLY_SEGMENTS):
        _fly_par[f"{_leg}_{_s}"] = None if _i == 0 else f"{_leg}_{FLY_SEGMENTS[_i - 1]}"

#: Views as Euler ranges ([[z], [y], [x]], degrees) of camera_from_euler in the body frame
#: (+z up; flies +x anterior, +y left): x = 0 looks up from below, 90 is horizontal, 180
#: looks down; z turns the camera about the vertical (flies: 0 = right side, -90 = front,
#: 180 = left side); y rolls side views / tilts vertical ones.
FLY_VIEWS = {
    "side": [[-45.0, 45.0], [-10.0, 10.0], [70.0, 110.0]],
    "side_left": [[135.0, 225.0], [-10.0, 10.0], [70.0, 110.0]],
    "front": [[-135.0, -45.0], [-10.0, 10.0], [70.0, 110.0]],
    "ventral": [[-180.0, 180.0], [-20.0, 20.0], [-20.0, 20.0]],
    "oblique": [[-180.0, 180.0], [-10.0, 10.0], [110.0, 150.0]],
}
RODENT_VIEWS = {
    "top": [[-180.0, 180.0], [-15.0, 15.0], [160.0, 200.0]],
    "side": [[-180.0, 180.0], [-10.0, 10.0], [75.0, 105.0]],
    "bottom": [[-180.0, 180.0], [-15.0, 15.0], [-20.0, 20.0]],
    "oblique": [[-180.0, 180.0], [-10.0, 10.0], [115.0, 155.0]],
}

FLY = Species(
    "fly",
    "Drosophila melanogaster",
    _fly_kp,
    [f"{leg}_Coxa" for leg in FLY_LEGS],
    [[f"{leg}_{s}" for s in FLY_SEGMENTS[1:]] for leg in FLY_LEGS],
    _fly_par,
    FLY_VIEWS,
    [(a, b) for b, a in _fly_par.items() if a is not None],
)

MOUSE_KP = [
    "EarL", "EarR", "Snout", "SpineF", "SpineM", "TailBase", "TailMid", "TailEnd",
    "ForepawL", "WristL", "ElbowL", "ShoulderL", "ForepawR", "WristR", "ElbowR", "ShoulderR",
    "HindpawL", "AnkleL", "KneeL", "HindpawR", "AnkleR", "KneeR",
]  # fmt: skip
_mouse_par = {
    "TailBase": None, "SpineM": "TailBase", "SpineF": "SpineM", "Snout": "SpineF",
    "EarL": "SpineF", "EarR": "SpineF", "TailMid": "TailBase", "TailEnd": "TailMid",
    "ShoulderL": "SpineF", "ElbowL": "ShoulderL", "WristL": "ElbowL", "ForepawL": "WristL",
    "ShoulderR": "SpineF", "ElbowR": "ShoulderR", "WristR": "ElbowR", "ForepawR": "WristR",
    "KneeL": "SpineM", "AnkleL": "KneeL", "HindpawL": "AnkleL",
    "KneeR": "SpineM", "AnkleR": "KneeR", "HindpawR": "AnkleR",
}  # fmt: skip
MOUSE = Species(
    "mouse",
    "Mus musculus",
    MOUSE_KP,
    ["TailBase"],
    [
        [
            "SpineM",
            "SpineF",
            "Snout",
            "EarL",
            "EarR",
            "ShoulderL",
            "ElbowL",
            "WristL",
            "ForepawL",
            "ShoulderR",
            "ElbowR",
            "WristR",
            "ForepawR",
            "KneeL",
            "AnkleL",
            "HindpawL",
            "KneeR",
            "AnkleR",
            "HindpawR",
            "TailMid",
            "TailEnd",
        ]
    ],  # fmt: skip
    _mouse_par,
    RODENT_VIEWS,
)

RAT_KP = [
    "Snout", "EarL", "EarR", "SpineF", "SpineM", "SpineL", "TailBase",
    "ShoulderL", "ElbowL", "WristL", "HandL", "ShoulderR", "ElbowR", "WristR", "HandR",
    "HipL", "KneeL", "AnkleL", "FootL", "HipR", "KneeR", "AnkleR", "FootR",
]  # fmt: skip
_rat_par = {
    "TailBase": None, "SpineL": "TailBase", "SpineM": "SpineL", "SpineF": "SpineM",
    "Snout": "SpineF", "EarL": "SpineF", "EarR": "SpineF",
    "ShoulderL": "SpineF", "ElbowL": "ShoulderL", "WristL": "ElbowL", "HandL": "WristL",
    "ShoulderR": "SpineF", "ElbowR": "ShoulderR", "WristR": "ElbowR", "HandR": "WristR",
    "HipL": "SpineL", "KneeL": "HipL", "AnkleL": "KneeL", "FootL": "AnkleL",
    "HipR": "SpineL", "KneeR": "HipR", "AnkleR": "KneeR", "FootR": "AnkleR",
}  # fmt: skip
RAT = Species(
    "rat",
    "Rattus norvegicus",
    RAT_KP,
    ["TailBase"],
    [
        [
            "SpineL",
            "SpineM",
            "SpineF",
            "Snout",
            "EarL",
            "EarR",
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
    ],  # fmt: skip
    _rat_par,
    RODENT_VIEWS,
)
for _sp in (MOUSE, RAT):
    _sp.skeleton = [(p, k) for k, p in _sp.parents.items() if p is not None]

SPECIES = {"fly": FLY, "mouse": MOUSE, "rat": RAT}


# ----------------------------------------------------------------------------- animals
@dataclass
class TestView:
    """One camera's view of an animal's test frames: 2D input and 3D in the camera frame."""

    name: str  # e.g. "camera_1"
    view: str  # side / front / top / ...
    pose_2d: np.ndarray  # (N, J, 2), NaN where not seen
    pose_3d: np.ndarray  # (N, J, 3) mm, camera frame, NaN where unknown
    real_2d: bool


@dataclass
class Animal:
    """One animal of a species: its body-frame 3D and how it is tested."""

    name: str
    species: str
    body_3d: np.ndarray  # (N, J, 3) mm, body frame, NaN where the source lacks a keypoint
    test_start: int  # first frame of the test block
    views: list[TestView]
    sources: list[dict[str, str]]
    shippable: bool = True
    notes: str = ""
    train_block_views: list[TestView] = field(default_factory=list)  # for the reference (c)

    @property
    def train_3d(self) -> np.ndarray:
        """The frames before the test block (the within-animal reference trains on them)."""
        return self.body_3d[: self.test_start]


def _fly_body_frame(x: np.ndarray, legs: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(rotation rows = body axes in the data's frame, centre) from coxae and claws."""
    kp = FLY.keypoints
    cox = lambda L: x[:, kp.index(f"{L}_Coxa")]  # noqa: E731
    claw = lambda L: x[:, kp.index(f"{L}_Claw")]  # noqa: E731
    front = [L for L in legs if L[1] == "F"]
    hind = [L for L in legs if L[1] == "H"]
    ant = np.nanmedian(np.mean([cox(L) for L in front], 0) - np.mean([cox(L) for L in hind], 0), 0)
    ant /= np.linalg.norm(ant)
    down = np.nanmedian(np.mean([claw(L) - cox(L) for L in legs], 0), 0)
    up = -down - (-down @ ant) * ant
    up /= np.linalg.norm(up)
    left = np.cross(up, ant)
    centre = np.nanmedian(np.mean([cox(L) for L in legs], 0), 0)
    return np.stack([ant, left, up]), centre


def _to_body(x: np.ndarray, rot: np.ndarray, centre: np.ndarray) -> np.ndarray:
    return (x - centre) @ rot.T


def _views_virtual(
    sp: Species,
    body: np.ndarray,
    seed: int,
    views: dict[str, Any] | None = None,
    noise: float = 0.01,
    per_view: int = 2,
) -> list[TestView]:
    """Test views from fresh virtual cameras (perspective, distance 15 body sizes)."""
    from liftpose_dlc.cameras import euler_to_matrix

    rng = np.random.default_rng(seed)
    out = []
    for vname, r in (views or sp.views).items():
        r = np.asarray(r)
        for k in range(per_view):
            ang = rng.uniform(r[:, 0], r[:, 1])
            R = euler_to_matrix(ang, "zyx")
            c = np.nanmean(body, axis=(0, 1))
            xc = (body - c) @ R.T
            size = np.sqrt(np.nanmean(np.sum((body - np.nanmean(body, 1, keepdims=True)) ** 2, -1)))
            dist = 15 * size
            uv = xc[..., :2] / (xc[..., 2:3] + dist) * dist
            s2 = np.sqrt(np.nanmean(np.sum((uv - np.nanmean(uv, 1, keepdims=True)) ** 2, -1)))
            uv = uv + rng.normal(0, noise * s2, uv.shape)
            out.append(TestView(f"virtual_{vname}_{k}", vname, uv, xc, False))
    return out


def _split_views(views: list[TestView], start: int) -> tuple[list[TestView], list[TestView]]:
    test = [
        TestView(v.name, v.view, v.pose_2d[start:], v.pose_3d[start:], v.real_2d) for v in views
    ]
    train = [
        TestView(v.name, v.view, v.pose_2d[:start], v.pose_3d[:start], v.real_2d) for v in views
    ]
    return test, train


def _view_label_fly(R_body_to_cam: np.ndarray) -> str:
    """Name the view of a camera from its viewing direction in the fly's body frame."""
    d = R_body_to_cam[2]  # viewing axis in body coordinates
    if d[2] > 0.7:
        return "ventral"
    if d[2] < -0.7:
        return "dorsal"
    az = np.degrees(np.arctan2(d[1], d[0]))  # direction the camera looks towards
    if abs(abs(az) - 90) < 25:
        return "side"
    if abs(az) > 155:
        return "front"
    return "oblique"


def _view_label_rodent(R_world_to_cam: np.ndarray) -> str:
    d = R_world_to_cam[2]
    el = np.degrees(np.arcsin(np.clip(-d[2], -1, 1)))  # camera elevation above the animal
    if el > 65:
        return "top"
    if el < -65:
        return "bottom"
    if abs(el) < 15:
        return "side"
    return "oblique"


FLY_SOURCES = {
    "df3d": dict(
        name="DeepFly3D fly (210902_PR_Fly1)",
        files="3d/df3d_fly/df3d_210902_PR_Fly1_1000f_in_reference_rig.npz",
        licence="Apache-2.0 (poses) / LGPL-3.0 (rig calibration; only used for testing)",
        citation="Günel et al. 2019, DeepFly3D, eLife 8:e48571; Lobato-Rios et al. 2022, "
        "NeuroMechFly, Nature Methods 19:620",
        url="https://github.com/NeLy-EPFL/sequential-inverse-kinematics",
    ),
    "nmf": dict(
        name="NeuroMechFly walking fly (180921_aDN_PR_Fly8_005), DeepFly3D 2D triangulated",
        files="3d/neuromechfly_df3d_walking/preds_180921_aDN_PR_Fly8_005_SG1_behData_images-"
        "images.pkl, calib_180921_aDN_PR_Fly8_005_SG1_behData_images_images.pkl",
        licence="Apache-2.0",
        citation="Lobato-Rios et al. 2022, NeuroMechFly, Nature Methods 19:620",
        url="https://github.com/NeLy-EPFL/NeuroMechFly",
    ),
    "flygym": dict(
        name="flygym Spotlight fly (20250613-fly1b-012)",
        files="3d/flygym_spotlight/spotlight_behavior_clip.npz",
        licence="Apache-2.0",
        citation="Wang-Chen et al. 2024, NeuroMechFly v2, Nature Methods 21:2353",
        url="https://github.com/NeLy-EPFL/flygym",
    ),
}
MOUSE_SOURCES = {
    "stac": dict(
        name="STAC-MJX mouse mocap (3600 frames)",
        files="3d/stac_mouse/test_mouse_mocap_3600_frames.h5, 3d/stac_mouse/test_mouse.yaml",
        licence="BSD-3-Clause",
        citation="talmolab/stac-mjx (Zhang et al. 2025, STAC-MJX); Wu et al. 2013, STAC",
        url="https://github.com/talmolab/stac-mjx",
    ),
    "dannce": dict(
        name="DANNCE markerless_mouse_1 (AVG predictions)",
        files="3d/dannce_mouse1_predictions/save_data_AVG.mat, mouse22_skeleton.mat",
        licence="MIT",
        citation="Dunn et al. 2021, DANNCE, Nature Methods 18:564",
        url="https://github.com/spoonsso/dannce",
    ),
    "anipose": dict(
        name="sleap-anipose minimal session mouse (test only: GPL-3.0)",
        files="3d/sleap_anipose_mouse/",
        licence="GPL-3.0 (never trained on: no shipped weight derives from it)",
        citation="talmolab/sleap-anipose; Karashchuk et al. 2021, Anipose, Cell Reports 36:109730",
        url="https://github.com/talmolab/sleap-anipose",
    ),
}
RAT_SOURCES = {
    "stac_rat": dict(
        name="STAC-MJX rat (DANNCE predictions, 1000 frames)",
        files="3d/stac_rat/test_rodent_mocap_1000_frames.mat, 3d/stac_rat/rat23.mat",
        licence="BSD-3-Clause",
        citation="talmolab/stac-mjx; Dunn et al. 2021, DANNCE, Nature Methods 18:564",
        url="https://github.com/talmolab/stac-mjx",
    )
}


def _fly_array(poses) -> np.ndarray:
    x = np.full((poses.n_frames, len(FLY.keypoints), 3), np.nan)
    for j, k in enumerate(poses.keypoints):
        if k in FLY.keypoints:
            x[:, FLY.keypoints.index(k)] = poses.data[:, 0, j]
    return x


def load_fly(name: str, seed: int = 0) -> Animal:
    """One fly: ``df3d``, ``nmf`` or ``flygym``."""
    rng = np.random.default_rng(seed)
    if name == "df3d":
        z = np.load(D3 / "df3d_fly/df3d_210902_PR_Fly1_1000f_in_reference_rig.npz")
        names = [str(k) for k in z["keypoint_names"]]
        assert names == FLY.keypoints
        xw = z["points3d_world"].astype(np.float64) / DF3D_RIG_UNITS_PER_MM
        rot, c = _fly_body_frame(xw, FLY_LEGS)
        body = _to_body(xw, rot, c)
        n = len(body)
        start = int(round(n * (1 - TEST_FRACTION)))
        views = []
        for cam in (0, 1, 2, 3, 4, 5, 6):
            Rc, t = z["R_cam"][cam], z["tvec"][cam] / DF3D_RIG_UNITS_PER_MM
            x_cam = xw @ Rc.T + t
            uv = z["points2d_xy"][cam].astype(np.float64) + rng.normal(0, 2.0, (n, 30, 2))
            vis = z["side_visibility"][cam].astype(bool) & z["in_image"][cam].astype(bool)
            uv = np.where(vis[..., None], uv, np.nan)
            x_cam = np.where(z["side_visibility"][cam][None, :, None].astype(bool), x_cam, np.nan)
            views.append(TestView(f"camera_{cam}", _view_label_fly(Rc @ rot.T), uv, x_cam, False))
        test, train = _split_views(views, start)
        return Animal(
            "df3d",
            "fly",
            body,
            start,
            test,
            [FLY_SOURCES["df3d"]],
            notes="rig 2D projected from the real 3D with the real calibration, + 2 px noise",
            train_block_views=train,
        )
    if name == "nmf":
        from liftpose_dlc.io.calibration import load_calibration
        from liftpose_dlc.io.df3d_2d import load_df3d_2d, triangulate_df3d_2d

        d = D3 / "neuromechfly_df3d_walking"
        preds = d / "preds_180921_aDN_PR_Fly8_005_SG1_behData_images-images.pkl"
        calib = d / "calib_180921_aDN_PR_Fly8_005_SG1_behData_images_images.pkl"
        tri = triangulate_df3d_2d(preds, calib, scale=DF3D_RIG_UNITS_PER_MM)
        xw = _fly_array(tri)
        cams = load_calibration(calib)
        two = load_df3d_2d(preds)
        n = len(xw)
        start = int(round(n * (1 - TEST_FRACTION)))
        body = np.full_like(xw, np.nan)
        rots = {}
        mirrored: dict[str, bool] = {}
        for side in "LR":
            legs = [f"{side}{leg}" for leg in "FMH"]
            cols = [FLY.keypoints.index(f"{L}_{s}") for L in legs for s in FLY_SEGMENTS]
            xs = np.full_like(xw, np.nan)
            xs[:, cols] = xw[:, cols]
            rot, c = _fly_body_frame(xs, legs)
            # a half fly: centre its legs on the side's own coxae, placed as a df3d side
            b = _to_body(xs, rot, c)
            # legs reach outwards from their coxae: left legs to +y, right legs to -y. This
            # session's right triplet (cameras 0-2) reconstructs mirror-imaged legs (they
            # reach to +y like the left ones, with anterior and up agreeing between the
            # sides), so that side is mirrored back, and so are its test views
            reach = np.nanmedian(b[:, cols[4::5], 1] - b[:, cols[0::5], 1])
            mirrored[side] = (reach < 0) != (side == "R")
            if mirrored[side]:
                b[..., 1] *= -1
            b[:, cols, 1] += 0.3 if side == "L" else -0.3
            body[:, cols] = b[:, cols]
            rots[side] = rot
        views = []
        for cam_id, p2 in two.items():
            cam = cams[f"camera_{cam_id}"]
            side = p2.keypoints[0][0]
            cols = [FLY.keypoints.index(k) for k in p2.keypoints[:15]]
            uv = np.full((n, 30, 2), np.nan)
            uv[:, cols] = p2.data[:, 0, :15]
            x_cam = np.full((n, 30, 3), np.nan)
            x_cam[:, cols] = (
                cam.world_to_camera(xw[:, cols].reshape(-1, 3) * DF3D_RIG_UNITS_PER_MM).reshape(
                    n, 15, 3
                )
                / DF3D_RIG_UNITS_PER_MM
            )
            if mirrored[side]:  # a mirror camera: image x and camera x negated together
                uv[..., 0] *= -1
                x_cam[..., 0] *= -1
            views.append(
                TestView(f"camera_{cam_id}", _view_label_fly(cam.R @ rots[side].T), uv, x_cam, True)
            )
        test, train = _split_views(views, start)
        return Animal(
            "nmf",
            "fly",
            body,
            start,
            test,
            [FLY_SOURCES["nmf"]],
            notes="real DeepFly3D network 2D; 3D triangulated from it per side (3 cameras)",
            train_block_views=train,
        )
    if name == "flygym":
        from liftpose_dlc.io.flygym import load_spotlight

        p = load_spotlight(D3 / "flygym_spotlight/spotlight_behavior_clip.npz")
        body = _fly_array(p)
        body = body - np.nanmedian(body[:, ::5].mean(1), 0)  # centre on the coxae
        n = len(body)
        start = int(round(n * (1 - TEST_FRACTION)))
        views = _views_virtual(FLY, body, seed=100 + seed)
        test, train = _split_views(views, start)
        return Animal(
            "flygym",
            "fly",
            body,
            start,
            test,
            [FLY_SOURCES["flygym"]],
            notes="virtual test cameras (2 per view, 1% noise)",
            train_block_views=train,
        )
    raise KeyError(name)


STAC_TO_MOUSE = {
    "Nose": "Snout", "Ear_L": "EarL", "Ear_R": "EarR", "Neck": "SpineF", "Trunk": "SpineM",
    "TTI": "TailBase", "Shoulder_L": "ShoulderL", "Shoulder_R": "ShoulderR",
    "Elbow_L": "ElbowL", "Elbow_R": "ElbowR", "Wrist_L": "WristL", "Wrist_R": "WristR",
    "Forepaw_L": "ForepawL", "Forepaw_R": "ForepawR", "Knee_L": "KneeL", "Knee_R": "KneeR",
    "Heel_L": "AnkleL", "Heel_R": "AnkleR", "MTP_L": "HindpawL", "MTP_R": "HindpawR",
}  # fmt: skip
ANIPOSE_TO_MOUSE = {
    "Nose": "Snout", "Ear_L": "EarL", "Ear_R": "EarR", "Neck": "SpineF", "Trunk": "SpineM",
    "TTI": "TailBase", "Shoulder_left": "ShoulderL", "Shoulder_right": "ShoulderR",
}  # fmt: skip
DANNCE_TO_MOUSE = {"Tail(base)": "TailBase", "Tail(mid)": "TailMid", "Tail(end)": "TailEnd"}


def _mapped(sp: Species, names: list[str], data: np.ndarray, mapping: dict[str, str]) -> np.ndarray:
    x = np.full((data.shape[0], len(sp.keypoints), 3), np.nan)
    for j, k in enumerate(names):
        k2 = mapping.get(k, k)
        if k2 in sp.keypoints:
            x[:, sp.keypoints.index(k2)] = data[:, j]
    return x


def _rodent_real_views(sp, xw, cams, uv_by_cam, start, real):
    views = []
    n = len(xw)
    for cname, cam in cams.items():
        x_cam = cam.world_to_camera(xw.reshape(-1, 3)).reshape(n, -1, 3)
        views.append(TestView(cname, _view_label_rodent(cam.R), uv_by_cam[cname], x_cam, real))
    return _split_views(views, start)


def load_mouse(name: str, seed: int = 0) -> Animal:
    """One mouse: ``stac``, ``dannce`` or ``anipose`` (GPL: test only)."""
    rng = np.random.default_rng(seed)
    if name == "stac":
        from liftpose_dlc.io.stac import load_stac_mocap

        p = load_stac_mocap(
            D3 / "stac_mouse/test_mouse_mocap_3600_frames.h5", D3 / "stac_mouse/test_mouse.yaml"
        )
        x = _mapped(MOUSE, p.keypoints, p.data[:, 0], STAC_TO_MOUSE)
        body = np.stack([x[..., 0], x[..., 2], -x[..., 1]], -1)  # +y down -> +z up
        n = len(body)
        start = int(round(n * (1 - TEST_FRACTION)))
        test, train = _split_views(_views_virtual(MOUSE, body, seed=200 + seed), start)
        return Animal(
            "stac",
            "mouse",
            body,
            start,
            test,
            [MOUSE_SOURCES["stac"]],
            notes="virtual test cameras (2 per view, 1% noise)",
            train_block_views=train,
        )
    if name == "dannce":
        from liftpose_dlc.io.dannce import load_dannce_predictions

        d = D3 / "dannce_mouse1_predictions"
        p = load_dannce_predictions(d / "save_data_AVG.mat", d / "mouse22_skeleton.mat")
        xw = _mapped(MOUSE, p.keypoints, p.data[:, 0], DANNCE_TO_MOUSE)
        n = len(xw)
        start = int(round(n * (1 - TEST_FRACTION)))
        import scipy.io

        from liftpose_dlc.io.calibration import cameras_from_dannce

        cams = {}
        for i in range(1, 7):
            m = scipy.io.loadmat(d / f"calibration/kyle_cam{i}_params.mat")
            params = {k: m[k] for k in ("K", "r", "t", "RDistort", "TDistort")}
            cams[f"Camera{i}"] = cameras_from_dannce([params], camera_names=[f"Camera{i}"])[
                f"Camera{i}"
            ]
        uv = {}
        for cname, cam in cams.items():
            u = cam.project(xw.reshape(-1, 3)).reshape(n, -1, 2)
            uv[cname] = u + rng.normal(0, 2.0, u.shape)
        test, train = _rodent_real_views(MOUSE, xw, cams, uv, start, False)
        body = xw - np.nanmean(xw, axis=(0, 1))
        return Animal(
            "dannce",
            "mouse",
            body,
            start,
            test,
            [MOUSE_SOURCES["dannce"]],
            notes="its 6 real calibrated cameras (2D projected from the 3D + 2 px noise)",
            train_block_views=train,
        )
    if name == "anipose":
        import h5py

        from liftpose_dlc.io.calibration import load_calibration

        d = D3 / "sleap_anipose_mouse"
        with h5py.File(d / "points3d.h5") as fh:
            t3 = np.asarray(fh["tracks"][:, 0], dtype=np.float64)
        cams_all = load_calibration(d / "calibration.toml")
        cams, uv = {}, {}
        names = None
        for v in ("back", "mid", "top"):  # side: broken calibration (a copy of top's)
            with h5py.File(d / v / f"minimal_{v}_proofread.analysis.h5") as fh:
                names = [n.decode() for n in fh["node_names"][:]]
                tr = np.asarray(fh["tracks"][0], dtype=np.float64).transpose(2, 1, 0)  # (N, K, 2)
            uv[v] = _mapped(MOUSE, names, np.concatenate([tr, tr[..., :1]], -1), ANIPOSE_TO_MOUSE)[
                ..., :2
            ]
            cams[v] = cams_all[v]
        xw = _mapped(MOUSE, names, t3, ANIPOSE_TO_MOUSE)
        test, train = _rodent_real_views(MOUSE, xw, cams, uv, 60, True)
        for v in test + train:
            v.view = v.name  # its world frame is not z-up: name the views by their cameras
        return Animal(
            "anipose",
            "mouse",
            xw,
            60,
            test,
            [MOUSE_SOURCES["anipose"]],
            shippable=False,
            notes="real proofread SLEAP 2D in 3 calibrated views (side: broken calibration); "
            "test block = frames 60-119 (the reference trains on 0-59); GPL: never trained on",
            train_block_views=train,
        )
    raise KeyError(name)


#: The rat's test cameras come from a sector of azimuths the rat models never see.
RAT_HELDOUT_AZIMUTH = [135.0, 225.0]


def rat_train_views() -> dict[str, list[list[float]]]:
    """Rodent views with the held-out azimuth sector removed (rat split only)."""
    return {k: [[-135.0, 135.0], v[1], v[2]] for k, v in RODENT_VIEWS.items()}


def load_rat(name: str = "stac_rat", seed: int = 0) -> Animal:
    """The rat (one animal): test block = last 30% of frames, unseen azimuth sector."""
    from liftpose_dlc.io.dannce import load_dannce_predictions

    p = load_dannce_predictions(
        D3 / "stac_rat/test_rodent_mocap_1000_frames.mat", D3 / "stac_rat/rat23.mat"
    )
    x = _mapped(RAT, p.keypoints, p.data[:, 0], {})
    body = x - np.nanmean(x, axis=(0, 1))
    n = len(body)
    start = int(round(n * (1 - TEST_FRACTION)))
    held = {k: [RAT_HELDOUT_AZIMUTH, v[1], v[2]] for k, v in RODENT_VIEWS.items()}
    test, train = _split_views(_views_virtual(RAT, body, seed=300 + seed, views=held), start)
    return Animal(
        "stac_rat",
        "rat",
        body,
        start,
        test,
        [RAT_SOURCES["stac_rat"]],
        notes="one animal: test block = last 30% of the frames, test cameras in an azimuth "
        "sector (135-225 deg) the split's model never saw",
        train_block_views=train,
    )


ANIMALS = {
    "fly": ["df3d", "nmf", "flygym"],
    "mouse": ["stac", "dannce", "anipose"],
    "rat": ["stac_rat"],
}


def load_animal(species: str, name: str, seed: int = 0) -> Animal:
    """Any animal by species and name."""
    if species == "fly":
        return load_fly(name, seed)
    if species == "mouse":
        return load_mouse(name, seed)
    return load_rat(name, seed)
