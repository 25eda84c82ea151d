"""Scenes of a full-reference database: a reference and its distorted versions.

ST-VQRL trains on scene items (the reference plus k distorted versions of
one scene) and SSL-VQA's pristine corpus uses the references, so both need to
know which record belongs to which scene. That is in every record's
metadata (``jvqa.data.builder_lib.vqa_features``): ``name``, ``reference``
(the name of the scene's reference example, its own name for a reference),
``distortion``, ``num_frames``, ``width`` and ``height``.

Reading a record of a TFDS source reads the whole record, video bytes
included, so collecting the metadata of a large database reads all of it
(gigabytes for LSVQ's synthetic scenes). ``read_metadata`` therefore takes a
``cache`` file: the metadata is read once and kept there as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Sequence

log = logging.getLogger("jvqa.data")

# What ``read_metadata`` keeps of each record.
METADATA_FIELDS = ("name", "reference", "distortion", "num_frames", "width",
                   "height")
REFERENCE = "reference"


@dataclasses.dataclass(frozen=True)
class Scene:
  """One scene: record indices of its reference and its distorted versions.

  Attributes:
    name: the reference's name.
    reference: index of the reference record in the source.
    distorted: indices of the distorted versions (same frame size).
    num_frames: the reference's frame count.
  """
  name: str
  reference: int
  distorted: tuple[int, ...]
  num_frames: int


def text(value) -> str:
  """A TFDS ``Text`` value (bytes when read from a data source) as str."""
  if isinstance(value, (bytes, bytearray)):
    return bytes(value).decode("utf-8")
  return str(value)


def record_metadata(record: dict) -> dict:
  """The ``METADATA_FIELDS`` of one record, as JSON-able values.

  A record without ``reference`` is its own reference (a database of
  pristine videos); without ``distortion`` it counts as a reference when it
  is its own reference.
  """
  name = text(record["name"])
  reference = text(record.get("reference", name))
  default = REFERENCE if reference == name else ""
  return {
      "name": name,
      "reference": reference,
      "distortion": text(record.get("distortion", default)),
      "num_frames": int(record["num_frames"]),
      "width": int(record["width"]),
      "height": int(record["height"]),
  }


def _load_cache(cache: str, count: int) -> list[dict] | None:
  """The cached metadata if ``cache`` holds it for ``count`` records."""
  if not os.path.isfile(cache):
    return None
  with open(cache, encoding="utf-8") as f:
    metadata = json.load(f)
  if len(metadata) != count:
    log.warning("%s holds %d records, the source %d: reading it again",
                cache, len(metadata), count)
    return None
  return metadata


def _save_cache(cache: str, metadata: list[dict]) -> None:
  """Writes ``metadata`` to ``cache`` atomically (via a temporary file)."""
  folder = os.path.dirname(os.path.abspath(cache))
  os.makedirs(folder, exist_ok=True)
  partial = f"{cache}.tmp.{os.getpid()}"
  with open(partial, "w", encoding="utf-8") as f:
    json.dump(metadata, f)
  os.replace(partial, cache)


def read_metadata(source: Sequence[dict], *,
                  cache: str | os.PathLike | None = None) -> list[dict]:
  """``record_metadata`` of every record of ``source``, in source order.

  Args:
    source: a random-access source of example dicts (a TFDS data source, a
      list...).
    cache: a JSON file keeping the result: read if it exists and has one
      entry per record, else written. Reading every record of a TFDS source
      reads every video, so pass one for large databases.

  Returns:
    One dict per record with the keys ``METADATA_FIELDS``.
  """
  count = len(source)
  cache = os.fspath(cache) if cache is not None else None
  if cache is not None:
    metadata = _load_cache(cache, count)
    if metadata is not None:
      return metadata
  metadata = [record_metadata(source[i]) for i in range(count)]
  if cache is not None:
    _save_cache(cache, metadata)
  return metadata


def reference_indices(metadata: Sequence[dict]) -> list[int]:
  """Indices of the records that are their scene's reference."""
  return [i for i, m in enumerate(metadata)
          if m["name"] == m["reference"] or m["distortion"] == REFERENCE]


def _members(metadata: Sequence[dict]) -> dict[str, list[int]]:
  """``{reference name: indices of its distorted versions}``, in order."""
  groups: dict[str, list[int]] = {}
  for i, m in enumerate(metadata):
    if m["name"] != m["reference"] and m["distortion"] != REFERENCE:
      groups.setdefault(m["reference"], []).append(i)
  return groups


def _same_size(metadata: Sequence[dict], reference: int,
               versions: list[int]) -> list[int]:
  """The versions with the reference's frame size; logs the others."""
  size = (metadata[reference]["height"], metadata[reference]["width"])
  kept = []
  for i in versions:
    if (metadata[i]["height"], metadata[i]["width"]) == size:
      kept.append(i)
    else:
      log.warning("scene %s: version %s is %dx%d, not %dx%d like its "
                  "reference; left out", metadata[reference]["name"],
                  metadata[i]["name"], metadata[i]["width"],
                  metadata[i]["height"], size[1], size[0])
  return kept


def group_scenes(metadata: Sequence[dict], *,
                 min_distorted: int = 1) -> list[Scene]:
  """The scenes of a full-reference database, in reference order.

  A version whose frame size differs from its reference's is left out (one
  crop is shared by all versions of a scene item); a scene without a
  reference record, or left with fewer than ``min_distorted`` versions, is
  left out. Each is logged.

  Args:
    metadata: ``read_metadata`` output.
    min_distorted: the fewest distorted versions a usable scene has (the
      ``k`` of a scene item).

  Returns:
    The usable scenes.
  """
  members = _members(metadata)
  scenes = []
  for reference in reference_indices(metadata):
    name = metadata[reference]["name"]
    versions = _same_size(metadata, reference, members.pop(name, []))
    if len(versions) < min_distorted:
      log.warning("scene %s has %d distorted version(s), fewer than %d; "
                  "left out", name, len(versions), min_distorted)
      continue
    scenes.append(Scene(name=name, reference=reference,
                        distorted=tuple(versions),
                        num_frames=metadata[reference]["num_frames"]))
  for name, versions in members.items():
    log.warning("%d version(s) name the reference %s, which is not in the "
                "source; left out", len(versions), name)
  return scenes
