"""The seed README's walkthrough: train, test and plot on dictionaries of arrays.

This is LiftPose3D's README (liftpose 0.22) step by step with liftpose-dlc: training on
dictionaries ``{experiment: (N, J, 2|3)}``, ``random_project`` augmentation (random camera
angles, so ``train_2d`` is made from the 3D), testing on the test set given to ``train``, the
training log, the error violins and a 3D pose. The poses are a generated 5-joint "arm" seen
from random directions, so that the numbers mean something.

Run from the repository root::

    python examples/seed_walkthrough.py [OUT_DIR]       # default: seed_walkthrough_out
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from liftpose_dlc import load_test_results, test, train
from liftpose_dlc.lifter.augmentation import random_project
from liftpose_dlc.plot import plot_log_train, plot_pose_3d, read_log_train, violin_plot

out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "seed_walkthrough_out")


def arm_poses(n_points: int, seed: int) -> np.ndarray:
    """A 5-joint chain (J = 5) with random joint angles and random orientation, (N, 5, 3)."""
    rng = np.random.default_rng(seed)
    angles = rng.uniform(-0.8, 0.8, size=(n_points, 4))
    lengths = np.array([1.0, 0.8, 0.6, 0.4])
    poses = np.zeros((n_points, 5, 3))
    heading = np.cumsum(angles, axis=1)
    lift = 0.4 * np.sin(np.cumsum(angles[:, ::-1], axis=1))
    for j in range(4):
        step = np.stack([np.cos(heading[:, j]), np.sin(heading[:, j]), lift[:, j]], axis=1)
        poses[:, j + 1] = poses[:, j] + lengths[j] * step
    return poses


n_points, n_joints = 1000, 5
train_3d = arm_poses(n_points, seed=0)
test_3d = arm_poses(200, seed=1)
train_2d, test_2d = train_3d[..., :2], test_3d[..., :2]

# the seed's dictionaries: one key per experiment
train_2d = {"experiment_1": train_2d}
train_3d = {"experiment_1": train_3d}
test_2d = {"experiment_2": test_2d}
test_3d = {"experiment_2": test_3d}

roots = [0]
target_sets = [1, 2, 3, 4]

# augmentation: random camera angles around the pose (weak perspective, no intrinsics); the
# training 2D is made from the 3D at each step (train_2d is then ignored)
angle_aug = {
    "eangles": {0: [[-10, 10], [-10, 10], [-10, 10]]},
    "axsorder": "zyx",
    "vis": None,
    "tvec": None,
    "intr": None,
}
aug = [random_project(**angle_aug)]

training_kwargs = {"epochs": 4, "linear_size": 64, "batch_size": 64, "verbose": False}
train(
    train_2d,
    test_2d,
    train_3d,
    test_3d,
    roots,
    target_sets,
    out_dir=out_dir,
    training_kwargs=training_kwargs,
    aug=aug,
)

# test on the test set given to train(), then read the results
test(out_dir)
test_3d_gt, test_3d_pred, good = load_test_results(out_dir)
err = np.linalg.norm(test_3d_pred - test_3d_gt, axis=-1)[good]
print(f"test error: {err.mean():.3f} (mean over {good.sum()} joints; the arm is 2.8 long)")

# the training log
epoch, lr, loss_train, loss_test, err_test = read_log_train(out_dir)
print(
    f"epochs: {len(epoch)}, last training loss {loss_train[-1]:.3f}, test loss {loss_test[-1]:.3f}"
)
fig = Figure(figsize=(5, 4))
plot_log_train(fig.add_subplot(), loss_train, loss_test, epoch)
fig.savefig(out_dir / "loss.png")

# error distribution per joint
fig = Figure(figsize=(6, 4))
names = ["Shoulder", "Elbow", "Wrist", "Hand", "Finger"]
violin_plot(
    fig.add_subplot(),
    test_3d_gt=test_3d_gt,
    test_3d_pred=test_3d_pred,
    test_keypoints=good,
    joints_name=names,
    units="arm lengths",
)
fig.savefig(out_dir / "violin.png")

# a 3D pose: prediction dashed over the truth
fig = Figure(figsize=(5, 5))
ax = fig.add_subplot(projection="3d")
plot_pose_3d(ax=ax, tar=test_3d_gt[0], pred=test_3d_pred[0], bones=[[0, 1], [1, 2], [2, 3], [3, 4]])
fig.savefig(out_dir / "pose_3d.png")
print(f"figures written to {out_dir}: loss.png, violin.png, pose_3d.png")
