"""Building jvqa's TFDS datasets: ``jvqa build`` and what every builder shares.

``build`` finds the builder ``data_builders.<name>``, runs its
``download_and_prepare`` into ArrayRecord files (readable without TensorFlow
through ``tfds.data_source``) and returns it; ``summary`` describes the result.

``VqaBuilder`` is mixed into every jvqa builder. It counts the examples a build
skipped (they are logged by name and recorded in the dataset's metadata as
``skipped``) and, through ``examples``, hands TFDS a plain generator or, when
the build was given Beam options, a Beam transform (TFDS's Beam pattern:
``beam.Create(items) | beam.FlatMap(...)``, Beam imported lazily).
"""

import collections
import contextlib
import importlib
import io
import os
import pkgutil
from collections.abc import Callable, Iterable, Iterator

import tensorflow_datasets as tfds

from jvqa.data.builder_lib import SkipLog, log
from jvqa.errors import ConfigError, InputError, JvqaError
from jvqa.io import files

# The package holding one builder package per dataset (`tfds new` layout).
BUILDERS_PACKAGE = "data_builders"
# Storage format: random access, and no TensorFlow needed to read it.
FILE_FORMAT = "array_record"
# Beam counter namespace for examples skipped on Beam workers (one per split).
_SKIP_NAMESPACE = "jvqa.skipped"

# make_example(item, skips) -> example dict, or None after skips.skip(...).
MakeExample = Callable[[object, SkipLog], dict | None]


def known_names() -> list[str]:
  """The names of the datasets under ``data_builders/``, sorted."""
  try:
    package = importlib.import_module(BUILDERS_PACKAGE)
  except ImportError as e:
    raise ConfigError(f"cannot import the {BUILDERS_PACKAGE} package ({e}): reinstall "
                      "jvqa (pip install -e .) or run from the repository root") from e
  return sorted(info.name for info in pkgutil.iter_modules(package.__path__)
                if info.ispkg and _has_builder_module(package, info.name))


def _has_builder_module(package, name: str) -> bool:
  """Whether ``<package>/<name>/<name>_dataset_builder.py`` exists."""
  return any(os.path.isfile(os.path.join(path, name, f"{name}_dataset_builder.py"))
             for path in package.__path__)


def builder_class(name: str) -> type:
  """The ``Builder`` class of dataset ``name``; ConfigError naming the known ones."""
  names = known_names()
  if name not in names:
    raise ConfigError(f"unknown dataset {name!r}; known: {', '.join(names)}")
  module = importlib.import_module(
      f"{BUILDERS_PACKAGE}.{name}.{name}_dataset_builder")
  return module.Builder


def beam_options(flags: str):
  """Beam ``PipelineOptions`` from ``"runner=DirectRunner,direct_num_workers=2"``."""
  try:
    beam = tfds.core.lazy_imports.apache_beam
    options = beam.options.pipeline_options
  except ImportError as e:
    raise ConfigError("--beam_pipeline_options needs Apache Beam: "
                      "pip install 'jvqa[beam]'") from e
  return options.PipelineOptions(flags=[f"--{flag}" for flag in flags.split(",")])


def download_config(manual_dir=None, *, overwrite: bool = False,
                    max_examples_per_split: int | None = None,
                    beam_pipeline_options: str | None = None) -> tfds.download.DownloadConfig:
  """The ``DownloadConfig`` of a build from the files in ``manual_dir``."""
  config = tfds.download.DownloadConfig(
      manual_dir=None if manual_dir is None else os.fspath(manual_dir),
      max_examples_per_split=max_examples_per_split)
  if overwrite:
    config.download_mode = tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS
  if beam_pipeline_options:
    config.beam_options = beam_options(beam_pipeline_options)
  return config


def make_builder(name: str, *, data_dir=None, config: str | None = None):
  """An ArrayRecord builder of dataset ``name`` (config ``config``) in ``data_dir``.

  ``data_dir`` None means ``$TFDS_DATA_DIR``, else TFDS's default folder.
  """
  cls = builder_class(name)
  configs = [c.name for c in getattr(cls, "BUILDER_CONFIGS", [])]
  if config is not None and config not in configs:
    raise ConfigError(f"dataset {name!r} has no config {config!r}; "
                      f"known: {', '.join(configs) or 'none'}")
  if data_dir is None:
    data_dir = os.environ.get("TFDS_DATA_DIR")  # Read now: TFDS reads it on import.
  return cls(config=config, file_format=FILE_FORMAT,
             data_dir=None if data_dir is None else os.fspath(data_dir))


def is_built(builder) -> bool:
  """``builder.is_prepared()``, without TFDS's warning for a folder not yet made."""
  info = os.path.join(os.fspath(builder.data_dir), "dataset_info.json")
  return os.path.isfile(info) and builder.is_prepared()


@contextlib.contextmanager
def quiet_tfds():
  """Hides TFDS's progress bars and its lines on stdout (warnings still show)."""
  bars = getattr(tfds.core.utils.tqdm_utils, "_active", True)
  tfds.display_progress_bar(False)
  try:
    with contextlib.redirect_stdout(io.StringIO()):
      yield
  finally:
    tfds.display_progress_bar(bars)


def ensure_main(argv, *, prog: str, description: str, configs, default: str, ensure) -> int:
  """``python -m jvqa.data.demo`` / ``jvqa.data.well_set``: builds a corpus if not built.

  ``ensure(data_dir, config=..., workers=...)`` returns the prepared builder.
  """
  import argparse  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  parser = argparse.ArgumentParser(prog=prog, description=description)
  parser.add_argument("--data_dir", default=None,
                      help="TFDS data dir (default: $TFDS_DATA_DIR, else TFDS's default)")
  parser.add_argument("--config", default=default, choices=sorted(configs))
  parser.add_argument("--workers", type=int, default=None,
                      help="worker processes (default: one per CPU core)")
  args = parser.parse_args(argv)
  try:
    builder = ensure(args.data_dir, config=args.config, workers=args.workers)
  except JvqaError as e:
    print(f"jvqa: error: {e}", file=sys.stderr)
    return 1
  print(summary(builder), flush=True)
  return 0


def build(name: str, manual_dir=None, *, data_dir=None, config: str | None = None,
          overwrite: bool = False, max_examples_per_split: int | None = None,
          beam_pipeline_options: str | None = None):
  """Builds dataset ``name`` from the files in ``manual_dir``; returns the builder.

  An existing build is kept unless ``overwrite``. Raises ConfigError for an
  unknown name or config and InputError for a missing ``manual_dir`` or a
  label file the builder cannot use. Builders without
  ``MANUAL_DOWNLOAD_INSTRUCTIONS`` (e.g. ``demo``), or whose
  ``needs_manual_dir()`` says so for the chosen config (``well_set/demo``),
  need no ``manual_dir``.
  """
  builder = make_builder(name, data_dir=data_dir, config=config)
  needs = getattr(builder, "needs_manual_dir",
                  lambda: bool(getattr(builder, "MANUAL_DOWNLOAD_INSTRUCTIONS", None)))()
  if needs or manual_dir is not None:
    if manual_dir is None:
      raise ConfigError(f"dataset {name!r} is built from downloaded files: pass --manual_dir "
                        "(its MANUAL_DOWNLOAD_INSTRUCTIONS say which)")
    if not os.path.isdir(manual_dir):
      raise InputError(manual_dir, "no such folder (--manual_dir)")
    if not os.listdir(manual_dir):
      raise InputError(manual_dir, "empty folder (--manual_dir)")
  if builder.is_prepared() and not overwrite:
    log.warning("%s is already built in %s: kept (--overwrite rebuilds it)",
                builder.info.full_name, builder.data_dir)
  builder.download_and_prepare(download_config=download_config(
      manual_dir, overwrite=overwrite, max_examples_per_split=max_examples_per_split,
      beam_pipeline_options=beam_pipeline_options))
  return builder


def video_files(folder) -> Iterator[str]:
  """The video files under ``folder`` (following links), relative to it, sorted."""
  folder = os.fspath(folder)
  if not os.path.isdir(folder):
    return
  for path in files.iter_video_files(folder):
    yield os.path.relpath(path, folder)


def skipped_counts(builder) -> dict[str, int]:
  """``{split: examples skipped}`` as recorded when ``builder``'s data was built."""
  skipped = (builder.info.metadata or {}).get("skipped") or {}
  return {split: int(record["count"]) for split, record in skipped.items()}


def summary(builder) -> str:
  """Lines giving the split sizes, the skipped counts and where the data is."""
  skipped = skipped_counts(builder)
  lines = [f"{builder.info.full_name}: {builder.data_dir}"]
  for split, info in builder.info.splits.items():
    lines.append(f"  {split}: {info.num_examples} examples, "
                 f"{skipped.get(split, 0)} skipped")
  total = sum(skipped.values())
  if total:
    lines.append(f"  {total} skipped in all: see the log, and 'skipped' in "
                 f"{os.path.join(builder.data_dir, 'metadata.json')}")
  return "\n".join(lines)


class VqaBuilder:
  """Mixed into a ``GeneratorBasedBuilder`` (listed before it): skips, Beam or not.

  A builder calls ``skip_log(split)`` for rows it drops while reading labels
  and returns ``examples(split, items, make_example)`` from
  ``_generate_examples``. Its ``_info`` must give a ``tfds.core.MetadataDict``
  (the skips are recorded there).
  """

  def _download_and_prepare(self, dl_manager, download_config):
    self._use_beam = bool(download_config.beam_options or download_config.beam_runner)
    self._skip_logs = {}
    self._beam_skips = collections.Counter()
    super()._download_and_prepare(dl_manager, download_config)
    self._record_skips()

  def skip_log(self, split: str) -> SkipLog:
    """The log where the build counts ``split``'s skipped examples."""
    logs = self.__dict__.setdefault("_skip_logs", {})
    return logs.setdefault(split, SkipLog(split))

  def examples(self, split: str, items: Iterable[tuple[str, object]],
               make_example: MakeExample):
    """What ``_generate_examples`` returns: one example per ``(key, item)``.

    Args:
      split: the split being generated.
      items: ``(key, item)`` pairs; keys unique within the split.
      make_example: ``make_example(item, skips)`` returns the example, or None
        after ``skips.skip(name, reason)``. Beam pickles it to its workers: make
        it a module-level function or a ``functools.partial`` of one.
    """
    if getattr(self, "_use_beam", False):
      beam = tfds.core.lazy_imports.apache_beam
      return (beam.Create(list(items))
              | beam.FlatMap(_beam_examples, make_example=make_example, split=split))
    return _iter_examples(items, make_example, self.skip_log(split))

  def _process_pipeline_result(self, pipeline_result) -> None:
    """Adds the examples skipped on Beam workers to the counts."""
    filters = tfds.core.lazy_imports.apache_beam.metrics.metric.MetricsFilter()
    query = pipeline_result.metrics().query(filters.with_namespace(_SKIP_NAMESPACE))
    for counter in query["counters"]:
      value = counter.committed if counter.committed is not None else counter.attempted
      self._beam_skips[counter.key.metric.name] += int(value or 0)

  def _record_skips(self) -> None:
    """Logs the skipped examples and records them in the dataset's metadata."""
    skipped = {}
    for split in sorted(set(self._skip_logs) | set(self._beam_skips)):
      skips = self.skip_log(split)
      skips.report()
      skipped[split] = {"count": len(skips.skipped) + self._beam_skips[split],
                        "examples": [list(entry) for entry in skips.skipped]}
    self.info.metadata["skipped"] = skipped


def _iter_examples(items, make_example: MakeExample,
                   skips: SkipLog) -> Iterator[tuple[str, dict]]:
  """``(key, example)`` for each item that ``make_example`` does not skip."""
  for key, item in items:
    example = make_example(item, skips)
    if example is not None:
      yield key, example


def _beam_examples(keyed_item, *, make_example: MakeExample, split: str):
  """On a Beam worker: ``[(key, example)]``, or ``[]`` (counted) for a skipped item."""
  key, item = keyed_item
  example = make_example(item, SkipLog(split))
  if example is None:
    beam = tfds.core.lazy_imports.apache_beam
    beam.metrics.Metrics.counter(_SKIP_NAMESPACE, split).inc()
    return []
  return [(key, example)]

