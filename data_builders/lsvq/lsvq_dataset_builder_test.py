"""Tests of the lsvq builder, built from dummy_data/ without TensorFlow."""

import csv
import os
import pathlib
import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds

from data_builders.lsvq import lsvq_dataset_builder as lsvq
from jvqa.data import build, builder_testing
from jvqa.errors import InputError

DUMMY = pathlib.Path(__file__).parent / "dummy_data"
VIDEO_FOLDERS = ("yfcc-batch1", "yfcc-batch2", "ia-batch1", "ia-batch2", "backup2")
# SSL-VQA's JSON as published, kept outside the repository (see shared/data/README.md).
SHARED_JSON = builder_testing.shared_data("sslvqa_semisupervised.json")
tfds.disable_progress_bar()


@pytest.fixture(scope="module")
def builder(tmp_path_factory):
  """The default config built once from dummy_data/ (official CSVs)."""
  return builder_testing.build(lsvq.Builder, manual_dir=DUMMY,
                               data_dir=tmp_path_factory.mktemp("data"))


def by_name(builder, split):
  """``{name: example}`` of one split."""
  return {e["name"].decode(): e for e in builder_testing.read_split(builder, split)}


def official_rows():
  """``{name.mp4: row}`` of both dummy official CSVs, read with ``csv`` directly."""
  rows = {}
  for name in ("labels_train_test.csv", "labels_test_1080p.csv"):
    with open(DUMMY / name, newline="") as f:
      rows.update({f"{row['name']}.mp4": row for row in csv.DictReader(f)})
  return rows


def test_split_sizes(builder):
  assert builder_testing.split_sizes(builder) == {"train": 3, "test": 2, "test_1080p": 2}
  assert sorted(by_name(builder, "test")) == ["ia-batch2/clip-b.mp4", "yfcc-batch1/747.mp4"]
  assert sorted(by_name(builder, "test_1080p")) == ["backup2/b13.mp4", "yfcc-batch1/722.mp4"]


def test_broken_rows_and_videos_are_skipped_and_counted(builder):
  assert build.skipped_counts(builder) == {"train": 3, "test": 2, "test_1080p": 0}
  skipped = {split: dict(record["examples"])
             for split, record in builder.info.metadata["skipped"].items()}
  assert skipped["train"] == {
      "ia-batch24/broken-zero": "frame_number '0': not a video",
      "ia-batch24/broken-missing": "mos '' is not a number",
      "yfcc-batch2/999.mp4": "no such file"}
  assert list(skipped["test"]) == ["ia-batch24/broken-one", "yfcc-batch2/998.mp4"]
  assert "not a readable video" in skipped["test"]["yfcc-batch2/998.mp4"]


def test_fields_match_the_label_files(builder):
  rows = official_rows()
  for split in ("train", "test", "test_1080p"):
    for name, example in by_name(builder, split).items():
      row = rows[name]
      assert example["mos"] == pytest.approx(float(row["mos"]))
      assert np.isnan(example["mos_std"])
      assert example["published_num_frames"] == int(row["frame_number"])
      assert example["published_num_frames"] == example["num_frames"]
      assert example["published_width"] == int(row["width"]) == example["width"]
      assert example["published_height"] == int(row["height"]) == example["height"]
  assert builder.info.metadata["score_range"] == [0.0, 100.0]


def test_bytes_are_the_files(builder):
  for name, example in by_name(builder, "train").items():
    assert example["video"] == (DUMMY / name).read_bytes()


def fastvqa_manual_dir(folder):
  """A manual_dir with the dummy videos and FAST-VQA's label lists only."""
  folder.mkdir()
  for name in VIDEO_FOLDERS:
    os.symlink(DUMMY / name, folder / name)
  for path in (DUMMY / "fastvqa_labels").iterdir():
    shutil.copy(path, folder / path.name)
  return folder


def test_fastvqa_label_lists(tmp_path):
  manual_dir = fastvqa_manual_dir(tmp_path / "manual")
  built = builder_testing.build(lsvq.Builder, manual_dir=manual_dir,
                                data_dir=tmp_path / "data")
  assert builder_testing.split_sizes(built) == {"train": 3, "test": 2, "test_1080p": 2}
  assert build.skipped_counts(built) == {"train": 2, "test": 1, "test_1080p": 0}
  train = by_name(built, "train")
  assert train["yfcc-batch1/725.mp4"]["mos"] == pytest.approx(76.84375)
  assert train["yfcc-batch1/725.mp4"]["published_num_frames"] == -1
  assert train["yfcc-batch1/725.mp4"]["num_frames"] == 6


def test_fastvqa_line_parsing(tmp_path):
  path = tmp_path / "labels_test.txt"
  path.write_text("a/1.mp4, -1, -1, 50.5\n\nb/2.mp4, -1, -1, x\nc/3.mp4, 70\n"
                  "a/1.mp4, -1, -1, 51")
  labels = lsvq.Labels()
  lsvq.read_fastvqa(path, labels, "test")
  assert list(labels.splits["test"].values()) == [lsvq.Label("a/1.mp4", 50.5)]
  assert [(name, reason.split(":")[0]) for _, name, reason in labels.broken] == [
      ("b/2.mp4", "line 3"), ("c/3.mp4", "line 4"), ("a/1.mp4", "listed twice")]


def test_missing_label_files_are_named(tmp_path):
  (tmp_path / "yfcc-batch1").mkdir()
  with pytest.raises(InputError, match="no LSVQ label files: expected labels_train_test.csv"):
    lsvq.read_release(tmp_path)
  shutil.copy(DUMMY / "labels_train_test.csv", tmp_path)
  with pytest.raises(InputError, match=r"labels_test_1080p\.csv: missing"):
    lsvq.read_release(tmp_path)


def test_sslvqa_config(tmp_path):
  config = lsvq.LsvqConfig(name="sslvqa_small", sslvqa=True, num_labelled=3)
  built = builder_testing.build(lsvq.Builder, manual_dir=DUMMY, data_dir=tmp_path,
                                config=config)
  # The JSON's entries 0, 2 and 5 (linspace(0, 5, 3)) are labelled.
  assert sorted(by_name(built, "labelled")) == [
      "ia-batch2/clip-b.mp4", "yfcc-batch1/725.mp4", "yfcc-batch1/728.mp4"]
  assert sorted(by_name(built, "unlabelled")) == [
      "ia-batch1/clip-a.mp4", "yfcc-batch1/747.mp4"]
  assert build.skipped_counts(built) == {"labelled": 0, "unlabelled": 1}


def test_sslvqa_needs_more_videos_than_labels(tmp_path):
  shutil.copy(DUMMY / "semisupervised.json", tmp_path)
  with pytest.raises(InputError, match="6 videos: more than 500 are needed"):
    lsvq.read_sslvqa(tmp_path, lsvq.SSLVQA_NUM_LABELLED)


@pytest.mark.skipif(not SHARED_JSON.is_file(), reason=f"{SHARED_JSON} is absent")
def test_sslvqa_split_of_the_published_json():
  entries = lsvq.read_sslvqa_json(SHARED_JSON)
  labelled, unlabelled = lsvq.sslvqa_split(len(entries))
  assert (len(entries), len(labelled), len(unlabelled)) == (1999, 500, 1499)
  assert [entries[i].name for i in labelled[:5]] == [
      f"yfcc-batch1/{n}.mp4" for n in (725, 80, 189, 302, 398)]
  assert set(labelled).isdisjoint(unlabelled)
  assert sorted([*labelled, *unlabelled]) == list(range(1999))
  assert entries[0].mos == pytest.approx(76.84375)
  assert all(0 <= e.mos <= 100 for e in entries)
  assert np.mean([entries[i].mos for i in labelled]) == pytest.approx(60.3, abs=0.05)
