"""HEKE feature stores: one ``.npz`` per database split, written by ``features.extract``.

A store holds, per readable video of the split (in the source's order):

* ``names`` ``(V,)``, ``mos`` ``(V,)`` (the published score, as published;
  NaN where there is none), ``references`` ``(V,)`` (the name of the
  video's reference content; its own name for databases without one, i.e.
  UGC: each video is its own content);
* ``scores`` ``(V, T, 4)``: the four knowledge heads per snippet, in
  ``jvqa.models.heke.KNOWLEDGE`` order [GMSD, ST-GMSD, ST-RRED, MS-SSIM];
* the pooled encoder features per snippet, each [mean | max | std] over the
  map (the original's [ave | max | std]): ``f1`` .. ``f4`` ``(V, T, 3·C)``
  for R(2+1)D (192/384/768/1536: 2880 per snippet), or ``rgb_f1`` ..
  ``rgb_f4`` and ``diff_f1`` .. ``diff_f4`` for the ResNet variant;
* ``meta``: JSON with the format, the source label, the encoder, the snippet
  layout, the database's ``higher_is_better`` and ``score_range``, and the
  videos skipped with their reasons.

``np.load`` reads it without pickling; ``load`` checks it and returns a
``FeatureStore``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile

import numpy as np

from jvqa.errors import InputError

FORMAT = "jvqa-heke-features"
VERSION = 1
LEVELS = (1, 2, 3, 4)
POOLS = ("mean", "max", "std")
STREAMS = {"r2p1d": ("",), "resnet": ("rgb_", "diff_")}


def level_key(stream: str, level: int) -> str:
  """``f3``, ``rgb_f3``, ``diff_f3``: the array of a stream's level."""
  return f"{stream}f{level}"


@dataclasses.dataclass
class FeatureStore:
  """One database split's features (see the module docstring).

  Attributes:
    names, mos, references: ``(V,)`` per video.
    scores: ``(V, T, 4)`` head outputs per snippet.
    levels: array name (``f1``, ``rgb_f2``, ...) -> ``(V, T, 3·C)``.
    meta: the store's metadata (``source``, ``encoder``, ``higher_is_better``,
      ``score_range``, ``skipped``, ...).
  """
  names: np.ndarray
  mos: np.ndarray
  references: np.ndarray
  scores: np.ndarray
  levels: dict
  meta: dict

  def __len__(self) -> int:
    return len(self.names)

  @property
  def higher_is_better(self) -> bool:
    """Whether ``mos`` is a MOS (True) or a DMOS (False); MOS if unknown."""
    value = self.meta.get("higher_is_better")
    return True if value is None else bool(value)

  @property
  def database(self) -> str:
    """The dataset name of the source (``live_vqa`` of ``live_vqa:train``)."""
    return database_name(self.meta.get("source", ""))

  def select(self, index) -> FeatureStore:
    """The videos at ``index`` (an index array or boolean mask)."""
    return dataclasses.replace(
        self, names=self.names[index], mos=self.mos[index], references=self.references[index],
        scores=self.scores[index], levels={k: v[index] for k, v in self.levels.items()})

  def features(self, levels=LEVELS, pools=POOLS, *, group_f4: bool = True) -> np.ndarray:
    """The regressor's input ``(V, T, D)``: chosen levels and poolings, concatenated.

    Level by level (and stream by stream for the ResNet variant, RGB first),
    each level's chosen poolings in [mean, max, std] order, as the original's
    ``prepare`` deletes the unselected ones. With ``group_f4`` the last
    level's channels are reordered from [pool, 4 heads, C/4] to [4 heads,
    pool, C/4] (a permutation; the original does it so that each knowledge
    head's quarter of f4 stays together).
    """
    pools = tuple(pools)
    if not pools or any(p not in POOLS for p in pools):
      raise ValueError(f"pools must be a non-empty subset of {POOLS}, got {pools}")
    levels = tuple(levels)
    if not levels or any(lv not in LEVELS for lv in levels):
      raise ValueError(f"levels must be a non-empty subset of {LEVELS}, got {levels}")
    chosen = [POOLS.index(p) for p in POOLS if p in pools]
    parts = []
    for stream in STREAMS[self.meta.get("encoder", "r2p1d")]:
      for level in levels:
        f = self.levels[level_key(stream, level)]
        f = f.reshape(f.shape[:-1] + (len(POOLS), -1))[..., chosen, :]
        if group_f4 and level == 4 and f.shape[-1] % 4 == 0:
          f = f.reshape(f.shape[:-1] + (4, -1)).swapaxes(-3, -2)
        parts.append(f.reshape(f.shape[:2] + (-1,)))
    return np.concatenate(parts, axis=-1).astype(np.float32)


def database_name(label: str) -> str:
  """``live_vqa`` of ``live_vqa:train``, ``demo`` of ``demo/tiny:test``."""
  return label.split(":", 1)[0].split("/", 1)[0]


def file_name(label: str) -> str:
  """The store's file name for a source label: ``demo/tiny:test`` -> ``demo_tiny_test.npz``."""
  safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label.replace(":", "/"))
  return safe.replace("/", "_") + ".npz"


def save(path, store: FeatureStore) -> str:
  """Writes ``store`` to ``path`` atomically (a temporary file, then a rename)."""
  path = os.fspath(path)
  arrays = {"names": np.asarray(store.names, str), "mos": np.asarray(store.mos, np.float32),
            "references": np.asarray(store.references, str),
            "scores": np.asarray(store.scores, np.float32),
            "meta": np.asarray(json.dumps({"format": FORMAT, "version": VERSION, **store.meta}))}
  arrays.update({k: np.asarray(v, np.float32) for k, v in store.levels.items()})
  folder = os.path.dirname(os.path.abspath(path))
  os.makedirs(folder, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npz.tmp")
  try:
    with os.fdopen(fd, "wb") as f:
      np.savez(f, **arrays)
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise
  return path


def load(path) -> FeatureStore:
  """The store at ``path``, checked; ``InputError`` naming the file otherwise."""
  path = os.fspath(path)
  try:
    with np.load(path, allow_pickle=False) as data:
      arrays = {k: data[k] for k in data.files}
  except (OSError, ValueError, EOFError) as e:
    raise InputError(path, f"not a readable HEKE feature store ({e})") from None
  try:
    meta = json.loads(str(arrays.pop("meta")))
  except (KeyError, ValueError):
    raise InputError(path, "not a HEKE feature store (no meta)") from None
  if meta.get("format") != FORMAT:
    raise InputError(path, f"not a {FORMAT} file")
  if meta.get("version", 0) > VERSION:
    raise InputError(path, f"written by a newer jvqa (format version {meta['version']})")
  missing = [k for k in ("names", "mos", "references", "scores") if k not in arrays]
  if missing:
    raise InputError(path, f"missing array(s) {', '.join(missing)}")
  levels = {k: v for k, v in arrays.items() if k not in ("names", "mos", "references", "scores")}
  return FeatureStore(arrays["names"], arrays["mos"], arrays["references"], arrays["scores"],
                      levels, meta)


def concat(stores, *, source: str | None = None) -> FeatureStore:
  """Several splits of one database as one store (e.g. the demo's splits).

  The stores must share the encoder, the snippet count and the score sense;
  ``source`` names the result (default: the first store's database).
  """
  stores = list(stores)
  if not stores:
    raise ValueError("concat needs at least one store")
  first = stores[0]
  for s in stores[1:]:
    for key in ("encoder", "higher_is_better", "snippets"):
      if s.meta.get(key) != first.meta.get(key):
        raise InputError(s.meta.get("source", "?"), f"its {key} ({s.meta.get(key)}) differs "
                         f"from {first.meta.get('source', '?')}'s ({first.meta.get(key)})")
    if set(s.levels) != set(first.levels):
      raise InputError(s.meta.get("source", "?"), "holds other feature levels")
  meta = dict(first.meta, source=source or first.database,
              parts=[s.meta.get("source") for s in stores],
              skipped=[x for s in stores for x in s.meta.get("skipped", [])])
  return FeatureStore(
      np.concatenate([s.names for s in stores]), np.concatenate([s.mos for s in stores]),
      np.concatenate([s.references for s in stores]),
      np.concatenate([s.scores for s in stores]),
      {k: np.concatenate([s.levels[k] for s in stores]) for k in first.levels}, meta)
