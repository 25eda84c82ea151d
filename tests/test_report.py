"""Tests of jvqa.train.report: metric logs, progress lines and the summary."""

import csv
import glob
import io
import json
import math
import os
import struct

import jax.numpy as jnp
import numpy as np
import pytest

from jvqa import metrics
from jvqa.errors import InputError
from jvqa.train import report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _jsonl(path):
  """The records of a metrics.jsonl (each line must be valid JSON)."""
  with open(path, encoding="utf-8") as f:
    return [json.loads(line) for line in f]


def _read_events(folder):
  """All TensorBoard events of ``folder``'s event files, checking the CRCs.

  A record is: uint64 length, uint32 masked CRC of the length, the
  serialised ``Event``, uint32 masked CRC of the data.
  """
  from tensorboardX.proto import event_pb2
  from tensorboardX.record_writer import masked_crc32c

  events = []
  paths = sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*")))
  for path in paths:
    with open(path, "rb") as f:
      data = f.read()
    pos = 0
    while pos < len(data):
      header = data[pos:pos + 8]
      (length,) = struct.unpack("<Q", header)
      (len_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
      assert len_crc == masked_crc32c(header)
      body = data[pos + 12:pos + 12 + length]
      end = pos + 12 + length
      (body_crc,) = struct.unpack("<I", data[end:end + 4])
      assert body_crc == masked_crc32c(body)
      events.append(event_pb2.Event.FromString(body))
      pos += 16 + length
  return events


def _scalars(events):
  """``{(tag, step): value}`` of the scalar summaries among ``events``."""
  return {(v.tag, e.step): v.simple_value
          for e in events for v in e.summary.value}


def test_metric_writer_jsonl_lines(tmp_path):
  with report.MetricWriter(tmp_path) as writer:
    writer.write(1, {"loss": 0.5, "lr": np.float32(1e-4)})
    writer.write(jnp.asarray(2), {"loss": jnp.asarray(0.25), "count": 3})
    writer.write(2, {"srcc": 0.75, "bad": float("nan"), "big": -np.inf},
                 split="eval")
  records = _jsonl(tmp_path / "metrics.jsonl")
  assert records == [
      {"step": 1, "split": "train", "loss": 0.5,
       "lr": float(np.float32(1e-4))},
      {"step": 2, "split": "train", "loss": 0.25, "count": 3.0},
      {"step": 2, "split": "eval", "srcc": 0.75, "bad": "nan", "big": "-inf"},
  ]
  assert math.isnan(float(records[2]["bad"]))


def test_metric_writer_rejects_bad_scalars(tmp_path):
  with report.MetricWriter(tmp_path) as writer:
    with pytest.raises(ValueError, match="'loss'"):
      writer.write(1, {"loss": np.ones(2)})
    with pytest.raises(ValueError, match="'step'"):
      writer.write(1, {"step": 1.0})
  with pytest.raises(ValueError, match="closed"):
    writer.write(2, {"loss": 1.0})
  assert _jsonl(tmp_path / "metrics.jsonl") == []


def test_metric_writer_resume_drops_later_steps(tmp_path):
  with report.MetricWriter(tmp_path) as writer:
    for step in range(1, 6):
      writer.write(step, {"loss": step / 10})
    writer.write(4, {"srcc": 0.5}, split="eval")
  # A run killed mid-line leaves a partial last line.
  with open(tmp_path / "metrics.jsonl", "a", encoding="utf-8") as f:
    f.write('{"step": 6, "spl')

  with report.MetricWriter(tmp_path, resume_step=3) as writer:
    writer.write(4, {"loss": 0.04})
  records = _jsonl(tmp_path / "metrics.jsonl")
  assert [(r["step"], r["split"]) for r in records] == [
      (1, "train"), (2, "train"), (3, "train"), (4, "train")]
  assert records[-1]["loss"] == 0.04

  # A fresh run in the same folder starts an empty log.
  with report.MetricWriter(tmp_path) as writer:
    writer.write(1, {"loss": 9.0})
  assert _jsonl(tmp_path / "metrics.jsonl") == [
      {"step": 1, "split": "train", "loss": 9.0}]


def test_tensorboard_scalars_and_purge(tmp_path):
  with report.MetricWriter(tmp_path) as writer:
    writer.write(7, {"loss": 0.25})
    writer.write(7, {"srcc": 0.5}, split="eval")
  tb_dir = tmp_path / "tensorboard"
  first = _read_events(tb_dir)
  assert _scalars(first) == {("train/loss", 7): 0.25, ("eval/srcc", 7): 0.5}

  with report.MetricWriter(tmp_path, resume_step=5) as writer:
    writer.write(6, {"loss": 0.125})
  assert len(glob.glob(str(tb_dir / "events.out.tfevents.*"))) == 2
  events = _read_events(tb_dir)
  assert _scalars(events)[("train/loss", 6)] == 0.125
  # TensorBoard hides earlier events from the step after resume_step on.
  starts = [e.step for e in events
            if e.HasField("session_log") and e.session_log.status == 1]
  assert 6 in starts


class _FakeClock:
  """A clock that reads ``now``, advanced by hand."""

  def __init__(self):
    self.now = 100.0

  def __call__(self):
    return self.now


def test_progress_lines_rate_and_eta():
  clock, out = _FakeClock(), io.StringIO()
  progress = report.Progress("sslvqa", 300, every_steps=100,
                             every_seconds=None, stream=out, clock=clock)
  clock.now += 30.0  # the first step compiles
  printed = [progress.update(1, {"loss": 0.5, "lr": 1e-4})]
  for step in range(2, 301):
    clock.now += 0.5
    printed.append(progress.update(step, {"loss": 0.1234, "lr": 1e-4}))
  lines = out.getvalue().splitlines()
  assert lines == [p for p in printed if p is not None]
  assert lines == [
      "sslvqa  step 1/300  loss 0.5000  lr 1.0e-04",
      "sslvqa  step 100/300  loss 0.1234  lr 1.0e-04  2.00 steps/s  ETA 1m40s",
      "sslvqa  step 200/300  loss 0.1234  lr 1.0e-04  2.00 steps/s  ETA 50s",
      "sslvqa  step 300/300  loss 0.1234  lr 1.0e-04  2.00 steps/s  "
      "done in 3m00s",
  ]
  # The last step prints once only.
  assert progress.update(300) is None


def test_progress_every_seconds_and_resume():
  clock, out = _FakeClock(), io.StringIO()
  progress = report.Progress("heke", 1000, start_step=500, every_seconds=10.0,
                             stream=out, clock=clock)
  for step in range(501, 520):
    clock.now += 4.0
    progress.update(step)
  lines = out.getvalue().splitlines()
  # Step 501, then every 10 s (3 steps of 4 s): 504, 507, ...
  assert [int(l.split()[2].split("/")[0]) for l in lines] == list(
      range(501, 520, 3))
  assert lines[1] == "heke  step 504/1000  4.00 s/step  ETA 33m04s"


def test_format_helpers():
  seconds = (0, 45.4, 85, 3599.6, 7380, 273600)
  assert [report.format_eta(s) for s in seconds] == [
      "0s", "45s", "1m25s", "1h00m", "2h03m", "3d04h"]
  assert report.format_eta(float("inf")) == "?"
  assert report.format_eta(None) == "?"
  values = (0.1234, 1e-4, 0, 12345.0, np.nan)
  assert [report.format_scalar(v) for v in values] == [
      "0.1234", "1.0e-04", "0", "1.2e+04", "nan"]


def _split(n, seed, models=("combined", "spatial")):
  """A split's result with a noisy monotone relation per model."""
  rng = np.random.default_rng(seed)
  mos = rng.uniform(1.0, 5.0, n)
  preds = {m: mos + rng.normal(0, 0.3 + i, n) for i, m in enumerate(models)}
  return {"names": [f"v{i}.mp4" for i in range(n)], "mos": mos,
          "predictions": preds, "primary": models[0]}


def test_write_predictions_csv(tmp_path):
  path = tmp_path / "p.csv"
  mos = np.array([1.5, 2.25, 3.0])
  preds = {"a": jnp.asarray([0.1, 0.2, 0.3]), "b": [3.0, 2.0, 1.0 / 3]}
  written = report.write_predictions(path, ["x,1", "y", "z"], mos, preds)
  assert written == str(path)
  with open(path, newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f))
  assert rows[0] == ["name", "mos", "a", "b"]
  assert [r[0] for r in rows[1:]] == ["x,1", "y", "z"]
  table = np.array([[float(c) for c in r[1:]] for r in rows[1:]])
  np.testing.assert_array_equal(table[:, 0], mos)
  np.testing.assert_array_equal(table[:, 1], np.asarray(preds["a"], np.float64))
  np.testing.assert_array_equal(table[:, 2], preds["b"])
  with pytest.raises(InputError, match="'b'"):
    report.write_predictions(path, ["x", "y", "z"], mos, {"b": [1.0, 2.0]})


def test_write_summary(tmp_path):
  results = {"val": _split(40, 0), "test": _split(30, 1)}
  summary = report.write_summary(tmp_path, results,
                                 extra={"step": np.int64(300)})
  with open(tmp_path / "summary.json", encoding="utf-8") as f:
    assert json.load(f) == summary
  assert summary["step"] == 300
  assert set(summary["splits"]) == {"val", "test"}
  for split, result in results.items():
    entry = summary["splits"][split]
    for model, pred in result["predictions"].items():
      expected = metrics.correlations(pred, result["mos"])
      assert entry["models"][model] == pytest.approx(expected, rel=1e-9)
    head = entry["models"]["combined"]
    assert entry["primary"] == "combined"
    assert (entry["srcc"], entry["plcc"], entry["krcc"], entry["rmse"],
            entry["n"]) == (head["srcc"], head["plcc_fitted"], head["krcc"],
                            head["rmse_fitted"], len(result["mos"]))
    assert entry["predictions"] == f"predictions_{split}.csv"
    assert entry["plot"] == f"scatter_{split}.png"
    assert (tmp_path / entry["plot"]).read_bytes()[:8] == PNG_MAGIC
    with open(tmp_path / entry["predictions"], newline="") as f:
      rows = list(csv.reader(f))
    assert rows[0] == ["name", "mos", "combined", "spatial"]
    assert len(rows) == len(result["mos"]) + 1
  assert not glob.glob(str(tmp_path / "*.part"))

  lines = report.format_summary(summary).splitlines()
  assert len(lines) == 4
  test_combined = summary["splits"]["test"]["models"]["combined"]
  assert lines[2].split() == [
      "test", "combined", "SRCC", f"{test_combined['srcc']:.3f}",
      "PLCC", f"{test_combined['plcc_fitted']:.3f}",
      "KRCC", f"{test_combined['krcc']:.3f}",
      "RMSE", f"{test_combined['rmse_fitted']:.3g}", "n", "30"]


def test_write_summary_rejects_bad_results(tmp_path):
  bad_primary = _split(10, 0)
  bad_primary["primary"] = "missing"
  with pytest.raises(ValueError, match="missing"):
    report.write_summary(tmp_path, {"test": bad_primary})
  with pytest.raises(ValueError, match="file name"):
    report.write_summary(tmp_path, {"../x": _split(10, 0)})
  assert not (tmp_path / "summary.json").exists()
