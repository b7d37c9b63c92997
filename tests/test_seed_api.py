import numpy as np
import pytest
from numpy.random import rand

from liftpose_dlc import Lifter, load_test_results, train
from liftpose_dlc import test as lp_test
from liftpose_dlc.errors import ConfigError, MissingFileError
from liftpose_dlc.lifter.augmentation import random_project

SMALL = {"epochs": 2, "linear_size": 32, "verbose": False}


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
    """The seed README's random-data example (with a small network for speed)."""
    np.random.seed(0)  # noqa: NPY002
    n_points, n_joints = 100, 5
    train_2d, test_2d = rand(n_points, n_joints, 2), rand(n_points, n_joints, 2)  # noqa: NPY002
    train_3d, test_3d = rand(n_points, n_joints, 3), rand(n_points, n_joints, 3)  # noqa: NPY002
    train_2d = {"experiment_1": train_2d}
    train_3d = {"experiment_1": train_3d}
    test_2d = {"experiment_2": test_2d}
    test_3d = {"experiment_2": test_3d}
    roots = [0]
    target_sets = [1, 2, 3, 4]
    out = tmp_path_factory.mktemp("out")
    copies = {k: v.copy() for k, v in train_2d.items()}
    lifter = train(
        train_2d,
        test_2d,
        train_3d,
        test_3d,
        roots,
        target_sets,
        out_dir=out,
        training_kwargs=SMALL,
    )
    np.testing.assert_array_equal(train_2d["experiment_1"], copies["experiment_1"])
    return lifter, out, test_2d, test_3d


def test_readme_example_trains_and_logs(readme_run):
    lifter, out, _, _ = readme_run
    assert isinstance(lifter, Lifter)
    assert lifter.target_sets == [[1, 2, 3, 4]]
    rows = (out / "train_log.txt").read_text().splitlines()
    assert rows[0].split("\t") == ["epoch", "lr", "loss_train", "loss_test", "err_test"]
    values = np.array([[float(v) for v in r.split("\t")] for r in rows[1:]])
    assert values.shape == (2, 5)
    assert values[:, 0].tolist() == [1, 2]
    assert np.isfinite(values).all()  # a test set was given: its loss and error are logged
    assert (out / "ckpt_best.safetensors").exists()
    assert (out / "ckpt_last.safetensors").exists()


def test_test_and_load_results(readme_run):
    lifter, out, test_2d, test_3d = readme_run
    lp_test(out)
    gt, pred, good = load_test_results(out)
    assert gt.shape == pred.shape == (100, 5, 3)
    assert good.shape == (100, 5)
    assert good.dtype == bool
    np.testing.assert_array_equal(gt, test_3d["experiment_2"])
    assert good[:, 1:].all()
    assert not good[:, 0].any()
    np.testing.assert_array_equal(pred[:, 0], gt[:, 0])  # roots taken from the ground truth
    expected = lifter.predict(test_2d["experiment_2"]) + gt[:, :1]
    np.testing.assert_allclose(pred, expected, rtol=1e-12)
    with np.load(out / "test_results.npz", allow_pickle=False) as d:
        assert d["keys"].tolist() == ["experiment_2"]


def test_test_on_new_data(readme_run):
    lifter, out, _, _ = readme_run
    rng = np.random.default_rng(1)
    new_2d, new_3d = rng.random((30, 5, 2)), rng.random((30, 5, 3))
    lp_test(out, new_2d, new_3d)
    gt, pred, good = load_test_results(out)
    assert gt.shape == (30, 5, 3)
    np.testing.assert_array_equal(gt, new_3d)
    np.testing.assert_allclose(pred[:, 1:] - gt[:, :1], lifter.predict(new_2d)[:, 1:], rtol=1e-12)
    lp_test(out, {"a": new_2d[:10], "b": new_2d[10:]})  # 2D only: gt unknown
    gt, pred, good = load_test_results(out)
    assert np.isnan(gt).all()
    assert not good.any()
    assert np.isfinite(pred).all()
    lp_test(out)  # back to the stored test set
    assert load_test_results(out)[0].shape == (100, 5, 3)


def test_training_kwargs_and_errors(tmp_path):
    x2, x3 = rand(40, 5, 2), rand(40, 5, 3)  # noqa: NPY002
    with pytest.raises(ConfigError, match="known keys: .*batch_size.*dropout.*epochs"):
        train(x2, x2, x3, x3, [0], [1, 2, 3, 4], out_dir=tmp_path, training_kwargs={"epoch": 3})
    with pytest.raises(MissingFileError):
        lp_test(tmp_path / "nope")
    with pytest.raises(ConfigError, match="train_2d is None"):
        train(None, x2, x3, x3, [0], [1, 2, 3, 4], out_dir=tmp_path)
    lifter = train(
        x2,
        x2,
        x3,
        x3,
        [0],
        [[1, 2, 3, 4]],
        out_dir=tmp_path,
        training_kwargs={**SMALL, "dropout": 0.1, "batch_size": 16, "lr": 1e-2, "num_stage": 1},
        augmentation=[],
    )
    assert lifter.options.dropout == 0.1
    assert lifter.options.num_stage == 1
    assert lifter.train_options["batch_size"] == 16
    assert lifter.train_options["lr"] == 1e-2
    assert lifter.augmentation == []


def test_seed_random_project_and_resume(tmp_path):
    rng = np.random.default_rng(0)
    x3 = rng.normal(size=(60, 5, 3))
    angle_aug = {
        "eangles": {0: [[-10, 10], [-10, 10], [-10, 10]]},
        "axsorder": "zyx",
        "vis": None,
        "tvec": None,
        "intr": None,
    }
    aug = [random_project(**angle_aug)]
    train(
        None,
        x3[..., :2],
        x3,
        x3,
        [0],
        [1, 2, 3, 4],
        out_dir=tmp_path,
        aug=aug,
        training_kwargs=SMALL,
    )
    train(
        None,
        x3[..., :2],
        x3,
        x3,
        [0],
        [1, 2, 3, 4],
        out_dir=tmp_path,
        aug=aug,
        training_kwargs={**SMALL, "epochs": 3, "resume": True},
    )
    rows = (tmp_path / "train_log.txt").read_text().splitlines()[1:]
    assert [int(r.split("\t")[0]) for r in rows] == [1, 2, 3]
    train(
        None,
        x3[..., :2],
        x3,
        x3,
        [0],
        [1, 2, 3, 4],
        out_dir=tmp_path,
        aug=aug,
        training_kwargs={**SMALL, "epochs": 4, "load": "ckpt_last.pth.tar"},
    )
