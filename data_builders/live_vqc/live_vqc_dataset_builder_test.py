"""Tests of the live_vqc builder, built from dummy_data/ without TensorFlow."""

import math
import pathlib

import numpy as np
import pytest
import scipy.io
import tensorflow_datasets as tfds

from data_builders.live_vqc import live_vqc_dataset_builder as live_vqc
from jvqa.data import build, builder_testing
from jvqa.errors import InputError

DUMMY = pathlib.Path(__file__).parent / "dummy_data"
# BVQA-HEKE's list of the release's videos, kept outside the repository.
HEKE_INFO = builder_testing.shared_data("heke_dataset_info", "LIVE-VQC_info.txt")
tfds.disable_progress_bar()


@pytest.fixture(scope="module")
def builder(tmp_path_factory):
  """The dataset built once from dummy_data/."""
  return builder_testing.build(live_vqc.Builder, manual_dir=DUMMY,
                               data_dir=tmp_path_factory.mktemp("data"))


def by_name(builder):
  """``{name: example}`` of the train split."""
  return {e["name"].decode(): e for e in builder_testing.read_split(builder, "train")}


def test_split_size_and_skips(builder):
  assert builder_testing.split_sizes(builder) == {"train": 3}
  assert build.skipped_counts(builder) == {"train": 2}
  skipped = dict(builder.info.metadata["skipped"]["train"]["examples"])
  assert skipped["Video/A003.mp4"] == "no such file"
  assert "not a readable video" in skipped["Video/A004.mp4"]


def test_fields_match_data_mat(builder):
  mat = scipy.io.loadmat(DUMMY / "data.mat")
  scores = {str(entry[0][0]): float(mos) for entry, mos in
            zip(mat["video_list"], mat["mos"].ravel())}
  examples = by_name(builder)
  assert sorted(examples) == ["Video/A001.mp4", "Video/A002.mp4", "Video/B001.mp4"]
  for name, example in examples.items():
    assert example["mos"] == pytest.approx(scores[name.split("/")[1]])
    assert math.isnan(example["mos_std"])
  portrait = examples["Video/A002.mp4"]
  assert (portrait["width"], portrait["height"], portrait["num_frames"]) == (32, 48, 5)
  assert builder.info.metadata["score_range"] == [0.0, 100.0]


def test_bytes_are_the_files(builder):
  for name, example in by_name(builder).items():
    assert example["video"] == (DUMMY / name).read_bytes()


def test_read_data_mat_order():
  labels = live_vqc.read_data_mat(DUMMY / "data.mat")
  assert [l.file_name for l in labels] == [
      "A001.mp4", "A002.mp4", "A003.mp4", "A004.mp4", "B001.mp4"]
  assert labels[0].mos == pytest.approx(80.232)


def test_bad_data_mat(tmp_path):
  with pytest.raises(InputError, match="missing: put LIVE-VQC's data.mat"):
    live_vqc.read_data_mat(tmp_path / "data.mat")
  scipy.io.savemat(tmp_path / "data.mat", {"mos": np.ones((3, 1))})
  with pytest.raises(InputError, match="expected a MATLAB file with 'video_list' and 'mos'"):
    live_vqc.read_data_mat(tmp_path / "data.mat")


def test_video_found_in_video_folder_or_at_the_top(tmp_path):
  (tmp_path / "Video").mkdir()
  (tmp_path / "Video" / "A001.mp4").write_bytes(b"x")
  (tmp_path / "A002.mp4").write_bytes(b"x")
  assert live_vqc.video_path(tmp_path, "A001.mp4") == "Video/A001.mp4"
  assert live_vqc.video_path(tmp_path, "A002.mp4") == "A002.mp4"
  assert live_vqc.video_path(tmp_path, "A003.mp4") == "Video/A003.mp4"


@pytest.mark.skipif(not HEKE_INFO.is_file(), reason=f"{HEKE_INFO} is absent")
def test_release_file_names_fit_the_video_folder_layout():
  names = [line.split()[0] for line in HEKE_INFO.read_text().splitlines() if line.strip()]
  base_names = [pathlib.PurePosixPath(name).name for name in names]
  assert len(base_names) == len(set(base_names)) == 585
  assert base_names[0] == "A001.mp4" and base_names[-1] == "R001.mp4"
  assert all(live_vqc.video_path("/nonexistent", n) == f"Video/{n}" for n in base_names)
