"""A small training run, for the DDP tests: in-process, or as a ``torchrun`` script.

``python -m torch.distributed.run --nproc_per_node=2 tests/lifter/ddp_train.py OUT EPOCHS
[--resume] [--kill-after S] [--temporal W]`` trains on the generated library below and, on
rank 0, writes ``OUT/result.json`` (the loss curve, the final error) and ``OUT/lifter.safetensors``.
``--kill-after S`` makes rank 1 kill itself (SIGKILL) ``S`` seconds after training starts;
``--temporal W`` trains a temporal lifter with a ``W``-frame window.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

import numpy as np
import torch

KEYPOINTS = ["root", "a", "b", "c", "d", "e"]
#: Global batch; with 2 ranks each takes 32 frames of it.
BATCH = 64
OPTIONS = {"linear_size": 64, "num_stage": 1, "dropout": 0.0}


def library(n: int = 384, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Paired 2D/3D poses: a random chain seen by an orthographic camera, with noise."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(len(KEYPOINTS), 3))
    t = np.linspace(0, 8 * np.pi, n)
    p3 = base[None] + 0.3 * np.sin(t[:, None, None] + np.arange(len(KEYPOINTS))[None, :, None])
    p3 = p3 + 0.05 * rng.normal(size=p3.shape)
    p2 = p3[..., :2] + 0.01 * rng.normal(size=(n, len(KEYPOINTS), 2))
    return p2, p3


def train(out: Path, epochs: int, resume: bool = False, temporal: int | None = None) -> dict:
    """Train (resuming from ``out`` when asked); return the curve and the final error."""
    from liftpose_dlc.lifter.lifter import Lifter

    torch.set_num_threads(1)
    p2, p3 = library()
    window = {} if temporal is None else {"temporal": temporal, "channels": 16}
    lifter = Lifter(KEYPOINTS, ["root"], [KEYPOINTS[1:]], **OPTIONS, **window)
    lifter.fit(
        p2,
        p3,
        epochs=epochs,
        batch_size=BATCH,
        augment=None,
        device="cpu",
        out_dir=out,
        resume=resume,
        verbose=False,
        lr_schedule="step",
    )
    pred = lifter.predict(p2)
    err = float(np.linalg.norm(pred[:, 1:] - (p3[:, 1:] - p3[:, :1]), axis=-1).mean())
    return {
        "loss_train": [r.loss_train for r in lifter.history],
        "epochs": [r.epoch for r in lifter.history],
        "err": err,
        "lifter": lifter,
    }


def main(argv: list[str]) -> int:
    out, epochs = Path(argv[0]), int(argv[1])
    resume = "--resume" in argv
    if "--kill-after" in argv and os.environ.get("RANK") == "1":
        delay = float(argv[argv.index("--kill-after") + 1])
        threading.Timer(delay, lambda: os.kill(os.getpid(), signal.SIGKILL)).start()
    temporal = int(argv[argv.index("--temporal") + 1]) if "--temporal" in argv else None
    res = train(out, epochs, resume, temporal)
    if os.environ.get("RANK", "0") == "0":
        res.pop("lifter").save(out / "lifter.safetensors", overwrite=True)
        (out / "result.json").write_text(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
