"""Chunked DeepLabCut reading and writing, and lift_file on DeepLabCut files."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from wf_helpers import (
    MOUSE,
    SCORER,
    mouse_2d,
    one_thread_fixture,
    trained_mouse_model,
    write_analysis,
)

from liftpose_dlc import Poses, lift_file, load_dlc
from liftpose_dlc.errors import FileFormatError, OutputExistsError
from liftpose_dlc.io.dlc import load_dlc_inferred, save_dlc
from liftpose_dlc.io.dlc_stream import DLCChunkReader, DLCChunkWriter
from liftpose_dlc.workflow import lift_poses

one_torch_thread = pytest.fixture(autouse=True)(one_thread_fixture)


@pytest.fixture
def mouse_model():
    return trained_mouse_model()


def _poses_3d(n: int, individuals: list[str]) -> Poses:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(n, len(individuals), 3, 3))
    data[5, 0, 1] = np.nan
    return Poses(
        data,
        ["a", "b", "c"],
        individuals=individuals,
        skeleton=[("a", "b")],
        fps=30.0,
    )


def _write_chunked(poses: Poses, path: Path, inferred: np.ndarray, chunk: int, csv: Path | None):
    with contextlib.ExitStack() as stack:
        fh = stack.enter_context(open(csv, "w", newline="", encoding="utf-8")) if csv else None
        writer = DLCChunkWriter(
            path,
            poses.n_frames,
            scorer="me",
            multianimal=poses.n_individuals > 1,
            with_inferred=True,
            csv_file=fh,
        )
        stack.callback(writer.close)
        for a in range(0, poses.n_frames, chunk):
            sel = slice(a, a + chunk)
            writer.write(poses.select(frames=sel), inferred[sel])
        writer.check_complete()


@pytest.mark.parametrize("individuals", [["mouse"], ["m1", "m2"]])
def test_chunked_writer_equals_save_dlc(tmp_path, individuals):
    poses = _poses_3d(25, individuals)
    inferred = np.zeros((25, len(individuals), 3), dtype=bool)
    inferred[7, 0, 2] = True
    ref = save_dlc(poses, tmp_path / "ref.h5", scorer="me", inferred=inferred, save_as_csv=True)
    _write_chunked(poses, tmp_path / "chunked.h5", inferred, 4, tmp_path / "chunked.csv")
    a, b = pd.read_hdf(ref), pd.read_hdf(tmp_path / "chunked.h5")
    pd.testing.assert_frame_equal(a, b)
    assert (tmp_path / "chunked.csv").read_bytes() == ref.with_suffix(".csv").read_bytes()
    back = load_dlc(tmp_path / "chunked.h5")
    assert back.individuals == individuals
    assert back.fps == 30.0
    assert list(back.skeleton.edges) == [("a", "b")]
    np.testing.assert_array_equal(load_dlc_inferred(tmp_path / "chunked.h5"), inferred)


def test_chunked_file_readable_by_pandas_2(tmp_path):
    python = os.environ.get("LIFTPOSE_PANDAS2_PYTHON")
    if not python or not Path(python).exists():
        pytest.skip("LIFTPOSE_PANDAS2_PYTHON (a venv with pandas<3 and tables) is not set")
    poses = _poses_3d(30, ["m1", "m2"])
    out = tmp_path / "chunked.h5"
    _write_chunked(poses, out, np.zeros((30, 2, 3), dtype=bool), 7, None)
    code = (
        "import json, sys, pandas as pd; df = pd.read_hdf(sys.argv[1]); "
        "print(json.dumps({'v': pd.__version__, 'shape': list(df.shape), "
        "'x': df.iloc[:, 0].fillna(-1).tolist()}))"
    )
    proc = subprocess.run(
        [python, "-c", code, str(out)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["v"].startswith("2.")
    assert got["shape"] == [30, 2 * 3 * 4]
    expected = pd.read_hdf(out).iloc[:, 0].fillna(-1).tolist()
    np.testing.assert_allclose(got["x"], expected)


@pytest.mark.parametrize("table", [True, False])
def test_reader_streams_table_and_fixed_files(tmp_path, table):
    poses = mouse_2d(n=50)
    path = write_analysis(tmp_path, "v.mp4", poses, table=table)
    with DLCChunkReader(path) as reader:
        assert reader.n_frames == 50
        assert reader.keypoints == MOUSE
        assert reader.scorer == SCORER
        assert not reader.multianimal
        chunks = list(reader.chunks(16))
    assert [c.n_frames for c in chunks] == [16, 16, 16, 2]
    data = np.concatenate([c.data for c in chunks])
    np.testing.assert_allclose(data, load_dlc(path).data)


def test_reader_rejects_a_non_dlc_file(tmp_path):
    bad = tmp_path / "bad.h5"
    pd.DataFrame({"a": [1.0, 2.0]}).to_hdf(bad, key="x", format="fixed")
    with pytest.raises(FileFormatError, match="bad.h5"):
        DLCChunkReader(bad)


def test_lift_file_dlc_equals_in_memory_lift(tmp_path, mouse_model):
    poses = mouse_2d(n=120)
    src = write_analysis(tmp_path, "v.mp4", poses)
    out = lift_file(src, mouse_model, pcutoff=0.6, chunk_size=50, verbose=False)
    assert out == src.with_name(src.stem + "_3d.h5")
    lifted = load_dlc(out)
    expected = lift_poses(load_dlc(src), mouse_model, pcutoff=0.6).poses
    assert lifted.data.shape == (120, 1, 4, 3)
    np.testing.assert_allclose(lifted.data, expected.data, rtol=1e-4, atol=1e-4)  # float32
    frame = pd.read_hdf(out)
    assert list(frame.columns.names) == ["scorer", "bodyparts", "coords"]
    assert set(frame.columns.get_level_values("coords")) == {"x", "y", "z"}
    assert frame.columns.get_level_values("scorer")[0] == SCORER
    with pd.HDFStore(out, mode="r") as store:
        assert store.keys() == ["/df_with_missing"]
    # NaN exactly where the likelihood is below pcutoff (or the root's is)
    low = poses.confidence[:, 0] < 0.6
    np.testing.assert_array_equal(np.isnan(lifted.data[:, 0]).any(-1), low | low[:, :1])


def test_lift_file_keeps_existing_output_and_is_atomic(tmp_path, mouse_model, monkeypatch):
    src = write_analysis(tmp_path, "v.mp4", mouse_2d(n=60))
    out = lift_file(src, mouse_model, verbose=False)
    before = out.read_bytes()
    with pytest.raises(OutputExistsError, match="overwrite"):
        lift_file(src, mouse_model, verbose=False)
    assert out.read_bytes() == before

    from liftpose_dlc import engine

    calls = {"n": 0}
    original = engine.LiftEngine._lift

    def failing(self, window):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")
        return original(self, window)

    monkeypatch.setattr(engine.LiftEngine, "_lift", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        lift_file(src, mouse_model, overwrite=True, chunk_size=20, verbose=False, save_as_csv=True)
    assert out.read_bytes() == before  # the old output is untouched
    assert not out.with_suffix(".csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([src.name, out.name])


def test_lift_file_infer_occluded_and_csv(tmp_path, mouse_model):
    poses = mouse_2d(n=80)
    src = write_analysis(tmp_path, "v.mp4", poses)
    out = lift_file(
        src, mouse_model, pcutoff=0.6, infer_occluded=True, save_as_csv=True, verbose=False
    )
    inferred = load_dlc_inferred(out)[:, 0]
    low = poses.confidence[:, 0] < 0.6
    root_low = low[:, :1]
    np.testing.assert_array_equal(inferred, low & ~root_low)
    lifted = load_dlc(out).data[:, 0]
    np.testing.assert_array_equal(np.isnan(lifted).any(-1), np.broadcast_to(root_low, low.shape))
    csv = pd.read_csv(out.with_suffix(".csv"), header=[0, 1, 2], index_col=0)
    np.testing.assert_allclose(csv.to_numpy(), pd.read_hdf(out).to_numpy(), equal_nan=True)
    assert "inferred" in csv.columns.get_level_values(2)
