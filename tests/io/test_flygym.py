"""flygym's Spotlight clip (real file in ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from realdata import shared_file

from liftpose_dlc.errors import FileFormatError
from liftpose_dlc.io.flygym import load_spotlight

CLIP = "3d/flygym_spotlight/spotlight_behavior_clip.npz"


def _edges(poses) -> list[tuple[str, str]]:
    """Skeleton edges as name pairs (a list of pairs, or a Skeleton's ``edges``)."""
    sk = poses.skeleton
    return [tuple(e) for e in getattr(sk, "edges", sk)]


def test_spotlight(shared_data: Path) -> None:
    p = load_spotlight(shared_file(shared_data, CLIP))
    assert p.data.shape == (660, 1, 30, 3)
    assert p.keypoints[:5] == ["LF_Coxa", "LF_Femur", "LF_Tibia", "LF_Tarsus", "LF_Claw"]
    assert p.keypoints[15] == "RF_Coxa"
    assert p.fps == pytest.approx(330)
    assert len(_edges(p)) == 24
    assert ("LF_Coxa", "LF_Femur") in _edges(p)
    x = p.data[:, 0].reshape(660, 6, 5, 3)
    seg = np.median(np.linalg.norm(np.diff(x, axis=2), axis=-1), axis=0)  # mm
    # README: coxa 0.18-0.36, femur 0.61-0.75, tibia 0.49-0.68, tarsus 0.51-0.63 mm
    assert np.all((seg[:, 0] > 0.17) & (seg[:, 0] < 0.37))
    assert np.all((seg[:, 1] > 0.6) & (seg[:, 1] < 0.76))
    assert np.median(x[:, :, 4, 2]) == pytest.approx(0, abs=0.1)  # tarsus tips at z = 0
    fk = load_spotlight(shared_file(shared_data, CLIP), which="fwdkin")
    d = np.linalg.norm(fk.data - p.data, axis=-1)
    assert 0.01 < np.median(d) < 0.1


def test_not_a_clip(tmp_path: Path) -> None:
    f = tmp_path / "x.npz"
    np.savez(f, a=np.zeros(3))
    with pytest.raises(FileFormatError, match="rawpred_egoxyz"):
        load_spotlight(f)
