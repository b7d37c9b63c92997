"""Lifting many videos on dask.distributed: 20 copies of the real openfield analysis output."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from realdata import shared_file
from seeded_model import MOUSE, seeded_model_file

from liftpose_dlc.cli import main
from liftpose_dlc.io.dlc import load_dlc
from liftpose_dlc.workflow import lift_dlc_project
from liftpose_dlc.workflow.file_lift import lift_dlc_file

distributed = pytest.importorskip("distributed", reason="needs the cluster extra (dask)")

SCORER = "DLC_resnet50_openfieldAug20shuffle1_30000"
N_VIDEOS = 20


@pytest.fixture
def project(shared_data, tmp_path):
    """A project folder with 20 copies of the real analysis output, and a seeded lifter."""
    src = shared_file(shared_data, "dlc/openfield")
    root = tmp_path / "openfield"
    (root / "videos").mkdir(parents=True)
    shutil.copy(src / "config.yaml", root / "config.yaml")
    h5 = src / "videos" / f"m3v1mp4{SCORER}.h5"
    videos = []
    for i in range(N_VIDEOS):
        shutil.copy(h5, root / "videos" / f"v{i:02d}{SCORER}.h5")
        videos.append(str(root / "videos" / f"v{i:02d}.mp4"))  # need not exist
    model = seeded_model_file(tmp_path / "mouse.safetensors", MOUSE, 60.0, 20.0, seed=1)
    return root / "config.yaml", videos, model


def _lift(config, videos, model, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lift_dlc_project(config, model, videos=videos, verbose=False, **kwargs)


def test_threads_cluster_lifts_every_video_reports_a_bad_one_and_resumes(project, tmp_path):
    config, videos, model = project
    bad = Path(videos[7]).with_name(f"v07{SCORER}.h5")
    bad.write_bytes(b"not an HDF5 file")
    expected = lift_dlc_file(
        config.parent / "videos" / f"v00{SCORER}.h5", tmp_path / "serial_3d.h5", model
    )
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        result = _lift(config, videos, model, scheduler=cluster)
        assert len(result.lifted) == N_VIDEOS - 1
        assert [v.analysis for v in result.failed] == [bad]
        assert str(bad) in result.failed[0].error
        truth = load_dlc(expected).data
        for video in result.lifted:
            assert video.output.name == video.analysis.stem + "_3d.h5"
            np.testing.assert_array_equal(load_dlc(video.output).data, truth)
        assert not list(config.parent.glob("videos/*.tmp*"))  # atomic: no temporaries

        # a rerun lifts only what is not finished: the bad file (fixed now)
        shutil.copy(config.parent / "videos" / f"v00{SCORER}.h5", bad)
        stamps = {v.output: v.output.stat().st_mtime_ns for v in result.lifted}
        again = _lift(config, videos, model, scheduler=cluster)
        assert [v.analysis for v in again.lifted] == [bad]
        assert len(again.skipped) >= N_VIDEOS - 1
        assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())


@pytest.mark.slow
def test_process_workers_load_the_lifter_once_each(project):
    config, videos, model = project
    from liftpose_dlc.workflow import batch

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        result = _lift(config, videos[:6], model, scheduler=client)
        assert len(result.lifted) == 6
        loaded = client.run(lambda: len(batch._WORKER_LIFTERS))
        assert sorted(loaded.values()) == [1, 1]  # one lifter per worker for 6 videos
    assert all(v.output.is_file() for v in result.lifted)


def test_cli_workers_and_scheduler_options(project, capsys):
    config, videos, model = project
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        args = ["lift", str(config), "--model", str(model), "--videos", *videos[:3], "-q"]
        assert main([*args, "--scheduler", cluster.scheduler_address]) == 0
    written = sorted(config.parent.glob("videos/*_3d.h5"))
    assert [p.name for p in written] == [f"v{i:02d}{SCORER}_3d.h5" for i in range(3)]
    with pytest.raises(SystemExit):
        main([*args, "--workers", "2", "--scheduler", "tcp://x:1"])
    assert "not allowed with" in capsys.readouterr().err


def test_scheduler_arguments_are_checked():
    from liftpose_dlc.errors import ConfigError
    from liftpose_dlc.workflow.batch import open_client

    with pytest.raises(ConfigError, match="workers must be an int >= 1"):
        open_client("local", 0)
    with pytest.raises(ConfigError, match="not both"):
        open_client("tcp://127.0.0.1:1", 2)
    with pytest.raises(ConfigError, match="scheduler must be 'local', an address"):
        open_client(42)
