"""Train the pretrained zoo models (fly, mouse, rat) reproducibly from ``../shared/data``.

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/train_zoo.py --model all      # or fly / mouse / rat

Writes ``liftpose_dlc/pretrained/models/<name>.safetensors`` (a :class:`Lifter` file,
``Lifter.load``) and ``<name>.yaml`` (the model card). Each model is trained on every
animal of its species whose licence allows shipping weights (never the GPL sleap-anipose
mouse), over the views labs use, with virtual cameras
(:func:`liftpose_dlc.lifter.virtual_views.virtual_views`), per-pose 2D scale normalisation,
body and bone-length variation, detector-like 2D error and keypoint dropout. Seeded; the
training time is recorded in the card.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.zoo_data import (  # noqa: E402
    ANIMALS,
    SPECIES,
    Animal,
    Species,
    load_animal,
)
from liftpose_dlc import __version__  # noqa: E402
from liftpose_dlc.lifter.lifter import Lifter  # noqa: E402
from liftpose_dlc.lifter.virtual_views import virtual_views  # noqa: E402

MODELS_DIR = HERE.parent / "liftpose_dlc" / "pretrained" / "models"

#: The zoo's network: the default lifter with the per-pose 2D scale normalisation (unknown
#: camera and distance), without the view gate (every training sample is a virtual view).
ZOO_MODEL_OPTIONS: dict[str, Any] = {
    "linear_size": 128,
    "num_stage": 2,
    "dropout": 0.2,
    "norm_2d": True,
    "view_gate": False,
    "root_input": True,
    "chain_features": True,
    "set_size": 64,
    "set_stage": 1,
}
#: min_steps rules, whatever the library's size (the default caps the epochs of small data
#: sets, which would cut the one-animal rat's 1200 steps to 640)
ZOO_TRAIN = {"batch_size": 256, "min_steps": 1200, "max_auto_epochs": 100_000}
#: Augmentation settings (see virtual_views), per species: rodent users often track few
#: keypoints (e.g. snout, ears, tail base), so more training poses are random subsets.
ZOO_AUG: dict[str, dict[str, Any]] = {
    "fly": {},
    "mouse": {"p_subset": 0.6},
    "rat": {"p_subset": 0.6},
}

DESCRIPTIONS = {
    "fly": "Drosophila legs (DeepFly3D naming, 30 joints: 6 legs x Coxa, Femur, Tibia, "
    "Tarsus, Claw), each leg relative to its coxa. Trained on three flies (two tethered "
    "in DeepFly3D rigs, one of them with real DeepFly3D network 2D triangulated, and one "
    "freely walking in the Spotlight rig) over side, front, ventral and oblique views.",
    "mouse": "Mouse (DANNCE mouse22 keypoints), everything relative to the tail base. "
    "Trained on two mice (DANNCE and STAC-MJX rigs) over top, side, bottom and oblique views; "
    "takes any subset that includes the tail base (e.g. snout, ears, tail base), with "
    "larger errors for few keypoints (see metrics); `specialise` trains it again for "
    "exactly your keypoints from the poses it ships.",
    "rat": "Rat (DANNCE rat23 keypoints), everything relative to the tail base. Trained on "
    "one rat (STAC-MJX / DANNCE) over top, side, bottom and oblique views.",
}


def make_lifter(sp: Species, **overrides: Any) -> Lifter:
    """An untrained zoo lifter for ``sp``."""
    return Lifter(sp.keypoints, sp.roots, sp.target_sets, **{**ZOO_MODEL_OPTIONS, **overrides})


def fit_zoo(
    sp: Species,
    bodies: dict[str, np.ndarray],
    *,
    views: dict[str, Any] | None = None,
    seed: int = 0,
    min_steps: int | None = None,
    aug: dict[str, Any] | None = None,
    model: dict[str, Any] | None = None,
    verbose: bool = False,
) -> tuple[Lifter, float]:
    """Train a zoo lifter on body-frame 3D ``bodies`` (one entry per animal); (lifter, s)."""
    lifter = make_lifter(sp, **(model or {}))
    augment = virtual_views(
        views or sp.views,
        sp.parent_idx,
        lifter.roots,
        lifter.target_sets,
        **{**ZOO_AUG.get(sp.name, {}), **(aug or {})},
    )
    two = {k: v[..., :2].copy() for k, v in bodies.items()}
    opts = dict(ZOO_TRAIN)
    if min_steps is not None:
        opts["min_steps"] = min_steps
    t0 = time.perf_counter()
    torch.manual_seed(seed)  # virtual_views draws from torch's generator (seeded by fit)
    lifter.fit(two, bodies, augment=[augment], seed=seed, verbose=verbose, val=0, **opts)
    return lifter, time.perf_counter() - t0


def shippable_animals(species: str) -> list[Animal]:
    """The animals of a species whose licence allows shipping weights."""
    out = [load_animal(species, n) for n in ANIMALS[species]]
    return [a for a in out if a.shippable]


#: virtual_views options written into the card's pose_library recipe (explicit values, so
#: that a later change of a default does not change what a specialist is trained with)
AUG_KEYS = ("bone_scale", "body_scale", "axis_scale", "distance", "noise", "noise_df",
            "p_outlier", "miss_rate", "p_set_miss", "p_subset", "p_chain_subset")  # fmt: skip


def library_recipe(sp: Species, animals: list[Animal]) -> dict[str, Any]:
    """The card's ``pose_library``: the library file and the zoo recipe, machine-readable."""
    sets = [sp.idx(t) for t in sp.target_sets]
    aug = virtual_views(sp.views, sp.parent_idx, sp.idx(sp.roots), sets, **ZOO_AUG.get(sp.name, {}))
    plain = {k: getattr(aug, k) for k in AUG_KEYS}
    return {
        "file": f"{sp.name}.library.safetensors",
        "frames": int(sum(len(a.body_3d) for a in animals)),
        "animals": [a.name for a in animals],
        "parents": [int(q) for q in sp.parent_idx],
        "augmentation": {k: list(v) if isinstance(v, tuple) else v for k, v in plain.items()},
        "model_options": dict(ZOO_MODEL_OPTIONS),
        "train_options": dict(ZOO_TRAIN),
    }


def write_library(sp: Species, animals: list[Animal], folder: Path = MODELS_DIR) -> Path:
    """The 3D poses the model is trained on, as package data (float32, mm, body frame)."""
    from safetensors.numpy import save_file

    path = folder / f"{sp.name}.library.safetensors"
    tensors = {f"poses/{a.name}": np.ascontiguousarray(a.body_3d, np.float32) for a in animals}
    save_file(tensors, str(path), metadata={"units": "mm", "frame": "body, +z up"})
    path.chmod(0o644)
    return path


def add_library(name: str) -> Path:
    """Write a shipped model's pose library and its card's ``pose_library`` (no training)."""
    sp = SPECIES[name]
    animals = shippable_animals(name)
    path = write_library(sp, animals)
    card_path = MODELS_DIR / f"{name}.yaml"
    text = card_path.read_text(encoding="utf-8")
    head = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    card = yaml.safe_load(text)
    card["pose_library"] = library_recipe(sp, animals)
    card_path.write_text(head + yaml.safe_dump(card, sort_keys=False, width=100), encoding="utf-8")
    print(f"{name}: pose library {path.stat().st_size / 1e6:.2f} MB -> {path}", flush=True)
    return path


def write_card(
    sp: Species,
    lifter: Lifter,
    animals: list[Animal],
    seconds: float,
    metrics: dict | None,
    path: Path,
    command: str,
) -> None:
    """The model card ``<name>.yaml`` beside the weights."""
    card = {
        "name": sp.name,
        "species": sp.species,
        "description": DESCRIPTIONS[sp.name],
        "keypoints": list(sp.keypoints),
        "skeleton": [list(e) for e in sp.skeleton],
        "roots": list(sp.roots),
        "target_sets": [list(t) for t in sp.target_sets],
        "units": "mm",
        "frame": "camera, root-relative",
        "input_2d": "2D keypoints in pixels of one uncalibrated camera at any distance "
        "(each pose's 2D scale is normalised), as a detector (DeepLabCut, SLEAP, DeepFly3D) "
        "reports them; NaN for missing points; any subset of the keypoints that includes "
        "each wanted target set's root.",
        "views": {k: [list(map(float, r)) for r in v] for k, v in sp.views.items()},
        "view_convention": "Euler angles [[z], [y], [x]] in degrees (liftpose_dlc.cameras."
        "camera_from_euler, axes 'zyx') of the camera rotation in the animal's body frame "
        "(+z up" + (", +x anterior, +y left" if sp.name == "fly" else "") + ")",
        "training_data": [
            {
                **{k: s[k] for k in ("name", "licence", "citation", "url")},
                "files": [f.strip() for f in s["files"].split(",")],
            }
            for a in animals
            for s in a.sources
        ],
        "training_frames": int(sum(len(a.body_3d) for a in animals)),
        "training_seconds": round(float(seconds), 1),
        "metrics": metrics or {},
        "trained_with": {
            "script": "benchmarks/train_zoo.py",
            "command": command,
            "model_options": getattr(lifter, "lifter_options", None) or lifter.options.as_dict(),
            "train_options": {k: v for k, v in lifter.train_options.items()},
            "augmentation": lifter.augmentation,
            "torch_threads": torch.get_num_threads(),
        },
        "liftpose_dlc_version": __version__,
        "pose_library": library_recipe(sp, animals),
    }
    path.write_text(
        "# liftpose-dlc pretrained model card (written by benchmarks/train_zoo.py)\n"
        + yaml.safe_dump(card, sort_keys=False, width=100),
        encoding="utf-8",
    )


def train_model(
    name: str, seed: int = 0, verbose: bool = True, metrics: dict | None = None
) -> Path:
    """Train and write one zoo model; return the weights' path."""
    sp = SPECIES[name]
    animals = shippable_animals(name)
    bodies = {a.name: a.body_3d for a in animals}
    lifter, secs = fit_zoo(sp, bodies, seed=seed, verbose=verbose)
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    path = MODELS_DIR / f"{name}.safetensors"
    lifter.save(path, overwrite=True)
    path.chmod(0o644)  # package data: readable by all
    write_library(sp, animals)
    card_path = path.with_suffix(".yaml")
    if metrics is None and card_path.exists():  # keep the benchmark's numbers
        metrics = (yaml.safe_load(card_path.read_text()) or {}).get("metrics")
    write_card(
        sp,
        lifter,
        animals,
        secs,
        metrics,
        card_path,
        f"PYTHONPATH=. python benchmarks/train_zoo.py --model {name} --seed {seed}",
    )
    print(f"{name}: {secs:.0f} s, {path.stat().st_size / 1e6:.2f} MB -> {path}", flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="all", choices=["all", *SPECIES])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--progress", action="store_true", help="show a progress bar")
    ap.add_argument(
        "--library-only",
        action="store_true",
        help="only write the pose library and the card's pose_library (no training)",
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    names = list(SPECIES) if args.model == "all" else [args.model]
    for n in names:
        if args.library_only:
            add_library(n)
        else:
            train_model(n, seed=args.seed, verbose=args.progress)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
