"""What one element of each input stream is: the per-record work.

Each class here turns one record (an example dict of ``jvqa.data.
builder_lib.vqa_features``: encoded ``video`` bytes, ``name``, ``mos``,
``num_frames``...) into model input: temporal sampling (``jvqa.data.
temporal``), then decoding only the sampled frames and cutting fragments
(``jvqa.data.clips``). Pixels stay uint8 RGB, channel-last; ImageNet
normalisation happens on the device (``jvqa.data.pipeline.normalize``).

The classes are grain transforms (picklable, so they run in grain's worker
processes). A record that cannot be decoded (``VideoError``) gives a
``Failure`` instead of an element, which the pipeline skips and counts;
evaluation instead keeps a masked row for it so that every record is
accounted for.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import grain
import numpy as np

from jvqa.data import clips, temporal
from jvqa.data.scenes import Scene, text
from jvqa.errors import VideoError


@dataclasses.dataclass(frozen=True)
class Failure:
  """Stands for a record that could not be decoded (it is skipped)."""
  name: str
  reason: str


def video_bytes(value) -> bytes:
  """The encoded video of a record (bytes, or a 0-d object array of them)."""
  if isinstance(value, np.ndarray):
    value = value.item()
  return value


@dataclasses.dataclass(frozen=True)
class Fragments:
  """The spatial sampling: FAST-VQA fragments of ``grid x grid`` patches.

  Attributes:
    grid: cells per side (7).
    patch: patch side in pixels (32); the fragment side is grid * patch.
    aligned: consecutive sampled frames sharing one set of patch offsets;
      None: all frames of the element.
  """
  grid: int = 7
  patch: int = 32
  aligned: int | None = None

  @property
  def side(self) -> int:
    """Side of a fragment in pixels."""
    return self.grid * self.patch

  def load(self, record: dict, indices: np.ndarray, rng, *, views: bool,
           offset_seed: int | None = None):
    """``clips.load_views`` (views) or random ``clips.load_fragments``.

    ``offset_seed``, when given, replaces ``rng`` by a generator seeded with
    it, so that records of the same frame size get the same patch offsets.
    """
    if offset_seed is not None:
      rng = np.random.default_rng(offset_seed)
    options = dict(grid=self.grid, patch=self.patch, aligned=self.aligned,
                   rng=rng, name=text(record["name"]))
    source = video_bytes(record["video"])
    if views:
      return clips.load_views(source, indices, **options)
    return clips.load_fragments(source, indices, **options)


@dataclasses.dataclass(frozen=True)
class ClipItem(grain.transforms.RandomMap):
  """SSL-VQA's training element: one clip, as two views or one fragment.

  One clip of ``clip_len`` frames at stride ``frame_interval`` from
  ``SampleFrames`` in train mode (random start); then either the two
  quality-consistent views T' (``view1``) and T'' (``view2``) of the same
  frames (``views=True``), or one random fragment sample (``video``).

  Attributes:
    clip_len: frames per clip (32).
    frame_interval: stride between them (2).
    fragments: the spatial sampling.
    views: two views (SSL-VQA) or one fragment clip.
    with_mos: add ``mos`` (labelled) or not (unlabelled).
    mos_scale: ``mos`` is the record's MOS times this (SSL-VQA: 1/100).
  """
  clip_len: int = 32
  frame_interval: int = 2
  fragments: Fragments = Fragments()
  views: bool = True
  with_mos: bool = True
  mos_scale: float = 1.0

  def random_map(self, element: dict, rng: np.random.Generator):
    """The element of a record, or a ``Failure``."""
    name = text(element["name"])
    indices = temporal.sample_frames(
        int(element["num_frames"]), clip_len=self.clip_len,
        frame_interval=self.frame_interval, num_clips=1, train=True, rng=rng)
    try:
      pixels = self.fragments.load(element, indices, rng, views=self.views)
    except VideoError as e:
      return Failure(name, e.reason)
    out = ({"view1": pixels[0], "view2": pixels[1]} if self.views
           else {"video": pixels})
    if self.with_mos:
      out["mos"] = np.float32(float(element["mos"]) * self.mos_scale)
    return out


@dataclasses.dataclass(frozen=True)
class ScenePlan:
  """The draws of one ST-VQRL scene item, shared by all its versions.

  Attributes:
    versions: record indices, the reference first.
    indices: ``num_clips * clip_len`` frame indices, clip after clip.
    offset_seed: seeds the patch offsets of every version (same frame size,
      so the same offsets).
  """
  versions: tuple[int, ...]
  indices: np.ndarray
  offset_seed: int


@dataclasses.dataclass(frozen=True)
class SceneItem(grain.transforms.RandomMap):
  """ST-VQRL's element: K = k+1 versions of a scene, two clips each.

  The reference and ``k`` distorted versions drawn without replacement;
  ``SampleFrames(clip_len, frame_interval, num_clips)`` in train mode on the
  reference's frame count minus ``frame_margin``; the same frame indices and
  the same patch offsets for every version (the original's ``aligned=64``:
  one offset set for both clips; ``fragments.aligned=None``).

  Attributes:
    source: random-access source of the records the scenes index.
    k: distorted versions per item (9).
    clip_len: frames per clip (32).
    frame_interval: stride (2).
    num_clips: temporal clips, the contrastive views (2).
    frame_margin: frames left out at the end (5: versions whose frame rate
      was converted may be a few frames short).
    fragments: the spatial sampling.
  """
  source: Any = dataclasses.field(repr=False, compare=False)
  k: int = 9
  clip_len: int = 32
  frame_interval: int = 2
  num_clips: int = 2
  frame_margin: int = 5
  fragments: Fragments = Fragments()

  def plan(self, scene: Scene, rng: np.random.Generator) -> ScenePlan:
    """Draws the versions, the frame indices and the offset seed."""
    chosen = rng.choice(len(scene.distorted), size=self.k, replace=False)
    versions = (scene.reference,) + tuple(scene.distorted[i] for i in chosen)
    indices = temporal.sample_frames(
        max(scene.num_frames - self.frame_margin, 1), clip_len=self.clip_len,
        frame_interval=self.frame_interval, num_clips=self.num_clips,
        train=True, rng=rng)
    return ScenePlan(versions, indices, int(rng.integers(2**63 - 1)))

  def load(self, plan: ScenePlan) -> np.ndarray:
    """``(K, num_clips, clip_len, side, side, 3)`` uint8 of a plan."""
    side = self.fragments.side
    videos = [self.fragments.load(self.source[i], plan.indices, None,
                                  views=False, offset_seed=plan.offset_seed)
              for i in plan.versions]
    return np.stack(videos).reshape(
        (len(plan.versions), self.num_clips, self.clip_len, side, side, 3))

  def random_map(self, element: Scene, rng: np.random.Generator):
    """The ``{"video": ...}`` element of a scene, or a ``Failure``."""
    try:
      return {"video": self.load(self.plan(element, rng))}
    except VideoError as e:
      return Failure(element.name, e.reason)


@dataclasses.dataclass(frozen=True)
class EvalItem(grain.transforms.Map):
  """SSL-VQA's test element, or a masked row for padding and bad records.

  ``FragmentSampleFrames(fsize_t, fragments_t, frame_interval, num_clips)``,
  then fragments with ``aligned`` frames per offset set. The draws come from
  ``np.random.default_rng((seed, record index))``, so a record's input
  depends only on the seed, not on batch size, worker or process count.
  Elements are ``(record index, record)`` pairs; index -1 is padding.

  Attributes:
    seed: the evaluation seed.
    fsize_t: frames per temporal segment (8).
    fragments_t: temporal segments (8).
    frame_interval: stride within a segment (2).
    num_clips: clips per video (2).
    fragments: the spatial sampling (``aligned=32``).
    mos_scale: ``mos`` is the record's MOS times this.
  """
  seed: int = 0
  fsize_t: int = 8
  fragments_t: int = 8
  frame_interval: int = 2
  num_clips: int = 2
  fragments: Fragments = Fragments(aligned=32)
  mos_scale: float = 1.0

  @property
  def clip_len(self) -> int:
    """Frames per clip."""
    return self.fsize_t * self.fragments_t

  def _row(self, video, mos: float, name: str, mask: bool) -> dict:
    """One row; a named row without mask counts as a skipped record."""
    return {"video": video, "mos": np.float32(mos * self.mos_scale),
            "name": np.asarray(name), "mask": np.bool_(mask),
            "skipped": np.int64(bool(name) and not mask)}

  def _empty(self, name: str, mos: float) -> dict:
    """A masked row of zeros (padding, or a record that failed)."""
    side = self.fragments.side
    video = np.zeros((self.num_clips, self.clip_len, side, side, 3), np.uint8)
    return self._row(video, mos, name, False)

  def map(self, element: tuple[int, dict]) -> dict:
    """The row of a ``(record index, record)`` pair."""
    index, record = element
    if index < 0:
      return self._empty("", 0.0)
    name, mos = text(record["name"]), float(record["mos"])
    rng = np.random.default_rng((self.seed, index))
    indices = temporal.sample_fragment_frames(
        int(record["num_frames"]), fsize_t=self.fsize_t,
        fragments_t=self.fragments_t, frame_interval=self.frame_interval,
        num_clips=self.num_clips, rng=rng)
    try:
      video = self.fragments.load(record, indices, rng, views=False)
    except VideoError:
      return self._empty(name, mos)
    side = self.fragments.side
    video = video.reshape((self.num_clips, self.clip_len, side, side, 3))
    return self._row(video, mos, name, True)


@dataclasses.dataclass(frozen=True)
class PristineItem(grain.transforms.RandomMap):
  """SSL-VQA's pristine clips of one reference video.

  ``SampleFrames(clip_len, frame_interval, num_clips)`` in test mode (clips
  centred in equal segments), fragments with ``aligned=clip_len`` (fresh
  offsets per clip).

  Attributes:
    clip_len: frames per clip (32).
    frame_interval: stride (2).
    num_clips: clips per video (4).
    fragments: the spatial sampling (``aligned=32``).
  """
  clip_len: int = 32
  frame_interval: int = 2
  num_clips: int = 4
  fragments: Fragments = Fragments(aligned=32)

  def random_map(self, element: dict, rng: np.random.Generator):
    """``{"video": (num_clips, clip_len, side, side, 3), "name"}``."""
    name = text(element["name"])
    indices = temporal.sample_frames(
        int(element["num_frames"]), clip_len=self.clip_len,
        frame_interval=self.frame_interval, num_clips=self.num_clips,
        train=False)
    try:
      video = self.fragments.load(element, indices, rng, views=False)
    except VideoError as e:
      return Failure(name, e.reason)
    side = self.fragments.side
    return {"video": video.reshape((self.num_clips, self.clip_len, side,
                                    side, 3)),
            "name": np.asarray(name)}


class Subset(Sequence):
  """The records of ``source`` at ``indices``, as a random-access source."""

  def __init__(self, source, indices: Sequence[int]):
    self.source = source
    self.indices = np.asarray(indices, np.int64)

  def __len__(self) -> int:
    return int(self.indices.size)

  def __getitem__(self, i):
    return self.source[int(self.indices[i])]


class IndexedSlots(Sequence):
  """``(record index, record)`` of ``indices``, then ``(-1, {})`` padding.

  Args:
    source: the records.
    indices: the record indices to yield, in order.
    length: total slots (at least ``len(indices)``).
  """

  def __init__(self, source, indices: Sequence[int], length: int):
    self.source = source
    self.indices = np.asarray(indices, np.int64)
    self.length = int(length)

  def __len__(self) -> int:
    return self.length

  def __getitem__(self, i):
    if i >= self.indices.size:
      return (-1, {})
    index = int(self.indices[i])
    return (index, self.source[index])
