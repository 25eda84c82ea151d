"""What every jvqa TFDS builder shares: the example features, probing, skip counting.

A VQA example stores the video's original encoded bytes unchanged (no
re-encoding, no rescaling: either would change the quality being measured)
plus its metadata. Builders use ``Tensor``/``Scalar``/``Text`` features and
ArrayRecord files, so neither building nor reading needs TensorFlow (TFDS's
``Video`` feature and the tfrecord format do).
"""

import dataclasses
import logging
import math
import os

import numpy as np
import tensorflow_datasets as tfds

from jvqa.errors import VideoError
from jvqa.io import video

log = logging.getLogger("jvqa.data")

# Score fields hold this where a database publishes no value.
MISSING = float("nan")


def parse_float(text) -> float:
  """A metadata cell as a finite float, or NaN when it is empty or not a number."""
  try:
    value = float(text)
  except (TypeError, ValueError):
    return MISSING
  return value if math.isfinite(value) else MISSING


def vqa_features(*, full_reference: bool = False, **extra) -> tfds.features.FeaturesDict:
  """The features of a VQA example; ``extra`` adds database-specific ones.

  Fields: ``video`` (the encoded file's bytes), ``name`` (the file's path
  relative to the database root, unique), ``mos`` and ``mos_std`` (the
  published subjective score as published, NaN where absent; whether higher
  is better is the builder's ``SCORE`` metadata), ``width``, ``height``,
  ``fps``, ``num_frames`` (probed from the stored bytes). Full-reference
  databases add ``reference`` (the name of the example holding the pristine
  reference, or its own name for a reference) and ``distortion`` (the
  distortion type; ``"reference"`` for a reference).
  """
  features = {
      "video": tfds.features.Tensor(shape=(), dtype=np.object_),
      "name": tfds.features.Text(),
      "mos": tfds.features.Scalar(dtype=np.float32),
      "mos_std": tfds.features.Scalar(dtype=np.float32),
      "width": tfds.features.Scalar(dtype=np.int32),
      "height": tfds.features.Scalar(dtype=np.int32),
      "fps": tfds.features.Scalar(dtype=np.float32),
      "num_frames": tfds.features.Scalar(dtype=np.int32),
  }
  if full_reference:
    features["reference"] = tfds.features.Text()
    features["distortion"] = tfds.features.Text()
  features.update(extra)
  return tfds.features.FeaturesDict(features)


@dataclasses.dataclass
class SkipLog:
  """Counts and names the videos a build skipped, so none aborts it."""
  split: str
  skipped: list = dataclasses.field(default_factory=list)

  def skip(self, name: str, reason: str) -> None:
    self.skipped.append((name, reason))
    log.warning("%s: skipped %s: %s", self.split, name, reason)

  def report(self) -> None:
    if self.skipped:
      log.warning("%s: %d example(s) skipped: %s", self.split, len(self.skipped),
                  ", ".join(name for name, _ in self.skipped))


def video_example(path, *, name: str, mos: float, mos_std: float = MISSING,
                  skips: SkipLog | None = None, data: bytes | None = None,
                  allow_missing_score: bool = False, **extra) -> dict | None:
  """The example for one video file, or None (skipped and logged) if it is unreadable.

  Args:
    path: the video file (also used in messages).
    name: the example's unique name (its key).
    mos: the published score.
    mos_std: its standard deviation where published.
    skips: where a skipped video is counted; without it errors propagate.
    data: the bytes to store instead of the file's (e.g. a losslessly encoded
      raw YUV source); they are probed instead of the file.
    allow_missing_score: store a NaN ``mos`` (corpora without human scores)
      instead of skipping the video.
    **extra: further feature values (``reference``, ``distortion``, ...).
  """
  try:
    if data is None:
      if not os.path.isfile(path):
        raise VideoError(path, "no such file")
      with open(path, "rb") as f:
        data = f.read()
    info = video.probe(data, name=os.fspath(path))
  except VideoError as e:
    if skips is None:
      raise
    skips.skip(name, e.reason)
    return None
  if mos is None and allow_missing_score:
    mos = MISSING
  if not allow_missing_score and (mos is None or not math.isfinite(float(mos))):
    if skips is None:
      raise VideoError(path, f"score {mos!r} is not a number")
    skips.skip(name, f"score {mos!r} is not a number")
    return None
  return {
      "video": data,
      "name": name,
      "mos": float(mos),
      "mos_std": float(mos_std),
      "width": info.width,
      "height": info.height,
      "fps": info.fps,
      "num_frames": info.num_frames,
      **extra,
  }
