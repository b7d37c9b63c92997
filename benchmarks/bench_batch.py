"""Lifting many videos: a Dask local cluster against the serial loop, on this machine.

Copies the real openfield DeepLabCut analysis output (2,330 frames, 4 bodyparts; from
``../shared/data``) ``--videos`` times into a temporary project, then lifts them all with
``lift_dlc_project``: once one video after the other in this process, once with
``workers=N`` (a ``distributed.LocalCluster`` of N single-threaded processes, started
inside the timed call) for each ``--workers`` value. The outputs are checked to be
identical. The lifter is a seeded model of the default width (its weights do not matter
for speed).

Usage::

    python benchmarks/bench_batch.py                        # 20 videos, 1 and 2 workers
    python benchmarks/bench_batch.py --videos 100 --workers 2 4 --no-write
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_file import write_section  # noqa: E402

from liftpose_dlc.io.dlc import load_dlc  # noqa: E402
from liftpose_dlc.lifter.lifter import Lifter  # noqa: E402
from liftpose_dlc.workflow import lift_dlc_project  # noqa: E402
from liftpose_dlc.workflow.batch import open_client  # noqa: E402

SCORER = "DLC_resnet50_openfieldAug20shuffle1_30000"
MOUSE = ["snout", "leftear", "rightear", "tailbase"]


def _shared() -> Path:
    root = Path(os.environ.get("LIFTPOSE_SHARED_DATA", HERE.parent.parent / "shared" / "data"))
    return root / "dlc" / "openfield"


def _project(tmp: Path, n: int) -> tuple[Path, list[str]]:
    src = _shared()
    root = tmp / "openfield"
    (root / "videos").mkdir(parents=True)
    shutil.copy(src / "config.yaml", root / "config.yaml")
    videos = []
    for i in range(n):
        shutil.copy(
            src / "videos" / f"m3v1mp4{SCORER}.h5", root / "videos" / f"v{i:03d}{SCORER}.h5"
        )
        videos.append(str(root / "videos" / f"v{i:03d}.mp4"))
    return root / "config.yaml", videos


def _lift(config: Path, videos: list[str], model: Path, **kw) -> float:
    for old in config.parent.glob("videos/*_3d.h5"):
        old.unlink()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = lift_dlc_project(config, model, videos=videos, verbose=False, **kw)
    took = time.perf_counter() - t0
    assert len(out.lifted) == len(videos), out.failed
    return took


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=20)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the serial loop")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="liftpose_batch_"))
    try:
        config, videos = _project(tmp, args.videos)
        rng = np.random.default_rng(0)
        lib = rng.normal(size=(500, 4, 3)) * 20
        lifter = Lifter(MOUSE, ["tailbase"], [MOUSE[:3]])
        lifter.fit(lib[..., :2] * 3 + 300, lib, epochs=1, augment=None, verbose=False)
        model = lifter.save(tmp / "mouse.safetensors")
        t_serial = _lift(config, videos, model)
        first = config.parent / "videos" / f"v000{SCORER}_3d.h5"
        reference = load_dlc(first).data
        rows = [("serial loop (this process)", t_serial, t_serial)]
        for n in args.workers:
            took = _lift(config, videos, model, workers=n)
            np.testing.assert_array_equal(load_dlc(first).data, reference)
            t0 = time.perf_counter()
            client, _ = open_client("local", n)
            t_start = time.perf_counter() - t0
            try:
                client.run(lambda: __import__("liftpose_dlc.workflow.file_lift"))
                warm = _lift(config, videos, model, scheduler=client)
            finally:
                client.cluster.close()
                client.close()
            rows.append((f"Dask LocalCluster, {n} worker process(es)", took, warm))
            print(f"{n} workers: {took:.1f} s in all, cluster start {t_start:.1f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table = "\n".join(
        f"| {name} | {t:.1f} | {t_serial / t:.2f} | {w:.1f} | {t_serial / w:.2f} |"
        for name, t, w in rows
    )
    text = f"""## Lifting many videos on Dask

```
python benchmarks/bench_batch.py --videos {args.videos} --workers {" ".join(map(str, args.workers))}
```

{time.strftime("%Y-%m-%d")}, {platform.machine()}, **{os.cpu_count()} CPU cores** shared with
other jobs (load average {os.getloadavg()[0]:.1f} at the end), torch {torch.__version__}.
{args.videos} copies of the real openfield analysis output (2,330 frames x 4 bodyparts
each) lifted by `lift_dlc_project` with the default-width lifter; the Dask rows include
starting and closing the local cluster (each worker imports torch and loads the model
once) in *s, in all*; *s, cluster running* lifts the same videos on a cluster started
beforehand (its workers have imported the package; each still loads the model once). The
outputs are identical to the serial loop's.

| how | s, in all | speed-up | s, cluster running | speed-up |
|---|---:|---:|---:|---:|
{table}
"""
    print(text)
    if not args.no_write:
        write_section("## Lifting many videos on Dask", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
