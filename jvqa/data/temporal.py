"""Temporal frame samplers of SSL-VQA and FAST-VQA, in numpy.

Two samplers pick which frames of a video go into a clip:

* ``sample_frames``: mmaction2's ``SampleFrames`` as vendored by SSL-VQA
  (identical copies in ``STVQRL/synthetic_lsvd_datasets.py``,
  ``SemiSupervised Learning Module/semisupervised_datasets.py`` and
  ``fastvqa/datasets/basic_datasets.py``). It is used for training (ST-VQRL:
  32 frames x 2 clips at stride 2; SSL: 32 frames x 1 clip at stride 2) and
  for the pristine-clip corpus (test mode, 4 clips).
* ``sample_fragment_frames``: FAST-VQA's ``FragmentSampleFrames``, used by
  SSL-VQA's evaluation (8 segments x 8 frames at stride 2, 2 clips).

Both return flat integer index arrays (clip after clip), wrapped into
``[0, num_frames)`` with ``% num_frames`` exactly as the vendored copies do
(mmaction's "loop" out-of-bound option; there is no clamping variant in
SSL-VQA). ``as_clips`` reshapes them to ``(num_clips, clip_len)``.

Randomness comes only from the ``rng`` argument (a ``np.random.Generator``, a
seed, or ``None`` for fresh entropy), so the same seed gives the same
indices. The draws have the originals' distributions, not their streams (the
originals use numpy's global legacy RNG).
"""

from __future__ import annotations

import numpy as np

RngLike = np.random.Generator | int | None


def as_generator(rng: RngLike) -> np.random.Generator:
  """Returns ``rng`` itself if it is a Generator, else one seeded with it."""
  return np.random.default_rng(rng)


def as_clips(indices: np.ndarray, num_clips: int) -> np.ndarray:
  """Reshapes flat sampler output to ``(num_clips, clip_len)``."""
  indices = np.asarray(indices)
  if num_clips < 1 or indices.size % num_clips:
    raise ValueError(
        f"cannot split {indices.size} indices into {num_clips} clips")
  return indices.reshape(num_clips, -1)


def _check_positive(**values: int) -> None:
  """Raises ValueError naming the first argument that is not >= 1."""
  for name, value in values.items():
    if int(value) != value or value < 1:
      raise ValueError(f"{name} must be a positive integer, got {value!r}")


def train_clip_offsets(num_frames: int, span: int, num_clips: int,
                       rng: RngLike = None) -> np.ndarray:
  """Random clip starts, mmaction ``SampleFrames._get_train_clips``.

  With ``a = (num_frames - span + 1) // num_clips`` (``span`` = clip_len *
  frame_interval), the fallbacks are tried in the original's order:

  1. ``a > 0``: clip k starts uniformly in ``[k*a, (k+1)*a)``;
  2. ``num_frames > max(num_clips, span)``: sorted uniform starts in
     ``[0, num_frames - span]``;
  3. ``a == 0``: deterministic ``round(k * (num_frames - span + 1) /
     num_clips)`` with numpy's half-to-even rounding;
  4. otherwise (video shorter than ``span - 1``): all zeros. (The original
     spells this ``np.int``, which fails on numpy >= 1.24; zeros is its
     evident intent.)

  Args:
    num_frames: frames in the video.
    span: frames one clip covers, clip_len * frame_interval.
    num_clips: number of clips.
    rng: random generator or seed.

  Returns:
    int64 array of ``num_clips`` start indices (not yet wrapped).
  """
  avg_interval = (num_frames - span + 1) // num_clips
  if avg_interval > 0:
    jitter = as_generator(rng).integers(avg_interval, size=num_clips)
    return np.arange(num_clips) * avg_interval + jitter
  if num_frames > max(num_clips, span):
    starts = as_generator(rng).integers(num_frames - span + 1, size=num_clips)
    return np.sort(starts)
  if avg_interval == 0:
    ratio = (num_frames - span + 1.0) / num_clips
    return np.around(np.arange(num_clips) * ratio).astype(np.int64)
  return np.zeros(num_clips, np.int64)


def eval_clip_offsets(num_frames: int, span: int,
                      num_clips: int) -> np.ndarray:
  """Deterministic clip starts, mmaction ``SampleFrames._get_test_clips``.

  The video is cut into ``num_clips`` equal segments of length ``a =
  (num_frames - span + 1) / num_clips`` (a float) and clip k starts at
  ``int(k*a + a/2)``, the middle of its segment; all zeros when the video
  has fewer than ``span`` frames.

  Args:
    num_frames: frames in the video.
    span: frames one clip covers, clip_len * frame_interval.
    num_clips: number of clips.

  Returns:
    int64 array of ``num_clips`` start indices (not yet wrapped).
  """
  if num_frames < span:
    return np.zeros(num_clips, np.int64)
  avg_interval = (num_frames - span + 1) / float(num_clips)
  return (np.arange(num_clips) * avg_interval
          + avg_interval / 2.0).astype(np.int64)


def sample_frames(num_frames: int, *, clip_len: int, frame_interval: int = 1,
                  num_clips: int = 1, train: bool,
                  rng: RngLike = None) -> np.ndarray:
  """Frame indices of mmaction's ``SampleFrames`` (SSL-VQA's copy).

  Each clip is ``clip_len`` frames at stride ``frame_interval`` from its
  start (``train_clip_offsets`` or ``eval_clip_offsets``); indices past the
  end wrap around with ``% num_frames``, as the original does.

  Args:
    num_frames: frames in the video.
    clip_len: frames per clip.
    frame_interval: stride between frames of a clip.
    num_clips: clips to sample.
    train: random starts (True) or centred deterministic ones (False).
    rng: random generator or seed; unused when ``train`` is False.

  Returns:
    int64 array of ``num_clips * clip_len`` indices in ``[0, num_frames)``,
    clip after clip.
  """
  _check_positive(num_frames=num_frames, clip_len=clip_len,
                  frame_interval=frame_interval, num_clips=num_clips)
  span = clip_len * frame_interval
  if train:
    starts = train_clip_offsets(num_frames, span, num_clips, rng)
  else:
    starts = eval_clip_offsets(num_frames, span, num_clips)
  indices = starts[:, None] + np.arange(clip_len) * frame_interval
  return (indices % num_frames).reshape(-1)


def sample_fragment_frames(num_frames: int, *, fsize_t: int, fragments_t: int,
                           frame_interval: int = 1, num_clips: int = 1,
                           train: bool = False,
                           rng: RngLike = None) -> np.ndarray:
  """Frame indices of FAST-VQA's ``FragmentSampleFrames``.

  The video is cut into ``fragments_t`` segments of ``L = num_frames //
  fragments_t`` frames (segment s starts at ``s*L``). From each segment,
  ``fsize_t`` frames are taken at stride ``frame_interval`` after a random
  offset in ``[0, L - fsize_t*frame_interval)``; the offset is 0 when the
  segment is not longer than ``fsize_t*frame_interval``. Each clip draws its
  own offsets; indices wrap with ``% num_frames``.

  The original ignores its ``train`` flag: test-time sampling is random too
  (SSL-VQA's evaluation therefore depends on the seed). ``train`` is kept for
  symmetry with ``sample_frames`` and, like the original, changes nothing.

  Args:
    num_frames: frames in the video.
    fsize_t: frames taken from each segment.
    fragments_t: number of temporal segments.
    frame_interval: stride between frames within a segment.
    num_clips: clips to sample, each with fresh offsets.
    train: accepted and ignored, as in the original.
    rng: random generator or seed.

  Returns:
    int64 array of ``num_clips * fragments_t * fsize_t`` indices, clip after
    clip, segment after segment.
  """
  del train  # The original samples the same way in both modes.
  _check_positive(num_frames=num_frames, fsize_t=fsize_t,
                  fragments_t=fragments_t, frame_interval=frame_interval,
                  num_clips=num_clips)
  seg_len = num_frames // fragments_t
  span = fsize_t * frame_interval
  shape = (num_clips, fragments_t)
  if seg_len > span:
    jitter = as_generator(rng).integers(0, seg_len - span, size=shape)
  else:
    jitter = np.zeros(shape, np.int64)
  starts = seg_len * np.arange(fragments_t) + jitter
  indices = starts[..., None] + np.arange(fsize_t) * frame_interval
  return (indices % num_frames).reshape(-1)
