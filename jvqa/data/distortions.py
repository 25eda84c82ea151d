"""SSL-VQA's 12 synthetic distortions of pristine videos (its `LSVQ Synthetic/` scripts).

ST-VQRL pre-trains on scenes seen at 13 qualities: the pristine reference
(kind 0) and 4 families of 3 levels each (kinds 1-12, ``DISTORTIONS``):

* MPEG-2 (1-3): the decoded frames re-encoded by ``mpeg2video`` at the fixed
  quantiser of ``ffmpeg -qscale:v 1/20/30``. ffmpeg clips that quantiser to
  the encoder's ``qmin`` (2), so level 1 really encodes at 2.
* H.264 (4-6): the decoded frames re-encoded by ``libx264`` at CRF 5/35/50.
* Blur (7-9): every RGB frame through a Gaussian pyramid, ``cv2.pyrDown``
  2/3/4 times then ``cv2.pyrUp`` as often (``jvqa.data.pyramid``).
* Frame rate (10-12): frames dropped to ``round(fps) // 2, 3, 4`` frames a
  second (at each instant the frame nearest in time is kept), FFmpeg's
  ``minterpolate`` (motion-compensated interpolation, default settings: to
  60 fps) through PyAV's filter graph, then back to the reference's rate (at
  each frame's instant the interpolated frame nearest in time).

Compression re-encodes the decoded frames as they are (pixel format and
colour tags kept, no RGB round trip), as ffmpeg does. The original wrote
blur and frame-rate versions through scikit-video, i.e. piped RGB frames to
``ffmpeg -f rawvideo -pix_fmt rgb24 -i - out.mp4`` with no encoder option:
ffmpeg then encodes with libx264 at its defaults (CRF 23, preset medium) and,
for an RGB input, in yuv444p (``ENCODER_DEFAULTS``); so do we. Audio is
dropped from every distorted version (only the picture matters); the
reference is a byte copy.

Unlike the original, every version has the reference's frame size, frame
count and frame rate, and all 13 share the source's base name in one flat
layout::

  OUT_DIR/0/<name>.mp4      the source's bytes (its own extension)
  OUT_DIR/<k>/<name>.mp4    kind k = 1..12
  OUT_DIR/manifest.json     {"files": {"<k>/<name>.mp4": entry, ...}}

Outputs are written under a temporary name and renamed when complete, so a
rerun skips every finished file and redoes only missing ones.
"""

import concurrent.futures
import contextlib
import copy
import dataclasses
import fractions
import json
import math
import multiprocessing
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence

import av
import numpy as np
import tqdm

from jvqa.data import pyramid
from jvqa.errors import JvqaError, VideoError
from jvqa.io import files, video, x264

# What ffmpeg encodes RGB frames piped to an .mp4 file with when given no
# option (scikit-video's writer passes none): libx264 at its defaults, in the
# pixel format closest to RGB that libx264 takes.
ENCODER_DEFAULTS = {"codec": "libx264", "crf": 23, "preset": "medium",
                    "pix_fmt": "yuv444p"}
# ffmpeg's lower bound on a fixed MPEG-2 quantiser (AVCodecContext.qmin).
MPEG2_QMIN = 2


@dataclasses.dataclass(frozen=True)
class Distortion:
  """One kind of SSL-VQA's synthetic data.

  Attributes:
    family: ``reference``, ``mpeg2``, ``h264``, ``blur`` or ``framerate``.
    level: 1 (mildest) to 3 (strongest); 0 for the reference.
    parameters: the operation's settings, as recorded in the manifest.
  """
  family: str
  level: int
  parameters: dict


def _table() -> dict[int, Distortion]:
  """``DISTORTIONS``: kind -> distortion, with the original's parameters."""
  table = {0: Distortion("reference", 0, {"operation": "copy"})}
  for level, qscale in enumerate((1, 20, 30), 1):
    table[level] = Distortion("mpeg2", level, {
        "codec": "mpeg2video", "qscale": qscale, "qmin": MPEG2_QMIN})
  for level, crf in enumerate((5, 35, 50), 1):
    table[3 + level] = Distortion("h264", level, {
        "codec": "libx264", "crf": crf, "preset": "medium"})
  for level, levels in enumerate((2, 3, 4), 1):
    table[6 + level] = Distortion("blur", level, {
        "pyramid_levels": levels, "factor": 2**levels,
        "encoder": dict(ENCODER_DEFAULTS)})
  for level, divisor in enumerate((2, 3, 4), 1):
    table[9 + level] = Distortion("framerate", level, {
        "divisor": divisor, "interpolation": "minterpolate",
        "encoder": dict(ENCODER_DEFAULTS)})
  return table


DISTORTIONS = _table()
ALL_KINDS = tuple(sorted(DISTORTIONS))
MANIFEST = "manifest.json"
# Frames blurred per numpy call.
_BLUR_BATCH = 8


# --------------------------------------------------------------------------
# Names and paths.


def scene_name(src: str | os.PathLike) -> str:
  """The name every version of ``src`` is stored under: its base name, no extension."""
  return os.path.splitext(os.path.basename(os.fspath(src)))[0]


def version_relpath(k: int, src: str | os.PathLike) -> str:
  """``"<k>/<name>.mp4"``; the reference (k=0) keeps the source's extension."""
  ext = os.path.splitext(os.fspath(src))[1].lower() if k == 0 else ".mp4"
  return f"{k}/{scene_name(src)}{ext or '.mp4'}"


def check_kinds(kinds: Iterable[int]) -> tuple[int, ...]:
  """``kinds`` as a sorted tuple of distinct known kinds; ValueError otherwise."""
  kinds = tuple(sorted(set(int(k) for k in kinds)))
  unknown = [k for k in kinds if k not in DISTORTIONS]
  if unknown or not kinds:
    raise ValueError(f"kinds must be among 0..{max(DISTORTIONS)}, got {list(kinds)}")
  return kinds


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
  """A temporary path to write; renamed to ``path`` only if the block succeeds."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  partial = path + ".part"
  try:
    yield partial
    os.replace(partial, path)
  finally:
    with contextlib.suppress(OSError):
      os.remove(partial)


# --------------------------------------------------------------------------
# Decoding and encoding frames.


def _reason(error: BaseException) -> str:
  """FFmpeg's reason for an error, without the file name PyAV appends."""
  return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _rate(stream) -> fractions.Fraction:
  """A video stream's average frame rate as an exact fraction."""
  for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
    if rate:
      return fractions.Fraction(rate)
  raise ValueError("no frame rate")


class Decoder:
  """Streams a source's video frames, in presentation order, as ``av.VideoFrame``.

  ``frames()`` raises ``VideoError`` when fewer or more frames decode than
  ``expected`` (the count ``video.probe`` reads), so every version holds
  exactly the frames of the reference file.
  """

  def __init__(self, path: str, expected: int):
    self.path, self.expected = path, expected
    try:
      self._container = av.open(path, metadata_errors="ignore")
      streams = [s for s in self._container.streams.video
                 if av.stream.Disposition.attached_pic not in s.disposition]
      if not streams:
        raise VideoError(path, "no video stream")
      self._stream = streams[0]
      self._stream.thread_type = "AUTO"
      self.rate = _rate(self._stream)
    except (av.FFmpegError, OSError, ValueError) as e:
      self.close()
      raise VideoError(path, f"cannot be decoded ({_reason(e)})") from e

  def close(self) -> None:
    if getattr(self, "_container", None) is not None:
      self._container.close()
      self._container = None

  def __enter__(self) -> "Decoder":
    return self

  def __exit__(self, *exc) -> None:
    self.close()

  def frames(self) -> Iterator[av.VideoFrame]:
    """Every frame; a damaged packet is skipped (then the count check fails)."""
    count = 0
    try:
      for packet in self._container.demux(self._stream):
        try:
          decoded = self._stream.decode(packet)
        except av.error.InvalidDataError:
          continue
        for frame in decoded:
          count += 1
          yield frame
    except av.FFmpegError as e:
      raise VideoError(self.path, f"cannot be decoded ({_reason(e)})") from e
    if count < self.expected:
      raise VideoError(self.path, f"only {count} of the {self.expected} frames it "
                       "lists decode (damaged or truncated)")
    if count > self.expected:
      raise VideoError(self.path, f"{count} frames decode, more than the "
                       f"{self.expected} it lists")


def _fits(pix_fmt: str, width: int, height: int) -> bool:
  """Whether ``pix_fmt``'s chroma subsampling divides the frame size."""
  components = av.VideoFormat(pix_fmt, 2, 2).components
  if len(components) < 3:
    return True
  chroma = components[1]
  return not ((chroma.width < 2 and width % 2) or (chroma.height < 2 and height % 2))


def _encoder_pix_fmt(codec: str, pix_fmt: str, width: int, height: int) -> str:
  """``pix_fmt`` if ``codec`` takes it and it fits the size, else yuv420p or yuv444p.

  x264 cannot subsample the chroma of an odd size (yuv444p keeps it whole);
  MPEG-2 can, so it gets yuv420p.
  """
  supported = {f.name for f in av.codec.Codec(codec, "w").video_formats or ()}
  candidates = [c for c in (pix_fmt, "yuv420p", "yuv444p") if c in supported]
  fitting = [c for c in candidates if _fits(c, width, height)]
  return (fitting or candidates or [pix_fmt])[0]


class Mp4Writer:
  """Encodes frames to an .mp4 file at a constant rate (frame i at i / rate).

  The stream is opened on the first frame: its size, and its colour tags
  unless the frames are RGB, become the stream's. Frames in another pixel
  format are converted by FFmpeg's scaler. ``rotation`` is recorded as the
  display rotation (the pixels are not rotated).
  """

  def __init__(self, path: str, codec: str, rate: fractions.Fraction, *,
               pix_fmt: str | None = None, options: dict | None = None,
               rotation: int = 0):
    self.path, self.codec, self.rate = path, codec, rate
    pinned = x264.reproducible_params() if codec == "libx264" else {}
    self.pix_fmt = pix_fmt
    self.options = {**pinned, **{k: str(v) for k, v in (options or {}).items()}}
    self.rotation = rotation
    self.count = 0
    self._stream = None
    self._container = av.open(path, mode="w", format="mp4")

  def _open_stream(self, frame: av.VideoFrame) -> None:
    """Adds the video stream, shaped and tagged like ``frame``."""
    pix_fmt = _encoder_pix_fmt(self.codec, self.pix_fmt or frame.format.name,
                               frame.width, frame.height)
    stream = self._container.add_stream(self.codec, rate=self.rate, options=self.options)
    stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, pix_fmt
    stream.codec_context.time_base = 1 / self.rate
    if self.rotation:
      stream.set_display_rotation(self.rotation)
    if not frame.format.name.startswith(("rgb", "bgr", "gbr")):
      ctx = stream.codec_context
      ctx.colorspace, ctx.color_range = frame.colorspace, frame.color_range
      ctx.color_primaries, ctx.color_trc = frame.color_primaries, frame.color_trc
    self.pix_fmt, self._stream = pix_fmt, stream

  def write(self, frame: av.VideoFrame) -> None:
    """Encodes ``frame`` as the next frame (its timestamps are replaced)."""
    if self._stream is None:
      self._open_stream(frame)
    if frame.format.name != self.pix_fmt:
      frame = frame.reformat(format=self.pix_fmt)
    frame.pts, frame.time_base, frame.duration = self.count, 1 / self.rate, 1
    self._container.mux(self._stream.encode(frame))
    self.count += 1

  def close(self) -> None:
    """Flushes the encoder and finishes the file."""
    if self._container is None:
      return
    try:
      if self._stream is not None:
        self._container.mux(self._stream.encode(None))
    finally:
      self._container.close()
      self._container = None

  def __enter__(self) -> "Mp4Writer":
    return self

  def __exit__(self, exc_type, *exc) -> None:
    if exc_type is None:
      self.close()
    else:
      with contextlib.suppress(av.FFmpegError, OSError):
        self._container.close()


@contextlib.contextmanager
def ffmpeg_errors(label: str, what: str):
  """Turns FFmpeg errors raised in the block into ``VideoError`` naming ``label``."""
  try:
    yield
  except (av.FFmpegError, ValueError) as e:
    if isinstance(e, VideoError):
      raise
    raise VideoError(label, f"{what} failed ({_reason(e)})") from e


# --------------------------------------------------------------------------
# The four families.


def mpeg2_codes_rate(rate: fractions.Fraction) -> bool:
  """Whether MPEG-2 headers can state ``rate`` exactly (standard rate × n/d)."""
  bases = (fractions.Fraction(24000, 1001), 24, 25, fractions.Fraction(30000, 1001),
           30, 50, fractions.Fraction(60000, 1001), 60)
  return any(base * fractions.Fraction(n, d) == rate
             for base in bases for n in range(1, 5) for d in range(1, 33))


def _compression_options(params: dict, rate: fractions.Fraction) -> dict:
  """Encoder options of an MPEG-2 or x264 kind (as ``ffmpeg -q:v``/``-crf`` set them)."""
  if params["codec"] == "libx264":
    return {"crf": params["crf"], "preset": params["preset"]}
  q = max(params["qscale"], params["qmin"])
  options = {"flags": "+qscale", "qmin": q, "qmax": q}
  if not mpeg2_codes_rate(rate):
    # The mp4 timestamps carry the true rate; the MPEG-2 header states the nearest.
    options["strict"] = "experimental"
  return options


def _compress(src: str, dst: str, params: dict, info: video.VideoInfo) -> None:
  """Re-encodes every decoded frame of ``src`` with MPEG-2 or x264."""
  with Decoder(src, info.num_frames) as decoder, ffmpeg_errors(src, params["codec"]):
    options = _compression_options(params, decoder.rate)
    with Mp4Writer(dst, params["codec"], decoder.rate, options=options,
                   rotation=info.rotation) as out:
      for frame in decoder.frames():
        out.write(frame)


def _batches(items: Iterable, size: int) -> Iterator[list]:
  """``items`` in lists of ``size`` (the last may be shorter)."""
  batch = []
  for item in items:
    batch.append(item)
    if len(batch) == size:
      yield batch
      batch = []
  if batch:
    yield batch


def _blur_batch(frames: list[av.VideoFrame], levels: int) -> list[av.VideoFrame]:
  """RGB frames of ``frames`` through the Gaussian pyramid."""
  rgb = np.stack([video.frame_to_rgb(f) for f in frames])
  blurred = pyramid.pyramid_blur(rgb, levels)
  return [av.VideoFrame.from_ndarray(b, format="rgb24") for b in blurred]


def _encoder_writer(dst: str, rate: fractions.Fraction, encoder: dict,
                    info: video.VideoInfo) -> Mp4Writer:
  """A writer with the ``encoder`` settings of a blur or frame-rate kind."""
  return Mp4Writer(dst, encoder["codec"], rate, pix_fmt=encoder["pix_fmt"],
                   options={"crf": encoder["crf"], "preset": encoder["preset"]},
                   rotation=info.rotation)


def _blur(src: str, dst: str, params: dict, info: video.VideoInfo) -> None:
  """Blurs every RGB frame of ``src`` with a Gaussian pyramid and re-encodes it."""
  levels = params["pyramid_levels"]
  with Decoder(src, info.num_frames) as decoder, ffmpeg_errors(src, "blur"):
    with _encoder_writer(dst, decoder.rate, params["encoder"], info) as out:
      for batch in _batches(decoder.frames(), _BLUR_BATCH):
        for blurred in _blur_batch(batch, levels):
          out.write(blurred)


def reduced_rate(rate: float, divisor: int) -> int:
  """The rate the frame-rate kinds drop to: ``round(fps) // divisor``, at least 1."""
  return max(1, round(float(rate)) // divisor)


def nearest_indices(times: Sequence[float], targets: Sequence[float]) -> np.ndarray:
  """For each target time, the index of the nearest of the sorted ``times``.

  A tie goes to the earlier time.
  """
  times = np.asarray(times, np.float64)
  targets = np.asarray(targets, np.float64)
  if len(times) == 1:
    return np.zeros(len(targets), np.int64)
  after = np.clip(np.searchsorted(times, targets), 1, len(times) - 1)
  before = after - 1
  earlier = targets - times[before] <= times[after] - targets
  return np.where(earlier, before, after)


def kept_frames(num_frames: int, rate: fractions.Fraction, low_rate: int) -> np.ndarray:
  """The frames kept when the video is dropped to ``low_rate`` frames a second.

  At each instant ``n / low_rate`` within the video, the frame nearest in
  time (frame ``i`` shows at ``i / rate``).
  """
  duration = fractions.Fraction(num_frames) / rate
  count = max(1, math.ceil(duration * low_rate))
  targets = np.arange(count) / low_rate
  return nearest_indices(np.arange(num_frames) / float(rate), targets)


def _interpolation_graph(frame: av.VideoFrame, low_rate: int,
                         pix_fmt: str) -> av.filter.Graph:
  """``format=pix_fmt, minterpolate`` (defaults: 60 fps) on frames like ``frame``.

  The source's colour matrix and range are declared, so the conversion to
  ``pix_fmt`` keeps them (only the chroma is resampled).
  """
  graph = av.filter.Graph()
  args = (f"video_size={frame.width}x{frame.height}:pix_fmt={frame.format.name}"
          f":time_base=1/{low_rate}:frame_rate={low_rate}/1:pixel_aspect=1/1"
          f":colorspace={int(frame.colorspace)}:range={int(frame.color_range)}")
  nodes = [graph.add("buffer", args), graph.add("format", pix_fmt),
           graph.add("minterpolate"), graph.add("buffersink")]
  graph.link_nodes(*nodes)
  graph.configure()
  return graph


def drain(graph: av.filter.Graph) -> Iterator[av.VideoFrame]:
  """The frames the graph has ready."""
  while True:
    try:
      yield graph.pull()
    except (BlockingIOError, EOFError):
      return


def _interpolated(frames: Iterable[av.VideoFrame], keep: np.ndarray, low_rate: int,
                  pix_fmt: str) -> Iterator[av.VideoFrame]:
  """The kept frames, shown at ``low_rate``, interpolated by ``minterpolate``.

  minterpolate stops at the last kept frame but one (and gives nothing from
  fewer than 3); the kept frames after its last output follow it, as they are.
  """
  graph, wanted, pending, last_time = None, set(keep.tolist()), [], -1.0
  step = fractions.Fraction(1, low_rate)
  for i, frame in enumerate(frames):
    if i not in wanted:
      continue
    if graph is None:
      graph = _interpolation_graph(frame, low_rate, pix_fmt)
    frame.pts, frame.time_base, frame.duration = int(np.searchsorted(keep, i)), step, 1
    graph.push(frame)
    pending.append(frame)
    for out in drain(graph):
      last_time = out.time
      yield out
    pending = [f for f in pending if f.time > last_time]
  if graph is not None:
    graph.push(None)
    for out in drain(graph):
      last_time = out.time
      yield out
  yield from (f for f in pending if f.time > last_time)


def _resampled(frames: Iterator[av.VideoFrame], num_frames: int,
               rate: fractions.Fraction) -> Iterator[av.VideoFrame]:
  """``num_frames`` frames at ``rate``, each the one of ``frames`` nearest in time.

  ``frames`` come in time order; past their end the last one repeats.
  """
  previous = current = None
  for m in range(num_frames):
    target = m / rate
    while current is None or current.time < target:
      following = next(frames, None)
      if following is None:
        break
      previous, current = current, following
    if current is None:
      return
    if previous is not None and target - previous.time <= current.time - target:
      yield previous
    else:
      yield current


def _frame_rate(src: str, dst: str, params: dict, info: video.VideoInfo) -> None:
  """Drops frames, interpolates them back with ``minterpolate``, re-encodes.

  The output has the source's frame count at its rate: frame ``m``
  is the interpolated frame nearest to instant ``m / fps``.
  """
  encoder, num_frames = params["encoder"], info.num_frames
  with Decoder(src, num_frames) as decoder, ffmpeg_errors(src, "minterpolate"):
    low_rate = reduced_rate(decoder.rate, params["divisor"])
    keep = kept_frames(num_frames, decoder.rate, low_rate)
    interpolated = _interpolated(decoder.frames(), keep, low_rate, encoder["pix_fmt"])
    with _encoder_writer(dst, decoder.rate, encoder, info) as out:
      for frame in _resampled(interpolated, num_frames, decoder.rate):
        out.write(frame)
      for _ in interpolated:  # Decodes the rest: checks the frame count.
        pass
    if out.count != num_frames:
      raise VideoError(src, f"minterpolate gave {out.count} of {num_frames} frames")


_FAMILIES = {"mpeg2": _compress, "h264": _compress, "blur": _blur,
             "framerate": _frame_rate}


def make_version(k: int, src: str | os.PathLike, dst: str | os.PathLike, *,
                 info: video.VideoInfo | None = None) -> None:
  """Writes kind ``k`` of ``src`` to ``dst`` (via a temporary file).

  Args:
    k: a key of ``DISTORTIONS``.
    src: the pristine video.
    dst: the output path (an .mp4 file; the reference is a byte copy).
    info: ``video.probe(src)``, if already known.

  Raises:
    VideoError: the source cannot be read or the encoder fails.
  """
  src, dst = os.fspath(src), os.fspath(dst)
  distortion = DISTORTIONS[k]
  with atomic_output(dst) as partial:
    if distortion.family == "reference":
      shutil.copyfile(src, partial)
      return
    info = info or video.probe(src)
    _FAMILIES[distortion.family](src, partial, distortion.parameters, info)


# --------------------------------------------------------------------------
# One video, a folder, the manifest.


def _entry(k: int, src: str, info: video.VideoInfo) -> dict:
  """The manifest entry of kind ``k`` of ``src``, from the probed output ``info``."""
  distortion = DISTORTIONS[k]
  return {
      "path": version_relpath(k, src), "name": scene_name(src),
      "source": os.path.abspath(src), "k": k, "family": distortion.family,
      "level": distortion.level, "parameters": copy.deepcopy(distortion.parameters),
      "frames": info.num_frames, "width": info.width, "height": info.height,
      "fps": info.fps,
  }


def check_like_reference(path: str, info: video.VideoInfo,
                         reference: video.VideoInfo) -> None:
  """Raises if a version's size, frame count or rotation differs from the reference's."""
  got = (info.width, info.height, info.num_frames, info.rotation)
  want = (reference.width, reference.height, reference.num_frames, reference.rotation)
  if got != want:
    raise VideoError(path, "has {}x{}, {} frames, rotation {}; the reference "
                     "{}x{}, {} frames, rotation {}".format(*got, *want))


def distort_video(src: str | os.PathLike, out_dir: str | os.PathLike, *,
                  kinds: Iterable[int] = ALL_KINDS,
                  overwrite: bool = False) -> list[dict]:
  """Writes the chosen kinds of one pristine video; returns their manifest entries.

  An output that exists is kept (its entry is read from it) unless
  ``overwrite``. The reference copy is made last, and if the source turns
  out to be broken, the outputs this call wrote are removed.

  Args:
    src: the pristine video.
    out_dir: the output root (``out_dir/<k>/<name>.mp4``).
    kinds: keys of ``DISTORTIONS``.
    overwrite: redo outputs that exist.

  Returns:
    One manifest entry per kind, in kind order (the manifest is not written).

  Raises:
    VideoError: the source cannot be read, or a version cannot be made.
  """
  src, out_dir = os.fspath(src), os.fspath(out_dir)
  kinds = check_kinds(kinds)
  reference = video.probe(src)
  written, entries = [], {}
  try:
    for k in sorted(kinds, key=lambda k: (k == 0, k)):
      path = os.path.join(out_dir, version_relpath(k, src))
      if overwrite or not os.path.exists(path):
        make_version(k, src, path, info=reference)
        written.append(path)
      info = reference if k == 0 else video.probe(path)
      check_like_reference(path, info, reference)
      entries[k] = _entry(k, src, info)
  except JvqaError:
    for path in written:
      with contextlib.suppress(OSError):
        os.remove(path)
    raise
  return [entries[k] for k in kinds]


def read_manifest(out_dir: str | os.PathLike) -> dict[str, dict]:
  """``{relative path: entry}`` from ``out_dir/manifest.json`` ({} if absent)."""
  path = os.path.join(os.fspath(out_dir), MANIFEST)
  if not os.path.exists(path):
    return {}
  try:
    with open(path, encoding="utf-8") as f:
      return dict(json.load(f)["files"])
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise JvqaError(f"{path}: not a jvqa distort manifest ({e})") from e


def write_manifest(out_dir: str | os.PathLike, entries: Iterable[dict]) -> str:
  """Merges ``entries`` into ``out_dir/manifest.json`` (atomically); returns its path."""
  out_dir = os.fspath(out_dir)
  merged = read_manifest(out_dir)
  merged.update({e["path"]: e for e in entries})
  path = os.path.join(out_dir, MANIFEST)
  os.makedirs(out_dir, exist_ok=True)
  with open(path + ".part", "w", encoding="utf-8") as f:
    json.dump({"files": dict(sorted(merged.items()))}, f, indent=1)
    f.write("\n")
  os.replace(path + ".part", path)
  return path


@dataclasses.dataclass
class DistortReport:
  """What ``distort_folder`` did.

  Attributes:
    entries: manifest entries of every output of the videos that succeeded.
    failures: ``(source path, reason)`` of every video skipped.
    manifest: path of the manifest written.
  """
  entries: list = dataclasses.field(default_factory=list)
  failures: list = dataclasses.field(default_factory=list)
  manifest: str = ""


def _inside(path: str, folder: str) -> bool:
  """Whether ``path`` lies in ``folder``."""
  path, folder = os.path.realpath(path), os.path.realpath(folder)
  return os.path.commonpath([path, folder]) == folder


def find_sources(src: str | os.PathLike, out_dir: str | os.PathLike
                 ) -> tuple[list[str], list[tuple[str, str]]]:
  """The videos to distort (``src`` or the videos under it), and those refused.

  Files inside ``out_dir`` are ignored; a video whose name another already
  has (same base name, another folder or extension) is refused.
  """
  sources, refused, seen = [], [], {}
  for path in files.iter_video_files(os.fspath(src)):
    if os.path.isdir(os.fspath(src)) and _inside(path, os.fspath(out_dir)):
      continue
    name = scene_name(path)
    if name in seen:
      refused.append((path, f"same name {name!r} as {seen[name]}"))
      continue
    seen[name] = path
    sources.append(path)
  return sources, refused


def _distort_task(src: str, out_dir: str, kinds: tuple[int, ...],
                  overwrite: bool) -> tuple[str, list, str | None]:
  """``distort_video`` in a worker: (src, entries, None) or (src, [], reason).

  Any error is returned as a reason, so no video aborts a folder.
  """
  try:
    return src, distort_video(src, out_dir, kinds=kinds, overwrite=overwrite), None
  except JvqaError as e:
    about_src = getattr(e, "source", None) == src
    return src, [], e.reason if about_src else str(e)
  except Exception as e:  # pylint: disable=broad-except
    return src, [], f"{type(e).__name__}: {e}"


def _run_tasks(sources: Sequence[str], out_dir: str, kinds: tuple[int, ...],
               overwrite: bool, workers: int, progress: bool) -> Iterator[tuple]:
  """``_distort_task`` results as they finish, in worker processes if ``workers > 1``."""
  bar = tqdm.tqdm(total=len(sources), desc="distort", unit="video",
                  disable=None if progress else True)
  with bar:
    if workers <= 1 or len(sources) <= 1:
      for src in sources:
        yield _distort_task(src, out_dir, kinds, overwrite)
        bar.update()
      return
    context = multiprocessing.get_context("spawn")
    workers = min(workers, len(sources))
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
      futures = {pool.submit(_distort_task, src, out_dir, kinds, overwrite): src
                 for src in sources}
      try:
        for future in concurrent.futures.as_completed(futures):
          yield _result(future, futures[future])
          bar.update()
      finally:
        for future in futures:
          future.cancel()


def _result(future: concurrent.futures.Future, src: str) -> tuple[str, list, str | None]:
  """A worker's result; a worker that died (crash, out of memory) fails its video."""
  try:
    return future.result()
  except Exception as e:  # pylint: disable=broad-except
    return src, [], f"worker process failed ({type(e).__name__}: {e})"


def distort_folder(src: str | os.PathLike, out_dir: str | os.PathLike, *,
                   workers: int = 1, kinds: Iterable[int] = ALL_KINDS,
                   overwrite: bool = False, progress: bool = True) -> DistortReport:
  """Distorts every video under ``src`` (a folder, or one video) into ``out_dir``.

  Videos are processed in parallel worker processes (spawned, one video
  each); a video that fails is reported in the result and the others go on.
  The manifest is merged with the one already in ``out_dir``, also when the
  run is interrupted.

  Args:
    src: a folder of pristine videos (searched recursively), or one video.
    out_dir: the output root; videos inside it are not sources.
    workers: worker processes (1: in this process).
    kinds: keys of ``DISTORTIONS``.
    overwrite: redo outputs that exist.
    progress: show a progress bar (only on a terminal).

  Returns:
    A ``DistortReport``.
  """
  out_dir = os.fspath(out_dir)
  kinds = check_kinds(kinds)
  sources, refused = find_sources(src, out_dir)
  report = DistortReport(failures=list(refused))
  try:
    for path, entries, reason in _run_tasks(sources, out_dir, kinds, overwrite,
                                            workers, progress):
      if reason is None:
        report.entries.extend(entries)
      else:
        report.failures.append((path, reason))
  finally:
    if report.entries or os.path.exists(os.path.join(out_dir, MANIFEST)):
      report.manifest = write_manifest(out_dir, report.entries)
  report.entries.sort(key=lambda entry: entry["path"])
  report.failures.sort()
  return report
