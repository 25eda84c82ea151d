"""Raw planar YUV 4:2:0 8-bit files, as synthetic VQA databases ship them.

LIVE-VQA, CSIQ-VQA and similar databases store each video as a headerless
sequence of frames, each the Y plane (H x W bytes) followed by the U and V
planes (H/2 x W/2 bytes each). The size is not in the file, so the caller gives
it. Only the requested frames are read (through a memory map).

RGB is converted by FFmpeg's scaler through PyAV, exactly as ``decode_frames``
converts decoded yuv420p frames, so the colours of a raw file and of a
lossless encode of it agree bit for bit.

``yuv420p_planes_to_rgb`` converts planes that carry a decoded frame's colour
tags (``ColorTags``: matrix and range), as the fast fragment path needs.
"""

import dataclasses
import os
from collections.abc import Sequence

import av
import numpy as np

from jvqa.errors import VideoError

Planes = tuple[np.ndarray, np.ndarray, np.ndarray]

# FFmpeg pixel formats of 8-bit planar 4:2:0 YUV (yuvj420p: full range).
YUV420P_FORMATS = ("yuv420p", "yuvj420p")
# FFmpeg's AVCOL_SPC_UNSPECIFIED and AVCOL_RANGE_UNSPECIFIED: swscale then
# converts with BT.601 coefficients, limited range (full range for yuvj420p).
_UNSPECIFIED_SPACE = 2
_UNSPECIFIED_RANGE = 0


@dataclasses.dataclass(frozen=True)
class ColorTags:
  """What FFmpeg's YUV -> RGB conversion of a frame depends on besides pixels.

  ``to_ndarray(format="rgb24")`` converts with the frame's own matrix
  (``colorspace``, e.g. 1 = BT.709) and range (``color_range``, 2 = full);
  planes cut from a decoded frame must carry its tags to convert identically.
  (PyAV ignores the transfer and primaries tags unless asked to convert
  them, so they are not kept.)

  Attributes:
    pix_fmt: ``"yuv420p"`` or ``"yuvj420p"``.
    colorspace: FFmpeg ``AVColorSpace`` value (2: unspecified, i.e. BT.601).
    color_range: FFmpeg ``AVColorRange`` value (0: unspecified, 1: limited,
      2: full).
  """
  pix_fmt: str = "yuv420p"
  colorspace: int = _UNSPECIFIED_SPACE
  color_range: int = _UNSPECIFIED_RANGE

  @classmethod
  def of(cls, frame: av.VideoFrame) -> "ColorTags":
    """The tags of a decoded frame."""
    return cls(frame.format.name, int(frame.colorspace), int(frame.color_range))


def _fill_plane(plane, data: np.ndarray) -> None:
  """Copies ``(h, w)`` bytes into a frame plane, whose rows may be padded."""
  rows = np.ndarray((plane.height, plane.line_size), np.uint8, buffer=plane)
  rows[:, :plane.width] = data


def yuv420p_planes_to_rgb(planes: Planes, tags: ColorTags | None = None, *,
                          threads: int = 1) -> np.ndarray:
  """One frame's yuv420p planes -> (H, W, 3) uint8 RGB, converted by FFmpeg.

  With the tags of a decoded frame, any even-aligned block of its planes
  converts to exactly the pixels of the same block of the frame's own
  ``to_ndarray(format="rgb24")`` (FFmpeg converts 4:2:0 with even sizes pixel
  by pixel, each chroma sample shared by its 2x2 luma block).

  Args:
    planes: ``Y (H, W)``, ``U`` and ``V (H/2, W/2)`` uint8, H and W even.
    tags: colour tags; default BT.601 limited range (untagged yuv420p).
    threads: FFmpeg scaler threads; 1 suits small frames (starting a thread
      pool costs more than converting a few hundred thousand pixels).

  Returns:
    (H, W, 3) uint8 RGB.
  """
  tags = tags or ColorTags()
  y, u, v = (np.asarray(p) for p in planes)
  height, width = y.shape
  if tags.pix_fmt not in YUV420P_FORMATS:
    raise ValueError(f"pixel format must be one of {YUV420P_FORMATS}, got {tags.pix_fmt!r}")
  chroma = (height // 2, width // 2)
  if height % 2 or width % 2 or u.shape != chroma or v.shape != chroma:
    raise ValueError(f"planes must be Y (H, W), U and V (H/2, W/2) with H and W even; "
                     f"got {y.shape}, {u.shape}, {v.shape}")
  frame = av.VideoFrame(width, height, tags.pix_fmt)
  for plane, data in zip(frame.planes, (y, u, v)):
    _fill_plane(plane, data)
  frame.colorspace = tags.colorspace
  frame.color_range = tags.color_range
  return frame.to_ndarray(format="rgb24", threads=threads)


def _frame_bytes(path: str, width: int, height: int) -> int:
  """Bytes per frame; rejects sizes 4:2:0 cannot hold."""
  if int(width) <= 0 or int(height) <= 0:
    raise VideoError(path, f"frame size must be positive, got {width}x{height}")
  if width % 2 or height % 2:
    raise VideoError(path, f"yuv420p needs an even width and height, got {width}x{height}")
  return width * height * 3 // 2


def yuv420p_num_frames(path: str | os.PathLike, width: int, height: int) -> int:
  """Number of frames in a raw yuv420p file of the given frame size.

  Raises:
    VideoError: missing or empty file, odd size, or a file size that is not a
      whole number of frames (wrong size given, or a truncated file).
  """
  label = os.fspath(path)
  frame_bytes = _frame_bytes(label, width, height)
  if not os.path.isfile(label):
    raise VideoError(label, "no such file")
  size = os.path.getsize(label)
  if size == 0:
    raise VideoError(label, "empty file (0 bytes)")
  if size % frame_bytes:
    raise VideoError(
        label, f"file size {size} is not a multiple of the {width}x{height} "
        f"yuv420p frame size {frame_bytes} (wrong size, or truncated)")
  return size // frame_bytes


def _positions(indices, num_frames: int, label: str) -> np.ndarray:
  """Requested frame indices as int64, checked against the frame count."""
  if indices is None:
    return np.arange(num_frames, dtype=np.int64)
  positions = np.asarray(indices)
  if positions.ndim != 1 or (positions.size and positions.dtype.kind not in "iu"):
    raise VideoError(label, f"frame indices must be a 1-D sequence of ints, got {indices!r}")
  positions = positions.astype(np.int64)
  bad = positions[(positions < 0) | (positions >= num_frames)]
  if bad.size:
    raise VideoError(label, f"frame index {int(bad[0])} out of range: the video has "
                     f"{num_frames} frames (valid 0..{num_frames - 1})")
  return positions


def _split_planes(raw: np.ndarray, width: int, height: int) -> Planes:
  """(N, frame_bytes) raw frames -> Y (N,H,W), U and V (N,H/2,W/2)."""
  n, luma, chroma = raw.shape[0], width * height, width * height // 4
  y = raw[:, :luma].reshape(n, height, width)
  u = raw[:, luma:luma + chroma].reshape(n, height // 2, width // 2)
  v = raw[:, luma + chroma:].reshape(n, height // 2, width // 2)
  return y, u, v


def yuv420p_to_rgb(raw_frame: np.ndarray, width: int, height: int) -> np.ndarray:
  """One raw yuv420p frame (Y, U, V bytes) -> (H, W, 3) uint8 RGB via FFmpeg."""
  # PyAV's yuv420p ndarray layout is the raw frame seen as (H * 3/2, W) bytes.
  planar = np.ascontiguousarray(raw_frame).reshape(height * 3 // 2, width)
  return av.VideoFrame.from_ndarray(planar, format="yuv420p").to_ndarray(format="rgb24")


def read_yuv420p(path: str | os.PathLike, width: int, height: int,
                 indices: Sequence[int] | np.ndarray | None = None,
                 rgb: bool = True) -> np.ndarray | Planes:
  """Reads frames of a raw yuv420p file.

  Args:
    path: the .yuv file.
    width: frame width (even).
    height: frame height (even).
    indices: frame indices, any order, repeats allowed; None reads all.
    rgb: return RGB frames; False returns the Y, U, V planes.

  Returns:
    (N, H, W, 3) uint8 RGB, or with ``rgb=False`` the planes
    ``(Y (N, H, W), U (N, H/2, W/2), V (N, H/2, W/2))``.

  Raises:
    VideoError: see ``yuv420p_num_frames``; an index out of range.
  """
  label = os.fspath(path)
  num_frames = yuv420p_num_frames(label, width, height)
  positions = _positions(indices, num_frames, label)
  frame_bytes = width * height * 3 // 2
  frames = np.memmap(label, dtype=np.uint8, mode="r", shape=(num_frames, frame_bytes))
  try:
    raw = np.array(frames[positions])
  finally:
    del frames
  if not rgb:
    return _split_planes(raw, width, height)
  out = np.empty((positions.size, height, width, 3), np.uint8)
  for i, frame in enumerate(raw):
    out[i] = yuv420p_to_rgb(frame, width, height)
  return out


def rgb_to_yuv420p(rgb: np.ndarray) -> Planes:
  """(N, H, W, 3) uint8 RGB -> yuv420p planes, converted as FFmpeg's encoders do."""
  n, height, width, _ = rgb.shape
  raw = np.empty((n, height * 3 // 2, width), np.uint8)
  for i, frame in enumerate(rgb):
    video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
    raw[i] = video_frame.reformat(format="yuv420p").to_ndarray()
  return _split_planes(raw.reshape(n, -1), width, height)


def _as_planes(frames, label: str) -> Planes:
  """RGB frames or (Y, U, V) planes -> checked uint8 planes."""
  if isinstance(frames, (tuple, list)) and len(frames) == 3:
    y, u, v = (np.asarray(p) for p in frames)
  else:
    rgb = np.asarray(frames)
    if rgb.ndim != 4 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8:
      raise VideoError(label, "frames must be (N, H, W, 3) uint8 RGB or (Y, U, V) "
                       f"planes, got {rgb.dtype} {rgb.shape}")
    _frame_bytes(label, rgb.shape[2], rgb.shape[1])
    return rgb_to_yuv420p(rgb)
  n, height, width = y.shape if y.ndim == 3 else (0, 0, 0)
  _frame_bytes(label, width, height)
  chroma = (n, height // 2, width // 2)
  if u.shape != chroma or v.shape != chroma or {y.dtype, u.dtype, v.dtype} != {np.dtype(np.uint8)}:
    raise VideoError(label, f"planes must be uint8 Y (N, H, W), U and V (N, H/2, W/2); "
                     f"got {y.shape}, {u.shape}, {v.shape}")
  return y, u, v


def write_yuv420p(path: str | os.PathLike, frames) -> None:
  """Writes frames to a raw yuv420p file (overwriting it).

  Args:
    path: the .yuv file.
    frames: (N, H, W, 3) uint8 RGB (converted as FFmpeg's encoders do), or
      the planes ``(Y (N, H, W), U (N, H/2, W/2), V (N, H/2, W/2))``.
  """
  label = os.fspath(path)
  y, u, v = _as_planes(frames, label)
  n = y.shape[0]
  raw = np.concatenate([y.reshape(n, -1), u.reshape(n, -1), v.reshape(n, -1)], axis=1)
  with open(label, "wb") as f:
    f.write(np.ascontiguousarray(raw).tobytes())
