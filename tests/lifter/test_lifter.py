import numpy as np
import pytest
import torch

from liftpose_dlc import Lifter, Poses
from liftpose_dlc.errors import ConfigError, ModelFileError, OutputExistsError, PosesValidationError

KP = ["root", "a", "b", "c", "root2", "d"]
OPTS = {"linear_size": 32, "num_stage": 1}


def _pairs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    p3 = rng.normal(size=(n, 6, 3))
    p2 = p3[..., :2] * 20 + 100 + rng.normal(0, 0.1, size=(n, 6, 2))
    return p2, p3


@pytest.fixture(scope="module")
def trained():
    p2, p3 = _pairs()
    lifter = Lifter(KP, ["root", "root2"], [["a", "b", "c"], ["d"]], **OPTS)
    return lifter.fit(p2, p3, epochs=3, verbose=False), p2, p3


def test_fit_predict_shapes_and_roots(trained):
    lifter, p2, _ = trained
    out = lifter.predict(p2[:7])
    assert out.shape == (7, 6, 3)
    assert out.dtype == np.float64
    assert (out[:, [0, 4]] == 0).all()  # roots at the origin
    assert np.isfinite(out).all()
    assert len(lifter.history) == 3
    assert lifter.best_epoch in (1, 2, 3)
    mean = lifter.predict(p2[:7], root_positions="mean")
    np.testing.assert_allclose(mean[:, 4], np.broadcast_to(lifter.root_offsets[1], (7, 3)))
    np.testing.assert_allclose(mean[:, 5] - mean[:, 4], out[:, 5])


def test_inputs_not_modified_and_deterministic():
    p2, p3 = _pairs()
    p2[3, 2] = np.nan
    p3[5, 1] = np.nan
    c2, c3 = p2.copy(), p3.copy()
    a = Lifter(KP, [0, 4], [[1, 2, 3], [5]], **OPTS).fit(p2, p3, epochs=2, verbose=False)
    b = Lifter(KP, [0, 4], [[1, 2, 3], [5]], **OPTS).fit(p2, p3, epochs=2, verbose=False)
    np.testing.assert_array_equal(p2, c2)
    np.testing.assert_array_equal(p3, c3)
    out_a, out_b = a.predict(p2), b.predict(p2)
    np.testing.assert_array_equal(out_a, out_b)
    np.testing.assert_array_equal(p2, c2)
    for va, vb in zip(a.net.state_dict().values(), b.net.state_dict().values(), strict=True):
        assert torch.equal(va, vb)


def test_nan_keypoint_does_not_change_other_frames(trained):
    lifter, p2, _ = trained
    ref = lifter.predict(p2[:10])
    bad = p2[:10].copy()
    bad[4, 2] = np.nan  # a target point: masked, still predicted
    bad[6, 4] = np.nan  # a root: its target set is NaN in that frame
    out = lifter.predict(bad)
    others = [i for i in range(10) if i not in (4, 6)]
    np.testing.assert_array_equal(out[others], ref[others])
    assert np.isfinite(out[4]).all()
    assert np.isnan(out[6, [4, 5]]).all()
    # the other set of that frame is still predicted (from less input, so not identical)
    assert np.isfinite(out[6, :4]).all()
    # chunking does not change the result (up to float32 rounding of the matrix products)
    np.testing.assert_allclose(lifter.predict(bad, batch_size=3), out, rtol=1e-5, atol=1e-6)


def test_save_load_bit_identical(tmp_path, trained):
    lifter, p2, _ = trained
    path = lifter.save(tmp_path / "fly.safetensors")
    again = Lifter.load(path)
    np.testing.assert_array_equal(again.predict(p2), lifter.predict(p2))
    assert again.keypoints == KP
    assert again.roots == [0, 4]
    assert again.target_sets == [[1, 2, 3], [5]]
    assert again.options == lifter.options
    assert again.encoder.options == lifter.encoder.options
    with pytest.raises(OutputExistsError):
        lifter.save(path)
    lifter.save(path, overwrite=True)


def test_load_file_without_newer_options(tmp_path):
    # a file written before the chain_features option: the option is off when loaded
    from liftpose_dlc.lifter.modelfile import read_model_file, write_model_file

    p2, p3 = _pairs(40)
    old = Lifter(KP, [0], [[1, 2, 3, 5]], chain_features=False, **OPTS)
    old.fit(p2, p3, epochs=1, augment=None, verbose=False)
    tensors, meta = read_model_file(old.save(tmp_path / "new.safetensors"))
    del meta["model_options"]["chain_features"]
    write_model_file(tmp_path / "old.safetensors", tensors, meta)
    again = Lifter.load(tmp_path / "old.safetensors")
    assert again.encoder.options.chain_features is False
    np.testing.assert_array_equal(again.predict(p2), old.predict(p2))


def test_model_file_errors(tmp_path, trained):
    lifter, _, _ = trained
    path = lifter.save(tmp_path / "m.safetensors")
    data = path.read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated"):
        Lifter.load(tmp_path / "trunc.safetensors")
    (tmp_path / "text.safetensors").write_text("hello, not a model")
    with pytest.raises(ModelFileError, match="not a readable lifter model file"):
        Lifter.load(tmp_path / "text.safetensors")
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ModelFileError, match="not a liftpose-dlc lifter"):
        Lifter.load(tmp_path / "other.safetensors")
    import json

    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    save_file(tensors, str(tmp_path / "new.safetensors"), metadata={**meta, "format_version": "99"})
    with pytest.raises(ModelFileError, match="format version 99"):
        Lifter.load(tmp_path / "new.safetensors")
    bad = json.loads(meta["lifter"])
    bad["model_options"]["linear_size"] = 64
    save_file(
        tensors, str(tmp_path / "bad.safetensors"), metadata={**meta, "lifter": json.dumps(bad)}
    )
    with pytest.raises(ModelFileError, match="inconsistent"):
        Lifter.load(tmp_path / "bad.safetensors")


def test_poses_and_dict_inputs(trained):
    lifter, p2, p3 = trained
    poses = Poses(np.stack([p2[:5], p2[5:10]], axis=1)[:, :, ::-1], keypoints=KP[::-1])
    out = lifter.predict(poses)
    assert isinstance(out, Poses)
    assert out.n_dims == 3
    assert out.keypoints == KP
    assert out.individuals == poses.individuals
    # same frames in another batch composition: equal up to float32 rounding
    np.testing.assert_allclose(out.data[:, 1], lifter.predict(p2[5:10]), rtol=1e-5, atol=1e-6)
    d = lifter.predict({"x": p2[:4], "y": p2[4:6]})
    assert sorted(d) == ["x", "y"]
    assert d["y"].shape == (2, 6, 3)
    np.testing.assert_allclose(d["y"], lifter.predict(p2[4:6]), rtol=1e-5, atol=1e-6)


def test_errors(trained):
    lifter, p2, p3 = trained
    with pytest.raises(PosesValidationError, match="has 4 joints"):
        lifter.predict(p2[:, :4])
    with pytest.raises(PosesValidationError, match="2 coordinates"):
        lifter.predict(p3)
    with pytest.raises(ConfigError, match="not trained"):
        Lifter(KP, [0], [[1]]).predict(p2)
    with pytest.raises(ConfigError, match="unknown training options"):
        Lifter(KP, [0], [[1]]).fit(p2, p3, epochs=1, bogus=1)
    with pytest.raises(PosesValidationError, match="frames"):
        Lifter(KP, [0], [[1]]).fit(p2, p3[:10], epochs=1)


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_checkpoints_and_resume(tmp_path, ema):
    p2, p3 = _pairs()
    # the staircase schedule does not depend on the number of epochs, so 2 epochs then a
    # resume to 4 is the same run as 4 epochs (the cosine schedule spans the epochs asked for)
    step = {"lr_schedule": "step", "augment": None, "verbose": False, "ema": ema}
    full = Lifter(KP, [0], [[1, 2, 3, 5]], **OPTS).fit(
        p2, p3, epochs=4, out_dir=tmp_path / "a", **step
    )
    part = Lifter(KP, [0], [[1, 2, 3, 5]], **OPTS).fit(
        p2, p3, epochs=2, out_dir=tmp_path / "b", **step
    )
    assert (tmp_path / "b" / "ckpt_best.safetensors").exists()
    part.fit(p2, p3, epochs=4, out_dir=tmp_path / "b", resume=True, **step)
    log = (tmp_path / "b" / "train_log.txt").read_text().splitlines()
    assert log[0] == "epoch\tlr\tloss_train\tloss_test\terr_test"
    assert [int(r.split("\t")[0]) for r in log[1:]] == [1, 2, 3, 4]
    np.testing.assert_array_equal(part.predict(p2), full.predict(p2))
    ref = (tmp_path / "a" / "train_log.txt").read_text().splitlines()
    assert [r.split("\t")[2] for r in log] == [r.split("\t")[2] for r in ref]


def test_cosine_schedule_and_last_epoch():
    p2, p3 = _pairs()
    lifter = Lifter(KP, [0], [[1, 2, 3, 5]], **OPTS)
    lifter.fit(p2, p3, epochs=5, augment=None, verbose=False, batch_size=40)
    # default: cosine from lr to 0 over the 5 epochs x 3 steps, every frame trained on,
    # the last epoch kept
    assert lifter.train_options["lr_schedule"] == "cosine"
    assert lifter.train_options["val_fraction"] == 0.0
    lrs = [r.lr for r in lifter.history]
    assert lrs[0] == pytest.approx(1e-3 * 0.5 * (1 + np.cos(np.pi * 3 / 15)))
    assert lrs[-1] == pytest.approx(0.0, abs=1e-12)
    assert all(a > b for a, b in zip(lrs, lrs[1:], strict=False))
    assert lifter.best_epoch == 5
    # a held-out fraction selects the epoch on it
    lifter.fit(p2, p3, epochs=5, augment=None, verbose=False, val=0.2)
    assert lifter.train_options["val_fraction"] == 0.2
    assert np.isfinite([r.err_val for r in lifter.history]).all()


def test_ema_and_auto_epochs(tmp_path):
    p2, p3 = _pairs(60)
    lifter = Lifter(KP, [0], [[1, 2, 3, 5]], **OPTS)
    lifter.fit(p2, p3, verbose=False, augment=None, ema=0.9, min_steps=20, batch_size=16)
    # 60 training frames, 4 steps per epoch: at least 30 epochs and 20 steps
    assert lifter.train_options["epochs"] == 30
    assert len(lifter.history) == 30
    lifter.fit(p2, p3, verbose=False, augment=None, min_steps=400, batch_size=16)
    assert lifter.train_options["epochs"] == 100


def test_fine_tune_starts_from_init(trained):
    from liftpose_dlc.errors import KeypointError
    from liftpose_dlc.lifter.session import Pairs, evaluate

    init, p2, p3 = trained
    before = init.predict(p2)
    data = Pairs(p2, p3, np.ones(p2.shape[:2], dtype=bool)).batch(torch.device("cpu"))
    _, err_init = evaluate(init.net, data, init.encoder, "mpjpe")
    # no epoch: the fine-tuned lifter is init (its weights and its input statistics)
    start = Lifter.like(init).fit(p2[:50], p3[:50] * 2, init=init, epochs=0, verbose=False)
    np.testing.assert_array_equal(start.predict(p2), before)
    _, err_start = evaluate(start.net, data, start.encoder, "mpjpe")
    assert err_start == err_init
    for name, value in init.stats.as_dict().items():
        np.testing.assert_array_equal(getattr(start.stats, name), value)
    # a few epochs at a low rate: the statistics stay init's, the weights move a little
    tuned = Lifter.like(init).fit(p2, p3, init=init, epochs=2, lr=1e-4, verbose=False)
    np.testing.assert_array_equal(tuned.stats.mean_2d, init.stats.mean_2d)
    _, err_tuned = evaluate(tuned.net, data, tuned.encoder, "mpjpe")
    fresh = Lifter.like(init).fit(p2, p3, epochs=2, lr=1e-4, verbose=False)
    _, err_fresh = evaluate(fresh.net, data, fresh.encoder, "mpjpe")
    assert abs(err_tuned - err_init) < abs(err_fresh - err_init)
    assert not np.array_equal(tuned.predict(p2), before)
    np.testing.assert_array_equal(init.predict(p2), before)  # init is not changed
    # init must lift the same keypoints with the same options
    with pytest.raises(KeypointError, match="the lifter to fine-tune"):
        Lifter(KP, [0], [[1, 2, 3]], **OPTS).fit(p2, p3, init=init, epochs=1, verbose=False)
    with pytest.raises(ConfigError, match="Lifter.like"):
        Lifter(KP, init.roots, init.target_sets, linear_size=16).fit(
            p2, p3, init=init, epochs=1, verbose=False
        )
    with pytest.raises(ConfigError, match="stats or init"):
        Lifter.like(init).fit(p2, p3, init=init, stats=init.stats, epochs=1, verbose=False)
    with pytest.raises(ConfigError, match="trained Lifter"):
        Lifter.like(init).fit(p2, p3, init=Lifter.like(init), epochs=1, verbose=False)
