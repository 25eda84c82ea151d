"""BVQA-HEKE's evaluation input: which frames, how they are shrunk and normalised.

The feature-extraction scripts of Sissuire/BVQA-HEKE (reference §2.3) feed a
video to the frozen encoder as follows:

* **Snippets** (R(2+1)D): ``T`` snippets of ``N = 8`` frames, ``T = 12`` for
  the synthetic (full-reference) databases and ``10`` for the authentic (UGC)
  ones. With ``ts = 2`` (``4`` from 480 frames on: the frame count stands in
  for the frame rate), ``offset = 10`` and ``stride = (n − 2·offset −
  ts·N)/(T − 1)``, snippet ``i`` starts at 0-based frame ``int(i·stride +
  offset − 1)`` (truncated towards zero) and takes every ``ts``-th frame from
  there. A LIVE video of 250 frames gives starts 9, 28, 47, …, 223.
* **Frame pairs** (ResNet variant): ``T = 20`` pairs ``(p, p + ts)`` with ``p
  = int(i·stride + offset − 1)`` and ``stride = (n − 2·offset − ts)/(T − 1)``.
* **Spatial size**: no interpolation. Frames are shrunk by an integer factor
  ``scale = ceil(min(W, H)/256)`` (minus 1 when ``min(W, H) > 760``): the
  frame is cropped to a multiple of ``scale`` (the bottom/right remainder is
  dropped) and ``scale × scale`` blocks are averaged in float. LIVE's 768×432
  becomes 384×216, the pretraining size; other databases keep their own
  aspect and size (CSIQ 416×240, 1080p 480×270, ...), which the fully
  convolutional encoders accept.
* **Normalisation**: ImageNet mean/std on the averaged float pixels (not
  re-quantised to uint8), ``jvqa.data.normalize.normalize_imagenet``.

Only the frames the snippets use are decoded (``jvqa.io.video.map_frames``),
and each is averaged down as soon as it is decoded, so a 1080p video costs
96 small frames of memory, not 96 full ones.

Short videos (jvqa's choice; the original indexes out of range or, with
negative indices, wraps to the end of the clip): when the original's indices
fall outside ``[0, n)``, the snippets are spread evenly instead:
``ts`` is halved until a snippet (``ts·(N − 1) + 1`` frames) fits, and the
starts are ``floor(linspace(0, n − span, T))``; a video shorter than ``N``
frames repeats its last frame. The original's indices are kept whenever they
fit, even where ``stride`` is negative (snippets then overlap and run
backwards, as the original would read them).
"""

from __future__ import annotations

import math

import av
import numpy as np

from jvqa.data.normalize import normalize_imagenet
from jvqa.io import video

SNIPPET_FRAMES = 8  # N: frames per snippet.
SYNTHETIC_SNIPPETS = 12  # T for the synthetic (full-reference) databases.
AUTHENTIC_SNIPPETS = 10  # T for the authentic (UGC) databases.
RESNET_PAIRS = 20  # T for the ResNet variant (one frame pair each).
OFFSET = 10  # frames skipped at each end.
LONG_VIDEO = 480  # from this many frames on, ts = 4 instead of 2.
BOX_SIDE = 256  # the box-averaging factor brings min(W, H) to about this.
LARGE_SIDE = 760  # above it, one step less of averaging.


def temporal_step(num_frames: int) -> int:
  """``ts``: 2 below ``LONG_VIDEO`` frames, else 4."""
  return 2 if num_frames < LONG_VIDEO else 4


def _check_counts(num_frames: int, count: int, what: str) -> None:
  if num_frames < 1:
    raise ValueError(f"a video needs at least one frame, got num_frames={num_frames}")
  if count < 1:
    raise ValueError(f"{what} must be >= 1, got {count}")


def original_starts(num_frames: int, count: int, span: int) -> np.ndarray:
  """The original's ``int(i·stride + offset − 1)`` for ``i < count``.

  Args:
    num_frames: frames in the video.
    count: snippets (or pairs) T.
    span: ``ts·N`` for snippets, ``ts`` for pairs (the original's formula).

  Returns:
    int64 starts, possibly out of range for short videos.
  """
  stride = (num_frames - 2 * OFFSET - span) / (count - 1) if count > 1 else 0.0
  return (np.arange(count) * stride + OFFSET - 1).astype(np.int64)


def _spread(num_frames: int, count: int, length: int, ts: int) -> np.ndarray:
  """jvqa's fallback for short videos: ``(count, length)`` indices inside the video."""
  while ts > 1 and ts * (length - 1) + 1 > num_frames:
    ts //= 2
  span = ts * (length - 1) + 1
  if span > num_frames:
    return np.broadcast_to(np.minimum(np.arange(length), num_frames - 1),
                           (count, length)).astype(np.int64)
  starts = np.floor(np.linspace(0, num_frames - span, count)).astype(np.int64)
  return starts[:, None] + ts * np.arange(length)


def _inside(indices: np.ndarray, num_frames: int) -> bool:
  return bool(indices.min() >= 0 and indices.max() < num_frames)


def snippet_indices(num_frames: int, num_snippets: int = SYNTHETIC_SNIPPETS,
                    frames: int = SNIPPET_FRAMES) -> np.ndarray:
  """Frame indices of the R(2+1)D snippets, ``(num_snippets, frames)`` int64.

  The original's rule (module docstring); jvqa's even spread when it would
  read outside the video.
  """
  _check_counts(num_frames, num_snippets, "num_snippets")
  _check_counts(num_frames, frames, "frames")
  ts = temporal_step(num_frames)
  starts = original_starts(num_frames, num_snippets, ts * frames)
  indices = starts[:, None] + ts * np.arange(frames)
  if _inside(indices, num_frames):
    return indices
  return _spread(num_frames, num_snippets, frames, ts)


def pair_indices(num_frames: int, num_pairs: int = RESNET_PAIRS) -> np.ndarray:
  """Frame indices ``(p, p + ts)`` of the ResNet variant, ``(num_pairs, 2)`` int64."""
  _check_counts(num_frames, num_pairs, "num_pairs")
  ts = temporal_step(num_frames)
  starts = original_starts(num_frames, num_pairs, ts)
  indices = np.stack([starts, starts + ts], axis=1)
  if _inside(indices, num_frames):
    return indices
  return _spread(num_frames, num_pairs, 2, ts)


def box_scale(width: int, height: int) -> int:
  """The integer averaging factor: ``ceil(min/256)``, one less above 760 px."""
  side = min(int(width), int(height))
  if side < 1:
    raise ValueError(f"frame size must be positive, got {width}x{height}")
  scale = math.ceil(side / BOX_SIDE)
  if side > LARGE_SIDE:
    scale -= 1
  return max(scale, 1)


def box_average(frame: np.ndarray, scale: int) -> np.ndarray:
  """Averages ``scale × scale`` blocks of ``(..., H, W, C)`` pixels, float32.

  The bottom rows and right columns that do not fill a block are dropped
  first, as the original crops ``img[:H//s·s, :W//s·s]``.
  """
  frame = np.asarray(frame)
  if scale == 1:
    return frame.astype(np.float32)
  *lead, h, w, c = frame.shape
  hc, wc = h // scale, w // scale
  if hc < 1 or wc < 1:
    raise ValueError(f"a {w}x{h} frame is smaller than the {scale}x{scale} averaging box")
  blocks = frame[..., :hc * scale, :wc * scale, :].astype(np.float32)
  blocks = blocks.reshape(*lead, hc, scale, wc, scale, c)
  return blocks.sum(axis=(-4, -2)) / np.float32(scale * scale)


def _small_frame(position: int, frame: av.VideoFrame) -> np.ndarray:
  """A ``map_frames`` function: the decoded frame, RGB, box-averaged (float32)."""
  del position
  return box_average(video.frame_to_rgb(frame), box_scale(frame.width, frame.height))


def load_frames(source: video.Source, indices: np.ndarray, *,
                name: str | None = None) -> np.ndarray:
  """The frames at ``indices`` (any shape), box-averaged and ImageNet-normalised.

  Args:
    source: a path, or the encoded bytes of a video file.
    indices: int frame indices, e.g. from ``snippet_indices``; each distinct
      frame is decoded and averaged once.
    name: the video's name in error messages.

  Returns:
    float32 ``indices.shape + (h, w, 3)``.

  Raises:
    VideoError: the video cannot be read, or an index is out of its range.
  """
  indices = np.asarray(indices, np.int64)
  unique, inverse = np.unique(indices, return_inverse=True)
  frames = video.map_frames(source, unique, _small_frame, name=name)
  stacked = np.stack(frames)[inverse.reshape(-1)]
  return normalize_imagenet(stacked.reshape(indices.shape + stacked.shape[1:]))


def load_snippets(source: video.Source, num_frames: int, *,
                  num_snippets: int = SYNTHETIC_SNIPPETS, frames: int = SNIPPET_FRAMES,
                  name: str | None = None) -> np.ndarray:
  """The R(2+1)D input of a video, ``(num_snippets, frames, h, w, 3)`` float32."""
  return load_frames(source, snippet_indices(num_frames, num_snippets, frames), name=name)


def load_pairs(source: video.Source, num_frames: int, *, num_pairs: int = RESNET_PAIRS,
               name: str | None = None) -> np.ndarray:
  """The ResNet variant's input, ``(num_pairs, 2, h, w, 3)`` float32 frame pairs.

  ``HekeResnet`` takes frame 0 as the RGB frame and frame 1 − frame 0 (after
  normalisation, as the original) as the difference.
  """
  return load_frames(source, pair_indices(num_frames, num_pairs), name=name)
