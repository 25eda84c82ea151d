"""H.264 packet loss as BVQA-HEKE simulates it (WELL-Set's ``PacketLoss_H264`` versions).

HEKE encodes a clip with x264 into an Annex-B stream and passes it through
M. Naccari's transmitter simulator (``pl_simulator IN OUT errp_plr_<PLR> 1
<offset> 1``: Annex-B packets, modality 1). This module does the same in
Python:

* ``split_annexb`` cuts the stream into NAL units (each with its start code)
  and reads the slice type of every slice from its header (``first_mb_in_slice``
  then ``slice_type``, both Exp-Golomb).
* ``loss_pattern`` makes the channel: a seeded sequence of losses. The
  simulator reads ``errp_plr_<PLR>`` files of '0'/'1' characters (1 = lost).
  HEKE's six files (10000 characters each) have realised loss rates of 0.37,
  0.94, 2.99, 4.94, 9.49 and 20.68 % and are bursty up to 10 %: bursts of
  losses last 1.8-2.0 packets on average (a loss follows a loss with
  probability 0.43-0.51), which an i.i.d. pattern would give only at a loss
  rate near 50 %; at 20 % the bursts (mean 1.24) are those of an i.i.d.
  Bernoulli(0.2) pattern. ``loss_pattern`` therefore draws a two-state
  Markov chain (Gilbert model) with the given stationary loss rate and mean
  burst length (i.i.d. when the burst length is 1 / (1 - PLR)).
* ``transmit`` applies the pattern as the simulator does (``Run_Simulator``,
  modality 1): each NAL unit takes the next character; SPS, PPS, SEI and
  every other non-slice NAL unit (types 0 and 6-31) are always sent, as are
  intra (I) slices; a lost character drops a P or B slice (types 1-5). When
  a lost character meets an I slice, the slice is sent and the loss waits
  for the next NAL unit. The pattern is used circularly.
* ``decode_damaged`` decodes what arrives as ``ffmpeg -i damaged.264`` does:
  FFmpeg's H.264 parser splits the byte stream into pictures, and its
  decoder conceals missing slices (default error concealment: motion
  vector guessing and deblocking; a picture that lost its first slice is
  still found by the parser, from its frame number). A picture whose slices
  are all lost, or that FFmpeg cannot decode at all, does not come out; the
  clip is completed by repeating the previous picture in display order, as
  ``ffmpeg -pix_fmt yuv420p -f rawvideo`` (constant frame rate) does, so the
  result has the encoded frame count. I slices are never lost, so a GOP's
  first picture always decodes.
"""

import bisect
import dataclasses
from collections.abc import Sequence

import av
import numpy as np

from jvqa.errors import VideoError

# Characters in each of HEKE's error-pattern files (the simulator reads the
# file's length minus one and wraps around to the start).
PATTERN_LENGTH = 10000
# NAL unit types that carry coded slices (1-5; 5 is an IDR slice).
SLICE_TYPES = range(1, 6)
# ``slice_type % 5`` of an I slice (0 P, 1 B, 2 I, 3 SP, 4 SI).
I_SLICE = 2
_START_CODE = b"\x00\x00\x01"
# Bytes of a slice header enough for first_mb_in_slice and slice_type.
_HEADER_BYTES = 16
# FFmpeg's AV_INPUT_BUFFER_PADDING_SIZE: zero bytes its readers may read past the data.
PADDING = 64


@dataclasses.dataclass(frozen=True)
class NalUnit:
  """One NAL unit of an Annex-B stream.

  Attributes:
    start: offset of its start code (leading zero bytes included) in the stream.
    data: its bytes, start code included.
    nal_type: ``nal_unit_type`` (5 bits of the header byte).
    slice_type: ``slice_type % 5`` for a slice (0 P, 1 B, 2 I), else None.
  """
  start: int
  data: bytes
  nal_type: int
  slice_type: int | None

  @property
  def is_slice(self) -> bool:
    """Whether it carries a coded slice (types 1-5)."""
    return self.nal_type in SLICE_TYPES

  @property
  def is_intra(self) -> bool:
    """Whether it is an I slice."""
    return self.slice_type == I_SLICE


def _rbsp(payload: bytes) -> bytes:
  """``payload`` without its emulation-prevention bytes (00 00 03 -> 00 00)."""
  out, zeros = bytearray(), 0
  for byte in payload:
    if zeros >= 2 and byte == 3:
      zeros = 0
      continue
    out.append(byte)
    zeros = zeros + 1 if byte == 0 else 0
  return bytes(out)


def _read_ue(bits: str, pos: int) -> tuple[int, int]:
  """An unsigned Exp-Golomb value of the bit string at ``pos``; (value, next pos)."""
  zeros = 0
  while pos + zeros < len(bits) and bits[pos + zeros] == "0":
    zeros += 1
  end = pos + 2 * zeros + 1
  if end > len(bits):
    raise ValueError("truncated Exp-Golomb code")
  return int(bits[pos + zeros:end], 2) - 1, end


def slice_type(payload: bytes) -> int:
  """``slice_type % 5`` of a slice NAL unit's payload (the bytes after its header byte)."""
  rbsp = _rbsp(payload[:_HEADER_BYTES])
  bits = "".join(f"{byte:08b}" for byte in rbsp)
  _, pos = _read_ue(bits, 0)  # first_mb_in_slice
  value, _ = _read_ue(bits, pos)
  return value % 5


def split_annexb(data: bytes) -> list[NalUnit]:
  """The NAL units of an Annex-B byte stream, in order.

  Each unit runs from its start code (00 00 01, with any zero bytes before
  it: a 4-byte start code or trailing zeros) to the next start code. Bytes
  before the first start code, if any, are not a NAL unit and are dropped.
  """
  data = bytes(data)
  codes = []
  pos = data.find(_START_CODE)
  while pos >= 0:
    start = pos
    while start > 0 and data[start - 1] == 0 and (not codes or start > codes[-1][1]):
      start -= 1
    codes.append((start, pos + len(_START_CODE)))
    pos = data.find(_START_CODE, pos + len(_START_CODE))
  units = []
  for k, (start, header) in enumerate(codes):
    end = codes[k + 1][0] if k + 1 < len(codes) else len(data)
    if header >= end:
      continue  # A start code with nothing after it.
    nal_type = data[header] & 0x1F
    kind = None
    if nal_type in SLICE_TYPES:
      try:
        kind = slice_type(data[header + 1:end])
      except ValueError:
        kind = None  # A header too short to read: treated as a P/B slice.
    units.append(NalUnit(start, data[start:end], nal_type, kind))
  return units


def loss_pattern(plr: float, rng: np.random.Generator, *, length: int = PATTERN_LENGTH,
                 mean_burst: float | None = None) -> np.ndarray:
  """A seeded channel realisation: True where a packet is lost.

  A two-state Markov chain started in its stationary state: after a packet
  that arrived, the next is lost with probability ``plr / ((1 - plr) *
  mean_burst)``; after a lost one, with probability ``1 - 1 / mean_burst``.
  The long-run loss rate is ``plr`` and bursts of losses are geometric with
  mean ``mean_burst``.

  Args:
    plr: packet loss rate, in [0, 1).
    rng: the random generator (the pattern is a function of its state).
    length: number of packets.
    mean_burst: mean length of a burst of losses; None gives 1 / (1 - plr),
      i.e. independent losses (Bernoulli).

  Returns:
    A bool array of ``length``.
  """
  if not 0 <= plr < 1:
    raise ValueError(f"plr must be in [0, 1), got {plr}")
  burst = 1 / (1 - plr) if mean_burst is None else float(mean_burst)
  if burst < 1 or plr / ((1 - plr) * burst) > 1:
    raise ValueError(f"mean_burst {mean_burst} is impossible at plr {plr}")
  lose_after_kept = plr / ((1 - plr) * burst)
  lose_after_lost = 1 - 1 / burst
  draws = rng.random(length)
  pattern = np.zeros(length, bool)
  lost = draws[0] < plr if length else False
  for i in range(length):
    if i:
      lost = draws[i] < (lose_after_lost if lost else lose_after_kept)
    pattern[i] = lost
  return pattern


def transmit(units: Sequence[NalUnit], pattern: np.ndarray) -> np.ndarray:
  """Which NAL units the simulator drops (its modality 1: I slices are protected).

  Written out by hand because no library simulates this channel: it follows
  ``Simulator::Run_Simulator``, which reads one pattern character per NAL
  unit, but keeps the character for the next unit when it would drop an I
  slice.

  Args:
    units: the stream's NAL units, in order.
    pattern: bool, True = lost; used circularly from its start.

  Returns:
    A bool array, True for each dropped unit (only P/B slices).
  """
  pattern = np.asarray(pattern, bool)
  if pattern.size == 0:
    raise ValueError("empty loss pattern")
  dropped = np.zeros(len(units), bool)
  i = 0
  for k, unit in enumerate(units):
    if not pattern[i] or not unit.is_slice:
      i += 1
    elif not unit.is_intra:
      dropped[k] = True
      i += 1
    # else: an I slice is sent and the loss waits for the next unit.
    if i >= pattern.size:
      i = 0
  return dropped


@dataclasses.dataclass
class Transmission:
  """An H.264 stream after the lossy channel.

  Attributes:
    access_units: each encoded picture's bytes as received, in decode order
      (empty where every NAL unit of it was lost).
    units: the NAL units sent, in order.
    dropped: bool per unit, True if lost.
  """
  access_units: list[bytes]
  units: list[NalUnit]
  dropped: np.ndarray

  @property
  def slices(self) -> int:
    """Slice NAL units sent."""
    return sum(unit.is_slice for unit in self.units)

  @property
  def lost_slices(self) -> int:
    """Slice NAL units dropped."""
    return int(self.dropped.sum())

  @property
  def lost_parameter_sets(self) -> int:
    """SPS/PPS (types 7, 8) dropped: always 0, as in the simulator."""
    return sum(bool(d) for unit, d in zip(self.units, self.dropped) if unit.nal_type in (7, 8))


def transmit_access_units(access_units: Sequence[bytes], pattern: np.ndarray) -> Transmission:
  """Sends the pictures of an Annex-B stream (one bytes object each) through the channel.

  The NAL units of all pictures form one packet sequence, as in the
  simulator, which reads the whole ``.264`` file.
  """
  owners, units = [], []
  for index, access_unit in enumerate(access_units):
    for unit in split_annexb(access_unit):
      units.append(unit)
      owners.append(index)
  dropped = transmit(units, pattern)
  received = [bytearray() for _ in access_units]
  for unit, owner, lost in zip(units, owners, dropped):
    if not lost:
      received[owner] += unit.data
  return Transmission([bytes(r) for r in received], units, dropped)


def padded_packet(data: bytes) -> av.Packet:
  """A packet holding a copy of ``data`` followed by FFmpeg's zero padding.

  ``av.Packet(bytes)`` wraps the bytes as they are, without the padding
  FFmpeg's bitstream readers may read past the end: decoding such packets
  can depend on whatever memory follows (seen with the MPEG-4 decoder).
  """
  packet = av.Packet(len(data))  # av_new_packet: zeroed padding.
  if data:
    packet.update(data)
  return packet


def _parse(data: bytes, label: str) -> list[av.Packet]:
  """FFmpeg's H.264 parser over the whole byte stream: one packet per picture."""
  parser = av.CodecContext.create("h264", "r")
  padded = bytearray(data) + bytes(PADDING)  # The parser also reads past its input.
  packets = list(parser.parse(memoryview(padded)[:len(data)])) + list(parser.parse(None))
  if sum(p.size for p in packets) != len(data):
    raise VideoError(label, "the H.264 parser did not return every byte")
  return packets


def decode_damaged(access_units: Sequence[bytes], pts: Sequence[int], num_frames: int,
                   *, label: str = "<h264>") -> tuple[list[av.VideoFrame], list[int]]:
  """Decodes a damaged H.264 stream to exactly ``num_frames`` pictures in display order.

  The received pictures are concatenated and split again by FFmpeg's
  parser, as a raw ``.264`` file is read. Each parsed packet gets the
  presentation index ``pts`` of the encoded picture its first byte came
  from, so that every decoded picture lands at its display index; an index
  nothing lands on repeats the picture before it (or, at the start, the
  first one decoded).

  Args:
    access_units: the received pictures' bytes, in decode order.
    pts: each picture's display index (0..num_frames-1).
    num_frames: the encoded frame count.
    label: how errors name the stream.

  Returns:
    ``(pictures, repeated)``: ``num_frames`` pictures, and the display
    indices that no decoded picture landed on (filled by repetition).

  Raises:
    VideoError: not a single picture could be decoded.
  """
  data = b"".join(access_units)
  starts = np.cumsum([0] + [len(a) for a in access_units])[:-1].tolist()
  decoder = av.CodecContext.create("h264", "r")
  decoder.thread_count = 1
  decoded: dict[int, av.VideoFrame] = {}

  def keep(frames):
    for frame in frames:
      if frame.pts is not None and 0 <= frame.pts < num_frames:
        decoded.setdefault(int(frame.pts), frame)

  offset = 0
  for packet in _parse(data, label):
    # The last picture starting at or before this packet's first byte (empty
    # pictures share their start with the next one, hence bisect_right).
    owner = bisect.bisect_right(starts, offset) - 1
    offset += packet.size
    packet.pts = packet.dts = int(pts[owner])
    try:
      keep(decoder.decode(packet))
    except av.error.InvalidDataError:
      continue  # Nothing of this packet could be decoded.
  try:
    keep(decoder.decode(None))
  except av.error.InvalidDataError:
    pass
  if not decoded:
    raise VideoError(label, "no picture of the damaged stream could be decoded")
  repeated = [i for i in range(num_frames) if i not in decoded]
  return fill_missing(decoded, num_frames), repeated


def fill_missing(frames: dict, num_frames: int) -> list:
  """``num_frames`` items: ``frames[i]``, or the item before i where i is missing.

  Before the first present index, the first present item is used.
  """
  first = frames[min(frames)]
  out, previous = [], first
  for i in range(num_frames):
    previous = frames.get(i, previous)
    out.append(previous)
  return out
