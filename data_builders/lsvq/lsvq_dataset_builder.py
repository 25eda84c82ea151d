"""LSVQ (LIVE Large-Scale Social Video Quality): 38,811 UGC videos with MOS.

Two label formats are read, whichever the manual_dir holds (the official one
first):

* the official release CSVs ``labels_train_test.csv`` (column ``is_test``
  picks ``train`` or ``test``) and ``labels_test_1080p.csv``: columns
  ``name`` (``yfcc-batch1/725``, no extension), ``height``, ``width``,
  ``mos``, ``frame_number``, patch columns, ...;
* FAST-VQA's lists ``train_labels.txt``, ``labels_test.txt`` and
  ``labels_1080p.txt``: lines ``yfcc-batch1/725.mp4, -1, -1, 76.84375``
  (28,056 / 7,186 / 3,573 videos).

Rows with 0 or 1 frames, or a missing name, score, frame count or train/test
flag (the broken rows of the first release, baidut/PatchVQ#6) are skipped and
counted, as are missing or unreadable videos.

Config ``sslvqa`` builds SSL-VQA's semi-supervised subset instead, from its
``semisupervised.json`` (``[{"filename": ..., "label": ...}, ...]``): split
``labelled`` holds the entries at ``numpy.linspace(0, N - 1, 500, dtype=int)``
and ``unlabelled`` the others.
"""

import csv
import dataclasses
import functools
import json
import math
import os

import numpy as np
import tensorflow_datasets as tfds

from jvqa.data import build, builder_lib
from jvqa.errors import InputError

OFFICIAL_FILES = {"train_test": "labels_train_test.csv", "test_1080p": "labels_test_1080p.csv"}
FASTVQA_FILES = {"train": "train_labels.txt", "test": "labels_test.txt",
                 "test_1080p": "labels_1080p.txt"}
SSLVQA_FILES = ("semisupervised.json", "sslvqa_semisupervised.json")
# SSL-VQA's labelled-set size (semisupervised_training.py: num_label = 500).
SSLVQA_NUM_LABELLED = 500
# A published value that the label file does not have.
UNKNOWN = -1


@dataclasses.dataclass(frozen=True)
class Label:
  """One video of a label file."""
  name: str  # Path relative to the manual_dir, e.g. "yfcc-batch1/725.mp4".
  mos: float
  num_frames: int = UNKNOWN
  width: int = UNKNOWN
  height: int = UNKNOWN


@dataclasses.dataclass
class Labels:
  """``{split: labels}`` read from label files, plus the rows that were unusable."""
  splits: dict = dataclasses.field(default_factory=dict)
  broken: list = dataclasses.field(default_factory=list)  # (split, name, reason)

  def add(self, split: str, label: Label) -> None:
    """Adds ``label`` to ``split``, or records it as broken if listed twice."""
    labels = self.splits.setdefault(split, {})
    if label.name in labels:
      self.broken.append((split, label.name, "listed twice"))
    else:
      labels[label.name] = label


def _int(text) -> int:
  """``text`` (``"240"``, ``"240.0"``) as an int, or ``UNKNOWN``."""
  value = builder_lib.parse_float(text)
  return int(value) if math.isfinite(value) else UNKNOWN


def _is_test(text) -> bool | None:
  """The ``is_test`` flag, or None when it is missing."""
  return {"true": True, "1": True, "false": False, "0": False}.get(
      (text or "").strip().lower())


def _official_label(record: dict) -> tuple[Label | None, str]:
  """The label of an official CSV row, or None and why the row is unusable."""
  name = (record.get("name") or "").strip()
  mos = builder_lib.parse_float(record.get("mos"))
  frames = _int(record.get("frame_number"))
  if not name:
    return None, "no name"
  if math.isnan(mos):
    return None, f"mos {record.get('mos')!r} is not a number"
  if "frame_number" in record and frames <= 1:
    return None, f"frame_number {record.get('frame_number')!r}: not a video"
  name = name if name.endswith(".mp4") else f"{name}.mp4"
  return Label(name, mos, frames, _int(record.get("width")), _int(record.get("height"))), ""


def _official_split(record: dict, default: str | None) -> tuple[str, str]:
  """The split of an official CSV row and, if its flag is missing, why."""
  if default is not None:
    return default, ""
  is_test = _is_test(record.get("is_test"))
  if is_test is None:
    return "train", f"is_test {record.get('is_test')!r} is not True or False"
  return ("test" if is_test else "train"), ""


def read_official(path, labels: Labels, split: str | None = None) -> None:
  """Adds the rows of an official LSVQ CSV to ``labels``.

  Args:
    path: ``labels_train_test.csv`` or ``labels_test_1080p.csv``.
    labels: where usable rows and broken ones go.
    split: the split of every row; None to use the ``is_test`` column.
  """
  with open(path, newline="", encoding="utf-8-sig") as f:
    reader = csv.DictReader(f)
    if not {"name", "mos"} <= set(reader.fieldnames or ()):
      raise InputError(path, "not an LSVQ label CSV: no 'name' and 'mos' columns")
    for record in reader:
      row_split, flag_problem = _official_split(record, split)
      label, problem = _official_label(record)
      problem = problem or flag_problem
      if problem:
        name = (record.get("name") or "").strip() or f"line {reader.line_num}"
        labels.broken.append((row_split, name, problem))
      else:
        labels.add(row_split, label)


def read_fastvqa(path, labels: Labels, split: str) -> None:
  """Adds the lines of a FAST-VQA label list (``name, _, _, mos``) to ``labels``."""
  with open(path, encoding="utf-8-sig") as f:
    for number, line in enumerate(f, 1):
      if not line.strip():
        continue
      fields = [field.strip() for field in line.split(",")]
      mos = builder_lib.parse_float(fields[-1]) if len(fields) == 4 else math.nan
      if not fields[0] or math.isnan(mos):
        labels.broken.append((split, fields[0] or f"line {number}",
                              f"line {number}: expected 'name, _, _, mos'"))
      else:
        labels.add(split, Label(fields[0], mos))


def read_release(manual_dir) -> Labels:
  """The LSVQ splits from the official CSVs, or else from FAST-VQA's lists."""
  official = {key: os.path.join(manual_dir, name) for key, name in OFFICIAL_FILES.items()}
  fastvqa = {split: os.path.join(manual_dir, name) for split, name in FASTVQA_FILES.items()}
  labels = Labels()
  if any(os.path.isfile(path) for path in official.values()):
    _require(official.values(), "the official LSVQ label files")
    read_official(official["train_test"], labels)
    read_official(official["test_1080p"], labels, split="test_1080p")
  elif any(os.path.isfile(path) for path in fastvqa.values()):
    _require(fastvqa.values(), "FAST-VQA's LSVQ label lists")
    for split, path in fastvqa.items():
      read_fastvqa(path, labels, split)
  else:
    raise InputError(manual_dir, "no LSVQ label files: expected "
                     f"{' and '.join(OFFICIAL_FILES.values())} (or FAST-VQA's "
                     f"{', '.join(FASTVQA_FILES.values())})")
  return labels


def _require(paths, what: str) -> None:
  """InputError naming the first of ``paths`` that is missing."""
  for path in paths:
    if not os.path.isfile(path):
      raise InputError(path, f"missing: {what} must all be in the manual_dir")


def read_sslvqa_json(path) -> list[Label]:
  """The entries of SSL-VQA's ``semisupervised.json``, in file order."""
  try:
    with open(path, encoding="utf-8") as f:
      entries = json.load(f)
    return [Label(str(entry["filename"]), float(entry["label"])) for entry in entries]
  except (OSError, ValueError, TypeError, KeyError) as e:
    raise InputError(path, "expected a JSON list of {\"filename\": ..., \"label\": ...} "
                     f"({type(e).__name__}: {e})") from e


def sslvqa_split(count: int, num_labelled: int = SSLVQA_NUM_LABELLED):
  """SSL-VQA's labelled and unlabelled indices into a list of ``count`` videos.

  Labelled: ``np.linspace(0, count - 1, num_labelled, dtype=int)``, as in
  SSL-VQA's ``semisupervised_datasets.py``. Unlabelled: all the others (the
  code's own rule fails for 1,999 videos; the complement is the intent).
  """
  if count <= num_labelled:
    raise ValueError(f"{count} videos: more than {num_labelled} are needed")
  labelled = np.unique(np.linspace(0, count - 1, num_labelled, dtype=int))
  unlabelled = np.setdiff1d(np.arange(count), labelled)
  return labelled, unlabelled


def read_sslvqa(manual_dir, num_labelled: int) -> Labels:
  """The ``labelled`` and ``unlabelled`` splits of SSL-VQA's subset."""
  paths = [os.path.join(manual_dir, name) for name in SSLVQA_FILES]
  path = next((p for p in paths if os.path.isfile(p)), paths[0])
  if not os.path.isfile(path):
    raise InputError(path, "missing: the sslvqa config reads SSL-VQA's semisupervised.json")
  entries = read_sslvqa_json(path)
  try:
    labelled, unlabelled = sslvqa_split(len(entries), num_labelled)
  except ValueError as e:
    raise InputError(path, str(e)) from e
  labels = Labels()
  for split, indices in (("labelled", labelled), ("unlabelled", unlabelled)):
    for index in indices:
      labels.add(split, entries[index])
  return labels


def make_example(label: Label, skips, *, manual_dir: str) -> dict | None:
  """The example of one label, or None (skipped) if its video is unusable."""
  return builder_lib.video_example(
      os.path.join(manual_dir, label.name), name=label.name, mos=label.mos, skips=skips,
      published_num_frames=label.num_frames, published_width=label.width,
      published_height=label.height)


@dataclasses.dataclass
class LsvqConfig(tfds.core.BuilderConfig):
  """``sslvqa``: build SSL-VQA's subset, with ``num_labelled`` labelled videos."""
  sslvqa: bool = False
  num_labelled: int = SSLVQA_NUM_LABELLED


class Builder(build.VqaBuilder, tfds.core.GeneratorBasedBuilder):
  """DatasetBuilder for LSVQ and SSL-VQA's subset of it."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = [
      LsvqConfig(name="default", description=(
          "Splits train / test / test_1080p from the release label files.")),
      LsvqConfig(name="sslvqa", sslvqa=True, description=(
          "SSL-VQA's 2,000-video subset of LSVQ-train: splits labelled (500) "
          "and unlabelled, from semisupervised.json.")),
  ]
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Request LSVQ at https://github.com/baidut/PatchVQ (the form linked from its
  README), then put into the manual_dir:

  * the videos, in the release's subfolders: yfcc-batch*/ (from the Box link
    you are sent), ia-batch*/ (from Internet Archive, with the release's
    download_from_internetarchive notebook), backup/ and backup2/, so that
    manual_dir/yfcc-batch1/725.mp4 exists;
  * the label files, either the official
    labels_train_test.csv and labels_test_1080p.csv
    (https://github.com/baidut/PatchVQ/releases/download/v0.1/), or FAST-VQA's
    train_labels.txt, labels_test.txt and labels_1080p.txt (from
    examplar_data_labels/ and examplar_data_labels/LSVQ/ in
    https://github.com/VQAssessment/FAST-VQA-and-FasterVQA), all directly in
    the manual_dir.

  For the sslvqa config, also put SSL-VQA's semisupervised.json
  ("SemiSupervised Learning Module" in
  https://github.com/Shankhanil006/SSL-VQA) in the manual_dir.
  """

  def _info(self) -> tfds.core.DatasetInfo:
    published = lambda: tfds.features.Scalar(dtype=np.int32, doc=(
        "As in the label file; -1 if it has none."))
    return self.dataset_info_from_configs(
        features=builder_lib.vqa_features(
            published_num_frames=published(), published_width=published(),
            published_height=published()),
        homepage="https://github.com/baidut/PatchVQ",
        metadata=tfds.core.MetadataDict(score="mos", higher_is_better=True,
                                        score_range=[0.0, 100.0]))

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    manual_dir = os.fspath(dl_manager.manual_dir)
    if self.builder_config.sslvqa:
      labels = read_sslvqa(manual_dir, self.builder_config.num_labelled)
    else:
      labels = read_release(manual_dir)
    for split, name, reason in labels.broken:
      self.skip_log(split).skip(name, reason)
    return {split: self._generate_examples(split, list(rows.values()), manual_dir)
            for split, rows in labels.splits.items()}

  def _generate_examples(self, split: str, labels: list[Label], manual_dir: str):
    return self.examples(split, [(label.name, label) for label in labels],
                         functools.partial(make_example, manual_dir=manual_dir))
