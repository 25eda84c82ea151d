"""What the full-reference (synthetic-distortion) VQA builders share.

LIVE-VQA, CSIQ, EPFL-PoLiMI, LIVE Mobile, IVPL, IVC-IC, ECVQ and EVVQ each
publish raw yuv420p reference videos, distorted versions of them and one
score per distorted video. Their builders (``data_builders/<name>``) differ
only in how they read the metadata; the rest is here:

* ``parse_heke_list``: BVQA-HEKE's ``<DB>_list_for_VQA.txt`` (one distorted
  video per line: ``<ref index> <distortion-type index> <reference yuv>
  <distorted yuv> <score> <width> <height> <frames>``), which every builder
  of the six databases HEKE uses also accepts as its metadata.
* ``parse_scene_scores`` and ``reference_in_folder``: ECVQ's and EVVQ's
  ``subjective_scores_*.txt`` and ``reference/`` folder.
* ``FrVideo``: one video as the metadata describes it; ``references_of``
  gives the pristine references of a list of distorted videos.
* ``FileIndex``: finds a listed file under ``manual_dir`` whatever folder the
  user unpacked it into, also under its official name where HEKE renamed it
  (HEKE adds ``_<W>x<H>`` to some names).
* ``FrBuilder``: a TFDS builder with the splits ``train`` (every distorted
  video) and ``reference`` (the references: SSL-VQA's pristine corpus; left
  out, with a warning, when none of its files is there). Each raw file is
  stored as ``jvqa.io.lossless`` bytes, decoded bit-exactly.
"""

import abc
import dataclasses
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import tensorflow_datasets as tfds

from jvqa.data import builder_lib
from jvqa.errors import InputError, VideoError
from jvqa.io import lossless

log = logging.getLogger("jvqa.data")

# The ``distortion`` of a reference example and its ``distortion_index``.
REFERENCE = "reference"
REFERENCE_INDEX = -1


@dataclasses.dataclass(frozen=True)
class HekeRow:
  """One line of a BVQA-HEKE ``<DB>_list_for_VQA.txt``.

  Attributes:
    ref_index: 0-based index of the reference content.
    type_index: 0-based distortion-type index, as HEKE numbers it.
    reference: the reference's path relative to the database root.
    distorted: the distorted video's path relative to the database root.
    score: the subjective score (MOS or DMOS, as the database publishes it).
    width: frame width.
    height: frame height.
    num_frames: frame count.
  """
  ref_index: int
  type_index: int
  reference: str
  distorted: str
  score: float
  width: int
  height: int
  num_frames: int


def _heke_row(fields: list[str]) -> HekeRow:
  """A ``HekeRow`` from the 8 whitespace-separated fields of a line."""
  ref, kind, reference, distorted, score, width, height, frames = fields
  return HekeRow(int(ref), int(kind), reference, distorted, float(score),
                 int(width), int(height), int(frames))


def parse_heke_list(path: str | os.PathLike) -> list[HekeRow]:
  """Reads a BVQA-HEKE ``<DB>_list_for_VQA.txt``.

  Raises:
    InputError: a line without exactly 8 fields or with a non-numeric one.
  """
  rows = []
  with open(path, encoding="utf-8") as f:
    for number, line in enumerate(f, 1):
      fields = line.split()
      if not fields:
        continue
      if len(fields) != 8:
        raise InputError(path, f"line {number}: expected 8 fields, got {len(fields)}")
      try:
        rows.append(_heke_row(fields))
      except ValueError as e:
        raise InputError(path, f"line {number}: {e}") from e
  return rows


@dataclasses.dataclass(frozen=True)
class FrVideo:
  """One raw yuv420p video of a full-reference database, as listed.

  Attributes:
    path: the file as the metadata names it (relative to the database root,
      or just a file name; ``FileIndex`` finds it).
    reference: how the metadata names its reference (itself for a reference).
    distortion: the distortion type's name (``REFERENCE`` for a reference).
    distortion_index: the database's number for the distortion type
      (``REFERENCE_INDEX`` for a reference).
    mos: the published score (NaN for a reference).
    mos_std: its standard deviation where published, else NaN.
    width: frame width.
    height: frame height.
    fps: frame rate from the database's documentation.
  """
  path: str
  reference: str
  distortion: str
  distortion_index: int
  mos: float
  width: int
  height: int
  fps: float
  mos_std: float = builder_lib.MISSING


def references_of(videos: Iterable[FrVideo], fps_of: Callable[[FrVideo], float] | None = None
                  ) -> list[FrVideo]:
  """The distinct references of ``videos``, in order of first mention.

  Args:
    videos: distorted videos.
    fps_of: the reference's frame rate given one of its distorted videos
      (default: the distorted video's).
  """
  refs = {}
  for v in videos:
    if v.reference not in refs:
      refs[v.reference] = FrVideo(
          path=v.reference, reference=v.reference, distortion=REFERENCE,
          distortion_index=REFERENCE_INDEX, mos=builder_lib.MISSING,
          width=v.width, height=v.height, fps=fps_of(v) if fps_of else v.fps)
  return list(refs.values())


def strip_size(name: str, width: int, height: int) -> str:
  """``name`` without the ``_<W>x<H>`` that HEKE inserts into file names."""
  return name.replace(f"_{width}x{height}", "")


class FileIndex:
  """The files under a folder, found by relative path or by file name.

  Databases are unpacked in different folder layouts (the official archives,
  HEKE's ``ref/`` + ``all-videos/``...), so a listed file is looked up by
  its relative path first, then by its file name alone (case-insensitive),
  then by the alternative names given.
  """

  def __init__(self, root: str | os.PathLike, suffixes: Sequence[str] = (".yuv",)):
    self.root = os.fspath(root)
    self._paths = set()
    self._by_name = {}
    for folder, _, files in os.walk(self.root):
      for file in files:
        if file.lower().endswith(tuple(suffixes)):
          rel = os.path.relpath(os.path.join(folder, file), self.root).replace(os.sep, "/")
          self._paths.add(rel)
          self._by_name.setdefault(file.lower(), []).append(rel)

  def __len__(self) -> int:
    return len(self._paths)

  def find(self, listed: str, alternatives: Iterable[str] = ()) -> str | None:
    """The relative path of ``listed`` (or of an alternative name), or None.

    A file name found in several folders is ambiguous and counts as absent
    unless its listed relative path matches exactly.
    """
    listed = re.sub(r"^(\./)+", "", listed.replace("\\", "/"))
    if listed in self._paths:
      return listed
    for name in [os.path.basename(listed), *alternatives]:
      matches = self._by_name.get(os.path.basename(name).lower(), [])
      if len(matches) == 1:
        return matches[0]
      if len(matches) > 1:
        log.warning("%s: %d files named %s; give the path", self.root, len(matches), name)
    return None

  def glob(self, pattern: str) -> list[str]:
    """Relative paths whose file name matches ``pattern`` (a regex, case-insensitive)."""
    regex = re.compile(pattern, re.IGNORECASE)
    return sorted(p for p in self._paths if regex.fullmatch(os.path.basename(p)))


def find_file(root: str | os.PathLike, names: Sequence[str]) -> str | None:
  """The first file under ``root`` (searched recursively) named one of ``names``."""
  wanted = [n.lower() for n in names]
  found = {}
  for folder, _, files in os.walk(os.fspath(root)):
    for file in files:
      if file.lower() in wanted:
        found.setdefault(file.lower(), os.path.join(folder, file))
  for name in wanted:
    if name in found:
      return found[name]
  return None


def encode_example(root: str, rel: str, video: FrVideo, skips: builder_lib.SkipLog,
                   **extra) -> dict | None:
  """The example of one raw video, stored losslessly; None if skipped.

  Args:
    root: the manual folder.
    rel: the file's path relative to ``root`` (the example's name).
    video: its metadata.
    skips: where a broken file is counted and named.
    **extra: further feature values.
  """
  path = os.path.join(root, rel)
  try:
    data = lossless.encode_yuv420p_lossless(path, video.width, video.height, video.fps)
  except VideoError as e:
    skips.skip(rel, e.reason)
    return None
  # References have no score (NaN).
  return builder_lib.video_example(path, name=rel, mos=video.mos, mos_std=video.mos_std,
                                   skips=skips, data=data, allow_missing_score=True, **extra)


@dataclasses.dataclass(frozen=True)
class Score:
  """How a database's ``mos`` field reads (stored as dataset metadata).

  Attributes:
    score: ``"mos"`` or ``"dmos"`` (a difference score: higher is worse).
    higher_is_better: whether a higher score means better quality.
    score_range: the rating scale's ends ``[low, high]``.
  """
  score: str
  higher_is_better: bool
  score_range: tuple[float, float]

  def metadata(self) -> tfds.core.MetadataDict:
    """The dataset metadata recording the score's sense."""
    return tfds.core.MetadataDict(score=self.score, higher_is_better=self.higher_is_better,
                                  score_range=[float(x) for x in self.score_range])


class FrBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """A TFDS builder for a full-reference database of raw yuv420p videos.

  Subclasses set ``SCORE``, ``HOMEPAGE`` and ``MANUAL_DOWNLOAD_INSTRUCTIONS``
  and implement ``_distorted_videos``; ``_alternative_names`` and
  ``_reference_fps`` may be overridden.
  """

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release: raw yuv420p stored losslessly (x264 qp 0)."}
  SCORE: Score
  HOMEPAGE = ""

  @abc.abstractmethod
  def _distorted_videos(self, root: str) -> list[FrVideo]:
    """Every distorted video with its metadata, read from the manual folder."""

  def _alternative_names(self, video: FrVideo) -> list[str]:
    """Other names the file of ``video`` may have (default: without ``_<W>x<H>``)."""
    return [strip_size(os.path.basename(video.path), video.width, video.height)]

  def _reference_fps(self, distorted: FrVideo) -> float:
    """The frame rate of the reference of ``distorted`` (default: the same)."""
    return distorted.fps

  def _info(self) -> tfds.core.DatasetInfo:
    features = builder_lib.vqa_features(
        full_reference=True, distortion_index=tfds.features.Scalar(dtype=np.int32))
    return self.dataset_info_from_configs(features=features, homepage=self.HOMEPAGE,
                                          metadata=self.SCORE.metadata())

  def _split_generators(self, dl_manager):
    root = os.fspath(dl_manager.manual_dir)
    videos = self._distorted_videos(root)
    index = FileIndex(root)
    if not len(index):
      raise InputError(root, "no .yuv files found; see MANUAL_DOWNLOAD_INSTRUCTIONS")
    refs = references_of(videos, self._reference_fps)
    splits = {}
    for split, members in (("train", videos), ("reference", refs)):
      if any(index.find(v.path, self._alternative_names(v)) for v in members):
        splits[split] = self._generate_examples(root, index, members, split)
      else:  # TFDS cannot write an empty split.
        log.warning("%s: none of the %d %s videos found; split left out (missing: %s)",
                    root, len(members), split, ", ".join(v.path for v in members))
    return splits

  def _generate_examples(self, root: str, index: FileIndex, videos: list[FrVideo],
                         split: str) -> Iterator[tuple[str, dict]]:
    skips = builder_lib.SkipLog(split)
    for video in videos:
      rel = index.find(video.path, self._alternative_names(video))
      if rel is None:
        skips.skip(video.path, "no such file under the manual folder")
        continue
      reference = self._reference_name(index, video)
      example = encode_example(root, rel, video, skips, reference=reference,
                               distortion=video.distortion,
                               distortion_index=video.distortion_index)
      if example is not None:
        yield rel, example
    skips.report()

  def _reference_name(self, index: FileIndex, video: FrVideo) -> str:
    """The example name of the reference of ``video`` (its listed name if absent)."""
    ref = dataclasses.replace(video, path=video.reference)
    return index.find(ref.path, self._alternative_names(ref)) or ref.path


def missing_metadata(root: str, names: Sequence[str]) -> InputError:
  """The error for a manual folder that holds none of the metadata files."""
  return InputError(root, f"found none of {', '.join(names)}; see MANUAL_DOWNLOAD_INSTRUCTIONS")


def heke_videos(path: str, distortion_of: Callable[[HekeRow], tuple[str, int]],
                fps_of: Callable[[HekeRow], float]) -> list[FrVideo]:
  """The distorted videos of a HEKE list.

  Args:
    path: the ``<DB>_list_for_VQA.txt``.
    distortion_of: ``row -> (distortion name, distortion index)``.
    fps_of: ``row -> frame rate`` (the lists hold none).
  """
  videos = []
  for row in parse_heke_list(path):
    name, number = distortion_of(row)
    videos.append(FrVideo(path=row.distorted, reference=row.reference, distortion=name,
                          distortion_index=number, mos=row.score, width=row.width,
                          height=row.height, fps=fps_of(row)))
  return videos



def from_heke_list(root: str, name: str, parse: Callable[[str], list[FrVideo]]
                   ) -> list[FrVideo]:
  """The videos of HEKE's list ``name`` under ``root``, read by ``parse``.

  Raises:
    InputError: the list is not under ``root``.
  """
  path = find_file(root, [name])
  if path is None:
    raise missing_metadata(root, [name])
  return parse(path)


def _scene_score(line: str) -> tuple[str, float] | None:
  """``(file name, DMOS)`` of a ``<scene>_<n> <x> <DMOS>`` line; None for a header."""
  fields = line.split()
  try:
    score = float(fields[2])
  except (IndexError, ValueError):
    return None
  name = fields[0] if fields[0].lower().endswith(".yuv") else fields[0] + ".yuv"
  return name, score


def scene_and_number(name: str) -> tuple[str, int]:
  """``("container_ship", 3)`` from ``container_ship_3[.yuv]``."""
  stem = os.path.splitext(os.path.basename(name))[0]
  scene, _, number = stem.rpartition("_")
  if not scene or not number.isdigit():
    raise ValueError(f"not a <scene>_<number> video name: {name!r}")
  return scene, int(number)


def parse_scene_scores(path: str, *, width: int, height: int, fps: float,
                       reference_of: Callable[[str], str]) -> list[FrVideo]:
  """ECVQ/EVVQ ``subjective_scores_*.txt``: ``<scene>_<n> <x> <DMOS>`` per line.

  The third field is the DMOS (as SSL-VQA reads these files); the second is
  not used. ``distortion_index`` is the video's number within its scene.

  Args:
    path: the scores file.
    width: frame width.
    height: frame height.
    fps: frame rate.
    reference_of: ``scene -> the reference's file name``.
  """
  with open(path, encoding="utf-8") as f:
    lines = [line for line in f if line.strip()]
  videos = []
  for number, line in enumerate(lines, 1):
    parsed = _scene_score(line)
    if parsed is None:
      if number == 1:
        continue  # A header.
      raise InputError(path, f"line {number}: expected '<scene>_<n> <x> <DMOS>', "
                       f"got {line.strip()!r}")
    name, dmos = parsed
    scene, condition = scene_and_number(name)
    videos.append(FrVideo(path=name, reference=reference_of(scene), distortion="compression",
                          distortion_index=condition, mos=dmos, width=width, height=height,
                          fps=fps))
  return videos


def reference_in_folder(index: FileIndex, scene: str, folder: str = "reference") -> str:
  """The file of ``scene`` in a ``folder`` directory (``<scene>[_...].yuv``).

  Returns ``<folder>/<scene>.yuv`` when there is no single match, so that the
  build names the missing reference when it skips it.
  """
  pattern = re.escape(scene) + r"(?:[_.\-][^/]*)?\.yuv"
  found = [p for p in index.glob(pattern)
           if folder in (part.lower() for part in p.split("/")[:-1])]
  return found[0] if len(found) == 1 else f"{folder}/{scene}.yuv"
