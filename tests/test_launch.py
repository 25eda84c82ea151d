"""launch.py: flags, config files and variants, overrides, one-line errors."""

import json
import os
import subprocess
import sys

import pytest

from jvqa import jobs
from jvqa.errors import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_CONFIG = '''
import ml_collections

def get_config(variant=None):
  config = ml_collections.ConfigDict()
  config.job = {job!r}  # the job to run
  config.model = ml_collections.ConfigDict({{"depth": 2}})  # a nested field
  config.variant = variant or "default"  # which variant was asked for
  return config
'''


def _launch(*args, cwd=ROOT):
  return subprocess.run([sys.executable, os.path.join(ROOT, "launch.py"), *args],
                        capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.fixture
def config_file(tmp_path):
  def make(job):
    path = tmp_path / f"cfg_{job}.py"
    path.write_text(_CONFIG.format(job=job))
    return str(path)
  return make


def test_helpfull_lists_config_and_workdir():
  out = _launch("--helpfull")
  assert out.returncode == 0, out.stderr
  assert "--config" in out.stdout and "--workdir" in out.stdout


def test_unknown_job_is_one_line(config_file, tmp_path):
  out = _launch(f"--config={config_file('no_such_job')}", f"--workdir={tmp_path / 'w'}")
  assert out.returncode == 2
  lines = out.stderr.strip().splitlines()
  assert len(lines) == 1, out.stderr
  assert "unknown job 'no_such_job'" in lines[0] and "preview" in lines[0]


def test_unknown_override_key_is_one_line(tmp_path):
  out = _launch("--config=configs/preview.py", "--config.temporal.clip_lenn=3",
                f"--workdir={tmp_path / 'w'}")
  assert out.returncode == 2
  lines = out.stderr.strip().splitlines()
  assert len(lines) == 1, out.stderr
  assert "--config.temporal.clip_lenn=3" in lines[0] and 'Did you mean "clip_len"' in lines[0]


def test_unknown_variant_is_one_line(tmp_path):
  out = _launch("--config=configs/preview.py:bogus", f"--workdir={tmp_path / 'w'}")
  assert out.returncode == 2
  assert len(out.stderr.strip().splitlines()) == 1, out.stderr
  assert "unknown variant 'bogus'" in out.stderr


def test_variant_and_override_reach_the_job_and_the_workdir(tmp_path, sample_videos):
  videos = tmp_path / "videos"
  videos.mkdir()
  (videos / "carphone.mp4").symlink_to(sample_videos["carphone_distorted"])
  workdir = tmp_path / "w"
  out = _launch("--config=configs/preview.py:test", f"--config.videos={videos}",
                "--config.temporal.num_clips=1", "--config.preview_frames=2", f"--workdir={workdir}")
  assert out.returncode == 0, out.stderr
  written = json.loads((workdir / "config.json").read_text())
  # The variant set the sampler, the override changed the clip count.
  assert written["temporal"]["sampler"] == "fragment_frames"
  assert written["temporal"]["num_clips"] == 1
  summary = json.loads((workdir / "summary.json").read_text())
  assert len(summary["videos"][0]["indices"]) == 8 * 8


def test_config_is_written_before_a_failing_job(tmp_path):
  workdir = tmp_path / "w"
  out = _launch("--config=configs/preview.py", f"--config.videos={tmp_path / 'nothing'}",
                f"--workdir={workdir}")
  assert out.returncode == 2
  assert json.loads((workdir / "config.json").read_text())["videos"] == str(tmp_path / "nothing")
  assert "Traceback" not in out.stderr


def test_missing_config_file_is_one_line(tmp_path):
  out = _launch(f"--config={tmp_path / 'absent.py'}", f"--workdir={tmp_path / 'w'}")
  assert out.returncode != 0
  assert len(out.stderr.strip().splitlines()) == 1, out.stderr
  assert "absent.py" in out.stderr


def test_missing_workdir_is_one_line():
  out = _launch("--config=configs/preview.py")
  assert out.returncode == 2 and out.stderr.strip() == "launch.py: error: --workdir is required"


def test_resolve_unknown_job_raises_config_error():
  with pytest.raises(ConfigError, match="known jobs: .*preview"):
    jobs.resolve("train_everything")
