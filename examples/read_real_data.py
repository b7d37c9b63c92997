"""Read the real DeepLabCut (and SLEAP) files in ``../shared/data`` and print a short summary.

Run from the repository root::

    python examples/read_real_data.py            # or: make demo
    LIFTPOSE_SHARED_DATA=/path/to/data python examples/read_real_data.py

The data folder is not part of the repository; without it the script says so and exits 0.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np

import liftpose_dlc as lp
from liftpose_dlc.io.dlc_config import config_pcutoff

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("LIFTPOSE_SHARED_DATA", REPO.parent / "shared" / "data"))


def summary(name: str, poses: lp.Poses, pcutoff: float | None) -> None:
    print(f"{name}")
    print(
        f"  {poses.n_frames} frames, {poses.n_individuals} individual(s) {poses.individuals}, "
        f"{poses.n_keypoints} keypoints, {poses.n_dims}D, fps={poses.fps}"
    )
    print(f"  keypoints: {', '.join(poses.keypoints)}")
    conf = poses.confidence
    known = ~np.isnan(conf)
    if pcutoff is not None and known.any():
        below = float((conf[known] < pcutoff).mean())
        print(f"  {below:.1%} of the detected points have likelihood below pcutoff={pcutoff}")
    missing = float(np.isnan(poses.data[..., 0]).mean())
    print(
        f"  {missing:.1%} of all points are NaN (undetected, below pcutoff, or keypoints "
        "an individual does not have, e.g. unique bodyparts)"
    )


def main() -> int:
    if not DATA.is_dir():
        print(
            f"The real-data folder {DATA} is absent (it lives beside the repository in "
            "development and CI; set LIFTPOSE_SHARED_DATA to point elsewhere). Nothing to read."
        )
        return 0
    dlc = DATA / "dlc"

    # single animal: find the analysis output through the (moved) project's config
    openfield = dlc / "openfield" / "config.yaml"
    if openfield.is_file():
        cfg = lp.read_dlc_config(openfield)
        outputs = lp.find_analysis_outputs(cfg, videos=[openfield.parent / "videos"])
        for video, output in outputs.items():
            poses = lp.load_dlc(output, config=cfg)
            summary(f"DeepLabCut {output.name} (video {video.name})", poses, config_pcutoff(cfg))

    # multi-animal project: tracked tables, unique bodyparts under "single"
    mm = dlc / "multi_mouse-dlc_team-2022-04-12" / "config.yaml"
    if mm.is_file():
        cfg = lp.read_dlc_config(mm)
        outputs = lp.find_analysis_outputs(cfg, missing="skip", filtered=True)
        for video, output in outputs.items():
            if output is None:
                print(f"{video.name}: no analysis output (skipped)")
                continue
            poses = lp.load_dlc(output, config=cfg)
            summary(f"DeepLabCut {output.name}", poses, config_pcutoff(cfg))

    montblanc = dlc / "montblanc_tracks.h5"
    if montblanc.is_file():
        summary(f"DeepLabCut {montblanc.name}", lp.load_poses(montblanc, pcutoff=0.6), 0.6)

    if importlib.util.find_spec("liftpose_dlc.io.sleap") is None:
        print("SLEAP reader (liftpose_dlc.io.sleap) not available: SLEAP files not read")
    else:
        for name in ["centered_pair_predictions.slp", "centered_pair_predictions.analysis.h5"]:
            path = DATA / "sleap" / name
            if path.is_file():
                try:
                    summary(f"SLEAP {name}", lp.load_poses(path), None)
                except lp.LiftPoseError as exc:  # e.g. sleap-io not installed
                    print(f"SLEAP {name}: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
