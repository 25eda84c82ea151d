"""The preview job: sampled frames, fragments and views of each video, broken ones skipped."""

import json

import matplotlib.image
import numpy as np
import pytest

from configs import preview as preview_config
from jvqa import jobs, preview
from jvqa.errors import ConfigError


@pytest.fixture
def folder(tmp_path, sample_videos):
  videos = tmp_path / "videos"
  (videos / "sub").mkdir(parents=True)
  (videos / "sub" / "bikes.mp4").symlink_to(sample_videos["bikes"])
  (videos / "carphone.mp4").symlink_to(sample_videos["carphone_pristine"])
  (videos / "broken.mp4").write_bytes(b"this is not a video")
  (videos / "notes.txt").write_text("ignored")
  return videos


def test_folder_run_previews_good_videos_and_reports_broken(folder, tmp_path, capsys):
  config = preview_config.get_config()
  config.videos = str(folder)
  config.preview_frames = 3
  workdir = tmp_path / "w"
  summary = jobs.run(config, str(workdir))
  assert [e["path"] for e in summary["failed"]] == [str(folder / "broken.mp4")]
  assert "broken.mp4" in capsys.readouterr().err
  assert sorted(e["path"] for e in summary["videos"]) == [str(folder / "carphone.mp4"),
                                                          str(folder / "sub" / "bikes.mp4")]
  on_disk = json.loads((workdir / "summary.json").read_text())
  assert on_disk["failed"] == summary["failed"]
  for entry in summary["videos"]:
    assert entry["model_input_shape"] == [32, 224, 224, 3]
    indices = np.array(entry["indices"])
    assert len(indices) == 32 and np.all(np.diff(indices) % entry["info"]["num_frames"] == 2)
    image = matplotlib.image.imread(entry["png"])
    # 3 rows of 224 px; source + fragments + 2 views side by side.
    assert image.shape[0] == 3 * 224 and image.shape[1] > 3 * 224
  # The 176x144 carphone was upsampled to cover the 224x224 fragment grid.
  carphone = next(e for e in summary["videos"] if e["path"].endswith("carphone.mp4"))
  assert min(carphone["upsampled_to"]) >= 223


def test_same_seed_same_sampling(folder, tmp_path):
  config = preview_config.get_config("stvqrl")
  config.videos = str(folder / "sub")
  first = jobs.run(config, str(tmp_path / "a"))["videos"][0]["indices"]
  again = jobs.run(config, str(tmp_path / "b"))["videos"][0]["indices"]
  config.seed = 1
  other = jobs.run(config, str(tmp_path / "c"))["videos"][0]["indices"]
  assert first == again and first != other and len(first) == 64


def test_draw_boxes_outlines_each_patch():
  frame = np.zeros((64, 64, 3), np.uint8)
  boxed = preview.draw_boxes(frame, np.array([[[[4, 8]]]]), patch=16)
  red = (boxed == preview._BOX).all(-1)
  assert red[4, 8:24].all() and red[19, 8:24].all() and red[4:20, 8].all() and red[4:20, 23].all()
  assert red.sum() == 4 * 16 - 4


def test_empty_folder_and_bad_sampler_are_config_errors(tmp_path):
  config = preview_config.get_config()
  config.videos = str(tmp_path)
  with pytest.raises(ConfigError, match="no video files"):
    jobs.run(config, str(tmp_path / "w"))
  bad = preview_config.get_config().temporal
  bad.sampler = "uniform"
  with pytest.raises(ConfigError, match="sampler"):
    preview.sample_indices(100, bad, np.random.default_rng(0))
  config.videos = str(tmp_path / "absent")
  with pytest.raises(ConfigError, match="no such file or folder"):
    jobs.run(config, str(tmp_path / "w"))
