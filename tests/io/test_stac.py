"""STAC-MJX mouse mocap (real file in ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from realdata import shared_file

from liftpose_dlc.errors import FileFormatError, KeypointError
from liftpose_dlc.io.stac import STAC_MOUSE_SKELETON, load_stac_keypoint_names, load_stac_mocap

H5 = "3d/stac_mouse/test_mouse_mocap_3600_frames.h5"
YAML = "3d/stac_mouse/test_mouse.yaml"


def _edges(poses) -> list[tuple[str, str]]:
    """Skeleton edges as name pairs (a list of pairs, or a Skeleton's ``edges``)."""
    sk = poses.skeleton
    return [tuple(e) for e in getattr(sk, "edges", sk)]


def test_stac_mouse(shared_data: Path) -> None:
    p = load_stac_mocap(shared_file(shared_data, H5), shared_file(shared_data, YAML))
    assert p.data.shape == (3600, 1, 34, 3)
    assert p.keypoints[:3] == ["Nose", "Ear_R", "Ear_L"]
    assert p.keypoints[-1] == "MTP_R"
    assert len(_edges(p)) == len(STAC_MOUSE_SKELETON)
    x = p.data[:, 0]
    k = p.keypoints

    def bone(a: str, b: str) -> float:
        return float(np.median(np.linalg.norm(x[:, k.index(a)] - x[:, k.index(b)], axis=-1)))

    # mm (README medians): Nose-Head 26, Ear_L-Ear_R 32, Hip-Knee 19, Nose-Tail_0 121
    assert bone("Nose", "Head") == pytest.approx(26, abs=1)
    assert bone("Ear_L", "Ear_R") == pytest.approx(32, abs=1)
    assert bone("Hip_L", "Knee_L") == pytest.approx(19, abs=1)
    assert bone("Nose", "Tail_0") == pytest.approx(121, abs=2)
    assert np.median(x[:, k.index("Heel_L"), 1]) > np.median(x[:, k.index("Trunk"), 1])  # +y down


def test_names_needed(shared_data: Path, tmp_path: Path) -> None:
    h5 = shared_file(shared_data, H5)
    with pytest.raises(KeypointError, match="config="):
        load_stac_mocap(h5)
    with pytest.raises(KeypointError, match="34 keypoints"):
        load_stac_mocap(h5, keypoints=["a"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("FTOL: 1\n")
    with pytest.raises(FileFormatError, match="KP_NAMES"):
        load_stac_keypoint_names(bad)
    with pytest.raises(FileFormatError, match="no dataset"):
        load_stac_mocap(h5, keypoints=["a"], dataset="nope")
