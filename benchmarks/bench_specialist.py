"""Specialists for the keypoints a user tracks, leave-one-animal-out (``benchmarks/RESULTS.md``).

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/bench_specialist.py            # every species
    PYTHONPATH=. python benchmarks/bench_specialist.py --species mouse

For every zoo split of ``bench_zoo.py`` (one held-out animal; training on the others) and
every keypoint subset (random draws that keep the roots, one per split and size, plus the
open-field mouse's snout, ears and tail base), on each test camera of the held-out
animal's test block, root-relative MPJPE (mm) of the tracked keypoints, no camera
information, for:

* **general**: the zoo recipe trained on the split's animals (one network for every
  subset; what ``load_pretrained`` gives);
* **specialist**: the same recipe trained for exactly that subset
  (:func:`liftpose_dlc.pretrained.specialise.fit_on_library`, what
  :func:`liftpose_dlc.specialise` gives a user), with its training time;
* **least squares** fitted on exactly that subset (bench_zoo's (a)).

Results: ``benchmarks/results_specialist.json`` and the generated table in RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.bench_zoo import SPLITS, STEPS, USER_SUBSETS, _known, _subset, split_data  # noqa: E402
from benchmarks.results_file import write_section  # noqa: E402
from benchmarks.train_zoo import MODELS_DIR, fit_zoo  # noqa: E402
from benchmarks.zoo_eval import LeastSquares, errors, eval_mask, lifter_rel, virtual_pairs  # noqa: E402
from liftpose_dlc.pretrained.card import read_card  # noqa: E402
from liftpose_dlc.pretrained.specialise import fit_on_library  # noqa: E402

RESULTS_JSON = HERE / "results_specialist.json"
ZOO_JSON = HERE / "results_zoo.json"
SIZES = {"fly": [6, 12], "mouse": [2, 4, 8], "rat": [2, 4, 8]}
HEADING = "## Specialists for the keypoints you track"
INTRO = (
    "Regenerate with `PYTHONPATH=. python benchmarks/bench_specialist.py`. A zoo model ships "
    "its 3D pose library (`<name>.library.safetensors`, the poses it was trained on; card "
    "key `pose_library`), so that `lp.specialise(model, your_keypoints)` (or "
    "`liftpose-dlc lift ... --specialise`) trains it again with the same recipe for exactly the "
    "keypoints you track, on your machine, and caches it."
)


#: Read off the tables when they were measured (kept with the generated section).
NOTES = """What the tables say:

* **A specialist beats the general zoo model on every subset measured** (20 of 20 rows: 0.47-0.94x
  its error, median 0.82x), on every species, with real detector 2D too (sleap-anipose rows, the
  NeuroMechFly fly's real DeepFly3D 2D). One network for every subset pays for its generality
  most where few keypoints are tracked (the open-field snout, ears and tail base: 33 vs 49 mm on
  the STAC mouse, 24 vs 32 on the sleap-anipose mouse).
* **Against least squares fitted on exactly the tracked keypoints** the specialist wins 16 of
  20 rows, by 20% or more on 7. It loses on the DANNCE mouse (trained on the STAC mouse alone,
  six real cameras) with 2, 4 and the open-field keypoints, where least squares was already
  better than the general model: one training mouse 25% larger than the test mouse, and few
  points, leave a linear map as good as any.
* **With the zoo splits' own cameras** (second table): a fly's side camera sees one side's legs,
  which makes every side camera a subset; specialists per camera move the DeepFly3D fly's split
  from level with liftpose 0.22 to about 6% better, and the NeuroMechFly fly (real DeepFly3D
  2D) by about 2%. On the sleap-anipose mouse (8 of the model's keypoints, real proofread SLEAP
  2D) the specialist turns the zoo's loss against least squares into a win: 21.5 mm against
  the general model's 31.2, least squares' 24.1 (0.89x) and liftpose 0.22's 25.2 (0.85x); the
  targets of 0.8x are still missed there.
* **Cost**: 10-100 s of training per keypoint set on one CPU core here (1200 steps; the
  larger numbers were measured while other jobs shared the two cores), once: the specialist is
  cached. Research that led here (dev pairs only, `zoo_research.py --specialist`): on the
  DANNCE -> STAC mouse pair, specialists for the open-field, head+spine and 8 random keypoints
  gave 38.0 / 33.8 / 28.8 mm against the general model's 52.4 / 38.6 / 30.5 and least squares'
  47.1 / 40.5 / 32.8; on STAC -> DANNCE (real cameras) 35.0 / 30.1 / 29.5 against 42.7 / 33.1 /
  27.6 and 34.4 / 28.2 / 25.1 (a second seed of the open-field specialist: 38.0 and 37.2 mm).
  Averaging the specialist with least squares (0.5 / 0.5) was mixed (32.0 and 25.9 mm on the
  real-camera pair's open-field and 8 random keypoints): not used."""


def subsets(sp, held, known, seed: int) -> dict[str, list[int]]:
    """The split's keypoint subsets: random draws (one per size) and the user-like ones."""
    seen = np.zeros(len(sp.keypoints), bool)
    for v in held.views:
        seen |= eval_mask(sp, v, known).any(0)
    roots = sp.idx(sp.roots)
    cand = [j for j in range(len(sp.keypoints)) if seen[j] and j not in roots]
    rng = np.random.default_rng(seed)
    out = {}
    for k in SIZES[sp.name]:
        if k < len(cand):
            out[str(k)] = sorted(set(roots) | set(rng.choice(cand, k, replace=False).tolist()))
    for label, names in USER_SUBSETS.get(sp.name, {}).items():
        keep = sp.idx(names)
        if all(seen[j] or j in roots for j in keep):
            out[label] = keep
    return out


def run_split(
    species: str, test: str, train: list[str], seed: int, only: list[str] | None = None
) -> dict:
    """General, specialist and least squares on one split's subsets (``only``: these)."""
    sp, held, bodies, views = split_data(species, test, train)
    card = read_card(MODELS_DIR / f"{species}.yaml")
    known = _known(sp, bodies)
    general, secs = fit_zoo(sp, bodies, views=views, seed=seed, min_steps=STEPS)
    p2, p3 = virtual_pairs(sp, bodies, 50_000, seed + 1, views)
    ls = LeastSquares(sp, p2, p3)
    out: dict = {"species": species, "test": test, "train": train, "general_train_s": secs}
    rows = {}
    for label, keep in subsets(sp, held, known, seed).items():
        if only and not any(label.startswith(o) for o in only):
            continue
        tracked = [sp.keypoints[j] for j in keep]
        t0 = time.perf_counter()
        spec = fit_on_library(card, bodies, tracked, views=views, steps=STEPS, seed=seed)
        spec_s = time.perf_counter() - t0
        res: dict[str, list[float]] = {"general": [], "specialist": [], "lstsq": []}
        for v in held.views:
            vs = _subset(v, keep)
            m = eval_mask(sp, vs, known)
            if not m[:, [j for j in keep if j not in sp.idx(sp.roots)]].any():
                continue
            res["general"].append(errors(sp, lifter_rel(general, sp, vs.pose_2d), vs, m)["mpjpe"])
            res["specialist"].append(errors(sp, lifter_rel(spec, sp, vs.pose_2d), vs, m)["mpjpe"])
            res["lstsq"].append(errors(sp, ls.predict(vs.pose_2d), vs, m)["mpjpe"])
        rows[label] = {
            "keypoints": tracked,
            "cameras": len(res["general"]),
            **{k: float(np.mean(x)) for k, x in res.items()},
            "specialist_train_s": round(spec_s, 1),
        }
        r = rows[label]
        print(
            f"{species} {test} {label}: general {r['general']:.3f} specialist "
            f"{r['specialist']:.3f} lstsq {r['lstsq']:.3f} ({spec_s:.0f} s)",
            flush=True,
        )
    out["subsets"] = rows
    return out


def camera_split(species: str, test: str, train: list[str], seed: int, zoo: dict) -> dict | None:
    """The zoo split with a specialist for each camera that sees a subset of the keypoints.

    A side camera of a fly sees one side's legs; the sleap-anipose mouse is tracked with 8
    of the model's 22 keypoints. A user lifting such a camera's 2D with ``--specialise``
    gets a model trained for exactly those keypoints. The other columns (general zoo, (a),
    (b), (c)) are taken from ``results_zoo.json`` (``zoo``: its split), per camera.
    """
    sp, held, bodies, views = split_data(species, test, train)
    card = read_card(MODELS_DIR / f"{species}.yaml")
    known = _known(sp, bodies)
    rows = {r["camera"]: r for r in zoo["views"]}
    specialists: dict[tuple[int, ...], tuple] = {}
    out_rows = []
    for v in held.views:
        # what the user tracks: every keypoint of the camera's 2D (a user specialises for
        # the names in their file); the specialist sees nothing else
        seen = np.isfinite(v.pose_2d).all(-1).any(0)
        keep = tuple(j for j in range(len(sp.keypoints)) if seen[j] and known[j])
        row = dict(rows[v.name])
        if len(keep) < int(known.sum()):
            if keep not in specialists:
                t0 = time.perf_counter()
                tracked = [sp.keypoints[j] for j in keep]
                lifter = fit_on_library(card, bodies, tracked, views=views, steps=STEPS, seed=seed)
                specialists[keep] = (lifter, time.perf_counter() - t0)
            lifter, secs = specialists[keep]
            m = eval_mask(sp, v, known)
            row["specialist"] = errors(sp, lifter_rel(lifter, sp, v.pose_2d), v, m)
            row["specialist_keypoints"] = len(keep)
            row["specialist_train_s"] = round(secs, 1)
            print(
                f"{species} {test} {v.name}: general {row['zoo']['mpjpe']:.3f} specialist "
                f"{row['specialist']['mpjpe']:.3f} lstsq {row['lstsq']['mpjpe']:.3f}",
                flush=True,
            )
        out_rows.append(row)
    if not specialists:
        return None
    return {"species": species, "test": test, "train": train, "views": out_rows}


def camera_markdown(splits: list[dict]) -> str:
    """The table of the zoo splits with specialists for the cameras' keypoints."""
    lines = [
        "Zoo splits where test cameras see a subset of the keypoints (a fly's side camera "
        "sees one side's legs; the sleap-anipose mouse has 8 of the 22), lifted as a user "
        "with `--specialise` would: a specialist for each camera's keypoints, the general "
        "model where a camera sees all. Root-relative MPJPE / Procrustes (mm), mean over "
        "the test cameras; the other columns are those of the zoo table above (same cameras "
        "and frames). ✓: ≤ 0.8 × (a) and (b), and ≤ 1.5 × (c).",
        "",
        "| species | held-out | cameras with a specialist | zoo | zoo + specialise | "
        "(a) least squares | (b) liftpose 0.22 | (c) within-animal | /(a) | /(b) | /(c) | ok |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in splits:
        rows = s["views"]

        def mean(key, rows=rows):
            vals = [r[key] for r in rows if key in r]
            if not vals:
                return None
            return {m: float(np.mean([v[m] for v in vals])) for m in ("mpjpe", "pa_mpjpe")}

        spec_rows = [{**r, "best": r.get("specialist", r["zoo"])} for r in rows]
        z, zs = mean("zoo"), mean("best", spec_rows)
        a, b, c = mean("lstsq"), mean("liftpose022"), mean("reference")
        n_spec = sum("specialist" in r for r in rows)

        def f(d):
            return "—" if d is None else f"{d['mpjpe']:.3f} / {d['pa_mpjpe']:.3f}"

        def ratio(d, zs=zs):
            return "—" if d is None else f"{zs['mpjpe'] / d['mpjpe']:.2f}"

        ok = (
            a is not None
            and b is not None
            and c is not None
            and zs["mpjpe"] <= 0.8 * min(a["mpjpe"], b["mpjpe"])
            and zs["mpjpe"] <= 1.5 * c["mpjpe"]
        )
        lines.append(
            f"| {s['species']} | {s['test']} | {n_spec} of {len(rows)} | {f(z)} | **{f(zs)}** | "
            f"{f(a)} | {f(b)} | {f(c)} | {ratio(a)} | {ratio(b)} | {ratio(c)} | "
            f"{'✓' if ok else '✗'} |"
        )
    return "\n".join(lines)


def markdown(results: dict) -> str:
    """The RESULTS.md table."""
    lines = [
        f"Measured by `benchmarks/bench_specialist.py` ({results['machine']}; load average "
        f"{results['load_average']}). Root-relative MPJPE (mm) of the tracked keypoints on "
        "the held-out animal's test block, mean over its test cameras, no camera "
        "information. General: one zoo network for every subset; specialist: the same "
        "recipe trained for exactly the tracked keypoints (`lp.specialise`); least squares: "
        "fitted on exactly those keypoints. ✓: specialist ≤ 0.8 × least squares.",
        "",
        "| species | held-out | tracked | keypoints | general | specialist | least squares "
        "| specialist / general | specialist / least squares | specialist training | ok |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in results["splits"]:
        for label, r in s["subsets"].items():
            ok = "✓" if r["specialist"] <= 0.8 * r["lstsq"] else "✗"
            lines.append(
                f"| {s['species']} | {s['test']} | {label} | {', '.join(r['keypoints'])} | "
                f"{r['general']:.3f} | **{r['specialist']:.3f}** | {r['lstsq']:.3f} | "
                f"{r['specialist'] / r['general']:.2f} | {r['specialist'] / r['lstsq']:.2f} | "
                f"{r['specialist_train_s']:.0f} s | {ok} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--species", nargs="+", default=["fly", "mouse", "rat"])
    ap.add_argument("--split", nargs="+", help="only these held-out animals")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS_JSON)
    ap.add_argument("--report", action="store_true", help="only rewrite RESULTS.md from --out")
    ap.add_argument(
        "--cameras",
        action="store_true",
        help="the zoo splits with a specialist per camera keypoint set (results_zoo.json)",
    )
    ap.add_argument(
        "--subsets", nargs="+", help="only the subsets whose labels start so (merged into --out)"
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    old = json.loads(args.out.read_text()) if args.out.exists() else {"splits": []}
    if args.cameras:
        zoo = {(s["species"], s["test"]): s for s in json.loads(ZOO_JSON.read_text())["splits"]}
        done = []
        for species in args.species:
            for test, train in SPLITS[species]:
                if args.split and test not in args.split:
                    continue
                r = camera_split(species, test, train, args.seed, zoo[(species, test)])
                if r is not None:
                    done.append(r)
        old["cameras"] = done
        args.out.write_text(json.dumps(old, indent=1) + "\n")
    elif not args.report:
        before = {(s["species"], s["test"]): s for s in old["splits"]}
        keep = [
            s
            for s in old["splits"]
            if s["species"] not in args.species or (args.split and s["test"] not in args.split)
        ]
        old["splits"] = keep
        old["machine"] = (
            f"liftpose-dlc, {platform.machine()}, {os.cpu_count()} CPUs, torch "
            f"{torch.__version__}, 1 thread"
        )
        old["load_average"] = f"{os.getloadavg()[0]:.1f}"
        for species in args.species:
            for test, train in SPLITS[species]:
                if args.split and test not in args.split:
                    continue
                r = run_split(species, test, train, args.seed, args.subsets)
                prev = before.get((species, test))
                if args.subsets and prev is not None:  # only some subsets: merge them in
                    prev["subsets"].update(r["subsets"])
                    r = prev
                old["splits"].append(r)
                args.out.write_text(json.dumps(old, indent=1) + "\n")
        old["load_average"] += f" at the start, {os.getloadavg()[0]:.1f} at the end"
        order = {s: i for i, s in enumerate(SPLITS)}
        old["splits"].sort(
            key=lambda s: (
                order[s["species"]],
                [t for t, _ in SPLITS[s["species"]]].index(s["test"]),
            )
        )
        args.out.write_text(json.dumps(old, indent=1) + "\n")
    md = markdown(old)
    if old.get("cameras"):
        md += "\n\n" + camera_markdown(old["cameras"])
    write_section(HEADING, f"{HEADING}\n\n{INTRO}\n\n{md}\n\n{NOTES}\n")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
