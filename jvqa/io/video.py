"""Reading and writing compressed videos with PyAV (FFmpeg).

``probe`` reads a video's header, ``decode_frames`` decodes chosen frames to
RGB, ``encode_frames`` writes RGB frames to a video file. ``map_frames`` hands
each chosen frame, as decoded, to a function (which may convert only the
pixels it needs) and ``decode_planes`` returns yuv420p planes unconverted. A
source is a path or the encoded bytes of a file (e.g. from a TFDS record).
Every failure, whatever FFmpeg's error, is raised as one ``VideoError`` whose
message names the file.

Frame ``i`` is the ``i``-th frame in presentation (timestamp) order, so streams
with B-frames and streams whose first timestamp is not 0 are indexed as a
player shows them. Frames are returned as stored: a display rotation recorded
in the container is reported by ``probe`` but never applied.
"""

import contextlib
import dataclasses
import fractions
import functools
import io
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import av
import numpy as np

from jvqa.errors import VideoError
from jvqa.io import x264
from jvqa.io.yuv import YUV420P_FORMATS, ColorTags, Planes

Source = str | os.PathLike | bytes | bytearray | memoryview

# How a bytes source is named in messages when the caller gives no name.
BYTES_NAME = "<bytes>"
# Demuxers whose seeks land on the requested key frame (they keep an index).
# Others (MPEG-TS/PS, raw streams) seek by bisection to about the right
# place, so frames from them are found by decoding from the start.
_SEEKABLE_FORMATS = frozenset({"mov", "mp4", "matroska", "webm", "avi"})


@dataclasses.dataclass(frozen=True)
class VideoInfo:
  """What ``probe`` reads from a video's container and first frame.

  Attributes:
    width: coded frame width in pixels, as stored (before any rotation).
    height: coded frame height in pixels, as stored.
    fps: average frame rate in frames per second.
    num_frames: number of video frames the container lists or holds.
    duration: duration of the video stream in seconds.
    rotation: counter-clockwise display rotation in degrees from the
      container's display matrix (0 if none); frames are never rotated.
    pix_fmt: FFmpeg pixel format of the decoded frames, e.g. ``yuv420p``.
    codec: FFmpeg decoder name, e.g. ``h264``.
    bit_rate: bit rate of the video stream (or the file) in bit/s, 0 if unknown.
    container: FFmpeg demuxer name, e.g. ``mov,mp4,m4a,3gp,3g2,mj2``.
    has_audio: whether the file also holds an audio stream.
  """
  width: int
  height: int
  fps: float
  num_frames: int
  duration: float
  rotation: int
  pix_fmt: str
  codec: str
  bit_rate: int = 0
  container: str = ""
  has_audio: bool = False

  @property
  def display_size(self) -> tuple[int, int]:
    """(width, height) as a player shows the video, i.e. after rotation."""
    if self.rotation % 180:
      return self.height, self.width
    return self.width, self.height


# --------------------------------------------------------------------------
# Opening sources.


def source_name(source: Source, name: str | None = None) -> str:
  """The name messages use for ``source``: ``name``, the path or ``<bytes>``."""
  if name is not None:
    return str(name)
  if isinstance(source, (bytes, bytearray, memoryview)):
    return BYTES_NAME
  if isinstance(source, (str, os.PathLike)):
    return os.fspath(source)
  return f"<{type(source).__name__}>"


def _av_reason(error: BaseException) -> str:
  """FFmpeg's reason for an error, without the file name PyAV appends."""
  return getattr(error, "strerror", None) or str(error) or type(error).__name__


@contextlib.contextmanager
def _av_errors(label: str):
  """Turns PyAV/FFmpeg errors raised in the block into ``VideoError``."""
  try:
    yield
  except av.FFmpegError as e:
    raise VideoError(label, f"cannot be decoded ({_av_reason(e)})") from e


def _check_source(source: Source, label: str) -> None:
  """Rejects a missing, empty or non-file source before FFmpeg sees it."""
  if isinstance(source, (bytes, bytearray, memoryview)):
    if len(source) == 0:
      raise VideoError(label, "empty input (0 bytes)")
    return
  if not isinstance(source, (str, os.PathLike)):
    raise VideoError(label, f"not a path or bytes: {type(source).__name__}")
  path = os.fspath(source)
  if not os.path.exists(path):
    raise VideoError(label, "no such file")
  if os.path.isdir(path):
    raise VideoError(label, "is a directory, not a video file")
  if os.path.getsize(path) == 0:
    raise VideoError(label, "empty file (0 bytes)")


def _open(source: Source, label: str) -> av.container.InputContainer:
  """Opens ``source`` for reading; errors name ``label``."""
  _check_source(source, label)
  if isinstance(source, (bytes, bytearray, memoryview)):
    file = io.BytesIO(bytes(source))
  else:
    file = os.fspath(source)
  try:
    return av.open(file, mode="r", metadata_errors="ignore")
  except av.error.EOFError as e:
    raise VideoError(label, "ends before any video data (empty or truncated)") from e
  except (av.FFmpegError, OSError) as e:
    raise VideoError(
        label, f"not a readable video container ({_av_reason(e)})") from e


def _video_stream(container: av.container.InputContainer, label: str):
  """The first real video stream (cover art pictures are not videos)."""
  for stream in container.streams.video:
    if av.stream.Disposition.attached_pic not in stream.disposition:
      stream.thread_type = "AUTO"
      return stream
  kinds = sorted({s.type for s in container.streams})
  held = f"only {', '.join(kinds)} streams" if kinds else "no streams"
  raise VideoError(label, f"no video stream ({held})")


def _decode_packets(container, stream) -> Iterator[av.VideoFrame]:
  """Decodes ``stream`` from the container's current position, in output order.

  A packet the decoder rejects (damaged data) is skipped, as ``ffmpeg`` does;
  the frames it would have given are then missing. Tests wrap this function to
  count decoded frames.
  """
  for packet in container.demux(stream):
    try:
      frames = stream.decode(packet)
    except av.error.InvalidDataError:
      continue
    yield from frames


def frame_to_rgb(frame: av.VideoFrame) -> np.ndarray:
  """(H, W, 3) uint8 RGB of a decoded frame, converted as FFmpeg does.

  FFmpeg's scaler converts with the frame's own colour tags (matrix and
  range, ``jvqa.io.yuv.ColorTags``); this is the conversion of every RGB
  frame this module returns.
  """
  return frame.to_ndarray(format="rgb24")


def _rgb_at(position: int, frame: av.VideoFrame) -> np.ndarray:
  """``frame_to_rgb`` as a ``map_frames`` function (the position is not needed)."""
  del position
  return frame_to_rgb(frame)


def is_yuv420p(frame: av.VideoFrame) -> bool:
  """Whether ``frame_planes`` can read ``frame``: 8-bit 4:2:0, even size.

  Frames in other formats (yuv444p, 10-bit, RGB...) or of odd width or height
  must be converted whole (``frame.to_ndarray(format="rgb24")``); FFmpeg
  also converts odd-height 4:2:0 frames differently (filtering chroma).
  """
  return (frame.format.name in YUV420P_FORMATS and frame.width % 2 == 0
          and frame.height % 2 == 0
          and all(plane.line_size > 0 for plane in frame.planes))


def frame_planes(frame: av.VideoFrame) -> Planes:
  """Read-only views (no copy) of a yuv420p frame's Y, U and V planes.

  Args:
    frame: a decoded frame for which ``is_yuv420p`` holds.

  Returns:
    ``Y (H, W)``, ``U`` and ``V (H/2, W/2)`` uint8 arrays sharing the frame's
    memory (rows padded to the planes' line sizes); the colour tags are
    ``jvqa.io.yuv.ColorTags.of(frame)``.
  """
  if not is_yuv420p(frame):
    raise ValueError(f"not an even-sized yuv420p frame: {frame.format.name} "
                     f"{frame.width}x{frame.height}")
  views = []
  for plane in frame.planes:
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    views.append(rows[:, :plane.width])
  return views[0], views[1], views[2]


# --------------------------------------------------------------------------
# probe.


def _count_packets(container, stream) -> tuple[int, str | None]:
  """Number of video packets (frames) found by demuxing, and why it stopped early."""
  count = 0
  try:
    for packet in container.demux(stream):
      if packet.size and not packet.is_discard:
        count += 1
  except av.FFmpegError as e:
    return count, _av_reason(e)
  return count, None


def _listed_frames(stream) -> int:
  """Frames the container's index lists, less those an edit list drops (0: none)."""
  entries = stream.index_entries
  if stream.frames and len(entries) == stream.frames:
    return sum(1 for entry in entries if not entry.is_discard)
  return int(stream.frames or 0)


def _stream_duration(container, stream) -> float | None:
  """Video duration in seconds from the stream or the container, if given."""
  if stream.duration and stream.time_base:
    return float(stream.duration * stream.time_base)
  if container.duration:
    return container.duration / av.time_base
  return None


def _fps(stream) -> float:
  """Average frame rate, or FFmpeg's guess when the container has none."""
  for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
    if rate:
      return float(rate)
  return 0.0


def probe(source: Source, *, name: str | None = None) -> VideoInfo:
  """Reads a video's size, rate, frame count, rotation and codec.

  Decodes only the first frame (the display rotation is attached to decoded
  frames). When the container does not list a frame count (Matroska, WebM,
  MPEG-TS...) the video packets are counted by demuxing, without decoding.
  The rest of the data is not checked: a truncated MP4 whose index is intact
  probes fine and fails in ``decode_frames``.

  Args:
    source: a path, or the encoded bytes of a video file.
    name: how to name a bytes source in error messages (default ``<bytes>``).

  Returns:
    A ``VideoInfo``.

  Raises:
    VideoError: missing, empty, unreadable, audio-only or zero-frame input.
  """
  label = source_name(source, name)
  with _open(source, label) as container, _av_errors(label):
    stream = _video_stream(container, label)
    first = next(_decode_packets(container, stream), None)
    if first is None:
      raise VideoError(label, "no decodable video frames")
    num_frames = _listed_frames(stream)
    duration = _stream_duration(container, stream)
    info = dict(
        width=stream.codec_context.width or first.width,
        height=stream.codec_context.height or first.height,
        fps=_fps(stream),
        rotation=int(first.rotation),
        pix_fmt=stream.codec_context.pix_fmt or first.format.name,
        codec=stream.codec_context.name,
        bit_rate=int(stream.bit_rate or container.bit_rate or 0),
        container=container.format.name,
        has_audio=bool(container.streams.audio))
  if not num_frames:
    num_frames = _count_frames_by_demuxing(source, label)
  if duration is None:
    duration = num_frames / info["fps"] if info["fps"] else 0.0
  return VideoInfo(num_frames=num_frames, duration=duration, **info)


def _count_frames_by_demuxing(source: Source, label: str) -> int:
  """Frame count of a container that lists none, from its packets."""
  with _open(source, label) as container:
    count, stopped = _count_packets(container, _video_stream(container, label))
  if stopped:
    raise VideoError(label, f"truncated: demuxing stopped after {count} frames ({stopped})")
  return count


# --------------------------------------------------------------------------
# The frame index: each frame's timestamp and the key frames, from demuxing.


@dataclasses.dataclass(frozen=True)
class _FrameIndex:
  """Where each frame is, learnt by demuxing the video stream once.

  Attributes:
    pts: presentation timestamps of the frames present, sorted (presentation
      order), or None when packets lack unique timestamps (frames are then
      found by counting decoded frames from the start).
    key_pts: sorted timestamps of the key frames (seek targets).
    num_frames: frames the container lists (at least those present), less
      those outside its edit list.
    num_present: frames whose packets are present in the data.
    stopped: why demuxing stopped early (damaged data), or None.
    shape: (height, width, 3) of the RGB frames.
    seekable: whether the demuxer seeks precisely to key frames.
  """
  pts: np.ndarray | None
  key_pts: np.ndarray
  num_frames: int
  num_present: int
  stopped: str | None
  shape: tuple[int, int, int]
  seekable: bool

  @property
  def truncated(self) -> bool:
    return self.num_present < self.num_frames or self.stopped is not None

  def key_at_or_before(self, pts: int) -> int | None:
    """The timestamp of the last key frame at or before ``pts``."""
    i = int(np.searchsorted(self.key_pts, pts, side="right"))
    return int(self.key_pts[i - 1]) if i else None


def _build_index(container, stream) -> _FrameIndex:
  """Demuxes (does not decode) the whole video stream to index its frames."""
  pts, keys, discarded, stopped = [], [], 0, None
  try:
    for packet in container.demux(stream):
      if not packet.size:
        continue
      if packet.is_discard:  # Outside the edit list: the decoder drops it.
        discarded += 1
        continue
      pts.append(packet.pts)
      if packet.is_keyframe and packet.pts is not None:
        keys.append(packet.pts)
  except av.FFmpegError as e:
    stopped = _av_reason(e)
  usable = None not in pts and len(set(pts)) == len(pts)
  missing = max(0, int(stream.frames or 0) - len(pts) - discarded)
  return _FrameIndex(
      pts=np.sort(np.asarray(pts, np.int64)) if usable else None,
      key_pts=np.unique(np.asarray(keys, np.int64)),
      num_frames=len(pts) + missing,
      num_present=len(pts),
      stopped=stopped,
      shape=(stream.codec_context.height, stream.codec_context.width, 3),
      seekable=bool(_SEEKABLE_FORMATS & set(container.format.name.split(","))))


def _index_source(source: Source, label: str) -> _FrameIndex:
  """Opens ``source`` and indexes its video stream."""
  with _open(source, label) as container, _av_errors(label):
    index = _build_index(container, _video_stream(container, label))
  if index.num_frames == 0:
    raise VideoError(label, "no video frames")
  return index


def _truncated(index: _FrameIndex, label: str) -> VideoError:
  """The error for a request beyond the data that is present."""
  why = f"; {index.stopped}" if index.stopped else ""
  return VideoError(
      label, f"truncated: the container lists {index.num_frames} frames but "
      f"the data ends after {index.num_present}{why}")


def _positions(indices, index: _FrameIndex, label: str) -> np.ndarray:
  """Checks requested frame indices against the index; returns them as int64."""
  positions = np.asarray(indices)
  if positions.ndim != 1 or (positions.size and positions.dtype.kind not in "iu"):
    raise VideoError(label, f"frame indices must be a 1-D sequence of ints, got {indices!r}")
  positions = positions.astype(np.int64)
  bad = positions[(positions < 0) | (positions >= index.num_frames)]
  if bad.size:
    raise VideoError(
        label, f"frame index {int(bad[0])} out of range: the video has "
        f"{index.num_frames} frames (valid 0..{index.num_frames - 1})")
  if positions.size and positions.max() >= index.num_present:
    raise _truncated(index, label)
  return positions


# --------------------------------------------------------------------------
# Decoding.


class _SeekingReader:
  """Decodes frames by presentation index, seeking to key frames when it helps.

  Frames must be asked for in increasing order. For each one the reader seeks
  to the last key frame at or before it when that key frame lies ahead of the
  current decode position, then decodes forward. After a seek the first frame
  at or after the key frame must be the key frame itself; otherwise (a demuxer
  that seeks imprecisely) the reader stops seeking and decodes from the start.
  """

  def __init__(self, source: Source, label: str, index: _FrameIndex):
    self._source, self._label, self._index = source, label, index
    self._seekable = index.seekable and index.key_pts.size > 1
    self._container = self._stream = self._frames = None
    self._last = None  # pts of the last frame taken from self._frames
    self._floor = None  # pts of the key frame of the last seek, until reached
    self._after_seek = False  # whether decoding started at a seek

  def close(self) -> None:
    if self._container is not None:
      self._container.close()
      self._container = None

  def _rewind(self) -> None:
    """Restarts decoding at the start of the file (re-opens it)."""
    self.close()
    self._container = _open(self._source, self._label)
    self._stream = _video_stream(self._container, self._label)
    self._frames = _decode_packets(self._container, self._stream)
    self._last = self._floor = None
    self._after_seek = False

  def _seek(self, key: int) -> None:
    """Restarts decoding at the key frame with timestamp ``key``."""
    if self._container is None:
      self._rewind()
    self._container.seek(key, backward=True, stream=self._stream)
    self._frames = _decode_packets(self._container, self._stream)
    self._last, self._floor = None, key
    self._after_seek = True

  def _start_for(self, target: int) -> None:
    """Positions decoding so that ``target`` is ahead, seeking if that helps."""
    key = self._index.key_at_or_before(target) if self._seekable else None
    from_start = self._frames is None or (self._last is not None and self._last >= target)
    ahead = key is not None and (self._last is None or key > self._last)
    if self._seekable and key is not None and key > self._index.pts[0] and (
        from_start or ahead):
      self._seek(key)
    elif from_start:
      self._rewind()

  def _advance_to(self, target: int) -> av.VideoFrame | None:
    """Decodes forward to the frame with timestamp ``target``; None if missed."""
    for frame in self._frames:
      pts = frame.pts
      if self._floor is not None:
        if pts is None or pts < self._floor:
          continue  # Leading frames decoded without their references.
        if pts != self._floor:
          return None  # The seek did not land on the key frame.
        self._floor = None
      self._last = pts
      if pts == target:
        return frame
      if pts is None or pts > target:
        return None
    return None

  def frame(self, position: int) -> av.VideoFrame:
    """The decoded frame at presentation index ``position``."""
    target = int(self._index.pts[position])
    self._start_for(target)
    frame = self._advance_to(target)
    if frame is None and self._after_seek:
      self._seekable = False
      self._rewind()
      frame = self._advance_to(target)
    if frame is None:
      raise VideoError(self._label, f"frame {position} could not be decoded "
                       "(damaged or truncated data)")
    return frame


def _check_shape(rgb: np.ndarray, shape: tuple, label: str) -> None:
  if rgb.shape != shape:
    raise VideoError(label, f"frame size changes within the video: {shape[1]}x"
                     f"{shape[0]} then {rgb.shape[1]}x{rgb.shape[0]}")


def _gather(frames: dict[int, np.ndarray], positions: np.ndarray,
            index: _FrameIndex, label: str) -> np.ndarray:
  """Stacks decoded frames in the requested order (repeats allowed)."""
  if not positions.size:
    return np.zeros((0,) + index.shape, np.uint8)
  shape = frames[int(positions[0])].shape
  out = np.empty((positions.size,) + shape, np.uint8)
  for i, position in enumerate(positions):
    rgb = frames[int(position)]
    _check_shape(rgb, shape, label)
    out[i] = rgb
  return out


def _decode_by_pts(source, label, index, positions, convert) -> dict[int, Any]:
  """Decodes the unique ``positions`` by timestamp, seeking between them.

  Returns ``{position: convert(position, frame)}``, ``convert`` called in
  increasing position order.
  """
  reader = _SeekingReader(source, label, index)
  try:
    return {int(p): convert(int(p), reader.frame(int(p)))
            for p in np.unique(positions)}
  finally:
    reader.close()


def _decode_by_count(source, label, positions, convert) -> dict[int, Any]:
  """Decodes from the start and picks frames by output order (no timestamps).

  Returns ``{position: convert(position, frame)}`` like ``_decode_by_pts``.
  """
  wanted = set(int(p) for p in positions)
  frames = {}
  if not wanted:
    return frames
  with _open(source, label) as container:
    stream = _video_stream(container, label)
    for i, frame in enumerate(_decode_packets(container, stream)):
      if i in wanted:
        frames[i] = convert(i, frame)
      if len(frames) == len(wanted):
        return frames
  missing = min(wanted - set(frames))
  raise VideoError(label, f"frame {missing} could not be decoded "
                   "(damaged or truncated data)")


def _decode_all(source: Source, label: str, index: _FrameIndex) -> np.ndarray:
  """Decodes every frame sequentially into one preallocated array."""
  if index.truncated:
    raise _truncated(index, label)
  out = None
  count = 0
  with _open(source, label) as container:
    stream = _video_stream(container, label)
    for frame in _decode_packets(container, stream):
      rgb = frame_to_rgb(frame)
      if out is None:
        out = np.empty((index.num_frames,) + rgb.shape, np.uint8)
      if count == index.num_frames:
        raise VideoError(label, f"the decoder gives more frames than the "
                         f"{index.num_frames} the container holds")
      _check_shape(rgb, out.shape[1:], label)
      out[count] = rgb
      count += 1
  if count < index.num_frames:
    if count == 0:
      raise VideoError(label, "no decodable video frames")
    raise VideoError(label, f"truncated: only {count} of {index.num_frames} "
                     "frames could be decoded")
  return out


def decode_frames(source: Source, indices: Sequence[int] | np.ndarray | None = None,
                  *, name: str | None = None) -> np.ndarray:
  """Decodes frames of a video to RGB.

  The video stream is first demuxed (no decoding) to learn every frame's
  timestamp and where the key frames are. Each requested frame is then reached
  by seeking to the last key frame at or before it, when that key frame lies
  ahead of the current decode position, and decoding forward; so a few frames
  of a long video cost a few GOPs, not the whole file.

  Frames are returned as stored: a display rotation recorded in the container
  (see ``probe(...).rotation``) is not applied.

  Args:
    source: a path, or the encoded bytes of a video file.
    indices: frame indices in presentation order, in any order, repeats
      allowed; None decodes every frame.
    name: how to name a bytes source in error messages (default ``<bytes>``).

  Returns:
    (N, H, W, 3) uint8 RGB frames, in the order of ``indices``.

  Raises:
    VideoError: bad or truncated input, or an index out of range.
  """
  label = source_name(source, name)
  index = _index_source(source, label)
  with _av_errors(label):
    if indices is None:
      return _decode_all(source, label, index)
    positions = _positions(indices, index, label)
    frames = _decode_selected(source, label, index, positions, _rgb_at)
  return _gather(frames, positions, index, label)


def _decode_selected(source, label, index, positions, convert) -> dict[int, Any]:
  """``{position: convert(position, frame)}``, each distinct position decoded once."""
  if index.pts is None:
    return _decode_by_count(source, label, positions, convert)
  return _decode_by_pts(source, label, index, positions, convert)


def _map(source, indices, fn, label) -> tuple[list, _FrameIndex]:
  """``map_frames``'s results, and the frame index it built."""
  index = _index_source(source, label)
  if indices is None:
    indices = np.arange(index.num_frames)
  with _av_errors(label):
    positions = _positions(indices, index, label)
    results = _decode_selected(source, label, index, positions, fn)
  return [results[int(p)] for p in positions], index


def map_frames(source: Source, indices: Sequence[int] | np.ndarray | None,
               fn: Callable[[int, av.VideoFrame], Any], *,
               name: str | None = None) -> list:
  """Calls ``fn(index, frame)`` on chosen frames as decoded, unconverted.

  Frames are found as ``decode_frames`` finds them (an index by demuxing,
  then seeks to key frames), but instead of converting each to RGB it hands
  the ``av.VideoFrame`` to ``fn``, which may convert only the pixels it
  needs. The frame is as decoded: any pixel format (see ``is_yuv420p`` and
  ``frame_planes``), colour tags as stored (``jvqa.io.yuv.ColorTags``), no
  rotation applied. ``fn`` should reduce it to what it needs: a frame kept
  keeps its buffers.

  Args:
    source: a path, or the encoded bytes of a video file.
    indices: frame indices in presentation order, in any order, repeats
      allowed; None means every frame.
    fn: called once per distinct index, in increasing index order, with the
      index and its frame. FFmpeg errors it raises become ``VideoError``;
      other exceptions propagate.
    name: how to name a bytes source in error messages (default ``<bytes>``).

  Returns:
    ``fn``'s results in the order of ``indices`` (a repeated index repeats
    the same object).

  Raises:
    VideoError: bad or truncated input, or an index out of range.
  """
  return _map(source, indices, fn, source_name(source, name))[0]


def _copy_planes(position: int, frame: av.VideoFrame, *, label: str):
  """Copies of a yuv420p frame's planes and its tags (a ``map_frames`` function)."""
  if not is_yuv420p(frame):
    raise VideoError(label, f"frame {position} is {frame.format.name} {frame.width}x"
                     f"{frame.height}, not yuv420p of even size; decode it to RGB "
                     "with decode_frames")
  return tuple(np.array(plane) for plane in frame_planes(frame)), ColorTags.of(frame)


def _stack_planes(copies: list, index: _FrameIndex, label: str) -> Planes:
  """Stacks per-frame plane copies; checks that size and tags do not change."""
  if not copies:
    height, width = index.shape[:2]
    shapes = [(0, height, width)] + [(0, height // 2, width // 2)] * 2
    return tuple(np.zeros(shape, np.uint8) for shape in shapes)
  first, tags = copies[0]
  for planes, frame_tags in copies:
    _check_shape(planes[0], first[0].shape, label)
    if frame_tags != tags:
      raise VideoError(label, f"colour tags change within the video: {tags} then {frame_tags}")
  return tuple(np.stack([planes[k] for planes, _ in copies]) for k in range(3))


def decode_planes(source: Source, indices: Sequence[int] | np.ndarray | None = None,
                  *, name: str | None = None) -> tuple[Planes, ColorTags]:
  """Decodes frames of a yuv420p video to their Y, U and V planes, unconverted.

  For videos whose frames are 8-bit 4:2:0 of even size (``probe(...).pix_fmt``
  in ``jvqa.io.yuv.YUV420P_FORMATS``, even width and height); decode others
  to RGB with ``decode_frames``. Frames are found as in ``decode_frames``.

  Args:
    source: a path, or the encoded bytes of a video file.
    indices: frame indices in presentation order, in any order, repeats
      allowed; None decodes every frame.
    name: how to name a bytes source in error messages (default ``<bytes>``).

  Returns:
    ``((Y, U, V), tags)``: uint8 planes ``Y (N, H, W)``, ``U`` and ``V (N,
    H/2, W/2)`` in the order of ``indices``, and the frames' colour tags,
    which ``jvqa.io.yuv.yuv420p_planes_to_rgb`` needs to give exactly the
    RGB of ``decode_frames``.

  Raises:
    VideoError: as ``decode_frames``; frames that are not even-sized yuv420p,
      or whose size or colour tags change within the video.
  """
  label = source_name(source, name)
  copies, index = _map(source, indices, functools.partial(_copy_planes, label=label), label)
  planes = _stack_planes(copies, index, label)
  tags = copies[0][1] if copies else ColorTags()
  return planes, tags


def iter_frames(source: Source, *, name: str | None = None) -> Iterator[np.ndarray]:
  """Yields every frame of a video as (H, W, 3) uint8 RGB, as stored (no rotation).

  Unlike ``decode_frames`` nothing is indexed first and a truncated file
  simply yields fewer frames; a file with no decodable frame raises.
  """
  label = source_name(source, name)
  count = 0
  with _open(source, label) as container, _av_errors(label):
    for frame in _decode_packets(container, _video_stream(container, label)):
      count += 1
      yield frame_to_rgb(frame)
  if count == 0:
    raise VideoError(label, "no decodable video frames")


# --------------------------------------------------------------------------
# Encoding.


def _check_frames(frames: Any, label: str) -> np.ndarray:
  """Validates (T, H, W, 3) uint8 RGB frames."""
  frames = np.asarray(frames)
  if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
    raise VideoError(label, "frames must be a (T, H, W, 3) uint8 RGB array, got "
                     f"{frames.dtype} {frames.shape}")
  if not all(frames.shape[:3]):
    raise VideoError(label, f"no frames to encode: shape {frames.shape}")
  return frames


def _check_size(pix_fmt: str, width: int, height: int, label: str) -> None:
  """Rejects sizes the pixel format's chroma subsampling cannot hold."""
  try:
    chroma = av.VideoFormat(pix_fmt, 2, 2).components[-1]
  except (ValueError, av.FFmpegError) as e:
    raise VideoError(label, f"unknown pixel format {pix_fmt!r}") from e
  odd_w = chroma.width < 2 and width % 2
  odd_h = chroma.height < 2 and height % 2
  if odd_w or odd_h:
    raise VideoError(label, f"{pix_fmt} needs an even width and height, got "
                     f"{width}x{height}; crop or pad the frames")


def _codec_options(codec: str, crf, options) -> dict[str, str]:
  """String options for the encoder; ``qscale`` becomes a fixed quantiser."""
  opts = {k: str(v) for k, v in (options or {}).items()}
  qscale = opts.pop("qscale", None)
  if crf is not None:
    opts["crf"] = str(crf)
  if codec == "libx265":
    opts.setdefault("x265-params", "log-level=error")
  if codec == "libx264":  # The same output every run (jvqa/io/x264.py); the caller's params win.
    for key, value in x264.reproducible_params().items():
      opts.setdefault(key, value)
  if qscale is not None:
    q = str(int(round(float(qscale))))
    opts.update({"flags": "+qscale", "qmin": q, "qmax": q})
  return opts


def _frame_rate(fps, label: str) -> fractions.Fraction:
  """``fps`` as an exact fraction (29.97 -> 2997/100, 30000/1001 stays)."""
  rate = fractions.Fraction(fps).limit_denominator(1001)
  if rate <= 0:
    raise VideoError(label, f"fps must be positive, got {fps}")
  return rate


def encode_frames(frames, path: str | os.PathLike, fps: float, codec: str = "libx264",
                  crf: float | None = None, pix_fmt: str = "yuv420p",
                  options: dict | None = None, *,
                  container_options: dict | None = None, rotation: int = 0) -> None:
  """Writes RGB frames to a video file with PyAV.

  The container is chosen from the file extension (.mp4, .mkv, .webm, ...).
  RGB is converted to ``pix_fmt`` by FFmpeg's scaler (BT.601, limited range),
  the same conversion ``decode_frames`` inverts.

  Args:
    frames: (T, H, W, 3) uint8 RGB frames.
    path: output file.
    fps: frame rate.
    codec: FFmpeg encoder, e.g. libx264, libx265, mpeg2video, mpeg4, libvpx-vp9.
    crf: constant rate factor (encoders that have one: x264, x265, vpx).
    pix_fmt: pixel format to encode; yuv420p needs even sizes.
    options: encoder options (``{"preset": "fast", "qp": 0, "g": 8}``...). The
      key ``qscale`` sets a fixed quantiser, like ``ffmpeg -q:v``, for the
      mpegvideo encoders (mpeg2video, mpeg4, ...).
    container_options: muxer options, e.g. ``{"movflags": "faststart"}``.
    rotation: counter-clockwise display rotation to record (degrees).

  Raises:
    VideoError: bad frames, odd size for the pixel format, an unknown encoder
      or an option the encoder does not take, or any FFmpeg error.
  """
  label = os.fspath(path)
  frames = _check_frames(frames, label)
  _, height, width, _ = frames.shape
  if codec not in av.codecs_available:
    raise VideoError(label, f"encoder {codec!r} is not available in this PyAV build")
  _check_size(pix_fmt, width, height, label)
  opts = _codec_options(codec, crf, options)
  rate = _frame_rate(fps, label)
  try:
    _encode(frames, label, rate, codec, pix_fmt, opts, container_options,
            rotation)
  except (av.FFmpegError, ValueError, OSError) as e:
    with contextlib.suppress(OSError):
      os.remove(label)
    if isinstance(e, VideoError):
      raise
    raise VideoError(label, f"cannot encode with {codec} ({_av_reason(e)})") from e


def _encode(frames, label, rate, codec, pix_fmt, opts, container_options,
            rotation) -> None:
  """Encodes and muxes ``frames``; errors propagate to ``encode_frames``."""
  with av.open(label, mode="w", options=dict(container_options or {})) as container:
    stream = container.add_stream(codec, rate=rate, options=opts)
    stream.width, stream.height = frames.shape[2], frames.shape[1]
    stream.pix_fmt = pix_fmt
    if rotation:
      stream.set_display_rotation(rotation)
    for i, rgb in enumerate(frames):
      frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
      container.mux(stream.encode(frame))
      if i == 0:
        _check_options_used(stream, label, codec)
    container.mux(stream.encode(None))


def _check_options_used(stream, label: str, codec: str) -> None:
  """Raises if the encoder left options unused (FFmpeg ignores them silently)."""
  unused = dict(stream.codec_context.options or {})
  if unused:
    raise VideoError(label, f"{codec} does not take the option(s) "
                     f"{', '.join(sorted(unused))}")
