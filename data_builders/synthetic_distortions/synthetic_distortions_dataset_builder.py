"""SSL-VQA's synthetic data: pristine scenes, each in 13 versions (0 = reference).

The manual_dir holds either pristine videos (any folder layout), which the
build distorts with ``jvqa.data.distortions`` into a work folder of its own
under the TFDS download dir (a rebuild reuses the versions already there),
or the output folder of ``jvqa distort`` (recognised by its
``manifest.json``), which is only read. Every version is an example storing
its file's bytes unchanged; ``reference`` names the scene's reference
example, ``distortion`` its family, ``level`` 1-3 (0 for the reference) and
``scene`` the source video's base name. There are no human scores: ``mos``
is NaN. One ``train`` split holds every scene (split scenes downstream).
"""

import collections
import functools
import os

import numpy as np
import tensorflow_datasets as tfds

from jvqa.data import build, builder_lib, distortions
from jvqa.errors import VideoError
from jvqa.io import video

# The build's own folder of distorted versions, under the TFDS download dir.
WORK_DIR = "synthetic_distortions"


def is_distort_output(folder) -> bool:
  """Whether ``folder`` is a ``jvqa distort`` output (it has a manifest)."""
  return os.path.isfile(os.path.join(os.fspath(folder), distortions.MANIFEST))


def group_scenes(entries) -> dict[str, dict[int, dict]]:
  """``{scene name: {k: manifest entry}}``, scenes sorted by name."""
  scenes = collections.defaultdict(dict)
  for entry in entries:
    scenes[entry["name"]][int(entry["k"])] = entry
  return dict(sorted(scenes.items()))


def usable_scenes(scenes: dict[str, dict[int, dict]], root: str,
                  skips: builder_lib.SkipLog) -> dict[str, dict[int, dict]]:
  """The scenes whose reference is present and readable; the others are skipped.

  Every version of a skipped scene is counted: without its reference a
  scene is no use to full-reference or contrastive training.
  """
  usable = {}
  for name, versions in scenes.items():
    reason = _reference_problem(versions, root)
    if reason is None:
      usable[name] = versions
      continue
    for entry in versions.values():
      skips.skip(entry["path"], reason)
  return usable


def _reference_problem(versions: dict[int, dict], root: str) -> str | None:
  """Why a scene's reference cannot be used, or None."""
  if 0 not in versions:
    return "the scene has no reference (kind 0)"
  try:
    video.probe(os.path.join(root, versions[0]["path"]))
  except VideoError as e:
    return f"its reference {versions[0]['path']} is unreadable ({e.reason})"
  return None


def make_example(item: tuple[dict, str], skips: builder_lib.SkipLog, *,
                 root: str) -> dict | None:
  """The example of ``(manifest entry, its reference's name)``, or None (skipped)."""
  entry, reference = item
  # No human scores: mos is NaN.
  return builder_lib.video_example(
      os.path.join(root, entry["path"]), name=entry["path"], mos=None, skips=skips,
      allow_missing_score=True, reference=reference, distortion=entry["family"],
      scene=entry["name"], level=int(entry["level"]))


class Builder(build.VqaBuilder, tfds.core.GeneratorBasedBuilder):
  """DatasetBuilder for SSL-VQA's synthetically distorted scenes."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  # Worker processes distorting pristine videos (None: one per CPU core).
  DISTORT_WORKERS = None
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Put into the manual_dir either

  * pristine videos (any names, any subfolders; SSL-VQA used about 200 LSVQ
    yfcc-batch* videos): the build makes the 12 distorted versions of each
    into its own work folder under the TFDS download dir, which takes a few
    minutes per video (reused if the build is run again); or
  * the OUT_DIR of `jvqa distort SRC OUT_DIR` (folders 0..12 and
    manifest.json), which is read as it is.
  """

  def _info(self) -> tfds.core.DatasetInfo:
    kinds = {str(k): f"{d.family}/{d.level}" for k, d in distortions.DISTORTIONS.items()}
    return self.dataset_info_from_configs(
        features=builder_lib.vqa_features(
            full_reference=True,
            scene=tfds.features.Text(doc="The source video's base name."),
            level=tfds.features.Scalar(dtype=np.int32, doc=(
                "Distortion level, 1 (mildest) to 3; 0 for the reference."))),
        homepage="https://github.com/Shankhanil006/SSL-VQA",
        metadata=tfds.core.MetadataDict(score="none", higher_is_better=None,
                                        kinds=kinds))

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    manual_dir = os.fspath(dl_manager.manual_dir)
    skips = self.skip_log("train")
    if is_distort_output(manual_dir):
      root, entries = manual_dir, distortions.read_manifest(manual_dir).values()
    else:
      root = os.path.join(os.fspath(dl_manager.download_dir), WORK_DIR)
      entries = self._distort(manual_dir, root, skips)
    scenes = usable_scenes(group_scenes(entries), root, skips)
    return {"train": self._generate_examples(scenes, root)}

  def _distort(self, manual_dir: str, root: str, skips: builder_lib.SkipLog) -> list:
    """Distorts the pristine videos into ``root``; failed videos are skipped."""
    workers = self.DISTORT_WORKERS or os.cpu_count() or 1
    report = distortions.distort_folder(manual_dir, root, workers=workers)
    for path, reason in report.failures:
      skips.skip(os.path.relpath(path, manual_dir), reason)
    return report.entries

  def _generate_examples(self, scenes: dict[str, dict[int, dict]], root: str):
    items = []
    for versions in scenes.values():
      reference = versions[0]["path"]
      for k in sorted(versions):
        items.append((versions[k]["path"], (versions[k], reference)))
    return self.examples("train", items, functools.partial(make_example, root=root))
