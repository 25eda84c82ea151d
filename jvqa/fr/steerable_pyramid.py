"""The one steerable-pyramid band that HEKE's ST-RRED uses (``buildSpyr_single.m``).

Simoncelli and Freeman's steerable pyramid with the 6-orientation
``sp5Filters`` (Karasaridis and Simoncelli, "A filter design technique for
steerable pyramid image transforms", ICASSP 1996), as matlabPyrTools
computes it with ``corrDn`` and ``'reflect1'`` edges. HEKE (after SpEED-QA's
optimised ST-RRED) builds only the band it needs:

  lo = corrDn(image, lo0filt)                      # initial lowpass
  3 times: lo = corrDn(lo, lofilt, step 2)         # lowpass + decimate
  band = corrDn(lo, bfilts(:, 4))                  # orientation 4 of 6

which is RRED's ``band = 4`` (the coarsest of 4 scales, the filter that
responds to horizontal structures: it differentiates along the rows). The
band is ceil(ceil(ceil(H/2)/2)/2) x (same for W).

Written by hand: no JAX library ships matlabPyrTools' filters and edge
handling (``pyrtools`` is NumPy and not a jvqa dependency). The filter taps
are Simoncelli's published ``sp5Filters`` values.
"""

import jax
import numpy as np

from jvqa.fr import filtering

# Initial lowpass lo0filt (5x5).
_LO0 = np.array([
    [0.00341614, -0.01551246, -0.03848215, -0.01551246, 0.00341614],
    [-0.01551246, 0.05586982, 0.15925570, 0.05586982, -0.01551246],
    [-0.03848215, 0.15925570, 0.40304148, 0.15925570, -0.03848215],
    [-0.01551246, 0.05586982, 0.15925570, 0.05586982, -0.01551246],
    [0.00341614, -0.01551246, -0.03848215, -0.01551246, 0.00341614],
])

# Lowpass lofilt (9x9), stored by the toolbox as 2 * these taps.
_LO_QUADRANT = [  # rows 1-5 of the symmetric filter, columns 1-5.
    [0.00085404, -0.00244917, -0.00387812, -0.00944432, -0.00962054],
    [-0.00244917, -0.00523281, -0.00661117, 0.00410600, 0.01002988],
    [-0.00387812, -0.00661117, 0.01396746, 0.03277038, 0.03981393],
    [-0.00944432, 0.00410600, 0.03277038, 0.06426333, 0.08169618],
    [-0.00962054, 0.01002988, 0.03981393, 0.08169618, 0.10096540],
]

# Band filter of orientation 4 (7x7); its columns, left to right 1-4 (5-7
# mirror 3-1). Each column is odd about the centre row.
_BAND_COLUMNS = [
    [-0.00277643, 0.00986904, 0.01021852, 0.0, -0.01021852, -0.00986904, 0.00277643],
    [-0.00496194, 0.00893064, 0.03075356, 0.0, -0.03075356, -0.00893064, 0.00496194],
    [-0.01026699, -0.01189859, 0.08226445, 0.0, -0.08226445, 0.01189859, 0.01026699],
    [-0.01455399, -0.02755155, 0.11732297, 0.0, -0.11732297, 0.02755155, 0.01455399],
]

# HEKE's settings: 5 scales, 6 orientations, band 4 -> 3 decimations.
NUM_DECIMATIONS = 3


def _mirror(half: np.ndarray, axis: int) -> np.ndarray:
  """Completes a filter from its first ceil(n/2) rows or columns."""
  tail = np.flip(np.take(half, range(half.shape[axis] - 1), axis=axis), axis=axis)
  return np.concatenate([half, tail], axis=axis)


def sp5_lo0() -> np.ndarray:
  """``lo0filt`` of ``sp5Filters`` (5x5)."""
  return _LO0.copy()


def sp5_lo() -> np.ndarray:
  """``lofilt`` of ``sp5Filters`` (9x9)."""
  return 2 * _mirror(_mirror(np.array(_LO_QUADRANT), 0), 1)


def sp5_band4() -> np.ndarray:
  """``reshape(bfilts(:, 4), 7, 7)`` of ``sp5Filters``: rows x columns."""
  return _mirror(np.array(_BAND_COLUMNS).T, 1)


@jax.jit
def coarse_band(image: jax.Array) -> jax.Array:
  """The sp5 orientation-4 band at the 4th scale of one (H, W) image.

  Computed in the dtype of ``image`` (ST-RRED passes float64).
  """
  lo = filtering.corr_dn_reflect1(image, sp5_lo0())
  for _ in range(NUM_DECIMATIONS):
    lo = filtering.corr_dn_reflect1(lo, sp5_lo(), step=2)
  return filtering.corr_dn_reflect1(lo, sp5_band4())
