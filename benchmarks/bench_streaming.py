"""Streaming lift of a long DeepLabCut recording: peak memory and throughput.

What it does, for each requested length (default 100,000 and 1,000,000 frames):

1. writes a DeepLabCut analysis ``.h5`` of that many frames (4 bodyparts, x/y/likelihood,
   key ``df_with_missing``, DeepLabCut's own *table* format, written in chunks so that the
   writer itself stays small; 5 % of the points have a likelihood below 0.6);
2. in a fresh Python process: loads a lifter, then lifts the file with
   :func:`liftpose_dlc.lift_file` (streamed in chunks of ``--chunk-size`` frames) and
   records the wall time and the process's peak resident memory (``VmHWM``), with the
   resident memory after loading the model and lifting a short file as the baseline;
3. in another fresh process: measures the model's *pure forward* throughput, the network
   alone on ready-made input tensors of the same batch size (``--chunk-size``), no file,
   no preprocessing;
4. checks the output (row count, NaN where the likelihood is below the cutoff) and writes
   the numbers to ``benchmarks/RESULTS.md`` under "## Streaming lift" (replacing that
   section only).

Usage::

    python benchmarks/bench_streaming.py                       # the default lifter
    python benchmarks/bench_streaming.py --linear-size 256 1024   # two network widths
    python benchmarks/bench_streaming.py --frames 20000 --no-write   # a quick check

The lifter's weights do not matter for speed or memory: it is trained for one epoch on a
few generated poses.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
from results_file import RESULTS, write_section

REPO = Path(__file__).resolve().parents[1]
SECTION = "## Streaming lift"
BODYPARTS = ["snout", "leftear", "rightear", "tailbase"]
SCORER = "DLC_resnet50_benchJan1shuffle1_100000"
PCUTOFF = 0.6


def write_dlc_h5(path: Path, n_frames: int, seed: int = 0, chunk: int = 200_000) -> None:
    """A DeepLabCut analysis file of ``n_frames`` frames, written in chunks (table format)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    columns = pd.MultiIndex.from_product(
        [[SCORER], BODYPARTS, ["x", "y", "likelihood"]], names=["scorer", "bodyparts", "coords"]
    )
    with pd.HDFStore(path, mode="w") as store:
        for a in range(0, n_frames, chunk):
            b = min(n_frames, a + chunk)
            n = b - a
            centre = rng.uniform(100, 500, size=(n, 1, 2))
            xy = centre + rng.normal(0, 30, size=(n, len(BODYPARTS), 2))
            lik = np.where(rng.random((n, len(BODYPARTS))) < 0.05, 0.3, 0.99)
            values = np.concatenate([xy, lik[..., None]], axis=-1).reshape(n, -1)
            frame = pd.DataFrame(values, columns=columns, index=pd.RangeIndex(a, b))
            store.append("df_with_missing", frame, format="table", index=False)


def make_model(path: Path, linear_size: int) -> None:
    import torch

    from liftpose_dlc import Lifter

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    p3 = rng.normal(size=(512, len(BODYPARTS), 3)) * 20
    lifter = Lifter(
        BODYPARTS, roots=["snout"], target_sets=[BODYPARTS[1:]], linear_size=linear_size
    )
    lifter.fit(p3[..., :2], p3, epochs=1, verbose=False, augment=None)
    lifter.save(path, overwrite=True)


LIFT_CHILD = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np, torch
    from liftpose_dlc import Lifter, lift_file

    def status_kb(field):
        # VmHWM (peak) and VmRSS of this process; VmHWM starts afresh at exec, unlike
        # getrusage's ru_maxrss, which keeps the forking parent's peak
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise RuntimeError(field)

    src, model, out, chunk, threads, warmup = sys.argv[1:7]
    torch.set_num_threads(int(threads))
    lifter = Lifter.load(model)
    # a short lift first: the libraries it loads (PyTables, h5py, torch's kernels) are the
    # baseline, not the recording's size
    lift_file(warmup, lifter, output=out, pcutoff=0.6, chunk_size=int(chunk), overwrite=True,
              verbose=False, device="cpu")
    base_kb = status_kb("VmHWM")
    base_rss_kb = status_kb("VmRSS")
    # time spent in the network during the lift (same batches, same moment as the lift)
    net_seconds = [0.0]
    forward = lifter.net.forward

    def timed_forward(x):
        t = time.perf_counter()
        out = forward(x)
        net_seconds[0] += time.perf_counter() - t
        return out

    lifter.net.forward = timed_forward
    t0 = time.perf_counter()
    lift_file(src, lifter, output=out, pcutoff=0.6, chunk_size=int(chunk), overwrite=True,
              verbose=False, device="cpu")
    seconds = time.perf_counter() - t0
    peak_kb = status_kb("VmHWM")
    print(json.dumps({"seconds": seconds, "peak_kb": peak_kb, "base_peak_kb": base_kb,
                      "base_rss_kb": base_rss_kb, "net_seconds": net_seconds[0]}))
    """
)

FORWARD_CHILD = textwrap.dedent(
    """
    import json, sys, time
    import torch
    from liftpose_dlc import Lifter
    model, chunk, min_seconds, threads = sys.argv[1:5]
    torch.set_num_threads(int(threads))
    lifter = Lifter.load(model)
    net = lifter.net.eval()
    x = torch.randn(int(chunk), net.w1.in_features)
    best = 0.0
    with torch.no_grad():
        net(x)  # warm-up
        for _ in range(3):  # the best of three runs of at least min_seconds each
            done, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < float(min_seconds):
                net(x)
                done += int(chunk)
            best = max(best, done / (time.perf_counter() - t0))
    print(json.dumps({"fps": best}))
    """
)


def run_child(code: str, *args: object) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check_output(src: Path, out: Path, n_frames: int) -> dict:
    import pandas as pd

    with pd.HDFStore(out, mode="r") as store:
        storer = store.get_storer("df_with_missing")
        rows = int(storer.group.axis1.shape[0])
        head = store.select("df_with_missing", start=0, stop=1000)
    with pd.HDFStore(src, mode="r") as store:
        head_2d = store.select("df_with_missing", start=0, stop=1000)
    low = head_2d.xs("likelihood", axis=1, level="coords").to_numpy() < PCUTOFF
    expected = low | low[:, :1]  # a missing root (snout) leaves its whole target set NaN
    nan = np.isnan(head.xs("x", axis=1, level="coords").to_numpy())
    ok = bool((expected == nan).all())
    return {"rows": rows, "rows_ok": rows == n_frames, "nan_rule_ok": ok}


def measure(n_frames: int, model: Path, chunk: int, threads: int, workdir: Path) -> dict:
    src = workdir / f"bench{n_frames}DLC_resnet50_benchJan1shuffle1_100000.h5"
    out = workdir / f"bench{n_frames}_3d.h5"
    warmup = workdir / "warmupDLC_resnet50_benchJan1shuffle1_100000.h5"
    if not warmup.exists():
        write_dlc_h5(warmup, 2 * chunk, seed=1)
    t0 = time.perf_counter()
    write_dlc_h5(src, n_frames)
    write_s = time.perf_counter() - t0
    lift = run_child(LIFT_CHILD, src, model, out, chunk, threads, warmup)
    fwd = run_child(FORWARD_CHILD, model, chunk, 3.0, threads)
    checks = check_output(src, out, n_frames)
    result = {
        "frames": n_frames,
        "input_mb": src.stat().st_size / 2**20,
        "output_mb": out.stat().st_size / 2**20,
        "write_input_s": write_s,
        "lift_s": lift["seconds"],
        "lift_fps": n_frames / lift["seconds"],
        "forward_fps": fwd["fps"],
        "network_share": lift["net_seconds"] / lift["seconds"],
        "peak_rss_mb": lift["peak_kb"] / 1024,
        "baseline_rss_mb": lift["base_rss_kb"] / 1024,
        **checks,
    }
    result["ratio"] = result["lift_fps"] / result["forward_fps"]
    src.unlink()
    out.unlink()
    return result


def render(results: list[dict], args: argparse.Namespace) -> str:
    import torch

    load = os.getloadavg()
    rows = "\n".join(
        f"| {r['width']} | {r['frames']:,} | {r['input_mb']:.0f} | {r['lift_s']:.1f} | "
        f"{r['lift_fps']:,.0f} | {r['forward_fps']:,.0f} | {r['ratio']:.2f} | "
        f"{r['network_share']:.2f} | "
        f"{r['peak_rss_mb']:.0f} | {r['peak_rss_mb'] - r['baseline_rss_mb']:.0f} | "
        f"{'yes' if r['rows_ok'] and r['nan_rule_ok'] else 'NO'} |"
        for r in results
    )
    command = " ".join(sys.argv[1:])
    return f"""{SECTION}

```
python benchmarks/bench_streaming.py {command}
```

{time.strftime("%Y-%m-%d")}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPU
cores shared with other jobs (load average {load[0]:.1f} at the end), torch {torch.__version__},
CPU, {args.threads} torch thread(s), chunks of {args.chunk_size:,} frames.

A DeepLabCut analysis `.h5` (4 bodyparts, DeepLabCut's table format, 5 % of the points
below `pcutoff=0.6`) is lifted by `lift_file` in a fresh process, with a network of the
given width (the other options are the default lifter's). *Lift fps* counts everything:
reading the chunks, the missing-point rules, the network, and writing the DeepLabCut 3D table
(fixed format).
*Forward fps* is the network alone on ready-made input tensors of the same batch size (the
best of three runs of 3 s each; the lift, one run, is compared with the network's best).
*Network share* is the fraction of the lift's own wall time spent in the network's forward
pass (timed inside the lift): the lift / forward ratio measured in one run, so it does not
depend on how busy the shared cores were at two different moments. *Peak RSS* is the
process's maximum resident memory (`VmHWM`); *over baseline* subtracts the resident memory
after loading the model and lifting a short file (so that the libraries a lift loads,
PyTables, h5py and torch's kernels, count in the baseline).
*Output ok*: the row count matches and the 3D is NaN exactly where the likelihood is below
the cutoff or the root's is (checked on the first 1,000 frames).

| width | frames | input MB | lift s | lift fps | forward fps | lift / forward \
| network share | peak RSS MB | over baseline MB | output ok |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:--:|
{rows}

Memory is bounded by the chunk size, not by the recording's length: the 2D table is read
{args.chunk_size:,} rows at a time and the 3D table is written chunk by chunk into a
fixed-format HDF5 file whose arrays are sized up front (the 1,000,000-frame input and output
are about 100 MB each; neither is ever in memory).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--runs",
        nargs="+",
        metavar="WIDTH:FRAMES",
        help="explicit (width, frames) pairs instead of every width with every frame count",
    )
    parser.add_argument("--chunk-size", type=int, default=8192)
    parser.add_argument("--linear-size", type=int, nargs="+", default=None)
    parser.add_argument("--threads", type=int, default=max(1, min(2, os.cpu_count() or 1)))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    if args.linear_size is None:
        from liftpose_dlc.lifter.lifter import DEFAULT_MODEL_OPTIONS

        args.linear_size = [DEFAULT_MODEL_OPTIONS["linear_size"]]
    with tempfile.TemporaryDirectory(prefix="liftpose_bench_") as tmp:
        workdir = Path(tmp)
        if args.runs:
            runs = [tuple(int(v) for v in run.split(":")) for run in args.runs]
        else:
            runs = [(w, n) for w in args.linear_size for n in args.frames]
        results = []
        for width, n in runs:
            model = workdir / f"lifter{width}.safetensors"
            if not model.exists():
                make_model(model, width)
            r = {"width": width, **measure(n, model, args.chunk_size, args.threads, workdir)}
            print(json.dumps(r), flush=True)
            results.append(r)
    text = render(results, args)
    print(text)
    if not args.no_write:
        write_section(SECTION, text)
        print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
