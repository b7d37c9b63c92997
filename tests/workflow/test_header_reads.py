"""One read of an analysis file's header serves every check of a lift (issue 10, 11 defect 9):
the bodyparts check, the 3D check, the keypoint map and the lift itself (a DeepLabCut table's
header is read by its chunk reader: counted here)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from wf_helpers import (
    MOUSE,
    mouse_2d,
    mouse_library,
    one_thread_fixture,
    trained_mouse_model,
    write_analysis,
    write_config,
)

from liftpose_dlc import Poses, lift_dlc_project, lift_file, load_dlc, save_dlc
from liftpose_dlc.errors import FileFormatError
from liftpose_dlc.io import dlc_stream
from liftpose_dlc.io.registry import Probe, get_format, sniff
from liftpose_dlc.io.sleap import save_sleap_3d

one_torch_thread = pytest.fixture(autouse=True)(one_thread_fixture)


@pytest.fixture
def opened(monkeypatch) -> list[str]:
    """The files DLCChunkReader opened (each open reads the header)."""
    paths: list[str] = []
    real = dlc_stream.DLCChunkReader.__init__

    def counting(self, path, **kwargs):
        paths.append(str(path))
        real(self, path, **kwargs)

    monkeypatch.setattr(dlc_stream.DLCChunkReader, "__init__", counting)
    return paths


def test_a_project_lift_reads_each_analysis_header_once(tmp_path, opened):
    renamed = ["nose", *MOUSE[1:]]  # the bodyparts check must still see the file's names
    config = write_config(tmp_path / "p", renamed, ["a.mp4", "b.mp4"])
    a = write_analysis(tmp_path / "p" / "videos", "a.mp4", mouse_2d(n=30, seed=1))
    b = write_analysis(tmp_path / "p" / "videos", "b.mp4", mouse_2d(n=20, seed=2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = lift_dlc_project(config, trained_mouse_model(), verbose=False)
    assert sorted(opened) == sorted([str(a), str(b)])  # once each
    assert len([w for w in caught if "renamed" in str(w.message)]) == 2
    assert {p.name for p in result.outputs} == {a.name, b.name}
    assert load_dlc(result.outputs[a]).data.shape == (30, 1, 4, 3)


def test_lift_file_reads_the_header_once_with_a_keypoint_map(tmp_path, opened):
    poses = mouse_2d(n=25)
    src = write_analysis(tmp_path, "v.mp4", poses.replace(keypoints=["nose", *MOUSE[1:]]))
    out = lift_file(src, trained_mouse_model(), keypoint_map={"nose": "snout"}, verbose=False)
    assert opened == [str(src)]
    lifted = load_dlc(out)
    assert lifted.keypoints == ["nose", *MOUSE[1:]]
    assert np.isfinite(lifted.data).all()


def test_3d_files_are_refused_by_what_the_registry_knows(tmp_path, opened):
    dlc_3d = save_dlc(Poses(mouse_library(12).data, MOUSE), tmp_path / "x_3d.h5")
    sleap_3d = save_sleap_3d(Poses(mouse_library(12).data, MOUSE), tmp_path / "s_3d.h5")
    for path in (dlc_3d, sleap_3d):
        with pytest.raises(FileFormatError, match="this is already 3D") as info:
            lift_file(path, trained_mouse_model(), verbose=False)
        assert str(path) in str(info.value)
    assert opened == [str(dlc_3d)]  # the DeepLabCut table's header told it; SLEAP's: the probe
    # the formats say so themselves (Format.dims_of), from one look at the file
    assert sniff(dlc_3d).dims_of(Probe.of(dlc_3d)) == 3
    assert get_format("sleap_analysis").dims_of(Probe.of(sleap_3d)) == 3
    src = write_analysis(tmp_path, "v.mp4", mouse_2d(n=5))
    assert sniff(src).dims_of(Probe.of(src)) == 2
    with dlc_stream.DLCChunkReader(dlc_3d) as reader:
        assert reader.n_dims == 3
