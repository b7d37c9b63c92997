"""Samples/s of ``Lifter.predict`` and of training on the device present, against the pure model.

For each device found (the CPU; CUDA when available, also with ``amp=True``):

- *predict*: ``Lifter.predict`` on a NumPy array of ``--frames`` 2D poses (host-to-device
  copy through pinned memory on CUDA, input encoding, network, decoding, copy back), with
  the batch size chosen for the device (``liftpose_dlc.lifter.devices.predict_batch_size``);
- *forward*: the network alone on ready-made input tensors already on the device, same
  batch size: the ceiling of *predict*;
- *train step*: one optimisation step (forward, loss, backward, Adam) per batch of
  ``--train-batch`` frames, and its pure counterpart (network forward + backward + Adam on
  ready-made tensors);
- the error of ``amp=True`` against float32 (CUDA only).

Usage::

    python benchmarks/bench_device.py                 # every device present
    python benchmarks/bench_device.py --no-write      # print only
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import write_section  # noqa: E402

from liftpose_dlc.lifter import devices  # noqa: E402
from liftpose_dlc.lifter.lifter import Lifter  # noqa: E402

N_KP = 16


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _best(fn, dev: torch.device, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        _sync(dev)
        t0 = time.perf_counter()
        fn()
        _sync(dev)
        best = min(best, time.perf_counter() - t0)
    return best


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p3 = rng.normal(size=(n, N_KP, 3))
    return p3[..., :2] + 0.01 * rng.normal(size=(n, N_KP, 2)), p3


def measure(dev: torch.device, amp: bool, args: argparse.Namespace, lifter: Lifter) -> dict:
    """Samples/s of predict and forward, train step and pure step, on ``dev``."""
    p2, _ = _data(args.frames, 1)
    bs = devices.predict_batch_size(dev)
    lifter.predict(p2[:1000], device=dev, amp=amp)  # warm up
    t_pred = _best(lambda: lifter.predict(p2, device=dev, amp=amp), dev)
    net = lifter.net.to(dev).eval()
    t2 = torch.as_tensor(p2, dtype=torch.float32, device=dev)
    x = lifter.encoder.encode(t2, torch.isfinite(t2).all(-1))

    @torch.no_grad()
    def forward() -> None:
        for i in range(0, len(x), bs):
            with devices.autocast(amp, dev):
                net(x[i : i + bs])

    t_fwd = _best(forward, dev)
    # training: a full step of the loop vs the network's forward/backward/Adam alone
    tb = args.train_batch
    xt, yt = x[:tb].clone(), torch.randn(tb, net.w2.out_features, device=dev)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)

    def pure_steps() -> None:
        for _ in range(args.steps):
            with devices.autocast(amp, dev):
                loss = (net(xt).float() - yt).abs().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

    t_pure = _best(pure_steps, dev)
    p2t, p3t = _data(tb * args.steps, 2)
    fresh = Lifter.like(lifter)
    t0 = time.perf_counter()
    fresh.fit(p2t, p3t, epochs=1, batch_size=tb, augment=None, device=dev, verbose=False, amp=amp)
    _sync(dev)
    t_fit = time.perf_counter() - t0
    return {
        "device": dev.type + (" + amp" if amp else ""),
        "batch": bs,
        "predict": args.frames / t_pred,
        "forward": args.frames / t_fwd,
        "fit": tb * args.steps / t_fit,
        "pure_step": tb * args.steps / t_pure,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200_000)
    ap.add_argument("--train-batch", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    names = [str(i) for i in range(N_KP)]
    lifter = Lifter(names, [0], [names[1:]], linear_size=args.width, num_stage=2)
    p2, p3 = _data(2048)
    lifter.fit(p2, p3, epochs=1, augment=None, device="cpu", verbose=False)
    runs = [(torch.device("cpu"), False)]
    if torch.cuda.is_available():
        runs += [(torch.device("cuda"), False), (torch.device("cuda"), True)]
    rows = [measure(dev, amp, args, lifter) for dev, amp in runs]
    amp_line = ""
    if torch.cuda.is_available():
        ref = lifter.predict(p2, device="cpu")
        half = lifter.predict(p2, device="cuda", amp=True)
        full = lifter.predict(p2, device="cuda")
        amp_line = (
            f"\nLargest difference from the CPU: CUDA float32 {np.abs(full - ref).max():.2e}, "
            f"CUDA amp {np.abs(half - ref).max():.2e} (coordinates of order 1).\n"
        )
    gpu_note = (
        ""
        if torch.cuda.is_available()
        else "\nNo GPU was lent to the session that ran this: the CUDA rows (float32 and "
        "`amp=True`) were not run. The same script measures them where CUDA is present.\n"
    )
    table = "\n".join(
        f"| {r['device']} | {r['batch']:,} | {r['predict']:,.0f} | {r['forward']:,.0f} | "
        f"{r['predict'] / r['forward']:.2f} | {r['fit']:,.0f} | {r['pure_step']:,.0f} | "
        f"{r['fit'] / r['pure_step']:.2f} |"
        for r in rows
    )
    header = (
        "| device | predict batch | predict /s | forward /s | predict / forward | fit /s "
        "| pure step /s | fit / pure |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    text = f"""## Devices: predict and training throughput

```
python benchmarks/bench_device.py --frames {args.frames} --train-batch {args.train_batch} \\
    --steps {args.steps} --width {args.width} --threads {args.threads}
```

{time.strftime("%Y-%m-%d")}, {platform.machine()}, {os.cpu_count()} CPU cores shared with
other jobs (load average {os.getloadavg()[0]:.1f} at the end), torch {torch.__version__},
{args.threads} torch thread(s) on the CPU; network width {args.width}, 2 stages, {N_KP}
keypoints. Samples/s are poses per second; *predict* is `Lifter.predict` from NumPy to
NumPy, *forward* the network alone on ready-made tensors on the device (best of 3);
*fit* is one epoch of `Lifter.fit` ({args.steps} steps of {args.train_batch}, set-up
included), *pure step* the network's forward, backward and Adam step alone.

{header}
{table}
{amp_line}{gpu_note}"""
    print(text)
    if not args.no_write:
        write_section("## Devices: predict and training throughput", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
