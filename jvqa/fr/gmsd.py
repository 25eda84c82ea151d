"""GMSD as HEKE's weak-label code computes it (``extract_gmsd.m``, ``compute_gmsd.m``).

Xue, Zhang, Mou and Bovik, "Gradient magnitude similarity deviation", IEEE
TIP 2014, in HEKE's variant:

* on half-resolution luma (``half_resolution``: 2x2 block means, as HEKE's
  ``load_frames.m`` makes them; the GMSD authors' code also halves first);
* Prewitt derivatives ``[1 0 -1; 1 0 -1; 1 0 -1] / 3`` and its transpose,
  ``conv2 'valid'``; gradient magnitude m = sqrt(gx^2 + gy^2);
* GMS map (2 m_r m_d + c) / (m_r^2 + m_d^2 + c) with **c = 255** (the GMSD
  paper uses 170 on 0-255 images);
* score = standard deviation of the map with N - 1 (MATLAB ``std2``).

One score per frame, higher is worse. Computed in float32.
"""

import jax
import jax.numpy as jnp
import numpy as np

from jvqa.fr import batching, filtering
from jvqa.fr.half_resolution import half_resolution

PREWITT_X = np.array([[1, 0, -1]] * 3, np.float64) / 3
PREWITT_Y = PREWITT_X.T
STABILITY = 255.0


def gradient_magnitude(frame: jax.Array) -> jax.Array:
  """(H, W) -> (H-2, W-2) Prewitt gradient magnitude (``extract_gmsd``)."""
  gx = filtering.convolve_valid(frame, PREWITT_X)
  gy = filtering.convolve_valid(frame, PREWITT_Y)
  return jnp.sqrt(gx * gx + gy * gy)


def deviation(gm_ref: jax.Array, gm_dst: jax.Array,
              stability: float = STABILITY) -> jax.Array:
  """Sample std (N - 1) of the GMS map of two gradient magnitude maps."""
  gms = (2 * gm_ref * gm_dst + stability) / (gm_ref * gm_ref + gm_dst * gm_dst + stability)
  return jnp.std(gms, ddof=1)


@jax.jit
def gmsd_frame(ref_half: jax.Array, dst_half: jax.Array) -> jax.Array:
  """GMSD of one pair of half-resolution luma frames (H, W), float32 scalar."""
  ref_half = jnp.asarray(ref_half, jnp.float32)
  dst_half = jnp.asarray(dst_half, jnp.float32)
  return deviation(gradient_magnitude(ref_half), gradient_magnitude(dst_half))


@jax.jit
def _gmsd_batch(ref: jax.Array, dst: jax.Array) -> jax.Array:
  return jax.vmap(gmsd_frame)(half_resolution(ref), half_resolution(dst))


def gmsd(ref, dst, *, batch_size: int = 16) -> np.ndarray:
  """Per-frame GMSD of two full-resolution luma videos.

  Args:
    ref: (N, H, W) reference luma in 0-255 (halved here, as HEKE does).
    dst: (N, H, W) distorted luma.
    batch_size: frames vmapped at once.

  Returns:
    (N,) float32 NumPy scores, higher is worse.
  """
  return batching.map_batches(_gmsd_batch, (ref, dst), batch_size)
