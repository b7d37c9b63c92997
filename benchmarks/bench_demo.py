"""Time the demo (the README's first command) as a user runs it, and record its error.

Runs ``liftpose-dlc demo --out <tmp>`` in a fresh process ``--runs`` times, reads each run's
``results/summary.yaml`` and writes wall times and errors to ``benchmarks/RESULTS.md`` under
"## Demo" (replacing that section only). The issue's bound: under 3 minutes on 2 CPU cores.

Usage::

    python benchmarks/bench_demo.py            # 2 runs
    python benchmarks/bench_demo.py --runs 1 --no-write
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from results_file import RESULTS, write_section

SECTION = "## Demo"


def run_once(workdir: Path) -> dict:
    out = workdir / "demo"
    exe = Path(sys.executable).with_name("liftpose-dlc")
    command = [str(exe), "demo", "--out", str(out), "-q"]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    summary = yaml.safe_load((out / "results" / "summary.yaml").read_text())
    shutil.rmtree(out)
    return {"wall_s": wall, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            result = run_once(Path(tmp))
            print(f"run {i + 1}: {result['wall_s']:.1f} s")
            runs.append(result)
    load = os.getloadavg()[0]
    first = runs[0]["summary"]
    rows = "\n".join(
        f"| {i + 1} | {r['wall_s']:.1f} | {r['summary']['error_mm']['mpjpe']:.3f} | "
        f"{r['summary']['constant_mean_pose_error_mm']['mpjpe']:.3f} |"
        for i, r in enumerate(runs)
    )
    text = f"""{SECTION}

```
python benchmarks/bench_demo.py --runs {args.runs}
```

{datetime.date.today()}, {platform.machine()}, {os.cpu_count()} CPU cores (load average
{load:.1f} at the end), the whole `liftpose-dlc demo --out DIR` command in a fresh process
(generate the project and its video, train the lifter, `lift_dlc_project`, figures, summary).
Bound from the issue: under 3 minutes (180 s) on 2 CPU cores. The error is the root-relative
MPJPE of the lifted 3D against the generated walk's known 3D (mm; generated data only), next to
a constant mean pose.

| run | wall s | lifted MPJPE mm | mean-pose MPJPE mm |
|---:|---:|---:|---:|
{rows}

Points lifted: {first["error_mm"]["coverage"]:.0%} of the true
points (2D points missed by the simulated tracker or below `pcutoff` stay NaN).
"""
    print(text)
    if not args.no_write:
        write_section(SECTION, text)
        print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
