"""Does a view hint help? A view-specialised model against the general one, on that view.

The view hint (``view=`` of the lifting functions, ``--view``, the napari picker) narrows a
pretrained model by choosing a model specialised for the view when the card names one
(``view_models``, :mod:`liftpose_dlc.pretrained.views`). This measures whether such a model
would be worth shipping: the zoo recipe (``benchmarks/train_zoo.py: fit_zoo``) trained once
over all the species' views and once over one view only, the same number of steps, scored
on test cameras of that view of an animal neither was trained on:

* fly, **real data**: trained on the DeepFly3D and flygym flies, tested on the NeuroMechFly
  fly's side cameras with their real DeepFly3D network 2D (``zoo_data.load_fly("nmf")``);
  the side model is trained over the card's ``side`` and ``side_left`` views (a side camera
  sees the fly from either side);
* mouse, dev pair: trained on the DANNCE mouse, tested on virtual top and side cameras of
  the STAC mouse's first 70% of frames.

Root-relative MPJPE (mm), no camera information. Run:
``PYTHONPATH=. python benchmarks/bench_view_hint.py [--steps 600]``; writes
``benchmarks/results_view_hint.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from train_zoo import fit_zoo  # noqa: E402
from zoo_data import FLY, FLY_VIEWS, MOUSE, RODENT_VIEWS, _views_virtual, load_fly, load_mouse  # noqa: E402


def _error(model, views, roots) -> float:
    errs = []
    for v in views:
        pred = model.predict(v.pose_2d, root_positions="zero")
        gt = v.pose_3d.copy()
        for r, ts in zip(model.roots, model.target_sets, strict=True):
            gt[:, ts] = v.pose_3d[:, ts] - v.pose_3d[:, [r]]
        e = np.linalg.norm(pred - gt, axis=-1)
        e[:, roots] = np.nan
        errs.append(np.nanmean(e))
    return float(np.mean(errs))


def main(argv: list[str] | None = None) -> int:
    """Train the general and view-specialised models and score them; write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--species", nargs="+", default=["fly", "mouse"])
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    results: dict[str, dict[str, float]] = {}
    if "fly" in args.species:
        bodies = {n: load_fly(n).body_3d for n in ("df3d", "flygym")}
        nmf = load_fly("nmf")
        side_views = [v for v in nmf.views if v.view == "side"]
        print(f"fly: {len(side_views)} NeuroMechFly side cameras (real detector 2D)", flush=True)
        roots = FLY.idx(FLY.roots)
        # a side camera sees the fly from its left or its right: the card's side and side_left
        sides = {k: FLY_VIEWS[k] for k in ("side", "side_left")}
        for name, views in (("general", None), ("side", sides)):
            t = time.perf_counter()
            model, _ = fit_zoo(FLY, bodies, views=views, min_steps=args.steps)
            err = _error(model, side_views, roots)
            results.setdefault("fly nmf side cameras (real 2D)", {})[name] = err
            print(f"  {name}: {err:.3f} mm ({time.perf_counter() - t:.0f} s)", flush=True)
    if "mouse" in args.species:
        dannce, stac = load_mouse("dannce"), load_mouse("stac")
        body = stac.body_3d[: stac.test_start]
        roots = MOUSE.idx(MOUSE.roots)
        models = {}
        for name, views in (
            ("general", None),
            ("top", {"top": RODENT_VIEWS["top"]}),
            ("side", {"side": RODENT_VIEWS["side"]}),
        ):
            models[name], _ = fit_zoo(MOUSE, {"dannce": dannce.body_3d}, views=views,
                                      min_steps=args.steps)  # fmt: skip
        for vname in ("top", "side"):
            tv = _views_virtual(MOUSE, body, seed=777, views={vname: RODENT_VIEWS[vname]},
                                per_view=4)  # fmt: skip
            key = f"mouse stac {vname} cameras (virtual, dev)"
            for name, model in models.items():
                results.setdefault(key, {})[name] = _error(model, tv, roots)
            print(key, {k: round(v, 2) for k, v in results[key].items()}, flush=True)
    out = HERE / "results_view_hint.json"
    old = json.loads(out.read_text()) if out.is_file() else {}
    if old.get("steps") == args.steps:  # runs of one species at a time add up
        results = {**old.get("mpjpe", {}), **results}
    out.write_text(json.dumps({"steps": args.steps, "mpjpe": results}, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
