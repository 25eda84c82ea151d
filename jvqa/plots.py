"""Figures of predicted quality against MOS.

matplotlib is imported inside the functions, and only its object-oriented
API with the Agg canvas is used: no display is needed and the global pyplot
state (and backend) of the caller is left alone.
"""

import os

import numpy as np

from jvqa import metrics
from jvqa.errors import InputError

# Points on the drawn fitted curve.
_CURVE_POINTS = 200


def _metrics_text(corr: dict) -> str:
  """The metrics of ``metrics.correlations`` as one short line."""
  return (f"SRCC={corr['srcc']:.4f}  KRCC={corr['krcc']:.4f}  "
          f"PLCC={corr['plcc_fitted']:.4f}  RMSE={corr['rmse_fitted']:.4g} "
          "(fitted)")


def _curve_label(params) -> str:
  """Legend label of the fitted mapping (logistic, or the linear fallback)."""
  if len(params) == 4:
    return "4-parameter logistic fit"
  return "linear fit (logistic did not converge)"


def scatter_with_fit(pred, mos, path, *, title=None, fit=None) -> str:
  """Saves a PNG scatter of predictions vs MOS with the fitted logistic.

  Args:
    pred: predicted quality scores, 1-D.
    mos: mean opinion scores, 1-D, same length.
    path: the PNG file to write (its folder must exist).
    title: first title line; the metrics form the second line.
    fit: ``metrics.fit_logistic(pred, mos)``'s result to reuse; fitted if
      None.

  Returns:
    ``path`` as a string.

  Raises:
    MetricError: the scores fail ``metrics.validate``.
    InputError: the file cannot be written.
  """
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  pred, mos = metrics.validate(pred, mos)
  fit = metrics.fit_logistic(pred, mos) if fit is None else fit
  corr = metrics.correlations(pred, mos, fit=fit)
  params = fit[0]
  xs = np.linspace(pred.min(), pred.max(), _CURVE_POINTS)

  fig = Figure(figsize=(6, 5), dpi=100)
  FigureCanvasAgg(fig)
  ax = fig.add_subplot()
  ax.scatter(pred, mos, s=12, alpha=0.6, label=f"videos (n={corr['n']})")
  ax.plot(xs, metrics.apply_fit(params, xs), color="C3", lw=2,
          label=_curve_label(params))
  ax.set_xlabel("predicted quality")
  ax.set_ylabel("MOS")
  heading = "\n".join(filter(None, [title, _metrics_text(corr)]))
  ax.set_title(heading, fontsize=10)
  ax.legend(loc="best", fontsize=9)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  try:
    fig.savefig(os.fspath(path), format="png")
  except OSError as e:
    raise InputError(
        path, f"cannot write the plot: {e.strerror or e}") from None
  return os.fspath(path)
