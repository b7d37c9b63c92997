"""DeepLabCut CSVs as other tools re-save them: read identically when unambiguous, else a
clear error (issue 11, defect 13). Every variant is made here from the real files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from realdata import shared_file

from liftpose_dlc import load_poses, load_poses_3d
from liftpose_dlc.errors import FileFormatError

MULTI_CSV = (
    "dlc/multi_mouse-dlc_team-2022-04-12/videos/"
    "m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_el_filtered.csv"
)
OPENFIELD_H5 = "dlc/openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"


def _header_rows(src: Path) -> int:
    return 4 if src.read_text().splitlines()[1].startswith("individuals") else 3


def _mangled(src: Path, dest: Path) -> None:  # read with one header row, saved back
    pd.read_csv(src).to_csv(dest, index=False)


def _mangled_with_index(src: Path, dest: Path) -> None:  # ... and pandas' row numbers
    pd.read_csv(src).to_csv(dest)


def _bom(src: Path, dest: Path) -> None:
    dest.write_text("\ufeff" + src.read_text(), encoding="utf-8")


def _semicolons(src: Path, dest: Path) -> None:
    dest.write_text(src.read_text().replace(",", ";"))


def _semicolons_decimal_commas(src: Path, dest: Path) -> None:  # a European spreadsheet
    dest.write_text(src.read_text().replace(",", ";").replace(".", ","))


def _tabs_crlf(src: Path, dest: Path) -> None:
    dest.write_bytes(src.read_text().replace(",", "\t").replace("\n", "\r\n").encode())


def _named_index(src: Path, dest: Path) -> None:  # an index name row after the header
    table = pd.read_csv(src, header=list(range(_header_rows(src))), index_col=0)
    table.index.name = "frame"
    table.to_csv(dest)


def _renamed_first_cell(src: Path, dest: Path) -> None:
    lines = src.read_text().splitlines(keepends=True)
    lines[0] = "frame" + lines[0][len("scorer") :]
    dest.write_text("".join(lines))


def _tuple_columns(src: Path, dest: Path) -> None:  # df.columns = [str(c) for c in ...]
    table = pd.read_csv(src, header=list(range(_header_rows(src))), index_col=0)
    table.columns = [str(c) for c in table.columns]
    table.to_csv(dest)


VARIANTS: dict[str, Callable[[Path, Path], None]] = {
    "mangled scorer": _mangled,
    "mangled scorer and row numbers": _mangled_with_index,
    "byte-order mark": _bom,
    "semicolons": _semicolons,
    "semicolons and decimal commas": _semicolons_decimal_commas,
    "tabs and CRLF": _tabs_crlf,
    "named index row": _named_index,
    "renamed first cell": _renamed_first_cell,
    "tuple column names": _tuple_columns,
}


@pytest.fixture(params=["multi-animal", "openfield"])
def original(request, shared_data: Path, tmp_path_factory) -> Path:
    if request.param == "multi-animal":
        return shared_file(shared_data, MULTI_CSV)
    dest = tmp_path_factory.mktemp("openfield") / "m3v1mp4DLC_openfield.csv"
    pd.read_hdf(shared_file(shared_data, OPENFIELD_H5)).to_csv(dest)
    return dest


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_resaved_csv_reads_as_the_original(original: Path, tmp_path: Path, variant: str):
    dest = tmp_path / f"resaved {variant}.csv"
    VARIANTS[variant](original, dest)
    assert dest.read_bytes() != original.read_bytes()
    want, got = load_poses(original), load_poses(dest)
    assert got.keypoints == want.keypoints
    assert got.individuals == want.individuals
    assert got.data.shape == want.data.shape
    np.testing.assert_array_equal(got.data, want.data)
    np.testing.assert_array_equal(got.confidence, want.confidence)


def test_flattened_names_are_a_clear_error(shared_data: Path, tmp_path: Path):
    src = shared_file(shared_data, MULTI_CSV)
    table = pd.read_csv(src, header=[0, 1, 2, 3], index_col=0)
    table.columns = ["_".join(c) for c in table.columns]
    dest = tmp_path / "flat.csv"
    table.to_csv(dest)
    with pytest.raises(FileFormatError, match="flattened DeepLabCut columns") as info:
        load_poses(dest)
    assert str(dest) in str(info.value)
    assert "individual1_bodypart1_x" in str(info.value)


def test_a_3d_csv_resaved_with_semicolons(tmp_path: Path):
    rng = np.random.default_rng(0)
    cols = pd.MultiIndex.from_product(
        [["liftpose-dlc"], ["head", "tail"], ["x", "y", "z"]],
        names=["scorer", "bodyparts", "coords"],
    )
    table = pd.DataFrame(rng.normal(size=(5, 6)), columns=cols)
    table.to_csv(tmp_path / "a_3d.csv")
    _semicolons_decimal_commas(tmp_path / "a_3d.csv", tmp_path / "b_3d.csv")
    got = load_poses_3d(tmp_path / "b_3d.csv")
    np.testing.assert_allclose(got.data[:, 0], table.to_numpy().reshape(5, 2, 3))
