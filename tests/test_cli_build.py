"""Tests of ``jvqa build``, in-process and as a subprocess, and of reading its output."""

import hashlib
import json
import pathlib
import subprocess
import sys
import textwrap

import pytest
import tensorflow_datasets as tfds

from jvqa import cli
from jvqa.data import build

REPO = pathlib.Path(__file__).resolve().parents[1]
DUMMY = REPO / "data_builders" / "csv_vqa" / "dummy_data"
EXPECTED_TRAIN = {"videos/a.mp4": 3.5, "videos/b.mp4": 4.25, "videos/sub/c.mkv": 1.75}
tfds.disable_progress_bar()


@pytest.fixture(autouse=True)
def data_dir_default(tmp_path, monkeypatch):
  """Builds that name no --data_dir land in the test's folder, never in ~."""
  monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "default_data_dir"))


def run_jvqa(*args, cwd=REPO, env=None):
  """``python -m jvqa ARGS`` in a subprocess; returns the CompletedProcess."""
  return subprocess.run([sys.executable, "-m", "jvqa", *map(str, args)], cwd=cwd,
                        capture_output=True, text=True, timeout=120, env=env)


def test_build_in_process(tmp_path, capsys):
  assert cli.main(["build", "csv_vqa", "--manual_dir", str(DUMMY),
                   "--data_dir", str(tmp_path)]) == 0
  out = capsys.readouterr().out
  assert f"csv_vqa/1.0.0: {tmp_path / 'csv_vqa' / '1.0.0'}" in out
  assert "train: 3 examples, 1 skipped" in out
  assert "test: 1 examples, 1 skipped" in out
  assert "2 skipped in all" in out


def test_max_examples_per_split(tmp_path, capsys):
  assert cli.main(["build", "csv_vqa", "--manual_dir", str(DUMMY), "--data_dir",
                   str(tmp_path), "--max_examples_per_split", "1"]) == 0
  out = capsys.readouterr().out
  assert "train: 1 examples" in out and "test: 1 examples" in out


def test_build_as_a_subprocess_then_overwrite(tmp_path):
  result = run_jvqa("build", "csv_vqa", f"--manual_dir={DUMMY}", f"--data_dir={tmp_path}")
  assert result.returncode == 0, result.stderr
  assert "train: 3 examples, 1 skipped" in result.stdout
  assert "videos/missing.mp4" in result.stderr  # The skipped video is named in the log.
  again = run_jvqa("build", "csv_vqa", f"--manual_dir={DUMMY}", f"--data_dir={tmp_path}",
                   "--overwrite")
  assert again.returncode == 0, again.stderr
  assert "train: 3 examples, 1 skipped" in again.stdout


def test_default_data_dir_is_tfds_data_dir(tmp_path, capsys):
  assert cli.main(["build", "csv_vqa", "--manual_dir", str(DUMMY)]) == 0
  assert str(tmp_path / "default_data_dir" / "csv_vqa" / "1.0.0") in capsys.readouterr().out


def test_unknown_name_lists_the_known_ones(tmp_path, capsys):
  assert cli.main(["build", "no_such_db", "--manual_dir", str(DUMMY)]) == 2
  err = capsys.readouterr().err.strip()
  assert err.startswith("jvqa build: error: unknown dataset 'no_such_db'; known: ")
  assert {"csv_vqa", "konvid_1k", "live_vqc", "lsvq", "youtube_ugc"} <= set(
      err.split("known: ")[1].split(", "))
  assert "\n" not in err


def test_unknown_config(tmp_path, capsys):
  assert cli.main(["build", "lsvq", "--config", "nope", "--manual_dir", str(DUMMY)]) == 2
  err = capsys.readouterr().err
  assert "dataset 'lsvq' has no config 'nope'; known: default, sslvqa" in err


def test_missing_labels_csv_is_one_line(tmp_path, capsys):
  manual_dir = tmp_path / "videos"
  manual_dir.mkdir()
  (manual_dir / "a.mp4").write_bytes((DUMMY / "videos" / "a.mp4").read_bytes())
  assert cli.main(["build", "csv_vqa", "--manual_dir", str(manual_dir),
                   "--data_dir", str(tmp_path / "data")]) == 2
  err = capsys.readouterr().err.strip()
  assert err == (f"jvqa build: error: {manual_dir / 'labels.csv'}: no such file: the "
                 "manual_dir must hold labels.csv with columns filename,mos[,mos_std][,split]")


def test_missing_manual_dir(tmp_path, capsys):
  assert cli.main(["build", "csv_vqa", "--manual_dir", str(tmp_path / "nope")]) == 2
  assert "nope: no such folder (--manual_dir)" in capsys.readouterr().err


READ_SCRIPT = textwrap.dedent("""
    import hashlib, json, sys
    import tensorflow_datasets as tfds
    source = tfds.data_source("csv_vqa", split="train", data_dir=sys.argv[1])
    examples = {e["name"].decode(): [float(e["mos"]), hashlib.sha256(e["video"]).hexdigest()]
                for e in (source[i] for i in range(len(source)))}
    print(json.dumps({"examples": examples,
                      "imported": sorted(m for m in ("data_builders", "tensorflow")
                                         if m in sys.modules)}))
    """)


def test_fresh_process_reads_bytes_and_mos_with_data_source(tmp_path):
  build.build("csv_vqa", DUMMY, data_dir=tmp_path / "data")
  # Run outside the repository, so data_builders cannot even be imported.
  result = subprocess.run([sys.executable, "-c", READ_SCRIPT, str(tmp_path / "data")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr
  read = json.loads(result.stdout.strip().splitlines()[-1])
  assert read["imported"] == []
  assert {name: mos for name, (mos, _) in read["examples"].items()} == EXPECTED_TRAIN
  for name, (_, digest) in read["examples"].items():
    assert digest == hashlib.sha256((DUMMY / name).read_bytes()).hexdigest()


@pytest.mark.slow
def test_build_with_beam_direct_runner(tmp_path, capsys):
  pytest.importorskip("apache_beam", reason="Apache Beam is not installed (jvqa[beam])")
  assert cli.main(["build", "csv_vqa", "--manual_dir", str(DUMMY), "--data_dir",
                   str(tmp_path), "--beam_pipeline_options",
                   "runner=DirectRunner,direct_num_workers=1"]) == 0
  out = capsys.readouterr().out
  assert "train: 3 examples, 1 skipped" in out and "test: 1 examples, 1 skipped" in out
  source = tfds.data_source("csv_vqa", split="train", data_dir=str(tmp_path))
  read = {source[i]["name"].decode(): source[i] for i in range(len(source))}
  assert {name: float(e["mos"]) for name, e in read.items()} == EXPECTED_TRAIN
  assert read["videos/a.mp4"]["video"] == (DUMMY / "videos" / "a.mp4").read_bytes()


def test_beam_options_without_beam_is_a_clear_error(tmp_path, capsys):
  try:
    import apache_beam  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
    pytest.skip("Apache Beam is installed")
  except ImportError:
    pass
  assert cli.main(["build", "csv_vqa", "--manual_dir", str(DUMMY), "--data_dir",
                   str(tmp_path), "--beam_pipeline_options", "runner=DirectRunner"]) == 2
  assert "needs Apache Beam: pip install 'jvqa[beam]'" in capsys.readouterr().err


def test_manual_dir_is_required_only_where_a_builder_needs_one(tmp_path, capsys):
  assert cli.main(["build", "csv_vqa", "--data_dir", str(tmp_path)]) == 2
  assert "pass --manual_dir" in capsys.readouterr().err
  assert cli.main(["build", "demo", "--config", "tiny", "--data_dir", str(tmp_path)]) == 0
  assert "labelled" in capsys.readouterr().out
