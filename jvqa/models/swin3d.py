"""Video Swin-T with FAST-VQA's fragment (gated relative position) bias, channel-last.

The backbone of FAST-VQA and of SSL-VQA's ST-VQRL and both SSL models:
``SwinTransformer3D`` of ``STVQRL/swin_backbone.py`` with its defaults
(reference ``sslvqa.md`` §2.1). A clip ``(B, T, H, W, 3)`` (ImageNet-normalised)
goes through

* patch embedding: a (2,4,4)/(2,4,4) Conv3d 3→96 (after zero-padding T, H, W
  to multiples of the patch) and LayerNorm;
* four stages of Swin blocks (depths 2/2/6/2, widths 96/192/384/768, heads
  3/6/12/24); blocks alternate plain and shifted (window//2) windows of
  (8,7,7), with the clamping, padding, −100 shift mask and first-``N×N``
  relative position index of ``swin3d_windows``;
* spatial-only patch merging after stages 1–3 (neighbours h0w0, h1w0, h0w1,
  h1w1 → LayerNorm(4C) → Linear(4C→2C, no bias));
* a final LayerNorm. There is no pooling: ``__call__`` returns the token map
  ``(B, T/2, H/32, W/32, 768)``.

Stages 1–3 carry a second table, ``fragment_position_bias_table`` (zeros at
init); their attention bias is ``rpb·gate + fpb·(1 − gate)`` with the
non-binary fragment gate of ``swin3d_windows.fragment_gate``. The window never
adapts to the input size (the original's ``adaptive_window_size`` is off in
every SSL-VQA call). Inits follow the ST-VQRL copy, whose ``init_weights()``
is commented out: PyTorch defaults (uniform ±1/√fan_in for Linear/Conv3d
weights and biases), bias tables N(0, 0.02²) (timm's ``trunc_normal_`` cuts at
±2 absolute, i.e. ±100σ), fragment tables zeros.

Stochastic depth (per-sample, linear 0→``drop_path_rate`` over all blocks,
PyTorch's 1/keep scaling) is an ``nnx.Dropout`` broadcast over all but the
batch axis: it follows the NNX mode convention (``deterministic``, set by
``model.eval()`` / ``model.train()``; a new model is in train mode, as in
PyTorch) and draws from the ``'dropout'`` stream of the ``rngs`` given at
construction. ``load_torch`` reads the original ``state_dict`` keys.
"""

from __future__ import annotations

from collections.abc import Sequence
import math
from typing import Any

from flax import nnx
import jax
import jax.numpy as jnp
import numpy as np

from jvqa.errors import ConvertError
from jvqa.models import swin3d_windows as win
from jvqa.models.inits import TORCH_KERNEL_INIT, torch_bias_init
from jvqa.models.torch_weights import (TorchWeights, load_conv, load_layer_norm,
                                       load_linear, set_param)

LN_EPSILON = 1e-5
# What ``load_torch`` does for a missing ``fragment_position_bias_table``:
# raise, leave zeros (SSL-VQA's Kinetics-400 block, ``load_state_dict(strict=
# False)``), or copy the stage's relative table (FAST-VQA's ``load_swin``).
FRAGMENT_BIAS_MODES = ("require", "zeros", "copy")
TABLE_INIT = nnx.initializers.truncated_normal(stddev=0.02, lower=-100.0, upper=100.0)




def linear(in_features: int, out_features: int, *, use_bias: bool = True, dtype: Any,
           rngs: nnx.Rngs) -> nnx.Linear:
  return nnx.Linear(in_features, out_features, use_bias=use_bias, dtype=dtype,
                    kernel_init=TORCH_KERNEL_INIT, bias_init=torch_bias_init(in_features),
                    rngs=rngs)


def layer_norm(features: int, *, dtype: Any, rngs: nnx.Rngs) -> nnx.LayerNorm:
  """PyTorch's LayerNorm (ε 1e-5, two-pass variance; statistics in float32)."""
  return nnx.LayerNorm(features, epsilon=LN_EPSILON, use_fast_variance=False, dtype=dtype,
                       rngs=rngs)


def _pad_end(x: jax.Array, pads: Sequence[int]) -> jax.Array:
  """Zero-pads axes 1..3 of ``(B, D, H, W, C)`` at their ends."""
  if not any(pads):
    return x
  return jnp.pad(x, ((0, 0),) + tuple((0, p) for p in pads) + ((0, 0),))


class PatchEmbed3D(nnx.Module):
  """Zero-pad to whole patches, Conv3d with kernel = stride = patch, LayerNorm."""

  def __init__(self, patch_size: Sequence[int], in_chans: int, embed_dim: int,
               patch_norm: bool, *, dtype: Any, rngs: nnx.Rngs):
    self.patch_size = tuple(patch_size)
    fan_in = in_chans * math.prod(self.patch_size)
    self.proj = nnx.Conv(in_chans, embed_dim, self.patch_size, self.patch_size,
                         padding="VALID", kernel_init=TORCH_KERNEL_INIT,
                         bias_init=torch_bias_init(fan_in), dtype=dtype, rngs=rngs)
    self.norm = layer_norm(embed_dim, dtype=dtype, rngs=rngs) if patch_norm else None

  def __call__(self, x: jax.Array) -> jax.Array:
    sizes = x.shape[1:4]
    x = _pad_end(x, [-s % p for s, p in zip(sizes, self.patch_size)])
    x = self.proj(x)
    return x if self.norm is None else self.norm(x)

  def load_torch(self, w: TorchWeights) -> None:
    load_conv(w, "proj", self.proj)
    if self.norm is not None:
      load_layer_norm(w, "norm", self.norm)


# On a CPU, attention runs over chunks of windows whose logits take at most this
# many bytes, and the MLP over chunks of tokens whose hidden layer does, so that
# bias, mask, softmax, GELU and the products work in cache instead of streaming
# through memory (BENCHMARKS.md has the gain). Elsewhere everything goes at
# once (a sequential loop would starve a GPU).
CPU_CHUNK_BYTES = 4 << 20


def _divisor_chunk(rows: int, bytes_per_row: int) -> int:
  """The largest divisor of ``rows`` whose chunk fits ``CPU_CHUNK_BYTES`` (all rows off CPU)."""
  if jax.default_backend() != "cpu":
    return rows
  fits = max(1, CPU_CHUNK_BYTES // bytes_per_row)
  return max(d for d in range(1, min(fits, rows) + 1) if rows % d == 0)


def _in_chunks(fn, x: jax.Array, chunk: int) -> jax.Array:
  """``fn`` over ``chunk``-row pieces of ``x`` one after another (``fn`` is row-wise)."""
  if chunk == x.shape[0]:
    return fn(x)
  out = jax.lax.map(fn, x.reshape(x.shape[0] // chunk, chunk, *x.shape[1:]))
  return out.reshape(x.shape[0], *out.shape[2:])


class WindowAttention3D(nnx.Module):
  """Multi-head self-attention inside windows, relative (and fragment) bias."""

  def __init__(self, dim: int, window_size: Sequence[int], num_heads: int, qkv_bias: bool,
               frag_bias: bool, *, dtype: Any, rngs: nnx.Rngs):
    self.window_size = tuple(window_size)
    self.num_heads = num_heads
    self.scale = (dim // num_heads) ** -0.5
    self.dtype = dtype
    table = (math.prod(2 * n - 1 for n in self.window_size), num_heads)
    self.relative_position_bias_table = nnx.Param(TABLE_INIT(rngs.params(), table))
    self.fragment_position_bias_table = (
        nnx.Param(jnp.zeros(table, jnp.float32)) if frag_bias else None)
    self.qkv = linear(dim, 3 * dim, use_bias=qkv_bias, dtype=dtype, rngs=rngs)
    self.proj = linear(dim, dim, dtype=dtype, rngs=rngs)

  def position_bias(self, n: int) -> tuple[jax.Array, jax.Array | None]:
    """``(F, D)``, each ``(nH, N, N)``: the bias is ``F + gate · D``.

    With a fragment table, ``rpb·gate + fpb·(1 − gate)`` = ``fpb + gate·(rpb − fpb)``;
    without one, ``D`` is None and the bias is ``rpb``. ``N`` tokens read the
    first ``N × N`` entries of the full window's index, as the original does
    for a clamped window.
    """
    index = win.relative_position_index(self.window_size)[:n, :n]
    rpb = self.relative_position_bias_table[...][index].transpose(2, 0, 1)
    if self.fragment_position_bias_table is None:
      return rpb, None
    fpb = self.fragment_position_bias_table[...][index].transpose(2, 0, 1)
    return fpb, rpb - fpb

  def __call__(self, x: jax.Array, regions: np.ndarray | None,
               fragments: np.ndarray) -> jax.Array:
    """Attention of windows ``x`` ``(B, nW, N, C)``.

    Args:
      x: the tokens, window by window.
      regions: ``(nW, N)`` shift-mask labels (``shift_regions``), None if unshifted.
      fragments: ``(nW, N, 2)`` fragment coordinates (``fragment_coords``).
    """
    b, nw, n, c = x.shape
    heads = self.num_heads
    # One transpose to (qkv, window, batch·head, token, channel): every window's
    # heads are then contiguous batches of the attention products.
    qkv = self.qkv(x).reshape(b, nw, n, 3, heads, c // heads).transpose(3, 1, 0, 4, 2, 5)
    qkv = qkv.reshape(3, nw, b * heads, n, c // heads)
    q, k, v = qkv[0] * jnp.asarray(self.scale, qkv.dtype), qkv[1], qkv[2]
    bias, gate_scale = self.position_bias(n)
    # Float labels and coordinates: the mask and gate are then float arithmetic that
    # XLA's CPU backend fuses into the logits kernel (integer ops made their own pass).
    coords = jnp.asarray(fragments, jnp.float32)
    labels = None if regions is None else jnp.asarray(regions, jnp.float32)

    def attend(q, k, v, coords, labels):
      """Windows ``(w, B·nH, N, d)`` → same; bias, gate and mask added to the logits."""
      w = q.shape[0]
      logits = jnp.einsum("whnd,whmd->whnm", q, k).astype(jnp.float32)
      logits = logits.reshape(w, b, heads, n, n) + bias
      if gate_scale is not None:
        logits = logits + win.pairwise_l1(coords, jnp)[:, None, None] * gate_scale
      if labels is not None:
        logits = logits + win.pairwise_mask(labels, jnp)[:, None, None]
      logits = logits.reshape(w, b * heads, n, n)
      # Softmax normalised after the product: (N × d) divisions instead of (N × N).
      weights = jnp.exp(logits - jnp.max(logits, axis=-1, keepdims=True))
      out = jnp.einsum("whnm,whmd->whnd", weights.astype(self.dtype), v)
      return (out / jnp.sum(weights, axis=-1, keepdims=True)).astype(self.dtype)

    chunk = _divisor_chunk(nw, b * heads * n * n * 4)
    if chunk == nw:
      out = attend(q, k, v, coords, labels)
    else:  # On a CPU: windows in cache-sized chunks (see CPU_CHUNK_BYTES).
      def step(i, out):
        """Chunk ``i``; its result overwrites its own queries (read first), so the loop
        needs no output buffer of its own."""
        take = lambda a: None if a is None else jax.lax.dynamic_slice_in_dim(a, i * chunk, chunk)
        result = attend(take(out), take(k), take(v), take(coords), take(labels))
        return jax.lax.dynamic_update_slice_in_dim(out, result, i * chunk, 0)

      out = jax.lax.fori_loop(0, nw // chunk, step, q)
    out = out.reshape(nw, b, heads, n, c // heads).transpose(1, 0, 3, 2, 4).reshape(b, nw, n, c)
    return self.proj(out)

  def load_torch(self, w: TorchWeights, fragment_bias: str) -> None:
    load_linear(w, "qkv", self.qkv)
    load_linear(w, "proj", self.proj)
    rpb = w.take("relative_position_bias_table")
    set_param(self.relative_position_bias_table, rpb,
              key=w.prefix + "relative_position_bias_table", source=w.source)
    if self.fragment_position_bias_table is not None:
      key = "fragment_position_bias_table"
      if key in w or fragment_bias == "require":
        value = w.take(key)
      elif fragment_bias == "zeros":
        value = np.zeros(self.fragment_position_bias_table[...].shape, np.float32)
      else:
        value = rpb
      set_param(self.fragment_position_bias_table, value, key=w.prefix + key, source=w.source)
    key = "relative_position_index"
    if key in w:  # A buffer: not learnt, but it must be the index this model uses.
      got = w.take(key)
      want = win.relative_position_index(self.window_size)
      if got.shape != want.shape or not np.array_equal(got, want):
        raise ConvertError(w.source, f"key {w.prefix + key!r} is not the relative position "
                           f"index of window {self.window_size}")


class Mlp(nnx.Module):
  """fc1 → GELU (exact erf) → fc2."""

  def __init__(self, dim: int, hidden: int, *, dtype: Any, rngs: nnx.Rngs):
    self.fc1 = linear(dim, hidden, dtype=dtype, rngs=rngs)
    self.fc2 = linear(hidden, dim, dtype=dtype, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.fc2(jax.nn.gelu(self.fc1(x), approximate=False))


class SwinBlock3D(nnx.Module):
  """x + DropPath(W-MSA(LN(x))), then x + DropPath(MLP(LN(x))).

  The (clamped) window, shift, padding, mask and fragment gate are derived
  from the static input shape at trace time.
  """

  def __init__(self, dim: int, num_heads: int, window_size: Sequence[int],
               shift_size: Sequence[int], mlp_ratio: float, qkv_bias: bool,
               drop_path: float, frag_bias: bool, *, dtype: Any, rngs: nnx.Rngs):
    self.window_size = tuple(window_size)
    self.shift_size = tuple(shift_size)
    self.norm1 = layer_norm(dim, dtype=dtype, rngs=rngs)
    self.attn = WindowAttention3D(dim, window_size, num_heads, qkv_bias, frag_bias,
                                  dtype=dtype, rngs=rngs)
    # Stochastic depth: one keep/drop per sample, scaled by 1/keep (timm DropPath).
    self.drop_path = nnx.Dropout(drop_path, broadcast_dims=(1, 2, 3, 4), rngs=rngs)
    self.norm2 = layer_norm(dim, dtype=dtype, rngs=rngs)
    self.mlp = Mlp(dim, int(dim * mlp_ratio), dtype=dtype, rngs=rngs)

  def attention(self, x: jax.Array) -> jax.Array:
    """LN → pad → cyclic shift → window attention → unshift → crop."""
    b, d, h, w, c = x.shape
    window, shift = win.clamp_window((d, h, w), self.window_size, self.shift_size)
    padded = win.padded_grid((d, h, w), window)
    x = _pad_end(self.norm1(x), [p - s for p, s in zip(padded, (d, h, w))])
    shifted = any(shift)
    if shifted:
      x = jnp.roll(x, tuple(-s for s in shift), axis=(1, 2, 3))
    (nd, nh, nw), (wd, wh, ww) = [p // s for p, s in zip(padded, window)], window
    x = x.reshape(b, nd, wd, nh, wh, nw, ww, c).transpose(0, 1, 3, 5, 2, 4, 6, 7)
    x = x.reshape(b, nd * nh * nw, wd * wh * ww, c)
    regions = win.shift_regions(padded, window, shift) if shifted else None
    x = self.attn(x, regions, win.fragment_coords(padded, window, shift))
    x = x.reshape(b, nd, nh, nw, wd, wh, ww, c).transpose(0, 1, 4, 2, 5, 3, 6, 7)
    x = x.reshape(b, *padded, c)
    if shifted:
      x = jnp.roll(x, shift, axis=(1, 2, 3))
    return x[:, :d, :h, :w]

  def __call__(self, x: jax.Array) -> jax.Array:
    x = x + self.drop_path(self.attention(x))
    tokens = x.reshape(-1, x.shape[-1])
    hidden = self.mlp.fc1.out_features * jnp.dtype(jnp.float32).itemsize
    mlp = _in_chunks(lambda t: self.mlp(self.norm2(t)), tokens, _divisor_chunk(
        tokens.shape[0], hidden))
    return x + self.drop_path(mlp.reshape(x.shape))

  def load_torch(self, w: TorchWeights, fragment_bias: str) -> None:
    load_layer_norm(w, "norm1", self.norm1)
    self.attn.load_torch(w.scoped("attn."), fragment_bias)
    load_layer_norm(w, "norm2", self.norm2)
    load_linear(w, "mlp.fc1", self.mlp.fc1)
    load_linear(w, "mlp.fc2", self.mlp.fc2)


@nnx.remat
def _remat_block(block: SwinBlock3D, x: jax.Array) -> jax.Array:
  return block(x)


class PatchMerging(nnx.Module):
  """Spatial 2×2 merge (T kept): concat h0w0, h1w0, h0w1, h1w1 → LN(4C) → 4C→2C."""

  def __init__(self, dim: int, *, dtype: Any, rngs: nnx.Rngs):
    self.norm = layer_norm(4 * dim, dtype=dtype, rngs=rngs)
    self.reduction = linear(4 * dim, 2 * dim, use_bias=False, dtype=dtype, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    x = _pad_end(x, (0, x.shape[2] % 2, x.shape[3] % 2))
    x = jnp.concatenate([x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2],
                         x[:, :, 0::2, 1::2], x[:, :, 1::2, 1::2]], axis=-1)
    return self.reduction(self.norm(x))

  def load_torch(self, w: TorchWeights) -> None:
    load_layer_norm(w, "norm", self.norm)
    load_linear(w, "reduction", self.reduction)


class SwinStage(nnx.Module):
  """One stage (the original's ``BasicLayer``): blocks, then optional merging."""

  def __init__(self, dim: int, depth: int, num_heads: int, window_size: Sequence[int],
               mlp_ratio: float, qkv_bias: bool, drop_paths: Sequence[float],
               frag_bias: bool, downsample: bool, remat: bool, *, dtype: Any,
               rngs: nnx.Rngs):
    shift = tuple(n // 2 for n in window_size)
    self.remat = remat
    self.blocks = nnx.List([
        SwinBlock3D(dim, num_heads, window_size, (0, 0, 0) if i % 2 == 0 else shift,
                    mlp_ratio, qkv_bias, drop_paths[i], frag_bias, dtype=dtype, rngs=rngs)
        for i in range(depth)])
    self.downsample = PatchMerging(dim, dtype=dtype, rngs=rngs) if downsample else None

  def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(output of the last block, that output merged or itself if no merging)."""
    for block in self.blocks:
      x = _remat_block(block, x) if self.remat else block(x)
    return x, (x if self.downsample is None else self.downsample(x))

  def load_torch(self, w: TorchWeights, fragment_bias: str) -> None:
    for j, block in enumerate(self.blocks):
      block.load_torch(w.scoped(f"blocks.{j}."), fragment_bias)
    if self.downsample is not None:
      self.downsample.load_torch(w.scoped("downsample."))


class VideoSwin3D(nnx.Module):
  """FAST-VQA's ``SwinTransformer3D`` as SSL-VQA uses it, channel-last.

  Args:
    patch_size: (T, H, W) patch of the embedding.
    in_chans: input channels.
    embed_dim: channels of stage 1 (doubled by each merging).
    depths: blocks per stage.
    num_heads: attention heads per stage.
    window_size: (T, H, W) attention window; shifted blocks shift by half.
    mlp_ratio: MLP hidden width / channels.
    qkv_bias: bias on the qkv projection.
    drop_path_rate: stochastic depth of the last block (linear from 0).
    frag_biases: per stage, whether it has the gated fragment bias.
    patch_norm: LayerNorm after the patch embedding.
    remat: rematerialise each block in the backward pass (``nnx.remat``).
    dtype: computation dtype; parameters stay float32, softmax and LayerNorm
      statistics run in float32.
    rngs: ``params`` (init) and ``dropout`` (stochastic depth) streams.
  """

  def __init__(self, *, patch_size: Sequence[int] = (2, 4, 4), in_chans: int = 3,
               embed_dim: int = 96, depths: Sequence[int] = (2, 2, 6, 2),
               num_heads: Sequence[int] = (3, 6, 12, 24),
               window_size: Sequence[int] = (8, 7, 7), mlp_ratio: float = 4.0,
               qkv_bias: bool = True, drop_path_rate: float = 0.1,
               frag_biases: Sequence[bool] = (True, True, True, False),
               patch_norm: bool = True, remat: bool = False, dtype: Any = jnp.float32,
               rngs: nnx.Rngs):
    if not len(depths) == len(num_heads) == len(frag_biases):
      raise ValueError(f"depths {depths}, num_heads {num_heads} and frag_biases "
                       f"{frag_biases} need one entry per stage")
    self.dtype = dtype
    self.window_size = tuple(window_size)
    self.patch_embed = PatchEmbed3D(patch_size, in_chans, embed_dim, patch_norm,
                                    dtype=dtype, rngs=rngs)
    rates = np.linspace(0.0, drop_path_rate, sum(depths)).tolist()
    stages, first = [], 0
    for i, depth in enumerate(depths):
      stages.append(SwinStage(
          embed_dim * 2**i, depth, num_heads[i], self.window_size, mlp_ratio, qkv_bias,
          rates[first:first + depth], bool(frag_biases[i]), i < len(depths) - 1, remat,
          dtype=dtype, rngs=rngs))
      first += depth
    self.layers = nnx.List(stages)
    self.num_features = embed_dim * 2**(len(depths) - 1)
    self.norm = layer_norm(self.num_features, dtype=dtype, rngs=rngs)

  def stages(self, x: jax.Array) -> tuple[jax.Array, ...]:
    """One ``(B, T', H', W', C_i)`` map per stage, in the computation dtype.

    Entry i < last is stage i's last block output *before* its patch merging
    (C_i = embed_dim·2^i at stride 4·2^i: 96@H/4, 192@H/8, 384@H/16 by
    default); the last entry is the final-LayerNorm output (768@H/32), i.e.
    ``__call__``'s result. (The original's ``forward(multi=True)`` returns
    instead the patch embedding and the *merged* outputs of stages 1–3, then
    the normed stage 4.)
    """
    x = self.patch_embed(jnp.asarray(x, self.dtype))
    outs = []
    for layer in self.layers:
      feature, x = layer(x)
      outs.append(feature)
    outs[-1] = self.norm(outs[-1])
    return tuple(outs)

  def __call__(self, x: jax.Array) -> jax.Array:
    """``(B, T, H, W, C_in)`` → final-LayerNorm tokens ``(B, T/2, H/32, W/32, 768)``."""
    return self.stages(x)[-1]

  def load_torch(self, w: TorchWeights, *, fragment_bias: str = "require") -> None:
    """Reads the original ``SwinTransformer3D.state_dict()`` keys (after ``w.prefix``).

    Args:
      w: the weights; call ``w.finish()`` afterwards to refuse leftover keys.
      fragment_bias: what a missing ``fragment_position_bias_table`` key means:
        ``"require"`` raises ``ConvertError``; ``"zeros"`` leaves the table at
        zero (SSL-VQA's Kinetics-400 initialisation, whose checkpoint has no
        such keys); ``"copy"`` copies the stage's relative position table
        (FAST-VQA's ``load_swin``). A key that is present is always read.

    ``relative_position_index`` buffers, when present, must equal this
    model's index (``ConvertError`` names the key otherwise).
    """
    if fragment_bias not in FRAGMENT_BIAS_MODES:
      raise ValueError(f"fragment_bias must be one of {FRAGMENT_BIAS_MODES}, "
                       f"got {fragment_bias!r}")
    self.patch_embed.load_torch(w.scoped("patch_embed."))
    for i, layer in enumerate(self.layers):
      layer.load_torch(w.scoped(f"layers.{i}."), fragment_bias)
    load_layer_norm(w, "norm", self.norm)
