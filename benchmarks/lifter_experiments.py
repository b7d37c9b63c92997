"""Research runs behind the lifter's defaults, on the DEV split (never the test frames).

``python benchmarks/lifter_experiments.py '<json config>'`` trains P1-P3 with the training
frames split into 0-639 (train) and 640-799 (dev test) and prints one JSON line:
``{protocol: [ours_mm, least_squares_mm, best_epoch, seconds]}``. Config keys: ``model``
(Lifter options), ``aug`` (``"default"``, null, or ``random_view`` keyword arguments),
``prots``, ``dev`` (default true) and any ``Lifter.fit`` option (``epochs``, ``loss``, ...).
"""

import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocols import load_protocol, lstsq_baseline, root_relative_error  # noqa: E402

from liftpose_dlc import Lifter  # noqa: E402
from liftpose_dlc.lifter.augmentation import random_view  # noqa: E402


def main() -> None:
    torch.set_num_threads(1)
    cfg = json.loads(sys.argv[1])
    dev = cfg.pop("dev", True)
    prots = cfg.pop("prots", ["P1", "P2", "P3"])
    model = cfg.pop("model", {})
    aug = cfg.pop("aug", "default")
    res = {}
    for name in prots:
        augment = [random_view(**aug)] if isinstance(aug, dict) else aug
        p = load_protocol(name, dev=dev)
        te2, te3, roots, ts = p["test_2d"], p["test_3d"], p["roots"], p["target_sets"]
        ls = lstsq_baseline(p)
        t = time.time()
        lf = Lifter(te2.shape[1], roots, ts, **model)
        lf.fit(
            p["train_2d_by_camera"],
            p["train_3d_by_camera"],
            verbose=False,
            augment=augment,
            **cfg,
        )
        e = root_relative_error(te3, lf.predict(te2), roots, ts)
        res[name] = (round(e, 4), round(ls, 4), lf.best_epoch, round(time.time() - t, 1))
    print(json.dumps({"cfg": sys.argv[1], "res": res}), flush=True)


if __name__ == "__main__":
    main()
