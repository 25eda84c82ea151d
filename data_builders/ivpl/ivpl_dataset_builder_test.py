"""Tests of the ivpl builder: built from dummy_data/ (16x16 frames) without TensorFlow."""

import collections
import math
import pathlib

import pytest

from data_builders.ivpl import ivpl_dataset_builder as lib
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
      "ivpl", {"train": 3, "reference": 2},
      {"score": "dmos", "higher_is_better": False, "score_range": [-4.0, 4.0]})


def test_examples(built):
  _, splits = built
  train = {e["name"].decode(): e for e in splits["train"]}
  toys = train["all-videos/toys_calendar_16x16_mpeg2_3.yuv"]
  assert (toys["distortion"], toys["distortion_index"]) == (b"mpeg2", 2)
  assert (toys["reference"], toys["fps"]) == (b"ref/toys_calendar_16x16_org.yuv", 25.0)
  assert toys["mos"] == pytest.approx(-0.2614)
  assert train["all-videos/bus_16x16_ip_4.yuv"]["distortion_index"] == 3
  refs = {e["name"]: e for e in splits["reference"]}
  assert set(refs) == {e["reference"] for e in train.values()}
  assert all(math.isnan(r["mos"]) for r in refs.values())


def test_stored_videos_decode_bit_exactly(built):
  _, splits = built
  assert builder_testing.not_bit_exact(splits["train"] + splits["reference"], DUMMY, 16, 16) == []


@pytest.mark.skipif(not HEKE_LIST.exists(), reason=f"HEKE's list not found at {HEKE_LIST}")
def test_heke_list():
  videos = lib.parse_heke(str(HEKE_LIST))
  assert len(videos) == 128 and len({v.reference for v in videos}) == 10
  kinds = collections.Counter((v.distortion_index, v.distortion) for v in videos)
  assert kinds == {(0, "dirac"): 30, (1, "h264"): 40, (2, "mpeg2"): 30, (3, "ip"): 28}
  assert all(lib.DISTORTIONS[v.distortion_index] == v.distortion for v in videos)
  assert {(v.width, v.height, v.fps) for v in videos} == {(1920, 1088, 25.0)}
