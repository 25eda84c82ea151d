"""Tests of the temporal samplers against hand-computed original indices."""

import numpy as np
import pytest

from jvqa.data import temporal


def _arange(start, count, step):
  return start + step * np.arange(count)


# Test mode: clip k of n frames starts at int(k*a + a/2), a = (n - span + 1)/K.
@pytest.mark.parametrize("num_frames,clip_len,interval,clips,starts", [
    (300, 32, 2, 1, [118]),                # a = 237, 118.5 -> 118
    (300, 32, 2, 4, [29, 88, 148, 207]),   # a = 59.25
    (10, 4, 1, 3, [1, 3, 5]),              # a = 7/3
    (64, 32, 2, 1, [0]),                   # n == span: a = 1, int(0.5)
])
def test_eval_mode_centres_clips(num_frames, clip_len, interval, clips, starts):
  got = temporal.sample_frames(num_frames, clip_len=clip_len,
                               frame_interval=interval, num_clips=clips,
                               train=False)
  want = np.concatenate([_arange(s, clip_len, interval) for s in starts])
  np.testing.assert_array_equal(got, want)


def test_eval_mode_short_video_starts_at_zero_and_wraps():
  # 50 < 64 = span: all clips start at 0, indices past the end wrap (% 50).
  got = temporal.sample_frames(50, clip_len=32, frame_interval=2, num_clips=2,
                               train=False)
  clip = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34,
          36, 38, 40, 42, 44, 46, 48, 0, 2, 4, 6, 8, 10, 12]
  np.testing.assert_array_equal(got, clip + clip)


def test_train_mode_clips_in_their_segments():
  # n = 300, span 64, 2 clips: a = 237 // 2 = 118; clip k starts in
  # [118k, 118k + 118).
  starts = []
  for seed in range(300):
    idx = temporal.sample_frames(300, clip_len=32, frame_interval=2,
                                 num_clips=2, train=True, rng=seed)
    clips = idx.reshape(2, 32)
    assert idx.min() >= 0 and idx.max() < 300
    np.testing.assert_array_equal(np.diff(clips, axis=1), 2)
    starts.append(clips[:, 0])
  starts = np.array(starts)
  assert starts[:, 0].min() >= 0 and starts[:, 0].max() < 118
  assert starts[:, 1].min() >= 118 and starts[:, 1].max() < 236
  # The whole segment is used, not a fixed point.
  assert starts[:, 0].min() < 10 and starts[:, 0].max() > 107
  assert starts[:, 1].min() < 128 and starts[:, 1].max() > 225


def test_train_mode_sorted_random_fallback():
  # n = 65, span 64, 4 clips: a = 2 // 4 = 0 but n > max(4, 64): sorted
  # starts drawn from [0, 2).
  seen = set()
  for seed in range(50):
    idx = temporal.sample_frames(65, clip_len=32, frame_interval=2,
                                 num_clips=4, train=True, rng=seed)
    starts = idx.reshape(4, 32)[:, 0]
    assert set(starts) <= {0, 1}
    assert list(starts) == sorted(starts)
    seen.update(starts.tolist())
  assert seen == {0, 1}


def test_train_mode_deterministic_ratio_fallback():
  # n = 6, span 4, 8 clips: a = 3 // 8 = 0 and n <= max(8, 4): starts are
  # around(k * 3/8) = [0, 0, 1, 1, 2, 2, 2, 3] (half-to-even: 1.5 -> 2).
  got = temporal.sample_frames(6, clip_len=4, num_clips=8, train=True, rng=0)
  starts = [0, 0, 1, 1, 2, 2, 2, 3]
  want = np.concatenate([(s + np.arange(4)) % 6 for s in starts])
  np.testing.assert_array_equal(got, want)
  # n = 64 = span, 2 clips: ratio 0.5, around([0, 0.5]) = [0, 0].
  got = temporal.sample_frames(64, clip_len=32, frame_interval=2,
                               num_clips=2, train=True, rng=0)
  np.testing.assert_array_equal(got, np.tile(_arange(0, 32, 2), 2))


def test_train_mode_too_short_video_gives_zero_starts():
  # n = 30 < span - 1: a < 0, all clips start at 0 and wrap.
  got = temporal.sample_frames(30, clip_len=32, frame_interval=2,
                               num_clips=2, train=True, rng=0)
  np.testing.assert_array_equal(got, np.tile(_arange(0, 32, 2) % 30, 2))


def test_train_mode_is_deterministic_given_a_seed():
  def draw(seed):
    return temporal.sample_frames(300, clip_len=32, frame_interval=2,
                                  num_clips=2, train=True, rng=seed)
  np.testing.assert_array_equal(draw(7), draw(7))
  np.testing.assert_array_equal(draw(np.random.default_rng(7)), draw(7))
  assert any(not np.array_equal(draw(7), draw(s)) for s in range(8, 12))


def test_fragment_frames_for_sslvqa_test_settings():
  # SSL-VQA's evaluation: 8 segments of 300 // 8 = 37 frames, 8 frames at
  # stride 2 from each after an offset in [0, 37 - 16), 2 clips -> 128.
  offsets = []
  for seed in range(200):
    idx = temporal.sample_fragment_frames(
        300, fsize_t=8, fragments_t=8, frame_interval=2, num_clips=2,
        train=False, rng=seed)
    assert idx.shape == (128,)
    assert idx.min() >= 0 and idx.max() < 300
    parts = idx.reshape(2, 8, 8)
    np.testing.assert_array_equal(np.diff(parts, axis=-1), 2)
    offset = parts[..., 0] - 37 * np.arange(8)
    assert offset.min() >= 0 and offset.max() < 21
    offsets.append(offset)
  offsets = np.array(offsets)
  assert offsets.min() == 0 and offsets.max() == 20
  # Each clip draws its own offsets.
  assert (offsets[:, 0] != offsets[:, 1]).any()


def test_fragment_frames_short_segments_have_no_jitter():
  # 100 // 8 = 12 <= 16: offset 0, segments start at 12*s for any seed.
  want = (12 * np.arange(8)[:, None] + 2 * np.arange(8)).reshape(-1)
  for seed in (0, 1):
    got = temporal.sample_fragment_frames(
        100, fsize_t=8, fragments_t=8, frame_interval=2, rng=seed)
    np.testing.assert_array_equal(got, want)
  # Fewer frames than segments: every segment starts at 0, indices wrap.
  got = temporal.sample_fragment_frames(5, fsize_t=4, fragments_t=8,
                                        frame_interval=2, rng=0)
  np.testing.assert_array_equal(got, np.tile([0, 2, 4, 1], 8))


def test_fragment_frames_deterministic_given_a_seed():
  def draw(seed):
    return temporal.sample_fragment_frames(
        300, fsize_t=8, fragments_t=8, frame_interval=2, num_clips=2,
        rng=seed)
  np.testing.assert_array_equal(draw(3), draw(3))
  assert not np.array_equal(draw(3), draw(4))


def test_as_clips_and_bad_arguments():
  idx = temporal.sample_frames(300, clip_len=32, frame_interval=2,
                               num_clips=4, train=False)
  clips = temporal.as_clips(idx, 4)
  assert clips.shape == (4, 32)
  np.testing.assert_array_equal(clips[:, 0], [29, 88, 148, 207])
  with pytest.raises(ValueError):
    temporal.as_clips(idx, 3)
  with pytest.raises(ValueError):
    temporal.sample_frames(0, clip_len=32, train=False)
  with pytest.raises(ValueError):
    temporal.sample_fragment_frames(300, fsize_t=8, fragments_t=0)
