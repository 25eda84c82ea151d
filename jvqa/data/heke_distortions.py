"""BVQA-HEKE's 90 compression and transmission distortions of a pristine clip (WELL-Set).

HEKE's weak-label corpus degrades every reference clip with the ffmpeg
commands of its ``WELL-Set/src_noise_maker/noise_maker_*.sh`` scripts (13
families of 6 levels) and with H.264 packet loss (2 CRF bases x 6 loss
rates), 90 versions in all (``HEKE_DISTORTIONS``; kind names follow the
scripts' output names). The encoder options are the scripts' (``ffmpeg`` in
each kind's parameters), given to the same FFmpeg encoders through PyAV:

==============  ======================================  ========================
family          ffmpeg options                          levels (mildest first)
==============  ======================================  ========================
Gaussian        -c:v libx264 -crf 23                    noise alls 7 ... 26
                -vf noise=alls=K:allf=t
H264_abr        -c:v libx264 -g 54 -b:v Bk              3600 ... 150 kb/s
H264_crf        -c:v libx264 -g 54 -crf C               23 ... 42
H264_qp         -c:v libx264 -g 54 -qp Q                23 ... 42
HEVC_abr        -c:v libx265 -g 72 -b:v Bk              3600 ... 150 kb/s
HEVC_crf        -c:v libx265 -g 72 -crf C               23 ... 42
HEVC_qp         -c:v libx265 -g 72 -x265-params qp=Q    23 ... 42
MJ2K            -c:v jpeg2000 -qscale Q                 4 ... 28
MJPEG           -c:v mjpeg -qscale Q                    5 ... 30
MPEG2           -c:v mpeg2video -g 64 -q:v Q            5 ... 29
MPEG4_abr       -c:v mpeg4 -g 64 -b:v Bk                4000 ... 240 kb/s
MPEG4_qscale    -c:v mpeg4 -g 64 -q:v Q                 5 ... 29
Snow            -c:v snow -g 64 -q:v Q                  4 ... 24
PL_H264_crf24,  -c:v libx264 -g G -crf C                PLR 0.4 ... 20 %
PL_H264_crf32   -x264opts slices=S, then packet loss
==============  ======================================  ========================

Every option not named keeps its encoder default, as in the scripts (x264
and x265 preset medium, x264's GOP 250 for Gaussian noise, no B-frames for
the MPEG-2/MPEG-4 encoders). Levels run from mildest (1) to strongest (6):
the ABR families list their bitrates highest first.

Packet loss (``jvqa.data.packet_loss``): for each CRF base (24, 32) the
script draws once per clip a CRF offset 0-2, a GOP from {48, 72, 96} and a
slice count from {16, 18, 24} (``$RANDOM % 3``), encodes once, and sends
that stream through the loss simulator at the 6 loss rates. The script's
``-x264opts slice_mode="fixed" -x264opts slices=S`` gives x264 only
``slices=S``: ffmpeg keeps the last of a repeated option. Here the draws come
from a generator seeded by ``(seed, CRC-32 of the clip's name, CRF base)``
and each loss pattern from one seeded by ``(seed, name, base, 10 x PLR)``,
so the versions of a clip are reproducible for a seed, whichever of them
are made, and differ between clips as in the original.

Details that make the encodes like ``ffmpeg``'s:

* ``-q:v``/``-qscale`` reach the mpegvideo, Snow and JPEG 2000 encoders only
  through each frame's ``AVFrame.quality``, which ffmpeg copies from the
  global quality. PyAV has no setter for it, so ``_set_frame_quality`` writes
  it (see there); without it these encoders run at their best quality (Snow
  and JPEG 2000 near lossless, mpegvideo at qscale 2).
* Source frames reach the encoders as picture type NONE (ffmpeg resets it):
  a decoded I frame would otherwise force a key frame.
* MJPEG: ffmpeg 4's mjpeg encoder took yuv420p only with ``-strict -1``, so
  ffmpeg converted the frames to yuvj420p (full range). They are expanded
  to full range here too, encoded as yuvj420p and, after decoding, brought
  back to the reference's range, as HEKE's ``ffmpeg -pix_fmt yuv420p``
  before its metrics does.
* Encoders run on one thread (x264 ``threads=1``, x265
  ``pools=1:frame-threads=1``, one slice for mpegvideo): their output
  depends on the thread count, which ffmpeg sets from the machine's cores.

Sources: the clip is decoded once, in yuv420p (other formats are converted;
yuvj420p keeps its values and full range), as WELL-Set's references are;
an odd frame size is refused (yuv420p cannot hold it).

Storage: every version is decoded back (the compressed stream as HEKE's
metric script decodes it) and stored losslessly, as x264 at qp 0 in MP4 (the
settings of ``jvqa.io.lossless``), with the reference's size, frame count,
frame rate, colour tags and rotation. The compressed streams themselves are
not kept: seven formats (raw .264/.265/.m2v/.mjpeg, AVI, MP4) would need
seven readers, a damaged H.264 stream decodes to fewer frames and
differently with each FFmpeg version, and MJPEG's range must be converted
before any comparison; stored decoded, every version compares frame by
frame with the reference through one reader. Each version's manifest entry
records its compressed size and bitrate, and for packet loss the drawn CRF,
GOP and slice count and what the channel did.

Layout (kinds as folder names, next to SSL-VQA's numbered ones if the same
``OUT_DIR`` is used)::

  OUT_DIR/<kind>/<name>.mp4   e.g. OUT_DIR/HEVC_crf_32/clip.mp4
  OUT_DIR/manifest.json       {"files": {"<kind>/<name>.mp4": entry, ...}}

Differences from HEKE that remain (FFmpeg 8 instead of the ffmpeg of 2021,
fresh loss patterns instead of HEKE's pattern files read at a random offset,
single-threaded encoders) are listed in docs/deviations.md.
"""

import concurrent.futures
import contextlib
import copy
import ctypes
import dataclasses
import fractions
import functools
import multiprocessing
import os
import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence

import av
import numpy as np
import tqdm
from av.video.frame import PictureType
from av.video.reformatter import ColorRange

from jvqa.data import distortions, packet_loss
from jvqa.errors import JvqaError, VideoError
from jvqa.io import lossless, video, x264

Distortion = distortions.Distortion

# FFmpeg's FF_QP2LAMBDA: ``-q:v Q`` sets the quality (lambda) Q * 118.
FF_QP2LAMBDA = 118
# x265 options pinning its threads (the output depends on them).
X265_THREADS = "pools=1:frame-threads=1"
# Packet loss: the script's CRF bases, their random offsets, GOPs and slices.
PL_CRF_BASES = (24, 32)
PL_CRF_OFFSETS = (0, 1, 2)
PL_GOPS = (48, 72, 96)
PL_SLICES = (16, 18, 24)
# Loss rates (%) and the mean burst length of HEKE's pattern file at each
# (None: independent losses); see ``jvqa.data.packet_loss``.
PL_RATES = {0.4: 2.0, 1: 2.0, 3: 2.0, 5: 2.0, 10: 2.0, 20: None}
# The FFmpeg decoder of each encoder's stream.
_DECODERS = {"libx264": "h264", "libx265": "hevc", "jpeg2000": "jpeg2000",
             "mjpeg": "mjpeg", "mpeg2video": "mpeg2video", "mpeg4": "mpeg4",
             "snow": "snow"}


# --------------------------------------------------------------------------
# The table.


def _ffmpeg_options(params: dict) -> str:
  """The script's ffmpeg options of a kind (as recorded in the manifest)."""
  parts = [f"-c:v {params['codec']}"]
  if "gop" in params:
    parts.append(f"-g {params['gop']}")
  if "crf" in params:
    parts.append(f"-crf {params['crf']}")
  if "noise" in params:
    parts.append(f"-vf noise=alls={params['noise']}:allf=t")
  if "bitrate_kbps" in params:
    parts.append(f"-b:v {params['bitrate_kbps']}k")
  if "qp" in params:
    parts.append(f"-x265-params qp={params['qp']}" if params["codec"] == "libx265"
                 else f"-qp {params['qp']}")
  if "qscale" in params:
    flag = "-qscale" if params["codec"] in ("jpeg2000", "mjpeg") else "-q:v"
    parts.append(f"{flag} {params['qscale']}")
  return " ".join(parts)


def _family(table: dict, family: str, suffix: str, values: Sequence, base: dict,
            key: str, *, mildest_last: bool = False) -> None:
  """Adds the 6 levels of one family, named ``<family>_<value><suffix>``."""
  ordered = list(reversed(values)) if mildest_last else list(values)
  for level, value in enumerate(ordered, 1):
    params = {**base, key: value}
    params["ffmpeg"] = _ffmpeg_options(params)
    table[f"{family}_{value}{suffix}"] = Distortion(family, level, params)


def _table() -> dict[str, Distortion]:
  """``HEKE_DISTORTIONS``: kind -> distortion, in the scripts' order."""
  table: dict[str, Distortion] = {}
  x264, x265 = {"codec": "libx264"}, {"codec": "libx265"}
  abr = (150, 300, 600, 1200, 2400, 3600)
  quantisers = (23, 28, 32, 36, 39, 42)
  _family(table, "Gaussian", "", (7, 10, 13, 16, 21, 26), {**x264, "crf": 23}, "noise")
  _family(table, "H264_abr", "k", abr, {**x264, "gop": 54}, "bitrate_kbps",
          mildest_last=True)
  _family(table, "H264_crf", "", quantisers, {**x264, "gop": 54}, "crf")
  _family(table, "H264_qp", "", quantisers, {**x264, "gop": 54}, "qp")
  _family(table, "HEVC_abr", "k", abr, {**x265, "gop": 72}, "bitrate_kbps",
          mildest_last=True)
  _family(table, "HEVC_crf", "", quantisers, {**x265, "gop": 72}, "crf")
  _family(table, "HEVC_qp", "", quantisers, {**x265, "gop": 72}, "qp")
  _family(table, "MJ2K", "", (4, 8, 12, 16, 22, 28), {"codec": "jpeg2000"}, "qscale")
  _family(table, "MJPEG", "", (5, 10, 15, 20, 25, 30), {"codec": "mjpeg"}, "qscale")
  _family(table, "MPEG2", "", (5, 10, 15, 20, 25, 29),
          {"codec": "mpeg2video", "gop": 64}, "qscale")
  _family(table, "MPEG4_abr", "k", (240, 480, 720, 1300, 2500, 4000),
          {"codec": "mpeg4", "gop": 64}, "bitrate_kbps", mildest_last=True)
  _family(table, "MPEG4_qscale", "", (5, 10, 15, 20, 25, 29),
          {"codec": "mpeg4", "gop": 64}, "qscale")
  _family(table, "Snow", "", (4, 7, 10, 13, 18, 24), {"codec": "snow", "gop": 64},
          "qscale")
  for base in PL_CRF_BASES:
    family = f"PL_H264_crf{base}"
    for level, (plr, burst) in enumerate(PL_RATES.items(), 1):
      table[f"{family}_PL_{plr}"] = Distortion(family, level, {
          "codec": "libx264", "crf_base": base, "crf_offsets": list(PL_CRF_OFFSETS),
          "gops": list(PL_GOPS), "slices": list(PL_SLICES), "plr_percent": plr,
          "mean_burst": burst, "pattern_length": packet_loss.PATTERN_LENGTH,
          "ffmpeg": "-c:v libx264 -g G -crf C -x264opts slices=S -f rawvideo",
          "simulator": "Annex B, modality 1 (I slices never dropped)"})
  return table


HEKE_DISTORTIONS = _table()
HEKE_KINDS = tuple(HEKE_DISTORTIONS)
HEKE_FAMILIES = tuple(dict.fromkeys(d.family for d in HEKE_DISTORTIONS.values()))


def check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
  """Kinds, or family names (all 6 levels), as distinct kinds in table order.

  Raises:
    ValueError: an unknown name, or none.
  """
  wanted, unknown = set(), []
  for name in kinds:
    name = str(name).strip()
    if name in HEKE_DISTORTIONS:
      wanted.add(name)
    elif name in HEKE_FAMILIES:
      wanted.update(k for k, d in HEKE_DISTORTIONS.items() if d.family == name)
    else:
      unknown.append(name)
  if unknown or not wanted:
    raise ValueError(f"unknown HEKE kind(s) {unknown or '(none)'}; known: the 90 "
                     f"names like {HEKE_KINDS[0]}, or a family: {', '.join(HEKE_FAMILIES)}")
  return tuple(k for k in HEKE_KINDS if k in wanted)


def version_relpath(kind: str, src: str | os.PathLike) -> str:
  """``"<kind>/<name>.mp4"``."""
  return f"{kind}/{distortions.scene_name(src)}.mp4"


def _check_seed(seed) -> int:
  """``seed`` as a non-negative int."""
  if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
    raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
  return int(seed)


def _rng(seed: int, name: str, *keys: int) -> np.random.Generator:
  """A generator seeded by the run's seed, the clip's name and ``keys``."""
  return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8")), *keys])


# --------------------------------------------------------------------------
# Frame quality (how ``-q:v`` reaches an encoder).


def _avframe_address(frame: av.VideoFrame) -> int:
  """Address of the ``AVFrame`` behind a PyAV frame.

  av/frame.pxd declares ``cdef class Frame`` with ``AVFrame *ptr`` as its
  first field; Cython lays the object out as PyObject_HEAD (2 words), the
  virtual-method table pointer, then the fields.
  """
  word = ctypes.sizeof(ctypes.c_void_p)
  if type(frame).__basicsize__ < 4 * word:
    raise JvqaError("PyAV's VideoFrame layout is not the one jvqa knows")
  return ctypes.c_void_p.from_address(id(frame) + 3 * word).value or 0


@functools.cache
def _quality_offset() -> int:
  """Byte offset of ``AVFrame.quality``, found and checked on a probe frame.

  libavutil/frame.h orders ``... pts, pkt_dts, time_base, quality ...``:
  ``pts`` and ``pkt_dts`` are located by values PyAV writes, and the result
  is checked against the width/height and data pointer PyAV reports.
  """
  frame = av.VideoFrame(98, 54, "yuv420p")
  address = _avframe_address(frame)
  word = ctypes.sizeof(ctypes.c_void_p)
  if not address or ctypes.c_void_p.from_address(address).value != frame.planes[0].buffer_ptr:
    raise JvqaError("cannot locate PyAV's AVFrame (unknown PyAV layout)")
  size_at = 8 * word + 8 * 4 + word  # data[8], linesize[8], extended_data
  if struct.unpack("=ii", ctypes.string_at(address + size_at, 8)) != (98, 54):
    raise JvqaError("unexpected AVFrame layout (width/height)")
  frame.pts, frame.dts = 0x1122334455667788, 0x0102030405060708
  head = ctypes.string_at(address, 256)
  pts_at = head.find(struct.pack("=q", frame.pts))
  if pts_at < 0 or head.find(struct.pack("=q", frame.dts)) != pts_at + 8:
    raise JvqaError("unexpected AVFrame layout (pts/pkt_dts)")
  return pts_at + 8 + 8 + 8  # after pts, pkt_dts and time_base (2 ints).


def _set_frame_quality(frame: av.VideoFrame, quality: int) -> None:
  """Sets ``AVFrame.quality`` (lambda units), which PyAV does not expose.

  ``ffmpeg -q:v Q`` sets every frame's quality to Q * FF_QP2LAMBDA before
  encoding (fftools); the mpegvideo, Snow and JPEG 2000 encoders read only
  that. No library call sets it from Python, hence the write through ctypes;
  ``check_frame_quality`` verifies it end to end.
  """
  ctypes.c_int.from_address(_avframe_address(frame) + _quality_offset()).value = int(quality)


def packet_quality(packet: av.Packet) -> int | None:
  """The quality (lambda) an encoder reports in a packet's side data, or None."""
  if not packet.has_sidedata("quality_stats"):
    return None
  return struct.unpack("=i", bytes(packet.get_sidedata("quality_stats"))[:4])[0]


@functools.cache
def check_frame_quality() -> None:
  """Raises ``JvqaError`` unless a quality written into a frame reaches an encoder."""
  ctx = av.CodecContext.create("mpeg4", "w")
  ctx.width, ctx.height, ctx.pix_fmt = 16, 16, "yuv420p"
  ctx.time_base, ctx.thread_count = fractions.Fraction(1, 25), 1
  ctx.qscale, ctx.global_quality = True, 7
  frame = av.VideoFrame.from_ndarray(np.full((24, 16), 128, np.uint8), format="yuv420p")
  frame.pts = 0
  _set_frame_quality(frame, 7 * FF_QP2LAMBDA)
  packets = ctx.encode(frame) + ctx.encode(None)
  if [packet_quality(p) for p in packets] != [7 * FF_QP2LAMBDA]:
    raise JvqaError("cannot set the encoding quality of a frame with this PyAV/FFmpeg")


# --------------------------------------------------------------------------
# Encoding and decoding one version.


@dataclasses.dataclass
class HekeBitstream:
  """One version's compressed stream (as received, for packet loss).

  Attributes:
    kind: the key of ``HEKE_DISTORTIONS``.
    codec: the FFmpeg encoder.
    packets: each coded picture's bytes, in decode order.
    pts: each packet's display index.
    keyframes: whether each packet is a key frame.
    qualities: the quality (lambda) each packet reports, or None.
    details: what was drawn or happened (packet loss: crf, gop, slices,
      slice NAL units sent and lost, pictures repeated).
  """
  kind: str
  codec: str
  packets: list[bytes]
  pts: list[int]
  keyframes: list[bool]
  qualities: list[int | None]
  details: dict = dataclasses.field(default_factory=dict)

  @property
  def data(self) -> bytes:
    """The whole stream (for Annex-B codecs, HEKE's .264/.265 file)."""
    return b"".join(self.packets)

  def bitrate_kbps(self, rate: fractions.Fraction) -> float:
    """Mean bitrate in kb/s at ``rate`` frames a second."""
    return len(self.data) * 8 * float(rate) / max(1, len(self.pts)) / 1000


def _reset(frame: av.VideoFrame, index: int, rate: fractions.Fraction) -> av.VideoFrame:
  """``frame`` as ffmpeg hands it to an encoder: index ``index``, no forced type."""
  frame.pts, frame.time_base = index, 1 / rate
  frame.pict_type = PictureType.NONE
  return frame


def _noisy(frames: Iterable[av.VideoFrame], alls: int,
           rate: fractions.Fraction) -> Iterator[av.VideoFrame]:
  """The frames through FFmpeg's ``noise=alls=<alls>:allf=t`` (its default seed)."""
  graph, nodes = None, None
  for i, frame in enumerate(frames):
    if graph is None:
      graph = av.filter.Graph()
      nodes = [graph.add("buffer", f"video_size={frame.width}x{frame.height}"
                         f":pix_fmt={frame.format.name}:time_base="
                         f"{rate.denominator}/{rate.numerator}:pixel_aspect=1/1"),
               graph.add("noise", f"alls={alls}:allf=t"), graph.add("buffersink")]
      graph.link_nodes(*nodes)
      graph.configure()
    frame.pts, frame.time_base = i, 1 / rate
    graph.push(frame)
    yield from distortions.drain(graph)
  if graph is not None:
    graph.push(None)
    yield from distortions.drain(graph)


def _encoder(params: dict, width: int, height: int,
             rate: fractions.Fraction) -> av.codec.CodecContext:
  """An FFmpeg encoder set as the script's ffmpeg command sets it."""
  codec = params["codec"]
  ctx = av.CodecContext.create(codec, "w")
  ctx.width, ctx.height = width, height
  ctx.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
  ctx.time_base, ctx.framerate = 1 / rate, rate
  ctx.thread_count = 1
  if codec == "mjpeg":
    ctx.color_range = ColorRange.JPEG
  if "gop" in params:
    ctx.gop_size = params["gop"]
  if "bitrate_kbps" in params:
    ctx.bit_rate = params["bitrate_kbps"] * 1000
  if "qscale" in params:
    ctx.qscale, ctx.global_quality = True, params["qscale"]
  options = {}
  if codec == "mpeg2video" and not distortions.mpeg2_codes_rate(rate):
    # As in SSL-VQA's MPEG-2: the header states the nearest standard rate.
    options["strict"] = "experimental"
  if "crf" in params:
    options["crf"] = str(params["crf"])
  if codec == "libx264" and "qp" in params:
    options["qp"] = str(params["qp"])
  if "slices" in params:
    options["x264opts"] = f"slices={params['slices']}"
  if codec == "libx264":
    options.update(x264.reproducible_params())
  if codec == "libx265":
    qp = f"qp={params['qp']}:" if "qp" in params else ""
    options["x265-params"] = f"{qp}log-level=error:{X265_THREADS}"
  ctx.options = options
  return ctx


def _to_full_range(frame: av.VideoFrame) -> av.VideoFrame:
  """yuvj420p as ffmpeg's automatic conversion for MJPEG makes it."""
  source_range = ColorRange.JPEG if frame.color_range == ColorRange.JPEG else ColorRange.MPEG
  return frame.reformat(format="yuvj420p", src_color_range=source_range,
                        dst_color_range=ColorRange.JPEG)


def _encode(frames: Iterable[av.VideoFrame], params: dict, kind: str,
            rate: fractions.Fraction, label: str) -> HekeBitstream:
  """Encodes the frames with the kind's encoder and options."""
  frames = iter(frames)
  quality = params.get("qscale", 0) * FF_QP2LAMBDA
  if quality:
    check_frame_quality()
  first = next(frames, None)
  if first is None:
    raise VideoError(label, "no frames to encode")
  ctx = _encoder(params, first.width, first.height, rate)
  packets, marked = [], []

  def add(frame, index):
    if params["codec"] == "mjpeg":
      frame = _to_full_range(frame)
    if quality:
      _set_frame_quality(frame, quality)
      marked.append(frame)
    packets.extend(ctx.encode(_reset(frame, index, rate)))

  try:
    add(first, 0)
    if ctx.options:
      raise VideoError(label, f"{params['codec']} does not take the option(s) "
                       f"{', '.join(sorted(ctx.options))}")
    for index, frame in enumerate(frames, 1):
      add(frame, index)
    packets.extend(ctx.encode(None))
  finally:
    for frame in marked:  # The frames may be the reference's, used again.
      _set_frame_quality(frame, 0)
  return HekeBitstream(kind, params["codec"], [bytes(p) for p in packets],
                       [int(p.pts) for p in packets], [p.is_keyframe for p in packets],
                       [packet_quality(p) for p in packets])


def _decode(bitstream: HekeBitstream, width: int, height: int,
            label: str) -> list[av.VideoFrame]:
  """Every picture of a compressed stream, in display order."""
  ctx = av.CodecContext.create(_DECODERS[bitstream.codec], "r")
  ctx.width, ctx.height = width, height  # Snow's stream does not state them.
  frames = []
  for data, pts in zip(bitstream.packets, bitstream.pts):
    packet = packet_loss.padded_packet(data)
    packet.pts = pts
    frames.extend(ctx.decode(packet))
  frames.extend(ctx.decode(None))
  return frames


def _pl_encode(base: int, frames: Sequence[av.VideoFrame], rate: fractions.Fraction,
               seed: int, name: str, label: str) -> HekeBitstream:
  """The packet-loss stream before the channel: x264 at a drawn CRF, GOP and slices."""
  rng = _rng(seed, name, base)
  drawn = {"crf": base + PL_CRF_OFFSETS[rng.integers(3)],
           "gop": PL_GOPS[rng.integers(3)], "slices": PL_SLICES[rng.integers(3)]}
  params = {"codec": "libx264", **drawn}
  bitstream = _encode(frames, params, f"PL_H264_crf{base}", rate, label)
  bitstream.details = {k: int(v) for k, v in drawn.items()}
  return bitstream


def _packet_loss(kind: str, encoded: HekeBitstream, num_frames: int, seed: int,
                 name: str, label: str) -> tuple[HekeBitstream, list[av.VideoFrame]]:
  """The encoded stream through the lossy channel, and its decoded pictures."""
  params = HEKE_DISTORTIONS[kind].parameters
  plr = params["plr_percent"]
  rng = _rng(seed, name, params["crf_base"], round(10 * plr))
  pattern = packet_loss.loss_pattern(plr / 100, rng, length=params["pattern_length"],
                                     mean_burst=params["mean_burst"])
  sent = packet_loss.transmit_access_units(encoded.packets, pattern)
  frames, repeated = packet_loss.decode_damaged(sent.access_units, encoded.pts,
                                                num_frames, label=label)
  details = {**encoded.details, "slice_nal_units": sent.slices,
             "lost_slice_nal_units": sent.lost_slices,
             "lost_parameter_sets": sent.lost_parameter_sets,
             "repeated_frames": len(repeated)}
  received = HekeBitstream(kind, encoded.codec, sent.access_units, list(encoded.pts),
                           list(encoded.keyframes), list(encoded.qualities), details)
  return received, frames


def heke_frames(kind: str, frames: Sequence[av.VideoFrame], rate, *, seed: int = 0,
                name: str = "", cache: dict | None = None, label: str = "<frames>"
                ) -> tuple[list[av.VideoFrame], HekeBitstream]:
  """One HEKE version of yuv420p frames: the decoded pictures and the stream.

  Args:
    kind: a key of ``HEKE_DISTORTIONS``.
    frames: the reference's frames (yuv420p, even size), in display order.
      Their pts, picture type and quality are overwritten.
    rate: frame rate (frames a second).
    seed: the run's seed (packet loss only).
    name: the clip's name (packet loss: seeds its draws).
    cache: a dict kept across the kinds of one clip: the packet-loss encodes
      of each CRF base are then made once for the 6 loss rates.
    label: how errors name the clip.

  Returns:
    ``(pictures, bitstream)``: as many pictures as frames, in display order
    (yuv420p, MJPEG's in the frames' range), and the stream they decode from.

  Raises:
    VideoError: an encoder or decoder failed, or the frame count changed.
  """
  seed = _check_seed(seed)
  if not isinstance(rate, fractions.Fraction):
    rate = fractions.Fraction(rate).limit_denominator(1001)
  distortion = HEKE_DISTORTIONS[kind]
  params, num_frames = distortion.parameters, len(frames)
  with distortions.ffmpeg_errors(label, params["codec"]):
    if "plr_percent" in params:
      cache = {} if cache is None else cache
      key = ("pl", params["crf_base"], seed, name)
      if key not in cache:
        cache[key] = _pl_encode(params["crf_base"], frames, rate, seed, name, label)
      bitstream, pictures = _packet_loss(kind, cache[key], num_frames, seed, name, label)
    else:
      source = _noisy(frames, params["noise"], rate) if "noise" in params else frames
      bitstream = _encode(source, params, kind, rate, label)
      pictures = _decode(bitstream, frames[0].width, frames[0].height, label)
    if params["codec"] == "mjpeg":
      target = ColorRange.JPEG if frames[0].color_range == ColorRange.JPEG else ColorRange.MPEG
      pictures = [p.reformat(format="yuv420p", src_color_range=ColorRange.JPEG,
                             dst_color_range=target) for p in pictures]
  if len(pictures) != num_frames:
    raise VideoError(label, f"{kind}: {len(pictures)} of {num_frames} frames decode")
  return pictures, bitstream


# --------------------------------------------------------------------------
# Files.


@dataclasses.dataclass
class _Source:
  """A reference clip decoded once for all its versions."""
  path: str
  name: str
  info: video.VideoInfo
  rate: fractions.Fraction
  frames: list


def _as_yuv420p(frame: av.VideoFrame) -> av.VideoFrame:
  """The frame in yuv420p; yuvj420p keeps its values (and full range)."""
  if frame.format.name == "yuv420p":
    return frame
  if frame.format.name == "yuvj420p":
    return frame.reformat(format="yuv420p", src_color_range=ColorRange.JPEG,
                          dst_color_range=ColorRange.JPEG)
  return frame.reformat(format="yuv420p")


def _read_source(src: str, info: video.VideoInfo) -> _Source:
  """Every frame of ``src`` in yuv420p; VideoError for an odd size."""
  if info.width % 2 or info.height % 2:
    raise VideoError(src, f"HEKE's distortions need an even frame size (yuv420p), "
                     f"got {info.width}x{info.height}")
  with distortions.Decoder(src, info.num_frames) as decoder, \
      distortions.ffmpeg_errors(src, "decoding"):
    frames = [_as_yuv420p(frame) for frame in decoder.frames()]
    rate = decoder.rate
  return _Source(src, distortions.scene_name(src), info, rate, frames)


def _write_lossless(pictures: Sequence[av.VideoFrame], dst: str, source: _Source) -> None:
  """Stores the pictures as x264 qp 0, tagged like the reference."""
  tags = source.frames[0]
  options = lossless.CODECS["x264"].encoder_options(source.rate)
  with distortions.ffmpeg_errors(source.path, "lossless x264"):
    with distortions.Mp4Writer(dst, "libx264", source.rate, pix_fmt="yuv420p",
                               options=options, rotation=source.info.rotation) as out:
      for picture in pictures:
        picture.colorspace, picture.color_range = tags.colorspace, tags.color_range
        picture.color_primaries, picture.color_trc = tags.color_primaries, tags.color_trc
        picture.pict_type = PictureType.NONE
        out.write(picture)


def _make(kind: str, source: _Source, dst: str, seed: int, cache: dict) -> dict:
  """Writes one version; returns what the manifest records of its stream."""
  pictures, bitstream = heke_frames(kind, source.frames, source.rate, seed=seed,
                                    name=source.name, cache=cache, label=source.path)
  with distortions.atomic_output(dst) as partial:
    _write_lossless(pictures, partial, source)
  return {"bitstream_bytes": len(bitstream.data),
          "bitrate_kbps": round(bitstream.bitrate_kbps(source.rate), 3),
          **bitstream.details}


def make_heke_version(kind: str, src: str | os.PathLike, dst: str | os.PathLike,
                      seed: int = 0) -> dict:
  """Writes HEKE version ``kind`` of ``src`` to ``dst`` (via a temporary file).

  Args:
    kind: a key of ``HEKE_DISTORTIONS``.
    src: the pristine clip (even frame size).
    dst: the output .mp4 (lossless x264).
    seed: the run's seed (used by packet loss).

  Returns:
    The stream's size and bitrate (and, for packet loss, what was drawn and lost).

  Raises:
    VideoError: the source cannot be read or a codec fails.
  """
  if kind not in HEKE_DISTORTIONS:
    raise ValueError(f"not a HEKE kind: {kind!r}")
  src, dst = os.fspath(src), os.fspath(dst)
  source = _read_source(src, video.probe(src))
  return _make(kind, source, dst, _check_seed(seed), {})


def _entry(kind: str, src: str, info: video.VideoInfo, seed: int | None,
           stream: dict | None) -> dict:
  """The manifest entry of one version, from the probed output ``info``."""
  distortion = HEKE_DISTORTIONS[kind]
  entry = {
      "path": version_relpath(kind, src), "name": distortions.scene_name(src),
      "source": os.path.abspath(src), "set": "heke", "kind": kind,
      "family": distortion.family, "level": distortion.level,
      "parameters": copy.deepcopy(distortion.parameters), "seed": seed,
      "frames": info.num_frames, "width": info.width, "height": info.height,
      "fps": info.fps, "storage": "x264 qp 0 (lossless) of the decoded stream",
  }
  if stream:
    entry["stream"] = stream
  return entry


def heke_distort_video(src: str | os.PathLike, out_dir: str | os.PathLike, *,
                       kinds: Iterable[str] = HEKE_KINDS, seed: int = 0,
                       overwrite: bool = False) -> list[dict]:
  """Writes the chosen HEKE versions of one pristine clip; returns their manifest entries.

  The clip is decoded once. An output that exists is kept (its entry is the
  manifest's, if it has one) unless ``overwrite``; if a version fails, the
  outputs this call wrote are removed.

  Args:
    src: the pristine clip.
    out_dir: the output root (``out_dir/<kind>/<name>.mp4``).
    kinds: keys of ``HEKE_DISTORTIONS`` or family names.
    seed: the run's seed (packet loss).
    overwrite: redo outputs that exist.

  Returns:
    One manifest entry per kind, in table order (the manifest is not written).

  Raises:
    VideoError: the source cannot be read, or a version cannot be made.
  """
  src, out_dir = os.fspath(src), os.fspath(out_dir)
  kinds, seed = check_kinds(kinds), _check_seed(seed)
  reference = video.probe(src)
  old = distortions.read_manifest(out_dir)
  paths = {k: os.path.join(out_dir, version_relpath(k, src)) for k in kinds}
  todo = [k for k in kinds if overwrite or not os.path.exists(paths[k])]
  source = _read_source(src, reference) if todo else None
  cache, written, entries = {}, [], {}
  try:
    for kind in kinds:
      stream, made_with = None, seed
      if kind in todo:
        stream = _make(kind, source, paths[kind], seed, cache)
        written.append(paths[kind])
      info = video.probe(paths[kind])
      distortions.check_like_reference(paths[kind], info, reference)
      previous = old.get(version_relpath(kind, src))
      if kind not in todo:
        if previous and previous.get("kind") == kind:
          entries[kind] = previous
          continue
        made_with = None
      entries[kind] = _entry(kind, src, info, made_with, stream)
  except JvqaError:
    for path in written:
      with contextlib.suppress(OSError):
        os.remove(path)
    raise
  return [entries[k] for k in kinds]


# --------------------------------------------------------------------------
# A folder.


def _heke_task(src: str, out_dir: str, kinds: tuple[str, ...], seed: int,
               overwrite: bool) -> tuple[str, list, str | None]:
  """``heke_distort_video`` in a worker: (src, entries, None) or (src, [], reason)."""
  try:
    return src, heke_distort_video(src, out_dir, kinds=kinds, seed=seed,
                                   overwrite=overwrite), None
  except JvqaError as e:
    about_src = getattr(e, "source", None) == src
    return src, [], e.reason if about_src else str(e)
  except Exception as e:  # pylint: disable=broad-except
    return src, [], f"{type(e).__name__}: {e}"


def _results(sources: Sequence[str], out_dir: str, kinds: tuple[str, ...], seed: int,
             overwrite: bool, workers: int, progress: bool) -> Iterator[tuple]:
  """``_heke_task`` results as they finish, in worker processes if ``workers > 1``."""
  bar = tqdm.tqdm(total=len(sources), desc="distort (HEKE)", unit="video",
                  disable=None if progress else True)
  with bar:
    if workers <= 1 or len(sources) <= 1:
      for src in sources:
        yield _heke_task(src, out_dir, kinds, seed, overwrite)
        bar.update()
      return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(min(workers, len(sources)),
                                                mp_context=context) as pool:
      futures = {pool.submit(_heke_task, src, out_dir, kinds, seed, overwrite): src
                 for src in sources}
      try:
        for future in concurrent.futures.as_completed(futures):
          try:
            yield future.result()
          except Exception as e:  # pylint: disable=broad-except
            yield futures[future], [], f"worker process failed ({type(e).__name__}: {e})"
          bar.update()
      finally:
        for future in futures:
          future.cancel()


def heke_distort_folder(src: str | os.PathLike, out_dir: str | os.PathLike, *,
                        workers: int = 1, kinds: Iterable[str] = HEKE_KINDS,
                        seed: int = 0, overwrite: bool = False,
                        progress: bool = True) -> distortions.DistortReport:
  """``heke_distort_video`` on every clip under ``src`` (a folder, or one clip).

  As ``distortions.distort_folder``: clips in parallel worker processes, a
  failing clip reported and the others done, the manifest merged with the
  one in ``out_dir``, also when interrupted.
  """
  out_dir = os.fspath(out_dir)
  kinds, seed = check_kinds(kinds), _check_seed(seed)
  sources, refused = distortions.find_sources(src, out_dir)
  report = distortions.DistortReport(failures=list(refused))
  try:
    for path, entries, reason in _results(sources, out_dir, kinds, seed, overwrite,
                                          workers, progress):
      if reason is None:
        report.entries.extend(entries)
      else:
        report.failures.append((path, reason))
  finally:
    if report.entries or os.path.exists(os.path.join(out_dir, distortions.MANIFEST)):
      report.manifest = distortions.write_manifest(out_dir, report.entries)
  report.entries.sort(key=lambda entry: entry["path"])
  report.failures.sort()
  return report
