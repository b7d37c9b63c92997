"""Train a lifter from an Anipose / sleap-anipose session with its calibration.

A multi-camera session gives what a lifter needs: triangulated 3D poses (the library) and the
cameras that filmed them (``calibration.toml``). ``train_from_library`` projects the 3D into
the chosen cameras (with their lens distortion, as a tracker sees the raw video), trains a
lifter, and writes the model with a YAML record of how it was trained. The lifter then lifts
2D tracking from any of these cameras (see ``examples/lift_sleap_file.py``).

Uses the real sleap-anipose session in ``../shared/data/3d/sleap_anipose_mouse`` (not part of
the repository; without it the script says so and exits 0). Its ``side`` camera has a wrong
calibration (a copy of ``top``'s), so it is left out.

Run from the repository root::

    python examples/train_from_anipose_session.py [OUT_DIR]   # default: anipose_example_out
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

import liftpose_dlc as lp
from liftpose_dlc.workflow.training import train_from_library

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LIFTPOSE_SHARED_DATA", REPO.parent / "shared" / "data"))
SESSION = DATA / "3d" / "sleap_anipose_mouse"
out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "anipose_example_out")

if not (SESSION / "points3d.h5").is_file():
    print(f"the session folder {SESSION} is absent. Nothing to do.")
    sys.exit(0)

# the library: sleap-anipose's points3d.h5 stores no node names; a view's .slp gives them
library = lp.load_poses_3d(
    SESSION / "points3d.h5", keypoints=SESSION / "back" / "minimal_back_proofread.slp"
)
cameras = lp.load_calibration(SESSION / "calibration.toml", cameras=["back", "mid", "top"])
print(f"library: {library.n_frames} frames x {library.n_keypoints} keypoints ({library.keypoints})")
print(f"cameras: {list(cameras)}")

model = out_dir / "mouse_lifter.safetensors"
lifter = train_from_library(
    library.select(frames=slice(0, 90)),  # frames 90-119 are kept for the lifting example
    cameras,
    model_path=model,
    roots=["TTI"],  # the tail base: every other keypoint is predicted relative to it
    noise_px=2.0,
    units="mm",
    epochs=5,
    linear_size=128,
    val=0.1,  # hold out the last 10% of the library's frames: a validation error
    overwrite=True,
    verbose=False,
)
record = yaml.safe_load(model.with_suffix(".yaml").read_text())
print(f"lifter saved to {model}")
print(
    f"trained on {record['training_pairs']} 2D/3D pairs from {record['cameras']['kind']} "
    f"cameras {record['cameras']['names']}, best epoch {record['best_epoch']}"
)
log = (out_dir / "mouse_lifter_training" / "train_log.txt").read_text().splitlines()
last = dict(zip(log[0].split("\t"), log[-1].split("\t"), strict=True))
print(f"validation error after the last epoch: {float(last['err_test']):.1f} mm")
