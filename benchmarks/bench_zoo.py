"""Leave-one-animal-out benchmark of the zoo models (``benchmarks/RESULTS.md``, "Pretrained zoo").

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/bench_zoo.py --species fly mouse rat
    PYTHONPATH=. python benchmarks/bench_zoo.py --species fly --liftpose022   # + liftpose 0.22

For every split (one held-out animal; the model is trained on the species' other animals)
and every test camera of the held-out animal (its test block: the last 30% of its frames):
root-relative MPJPE and Procrustes-aligned MPJPE (mm) with no camera information, for

* **zoo**: the zoo recipe (``train_zoo.fit_zoo``) trained on the other animals;
* **(a) least squares**: a ridge map from the scale-normalised anchored 2D of the tracked
  keypoints to root-relative 3D, fitted on 50,000 virtual views of the same animals;
* **(b) liftpose 0.22** (``--liftpose022``; its own venv, see ``liftpose022_baseline.py``):
  trained with its defaults (30 epochs) on 2,000 virtual views of the same animals, given
  the same scale-normalised 2D, one run per set of keypoints the test cameras see;
* **(c) within-animal reference**: the default :class:`Lifter` trained on the held-out
  animal's own first 70% of frames seen by the test cameras themselves (the rig known).

The rat has one animal: its split trains on the first 70% of its frames over views whose
azimuth excludes 135-225 deg, and tests on the last 30% seen from that sector.
Results: ``benchmarks/results_zoo.json`` and the generated table in RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.train_zoo import MODELS_DIR, fit_zoo  # noqa: E402
from benchmarks.zoo_data import (  # noqa: E402
    SPECIES,
    Animal,
    TestView,
    load_animal,
    rat_train_views,
)
from benchmarks.zoo_eval import (  # noqa: E402
    LeastSquares,
    errors,
    eval_mask,
    lifter_rel,
    normalised_input,
    virtual_pairs,
)
from liftpose_dlc.lifter.lifter import Lifter  # noqa: E402

WORK = HERE / "_work" / "zoo"
RESULTS_JSON = HERE / "results_zoo.json"
STEPS = int(os.environ.get("ZOO_STEPS", 1200))  # zoo training steps per split (batch 256)
REF_STEPS = int(os.environ.get("ZOO_REF_STEPS", 1000))

SPLITS = {
    "fly": [("df3d", ["nmf", "flygym"]), ("nmf", ["df3d", "flygym"]), ("flygym", ["df3d", "nmf"])],
    "mouse": [("stac", ["dannce"]), ("dannce", ["stac"]), ("anipose", ["stac", "dannce"])],
    "rat": [("stac_rat", ["stac_rat"])],
}
#: keypoint subsets users track (scored on what they track)
USER_SUBSETS = {
    "mouse": {"openfield (snout, ears, tail base)": ["Snout", "EarL", "EarR", "TailBase"]}
}


def _known(sp, bodies) -> np.ndarray:
    known = np.zeros(len(sp.keypoints), bool)
    for b in bodies.values():
        known |= np.isfinite(b).all(-1).any(0)
    return known


def _reference(sp, animal: Animal, seed: int) -> Lifter | None:
    """(c): the default lifter on the held-out animal's own training block, its cameras."""
    views = animal.train_block_views
    if not views or len(views[0].pose_2d) < 20:
        return None
    two = {v.name: v.pose_2d for v in views}
    three = {v.name: v.pose_3d for v in views}
    lifter = Lifter(sp.keypoints, sp.roots, sp.target_sets)
    lifter.fit(two, three, seed=seed, verbose=False, min_steps=REF_STEPS, batch_size=256)
    return lifter


def _subset(view: TestView, keep: list[int]) -> TestView:
    p2 = np.full_like(view.pose_2d, np.nan)
    p2[:, keep] = view.pose_2d[:, keep]
    p3 = np.full_like(view.pose_3d, np.nan)
    p3[:, keep] = view.pose_3d[:, keep]
    return TestView(view.name, view.view, p2, p3, view.real_2d)


def split_data(species: str, test: str, train: list[str]):
    """A split's species, held-out animal, training bodies and training views (None: the
    species')."""
    sp = SPECIES[species]
    held = load_animal(species, test)
    if species == "rat":  # one animal: its first 70%, over views that exclude a sector
        return sp, held, {held.name: held.train_3d}, rat_train_views()
    animals = [load_animal(species, n) for n in train]
    return sp, held, {a.name: a.body_3d for a in animals if a.shippable}, None


def run_split(
    species: str,
    test: str,
    train: list[str],
    seed: int,
    do022: bool,
    only022: bool = False,
    given022: dict | None = None,
) -> dict:
    """One split: zoo, (a), (c) per test camera (and (b) if ``do022``; only (b): ``only022``)."""
    sp, held, bodies, views = split_data(species, test, train)
    known = _known(sp, bodies)
    t0 = time.perf_counter()
    if only022:
        return {
            "species": species,
            "test": test,
            "train": train,
            "liftpose022": run_022(sp, species, test, bodies, views, held, known, seed),
            "wall_s": round(time.perf_counter() - t0, 1),
        }
    zoo, secs = fit_zoo(sp, bodies, views=views, seed=seed, min_steps=STEPS)
    WORK.mkdir(parents=True, exist_ok=True)
    zoo.save(WORK / f"{species}_{test}.safetensors", overwrite=True)
    p2, p3 = virtual_pairs(sp, bodies, 50_000, seed + 1, views)
    ls = LeastSquares(sp, p2, p3)
    ref = _reference(sp, held, seed)
    out = {
        "species": species,
        "test": test,
        "train": train,
        "zoo_train_s": round(secs, 1),
        "views": [],
        "notes": held.notes,
    }
    for v in held.views:
        m = eval_mask(sp, v, known)
        row = {
            "camera": v.name,
            "view": v.view,
            "real_2d": v.real_2d,
            "frames": len(v.pose_2d),
            "points": int(m.sum()),
        }
        row["zoo"] = errors(sp, lifter_rel(zoo, sp, v.pose_2d), v, m)
        row["lstsq"] = errors(sp, ls.predict(v.pose_2d), v, m)
        if ref is not None:
            row["reference"] = errors(sp, lifter_rel(ref, sp, v.pose_2d), v, m)
        out["views"].append(row)
    # by number of tracked keypoints (random subsets with the roots; scored on the tracked)
    rng = np.random.default_rng(seed)
    roots = sp.idx(sp.roots)
    by_k: dict[str, dict[str, list[float]]] = {}
    for v in held.views:
        m = eval_mask(sp, v, known)
        cand = [j for j in range(len(sp.keypoints)) if m[:, j].any()]
        ks = [2, 4, 8, 12] if species != "fly" else [6, 12, 18]
        for k in [*ks, len(cand)]:
            if k > len(cand):
                continue
            keep = sorted(set(roots) | set(rng.choice(cand, k, replace=False).tolist()))
            vs = _subset(v, keep)
            ms = eval_mask(sp, vs, known)
            d = by_k.setdefault(str(k) if k < len(cand) else "all", {"zoo": [], "lstsq": []})
            d["zoo"].append(errors(sp, lifter_rel(zoo, sp, vs.pose_2d), vs, ms)["mpjpe"])
            d["lstsq"].append(errors(sp, ls.predict(vs.pose_2d), vs, ms)["mpjpe"])
        for label, names in USER_SUBSETS.get(species, {}).items():
            keep = sp.idx(names)
            vs = _subset(v, keep)
            ms = eval_mask(sp, vs, known)
            if not ms.any():
                continue
            d = by_k.setdefault(label, {"zoo": [], "lstsq": []})
            d["zoo"].append(errors(sp, lifter_rel(zoo, sp, vs.pose_2d), vs, ms)["mpjpe"])
            d["lstsq"].append(errors(sp, ls.predict(vs.pose_2d), vs, ms)["mpjpe"])
    out["by_keypoints"] = {
        k: {m: float(np.nanmean(x)) for m, x in d.items()} for k, d in by_k.items()
    }
    if given022 is not None:
        out["liftpose022"] = given022
    elif do022:
        try:
            out["liftpose022"] = run_022(sp, species, test, bodies, views, held, known, seed)
        except (subprocess.CalledProcessError, OSError, ValueError) as err:
            print(f"liftpose 0.22 failed on {species}/{test}: {err}", flush=True)
            out["liftpose022"] = {"views": {}, "error": str(err)}
    for row in out["views"]:
        e = out.get("liftpose022", {}).get("views", {}).get(row["camera"])
        if e is not None:
            row["liftpose022"] = e
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    return out


def _summary(rows: list[dict], key: str) -> dict[str, float]:
    vals = [r[key] for r in rows if key in r]
    return {m: float(np.mean([v[m] for v in vals])) for m in ("mpjpe", "pa_mpjpe")} if vals else {}


# ------------------------------------------------------------------------- liftpose 0.22
def run_022(sp, species, test, bodies, views, held, known, seed) -> dict:
    """Train liftpose 0.22 (its venv) per set of keypoints the test cameras see."""
    from benchmarks.liftpose022_baseline import ensure_venv
    from benchmarks.zoo_eval import _rel

    python = ensure_venv()
    WORK.mkdir(parents=True, exist_ok=True)
    p2, p3 = virtual_pairs(sp, bodies, 2000, seed + 2, views)
    groups: dict[tuple[int, ...], list[TestView]] = {}
    for v in held.views:
        seen = np.isfinite(v.pose_2d).all(-1).mean(0) >= 0.5
        groups.setdefault(tuple(np.flatnonzero(seen & known)), []).append(v)
    res: dict = {"views": {}, "train_s": 0.0}
    for g, vs in groups.items():
        kp = list(g)
        roots = [r for r in sp.idx(sp.roots) if r in kp]
        sets = [
            [kp.index(t) for t in sp.idx(ts) if t in kp]
            for r, ts in zip(sp.idx(sp.roots), sp.target_sets, strict=True)
            if r in kp
        ]
        rl = [kp.index(r) for r in roots]
        targets = sorted(set(sum([sp.idx(t) for t in sp.target_sets], [])) & set(kp))

        def inp(uv, kp=kp, targets=targets):
            x = normalised_input(sp, uv, targets).reshape(len(uv), -1, 2)
            full = np.zeros((len(uv), len(kp), 2))
            full[:, [kp.index(t) for t in targets]] = x
            return full

        tr3 = _rel(sp, p3)[:, kp]
        ok = np.isfinite(tr3).all((1, 2))
        tag = f"{species}_{test}_{len(kp)}_{kp[0]}"
        f = WORK / f"022_{tag}.npz"
        te2 = np.concatenate([inp(v.pose_2d) for v in vs])
        te3 = np.nan_to_num(np.concatenate([_rel(sp, v.pose_3d)[:, kp] for v in vs]))
        np.savez(
            f,
            train_2d=inp(p2)[ok],
            train_3d=tr3[ok],
            test_2d=te2,
            test_3d=te3,
            roots=np.array(rl),
            sets=np.array(json.dumps(sets)),
        )
        env = {
            **os.environ,
            "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1",
            "TQDM_DISABLE": "1",
            "PYTHONPATH": "",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }  # contended cores: 1 thread
        t0 = time.perf_counter()
        subprocess.run(
            [str(python), str(HERE / "zoo_liftpose022.py"), str(f)],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        res["train_s"] += time.perf_counter() - t0
        pred = np.load(str(f).replace(".npz", "_pred.npy"))
        start = 0
        for v in vs:
            n = len(v.pose_2d)
            full = np.zeros((n, len(sp.keypoints), 3))
            full[:, kp] = pred[start : start + n]
            for r in sp.idx(sp.roots):
                full[:, r] = 0.0
            start += n
            res["views"][v.name] = errors(sp, full, v, eval_mask(sp, v, known))
    return res


# ---------------------------------------------------------------------------- report
def markdown(results: dict) -> str:
    lines = [
        f"Measured by `benchmarks/bench_zoo.py` ({results['machine']}). Error: mm, "
        "root-relative MPJPE / Procrustes-aligned MPJPE of the non-root keypoints of the "
        "held-out animal's test block (last 30% of its frames), no camera information, "
        "mean over its test cameras. (a) least squares, (b) liftpose 0.22, both trained on "
        "the same animals and views; (c) the default lifter trained on the held-out animal's "
        "own first 70% of frames in the test cameras. ✓: zoo ≤ 0.8 × (a) and (b), and "
        "≤ 1.5 × (c).",
        "",
        "| species | held-out animal | 2D | zoo | (a) least squares | (b) liftpose 0.22 | "
        "(c) within-animal | zoo/(a) | zoo/(b) | zoo/(c) | ok |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in results["splits"]:
        z, a = _summary(s["views"], "zoo"), _summary(s["views"], "lstsq")
        b, c = _summary(s["views"], "liftpose022"), _summary(s["views"], "reference")
        real = "real detector" if s["views"][0]["real_2d"] else "projected + noise"

        def f(d):
            return f"{d['mpjpe']:.3f} / {d['pa_mpjpe']:.3f}" if d else "—"

        ra = z["mpjpe"] / a["mpjpe"]
        rc = z["mpjpe"] / c["mpjpe"] if c else float("nan")
        rb = f"{z['mpjpe'] / b['mpjpe']:.2f}" if b else "—"
        ok = ra <= 0.8 and (not b or z["mpjpe"] <= 0.8 * b["mpjpe"]) and (not c or rc <= 1.5)
        lines.append(
            f"| {s['species']} | {s['test']} | {real} | **{f(z)}** | {f(a)} | {f(b)} | {f(c)} | "
            f"{ra:.2f} | {rb} | {rc:.2f} | {'✓' if ok else '✗'} |"
        )
    lines += [
        "",
        "By view (root-relative MPJPE mm, mean over splits' cameras; liftpose 0.22 over the "
        "cameras it was run on):",
        "",
        "| species | view | cameras | zoo | least squares | liftpose 0.22 |",
        "|---|---|---|---|---|---|",
    ]
    for species in ("fly", "mouse", "rat"):
        rows = [r for s in results["splits"] if s["species"] == species for r in s["views"]]
        for view in sorted({r["view"] for r in rows}):
            rv = [r for r in rows if r["view"] == view]
            zoo_mean = np.mean([r["zoo"]["mpjpe"] for r in rv])
            ls_mean = np.mean([r["lstsq"]["mpjpe"] for r in rv])
            b = [r["liftpose022"]["mpjpe"] for r in rv if "liftpose022" in r]
            b_mean = f"{np.mean(b):.3f} ({len(b)})" if b else "—"
            lines.append(
                f"| {species} | {view} | {len(rv)} | {zoo_mean:.3f} | {ls_mean:.3f} | {b_mean} |"
            )
    lines += [
        "",
        "By number of tracked keypoints (random subsets that keep the roots; scored on "
        "the tracked keypoints; zoo / least squares, mm):",
        "",
        "| species | held-out | tracked | zoo | least squares |",
        "|---|---|---|---|---|",
    ]
    for s in results["splits"]:
        for k, d in s["by_keypoints"].items():
            lines.append(
                f"| {s['species']} | {s['test']} | {k} | {d['zoo']:.3f} | {d['lstsq']:.3f} |"
            )
    lines += [
        "",
        "Shipped models (`liftpose_dlc/pretrained/models/`):",
        "",
        "| model | file size | lifting 100k frames (1 thread) | load average then | training |",
        "|---|---|---|---|---|",
    ]
    for name, d in results.get("models", {}).items():
        lines.append(
            f"| {name} | {d['size_mb']:.2f} MB | {d['lift_100k_s']:.1f} s | "
            f"{d.get('load_average_1min', '—')} | "
            f"{d.get('train_s', '—')} s |"
        )
    return "\n".join(lines)


def time_models(results: dict) -> None:
    """File size and lifting time per 100k frames of each shipped model."""
    results["models"] = {}
    for f in sorted(c.with_suffix(".safetensors") for c in MODELS_DIR.glob("*.yaml")):
        lifter = Lifter.load(f)
        x = np.random.default_rng(0).normal(size=(100_000, len(lifter.keypoints), 2))
        lifter.predict(x[:1000])
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        lifter.predict(x)
        import yaml

        card = (
            yaml.safe_load(f.with_suffix(".yaml").read_text())
            if f.with_suffix(".yaml").exists()
            else {}
        )
        results["models"][f.stem] = {
            "size_mb": f.stat().st_size / 1e6,
            "lift_100k_s": time.perf_counter() - t0,
            "load_average_1min": round(load, 1),
            "train_s": card.get("training_seconds"),
        }


def update_cards(results: dict) -> None:
    """Write each split's numbers into the shipped model cards' ``metrics``."""
    import yaml

    for species in SPECIES:
        card_path = MODELS_DIR / f"{species}.yaml"
        rows = [s for s in results["splits"] if s["species"] == species]
        if not card_path.exists() or not rows:
            continue
        card = yaml.safe_load(card_path.read_text())
        metrics = {
            "protocol": "benchmarks/bench_zoo.py: leave-one-animal-out, root-relative MPJPE "
            "and Procrustes MPJPE (mm) on the held-out animal's test block, no camera "
            "information, mean over its test cameras; the split's model is trained like this "
            "model on the species' other animals (rat: its first 70% of frames, views "
            "without the test azimuth sector)",
            "splits": {},
        }
        for s in rows:
            d = {"test_2d": "real detector" if s["views"][0]["real_2d"] else "projected"}
            for key in ("zoo", "lstsq", "liftpose022", "reference"):
                v = _summary(s["views"], key)
                if v:
                    d[key] = {m: round(x, 4) for m, x in v.items()}
            metrics["splits"][s["test"]] = d
        card["metrics"] = metrics
        head = card_path.read_text().splitlines()[0]
        card_path.write_text(head + "\n" + yaml.safe_dump(card, sort_keys=False, width=100))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--species", nargs="+", default=["fly", "mouse", "rat"])
    ap.add_argument("--liftpose022", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=RESULTS_JSON)
    ap.add_argument("--split", nargs="+", help="only these held-out animals")
    ap.add_argument(
        "--only022", type=Path, help="run only liftpose 0.22 (b) and write its results here"
    )
    ap.add_argument(
        "--liftpose022-from",
        type=Path,
        nargs="+",
        help="take (b) from a file written by --only022 (same splits and views) instead",
    )
    ap.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        help="only merge these results files (runs of some species each) into --out and the report",
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    old = json.loads(args.out.read_text()) if args.out.exists() else {"splits": []}
    splits = [s for s in old.get("splits", []) if s["species"] not in args.species]
    t0 = time.perf_counter()
    given = {}
    if args.liftpose022_from:
        given = {
            (s["species"], s["test"]): s["liftpose022"]
            for f in args.liftpose022_from
            for s in json.loads(f.read_text())["splits"]
        }
    if args.only022:
        done = []
        for species in args.species:
            for test, train in SPLITS[species]:
                if args.split and test not in args.split:
                    continue
                done.append(run_split(species, test, train, args.seed, True, only022=True))
                print(f"{species} {test}: liftpose 0.22 {done[-1]['liftpose022']}", flush=True)
                args.only022.write_text(json.dumps({"splits": done}, indent=1) + "\n")
        return 0
    if args.merge:
        splits = [s for f in args.merge for s in json.loads(f.read_text())["splits"]]
        args.species = []
    for species in args.species:
        for test, train in SPLITS[species]:
            if args.split and test not in args.split:
                continue
            r = run_split(
                species,
                test,
                train,
                args.seed,
                args.liftpose022,
                given022=given.get((species, test)),
            )
            z, a = _summary(r["views"], "zoo"), _summary(r["views"], "lstsq")
            c = _summary(r["views"], "reference")
            print(f"{species} {test}: zoo {z} lstsq {a} ref {c} ({r['wall_s']:.0f} s)", flush=True)
            splits.append(r)
            old["splits"] = splits
            args.out.write_text(json.dumps(old, indent=1) + "\n")
    for s in splits:  # (b) from --liftpose022-from where a split has none
        b = given.get((s["species"], s["test"]))
        if b is not None and not s.get("liftpose022", {}).get("views"):
            s["liftpose022"] = b
            for row in s["views"]:
                if row["camera"] in b["views"]:
                    row["liftpose022"] = b["views"][row["camera"]]
    order = {s: i for i, s in enumerate(["fly", "mouse", "rat"])}
    splits.sort(
        key=lambda s: (order[s["species"]], [t for t, _ in SPLITS[s["species"]]].index(s["test"]))
    )
    results = {
        "machine": f"liftpose-dlc, {platform.machine()}, {os.cpu_count()} CPUs, torch "
        f"{torch.__version__}, {torch.get_num_threads()} thread(s)",
        "splits": splits,
        "wall_s": round(time.perf_counter() - t0, 1),
        "split_wall_s": round(sum(s["wall_s"] for s in splits), 1),
    }
    time_models(results)
    update_cards(results)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    md = markdown(results)
    (HERE / "_work" / "zoo_table.md").write_text(md + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
