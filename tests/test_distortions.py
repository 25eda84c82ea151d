"""Tests of SSL-VQA's synthetic distortions (``jvqa.data.distortions``, ``pyramid``)."""

import json
import os

import av
import numpy as np
import pytest

from jvqa.data import distortions, pyramid
from jvqa.errors import VideoError
from jvqa.io import video

# ``cv2.pyrDown`` / ``cv2.pyrUp(cv2.pyrDown(.))`` of ``_LITERAL_INPUT`` (OpenCV 5.0.0).
_LITERAL_INPUT = ((np.arange(5)[:, None] * 37 + np.arange(7)[None, :] * 91) % 256).astype(np.uint8)
_OPENCV_DOWN = [[92, 118, 126, 138], [120, 109, 121, 110], [157, 120, 112, 106]]
_OPENCV_DOWN_UP = [
    [103, 107, 115, 120, 124, 128, 130, 131], [108, 110, 114, 119, 122, 124, 124, 124],
    [119, 116, 114, 116, 118, 117, 114, 113], [133, 127, 118, 116, 115, 112, 109, 108],
    [144, 136, 122, 116, 113, 110, 107, 107], [148, 139, 124, 116, 112, 109, 107, 106]]


# --------------------------------------------------------------------------
# Helpers.


def psnr(frames: np.ndarray, reference: np.ndarray) -> float:
  """PSNR in dB of uint8 frames against the reference, over the whole video."""
  mse = np.mean((frames.astype(np.float64) - reference.astype(np.float64)) ** 2)
  return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def moving_frames(num_frames: int, height: int, width: int, seed: int = 0) -> np.ndarray:
  """Textured RGB frames that pan one pixel a frame (motion for interpolation)."""
  rng = np.random.default_rng(seed)
  texture = rng.integers(0, 256, (height, width + num_frames, 3), dtype=np.uint8)
  texture = pyramid.pyr_up(pyramid.pyr_down(texture))[:height, :width + num_frames]
  return np.stack([texture[:, t:t + width] for t in range(num_frames)])


def make_video(path, num_frames=12, height=48, width=64, fps=24, pix_fmt="yuv420p",
               seed=0) -> str:
  """Writes a small lossless-ish test video; returns its path."""
  frames = moving_frames(num_frames, height, width, seed)
  video.encode_frames(frames, path, fps, crf=0, pix_fmt=pix_fmt,
                      options={"preset": "ultrafast"})
  return os.fspath(path)


def _reflect(i: int, n: int) -> int:
  """BORDER_REFLECT_101, written independently of the module under test."""
  if n == 1:
    return 0
  while i < 0 or i >= n:
    i = -i if i < 0 else 2 * n - 2 - i
  return i


def pyr_down_formula(img: np.ndarray) -> np.ndarray:
  """OpenCV's pyrDown of a 2-D uint8 image, pixel by pixel."""
  k = [1, 4, 6, 4, 1]
  h, w = img.shape
  out = np.zeros(((h + 1) // 2, (w + 1) // 2), np.uint8)
  for y in range(out.shape[0]):
    for x in range(out.shape[1]):
      total = sum(k[i] * k[j] * int(img[_reflect(2 * y + i - 2, h), _reflect(2 * x + j - 2, w)])
                  for i in range(5) for j in range(5))
      out[y, x] = (total + 128) // 256
  return out


def pyr_up_formula(img: np.ndarray) -> np.ndarray:
  """OpenCV's pyrUp of a 2-D uint8 image: kernel × 4 over the zero-interleaved grid."""
  k = [1, 4, 6, 4, 1]
  h, w = img.shape
  grid = np.zeros((2 * h, 2 * w), np.int64)
  grid[::2, ::2] = img
  out = np.zeros((2 * h, 2 * w), np.uint8)
  for y in range(2 * h):
    for x in range(2 * w):
      total = sum(k[i] * k[j] * int(grid[_reflect(y + i - 2, 2 * h), _reflect(x + j - 2, 2 * w)])
                  for i in range(5) for j in range(5))
      out[y, x] = (4 * total + 128) // 256
  return out


# --------------------------------------------------------------------------
# The Gaussian pyramid.


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (2, 3), (5, 7), (8, 8), (9, 12), (13, 6)])
def test_pyramid_steps_match_the_per_pixel_formula(shape):
  img = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
  np.testing.assert_array_equal(pyramid.pyr_down(img, channels_last=False),
                                pyr_down_formula(img))
  np.testing.assert_array_equal(pyramid.pyr_up(img, channels_last=False),
                                pyr_up_formula(img))


def test_pyramid_steps_match_opencv_numbers():
  down = pyramid.pyr_down(_LITERAL_INPUT, channels_last=False)
  np.testing.assert_array_equal(down, _OPENCV_DOWN)
  np.testing.assert_array_equal(pyramid.pyr_up(down, channels_last=False), _OPENCV_DOWN_UP)


def test_pyramid_filters_channels_and_frames_independently():
  frames = np.random.default_rng(1).integers(0, 256, (2, 9, 11, 3), dtype=np.uint8)
  down = pyramid.pyr_down(frames)
  assert down.shape == (2, 5, 6, 3) and down.dtype == np.uint8
  np.testing.assert_array_equal(down[1, :, :, 2], pyr_down_formula(frames[1, :, :, 2]))
  up = pyramid.pyr_up(frames)
  assert up.shape == (2, 18, 22, 3)
  np.testing.assert_array_equal(up[0, :, :, 1], pyr_up_formula(frames[0, :, :, 1]))


@pytest.mark.parametrize("levels", [2, 3, 4])
@pytest.mark.parametrize("shape", [(47, 63, 3), (48, 64, 3), (17, 30, 3)])
def test_pyramid_blur_keeps_the_size(shape, levels):
  img = np.random.default_rng(2).integers(0, 256, shape, dtype=np.uint8)
  out = pyramid.pyramid_blur(img, levels)
  assert out.shape == shape and out.dtype == np.uint8
  expected = img
  for _ in range(levels):
    expected = pyramid.pyr_down(expected)
  for _ in range(levels):
    expected = pyramid.pyr_up(expected)
  np.testing.assert_array_equal(out, expected[:shape[0], :shape[1]])


def test_pyramid_blur_of_a_constant_image_is_constant():
  img = np.full((21, 34, 3), 77, np.uint8)
  np.testing.assert_array_equal(pyramid.pyramid_blur(img, 4), img)


# --------------------------------------------------------------------------
# The table and the frame-rate helpers.


def test_table_holds_the_original_parameters():
  table = distortions.DISTORTIONS
  assert sorted(table) == list(range(13))
  assert table[0].family == "reference" and table[0].level == 0
  families = [(table[k].family, table[k].level) for k in range(1, 13)]
  assert families == [(f, level) for f in ("mpeg2", "h264", "blur", "framerate")
                      for level in (1, 2, 3)]
  assert [table[k].parameters["qscale"] for k in (1, 2, 3)] == [1, 20, 30]
  assert [table[k].parameters["crf"] for k in (4, 5, 6)] == [5, 35, 50]
  assert [table[k].parameters["factor"] for k in (7, 8, 9)] == [4, 8, 16]
  assert [table[k].parameters["divisor"] for k in (10, 11, 12)] == [2, 3, 4]
  assert table[7].parameters["encoder"] == {
      "codec": "libx264", "crf": 23, "preset": "medium", "pix_fmt": "yuv444p"}


def test_reduced_rate_and_kept_frames():
  assert [distortions.reduced_rate(29.97, d) for d in (2, 3, 4)] == [15, 10, 7]
  assert [distortions.reduced_rate(25, d) for d in (2, 3, 4)] == [12, 8, 6]
  assert distortions.reduced_rate(3, 4) == 1
  from fractions import Fraction
  np.testing.assert_array_equal(distortions.kept_frames(8, Fraction(30), 15), [0, 2, 4, 6])
  # 25 -> 12 fps: instants n/12 s; frame i shows at i/25 s; nearest (ties earlier).
  np.testing.assert_array_equal(distortions.kept_frames(10, Fraction(25), 12), [0, 2, 4, 6, 8])
  np.testing.assert_array_equal(distortions.nearest_indices([0.0, 1.0, 2.0], [0.5, 0.6, 5, -1]),
                                [0, 1, 2, 0])


def test_check_kinds():
  assert distortions.check_kinds([3, 1, 3]) == (1, 3)
  for bad in ([13], [-1], []):
    with pytest.raises(ValueError):
      distortions.check_kinds(bad)


# --------------------------------------------------------------------------
# Distorting a real clip.


@pytest.fixture(scope="module")
def carphone(tmp_path_factory, sample_videos):
  """The first 40 frames of carphone (176x144, 29.97 fps), nearly lossless, and
  all 13 versions of it: (clip path, out_dir, entries)."""
  folder = tmp_path_factory.mktemp("carphone")
  source = sample_videos["carphone_pristine"]
  frames = video.decode_frames(source, np.arange(40))
  clip = os.fspath(folder / "carphone.mp4")
  video.encode_frames(frames, clip, video.probe(source).fps, crf=0,
                      options={"preset": "ultrafast"})
  out_dir = os.fspath(folder / "out")
  entries = distortions.distort_video(clip, out_dir)
  return clip, out_dir, entries


def test_all_13_versions_have_the_reference_size_and_frames(carphone):
  clip, out_dir, entries = carphone
  reference = video.probe(clip)
  assert [e["k"] for e in entries] == list(range(13))
  for entry in entries:
    path = os.path.join(out_dir, entry["path"])
    assert entry["path"] == f"{entry['k']}/carphone.mp4"
    info = video.probe(path)
    assert (info.width, info.height, info.num_frames) == (176, 144, 40), entry["path"]
    assert info.fps == pytest.approx(reference.fps, rel=1e-3)
    assert not info.has_audio
    assert (entry["frames"], entry["width"], entry["height"]) == (40, 176, 144)
    assert len(video.decode_frames(path)) == 40
  with open(clip, "rb") as a, open(os.path.join(out_dir, "0/carphone.mp4"), "rb") as b:
    assert a.read() == b.read()


def test_encoders_as_ffmpeg_would_use_them(carphone):
  _, out_dir, _ = carphone
  probed = {k: video.probe(os.path.join(out_dir, f"{k}/carphone.mp4")) for k in range(1, 13)}
  assert {probed[k].codec for k in (1, 2, 3)} == {"mpeg2video"}
  assert {(probed[k].codec, probed[k].pix_fmt) for k in (4, 5, 6)} == {("h264", "yuv420p")}
  assert {(probed[k].codec, probed[k].pix_fmt) for k in range(7, 13)} == {("h264", "yuv444p")}


def test_levels_are_ordered_by_psnr(carphone):
  clip, out_dir, _ = carphone
  reference = video.decode_frames(clip)
  scores = {k: psnr(video.decode_frames(os.path.join(out_dir, f"{k}/carphone.mp4")), reference)
            for k in range(1, 13)}
  for first in (1, 4, 7, 10):
    family = distortions.DISTORTIONS[first].family
    levels = [scores[first], scores[first + 1], scores[first + 2]]
    assert levels[0] > levels[1] > levels[2], (family, levels)
  assert scores[4] > 40 and scores[6] < 25  # CRF 5 is near lossless, CRF 50 is not.


def test_every_version_keeps_the_colours_of_a_bt709_source(tmp_path):
  src = os.fspath(tmp_path / "bt709.mp4")
  colour = np.array([200, 30, 60], np.uint8)
  with av.open(src, "w") as container:
    stream = container.add_stream("libx264", rate=25, options={"crf": "0"})
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    context = stream.codec_context
    context.colorspace = context.color_primaries = context.color_trc = 1  # BT.709
    context.color_range = 1
    for i in range(6):
      frame = av.VideoFrame.from_ndarray(np.broadcast_to(colour, (48, 64, 3)).copy(),
                                         format="rgb24")
      frame = frame.reformat(format="yuv420p", dst_colorspace=1, dst_color_range=1)
      frame.colorspace, frame.color_range, frame.pts = 1, 1, i
      container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
  reference = video.decode_frames(src).reshape(-1, 3).mean(0)
  assert np.abs(reference - colour).max() < 3
  kinds = [k for k in range(1, 13) if k != 6]  # CRF 50 moves even a flat colour.
  for entry in distortions.distort_video(src, tmp_path / "out", kinds=kinds):
    frames = video.decode_frames(os.path.join(tmp_path, "out", entry["path"]))
    assert np.abs(frames.reshape(-1, 3).mean(0) - reference).max() < 3, entry["path"]


# --------------------------------------------------------------------------
# Folders: reruns, failures, the manifest.


def test_odd_sizes_keep_their_size(tmp_path):
  src = make_video(tmp_path / "odd.mp4", height=47, width=63, pix_fmt="yuv444p")
  entries = distortions.distort_video(src, tmp_path / "out")
  for entry in entries:
    info = video.probe(os.path.join(tmp_path, "out", entry["path"]))
    assert (info.width, info.height, info.num_frames) == (63, 47, 12), entry["path"]


def test_display_rotation_is_kept_and_pixels_stay_as_stored(tmp_path):
  src = os.fspath(tmp_path / "rotated.mp4")
  video.encode_frames(moving_frames(6, 48, 64), src, 24, crf=0, rotation=90)
  for entry in distortions.distort_video(src, tmp_path / "out", kinds=[1, 7, 10]):
    info = video.probe(os.path.join(tmp_path, "out", entry["path"]))
    assert (info.rotation, info.width, info.height) == (90, 64, 48), entry["path"]


def test_rerun_skips_outputs_and_overwrite_redoes_them(tmp_path):
  src = make_video(tmp_path / "a.mp4")
  out = tmp_path / "out"
  distortions.distort_folder(src, out, kinds=[0, 1, 7])
  paths = [out / "0/a.mp4", out / "1/a.mp4", out / "7/a.mp4"]
  for path in paths:
    os.utime(path, ns=(10**9, 10**9))
  (out / "4").mkdir()
  (out / "4/a.mp4.part").write_bytes(b"left by a killed run")
  report = distortions.distort_folder(src, out, kinds=[0, 1, 4, 7])
  assert not report.failures
  assert [os.stat(p).st_mtime_ns for p in paths] == [10**9] * 3
  assert video.probe(out / "4/a.mp4").num_frames == 12
  assert not (out / "4/a.mp4.part").exists()
  distortions.distort_folder(src, out, kinds=[1], overwrite=True)
  assert os.stat(paths[1]).st_mtime_ns != 10**9
  assert os.stat(paths[0]).st_mtime_ns == 10**9


def test_a_failed_write_leaves_no_finished_looking_file(tmp_path, monkeypatch):
  src = make_video(tmp_path / "a.mp4")

  def fail(*args):
    raise VideoError(src, "boom")

  monkeypatch.setitem(distortions._FAMILIES, "blur", fail)
  with pytest.raises(VideoError):
    distortions.distort_video(src, tmp_path / "out", kinds=[1, 7])
  assert not (tmp_path / "out/7/a.mp4").exists()
  assert not (tmp_path / "out/7/a.mp4.part").exists()
  assert not (tmp_path / "out/1/a.mp4").exists()  # Removed: the source failed.


def test_broken_source_is_reported_and_skipped(tmp_path):
  folder = tmp_path / "src"
  folder.mkdir()
  make_video(folder / "good.mp4")
  (folder / "broken.mp4").write_bytes(b"not a video at all\n" * 50)
  # Index first (faststart), so the file opens but its last frames are gone.
  video.encode_frames(moving_frames(12, 48, 64), tmp_path / "whole.mp4", 24, crf=0,
                      container_options={"movflags": "faststart"})
  data = (tmp_path / "whole.mp4").read_bytes()
  (folder / "truncated.mp4").write_bytes(data[:len(data) * 2 // 3])
  sub = folder / "sub"
  sub.mkdir()
  make_video(sub / "good.mkv", seed=3)
  out = folder / "out"  # Inside the source folder: its files are not sources.
  report = distortions.distort_folder(folder, out, kinds=[0, 1])
  failed = {os.path.basename(path): reason for path, reason in report.failures}
  assert set(failed) == {"broken.mp4", "truncated.mp4", "good.mkv"}
  assert "same name" in failed["good.mkv"]
  assert "of the 12 frames it lists decode" in failed["truncated.mp4"]
  assert {e["path"] for e in report.entries} == {"0/good.mp4", "1/good.mp4"}
  assert sorted(os.listdir(out / "0")) == ["good.mp4"]
  assert sorted(os.listdir(out / "1")) == ["good.mp4"]
  again = distortions.distort_folder(folder, out, kinds=[0, 1])
  assert {os.path.basename(p) for p, _ in again.failures} == set(failed)


def test_manifest_lists_every_file_and_merges_across_runs(tmp_path):
  folder = tmp_path / "src"
  folder.mkdir()
  make_video(folder / "a.mp4")
  make_video(folder / "b.mp4", seed=1, fps=30)
  out = tmp_path / "out"
  report = distortions.distort_folder(folder, out, kinds=[0, 4])
  assert report.manifest == os.path.join(out, "manifest.json")
  distortions.distort_folder(folder / "a.mp4", out, kinds=[10])
  with open(out / "manifest.json") as f:
    files = json.load(f)["files"]
  assert sorted(files) == ["0/a.mp4", "0/b.mp4", "10/a.mp4", "4/a.mp4", "4/b.mp4"]
  entry = files["10/a.mp4"]
  assert entry["source"] == os.path.abspath(folder / "a.mp4")
  assert (entry["k"], entry["family"], entry["level"], entry["name"]) == (10, "framerate", 1, "a")
  assert entry["parameters"]["divisor"] == 2
  assert (entry["frames"], entry["width"], entry["height"]) == (12, 64, 48)
  assert entry["fps"] == pytest.approx(24.0)
  assert files["4/b.mp4"]["parameters"] == {"codec": "libx264", "crf": 5, "preset": "medium"}
  assert files["0/b.mp4"]["fps"] == pytest.approx(30.0)
  assert distortions.read_manifest(out) == files


def test_worker_processes_give_the_same_result(tmp_path):
  folder = tmp_path / "src"
  folder.mkdir()
  make_video(folder / "a.mp4")
  make_video(folder / "b.mp4", seed=1)
  (folder / "c.mp4").write_bytes(b"broken")
  report = distortions.distort_folder(folder, tmp_path / "out", kinds=[0, 5], workers=2)
  assert sorted(e["path"] for e in report.entries) == ["0/a.mp4", "0/b.mp4", "5/a.mp4", "5/b.mp4"]
  assert [os.path.basename(p) for p, _ in report.failures] == ["c.mp4"]
