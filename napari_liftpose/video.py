"""A lazy, frame-by-frame video array for napari, decoded with PyAV.

Why PyAV, and not napari-video or sleap-io's reader
---------------------------------------------------
- **PyAV** (``av``) binds FFmpeg's libraries directly and ships them in its wheels, so it
  opens every codec FFmpeg does (H.264 with B-frames, FFV1, MJPEG, ...) without a system
  FFmpeg. It exposes packets, keyframes and presentation timestamps, which is what a
  frame-exact random access needs: we index frames from the packets once (demuxing, no
  decoding: milliseconds for a thousands-frame mp4), then seek to the keyframe before the
  wanted frame and decode forward to its exact timestamp.
- **napari-video** wraps OpenCV's ``VideoCapture``; OpenCV's frame count comes from container
  metadata and its ``CAP_PROP_POS_FRAMES`` seeking is known to land on the wrong frame for
  streams with B-frames, and it pulls the 60 MB opencv-python wheel in.
- **sleap-io**'s ``Video`` reads through imageio-ffmpeg (a subprocess pipe) or OpenCV; it
  is an optional dependency of ours (the ``sleap`` extra) and is not installed for DLC users.

PyAV is already in the ``napari`` extra, so the plugin needs nothing more.

Counting frames
---------------
Container metadata can be wrong or absent (``nb_frames`` is 0 in most .mkv and .avi files,
and an estimate from duration × rate is off by a few frames for variable frame rate or edit
lists). :class:`VideoArray` counts the video packets that carry a timestamp, which is exact
for every container with timestamps (mp4, mov, mkv, avi, ...) and costs one pass over the
file's packets without decoding. Streams whose packets carry no timestamps (raw ``.h264``,
which cannot seek either) are counted by decoding them once and read in decode order from
the start (reopening the file to go back): correct, but slow for random access.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from liftpose_dlc._filesystem import check_file
from liftpose_dlc.errors import FileFormatError, MissingDependencyError

__all__ = ["VideoArray"]


def _import_av() -> Any:
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av is in the napari extra
        raise MissingDependencyError(
            "reading videos needs PyAV; install it with: pip install 'liftpose-dlc[napari]'"
        ) from exc
    return av


def expand_ellipsis(key: Any, ndim: int) -> tuple:
    """An array index as a tuple, its ``...`` replaced by full slices (for ``ndim`` axes)."""
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is Ellipsis for k in key):
        at = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:at] + (slice(None),) * (ndim - len(key) + 1) + key[at + 1 :]
    return key


class VideoArray:
    """A video file as a read-only array of shape ``(n_frames, height, width, 3)``, uint8 RGB.

    Frames are decoded on demand when indexed (``video[k]``, ``video[10:20]``,
    ``video[k, y0:y1, x0:x1]``), never all at once: random access seeks to the keyframe before
    the frame and decodes forward to it; reading the next frames continues the decoder
    without seeking (playback). A small LRU cache keeps the last decoded frames. The object
    follows napari's layer-data protocol (``shape``, ``dtype``, ``ndim``, ``size``,
    ``__getitem__``), so it can be given to ``viewer.add_image(video, rgb=True)``.

    Parameters
    ----------
    path
        The video file.
    cache_size
        How many decoded frames to keep (each is ``height × width × 3`` bytes).

    Raises
    ------
    MissingFileError
        If ``path`` does not exist.
    FileFormatError
        If FFmpeg cannot open it or it has no video stream or no frames.

    Notes
    -----
    Indexing is thread-safe (napari may slice in a worker thread). ``decoded_frames`` counts
    the frames decoded so far, which shows what random access costs: up to one keyframe
    interval (GOP) of frames.

    Examples
    --------
    >>> video = VideoArray("m3v1mp4.mp4")  # doctest: +SKIP
    >>> video.shape, video.dtype  # doctest: +SKIP
    ((2330, 480, 640, 3), dtype('uint8'))
    >>> frame = video[1000]  # decodes from the keyframe before frame 1000 only  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, *, cache_size: int = 32) -> None:
        av = _import_av()
        self.path = check_file(path, "video")
        self.cache_size = max(1, int(cache_size))
        self.decoded_frames = 0
        self._lock = threading.RLock()
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._decoder: Iterator[Any] | None = None
        self._next_index: int | None = None  # index of the frame the decoder yields next
        self._av = av
        self._open()
        try:
            self._index_packets()
        except av.FFmpegError as exc:
            self._container.close()
            raise FileFormatError(f"{self.path}: cannot read the video's packets ({exc})") from exc
        if self._n_frames == 0:
            self._container.close()
            raise FileFormatError(f"{self.path}: the video stream has no frames")
        first = self._read(0)
        self._frame_shape: tuple[int, int, int] = first.shape
        fps = self._stream.average_rate or self._stream.guessed_rate
        self.fps: float | None = float(fps) if fps else None

    # ----------------------------------------------------------------- index
    def _open(self) -> None:
        av = self._av
        try:
            self._container = av.open(str(self.path))
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise FileFormatError(f"{self.path}: not a video FFmpeg can read ({exc})") from exc
        if not self._container.streams.video:
            self._container.close()
            raise FileFormatError(f"{self.path}: the file has no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"

    def _rewind(self) -> None:
        """Back to the first packet: a seek, or reopening streams that cannot seek (raw .h264)."""
        self._decoder = None
        self._next_index = None
        try:
            self._container.seek(0, backward=True, stream=self._stream)
        except self._av.FFmpegError:
            self._container.close()
            self._open()

    def _index_packets(self) -> None:
        pts: list[int] = []
        keyframes: list[int] = []
        timestamps_ok = True
        for packet in self._container.demux(self._stream):
            if packet.size == 0:  # flush packet at the end of the stream
                continue
            if packet.pts is None:
                timestamps_ok = False
            else:
                pts.append(packet.pts)
                if packet.is_keyframe:
                    keyframes.append(packet.pts)
        self._seekable = timestamps_ok and len(set(pts)) == len(pts)
        if self._seekable:
            self._pts = sorted(pts)
            self._pts_index = {p: i for i, p in enumerate(self._pts)}
            # keyframe positions in presentation order, to find the one before a frame
            self._keyframe_indices = sorted(self._pts_index[p] for p in keyframes) or [0]
            self._n_frames = len(self._pts)
        else:
            self._pts = []
            self._pts_index = {}
            self._keyframe_indices = [0]
            self._n_frames = self._count_by_decoding()
        self._rewind()

    def _count_by_decoding(self) -> int:
        self._rewind()
        return sum(1 for _ in self._container.decode(self._stream))

    # ---------------------------------------------------------- array protocol
    @property
    def n_frames(self) -> int:
        """Number of frames (counted from the stream's packets, see the module notes)."""
        return self._n_frames

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(n_frames, height, width, 3)``."""
        return (self._n_frames, *self._frame_shape)

    @property
    def dtype(self) -> np.dtype:
        """Always ``uint8``."""
        return np.dtype(np.uint8)

    @property
    def ndim(self) -> int:
        """Always 4."""
        return 4

    @property
    def size(self) -> int:
        """Number of elements (as numpy's ``size``; nothing is read)."""
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return self._n_frames

    def __repr__(self) -> str:
        return f"VideoArray({str(self.path)!r}, shape={self.shape})"

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        # Reading the whole video is what np.asarray asks for; napari never does it.
        out = self[:]
        return out if dtype is None else out.astype(dtype)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = expand_ellipsis(key, self.ndim)
        if not key:
            key = (slice(None),)
        frames, rest = key[0], key[1:]
        if isinstance(frames, (int, np.integer)):
            index = int(frames)
            if not -self._n_frames <= index < self._n_frames:
                raise IndexError(
                    f"frame {index} is out of range for a video of {self._n_frames} frames"
                )
            return self.frame(index % self._n_frames)[rest]
        indices = np.arange(self._n_frames)[frames]
        stacked = np.empty((len(indices), *self._frame_shape), dtype=np.uint8)
        for j, index in enumerate(indices):
            stacked[j] = self.frame(int(index))
        return stacked[(slice(None),) + tuple(rest)]

    # ------------------------------------------------------------- decoding
    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as an ``(height, width, 3)`` uint8 RGB array (read-only)."""
        with self._lock:
            cached = self._cache.get(index)
            if cached is not None:
                self._cache.move_to_end(index)
                return cached
            return self._read(index)

    def _remember(self, index: int, image: np.ndarray) -> None:
        image.flags.writeable = False
        self._cache[index] = image
        self._cache.move_to_end(index)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _read(self, index: int) -> np.ndarray:
        if not self._seekable:
            return self._read_in_decode_order(index)
        keyframe = self._keyframe_indices[bisect.bisect_right(self._keyframe_indices, index) - 1]
        if (
            self._decoder is None
            or self._next_index is None
            or not (keyframe <= self._next_index <= index)
        ):
            self._seek(keyframe)
        image = self._decode_until(index)
        if image is None:  # the seek landed after the frame: start from the beginning
            self._seek(0)
            image = self._decode_until(index)
        if image is None:
            raise FileFormatError(f"{self.path}: could not decode frame {index}")
        return image

    def _seek(self, keyframe_index: int) -> None:
        target = self._pts[keyframe_index]
        self._container.seek(target, backward=True, any_frame=False, stream=self._stream)
        self._decoder = self._container.decode(self._stream)
        self._next_index = None

    def _decode_until(self, index: int) -> np.ndarray | None:
        keep_from = index - self.cache_size // 2  # frames just before: cheap backward steps
        assert self._decoder is not None
        for av_frame in self._decoder:
            self.decoded_frames += 1
            position = self._pts_index.get(av_frame.pts) if av_frame.pts is not None else None
            if position is None:
                continue
            self._next_index = position + 1
            if position > index:
                return None
            if position >= keep_from:
                self._remember(position, av_frame.to_ndarray(format="rgb24"))
            if position == index:
                return self._cache[index]
        self._decoder = None
        self._next_index = None
        return None

    def _read_in_decode_order(self, index: int) -> np.ndarray:
        if self._decoder is None or self._next_index is None or self._next_index > index:
            self._rewind()
            self._decoder = self._container.decode(self._stream)
            self._next_index = 0
        keep_from = index - self.cache_size // 2
        for av_frame in self._decoder:
            self.decoded_frames += 1
            position = self._next_index
            self._next_index += 1
            if position >= keep_from:
                self._remember(position, av_frame.to_ndarray(format="rgb24"))
            if position == index:
                return self._cache[index]
        self._decoder = None
        raise FileFormatError(f"{self.path}: could not decode frame {index}")

    # -------------------------------------------------------------- closing
    def close(self) -> None:
        """Close the file; indexing afterwards raises."""
        with self._lock:
            self._decoder = None
            self._cache.clear()
            self._container.close()

    def __enter__(self) -> VideoArray:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def name(self) -> str:
        """The file's stem, a default layer name."""
        return Path(self.path).stem
