"""Tests of ``jvqa distort``, run in-process."""

import json
import os

import numpy as np
import pytest

from jvqa import cli
from jvqa.io import video


def make_folder(tmp_path):
  """A folder with two small good videos, a broken one and a text file."""
  folder = tmp_path / "videos"
  folder.mkdir()
  rng = np.random.default_rng(0)
  for name in ("a", "b"):
    frames = rng.integers(0, 256, (6, 48, 64, 3), dtype=np.uint8)
    video.encode_frames(frames, folder / f"{name}.mp4", 24, crf=10,
                        options={"preset": "ultrafast"})
  (folder / "broken.mp4").write_bytes(b"this is not a video\n" * 20)
  (folder / "notes.txt").write_text("skipped")
  return folder


def test_folder_with_a_broken_video_exits_1(tmp_path, capsys):
  folder = make_folder(tmp_path)
  out = tmp_path / "out"
  assert cli.main(["distort", str(folder), str(out), "--kinds", "0,1,4"]) == 1
  stdout, stderr = capsys.readouterr()
  err_lines = stderr.strip().splitlines()
  assert len(err_lines) == 1
  assert err_lines[0].startswith("jvqa distort: ") and "broken.mp4" in err_lines[0]
  assert "not a readable video container" in err_lines[0]
  assert "2 video(s) distorted, 6 file(s)" in stdout and "1 failed" in stdout
  for k in (0, 1, 4):
    assert sorted(os.listdir(out / str(k))) == ["a.mp4", "b.mp4"]
  assert not (out / "7").exists()
  with open(out / "manifest.json") as f:
    assert len(json.load(f)["files"]) == 6


def test_single_video_success_and_rerun(tmp_path, capsys):
  src = make_folder(tmp_path) / "a.mp4"
  out = tmp_path / "out"
  assert cli.main(["distort", str(src), str(out), "--kinds", "7", "--workers", "1"]) == 0
  stdout, stderr = capsys.readouterr()
  assert stderr == "" and "1 video(s) distorted, 1 file(s)" in stdout
  assert video.probe(out / "7/a.mp4").num_frames == 6
  os.utime(out / "7/a.mp4", ns=(10**9, 10**9))
  assert cli.main(["distort", str(src), str(out), "--kinds", "7"]) == 0
  assert os.stat(out / "7/a.mp4").st_mtime_ns == 10**9
  assert cli.main(["distort", str(src), str(out), "--kinds", "7", "--overwrite"]) == 0
  assert os.stat(out / "7/a.mp4").st_mtime_ns != 10**9


def test_missing_source_and_empty_folder_exit_1(tmp_path, capsys):
  empty = tmp_path / "empty"
  empty.mkdir()
  assert cli.main(["distort", str(tmp_path / "missing.mp4"), str(tmp_path / "o")]) == 1
  assert cli.main(["distort", str(empty), str(tmp_path / "o")]) == 1
  _, stderr = capsys.readouterr()
  assert "missing.mp4: no such file or folder" in stderr and "no video files" in stderr


@pytest.mark.parametrize("args", [["--kinds", "13"], ["--kinds", "1,x"], ["--kinds", ""],
                                  ["--workers", "0"]])
def test_bad_options_are_usage_errors(tmp_path, capsys, args):
  with pytest.raises(SystemExit) as exit_info:
    cli.main(["distort", str(tmp_path), str(tmp_path / "o"), *args])
  assert exit_info.value.code == 2
  assert "jvqa distort: error: argument" in capsys.readouterr().err


def test_help_lists_the_families(capsys):
  with pytest.raises(SystemExit):
    cli.main(["distort", "--help"])
  out = capsys.readouterr().out
  assert "minterpolate" in out and "--workers" in out and "--overwrite" in out
