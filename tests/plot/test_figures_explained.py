"""Figures that explain themselves: units on the axes, a limb legend, the video frame
behind the 2D, the true 3D in the animation, a captioned loss curve."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from liftpose_dlc import Poses
from liftpose_dlc.drawing import legend
from liftpose_dlc.plot import animate_skeleton_3d, axis_label, plot_pose_3d_beside_2d, video_frame
from liftpose_dlc.workflow.report import (
    TRAINING_CURVE_NOTE,
    animate_lifted,
    lifted_frame_figure,
    plot_lifted,
    plot_training,
)

OPENFIELD = "dlc/openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
VIDEO = "dlc/openfield/videos/m3v1mp4.mp4"
STAR = [("snout", "leftear"), ("snout", "rightear"), ("snout", "tailbase")]


def lifted_like(poses_2d: Poses, units="mm", frame="camera") -> Poses:
    """A stand-in 3D for the 2D (x, y from the 2D, z from the confidence), in ``units``."""
    data = np.concatenate([poses_2d.data, poses_2d.confidence[..., None] * 10], axis=-1)
    return Poses(data, poses_2d.keypoints, units=units, frame=frame, skeleton=poses_2d.skeleton)


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


def test_axis_labels_carry_units_and_the_legend_names_the_limbs():
    pose_2d = np.array([[10.0, 20], [30, 40], [50, 20], [30, 90]])
    pose_3d = np.array([[0.0, 0, 0], [1, 1, 1], [2, 0, 1], [1, 5, 0]])
    poses = Poses(pose_3d[None, None], ["snout", "leftear", "rightear", "tailbase"], skeleton=STAR)
    fig = plot_pose_3d_beside_2d(
        pose_2d, pose_3d, skeleton=poses.skeleton, units="mm", frame="camera"
    )
    ax2, ax3 = fig.axes
    assert (ax2.get_xlabel(), ax2.get_ylabel()) == ("x (px)", "y (px)")
    assert (ax3.get_xlabel(), ax3.get_ylabel(), ax3.get_zlabel()) == (
        "camera x (mm)",
        "camera y (mm)",
        "camera z (mm)",
    )
    (shown,) = fig.legends
    assert [t.get_text() for t in shown.get_texts()] == [
        "snout–leftear",
        "snout–rightear",
        "snout–tailbase",
    ]
    colours = [tuple(line.get_color()) for line in shown.get_lines()]
    assert colours == [rgb for _, rgb in legend(poses.skeleton)]  # the bones' colours
    assert axis_label("z", None) == "z"


def test_no_skeleton_is_drawn_with_guessed_bones_and_says_so(shared_data, tmp_path):
    from realdata import shared_file

    from liftpose_dlc.io.dlc import load_dlc

    poses_2d = load_dlc(shared_file(shared_data, OPENFIELD), pcutoff=None)
    assert not poses_2d.skeleton.edges
    poses_3d = lifted_like(poses_2d)
    frame = 100
    image = video_frame(shared_file(shared_data, VIDEO), frame)
    if image is None:
        pytest.skip("PyAV cannot decode the openfield video here")
    assert image.shape == (480, 640, 3)
    fig = lifted_frame_figure(poses_2d, poses_3d, frame=frame, image=image)
    ax2, ax3 = fig.axes
    assert ax2.get_title() == "2D on the video frame"
    assert len(ax2.get_images()) == 1  # the video frame behind the 2D
    assert len(ax2.get_lines()) == 3  # guessed bones (a tree over 4 keypoints)
    assert len(ax3.get_lines()) == 3
    assert ax3.get_zlabel() == "camera z (mm)"
    assert fig.legends  # their limbs
    # through plot_lifted (what `lift --plot` calls), with the project's video
    written = plot_lifted(
        poses_2d,
        poses_3d,
        tmp_path,
        stem="m3v1",
        frames=range(100, 104),
        video=shared_file(shared_data, VIDEO),
    )
    with Image.open(written["frame"]) as png:
        pixels = np.asarray(png.convert("RGB"))
    # the grey arena of the video is in the left half (matplotlib's white is not grey)
    left = pixels[:, : pixels.shape[1] // 2].reshape(-1, 3).astype(int)
    greyish = (np.ptp(left, axis=1) < 8) & (left.mean(axis=1) > 60) & (left.mean(axis=1) < 235)
    assert greyish.mean() > 0.1


def test_the_animation_shows_the_true_3d(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    names = ["snout", "leftear", "rightear", "tailbase"]
    truth = Poses(rng.normal(size=(6, 1, 4, 3)), names, skeleton=STAR, units="mm")
    lifted = truth.replace(data=truth.data + 0.3)
    frames_drawn = []
    original = animate_skeleton_3d

    import liftpose_dlc.plot as plot

    def spy(*args, **kwargs):
        frames_drawn.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(plot, "animate_skeleton_3d", spy)
    gif = animate_lifted(lifted, tmp_path / "a.gif", truth_3d=truth, progress=True)
    monkeypatch.undo()
    (kwargs,) = frames_drawn
    np.testing.assert_array_equal(kwargs["truth"], truth.data[:, 0])
    assert kwargs["units"] == "mm"
    with Image.open(gif) as img:
        assert img.n_frames == 6
    # the true 3D is drawn: dashed grey lines, one per bone, in every frame
    out = animate_skeleton_3d(
        lifted.data[:, 0], None, tmp_path / "b.gif", skeleton=truth.skeleton, truth=truth.data[:, 0]
    )
    assert out.stat().st_size > 0
    with pytest.raises(Exception, match="truth has shape"):
        animate_skeleton_3d(
            lifted.data[:, 0], None, tmp_path / "c.gif", skeleton=truth.skeleton, truth=truth.data
        )


def test_loss_curve_says_what_each_loss_is(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    (tmp_path / "train_log.txt").write_text(
        "epoch\tlr\tloss_train\tloss_test\terr_test\n"
        "1\t0.001\t5.0\t0.9\t20.0\n2\t0.001\t0.8\t0.5\t15.0\n3\t0.001\t0.2\t0.12\t9.0\n"
    )
    drawn = []
    savefig = Figure.savefig

    def keep(fig, *args, **kwargs):
        drawn.append(fig)
        return savefig(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    plot_training(tmp_path, tmp_path / "loss.png", held_out="validation", units="mm")
    monkeypatch.undo()
    (fig,) = drawn
    assert fig.axes[1].get_ylabel() == "Validation error (mm)"
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == [
        "training loss (augmented training samples)",
        "validation loss (held-out, not augmented)",
    ]
    assert ax.get_yscale() == "log"  # 5.0 down to 0.12
    caption = TRAINING_CURVE_NOTE.format(held_out="validation", held_out_cap="Validation")
    assert caption in texts(fig)
    assert "augmented" in caption
