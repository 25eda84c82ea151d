"""Tests of the well_set builder (config ``tiny``), built from dummy_data/ without TensorFlow.

dummy_data/ holds two pristine clips of 24 frames at 176x162 (the smallest
frames MS-SSIM takes are 161 px a side), rendered from the demo corpus's
scenes ``bbb_wide`` and ``testsrc2`` with
``well_set.render_references(SceneSpec(("bbb_wide", "testsrc2"), 176, 162,
24, crf=18), folder)``, and ``broken.mp4``, which is not a video.
"""

import json
import math
import os
import pathlib
import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds

from data_builders.well_set import well_set_dataset_builder as well_set_builder
from jvqa.data import build, builder_testing, well_set
from jvqa.data import heke_distortions as heke

DUMMY = pathlib.Path(__file__).parent / "dummy_data"
SCENES = ("bbb_wide", "testsrc2")
tfds.disable_progress_bar()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
  """The tiny config built once from dummy_data/, in one process."""
  data_dir = tmp_path_factory.mktemp("data")
  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(well_set_builder.Builder, "DISTORT_WORKERS", 1)
    builder = builder_testing.build(well_set_builder.Builder, manual_dir=DUMMY,
                                    data_dir=data_dir, config="tiny")
  return builder, data_dir


def examples_by_name(builder) -> dict[str, dict]:
  """``{name: example}`` of the train split."""
  return {e["name"].decode(): e for e in builder_testing.read_split(builder, "train")}


def versions_dir(data_dir) -> pathlib.Path:
  """Where the build wrote the versions of the pristine clips."""
  return pathlib.Path(data_dir) / "downloads" / well_set.NAME / "seed0" / well_set.VERSIONS_DIR


def test_name_split_and_skips(built):
  builder, _ = built
  assert builder.name == "well_set" and builder.builder_config.name == "tiny"
  assert builder.needs_manual_dir()
  assert not well_set_builder.Builder(config="demo", data_dir=os.fspath(
      builder.data_dir) + "-unbuilt").needs_manual_dir()
  assert builder_testing.split_sizes(builder) == {"train": 8}
  assert build.skipped_counts(builder) == {"train": 1}
  skipped = dict(builder.info.metadata["skipped"]["train"]["examples"])
  assert list(skipped) == ["broken.mp4"]
  assert "not a readable video container" in skipped["broken.mp4"]


def test_metadata(built):
  builder, _ = built
  metadata = builder.info.metadata
  assert metadata["fr_metrics"] == ["gmsd", "st_gmsd", "st_rred", "ms_ssim"]
  assert metadata["fr_higher_is_better"]["ms_ssim"] is True
  assert metadata["fr_rescale"]["st_rred"]["high"] == 1000.0
  assert (metadata["segment_length"], metadata["clip_frames"], metadata["clip_stride"]) == (
      16, 8, 2)
  assert metadata["kinds"] == {"H264_crf_23": "H264_crf/1", "H264_crf_42": "H264_crf/6",
                               "MPEG2_5": "MPEG2/1", "MPEG2_29": "MPEG2/6"}
  assert metadata["score"] == "none"


def test_fields(built):
  builder, _ = built
  examples = examples_by_name(builder)
  assert sorted(examples) == sorted(f"{k}/{s}.mp4" for k in well_set.TINY_KINDS
                                    for s in SCENES)
  for name, example in examples.items():
    kind, scene = name.split("/")[0], name.split("/")[1][:-len(".mp4")]
    assert example["distortion"].decode() == kind
    assert example["family"].decode() == heke.HEKE_DISTORTIONS[kind].family
    assert int(example["level"]) == heke.HEKE_DISTORTIONS[kind].level
    assert example["scene"].decode() == scene
    assert example["reference"].decode() == f"{scene}.mp4"
    assert (example["width"], example["height"], example["num_frames"]) == (176, 162, 24)
    assert example["fps"] == pytest.approx(25.0)
    assert math.isnan(example["mos"]) and math.isnan(example["mos_std"])
    assert example["segments"].dtype == np.int32 and example["segments"].tolist() == [0, 8]
    assert example["fr_scores"].dtype == np.float32 and example["fr_scores"].shape == (2, 4)
    assert np.isfinite(example["fr_scores"]).all()


def test_bytes_are_the_lossless_versions(built):
  builder, data_dir = built
  for name, example in examples_by_name(builder).items():
    assert example["video"] == (versions_dir(data_dir) / name).read_bytes()


def test_data_source_reads_without_the_builder(built):
  _, data_dir = built
  source = tfds.data_source("well_set/tiny", split="train", data_dir=os.fspath(data_dir))
  assert len(source) == 8 and source[0]["fr_scores"].shape == (2, 4)


def _copy_output(data_dir, folder: pathlib.Path, sources: dict[str, str]) -> None:
  """The build's versions as a distort output whose manifest names ``sources``."""
  shutil.copytree(versions_dir(data_dir), folder)
  manifest_path = folder / "manifest.json"
  manifest = json.loads(manifest_path.read_text())
  for entry in manifest["files"].values():
    entry["source"] = sources[entry["name"]]
  manifest_path.write_text(json.dumps(manifest))


def test_distort_output_is_only_read(built, tmp_path, monkeypatch):
  builder, data_dir = built
  manual = tmp_path / "distorted"
  # bbb_wide's manifest source is gone but a copy lies in the folder;
  # testsrc2's reference is nowhere.
  _copy_output(data_dir, manual, {"bbb_wide": os.fspath(tmp_path / "gone.mp4"),
                                  "testsrc2": os.fspath(tmp_path / "gone2.mp4")})
  (manual / "refs").mkdir()
  shutil.copy(DUMMY / "bbb_wide.mp4", manual / "refs" / "bbb_wide.mp4")
  (manual / "MPEG2_5" / "bbb_wide.mp4").write_bytes(b"damaged")

  def no_distorting(*args, **kwargs):
    raise AssertionError("a jvqa distort output must only be read")

  monkeypatch.setattr(heke, "heke_distort_folder", no_distorting)
  rebuilt = builder_testing.build(well_set_builder.Builder, manual_dir=manual,
                                  data_dir=tmp_path / "data", config="tiny")
  examples = examples_by_name(rebuilt)
  assert sorted(examples) == sorted(f"{k}/bbb_wide.mp4" for k in well_set.TINY_KINDS
                                    if k != "MPEG2_5")
  assert build.skipped_counts(rebuilt) == {"train": 5}
  skipped = dict(rebuilt.info.metadata["skipped"]["train"]["examples"])
  assert "reference testsrc2 is neither at" in skipped["MPEG2_29/testsrc2.mp4"]
  assert "not a readable video container" in skipped["MPEG2_5/bbb_wide.mp4"]
  assert examples["H264_crf_42/bbb_wide.mp4"]["reference"].decode() == "refs/bbb_wide.mp4"
  # The scores are those of the first build (same bytes, same reference).
  first = examples_by_name(builder)
  for name, example in examples.items():
    np.testing.assert_array_equal(example["fr_scores"], first[name]["fr_scores"])
