"""Tests of the spatial fragment sampler, the QCS views and the upsampling."""

import jax
import numpy as np
import pytest

from jvqa.data import fragments
from jvqa.data.normalize import IMAGENET_MEAN, IMAGENET_STD
from jvqa.data.normalize import normalize_imagenet

P = 32  # patch
G = 7   # grid


def _video(t, h, w, seed=0, dtype=np.uint8):
  return np.random.default_rng(seed).integers(0, 256, (t, h, w, 3)).astype(
      dtype)


def _coordinate_video(t, h, w):
  """Frames whose pixel (t, y, x) holds the values (t, y, x)."""
  tt, yy, xx = np.meshgrid(np.arange(t), np.arange(h), np.arange(w),
                           indexing="ij")
  return np.stack([tt, yy, xx], axis=-1).astype(np.int32)


def _cell_bounds(size, i):
  """Cell i's origin as FAST-VQA computes it, and the cell length."""
  return min(size // G * i, size - P), size // G


def _patch(out, i, j):
  return out[:, i * P:(i + 1) * P, j * P:(j + 1) * P]


def test_crop_copies_every_patch_from_its_offset():
  video = _video(8, 250, 300)
  offsets = fragments.fragment_offsets(250, 300, num_segments=4, rng=1)
  out = fragments.crop_fragments(video, offsets, aligned=2)
  assert out.shape == (8, G * P, G * P, 3) and out.dtype == np.uint8
  for t in range(8):
    for i in range(G):
      for j in range(G):
        y, x = offsets[t // 2, i, j]
        np.testing.assert_array_equal(_patch(out[t:t + 1], i, j)[0],
                                      video[t, y:y + P, x:x + P])


def test_crop_takes_arbitrary_offsets_and_keeps_float_values():
  video = _video(3, 100, 90, dtype=np.float32) / 7
  offsets = np.array([[[0, 0], [68, 58]], [[5, 40], [13, 1]]])  # (2, 2, 2)
  out = fragments.crop_fragments(video, offsets)
  assert out.shape == (3, 2 * P, 2 * P, 3) and out.dtype == np.float32
  for i in range(2):
    for j in range(2):
      y, x = offsets[i, j]
      np.testing.assert_array_equal(_patch(out, i, j),
                                    video[:, y:y + P, x:x + P])


def test_one_offset_set_serves_several_videos():
  # ST-VQRL: the 10 versions of a scene share one set of positions.
  coords = _coordinate_video(4, 240, 320)
  offsets = fragments.fragment_offsets(240, 320, rng=5)
  first = fragments.crop_fragments(coords, offsets)
  second = fragments.crop_fragments(coords[::-1].copy(), offsets)
  np.testing.assert_array_equal(first[..., 1:], second[..., 1:])
  # Every frame of the segment uses the same positions.
  np.testing.assert_array_equal(first[0, ..., 1:], first[3, ..., 1:])


@pytest.mark.parametrize("height,width", [
    (224, 224), (231, 240), (240, 320), (360, 640), (1080, 1920)])
def test_random_offsets_lie_in_their_cells(height, width):
  offsets = fragments.fragment_offsets(height, width, num_segments=400, rng=2)
  assert offsets.shape == (400, G, G, 2)
  for axis, size in ((0, height), (1, width)):
    coord = offsets[..., axis]
    assert coord.min() >= 0 and coord.max() + P <= size
    for i in range(G):
      origin, cell = _cell_bounds(size, i)
      line = coord[:, i, :] if axis == 0 else coord[:, :, i]
      shift = line - origin
      if cell > P:  # [0, cell - P), and the whole range is used.
        assert origin == size // G * i
        assert shift.min() == 0 and shift.max() == cell - P - 1
      else:
        assert (shift == 0).all()


def test_offsets_are_deterministic_given_a_seed():
  def draw(seed, mode="random"):
    return fragments.fragment_offsets(1080, 1920, num_segments=2, rng=seed,
                                      mode=mode)
  np.testing.assert_array_equal(draw(3), draw(3))
  assert not np.array_equal(draw(3), draw(4))
  np.testing.assert_array_equal(draw(3, "top"), draw(3, "top"))
  np.testing.assert_array_equal(draw(3, "center"), draw(4, "center"))


def _shifts(offsets, height, width):
  """Offsets relative to their cell origins: (dy, dx)."""
  dy = offsets[..., 0] - np.array(
      [_cell_bounds(height, i)[0] for i in range(G)])[:, None]
  dx = offsets[..., 1] - np.array([_cell_bounds(width, j)[0]
                                   for j in range(G)])
  return dy, dx


def test_top_and_bottom_views_use_their_cell_halves_on_large_frames():
  # 1080x1920: cells 154 x 274, halves 77 x 137 > 32, the original's rule.
  # Top: [0, 77 - 32) x [0, 137 - 32); bottom: [77, 122) x [137, 242).
  top = fragments.fragment_offsets(1080, 1920, num_segments=300, rng=0,
                                   mode="top")
  bottom = fragments.fragment_offsets(1080, 1920, num_segments=300, rng=0,
                                      mode="bottom")
  for offsets, (ylo, yhi), (xlo, xhi) in (
      (top, (0, 45), (0, 105)), (bottom, (77, 122), (137, 242))):
    dy, dx = _shifts(offsets, 1080, 1920)
    assert dy.min() == ylo and dy.max() == yhi - 1
    assert dx.min() == xlo and dx.max() == xhi - 1
  # The top patch ends inside the top-left half: 44 + 32 <= 77.
  dy, dx = _shifts(top, 1080, 1920)
  assert (dy + P <= 77).all() and (dx + P <= 137).all()


def test_views_differ_on_medium_frames_where_the_original_collapses():
  # 360x640: cell height 51, half 25 <= 32, so the original draws offset 0
  # for both views (identical rows). Ours splits the 51 - 32 + 1 = 20 in-cell
  # positions: top [0, 10), bottom [10, 20). Widths (cell 91, half 45 > 32)
  # follow the original: top [0, 13), bottom [45, 58).
  assert (360 // G) // 2 <= P
  top = fragments.fragment_offsets(360, 640, num_segments=200, rng=1,
                                   mode="top")
  bottom = fragments.fragment_offsets(360, 640, num_segments=200, rng=1,
                                      mode="bottom")
  top_dy, top_dx = _shifts(top, 360, 640)
  bottom_dy, bottom_dx = _shifts(bottom, 360, 640)
  assert top_dy.min() == 0 and top_dy.max() == 9
  assert bottom_dy.min() == 10 and bottom_dy.max() == 19
  assert (bottom_dy + P <= 51).all()
  assert top_dx.min() == 0 and top_dx.max() == 12
  assert bottom_dx.min() == 45 and bottom_dx.max() == 57

  video = _video(2, 360, 640)
  view_top, view_bottom = fragments.quality_consistent_views(video, rng=3)
  assert view_top.shape == view_bottom.shape == (2, G * P, G * P, 3)
  # Every patch row comes from a different place in the two views.
  coords = _coordinate_video(2, 360, 640)
  rows_top, rows_bottom = fragments.quality_consistent_views(coords, rng=3)
  for i in range(G):
    assert (_patch(rows_top, i, 0)[..., 1].min()
            < _patch(rows_bottom, i, 0)[..., 1].min())


def test_views_are_identical_only_without_room():
  # 224x224: cells of exactly 32 px leave no room, both views equal.
  video = _video(2, 224, 224)
  view_top, view_bottom = fragments.quality_consistent_views(video, rng=0)
  np.testing.assert_array_equal(view_top, view_bottom)
  np.testing.assert_array_equal(view_top, video)
  # 231 px: cell 33, two positions; top takes 0, bottom 1.
  top = fragments.fragment_offsets(231, 231, rng=0, mode="top")
  bottom = fragments.fragment_offsets(231, 231, rng=0, mode="bottom")
  np.testing.assert_array_equal(bottom - top, 1)


def test_views_are_deterministic_given_a_seed():
  video = _video(4, 300, 500)
  first = fragments.quality_consistent_views(video, aligned=2, rng=9)
  again = fragments.quality_consistent_views(video, aligned=2, rng=9)
  other = fragments.quality_consistent_views(video, aligned=2, rng=10)
  np.testing.assert_array_equal(first[0], again[0])
  np.testing.assert_array_equal(first[1], again[1])
  assert not np.array_equal(first[0], other[0])


def _independent_bilinear(frames, out_h, out_w, scale):
  """Per-axis np.interp with torch's align_corners=False source mapping."""
  def axis_coords(out_size):
    return np.maximum((np.arange(out_size) + 0.5) / scale - 0.5, 0.0)

  frames = frames.astype(np.float64)
  ys, xs = axis_coords(out_h), axis_coords(out_w)
  t, h, w, c = frames.shape
  cols = np.empty((t, h, out_w, c))
  for ti in range(t):
    for y in range(h):
      for ch in range(c):
        cols[ti, y, :, ch] = np.interp(xs, np.arange(w), frames[ti, y, :, ch])
  out = np.empty((t, out_h, out_w, c))
  for ti in range(t):
    for x in range(out_w):
      for ch in range(c):
        out[ti, :, x, ch] = np.interp(ys, np.arange(h), cols[ti, :, x, ch])
  return out


def test_upsampling_size_follows_torch():
  # ratio = min(h, w) / 224, size floor(n / ratio) in float64 (100 -> 223).
  assert fragments.upsampled_size(120, 160, 224, 224)[:2] == (224, 298)
  assert fragments.upsampled_size(100, 150, 224, 224)[:2] == (223, 335)
  assert fragments.upsampled_size(360, 200, 224, 224)[:2] == (403, 223)
  assert fragments.upsampled_size(224, 500, 224, 224) == (224, 500, 1.0)
  big = _video(1, 240, 320)
  assert fragments.upsample_to_min_size(big, 224, 224) is big


def test_upsampling_matches_an_independent_bilinear():
  video = _video(2, 100, 150, seed=4, dtype=np.float32)
  got = fragments.upsample_to_min_size(video, 224, 224)
  assert got.shape == (2, 223, 335, 3) and got.dtype == np.float32
  want = _independent_bilinear(video, 223, 335, 224 / 100)
  # Like torch, source coordinates are float32 (~1e-5 px off at x ~ 300),
  # which on random 0-255 content moves values by up to ~3e-3.
  np.testing.assert_allclose(got, want, atol=5e-3)


def test_upsampling_matches_jax_resize_for_integer_scales():
  # 112x150 -> exactly 224x300, where in/out and 1/scale agree.
  video = _video(2, 112, 150, seed=5, dtype=np.float32)
  got = fragments.upsample_to_min_size(video, 224, 224)
  want = jax.image.resize(video, (2, 224, 300, 3), "bilinear",
                          antialias=False)
  np.testing.assert_allclose(got, np.asarray(want), atol=2e-3)


def test_uint8_upsampling_truncates_like_the_original():
  video = _video(2, 100, 150, seed=6)
  got = fragments.upsample_to_min_size(video, 224, 224)
  assert got.dtype == np.uint8
  exact = _independent_bilinear(video, 223, 335, 224 / 100)
  diff = exact - got
  assert diff.min() > -5e-3 and diff.max() < 1 + 5e-3  # float32, see above
  assert 0.3 < diff.mean() < 0.7  # truncation, not rounding


def test_bilinear_matrix_rows_are_convex():
  matrix = fragments.bilinear_matrix(100, 223, 2.24)
  assert matrix.shape == (223, 100)
  np.testing.assert_allclose(matrix.sum(axis=1), 1, atol=1e-6)
  assert (matrix >= 0).all() and ((matrix > 0).sum(axis=1) <= 2).all()


def test_sampler_upsamples_small_videos_then_crops():
  video = _video(4, 120, 160, seed=7)
  out = fragments.fragment_sampler(video, aligned=2, rng=0)
  assert out.shape == (4, 224, 224, 3) and out.dtype == np.uint8
  upsampled = fragments.upsample_to_min_size(video, 224, 224)
  # 224x298: columns 298 // 7 = 42 > 32 are jittered; rows (cell 32) not.
  offsets = fragments.fragment_offsets(224, 298, num_segments=2, rng=0)
  np.testing.assert_array_equal(
      out, fragments.crop_fragments(upsampled, offsets))
  np.testing.assert_array_equal(
      out, fragments.fragment_sampler(video, aligned=2, rng=0))
  assert not np.array_equal(
      out, fragments.fragment_sampler(video, aligned=2, rng=1))


def test_legacy_grid_lays_the_grid_on_the_pre_upsampling_size():
  video = _video(1, 120, 160, seed=8)
  out = fragments.fragment_sampler(video, rng=0, legacy_grid=True)
  upsampled = fragments.upsample_to_min_size(video, 224, 224)
  offsets = fragments.fragment_offsets(120, 160, rng=0)
  assert offsets[..., 0].max() + P <= 120
  np.testing.assert_array_equal(
      out, fragments.crop_fragments(upsampled, offsets))


def test_normalising_before_or_after_sampling_agrees():
  # The training code normalises full frames before sampling, the test code
  # after; per-pixel affine maps commute with crops and convex upsampling.
  video = _video(2, 100, 150, seed=9, dtype=np.float32)
  after = normalize_imagenet(fragments.fragment_sampler(video, rng=4))
  before = fragments.fragment_sampler(normalize_imagenet(video), rng=4)
  np.testing.assert_allclose(after, before, atol=1e-5)
  mean, std = np.array(IMAGENET_MEAN), np.array(IMAGENET_STD)
  np.testing.assert_allclose(normalize_imagenet(np.stack([mean, mean + std])),
                             [[0, 0, 0], [1, 1, 1]], atol=1e-6)


def test_bad_inputs_raise():
  with pytest.raises(ValueError):
    fragments.fragment_offsets(20, 300)
  with pytest.raises(ValueError):
    fragments.fragment_offsets(300, 300, mode="middle")
  video = _video(4, 100, 100)
  with pytest.raises(ValueError):
    fragments.crop_fragments(video, np.array([[[90, 0]]]))
  offsets = np.zeros((3, 1, 1, 2), np.int64)
  with pytest.raises(ValueError):
    fragments.crop_fragments(video, offsets)
  with pytest.raises(ValueError):
    fragments.fragment_sampler(_video(6, 224, 224), aligned=4)
