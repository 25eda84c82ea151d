"""YouTube-UGC: the original (not transcoded) UGC videos with crowdsourced MOS on 1..5.

Labels come from the release's ``original_videos_MOS_for_YouTube_UGC_dataset.xlsx``
(sheet ``MOS``: columns ``vid``, ``category``, ``resolution``, ``MOS full``,
``MOS chunk00`` / ``05`` / ``10``, ``std full``, ...), read without a
spreadsheet library, or from a CSV export of that sheet. Column names are
matched ignoring case, spaces and punctuation (``MOS full`` = ``MOSFull``).
Videos are matched by ``vid`` anywhere under the manual_dir:
``<vid>.mkv`` (the release's originals), ``<vid>.mp4`` or ``<vid>.webm``, or
the same with an ``_orig`` suffix; transcoded versions (``<vid>_crf_...``) are
never used. Everything is in one ``train`` split.
"""

import csv
import dataclasses
import functools
import math
import os
import re
import zipfile
from xml.etree import ElementTree

import numpy as np
import tensorflow_datasets as tfds

from jvqa.data import build, builder_lib
from jvqa.errors import InputError

LABEL_FILES = ("original_videos_MOS_for_YouTube_UGC_dataset.xlsx",
               "original_videos_MOS_for_YouTube_UGC_dataset.csv")
SHEET = "MOS"
CHUNKS = ("moschunk00", "moschunk05", "moschunk10")
# Preferred container first: the release's originals are Matroska.
EXTENSIONS = (".mkv", ".mp4", ".webm")
_ORIGINAL_SUFFIX = "_orig"
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


@dataclasses.dataclass(frozen=True)
class Label:
  """One video of the MOS sheet."""
  vid: str
  mos: float
  mos_std: float
  category: str
  resolution: int
  chunk_mos: tuple


def column_key(name: str) -> str:
  """A column name compared loosely: ``"MOS full"`` and ``"MOSFull"`` -> ``"mosfull"``."""
  return re.sub(r"[^a-z0-9]", "", name.lower())


def _column_index(reference: str) -> int:
  """The 0-based column of a cell reference such as ``"AB12"``."""
  index = 0
  for char in re.match(r"[A-Z]+", reference).group(0):
    index = index * 26 + ord(char) - ord("A") + 1
  return index - 1


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
  """The workbook's shared strings (empty if it has none)."""
  if "xl/sharedStrings.xml" not in archive.namelist():
    return []
  root = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
  return ["".join(t.text or "" for t in item.iter(f"{{{_NS['m']}}}t"))
          for item in root.findall("m:si", _NS)]


def _sheet_path(archive: zipfile.ZipFile, sheet: str) -> str:
  """The archive path of worksheet ``sheet``, or of the first one."""
  workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
  sheets = workbook.findall("m:sheets/m:sheet", _NS)
  chosen = next((s for s in sheets if s.get("name") == sheet), sheets[0])
  rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
  target = next(r.get("Target") for r in rels if r.get("Id") == chosen.get(_REL))
  return target.lstrip("/") if target.startswith("/xl/") else f"xl/{target}"


def _cell_text(cell, strings: list[str]) -> str:
  """The text of one ``<c>`` element."""
  kind = cell.get("t")
  if kind == "inlineStr":
    return "".join(t.text or "" for t in cell.iter(f"{{{_NS['m']}}}t"))
  value = cell.find("m:v", _NS)
  text = "" if value is None or value.text is None else value.text
  return strings[int(text)] if kind == "s" and text else text


def read_xlsx(path, sheet: str = SHEET) -> list[list[str]]:
  """The rows of worksheet ``sheet`` (else the first) of an .xlsx, as text."""
  with zipfile.ZipFile(path) as archive:
    strings = _shared_strings(archive)
    root = ElementTree.fromstring(archive.read(_sheet_path(archive, sheet)))
  return [_row_values(row, strings) for row in root.iter(f"{{{_NS['m']}}}row")]


def _row_values(row, strings: list[str]) -> list[str]:
  """The texts of one ``<row>``, empty where a cell is absent."""
  cells, column = {}, -1
  for cell in row.findall("m:c", _NS):
    reference = cell.get("r")
    column = _column_index(reference) if reference else column + 1
    cells[column] = _cell_text(cell, strings)
  return [cells.get(i, "") for i in range(max(cells, default=-1) + 1)]


def read_table(path) -> list[dict[str, str]]:
  """The MOS sheet (.xlsx) or its CSV export as dicts keyed by ``column_key``."""
  try:
    if os.fspath(path).lower().endswith(".xlsx"):
      rows = read_xlsx(path)
    else:
      with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
  except (OSError, zipfile.BadZipFile, KeyError, StopIteration, ElementTree.ParseError) as e:
    raise InputError(path, f"cannot read the MOS table ({type(e).__name__}: {e})") from e
  if not rows:
    raise InputError(path, "empty MOS table")
  header = [column_key(name) for name in rows[0]]
  for needed in ("vid", "mosfull"):
    if needed not in header:
      raise InputError(path, f"no {needed!r} column (columns: {', '.join(rows[0])})")
  return [dict(zip(header, row)) for row in rows[1:] if any(cell.strip() for cell in row)]


def _label(record: dict[str, str]) -> Label:
  """The ``Label`` of one table row."""
  resolution = builder_lib.parse_float(record.get("resolution"))
  return Label(
      vid=record["vid"].strip(), mos=builder_lib.parse_float(record.get("mosfull")),
      mos_std=builder_lib.parse_float(record.get("stdfull")), category=(record.get("category") or "").strip(),
      resolution=int(resolution) if math.isfinite(resolution) else -1,
      chunk_mos=tuple(builder_lib.parse_float(record.get(key)) for key in CHUNKS))


def read_labels(path) -> tuple[list[Label], list[tuple[str, str]]]:
  """The labels of the MOS table, and the ``(vid, reason)`` of unusable rows."""
  labels, broken, seen = [], [], set()
  for number, record in enumerate(read_table(path), 2):
    label = _label(record)
    if not label.vid or math.isnan(label.mos):
      broken.append((label.vid or f"row {number}", f"row {number}: no vid or MOS full"))
    elif label.vid in seen:
      broken.append((label.vid, f"row {number}: listed twice"))
    else:
      seen.add(label.vid)
      labels.append(label)
  return labels, broken


def find_label_file(manual_dir) -> str:
  """The first of ``LABEL_FILES`` in ``manual_dir``; InputError if none."""
  for name in LABEL_FILES:
    path = os.path.join(manual_dir, name)
    if os.path.isfile(path):
      return path
  raise InputError(manual_dir, f"no {' or '.join(LABEL_FILES)} in the manual_dir")


def _video_rank(name: str) -> tuple[str, int] | None:
  """``(vid, preference)`` of a video file name (lower is better), or None."""
  stem, extension = os.path.splitext(name)
  if extension.lower() not in EXTENSIONS:
    return None
  original = stem.endswith(_ORIGINAL_SUFFIX)
  vid = stem[:-len(_ORIGINAL_SUFFIX)] if original else stem
  return vid, 2 * EXTENSIONS.index(extension.lower()) + int(original)


def index_videos(manual_dir) -> dict[str, str]:
  """``{vid: path relative to manual_dir}`` of the preferred file of each video."""
  best = {}
  for relative in build.video_files(manual_dir):
    ranked = _video_rank(os.path.basename(relative))
    if ranked and (ranked[0] not in best or ranked[1] < best[ranked[0]][0]):
      best[ranked[0]] = (ranked[1], relative)
  return {vid: relative for vid, (_, relative) in best.items()}


def make_example(item: tuple[Label, str], skips, *, manual_dir: str) -> dict | None:
  """The example of ``(label, relative video path)``, or None (skipped)."""
  label, relative = item
  return builder_lib.video_example(
      os.path.join(manual_dir, relative), name=relative, mos=label.mos,
      mos_std=label.mos_std, skips=skips, vid=label.vid, category=label.category,
      resolution=label.resolution, chunk_mos=np.asarray(label.chunk_mos, np.float32))


class Builder(build.VqaBuilder, tfds.core.GeneratorBasedBuilder):
  """DatasetBuilder for YouTube-UGC's original videos."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  YouTube-UGC is at https://media.withyoutube.com/ (Google Cloud Storage
  bucket gs://ugc-dataset, CC BY). Put into the manual_dir:

    original_videos_MOS_for_YouTube_UGC_dataset.xlsx   (the MOS file of the
        original videos, as released; or a CSV export of its MOS sheet with
        the same name and a .csv extension)
    the original videos, e.g. original_videos/<Category>/<res>P/<vid>.mkv
        (any folder layout: videos are found by name under the manual_dir)
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=builder_lib.vqa_features(
            vid=tfds.features.Text(), category=tfds.features.Text(),
            resolution=tfds.features.Scalar(dtype=np.int32, doc="-1 if not published"),
            chunk_mos=tfds.features.Tensor(shape=(3,), dtype=np.float32,
                                           doc="MOS of the chunks at 0, 5 and 10 s")),
        homepage="https://media.withyoutube.com/",
        metadata=tfds.core.MetadataDict(score="mos", higher_is_better=True,
                                        score_range=[1.0, 5.0]))

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    manual_dir = os.fspath(dl_manager.manual_dir)
    labels, broken = read_labels(find_label_file(manual_dir))
    for vid, reason in broken:
      self.skip_log("train").skip(vid, reason)
    return {"train": self._generate_examples(labels, index_videos(manual_dir), manual_dir)}

  def _generate_examples(self, labels: list[Label], videos: dict[str, str], manual_dir: str):
    items = [(label.vid, (label, videos.get(label.vid) or f"{label.vid}.mkv"))
             for label in labels]
    return self.examples("train", items,
                         functools.partial(make_example, manual_dir=manual_dir))
