"""Lift a SLEAP file to 3D with ``lift_file``.

The 2D is a real SLEAP ``.slp`` (one camera, ``back``, of the sleap-anipose session in
``../shared/data/3d/sleap_anipose_mouse``); the lifter is trained on the session's first 90
triangulated frames seen through its calibrated cameras (as in
``examples/train_from_anipose_session.py``). ``lift_file`` writes
``minimal_back_proofread_3d.h5`` (SLEAP analysis layout: ``tracks`` (tracks, 3, nodes, frames))
beside a copy of the input, and the last 30 frames, unseen in training, are compared with
the triangulated 3D. Without the data folder the script says so and exits 0.

Run from the repository root::

    python examples/lift_sleap_file.py [OUT_DIR]      # default: sleap_example_out
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import h5py
import numpy as np

import liftpose_dlc as lp
from liftpose_dlc.metrics import mpjpe
from liftpose_dlc.workflow.training import train_from_library

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LIFTPOSE_SHARED_DATA", REPO.parent / "shared" / "data"))
SESSION = DATA / "3d" / "sleap_anipose_mouse"
out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "sleap_example_out")

if not (SESSION / "points3d.h5").is_file():
    print(f"the session folder {SESSION} is absent. Nothing to do.")
    sys.exit(0)
try:
    import sleap_io  # noqa: F401
except ImportError:
    print('reading .slp files needs sleap-io: pip install "liftpose-dlc[sleap]"')
    sys.exit(0)

out_dir.mkdir(parents=True, exist_ok=True)
slp = Path(shutil.copy(SESSION / "back" / "minimal_back_proofread.slp", out_dir))
library = lp.load_poses_3d(SESSION / "points3d.h5", keypoints=slp)
cameras = lp.load_calibration(SESSION / "calibration.toml", cameras=["back", "mid", "top"])
model = out_dir / "mouse_lifter.safetensors"
lifter = train_from_library(
    library.select(frames=slice(0, 90)),
    cameras,
    model_path=model,
    roots=["TTI"],
    noise_px=2.0,
    units="mm",
    epochs=5,
    linear_size=128,
    overwrite=True,
    verbose=False,
)

out = lp.lift_file(slp, model, overwrite=True, verbose=False)
with h5py.File(out, "r") as f:
    print(f"wrote {out.name}: tracks {f['tracks'].shape}, {len(f['node_names'])} nodes")

# compare the unseen frames with the triangulated 3D, in the back camera's frame
lifted = lp.load_poses_3d(out).data[90:, 0]
truth = cameras["back"].world_to_camera(library.data[90:, 0])
root = lifter.keypoints.index("TTI")
others = [j for j in range(len(lifter.keypoints)) if j != root]
err = mpjpe(truth, lifted, [root], [others])
shown = np.isfinite(lifted).all(-1).mean()
print(f"frames 90-119: root-relative error {err:.1f} mm over {shown:.0%} of the points")
print("(90 training frames from 3 cameras is a very small library: this shows the plumbing)")
