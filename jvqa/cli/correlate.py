"""``jvqa correlate``: SRCC, KRCC, PLCC and RMSE of two CSV columns."""

import argparse
import csv
import json
import math
import sys
import warnings

from jvqa.errors import InputError, MetricError

_DESCRIPTION = """\
Correlates predicted quality scores with mean opinion scores (MOS) read from
two columns of a CSV file with a header row, and prints SRCC, KRCC, PLCC and
RMSE (the last two on the raw predictions and after the 4-parameter logistic
fit of the VQEG / BVQA benchmark protocol; the fitted RMSE is in MOS units).

Rows whose prediction or MOS cell is empty (or missing) are skipped; a
warning on stderr counts them. Blank lines are ignored. Any other cell that
is not a finite number is an error naming its line in the file (the header
is line 1) and its value.
"""

# Row numbers listed in the warning about skipped rows.
_SHOWN_SKIPPED = 5

# (label, raw key, fitted key) of the printed block.
_ROWS = (("SRCC", "srcc", None), ("KRCC", "krcc", None),
         ("PLCC", "plcc", "plcc_fitted"), ("RMSE", "rmse", "rmse_fitted"))


def add_parser(subparsers) -> None:
  """Registers ``correlate`` and its arguments."""
  parser = subparsers.add_parser(
      "correlate", help="SRCC/KRCC/PLCC/RMSE of predictions vs MOS in a CSV",
      description=_DESCRIPTION,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("file", metavar="FILE.csv",
                      help="CSV file with a header row")
  parser.add_argument("--pred", required=True, metavar="COLUMN",
                      help="column of the predicted scores")
  parser.add_argument("--mos", required=True, metavar="COLUMN",
                      help="column of the mean opinion scores")
  parser.add_argument("--plot", metavar="OUT.png",
                      help="also save a scatter plot with the fitted curve")
  parser.add_argument("--json", action="store_true",
                      help="print one JSON object instead of a table")
  parser.set_defaults(func=run)


def _open_rows(path: str) -> list:
  """``(line number, row)`` of every CSV record, or ``InputError``.

  The line number is the file's (1-based) line on which the record ends.
  """
  try:
    with open(path, newline="", encoding="utf-8-sig") as f:
      reader = csv.reader(f)
      return [(reader.line_num, row) for row in reader]
  except FileNotFoundError:
    raise InputError(path, "no such file") from None
  except IsADirectoryError:
    raise InputError(path, "is a directory, not a CSV file") from None
  except UnicodeDecodeError:
    raise InputError(path, "not a UTF-8 text (CSV) file") from None
  except csv.Error as e:
    raise InputError(path, f"not a readable CSV file: {e}") from None
  except OSError as e:
    raise InputError(path, f"cannot read: {e.strerror or e}") from None


def _column_index(path: str, header: list, column: str) -> int:
  """Index of ``column`` in the header row, or ``InputError`` naming them."""
  names = [name.strip() for name in header]
  hits = [i for i, name in enumerate(names) if name == column.strip()]
  if not hits:
    raise InputError(path, f"no column {column!r}; the columns are "
                     f"{', '.join(repr(n) for n in names)}")
  if len(hits) > 1:
    raise InputError(path, f"column {column!r} appears {len(hits)} times in "
                     "the header")
  return hits[0]


def _parse_number(path: str, line: int, column: str, cell: str) -> float:
  """A cell as a finite float, or ``InputError`` naming its line and value."""
  try:
    value = float(cell)
  except ValueError:
    value = math.nan
  if not math.isfinite(value):
    raise InputError(path, f"line {line}, column {column!r}: {cell!r} is not "
                     "a finite number")
  return value


def read_columns(path: str, pred_col: str, mos_col: str):
  """Reads two numeric columns of a CSV file with a header row.

  Args:
    path: the CSV file.
    pred_col: name of the prediction column.
    mos_col: name of the MOS column.

  Returns:
    ``(pred, mos, skipped)``: two lists of floats and the file's line
    numbers (the header is line 1) of the rows skipped for an empty pred or
    MOS cell.

  Raises:
    InputError: the file is missing, unreadable or empty, a column is
      missing, or a cell is not a number.
  """
  rows = [(line, row) for line, row in _open_rows(path)
          if any(cell.strip() for cell in row)]
  if not rows:
    raise InputError(path, "empty file: no header row")
  header = rows[0][1]
  cols = {pred_col: _column_index(path, header, pred_col),
          mos_col: _column_index(path, header, mos_col)}
  pred, mos, skipped = [], [], []
  for line, row in rows[1:]:
    cells = {c: row[i].strip() if i < len(row) else "" for c, i in cols.items()}
    if not (cells[pred_col] and cells[mos_col]):
      skipped.append(line)
      continue
    pred.append(_parse_number(path, line, pred_col, cells[pred_col]))
    mos.append(_parse_number(path, line, mos_col, cells[mos_col]))
  if not pred:
    raise InputError(path, "no data rows with both a "
                     f"{pred_col!r} and a {mos_col!r} value")
  return pred, mos, skipped


def _warn(message: str) -> None:
  """Prints a one-line warning to stderr."""
  print(f"jvqa correlate: warning: {message}", file=sys.stderr)


def _skipped_message(skipped: list) -> str:
  """Warning text for rows skipped for an empty cell."""
  shown = ", ".join(str(n) for n in skipped[:_SHOWN_SKIPPED])
  more = ", ..." if len(skipped) > _SHOWN_SKIPPED else ""
  return (f"skipped {len(skipped)} row(s) with an empty pred or MOS cell "
          f"(line{'s' if len(skipped) > 1 else ''} {shown}{more})")


def format_table(corr: dict, path: str, pred_col: str, mos_col: str) -> str:
  """The metrics as an aligned text block."""
  lines = [f"{path}: {pred_col!r} vs {mos_col!r}, n = {corr['n']}",
           f"{'':6}{'raw':>10}{'fitted':>10}"]
  for label, raw, fitted in _ROWS:
    cells = f"{corr[raw]:>10.4f}"
    if fitted:
      cells += f"{corr[fitted]:>10.4f}"
    lines.append(f"{label:6}{cells}")
  return "\n".join(lines)


def _compute(args, pred: list, mos: list):
  """Metrics (and the plot) of the scores; metric errors name the file."""
  from jvqa import metrics  # scipy: imported only when needed

  try:
    with warnings.catch_warnings(record=True) as caught:
      warnings.simplefilter("always", metrics.FitWarning)
      fit = metrics.fit_logistic(pred, mos)
      corr = metrics.correlations(pred, mos, fit=fit)
      if args.plot:
        from jvqa import plots
        plots.scatter_with_fit(pred, mos, args.plot, title=args.file, fit=fit)
  except MetricError as e:
    raise InputError(
        args.file, f"columns {args.pred!r}/{args.mos!r}: {e}") from None
  for w in caught:
    _warn(str(w.message))
  return corr


def run(args) -> int:
  """Reads the CSV file, prints the metrics and optionally saves the plot."""
  pred, mos, skipped = read_columns(args.file, args.pred, args.mos)
  if skipped:
    _warn(_skipped_message(skipped))
  corr = _compute(args, pred, mos)
  if args.json:
    print(json.dumps({**corr, "skipped_rows": len(skipped)}))
  else:
    print(format_table(corr, args.file, args.pred, args.mos))
    if args.plot:
      print(f"plot: {args.plot}")
  return 0
