"""BVQA-HEKE's pretraining input: one random segment of each WELL-Set video per epoch.

The original (``dataset.py`` ``DatasetTraining`` L386-492, reference §2.3)
gives, for each distorted video and epoch, one of its stored segments drawn
at random, as a clip of 8 frames at stride 2 from the segment's start frame
(frames s, s+2, ..., s+14), each frame whole (no crop, no augmentation),
portrait frames transposed to landscape, at 216×384; the labels are the
segment's four full-reference scores mapped to HEKE's DMOS-like scale
(``jvqa.fr.rescale``) and soft-clamped (``jvqa.fr.soft_clamp``, the
original's ``suppress``). The ResNet variant (``DatasetTraining_RGBDiff``)
reads a frame pair (s, s+2) instead: the same item with ``frames=2``.

Records are ``well_set`` examples: ``video`` (a lossless distorted clip),
``name``, ``num_frames``, ``segments`` (S,) start frames and ``fr_scores``
(S, 4) raw scores in the order [gmsd, st_gmsd, st_rred, ms_ssim], the order
of the model's heads. Pixels stay uint8 (normalised on the device by
``jvqa.data.pipeline.normalize``); only the clip's frames are decoded.

Resizing (``size``): the original's frames were box-averaged offline from
768×432 by an integer factor and truncated to uint8 (commented script in
``dataset.py`` L861-889), so its ``Resize([216, 384])`` did nothing. Here a
frame whose size is an integer multiple of ``size`` is box-averaged and
truncated the same way; any other size is area-averaged
(``jvqa.data.demo_sources.area_resize``, jvqa's choice); ``size=None``
keeps the native size (then every video of a batch must share it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import grain
import numpy as np
from jax.sharding import Mesh

from jvqa import fr
from jvqa.data import pipeline
from jvqa.data.demo_sources import area_resize
from jvqa.data.items import Failure, video_bytes
from jvqa.data.scenes import text
from jvqa.errors import VideoError
from jvqa.heke.clips import box_average
from jvqa.io import video

# fr_scores columns = the model's heads (jvqa.models.heke.KNOWLEDGE), in jvqa.fr's names.
KNOWLEDGE_METRICS = ("gmsd", "st_gmsd", "st_rred", "ms_ssim")
CLIP_FRAMES = 8  # frames per clip (R(2+1)D); 2 for the ResNet variant's frame pair.
FRAME_STRIDE = 2  # ts: frames s, s+2, s+4, ...
PAPER_SIZE = (216, 384)  # (height, width) of the pretraining clips.


def segment_labels(scores, *, rescale: bool = True, clamp: bool = True) -> np.ndarray:
  """One segment's raw [gmsd, st_gmsd, st_rred, ms_ssim] → float32 (4,) labels.

  Args:
    scores: the segment's four raw metric values, in ``KNOWLEDGE_METRICS`` order.
    rescale: map each with ``jvqa.fr.rescale`` (HEKE's constants).
    clamp: then ``jvqa.fr.soft_clamp`` (the original's ``suppress``).
  """
  scores = np.asarray(scores, np.float64).reshape(-1)
  if scores.size != len(KNOWLEDGE_METRICS):
    raise ValueError(f"a segment needs {len(KNOWLEDGE_METRICS)} scores, got {scores.size}")
  if rescale:
    scores = np.asarray([fr.rescale(v, m) for v, m in zip(scores, KNOWLEDGE_METRICS)])
  if clamp:
    scores = fr.soft_clamp(scores)
  return scores.astype(np.float32)


def clip_indices(start: int, num_frames: int, frames: int = CLIP_FRAMES,
                 stride: int = FRAME_STRIDE) -> np.ndarray:
  """Frames ``start, start + stride, ...`` (``frames`` of them), int64.

  Indices past the video's end repeat its last frame (jvqa's choice: the
  original would fail to open the PNG).
  """
  if num_frames < 1:
    raise ValueError(f"a video needs at least one frame, got num_frames={num_frames}")
  indices = int(start) + stride * np.arange(frames, dtype=np.int64)
  return np.clip(indices, 0, num_frames - 1)


def to_landscape(frames: np.ndarray) -> np.ndarray:
  """``(T, H, W, C)`` with H > W transposed to ``(T, W, H, C)`` (PIL ``TRANSPOSE``)."""
  if frames.shape[1] > frames.shape[2]:
    return np.ascontiguousarray(frames.transpose(0, 2, 1, 3))
  return frames


def resize(frames: np.ndarray, size: Sequence[int] | None) -> np.ndarray:
  """``(T, H, W, 3)`` uint8 frames at ``size = (height, width)`` (see the module docstring)."""
  if size is None:
    return frames
  height, width = (int(s) for s in size)
  h, w = frames.shape[1:3]
  if (h, w) == (height, width):
    return frames
  if h % height == 0 and w % width == 0 and h // height == w // width:
    # Truncation to uint8, as the original's offline ``block_reduce(...).astype('uint8')``.
    return box_average(frames, h // height).astype(np.uint8)
  return area_resize(frames, height, width)


@dataclasses.dataclass(frozen=True)
class HekeItem(grain.transforms.RandomMap):
  """One pretraining element: ``video`` (frames, H, W, 3) uint8 and ``labels`` (4,) float32.

  Attributes:
    size: (height, width) of the frames after the landscape transpose;
      None keeps the native size.
    frames: frames per clip (8; 2 gives the ResNet variant's frame pair).
    stride: stride between them (2).
    rescale: apply ``jvqa.fr.rescale`` to the raw scores.
    clamp: apply ``jvqa.fr.soft_clamp`` after it.
  """
  size: tuple[int, int] | None = PAPER_SIZE
  frames: int = CLIP_FRAMES
  stride: int = FRAME_STRIDE
  rescale: bool = True
  clamp: bool = True

  def load(self, record: dict, segment: int) -> dict:
    """The element of ``segment`` of ``record``; ``VideoError`` if it cannot be decoded."""
    name = text(record["name"])
    start = int(np.asarray(record["segments"]).reshape(-1)[segment])
    indices = clip_indices(start, int(record["num_frames"]), self.frames, self.stride)
    pixels = video.decode_frames(video_bytes(record["video"]), indices, name=name)
    pixels = resize(to_landscape(pixels), self.size)
    scores = np.asarray(record["fr_scores"], np.float64).reshape(-1, len(KNOWLEDGE_METRICS))
    labels = segment_labels(scores[segment], rescale=self.rescale, clamp=self.clamp)
    return {"video": pixels, "labels": labels}

  def random_map(self, element: dict, rng: np.random.Generator):
    """One random segment's element, or a ``Failure``."""
    segments = np.asarray(element["segments"]).reshape(-1)
    if segments.size == 0:
      return Failure(text(element["name"]), "no segment")
    try:
      return self.load(element, int(rng.integers(segments.size)))
    except VideoError as e:
      return Failure(text(element["name"]), e.reason)


def heke_stream(source, *, batch_size: int, seed: int, item: HekeItem = HekeItem(),
                mesh: Mesh | None = None, num_epochs: int | None = None,
                options: pipeline.LoaderOptions = pipeline.LoaderOptions()
                ) -> pipeline.Stream:
  """HEKE's pretraining batches: ``video`` (B, frames, H, W, 3) uint8, ``labels`` (B, 4).

  Each pass over the records shuffles them and draws one segment per video
  (seeded per element, so a seed fixes every batch); batches run across
  pass boundaries; undecodable records are skipped and counted; the stream
  is checkpointable (``Stream.get_state``), like ``jvqa.data.pipeline``'s.

  Args:
    source: random-access source of ``well_set`` records.
    batch_size: global batch size (8).
    seed: fixes the order and every draw.
    item: the per-record work.
    mesh: put batches on it, sharded over ``data``; None: numpy batches.
    num_epochs: passes over the records; None: forever.
    options: workers, threads, prefetching.
  """
  ds = pipeline.training_dataset(source, item, seed=seed, num_epochs=num_epochs)
  return pipeline.batched_stream(ds, batch_size=batch_size, mesh=mesh,
                                 keys=("video", "labels"), options=options)
