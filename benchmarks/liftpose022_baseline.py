"""Baseline: the original liftpose 0.22 on protocols P1-P3, and its throughput.

Usage (from the repository root, with any Python >= 3.10)::

    python benchmarks/liftpose022_baseline.py            # all of it (~10 min on 2 cores)
    python benchmarks/liftpose022_baseline.py --no-throughput --protocols P1

The script creates (once) a virtual environment ``benchmarks/_work/venv-liftpose022`` with
``liftpose==0.22`` and the old numpy/pandas it needs, then re-runs itself inside it. It trains
0.22 with its defaults (``training_kwargs={"job": 0, "epochs": 30}``) on each protocol of
``benchmarks/protocols.py``, scores the predictions with the root-relative error in mm, times
training and prediction on a 100,000-sample set, and writes
``benchmarks/results_liftpose022.json``.

0.22 is run as released; its bugs are worked around here, from the outside:

- ``torch.load`` of its own pickled files needs ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` on
  torch >= 2.6;
- ``train`` modifies the caller's arrays and dictionaries in place: it gets copies;
- ``test(out_dir, test_2d, test_3d)`` ignores new data: for prediction on new data we call
  ``set_test_data`` first and pass its statistics to ``load_test_results``;
- ``job`` (DataLoader workers) defaults to 8, and ``test`` takes no options, so it always
  starts 8 worker processes: ``Options.parse`` is wrapped to set ``job = 0`` (in-process
  loading) for training and testing alike.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
VENV = WORK / "venv-liftpose022"
RESULTS = HERE / "results_liftpose022.json"
REQUIREMENTS = [
    "liftpose==0.22",
    "numpy<2",
    "pandas<2",
    "scipy",
    "matplotlib",
    "seaborn",
    "tqdm",
    "networkx",
    "torch==2.13.0",
]


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> Path:
    """Create the 0.22 environment unless it is already complete."""
    marker = VENV / ".installed"
    if marker.exists():
        return venv_python()
    if VENV.exists():
        shutil.rmtree(VENV)
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"creating {VENV} (liftpose 0.22 and its old dependencies)...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(venv_python()), "-m", "pip", "install", "-q"]
    # the CPU build of torch first, so that a bare requirement cannot pull a CUDA build
    subprocess.run([*pip, "torch==2.13.0"], check=True)
    subprocess.run([*pip, *REQUIREMENTS], check=True)
    marker.touch()
    return venv_python()


# --------------------------------------------------------------------------- inside the venv
def _patch_022() -> None:
    """Force ``job = 0`` in every 0.22 Options (``test`` takes no training_kwargs)."""
    from liftpose.lifter.opt import Options

    parse = Options.parse
    if getattr(parse, "_job0", False):
        return

    def parse_job0(self):
        opt = parse(self)
        opt.job = 0
        return opt

    parse_job0._job0 = True  # type: ignore[attr-defined]
    Options.parse = parse_job0


def _say(message: str) -> None:
    print(f">> {message}", flush=True)


def _copy(d: dict) -> dict:
    return {k: v.copy() for k, v in d.items()}


def _train_022(out_dir: Path, train_2d, train_3d, test_2d, test_3d, roots, sets, epochs: int):
    from liftpose.main import train

    if out_dir.exists():
        shutil.rmtree(out_dir)
    train(
        train_2d=_copy({"train": train_2d}),
        test_2d=_copy({"test": test_2d}),
        train_3d=_copy({"train": train_3d}),
        test_3d=_copy({"test": test_3d}),
        roots=list(roots),
        target_sets=[list(t) for t in sets],
        out_dir=str(out_dir),
        training_kwargs={"job": 0, "epochs": epochs},
    )


def _predict_022(out_dir: Path, test_2d=None, test_3d=None):
    """Run 0.22's test on the data saved at training, or on new data; return (gt, pred)."""
    from liftpose.main import set_test_data, test
    from liftpose.postprocess import load_test_results

    stat_2d = stat_3d = None
    if test_2d is not None:
        _, _, stat_2d, stat_3d = set_test_data(
            str(out_dir), _copy({"new": test_2d}), _copy({"new": test_3d})
        )
    test(str(out_dir))
    gt, pred, _ = load_test_results(str(out_dir), stat_2d, stat_3d)
    return gt, pred


def run_inner(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    sys.path.insert(0, str(HERE))
    import liftpose
    from protocols import load_protocol, lstsq_baseline, root_relative_error

    _patch_022()
    results: dict = {
        "liftpose_version": getattr(liftpose, "__version__", "0.22"),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "settings": {"epochs": args.epochs, "job": 0, "noise_px": 1.0, "seed": 0},
        "units": "mm (mean Euclidean error of non-root joints relative to their root)",
        "wall_s": {},
        "lstsq": {},
    }
    runs = WORK / "liftpose022"
    for name in args.protocols:
        p = load_protocol(name, args.data)
        t0 = time.perf_counter()
        _train_022(
            runs / name,
            p["train_2d"],
            p["train_3d"],
            p["test_2d"],
            p["test_3d"],
            p["roots"],
            p["target_sets"],
            args.epochs,
        )
        t_train = time.perf_counter() - t0
        gt, pred = _predict_022(runs / name)
        # 0.22 returns the ground truth it was given: check that we score the same poses
        assert np.allclose(gt, p["test_3d"], atol=1e-4), "0.22 test targets do not match"
        err = root_relative_error(p["test_3d"], pred, p["roots"], p["target_sets"])
        results[name] = round(err, 5)
        results["lstsq"][name] = round(lstsq_baseline(p), 5)
        results["wall_s"][name] = round(t_train, 1)
        _say(f"{name}: liftpose 0.22 error {err:.4f} mm (training {t_train:.0f} s)")

    if args.throughput:
        p = load_protocol("P2", args.data)
        rng = np.random.default_rng(1)
        reps = -(-args.n_samples // len(p["train_2d"]))
        big_2d = np.tile(p["train_2d"], (reps, 1, 1))[: args.n_samples]
        big_3d = np.tile(p["train_3d"], (reps, 1, 1))[: args.n_samples]
        big_2d = big_2d + rng.normal(0.0, 1.0, big_2d.shape)
        out_dir = runs / "throughput"
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        _train_022(
            out_dir, big_2d, big_3d, p["test_2d"], p["test_3d"], p["roots"], p["target_sets"], 1
        )
        t_train = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, pred = _predict_022(out_dir, big_2d, big_3d)
        t_pred = time.perf_counter() - t0
        assert pred.shape == big_3d.shape
        results["train_samples_per_s"] = round(args.n_samples / t_train, 1)
        results["predict_samples_per_s"] = round(args.n_samples / t_pred, 1)
        results["throughput"] = {
            "n_samples": args.n_samples,
            "protocol": "P2 training set (30 joints, 6 roots), tiled, fresh 1 px noise",
            "train": "wall time of liftpose.main.train for 1 epoch (batch 64, job 0), "
            "preprocessing and the per-epoch test on 200 frames included",
            "predict": "wall time of set_test_data + liftpose.main.test + load_test_results",
            "train_wall_s": round(t_train, 1),
            "predict_wall_s": round(t_pred, 1),
            # other processes share the cores: a load well above the core count slows 0.22
            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
        _say(
            f"throughput: train {args.n_samples / t_train:.0f} samples/s, "
            f"predict {args.n_samples / t_pred:.0f} samples/s"
        )

    old = json.loads(args.out.read_text()) if args.out.exists() else {}
    for key, value in results.items():  # keep what a partial run did not measure
        if isinstance(value, dict) and isinstance(old.get(key), dict):
            old[key].update(value)
        else:
            old[key] = value
    args.out.write_text(json.dumps(old, indent=2) + "\n")
    _say(f"wrote {args.out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocols", nargs="*", default=["P1", "P2", "P3"])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--n-samples", type=int, default=100_000)
    parser.add_argument("--no-throughput", dest="throughput", action="store_false")
    parser.add_argument("--data", type=Path, default=None, help="the fly npz (default: shared)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner:
        run_inner(args)
        return 0

    python = ensure_venv()
    env = dict(
        os.environ,
        TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1",
        TQDM_DISABLE="1",
        PYTHONWARNINGS="ignore::UserWarning",
    )
    log = WORK / "liftpose022.log"
    cmd = [str(python), str(Path(__file__).resolve()), "--inner", *(argv or sys.argv[1:])]
    print(f"running liftpose 0.22 (log: {log})", flush=True)
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=fh, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            fh.write(line)
            fh.flush()
            if line.startswith(">> "):  # ours; the rest is 0.22's logging
                print(line[3:], end="", flush=True)
        rc = proc.wait()
    if rc != 0:
        print("".join(log.read_text().splitlines(keepends=True)[-20:]), file=sys.stderr)
    print(f"done in {time.perf_counter() - t0:.0f} s (exit {rc})")
    return rc


if __name__ == "__main__":
    sys.exit(main())
