"""HEKE's four FR weak labels of a (reference, distorted) luma pair, pooled per segment.

``weak_labels`` runs the chosen metrics and returns, per metric, its scores
(one per frame for MS-SSIM and GMSD, per 3-frame slice for ST-GMSD, per
non-overlapping frame pair for ST-RRED), their mean, and optionally the
per-segment means.

Segment pooling is an inference: HEKE stores 4 per-segment scalars per video
(16-frame segments from ``info['seg']`` starts), but the script that made
them from the per-frame scores is not published. ``segment_scores`` takes
the mean of the scores whose frames all lie in the segment: frames
s..s+L-1 for MS-SSIM and GMSD, slices t with s <= t and t+2 <= s+L-1 for
ST-GMSD, pairs (2p, 2p+1) inside the segment for ST-RRED.
"""

from collections.abc import Callable, Sequence

import numpy as np

from jvqa.errors import InputError
from jvqa.fr.gmsd import gmsd
from jvqa.fr.ms_ssim import ms_ssim
from jvqa.fr.st_gmsd import st_gmsd
from jvqa.fr.st_rred import st_rred

# name -> (function of (ref, dst) luma videos, frames one score covers,
#          frame step between consecutive scores).
METRICS: dict[str, tuple[Callable, int, int]] = {
    "ms_ssim": (ms_ssim, 1, 1),
    "gmsd": (gmsd, 1, 1),
    "st_gmsd": (st_gmsd, 3, 1),
    "st_rred": (st_rred, 2, 2),
}
SEGMENT_LENGTH = 16


def value_frames(metric: str, count: int) -> tuple[np.ndarray, np.ndarray]:
  """First and last frame (inclusive) each of ``count`` scores of a metric covers."""
  _, span, step = _metric(metric)
  first = np.arange(count) * step
  return first, first + span - 1


def _metric(name: str) -> tuple[Callable, int, int]:
  if name not in METRICS:
    raise ValueError(f"unknown FR metric {name!r}; known: {', '.join(METRICS)}")
  return METRICS[name]


def segment_scores(scores, metric: str, starts: Sequence[int],
                   length: int = SEGMENT_LENGTH) -> np.ndarray:
  """Means of a metric's scores over segments (inferred HEKE aggregation).

  Args:
    scores: (K,) scores of ``metric`` as ``weak_labels`` gives them.
    metric: a key of ``METRICS`` (it fixes which frames each score covers).
    starts: first frame of each segment (0-based).
    length: frames per segment.

  Returns:
    (len(starts),) float64 means of the scores whose frames lie in each
    segment.

  Raises:
    ValueError: a segment that holds no whole score.
  """
  scores = np.asarray(scores, np.float64)
  first, last = value_frames(metric, scores.shape[0])
  out = []
  for start in starts:
    inside = (first >= start) & (last <= start + length - 1)
    if not inside.any():
      raise ValueError(f"segment {start}..{start + length - 1} holds no whole {metric} "
                       f"score ({scores.shape[0]} scores)")
    out.append(scores[inside].mean())
  return np.asarray(out)


def _check_pair(reference_y, distorted_y) -> tuple[np.ndarray, np.ndarray]:
  ref, dst = np.asarray(reference_y), np.asarray(distorted_y)
  if ref.ndim != 3:
    raise InputError("reference luma", f"must be (N, H, W), got shape {ref.shape}")
  if dst.shape != ref.shape:
    raise InputError("distorted luma", f"shape {dst.shape} differs from the "
                     f"reference's {ref.shape}")
  return ref, dst


def weak_labels(reference_y, distorted_y, metrics: Sequence[str] = tuple(METRICS),
                segment_starts: Sequence[int] | None = None,
                segment_length: int = SEGMENT_LENGTH) -> dict[str, dict]:
  """Runs HEKE's FR metrics on a luma pair.

  Args:
    reference_y: (N, H, W) reference luma in 0-255 (uint8 or float).
    distorted_y: (N, H, W) distorted luma.
    metrics: names from ``METRICS``.
    segment_starts: optional segment first frames for ``segment_scores``.
    segment_length: frames per segment.

  Returns:
    metric -> ``{"per_frame": (K,) array, "first_frame": (K,) ints,
    "mean": float}``, plus ``"segments"`` (one mean per start) when
    ``segment_starts`` is given. Raw scores: see ``jvqa.fr.scaling`` for the
    label scale.
  """
  ref, dst = _check_pair(reference_y, distorted_y)
  out = {}
  for name in metrics:
    fn, span, _ = _metric(name)
    if ref.shape[0] < span:
      raise InputError("reference luma", f"{name} needs at least {span} frames, "
                       f"got {ref.shape[0]}")
    scores = np.asarray(fn(ref, dst), np.float64)
    first, _ = value_frames(name, scores.shape[0])
    out[name] = {"per_frame": scores, "first_frame": first, "mean": float(np.mean(scores))}
    if segment_starts is not None:
      out[name]["segments"] = segment_scores(scores, name, segment_starts, segment_length)
  return out
