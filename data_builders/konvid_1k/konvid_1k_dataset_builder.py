"""KoNViD-1k: 1,200 Flickr videos (960x540, 8 s) with crowdsourced MOS on 1..5.

Labels come from the release's ``KoNViD_1k_attributes.csv`` (columns
``flickr_id``, ``file_name``, ``MOS``, ``SD``, ...; preferred, as it has the
standard deviation) or ``KoNViD_1k_mos.csv`` (``flickr_id,mos``), found in the
manual_dir or its ``KoNViD_1k_metadata/`` or ``KoNViD_1k_videos/``. Columns
are found by name, in any case. A video is matched by its Flickr id: the
current release names it ``<flickr_id>.mp4``, an older one
``<flickr_id>_original_centercrop_960x540_8s.mp4``; either is found anywhere
under the manual_dir. Everything is in one ``train`` split.
"""

import csv
import dataclasses
import functools
import math
import os
import re

import numpy as np
import tensorflow_datasets as tfds

from jvqa.data import build, builder_lib
from jvqa.errors import InputError

LABEL_FILES = ("KoNViD_1k_attributes.csv", "KoNViD_1k_mos.csv")
VIDEO_DIR = "KoNViD_1k_videos"
LABEL_DIRS = ("", "KoNViD_1k_metadata", VIDEO_DIR)
_FLICKR_ID = re.compile(r"^(\d+)(?:[_.]|$)")


@dataclasses.dataclass(frozen=True)
class Label:
  """One video of the label file."""
  flickr_id: str
  mos: float
  mos_std: float = builder_lib.MISSING


def flickr_id_of(file_name: str) -> str | None:
  """The Flickr id a KoNViD-1k file name starts with, or None."""
  match = _FLICKR_ID.match(os.path.basename(file_name))
  return match.group(1) if match else None


def find_label_file(manual_dir) -> str:
  """The first of ``LABEL_FILES`` found in ``LABEL_DIRS``; InputError if none."""
  for name in LABEL_FILES:
    for folder in LABEL_DIRS:
      path = os.path.join(manual_dir, folder, name)
      if os.path.isfile(path):
        return path
  raise InputError(manual_dir, f"no {' or '.join(LABEL_FILES)} in the manual_dir "
                   f"or its {' or '.join(LABEL_DIRS[1:])}")


def _columns(fieldnames, path) -> dict[str, str]:
  """``{"flickr_id", "mos", "sd"} -> the file's column name`` (any case)."""
  by_lower = {name.strip().lower(): name for name in fieldnames or ()}
  columns = {key: by_lower[key] for key in ("flickr_id", "mos", "sd")
             if key in by_lower}
  for key in ("flickr_id", "mos"):
    if key not in columns:
      raise InputError(path, f"no {key!r} column (columns: {', '.join(by_lower)})")
  return columns


def read_labels(path) -> tuple[list[Label], list[tuple[str, str]]]:
  """The labels of a KoNViD-1k CSV, and the ``(row, reason)`` of unusable rows."""
  labels, broken, seen = [], [], set()
  with open(path, newline="", encoding="utf-8-sig") as f:
    reader = csv.DictReader(f)
    columns = _columns(reader.fieldnames, path)
    for record in reader:
      value = lambda key: (record.get(columns.get(key, "")) or "").strip()
      flickr_id, mos = value("flickr_id"), builder_lib.parse_float(value("mos"))
      if not flickr_id.isdigit() or math.isnan(mos):
        broken.append((flickr_id or f"line {reader.line_num}",
                       f"line {reader.line_num}: no Flickr id or MOS"))
      elif flickr_id in seen:
        broken.append((flickr_id, f"line {reader.line_num}: listed twice"))
      else:
        seen.add(flickr_id)
        labels.append(Label(flickr_id, mos, builder_lib.parse_float(value("sd"))))
  return labels, broken


def index_videos(manual_dir) -> dict[str, str]:
  """``{flickr_id: path relative to manual_dir}``; ``<id>.mp4`` beats longer names."""
  index = {}
  length = lambda relative: len(os.path.basename(relative))
  for relative in build.video_files(manual_dir):
    flickr_id = flickr_id_of(relative)
    if flickr_id and (flickr_id not in index or length(relative) < length(index[flickr_id])):
      index[flickr_id] = relative
  return index


def make_example(item: tuple[Label, str], skips, *, manual_dir: str) -> dict | None:
  """The example of ``(label, relative video path)``, or None (skipped)."""
  label, relative = item
  return builder_lib.video_example(
      os.path.join(manual_dir, relative), name=relative, mos=label.mos,
      mos_std=label.mos_std, skips=skips, flickr_id=int(label.flickr_id))


class Builder(build.VqaBuilder, tfds.core.GeneratorBasedBuilder):
  """DatasetBuilder for KoNViD-1k."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  From https://database.mmsp-kn.de/konvid-1k-database.html download
  KoNViD_1k_videos.zip and KoNViD_1k_metadata.zip and extract both into the
  manual_dir, giving:

    manual_dir/KoNViD_1k_videos/<flickr_id>.mp4        (1,200 videos)
    manual_dir/KoNViD_1k_metadata/KoNViD_1k_attributes.csv
                                   (or KoNViD_1k_mos.csv)
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=builder_lib.vqa_features(flickr_id=tfds.features.Scalar(dtype=np.int64)),
        homepage="https://database.mmsp-kn.de/konvid-1k-database.html",
        metadata=tfds.core.MetadataDict(score="mos", higher_is_better=True,
                                        score_range=[1.0, 5.0]))

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    manual_dir = os.fspath(dl_manager.manual_dir)
    labels, broken = read_labels(find_label_file(manual_dir))
    skips = self.skip_log("train")
    for name, reason in broken:
      skips.skip(name, reason)
    return {"train": self._generate_examples(labels, index_videos(manual_dir), manual_dir)}

  def _generate_examples(self, labels: list[Label], videos: dict[str, str], manual_dir: str):
    expected = lambda label: os.path.join(VIDEO_DIR, f"{label.flickr_id}.mp4")
    items = [(label.flickr_id, (label, videos.get(label.flickr_id) or expected(label)))
             for label in labels]
    return self.examples("train", items,
                         functools.partial(make_example, manual_dir=manual_dir))
