"""Tests of the fast decode-and-cut path: jvqa.data.clips and YUV cropping.

Every check compares with the RGB path (``decode_frames`` then
``crop_fragments`` / ``fragment_sampler`` / ``quality_consistent_views``)
bit for bit.
"""

import av
import numpy as np
import pytest

from jvqa.data import clips, fragments
from jvqa.errors import VideoError
from jvqa.io import video
from jvqa.io.yuv import ColorTags

# AVColorSpace and AVColorRange values.
BT709, BT601_525, BT2020, SMPTE240M, UNSPECIFIED_SPACE = 1, 6, 9, 7, 2
LIMITED, FULL = 1, 2
GOP_OPTIONS = {"g": "4", "bf": "2", "x264-params": "scenecut=0"}
SIZE = (232, 240)  # (height, width): just covers a 7 x 32 px grid.


def noise_planes(rng, height, width, count=1, pix_fmt="yuv420p"):
  """Planes of ``count`` frames: a gradient plus noise, to expose any shift."""
  fmt = av.VideoFormat(pix_fmt, width, height)
  planes = []
  for component in fmt.components:
    h, w = component.height, component.width
    y, x = np.mgrid[:h, :w]
    base = (x * 3 + y * 2)[None] + rng.integers(0, 64, (count, h, w))
    planes.append((base % 256).astype(np.uint8))
  return planes


def fill_frame(planes, pix_fmt="yuv420p", colorspace=None, color_range=None):
  """A VideoFrame holding one frame's planes, tagged as asked."""
  height, width = planes[0].shape
  frame = av.VideoFrame(width, height, pix_fmt)
  for plane, data in zip(frame.planes, planes):
    rows = np.ndarray((plane.height, plane.line_size), np.uint8, buffer=plane)
    rows[:, :plane.width] = data
  if colorspace is not None:
    frame.colorspace = colorspace
  if color_range is not None:
    frame.color_range = color_range
  return frame


def encode_clip(path, *, size=SIZE, n=8, codec="libx264", pix_fmt="yuv420p",
                colorspace=None, color_range=None, options=GOP_OPTIONS):
  """Encodes ``n`` noisy frames, tagging stream and frames; returns the path."""
  rng = np.random.default_rng(0)
  height, width = size
  with av.open(str(path), "w") as container:
    stream = container.add_stream(codec, rate=25, options=dict(options))
    stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
    if colorspace is not None:
      stream.codec_context.colorspace = colorspace
    if color_range is not None:
      stream.codec_context.color_range = color_range
    for _ in range(n):
      planes = [p[0] for p in noise_planes(rng, height, width, 1, pix_fmt)]
      frame = fill_frame(planes, pix_fmt, colorspace, color_range)
      container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
  return str(path)


@pytest.fixture(scope="module")
def clips_dir(tmp_path_factory):
  """Synthetic clips: tagged BT.709 / full range, yuv444p, odd-sized 4:2:0."""
  root = tmp_path_factory.mktemp("clips")
  return {
      "plain": encode_clip(root / "plain.mp4"),
      "bt709": encode_clip(root / "bt709.mp4", colorspace=BT709,
                           color_range=LIMITED),
      "full": encode_clip(root / "full.mp4", color_range=FULL),
      "bt709_full": encode_clip(root / "bt709_full.mp4", colorspace=BT709,
                                color_range=FULL),
      "yuv444p": encode_clip(root / "yuv444p.mp4", pix_fmt="yuv444p"),
      # ffv1 stores odd-sized 4:2:0 (x264 cannot).
      "odd": encode_clip(root / "odd.mkv", size=(231, 245), n=4, codec="ffv1",
                         options={}),
  }


@pytest.fixture
def yuv_calls(monkeypatch):
  """Counts the frames cut by the YUV path (crop_fragments_yuv420p)."""
  calls = []
  original = fragments.crop_fragments_yuv420p

  def counting(planes, offsets, **kwargs):
    calls.append(np.shape(planes[0])[0])
    return original(planes, offsets, **kwargs)

  monkeypatch.setattr(fragments, "crop_fragments_yuv420p", counting)
  return calls


def rgb_path(path, indices, **kwargs):
  """The reference: decode to RGB, then fragment_sampler."""
  return fragments.fragment_sampler(video.decode_frames(path, indices), **kwargs)


# --------------------------------------------------------------------------
# crop_fragments_yuv420p on frames made in memory.


@pytest.mark.parametrize("pix_fmt,colorspace,color_range", [
    ("yuv420p", UNSPECIFIED_SPACE, 0), ("yuv420p", BT709, LIMITED),
    ("yuv420p", BT709, FULL), ("yuv420p", UNSPECIFIED_SPACE, FULL),
    ("yuv420p", BT601_525, LIMITED), ("yuv420p", BT2020, FULL),
    ("yuv420p", SMPTE240M, 0), ("yuvj420p", BT709, FULL)])
def test_yuv_crop_equals_rgb_crop_for_every_colour_tag(pix_fmt, colorspace,
                                                       color_range):
  rng = np.random.default_rng(1)
  height, width = 226, 250
  planes = noise_planes(rng, height, width, count=2)
  frames = [fill_frame([p[t] for p in planes], pix_fmt, colorspace, color_range)
            for t in range(2)]
  rgb = np.stack([video.frame_to_rgb(f) for f in frames])
  offsets = fragments.fragment_offsets(height, width, num_segments=2, rng=rng)
  tags = ColorTags.of(frames[0])
  assert tags == ColorTags(pix_fmt, colorspace, color_range)
  fast = fragments.crop_fragments_yuv420p(planes, offsets, tags=tags)
  np.testing.assert_array_equal(fast, fragments.crop_fragments(rgb, offsets))


@pytest.mark.parametrize("patch,grid", [(32, 7), (15, 3), (16, 4), (1, 5)])
def test_yuv_crop_odd_offsets_and_frame_edges(patch, grid):
  rng = np.random.default_rng(2)
  height, width = 232, 240
  planes = noise_planes(rng, height, width, count=3)
  tags = ColorTags("yuv420p", BT709, LIMITED)
  rgb = np.stack([video.frame_to_rgb(fill_frame([p[t] for p in planes],
                                                "yuv420p", BT709, LIMITED))
                  for t in range(3)])
  offsets = np.stack([rng.integers(0, height - patch + 1, (3, grid, grid)),
                      rng.integers(0, width - patch + 1, (3, grid, grid))], -1)
  # Both parities at both edges of the frame.
  offsets[0, 0, :2] = [(0, 1), (1, 0)]
  offsets[1, -1, -2:] = [(height - patch, width - patch),
                         (height - patch - 1, width - patch - 1)]
  assert (offsets % 2).any() and (offsets % 2 == 0).any()
  fast = fragments.crop_fragments_yuv420p(planes, offsets, patch=patch,
                                          aligned=1, tags=tags)
  np.testing.assert_array_equal(
      fast, fragments.crop_fragments(rgb, offsets, patch=patch, aligned=1))


def test_yuv_crop_rejects_planes_it_cannot_cut():
  rng = np.random.default_rng(3)
  offsets = np.zeros((1, 1, 1, 2), np.int64)
  with pytest.raises(ValueError, match="even"):
    fragments.crop_fragments_yuv420p(
        [np.zeros((1, 41, 40), np.uint8), np.zeros((1, 20, 20), np.uint8),
         np.zeros((1, 20, 20), np.uint8)], offsets)
  with pytest.raises(ValueError, match="smaller"):
    fragments.crop_fragments_yuv420p(noise_planes(rng, 32, 64), offsets)
  with pytest.raises(ValueError, match="leave"):
    fragments.crop_fragments_yuv420p(noise_planes(rng, 64, 64),
                                     np.full((1, 1, 1, 2), 40))
  with pytest.raises(ValueError, match="do not fit"):
    fragments.crop_fragments_yuv420p(noise_planes(rng, 64, 64, count=3),
                                     np.zeros((2, 1, 1, 2), np.int64))


# --------------------------------------------------------------------------
# load_fragments / load_views against the RGB path.

SAMPLE_INDICES = [7, 0, 7, 3, 30, 31, 60, 61]  # unsorted, a repeat, 2 segments


@pytest.mark.parametrize("name", ["bigbuckbunny", "bikes", "carphone_pristine",
                                  "carphone_distorted"])
def test_load_fragments_equals_rgb_path_on_samples(sample_videos, name,
                                                   yuv_calls):
  path = sample_videos[name]
  indices = SAMPLE_INDICES + [video.probe(path).num_frames - 1] * 4
  fast_rng, slow_rng = np.random.default_rng(5), np.random.default_rng(5)
  fast = clips.load_fragments(path, indices, aligned=4, rng=fast_rng)
  slow = rgb_path(path, indices, aligned=4, rng=slow_rng)
  assert fast.shape == (12, 224, 224, 3) and fast.dtype == np.uint8
  np.testing.assert_array_equal(fast, slow)
  assert fast_rng.integers(1 << 30) == slow_rng.integers(1 << 30)
  # 720p and 640x272 frames take the YUV path; carphone (176x144) is upsampled.
  assert bool(yuv_calls) == (not name.startswith("carphone"))


@pytest.mark.parametrize("name", ["bikes", "carphone_pristine"])
def test_load_views_equals_quality_consistent_views(sample_videos, name):
  path = sample_videos[name]
  indices = SAMPLE_INDICES[:4]
  fast = clips.load_views(path, indices, aligned=2, rng=9)
  slow = fragments.quality_consistent_views(
      video.decode_frames(path, indices), aligned=2, rng=9)
  for view_fast, view_slow in zip(fast, slow):
    np.testing.assert_array_equal(view_fast, view_slow)
  assert not np.array_equal(fast[0], fast[1])


def test_legacy_grid_and_other_modes_follow_the_rgb_path(sample_videos):
  path = sample_videos["carphone_distorted"]
  for kwargs in [dict(legacy_grid=True), dict(mode="center"),
                 dict(mode="bottom", grid=4, patch=16)]:
    np.testing.assert_array_equal(
        clips.load_fragments(path, [2, 1], rng=4, **kwargs),
        rgb_path(path, [2, 1], rng=4, **kwargs))


@pytest.mark.parametrize("clip", ["plain", "bt709", "full", "bt709_full"])
def test_tagged_clips_equal_rgb_path(clips_dir, clip, yuv_calls):
  path = clips_dir[clip]
  indices = [5, 1, 2, 6]
  np.testing.assert_array_equal(
      clips.load_fragments(path, indices, aligned=2, rng=0),
      rgb_path(path, indices, aligned=2, rng=0))
  assert yuv_calls == [1, 1, 1, 1]  # one frame at a time


def test_tags_are_read_from_the_frames(clips_dir):
  expected = {"plain": ColorTags("yuv420p", UNSPECIFIED_SPACE, 0),
              "bt709": ColorTags("yuv420p", BT709, LIMITED),
              "full": ColorTags("yuvj420p", UNSPECIFIED_SPACE, FULL),
              "bt709_full": ColorTags("yuvj420p", BT709, FULL)}
  offsets = fragments.fragment_offsets(*SIZE, rng=0)
  for clip, tags in expected.items():
    planes, read = video.decode_planes(clips_dir[clip], [3])
    assert read == tags
    reference = fragments.crop_fragments(video.decode_frames(clips_dir[clip], [3]),
                                         offsets)
    untagged = fragments.crop_fragments_yuv420p(planes, offsets)
    # Without their tags, tagged frames convert differently: the tags matter.
    assert np.array_equal(untagged, reference) == (clip == "plain")


def test_frame_in_two_segments_is_decoded_once_and_cut_twice(clips_dir,
                                                             monkeypatch):
  calls = []
  original = video.map_frames

  def recording(source, indices, fn, **kwargs):
    return original(source, indices,
                    lambda i, frame: (calls.append(i), fn(i, frame))[1], **kwargs)

  monkeypatch.setattr(video, "map_frames", recording)
  path = clips_dir["bt709"]
  indices = [0, 1, 2, 3, 3, 4, 5, 6]
  fast = clips.load_fragments(path, indices, aligned=4, rng=1)
  np.testing.assert_array_equal(fast, rgb_path(path, indices, aligned=4, rng=1))
  assert calls == [0, 1, 2, 3, 4, 5, 6]
  assert not np.array_equal(fast[3], fast[4])  # two segments, two crops
  views = clips.load_views(path, indices, aligned=4, rng=1)
  assert calls[7:] == [0, 1, 2, 3, 4, 5, 6]
  for fast_view, slow_view in zip(views, fragments.quality_consistent_views(
      video.decode_frames(path, indices), aligned=4, rng=1)):
    np.testing.assert_array_equal(fast_view, slow_view)


@pytest.mark.parametrize("clip", ["yuv444p", "odd"])
def test_other_formats_and_odd_sizes_fall_back_to_rgb(clips_dir, clip,
                                                      yuv_calls):
  path = clips_dir[clip]
  info = video.probe(path)
  assert (info.pix_fmt, info.width % 2) == (
      ("yuv444p", 0) if clip == "yuv444p" else ("yuv420p", 1))
  np.testing.assert_array_equal(
      clips.load_fragments(path, [3, 0, 2, 2], aligned=2, rng=2),
      rgb_path(path, [3, 0, 2, 2], aligned=2, rng=2))
  assert not yuv_calls


def test_bytes_source_equals_path(clips_dir):
  path = clips_dir["full"]
  with open(path, "rb") as f:
    data = f.read()
  np.testing.assert_array_equal(
      clips.load_fragments(data, [1, 4], rng=3, name="full.mp4"),
      clips.load_fragments(path, [1, 4], rng=3))


# --------------------------------------------------------------------------
# Errors.


def test_bad_inputs_raise_video_error_naming_the_file(tmp_path, clips_dir):
  missing = str(tmp_path / "missing.mp4")
  with pytest.raises(VideoError, match="missing.mp4: no such file"):
    clips.load_fragments(missing, [0])
  with open(clips_dir["plain"], "rb") as f:
    data = f.read()
  with pytest.raises(VideoError, match="clip.mp4: frame index 99 out of range"):
    clips.load_views(data, [0, 99], name="clip.mp4")
  with pytest.raises(VideoError, match="clip.mp4: not a readable video"):
    clips.load_fragments(data[:len(data) // 2], [7], name="clip.mp4")


def test_size_change_raises_video_error(tmp_path):
  # Two raw H.264 streams of different sizes, concatenated.
  parts = []
  for i, (height, width) in enumerate([(232, 240), (256, 240)]):
    part = tmp_path / f"part{i}.h264"
    video.encode_frames(np.zeros((2, height, width, 3), np.uint8), part, 25)
    parts.append(part.read_bytes())
  path = tmp_path / "both.h264"
  path.write_bytes(b"".join(parts))
  with pytest.raises(VideoError, match="both.h264: frame size changes"):
    clips.load_fragments(str(path), [0, 3])


def test_bad_arguments_raise_value_error(clips_dir):
  path = clips_dir["plain"]
  with pytest.raises(ValueError, match="not a multiple"):
    clips.load_fragments(path, [0, 1, 2], aligned=2)
  with pytest.raises(ValueError, match="no frame indices"):
    clips.load_fragments(path, [])
  with pytest.raises(ValueError, match="mode"):
    clips.load_fragments(path, [0], mode="middle")
