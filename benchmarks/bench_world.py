"""Absolute 3D (issue 14 §1) and calibrated confidence (§2) on real data.

§1, world placement, each camera lifted alone:

* **DANNCE mouse** (``3d/dannce_mouse1_predictions``: 1000 real 3D poses, 22 keypoints, six
  calibrated cameras, world z up with the floor at z = 0). The frames are cut in blocks of
  50; of every ten blocks, five train a lifter (root ``SpineM``, with
  :func:`~liftpose_dlc.workflow.training.train_from_library`, seen by all six cameras, 2D
  with 2 px noise and the lens distortion), two fit its error model and three are the test
  (300 frames), projected into each camera with 2 px noise. A second lifter is trained on
  contiguous parts instead (frames 0-499, error model 500-699, test 700-999) to show what a
  change of behaviour between calibration and test does to the calibration.
* **sleap-anipose mouse** (``3d/sleap_anipose_mouse``: 120 frames, 15 nodes, four views
  with real, proofread SLEAP 2D; the world frame is not on the floor, so the floor is fitted
  to the lowest points of the training frames, oriented by the cameras). A lifter (root
  ``Trunk``) is trained on the triangulated 3D of frames 0-79 seen by the ``back``, ``mid``
  and ``top`` cameras; frames 80-119 are lifted from each view's real 2D. The ``side``
  camera's calibration is a copy of ``top``'s upstream (92 px reprojection error): it is
  reported, not trusted.

Placements compared (root trajectory error = distance of the placed root from the true
root, mm; world MPJPE = mean distance of every keypoint from its true world position, mm):

* ``floor``: the root on its camera ray at its height above the floor learned from the
  library (``Lifter.root_heights``): ``lift_poses(..., frame="world", cameras=cam)``;
* ``size``: the root depth from the lifted pose's metric size against its 2D size
  (intrinsics only; ``frame="camera"`` with cameras), moved to the world for comparison;
* ``constant depth`` (naive): the root on its ray at the median root depth of the training
  library seen by that camera.

§2, calibration of the error model (:mod:`liftpose_dlc.lifter.uncertainty`): the fraction
of held-out points whose true root-relative error is below the predicted bound, at levels
0.1 … 0.9, on P1-P3 (``benchmarks/protocols.py``, real DeepFly3D fly 3D: lifter on frames
0-639, error model on 640-799, test 800-999) and on the DANNCE mouse (test frames, each
camera; and a lifter trained without camera 6, tested on camera 6: an unseen view), with 10%
of the test 2D points dropped (the inferred points' bounds are checked too).

Run: ``python benchmarks/bench_world.py`` (CPU, about 10 minutes on two shared cores);
``--quick`` for a smoke run. Writes ``benchmarks/results_world.json`` and prints the
RESULTS.md tables.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from protocols import SHARED_DATA, load_protocol  # noqa: E402

from liftpose_dlc import Lifter, Poses  # noqa: E402
from liftpose_dlc.lifter.uncertainty import fit_error_model  # noqa: E402
from liftpose_dlc.world import (  # noqa: E402
    Floor,
    PlacementWarning,
    depth_from_size,
    fit_floor,
    place_at_depth,
    place_on_floor,
)

DANNCE = SHARED_DATA / "3d" / "dannce_mouse1_predictions"
ANIPOSE = SHARED_DATA / "3d" / "sleap_anipose_mouse"
LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
NOISE_PX = 2.0


# ----------------------------------------------------------------------------- data
def dannce_data() -> tuple[np.ndarray, list[str], dict]:
    """DANNCE mouse 3D ``(1000, 22, 3)`` mm, its keypoint names and the six cameras."""
    import scipy.io

    from liftpose_dlc.io.calibration import cameras_from_dannce

    pred = scipy.io.loadmat(DANNCE / "save_data_AVG.mat")["pred"].transpose(0, 2, 1)
    skel = scipy.io.loadmat(DANNCE / "mouse22_skeleton.mat")
    names = [str(n[0]) for n in skel["joint_names"][0]]
    cams = {}
    for i in range(1, 7):
        m = scipy.io.loadmat(DANNCE / "calibration" / f"kyle_cam{i}_params.mat")
        params = {k: m[k] for k in ("K", "r", "t", "RDistort", "TDistort")}
        cams.update(cameras_from_dannce(params, camera_names=[f"Camera{i}"]))
    return pred, names, cams


def anipose_data() -> tuple[np.ndarray, list[str], dict, dict]:
    """sleap-anipose 3D ``(120, 15, 3)``, node names, cameras and real 2D per view."""
    import h5py

    from liftpose_dlc.io.calibration import load_calibration

    cams = load_calibration(ANIPOSE / "calibration.toml")
    with h5py.File(ANIPOSE / "points3d.h5", "r") as f:
        p3 = f["tracks"][()][:, 0]
    views = {}
    names: list[str] = []
    for view in cams:
        with h5py.File(ANIPOSE / view / f"minimal_{view}_proofread.analysis.h5", "r") as f:
            views[view] = np.transpose(f["tracks"][()][0], (2, 1, 0))  # (frames, nodes, 2)
            names = [n.decode() for n in f["node_names"][()]]
    return p3, names, cams, views


# ----------------------------------------------------------------------------- helpers
def train(library, names, cams, root, out: Path, *, epochs: int, seed: int = 0, floor=None):
    """A lifter trained on ``library`` seen by ``cams`` (2D noise, distortion)."""
    from liftpose_dlc.workflow.training import train_from_library

    return train_from_library(
        Poses(library, names),
        cams,
        model_path=out,
        roots=[root],
        units="mm",
        noise_px=NOISE_PX,
        epochs=epochs,
        seed=seed,
        verbose=False,
        overwrite=True,
        floor=floor,
    )


def pairs(world: np.ndarray, cams: dict, rng: np.random.Generator):
    """2D (with noise) and camera-frame 3D of ``world`` poses in every camera, stacked."""
    p2, p3 = [], []
    for cam in cams.values():
        p2.append(cam.project(world) + rng.normal(0, NOISE_PX, world.shape[:-1] + (2,)))
        p3.append(cam.world_to_camera(world))
    return np.concatenate(p2), np.concatenate(p3)


def world_errors(placed: np.ndarray, true: np.ndarray, root: int) -> tuple[float, float]:
    """Root trajectory error and world MPJPE (mm), NaN frames ignored."""
    root_err = np.linalg.norm(placed[:, root] - true[:, root], axis=-1)
    mpjpe = np.linalg.norm(placed - true, axis=-1)
    return float(np.nanmean(root_err)), float(np.nanmean(mpjpe))


def placements(lifter, cam, uv, true_world, library_world, root, floor, label):
    """The three placements of one camera's lift; their errors."""
    from liftpose_dlc.workflow.lifting import lift_poses

    rel = lifter.predict(uv, root_positions="zero")  # camera frame, root at the origin
    rows = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlacementWarning)
        world = lift_poses(
            Poses(uv, lifter.keypoints),
            lifter,
            frame="world",
            cameras=cam,
            floor=floor,
            root_positions="zero",
        ).poses.data[:, 0]
    rows["floor"] = world_errors(world, true_world, root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlacementWarning)
        fixed = lift_poses(
            Poses(uv, lifter.keypoints),
            lifter,
            frame="world",
            cameras=cam,
            floor=floor,
            root_height=lifter.root_heights[0],
            root_positions="zero",
        ).poses.data[:, 0]
    rows["floor, library root height"] = world_errors(fixed, true_world, root)
    z = depth_from_size(rel, uv, cam, root)
    cam_pose, _ = place_at_depth(rel, uv[:, root], cam, z)
    rows["size"] = world_errors(cam.camera_to_world(cam_pose), true_world, root)
    depth0 = float(np.median(cam.world_to_camera(library_world[:, root])[:, 2]))
    cam_pose, _ = place_at_depth(rel, uv[:, root], cam, depth0)
    rows["constant depth"] = world_errors(cam.camera_to_world(cam_pose), true_world, root)
    # the oracle root height (the true one): what the floor placement's height costs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlacementWarning)
        oracle, _ = place_on_floor(rel, uv[:, root], cam, floor.height(true_world[:, root]), floor)
    rows["floor, true root height"] = world_errors(oracle, true_world, root)
    centre = cam.center - np.nanmean(true_world[:, root], axis=0)
    elev = float(np.degrees(np.arcsin((centre @ floor.normal) / np.linalg.norm(centre))))
    rel_err = np.nanmean(
        np.linalg.norm(
            (rel - rel[:, root : root + 1])
            - (cam.world_to_camera(true_world) - cam.world_to_camera(true_world)[:, [root]]),
            axis=-1,
        )
    )
    return {
        "camera": label,
        "elevation_deg": elev,
        "root_relative_mpjpe": float(rel_err),
        **{k: {"root_error": v[0], "world_mpjpe": v[1]} for k, v in rows.items()},
    }


# ----------------------------------------------------------------------------- §1
def bench_dannce(tmp: Path, epochs: int, results: dict) -> None:
    pred, names, cams = dannce_data()
    root = names.index("SpineM")
    rng = np.random.default_rng(0)
    # interleaved blocks of 50 frames (so that the three parts see the same behaviours):
    # of every 10 blocks, 5 train the lifter, 2 fit its error model, 3 are the test
    part = (np.arange(len(pred)) // 50) % 10
    lib, fit, test = pred[part < 5], pred[(part == 5) | (part == 6)], pred[part >= 7]
    t0 = time.perf_counter()
    lifter = train(lib, names, cams, "SpineM", tmp / "dannce.safetensors", epochs=epochs)
    floor0 = Floor()  # the DANNCE world's z = 0 is the floor
    fitted = fit_floor(lib, cameras=cams)
    tilt = float(np.degrees(np.arccos(abs(fitted.normal @ floor0.normal))))
    rows = []
    for name, cam in cams.items():
        uv = cam.project(test) + rng.normal(0, NOISE_PX, test.shape[:-1] + (2,))
        rows.append(placements(lifter, cam, uv, test, lib, root, floor0, name))
    results["dannce"] = {
        "root": "SpineM",
        "root_height_mm": lifter.root_heights[0],
        "floor_clearance_mm": lifter.floor_clearance,
        "fitted_floor": {"tilt_deg": tilt, "offset_mm": fitted.offset},
        "rows": rows,
        "train_s": time.perf_counter() - t0,
    }
    # §2 on the same lifter: error model on frames 500-699, test on 700-999 (each camera)
    f2, f3 = pairs(fit, cams, rng)
    lifter.error_model = fit_error_model(lifter, f2, f3, seed=0)
    curve = {}
    for name, cam in cams.items():
        uv = cam.project(test) + rng.normal(0, NOISE_PX, test.shape[:-1] + (2,))
        curve[name] = calibration(lifter, uv, cam.world_to_camera(test), rng)
    results["calibration"]["DANNCE mouse, each camera"] = pool(curve)
    # an unseen camera: lifter and error model without Camera6
    five = {k: v for k, v in cams.items() if k != "Camera6"}
    lifter5 = train(lib, names, five, "SpineM", tmp / "dannce5.safetensors", epochs=epochs)
    f2, f3 = pairs(fit, five, rng)
    lifter5.error_model = fit_error_model(lifter5, f2, f3, seed=0)
    cam = cams["Camera6"]
    uv = cam.project(test) + rng.normal(0, NOISE_PX, test.shape[:-1] + (2,))
    results["calibration"]["DANNCE mouse, unseen Camera6"] = calibration(
        lifter5, uv, cam.world_to_camera(test), rng
    )
    # contiguous parts instead: lifter 0-499, error model 500-699, test 700-999 (later
    # behaviour than the error model saw)
    later = train(pred[:500], names, cams, "SpineM", tmp / "dannce_c.safetensors", epochs=epochs)
    f2, f3 = pairs(pred[500:700], cams, rng)
    later.error_model = fit_error_model(later, f2, f3, seed=0)
    curve = {}
    for name, cam in cams.items():
        uv = cam.project(pred[700:]) + rng.normal(0, NOISE_PX, pred[700:].shape[:-1] + (2,))
        curve[name] = calibration(later, uv, cam.world_to_camera(pred[700:]), rng)
    results["calibration"]["DANNCE mouse, each camera, contiguous split"] = pool(curve)


def bench_anipose(tmp: Path, epochs: int, results: dict) -> None:
    p3, names, cams, views = anipose_data()
    root = names.index("Trunk")
    lib, test = p3[:80], p3[80:]
    good = {k: cams[k] for k in ("back", "mid", "top")}
    lifter = train(
        lib, names, good, "Trunk", tmp / "anipose.safetensors", epochs=epochs, floor="fit"
    )
    floor = fit_floor(lib, cameras=good)  # as train_from_library(floor="fit") fits it
    rows = []
    for view, cam in cams.items():
        uv = views[view][80:]
        row = placements(lifter, cam, uv, test, lib, root, floor, view)
        reproj = np.nanmedian(np.linalg.norm(cam.project(test) - uv, axis=-1))
        row["reprojection_px"] = float(reproj)
        rows.append(row)
    results["anipose"] = {
        "root": "Trunk",
        "floor": floor.as_dict(),
        "root_height_mm": lifter.root_heights[0],
        "floor_clearance_mm": lifter.floor_clearance,
        "rows": rows,
    }


# ----------------------------------------------------------------------------- §2
def calibration(lifter: Lifter, uv: np.ndarray, true_cam: np.ndarray, rng) -> dict:
    """Fraction of points below their bound per level, all points and inferred points."""
    dropped = uv.copy()
    drop = rng.random(uv.shape[:2]) < 0.1
    drop[:, lifter.roots] = False
    dropped[drop] = np.nan
    rel = lifter.predict(dropped, root_positions="zero")
    true = true_cam.copy()
    for r, ts in zip(lifter.roots, lifter.target_sets, strict=True):
        true[:, ts] = true_cam[:, ts] - true_cam[:, [r]]
        true[:, r] = 0.0
    err = np.linalg.norm(rel - true, axis=-1)
    targets = np.zeros(err.shape, dtype=bool)
    targets[:, [j for ts in lifter.target_sets for j in ts]] = True
    out: dict = {"n_points": int(targets.sum()), "n_inferred": int((targets & drop).sum())}
    for what, mask in (("all", targets), ("inferred", targets & drop)):
        out[what] = {}
        for level in LEVELS:
            b = lifter.predict_error(dropped, level=level)
            out[what][str(level)] = float(np.mean(err[mask] <= b[mask]))
    out["median_error"] = float(np.median(err[targets]))
    conf = lifter.error_model.confidence(lifter, dropped)
    # does the confidence rank the errors? Spearman between confidence and error
    c, e = conf[targets], err[targets]
    rc, re = np.argsort(np.argsort(c)), np.argsort(np.argsort(e))
    out["spearman_conf_error"] = float(np.corrcoef(rc, re)[0, 1])
    out["_err"], out["_b50"], out["_b90"] = (
        err[targets].tolist(),
        lifter.predict_error(dropped, 0.5)[targets].tolist(),
        lifter.predict_error(dropped, 0.9)[targets].tolist(),
    )
    return out


def pool(per_camera: dict) -> dict:
    """Pool per-camera calibrations (weighted by points)."""
    out = {"n_points": sum(v["n_points"] for v in per_camera.values())}
    for what in ("all", "inferred"):
        out[what] = {}
        for level in LEVELS:
            w = [
                (v[what][str(level)], v["n_points"] if what == "all" else v["n_inferred"])
                for v in per_camera.values()
            ]
            out[what][str(level)] = float(sum(a * n for a, n in w) / sum(n for _, n in w))
    out["per_camera_50_90"] = {k: [v["all"]["0.5"], v["all"]["0.9"]] for k, v in per_camera.items()}
    out["spearman_conf_error"] = float(
        np.mean([v["spearman_conf_error"] for v in per_camera.values()])
    )
    out["median_error"] = float(np.mean([v["median_error"] for v in per_camera.values()]))
    return out


def bench_protocols(epochs: int, results: dict) -> None:
    for name in ("P1", "P2", "P3"):
        dev = load_protocol(name, dev=True)  # train 0-639, "test" 640-799: the error model's
        full = load_protocol(name)  # test 800-999
        names = [str(i) for i in range(len(dev["keypoint_names"]))]
        lifter = Lifter(names, dev["roots"], dev["target_sets"])
        lifter.fit(dev["train_2d"], dev["train_3d"], epochs=epochs, verbose=False, seed=0)
        # the error model's data: frames 640-799 of the training cameras (held out)
        fit2 = np.concatenate([v[640:] for v in full["train_2d_by_camera"].values()])
        fit3 = np.concatenate([v[640:] for v in full["train_3d_by_camera"].values()])
        lifter.error_model = fit_error_model(lifter, fit2, fit3, seed=0)
        rng = np.random.default_rng(1)
        results["calibration"][f"{name} ({full['description']})"] = calibration(
            lifter, full["test_2d"], full["test_3d"], rng
        )


# ----------------------------------------------------------------------------- report
def tables(results: dict) -> str:
    lines = []
    for key, title in (("dannce", "DANNCE mouse"), ("anipose", "sleap-anipose mouse")):
        if key not in results:
            continue
        r = results[key]
        lines += [
            f"**{title}** (root `{r['root']}`, learned root height {r['root_height_mm']:.1f} mm)",
            "",
            "| camera | elevation | floor (default): root / MPJPE | floor, library root height "
            "| size | constant depth (naive) | floor, true root height | root-relative MPJPE |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in r["rows"]:
            cells = [
                f"{row[m]['root_error']:.1f} / {row[m]['world_mpjpe']:.1f}"
                for m in (
                    "floor",
                    "floor, library root height",
                    "size",
                    "constant depth",
                    "floor, true root height",
                )
            ]
            label = row["camera"] + (
                f" ({row['reprojection_px']:.0f} px reproj.)" if "reprojection_px" in row else ""
            )
            lines.append(
                f"| {label} | {row['elevation_deg']:.0f}° | "
                + " | ".join(cells)
                + f" | {row['root_relative_mpjpe']:.1f} |"
            )
        lines.append("")
    lines += [
        "| held-out data | points | median error (mm) | below 50% bound | below 90% bound | "
        "inferred: 50% / 90% | Spearman(conf, error) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, c in results["calibration"].items():
        lines.append(
            f"| {name} | {c['n_points']} | {c['median_error']:.2f} | "
            f"{100 * c['all']['0.5']:.1f}% | "
            f"{100 * c['all']['0.9']:.1f}% | {100 * c['inferred']['0.5']:.1f}% / "
            f"{100 * c['inferred']['0.9']:.1f}% | {c['spearman_conf_error']:.2f} |"
        )
    lines += ["", "Calibration curve (fraction of points below the bound at each level):", ""]
    lines.append("| held-out data | " + " | ".join(f"{lv:.1f}" for lv in LEVELS) + " |")
    lines.append("|---|" + "---|" * len(LEVELS))
    for name, c in results["calibration"].items():
        lines.append(
            f"| {name} | " + " | ".join(f"{c['all'][str(lv)]:.3f}" for lv in LEVELS) + " |"
        )
    return "\n".join(lines)


def main() -> None:
    import torch

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["dannce", "anipose", "protocols"], default=None)
    args = ap.parse_args()
    epochs = 2 if args.quick else 20
    results: dict = {"calibration": {}, "epochs": epochs}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if args.only in (None, "anipose"):
            bench_anipose(tmp, epochs * 5, results)
        if args.only in (None, "dannce"):
            bench_dannce(tmp, epochs, results)
        if args.only in (None, "protocols"):
            bench_protocols(epochs, results)
    results["seconds"] = time.perf_counter() - t0
    print(tables(results))
    slim = json.loads(json.dumps(results))
    for c in slim["calibration"].values():
        for k in [k for k in c if k.startswith("_")]:
            del c[k]
    if not args.quick and args.only is None:
        (HERE / "results_world.json").write_text(json.dumps(slim, indent=1) + "\n")


if __name__ == "__main__":
    main()
