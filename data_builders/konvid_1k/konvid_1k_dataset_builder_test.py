"""Tests of the konvid_1k builder, built from dummy_data/ without TensorFlow."""

import csv
import math
import os
import pathlib
import shutil

import pytest
import tensorflow_datasets as tfds

from data_builders.konvid_1k import konvid_1k_dataset_builder as konvid
from jvqa.data import build, builder_testing
from jvqa.errors import InputError

DUMMY = pathlib.Path(__file__).parent / "dummy_data"
ATTRIBUTES = DUMMY / "KoNViD_1k_metadata" / "KoNViD_1k_attributes.csv"
# BVQA-HEKE's list of the release's file names, kept outside the repository.
HEKE_INFO = builder_testing.shared_data("heke_dataset_info", "KoNViD_info.txt")
tfds.disable_progress_bar()


@pytest.fixture(scope="module")
def builder(tmp_path_factory):
  """The dataset built once from dummy_data/ (attributes CSV)."""
  return builder_testing.build(konvid.Builder, manual_dir=DUMMY,
                               data_dir=tmp_path_factory.mktemp("data"))


def by_id(builder):
  """``{flickr_id: example}`` of the train split."""
  return {int(e["flickr_id"]): e for e in builder_testing.read_split(builder, "train")}


def test_split_size_and_skips(builder):
  assert builder_testing.split_sizes(builder) == {"train": 3}
  assert build.skipped_counts(builder) == {"train": 2}
  skipped = dict(builder.info.metadata["skipped"]["train"]["examples"])
  assert skipped["KoNViD_1k_videos/4542323058.mp4"] == "no such file"
  assert "not a readable video" in skipped["KoNViD_1k_videos/5319047612.mp4"]


def test_fields_match_the_attributes_csv(builder):
  with open(ATTRIBUTES, newline="") as f:
    rows = {int(row["flickr_id"]): row for row in csv.DictReader(f)}
  examples = by_id(builder)
  assert sorted(examples) == [3339962845, 6947112934, 8171831850]
  for flickr_id, example in examples.items():
    assert example["mos"] == pytest.approx(float(rows[flickr_id]["MOS"]))
    assert example["mos_std"] == pytest.approx(float(rows[flickr_id]["SD"]))
    assert (example["width"], example["height"], example["num_frames"]) == (48, 32, 6)
    assert example["fps"] == pytest.approx(29.97, abs=1e-3)
  # The older release's long file name is matched by its Flickr id.
  assert examples[6947112934]["name"].decode() == (
      "KoNViD_1k_videos/6947112934_original_centercrop_960x540_8s.mp4")
  assert builder.info.metadata["score_range"] == [1.0, 5.0]


def test_bytes_are_the_files(builder):
  for example in by_id(builder).values():
    assert example["video"] == (DUMMY / example["name"].decode()).read_bytes()


def test_mos_csv_without_standard_deviation(tmp_path):
  manual_dir = tmp_path / "manual"
  manual_dir.mkdir()
  os.symlink(DUMMY / "KoNViD_1k_videos", manual_dir / "KoNViD_1k_videos")
  shutil.copy(DUMMY / "KoNViD_1k_metadata" / "KoNViD_1k_mos.csv", manual_dir)
  built = builder_testing.build(konvid.Builder, manual_dir=manual_dir, data_dir=tmp_path / "d")
  examples = by_id(built)
  assert examples[8171831850]["mos"] == pytest.approx(4.444029851)
  assert all(math.isnan(e["mos_std"]) for e in examples.values())
  assert build.skipped_counts(built) == {"train": 2}


def test_label_rows(tmp_path):
  path = tmp_path / "KoNViD_1k_mos.csv"
  path.write_text("Flickr_ID,MOS\n123,3.5\nabc,2\n456,\n123,4\n")
  labels, broken = konvid.read_labels(path)
  assert [(l.flickr_id, l.mos) for l in labels] == [("123", 3.5)]
  assert math.isnan(labels[0].mos_std)
  assert [reason.split(":")[0] for _, reason in broken] == ["line 3", "line 4", "line 5"]


def test_missing_label_file_and_column(tmp_path):
  with pytest.raises(InputError, match="no KoNViD_1k_attributes.csv or KoNViD_1k_mos.csv"):
    konvid.find_label_file(tmp_path)
  (tmp_path / "KoNViD_1k_mos.csv").write_text("id,mos\n1,2\n")
  with pytest.raises(InputError, match="no 'flickr_id' column"):
    konvid.read_labels(konvid.find_label_file(tmp_path))


@pytest.mark.skipif(not HEKE_INFO.is_file(), reason=f"{HEKE_INFO} is absent")
def test_flickr_ids_of_the_release_file_names():
  names = [line.split()[0] for line in HEKE_INFO.read_text().splitlines() if line.strip()]
  ids = [konvid.flickr_id_of(name) for name in names]
  assert len(names) == 1200 and len(set(ids)) == 1200 and None not in ids
  assert ids[0] == "8536919744"  # all-videos/8536919744_original_centercrop_960x540_8s.mp4
