"""Training from a library larger than memory: read throughput, training throughput, memory.

What it does:

1. writes a generated library of ``--frames`` frames (default 10,000,000) of
   ``--keypoints`` keypoints as float32 ``.npy`` files (``liftpose_dlc.lifter.shards
   .write_pairs``, chunk by chunk: the writer holds one chunk);
2. opens it memory-mapped (``open_pairs``) and reads one whole epoch in the training
   loop's order (shards in a random order, frames shuffled within each) in batches of
   ``--batch`` frames: frames/s of the reader alone;
3. trains a lifter for one epoch on ``--train-frames`` frames drawn over the whole file,
   read from disk, and the same frames held in memory: frames/s of each (the ratio is
   measured in one run);
4. records the peak resident memory (``VmHWM``) and the peak *anonymous* resident memory
   (``RssAnon``, sampled every 0.1 s: the memory the process owns; file pages of the
   memory map are the kernel's page cache and can be dropped at any time).

Usage::

    python benchmarks/bench_scale.py                         # 10 million frames
    python benchmarks/bench_scale.py --frames 1000000 --no-write   # a quick check
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import write_section  # noqa: E402

from liftpose_dlc.lifter import shards  # noqa: E402
from liftpose_dlc.lifter.lifter import Lifter  # noqa: E402
from liftpose_dlc.lifter.session import Pairs  # noqa: E402

CHUNK = 500_000


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class PeakSampler:
    """Peak ``RssAnon`` of this process, sampled in a thread."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, _status_kb("RssAnon"))
            time.sleep(0.1)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def chunks(n: int, n_kp: int, seed: int = 0):
    """Generated pairs: a random chain moving smoothly, seen by an orthographic camera."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n_kp, 3)).astype(np.float32)
    for start in range(0, n, CHUNK):
        k = min(CHUNK, n - start)
        t = (np.arange(start, start + k, dtype=np.float32) * 0.01)[:, None, None]
        p3 = base + 0.3 * np.sin(t + np.arange(n_kp, dtype=np.float32)[None, :, None])
        p3 = p3 + 0.02 * rng.standard_normal(p3.shape, dtype=np.float32)
        p2 = p3[..., :2] + 0.01 * rng.standard_normal((k, n_kp, 2), dtype=np.float32)
        yield p2, p3


def _fit_fps(data: Pairs, n_kp: int, batch: int, width: int) -> float:
    names = [str(i) for i in range(n_kp)]
    lifter = Lifter(names, [0], [names[1:]], linear_size=width, num_stage=1)
    start = time.perf_counter()
    lifter.fit(data, None, epochs=1, batch_size=batch, augment=None, device="cpu", verbose=False)
    return len(data.pose_2d if not isinstance(data, shards.MappedPairs) else data) / (
        time.perf_counter() - start
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=10_000_000)
    ap.add_argument("--keypoints", type=int, default=16)
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--train-frames", type=int, default=200_000)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dir", help="where to write the library (default: a temporary folder)")
    ap.add_argument("--no-write", action="store_true", help="print, do not edit RESULTS.md")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    tmp = Path(args.dir or tempfile.mkdtemp(prefix="liftpose_scale_"))
    n, n_kp = args.frames, args.keypoints
    with PeakSampler() as peak:
        t0 = time.perf_counter()
        folder = shards.write_pairs(tmp / "library", n, n_kp, chunks(n, n_kp))
        t_write = time.perf_counter() - t0
        size_gb = sum(f.stat().st_size for f in folder.iterdir()) / 1e9
        pairs = shards.open_pairs(folder)
        batch = pairs.batch(torch.device("cpu"))
        t0 = time.perf_counter()
        order = batch.epoch_order(0, 0)
        for i in range(0, n, args.batch):
            batch.index(order[i : i + args.batch])
        t_read = time.perf_counter() - t0
        rows = np.sort(np.random.default_rng(1).choice(n, args.train_frames, replace=False))
        on_disk = shards.MappedPairs(pairs.pose_2d, pairs.pose_3d, None, rows)
        fps_disk = _fit_fps(on_disk, n_kp, args.batch, args.width)
        in_memory = Pairs(*on_disk.read(np.arange(len(rows))))
        fps_mem = _fit_fps(in_memory, n_kp, args.batch, args.width)
    hwm_mb = _status_kb("VmHWM") / 1024
    anon_mb = peak.peak_kb / 1024
    if not args.dir:
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()[0]
    steps = [
        ("write the library", n, t_write),
        (f"read one epoch in the training order (batches of {args.batch})", n, t_read),
        (
            f"train one epoch, frames read from disk (width {args.width})",
            args.train_frames,
            args.train_frames / fps_disk,
        ),
        (
            "train one epoch, the same frames in memory",
            args.train_frames,
            args.train_frames / fps_mem,
        ),
    ]
    rows = "\n".join(f"| {name} | {k:,} | {t:.1f} | {k / t:,.0f} |" for name, k, t in steps)
    text = f"""## Training from a library on disk

```
python benchmarks/bench_scale.py --frames {n} --keypoints {n_kp} --batch {args.batch} \\
    --train-frames {args.train_frames} --width {args.width} --threads {args.threads}
```

{time.strftime("%Y-%m-%d")}, {platform.machine()}, {os.cpu_count()} CPU cores shared with
other jobs (load average {load:.1f} at the end), torch {torch.__version__}, CPU,
{args.threads} torch thread(s).

A generated library of {n:,} frames x {n_kp} keypoints (float32 `.npy`, {size_gb:.2f} GB on
disk) is written chunk by chunk ({CHUNK:,} frames) and memory-mapped
(`liftpose_dlc.lifter.shards.open_pairs`); nothing reads it whole.

| step | frames | s | frames/s |
|---|---:|---:|---:|
{rows}

Training from disk runs at {fps_disk / fps_mem:.2f} x the in-memory speed (same run, same
frames, spread over the whole file). Peak anonymous resident memory (`RssAnon`, what the
process owns) was {anon_mb:,.0f} MB for a {size_gb:.2f} GB library; the peak resident
set including the memory map's file pages (`VmHWM`, page cache the kernel can drop) was
{hwm_mb:,.0f} MB.
"""
    if args.no_write:
        print(text)
    else:
        write_section("## Training from a library on disk", text)
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
