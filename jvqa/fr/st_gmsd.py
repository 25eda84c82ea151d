"""ST-GMSD as HEKE's weak-label code computes it (``extract_stgmsd.m``, ``comptue_stgmsd.m``).

A spatio-temporal GMSD (after Xue et al.'s GMSD and the 3-D Prewitt
extension used for video): on the half-resolution luma volume
(``half_resolution``), three 3x3x3 kernels, each a 3x3 plane of 1/9 on the
two other axes with +, 0, - along its own axis (x, y or t), ``convn
'valid'``; magnitude sqrt(gx^2 + gy^2 + gt^2); the GMSD map with c = 255;
score = sample std (N - 1) of each temporal slice of the map.

N frames give N - 2 scores (248 for HEKE's 250): score t covers frames
t, t+1 and t+2. Higher is worse. Computed in float32.
"""

import jax
import jax.numpy as jnp
import numpy as np

from jvqa.fr.gmsd import STABILITY, deviation
from jvqa.fr.half_resolution import half_resolution


def kernels() -> np.ndarray:
  """The (3, 3, 3, 3) x, y and t kernels, each over (t, y, x) axes.

  Each is separable: ``[1, 0, -1]`` along its axis, ``[1, 1, 1] / 3`` along
  the two others, which is how ``gradient_magnitude`` applies them.
  """
  profile = np.array([1.0, 0.0, -1.0])
  ones = np.ones(3) / 3
  kx = np.einsum("t,y,x->tyx", ones, ones, profile)
  ky = np.einsum("t,y,x->tyx", ones, profile, ones)
  kt = np.einsum("t,y,x->tyx", profile, ones, ones)
  return np.stack([kx, ky, kt])


def _mean3(v: jax.Array, axis: int) -> jax.Array:
  """'valid' [1, 1, 1] / 3 along an axis (length - 2)."""
  n = v.shape[axis]
  take = lambda start: jax.lax.slice_in_dim(v, start, n - 2 + start, axis=axis)
  return (take(0) + take(1) + take(2)) / 3


def _diff3(v: jax.Array, axis: int) -> jax.Array:
  """'valid' correlation with [1, 0, -1] along an axis (length - 2)."""
  n = v.shape[axis]
  return (jax.lax.slice_in_dim(v, 0, n - 2, axis=axis)
          - jax.lax.slice_in_dim(v, 2, n, axis=axis))


def gradient_magnitude(volume: jax.Array) -> jax.Array:
  """(T, H, W) -> (T-2, H-2, W-2) spatio-temporal gradient magnitude.

  The ``convn 'valid'`` of the three ``kernels``, applied separably by
  shifted sums (XLA's CPU 3-D convolution of one channel is ~10x slower).
  MATLAB's ``convn`` flips the kernels, which only flips the signs of the
  derivatives; the magnitude is the same.
  """
  t_mean, t_diff = _mean3(volume, 0), _diff3(volume, 0)
  ty_mean = _mean3(t_mean, 1)
  gx = _diff3(ty_mean, 2)
  gy = _mean3(_diff3(t_mean, 1), 2)
  gt = _mean3(_mean3(t_diff, 1), 2)
  return jnp.sqrt(gx * gx + gy * gy + gt * gt)


def st_gmsd(ref, dst) -> np.ndarray:
  """Per-slice ST-GMSD of two full-resolution luma videos.

  The whole volume is filtered at once (cheap at half resolution; it is
  compiled per frame count).

  Args:
    ref: (N, H, W) reference luma in 0-255, N >= 3 (halved here, as HEKE does).
    dst: (N, H, W) distorted luma.

  Returns:
    (N - 2,) float32 NumPy scores, higher is worse; score t covers frames
    t..t+2.
  """
  ref, dst = np.asarray(ref), np.asarray(dst)
  if ref.ndim != 3 or dst.shape != ref.shape or ref.shape[0] < 3:
    raise ValueError(f"need two (N, H, W) luma videos of one shape, N >= 3, got "
                     f"{ref.shape} and {dst.shape}")
  return np.asarray(_st_gmsd(ref, dst))


@jax.jit
def _st_gmsd(ref: jax.Array, dst: jax.Array) -> jax.Array:
  gm_ref = gradient_magnitude(half_resolution(ref))
  gm_dst = gradient_magnitude(half_resolution(dst))
  return jax.vmap(deviation, in_axes=(0, 0, None))(gm_ref, gm_dst, STABILITY)
