"""Write the two tiny lifters the pinned-output tests lift with (run once; files committed).

``python tests/data/lifters/make_engine_lifters.py`` writes ``mouse_engine.safetensors``
(DeepLabCut's openfield bodyparts, root ``snout``) and ``fly_engine.safetensors`` (SLEAP's
24 fly nodes of ``centered_pair_predictions.slp``, root ``thorax``) beside this script. The
files, not this script, are what the tests use: their outputs are pinned by checksum.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from liftpose_dlc import Lifter

HERE = Path(__file__).resolve().parent
MOUSE = ["snout", "leftear", "rightear", "tailbase"]
FLY = [
    "head", "neck", "thorax", "abdomen", "wingL", "wingR", "forelegL1", "forelegL2",
    "forelegL3", "forelegR1", "forelegR2", "forelegR3", "midlegL1", "midlegL2", "midlegL3",
    "midlegR1", "midlegR2", "midlegR3", "hindlegL1", "hindlegL2", "hindlegL3", "hindlegR1",
    "hindlegR2", "hindlegR3",
]  # fmt: skip


def _pairs(n_kp: int, n: int, seed: int, scale: float, center: float) -> tuple:
    rng = np.random.default_rng(seed)
    template = rng.normal(0.0, scale, size=(n_kp, 3))
    xyz = template[None] + rng.normal(0.0, 0.1 * scale, size=(n, n_kp, 3))
    angle = rng.uniform(0, 2 * np.pi, n)
    c, s = np.cos(angle), np.sin(angle)
    x = c[:, None] * xyz[..., 0] - s[:, None] * xyz[..., 1]
    y = s[:, None] * xyz[..., 0] + c[:, None] * xyz[..., 1]
    xyz = np.stack([x, y, xyz[..., 2]], -1)
    uv = xyz[..., :2] * 3.0 + center
    return uv, xyz


def make(keypoints: list[str], root: str, seed: int, scale: float, center: float) -> Lifter:
    torch.manual_seed(seed)
    uv, xyz = _pairs(len(keypoints), 400, seed, scale, center)
    lifter = Lifter(
        keypoints,
        roots=[root],
        target_sets=[[k for k in keypoints if k != root]],
        linear_size=16,
        num_stage=1,
        set_size=16,
    )
    return lifter.fit(uv, xyz, epochs=1, augment=None, verbose=False, device="cpu", seed=seed)


if __name__ == "__main__":
    torch.set_num_threads(1)
    make(MOUSE, "snout", 0, 40.0, 300.0).save(HERE / "mouse_engine.safetensors", overwrite=True)
    make(FLY, "thorax", 1, 2.0, 190.0).save(HERE / "fly_engine.safetensors", overwrite=True)
