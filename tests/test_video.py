"""Tests of jvqa.io.video: probing, sparse decoding, encoding, bad inputs."""

import fractions
import os

import av
import numpy as np
import pytest

from jvqa.errors import VideoError
from jvqa.io import video, yuv
from jvqa.io.samples import SAMPLE_VIDEOS

# Sizes and counts as the brief states them, checked against the sample table.
EXPECTED = {
    "bigbuckbunny": (132, 720, 1280),
    "bikes": (250, 272, 640),
    "carphone_pristine": (120, 144, 176),
    "carphone_distorted": (120, 144, 176),
}
# A small GOP with B-frames, so that clips have several key frames to seek to.
GOP_OPTIONS = {"g": "8", "bf": "2", "x264-params": "scenecut=0"}


def make_frames(n=24, height=48, width=64, seed=0, noise=24):
  """Frames that differ from each other and from frame to frame in a clip."""
  rng = np.random.default_rng(seed)
  y, x = np.mgrid[:height, :width]
  t = np.arange(n)[:, None, None]
  planes = [(x * 4 + t * 9) % 256, (y * 5 + t * 3) % 256, (x + y + t * 17) % 256]
  frames = np.stack(planes, -1) + rng.integers(0, noise + 1, (n, height, width, 3))
  return (frames % 256).astype(np.uint8)


def make_clip(path, n=24, codec="libx264", options=GOP_OPTIONS, **kwargs):
  """Encodes ``make_frames(n)`` to ``path``; returns the path."""
  video.encode_frames(make_frames(n), path, 25, codec=codec, options=options, **kwargs)
  return str(path)


class CountingDecode:
  """Wraps ``video._decode_packets`` to count the frames the decoder gives."""

  def __init__(self, monkeypatch):
    self.count = 0
    original = video._decode_packets

    def counting(container, stream):
      for frame in original(container, stream):
        self.count += 1
        yield frame

    monkeypatch.setattr(video, "_decode_packets", counting)


@pytest.fixture(scope="module")
def full_decodes(sample_videos):
  """Every frame of the samples used for sparse-decoding checks, decoded once."""
  return {name: video.decode_frames(sample_videos[name])
          for name in ("bigbuckbunny", "bikes")}


# ---------------------------------------------------------------- samples


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_probe_samples(sample_videos, name):
  info = video.probe(sample_videos[name])
  frames, height, width = EXPECTED[name]
  assert SAMPLE_VIDEOS[name][1:] == (frames, (height, width))
  assert (info.num_frames, info.height, info.width) == (frames, height, width)
  assert info.codec == "h264" and info.pix_fmt == "yuv420p" and info.rotation == 0
  assert info.duration == pytest.approx(frames / info.fps, rel=0.01)
  assert info.has_audio == (name == "bigbuckbunny")


@pytest.mark.parametrize("name", ["carphone_pristine", "carphone_distorted"])
def test_decode_all_small_samples(sample_videos, name):
  frames, height, width = EXPECTED[name]
  decoded = video.decode_frames(sample_videos[name])
  assert decoded.shape == (frames, height, width, 3) and decoded.dtype == np.uint8
  assert decoded.std() > 10  # real pictures, not a blank buffer


def test_decode_all_large_samples(full_decodes):
  for name, decoded in full_decodes.items():
    frames, height, width = EXPECTED[name]
    assert decoded.shape == (frames, height, width, 3) and decoded.dtype == np.uint8
    assert not np.array_equal(decoded[0], decoded[-1])


@pytest.mark.parametrize("name,indices", [
    ("bigbuckbunny", [100, 3, 3, 131, 0]),
    ("bikes", [249, 100, 3, 3, 0, 131, 242, 241, 17]),
])
def test_sparse_decode_equals_full_decode(sample_videos, full_decodes, name, indices):
  sparse = video.decode_frames(sample_videos[name], indices)
  assert sparse.shape == (len(indices),) + full_decodes[name].shape[1:]
  np.testing.assert_array_equal(sparse, full_decodes[name][indices])


def test_sparse_decode_seeks(sample_videos, monkeypatch):
  counter = CountingDecode(monkeypatch)
  last = video.decode_frames(sample_videos["bikes"], [249])
  assert last.shape == (1, 272, 640, 3)
  # bikes has a key frame at frame 242: a seek decodes about one GOP, not 250.
  assert 0 < counter.count < 30


def test_bytes_input_equals_path_input(sample_videos):
  path = sample_videos["bikes"]  # several key frames: seeks in the bytes
  with open(path, "rb") as f:
    data = f.read()
  indices = [249, 5, 5, 120]
  np.testing.assert_array_equal(video.decode_frames(data, indices),
                                video.decode_frames(path, indices))
  assert video.probe(data) == video.probe(path)


def test_iter_frames_equals_decode_frames(sample_videos):
  path = sample_videos["carphone_pristine"]
  np.testing.assert_array_equal(np.stack(list(video.iter_frames(path))),
                                video.decode_frames(path))


# ---------------------------------------------------------------- synthetic clips


@pytest.mark.parametrize("ext", ["mp4", "mkv", "ts"])
def test_sparse_decode_b_frames_and_nonzero_start(tmp_path, monkeypatch, ext):
  # MPEG-TS starts at pts 1.4 s and is decoded from the start (no precise
  # seek); mp4/mkv seek. All must give the frames of a sequential decode.
  path = make_clip(tmp_path / f"clip.{ext}", n=40)
  full = video.decode_frames(path)
  assert full.shape == (40, 48, 64, 3)
  rng = np.random.default_rng(1)
  for indices in [[39, 0, 8, 8, 7, 16, 15], rng.integers(0, 40, 9), [38, 39]]:
    np.testing.assert_array_equal(video.decode_frames(path, indices), full[indices])
  counter = CountingDecode(monkeypatch)
  video.decode_frames(path, [39])
  assert counter.count <= (8 if ext != "ts" else 40)


def test_edit_list_drops_frames_before_time_zero(tmp_path, monkeypatch):
  # Frames stamped -3..16: the mp4 muxer writes an edit list that starts at 0,
  # so the first 3 packets are demuxed but dropped, as a player drops them.
  frames = make_frames(20)
  path = str(tmp_path / "edit_list.mp4")
  with av.open(path, "w") as container:
    stream = container.add_stream("libx264", rate=25, options=GOP_OPTIONS)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    stream.codec_context.time_base = fractions.Fraction(1, 25)
    for i, rgb in enumerate(frames):
      frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
      frame.pts, frame.time_base = i - 3, fractions.Fraction(1, 25)
      container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
  assert video.probe(path).num_frames == 17
  full = video.decode_frames(path)
  assert full.shape == (17, 48, 64, 3)
  errors = [np.abs(full[0].astype(int) - f).mean() for f in frames[:5]]
  assert int(np.argmin(errors)) == 3  # frame 0 is the one stamped 0
  np.testing.assert_array_equal(video.decode_frames(path, [16, 0, 9, 8]), full[[16, 0, 9, 8]])


def test_sparse_decode_empty_indices(tmp_path):
  path = make_clip(tmp_path / "clip.mp4", n=10)
  assert video.decode_frames(path, []).shape == (0, 48, 64, 3)


def test_lossless_round_trip(tmp_path):
  frames = make_frames(12, noise=0)
  path = tmp_path / "lossless.mp4"
  video.encode_frames(frames, path, 25, options={"qp": 0})
  decoded = video.decode_frames(path)
  # qp 0 is lossless in yuv420p, so the decode equals RGB -> yuv420p -> RGB.
  expected = np.stack([
      av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv420p")
      .to_ndarray(format="rgb24") for f in frames])
  np.testing.assert_array_equal(decoded, expected)
  assert np.abs(decoded.astype(int) - frames).mean() < 4  # close to the input


@pytest.mark.parametrize("ext,codec", [
    ("mkv", "libx264"), ("webm", "libvpx-vp9"), ("mkv", "mpeg2video"),
    ("mp4", "mpeg4"), ("mp4", "libx265"),
])
def test_codecs_and_containers_probe_frame_counts(tmp_path, ext, codec):
  if codec not in av.codecs_available:
    pytest.skip(f"{codec} not in this PyAV build")
  options = {"g": "8"} if codec != "libx265" else {"preset": "ultrafast"}
  path = make_clip(tmp_path / f"clip_{codec}.{ext}", n=17, codec=codec, options=options)
  info = video.probe(path)
  assert (info.num_frames, info.width, info.height) == (17, 64, 48)
  assert info.fps == pytest.approx(25)
  decoded = video.decode_frames(path, [16, 0, 9])
  assert decoded.shape == (3, 48, 64, 3)
  np.testing.assert_array_equal(decoded, video.decode_frames(path)[[16, 0, 9]])


def test_mkv_without_frame_count_is_counted(tmp_path):
  path = make_clip(tmp_path / "clip.mkv", n=13)
  with av.open(path) as container:
    assert container.streams.video[0].frames == 0  # really the counting path
  assert video.probe(path).num_frames == 13


def test_qscale_option_sets_a_fixed_quantiser(tmp_path):
  sizes = {}
  for q in (2, 20):
    path = make_clip(tmp_path / f"q{q}.mkv", n=10, codec="mpeg2video",
                     options={"qscale": q})
    sizes[q] = os.path.getsize(path)
  assert sizes[2] > 1.5 * sizes[20]


def test_encode_rejects_bad_requests(tmp_path):
  frames = make_frames(4)
  with pytest.raises(VideoError, match="even width and height"):
    video.encode_frames(frames[:, :, :63], tmp_path / "odd.mp4", 25)
  with pytest.raises(VideoError, match="does not take the option"):
    video.encode_frames(frames, tmp_path / "crf.mkv", 25, codec="mpeg2video", crf=10)
  with pytest.raises(VideoError, match="not available"):
    video.encode_frames(frames, tmp_path / "x.mp4", 25, codec="no-such-codec")
  with pytest.raises(VideoError, match="uint8 RGB"):
    video.encode_frames(frames[..., 0], tmp_path / "gray.mp4", 25)
  assert not os.path.exists(tmp_path / "crf.mkv")


def test_odd_size_allowed_without_chroma_subsampling(tmp_path):
  path = tmp_path / "odd.mkv"
  video.encode_frames(make_frames(3, 47, 63), path, 25, pix_fmt="yuv444p")
  assert video.decode_frames(path).shape == (3, 47, 63, 3)


def test_rotation_is_reported_not_applied(tmp_path):
  path = make_clip(tmp_path / "rot.mp4", n=5, rotation=90)
  info = video.probe(path)
  assert info.rotation == 90
  assert (info.width, info.height) == (64, 48) and info.display_size == (48, 64)
  assert video.decode_frames(path).shape == (5, 48, 64, 3)


# ---------------------------------------------------------------- bad inputs


def audio_only(path, codec):
  """Writes a short mono tone with ``codec`` and no video stream."""
  with av.open(str(path), "w") as container:
    stream = container.add_stream(codec, rate=8000)
    fmt = "fltp" if codec == "aac" else "s16"
    dtype = np.float32 if codec == "aac" else np.int16
    for i in range(4):
      frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), dtype), format=fmt,
                                         layout="mono")
      frame.sample_rate, frame.pts = 8000, i * 1024
      container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
  return str(path)


def video_stream_without_frames(path):
  """An mkv with a video stream that has no packet (its audio has some)."""
  with av.open(str(path), "w") as container:
    stream = container.add_stream("libx264", rate=25)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    audio = container.add_stream("aac", rate=8000)
    container.start_encoding()
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp",
                                       layout="mono")
    frame.sample_rate, frame.pts = 8000, 0
    container.mux(audio.encode(frame))
    container.mux(audio.encode(None))
  return str(path)


def cut(path, out, fraction):
  """Writes the first ``fraction`` of ``path``'s bytes to ``out``."""
  with open(path, "rb") as f:
    data = f.read()
  with open(out, "wb") as f:
    f.write(data[:int(len(data) * fraction)])
  return str(out)


def write(path, data):
  with open(path, "wb") as f:
    f.write(data)
  return str(path)


def assert_video_error(path, call, match):
  """``call(path)`` raises VideoError naming the file with a matching reason."""
  with pytest.raises(VideoError, match=match) as error:
    call(path)
  assert os.path.basename(path) in str(error.value)


@pytest.mark.parametrize("call", [video.probe, video.decode_frames,
                                  lambda p: video.decode_frames(p, [0])],
                         ids=["probe", "decode_all", "decode_one"])
def test_bad_files_raise_video_error(tmp_path, call):
  rng = np.random.default_rng(0)
  good = make_clip(tmp_path / "good.mp4", n=12)
  cases = {
      str(tmp_path / "missing.mp4"): "no such file",
      write(tmp_path / "empty.mp4", b""): "empty",
      write(tmp_path / "notes.mp4", b"not a video, just text\n" * 50): "not a readable",
      write(tmp_path / "noise.mp4", rng.bytes(4096)): "not a readable",
      cut(good, tmp_path / "half.mp4", 0.5): "not a readable",
      audio_only(tmp_path / "sound.m4a", "aac"): "no video stream",
      audio_only(tmp_path / "sound.wav", "pcm_s16le"): "no video stream",
      video_stream_without_frames(tmp_path / "noframes.mkv"): "no .*video frames",
      str(tmp_path): "directory",
  }
  for path, match in cases.items():
    assert_video_error(path, call, match)


def test_truncated_faststart_file(tmp_path):
  good = make_clip(tmp_path / "good.mp4", n=30, container_options={"movflags": "faststart"})
  path = cut(good, tmp_path / "cut.mp4", 0.6)
  info = video.probe(path)  # the index at the front is intact
  assert info.num_frames == 30
  assert_video_error(path, video.decode_frames, "truncated")
  assert_video_error(path, lambda p: video.decode_frames(p, [29]), "truncated")
  assert 0 < len(list(video.iter_frames(path))) < 30  # no index: just fewer
  np.testing.assert_array_equal(video.decode_frames(path, [1, 0]),
                                video.decode_frames(good, [1, 0]))


def test_out_of_range_index(tmp_path):
  path = make_clip(tmp_path / "short.mp4", n=10)
  for bad in ([10], [0, -1], [3, 100]):
    assert_video_error(path, lambda p: video.decode_frames(p, bad), r"out of range.*0\.\.9")
  assert_video_error(path, lambda p: video.decode_frames(p, [1.5]), "ints")


def test_bytes_errors_use_the_given_name(tmp_path):
  with pytest.raises(VideoError, match="^record-7.mp4: not a readable"):
    video.decode_frames(b"garbage" * 100, name="record-7.mp4")
  with pytest.raises(VideoError, match="^<bytes>: empty"):
    video.probe(b"")
  with open(make_clip(tmp_path / "clip.mp4", n=5), "rb") as f:
    data = f.read()
  with pytest.raises(VideoError, match="^clip-bytes: frame index 5 out of range"):
    video.decode_frames(data, [5], name="clip-bytes")


# --------------------------------------------------------------------------
# Frames as decoded: map_frames, decode_planes, frame_planes.


def test_map_frames_calls_once_per_distinct_index_in_order(tmp_path):
  path = make_clip(tmp_path / "clip.mp4", n=12)
  calls = []

  def rgb(index, frame):
    calls.append(index)
    return video.frame_to_rgb(frame)

  indices = [9, 2, 9, 0, 5]
  results = video.map_frames(path, indices, rgb)
  assert calls == [0, 2, 5, 9]
  assert results[0] is results[2]
  np.testing.assert_array_equal(np.stack(results), video.decode_frames(path, indices))
  everything = video.map_frames(path, None, lambda i, frame: i)
  assert everything == list(range(12))
  with pytest.raises(VideoError, match="clip.mp4: frame index 12 out of range"):
    video.map_frames(path, [12], rgb)


def test_decode_planes_convert_to_decode_frames(sample_videos):
  path = sample_videos["bikes"]
  indices = [40, 3, 40]
  (y, u, v), tags = video.decode_planes(path, indices)
  assert (y.shape, u.shape, v.shape) == ((3, 272, 640), (3, 136, 320), (3, 136, 320))
  assert y.dtype == np.uint8 and tags.pix_fmt == "yuv420p"
  rgb = video.decode_frames(path, indices)
  for i in range(3):
    np.testing.assert_array_equal(yuv.yuv420p_planes_to_rgb((y[i], u[i], v[i]), tags), rgb[i])
  np.testing.assert_array_equal(y[0], y[2])
  empty, _ = video.decode_planes(path, [])
  assert [p.shape for p in empty] == [(0, 272, 640), (0, 136, 320), (0, 136, 320)]


def test_decode_planes_rejects_other_formats(tmp_path):
  path = str(tmp_path / "444.mp4")
  video.encode_frames(make_frames(3), path, 25, pix_fmt="yuv444p")
  with pytest.raises(VideoError, match="444.mp4: frame 0 is yuv444p 64x48, not yuv420p"):
    video.decode_planes(path, [0, 1])


def test_frame_planes_views_the_decoded_planes(tmp_path):
  path = make_clip(tmp_path / "clip.mp4", n=3)
  with av.open(path) as container:
    frame = next(container.decode(video=0))
    assert video.is_yuv420p(frame)
    y, u, v = video.frame_planes(frame)
    packed = frame.to_ndarray()  # yuv420p: the planes one after the other, (H*3/2, W)
  assert (y.shape, u.shape, v.shape) == ((48, 64), (24, 32), (24, 32))
  np.testing.assert_array_equal(np.concatenate([y.ravel(), u.ravel(), v.ravel()]),
                                packed.ravel())
  for frame in (av.VideoFrame(63, 48, "yuv420p"), av.VideoFrame(64, 47, "yuv420p"),
                av.VideoFrame(64, 48, "yuv444p"), av.VideoFrame(64, 48, "yuv420p10le")):
    assert not video.is_yuv420p(frame)
    with pytest.raises(ValueError, match="not an even-sized yuv420p frame"):
      video.frame_planes(frame)
