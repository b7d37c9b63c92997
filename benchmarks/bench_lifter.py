"""Lifter benchmark: accuracy on P1-P3 (real DeepFly3D data) and training/prediction speed.

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_lifter.py            # everything, writes RESULTS.md
    PYTHONPATH=. python benchmarks/bench_lifter.py --no-speed # accuracy only

Accuracy: our default call, exactly as a user who knows neither the camera nor any
augmentation would make it (``liftpose_dlc.train(train_2d, test_2d, train_3d, test_3d,
roots, target_sets, out_dir=...)`` then ``test``/``load_test_results``), next to a plain
least-squares map from root-relative 2D to root-relative 3D, and liftpose 0.22 when
``benchmarks/results_liftpose022.json`` exists (written by ``liftpose022_baseline.py``).

Speed, on a 100,000-sample set (camera 3, all 30 joints, the training frames tiled with
fresh 1 px noise), at the default batch size on this machine:

* pure model: forward + backward + Adam step of the default network on tensors already
  in memory, no data handling;
* ours: ``Lifter.fit`` for three epochs with the default augmentation, timed end to end
  (everything included: conversion of the arrays, camera fit, statistics, linear init,
  augmentation, input building, the validation pass after each epoch);
* pure forward (eval, no grad) vs ``Lifter.predict`` (NumPy in, NumPy out).

The measured block of ``benchmarks/RESULTS.md`` (between the ``bench_lifter`` markers) is
replaced; the rest of the file is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from protocols import load_protocol, lstsq_baseline, root_relative_error  # noqa: E402

import liftpose_dlc  # noqa: E402
from liftpose_dlc import Lifter, load_test_results, train  # noqa: E402
from liftpose_dlc import test as lp_test  # noqa: E402
from liftpose_dlc.lifter.session import TrainOptions  # noqa: E402

RESULTS = HERE / "RESULTS.md"
LP022 = HERE / "results_liftpose022.json"
BEGIN, END = "<!-- bench_lifter:begin -->", "<!-- bench_lifter:end -->"
TARGETS = {"P1": 0.045, "P2": 0.055, "P3": 0.065}
TRAIN_EPOCHS = 3  # everything included: setup, augmentation, validation after each epoch


def accuracy(dev: bool) -> dict[str, dict[str, float]]:
    out = {}
    for name in ("P1", "P2", "P3"):
        p = load_protocol(name, dev=dev)
        # training data: one seed-dictionary entry per training camera
        tr2, tr3 = p["train_2d_by_camera"], p["train_3d_by_camera"]
        te2, te3, roots, sets = p["test_2d"], p["test_3d"], p["roots"], p["target_sets"]
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            train(tr2, te2, tr3, te3, roots, sets, out_dir=tmp)
            lp_test(tmp)
            gt, pred, _ = load_test_results(tmp)
        seconds = time.perf_counter() - t0
        ours = root_relative_error(gt, pred, roots, sets)
        ls = lstsq_baseline(p)
        out[name] = {"ours": ours, "least_squares": ls, "train_seconds": seconds}
        print(f"{name}: ours {ours:.4f} mm, least squares {ls:.4f} mm ({seconds:.0f} s)")
    return out


def _speed_data(n: int = 100_000):
    p = load_protocol("P2")
    x2, x3, roots, sets = p["train_2d"], p["train_3d"], p["roots"], p["target_sets"]
    reps = int(np.ceil(n / len(x2)))
    p2 = np.tile(x2, (reps, 1, 1))[:n] + np.random.default_rng(7).normal(0, 1, (n, *x2.shape[1:]))
    p3 = np.tile(x3, (reps, 1, 1))[:n]
    return p2, p3, roots, sets


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def speed(device: str | None) -> dict[str, float]:
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    p2, p3, roots, sets = _speed_data()
    n = len(p2)
    lifter = Lifter(30, roots, sets)  # the default network and input
    layout, n_in = lifter.layout, lifter.encoder.input_size
    bs = TrainOptions().batch_size
    net = lifter.net.to(dev).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, foreach=True)  # as the Lifter's
    x = torch.randn(n, n_in, device=dev)
    y = torch.randn(n, layout.n_targets * 3, device=dev)
    steps = min(n // bs, 300)

    def pure_steps(k: int) -> float:
        _sync(dev)
        t0 = time.perf_counter()
        for i in range(k):
            sl = slice(i * bs, (i + 1) * bs)
            out = net(x[sl])
            loss = (out - y[sl]).abs().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        _sync(dev)
        return k * bs / (time.perf_counter() - t0)

    pure_steps(10)  # warm-up
    pure_before = pure_steps(steps)

    lifter = Lifter(30, roots, sets)
    t0 = time.perf_counter()
    lifter.fit(p2, p3, epochs=TRAIN_EPOCHS, device=dev, verbose=False)
    _sync(dev)
    n_train = n - int(round(n * TrainOptions().val_fraction))
    ours_train = TRAIN_EPOCHS * n_train / (time.perf_counter() - t0)
    # the machine may be shared: the pure model is timed before and after ours
    pure_train = (pure_before + pure_steps(steps)) / 2
    print(f"pure fwd+bwd+Adam: {pure_train:.0f} samples/s (batch {bs}, {dev})")
    print(f"Lifter.fit (default augmentation): {ours_train:.0f} samples/s")

    net.eval()

    @torch.no_grad()
    def pure_forward() -> float:
        _sync(dev)
        t0 = time.perf_counter()
        for i in range(0, n, 65536):
            net(x[i : i + 65536])
        _sync(dev)
        return n / (time.perf_counter() - t0)

    pure_forward()  # warm-up
    fwd_before = pure_forward()
    lifter.predict(p2[:bs], device=dev)
    t0 = time.perf_counter()
    lifter.predict(p2, device=dev)
    _sync(dev)
    ours_pred = n / (time.perf_counter() - t0)
    pure_fwd = (fwd_before + pure_forward()) / 2
    print(f"pure forward: {pure_fwd:.0f} samples/s; Lifter.predict: {ours_pred:.0f} samples/s")
    return {
        "device": str(dev),
        "batch_size": bs,
        "pure_train": pure_train,
        "ours_train": ours_train,
        "pure_forward": pure_fwd,
        "ours_predict": ours_pred,
    }


def _fmt(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def render(acc: dict, spd: dict | None, dev_split: bool, lp022: dict | None) -> str:
    lines = [BEGIN, ""]
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs visible, torch {torch.__version__}"
    lines.append(
        f"Measured by `benchmarks/bench_lifter.py` (liftpose-dlc {liftpose_dlc.__version__}, "
        f"{machine}, {torch.get_num_threads()} torch threads"
        + ("; DEV split: train 0-639, test 640-799" if dev_split else "")
        + ")."
    )
    lines += [
        "",
        "Error: mean Euclidean error of the non-root joints relative to their root, mm "
        + ("(dev test frames 640-799)." if dev_split else "(test frames 800-999)."),
        "",
        "| protocol | ours (default call) | least squares | liftpose 0.22 | required |",
        "|---|---|---|---|---|",
    ]
    for name, r in acc.items():
        lp = None if lp022 is None else lp022.get(name)
        ok = "✓" if r["ours"] <= TARGETS[name] else "✗"
        lines.append(
            f"| {name} | **{r['ours']:.4f}** {ok} | {r['least_squares']:.4f} | {_fmt(lp, 4)} | "
            f"≤ {TARGETS[name]} |"
        )
    if spd is not None:
        tr_ratio = spd["ours_train"] / spd["pure_train"]
        pr_ratio = spd["ours_predict"] / spd["pure_forward"]
        lp_tr = None if lp022 is None else lp022.get("train_samples_per_s")
        lp_pr = None if lp022 is None else lp022.get("predict_samples_per_s")
        lines += [
            "",
            f"Speed on 100,000 samples (30 joints), device `{spd['device']}`, batch size "
            f"{spd['batch_size']}, samples/s:",
            "",
            "| | pure model | ours | ours / pure | required | liftpose 0.22 |",
            "|---|---|---|---|---|---|",
            f"| training (fwd+bwd+Adam; ours: `fit`, {TRAIN_EPOCHS} epochs, default "
            "augmentation) | "
            f"{spd['pure_train']:.0f} | {spd['ours_train']:.0f} | {tr_ratio:.0%} | ≥ 80% | "
            f"{_fmt(lp_tr, 0)} |",
            f"| prediction (forward) | {spd['pure_forward']:.0f} | {spd['ours_predict']:.0f} | "
            f"{pr_ratio:.0%} | ≥ 50% | {_fmt(lp_pr, 0)} |",
        ]
    if lp022 is None:
        lines += ["", "liftpose 0.22: `benchmarks/results_liftpose022.json` not found."]
    lines += ["", END]
    return "\n".join(lines)


def write_results(block: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n## Lifter accuracy and speed\n\n" + block + "\n"
    RESULTS.write_text(text)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", action="store_true", help="split the training frames (research)")
    ap.add_argument("--no-speed", action="store_true", help="skip the speed measurements")
    ap.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    acc = accuracy(args.dev)
    spd = None if args.no_speed else speed(args.device)
    lp022 = json.loads(LP022.read_text()) if LP022.exists() else None
    block = render(acc, spd, args.dev, lp022)
    print(block)
    if not args.no_write and not args.dev:  # research runs never replace the results
        write_results(block)
        results = json.dumps({"accuracy": acc, "speed": spd}, indent=2)
        (HERE / "results_lifter.json").write_text(results)


if __name__ == "__main__":
    main()
