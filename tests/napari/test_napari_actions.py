"""The widget's logic without Qt: inspecting tracking files, individuals, lifting, saving."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from napari_testdata import OPENFIELD_H5, OPENFIELD_VIDEO, SLEAP_SLP, SLEAP_VIDEO
from realdata import shared_file

from liftpose_dlc import Poses
from liftpose_dlc.errors import (
    ConfigError,
    FileFormatError,
    KeypointError,
    MissingFileError,
    ModelFileError,
    OutputExistsError,
)
from liftpose_dlc.io import load_poses
from liftpose_dlc.io.dlc import load_dlc
from liftpose_dlc.workflow.lifting import lift_poses
from napari_liftpose.actions import (
    DLC,
    SLEAP,
    LiftRequest,
    default_individuals,
    default_output_path,
    find_dlc_config,
    find_video,
    frames_tracked,
    individual_choices,
    inspect_tracking,
    run_lift,
    save_lifted,
    select_individuals,
)


def drain(generator):
    """Run a generator to its end: its yields and its return value."""
    steps = []
    while True:
        try:
            steps.append(next(generator))
        except StopIteration as stop:
            return steps, stop.value


# ------------------------------------------------------------------- finding the video


def test_find_video_by_dlc_naming(tmp_path):
    for name in ["mouse.mp4", "mouse_long.avi", "other.mp4", "notes.txt"]:
        (tmp_path / name).touch()
    pose = tmp_path / "mouse_longDLC_resnet50_taskAug20shuffle1_30000_el_filtered.h5"
    assert find_video(pose, DLC) == (tmp_path / "mouse_long.avi").resolve()  # longest stem
    old = tmp_path / "mouseDeepCut_resnet50_task.h5"
    assert find_video(old, DLC) == (tmp_path / "mouse.mp4").resolve()
    # an output in <project>/<somewhere>: the project's videos folder
    project = tmp_path / "proj"
    (project / "videos").mkdir(parents=True)
    (project / "videos" / "m1.mkv").touch()
    (project / "analysis").mkdir()
    assert (
        find_video(project / "analysis" / "m1DLC_x.h5", DLC)
        == (project / "videos" / "m1.mkv").resolve()
    )
    # a name that only starts like a video is not its output
    assert find_video(tmp_path / "mouse2DLC_x.h5", DLC) is None


def test_find_video_same_stem_and_none(tmp_path):
    (tmp_path / "session.mp4").touch()
    assert find_video(tmp_path / "session.analysis.h5") == (tmp_path / "session.mp4").resolve()
    assert find_video(tmp_path / "session.slp") == (tmp_path / "session.mp4").resolve()
    assert find_video(tmp_path / "unrelated.h5") is None


def test_find_video_stored_in_sleap_files(shared_data):
    video = shared_file(shared_data, SLEAP_VIDEO).resolve()
    # the stored path is relative to SLEAP's repository: found by name beside the file
    for rel in (SLEAP_SLP, "sleap/centered_pair_predictions.analysis.h5"):
        assert find_video(shared_file(shared_data, rel), SLEAP) == video


def test_find_dlc_config_checks_bodyparts(shared_data, tmp_path):
    h5 = shared_file(shared_data, OPENFIELD_H5)
    assert find_dlc_config(h5, ["snout", "tailbase"]) == shared_data / "dlc/openfield/config.yaml"
    assert find_dlc_config(h5, ["snout", "wing"]) is None  # another project's config
    (tmp_path / "config.yaml").write_text("not: [a DeepLabCut config")
    assert find_dlc_config(tmp_path / "x.h5") is None


# ------------------------------------------------------------------------ inspecting


def test_inspect_dlc_output(shared_data):
    info = inspect_tracking(shared_file(shared_data, OPENFIELD_H5))
    assert info.software == DLC
    assert info.poses_path == info.path
    assert info.video_path == shared_file(shared_data, OPENFIELD_VIDEO).resolve()
    assert info.config_path == shared_data / "dlc/openfield/config.yaml"
    assert info.pcutoff == 0.4
    assert info.lifter_path is None  # the real project has no lifter
    assert info.poses.data.shape == (2330, 1, 4, 2)
    assert info.individuals == ["individual_0"]
    # stored as is: no pcutoff applied
    assert np.isfinite(info.poses.data).all()


def test_inspect_finds_the_project_lifter_and_skeleton(openfield_project):
    info = inspect_tracking(openfield_project["h5"])
    assert info.lifter_path == openfield_project["lifter"].resolve()
    assert info.config_path == openfield_project["config"]
    assert list(info.poses.skeleton.edges) == [
        ("snout", "leftear"),
        ("snout", "rightear"),
        ("snout", "tailbase"),
    ]
    assert info.video_path is None  # the copy has no video beside it


def test_inspect_config_yaml(tmp_path):
    from liftpose_dlc.demo import make_demo_project

    demo = make_demo_project(tmp_path, n_frames=12, library_walks=1, library_frames=12)
    info = inspect_tracking(demo.config_path)
    assert info.path == demo.config_path
    assert info.poses_path == demo.analysis_path
    assert info.video_path == demo.video_path
    assert info.pcutoff == 0.6
    assert info.poses.n_frames == 12
    assert len(info.poses.skeleton.edges) == 24  # 6 legs x 4 segments
    # the video picked decides the analysis output; one without output is an error
    other = tmp_path / "other.mp4"
    other.touch()
    with pytest.raises(MissingFileError, match="other.mp4"):
        inspect_tracking(demo.config_path, video=other)


def test_inspect_sleap(shared_data):
    info = inspect_tracking(shared_file(shared_data, SLEAP_SLP))
    assert info.software == SLEAP
    assert info.video_path == shared_file(shared_data, SLEAP_VIDEO).resolve()
    assert info.config_path is None
    assert info.pcutoff is None
    assert len(info.individuals) == 27
    assert info.poses.n_keypoints == 24


def test_inspect_errors_name_the_file(tmp_path):
    with pytest.raises(MissingFileError, match="nothere.h5"):
        inspect_tracking(tmp_path / "nothere.h5")
    text = tmp_path / "notes.csv"
    text.write_text("a,b\n1,2\n")
    with pytest.raises(FileFormatError, match="notes.csv"):
        inspect_tracking(text)


# ----------------------------------------------------------------------- individuals


def test_sleap_fragments_default_to_the_best_tracked(shared_data):
    poses = inspect_tracking(shared_file(shared_data, SLEAP_SLP)).poses
    counts = frames_tracked(poses)
    assert counts["1"] == counts["2"] == 1100
    assert counts["3"] == 4
    assert default_individuals(poses) == ["1", "2"]
    assert select_individuals(poses, ["2"]).individuals == ["2"]
    assert select_individuals(poses, None) is poses
    with pytest.raises(KeypointError, match="28"):
        select_individuals(poses, ["28"])


def test_single_is_not_a_choice_but_stays_with_the_animals():
    poses = Poses(
        np.ones((5, 3, 2, 2)), keypoints=["a", "corner"], individuals=["m1", "m2", "single"]
    )
    assert individual_choices(poses) == ["m1", "m2"]
    assert default_individuals(poses) == ["m1", "m2"]
    assert select_individuals(poses, ["m2"]).individuals == ["m2", "single"]
    few = Poses(np.ones((5, 2, 1, 2)), keypoints=["a"])
    assert default_individuals(few) == ["individual_0", "individual_1"]


# --------------------------------------------------------------------------- lifting


def test_run_lift_yields_progress_and_matches_lift_poses(openfield_project):
    info = inspect_tracking(openfield_project["h5"])
    # pcutoff 0.9 hides 11 points (the file's lowest likelihood is 0.78)
    request = LiftRequest(info, info.lifter_path, video=openfield_project["video"], pcutoff=0.9)
    steps, outcome = drain(run_lift(request))
    assert steps[0] == (0, 2330)
    assert steps[-1] == (2330, 2330)
    done = [d for d, _ in steps]
    assert done == sorted(done)
    assert len(steps) > 10  # a progress step per chunk
    expected = lift_poses(info.poses, info.lifter_path, pcutoff=0.9).poses
    lifted = outcome.poses_3d
    assert lifted.data.shape == (2330, 1, 4, 3)
    np.testing.assert_array_equal(np.isnan(lifted.data), np.isnan(expected.data))
    np.testing.assert_allclose(lifted.data, expected.data, atol=1e-3, equal_nan=True)
    # points below pcutoff are not lifted: frame 77's left ear, all of frame 2325 (its
    # snout, the root, is below)
    assert np.isnan(lifted.data[77, 0, 1]).all()
    assert np.isfinite(lifted.data[77, 0, [0, 2, 3]]).all()
    assert np.isnan(lifted.data[2325]).all()
    # the 2D shown: points below pcutoff hidden, others as in the file
    low = info.poses.confidence < 0.9
    assert low.sum() == 11
    assert np.isnan(outcome.poses_2d.data[low]).all()
    np.testing.assert_array_equal(outcome.poses_2d.data[~low], info.poses.data[~low])
    assert outcome.video.shape == (2330, 480, 640, 3)
    assert outcome.warnings == []
    names = [kw["name"] for _, kw, _ in outcome.layer_data()]
    assert names == [
        "m3v1mp4",
        "bones 2D",
        "keypoints 2D",
        "bones 3D",
        "joints 3D",
        "limb legend",
    ]


def test_run_lift_from_a_path_and_frame_mismatch_warning(openfield_project, video_path):
    request = LiftRequest(
        str(openfield_project["h5"]), openfield_project["lifter"], video=video_path
    )
    steps, outcome = drain(run_lift(request, chunk=1000))
    assert steps == [(0, 2330), (1000, 2330), (2000, 2330), (2330, 2330)]
    assert outcome.tracking.config_path == openfield_project["config"]
    assert len(outcome.warnings) == 1
    assert "40 frames" in outcome.warnings[0]
    assert "2330" in outcome.warnings[0]


def test_run_lift_errors(openfield_project, tmp_path):
    h5 = openfield_project["h5"]
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"this is not a model file")
    with pytest.raises(ModelFileError, match="bad.safetensors"):
        drain(run_lift(LiftRequest(h5, bad)))
    with pytest.raises(MissingFileError, match="absent.safetensors"):
        drain(run_lift(LiftRequest(h5, tmp_path / "absent.safetensors")))
    with pytest.raises(ConfigError, match="no lifter"):
        drain(run_lift(LiftRequest(h5, "")))
    with pytest.raises(KeypointError, match="mouse2"):
        drain(run_lift(LiftRequest(h5, openfield_project["lifter"], individuals=["mouse2"])))
    # a lifter for other keypoints
    from napari_testdata import rigid_library, train_small_lifter

    uv, xyz = rigid_library(
        np.eye(3) * 10, 200, focal=500.0, center=(0, 0), depth=500.0, spread=(10, 10)
    )
    other = tmp_path / "other.safetensors"
    train_small_lifter(["head", "thorax", "tail"], "thorax", uv, xyz, epochs=1).save(other)
    with pytest.raises(KeypointError, match=r"\['head', 'thorax', 'tail'\].*snout"):
        drain(run_lift(LiftRequest(h5, other)))
    with pytest.raises(FileFormatError, match="not a video"):
        drain(run_lift(LiftRequest(h5, openfield_project["lifter"], video=bad)))


# ---------------------------------------------------------------------------- saving


def test_save_dlc_like_lift_dlc_project(openfield_project):
    info = inspect_tracking(openfield_project["h5"])
    _, outcome = drain(run_lift(LiftRequest(info, info.lifter_path, pcutoff=0.4)))
    dest = default_output_path(info)
    assert dest == openfield_project["h5"].with_name(openfield_project["h5"].stem + "_3d.h5")
    assert save_lifted(outcome, dest) == dest
    back = load_dlc(dest)
    np.testing.assert_array_equal(back.data, outcome.poses_3d.data)
    assert back.keypoints == ["snout", "leftear", "rightear", "tailbase"]
    assert back.skeleton == info.poses.skeleton
    table = pd.read_hdf(dest)
    assert table.columns.names == ["scorer", "bodyparts", "coords"]
    assert set(table.columns.get_level_values(0)) == {"DLC_resnet50_openfieldAug20shuffle1_30000"}
    # never replaced without asking
    before = dest.read_bytes()
    with pytest.raises(OutputExistsError):
        save_lifted(outcome, dest)
    assert dest.read_bytes() == before
    save_lifted(outcome, dest, overwrite=True)
    csv = save_lifted(outcome, dest.with_suffix(".csv"))
    np.testing.assert_allclose(load_dlc(csv).data, outcome.poses_3d.data, equal_nan=True)


def test_save_sleap_with_inferred(shared_data, fly_lifter_path, tmp_path):

    from liftpose_dlc.io.sleap import load_sleap_3d, load_sleap_3d_inferred

    slp = tmp_path / "pair.slp"
    shutil.copy(shared_file(shared_data, SLEAP_SLP), slp)
    request = LiftRequest(slp, fly_lifter_path, individuals=["2"], infer_occluded=True)
    _, outcome = drain(run_lift(request))
    assert outcome.poses_3d.individuals == ["2"]
    dest = default_output_path(outcome.tracking)
    assert dest == tmp_path / "pair_3d.h5"
    save_lifted(outcome, dest)
    back = load_sleap_3d(dest)
    np.testing.assert_array_equal(back.data, outcome.poses_3d.data)
    assert back.individuals == ["2"]
    assert len(back.skeleton.edges) == 23
    np.testing.assert_array_equal(load_sleap_3d_inferred(dest), outcome.result.inferred)
    assert outcome.result.inferred.any()
    # a .csv is a DeepLabCut-layout table whatever the input (save_poses picks by suffix)
    table = load_poses(save_lifted(outcome, tmp_path / "pair_3d.csv"))
    np.testing.assert_allclose(table.data, outcome.poses_3d.data, rtol=1e-12)
    with pytest.raises(OutputExistsError):
        save_lifted(outcome, dest)


def test_default_output_path_of_a_config(tmp_path):
    from napari_liftpose.actions import TrackingInfo

    info = TrackingInfo(
        path=tmp_path / "config.yaml",
        poses_path=tmp_path / "videos" / "vDLC_x.h5",
        software=DLC,
        poses=Poses(np.ones((2, 1, 2)), keypoints=["a"]),
    )
    assert default_output_path(info) == Path(tmp_path / "videos" / "vDLC_x_3d.h5")
