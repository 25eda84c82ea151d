"""Tests of the epfl_polimi builder: built from dummy_data/ (16x16 frames) without TensorFlow."""

import math
import pathlib

import pytest

from data_builders.epfl_polimi import epfl_polimi_dataset_builder as lib
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
      "epfl_polimi", {"train": 3, "reference": 2},
      {"score": "mos", "higher_is_better": True, "score_range": [0.0, 5.0]})


def test_examples(built):
  _, splits = built
  train = {e["name"].decode(): e for e in splits["train"]}
  crowd = train["all-videos/CROWDRUN_16x16_plr33652.yuv"]
  assert (crowd["distortion"], crowd["distortion_index"]) == (b"packet_loss", 0)
  assert (crowd["reference"], crowd["fps"]) == (b"ref/CROWDRUN_16x16_org.yuv", 25.0)
  assert crowd["mos"] == pytest.approx(2.0113) and crowd["num_frames"] == 5
  assert train["all-videos/foreman_16x16_plr104374.yuv"]["fps"] == 30.0
  refs = {e["name"]: e for e in splits["reference"]}
  assert set(refs) == {e["reference"] for e in train.values()}
  assert all(math.isnan(r["mos"]) for r in refs.values())


def test_stored_videos_decode_bit_exactly(built):
  _, splits = built
  assert builder_testing.not_bit_exact(splits["train"] + splits["reference"], DUMMY, 16, 16) == []


@pytest.mark.skipif(not HEKE_LIST.exists(), reason=f"HEKE's list not found at {HEKE_LIST}")
def test_heke_list():
  videos = lib.parse_heke(str(HEKE_LIST))
  assert len(videos) == 144 and len({v.reference for v in videos}) == 12
  sizes = {(v.width, v.height) for v in videos}
  assert sizes == {(352, 288), (704, 576)}
  assert sum(v.width == 352 for v in videos) == 72
  assert sum(v.fps == 25 for v in videos) == 36  # CROWDRUN, DUCKSTAKEOFF, PARKJOY.
  assert all(v.distortion == "packet_loss" for v in videos)
  assert min(v.mos for v in videos) > 0 and max(v.mos for v in videos) < 5
