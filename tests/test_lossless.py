"""Tests for jvqa.io.lossless: raw yuv420p -> losslessly encoded video bytes."""

import io

import av
import numpy as np
import pytest

from jvqa.errors import VideoError
from jvqa.io import lossless, video, yuv


def _planes(n, height, width, seed=0):
  """Random-ish planes with smooth content plus noise (exercises prediction)."""
  rng = np.random.default_rng(seed)
  t = np.arange(n)[:, None, None]
  ramp = (np.arange(height)[None, :, None] * 3 + np.arange(width)[None, None, :] * 2 + t * 5)
  y = ((ramp + rng.integers(0, 40, (n, height, width))) % 256).astype(np.uint8)
  u = rng.integers(16, 241, (n, height // 2, width // 2), dtype=np.uint8)
  v = rng.integers(16, 241, (n, height // 2, width // 2), dtype=np.uint8)
  return y, u, v


def _pyav_planes(data: bytes):
  """Decoded planes straight from PyAV frames (independent of jvqa's readers)."""
  ys, us, vs = [], [], []
  with av.open(io.BytesIO(data)) as container:
    for frame in container.decode(video=0):
      assert frame.format.name == "yuv420p"
      planar = frame.to_ndarray()  # (H * 3/2, W): Y rows, then U and V rows.
      h, w = frame.height, frame.width
      flat = planar.reshape(-1)
      ys.append(flat[:h * w].reshape(h, w))
      us.append(flat[h * w:h * w * 5 // 4].reshape(h // 2, w // 2))
      vs.append(flat[h * w * 5 // 4:].reshape(h // 2, w // 2))
  return np.stack(ys), np.stack(us), np.stack(vs)


@pytest.fixture(scope="module")
def raw_file(tmp_path_factory):
  """A 6-frame 48x32 raw yuv420p file and its planes."""
  planes = _planes(6, 32, 48)
  path = tmp_path_factory.mktemp("raw") / "clip.yuv"
  yuv.write_yuv420p(path, planes)
  return path, planes


@pytest.mark.parametrize("codec", sorted(lossless.CODECS))
def test_file_roundtrip_is_bit_exact(raw_file, codec):
  path, planes = raw_file
  data = lossless.encode_yuv420p_lossless(path, 48, 32, 25, codec=codec)
  decoded = _pyav_planes(data)
  for got, want in zip(decoded, planes):
    np.testing.assert_array_equal(got, want)
  again = lossless.decode_yuv420p_planes(data)
  for got, want in zip(again, planes):
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("codec", sorted(lossless.CODECS))
def test_size_not_a_multiple_of_16_is_bit_exact(codec):
  planes = _planes(3, 14, 18, seed=1)
  decoded = _pyav_planes(lossless.encode_yuv420p_lossless(planes, 18, 14, 24, codec=codec))
  for got, want in zip(decoded, planes):
    np.testing.assert_array_equal(got, want)


def test_planes_input_equals_file_input(raw_file):
  path, planes = raw_file
  from_planes = lossless.encode_yuv420p_lossless(planes, 48, 32, 25)
  for got, want in zip(_pyav_planes(from_planes), planes):
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("codec", sorted(lossless.CODECS))
def test_rgb_matches_raw_file_rgb(raw_file, codec):
  path, _ = raw_file
  data = lossless.encode_yuv420p_lossless(path, 48, 32, 25, codec=codec)
  np.testing.assert_array_equal(video.decode_frames(data),
                                yuv.read_yuv420p(path, 48, 32, rgb=True))
  some = [5, 0, 3]
  np.testing.assert_array_equal(video.decode_frames(data, some),
                                yuv.read_yuv420p(path, 48, 32, some, rgb=True))


@pytest.mark.parametrize("codec", sorted(lossless.CODECS))
def test_probe_reports_size_rate_and_count(raw_file, codec):
  path, _ = raw_file
  info = video.probe(lossless.encode_yuv420p_lossless(path, 48, 32, 30000 / 1001, codec=codec))
  assert (info.width, info.height, info.num_frames) == (48, 32, 6)
  assert info.fps == pytest.approx(30000 / 1001, rel=1e-3)
  assert info.pix_fmt == "yuv420p"


def test_x264_keyframe_at_least_every_second():
  planes = _planes(12, 16, 16)
  data = lossless.encode_yuv420p_lossless(planes, 16, 16, 5)
  with av.open(io.BytesIO(data)) as container:
    stream = container.streams.video[0]
    keys = sorted(round(float(p.pts * stream.time_base) * 5)
                  for p in container.demux(stream) if p.size and p.is_keyframe)
  assert keys[0] == 0
  assert max(np.diff(keys + [12])) <= 5  # At 5 fps: a key frame every 5 frames at least.


def test_odd_size_raises(tmp_path):
  path = tmp_path / "odd.yuv"
  path.write_bytes(bytes(15 * 9 * 3))
  with pytest.raises(VideoError, match="even"):
    lossless.encode_yuv420p_lossless(path, 15, 9, 25)


def test_wrong_file_size_raises(raw_file, tmp_path):
  path, _ = raw_file
  with pytest.raises(VideoError, match="not a multiple"):
    lossless.encode_yuv420p_lossless(path, 40, 32, 25)
  truncated = tmp_path / "short.yuv"
  truncated.write_bytes(path.read_bytes()[:-10])
  with pytest.raises(VideoError, match="truncated"):
    lossless.encode_yuv420p_lossless(truncated, 48, 32, 25)


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_missing_or_empty_file_raises(tmp_path, make):
  path = tmp_path / "x.yuv"
  if make == "empty":
    path.write_bytes(b"")
  with pytest.raises(VideoError, match=str(path.name)):
    lossless.encode_yuv420p_lossless(path, 16, 16, 25)


def test_bad_planes_and_fps_raise():
  y, u, v = _planes(2, 16, 16)
  with pytest.raises(VideoError, match="planes"):
    lossless.encode_yuv420p_lossless((y, u, v), 16, 18, 25)
  with pytest.raises(VideoError, match="planes"):
    lossless.encode_yuv420p_lossless((y, u, v[:, :4]), 16, 16, 25)
  with pytest.raises(VideoError, match="no frames"):
    lossless.encode_yuv420p_lossless((y[:0], u[:0], v[:0]), 16, 16, 25)
  with pytest.raises(VideoError, match="fps"):
    lossless.encode_yuv420p_lossless((y, u, v), 16, 16, 0)
  with pytest.raises(ValueError, match="unknown lossless codec"):
    lossless.encode_yuv420p_lossless((y, u, v), 16, 16, 25, codec="png")


def test_raw_file_is_streamed(raw_file, monkeypatch):
  """The raw file is read a frame at a time, never whole."""
  path, _ = raw_file
  reads = []
  real_open = open

  class Spy:
    def __init__(self, f):
      self._f = f

    def read(self, n=-1):
      reads.append(n)
      return self._f.read(n)

    def __enter__(self):
      return self

    def __exit__(self, *exc):
      self._f.close()

  def spy_open(file, mode="r", *args, **kwargs):
    f = real_open(file, mode, *args, **kwargs)
    return Spy(f) if str(file) == str(path) and "r" in mode else f

  monkeypatch.setattr("builtins.open", spy_open)
  lossless.encode_yuv420p_lossless(path, 48, 32, 25)
  assert reads and all(n == 48 * 32 * 3 // 2 for n in reads)


def test_undecodable_bytes_raise():
  with pytest.raises(VideoError):
    lossless.decode_yuv420p_planes(b"not a video at all" * 10)
