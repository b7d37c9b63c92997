"""Run inside liftpose 0.22's venv: train on one ``022_*.npz`` of bench_zoo, save predictions.

``python zoo_liftpose022.py FILE.npz`` (called by ``bench_zoo.py --liftpose022``) trains 0.22
with its defaults (30 epochs, job 0) on ``train_2d``/``train_3d`` and writes its root-relative
predictions for ``test_2d`` to ``FILE_pred.npy``. 0.22 scores its "test" set every epoch and
keeps the best epoch on it: it is given the last 10% of the training pairs (virtual views,
not the test animal) for that, and the test animal only after training, as new data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from liftpose022_baseline import _patch_022, _predict_022, _train_022  # noqa: E402


def main() -> None:
    f = Path(sys.argv[1])
    d = np.load(f)
    roots = [int(r) for r in d["roots"]]
    sets = json.loads(str(d["sets"]))
    _patch_022()
    out = f.with_suffix("")
    tr2, tr3 = d["train_2d"], d["train_3d"]
    n_val = max(1, len(tr2) // 10)
    _train_022(out, tr2[:-n_val], tr3[:-n_val], tr2[-n_val:], tr3[-n_val:], roots, sets, 30)
    _, pred = _predict_022(out, d["test_2d"], d["test_3d"])
    pred = np.asarray(pred, dtype=np.float64).reshape(d["test_3d"].shape)
    rel = np.zeros_like(pred)
    for r, ts in zip(roots, sets, strict=True):
        rel[:, ts] = pred[:, ts] - pred[:, [r]]
    np.save(str(out) + "_pred.npy", rel)


if __name__ == "__main__":
    main()
