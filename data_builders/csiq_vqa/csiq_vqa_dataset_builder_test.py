"""Tests of the csiq_vqa builder: built from dummy_data/ (16x16 frames) without TensorFlow."""

import math
import pathlib
from unittest import mock

import pytest

from data_builders.csiq_vqa import csiq_vqa_dataset_builder as lib
from jvqa.data import builder_testing

DUMMY = pathlib.Path(__file__).parent / "dummy_data"
HEKE_LIST = builder_testing.shared_data("heke_dataset_info", lib.HEKE_FILE)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
  with mock.patch.object(lib, "WIDTH", 16), mock.patch.object(lib, "HEIGHT", 16):
    return builder_testing.build_and_read(lib.Builder, manual_dir=DUMMY,
                                        data_dir=tmp_path_factory.mktemp("data"),
                                        splits=("train", "reference"))


def test_splits_and_metadata(built):
  assert builder_testing.info_of(built[0]) == (
      "csiq_vqa", {"train": 3, "reference": 2},
      {"score": "dmos", "higher_is_better": False, "score_range": [0.0, 100.0]})


def test_examples(built):
  _, splits = built
  train = {e["name"].decode(): e for e in splits["train"]}
  noise = train["csiq_videos/BQMall_16x16_dst_14.yuv"]
  assert (noise["distortion"], noise["distortion_index"]) == (b"white_noise", 4)
  assert noise["reference"] == b"csiq_videos/BQMall_16x16_ref.yuv"
  assert noise["mos"] == pytest.approx(53.0401) and math.isnan(noise["mos_std"])
  assert (noise["fps"], noise["num_frames"]) == (0.5, 5)  # 5 frames / 10 s.
  assert train["csiq_videos/Keiba_16x16_dst_18.yuv"]["distortion"] == b"hevc"
  refs = {e["name"]: e for e in splits["reference"]}
  assert set(refs) == {e["reference"] for e in train.values()}
  assert refs[b"csiq_videos/Keiba_16x16_ref.yuv"]["fps"] == pytest.approx(0.6)
  assert all(math.isnan(r["mos"]) and r["distortion"] == b"reference" for r in refs.values())


def test_stored_videos_decode_bit_exactly(built):
  _, splits = built
  assert builder_testing.not_bit_exact(splits["train"] + splits["reference"], DUMMY, 16, 16) == []


def test_numbering_and_names():
  assert [lib.distortion_of(f"A_832x480_dst_{n:02d}.yuv")[1] for n in range(1, 19)] == [
      i for i in range(6) for _ in range(3)]
  assert lib.reference_of("BQMall_832x480_dst_07") == "BQMall_832x480_ref.yuv"
  assert [lib.fps_of(n) for n in (240, 250, 300, 500, 600)] == [24, 25, 30, 50, 60]


def test_ratings_header_and_bad_lines(tmp_path):
  path = tmp_path / lib.RATINGS_FILE
  path.write_text("name\tdmos\nA_832x480_dst_02.yuv\t40.5\nA_832x480_dst_03\t41\n")
  videos = lib.parse_ratings(str(path), lambda name: 300)
  assert [(v.path, v.mos, v.fps) for v in videos] == [
      ("A_832x480_dst_02.yuv", 40.5, 30), ("A_832x480_dst_03.yuv", 41.0, 30)]
  frames = {"A_832x480_ref.yuv": 600}
  videos = lib.parse_ratings(str(path), lambda name: frames.get(name, 0))
  assert [v.fps for v in videos] == [60, 60]  # Missing files last as long as the reference.
  path.write_text("A_832x480_dst_02.yuv\t40.5\nA_832x480_dst_03.yuv\tbad\n")
  with pytest.raises(lib.InputError, match="line 2"):
    lib.parse_ratings(str(path), lambda name: 300)


@pytest.mark.skipif(not HEKE_LIST.exists(), reason=f"HEKE's list not found at {HEKE_LIST}")
def test_heke_list():
  videos = lib.parse_heke(str(HEKE_LIST))
  assert len(videos) == 216 and len({v.reference for v in videos}) == 12
  rows = lib.fr_lists.parse_heke_list(HEKE_LIST)
  assert all(v.distortion_index == r.type_index for v, r in zip(videos, rows))
  assert all(v.reference == "ref/" + lib.reference_of(v.path) for v in videos)
  assert {v.fps for v in videos} == {24, 25, 30, 50, 60}
  assert videos[0].mos == pytest.approx(77.0366)
