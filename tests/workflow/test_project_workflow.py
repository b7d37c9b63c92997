"""train_dlc_project and lift_dlc_project on DeepLabCut projects written in the tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from wf_helpers import (
    MOUSE,
    mouse_2d,
    mouse_library,
    one_thread_fixture,
    trained_mouse_model,
    write_analysis,
    write_config,
)

from liftpose_dlc import Lifter, lift_dlc_project, load_dlc, train_dlc_project
from liftpose_dlc.errors import KeypointError, MissingFileError, OutputExistsError
from liftpose_dlc.io.dlc import load_dlc_inferred
from liftpose_dlc.workflow import LiftSkippedWarning, project_lifter_path

one_torch_thread = pytest.fixture(autouse=True)(one_thread_fixture)

SKELETON = [["snout", "leftear"], ["snout", "rightear"], ["snout", "tailbase"]]


@pytest.fixture
def project(tmp_path):
    """A moved single-animal project: two analysed videos (one archived), one not analysed."""
    root = tmp_path / "mouse-tester-2024-01-01"
    config = write_config(root, MOUSE, ["a.mp4", "b.mp4", "never_analysed.mp4"], skeleton=SKELETON)
    write_analysis(root / "videos", "a.mp4", mouse_2d(n=90, seed=1))
    write_analysis(root / "videos", "b.mp4", mouse_2d(n=40, seed=2))
    (root / "videos" / "a.mp4").write_bytes(b"not really a video")  # b.mp4 is archived
    return config


def test_train_dlc_project_saves_lifter_and_record_inside_the_project(project):
    before = project.read_bytes()
    lifter = train_dlc_project(
        project,
        mouse_library(300),
        angle_ranges=[[-180, 180], [-10, 10], [-10, 10]],
        n_virtual_cameras=2,
        epochs=1,
        linear_size=16,
        units="mm",
        val=0.1,
        verbose=False,
    )
    assert project.read_bytes() == before  # DeepLabCut's config is never edited
    model = project_lifter_path(project)
    assert model == project.parent / "liftpose" / "lifter.safetensors"
    loaded = Lifter.load(model)
    assert loaded.keypoints == MOUSE == lifter.keypoints
    assert loaded.roots == [0]
    assert loaded.encoder.options.norm_2d  # virtual cameras: scale-free 2D
    record = yaml.safe_load((project.parent / "liftpose" / "lifter.yaml").read_text())
    assert record["keypoints"] == MOUSE
    assert record["roots"] == ["snout"]
    assert record["target_sets"] == [["leftear", "rightear", "tailbase"]]
    assert record["cameras"]["kind"] == "virtual"
    assert record["cameras"]["angle_ranges_deg"][1] == [-10.0, 10.0]
    assert record["library"]["poses"] == 300
    assert record["library"]["units"] == "mm"
    assert record["training_pairs"] == 600
    assert record["project_config"] == str(project.resolve())
    log = (project.parent / "liftpose" / "training" / "train_log.txt").read_text().splitlines()
    assert log[0].split("\t") == ["epoch", "lr", "loss_train", "loss_test", "err_test"]
    assert np.isfinite(float(log[1].split("\t")[3]))  # the validation loss is logged
    with pytest.raises(OutputExistsError, match="overwrite"):
        train_dlc_project(project, mouse_library(50), epochs=1, verbose=False)


def test_train_dlc_project_reports_missing_library_keypoints(project):
    library = mouse_library(50, names=["nose", "leftear", "rightear", "tailbase"])
    with pytest.raises(KeypointError, match="snout") as info:
        train_dlc_project(project, library, epochs=1, verbose=False)
    assert "keypoint_map" in str(info.value)
    lifter = train_dlc_project(
        project,
        library,
        keypoint_map={"snout": "nose"},
        n_virtual_cameras=1,
        epochs=1,
        linear_size=16,
        verbose=False,
    )
    assert lifter.keypoints == MOUSE


def test_lift_dlc_project_lifts_analysed_videos_and_reports_the_rest(project):
    model = trained_mouse_model()
    with pytest.warns(LiftSkippedWarning, match=r"1 video\(s\).*never_analysed\.mp4"):
        written = lift_dlc_project(project, model, verbose=False)
    videos = project.parent / "videos"
    names = [p.name for p in written]
    assert names == [f"{v}DLC_resnet50_testmouseJan1shuffle1_1000_3d.h5" for v in ("a", "b")]
    a = load_dlc(videos / names[0])
    assert a.data.shape == (90, 1, 4, 3)
    assert list(a.skeleton.edges) == [tuple(e) for e in SKELETON]
    frame = pd.read_hdf(videos / names[0])
    assert list(frame.columns.names) == ["scorer", "bodyparts", "coords"]
    # NaN exactly where the 2D likelihood is below the config's pcutoff (0.6), or the root's
    two = load_dlc(videos / "aDLC_resnet50_testmouseJan1shuffle1_1000.h5")
    low = two.confidence[:, 0] < 0.6
    np.testing.assert_array_equal(np.isnan(a.data[:, 0]).any(-1), low | low[:, :1])
    assert low.any()


def test_existing_outputs_are_kept_unless_overwrite(project):
    model = trained_mouse_model()
    with pytest.warns(LiftSkippedWarning):
        first = lift_dlc_project(project, model, verbose=False)
    stamps = [p.stat().st_mtime_ns for p in first]
    contents = [p.read_bytes() for p in first]
    with pytest.warns(LiftSkippedWarning, match="exists and is kept"):
        assert lift_dlc_project(project, model, verbose=False) == []
    assert [p.read_bytes() for p in first] == contents
    assert [p.stat().st_mtime_ns for p in first] == stamps
    with pytest.warns(LiftSkippedWarning):
        again = lift_dlc_project(project, model, overwrite=True, pcutoff=0.0, verbose=False)
    assert again == first
    assert not np.isnan(load_dlc(again[0]).data).any()  # pcutoff 0: every point lifted


def test_project_lifter_is_the_default_and_its_absence_is_explained(project):
    with pytest.raises(MissingFileError, match="train_dlc_project"):
        lift_dlc_project(project, verbose=False)
    model_dir = project.parent / "liftpose"
    model_dir.mkdir()
    (model_dir / "lifter.safetensors").write_bytes(trained_mouse_model().read_bytes())
    written = lift_dlc_project(project, videos=[project.parent / "videos" / "b.mp4"], verbose=False)
    assert [p.name[:1] for p in written] == ["b"]


def test_infer_occluded_csv_and_shuffle(project):
    model = trained_mouse_model()
    with pytest.warns(LiftSkippedWarning):
        written = lift_dlc_project(
            project, model, infer_occluded=True, save_as_csv=True, verbose=False
        )
    assert [p.suffix for p in written] == [".h5", ".csv", ".h5", ".csv"]
    inferred = load_dlc_inferred(written[0])[:, 0]
    two = load_dlc(project.parent / "videos" / "aDLC_resnet50_testmouseJan1shuffle1_1000.h5")
    low = two.confidence[:, 0] < 0.6
    np.testing.assert_array_equal(inferred, low & ~low[:, :1])
    with pytest.raises(MissingFileError, match="shuffle 2"):
        lift_dlc_project(project, model, shuffle=2, verbose=False)


def test_filtered_outputs_and_destfolder(tmp_path):
    root = tmp_path / "proj"
    config = write_config(root, MOUSE, ["c.mp4"])
    elsewhere = tmp_path / "analysis"
    write_analysis(elsewhere, "c.mp4", mouse_2d(n=30, seed=5))
    filt = write_analysis(elsewhere, "c.mp4", mouse_2d(n=30, seed=6), suffix="_filtered")
    model = trained_mouse_model()
    written = lift_dlc_project(config, model, destfolder=elsewhere, filtered=True, verbose=False)
    assert written == [filt.with_name(filt.stem + "_3d.h5")]
    written = lift_dlc_project(config, model, destfolder=elsewhere, verbose=False)
    assert written[0].name == "cDLC_resnet50_testmouseJan1shuffle1_1000_3d.h5"


def test_multi_animal_project_lifts_every_individual_with_unique_bodyparts(tmp_path):
    from liftpose_dlc import Poses

    root = tmp_path / "ma"
    config = write_config(
        root,
        [],
        ["m.mp4"],
        multianimal={
            "individuals": ["m1", "m2"],
            "multianimalbodyparts": ["snout", "leftear", "rightear"],
            "uniquebodyparts": ["tailbase"],
        },
    )
    rng = np.random.default_rng(0)
    n = 25
    data = np.full((n, 3, 4, 2), np.nan)
    data[:, :2, :3] = rng.normal(300, 20, size=(n, 2, 3, 2))
    data[:, 2, 3] = rng.normal(300, 20, size=(n, 2))
    conf = np.where(np.isnan(data[..., 0]), np.nan, 0.9)
    conf[3, 1, 0] = 0.1  # m2's root is uncertain in frame 3
    poses = Poses(data, MOUSE, individuals=["m1", "m2", "single"], confidence=conf)
    write_analysis(root / "videos", "m.mp4", poses, suffix="_el")
    written = lift_dlc_project(config, trained_mouse_model(), verbose=False)
    assert written[0].name.endswith("_el_3d.h5")
    lifted = load_dlc(written[0])
    assert lifted.individuals == ["m1", "m2"]
    assert lifted.keypoints == MOUSE  # the unique bodypart is lifted with each animal
    assert np.isfinite(lifted.data[:, 0]).all()
    assert np.isnan(lifted.data[3, 1]).all()
    assert np.isfinite(np.delete(lifted.data[:, 1], 3, axis=0)).all()
    assert pd.read_hdf(written[0]).columns.names == ["scorer", "individuals", "bodyparts", "coords"]


def test_lift_dlc_project_says_which_3d_file_came_from_which_analysis_file(project):
    model = trained_mouse_model()
    videos = project.parent / "videos"
    with pytest.warns(LiftSkippedWarning):
        result = lift_dlc_project(project, model, save_as_csv=True, verbose=False)
    analysis = {v: videos / f"{v}DLC_resnet50_testmouseJan1shuffle1_1000.h5" for v in "ab"}
    assert result.outputs == {a: a.with_name(a.stem + "_3d.h5") for a in analysis.values()}
    assert [v.csv for v in result.lifted] == [
        a.with_name(a.stem + "_3d.csv") for a in analysis.values()
    ]
    assert list(result) == [f for v in result.lifted for f in (v.output, v.csv)]
    [never] = result.skipped
    assert never.video.name == "never_analysed.mp4"
    assert never.analysis is None
    assert "no analysis output" in never.skipped
    with pytest.warns(LiftSkippedWarning):
        again = lift_dlc_project(project, model, verbose=False)
    assert again == []
    kept = [v for v in again.skipped if v.analysis is not None]
    assert [v.analysis for v in kept] == list(analysis.values())
    assert all("exists and is kept" in v.skipped for v in kept)
