"""Research runs of the zoo recipe on DEV pairs only (``benchmarks/RESULTS.md``, "What was tried").

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/zoo_research.py --pair mouse --steps 2400 --tag steps2400

Dev pairs (never a test block, never the NeuroMechFly fly or the sleap-anipose mouse):
``fly``: trained on the DeepFly3D fly, scored on the flygym fly's first 70% (virtual views);
``mouse``: trained on the DANNCE mouse, scored on the STAC mouse's first 70% (virtual
views); ``mouse_real``: trained on the STAC mouse, scored on the DANNCE mouse's first 70%
seen by its six real calibrated cameras. Appends one JSON line per run to
``benchmarks/_work/zoo_research.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.train_zoo import fit_zoo  # noqa: E402
from benchmarks.zoo_data import SPECIES, load_animal  # noqa: E402
from benchmarks.zoo_eval import LeastSquares, errors, eval_mask, lifter_rel, virtual_pairs  # noqa: E402

PAIRS = {"fly": ("fly", "df3d", "flygym"), "mouse": ("mouse", "dannce", "stac"),
         "mouse_real": ("mouse", "stac", "dannce")}  # fmt: skip
CACHE = HERE / "_work" / "zoo_research"
#: user-like keypoint subsets scored on the mouse dev pairs (on what they track)
SUBSETS = {
    "openfield": ["Snout", "EarL", "EarR", "TailBase"],
    "head+spine": ["Snout", "EarL", "EarR", "SpineF", "SpineM", "TailBase"],
    "8 random": 8,
}


def _animal(species: str, name: str):
    CACHE.mkdir(parents=True, exist_ok=True)
    f = CACHE / f"{species}_{name}.pkl"
    if f.exists():
        return pickle.loads(f.read_bytes())
    a = load_animal(species, name)
    f.write_bytes(pickle.dumps(a))
    return a


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pair", choices=list(PAIRS), required=True)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--model", default="{}", help="JSON model option overrides")
    ap.add_argument("--aug", default="{}", help="JSON virtual_views option overrides")
    ap.add_argument("--views", default="", help="JSON views (default: the species')")
    ap.add_argument("--train", default="{}", help="JSON train option overrides")
    ap.add_argument("--seeds", type=int, default=1, help="ensemble of this many seeds")
    ap.add_argument("--seed", type=int, default=0, help="the first seed")
    ap.add_argument("--lstsq", action="store_true")
    ap.add_argument("--tag", default="")
    ap.add_argument(
        "--specialist", default="", help="train on this subset's keypoints only (a SUBSETS key)"
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    species, tr, te = PAIRS[args.pair]
    sp = SPECIES[species]
    train = _animal(species, tr)
    held = _animal(species, te)
    bodies = {train.name: train.body_3d}
    known = np.isfinite(train.body_3d).all(-1).any(0)
    views = json.loads(args.views) if args.views else None
    dev = held.train_block_views
    subs: dict[str, list] = {}
    keeps: dict[str, list[int]] = {}
    if species == "mouse":
        from benchmarks.bench_zoo import _subset

        rng = np.random.default_rng(0)
        cand = [j for j in range(len(sp.keypoints)) if known[j]]
        for label, names in SUBSETS.items():
            if isinstance(names, int):
                keep = sorted(set(sp.idx(sp.roots)) | set(rng.choice(cand, names, replace=False)))
            else:
                keep = sp.idx(names)
            keeps[label] = list(keep)
            subs[label] = [_subset(v, keep) for v in dev]
    aug = json.loads(args.aug)
    if args.specialist:
        aug["inputs"] = keeps[args.specialist]
        subs = {args.specialist: subs[args.specialist]}
    sub_preds: dict[str, list[list[np.ndarray]]] = {k: [[] for _ in dev] for k in subs}
    preds: list[list[np.ndarray]] = [[] for _ in dev]
    secs = 0.0
    curves = []
    for s in range(args.seed, args.seed + args.seeds):
        import benchmarks.train_zoo as tz

        saved = dict(tz.ZOO_TRAIN)
        tz.ZOO_TRAIN.update(json.loads(args.train))
        # dev curve: the first dev camera, monitored each epoch (never used for selection)
        lifter, t = fit_zoo(sp, bodies, views=views, seed=s, min_steps=args.steps,
                            aug=aug, model=json.loads(args.model))  # fmt: skip
        tz.ZOO_TRAIN.clear()
        tz.ZOO_TRAIN.update(saved)
        secs += t
        curves.append(
            [round(float(h.loss_train), 4) for h in lifter.history][
                :: max(1, len(lifter.history) // 8)
            ]
        )
        for i, v in enumerate(dev):
            preds[i].append(lifter_rel(lifter, sp, v.pose_2d))
            for k, vs in subs.items():
                sub_preds[k][i].append(lifter_rel(lifter, sp, vs[i].pose_2d))
    res = []
    per_seed = []
    for i, v in enumerate(dev):
        m = eval_mask(sp, v, known)
        res.append(errors(sp, np.mean(preds[i], 0), v, m))
        per_seed.append([errors(sp, p, v, m)["mpjpe"] for p in preds[i]])
    out = {
        "tag": args.tag, "pair": args.pair, "specialist": args.specialist, "steps": args.steps,
        "model": args.model,
        "aug": args.aug, "views": args.views, "train": args.train, "seeds": args.seeds,
        "seed": args.seed,
        "mpjpe": float(np.mean([r["mpjpe"] for r in res])),
        "pa_mpjpe": float(np.mean([r["pa_mpjpe"] for r in res])),
        "per_seed_mpjpe": [float(x) for x in np.mean(per_seed, 0)],
        "by_view": {w: round(float(np.mean([r["mpjpe"] for r, v in zip(res, dev, strict=True)
                                            if v.view == w])), 4) for w in {v.view for v in dev}},
        "train_s": round(secs, 1), "loss_curve": curves,
    }  # fmt: skip
    for k, vs in subs.items():
        out[f"sub {k}"] = float(np.mean([
            errors(sp, np.mean(sub_preds[k][i], 0), w, eval_mask(sp, w, known))["mpjpe"]
            for i, w in enumerate(vs)
        ]))  # fmt: skip
    if args.lstsq:
        p2, p3 = virtual_pairs(sp, bodies, 50_000, 1, views)
        ls = LeastSquares(sp, p2, p3)
        out["lstsq"] = float(np.mean([
            errors(sp, ls.predict(v.pose_2d), v, eval_mask(sp, v, known))["mpjpe"] for v in dev
        ]))  # fmt: skip
        for k, vs in subs.items():
            out[f"lstsq sub {k}"] = float(np.mean([
                errors(sp, ls.predict(w.pose_2d), w, eval_mask(sp, w, known))["mpjpe"] for w in vs
            ]))  # fmt: skip
            out[f"blend sub {k}"] = float(np.mean([
                errors(sp, 0.5 * (ls.predict(w.pose_2d) + np.mean(sub_preds[k][i], 0)), w,
                       eval_mask(sp, w, known))["mpjpe"] for i, w in enumerate(vs)
            ]))  # fmt: skip
    print(json.dumps(out), flush=True)
    with open(HERE / "_work" / "zoo_research.jsonl", "a") as fh:
        fh.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
