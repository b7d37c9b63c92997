"""VideoArray: lazy, frame-exact random access with PyAV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from napari_testdata import frame_value, write_mkv
from realdata import shared_file

from liftpose_dlc.errors import FileFormatError, MissingFileError
from napari_liftpose.video import VideoArray

pytest.importorskip("av")


def test_shape_dtype_and_protocol(video_path):
    with VideoArray(video_path) as video:
        assert video.shape == (40, 48, 64, 3)
        assert video.dtype == np.uint8
        assert video.ndim == 4
        assert len(video) == 40
        assert video.size == 40 * 48 * 64 * 3
        assert video.fps == pytest.approx(25.0)


def test_random_access_returns_the_right_frame(video_path):
    with VideoArray(video_path) as video:
        for k in [35, 3, 39, 17, 18, 0, 22, 21, 20]:  # forwards, backwards, across keyframes
            frame = video[k]
            assert frame.shape == (48, 64, 3)
            assert np.abs(frame.astype(int) - frame_value(k)).max() <= 3, k
        assert np.abs(video[-1].astype(int) - frame_value(39)).max() <= 3


def test_reading_one_frame_decodes_one_gop_not_the_file(video_path):
    with VideoArray(video_path, cache_size=4) as video:
        before = video.decoded_frames
        video[35]  # keyframe 30: decodes 30..35
        assert video.decoded_frames - before == 6
        before = video.decoded_frames
        video[36]  # the next frame continues the decoder, no seek
        assert video.decoded_frames - before == 1
        before = video.decoded_frames
        video[35]  # cached
        assert video.decoded_frames - before == 0
        before = video.decoded_frames
        video[12]  # backwards: seek to keyframe 10
        assert video.decoded_frames - before == 3
        assert video.decoded_frames < video.n_frames


def test_slices_and_fancy_keys(video_path):
    with VideoArray(video_path) as video:
        clip = video[5:8]
        assert clip.shape == (3, 48, 64, 3)
        means = clip.reshape(3, -1).mean(axis=1)
        np.testing.assert_allclose(means, [frame_value(k) for k in (5, 6, 7)], atol=3)
        assert video[10, :4, 2:5].shape == (4, 3, 3)
        assert video[..., 0].shape == (40, 48, 64)
        assert video[[1, 3]].shape == (2, 48, 64, 3)
        with pytest.raises(IndexError, match="out of range"):
            video[40]


def test_mkv_without_frame_count_metadata(tmp_path):
    path = write_mkv(tmp_path / "clip.mkv")
    with VideoArray(path) as video:
        assert video._stream.frames == 0  # the container does not say
        assert video.shape == (30, 24, 32, 3)
        for k in (29, 4, 13):
            assert np.array_equal(video[k], np.full((24, 32, 3), frame_value(k), np.uint8))


def test_errors(tmp_path):
    with pytest.raises(MissingFileError):
        VideoArray(tmp_path / "absent.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    with pytest.raises(FileFormatError, match="bad.mp4"):
        VideoArray(bad)


@pytest.mark.realdata
def test_real_openfield_video(shared_data):
    path = shared_file(shared_data, "dlc/openfield/videos/m3v1mp4.mp4")
    tracks = shared_file(
        shared_data, "dlc/openfield/videos/m3v1mp4DLC_resnet50_openfieldAug20shuffle1_30000.h5"
    )
    with VideoArray(path) as video:
        assert video.shape == (2330, 480, 640, 3)
        assert video.n_frames == len(pd.read_hdf(tracks))  # DLC analysed it frame for frame
        before = video.decoded_frames
        last = video[2329]  # the last counted frame decodes
        assert last.shape == (480, 640, 3)
        assert last.mean() > 20  # a real image, not blank
        assert video.decoded_frames - before < 300  # one GOP, not 2330 frames
        assert video.fps == pytest.approx(30.0, abs=0.01)


@pytest.mark.realdata
def test_real_sleap_video(shared_data):
    path = shared_file(shared_data, "sleap/centered_pair_low_quality.mp4")
    with VideoArray(path) as video:
        assert video.shape == (1100, 384, 384, 3)
        assert video.fps == pytest.approx(15.0)
        middle = video[550]
        assert middle.std() > 5  # flies on a background, not a flat frame


def test_raw_stream_without_timestamps_is_read_in_decode_order(tmp_path):
    av = pytest.importorskip("av")
    path = tmp_path / "clip.h264"
    with av.open(str(path), "w", format="h264") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
        stream.options = {"crf": "5", "g": "5"}
        for k in range(15):
            image = np.full((24, 32, 3), frame_value(k), np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with VideoArray(path, cache_size=2) as video:
        assert not video._seekable  # raw H.264: no timestamps, cannot seek
        assert video.shape == (15, 24, 32, 3)
        for k in (10, 3, 14, 0):  # backwards reads reopen the stream
            assert np.abs(video[k].astype(int) - frame_value(k)).max() <= 3, k
