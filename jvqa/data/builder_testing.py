"""Testing TFDS builders without TensorFlow.

TFDS's ``DatasetBuilderTestCase`` needs TensorFlow (it reads through
``as_dataset``), so builder tests call ``build`` on their ``dummy_data/``
folder and check the result read back through ``as_data_source``.
"""

import os
import pathlib

import tensorflow_datasets as tfds


# The steering repository's shared/ folder sits beside the project checkout; it
# holds third-party metadata files that tests read but the project never copies.
SHARED_DATA = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"


def shared_data(*parts) -> pathlib.Path:
  """A path under ``../shared/data`` (tests skip when it does not exist)."""
  return SHARED_DATA.joinpath(*parts)


def build_and_read(builder_cls, *, manual_dir, data_dir, splits, config=None):
  """``(builder, {split: examples})`` after building from ``manual_dir``."""
  builder = build(builder_cls, manual_dir=manual_dir, data_dir=data_dir, config=config)
  return builder, {split: read_split(builder, split) for split in splits}


def build(builder_cls, *, manual_dir, data_dir, config=None, **kwargs):
  """Builds ``builder_cls`` from ``manual_dir`` as ArrayRecord; returns the built builder."""
  builder = builder_cls(config=config, data_dir=os.fspath(data_dir),
                        file_format="array_record", **kwargs)
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=os.fspath(manual_dir)))
  return builder


def read_split(builder, split: str) -> list[dict]:
  """Every example of ``split``, decoded to numpy / Python values, in storage order."""
  source = builder.as_data_source(split=split)
  return [source[i] for i in range(len(source))]


def split_sizes(builder) -> dict[str, int]:
  """``{split name: number of examples}`` as recorded in the dataset info."""
  return {name: info.num_examples for name, info in builder.info.splits.items()}


def info_of(builder) -> tuple[str, dict[str, int], dict]:
  """``(name, split sizes, metadata)``: what a builder test compares in one assert."""
  return builder.name, split_sizes(builder), dict(builder.info.metadata)


def not_bit_exact(examples, raw_dir, width: int, height: int) -> list[str]:
  """Names of stored videos that do not decode to their raw YUV file exactly."""
  from jvqa.io import lossless  # pylint: disable=g-import-not-at-top
  return [e["name"].decode() for e in examples
          if not lossless.same_as_raw(e["video"], pathlib.Path(raw_dir) / e["name"].decode(),
                                      width, height)]
