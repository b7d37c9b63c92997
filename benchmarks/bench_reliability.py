"""Reader fuzzing at scale: the figures of ``benchmarks/RELIABILITY.md`` ("Reader fuzzing").

Runs the fuzzer of ``tests/faults/fuzzing.py`` (the same cases the test suite runs, more of
them) over every public reader and the real files of ``../shared/data`` plus a tiny trained
lifter, and prints the counts per reader and outcome as a Markdown table.

Usage: ``python benchmarks/bench_reliability.py [N_CASES] [SEED]`` (default 3000, 1).
"""

from __future__ import annotations

import collections
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "faults"))
sys.path.insert(0, str(REPO / "tests"))

import fuzzing  # noqa: E402
import numpy as np  # noqa: E402
from realdata import SHARED_DATA  # noqa: E402


def _model(folder: Path) -> Path:
    import torch

    from liftpose_dlc import Lifter

    torch.set_num_threads(1)
    p3 = np.random.default_rng(0).normal(size=(200, 4, 3))
    lifter = Lifter(["a", "b", "c", "d"], roots=["a"], target_sets=[["b", "c", "d"]], linear_size=8)
    lifter.fit(p3[..., :2], p3, epochs=1, verbose=False)
    return lifter.save(folder / "tiny.safetensors")


def main(n_cases: int = 3000, seed: int = 1) -> None:
    """Run ``n_cases`` cases and print the table."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        targets = fuzzing.shared_targets(SHARED_DATA)
        targets += [("Lifter.load", _model(folder), {})] * 2
        cases = fuzzing.make_cases(targets, n_cases, seed, folder / "cases")
        t0 = time.perf_counter()
        outcomes = fuzzing.run_cases(cases, workers=2, timeout=10.0)
        wall = time.perf_counter() - t0
    per_reader: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for o in outcomes:
        per_reader[o.case.reader][o.kind] += 1
    kinds = ["read", "error", "wrong-type", "unnamed", "hang", "crash"]
    print(f"{n_cases} cases, seed {seed}, {len(targets)} targets, {wall:.0f} s on 2 workers")
    print("| reader | " + " | ".join(kinds) + " |")
    print("|---" * (len(kinds) + 1) + "|")
    for reader, counts in sorted(per_reader.items()):
        print(f"| {reader} | " + " | ".join(str(counts[k]) for k in kinds) + " |")
    for o in outcomes:
        if not o.ok:
            print(o.describe())
    print(f"slowest case: {max(o.seconds for o in outcomes):.2f} s")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
