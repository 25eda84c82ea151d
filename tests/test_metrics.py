"""Tests of jvqa.metrics against hand-computed values and known fits."""

import math
import warnings

import numpy as np
import pytest

from jvqa import metrics
from jvqa.errors import MetricError

# No ties: ranks equal the values.
PRED = [1, 2, 3, 4, 5]
MOS = [2, 1, 4, 3, 5]
# The true logistic of the fit tests: (beta1, beta2, beta3, beta4).
TRUE_PARAMS = (4.5, 1.2, 0.3, 0.6)


def _hand_pearson(x, y) -> float:
  """Pearson's r by its textbook formula."""
  x, y = np.asarray(x, float), np.asarray(y, float)
  dx, dy = x - x.mean(), y - y.mean()
  return float(np.sum(dx * dy) / np.sqrt(np.sum(dx**2) * np.sum(dy**2)))


def _logistic_data(n=80, noise=1e-4, seed=0):
  """``(x, mos)`` on the true logistic with a little Gaussian noise."""
  rng = np.random.default_rng(seed)
  x = rng.uniform(-2.5, 3.0, n)
  mos = metrics.logistic_4p(x, *TRUE_PARAMS) + rng.normal(0, noise, n)
  return x, mos


def test_hand_computed_without_ties():
  # d = rank differences (-1, 1, -1, 1, 0): SRCC = 1 - 6*4 / (5*24) = 0.8.
  assert metrics.srcc(PRED, MOS) == pytest.approx(0.8, abs=1e-12)
  # 8 concordant, 2 discordant of the 10 pairs: KRCC = (8 - 2) / 10 = 0.6.
  assert metrics.krcc(PRED, MOS) == pytest.approx(0.6, abs=1e-12)
  # sum(dx*dy) = 8, sum(dx^2) = sum(dy^2) = 10.
  assert metrics.plcc(PRED, MOS) == pytest.approx(0.8, abs=1e-12)
  assert metrics.plcc(PRED, MOS) == pytest.approx(_hand_pearson(PRED, MOS), abs=1e-12)
  # Errors (1, -1, 1, -1, 0): RMSE = sqrt(4 / 5).
  assert metrics.rmse(PRED, MOS) == pytest.approx(math.sqrt(0.8), abs=1e-12)


def test_ties_use_average_ranks_and_tau_b():
  pred, mos = [1, 2, 2, 3], [1, 3, 2, 4]
  # Ranks (1, 2.5, 2.5, 4) and (1, 3, 2, 4): r = 4.5 / sqrt(4.5 * 5).
  assert metrics.srcc(pred, mos) == pytest.approx(4.5 / math.sqrt(22.5), abs=1e-12)
  assert metrics.srcc(pred, mos) == pytest.approx(
      _hand_pearson([1, 2.5, 2.5, 4], [1, 3, 2, 4]), abs=1e-12)
  # 5 concordant, 0 discordant, 1 pair tied in pred: tau-b = 5 / sqrt(5 * 6).
  assert metrics.krcc(pred, mos) == pytest.approx(5 / math.sqrt(30), abs=1e-12)


def test_reversed_order_is_minus_one():
  pred, mos = [3.0, 1.0, 2.0, 5.0], [-3.0, -1.0, -2.0, -5.0]
  assert metrics.srcc(pred, mos) == pytest.approx(-1.0)
  assert metrics.krcc(pred, mos) == pytest.approx(-1.0)
  assert metrics.plcc(pred, mos) == pytest.approx(-1.0)


def test_results_are_python_floats():
  corr = metrics.correlations(PRED, MOS)
  assert set(corr) == {"srcc", "krcc", "plcc", "rmse", "plcc_fitted",
                       "rmse_fitted", "n"}
  assert corr["n"] == 5 and type(corr["n"]) is int
  for key in ("srcc", "krcc", "plcc", "rmse", "plcc_fitted", "rmse_fitted"):
    assert type(corr[key]) is float, key
  for fn in (metrics.srcc, metrics.krcc, metrics.plcc, metrics.rmse):
    assert type(fn(np.array(PRED), np.array(MOS))) is float


def test_correlations_match_the_single_metrics():
  corr = metrics.correlations(PRED, MOS)
  assert corr["srcc"] == pytest.approx(0.8)
  assert corr["krcc"] == pytest.approx(0.6)
  assert corr["plcc"] == pytest.approx(0.8)
  assert corr["rmse"] == pytest.approx(math.sqrt(0.8))
  _, fitted = metrics.fit_logistic(PRED, MOS)
  assert corr["plcc_fitted"] == pytest.approx(_hand_pearson(fitted, MOS))
  rmse_fitted = math.sqrt(np.mean((np.asarray(fitted) - MOS) ** 2))
  assert corr["rmse_fitted"] == pytest.approx(rmse_fitted)


def test_logistic_4p_form():
  b1, b2, b3, b4 = 5.0, 1.0, 2.0, 0.5
  # Midpoint, the limits, and one value by hand.
  assert metrics.logistic_4p(b3, b1, b2, b3, b4) == pytest.approx(3.0)
  assert metrics.logistic_4p(1e6, b1, b2, b3, b4) == pytest.approx(b1)
  assert metrics.logistic_4p(-1e6, b1, b2, b3, b4) == pytest.approx(b2)
  assert metrics.logistic_4p(3.0, b1, b2, b3, b4) == pytest.approx(
      4.0 / (1.0 + math.exp(-2.0)) + 1.0)
  # Only |beta4| counts.
  x = np.linspace(-3, 3, 7)
  np.testing.assert_allclose(metrics.logistic_4p(x, b1, b2, b3, -b4),
                             metrics.logistic_4p(x, b1, b2, b3, b4))


@pytest.mark.parametrize("scale,shift", [
    (1.0, 0.0), (1e-3, 0.0), (1e3, 0.0), (1e-3, 1e3), (1e3, -5e5), (1.0, 70.0)])
def test_fit_recovers_known_logistic_at_any_scale(scale, shift):
  x, mos = _logistic_data()
  params, fitted = metrics.fit_logistic(x * scale + shift, mos)
  b1, b2, b3, b4 = TRUE_PARAMS
  np.testing.assert_allclose(params[:2], [b1, b2], rtol=1e-3)
  assert params[2] == pytest.approx(b3 * scale + shift, rel=1e-6, abs=2e-3 * scale)
  assert params[3] == pytest.approx(b4 * scale, rel=1e-3)
  np.testing.assert_allclose(fitted, metrics.logistic_4p(x, *TRUE_PARAMS), atol=1e-3)
  corr = metrics.correlations(x * scale + shift, mos)
  assert corr["plcc_fitted"] > 0.99999
  assert corr["rmse_fitted"] < 1e-3


def test_fit_of_a_decreasing_relation():
  x, mos = _logistic_data()
  params, _ = metrics.fit_logistic(-x, mos)
  # Mirrored: beta1 and beta2 swap, the midpoint changes sign.
  b1, b2, b3, b4 = TRUE_PARAMS
  np.testing.assert_allclose(params, [b2, b1, -b3, b4], rtol=1e-3, atol=1e-3)
  corr = metrics.correlations(-x, mos)
  assert corr["srcc"] < -0.99 and corr["plcc_fitted"] > 0.99999


def test_fitted_beats_raw_for_monotone_nonlinear_relation():
  x, mos = _logistic_data(n=120, noise=0.05, seed=3)
  corr = metrics.correlations(x, mos)
  assert corr["plcc_fitted"] >= corr["plcc"] + 0.01
  assert corr["plcc_fitted"] > 0.99
  # The raw RMSE compares scales that differ; the fitted one is the noise.
  assert corr["rmse_fitted"] == pytest.approx(0.05, rel=0.3)


def test_apply_fit_evaluates_both_kinds():
  x, mos = _logistic_data()
  params, fitted = metrics.fit_logistic(x, mos)
  np.testing.assert_allclose(metrics.apply_fit(params, x), fitted)
  np.testing.assert_allclose(metrics.apply_fit([2.0, 1.0], [0.0, 3.0]), [1.0, 7.0])
  with pytest.raises(MetricError, match="4 .* or 2"):
    metrics.apply_fit([1.0, 2.0, 3.0], x)


def _assert_linear_fallback(pred, mos):
  """``fit_logistic`` warns and returns the least-squares line."""
  with pytest.warns(metrics.FitWarning, match="linear fit"):
    params, fitted = metrics.fit_logistic(pred, mos)
  slope, intercept = np.polyfit(pred, mos, 1)
  np.testing.assert_allclose(params, [slope, intercept], rtol=1e-9)
  np.testing.assert_allclose(fitted, slope * np.asarray(pred) + intercept, rtol=1e-9)


def test_falls_back_to_linear_when_curve_fit_fails(monkeypatch):
  def fail(*args, **kwargs):
    raise RuntimeError("Optimal parameters not found")

  monkeypatch.setattr(metrics.optimize, "curve_fit", fail)
  x, mos = _logistic_data(noise=0.05)
  _assert_linear_fallback(x, mos)
  with pytest.warns(metrics.FitWarning):
    corr = metrics.correlations(x, mos)
  # A linear map keeps |PLCC|.
  assert corr["plcc_fitted"] == pytest.approx(abs(corr["plcc"]), abs=1e-12)


def test_falls_back_to_linear_when_logistic_is_worse_than_a_line(monkeypatch):
  def flat(f, x, y, p0, **kwargs):
    return np.array([0.0, 0.0, 0.0, 1.0]), None  # "converged" to a constant

  monkeypatch.setattr(metrics.optimize, "curve_fit", flat)
  x, mos = _logistic_data(noise=0.05)
  with pytest.warns(metrics.FitWarning, match="worse fit than a straight line"):
    metrics.fit_logistic(x, mos)
  _assert_linear_fallback(x, mos)


def test_falls_back_to_linear_when_optimum_is_at_infinity():
  # A noiseless exponential is the logistic's left tail: no finite optimum.
  x = np.linspace(-2.0, 2.0, 30)
  _assert_linear_fallback(x, np.exp(x))


def test_no_warning_for_a_converging_fit():
  x, mos = _logistic_data()
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    metrics.correlations(x, mos)


_BAD_INPUTS = [
    ([1, 2, 3], [1, 2, 3, 4], "differ in length: 3 vs 4"),
    ([1, 2], [2, 1], "at least 3 scores"),
    ([], [], "at least 3 scores"),
    ([1, np.nan, 3, 4], [1, 2, 3, 4], "pred has 1 NaN or infinite"),
    ([1, 2, 3, 4], [1, 2, np.inf, 4], "mos has 1 NaN or infinite"),
    ([2, 2, 2, 2], [1, 2, 3, 4], "pred is constant"),
    ([1, 2, 3, 4], [3, 3, 3, 3], "mos is constant"),
    ([[1, 2], [3, 4]], [[1, 2], [3, 4]], r"pred must be 1-D, got shape \(2, 2\)"),
    ([1, 2, 3], np.ones((3, 1)), r"mos must be 1-D, got shape \(3, 1\)"),
    (["a", "b", "c"], [1, 2, 3], "pred is not an array of numbers"),
]
_FUNCTIONS = [metrics.srcc, metrics.krcc, metrics.plcc, metrics.rmse,
              metrics.fit_logistic, metrics.correlations]


@pytest.mark.parametrize("pred,mos,message", _BAD_INPUTS)
def test_bad_inputs_raise_metric_error(pred, mos, message):
  for fn in _FUNCTIONS:
    with pytest.raises(MetricError, match=message):
      fn(pred, mos)


def test_metric_error_is_a_value_error():
  with pytest.raises(ValueError):
    metrics.srcc([1, 2], [1, 2])
