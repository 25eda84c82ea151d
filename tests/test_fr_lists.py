"""Tests for jvqa.data.fr_lists: HEKE's lists, file lookup, the shared FR example."""

import logging
import math

import numpy as np
import pytest

from jvqa.data import builder_lib, builder_testing, fr_lists
from jvqa.errors import InputError
from jvqa.io import lossless, yuv

HEKE_DIR = builder_testing.shared_data("heke_dataset_info")
needs_heke = pytest.mark.skipif(not HEKE_DIR.is_dir(),
                                reason=f"HEKE's lists not found at {HEKE_DIR}")

# database -> (videos, distinct references, distinct type indices, first line).
REAL_LISTS = {
    "LIVE": (150, 10, 4, "0 0 ref/pa1_768x432_25fps.yuv all-videos/pa2_768x432_25fps.yuv "
             "44.5104 768 432 250"),
    "CSIQ": (216, 12, 6, "0 0 ref/BQMall_832x480_ref.yuv all-videos/BQMall_832x480_dst_01.yuv "
             "77.0366 832 480 600"),
    "IVPL": (128, 10, 4, "0 0 ref/bus_1920x1088_org.yuv all-videos/bus_1920x1088_dirac_1.yuv "
             "0.9141 1920 1088 250"),
    "IVC-IC": (240, 60, 1, "0 0 yuv/src01_640x480_hrc00.yuv yuv/src01_640x480_hrc03.yuv "
               "1.1034 640 480 250"),
    "EPFL-PoliMI": (144, 12, 1, "0 0 ref/foreman_352x288_org.yuv "
                    "all-videos/foreman_352x288_plr0.15462.yuv 4.3013 352 288 298"),
    "LIVE-Mobile": (160, 10, 4, "0 0 ref/bf_1280x720_org.yuv all-videos/bf_1280x720_r1.yuv "
                    "3.2438 1280 720 450"),
}


@needs_heke
@pytest.mark.parametrize("db", sorted(REAL_LISTS))
def test_real_heke_lists(db):
  count, refs, kinds, first = REAL_LISTS[db]
  rows = fr_lists.parse_heke_list(HEKE_DIR / f"{db}_list_for_VQA.txt")
  assert len(rows) == count
  assert len({r.reference for r in rows}) == refs == len({r.ref_index for r in rows})
  assert len({r.type_index for r in rows}) == kinds
  assert rows[0] == fr_lists._heke_row(first.split())
  assert len({r.distorted for r in rows}) == count  # Unique names.


def test_parse_heke_list_rejects_bad_lines(tmp_path):
  path = tmp_path / "x.txt"
  path.write_text("0 0 a.yuv b.yuv 1.0 16 16 4\n\n0 0 a.yuv c.yuv 2.0 16 16\n")
  with pytest.raises(InputError, match="line 3: expected 8 fields"):
    fr_lists.parse_heke_list(path)
  path.write_text("0 0 a.yuv b.yuv high 16 16 4\n")
  with pytest.raises(InputError, match="line 1"):
    fr_lists.parse_heke_list(path)


def test_references_of_keeps_first_mention_order():
  videos = [fr_lists.FrVideo(p, r, "x", 0, 1.0, 16, 16, 25) for p, r in
            [("b1", "b"), ("a1", "a"), ("b2", "b")]]
  refs = fr_lists.references_of(videos, lambda v: 50.0)
  assert [r.path for r in refs] == ["b", "a"]
  assert all(r.reference == r.path and r.distortion == fr_lists.REFERENCE
             and r.distortion_index == -1 and math.isnan(r.mos) and r.fps == 50.0
             for r in refs)


def test_file_index_finds_by_path_name_and_alternative(tmp_path, caplog):
  for rel in ["a/x_16x16.yuv", "b/Y.YUV", "c/dup.yuv", "d/dup.yuv", "e/notes.txt"]:
    (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / rel).write_bytes(b"0")
  index = fr_lists.FileIndex(tmp_path)
  assert len(index) == 4
  assert index.find("./a/x_16x16.yuv") == "a/x_16x16.yuv"
  assert index.find("ref/x_16x16.yuv") == "a/x_16x16.yuv"
  assert index.find("all-videos/y_16x16.yuv", ["y.yuv"]) == "b/Y.YUV"
  assert index.find("c/dup.yuv") == "c/dup.yuv"
  with caplog.at_level(logging.WARNING, logger="jvqa.data"):
    assert index.find("z/dup.yuv") is None
  assert "2 files named dup.yuv" in caplog.text
  assert index.find("missing.yuv") is None
  assert index.glob(r".*dup\.yuv") == ["c/dup.yuv", "d/dup.yuv"]
  assert fr_lists.strip_size("bf_1280x720_org.yuv", 1280, 720) == "bf_org.yuv"
  assert fr_lists.find_file(tmp_path, ["NOTES.txt"]) == str(tmp_path / "e" / "notes.txt")
  assert fr_lists.find_file(tmp_path, ["nothing.txt"]) is None


def test_encode_example_stores_losslessly_and_skips_broken(tmp_path):
  rng = np.random.default_rng(0)
  planes = (rng.integers(0, 256, (3, 8, 12), dtype=np.uint8),
            rng.integers(0, 256, (3, 4, 6), dtype=np.uint8),
            rng.integers(0, 256, (3, 4, 6), dtype=np.uint8))
  yuv.write_yuv420p(tmp_path / "ok.yuv", planes)
  (tmp_path / "bad.yuv").write_bytes(b"\1" * 7)
  skips = builder_lib.SkipLog("train")
  ref = fr_lists.FrVideo("ok.yuv", "ok.yuv", "reference", -1, builder_lib.MISSING, 12, 8, 30)
  example = fr_lists.encode_example(str(tmp_path), "ok.yuv", ref, skips, reference="ok.yuv",
                                    distortion="reference", distortion_index=-1)
  assert math.isnan(example["mos"]) and example["num_frames"] == 3 and example["fps"] == 30
  assert lossless.same_as_raw(example["video"], tmp_path / "ok.yuv", 12, 8)
  bad = fr_lists.FrVideo("bad.yuv", "ok.yuv", "noise", 0, 3.0, 12, 8, 30)
  assert fr_lists.encode_example(str(tmp_path), "bad.yuv", bad, skips) is None
  assert [name for name, _ in skips.skipped] == ["bad.yuv"]


def test_score_metadata():
  meta = fr_lists.Score("mos", True, (1, 5)).metadata()
  assert dict(meta) == {"score": "mos", "higher_is_better": True, "score_range": [1.0, 5.0]}


def test_parse_scene_scores_and_reference_folder(tmp_path):
  for rel in ["v/reference/news_cif.yuv", "v/reference/hall.yuv", "v/reference/hall_x.yuv",
              "v/news_1.yuv"]:
    (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / rel).write_bytes(b"0")
  index = fr_lists.FileIndex(tmp_path)
  assert fr_lists.reference_in_folder(index, "news") == "v/reference/news_cif.yuv"
  assert fr_lists.reference_in_folder(index, "hall") == "reference/hall.yuv"  # Ambiguous.
  assert fr_lists.reference_in_folder(index, "silent") == "reference/silent.yuv"
  scores = tmp_path / "scores.txt"
  scores.write_text("video mos dmos\nnews_1 4.1 20.5\nflower_garden_10.yuv 2.0 70\n")
  videos = fr_lists.parse_scene_scores(str(scores), width=352, height=288, fps=30,
                                       reference_of=lambda scene: scene + ".yuv")
  assert [(v.path, v.reference, v.distortion_index, v.mos) for v in videos] == [
      ("news_1.yuv", "news.yuv", 1, 20.5), ("flower_garden_10.yuv", "flower_garden.yuv", 10, 70.0)]
  scores.write_text("news_1 4.1 20.5\nnews_2 4.1\n")
  with pytest.raises(InputError, match="line 2"):
    fr_lists.parse_scene_scores(str(scores), width=352, height=288, fps=30,
                                reference_of=lambda scene: scene)
  with pytest.raises(ValueError):
    fr_lists.scene_and_number("news.yuv")
