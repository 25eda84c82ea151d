"""2-D filtering with MATLAB's boundary conventions, as sums of shifted slices.

The HEKE weak-label code filters with MATLAB's ``filter2``/``conv2``
(``'valid'``), ``imfilter`` (``'symmetric'``, ``'same'``) and matlabPyrTools'
``corrDn`` (``'reflect1'``). Each is a plain cross-correlation after a fixed
padding. They are written here as a weighted sum of shifted (and strided)
slices, one per kernel tap: ``jax.scipy.signal`` has no strides or reflected
edges, and XLA's CPU convolution of single-channel images is 50-60x slower
than these sums for the small kernels used (11x11 Gaussian, 9x9 pyramid
filters).

All functions filter the last two axes of ``(..., H, W)`` arrays, in the
array's dtype.
"""

import jax
import jax.numpy as jnp
import numpy as np


def _shifted(image: jax.Array, dy: int, dx: int, out_h: int, out_w: int,
             step: int) -> jax.Array:
  """``image[..., dy : dy + step*out_h : step, dx : dx + step*out_w : step]``."""
  lead = image.ndim - 2
  start = (0,) * lead + (dy, dx)
  limit = image.shape[:lead] + (dy + step * (out_h - 1) + 1, dx + step * (out_w - 1) + 1)
  strides = (1,) * lead + (step, step)
  return jax.lax.slice(image, start, limit, strides)


def correlate_valid(image: jax.Array, kernel, step: int = 1) -> jax.Array:
  """'valid' cross-correlation with a 2-D kernel, every ``step``-th output kept.

  ``step = 1`` is MATLAB's ``filter2(kernel, image, 'valid')``; MATLAB's
  ``conv2(image, kernel, 'valid')`` is this with the kernel flipped (see
  ``convolve_valid``). Zero taps are skipped.

  Args:
    image: (..., H, W) array.
    kernel: (k, l) NumPy array (taps are constants), no larger than the image.
    step: output stride in both directions.

  Returns:
    (..., ceil((H - k + 1) / step), ceil((W - l + 1) / step)).
  """
  kernel = np.asarray(kernel, np.float64)
  k, l = kernel.shape
  h, w = image.shape[-2:]
  if h < k or w < l:
    raise ValueError(f"image {h}x{w} is smaller than the {k}x{l} kernel")
  out_h, out_w = -(-(h - k + 1) // step), -(-(w - l + 1) // step)
  total = None
  for dy in range(k):
    for dx in range(l):
      if kernel[dy, dx] == 0:
        continue
      term = _shifted(image, dy, dx, out_h, out_w, step) * image.dtype.type(kernel[dy, dx])
      total = term if total is None else total + term
  return total


def correlate_separable_valid(image: jax.Array, column, row) -> jax.Array:
  """'valid' correlation with the kernel ``outer(column, row)``, in two 1-D passes.

  The numbers of ``correlate_valid`` with the 2-D kernel, up to float
  rounding, with k + l instead of k * l multiply-adds per pixel.
  """
  column = np.asarray(column, np.float64).reshape(-1, 1)
  row = np.asarray(row, np.float64).reshape(1, -1)
  return correlate_valid(correlate_valid(image, column), row)


def convolve_valid(image: jax.Array, kernel) -> jax.Array:
  """MATLAB ``conv2(image, kernel, 'valid')``: correlation with the flipped kernel."""
  return correlate_valid(image, np.asarray(kernel)[::-1, ::-1])


def corr_dn_reflect1(image: jax.Array, kernel, step: int = 1) -> jax.Array:
  """matlabPyrTools ``corrDn(image, kernel, 'reflect1', [step step], [1 1])``.

  Correlation with an odd-sized kernel whose origin is its centre, edges
  reflected about the border pixels (the border pixel not repeated, numpy's
  ``'reflect'`` mode), then every ``step``-th output from the first, giving
  ``ceil(H / step) x ceil(W / step)``. For (H, W) images larger than the
  kernel's half-size, which is where the MEX and this agree.
  """
  kernel = np.asarray(kernel)
  if kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
    raise ValueError(f"corrDn kernels here must be odd-sized, got {kernel.shape}")
  pad_h, pad_w = kernel.shape[0] // 2, kernel.shape[1] // 2
  padded = jnp.pad(image, ((pad_h, pad_h), (pad_w, pad_w)), mode="reflect")
  return correlate_valid(padded, kernel, step)


def box2_decimate_symmetric(image: jax.Array) -> jax.Array:
  """``imfilter(image, ones(2)/4, 'symmetric', 'same')`` then ``(1:2:end, 1:2:end)``.

  ``imfilter`` anchors a 2x2 kernel at its top-left tap, so output (i, j) is
  the mean of pixels (i..i+1, j..j+1), the last row/column mirrored past the
  border; keeping every second output from the first gives the means of the
  2x2 blocks, ``ceil(H/2) x ceil(W/2)``.
  """
  pad = ((0, 0),) * (image.ndim - 2) + ((0, image.shape[-2] % 2), (0, image.shape[-1] % 2))
  padded = jnp.pad(image, pad, mode="symmetric")
  return correlate_valid(padded, np.full((2, 2), 0.25), 2)


def box2_decimate_valid(image: jax.Array) -> jax.Array:
  """``conv2(image, ones(2)/4, 'valid')`` then ``(1:2:end, 1:2:end)``.

  HEKE's ``load_frames.m`` half-resolution luma: means of the 2x2 blocks
  starting at even (0-based) positions; a trailing odd row/column is dropped,
  giving ``floor(H/2) x floor(W/2)``.
  """
  return correlate_valid(image, np.full((2, 2), 0.25), 2)
