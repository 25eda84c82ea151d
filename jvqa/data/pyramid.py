"""OpenCV's Gaussian pyramid steps (``cv2.pyrDown``/``cv2.pyrUp``) in numpy.

Both use the 5-tap kernel ``[1, 4, 6, 4, 1] / 16`` in each direction and
OpenCV's default border, ``BORDER_REFLECT_101``; integer images are summed
exactly and rounded once, half up, as OpenCV rounds ``uint8``:

* ``pyr_down`` filters the image, reflecting at its borders, and keeps every
  second row and column: the output is ``((h + 1) // 2, (w + 1) // 2)``;
  ``out = (sum + 128) >> 8``.
* ``pyr_up`` places the samples on the even positions of a zero grid of
  twice the size and filters it with the kernel times 4, reflecting at the
  borders of that grid (so the left and top edges reflect the image and the
  right and bottom edges repeat it, as OpenCV does); the output is
  ``(2h, 2w)``; ``out = (sum + 32) >> 6``.

``pyramid_blur`` is SSL-VQA's "resize" distortion: ``levels`` steps down,
as many up, cropped back to the input size (OpenCV's output grows when a side
is not a multiple of ``2 ** levels``).

Arrays are ``(..., H, W, C)`` (or ``(..., H, W)`` with ``channels_last=False``)
so a batch of frames is filtered in one call.
"""

import numpy as np


def reflect_101(index: np.ndarray, size: int) -> np.ndarray:
  """Maps indices outside ``[0, size)`` back inside, ``BORDER_REFLECT_101`` style.

  ``-1 -> 1``, ``size -> size - 2`` (the edge sample is not repeated); a size
  of 1 maps every index to 0.
  """
  index = np.asarray(index)
  if size == 1:
    return np.zeros_like(index)
  period = 2 * size - 2
  index = np.abs(index) % period
  return np.where(index >= size, period - index, index)


def _along(x: np.ndarray, axis: int, start: int, stop: int, step: int = 1) -> np.ndarray:
  """``x[start:stop:step]`` along ``axis`` (a view)."""
  index = [slice(None)] * x.ndim
  index[axis] = slice(start, stop, step)
  return x[tuple(index)]


def _down_axis(x: np.ndarray, axis: int) -> np.ndarray:
  """``pyr_down`` along one axis, unnormalised (weights sum to 16)."""
  size = x.shape[axis]
  out = (size + 1) // 2
  padded = np.take(x, reflect_101(np.arange(-2, 2 * out + 1), size), axis=axis)
  tap = [_along(padded, axis, j, j + 2 * out - 1, 2) for j in range(5)]
  return tap[0] + tap[4] + 4 * (tap[1] + tap[3]) + 6 * tap[2]


def _up_axis(x: np.ndarray, axis: int) -> np.ndarray:
  """``pyr_up`` along one axis, unnormalised (weights sum to 8 per output).

  Output ``2m`` is ``s[m-1] + 6 s[m] + s[m+1]`` and ``2m+1`` is
  ``4 (s[m] + s[m+1])``, where the samples beyond the ends are those the
  reflection of the zero-interleaved grid of twice the size reaches.
  """
  size = x.shape[axis]
  beyond = reflect_101(np.array([-2, 2 * size]), 2 * size) // 2
  index = np.concatenate([beyond[:1], np.arange(size), beyond[1:]])
  padded = np.take(x, index, axis=axis)
  left, centre, right = (_along(padded, axis, j, j + size) for j in range(3))
  even = left + 6 * centre + right
  odd = 4 * (centre + right)
  shape = list(x.shape)
  shape[axis] *= 2
  return np.stack([even, odd], axis=axis + 1).reshape(shape)


def _round(total: np.ndarray, shift: int, dtype: np.dtype) -> np.ndarray:
  """The weighted sum divided by ``2 ** shift``: rounded half up for integers."""
  if np.issubdtype(dtype, np.integer):
    info = np.iinfo(dtype)
    out = (total + (1 << (shift - 1))) >> shift
    return np.clip(out, info.min, info.max).astype(dtype)
  return (total / float(1 << shift)).astype(dtype)


def _working_copy(image: np.ndarray) -> np.ndarray:
  """``image`` in the type its sums are exact in.

  ``uint8`` sums reach ``256 * 255``, which fits ``uint16``; other integers
  are summed in int64, floats in float64.
  """
  if image.dtype == np.uint8:
    return image.astype(np.uint16)
  if np.issubdtype(image.dtype, np.integer):
    return image.astype(np.int64)
  return image.astype(np.float64)


def _axes(ndim: int, channels_last: bool) -> tuple[int, int]:
  """The (height, width) axes of an image array."""
  need = 3 if channels_last else 2
  if ndim < need:
    raise ValueError(f"expected an image of at least {need} dimensions, got {ndim}")
  return (-3, -2) if channels_last else (-2, -1)


def pyr_down(image: np.ndarray, *, channels_last: bool = True) -> np.ndarray:
  """``cv2.pyrDown``: Gaussian blur, then every second row and column.

  Args:
    image: ``(..., H, W, C)`` (or ``(..., H, W)``) integer or float array;
      ``uint8`` is rounded as OpenCV rounds it.
    channels_last: whether the last axis holds channels.

  Returns:
    ``(..., (H + 1) // 2, (W + 1) // 2[, C])`` of the input's dtype.
  """
  image = np.asarray(image)
  h_axis, w_axis = _axes(image.ndim, channels_last)
  work = _working_copy(image)
  total = _down_axis(_down_axis(work, image.ndim + w_axis), image.ndim + h_axis)
  return _round(total, 8, image.dtype)


def pyr_up(image: np.ndarray, *, channels_last: bool = True) -> np.ndarray:
  """``cv2.pyrUp``: upsample by 2 with the Gaussian kernel (times 4).

  Args:
    image: ``(..., H, W, C)`` (or ``(..., H, W)``) integer or float array.
    channels_last: whether the last axis holds channels.

  Returns:
    ``(..., 2 H, 2 W[, C])`` of the input's dtype.
  """
  image = np.asarray(image)
  h_axis, w_axis = _axes(image.ndim, channels_last)
  work = _working_copy(image)
  total = _up_axis(_up_axis(work, image.ndim + w_axis), image.ndim + h_axis)
  return _round(total, 6, image.dtype)


def pyramid_blur(image: np.ndarray, levels: int, *,
                 channels_last: bool = True) -> np.ndarray:
  """``levels`` × ``pyr_down`` then ``levels`` × ``pyr_up``, cropped to the input size.

  A blur by a factor of ``2 ** levels``; SSL-VQA's distortions 7, 8 and 9 use
  2, 3 and 4 levels on RGB frames.
  """
  image = np.asarray(image)
  if levels < 0:
    raise ValueError(f"levels must be >= 0, got {levels}")
  h_axis, w_axis = _axes(image.ndim, channels_last)
  height, width = image.shape[h_axis], image.shape[w_axis]
  out = image
  for _ in range(levels):
    out = pyr_down(out, channels_last=channels_last)
  for _ in range(levels):
    out = pyr_up(out, channels_last=channels_last)
  crop = [slice(None)] * out.ndim
  crop[h_axis], crop[w_axis] = slice(0, height), slice(0, width)
  return out[tuple(crop)]
