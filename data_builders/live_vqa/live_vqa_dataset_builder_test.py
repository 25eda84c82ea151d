"""Tests of the live_vqa builder: built from dummy_data/ (16x16 frames) without TensorFlow."""

import logging
import math
import pathlib
import shutil
from unittest import mock

import pytest

from data_builders.live_vqa import live_vqa_dataset_builder as lib
from jvqa.data import builder_testing

DUMMY = pathlib.Path(__file__).parent / "dummy_data"
HEKE_LIST = builder_testing.shared_data("heke_dataset_info", lib.HEKE_FILE)


def _build(manual_dir, data_dir):
  """Builds with the dummy frame size (the real one is 768x432)."""
  with mock.patch.object(lib, "WIDTH", 16), mock.patch.object(lib, "HEIGHT", 16):
    return builder_testing.build(lib.Builder, manual_dir=manual_dir, data_dir=data_dir)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
  builder = _build(DUMMY, tmp_path_factory.mktemp("data"))
  return builder, {s: builder_testing.read_split(builder, s) for s in ("train", "reference")}


def test_splits_and_metadata(built):
  assert builder_testing.info_of(built[0]) == (
      "live_vqa", {"train": 4, "reference": 2},
      {"score": "dmos", "higher_is_better": False, "score_range": [0.0, 100.0]})


def test_examples_follow_the_official_lists(built):
  _, splits = built
  train = {e["name"].decode(): e for e in splits["train"]}
  pa13 = train["videos/pa13_25fps.yuv"]
  assert (pa13["distortion"], pa13["distortion_index"]) == (b"mpeg2", 3)
  assert pa13["reference"] == b"videos/pa1_25fps.yuv"
  assert pa13["mos"] == pytest.approx(62.127) and pa13["mos_std"] == pytest.approx(8.53)
  assert (pa13["fps"], pa13["num_frames"], pa13["width"]) == (25.0, 4, 16)
  sh6 = train["videos/sh6_50fps.yuv"]
  assert (sh6["distortion"], sh6["fps"], sh6["reference"]) == (b"ip", 50.0, b"videos/sh1_50fps.yuv")
  refs = {e["name"]: e for e in splits["reference"]}
  assert set(refs) == {e["reference"] for e in train.values()}
  assert all(r["distortion"] == b"reference" and r["distortion_index"] == -1
             and math.isnan(r["mos"]) for r in refs.values())


def test_stored_videos_decode_bit_exactly(built):
  _, splits = built
  assert builder_testing.not_bit_exact(splits["train"] + splits["reference"], DUMMY, 16, 16) == []


def test_distortion_numbering():
  assert [lib.distortion_of(n)[0] for n in range(2, 17)] == (
      ["wireless"] * 4 + ["ip"] * 3 + ["h264"] * 4 + ["mpeg2"] * 4)
  assert lib.parse_name("pr16_768x432_50fps.yuv") == ("pr", 16, 50)
  with pytest.raises(ValueError):
    lib.distortion_of(1)


@pytest.mark.skipif(not HEKE_LIST.exists(), reason=f"HEKE's list not found at {HEKE_LIST}")
def test_heke_list_parses_like_the_official_release():
  videos = lib.parse_heke(str(HEKE_LIST))
  assert len(videos) == 150 and len({v.reference for v in videos}) == 10
  first = videos[0]
  assert (first.path, first.reference, first.mos) == (
      "all-videos/pa2_768x432_25fps.yuv", "ref/pa1_768x432_25fps.yuv", pytest.approx(44.5104))
  for v in videos:  # HEKE's type index agrees with the official numbering.
    assert lib.distortion_of(lib.parse_name(v.path)[1]) == (v.distortion, v.distortion_index)
  assert {v.fps for v in videos} == {25, 50}
  assert sum(v.fps == 50 for v in videos) == 45


def test_heke_list_as_metadata_and_broken_videos_are_skipped(tmp_path, caplog):
  manual = tmp_path / "manual"
  shutil.copytree(DUMMY / "videos", manual / "videos")
  (manual / "videos" / "sh9_50fps.yuv").write_bytes(b"\0" * 100)  # Not whole frames.
  rows = ["0 0 ref/pa1_16x16_25fps.yuv all-videos/pa2_16x16_25fps.yuv 44.5 16 16 4",
          "0 3 ref/pa1_16x16_25fps.yuv all-videos/pa13_16x16_25fps.yuv 62.1 16 16 4",
          "7 2 ref/sh1_16x16_50fps.yuv all-videos/sh9_16x16_50fps.yuv 37.0 16 16 6",
          "7 2 ref/sh1_16x16_50fps.yuv all-videos/sh10_16x16_50fps.yuv 30.0 16 16 6"]
  (manual / lib.HEKE_FILE).write_text("\n".join(rows) + "\n")
  with caplog.at_level(logging.WARNING, logger="jvqa.data"):
    builder = _build(manual, tmp_path / "data")
  assert builder_testing.split_sizes(builder) == {"train": 2, "reference": 2}
  assert "2 example(s) skipped" in caplog.text
  assert "videos/sh9_50fps.yuv" in caplog.text and "sh10_16x16_50fps.yuv" in caplog.text
  train = {e["name"]: e for e in builder_testing.read_split(builder, "train")}
  assert math.isnan(train[b"videos/pa13_25fps.yuv"]["mos_std"])  # HEKE lists no std.
