"""The workflow on the real files in ../shared/data (DeepLabCut, SLEAP, the DeepFly3D fly).

Lifters are trained here on generated 3D libraries (the openfield mouse, the SLEAP fly's 24
nodes) or on the real fly's first 800 frames: the point is the plumbing and the NaN rules.
"""

from __future__ import annotations

import shutil
import warnings

import h5py
import numpy as np
import pandas as pd
import pytest
from realdata import shared_file
from wf_helpers import mouse_library, one_thread_fixture

from liftpose_dlc import Camera, Poses, lift_dlc_project, lift_file, load_dlc, train_dlc_project
from liftpose_dlc.io.sleap import load_sleap, load_sleap_3d
from liftpose_dlc.metrics import mpjpe
from liftpose_dlc.workflow import LiftSkippedWarning, load_project_lifter

pytestmark = pytest.mark.realdata
one_torch_thread = pytest.fixture(autouse=True)(one_thread_fixture)

OPENFIELD = "dlc/openfield"
OPENFIELD_H5 = "m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
MULTI = "dlc/multi_mouse-dlc_team-2022-04-12"
MULTI_EL = "m3v1mp4shortDLC_effnet_b0_multi_mouseApr12shuffle1_5_el.h5"
FLY_NPZ = "3d/df3d_fly/df3d_210902_PR_Fly1_1000f_in_reference_rig.npz"
SLEAP = "sleap/centered_pair_predictions.slp"
TINY = {"epochs": 1, "linear_size": 16, "n_virtual_cameras": 2, "verbose": False}


def _copy_project(src, dst, files):
    """A copy of a project's config and analysis files; its videos are symlinked."""
    (dst / "videos").mkdir(parents=True)
    shutil.copy(src / "config.yaml", dst / "config.yaml")
    for name in files:
        shutil.copy(src / "videos" / name, dst / "videos" / name)
    for video in (src / "videos").glob("*.mp4"):
        (dst / "videos" / video.name).symlink_to(video)
    return dst / "config.yaml"


def test_openfield_project(shared_data, tmp_path):
    src = shared_file(shared_data, OPENFIELD)
    config = _copy_project(src, tmp_path / "openfield", [OPENFIELD_H5])
    train_dlc_project(config, mouse_library(300), **TINY)
    assert load_project_lifter(config).keypoints == ["snout", "leftear", "rightear", "tailbase"]
    with pytest.warns(LiftSkippedWarning, match="13 video"):  # the config's other videos
        written = lift_dlc_project(config)
    out = (
        tmp_path / "openfield" / "videos" / "m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000_3d.h5"
    )
    assert written == [out]
    lifted = load_dlc(out)
    assert lifted.data.shape == (2330, 1, 4, 3)
    frame = pd.read_hdf(out, "df_with_missing")
    assert frame.shape == (2330, 12)
    assert list(frame.columns.get_level_values("coords")[:3]) == ["x", "y", "z"]
    conf = load_dlc(src / "videos" / OPENFIELD_H5).confidence[:, 0]
    low = conf < 0.4  # the config's pcutoff
    np.testing.assert_array_equal(np.isnan(lifted.data[:, 0]).any(-1), low | low[:, :1])

    # a second call without overwrite keeps the file
    before, stamp = out.read_bytes(), out.stat().st_mtime_ns
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert lift_dlc_project(config, verbose=False) == []
    assert any("exists and is kept" in str(w.message) for w in caught)
    assert out.read_bytes() == before
    assert out.stat().st_mtime_ns == stamp

    # a stricter pcutoff: NaN exactly where the likelihood is below it (or the snout's is)
    with pytest.warns(LiftSkippedWarning):
        lift_dlc_project(config, pcutoff=0.95, overwrite=True, verbose=False)
    nan = np.isnan(load_dlc(out).data[:, 0]).any(-1)
    low = conf < 0.95
    assert low.sum() > 0
    np.testing.assert_array_equal(nan, low | low[:, :1])


def _multi_library(n: int = 300) -> Poses:
    lib = mouse_library(n, seed=4)
    rng = np.random.default_rng(4)
    corners = np.broadcast_to([[-200.0, -200.0, 0.0], [200.0, 200.0, 0.0]], (n, 2, 3))
    corners = corners + rng.normal(0, 5, (n, 2, 3))
    data = np.concatenate([lib.data[:, 0, :3], corners], axis=1)
    return Poses(data, ["bodypart1", "bodypart2", "bodypart3", "corner1", "corner2"])


def test_multi_animal_project_every_individual_and_unique_bodyparts(shared_data, tmp_path):
    src = shared_file(shared_data, MULTI)
    config = _copy_project(
        src,
        tmp_path / "multi",
        [MULTI_EL, MULTI_EL.replace(".h5", "_meta.pickle").replace("_el", "")],
    )
    lifter = train_dlc_project(config, _multi_library(), **TINY)
    assert lifter.keypoints == ["bodypart1", "bodypart2", "bodypart3", "corner1", "corner2"]
    with pytest.warns(LiftSkippedWarning, match=r"m3v1mp4\.mp4"):  # listed, never analysed
        written = lift_dlc_project(config, verbose=False)
    assert [p.name for p in written] == [MULTI_EL.replace(".h5", "_3d.h5")]
    lifted = load_dlc(written[0])
    two = load_dlc(src / "videos" / MULTI_EL)
    assert lifted.individuals == ["individual1", "individual2", "individual3"]
    assert lifted.keypoints == ["bodypart1", "bodypart2", "bodypart3", "corner1", "corner2"]
    assert lifted.data.shape == (31, 3, 5, 3)
    assert lifted.fps == pytest.approx(29.98, abs=0.01)  # from DeepLabCut's _meta.pickle
    assert list(lifted.skeleton.edges) == [
        ("bodypart1", "bodypart2"),
        ("bodypart2", "bodypart3"),
        ("bodypart1", "bodypart3"),
    ]
    # the expected NaN: an animal's own bodyparts, the corners from ``single``, the root
    ok = np.isfinite(two.data).all(-1) & ~(two.confidence < 0.6)
    for i in range(3):
        has = np.concatenate([ok[:, i, :3], ok[:, 3, 3:5]], axis=1)
        expected = ~has | ~has[:, :1]
        np.testing.assert_array_equal(np.isnan(lifted.data[:, i]).any(-1), expected)
    assert np.isfinite(lifted.data).any()
    columns = pd.read_hdf(written[0]).columns
    assert columns.names == ["scorer", "individuals", "bodyparts", "coords"]
    assert sorted(set(columns.get_level_values("individuals"))) == [
        "individual1",
        "individual2",
        "individual3",
    ]


def test_fly_project_matches_lifter_predict(shared_data, tmp_path):
    from wf_helpers import write_config

    path = shared_file(shared_data, FLY_NPZ)
    with np.load(path) as z:
        world = z["points3d_world"][:, :15]
        xy = z["points2d_xy"][1, :, :15]
        names = [str(n) for n in z["keypoint_names"][:15]]
        camera = Camera(z["K"][1], z["R_cam"][1], z["tvec"][1], name="camera_1")
    rng = np.random.default_rng(0)
    noisy = xy[800:] + rng.normal(0, 1.0, xy[800:].shape)
    root = tmp_path / "fly"
    config = write_config(root, names, ["fly.mp4"])
    from wf_helpers import write_analysis

    analysis = write_analysis(
        root / "videos", "fly.mp4", Poses(noisy[:, None], names, confidence=np.ones((200, 1, 15)))
    )
    roots = ["LF_Coxa", "LM_Coxa", "LH_Coxa"]
    sets = [[n for n in names if n.startswith(r[:3]) and n != r] for r in roots]
    lifter = train_dlc_project(
        config,
        Poses(world[:800], names),
        camera,
        roots=roots,
        target_sets=sets,
        noise_px=1.0,
        epochs=4,
        linear_size=128,
        verbose=False,
    )
    written = lift_dlc_project(config, verbose=False)
    assert written == [analysis.with_name(analysis.stem + "_3d.h5")]
    lifted = load_dlc(written[0]).data[:, 0]
    truth = camera.world_to_camera(world[800:])
    r = [names.index(x) for x in roots]
    s = [[names.index(x) for x in ts] for ts in sets]
    err_file = mpjpe(truth, lifted, r, s)
    err_predict = mpjpe(truth, lifter.predict(noisy), r, s)
    assert np.isfinite(err_file)
    assert abs(err_file - err_predict) <= 0.1 * err_predict
    body = np.linalg.norm(truth[:, 4] - truth[:, 0], axis=-1).mean()  # a leg's length
    assert err_file < body  # the lifter learned something from 800 real frames


def _fly_library(nodes: list[str], n: int = 400) -> Poses:
    rng = np.random.default_rng(7)
    template = rng.normal(0, 1.0, (len(nodes), 3))
    data = template + rng.normal(0, 0.1, (n, len(nodes), 3))
    return Poses(data, nodes)


def test_sleap_file_all_frames_and_tracks(shared_data, tmp_path):
    pytest.importorskip("sleap_io")
    src = shutil.copy(shared_file(shared_data, SLEAP), tmp_path / "centered_pair_predictions.slp")
    two = load_sleap(src)
    from liftpose_dlc.workflow.training import train_from_library

    model = tmp_path / "fly24.safetensors"
    lifter = train_from_library(
        _fly_library(two.keypoints),
        None,
        model_path=model,
        roots=["thorax"],
        **TINY,
    )
    out = lift_file(src, model, verbose=False)
    assert out == tmp_path / "centered_pair_predictions_3d.h5"
    with h5py.File(out, "r") as f:
        assert f["tracks"].shape == (1100, 27, 24, 3)
        assert [n.decode() for n in f["node_names"][()]] == two.keypoints
        assert f["edge_names"].shape == (len(two.skeleton.edges), 2)
        assert "inferred" not in f
    lifted = load_sleap_3d(out)
    assert lifted.individuals == two.individuals
    assert lifted.keypoints == lifter.keypoints
    missing = ~np.isfinite(two.data).all(-1)
    root = two.keypoints.index("thorax")
    expected = missing | missing[:, :, [root]]
    np.testing.assert_array_equal(np.isnan(lifted.data).any(-1), expected)
    # the two animals' main tracks are lifted in most frames
    counts = np.isfinite(lifted.data).all(-1).any(-1).sum(0)
    assert sorted(counts)[-2:][0] > 500
