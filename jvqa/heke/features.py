"""Running a frozen HEKE encoder over a database: the feature stores.

``extract(model, source, directory)`` reads every record of a data source
(``"name[/config]:split"``, opened with ``jvqa.train.sources.open_source``,
or any sequence of records), cuts its snippets (``jvqa.heke.clips``), runs
the model's ``scores_and_features`` on them in eval mode (one jitted program
per input shape, a batch of whole videos' snippets, padded to a fixed size)
and writes the store ``directory/<label>.npz`` (``jvqa.heke.store``). This
replaces the original's ``demo_extract_features*.py``, which decode a whole
video per batch of 12 snippets with hard-coded paths (reference §4.1, §7).

A video that cannot be read is skipped: one line names it and the reason,
and the store lists it in ``meta["skipped"]``. A store already in
``directory`` is not recomputed (delete it to redo it). Decoding runs in a
few threads ahead of the model.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from flax import nnx
import jax
import jax.numpy as jnp
import numpy as np

from jvqa.errors import InputError, JvqaError
from jvqa.heke import clips, store as store_lib
from jvqa.models import heke

ENCODERS = {"r2p1d": heke.HekeR2p1d, "resnet": heke.HekeResnet}


def encoder_of(model) -> str:
  """``"r2p1d"`` or ``"resnet"``: which HEKE model ``model`` is."""
  for name, cls in ENCODERS.items():
    if isinstance(model, cls):
      return name
  raise InputError(type(model).__name__, "not a HEKE model (HekeR2p1d or HekeResnet)")


def _text(value) -> str:
  return value.decode() if isinstance(value, bytes) else str(value)


def default_snippets(encoder: str, full_reference: bool) -> int:
  """T: 20 frame pairs (ResNet), else 12 snippets (synthetic) or 10 (authentic)."""
  if encoder == "resnet":
    return clips.RESNET_PAIRS
  return clips.SYNTHETIC_SNIPPETS if full_reference else clips.AUTHENTIC_SNIPPETS


def _metadata(source) -> dict:
  """``higher_is_better`` and ``score_range`` of a TFDS data source (None if unknown)."""
  info = getattr(source, "dataset_info", None)
  meta = dict(getattr(info, "metadata", None) or {})
  return {"higher_is_better": meta.get("higher_is_better"),
          "score_range": meta.get("score_range")}


def _full_reference(source) -> bool:
  """Whether the source's records name a ``reference`` (full-reference data)."""
  features = getattr(getattr(source, "dataset_info", None), "features", None)
  if features is not None:
    return "reference" in features
  return "reference" in source[0]


def _run_fn(model) -> Callable[[jax.Array], tuple]:
  """``clips -> (scores, features)`` of the model in eval mode, jitted."""
  model.eval()
  graphdef, state = nnx.split(model)

  @jax.jit
  def run(state, x):
    return nnx.merge(graphdef, state).scores_and_features(x)

  return lambda x: run(state, x)


def _flat_features(encoder: str, features) -> dict[str, jax.Array]:
  """The model's feature tuple(s) as ``{store array name: (B, 3·C)}``."""
  streams = store_lib.STREAMS[encoder]
  per_stream = (features,) if encoder == "r2p1d" else features
  return {store_lib.level_key(s, level): f
          for s, levels in zip(streams, per_stream)
          for level, f in zip(store_lib.LEVELS, levels)}


class _Batcher:
  """Collects whole videos' clips of one shape into fixed-size padded batches."""

  def __init__(self, run: Callable, encoder: str, videos_per_batch: int):
    self.run, self.encoder, self.videos = run, encoder, videos_per_batch
    self.pending: list[tuple[int, np.ndarray]] = []
    self.results: dict[int, tuple[np.ndarray, dict]] = {}

  def add(self, position: int, x: np.ndarray) -> None:
    if self.pending and (self.pending[0][1].shape != x.shape
                         or len(self.pending) == self.videos):
      self.flush()
    self.pending.append((position, x))

  def flush(self) -> None:
    if not self.pending:
      return
    per_video = self.pending[0][1].shape[0]
    x = np.concatenate([c for _, c in self.pending])
    pad = self.videos * per_video - x.shape[0]
    if pad:
      x = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)])
    scores, features = self.run(jnp.asarray(x))
    scores = np.asarray(scores, np.float32)
    flat = {k: np.asarray(v, np.float32) for k, v in
            _flat_features(self.encoder, features).items()}
    for i, (position, _) in enumerate(self.pending):
      part = slice(i * per_video, (i + 1) * per_video)
      self.results[position] = (scores[part], {k: v[part] for k, v in flat.items()})
    self.pending = []


def _load(record: dict, encoder: str, count: int, frames: int) -> np.ndarray:
  """A record's model input: ``(T, N, h, w, 3)`` snippets or ``(T, 2, h, w, 3)`` pairs."""
  name = _text(record["name"])
  if encoder == "resnet":
    return clips.load_pairs(record["video"], int(record["num_frames"]), num_pairs=count,
                            name=name)
  return clips.load_snippets(record["video"], int(record["num_frames"]), num_snippets=count,
                             frames=frames, name=name)


def _decoded(source, encoder: str, count: int, frames: int, workers: int
             ) -> Iterator[tuple[int, dict, np.ndarray | None, str | None]]:
  """``(position, record without its bytes, input or None, error or None)`` in order."""

  def work(position: int):
    try:
      record = source[position]
    except Exception as e:  # a corrupt ArrayRecord entry: name the position.
      return position, {"name": f"#{position}"}, None, f"unreadable record ({e})"
    meta = {k: v for k, v in record.items() if k != "video"}
    try:
      return position, meta, _load(record, encoder, count, frames), None
    except (JvqaError, ValueError) as e:
      return position, meta, None, getattr(e, "reason", None) or str(e)

  with concurrent.futures.ThreadPoolExecutor(max(workers, 1)) as pool:
    ahead = max(workers, 1) * 2
    futures = [pool.submit(work, i) for i in range(min(ahead, len(source)))]
    for position in range(len(source)):
      result = futures[position].result()
      futures[position] = None
      if position + ahead < len(source):
        futures.append(pool.submit(work, position + ahead))
      yield result


def extract(model, source, directory, *, label: str | None = None, data_dir: str = "",
            num_snippets: int | None = None, frames: int = clips.SNIPPET_FRAMES,
            videos_per_batch: int = 1, workers: int = 2, higher_is_better: bool | None = None,
            score_range: Sequence[float] | None = None, model_info: dict | None = None,
            log: Callable[[str], Any] | None = None) -> str:
  """Writes the feature store of one database split; returns its path.

  Args:
    model: a ``HekeR2p1d`` or ``HekeResnet`` (put in eval mode), or the path
      of a jvqa model directory holding one (``jvqa.models.load``).
    source: ``"name[/config]:split"``, or a data source / sequence of records
      (dicts with ``video``, ``name``, ``mos``, ``num_frames`` and, for
      full-reference data, ``reference``); then ``label`` is required.
    directory: where the store goes (created if missing).
    label: the source's name in the store and its file name (default: the
      ``source`` string).
    data_dir: the TFDS data dir of a ``source`` string ('' = default).
    num_snippets: T (default: 12 for full-reference data, 10 for UGC, 20
      frame pairs for the ResNet variant).
    frames: N, frames per R(2+1)D snippet.
    videos_per_batch: whole videos per model call (a batch is this many
      videos' snippets, padded with zeros at the end of a run of one size).
    workers: decoding threads.
    higher_is_better, score_range: the score's sense and scale (default:
      the TFDS dataset's metadata).
    model_info: recorded in the store's metadata (e.g. the model directory).
    log: where progress and skip lines go (default: print to stderr).

  Returns:
    The store's path (already there: not recomputed).

  Raises:
    InputError: no video of the source could be read, or ``model`` is not a
      HEKE model.
  """
  log = log or (lambda line: print(line, file=sys.stderr, flush=True))
  if isinstance(source, str):
    label = label or source
    from jvqa.train import sources  # pylint: disable=g-import-not-at-top  (TFDS is slow)
    source = sources.open_source(source, data_dir)
  elif label is None:
    raise ValueError("extract: a source that is not a 'name:split' string needs a label")
  path = os.path.join(os.fspath(directory), store_lib.file_name(label))
  if os.path.isfile(path):
    log(f"heke features {label}: {path} exists, not recomputed")
    return path
  if isinstance(model, (str, os.PathLike)):
    from jvqa.models import store as model_store  # pylint: disable=g-import-not-at-top
    model_info = {"model_dir": os.fspath(model), **(model_info or {})}
    model = model_store.load(model)
  encoder = encoder_of(model)
  if len(source) == 0:
    raise InputError(label, "the source holds no record")
  full_reference = _full_reference(source)
  count = num_snippets or default_snippets(encoder, full_reference)
  meta = _metadata(source)
  if higher_is_better is not None:
    meta["higher_is_better"] = bool(higher_is_better)
  if score_range is not None:
    meta["score_range"] = [float(x) for x in score_range]

  start = time.monotonic()
  batcher = _Batcher(_run_fn(model), encoder, max(videos_per_batch, 1))
  kept: list[tuple[int, dict]] = []
  skipped: list[list[str]] = []
  for position, record, x, error in _decoded(source, encoder, count, frames, workers):
    name = _text(record.get("name", f"#{position}"))
    if error is not None:
      log(f"heke features {label}: skipped {name}: {error}")
      skipped.append([name, error])
      continue
    batcher.add(position, x)
    kept.append((position, record))
  batcher.flush()
  if not kept:
    raise InputError(label, f"no readable video ({len(skipped)} skipped)")

  def column(key, default):
    return [_text(r[key]) if key in r else default(r) for _, r in kept]

  names = column("name", lambda r: "")
  result = store_lib.FeatureStore(
      names=np.asarray(names),
      mos=np.asarray([float(r.get("mos", math.nan)) for _, r in kept], np.float32),
      references=np.asarray(column("reference", lambda r: _text(r["name"]))),
      scores=np.stack([batcher.results[p][0] for p, _ in kept]),
      levels={k: np.stack([batcher.results[p][1][k] for p, _ in kept])
              for k in batcher.results[kept[0][0]][1]},
      meta={"source": label, "encoder": encoder, "snippets": count,
            "frames": 2 if encoder == "resnet" else frames,
            "knowledge": list(heke.KNOWLEDGE), "full_reference": full_reference,
            "skipped": skipped, "model": model_info or {}, **meta})
  store_lib.save(path, result)
  seconds = time.monotonic() - start
  log(f"heke features {label}: {len(kept)} videos in {seconds:.1f} s "
      f"({len(skipped)} skipped) -> {path}")
  return path
