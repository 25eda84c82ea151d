"""A minimal TFDS builder for tests that need a real ArrayRecord source.

TFDS builders must live in a package, so tests cannot define one in their
own module. ``ListedVideos`` stores the videos listed in ``manual_dir/
examples.json`` (a list of ``{"file", "name", "mos"}`` with optional
``reference`` and ``distortion``) with the full-reference features of
``builder_lib.vqa_features``, in one ``train`` split.
"""

import json
import os

import tensorflow_datasets as tfds

from jvqa.data import builder_lib

EXAMPLES = "examples.json"


class ListedVideos(tfds.core.GeneratorBasedBuilder):
  """The videos listed in ``manual_dir/examples.json``, unchanged."""

  VERSION = tfds.core.Version("1.0.0")
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"Put the videos and {EXAMPLES} in manual_dir."

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self, features=builder_lib.vqa_features(full_reference=True))

  def _split_generators(self, dl_manager):
    return {"train": self._generate_examples(dl_manager.manual_dir)}

  def _generate_examples(self, manual_dir):
    with open(os.path.join(manual_dir, EXAMPLES), encoding="utf-8") as f:
      entries = json.load(f)
    skips = builder_lib.SkipLog("train")
    for entry in entries:
      name = entry["name"]
      example = builder_lib.video_example(
          os.path.join(manual_dir, entry["file"]), name=name, mos=entry["mos"],
          skips=skips, reference=entry.get("reference", name),
          distortion=entry.get("distortion", "reference"))
      if example is not None:
        yield name, example
    skips.report()
