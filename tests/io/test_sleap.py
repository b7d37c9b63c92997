"""SLEAP reader/writer: real .slp and analysis .h5 files, 3D points3d.h5, bad input."""

from __future__ import annotations

import builtins
import json
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from realdata import shared_file

from liftpose_dlc import Poses
from liftpose_dlc.errors import (
    ConfigError,
    FileFormatError,
    KeypointError,
    MissingDependencyError,
    MissingFileError,
    OutputExistsError,
    PosesValidationError,
)
from liftpose_dlc.io.sleap import load_sleap, load_sleap_3d, load_sleap_3d_inferred, save_sleap_3d

sio = pytest.importorskip("sleap_io")

CENTERED = "sleap/centered_pair_predictions"
VIEWS = ["back", "mid", "side", "top"]
MOUSE = "3d/sleap_anipose_mouse"


def view_file(view: str, suffix: str) -> str:
    return f"{MOUSE}/{view}/minimal_{view}_proofread{suffix}"


def assert_same_poses(a: Poses, b: Poses, *, ordered_edges: bool = True) -> None:
    assert a.data.shape == b.data.shape
    assert_allclose(a.data, b.data, equal_nan=True, rtol=0, atol=0)
    assert_allclose(a.confidence, b.confidence, equal_nan=True, rtol=0, atol=0)
    assert a.keypoints == b.keypoints
    assert a.individuals == b.individuals
    if ordered_edges:
        assert a.skeleton == b.skeleton
    else:
        assert sorted(a.skeleton.edges) == sorted(b.skeleton.edges)
    assert a.fps == b.fps


# --------------------------------------------------------------------- real 2D files
@pytest.fixture(scope="module")
def centered_slp(shared_data: Path) -> Poses:
    return load_sleap(shared_file(shared_data, f"{CENTERED}.slp"))


@pytest.fixture(scope="module")
def centered_h5_path(shared_data: Path) -> Path:
    return shared_file(shared_data, f"{CENTERED}.analysis.h5")


@pytest.mark.realdata
def test_centered_pair_slp(centered_slp: Poses) -> None:
    p = centered_slp
    # 2 flies split by SLEAP's tracker into 27 fragments: each fragment is an individual
    assert p.data.shape == (1100, 27, 24, 2)
    assert p.individuals == [str(i) for i in range(1, 28)]
    assert p.keypoints[:4] == ["head", "neck", "thorax", "abdomen"]
    assert p.keypoints[-1] == "hindlegR3"
    assert len(p.skeleton.edges) == 23
    assert p.skeleton.edges[0] == ("neck", "head")
    assert p.fps == 15.0  # read from the video beside the file (stored path is stale)
    assert p.source.software == "SLEAP"
    occupied = np.isfinite(p.data).any(axis=(2, 3))
    assert occupied.sum() == 2274  # every predicted instance of the file, none lost
    assert occupied.sum(axis=1).min() == 2  # at least the two flies in each frame
    assert occupied.sum(axis=1).max() == 5
    # predictions only: a score for every node of an instance, 0 for points not found
    present = np.isfinite(p.data).all(axis=-1)
    missing = occupied[..., None] & ~present
    assert missing.sum() > 0
    assert (p.confidence[missing] == 0).all()
    assert np.isfinite(p.confidence[occupied]).all()
    assert np.isnan(p.confidence[~occupied]).all()
    assert p.confidence[present].max() > 1  # SLEAP scores are not probabilities


@pytest.mark.realdata
def test_centered_pair_readers_agree(centered_slp: Poses, centered_h5_path: Path) -> None:
    from_h5 = load_sleap(centered_h5_path)
    assert_same_poses(centered_slp, from_h5)
    with h5py.File(centered_h5_path, "r") as f:
        tracks = f["tracks"][()]  # (track, xy, node, frame)
        scores = f["point_scores"][()]  # (track, node, frame)
        occupancy = f["track_occupancy"][()]  # (frame, track)
        assert [n.decode() for n in f["node_names"][()]] == from_h5.keypoints
    for frame, track, node in [(0, 0, 0), (0, 1, 5), (517, 2, 12), (1099, 26, 23), (880, 20, 3)]:
        assert_array_equal(centered_slp.data[frame, track, node], tracks[track, :, node, frame])
        assert_array_equal(centered_slp.confidence[frame, track, node], scores[track, node, frame])
    assert_array_equal(np.isfinite(centered_slp.data).any(axis=(2, 3)), occupancy == 1)
    assert centered_slp.data[0, 0, 0, 0] == pytest.approx(tracks[0, 0, 0, 0])
    assert np.isfinite(tracks[0, :, 0, 0]).all()


@pytest.mark.realdata
def test_pick_tracks(shared_data: Path, centered_slp: Poses) -> None:
    two = load_sleap(shared_file(shared_data, f"{CENTERED}.analysis.h5"), tracks=["2", "1"])
    assert two.individuals == ["2", "1"]
    assert_array_equal(two.data[:, 0], centered_slp.data[:, 1])
    one = load_sleap(shared_file(shared_data, f"{CENTERED}.analysis.h5"), tracks="12")
    assert one.individuals == ["12"]  # a single name, not its characters
    with pytest.raises(KeypointError, match="28"):
        load_sleap(shared_file(shared_data, f"{CENTERED}.analysis.h5"), tracks=["28"])


@pytest.mark.realdata
@pytest.mark.parametrize("view", VIEWS)
def test_mouse_views_readers_agree(shared_data: Path, view: str) -> None:
    slp = load_sleap(shared_file(shared_data, view_file(view, ".slp")))
    h5 = load_sleap(shared_file(shared_data, view_file(view, ".analysis.h5")))
    assert slp.data.shape == (120, 1, 15, 2)
    assert slp.individuals == ["track_0"]
    assert slp.keypoints[:3] == ["Nose", "Ear_R", "Ear_L"]
    assert len(slp.skeleton.edges) == 14
    assert slp.fps == 30.0
    # the .analysis.h5 was exported by SLEAP itself (no layout attributes), edges in
    # another order
    assert_same_poses(slp, h5, ordered_edges=False)
    with h5py.File(shared_file(shared_data, view_file(view, ".analysis.h5")), "r") as f:
        tracks = f["tracks"][()]
    assert_array_equal(h5.data[60, 0, 3], tracks[0, :, 3, 60])
    assert_array_equal(h5.data[119, 0, 14], tracks[0, :, 14, 119])


# ---------------------------------------------------------------- analysis layouts
def _copy_analysis(src: Path, dst: Path, layout: str, *, attrs: bool) -> None:
    """Rewrite a matlab-layout analysis file in another layout."""
    to = {
        "standard": ((3, 0, 2, 1), (2, 0, 1)),  # (frame, track, node, xy), (frame, track, node)
        "untransposed": ((3, 2, 1, 0), (2, 1, 0)),  # (frame, node, xy, track), (frame, node, track)
    }[layout]
    dims = {
        "standard": (["frame", "track", "node", "xy"], ["frame", "track", "node"]),
        "untransposed": (["frame", "node", "xy", "track"], ["frame", "node", "track"]),
    }[layout]
    with h5py.File(src, "r") as fin, h5py.File(dst, "w") as fout:
        for key in fin:
            data = fin[key][()]
            if key == "tracks":
                data = np.transpose(data, to[0])
            elif key == "point_scores":
                data = np.transpose(data, to[1])
            ds = fout.create_dataset(key, data=data)
            if attrs and key in ("tracks", "point_scores"):
                ds.attrs["dims"] = json.dumps(dims[0] if key == "tracks" else dims[1])


@pytest.mark.realdata
@pytest.mark.parametrize("layout", ["standard", "untransposed"])
@pytest.mark.parametrize("attrs", [True, False], ids=["dims-attr", "by-shape"])
def test_other_analysis_layouts(
    centered_h5_path: Path, centered_slp: Poses, tmp_path: Path, layout: str, attrs: bool
) -> None:
    out = tmp_path / f"{layout}.analysis.h5"
    _copy_analysis(centered_h5_path, out, layout, attrs=attrs)
    with h5py.File(out, "r") as f:
        expected = (1100, 27, 24, 2) if layout == "standard" else (1100, 24, 2, 27)
        assert f["tracks"].shape == expected
    # the copy is not beside the video, so its fps is unknown
    assert_same_poses(load_sleap(out), centered_slp.replace(fps=None))


@pytest.mark.realdata
def test_sleap_io_standard_preset(shared_data: Path, tmp_path: Path) -> None:
    slp_path = shared_file(shared_data, view_file("top", ".slp"))
    labels = sio.load_slp(str(slp_path), open_videos=False)
    out = tmp_path / "top_standard.analysis.h5"
    sio.save_analysis_h5(labels, str(out), preset="standard")
    with h5py.File(out, "r") as f:
        assert f["tracks"].shape == (120, 1, 15, 2)
        assert f.attrs["preset"] == "standard"
    from_slp = load_sleap(slp_path)
    from_h5 = load_sleap(out)
    assert from_h5.fps is None  # the video is not beside the copy
    assert_same_poses(from_slp.replace(fps=None), from_h5)


# ----------------------------------------------------- instance rules (small .slp files)
def _skeleton():
    return sio.Skeleton(["a", "b", "c"], edges=[("a", "b"), ("b", "c")])


def _pred(skel, xy, score, track=None):
    return sio.PredictedInstance.from_numpy(
        points_data=np.asarray(xy, float),
        skeleton=skel,
        point_scores=np.asarray(score, float),
        score=0.9,
        track=track,
    )


def _user(skel, xy, track=None, from_predicted=None):
    return sio.Instance.from_numpy(
        points_data=np.asarray(xy, float),
        skeleton=skel,
        track=track,
        from_predicted=from_predicted,
    )


def _save(labels, path: Path) -> Path:
    sio.save_slp(labels, str(path))
    return path


XY1 = [[1, 2], [3, 4], [5, 6]]
XY2 = [[10, 20], [30, 40], [np.nan, np.nan]]
XY3 = [[100, 200], [300, 400], [500, 600]]


def test_user_instances_win_and_score_one(tmp_path: Path) -> None:
    skel = _skeleton()
    video = sio.Video(filename="nowhere/missing.mp4", open_backend=False)
    ta, tb = sio.Track("A"), sio.Track("B")
    pred_a = _pred(skel, XY1, [0.5, 0.6, 0.7], track=ta)
    frames = [
        sio.LabeledFrame(
            video=video,
            frame_idx=2,
            instances=[pred_a, _user(skel, XY2, track=ta), _pred(skel, XY3, [0.1, 0.2, 0.3], tb)],
        ),
        sio.LabeledFrame(video=video, frame_idx=4, instances=[_pred(skel, XY3, [1, 1, 0], ta)]),
    ]
    labels = sio.Labels(frames, videos=[video], skeletons=[skel], tracks=[ta, tb])
    slp = _save(labels, tmp_path / "user.slp")

    poses = load_sleap(slp)
    assert poses.data.shape == (5, 2, 3, 2)
    assert poses.individuals == ["A", "B"]
    assert list(poses.skeleton.edges) == [("a", "b"), ("b", "c")]
    assert poses.fps is None  # the video does not exist: not an error
    assert np.isnan(poses.data[[0, 1, 3]]).all()
    assert_array_equal(poses.data[2, 0], XY2)  # the user instance, not the prediction
    assert_array_equal(poses.confidence[2, 0], [1.0, 1.0, np.nan])
    assert_array_equal(poses.data[2, 1], XY3)
    assert_allclose(poses.confidence[2, 1], [0.1, 0.2, 0.3])
    assert_allclose(poses.confidence[4, 0], [1, 1, 0])
    assert np.isnan(poses.confidence[4, 1]).all()

    # sleap-io's analysis export of the same labels reads the same (NaN user score -> 1)
    h5 = tmp_path / "user.analysis.h5"
    sio.save_analysis_h5(sio.load_slp(str(slp), open_videos=False), str(h5))
    assert_same_poses(load_sleap(h5), poses)


def test_untracked_instances_become_slots(tmp_path: Path) -> None:
    skel = _skeleton()
    video = sio.Video(filename="missing.mp4", open_backend=False)
    pred = _pred(skel, XY1, [0.5, 0.5, 0.5])
    frames = [
        sio.LabeledFrame(
            video=video,
            frame_idx=0,
            instances=[
                pred,
                _pred(skel, XY3, [0.2, 0.2, 0.2]),
                _user(skel, XY2, from_predicted=pred),
            ],
        ),
        sio.LabeledFrame(video=video, frame_idx=1, instances=[_pred(skel, XY3, [0.4, 0.4, 0.4])]),
    ]
    labels = sio.Labels(frames, videos=[video], skeletons=[skel])
    slp = _save(labels, tmp_path / "untracked.slp")

    poses = load_sleap(slp)
    assert poses.individuals == ["track_0", "track_1"]
    assert_array_equal(poses.data[0, 0], XY2)  # user first, its prediction dropped
    assert_array_equal(poses.data[0, 1], XY3)
    assert_array_equal(poses.data[1, 0], XY3)
    assert np.isnan(poses.data[1, 1]).all()
    h5 = tmp_path / "untracked.analysis.h5"
    sio.save_analysis_h5(sio.load_slp(str(slp), open_videos=False), str(h5))
    assert_same_poses(load_sleap(h5), poses)


def test_untracked_beside_tracked_are_dropped_with_warning(tmp_path: Path) -> None:
    skel = _skeleton()
    video = sio.Video(filename="missing.mp4", open_backend=False)
    track = sio.Track("mouse")
    frames = [
        sio.LabeledFrame(
            video=video,
            frame_idx=0,
            instances=[_pred(skel, XY1, [1, 1, 1], track), _pred(skel, XY3, [1, 1, 1])],
        )
    ]
    slp = _save(
        sio.Labels(frames, videos=[video], skeletons=[skel], tracks=[track]), tmp_path / "m.slp"
    )
    with pytest.warns(UserWarning, match="1 instance.*without a track were dropped"):
        poses = load_sleap(slp)
    assert poses.individuals == ["mouse"]
    assert_array_equal(poses.data[0, 0], XY1)


def test_several_videos(tmp_path: Path) -> None:
    skel = _skeleton()
    v0 = sio.Video(filename="cam0.mp4", open_backend=False)
    v1 = sio.Video(filename="cam1.mp4", open_backend=False)
    frames = [
        sio.LabeledFrame(video=v0, frame_idx=0, instances=[_pred(skel, XY1, [1, 1, 1])]),
        sio.LabeledFrame(video=v1, frame_idx=3, instances=[_pred(skel, XY3, [1, 1, 1])]),
    ]
    slp = _save(sio.Labels(frames, videos=[v0, v1], skeletons=[skel]), tmp_path / "two.slp")
    assert load_sleap(slp).data.shape == (1, 1, 3, 2)
    second = load_sleap(slp, video=1)
    assert second.data.shape == (4, 1, 3, 2)
    assert_array_equal(second.data[3, 0], XY3)
    with pytest.raises(ConfigError, match=r"video=2 is out of range.*cam0\.mp4.*cam1\.mp4"):
        load_sleap(slp, video=2)


# ------------------------------------------------------------------------- 3D files
@pytest.mark.realdata
def test_sleap_anipose_points3d(shared_data: Path) -> None:
    path = shared_file(shared_data, f"{MOUSE}/points3d.h5")
    slp = shared_file(shared_data, view_file("back", ".slp"))
    poses = load_sleap_3d(path, node_names=slp)
    assert poses.data.shape == (120, 1, 15, 3)
    assert poses.keypoints == load_sleap(slp).keypoints
    assert len(poses.skeleton.edges) == 14
    assert poses.individuals == ["track_0"]
    assert np.isnan(poses.confidence).all()
    with h5py.File(path, "r") as f:
        tracks = f["tracks"][()]
    assert_array_equal(poses.data[0, 0, 0], tracks[0, 0, 0])
    assert_array_equal(poses.data[77, 0, 9], tracks[77, 0, 9])

    # names from an analysis file or a list give the same keypoints
    by_h5 = load_sleap_3d(
        path, node_names=shared_file(shared_data, view_file("mid", ".analysis.h5"))
    )
    assert by_h5.keypoints == poses.keypoints
    by_list = load_sleap_3d(path, node_names=poses.keypoints)
    assert by_list.keypoints == poses.keypoints
    assert list(by_list.skeleton.edges) == []

    with pytest.raises(KeypointError, match="node_names="):
        load_sleap_3d(path)
    with pytest.raises(KeypointError, match="15 nodes but 2"):
        load_sleap_3d(path, node_names=["a", "b"])
    with pytest.raises(KeypointError, match="15 nodes but the SLEAP file"):
        load_sleap_3d(path, node_names=shared_file(shared_data, f"{CENTERED}.analysis.h5"))


def test_3d_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    data = rng.normal(0, 10, size=(12, 2, 4, 3))
    data[3, 1, 2] = np.nan
    poses = Poses(
        data,
        keypoints=["nose", "ear_l", "ear_r", "tail"],
        individuals=["m1", "m2"],
        confidence=rng.uniform(size=(12, 2, 4)),
        skeleton=[("nose", "ear_l"), ("nose", "ear_r"), ("nose", "tail")],
        fps=50.0,
    )
    out = save_sleap_3d(poses, tmp_path / "points3d.h5", units="mm")
    assert out == tmp_path / "points3d.h5"
    with h5py.File(out, "r") as f:
        assert f["tracks"].shape == (12, 2, 4, 3)
        assert f["point_scores"].shape == (12, 2, 4)
        assert f.attrs["units"] == "mm"
        assert f.attrs["layout"] == "frame,track,node,xyz"
        assert_array_equal(f["edge_inds"][()], [[0, 1], [0, 2], [0, 3]])
    back = load_sleap_3d(out)
    assert_same_poses(back, poses)
    assert back.source.software == "liftpose-dlc"
    assert load_sleap_3d(out, node_names=poses.keypoints).keypoints == poses.keypoints
    with pytest.raises(KeypointError, match="differ"):
        load_sleap_3d(out, node_names=["a", "b", "c", "d"])

    with pytest.raises(OutputExistsError):
        save_sleap_3d(poses, out)
    save_sleap_3d(poses.replace(fps=None), out, overwrite=True)
    assert load_sleap_3d(out).fps is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["points3d.h5"]  # no temp left

    with pytest.raises(PosesValidationError, match="n_dims=2"):
        save_sleap_3d(Poses(np.zeros((2, 1, 4, 2)), poses.keypoints), tmp_path / "x.h5")


def test_3d_inferred_mask(tmp_path: Path) -> None:
    poses = Poses(np.ones((5, 2, 3, 3)), keypoints=["a", "b", "c"], individuals=["m1", "m2"])
    mask = np.zeros((5, 2, 3), dtype=bool)
    mask[1, 0, 2] = mask[4, 1, 0] = True
    out = save_sleap_3d(poses, tmp_path / "points3d.h5", inferred=mask)
    with h5py.File(out, "r") as f:
        assert f["inferred"].dtype == bool
        assert json.loads(f["inferred"].attrs["dims"]) == ["frame", "track", "node"]
    assert_array_equal(load_sleap_3d_inferred(out), mask)
    assert_same_poses(load_sleap_3d(out), poses)  # the mask is not part of the poses
    plain = save_sleap_3d(poses, tmp_path / "plain.h5")
    assert load_sleap_3d_inferred(plain) is None
    one = poses.select(individuals=["m1"])
    single = save_sleap_3d(one, tmp_path / "one.h5", inferred=mask[:, 0].astype(int))
    assert_array_equal(load_sleap_3d_inferred(single), mask[:, :1])
    with pytest.raises(PosesValidationError, match=r"inferred must have shape \(5, 2, 3\)"):
        save_sleap_3d(poses, tmp_path / "bad.h5", inferred=mask[:, :, :2])
    assert not (tmp_path / "bad.h5").exists()


# ------------------------------------------------------------------------ bad input
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="nope.slp"):
        load_sleap(tmp_path / "nope.slp")
    with pytest.raises(MissingFileError, match="nope.h5"):
        load_sleap_3d(tmp_path / "nope.h5")


def test_text_file_named_slp(tmp_path: Path) -> None:
    bad = tmp_path / "notes.slp"
    bad.write_text("this is not a SLEAP file\n")
    with pytest.raises(FileFormatError, match=r"notes\.slp.*not"):
        load_sleap(bad)
    with pytest.raises(FileFormatError, match=r"notes\.slp"):
        load_sleap_3d(bad)


@pytest.mark.realdata
def test_analysis_file_without_tracks(centered_h5_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "broken.analysis.h5"
    with h5py.File(centered_h5_path, "r") as fin, h5py.File(bad, "w") as fout:
        for key in fin:
            if key != "tracks":
                fout.create_dataset(key, data=fin[key][()])
    with pytest.raises(FileFormatError, match=r"broken\.analysis\.h5.*'tracks'"):
        load_sleap(bad)


@pytest.mark.realdata
def test_analysis_file_without_node_names(centered_h5_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "nonames.h5"
    with h5py.File(centered_h5_path, "r") as fin, h5py.File(bad, "w") as fout:
        for key in fin:
            if key != "node_names":
                fout.create_dataset(key, data=fin[key][()])
    with pytest.raises(FileFormatError, match=r"nonames\.h5.*node_names"):
        load_sleap(bad)


@pytest.mark.realdata
def test_points3d_given_to_2d_reader(shared_data: Path) -> None:
    with pytest.raises(FileFormatError, match="load_sleap_3d"):
        load_sleap(shared_file(shared_data, f"{MOUSE}/points3d.h5"))


@pytest.mark.realdata
def test_dlc_file_given_to_sleap_reader(shared_data: Path) -> None:
    dlc = shared_file(
        shared_data, "dlc/openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
    )
    with pytest.raises(FileFormatError, match="load_dlc"):
        load_sleap(dlc)


def test_slp_without_instances(tmp_path: Path) -> None:
    skel = _skeleton()
    video = sio.Video(filename="missing.mp4", open_backend=False)
    empty = _save(sio.Labels(videos=[video], skeletons=[skel]), tmp_path / "empty.slp")
    with pytest.raises(FileFormatError, match=r"empty\.slp.*no pose instances"):
        load_sleap(empty)


def test_analysis_file_all_nan(tmp_path: Path) -> None:
    path = tmp_path / "nan.analysis.h5"
    with h5py.File(path, "w") as f:
        f["tracks"] = np.full((1, 2, 3, 10), np.nan)
        f["node_names"] = np.array([b"a", b"b", b"c"])
        f["track_names"] = np.array([b"t"])
    with pytest.raises(FileFormatError, match=r"nan\.analysis\.h5.*no pose instances"):
        load_sleap(path)


def test_analysis_file_wrong_shape(tmp_path: Path) -> None:
    path = tmp_path / "odd.analysis.h5"
    with h5py.File(path, "w") as f:
        f["tracks"] = np.zeros((1, 2, 4, 10))
        f["node_names"] = np.array([b"a", b"b", b"c"])
    with pytest.raises(FileFormatError, match=r"odd\.analysis\.h5.*fits no SLEAP analysis layout"):
        load_sleap(path)


@pytest.mark.realdata
def test_sleap_io_missing(
    monkeypatch: pytest.MonkeyPatch, shared_data: Path, centered_h5_path: Path
) -> None:
    real_import = builtins.__import__

    def no_sleap_io(name, *args, **kwargs):
        if name == "sleap_io" or name.startswith("sleap_io."):
            raise ImportError("No module named 'sleap_io'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sleap_io)
    with pytest.raises(MissingDependencyError, match=r'pip install "liftpose-dlc\[sleap\]"'):
        load_sleap(shared_file(shared_data, f"{CENTERED}.slp"))
    # analysis files need only h5py
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_sleap(centered_h5_path).data.shape == (1100, 27, 24, 2)
