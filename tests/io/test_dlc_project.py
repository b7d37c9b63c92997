"""DeepLabCut projects: config.yaml, finding analysis outputs, _meta.pickle."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from realdata import shared_file

from liftpose_dlc import find_analysis_outputs, load_dlc, read_dlc_config
from liftpose_dlc.errors import ConfigError, MissingFileError
from liftpose_dlc.io.dlc_config import (
    config_bodyparts,
    meta_pickle_candidates,
    read_dlc_meta,
)

MM = "dlc/multi_mouse-dlc_team-2022-04-12"
MM_STEM = "m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5"
OPENFIELD_OUT = "m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"


@pytest.fixture
def mm_project(shared_data, tmp_path) -> Path:
    """A writable copy of the multi-animal project (config, analysis outputs, no videos)."""
    src = shared_file(shared_data, f"{MM}/config.yaml").parent
    dst = tmp_path / "multi_mouse-dlc_team-2022-04-12"
    (dst / "videos").mkdir(parents=True)
    shutil.copy(src / "config.yaml", dst / "config.yaml")
    for f in (src / "videos").iterdir():
        if f.suffix != ".mp4":  # the video is not needed: only its name matters
            shutil.copy(f, dst / "videos" / f.name)
    return dst


def _edit_config(project: Path, **changes) -> Path:
    path = project / "config.yaml"
    cfg = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            cfg.pop(key, None)
        else:
            cfg[key] = value
    path.write_text(yaml.safe_dump(cfg))
    return path


# -------------------------------------------------------------------- config
@pytest.mark.realdata
def test_read_openfield_config(shared_data):
    path = shared_file(shared_data, "dlc/openfield/config.yaml")
    cfg = read_dlc_config(path)
    assert cfg["bodyparts"] == ["snout", "leftear", "rightear", "tailbase"]
    assert cfg["pcutoff"] == 0.4
    assert cfg["project_path"] == str(path.resolve().parent)  # not the stale "examples"
    assert cfg["project_path_in_config"] == "examples"
    assert cfg["config_path"] == str(path.resolve())


@pytest.mark.realdata
def test_read_multi_animal_config(shared_data):
    cfg = read_dlc_config(shared_file(shared_data, f"{MM}/config.yaml"))
    assert cfg["bodyparts"] == "MULTI!"
    assert config_bodyparts(cfg) == ["bodypart1", "bodypart2", "bodypart3", "corner1", "corner2"]
    assert cfg["individuals"] == ["individual1", "individual2", "individual3"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("Task: x\nbodyparts: [a, b\n", "not a valid YAML file"),
        ("- just\n- a list\n", "must be a YAML mapping"),
        ("Task: x\nscorer: me\n", "no 'bodyparts' entry"),
        ("Task: x\nbodyparts: MULTI!\nmultianimalproject: true\n", "multianimalbodyparts"),
        ("Task: x\nbodyparts: []\n", "non-empty list"),
    ],
)
def test_bad_config(tmp_path, text, match):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"config\.yaml.*{match}"):
        read_dlc_config(path)


def test_binary_config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe" + bytes(20))
    with pytest.raises(ConfigError, match=r"config\.yaml: not a DeepLabCut config"):
        read_dlc_config(path)


def test_missing_config(tmp_path):
    with pytest.raises(MissingFileError, match=r"DeepLabCut config not found: .*config\.yaml"):
        read_dlc_config(tmp_path / "config.yaml")


# ---------------------------------------------------------- analysis outputs
@pytest.mark.realdata
def test_openfield_output_found_despite_stale_paths(shared_data):
    config = shared_file(shared_data, "dlc/openfield/config.yaml")
    videos = config.parent / "videos"
    out = find_analysis_outputs(config, videos=[videos])
    assert out == {videos / "m3v1mp4.mp4": videos / OPENFIELD_OUT}
    # a video path from another machine, POSIX or Windows: looked for in <project>/videos
    for stale in ["/Data/openfield-Pranav-2018-08-20/videos/m3v1mp4.mp4", r"D:\data\m3v1mp4.mp4"]:
        found = find_analysis_outputs(config, videos=stale)
        assert list(found.values()) == [videos / OPENFIELD_OUT]
    assert load_dlc(out[videos / "m3v1mp4.mp4"], config=config).n_frames == 2330


@pytest.mark.realdata
def test_openfield_config_videos_have_no_output(shared_data):
    config = shared_file(shared_data, "dlc/openfield/config.yaml")
    with pytest.raises(MissingFileError, match=r"video m1s1\.mp4: no analysis output"):
        find_analysis_outputs(config)
    skipped = find_analysis_outputs(config, missing="skip")
    assert len(skipped) == 13
    assert set(skipped.values()) == {None}
    assert next(iter(skipped)) == config.parent / "videos" / "m1s1.mp4"


@pytest.mark.realdata
def test_multi_animal_project_outputs(mm_project):
    config = mm_project / "config.yaml"
    videos = mm_project / "videos"
    with pytest.raises(MissingFileError, match=r"video m3v1mp4\.mp4: no analysis output"):
        find_analysis_outputs(config)
    out = find_analysis_outputs(config, missing="skip")
    assert out == {
        videos / "m3v1mp4.mp4": None,
        videos / "m3v1mp4short.mp4": videos / f"{MM_STEM}_el.h5",  # not the pickles
    }
    filtered = find_analysis_outputs(config, videos=[videos / "m3v1mp4short.mp4"], filtered=True)
    assert list(filtered.values()) == [videos / f"{MM_STEM}_el_filtered.h5"]
    poses = load_dlc(filtered[videos / "m3v1mp4short.mp4"], config=config)
    assert poses.data.shape == (31, 4, 5, 2)
    assert poses.fps == pytest.approx(29.98, abs=0.01)


@pytest.mark.realdata
def test_destfolder_and_shuffle(mm_project, tmp_path):
    config = mm_project / "config.yaml"
    dest = tmp_path / "analysis"
    dest.mkdir()
    shutil.copy(mm_project / "videos" / f"{MM_STEM}_el.h5", dest / f"{MM_STEM}_el.h5")
    (mm_project / "videos" / f"{MM_STEM}_el.h5").unlink()
    out = find_analysis_outputs(config, videos="m3v1mp4short.mp4", destfolder=dest)
    assert list(out.values()) == [dest / f"{MM_STEM}_el.h5"]
    with pytest.raises(MissingFileError, match=r"m3v1mp4short\.mp4.*shuffle 2"):
        find_analysis_outputs(config, videos="m3v1mp4short.mp4", destfolder=dest, shuffle=2)


@pytest.mark.realdata
def test_several_scorers_need_scorer_argument(mm_project):
    videos = mm_project / "videos"
    other = "DLC_resnet50_multi_mouseApr12shuffle1_20000"
    shutil.copy(videos / f"{MM_STEM}_el.h5", videos / f"m3v1mp4short{other}_el.h5")
    config = mm_project / "config.yaml"
    with pytest.raises(ConfigError, match=r"m3v1mp4short\.mp4: .*several models.*scorer="):
        find_analysis_outputs(config, missing="skip")
    out = find_analysis_outputs(config, missing="skip", scorer=other)
    assert out[videos / "m3v1mp4short.mp4"] == videos / f"m3v1mp4short{other}_el.h5"


@pytest.mark.realdata
def test_several_trackers(mm_project):
    videos = mm_project / "videos"
    shutil.copy(videos / f"{MM_STEM}_el.h5", videos / f"{MM_STEM}_bx.h5")
    config = mm_project / "config.yaml"
    short = videos / "m3v1mp4short.mp4"
    # default_track_method: ellipse
    assert find_analysis_outputs(config, videos=short)[short].name == f"{MM_STEM}_el.h5"
    assert find_analysis_outputs(config, videos=short, track_method="box")[short].name == (
        f"{MM_STEM}_bx.h5"
    )
    _edit_config(mm_project, default_track_method=None)
    with pytest.raises(ConfigError, match=r"several trackers.*_bx\.h5.*_el\.h5.*track_method"):
        find_analysis_outputs(config, videos=short)


@pytest.mark.realdata
def test_filtered_only_and_fallback(mm_project):
    videos = mm_project / "videos"
    config = mm_project / "config.yaml"
    short = videos / "m3v1mp4short.mp4"
    (videos / f"{MM_STEM}_el_filtered.h5").unlink()
    with pytest.warns(UserWarning, match="no filtered analysis output"):
        out = find_analysis_outputs(config, videos=short, filtered=True)
    assert out[short].name == f"{MM_STEM}_el.h5"
    shutil.copy(videos / f"{MM_STEM}_el.h5", videos / f"{MM_STEM}_el_filtered.h5")
    (videos / f"{MM_STEM}_el.h5").unlink()
    with pytest.raises(MissingFileError, match="only filtered outputs.*filtered=True"):
        find_analysis_outputs(config, videos=short)


def test_naming_variants(tmp_path):
    """DLC 2 and DLC 3 scorers; files that are not pose tables are ignored."""
    project = tmp_path / "proj"
    videos = project / "videos"
    videos.mkdir(parents=True)
    (project / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "Task": "reach",
                "date": "Jan1",
                "bodyparts": ["hand"],
                "video_sets": {"C:\\lab\\videos\\a.avi": {}, "/mnt/lab/b.mp4": {}},
            }
        )
    )
    for name in [
        "aDLC_Resnet50_reachJan1shuffle1_snapshot_200.h5",  # DLC 3
        "aDLC_Resnet50_reachJan1shuffle1_snapshot_200_skeleton.h5",  # not poses
        "aDLC_Resnet50_reachJan1shuffle1_snapshot_200_3d.h5",  # ours, not DLC's
        "aDLC_Resnet50_reachJan1shuffle1_snapshot_200_meta.pickle",
        "abDLC_resnet50_reachJan1shuffle1_1000.h5",  # another video ("ab")
        "bDeepCut_resnet50_reachJan1shuffle1_1000.h5",  # DLC 2.0 legacy
        "bDLC_resnet50_otherJan1shuffle1_1000.h5",  # another project
    ]:
        (videos / name).write_bytes(b"")
    out = find_analysis_outputs(project / "config.yaml")
    assert out == {
        videos / "a.avi": videos / "aDLC_Resnet50_reachJan1shuffle1_snapshot_200.h5",
        videos / "b.mp4": videos / "bDeepCut_resnet50_reachJan1shuffle1_1000.h5",
    }


def test_missing_option_and_no_videos(tmp_path):
    (tmp_path / "config.yaml").write_text("Task: t\ndate: Jan1\nbodyparts: [a]\n")
    with pytest.raises(ConfigError, match="no videos under 'video_sets'"):
        find_analysis_outputs(tmp_path / "config.yaml")
    with pytest.raises(ConfigError, match="missing must be"):
        find_analysis_outputs(tmp_path / "config.yaml", videos="x.mp4", missing="ignore")
    with pytest.raises(MissingFileError, match="no video files"):
        find_analysis_outputs(tmp_path / "config.yaml", videos=tmp_path)


# -------------------------------------------------------------- meta pickle
@pytest.mark.realdata
def test_read_meta(shared_data):
    el = shared_file(shared_data, f"{MM}/videos/{MM_STEM}_el_filtered.h5")
    meta = read_dlc_meta(el)
    assert meta is not None
    assert meta.path.name == f"{MM_STEM}_meta.pickle"
    assert meta.fps == pytest.approx(29.980657640232106)
    assert meta.scorer == "DLC_effnet_b0_multi_mouseApr12shuffle1_5"
    assert meta.cropping is False
    assert meta.crop == (0.0, 640.0, 0.0, 480.0)
    assert meta.crop_offset == (0.0, 0.0)
    assert meta.nframes == 31
    assert meta.frame_dimensions == (480, 640)
    assert read_dlc_meta(el, scorer="DLC_other") is None  # another model's pickle is ignored
    montblanc = read_dlc_meta(shared_file(shared_data, "dlc/montblanc_tracks.h5"))
    assert montblanc is not None
    assert montblanc.fps is None
    assert montblanc.scorer == "DLC_resnet50_MontBlancDec16shuffle1_30000"


def test_meta_candidates():
    names = [p.name for p in meta_pickle_candidates("/v/aDLC_x_shuffle1_5_el_filtered.h5")]
    assert names == [
        "aDLC_x_shuffle1_5_el_filtered_meta.pickle",
        "aDLC_x_shuffle1_5_el_meta.pickle",
        "aDLC_x_shuffle1_5_meta.pickle",
    ]


def test_unreadable_meta_gives_no_fps(tmp_path):
    from liftpose_dlc import Poses, save_dlc
    from liftpose_dlc.io.dlc import poses_to_dlc_table

    poses = Poses(np.ones((3, 1, 2, 2)), ["a", "b"])
    path = tmp_path / "vidDLC_resnet50_tJan1shuffle1_5.h5"
    # a DeepLabCut-like file (no liftpose attributes) next to a broken pickle
    poses_to_dlc_table(poses, scorer="DLC_resnet50_tJan1shuffle1_5").to_hdf(path, key="df")
    (tmp_path / "vidDLC_resnet50_tJan1shuffle1_5_meta.pickle").write_bytes(b"\x80\x04garbage")
    assert read_dlc_meta(path) is None
    loaded = load_dlc(path)
    assert loaded.fps is None
    assert loaded.source.software == "DeepLabCut"
    good = {"data": {"fps": 50.0, "Scorer": "DLC_resnet50_tJan1shuffle1_5", "cropping": True,
                     "cropping_parameters": [10, 300, 20, 200]}}  # fmt: skip
    (tmp_path / "vidDLC_resnet50_tJan1shuffle1_5_meta.pickle").write_bytes(pickle.dumps(good))
    assert load_dlc(path).fps == 50.0
    assert read_dlc_meta(path).crop_offset == (10.0, 20.0)
    assert load_dlc(path, read_meta=False).fps is None
    # our own files never look at pickles
    ours = save_dlc(poses, tmp_path / "vidDLC_resnet50_tJan1shuffle1_5_filtered.h5")
    assert load_dlc(ours).fps is None


def test_all_project_videos(tmp_path):
    """all_project_videos adds the videos in <project>/videos that video_sets does not list."""
    project = tmp_path / "proj"
    videos = project / "videos"
    videos.mkdir(parents=True)
    config = project / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {"Task": "t", "date": "Jan1", "bodyparts": ["a"], "video_sets": {"/lab/a.mp4": {}}}
        )
    )
    (videos / "c.avi").write_bytes(b"")
    (videos / "notes.txt").write_text("not a video")
    (videos / "cDLC_resnet50_tJan1shuffle1_1000.h5").write_bytes(b"")
    assert list(find_analysis_outputs(config, missing="skip")) == [videos / "a.mp4"]
    out = find_analysis_outputs(config, missing="skip", all_project_videos=True)
    assert out == {videos / "a.mp4": None, videos / "c.avi": videos / out[videos / "c.avi"].name}
    assert out[videos / "c.avi"].name == "cDLC_resnet50_tJan1shuffle1_1000.h5"
    empty = tmp_path / "empty"
    (empty / "videos").mkdir(parents=True)
    (empty / "config.yaml").write_text("Task: t\ndate: Jan1\nbodyparts: [a]\n")
    with pytest.raises(ConfigError, match="no videos under 'video_sets' and none in"):
        find_analysis_outputs(empty / "config.yaml", all_project_videos=True)
