"""The lifter on real DeepFly3D poses (camera 1, left legs), few epochs, loose bound."""

import numpy as np
import pytest
from realdata import shared_file

from liftpose_dlc import Lifter

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_real_fly_beats_mean_pose(shared_data):
    path = shared_file(shared_data, "3d/df3d_fly/df3d_210902_PR_Fly1_1000f_in_reference_rig.npz")
    with np.load(path, allow_pickle=False) as d:
        x = d["points3d_world"][:, :15]
        cam, k, r, t, scale = 1, d["K"][1], d["R_cam"][1], d["tvec"][1], float(d["sim_scale"])
    x_cam = x @ r.T + t
    h = x_cam @ k.T
    uv = h[..., :2] / h[..., 2:3] + np.random.default_rng(0).normal(0, 1, (len(x), 15, 2))
    x_mm = x_cam / scale
    roots, sets = [0, 5, 10], [[1, 2, 3, 4], [6, 7, 8, 9], [11, 12, 13, 14]]
    lifter = Lifter(15, roots, sets, linear_size=128).fit(
        uv[:800], x_mm[:800], epochs=5, verbose=False
    )
    pred = lifter.predict(uv[800:])

    def err(p):
        return np.mean(
            [
                np.linalg.norm((p[:, s] - p[:, [r]]) - (x_mm[800:, s] - x_mm[800:, [r]]), axis=-1)
                for r, s in zip(roots, sets, strict=True)
            ]
        )

    mean_pose = np.broadcast_to(np.nanmean(x_mm[:800], axis=0), pred.shape)
    assert err(mean_pose) > 0.2  # mm: the mean pose is far off
    assert err(pred) < 0.1  # the lifter is within 0.1 mm (it reaches ~0.05 with the defaults)
    assert cam == 1
