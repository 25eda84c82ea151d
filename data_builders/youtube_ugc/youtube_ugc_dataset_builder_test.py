"""Tests of the youtube_ugc builder, built from dummy_data/ without TensorFlow."""

import os
import pathlib

import numpy as np
import pytest
import tensorflow_datasets as tfds

from data_builders.youtube_ugc import youtube_ugc_dataset_builder as ugc
from jvqa.data import build, builder_testing
from jvqa.errors import InputError

DUMMY = pathlib.Path(__file__).parent / "dummy_data"
XLSX = DUMMY / "original_videos_MOS_for_YouTube_UGC_dataset.xlsx"
tfds.disable_progress_bar()


@pytest.fixture(scope="module")
def builder(tmp_path_factory):
  """The dataset built once from dummy_data/ (the .xlsx MOS file)."""
  return builder_testing.build(ugc.Builder, manual_dir=DUMMY,
                               data_dir=tmp_path_factory.mktemp("data"))


def by_vid(builder):
  """``{vid: example}`` of the train split."""
  return {e["vid"].decode(): e for e in builder_testing.read_split(builder, "train")}


def test_split_size_and_skips(builder):
  assert builder_testing.split_sizes(builder) == {"train": 3}
  assert build.skipped_counts(builder) == {"train": 2}
  skipped = dict(builder.info.metadata["skipped"]["train"]["examples"])
  assert skipped["HDR_2160P-06ae.mkv"] == "no such file"
  broken = "original_videos/Sports/1080P/Sports_1080P-0063.mkv"
  assert "not a readable video" in skipped[broken]


def test_fields_match_the_mos_sheet(builder):
  examples = by_vid(builder)
  assert sorted(examples) == ["Animation_360P-24d4", "Gaming_480P-0a03", "Vlog_720P-32b2"]
  animation = examples["Animation_360P-24d4"]
  # Row 2 of the MOS sheet (the decoy sheet diff2 says 1.0).
  assert animation["mos"] == pytest.approx(3.649)
  assert animation["mos_std"] == pytest.approx(0.468)
  np.testing.assert_allclose(animation["chunk_mos"], [3.604, 3.721, 3.338], rtol=1e-6)
  assert animation["category"] == b"Animation" and animation["resolution"] == 360
  assert animation["name"] == b"original_videos/Animation/360P/Animation_360P-24d4.mkv"
  assert (animation["width"], animation["height"], animation["num_frames"]) == (48, 32, 6)
  assert examples["Vlog_720P-32b2"]["name"].endswith(b".mp4")
  assert builder.info.metadata["score_range"] == [1.0, 5.0]


def test_bytes_are_the_files(builder):
  for example in by_vid(builder).values():
    assert example["video"] == (DUMMY / example["name"].decode()).read_bytes()


def test_read_xlsx():
  rows = ugc.read_xlsx(XLSX)
  assert rows[0][:5] == ["vid", "category", "resolution", "# Subjects", "MOS full"]
  assert len(rows) == 6 and rows[5][0] == "Vlog_720P-32b2"
  assert ugc.read_xlsx(XLSX, sheet="diff2") == [
      ["vid", "MOS full"], ["Animation_360P-24d4", "1.0"]]


def test_csv_export_with_matlab_style_header(tmp_path):
  path = tmp_path / "original_videos_MOS_for_YouTube_UGC_dataset.csv"
  path.write_text("vid,category,resolution,x_Subjects,MOSFull,MOSChunk00,MOSChunk05,"
                  "MOSChunk10,stdFull\nAnimation_1080P-01b3,Animation,1080,125,3.649,"
                  "3.604,3.721,3.338,0.468\nbad,Animation,1080,1,,1,1,1,1\n")
  labels, broken = ugc.read_labels(ugc.find_label_file(tmp_path))
  assert labels == [ugc.Label("Animation_1080P-01b3", 3.649, 0.468, "Animation", 1080,
                              (3.604, 3.721, 3.338))]
  assert broken == [("bad", "row 3: no vid or MOS full")]


def test_missing_mos_file_and_column(tmp_path):
  with pytest.raises(InputError, match="no original_videos_MOS_for_YouTube_UGC_dataset.xlsx"):
    ugc.find_label_file(tmp_path)
  path = tmp_path / "original_videos_MOS_for_YouTube_UGC_dataset.csv"
  path.write_text("vid,MOS\na,3\n")
  with pytest.raises(InputError, match="no 'mosfull' column"):
    ugc.read_labels(path)


def test_video_index_prefers_the_original_mkv(tmp_path):
  for name in ("a/X_1080P-1.mp4", "b/X_1080P-1.mkv", "Y_360P-2_orig.mp4", "Y_360P-2.webm",
               "Z_480P-3_crf_10_ss_00_t_20.0.mp4", "notes.txt"):
    os.makedirs(tmp_path / os.path.dirname(name), exist_ok=True)
    (tmp_path / name).write_bytes(b"x")
  index = ugc.index_videos(tmp_path)
  assert index["X_1080P-1"] == "b/X_1080P-1.mkv"
  assert index["Y_360P-2"] == "Y_360P-2_orig.mp4"
  assert "Z_480P-3" not in index
