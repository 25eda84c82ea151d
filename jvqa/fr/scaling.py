"""HEKE's mapping of FR scores to weak labels: rescale, then soft clamp.

Two separate steps (HEKE ``dataset.py``):

* ``rescale``: a linear map onto about [0.5, 9], oriented so that higher is
  worse, ``0.5 + 8.5 * t`` with t = (x - low) / (high - low), or 1 - t for
  MS-SSIM (higher is better). HEKE's README says the range comes from
  statistics on LIVE-VQA; the constants (``HEKE_RESCALE``) are those of the
  commented-out formulas in ``dataset.py``: MS-SSIM low 0.258, high 1;
  GMSD 0-0.33; ST-GMSD 0-0.36; ST-RRED 0-1000.
* ``soft_clamp``: applied at load time (``suppress()``): below 0.5 and above
  10 the excess is shrunk ten-fold. It matters for ST-RRED above 1000.
"""

import dataclasses

import numpy as np

OUT_LOW = 0.5
OUT_SPAN = 8.5


@dataclasses.dataclass(frozen=True)
class LinearRescale:
  """x -> out_low + out_span * t, t = (x - low) / (high - low) (1 - t if inverted)."""
  low: float
  high: float
  invert: bool = False
  out_low: float = OUT_LOW
  out_span: float = OUT_SPAN

  def __call__(self, x):
    t = (np.asarray(x, np.float64) - self.low) / (self.high - self.low)
    if self.invert:
      t = 1.0 - t
    return self.out_low + self.out_span * t


HEKE_RESCALE = {
    "ms_ssim": LinearRescale(0.258, 1.0, invert=True),
    "gmsd": LinearRescale(0.0, 0.33),
    "st_gmsd": LinearRescale(0.0, 0.36),
    "st_rred": LinearRescale(0.0, 1000.0),
}


def rescale(values, metric: str, table: dict | None = None) -> np.ndarray:
  """Maps a metric's scores to HEKE's label scale (higher is worse).

  Args:
    values: scores (any shape) of ``metric``.
    metric: a key of ``table``.
    table: metric -> callable; default ``HEKE_RESCALE``.

  Returns:
    float64 array of the mapped values.
  """
  table = HEKE_RESCALE if table is None else table
  if metric not in table:
    raise ValueError(f"no rescaling for metric {metric!r}; known: {', '.join(table)}")
  return np.asarray(table[metric](values), np.float64)


def soft_clamp(values, low: float = 0.5, high: float = 10.0,
               slope: float = 0.1) -> np.ndarray:
  """HEKE's ``suppress``: x < low -> low - slope*(low - x); x > high -> high + slope*(x - high)."""
  x = np.asarray(values, np.float64)
  x = np.where(x < low, low - slope * (low - x), x)
  return np.where(x > high, high + slope * (x - high), x)
