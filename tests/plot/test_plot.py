import doctest

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from PIL import Image

from liftpose_dlc import plot
from liftpose_dlc.errors import (
    ConfigError,
    FileFormatError,
    KeypointError,
    MissingFileError,
    OutputExistsError,
    PosesValidationError,
)
from liftpose_dlc.plot import (
    animate_skeleton_3d,
    plot_log_train,
    plot_pose_2d,
    plot_pose_3d,
    plot_pose_3d_beside_2d,
    plot_video_3d,
    read_log_train,
    violin_plot,
)
from liftpose_dlc.skeleton import Skeleton

BONES = [[0, 1], [1, 2], [2, 3], [3, 4]]
COLORS = [[186, 30, 49], [15, 115, 153]]
LIMB_ID = [0, 0, 0, 1, 1]  # one per joint, as in the seed's param.yaml


def pose5():
    return np.array(
        [[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1], [2, 1, 1]],
    )


def ax3d():
    return Figure(figsize=(3, 3), dpi=50).add_subplot(projection="3d")


def bone_segments_3d(lines):
    return [np.array(line.get_data_3d()).T for line in lines]


def test_docstring_examples():
    result = doctest.testmod(plot)
    assert result.attempted > 5
    assert result.failed == 0


# ------------------------------------------------------------------ training log
def test_read_log_train_agreed_format(tmp_path):
    (tmp_path / "train_log.txt").write_text(
        "epoch\tlr\tloss_train\tloss_test\terr_test\n"
        "1\t0.001\t0.5\t0.6\t0.12\n"
        "2\t0.0009\t0.4\t0.45\t0.10\n"
    )
    epoch, lr, loss_train, loss_test, err_test = read_log_train(tmp_path)
    np.testing.assert_array_equal(epoch, [1, 2])
    np.testing.assert_allclose(lr, [0.001, 0.0009])
    np.testing.assert_allclose(loss_train, [0.5, 0.4])
    np.testing.assert_allclose(loss_test, [0.6, 0.45])
    np.testing.assert_allclose(err_test, [0.12, 0.10])
    # the file itself can be given, too
    assert read_log_train(tmp_path / "train_log.txt")[4][1] == pytest.approx(0.10)


def test_read_log_train_022_format(tmp_path):
    # liftpose 0.22's Logger ends every field, header included, with a tab
    (tmp_path / "log_train.txt").write_text(
        "epoch\tlr\tloss_train\tloss_test\t\n1\t0.00100\t0.50000\t0.60000\t\n"
    )
    epoch, lr, loss_train, loss_test, err_test = read_log_train(str(tmp_path))
    assert epoch.tolist() == [1.0]
    assert loss_test.tolist() == [0.6]
    assert err_test.shape == (1,)
    assert np.isnan(err_test).all()


def test_read_log_train_errors(tmp_path):
    with pytest.raises(MissingFileError, match="train_log.txt.*log_train.txt"):
        read_log_train(tmp_path)
    with pytest.raises(MissingFileError):
        read_log_train(tmp_path / "missing")
    log = tmp_path / "train_log.txt"
    log.write_text("epoch\tlr\tloss_train\tloss_test\terr_test\n1\t0.1\tx\t0.2\t0.3\n")
    with pytest.raises(FileFormatError, match=r"train_log.txt, line 2: not numbers"):
        read_log_train(tmp_path)
    log.write_text("epoch\tlr\tloss_train\tloss_test\terr_test\n1\t0.1\t0.2\n")
    with pytest.raises(FileFormatError, match="line 2: 3 fields for 5 columns"):
        read_log_train(tmp_path)
    log.write_text("epoch,lr,loss_train,loss_test\n1,2,3,4\n")
    with pytest.raises(FileFormatError, match="lacks columns"):
        read_log_train(tmp_path)
    log.write_text("")
    with pytest.raises(FileFormatError, match="empty"):
        read_log_train(tmp_path)


def test_plot_log_train_draws_the_losses():
    ax = Figure().add_subplot()
    plot_log_train(ax, [3.0, 2.0, 1.0], [4.0, 3.0, 2.5], [1, 2, 3])
    train, test = ax.get_lines()
    assert train.get_label() == "train"
    assert test.get_label() == "test"
    np.testing.assert_array_equal(train.get_xydata(), [[1, 3], [2, 2], [3, 1]])
    np.testing.assert_array_equal(test.get_ydata(), [4, 3, 2.5])


# ------------------------------------------------------------------ poses
def test_plot_pose_3d_lines_are_the_bones():
    ax = ax3d()
    pose = pose5()
    lines = plot_pose_3d(ax, tar=pose, bones=BONES, limb_id=LIMB_ID, colors=COLORS)
    assert len(lines) == len(BONES) == len(ax.get_lines())
    for seg, (a, b) in zip(bone_segments_3d(lines), BONES, strict=True):
        np.testing.assert_allclose(seg, pose[[a, b]])
    # colour of a bone: the limb of its first joint, 0-255 -> 0-1
    assert lines[2].get_color() == pytest.approx((186 / 255, 30 / 255, 49 / 255))
    assert lines[3].get_color() == pytest.approx((15 / 255, 115 / 255, 153 / 255))
    assert all(line.get_linestyle() == "-" for line in lines)


def test_plot_pose_3d_skips_nan_and_bad_joints_and_dashes_prediction():
    ax = ax3d()
    tar = pose5()
    tar[2] = np.nan  # bones 0-1 and 3-4 remain
    pred = pose5() + 0.1
    lines = plot_pose_3d(ax, tar, pred, bones=BONES, legend=True)
    tar_lines = [line for line in lines if line.get_linestyle() == "-"]
    pred_lines = [line for line in lines if line.get_linestyle() == "--"]
    assert len(tar_lines) == 2
    assert len(pred_lines) == 4
    np.testing.assert_allclose(bone_segments_3d(pred_lines)[0], pred[[0, 1]])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["LiftPose3D prediction", "Triangulated 3D pose"]
    assert len(ax.get_lines()) == 6  # legend handles are not drawn in the axes

    good = np.ones((5, 3), bool)
    good[4] = False
    ax = ax3d()
    lines = plot_pose_3d(ax, pose5(), pose5(), bones=BONES, good_keypts=good)
    assert len(lines) == 6  # bone 3-4 hidden for both
    ax = ax3d()
    lines = plot_pose_3d(ax, pose5(), pose5(), bones=BONES, good_keypts=good, show_pred_always=True)
    assert len(lines) == 7


def test_plot_pose_3d_limb_id_per_bone_and_errors():
    ax = ax3d()
    lines = plot_pose_3d(ax, pose5(), bones=BONES[:2], limb_id=[1, 0], colors=COLORS)
    assert lines[0].get_color() == pytest.approx(tuple(c / 255 for c in COLORS[1]))
    with pytest.raises(ConfigError, match="one per joint"):
        plot_pose_3d(ax3d(), pose5(), bones=BONES, limb_id=[0, 0, 0], colors=COLORS)
    with pytest.raises(ConfigError, match="0-255"):
        plot_pose_3d(ax3d(), pose5(), bones=BONES, limb_id=LIMB_ID, colors=[[0, 0, 300]] * 2)
    with pytest.raises(KeypointError, match="out of range"):
        plot_pose_3d(ax3d(), pose5(), bones=[[0, 9]])
    with pytest.raises(TypeError, match="3D axes"):
        plot_pose_3d(Figure().add_subplot(), pose5(), bones=BONES)


def test_plot_pose_2d_data_and_normalize():
    ax = Figure().add_subplot()
    pose = np.array([[10.0, 20], [30, 40], [np.nan, np.nan], [50, 60]])
    bones = [[0, 1], [1, 2], [1, 3]]
    lines = plot_pose_2d(ax, pose, bones, normalize=False, limb_id=[0, 0, 1, 1], colors=COLORS)
    assert len(lines) == 2
    np.testing.assert_array_equal(lines[0].get_xydata(), pose[[0, 1]])
    np.testing.assert_array_equal(lines[1].get_xydata(), pose[[1, 3]])
    ax = Figure().add_subplot()
    lines = plot_pose_2d(ax, pose, bones)  # centred on the median joint (30, 40)
    np.testing.assert_array_equal(lines[0].get_xydata(), [[-20, -20], [0, 0]])


def test_plot_pose_3d_beside_2d(tmp_path):
    pose_2d = np.array([[100.0, 50], [120, 80], [140, 60], [np.nan, np.nan], [150, 90]])
    fig = plot_pose_3d_beside_2d(
        pose_2d, pose5(), bones=BONES, limb_id=LIMB_ID, colors=COLORS, title="frame 0"
    )
    ax2, ax3 = fig.axes
    assert ax3.name == "3d"
    segs = [line.get_xydata() for line in ax2.get_lines()]
    assert len(segs) == 2  # bones 2-3 and 3-4 touch the missing joint
    np.testing.assert_array_equal(segs[1], pose_2d[[1, 2]])
    assert ax2.yaxis_inverted()  # image coordinates
    assert len(ax3.get_lines()) == 4
    out = tmp_path / "beside.png"
    fig.savefig(out)
    with Image.open(out) as img:
        assert img.size[0] > img.size[1] > 0
    # over an image
    fig = plot_pose_3d_beside_2d(pose_2d, pose5(), bones=BONES, image=np.zeros((200, 300, 3)))
    assert len(fig.axes[0].images) == 1


# ------------------------------------------------------------------ violin plot
def violin_bodies(ax):
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def test_violin_plot_counts_medians_and_no_mutation():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(50, 4, 3))
    pred = gt + rng.normal(scale=0.1, size=gt.shape)
    gt_before = gt.copy()
    names = ["a", "b", "c", "d"]
    keypts = np.ones((50, 4), bool)
    keypts[:10, 1] = False
    ax = Figure().add_subplot()
    violin_plot(
        ax,
        test_3d_gt=gt,
        test_3d_pred=pred,
        test_keypoints=keypts,
        joints_name=names,
        units="mm",
        overall=False,
    )
    assert len(violin_bodies(ax)) == 4
    np.testing.assert_array_equal(gt, gt_before)
    assert names == ["a", "b", "c", "d"]
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert ax.get_ylabel() == "Error (mm)"
    # the median line of joint "b" sits at the median of its 40 kept Euclidean errors
    err_b = np.linalg.norm(pred[10:, 1] - gt[10:, 1], axis=-1)
    heights = [
        seg[0][1]
        for c in ax.collections
        if isinstance(c, LineCollection)
        for seg in c.get_segments()
    ]
    assert any(h == pytest.approx(np.median(err_b)) for h in heights)
    kept = np.where(keypts, np.linalg.norm(pred - gt, axis=-1), np.nan)
    assert max(heights) == pytest.approx(np.nanmax(kept))

    ax = Figure().add_subplot()
    violin_plot(ax, gt, pred, np.ones_like(gt), names, body_length=2.0)
    assert len(violin_bodies(ax)) == 5  # with "overall"
    assert ax.get_xticklabels()[-1].get_text() == "overall"
    assert len(ax.child_axes) == 1  # the body-length axis
    assert names == ["a", "b", "c", "d"]


def test_violin_plot_roots_hues_and_errors():
    rng = np.random.default_rng(1)
    gt = rng.normal(size=(30, 5, 3))
    preds = [gt + 0.1 * rng.normal(size=gt.shape), gt + 0.2 * rng.normal(size=gt.shape)]
    ax = Figure().add_subplot()
    violin_plot(
        ax,
        gt,
        preds,
        None,
        list("abcde"),
        overall=False,
        roots=[0],
        target_sets=[[1, 2, 3, 4]],
        hue_names=["small", "large"],
    )
    assert len(violin_bodies(ax)) == 2 * 4  # the root has no error
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["small", "large"]
    with pytest.raises(KeypointError, match="3 names for 5 joints"):
        violin_plot(Figure().add_subplot(), gt, preds[0], None, ["a", "b", "c"])
    ax = Figure().add_subplot()
    violin_plot(ax, gt, preds[0], None, list("abcde"), order=["c", "a"], overall=False)
    assert len(violin_bodies(ax)) == 2
    assert [t.get_text() for t in ax.get_xticklabels()] == ["c", "a"]


# ------------------------------------------------------------------ animations
def moving_poses(n=4):
    base = pose5()
    return np.stack([base + [0.2 * i, 0, 0.1 * i] for i in range(n)])


def test_plot_video_3d_gif(tmp_path):
    fig = Figure(figsize=(2, 2), dpi=40)
    ax = fig.add_subplot(projection="3d")
    ax.set_xlim([-1, 3])
    ax.set_ylim([-1, 2])
    ax.set_zlim([0, 2])
    ax.view_init(elev=20, azim=40)
    par = {"vis": {"bones": BONES, "limb_id": LIMB_ID, "colors": COLORS}}
    gt = moving_poses(5)
    pred = gt + 0.05
    gt[2, 3] = np.nan
    out = plot_video_3d(
        fig,
        ax,
        n=4,
        par=par,
        tar=gt,
        pred=pred,
        trailing=3,
        trailing_keypts=[4],
        fps=5,
        name=tmp_path / "video.gif",
    )
    assert out.stat().st_size > 0
    with Image.open(out) as gif:
        assert gif.n_frames == 4
    # the last frame's content: its limits, its view and its bones
    assert ax.get_xlim() == pytest.approx((-1, 3))
    assert ax.get_zlim() == pytest.approx((0, 2))
    assert (ax.elev, ax.azim) == (20, 40)
    solid = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-" and len(ln.get_xdata()) == 2]
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 4
    np.testing.assert_allclose(np.array(dashed[0].get_data_3d()).T, pred[3][[0, 1]])
    assert len(solid) >= 4  # 4 bones + trail segments
    with pytest.raises(OutputExistsError):
        plot_video_3d(fig, ax, n=2, par=par, pred=pred, name=out)


def test_animate_skeleton_3d_gif_frames(tmp_path):
    poses = moving_poses(6)
    poses[1, 0] = np.nan
    out = animate_skeleton_3d(
        poses,
        BONES,
        tmp_path / "skel.gif",
        frames=range(1, 6, 2),
        fps=10,
        limb_id=LIMB_ID,
        colors=COLORS,
        figsize=(2, 2),
        dpi=40,
    )
    with Image.open(out) as gif:
        assert gif.n_frames == 3
        assert gif.info["duration"] == 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["skel.gif"]  # no temporary left
    with pytest.raises(OutputExistsError):
        animate_skeleton_3d(poses, BONES, out)
    animate_skeleton_3d(poses, BONES, out, frames=[0, 5], overwrite=True, figsize=(2, 2), dpi=40)
    with Image.open(out) as gif:
        assert gif.n_frames == 2


def test_animate_skeleton_3d_mp4(tmp_path):
    av = pytest.importorskip("av", reason="PyAV writes mp4 without ffmpeg")
    out = animate_skeleton_3d(
        moving_poses(5), BONES, tmp_path / "skel.mp4", fps=12, figsize=(2, 2), dpi=40
    )
    assert out.stat().st_size > 0
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        assert len(frames) == 5
        assert float(stream.average_rate) == pytest.approx(12)
        assert frames[0].width % 2 == 0
        assert frames[0].height % 2 == 0


def test_animate_skeleton_3d_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match=r"\.gif or \.mp4"):
        animate_skeleton_3d(moving_poses(), BONES, tmp_path / "a.txt")
    with pytest.raises(ConfigError, match="out of range"):
        animate_skeleton_3d(moving_poses(3), BONES, tmp_path / "a.gif", frames=[0, 7])
    with pytest.raises(ConfigError, match="no frames"):
        animate_skeleton_3d(moving_poses(3), BONES, tmp_path / "a.gif", frames=[])
    with pytest.raises(ConfigError, match="fps"):
        animate_skeleton_3d(moving_poses(3), BONES, tmp_path / "a.gif", fps=0)
    assert not list(tmp_path.iterdir())


def test_plot_argument_errors_are_package_errors():
    with pytest.raises(PosesValidationError, match="give a pose"):
        plot_pose_3d(ax3d())
    fig = Figure()
    with pytest.raises(PosesValidationError, match="give poses"):
        plot_video_3d(fig, fig.add_subplot(projection="3d"), 1, {"bones": BONES})
    with pytest.raises(ConfigError, match="n must be"):
        plot_video_3d(
            fig, fig.add_subplot(projection="3d"), 9, {"bones": BONES}, pred=moving_poses(3)
        )
    with pytest.raises(ConfigError, match="body_length"):
        violin_plot(Figure().add_subplot(), moving_poses(3), moving_poses(3), body_length=0)


def test_new_plots_take_a_skeleton(tmp_path):
    names = ["coxa", "femur", "tibia", "tarsus", "claw"]
    skeleton = Skeleton(names, list(zip(names[:-1], names[1:], strict=True)))
    fig = plot_pose_3d_beside_2d(pose5()[:, :2], pose5(), skeleton=skeleton)
    assert [line.get_color() for line in fig.axes[1].get_lines()] == [skeleton.limb_colors[0]] * 4
    out = animate_skeleton_3d(
        moving_poses(3), None, tmp_path / "a.gif", skeleton=skeleton, figsize=(2, 2), dpi=40
    )
    assert out.stat().st_size > 0
    with pytest.raises(ConfigError, match="not both"):
        plot_pose_3d_beside_2d(pose5()[:, :2], pose5(), bones=BONES, skeleton=skeleton)
    with pytest.raises(KeypointError, match="5 keypoints for 4 joints"):
        plot_pose_3d_beside_2d(pose5()[:4, :2], pose5()[:4], skeleton=skeleton)
