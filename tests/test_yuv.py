"""Tests of jvqa.io.yuv: raw yuv420p files."""

import os

import av
import numpy as np
import pytest

from jvqa.errors import VideoError
from jvqa.io import video, yuv

W, H, N = 32, 24, 7


@pytest.fixture
def planes():
  """Random Y, U, V planes of N frames of W x H."""
  rng = np.random.default_rng(3)
  return (rng.integers(16, 236, (N, H, W), dtype=np.uint8),
          rng.integers(16, 241, (N, H // 2, W // 2), dtype=np.uint8),
          rng.integers(16, 241, (N, H // 2, W // 2), dtype=np.uint8))


@pytest.fixture
def yuv_file(tmp_path, planes):
  """The planes written frame by frame (Y, U, V) by hand, not by write_yuv420p."""
  path = tmp_path / "clip.yuv"
  with open(path, "wb") as f:
    for y, u, v in zip(*planes):
      f.write(y.tobytes() + u.tobytes() + v.tobytes())
  return str(path)


def test_num_frames(yuv_file):
  assert yuv.yuv420p_num_frames(yuv_file, W, H) == N
  assert os.path.getsize(yuv_file) == N * W * H * 3 // 2


def test_read_planes_all_and_selected(yuv_file, planes):
  for indices in (None, [6, 0, 0, 3]):
    got = yuv.read_yuv420p(yuv_file, W, H, indices, rgb=False)
    want = planes if indices is None else tuple(p[indices] for p in planes)
    for g, w in zip(got, want):
      np.testing.assert_array_equal(g, w)


def test_rgb_matches_pyav_conversion(yuv_file, planes):
  rgb = yuv.read_yuv420p(yuv_file, W, H, [5, 1])
  assert rgb.shape == (2, H, W, 3) and rgb.dtype == np.uint8
  for out, i in zip(rgb, [5, 1]):
    frame = av.VideoFrame(W, H, "yuv420p")
    for plane, data in zip(frame.planes, (planes[0][i], planes[1][i], planes[2][i])):
      rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
      rows[:, :plane.width] = data
    np.testing.assert_array_equal(out, frame.to_ndarray(format="rgb24"))


def test_rgb_equals_decode_of_lossless_encode(tmp_path, yuv_file, planes):
  path = str(tmp_path / "lossless.mkv")
  with av.open(path, "w") as container:
    stream = container.add_stream("libx264", rate=25, options={"qp": "0"})
    stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
    for y, u, v in zip(*planes):
      raw = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(H * 3 // 2, W)
      container.mux(stream.encode(av.VideoFrame.from_ndarray(raw, format="yuv420p")))
    container.mux(stream.encode(None))
  np.testing.assert_array_equal(yuv.read_yuv420p(yuv_file, W, H),
                                video.decode_frames(path))


def test_write_planes_round_trip(tmp_path, yuv_file, planes):
  path = tmp_path / "written.yuv"
  yuv.write_yuv420p(path, planes)
  with open(path, "rb") as a, open(yuv_file, "rb") as b:
    assert a.read() == b.read()


def test_write_rgb_matches_encoder_conversion(tmp_path):
  rgb = np.random.default_rng(4).integers(0, 256, (3, H, W, 3), dtype=np.uint8)
  raw_path, mp4_path = tmp_path / "rgb.yuv", tmp_path / "rgb.mp4"
  yuv.write_yuv420p(raw_path, rgb)
  video.encode_frames(rgb, mp4_path, 25, options={"qp": 0})
  np.testing.assert_array_equal(yuv.read_yuv420p(raw_path, W, H),
                                video.decode_frames(mp4_path))


def test_bad_sizes_and_files(tmp_path, yuv_file):
  with pytest.raises(VideoError, match="clip.yuv: .*not a multiple"):
    yuv.yuv420p_num_frames(yuv_file, W + 2, H)
  with pytest.raises(VideoError, match="clip.yuv: .*even width and height"):
    yuv.read_yuv420p(yuv_file, W - 1, H)
  with pytest.raises(VideoError, match="clip.yuv: frame index 7 out of range"):
    yuv.read_yuv420p(yuv_file, W, H, [0, 7])
  with pytest.raises(VideoError, match="clip.yuv: frame index -1 out of range"):
    yuv.read_yuv420p(yuv_file, W, H, [-1])
  with pytest.raises(VideoError, match="missing.yuv: no such file"):
    yuv.read_yuv420p(tmp_path / "missing.yuv", W, H)
  empty = tmp_path / "empty.yuv"
  empty.write_bytes(b"")
  with pytest.raises(VideoError, match="empty.yuv: empty file"):
    yuv.yuv420p_num_frames(empty, W, H)
  truncated = tmp_path / "truncated.yuv"
  with open(yuv_file, "rb") as f:
    truncated.write_bytes(f.read()[:-10])
  with pytest.raises(VideoError, match="truncated.yuv: .*not a multiple"):
    yuv.read_yuv420p(truncated, W, H)
  with pytest.raises(VideoError, match="even width and height"):
    yuv.write_yuv420p(tmp_path / "odd.yuv", np.zeros((1, 5, 6, 3), np.uint8))


def test_planes_to_rgb_untagged_equals_raw_conversion():
  rng = np.random.default_rng(4)
  raw = rng.integers(0, 256, H * W * 3 // 2).astype(np.uint8)
  y = raw[:H * W].reshape(H, W)
  u = raw[H * W:H * W * 5 // 4].reshape(H // 2, W // 2)
  v = raw[H * W * 5 // 4:].reshape(H // 2, W // 2)
  expected = yuv.yuv420p_to_rgb(raw, W, H)
  np.testing.assert_array_equal(yuv.yuv420p_planes_to_rgb((y, u, v)), expected)
  bt709 = yuv.yuv420p_planes_to_rgb((y, u, v), yuv.ColorTags(colorspace=1))
  assert not np.array_equal(bt709, expected)
  with pytest.raises(ValueError, match="H and W even"):
    yuv.yuv420p_planes_to_rgb((y[:-1], u, v))
  with pytest.raises(ValueError, match="pixel format"):
    yuv.yuv420p_planes_to_rgb((y, u, v), yuv.ColorTags(pix_fmt="yuv444p"))
