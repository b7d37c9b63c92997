"""Windows of a temporal lifter: sequence ends, gaps, several sequences (never crossed)."""

import numpy as np
import pytest
import torch

from liftpose_dlc.errors import ConfigError
from liftpose_dlc.lifter.session import Pairs
from liftpose_dlc.lifter.temporal import SequencePairs, _windows
from liftpose_dlc.lifter.windows import segment_bounds, segments, window_index


def test_edge_padding_at_sequence_ends():
    idx = window_index(np.ones(6, bool), None, 2, 2)
    assert idx[0].tolist() == [0, 0, 0, 1, 2]
    assert idx[1].tolist() == [0, 0, 1, 2, 3]
    assert idx[3].tolist() == [1, 2, 3, 4, 5]
    assert idx[5].tolist() == [3, 4, 5, 5, 5]


def test_causal_window_holds_past_frames_only():
    idx = window_index(np.ones(5, bool), None, 4, 0)
    assert idx[4].tolist() == [0, 1, 2, 3, 4]
    assert idx[1].tolist() == [0, 0, 0, 0, 1]
    assert (idx <= np.arange(5)[:, None]).all()


def test_a_gap_is_a_boundary():
    present = np.array([1, 1, 1, 0, 0, 1, 1], bool)
    assert segments(present) == [(0, 3), (5, 7)]
    first, last = segment_bounds(present)
    assert first.tolist() == [0, 0, 0, 3, 4, 5, 5]
    assert last.tolist() == [2, 2, 2, 3, 4, 6, 6]
    idx = window_index(present, None, 2, 2)
    # frame 2's window stops before the gap (edge-padded with frame 2), frame 5's after it
    assert idx[2].tolist() == [0, 1, 2, 2, 2]
    assert idx[5].tolist() == [5, 5, 5, 6, 6]
    assert not np.isin(idx[[0, 1, 2, 5, 6]], [3, 4]).any()


def test_windows_never_cross_sequences():
    lengths = [4, 1, 3]
    idx = window_index(np.ones(8, bool), lengths, 3, 3)
    seq = np.repeat(np.arange(3), lengths)
    assert (seq[idx] == seq[:, None]).all()
    assert idx[4].tolist() == [4] * 7  # a one-frame sequence
    assert idx[3].tolist() == [0, 1, 2, 3, 3, 3, 3]


def test_lengths_must_add_up():
    with pytest.raises(ConfigError, match="add up"):
        window_index(np.ones(5, bool), [2, 2], 1, 1)


def test_training_windows_follow_the_dictionary_keys():
    """Two seed-dictionary keys: every training window stays inside its key."""
    from liftpose_dlc import Lifter

    rng = np.random.default_rng(0)
    d3 = {"a": rng.normal(size=(10, 3, 3)), "b": rng.normal(size=(7, 3, 3))}
    d2 = {k: v[..., :2] for k, v in d3.items()}
    lifter = Lifter(3, [0], [[1, 2]], temporal=9)
    pairs, _ = lifter._pairs(d2, d3, None, "train")
    assert isinstance(pairs, SequencePairs)
    assert list(pairs.lengths) == [10, 7]
    pairs.pose_3d[12] = np.nan  # a frame of "b" without 3D is no training sample
    pairs.pose_2d[3] = np.nan  # a gap in "a"
    w = _windows(pairs, pairs.lengths, (4, 4), torch.device("cpu"))
    idx = w.index.numpy()
    own = idx[:, 4]
    assert 12 not in own
    assert 3 not in own
    assert len(idx) == 15
    key = np.repeat([0, 1], [10, 7])
    assert (key[idx] == key[own][:, None]).all()
    assert not (idx == 3).any()  # the gap frame is in no window
    kept = pairs.take(np.arange(17) % 2 == 0)
    assert list(kept.lengths) == [5, 4]
    assert isinstance(Pairs(pairs.pose_2d, pairs.pose_3d, pairs.mask), Pairs)
