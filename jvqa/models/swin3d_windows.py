"""Static window geometry of Video Swin attention: numpy constants per shape.

Everything here depends only on static sizes, so the model computes it once
per shape while tracing (``functools.lru_cache``) and never on device. The
rules are those of FAST-VQA's ``SwinTransformer3D`` as SSL-VQA ships it
(``STVQRL/swin_backbone.py``):

* Window clamping (``clamp_window``): a dimension of the token grid that is
  ≤ the window becomes the window, and its shift becomes 0.
* Padding: the grid is zero-padded at the end to a multiple of the window.
* Shift mask (``shift_regions``/``shift_mask``): after the cyclic shift by
  −shift, two tokens of one window attend freely only if they lie in the same
  region of the padded grid, cut at ``P − window`` and ``P − shift`` along each
  shifted dimension; other pairs get −100.
* Relative position index (``relative_position_index``) of the full window;
  the attention reads its first ``N × N`` entries even when a clamped window
  has ``N`` tokens (the original's ``relative_position_index[:N, :N]``).
* Fragment coordinates (``fragment_coords``/``fragment_gate``): a
  ``(1, window_h, window_w)`` grid of fragment numbers is nearest-resized (as
  ``torch.nn.functional.interpolate`` does) to the padded grid and rolled with
  the tokens; the gate of a token pair is the L1 distance of their fragment
  coordinates. It is 0 inside a fragment and, as coded, not binary: up to
  2/4/6 for pairs the shift mask keeps at stages 1/2/3 of a 32×224×224 clip
  and up to 12 for the cyclic wrap-around pairs it suppresses.

Per-token constants (``(nW, N)`` regions, ``(nW, N, 2)`` fragment coordinates)
are what the model embeds; ``pairwise_mask`` and ``pairwise_l1`` expand them to
``(nW, N, N)`` with numpy or ``jax.numpy`` alike, so the numpy ``shift_mask``
and ``fragment_gate`` the tests check are the model's own expansions.
"""

from collections.abc import Sequence
import functools
import math

import numpy as np

Size3 = tuple[int, int, int]
# Logit added to pairs that the cyclic shift brought together.
MASK_VALUE = -100.0


def clamp_window(grid: Sequence[int], window: Sequence[int],
                 shift: Sequence[int]) -> tuple[Size3, Size3]:
  """(window, shift) for a ``(D, H, W)`` token grid: a dim ≤ window clamps, shift 0."""
  use_window, use_shift = list(window), list(shift)
  for i, size in enumerate(grid):
    if size <= window[i]:
      use_window[i] = size
      use_shift[i] = 0
  return tuple(use_window), tuple(use_shift)


def padded_grid(grid: Sequence[int], window: Sequence[int]) -> Size3:
  """The grid rounded up to whole windows."""
  return tuple(math.ceil(g / w) * w for g, w in zip(grid, window))


def _readonly(a: np.ndarray) -> np.ndarray:
  a.setflags(write=False)
  return a


def partition(grid: np.ndarray, window: Sequence[int]) -> np.ndarray:
  """``(D, H, W, ...)`` → ``(nW, N, ...)``, windows in (d, h, w) order, tokens raster."""
  d, h, w = grid.shape[:3]
  wd, wh, ww = window
  rest = grid.shape[3:]
  x = grid.reshape(d // wd, wd, h // wh, wh, w // ww, ww, *rest)
  x = x.transpose(0, 2, 4, 1, 3, 5, *range(6, 6 + len(rest)))
  return x.reshape(-1, wd * wh * ww, *rest)


@functools.lru_cache(maxsize=None)
def relative_position_index(window: Size3) -> np.ndarray:
  """``(N, N)`` int32 index into the ``(2Wd−1)(2Wh−1)(2Ww−1)`` bias table.

  Entry ``[i, j]`` encodes ``coords_i − coords_j`` (tokens in raster order).
  """
  coords = np.stack(np.meshgrid(*[np.arange(n) for n in window], indexing="ij"))
  coords = coords.reshape(3, -1)
  rel = coords[:, :, None] - coords[:, None, :] + np.array(window)[:, None, None] - 1
  sizes = [2 * n - 1 for n in window]
  index = rel[0] * sizes[1] * sizes[2] + rel[1] * sizes[2] + rel[2]
  return _readonly(index.astype(np.int32))


def _dim_regions(size: int, window: int, shift: int) -> np.ndarray:
  """Region of each position along one dim: 0, 1 or 2 (cut at P−window, P−shift)."""
  region = np.zeros(size, np.int32)
  if shift > 0:
    region[size - window:] = 1
    region[size - shift:] = 2
  return region


@functools.lru_cache(maxsize=None)
def shift_regions(padded: Size3, window: Size3, shift: Size3) -> np.ndarray:
  """``(nW, N)`` int32 region label of each token after the cyclic shift.

  Labels are given on the unshifted padded grid (the original's ``img_mask``),
  which the shifted windows then read directly.
  """
  r = [_dim_regions(p, w, s) for p, w, s in zip(padded, window, shift)]
  labels = r[0][:, None, None] * 9 + r[1][None, :, None] * 3 + r[2][None, None, :]
  return _readonly(partition(labels, window))


def pairwise_mask(regions, xp=np):
  """``(nW, N)`` region labels → ``(nW, N, N)`` float32 logits 0 / −100.

  Written as float arithmetic (−100 · min(|Δlabel|, 1), exact for integer labels)
  rather than compare-and-select, so that the model's XLA CPU kernel fuses it.
  """
  r = xp.asarray(regions, xp.float32)
  return xp.float32(MASK_VALUE) * xp.minimum(xp.abs(r[:, :, None] - r[:, None, :]), xp.float32(1))


def shift_mask(padded: Size3, window: Size3, shift: Size3) -> np.ndarray:
  """``(nW, N, N)`` additive attention mask of a shifted block (0 or −100)."""
  return pairwise_mask(shift_regions(padded, window, shift))


def torch_nearest_index(out_size: int, in_size: int) -> np.ndarray:
  """Source index of each output position of PyTorch's ``mode="nearest"`` resize.

  ``min(floor(i · float32(in/out)), in − 1)`` in float32, as ATen computes it.
  """
  scale = np.float32(in_size) / np.float32(out_size)
  src = np.floor(np.arange(out_size, dtype=np.float32) * scale).astype(np.int64)
  return np.minimum(src, in_size - 1)


@functools.lru_cache(maxsize=None)
def fragment_coords(padded: Size3, window: Size3, shift: Size3) -> np.ndarray:
  """``(nW, N, 2)`` int32 (h, w) fragment of each token, windows after the shift.

  The fragment grid has ``window_h × window_w`` fragments (one along T, so T
  adds nothing to the gate) nearest-resized onto the padded grid.
  """
  _, hp, wp = padded
  fh = torch_nearest_index(hp, window[1])
  fw = torch_nearest_index(wp, window[2])
  grid = np.zeros(padded + (2,), np.int32)
  grid[..., 0] = fh[None, :, None]
  grid[..., 1] = fw[None, None, :]
  grid = np.roll(grid, tuple(-s for s in shift), axis=(0, 1, 2))
  return _readonly(partition(grid, window))


def pairwise_l1(coords, xp=np):
  """``(nW, N, K)`` coordinates → ``(nW, N, N)`` float32 L1 distances.

  Computed in float32 (exact for the small integer coordinates here), which the
  model's XLA CPU kernel fuses; integer ops made a pass of their own.
  """
  coords = xp.asarray(coords, xp.float32)
  total = 0
  for k in range(coords.shape[-1]):
    c = coords[..., k]
    total = total + xp.abs(c[:, None, :] - c[:, :, None])
  return total


def fragment_gate(padded: Size3, window: Size3, shift: Size3) -> np.ndarray:
  """``(nW, N, N)`` gate of the fragment bias: ``rpb·gate + fpb·(1 − gate)``."""
  return pairwise_l1(fragment_coords(padded, window, shift))
