"""csv_vqa: a user's own videos and scores, listed in ``labels.csv``.

``manual_dir/labels.csv`` has a header with the columns ``filename`` (the
video's path relative to ``manual_dir``) and ``mos``, and optionally
``mos_std`` and ``split``. Without a ``split`` column every video is in
``train``; with one, each distinct value is a split. A problem with
``labels.csv`` itself is an ``InputError`` naming it; a video that is missing
or unreadable is skipped, counted and named in the log.
"""

import csv
import dataclasses
import functools
import math
import os
import re

import tensorflow_datasets as tfds

from jvqa.data import build, builder_lib
from jvqa.errors import InputError

LABELS = "labels.csv"
REQUIRED_COLUMNS = ("filename", "mos")
DEFAULT_SPLIT = "train"
# Split names become file names; TFDS reserves "all".
_SPLIT_NAME = re.compile(r"^[A-Za-z0-9_]+$")


@dataclasses.dataclass(frozen=True)
class Label:
  """One row of ``labels.csv``."""
  filename: str
  mos: float
  mos_std: float
  split: str


def _number(text: str, column: str, line: int, path) -> float:
  """``text`` as a finite float (empty means NaN for ``mos_std``)."""
  if not text and column == "mos_std":
    return builder_lib.MISSING
  try:
    value = float(text)
  except ValueError:
    value = math.nan
  if not math.isfinite(value):
    raise InputError(path, f"line {line}: {column} {text!r} is not a number")
  return value


def _split_name(text: str, line: int, path) -> str:
  """The split of a row: ``text``, checked, or ``train`` when empty."""
  split = text or DEFAULT_SPLIT
  if not _SPLIT_NAME.match(split) or split.lower() == "all":
    raise InputError(path, f"line {line}: split {split!r} is not a valid split name "
                     "(letters, digits and _ only; not 'all')")
  return split


def _filename(text: str, line: int, path) -> str:
  """A row's ``filename``: non-empty and relative to the folder of labels.csv."""
  if not text:
    raise InputError(path, f"line {line}: empty filename")
  if os.path.isabs(text):
    raise InputError(path, f"line {line}: filename {text!r} must be relative "
                     "to the folder holding labels.csv")
  return text


def _header(reader: csv.DictReader, path) -> list[str]:
  """The stripped column names; InputError if a required one is missing."""
  if not reader.fieldnames:
    raise InputError(path, "empty file: expected a header row "
                     "'filename,mos[,mos_std][,split]'")
  columns = [name.strip() for name in reader.fieldnames]
  for column in REQUIRED_COLUMNS:
    if column not in columns:
      raise InputError(path, f"no {column!r} column (columns: {', '.join(columns)})")
  reader.fieldnames = columns
  return columns


def _label(record: dict, line: int, path) -> Label:
  """The ``Label`` of one CSV record."""
  value = lambda column: (record.get(column) or "").strip()
  return Label(filename=_filename(value("filename"), line, path),
               mos=_number(value("mos"), "mos", line, path),
               mos_std=_number(value("mos_std"), "mos_std", line, path),
               split=_split_name(value("split"), line, path))


def read_labels(path) -> dict[str, list[Label]]:
  """``{split: labels}`` from ``labels.csv``, in file order.

  Raises:
    InputError: naming ``path``, for a missing file, a missing column, a
      non-numeric score, a bad split name or a file listed twice in a split.
  """
  if not os.path.isfile(path):
    raise InputError(path, "no such file: the manual_dir must hold labels.csv "
                     "with columns filename,mos[,mos_std][,split]")
  splits: dict[str, list[Label]] = {}
  seen = set()
  with open(path, newline="", encoding="utf-8-sig") as f:
    reader = csv.DictReader(f)
    _header(reader, path)
    for record in reader:
      label = _label(record, reader.line_num, path)
      if (label.split, label.filename) in seen:
        raise InputError(path, f"line {reader.line_num}: {label.filename!r} is "
                         f"listed twice in split {label.split!r}")
      seen.add((label.split, label.filename))
      splits.setdefault(label.split, []).append(label)
  if not splits:
    raise InputError(path, "no rows after the header")
  return splits


def score_range(splits: dict[str, list[Label]]) -> list[float]:
  """``[lowest, highest]`` MOS over all rows."""
  scores = [label.mos for labels in splits.values() for label in labels]
  return [min(scores), max(scores)]


def make_example(label: Label, skips, *, manual_dir: str) -> dict | None:
  """The example of one row, or None (skipped) if its video is unusable."""
  return builder_lib.video_example(
      os.path.join(manual_dir, label.filename), name=label.filename,
      mos=label.mos, mos_std=label.mos_std, skips=skips)


class Builder(build.VqaBuilder, tfds.core.GeneratorBasedBuilder):
  """DatasetBuilder for a folder of the user's own scored videos."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Put your videos under one folder (any subfolders) and, in that folder, a
  file labels.csv with a header row and one row per video:

    filename,mos,mos_std,split
    clips/a.mp4,3.5,0.61,train
    clips/b.mkv,4.25,,test

  filename (the path relative to the folder) and mos are required; mos_std
  (empty = unknown) and split (any names of letters, digits and _; without
  the column everything is in 'train') are optional. Higher mos must mean
  better quality. Pass the folder as the manual_dir
  (`jvqa build csv_vqa --manual_dir=FOLDER`).
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=builder_lib.vqa_features(),
        metadata=tfds.core.MetadataDict(score="mos", higher_is_better=True,
                                        score_range=None))

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    manual_dir = os.fspath(dl_manager.manual_dir)
    splits = read_labels(os.path.join(manual_dir, LABELS))
    self.info.metadata["score_range"] = score_range(splits)
    return {split: self._generate_examples(split, labels, manual_dir)
            for split, labels in splits.items()}

  def _generate_examples(self, split: str, labels: list[Label], manual_dir: str):
    return self.examples(split, [(label.filename, label) for label in labels],
                         functools.partial(make_example, manual_dir=manual_dir))
