"""Correlation metrics between predicted quality scores and MOS.

The metrics are those of the VQA benchmark protocols (VQEG; the BVQA
benchmark of Tu et al., ``vztu/BVQA_Benchmark``):

* SRCC and KRCC measure prediction monotonicity (ties get average ranks and
  Kendall's tau-b, as ``scipy.stats`` does);
* PLCC and RMSE measure prediction accuracy, both on the raw predictions and
  after mapping the predictions to the MOS scale with the 4-parameter
  logistic ``logistic_4p`` fitted by least squares (``fit_logistic``).

The logistic fit is made robust to the scale of the predictions: it is fitted
to standardised predictions and MOS and its parameters are mapped back, which
is the same as starting from ``beta3 = mean(pred)`` and
``beta4 = std(pred)`` (the benchmark's fixed ``beta4 = 0.5`` only suits
predictions of unit scale). If no logistic start converges, or the best
logistic is a worse least-squares fit than a straight line, the fit falls
back to a linear one and warns with ``FitWarning``.
"""

import warnings

import numpy as np
from scipy import optimize
from scipy import stats

from jvqa.errors import MetricError

# Fewest items any of the metrics is computed from.
MIN_ITEMS = 3
# Function evaluations allowed to one logistic fit (in standardised units the
# fit converges in well under a hundred).
MAX_FEV = 10000
# Starting slopes tried, as |beta4| in units of std(pred), most likely first.
_BETA4_STARTS = (1.0, 0.3, 3.0)
# Relative excess of the logistic's squared error over a straight line's that
# counts as a failed fit.
_LINE_SLACK = 1e-3


class FitWarning(UserWarning):
  """The logistic fit did not converge and a linear fit was used instead."""


def _as_scores(values, name: str) -> np.ndarray:
  """``values`` as a finite 1-D float array, or ``MetricError`` naming it."""
  try:
    arr = np.asarray(values, dtype=np.float64)
  except (TypeError, ValueError) as e:
    raise MetricError(f"{name} is not an array of numbers: {e}") from None
  if arr.ndim != 1:
    raise MetricError(f"{name} must be 1-D, got shape {arr.shape}")
  bad = np.flatnonzero(~np.isfinite(arr))
  if bad.size:
    raise MetricError(
        f"{name} has {bad.size} NaN or infinite value(s), first at index "
        f"{bad[0]} ({arr[bad[0]]})")
  return arr


def validate(pred, mos) -> tuple[np.ndarray, np.ndarray]:
  """Checks a pair of score arrays and returns them as float arrays.

  Args:
    pred: predicted quality scores, 1-D.
    mos: mean opinion scores of the same items, 1-D.

  Returns:
    ``(pred, mos)`` as 1-D float64 arrays.

  Raises:
    MetricError: the arrays are not 1-D, differ in length, hold fewer than
      ``MIN_ITEMS`` items, hold NaN or inf, or one of them is constant.
  """
  pred = _as_scores(pred, "pred")
  mos = _as_scores(mos, "mos")
  if pred.size != mos.size:
    raise MetricError(
        f"pred and mos differ in length: {pred.size} vs {mos.size}")
  if pred.size < MIN_ITEMS:
    raise MetricError(
        f"need at least {MIN_ITEMS} scores to correlate, got {pred.size}")
  for name, arr in (("pred", pred), ("mos", mos)):
    if np.ptp(arr) == 0:
      raise MetricError(
          f"{name} is constant ({arr[0]:g}): correlation is undefined")
  return pred, mos


def srcc(pred, mos) -> float:
  """Spearman rank-order correlation coefficient (average ranks for ties)."""
  pred, mos = validate(pred, mos)
  return float(stats.spearmanr(pred, mos).statistic)


def krcc(pred, mos) -> float:
  """Kendall rank-order correlation coefficient (tau-b, which handles ties)."""
  pred, mos = validate(pred, mos)
  return float(stats.kendalltau(pred, mos).statistic)


def plcc(pred, mos) -> float:
  """Pearson linear correlation coefficient of the raw predictions."""
  pred, mos = validate(pred, mos)
  return float(stats.pearsonr(pred, mos).statistic)


def rmse(pred, mos) -> float:
  """Root-mean-square error of the raw predictions against MOS."""
  pred, mos = validate(pred, mos)
  return float(np.sqrt(np.mean((pred - mos) ** 2)))


def logistic_4p(x, beta1, beta2, beta3, beta4):
  """The 4-parameter logistic of the VQEG / BVQA benchmark protocols.

  ``(beta1 - beta2) / (1 + exp(-(x - beta3) / |beta4|)) + beta2``: it rises
  from ``beta2`` to ``beta1`` around ``x = beta3`` with scale ``|beta4|``
  (falls, if ``beta1 < beta2``).

  Args:
    x: predictions, scalar or array.
    beta1: value of the curve as ``x -> +inf``.
    beta2: value of the curve as ``x -> -inf``.
    beta3: the midpoint.
    beta4: the scale (only its absolute value is used).

  Returns:
    The curve at ``x``, as ``x``'s shape.
  """
  z = -(np.asarray(x, dtype=np.float64) - beta3) / np.abs(beta4)
  # exp overflows to inf far left of the midpoint, where the curve is beta2.
  with np.errstate(over="ignore"):
    return (beta1 - beta2) / (1.0 + np.exp(z)) + beta2


def apply_fit(params, x) -> np.ndarray:
  """Evaluates a mapping returned by ``fit_logistic`` at ``x``.

  Args:
    params: 4 logistic parameters ``(beta1, beta2, beta3, beta4)``, or 2
      linear ones ``(slope, intercept)`` after the linear fallback.
    x: predictions.

  Returns:
    The mapped predictions, on the MOS scale.
  """
  params = np.asarray(params, dtype=np.float64)
  if params.shape == (4,):
    return logistic_4p(x, *params)
  if params.shape == (2,):
    return np.polyval(params, np.asarray(x, dtype=np.float64))
  raise MetricError(f"a fit has 4 (logistic) or 2 (linear) parameters, "
                    f"got shape {params.shape}")


def _standardise(arr: np.ndarray) -> tuple[np.ndarray, float, float]:
  """``(arr - mean) / std`` with the mean and std used."""
  mean, std = float(np.mean(arr)), float(np.std(arr))
  return (arr - mean) / std, mean, std


def _logistic_starts(zp: np.ndarray, zm: np.ndarray) -> list[list[float]]:
  """Initial guesses for the logistic in standardised units.

  The benchmark's guess ``[max(mos), min(mos), mean(pred), scale]`` with the
  two levels swapped when the correlation is negative, for each scale in
  ``_BETA4_STARTS`` (in units of std(pred), so scale-free).
  """
  high, low = float(np.max(zm)), float(np.min(zm))
  if np.dot(zp, zm) < 0:
    high, low = low, high
  return [[high, low, 0.0, b4] for b4 in _BETA4_STARTS]


def _fit_logistic_std(zp: np.ndarray, zm: np.ndarray):
  """Best least-squares logistic over the starts, or None if none converged.

  Returns:
    ``(params, sse)`` in standardised units, or None.
  """
  best = None
  for p0 in _logistic_starts(zp, zm):
    try:
      with warnings.catch_warnings():
        # A singular covariance matrix is fine: only the parameters are used.
        warnings.simplefilter("ignore", optimize.OptimizeWarning)
        params, _ = optimize.curve_fit(
            logistic_4p, zp, zm, p0=p0, maxfev=MAX_FEV)
    except (RuntimeError, ValueError, FloatingPointError):
      continue
    fitted = logistic_4p(zp, *params)
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(fitted))):
      continue
    sse = float(np.sum((fitted - zm) ** 2))
    if best is None or sse < best[1]:
      best = (params, sse)
  return best


def _unstandardise(params, p_mean, p_std, m_mean, m_std) -> np.ndarray:
  """Logistic parameters fitted in standardised units, in the raw units."""
  b1, b2, b3, b4 = params
  return np.array([m_mean + m_std * b1, m_mean + m_std * b2,
                   p_mean + p_std * b3, p_std * abs(b4)])


def fit_logistic(pred, mos) -> tuple[np.ndarray, np.ndarray]:
  """Fits ``logistic_4p`` from predictions to MOS by least squares.

  The fit runs on standardised predictions and MOS (zero mean, unit std), so
  it behaves the same for predictions on any scale or offset; it starts from
  the benchmark's guess ``[max(mos), min(mos), mean(pred), |beta4|]`` (levels
  swapped for a negative correlation) with ``|beta4|`` of 1, 0.3 and 3 times
  std(pred), and keeps the best converged fit (``maxfev=MAX_FEV`` each).

  If no start converges, or the best logistic fits worse than a straight
  line (a non-converged fit), the linear least-squares fit is used instead
  and a ``FitWarning`` is issued.

  Args:
    pred: predicted quality scores, 1-D.
    mos: mean opinion scores, 1-D, same length.

  Returns:
    ``(params, fitted_pred)``: ``params`` is ``[beta1, beta2, beta3, beta4]``
    (``beta4 > 0``) in the units of ``pred`` and ``mos``, or
    ``[slope, intercept]`` after the linear fallback (``apply_fit`` evaluates
    either); ``fitted_pred`` is the predictions mapped to the MOS scale.

  Raises:
    MetricError: the scores fail ``validate``.
  """
  pred, mos = validate(pred, mos)
  zp, p_mean, p_std = _standardise(pred)
  zm, m_mean, m_std = _standardise(mos)
  line = np.polyfit(zp, zm, 1)
  line_sse = float(np.sum((np.polyval(line, zp) - zm) ** 2))
  best = _fit_logistic_std(zp, zm)
  # A straight line is the logistic's limit (beta4 -> inf), so a fit worse
  # than it by more than the slack is stuck in a poor local minimum.
  worst_ok = line_sse * (1 + _LINE_SLACK) + 1e-9 * zp.size
  if best is not None and best[1] <= worst_ok:
    params = _unstandardise(best[0], p_mean, p_std, m_mean, m_std)
    return params, logistic_4p(pred, *params)
  reason = ("did not converge" if best is None
            else "converged to a worse fit than a straight line")
  warnings.warn(f"the 4-parameter logistic fit {reason}; using a linear fit "
                "for plcc_fitted and rmse_fitted", FitWarning, stacklevel=2)
  slope = m_std * line[0] / p_std
  params = np.array([slope, m_mean + m_std * line[1] - slope * p_mean])
  return params, np.polyval(params, pred)


def _pearson_or_zero(x: np.ndarray, y: np.ndarray) -> float:
  """PLCC of ``x`` and ``y``, 0.0 when ``x`` is constant (a flat fit)."""
  if np.ptp(x) == 0:
    return 0.0
  return float(stats.pearsonr(x, y).statistic)


def correlations(pred, mos, *, fit=None) -> dict:
  """All benchmark metrics of predictions against MOS.

  Args:
    pred: predicted quality scores, 1-D.
    mos: mean opinion scores, 1-D, same length.
    fit: the ``(params, fitted_pred)`` that ``fit_logistic(pred, mos)``
      returned, to reuse it (for example for a plot too); fitted if None.

  Returns:
    A dict with ``srcc``, ``krcc``, ``plcc`` and ``rmse`` (raw predictions),
    ``plcc_fitted`` and ``rmse_fitted`` (after ``fit_logistic``; the RMSE is
    in MOS units), all Python floats, and ``n``, the number of items.

  Raises:
    MetricError: the scores fail ``validate``, or ``fit`` is not theirs.
  """
  pred, mos = validate(pred, mos)
  _, fitted = fit_logistic(pred, mos) if fit is None else fit
  fitted = np.asarray(fitted, dtype=np.float64)
  if fitted.shape != pred.shape:
    raise MetricError(f"the fitted predictions have shape {fitted.shape}, "
                      f"the predictions {pred.shape}")
  return {
      "srcc": srcc(pred, mos),
      "krcc": krcc(pred, mos),
      "plcc": plcc(pred, mos),
      "rmse": rmse(pred, mos),
      "plcc_fitted": _pearson_or_zero(fitted, mos),
      "rmse_fitted": float(np.sqrt(np.mean((fitted - mos) ** 2))),
      "n": int(pred.size),
  }
