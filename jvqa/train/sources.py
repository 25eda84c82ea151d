"""The record sources a training config names: ``"<dataset>:<split>"`` strings.

``demo`` and ``well_set/demo`` (HEKE's weak-label demo corpus; also their
``tiny`` configs) are built on first use (``jvqa.data.demo.ensure_demo``,
``jvqa.data.well_set.ensure_well_set_demo``); any other
dataset must have been built with ``jvqa build NAME`` into the same TFDS
data dir. Sources are ``tfds`` ArrayRecord data sources (random access, no
TensorFlow).
"""

import functools

import numpy as np

from jvqa.errors import ConfigError


def parse(name_split: str) -> tuple[str, str, str | None]:
  """``"name[/config]:split"`` -> ``(name, split, config)``."""
  if ":" not in name_split:
    raise ConfigError(f"data source {name_split!r}: expected 'dataset:split' "
                      f"(e.g. 'demo:test')")
  name, split = name_split.split(":", 1)
  config = None
  if "/" in name:
    name, config = name.split("/", 1)
  return name, split, config


@functools.lru_cache(maxsize=None)
def _builder(name: str, config: str | None, data_dir: str | None):
  # pylint: disable-next=g-import-not-at-top  (TFDS is slow)
  from jvqa.data import build, demo, well_set
  if name == demo.NAME:
    return demo.ensure_demo(data_dir, config=config or "default")
  if name == well_set.NAME and config in ("demo", "tiny"):
    return well_set.ensure_well_set_demo(data_dir, config=config)
  builder = build.make_builder(name, data_dir=data_dir, config=config)
  if not builder.is_prepared():
    raise ConfigError(f"dataset {name!r} is not built in {builder.data_dir}: "
                      f"run 'jvqa build {name} --manual_dir=...' first")
  return builder


def open_source(name_split: str, data_dir: str = ""):
  """The random-access source of ``"dataset:split"`` in ``data_dir`` ('' = default).

  ``split`` may join several with ``+`` (``"demo:pretrain+labelled"``): TFDS's
  split arithmetic, the splits' examples one after the other.
  """
  name, split, config = parse(name_split)
  builder = _builder(name, config, data_dir or None)
  splits = list(builder.info.splits.keys())
  for part in split.split("+"):
    if part not in splits:
      raise ConfigError(f"dataset {name!r} has no split {part!r}; it has {', '.join(splits)}")
  return builder.as_data_source(split)


def labelled_indices(size: int, count: int) -> np.ndarray:
  """SSL-VQA's labelled subset: ``linspace(0, size - 1, count)`` (all if count <= 0)."""
  if count <= 0 or count >= size:
    return np.arange(size)
  return np.unique(np.linspace(0, size - 1, count, dtype=int))
