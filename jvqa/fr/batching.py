"""Fixed-size batches over frames, so that a metric compiles once per frame size.

A jitted function of the whole (N, H, W) video would be compiled again for
every frame count N (ST-RRED's graph takes 10-20 s to compile on a CPU).
``map_batches`` instead runs one jitted, vmapped function on batches of a
fixed size, repeating the last item to fill the final batch and dropping the
extra outputs.
"""

from collections.abc import Callable

import jax
import numpy as np


def map_batches(fn: Callable, arrays, batch_size: int):
  """Applies ``fn`` to consecutive fixed-size batches and concatenates the results.

  Args:
    fn: a (jitted) function of batches ``(batch_size, ...)``, one per array,
      returning an array or a tuple of arrays with a leading batch axis.
    arrays: a sequence of arrays with the same leading length N >= 1.
    batch_size: items per call (also when N is smaller: the shape, and so
      the compiled program, does not depend on N).

  Returns:
    ``fn``'s outputs for all N items, as NumPy arrays (a tuple if ``fn``
    returns a tuple).
  """
  arrays = [np.asarray(a) for a in arrays]
  n = arrays[0].shape[0]
  if n == 0 or any(a.shape[0] != n for a in arrays):
    raise ValueError(f"need arrays of one non-zero length, got {[a.shape for a in arrays]}")
  size = max(1, batch_size)
  pieces = []
  for start in range(0, n, size):
    take = np.minimum(np.arange(start, start + size), n - 1)
    out = fn(*(a[take] for a in arrays))
    keep = min(size, n - start)
    pieces.append(jax.tree.map(lambda x, k=keep: np.asarray(x)[:k], out))
  return jax.tree.map(lambda *xs: np.concatenate(xs), *pieces)
