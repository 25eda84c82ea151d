"""Tests of the ecvq builder: built from dummy_data/ (16x16 frames) without TensorFlow."""

import math
import pathlib
from unittest import mock

import pytest

from data_builders.ecvq import ecvq_dataset_builder as lib
from jvqa.data import builder_testing
from jvqa.errors import InputError

DUMMY = pathlib.Path(__file__).parent / "dummy_data"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
  with mock.patch.object(lib, "WIDTH", 16), mock.patch.object(lib, "HEIGHT", 16):
    return builder_testing.build_and_read(lib.Builder, manual_dir=DUMMY,
                                        data_dir=tmp_path_factory.mktemp("data"),
                                        splits=("train", "reference"))


def test_splits_and_metadata(built):
  assert builder_testing.info_of(built[0]) == (
      "ecvq", {"train": 3, "reference": 2},
      {"score": "dmos", "higher_is_better": False, "score_range": [0.0, 100.0]})


def test_examples(built):
  _, splits = built
  train = {e["name"].decode(): e for e in splits["train"]}
  ship = train["cif_videos/container_ship_12.yuv"]
  assert (ship["distortion"], ship["distortion_index"]) == (b"compression", 12)
  assert (ship["reference"], ship["fps"]) == (b"cif_videos/reference/container_ship.yuv", 30.0)
  assert ship["mos"] == pytest.approx(61.0432)  # The third column.
  refs = {e["name"]: e for e in splits["reference"]}
  assert set(refs) == {e["reference"] for e in train.values()}
  assert all(math.isnan(r["mos"]) for r in refs.values())


def test_stored_videos_decode_bit_exactly(built):
  _, splits = built
  assert builder_testing.not_bit_exact(splits["train"] + splits["reference"], DUMMY, 16, 16) == []


def test_missing_scores_file_is_named(tmp_path):
  (tmp_path / "a.yuv").write_bytes(bytes(384))
  with pytest.raises(InputError, match=lib.SCORES_FILE):
    builder_testing.build(lib.Builder, manual_dir=tmp_path, data_dir=tmp_path / "data")


def test_scene_names():
  assert lib.fr_lists.scene_and_number("flower_garden_11.yuv") == ("flower_garden", 11)
  assert len(lib.SCENES) == 8
