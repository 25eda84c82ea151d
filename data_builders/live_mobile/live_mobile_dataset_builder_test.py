"""Tests of the live_mobile builder: built from dummy_data/ (16x16 frames) without TensorFlow."""

import collections
import math
import pathlib

import pytest

from data_builders.live_mobile import live_mobile_dataset_builder as lib
from jvqa.data import builder_testing

DUMMY = pathlib.Path(__file__).parent / "dummy_data"
HEKE_LIST = builder_testing.shared_data("heke_dataset_info", lib.HEKE_FILE)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
  return builder_testing.build_and_read(lib.Builder, manual_dir=DUMMY,
                                        data_dir=tmp_path_factory.mktemp("data"),
                                        splits=("train", "reference"))


def test_splits_and_metadata(built):
  assert builder_testing.info_of(built[0]) == (
      "live_mobile", {"train": 3, "reference": 2},
      {"score": "dmos", "higher_is_better": False, "score_range": [0.0, 5.0]})


def test_examples(built):
  _, splits = built
  train = {e["name"].decode(): e for e in splits["train"]}
  t124 = train["all-videos/bf_16x16_t124.yuv"]
  assert (t124["distortion"], t124["distortion_index"]) == (b"temporal_dynamics", 4)
  assert (t124["reference"], t124["fps"]) == (b"ref/bf_16x16_org.yuv", 30.0)
  assert t124["mos"] == pytest.approx(2.1625)
  assert train["all-videos/tk_16x16_w4.yuv"]["distortion"] == b"wireless"
  refs = {e["name"]: e for e in splits["reference"]}
  assert set(refs) == {e["reference"] for e in train.values()}
  assert all(math.isnan(r["mos"]) and r["distortion_index"] == -1 for r in refs.values())


def test_stored_videos_decode_bit_exactly(built):
  _, splits = built
  assert builder_testing.not_bit_exact(splits["train"] + splits["reference"], DUMMY, 16, 16) == []


def test_distortion_names():
  assert lib.distortion_name("x/bf_1280x720_s14.yuv") == "rate_adaptation"
  assert lib.distortion_name("bf_f3.yuv") == "frame_freeze"
  with pytest.raises(ValueError):
    lib.distortion_name("bf_1280x720_org.yuv")


@pytest.mark.skipif(not HEKE_LIST.exists(), reason=f"HEKE's list not found at {HEKE_LIST}")
def test_heke_list():
  videos = lib.parse_heke(str(HEKE_LIST))
  assert len(videos) == 160 and len({v.reference for v in videos}) == 10
  kinds = collections.Counter((v.distortion_index, v.distortion) for v in videos)
  assert kinds == {(0, "compression"): 40, (3, "rate_adaptation"): 30,
                   (4, "temporal_dynamics"): 50, (5, "wireless"): 40}
  assert {(v.width, v.height, v.fps) for v in videos} == {(1280, 720, 30.0)}
