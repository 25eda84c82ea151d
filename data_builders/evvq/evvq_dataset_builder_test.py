"""Tests of the evvq builder: built from dummy_data/ (16x16 frames) without TensorFlow."""

import math
import pathlib
from unittest import mock

import pytest

from data_builders.evvq import evvq_dataset_builder as lib
from jvqa.data import builder_testing

DUMMY = pathlib.Path(__file__).parent / "dummy_data"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
  with mock.patch.object(lib, "WIDTH", 16), mock.patch.object(lib, "HEIGHT", 16):
    return builder_testing.build_and_read(lib.Builder, manual_dir=DUMMY,
                                        data_dir=tmp_path_factory.mktemp("data"),
                                        splits=("train", "reference"))


def test_splits_and_metadata(built):
  assert builder_testing.info_of(built[0]) == (
      "evvq", {"train": 3, "reference": 2},
      {"score": "dmos", "higher_is_better": False, "score_range": [0.0, 100.0]})


def test_examples(built):
  _, splits = built
  train = {e["name"].decode(): e for e in splits["train"]}
  town = train["vga_videos/town_plan_9.yuv"]
  assert (town["distortion"], town["distortion_index"]) == (b"compression", 9)
  assert town["reference"] == b"vga_videos/reference/town_plan_vga.yuv"
  assert (town["mos"], town["fps"], town["num_frames"]) == (pytest.approx(78.5), 30.0, 4)
  refs = {e["name"]: e for e in splits["reference"]}
  assert set(refs) == {e["reference"] for e in train.values()}
  assert all(math.isnan(r["mos"]) for r in refs.values())


def test_stored_videos_decode_bit_exactly(built):
  _, splits = built
  assert builder_testing.not_bit_exact(splits["train"] + splits["reference"], DUMMY, 16, 16) == []


def test_without_references_the_reference_split_is_left_out(tmp_path, caplog):
  videos = tmp_path / "vga_videos"
  videos.mkdir()
  for f in (DUMMY / "vga_videos").iterdir():
    if f.is_file():
      (videos / f.name).write_bytes(f.read_bytes())
  with mock.patch.object(lib, "WIDTH", 16), mock.patch.object(lib, "HEIGHT", 16):
    builder = builder_testing.build(lib.Builder, manual_dir=tmp_path, data_dir=tmp_path / "d")
  assert builder_testing.split_sizes(builder) == {"train": 3}
  assert "reference/town_plan.yuv" in caplog.text and "split left out" in caplog.text
