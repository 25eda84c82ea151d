"""Luma (Y of yuv420p) of a video file or a raw .yuv, as HEKE's metrics read it.

HEKE re-decodes every distorted video to raw yuv420p with FFmpeg
(``ffmpeg -i dst -pix_fmt yuv420p -f rawvideo``) and reads only the Y plane
(``load_frames.m``). Here a raw .yuv is read directly (its size given); a
yuv420p video file's Y plane is taken as decoded; frames of any other pixel
format are converted to yuv420p by FFmpeg's scaler (PyAV ``reformat``), which
is what the ``-pix_fmt yuv420p`` step does.
"""

import os

import av
import numpy as np

from jvqa.errors import VideoError
from jvqa.io import video, yuv


def parse_size(text: str) -> tuple[int, int]:
  """``"WxH"`` -> (width, height); ValueError for anything else."""
  parts = text.lower().split("x")
  if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
    raise ValueError(f"frame size must be WxH with positive integers, got {text!r}")
  return int(parts[0]), int(parts[1])


def is_raw_yuv(path: str | os.PathLike) -> bool:
  """Whether a path names a raw .yuv file (by its extension)."""
  return os.fspath(path).lower().endswith(".yuv")


def num_frames(path: str | os.PathLike, size: tuple[int, int] | None = None) -> int:
  """Frame count of a raw .yuv (``size`` = (width, height)) or a video file."""
  label = os.fspath(path)
  if is_raw_yuv(label):
    if size is None:
      raise VideoError(label, "a raw .yuv file needs its frame size (--size WxH)")
    return yuv.yuv420p_num_frames(label, *size)
  return video.probe(label).num_frames


def _luma_of(position: int, frame: av.VideoFrame) -> np.ndarray:
  """A decoded frame's Y plane after conversion to yuv420p (a ``map_frames`` function)."""
  del position
  if frame.format.name != "yuv420p":
    frame = frame.reformat(format="yuv420p")
  plane = frame.planes[0]
  rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
  return rows[:, :plane.width].copy()


def read_luma(path: str | os.PathLike, size: tuple[int, int] | None = None,
              num: int | None = None) -> np.ndarray:
  """Reads the Y planes of the first frames of a video.

  Args:
    path: a raw yuv420p .yuv file, or any video file FFmpeg decodes.
    size: (width, height) of a raw .yuv; ignored for other files.
    num: how many frames from the first (default all).

  Returns:
    (N, H, W) uint8 luma.

  Raises:
    VideoError: missing or unreadable file, a .yuv without a size or of a
      size that does not divide it, fewer than ``num`` frames.
  """
  label = os.fspath(path)
  total = num_frames(label, size)
  count = total if num is None else num
  if count > total:
    raise VideoError(label, f"has {total} frames, {count} needed")
  indices = np.arange(count)
  if is_raw_yuv(label):
    return yuv.read_yuv420p(label, *size, indices=indices, rgb=False)[0]
  frames = video.map_frames(label, indices, _luma_of)
  if not frames:
    raise VideoError(label, "no frames")
  shapes = {f.shape for f in frames}
  if len(shapes) > 1:
    raise VideoError(label, f"frame size changes within the video: {sorted(shapes)}")
  return np.stack(frames)
