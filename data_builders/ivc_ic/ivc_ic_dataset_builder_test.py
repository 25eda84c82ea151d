"""Tests of the ivc_ic builder: built from dummy_data/ (16x16 frames) without TensorFlow."""

import collections
import math
import pathlib

import pytest

from data_builders.ivc_ic import ivc_ic_dataset_builder as lib
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
      "ivc_ic", {"train": 3, "reference": 2},
      {"score": "mos", "higher_is_better": True, "score_range": [1.0, 5.0]})


def test_examples(built):
  _, splits = built
  train = {e["name"].decode(): e for e in splits["train"]}
  hrc3 = train["yuv/src01_16x16_hrc03.yuv"]
  assert (hrc3["distortion"], hrc3["distortion_index"]) == (b"hrc03", 3)
  assert (hrc3["reference"], hrc3["fps"]) == (b"yuv/src01_16x16_hrc00.yuv", 30.0)
  assert hrc3["mos"] == pytest.approx(1.1034)
  refs = {e["name"]: e for e in splits["reference"]}
  assert set(refs) == {b"yuv/src01_16x16_hrc00.yuv", b"yuv/src60_16x16_hrc00.yuv"}
  assert all(math.isnan(r["mos"]) for r in refs.values())


def test_stored_videos_decode_bit_exactly(built):
  _, splits = built
  assert builder_testing.not_bit_exact(splits["train"] + splits["reference"], DUMMY, 16, 16) == []


@pytest.mark.skipif(not HEKE_LIST.exists(), reason=f"HEKE's list not found at {HEKE_LIST}")
def test_heke_list():
  videos = lib.parse_heke(str(HEKE_LIST))
  assert len(videos) == 240 and len({v.reference for v in videos}) == 60
  assert all(lib.hrc_of(v.reference) == 0 for v in videos)
  per_source = collections.Counter(v.reference for v in videos)
  assert set(per_source.values()) == {4}  # 4 HRCs of 20 per source.
  assert {v.distortion_index for v in videos} <= set(range(1, 21))
  assert 1.0 <= min(v.mos for v in videos) and max(v.mos for v in videos) <= 5.0
