"""MS-SSIM as HEKE's weak-label code computes it (``compute_msssim.m``).

Wang, Simoncelli and Bovik, "Multiscale structural similarity for image
quality assessment", Asilomar 2003, in the variant of HEKE's
``func_msssim``:

* SSIM with an 11x11 Gaussian window (sigma 1.5, normalised), ``filter2``
  ``'valid'`` (no padding), K1 = 0.01, K2 = 0.03, L = 255; the per-scale
  SSIM and contrast-structure (cs) values are the means of their maps.
* Between scales: 2x2 box filter with symmetric edges (``imfilter``
  ``'symmetric', 'same'``), then every second pixel from the first.
* Score = prod_{l=1..4} cs_l^{w_l} * ssim_5^{w_5},
  w = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333).

Input is luma (Y of yuv420p) in 0-255 at full resolution; the coarsest of the
5 scales is ceil(H/16) x ceil(W/16), which must be at least 11x11 (H, W >=
161): MATLAB returns NaN for a smaller frame (the mean of an empty map);
``ms_ssim`` raises ValueError. A negative cs raised to a fractional weight is complex in
MATLAB and NaN here. Higher is better.

Written by hand because no library has this variant: ``dm_pix`` (not a jvqa
dependency) has a single-scale SSIM only, and common MS-SSIM ports pad with
zeros or decimate with another phase, which shifts the score.

Computed in float32. The variances are taken on luma shifted by -128 (the
same numbers in exact arithmetic, as variances ignore a shift), which keeps
float32 from cancelling E[x^2] - E[x]^2 for bright pixels.
"""

import jax
import jax.numpy as jnp
import numpy as np

from jvqa.fr import batching, filtering

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
K1, K2, DYNAMIC_RANGE = 0.01, 0.03, 255.0
WINDOW_SIZE, WINDOW_SIGMA = 11, 1.5
# Smallest side whose 5th scale, ceil(side / 16), holds the window.
MIN_SIZE = 16 * (WINDOW_SIZE - 1) + 1
# Shift applied before the second moments (see the module docstring).
_CENTRE = 128.0


def gaussian_taps(size: int = WINDOW_SIZE, sigma: float = WINDOW_SIGMA) -> np.ndarray:
  """1-D factor of MATLAB's ``fspecial('gaussian', size, sigma)`` (sums to 1)."""
  x = np.arange(size) - (size - 1) / 2
  g = np.exp(-x ** 2 / (2 * sigma ** 2))
  return g / g.sum()


def gaussian_window(size: int = WINDOW_SIZE, sigma: float = WINDOW_SIGMA) -> np.ndarray:
  """MATLAB ``fspecial('gaussian', size, sigma)``: a normalised 2-D Gaussian.

  It is separable: the outer product of ``gaussian_taps``, which is how
  ``ssim_and_cs`` applies it.
  """
  taps = gaussian_taps(size, sigma)
  return np.outer(taps, taps)


def ssim_and_cs(ref: jax.Array, dst: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Mean SSIM and mean contrast-structure term of one scale (``func_ssim``).

  Args:
    ref: (H, W) reference luma, 0-255.
    dst: (H, W) distorted luma.

  Returns:
    (mssim, mcs) scalars.
  """
  taps = gaussian_taps()
  c1 = (K1 * DYNAMIC_RANGE) ** 2
  c2 = (K2 * DYNAMIC_RANGE) ** 2
  r, d = ref - _CENTRE, dst - _CENTRE
  # The five filter2(window, ., 'valid') of func_ssim, in one batched call.
  mu1, mu2, rr, dd, rd = filtering.correlate_separable_valid(
      jnp.stack([ref, dst, r * r, d * d, r * d]), taps, taps)
  m1, m2 = mu1 - _CENTRE, mu2 - _CENTRE
  sigma1_sq = rr - m1 * m1
  sigma2_sq = dd - m2 * m2
  sigma12 = rd - m1 * m2
  cs_map = (2 * sigma12 + c2) / (sigma1_sq + sigma2_sq + c2)
  ssim_map = (2 * mu1 * mu2 + c1) / (mu1 * mu1 + mu2 * mu2 + c1) * cs_map
  return jnp.mean(ssim_map), jnp.mean(cs_map)


@jax.jit
def ms_ssim_frame(ref: jax.Array, dst: jax.Array) -> jax.Array:
  """MS-SSIM of one frame pair (``func_msssim``).

  Args:
    ref: (H, W) reference luma in 0-255, H and W >= 161.
    dst: (H, W) distorted luma.

  Returns:
    Scalar float32 score (1 for identical frames).
  """
  ref = jnp.asarray(ref, jnp.float32)
  dst = jnp.asarray(dst, jnp.float32)
  weights = jnp.asarray(WEIGHTS, jnp.float32)
  ssims, css = [], []
  for level in range(len(WEIGHTS)):
    ssim, cs = ssim_and_cs(ref, dst)
    ssims.append(ssim)
    css.append(cs)
    if level + 1 < len(WEIGHTS):
      ref = filtering.box2_decimate_symmetric(ref)
      dst = filtering.box2_decimate_symmetric(dst)
  cs = jnp.stack(css[:-1])
  return jnp.prod(cs ** weights[:-1]) * ssims[-1] ** weights[-1]


_ms_ssim_batch = jax.jit(jax.vmap(ms_ssim_frame))


def ms_ssim(ref, dst, *, batch_size: int = 8) -> np.ndarray:
  """Per-frame MS-SSIM of two luma videos.

  Args:
    ref: (N, H, W) reference luma in 0-255, H and W >= 161.
    dst: (N, H, W) distorted luma.
    batch_size: frames vmapped at once (bounds memory at high resolution).

  Returns:
    (N,) float32 NumPy scores, higher is better.

  Raises:
    ValueError: frames smaller than 161 pixels on a side, whose 5th scale
      is smaller than the window (MATLAB's code returns NaN for them).
  """
  ref, dst = np.asarray(ref), np.asarray(dst)
  if ref.ndim != 3 or dst.shape != ref.shape:
    raise ValueError(f"need two (N, H, W) luma videos of one shape, got {ref.shape} "
                     f"and {dst.shape}")
  if min(ref.shape[1:]) < MIN_SIZE:
    raise ValueError(f"MS-SSIM needs frames of at least {MIN_SIZE}x{MIN_SIZE} (5 scales "
                     f"of an 11x11 'valid' window), got {ref.shape[2]}x{ref.shape[1]}")
  return batching.map_batches(_ms_ssim_batch, (ref, dst), batch_size)
