"""Tests of the synthetic_distortions builder, built from dummy_data/ without TensorFlow."""

import math
import os
import pathlib
import shutil

import pytest
import tensorflow_datasets as tfds

from data_builders.synthetic_distortions import synthetic_distortions_dataset_builder as synthetic
from jvqa.data import build, builder_testing, distortions

DUMMY = pathlib.Path(__file__).parent / "dummy_data"
tfds.disable_progress_bar()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
  """The dataset built once from the pristine clips of dummy_data/, in one process."""
  data_dir = tmp_path_factory.mktemp("data")
  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(synthetic.Builder, "DISTORT_WORKERS", 1)
    builder = builder_testing.build(synthetic.Builder, manual_dir=DUMMY, data_dir=data_dir)
  return builder, data_dir


def examples_by_name(builder) -> dict[str, dict]:
  """``{name: example}`` of the train split."""
  return {e["name"].decode(): e for e in builder_testing.read_split(builder, "train")}


def test_name_split_and_skips(built):
  builder, _ = built
  assert builder.name == "synthetic_distortions"
  assert builder_testing.split_sizes(builder) == {"train": 26}
  assert build.skipped_counts(builder) == {"train": 1}
  skipped = dict(builder.info.metadata["skipped"]["train"]["examples"])
  assert "not a readable video container" in skipped["broken.mp4"]
  assert builder.info.metadata["score"] == "none"
  assert builder.info.metadata["kinds"]["10"] == "framerate/1"


def test_fields(built):
  builder, _ = built
  examples = examples_by_name(builder)
  assert sorted(examples) == sorted(f"{k}/{scene}.mp4" for k in range(13)
                                    for scene in ("scene_a", "scene_b"))
  for name, example in examples.items():
    k = int(name.split("/")[0])
    distortion = distortions.DISTORTIONS[k]
    scene = name.split("/")[1][:-len(".mp4")]
    assert example["scene"].decode() == scene
    assert example["reference"].decode() == f"0/{scene}.mp4"
    assert example["distortion"].decode() == distortion.family
    assert int(example["level"]) == distortion.level
    assert (example["width"], example["height"], example["num_frames"]) == (64, 48, 12)
    assert example["fps"] == pytest.approx(24.0)
    assert math.isnan(example["mos"]) and math.isnan(example["mos_std"])


def test_bytes_are_the_files(built):
  builder, data_dir = built
  work = data_dir / "downloads" / synthetic.WORK_DIR
  for name, example in examples_by_name(builder).items():
    assert example["video"] == (work / name).read_bytes()
  assert examples_by_name(builder)["0/scene_a.mp4"]["video"] == (
      DUMMY / "scene_a.mp4").read_bytes()


def test_data_source_reads_without_the_builder(built):
  _, data_dir = built
  source = tfds.data_source("synthetic_distortions", split="train", data_dir=os.fspath(data_dir))
  assert len(source) == 26


def test_distort_output_is_only_read(built, tmp_path, monkeypatch):
  _, data_dir = built
  manual = tmp_path / "distorted"
  shutil.copytree(data_dir / "downloads" / synthetic.WORK_DIR, manual)
  (manual / "5" / "scene_b.mp4").write_bytes(b"damaged")
  (manual / "0" / "scene_a.mp4").unlink()

  def no_distorting(*args, **kwargs):
    raise AssertionError("a jvqa distort output must only be read")

  monkeypatch.setattr(distortions, "distort_folder", no_distorting)
  builder = builder_testing.build(synthetic.Builder, manual_dir=manual,
                                  data_dir=tmp_path / "data")
  examples = examples_by_name(builder)
  # scene_a has lost its reference (all 13 skipped); scene_b one damaged version.
  assert sorted(examples) == sorted(f"{k}/scene_b.mp4" for k in range(13) if k != 5)
  assert build.skipped_counts(builder) == {"train": 14}
  skipped = dict(builder.info.metadata["skipped"]["train"]["examples"])
  assert "reference 0/scene_a.mp4 is unreadable" in skipped["7/scene_a.mp4"]
  assert "not a readable video container" in skipped["5/scene_b.mp4"]
