"""DANNCE predictions and skeletons (real files in ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from realdata import shared_file

from liftpose_dlc.errors import FileFormatError, KeypointError
from liftpose_dlc.io.dannce import load_dannce_predictions, load_dannce_skeleton

MOUSE = "3d/dannce_mouse1_predictions"
RAT = "3d/stac_rat"


def _edges(poses) -> list[tuple[str, str]]:
    """Skeleton edges as name pairs (a list of pairs, or a Skeleton's ``edges``)."""
    sk = poses.skeleton
    return [tuple(e) for e in getattr(sk, "edges", sk)]


def _median_bone(poses, a: str, b: str) -> float:
    x = poses.data[:, 0]
    k = poses.keypoints
    return float(np.median(np.linalg.norm(x[:, k.index(a)] - x[:, k.index(b)], axis=-1)))


def test_mouse22_skeleton(shared_data: Path) -> None:
    names, edges = load_dannce_skeleton(shared_file(shared_data, f"{MOUSE}/mouse22_skeleton.mat"))
    assert len(names) == 22
    assert names[:3] == ["EarL", "EarR", "Snout"]
    assert names[5] == "Tail(base)"
    assert len(edges) == 24
    assert ("EarL", "EarR") in edges


def test_dannce_mouse_predictions(shared_data: Path) -> None:
    p = load_dannce_predictions(
        shared_file(shared_data, f"{MOUSE}/save_data_AVG.mat"),
        shared_file(shared_data, f"{MOUSE}/mouse22_skeleton.mat"),
    )
    assert p.data.shape == (1000, 1, 22, 3)
    assert p.confidence.shape == (1000, 1, 22)
    assert p.confidence.min() >= 0.001
    assert p.confidence.max() <= 0.8
    # mm (README medians): Snout-SpineF 36, EarL-EarR 18, KneeL-AnkleL 15
    assert _median_bone(p, "Snout", "SpineF") == pytest.approx(36, abs=1)
    assert _median_bone(p, "EarL", "EarR") == pytest.approx(18, abs=1)
    assert _median_bone(p, "KneeL", "AnkleL") == pytest.approx(15, abs=1)
    assert np.median(p.data[:, 0, p.keypoints.index("HindpawL"), 2]) < 10  # z up, floor at 0


def test_stac_rat(shared_data: Path) -> None:
    p = load_dannce_predictions(
        shared_file(shared_data, f"{RAT}/test_rodent_mocap_1000_frames.mat"),
        shared_file(shared_data, f"{RAT}/rat23.mat"),
    )
    assert p.data.shape == (1000, 1, 23, 3)
    assert p.keypoints[:3] == ["Snout", "EarL", "EarR"]
    assert len(_edges(p)) == 23
    assert _median_bone(p, "Snout", "EarL") == pytest.approx(47, abs=1)
    assert _median_bone(p, "HipL", "KneeL") == pytest.approx(30, abs=1)
    assert p.confidence is None or np.isnan(p.confidence).all()  # no p_max in this file


def test_names_required_and_checked(shared_data: Path) -> None:
    pred = shared_file(shared_data, f"{RAT}/test_rodent_mocap_1000_frames.mat")
    with pytest.raises(KeypointError, match="skeleton="):
        load_dannce_predictions(pred)
    with pytest.raises(KeypointError, match="23 keypoints"):
        load_dannce_predictions(pred, keypoints=["a", "b"])
    with pytest.raises(FileFormatError, match="joint_names"):
        load_dannce_skeleton(pred)
    with pytest.raises(FileFormatError, match="no 'pred'"):
        load_dannce_predictions(shared_file(shared_data, f"{RAT}/rat23.mat"), keypoints=["a"])
