"""Tests of the csv_vqa builder, built from dummy_data/ without TensorFlow."""

import csv
import math
import pathlib

import pytest
import tensorflow_datasets as tfds

from data_builders.csv_vqa import csv_vqa_dataset_builder as csv_vqa
from jvqa.data import build, builder_testing
from jvqa.errors import InputError

DUMMY = pathlib.Path(__file__).parent / "dummy_data"
tfds.disable_progress_bar()


@pytest.fixture(scope="module")
def builder(tmp_path_factory):
  """The dataset built once from dummy_data/."""
  return builder_testing.build(csv_vqa.Builder, manual_dir=DUMMY,
                               data_dir=tmp_path_factory.mktemp("data"))


def by_name(builder, split):
  """``{name: example}`` of one split."""
  return {e["name"].decode(): e for e in builder_testing.read_split(builder, split)}


def test_split_sizes_and_skips(builder):
  assert builder_testing.split_sizes(builder) == {"train": 3, "test": 1}
  assert build.skipped_counts(builder) == {"train": 1, "test": 1}
  skipped = builder.info.metadata["skipped"]
  assert [name for name, _ in skipped["train"]["examples"]] == ["videos/missing.mp4"]
  assert skipped["train"]["examples"][0][1] == "no such file"
  assert [name for name, _ in skipped["test"]["examples"]] == ["videos/broken.mp4"]


def test_fields_match_labels_csv(builder):
  with open(DUMMY / "labels.csv", newline="") as f:
    rows = {row["filename"]: row for row in csv.DictReader(f)}
  examples = {**by_name(builder, "train"), **by_name(builder, "test")}
  assert sorted(examples) == [
      "videos/a.mp4", "videos/b.mp4", "videos/d.mp4", "videos/sub/c.mkv"]
  for name, example in examples.items():
    assert example["mos"] == pytest.approx(float(rows[name]["mos"]))
    if rows[name]["mos_std"]:
      assert example["mos_std"] == pytest.approx(float(rows[name]["mos_std"]))
    else:
      assert math.isnan(example["mos_std"])
  c = examples["videos/sub/c.mkv"]
  assert (c["width"], c["height"], c["num_frames"]) == (32, 24, 7)
  assert c["fps"] == pytest.approx(25)
  assert builder.info.metadata["score_range"] == [1.75, 4.25]
  assert builder.info.metadata["higher_is_better"] is True


def test_bytes_are_the_files(builder):
  for name, example in by_name(builder, "train").items():
    assert example["video"] == (DUMMY / name).read_bytes()


def write_labels(folder, text):
  """Writes ``labels.csv`` in ``folder``; returns its path."""
  path = folder / "labels.csv"
  path.write_text(text)
  return path


def test_no_split_column_puts_everything_in_train(tmp_path):
  write_labels(tmp_path, "filename,mos\nx.mp4,3\ny/z.mp4,4.5\n")
  splits = csv_vqa.read_labels(tmp_path / "labels.csv")
  assert list(splits) == ["train"]
  assert [(l.filename, l.mos) for l in splits["train"]] == [("x.mp4", 3.0), ("y/z.mp4", 4.5)]
  assert math.isnan(splits["train"][0].mos_std)


@pytest.mark.parametrize("text, message", [
    ("filename,score\na.mp4,3\n", "no 'mos' column (columns: filename, score)"),
    ("name,mos\na.mp4,3\n", "no 'filename' column"),
    ("filename,mos\na.mp4,3\nb.mp4,good\n", "line 3: mos 'good' is not a number"),
    ("filename,mos\na.mp4,\n", "line 2: mos '' is not a number"),
    ("filename,mos,mos_std\na.mp4,3,x\n", "line 2: mos_std 'x' is not a number"),
    ("filename,mos,split\na.mp4,3,my split\n", "split 'my split' is not a valid"),
    ("filename,mos,split\na.mp4,3,all\n", "split 'all' is not a valid"),
    ("filename,mos\na.mp4,3\na.mp4,4\n", "line 3: 'a.mp4' is listed twice"),
    ("filename,mos\n/videos/a.mp4,3\n", "line 2: filename '/videos/a.mp4' must be relative"),
    ("filename,mos\n", "no rows after the header"),
    ("", "empty file"),
])
def test_bad_labels_csv_is_one_clear_error(tmp_path, text, message):
  path = write_labels(tmp_path, text)
  with pytest.raises(InputError) as error:
    csv_vqa.read_labels(path)
  assert str(error.value).startswith(f"{path}: ")
  assert message in str(error.value)
  assert "\n" not in str(error.value)


def test_missing_labels_csv(tmp_path):
  with pytest.raises(InputError, match=r"labels\.csv: no such file"):
    csv_vqa.read_labels(tmp_path / "labels.csv")
