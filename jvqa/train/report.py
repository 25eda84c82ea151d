"""What a user sees of a training run: logs, progress lines and a summary.

* ``MetricWriter``: scalars per step to ``<workdir>/metrics.jsonl`` and to
  TensorBoard event files under ``<workdir>/tensorboard/``.
* ``Progress``: a periodic one-line status with the rate and an ETA.
* ``write_predictions``, ``write_summary`` and ``format_summary``: the
  predictions CSVs, scatter plots and ``summary.json`` of a finished run.

Non-finite numbers are written to JSON as the strings ``"nan"``, ``"inf"``
and ``"-inf"`` (``float()`` reads them back), so every file stays valid JSON.
Only one process of a multi-host run should write these files.
"""

import csv
import io
import json
import logging
import math
import os
import re
import sys
import time

import numpy as np

from jvqa import metrics
from jvqa import plots
from jvqa.errors import InputError

METRICS_FILE = "metrics.jsonl"
TENSORBOARD_DIR = "tensorboard"
SUMMARY_FILE = "summary.json"
# Seconds between the TensorBoard writer's background flushes.
_TB_FLUSH_SECS = 30
# Keys of a metrics.jsonl record that are not scalars.
_RESERVED = ("step", "split")
# A split name that is safe inside a file name.
_SPLIT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def _json_float(value: float):
  """``value``, or its name as a string if it is NaN or infinite."""
  if math.isfinite(value):
    return value
  return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _jsonable(value):
  """``value`` with numpy/JAX numbers and arrays as plain JSON values."""
  if isinstance(value, dict):
    return {str(k): _jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_jsonable(v) for v in value]
  if value is None or isinstance(value, (str, bool)):
    return value
  if isinstance(value, (int, np.integer)):
    return int(value)
  if isinstance(value, (float, np.floating)):
    return _json_float(float(value))
  if hasattr(value, "__array__"):
    return _jsonable(np.asarray(value).tolist())
  return str(value)


def _atomic_write_text(path: str, text: str) -> None:
  """Writes ``text`` to ``path`` through a temporary file and ``os.replace``."""
  tmp = f"{path}.{os.getpid()}.part"
  try:
    with open(tmp, "w", encoding="utf-8", newline="") as f:
      f.write(text)
    os.replace(tmp, path)
  except OSError as e:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise InputError(path, f"cannot write: {e.strerror or e}") from None


def write_json(path, value) -> str:
  """Writes ``value`` as indented JSON (numpy values as plain ones, NaN as "nan"), atomically."""
  path = os.fspath(path)
  _atomic_write_text(path, json.dumps(_jsonable(value), indent=2) + "\n")
  return path


def _makedirs(path: str) -> None:
  """``os.makedirs(path, exist_ok=True)``, or ``InputError`` naming it."""
  try:
    os.makedirs(path, exist_ok=True)
  except OSError as e:
    raise InputError(
        path, f"cannot create the folder: {e.strerror or e}") from None


def _kept_lines(path: str, resume_step: int) -> list[str]:
  """The lines of a metrics.jsonl with a step of at most ``resume_step``.

  Lines that do not parse (a line cut short when a run was killed) are
  dropped too.
  """
  try:
    with open(path, encoding="utf-8") as f:
      lines = f.readlines()
  except FileNotFoundError:
    return []
  except OSError as e:
    raise InputError(path, f"cannot read: {e.strerror or e}") from None
  kept, bad = [], 0
  for line in lines:
    if not line.strip():
      continue
    try:
      step = json.loads(line)["step"]
    except (ValueError, TypeError, KeyError):
      bad += 1
      continue
    if isinstance(step, int) and step <= resume_step:
      kept.append(line if line.endswith("\n") else line + "\n")
  if bad:
    logging.warning("%s: dropped %d unreadable line(s)", path, bad)
  return kept


class MetricWriter:
  """Writes scalars per step to metrics.jsonl and to TensorBoard.

  Each ``write`` appends one line ``{"step": ..., "split": ..., name: value,
  ...}`` to ``<workdir>/metrics.jsonl`` and logs each scalar to TensorBoard
  as ``<split>/<name>``. A fresh run (``resume_step=None``) starts an empty
  metrics.jsonl; a resumed one keeps the lines up to ``resume_step`` (a
  killed run may have logged steps whose checkpoint never landed) and
  appends. TensorBoard hides the dropped steps of earlier event files
  through its purge marker (``purge_step``).

  Usable as a context manager; ``close`` is idempotent.
  """

  def __init__(self, workdir, *, resume_step=None):
    """Opens the logs of ``workdir``.

    Args:
      workdir: the run's folder (created if missing).
      resume_step: the step of the checkpoint the run resumes from, or None
        for a fresh run.

    Raises:
      InputError: the folder or files cannot be created or written.
    """
    self.workdir = os.fspath(workdir)
    self.path = os.path.join(self.workdir, METRICS_FILE)
    self.tensorboard_dir = os.path.join(self.workdir, TENSORBOARD_DIR)
    _makedirs(self.tensorboard_dir)
    kept = [] if resume_step is None else _kept_lines(self.path,
                                                      int(resume_step))
    _atomic_write_text(self.path, "".join(kept))
    try:
      self._file = open(self.path, "a", encoding="utf-8")
    except OSError as e:
      raise InputError(self.path, f"cannot open: {e.strerror or e}") from None
    # Imported here: tensorboardX imports torch when it is installed.
    from tensorboardX import SummaryWriter
    # The nanosecond suffix keeps two writers started in the same second
    # from sharing (and overwriting) one event file.
    self._tb = SummaryWriter(
        self.tensorboard_dir,
        purge_step=0 if resume_step is None else int(resume_step) + 1,
        flush_secs=_TB_FLUSH_SECS, filename_suffix=f".{time.time_ns()}")
    self._closed = False

  def write(self, step, scalars: dict, split: str = "train") -> None:
    """Logs ``scalars`` (name -> number, JAX or numpy scalar) at ``step``.

    Raises:
      ValueError: a name is reserved ("step", "split") or not a string, a
        value is not a single number, or the writer is closed.
    """
    if self._closed:
      raise ValueError("the MetricWriter is closed")
    step = int(step)
    values = {}
    for name, value in scalars.items():
      if not isinstance(name, str) or name in _RESERVED:
        raise ValueError(f"bad scalar name {name!r}: names are strings other "
                         f"than {_RESERVED}")
      try:
        values[name] = float(value)
      except (TypeError, ValueError) as e:
        raise ValueError(
            f"scalar {name!r} is not a single number: {e}") from None
    record = {"step": step, "split": str(split)}
    record.update({k: _json_float(v) for k, v in values.items()})
    self._file.write(json.dumps(record, allow_nan=False) + "\n")
    self._file.flush()
    for name, value in values.items():
      self._tb.add_scalar(f"{split}/{name}", value, step)

  def flush(self) -> None:
    """Flushes metrics.jsonl and the TensorBoard file to disk."""
    if not self._closed:
      self._file.flush()
      self._tb.flush()

  def close(self) -> None:
    """Writes out everything pending and closes the files."""
    if not self._closed:
      self._closed = True
      self._file.close()
      self._tb.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc_info):
    self.close()


def format_eta(seconds) -> str:
  """A duration as ``45s``, ``1m25s``, ``2h03m`` or ``3d04h``; ``?`` if None."""
  if seconds is None or not math.isfinite(seconds) or seconds < 0:
    return "?"
  s = int(round(seconds))
  if s < 60:
    return f"{s}s"
  m, s = divmod(s, 60)
  if m < 60:
    return f"{m}m{s:02d}s"
  h, m = divmod(m, 60)
  if h < 24:
    return f"{h}h{m:02d}m"
  d, h = divmod(h, 24)
  return f"{d}d{h:02d}h"


def format_scalar(value) -> str:
  """A number as ``0.1234`` (4 decimals), or ``1.0e-04`` if small or large."""
  value = float(value)
  if not math.isfinite(value):
    return str(value)
  if value == 0:
    return "0"
  if 1e-3 <= abs(value) < 1e4:
    return f"{value:.4f}"
  return f"{value:.1e}"


def format_rate(steps_per_second: float) -> str:
  """``2.10 steps/s``, or ``3.50 s/step`` below one step a second."""
  if steps_per_second >= 1:
    return f"{steps_per_second:.2f} steps/s"
  return f"{1 / steps_per_second:.2f} s/step"


class Progress:
  """Prints a periodic one-line status of a training loop.

  For example ``sslvqa  step 120/300  loss 0.1234  lr 1.0e-04  2.10 steps/s
  ETA 1m25s``. A line is printed at the first ``update`` (no rate yet: that
  step includes compilation), whenever ``every_steps`` or ``every_seconds``
  have passed since the last line, and at the last step (with the total
  time instead of the ETA). The rate is that of the steps since the last
  line and the ETA assumes it holds.
  """

  def __init__(self, name: str, total_steps: int, *, start_step: int = 0,
               every_steps=None, every_seconds=10.0, stream=None,
               clock=time.monotonic):
    """Starts the clock.

    Args:
      name: the first word of every line (the job or model name).
      total_steps: the step the run ends at.
      start_step: the step the run starts (or resumes) from.
      every_steps: print when the step crosses a multiple of this; None: no
        step interval.
      every_seconds: print when this many seconds have passed since the last
        line; None: no time interval.
      stream: where lines go; None: ``sys.stdout`` at construction.
      clock: seconds of a monotonic clock (injectable for tests).
    """
    self.name = name
    self.total_steps = int(total_steps)
    self.every_steps = every_steps
    self.every_seconds = every_seconds
    self._stream = sys.stdout if stream is None else stream
    self._clock = clock
    self._start_time = clock()
    self._last_step = int(start_step)
    self._last_time = None
    self._finished = False

  def _due(self, step: int, now: float) -> bool:
    """Whether ``update(step)`` at ``now`` prints a line."""
    if self._last_time is None:
      return True
    if step >= self.total_steps:
      return not self._finished
    if self.every_steps and (step // self.every_steps
                             > self._last_step // self.every_steps):
      return True
    return (self.every_seconds is not None
            and now - self._last_time >= self.every_seconds)

  def update(self, step, scalars=None):
    """Reports ``step`` (done) with ``scalars``; prints a line when due.

    Args:
      step: the number of steps done.
      scalars: name -> number to show, in order; None: none.

    Returns:
      The printed line, or None when none was due.
    """
    step = int(step)
    now = self._clock()
    if not self._due(step, now):
      return None
    parts = [self.name, f"step {step}/{self.total_steps}"]
    parts += [f"{k} {format_scalar(v)}" for k, v in (scalars or {}).items()]
    rate = None
    if self._last_time is not None and step > self._last_step:
      elapsed = now - self._last_time
      rate = (step - self._last_step) / elapsed if elapsed > 0 else None
    if rate is not None:
      parts.append(format_rate(rate))
    if step >= self.total_steps:
      parts.append(f"done in {format_eta(now - self._start_time)}")
      self._finished = True
    elif rate is not None:
      parts.append(f"ETA {format_eta((self.total_steps - step) / rate)}")
    line = "  ".join(parts)
    print(line, file=self._stream, flush=True)
    self._last_step, self._last_time = step, now
    return line


def _column(values, n: int, what: str, path: str) -> np.ndarray:
  """``values`` as a 1-D float array of ``n`` items, or ``InputError``."""
  arr = np.asarray(values, dtype=np.float64)
  if arr.ndim != 1 or arr.size != n:
    raise InputError(path, f"{what} has shape {arr.shape}, expected ({n},) "
                     "like the names")
  return arr


def write_predictions(path, names, mos, predictions: dict) -> str:
  """Writes a CSV ``name,mos,<model1>,<model2>,...`` of one row per video.

  Numbers are written in full precision (``repr``), atomically.

  Args:
    path: the CSV file (its folder must exist).
    names: the videos' names.
    mos: their MOS, same length.
    predictions: model name -> predicted scores, same length.

  Returns:
    ``path`` as a string.

  Raises:
    InputError: lengths differ, a model is named "name" or "mos", or the
      file cannot be written.
  """
  path = os.fspath(path)
  names = [str(n) for n in names]
  columns = [_column(mos, len(names), "mos", path)]
  for model, values in predictions.items():
    if model in ("name", "mos"):
      raise InputError(path, f"a model cannot be named {model!r}")
    columns.append(_column(values, len(names), f"model {model!r}", path))
  buf = io.StringIO()
  writer = csv.writer(buf, lineterminator="\n")
  writer.writerow(["name", "mos", *predictions])
  for i, name in enumerate(names):
    writer.writerow([name, *(repr(float(c[i])) for c in columns)])
  _atomic_write_text(path, buf.getvalue())
  return path


def write_summary(workdir, results: dict, *, extra=None) -> dict:
  """Writes the predictions, plots and metrics of a finished run.

  For each split: ``predictions_<split>.csv``, ``scatter_<split>.png`` (the
  primary model against MOS with the logistic fit) and the
  ``metrics.correlations`` of every model. ``summary.json`` holds::

    {"splits": {split: {"primary", "srcc", "plcc", "krcc", "rmse", "n",
                        "models": {model: correlations},
                        "predictions": csv name, "plot": png name}},
     **extra}

  where the top-level metrics of a split are its primary model's, PLCC and
  RMSE after the logistic fit (``plcc_fitted``, ``rmse_fitted``) as the VQA
  benchmarks report them.

  Args:
    workdir: the run's folder (created if missing).
    results: split -> {"names": [...], "mos": array, "predictions": {model:
      array}, "primary": model name}.
    extra: more top-level entries of summary.json (the config, the step).

  Returns:
    The summary, as written to summary.json.

  Raises:
    ValueError: a split name is unsafe in a file name, the primary model has
      no predictions, or ``extra`` has a "splits" key.
    MetricError: scores no correlation can be computed from (NaN, constant).
    InputError: a file cannot be written, or lengths differ.
  """
  workdir = os.fspath(workdir)
  extra = dict(extra or {})
  if "splits" in extra:
    raise ValueError("extra cannot have a 'splits' entry")
  _makedirs(workdir)
  splits = {}
  for split, result in results.items():
    if not _SPLIT_NAME.match(split):
      raise ValueError(f"split name {split!r} is not usable in a file name")
    primary = result["primary"]
    if primary not in result["predictions"]:
      raise ValueError(
          f"split {split!r}: the primary model {primary!r} has no "
          f"predictions (models: {list(result['predictions'])})")
    csv_name, plot_name = f"predictions_{split}.csv", f"scatter_{split}.png"
    write_predictions(os.path.join(workdir, csv_name), result["names"],
                      result["mos"], result["predictions"])
    mos = np.asarray(result["mos"], dtype=np.float64)
    models, fits = {}, {}
    for model, values in result["predictions"].items():
      pred = np.asarray(values, dtype=np.float64)
      fits[model] = metrics.fit_logistic(pred, mos)
      models[model] = metrics.correlations(pred, mos, fit=fits[model])
    plots.scatter_with_fit(
        np.asarray(result["predictions"][primary], dtype=np.float64), mos,
        os.path.join(workdir, plot_name), title=f"{split}: {primary}",
        fit=fits[primary])
    head = models[primary]
    splits[split] = {
        "primary": primary,
        "srcc": head["srcc"],
        "plcc": head["plcc_fitted"],
        "krcc": head["krcc"],
        "rmse": head["rmse_fitted"],
        "n": head["n"],
        "models": models,
        "predictions": csv_name,
        "plot": plot_name,
    }
  summary = _jsonable({"splits": splits, **extra})
  _atomic_write_text(os.path.join(workdir, SUMMARY_FILE),
                     json.dumps(summary, indent=2, allow_nan=False) + "\n")
  return summary


def format_summary(summary: dict) -> str:
  """A short table of a summary, one line per split and model.

  For example ``test  combined  SRCC 0.812  PLCC 0.830  KRCC 0.620  RMSE 7.1
  n 91`` (PLCC and RMSE after the logistic fit).
  """
  rows = [(split, model, corr)
          for split, entry in summary["splits"].items()
          for model, corr in entry["models"].items()]
  if not rows:
    return ""
  ws = max(len(r[0]) for r in rows)
  wm = max(len(r[1]) for r in rows)
  lines = []
  for split, model, c in rows:
    lines.append(
        f"{split:<{ws}}  {model:<{wm}}  SRCC {float(c['srcc']):.3f}  "
        f"PLCC {float(c['plcc_fitted']):.3f}  KRCC {float(c['krcc']):.3f}  "
        f"RMSE {float(c['rmse_fitted']):.3g}  n {c['n']}")
  return "\n".join(lines)
