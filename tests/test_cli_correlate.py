"""Tests of ``jvqa correlate`` and of the scatter plot it saves."""

import json
import subprocess
import sys

import numpy as np
import pytest

from jvqa import metrics
from jvqa import plots
from jvqa.cli import main
from jvqa.errors import InputError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _scores(n=40, seed=0):
  """Predictions and MOS with a noisy monotone nonlinear relation."""
  rng = np.random.default_rng(seed)
  pred = rng.uniform(0.0, 1.0, n)
  mos = metrics.logistic_4p(pred, 4.6, 1.3, 0.5, 0.15) + rng.normal(0, 0.2, n)
  return pred, mos


def _write_csv(path, pred, mos, extra_rows=()):
  """A CSV with columns video, score, mos (repr floats: exact round trip)."""
  lines = ["video,score,mos"]
  lines += [f"v{i}.mp4,{float(p)!r},{float(m)!r}"
            for i, (p, m) in enumerate(zip(pred, mos))]
  lines += list(extra_rows)
  path.write_text("\n".join(lines) + "\n")
  return str(path)


def _parse_table(text):
  """``{label: [numbers]}`` of the printed metric rows."""
  table = {}
  for line in text.splitlines():
    label, *cells = line.split()
    if label in ("SRCC", "KRCC", "PLCC", "RMSE"):
      table[label] = [float(c) for c in cells]
  return table


def _one_error_line(capsys, *needles):
  """The single stderr line of a failed command, checked for each needle."""
  err = capsys.readouterr().err
  assert err.count("\n") == 1, err
  for needle in needles:
    assert needle in err, (needle, err)
  return err


@pytest.fixture
def scores_csv(tmp_path):
  pred, mos = _scores()
  return _write_csv(tmp_path / "scores.csv", pred, mos), pred, mos


def test_table_matches_correlations(scores_csv, capsys):
  path, pred, mos = scores_csv
  assert main(["correlate", path, "--pred", "score", "--mos", "mos"]) == 0
  out = capsys.readouterr().out
  corr = metrics.correlations(pred, mos)
  table = _parse_table(out)
  assert table["SRCC"] == pytest.approx([corr["srcc"]], abs=5e-5)
  assert table["KRCC"] == pytest.approx([corr["krcc"]], abs=5e-5)
  assert table["PLCC"] == pytest.approx([corr["plcc"], corr["plcc_fitted"]], abs=5e-5)
  assert table["RMSE"] == pytest.approx([corr["rmse"], corr["rmse_fitted"]], abs=5e-5)
  assert "n = 40" in out and path in out


def test_json_equals_correlations(scores_csv, capsys):
  path, pred, mos = scores_csv
  assert main(["correlate", path, "--pred", "score", "--mos", "mos", "--json"]) == 0
  got = json.loads(capsys.readouterr().out)
  want = metrics.correlations(pred, mos)
  assert got.pop("skipped_rows") == 0
  assert got.keys() == want.keys()
  for key, value in want.items():
    assert got[key] == pytest.approx(value, rel=1e-12), key


def test_plot_writes_a_png(scores_csv, tmp_path, capsys):
  path, _, _ = scores_csv
  png = tmp_path / "scatter.png"
  assert main(["correlate", path, "--pred", "score", "--mos", "mos",
               "--plot", str(png)]) == 0
  data = png.read_bytes()
  assert data.startswith(PNG_MAGIC) and len(data) > 5000
  assert str(png) in capsys.readouterr().out


def test_scatter_with_fit_directly(tmp_path):
  pred, mos = _scores()
  out = plots.scatter_with_fit(pred, mos, tmp_path / "a.png", title="demo")
  assert out == str(tmp_path / "a.png")
  assert (tmp_path / "a.png").read_bytes().startswith(PNG_MAGIC)
  with pytest.raises(InputError, match="cannot write the plot"):
    plots.scatter_with_fit(pred, mos, tmp_path / "no" / "such" / "b.png")


def test_empty_cells_are_skipped_with_a_warning(tmp_path, capsys):
  pred, mos = _scores(n=10)
  path = _write_csv(tmp_path / "gaps.csv", pred, mos,
                    extra_rows=["x.mp4,,3.0", "y.mp4,0.5,", "", "z.mp4,0.7"])
  assert main(["correlate", path, "--pred", "score", "--mos", "mos", "--json"]) == 0
  captured = capsys.readouterr()
  got = json.loads(captured.out)
  assert got["n"] == 10 and got["skipped_rows"] == 3
  assert got["srcc"] == pytest.approx(metrics.srcc(pred, mos))
  assert "skipped 3 row(s)" in captured.err and "lines 12, 13, 15" in captured.err


def test_missing_column_names_file_and_columns(scores_csv, capsys):
  path, _, _ = scores_csv
  assert main(["correlate", path, "--pred", "pred", "--mos", "mos"]) == 2
  _one_error_line(capsys, "jvqa correlate: error:", path, "no column 'pred'",
                  "'video', 'score', 'mos'")


def test_non_numeric_cell_names_line_and_value(tmp_path, capsys):
  pred, mos = _scores(n=5)
  path = _write_csv(tmp_path / "bad.csv", pred, mos, extra_rows=["w.mp4,0.3,good"])
  assert main(["correlate", path, "--pred", "score", "--mos", "mos"]) == 2
  _one_error_line(capsys, path, "line 7", "'mos'", "'good'", "not a finite number")


@pytest.mark.parametrize("cell", ["nan", "inf", "-Infinity"])
def test_non_finite_cell_is_an_error(tmp_path, capsys, cell):
  pred, mos = _scores(n=5)
  path = _write_csv(tmp_path / "nan.csv", pred, mos, extra_rows=[f"w.mp4,{cell},2"])
  assert main(["correlate", path, "--pred", "score", "--mos", "mos"]) == 2
  _one_error_line(capsys, path, "line 7", repr(cell))


@pytest.mark.parametrize("content,needle", [
    (None, "no such file"),
    ("", "empty file: no header row"),
    ("\n\n", "empty file: no header row"),
    ("video,score,mos\n", "no data rows"),
    ("video,score,mos\na,1,2\nb,2,3\n", "need at least 3 scores"),
    ("video,score,mos\na,1,2\nb,1,3\nc,1,4\n", "score'/'mos': pred is constant"),
    ("score,mos,score\n1,2,3\n", "appears 2 times"),
])
def test_unusable_files(tmp_path, capsys, content, needle):
  path = tmp_path / "in.csv"
  if content is not None:
    path.write_text(content)
  assert main(["correlate", str(path), "--pred", "score", "--mos", "mos"]) == 2
  _one_error_line(capsys, str(path), needle)


def test_binary_file_is_an_input_error(tmp_path, capsys):
  path = tmp_path / "video.mp4"
  path.write_bytes(b"\x00\x00\x00\x18ftypmp42\xff\xfe\xfa" * 10)
  assert main(["correlate", str(path), "--pred", "score", "--mos", "mos"]) == 2
  _one_error_line(capsys, str(path))


def test_console_entry_as_a_subprocess(scores_csv):
  path, pred, mos = scores_csv
  proc = subprocess.run(
      [sys.executable, "-m", "jvqa", "correlate", path, "--pred", "score",
       "--mos", "mos", "--json"],
      capture_output=True, text=True, timeout=120, check=False)
  assert proc.returncode == 0, proc.stderr
  got = json.loads(proc.stdout)
  assert got["srcc"] == pytest.approx(metrics.srcc(pred, mos))
  assert got["plcc_fitted"] == pytest.approx(
      metrics.correlations(pred, mos)["plcc_fitted"])
