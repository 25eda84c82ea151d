"""Tests of ``jvqa probe``, run in-process."""

import json
import os

import numpy as np

from jvqa import cli
from jvqa.io import video


def make_folder(tmp_path):
  """A folder with one good video, one broken one and files probe skips."""
  folder = tmp_path / "videos"
  folder.mkdir()
  frames = np.random.default_rng(0).integers(0, 256, (9, 48, 64, 3), dtype=np.uint8)
  video.encode_frames(frames, folder / "good.mp4", 25)
  (folder / "broken.mkv").write_bytes(b"this is not a video\n" * 20)
  (folder / "raw.yuv").write_bytes(bytes(64 * 48 * 3 // 2))
  (folder / "notes.txt").write_text("skipped")
  return folder


def test_folder_with_a_broken_video(tmp_path, capsys):
  folder = make_folder(tmp_path)
  assert cli.main(["probe", str(folder)]) == 1
  out, err = capsys.readouterr()
  lines = out.strip().splitlines()
  assert len(lines) == 1
  assert "good.mp4" in lines[0] and "64x48" in lines[0] and "9 frames" in lines[0]
  assert "h264/yuv420p" in lines[0]
  err_lines = err.strip().splitlines()
  assert len(err_lines) == 1
  assert err_lines[0].startswith("jvqa probe: ") and "broken.mkv" in err_lines[0]
  assert "raw.yuv" not in out + err and "notes.txt" not in out + err


def test_json_lines_and_success_exit(tmp_path, capsys, sample_videos):
  folder = make_folder(tmp_path)
  paths = [str(folder / "good.mp4"), sample_videos["bikes"]]
  assert cli.main(["probe", *paths, "--json"]) == 0
  out, err = capsys.readouterr()
  records = [json.loads(line) for line in out.strip().splitlines()]
  assert err == ""
  assert [r["path"] for r in records] == paths
  assert [(r["width"], r["height"], r["num_frames"]) for r in records] == [
      (64, 48, 9), (640, 272, 250)]
  assert records[1]["fps"] == 25.0 and records[1]["rotation"] == 0


def test_missing_path_and_empty_folder(tmp_path, capsys):
  empty = tmp_path / "empty"
  empty.mkdir()
  assert cli.main(["probe", str(tmp_path / "missing.mp4"), str(empty)]) == 1
  out, err = capsys.readouterr()
  assert out == ""
  assert "missing.mp4: no such file" in err and "no video files" in err


def test_folder_search_follows_folder_links_without_looping(tmp_path):
  from jvqa.io import files
  real = tmp_path / "real"
  (real / "deep").mkdir(parents=True)
  (real / "deep" / "a.mp4").write_bytes(b"x")
  top = tmp_path / "top"
  top.mkdir()
  (top / "linked").symlink_to(real, target_is_directory=True)
  (real / "deep" / "loop").symlink_to(top, target_is_directory=True)  # a cycle
  (top / "b.MKV").write_bytes(b"x")
  found = [os.path.relpath(p, top) for p in files.iter_video_files(str(top))]
  assert found == ["b.MKV", os.path.join("linked", "deep", "a.mp4")]
