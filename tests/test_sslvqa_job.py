"""The SSL-VQA job end to end on the tiny demo corpus: outputs, and resume after SIGKILL."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = "demo/tiny"
SWIN = {"embed_dim": 8, "depths": "(1,1)", "num_heads": "(1,2)",
        "frag_biases": "(True,False)", "window_size": "(2,4,4)"}

pytestmark = pytest.mark.slow


def _launch(config, workdir, overrides, **popen):
  cmd = [sys.executable, os.path.join(ROOT, "launch.py"), f"--config={config}",
         f"--workdir={workdir}"] + [f"--config.{k}={v}" for k, v in overrides.items()]
  return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, start_new_session=True, **popen)


def _run(config, workdir, overrides):
  proc = _launch(config, workdir, overrides)
  out, _ = proc.communicate(timeout=900)
  assert proc.returncode == 0, out
  return out


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  return str(tmp_path_factory.mktemp("tfds"))


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory, data_dir):
  """A tiny ST-VQRL model (two steps on the tiny demo's pretrain split)."""
  workdir = tmp_path_factory.mktemp("stvqrl")
  overrides = {"data.data_dir": data_dir, "data.train": f"{TINY}:pretrain", "data.k": 2,
               "batch_size": 2, "num_steps": 2, "save_every": 2, "model.projection_dim": 8,
               **{f"model.backbone_kwargs.{k}": v for k, v in SWIN.items()}}
  out = _run("configs/stvqrl.py", workdir, overrides)
  assert "stvqrl  step 2/2" in out
  return os.path.join(workdir, "model")


def _ssl_overrides(data_dir, init, num_steps):
  return {"init": init, "data.data_dir": data_dir, "data.labelled": f"{TINY}:labelled",
          "data.unlabelled": f"{TINY}:unlabelled", "data.pristine": f"('{TINY}:pristine',)",
          "eval.test": f"('{TINY}:test',)", "data.exclude_scenes": "()", "batch_size": 4, "num_steps": num_steps,
          "save_every": 2, "ssl.pristine_per_step": 2, "ssl.eps": 1e-2,
          "optim.warmup_steps": 2, "optim.cosine_steps": num_steps, "eval.fsize_t": 1,
          "eval.fragments_t": 4, "eval.aligned": 4}


def _summary(workdir):
  with open(os.path.join(workdir, "summary.json")) as f:
    return json.load(f)


@pytest.fixture(scope="module")
def straight(tmp_path_factory, data_dir, pretrained):
  workdir = tmp_path_factory.mktemp("straight")
  out = _run("configs/sslvqa.py", workdir, _ssl_overrides(data_dir, pretrained, 12))
  return workdir, out


def test_the_job_writes_what_a_user_sees(straight):
  workdir, out = straight
  summary = _summary(workdir)
  split = summary["splits"]["demo_tiny_test"]
  assert split["n"] == 5 and set(split["models"]) == {"regressor", "distance", "combined"}
  for key in ("srcc", "plcc", "krcc", "rmse"):
    assert isinstance(split[key], float)
  for name in ("predictions_demo_tiny_test.csv", "scatter_demo_tiny_test.png", "metrics.jsonl",
               "model/model.json"):
    assert os.path.isfile(os.path.join(workdir, name)), name
  assert os.listdir(os.path.join(workdir, "tensorboard"))
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    steps = [json.loads(line)["step"] for line in f]
  assert steps == list(range(1, 13))
  assert "sslvqa  step 12/12" in out
  assert re.search(r"demo_tiny_test +combined +SRCC", out), out


def test_a_run_killed_mid_way_resumes_to_the_same_metrics(tmp_path, straight, data_dir,
                                                          pretrained):
  overrides = _ssl_overrides(data_dir, pretrained, 12)
  proc = _launch("configs/sslvqa.py", tmp_path, overrides)
  checkpoints = tmp_path / "checkpoints"
  deadline = time.monotonic() + 600
  while not (checkpoints / "4").is_dir():
    assert proc.poll() is None, proc.communicate()[0]
    assert time.monotonic() < deadline, "no checkpoint of step 4 in time"
    time.sleep(0.02)
  os.killpg(proc.pid, signal.SIGKILL)
  proc.communicate()
  assert proc.returncode == -signal.SIGKILL
  assert not (tmp_path / "summary.json").exists()
  out = _run("configs/sslvqa.py", tmp_path, overrides)
  assert "resuming from the checkpoint of step" in out
  want, got = _summary(straight[0]), _summary(tmp_path)
  assert got["splits"] == want["splits"]
