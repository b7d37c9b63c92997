"""pandas HDF5 tables read with h5py (io/_pandas_hdf.py): the same frames pandas reads,
without PyTables, and nothing unpickled but plain values."""

from __future__ import annotations

import pickle

import h5py
import numpy as np
import pandas as pd
import pytest
from realdata import shared_file

from liftpose_dlc import load_dlc
from liftpose_dlc.errors import FileFormatError
from liftpose_dlc.io._pandas_hdf import PandasTable, Unsupported, pandas_keys, plain_unpickle
from liftpose_dlc.io.dlc import read_dlc_table
from liftpose_dlc.io.dlc_stream import DLCChunkReader

OPENFIELD = "dlc/openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
MONTBLANC = "dlc/montblanc_tracks.h5"
LABELLED = "dlc/multi_mouse-dlc_team-2022-04-12/labeled-data/m3v1mp4/CollectedData_dlc_team.h5"


def _frame(n: int = 7, multi: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    if multi:
        cols = pd.MultiIndex.from_product(
            [["DLC_scorer"], ["m1", "m2"], ["snout", "tail"], ["x", "y", "likelihood"]],
            names=["scorer", "individuals", "bodyparts", "coords"],
        )
    else:
        cols = pd.Index(["a", "b", "c"], name="coords")
    values = rng.normal(size=(n, len(cols)))
    values[2, 1] = np.nan
    return pd.DataFrame(values, index=np.arange(10, 10 + n), columns=cols)


@pytest.mark.parametrize("fmt", ["table", "fixed"])
@pytest.mark.parametrize("multi", [True, False])
def test_frames_read_as_pandas_reads_them(tmp_path, fmt, multi):
    path = tmp_path / "t.h5"
    frame = _frame(multi=multi)
    frame.to_hdf(path, key="df_with_missing", format=fmt, mode="w")
    with h5py.File(path, "r") as f:
        assert pandas_keys(f) == ["/df_with_missing"]
        table = PandasTable(f["df_with_missing"])
        assert table.n_rows == 7
        got = table.read()
        pd.testing.assert_frame_equal(got, pd.read_hdf(path, "df_with_missing"))
        pd.testing.assert_frame_equal(table.read(2, 5), frame.iloc[2:5])
        assert [len(c) for c in table.chunks(3)] == [3, 3, 1]
        assert table.read(6, 100).shape == (1, frame.shape[1])


def test_real_deeplabcut_files_read_as_pandas_reads_them(shared_data):
    for rel, key in ((OPENFIELD, "df_with_missing"), (MONTBLANC, "df")):
        path = shared_file(shared_data, rel)
        with h5py.File(path, "r") as f:
            got = PandasTable(f[key]).read()
        pd.testing.assert_frame_equal(got, pd.read_hdf(path, key))
        # DeepLabCut's readers take the h5py path: no HDFStore stays open
        with DLCChunkReader(path) as reader:
            assert reader._table is not None
            assert reader._store is None
            assert reader.n_frames == len(got)
        assert read_dlc_table(path).frame.equals(got)


def test_layouts_it_does_not_decode_go_to_pandas(shared_data, tmp_path):
    path = shared_file(shared_data, LABELLED)  # labelled frames: a string row index
    with h5py.File(path, "r") as f, pytest.raises(Unsupported):
        PandasTable(f[pandas_keys(f)[0]])
    table = read_dlc_table(path)  # read by pandas instead
    pd.testing.assert_frame_equal(table.frame, pd.read_hdf(path))
    assert table.frame.index[0].startswith("labeled-data/")
    assert load_dlc(path).n_frames == len(table.frame)


def test_only_plain_values_are_unpickled():
    assert plain_unpickle(pickle.dumps([("a", "b"), {"x": 1}], protocol=0)) == [
        ("a", "b"),
        {"x": 1},
    ]
    with pytest.raises(pickle.UnpicklingError, match="only plain values"):
        plain_unpickle(pickle.dumps(np.float64(1.0), protocol=0))  # a numpy scalar: a global
    with pytest.raises(pickle.UnpicklingError, match="only plain values"):
        plain_unpickle(b"cos\nsystem\n(S'echo hi'\ntR.")
    # a damaged memo reference (the fuzzer's find): an error at once, no giant memo
    with pytest.raises(pickle.UnpicklingError, match="damaged pickle"):
        plain_unpickle(b"(lp0\n(I1\nr895945268\n.")


def test_a_damaged_column_attribute_is_a_clear_error(tmp_path):
    path = tmp_path / "v.h5"
    _frame().to_hdf(path, key="df_with_missing", format="table", mode="w")
    with h5py.File(path, "r+") as f:
        f["df_with_missing"].attrs["non_index_axes"] = np.bytes_(b"(lp0\n(I1\nr999\n.")
    with pytest.raises(FileFormatError, match="damaged pickle") as info:
        load_dlc(path)
    assert str(path) in str(info.value)
