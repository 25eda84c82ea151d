"""Tests of the live_qualcomm builder: built from dummy_data/ (16x16 frames) without TensorFlow."""

import logging
import math
import pathlib
import shutil
from unittest import mock

import pytest

from data_builders.live_qualcomm import live_qualcomm_dataset_builder as lib
from jvqa.data import builder_testing
from jvqa.errors import InputError
from jvqa.io import lossless

DUMMY = pathlib.Path(__file__).parent / "dummy_data"


def _build(manual_dir, data_dir):
  with mock.patch.object(lib, "WIDTH", 16), mock.patch.object(lib, "HEIGHT", 16):
    return builder_testing.build(lib.Builder, manual_dir=manual_dir, data_dir=data_dir)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
  builder = _build(DUMMY, tmp_path_factory.mktemp("data"))
  return builder, builder_testing.read_split(builder, "train")


def test_split_and_metadata(built):
  assert builder_testing.info_of(built[0]) == (
      "live_qualcomm", {"train": 3},
      {"score": "mos", "higher_is_better": True, "score_range": [0.0, 100.0]})
  assert "reference" not in built[0].info.features


def test_examples(built):
  _, train = built
  by_name = {e["name"].decode(): e for e in train}
  focus = by_name["Focus/22_FocusIP.yuv"]
  assert (focus["distortion"], focus["distortion_index"]) == (b"focus", 3)
  assert focus["mos"] == pytest.approx(66.9) and focus["biased_mos"] == pytest.approx(64.0)
  assert (focus["fps"], focus["num_frames"], focus["width"]) == (30.0, 5, 16)
  assert math.isnan(focus["mos_std"])
  assert by_name["Artifacts/07_ArtifactsSS.yuv"]["distortion_index"] == 0


def test_stored_videos_decode_bit_exactly(built):
  _, train = built
  for example in train:
    assert lossless.same_as_raw(example["video"], DUMMY / example["name"].decode(), 16, 16)


def test_parse_mat_order_and_fields():
  videos = lib.parse_mat(str(DUMMY / lib.MAT_FILE))
  assert [(v.path, v.mos, b) for v, b in videos] == [
      ("Artifacts/01_ArtifactsLG.yuv", 52.31, 50.2), ("Artifacts/07_ArtifactsSS.yuv", 41.07, 43.9),
      ("Focus/22_FocusIP.yuv", 66.9, 64.0)]
  assert {(v.width, v.height, v.fps) for v, _ in videos} == {(1920, 1080, 30.0)}


def test_broken_and_missing_videos_are_skipped(tmp_path, caplog):
  manual = tmp_path / "manual"
  shutil.copytree(DUMMY, manual)
  (manual / "Focus" / "22_FocusIP.yuv").unlink()
  (manual / "Artifacts" / "07_ArtifactsSS.yuv").write_bytes(b"\0" * 383)
  with caplog.at_level(logging.WARNING, logger="jvqa.data"):
    builder = _build(manual, tmp_path / "data")
  assert builder_testing.split_sizes(builder) == {"train": 1}
  assert "2 example(s) skipped" in caplog.text
  assert "Focus/22_FocusIP.yuv" in caplog.text and "Artifacts/07_ArtifactsSS.yuv" in caplog.text


def test_bad_mat_file_is_named(tmp_path):
  bad = tmp_path / lib.MAT_FILE
  bad.write_bytes(b"not a mat file")
  with pytest.raises(InputError, match=lib.MAT_FILE):
    lib.parse_mat(str(bad))
