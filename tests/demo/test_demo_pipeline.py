"""The demo pipeline end to end, in its quick mode (tiny lifter, few frames)."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from wf_helpers import one_thread_fixture

from liftpose_dlc import load_dlc
from liftpose_dlc.demo.pipeline import NOTICE, run_demo

one_torch_thread = pytest.fixture(autouse=True)(one_thread_fixture)


@pytest.mark.slow
def test_quick_demo_writes_project_lift_figures_and_summary(tmp_path):
    pytest.importorskip("av")
    result = run_demo(tmp_path / "demo", quick=True, verbose=False)
    project = result.project
    assert project.config_path.is_file()
    assert project.video_path.is_file()
    assert result.model_path == project.project_dir / "liftpose" / "lifter.safetensors"
    assert (project.project_dir / "liftpose" / "lifter.yaml").is_file()
    assert result.lifted_path == project.analysis_path.with_name(
        project.analysis_path.stem + "_3d.h5"
    )
    lifted = load_dlc(result.lifted_path)
    assert lifted.data.shape == (project.n_frames, 1, 30, 3)
    assert list(pd.read_hdf(result.lifted_path).columns.names) == ["scorer", "bodyparts", "coords"]
    for name in ("loss", "errors", "frame", "animation"):
        assert result.figures[name].is_file()
        assert result.figures[name].stat().st_size > 1000
    # the error is against the known 3D (mm), root-relative: a fly's leg is about 2 mm long
    ev = result.evaluation
    assert 0 < ev.mpjpe < 0.6
    assert ev.mpjpe < result.baseline.mpjpe  # better than a constant pose
    assert 0.5 < ev.coverage <= 1.0
    summary = result.summary_path.read_text()
    assert NOTICE in summary  # says the data are generated
    assert "GENERATED" in summary
    numbers = yaml.safe_load((result.summary_path.parent / "summary.yaml").read_text())
    assert numbers["error_mm"]["mpjpe"] == pytest.approx(ev.mpjpe)
    assert numbers["quick"] is True
    # a second run replaces its own outputs
    again = run_demo(tmp_path / "demo", quick=True, verbose=False)
    assert again.evaluation.mpjpe == pytest.approx(ev.mpjpe, rel=1e-6)
