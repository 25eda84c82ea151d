"""Grain input pipelines of the trainers: records → clips → batches on the mesh.

Every stream reads a random-access source of example dicts (``tfds.
data_source(name, split=..., data_dir=...)``, or a plain list in tests),
turns each record into model input in grain (``jvqa.data.items``: sample
frames, decode only those, cut fragments or views), batches, and puts the
batch on the device mesh sharded over ``data`` (each process feeds its own
slice: ``jvqa.parallel.shard_batch``). The streams:

* ``labelled`` / ``unlabelled``: SSL-VQA's two training streams, one clip of
  32 frames per video as two quality-consistent views (or one fragment
  clip), with ``mos`` for the labelled one; both cycle forever by default.
* ``scenes``: ST-VQRL's scene items (reference + k distorted versions, two
  clips, one crop), grouped by the ``reference`` field.
* ``pristine_corpus``: SSL-VQA's pristine clips (4 test-mode clips per
  reference video), as one array to draw from each epoch.
* ``evaluation``: SSL-VQA's test sampling, every record exactly once, in
  source order, the last batch padded and masked.

Design:

* **Pixels stay uint8 to the device.** ImageNet normalisation is the
  trainer's first op (``normalize``, jitted): a batch is 4x smaller to copy
  and to keep in prefetch buffers, and the subtraction/division costs the
  host seconds per batch, the accelerator nothing (``benchmarks/
  input_pipeline.py`` measures both).
* **Deterministic.** Shuffling and every random draw are seeded per element
  from the stream's seed and the element's position (grain ``random_map``;
  evaluation: the record index), so a seed fixes every batch. With
  ``worker_count > 0`` each grain worker processes every n-th element and
  grain interleaves them back in order; records are skipped and batches
  formed in the main process, after the workers, so the batches are the same
  for any worker count and thread count (tested for 0 and 2 workers).
* **Bad records are skipped, never fatal.** A record raising ``VideoError``
  becomes a ``Failure`` in the worker; the main process drops it, logs its
  name and counts it. The count rides with the batch (so it is exact however
  far the prefetching runs ahead) and ``Stream.stats["skipped"]`` totals it.
* **Checkpointable.** ``Stream.get_state()`` is a JSON-able dict (grain's
  iterator state + the counters) for ``jvqa.checkpoint.Checkpointer.save(...,
  data_state=...)``; ``set_state`` on a new stream built with the same
  arguments continues with the same batches. The state records the worker
  count: restore with the same ``worker_count``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import weakref
from collections.abc import Iterable, Sequence

import grain
import jax
import jax.numpy as jnp
import numpy as np
from absl import flags
from jax.sharding import Mesh

from jvqa import parallel
from jvqa.data import items, scenes as scenes_lib
from jvqa.data import normalize as normalize_lib
from jvqa.data.items import Fragments
from jvqa.errors import ConfigError

log = logging.getLogger("jvqa.data")

SKIPPED = "skipped"
_MEAN = np.asarray(normalize_lib.IMAGENET_MEAN, np.float32)
_STD = np.asarray(normalize_lib.IMAGENET_STD, np.float32)


@jax.jit
def normalize(x: jax.Array) -> jax.Array:
  """``normalize_imagenet`` on device: ``(x - mean) / std`` in float32.

  The same constants and float32 operations as ``jvqa.data.normalize.
  normalize_imagenet``; results agree to 1 ulp (XLA divides by multiplying
  with the reciprocal of std). The trainer applies it first to the uint8
  batches; inside a jitted step it fuses with the first layer.
  """
  return (x.astype(jnp.float32) - _MEAN) / _STD


@dataclasses.dataclass(frozen=True)
class LoaderOptions:
  """How a stream is computed; none of these changes what it yields.

  Attributes:
    worker_count: grain worker processes (0: all in this process).
    read_threads: threads per process decoding records (PyAV releases the
      GIL while decoding, so threads help even without workers).
    prefetch: batches prepared ahead on the host (and one more on device).
  """
  worker_count: int = 0
  read_threads: int = 2
  prefetch: int = 2


def _allow_workers() -> None:
  """Grain workers read absl flags; outside ``absl.app.run`` mark them parsed."""
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()


class _SkipFailedIterator(grain.DatasetIterator):
  """Drops ``Failure`` elements, logging them; counts them on the next element.

  ``total`` also counts failures after the last element of a finite stream.
  """

  def __init__(self, parent: grain.DatasetIterator):
    super().__init__(parent)
    self.total = 0

  def __next__(self):
    skipped = 0
    while True:
      element = next(self._parent)
      if not isinstance(element, items.Failure):
        return {**element, SKIPPED: np.int64(skipped)}
      skipped += 1
      self.total += 1
      log.warning("skipped %s: %s", element.name, element.reason)

  def get_state(self):
    return self._parent.get_state()

  def set_state(self, state):
    self._parent.set_state(state)


class _SkipFailed(grain.IterDataset):
  """See ``_SkipFailedIterator``."""

  def __iter__(self) -> grain.DatasetIterator:
    return _SkipFailedIterator(self._parent.__iter__())


@dataclasses.dataclass(frozen=True)
class _Place:
  """Puts the ``keys`` of a batch on the mesh, sharded over ``data``."""
  mesh: Mesh
  keys: tuple[str, ...]

  def __call__(self, batch: dict) -> dict:
    return {k: parallel.shard_batch(v, self.mesh) if k in self.keys else v
            for k, v in batch.items()}


class _Handle:
  """Owns a grain iterator; ``close`` closes it and lets it go.

  Letting go matters at exit: a grain iterator still alive at module
  teardown fails noisily in its ``__del__``.
  """

  def __init__(self, iterator: grain.DatasetIterator):
    self.iterator = iterator

  def close(self) -> None:
    iterator, self.iterator = self.iterator, None
    if iterator is not None:
      iterator.close()


class Stream:
  """An iterator of batches with a checkpointable state and statistics.

  Batches are dicts: pixel arrays ``(B, ...)`` uint8 and labels, global
  ``jax.Array``s sharded over ``data`` when the stream has a mesh (numpy
  otherwise); ``name`` (evaluation) stays a host numpy array.

  Attributes:
    num_batches: batches per pass for a finite stream, else None.
  """

  def __init__(self, dataset: grain.IterDataset, *,
               num_batches: int | None = None):
    self._handle = _Handle(dataset.__iter__())
    self.num_batches = num_batches
    self._batches = 0
    self._skipped = 0
    # Closes grain's threads and workers when the stream is collected or,
    # at the latest, at exit (before module teardown).
    self._finalizer = weakref.finalize(self, self._handle.close)

  @property
  def _iterator(self) -> grain.DatasetIterator:
    if self._handle.iterator is None:
      raise ValueError("the stream is closed")
    return self._handle.iterator

  def __iter__(self) -> Stream:
    return self

  def __next__(self) -> dict:
    try:
      batch = next(self._iterator)
    except StopIteration:
      self.close()
      raise
    self._batches += 1
    self._count_skipped(batch)
    return batch

  def _count_skipped(self, batch: dict) -> None:
    """Pops the per-row skip counts; logs the names of masked bad records."""
    skipped = np.asarray(batch.pop(SKIPPED))
    if not skipped.any():
      return
    self._skipped += int(skipped.sum())
    if "name" in batch:
      names = np.asarray(batch["name"])[skipped > 0]
      log.warning("not decodable, masked: %s", ", ".join(map(str, names)))
    log.warning("%d record(s) skipped so far", self._skipped)

  @property
  def stats(self) -> dict[str, int]:
    """``batches`` delivered and records ``skipped`` (undecodable) so far."""
    return {"batches": self._batches, "skipped": self._skipped}

  def get_state(self) -> dict:
    """JSON-able state after the last batch returned."""
    return {"grain": self._iterator.get_state(), **self.stats}

  def set_state(self, state: dict) -> None:
    """Continues from ``state`` (from a stream built the same way)."""
    self._iterator.set_state(state["grain"])
    self._batches = int(state["batches"])
    self._skipped = int(state["skipped"])

  def close(self) -> None:
    """Stops prefetching and grain's worker processes."""
    self._finalizer()

  def __enter__(self) -> Stream:
    return self

  def __exit__(self, *exc) -> None:
    self.close()


def _local_batch_size(batch_size: int, mesh: Mesh | None) -> int:
  """This process's rows of a global batch."""
  if batch_size < 1:
    raise ConfigError(f"batch size must be >= 1, got {batch_size}")
  if mesh is None:
    return batch_size
  return parallel.check_batch_size(batch_size, mesh)


def _this_process(ds: grain.MapDataset) -> grain.MapDataset:
  """Every process_count-th element, from this process's index on."""
  if jax.process_count() == 1:
    return ds
  return ds[jax.process_index()::jax.process_count()]


def training_dataset(elements: Sequence, item, *, seed: int,
                     num_epochs: int | None) -> grain.MapDataset:
  """Shuffled, repeated elements mapped by ``item`` (seeded per position)."""
  ds = grain.MapDataset.source(elements).seed(seed).shuffle()
  ds = ds.repeat(num_epochs).random_map(item)
  return _this_process(ds)


def _elements(ds: grain.MapDataset, options: LoaderOptions) -> grain.IterDataset:
  """Elements computed by threads (and worker processes), in order."""
  threads = max(options.read_threads, 0)
  read = grain.ReadOptions(num_threads=threads,
                           prefetch_buffer_size=max(2 * threads, 1))
  it = ds.to_iter_dataset(read)
  if options.worker_count > 0:
    _allow_workers()
    it = it.mp_prefetch(grain.MultiprocessingOptions(
        num_workers=options.worker_count, per_worker_buffer_size=2))
  return it


def _stream(it: grain.IterDataset, *, mesh: Mesh | None,
            keys: Iterable[str], options: LoaderOptions,
            num_batches: int | None = None) -> Stream:
  """Prefetches batches and places ``keys`` on the mesh."""
  if options.prefetch > 0:
    it = grain.experimental.ThreadPrefetchIterDataset(
        it, prefetch_buffer_size=options.prefetch)
  if mesh is not None:
    it = it.map(_Place(mesh, tuple(keys)))
    it = grain.experimental.ThreadPrefetchIterDataset(it,
                                                      prefetch_buffer_size=1)
  return Stream(it, num_batches=num_batches)


def batched_stream(ds: grain.MapDataset, *, batch_size: int, mesh: Mesh | None,
                   keys: Iterable[str], options: LoaderOptions) -> Stream:
  """Skips failures, batches (dropping a last partial batch), places."""
  it = _SkipFailed(_elements(ds, options))
  it = it.batch(_local_batch_size(batch_size, mesh), drop_remainder=True)
  return _stream(it, mesh=mesh, keys=keys, options=options)


def _records(source, indices: Sequence[int] | None):
  """``source`` or the records of it at ``indices``."""
  return source if indices is None else items.Subset(source, indices)


def labelled(source, *, batch_size: int, seed: int,
             indices: Sequence[int] | None = None, mesh: Mesh | None = None,
             clip_len: int = 32, frame_interval: int = 2,
             fragments: Fragments = Fragments(), views: bool = True,
             mos_scale: float = 1.0, num_epochs: int | None = None,
             options: LoaderOptions = LoaderOptions()) -> Stream:
  """SSL-VQA's labelled stream: ``view1``, ``view2`` (or ``video``), ``mos``.

  Args:
    source: random-access source of example dicts.
    batch_size: global batch size (16).
    seed: fixes the order and every draw.
    indices: the records to use (e.g. the labelled split); None: all.
    mesh: put batches on it, sharded over ``data``; None: numpy batches.
    clip_len: frames per clip (32).
    frame_interval: stride between them (2).
    fragments: the spatial sampling (7 x 7 patches of 32 px).
    views: the two quality-consistent views T' and T'' (``view1``,
      ``view2``, each ``(B, clip_len, side, side, 3)`` uint8), or one
      random fragment clip ``video``.
    mos_scale: ``mos`` (B,) float32 is the record's MOS times this (SSL-VQA
      trains on MOS/100).
    num_epochs: passes over the records; None: forever. Batches run across
      epoch boundaries; only a last partial batch is dropped.
    options: workers, threads, prefetching.

  Returns:
    The batches.
  """
  item = items.ClipItem(clip_len=clip_len, frame_interval=frame_interval,
                        fragments=fragments, views=views, mos_scale=mos_scale)
  ds = training_dataset(_records(source, indices), item, seed=seed,
                        num_epochs=num_epochs)
  keys = ("view1", "view2", "video", "mos")
  return batched_stream(ds, batch_size=batch_size, mesh=mesh, keys=keys,
                        options=options)


def unlabelled(source, *, batch_size: int, seed: int,
               indices: Sequence[int] | None = None, mesh: Mesh | None = None,
               clip_len: int = 32, frame_interval: int = 2,
               fragments: Fragments = Fragments(), views: bool = True,
               options: LoaderOptions = LoaderOptions()) -> Stream:
  """SSL-VQA's unlabelled stream: ``labelled`` without ``mos``, forever.

  Give it a seed of its own: it cycles independently of the labelled one.
  The arguments are ``labelled``'s.
  """
  item = items.ClipItem(clip_len=clip_len, frame_interval=frame_interval,
                        fragments=fragments, views=views, with_mos=False)
  ds = training_dataset(_records(source, indices), item, seed=seed, num_epochs=None)
  return batched_stream(ds, batch_size=batch_size, mesh=mesh,
                        keys=("view1", "view2", "video"), options=options)


def scenes(source, *, batch_size: int, seed: int, mesh: Mesh | None = None,
           metadata: Sequence[dict] | None = None, metadata_cache=None,
           k: int = 9, clip_len: int = 32, frame_interval: int = 2,
           num_clips: int = 2, frame_margin: int = 5,
           fragments: Fragments = Fragments(), num_epochs: int | None = None,
           options: LoaderOptions = LoaderOptions()) -> Stream:
  """ST-VQRL's scene stream: ``video`` ``(B, k+1, num_clips, clip_len, side,
  side, 3)`` uint8, version 0 the reference.

  Each item is one scene (shuffled each epoch) with ``k`` of its distorted
  versions drawn without replacement, the same frame indices (``num_clips``
  train-mode clips on the reference's frame count minus ``frame_margin``)
  and the same patch offsets (one set for all frames: the original's
  ``aligned=64``) for every version.

  Args:
    source: random-access source of full-reference example dicts (with
      ``reference`` and ``distortion``).
    batch_size: global batch size, in scenes (6).
    seed: fixes the order and every draw.
    mesh: as in ``labelled``.
    metadata: ``scenes.read_metadata(source)``, if already read.
    metadata_cache: a JSON file for ``scenes.read_metadata`` (reading the
      metadata reads every record, videos included).
    k: distorted versions per item (9; scenes with fewer are left out).
    clip_len: frames per clip (32).
    frame_interval: stride (2).
    num_clips: temporal clips per item (2).
    frame_margin: frames left out at the end of the reference (5).
    fragments: the spatial sampling; ``aligned`` None shares one offset set
      across both clips.
    num_epochs: passes over the scenes; None: forever.
    options: workers, threads, prefetching.

  Returns:
    The batches.
  """
  if metadata is None:
    metadata = scenes_lib.read_metadata(source, cache=metadata_cache)
  groups = scenes_lib.group_scenes(metadata, min_distorted=k)
  if not groups:
    raise ConfigError(f"no scene with a reference and {k} distorted versions")
  item = items.SceneItem(source, k=k, clip_len=clip_len,
                         frame_interval=frame_interval, num_clips=num_clips,
                         frame_margin=frame_margin, fragments=fragments)
  ds = training_dataset(groups, item, seed=seed, num_epochs=num_epochs)
  return batched_stream(ds, batch_size=batch_size, mesh=mesh, keys=("video",),
                        options=options)


def evaluation(source, *, batch_size: int, seed: int = 0,
               indices: Sequence[int] | None = None, mesh: Mesh | None = None,
               fsize_t: int = 8, fragments_t: int = 8, frame_interval: int = 2,
               num_clips: int = 2, fragments: Fragments = Fragments(aligned=32),
               mos_scale: float = 1.0,
               options: LoaderOptions = LoaderOptions()) -> Stream:
  """SSL-VQA's test input, every record once: ``video``, ``mos``, ``name``, ``mask``.

  ``video`` is ``(B, num_clips, fragments_t * fsize_t, side, side, 3)``
  uint8 (FAST-VQA's ``FragmentSampleFrames``, fragments with ``aligned``
  frames per offset set). Records come in source order (each process takes
  every process_count-th). Rows past the end are padding, and a record that
  cannot be decoded keeps its row with its ``name`` (logged, counted in
  ``stats["skipped"]``); both have ``mask`` False and zero pixels. A
  record's input depends only on ``seed`` and its index.

  Args:
    source: random-access source of example dicts.
    batch_size: global batch size.
    seed: the sampling seed (the original's test sampling is random too).
    indices: the records to score; None: all.
    mesh: as in ``labelled``; ``name`` stays on the host.
    fsize_t: frames per temporal segment (8).
    fragments_t: temporal segments (8).
    frame_interval: stride within a segment (2).
    num_clips: clips per video (2).
    fragments: the spatial sampling (``aligned=32``).
    mos_scale: ``mos`` is the record's MOS times this.
    options: workers, threads, prefetching.

  Returns:
    A finite stream; ``num_batches`` says how many batches it has.
  """
  local = _local_batch_size(batch_size, mesh)
  records = np.arange(len(source)) if indices is None else np.asarray(indices)
  count, index = jax.process_count(), jax.process_index()
  num_batches = math.ceil(math.ceil(records.size / count) / local)
  slots = items.IndexedSlots(source, records[index::count],
                             num_batches * local)
  item = items.EvalItem(seed=seed, fsize_t=fsize_t, fragments_t=fragments_t,
                        frame_interval=frame_interval, num_clips=num_clips,
                        fragments=fragments, mos_scale=mos_scale)
  ds = grain.MapDataset.source(slots).map(item)
  it = _elements(ds, options).batch(local, drop_remainder=False)
  return _stream(it, mesh=mesh, keys=("video", "mos", "mask"),
                 options=options, num_batches=num_batches)


@dataclasses.dataclass(frozen=True)
class PristineCorpus:
  """SSL-VQA's pristine clips, to draw a few from each epoch.

  Attributes:
    clips: ``(N, clip_len, side, side, 3)`` uint8, video after video.
    names: ``"<video name>#<clip>"`` of each clip.
    skipped: reference videos that could not be decoded.
  """
  clips: np.ndarray
  names: tuple[str, ...]
  skipped: int = 0

  def __len__(self) -> int:
    return len(self.names)

  def draw(self, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` distinct clips at random (SSL-VQA: 24 per epoch)."""
    chosen = rng.choice(len(self), size=count, replace=False)
    return self.clips[chosen]


def pristine_corpus(source, *, seed: int = 0,
                    indices: Sequence[int] | None = None,
                    clip_len: int = 32, frame_interval: int = 2,
                    num_clips: int = 4,
                    fragments: Fragments = Fragments(aligned=32),
                    options: LoaderOptions = LoaderOptions()) -> PristineCorpus:
  """SSL-VQA's pristine clips of reference videos, decoded once.

  Each video gives ``num_clips`` test-mode ``SampleFrames`` clips (centred
  in equal segments) cut into fragments with fresh offsets per clip
  (``aligned=32``); the offsets depend only on ``seed``. A video that cannot
  be decoded is skipped, logged and counted.

  Args:
    source: random-access source of example dicts.
    seed: seeds the patch offsets.
    indices: the reference videos' records (``scenes.reference_indices``);
      None: every record.
    clip_len: frames per clip (32).
    frame_interval: stride (2).
    num_clips: clips per video (4).
    fragments: the spatial sampling (``aligned=32``).
    options: workers and threads.

  Returns:
    The corpus, in source order.
  """
  item = items.PristineItem(clip_len=clip_len, frame_interval=frame_interval,
                            num_clips=num_clips, fragments=fragments)
  ds = grain.MapDataset.source(_records(source, indices)).seed(seed)
  iterator = _SkipFailed(_elements(ds.random_map(item), options)).__iter__()
  clips, names = [], []
  for element in iterator:
    clips.append(element["video"])
    names.extend(f"{element['name']}#{i}" for i in range(num_clips))
  skipped = iterator.total
  iterator.close()
  if not clips:
    raise ConfigError("no pristine video could be decoded")
  side = fragments.side
  return PristineCorpus(
      np.concatenate(clips).reshape((-1, clip_len, side, side, 3)),
      tuple(names), skipped)
