"""3D video ResNets: R(2+1)D-18 (BVQA-HEKE's encoder) and R3D-18, channel-last.

The topology is torchvision's ``VideoResNet`` without its classifier, as
HEKE's ``init_models/resnet2p1d.py`` copies it: a stem, four stages of
``BasicBlock``s (64/128/256/512 channels, strides 1/2/2/2 on T, H and W) and
no pooling. The two block kinds differ only in their convolutions:

* ``"r2plus1d"``: each 3×3×3 conv is factorised into a spatial (1,3,3) conv
  to ``midplanes`` channels, BN, ReLU and a temporal (3,1,1) conv, with
  ``midplanes = (inplanes·planes·27) // (inplanes·9 + 3·planes)`` computed
  once per block from the block's ``inplanes`` and used by both of its convs.
  The stem is (1,7,7) conv 3→45, BN, ReLU, (3,1,1) conv 45→64, BN, ReLU.
* ``"r3d"``: plain 3×3×3 convs; the stem is one (3,7,7) conv 3→64, BN, ReLU.

Neither stem has a max-pool. A stage's first block has a 1×1×1 conv + BN
shortcut with stride (s,s,s) where the stride or width changes. Inputs are
ImageNet-normalised clips ``(B, T, H, W, 3)``; ``stages`` returns the four
stage outputs f1..f4 (HEKE's feature taps). BatchNorm follows the NNX mode
convention: ``model.eval()`` normalises with the running statistics,
``model.train()`` with the batch's and updates them (PyTorch momentum 0.1, ε
1e-5). ``load_torch`` reads torchvision's ``state_dict`` key names.
"""

from __future__ import annotations

from collections.abc import Sequence
import functools
from typing import Any

from flax import nnx
import jax
import jax.numpy as jnp

from jvqa.models.resnet import stage_outputs
from jvqa.models.torch_weights import TorchWeights, load_batch_norm, load_conv

BLOCKS = ("r2plus1d", "r3d")
# PyTorch's BatchNorm defaults (momentum 0.1 on the new value = Flax 0.9).
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5
# HEKE's copy initialises every Conv3d with Xavier-normal (resnet2p1d.py L253-267).
XAVIER_NORMAL = nnx.initializers.variance_scaling(1.0, "fan_avg", "normal")


def midplanes(inplanes: int, planes: int) -> int:
  """Channels between the (2+1)D convs of a block (torchvision's rule, floor)."""
  return (inplanes * planes * 3 * 3 * 3) // (inplanes * 3 * 3 + 3 * planes)


def conv3d(in_features: int, out_features: int, kernel: Sequence[int],
           stride: Sequence[int], padding: Sequence[int], *, dtype: Any,
           rngs: nnx.Rngs) -> nnx.Conv:
  """A bias-free Conv3d with PyTorch's symmetric explicit padding."""
  return Conv3d(in_features, out_features, tuple(kernel), tuple(stride),
                padding=tuple((p, p) for p in padding), use_bias=False,
                kernel_init=XAVIER_NORMAL, dtype=dtype, rngs=rngs)


_NHWC = ("NHWC", "HWIO", "NHWC")
_NDHWC = ("NDHWC", "DHWIO", "NDHWC")


def _conv3d_xla(x, kernel, strides, padding):
  return jax.lax.conv_general_dilated(x, kernel, strides, padding, dimension_numbers=_NDHWC)


def _conv3d_as_2d(x, kernel, strides, padding):
  """The same 3D convolution as 2D ones (see ``Conv3d``)."""
  (kt, kh, kw), (st, sh, sw) = kernel.shape[:3], strides
  (pt, _), (ph, _), (pw, _) = padding
  if kh == kw == 1 and ph == pw == 0:
    x = x[:, :, ::sh, ::sw]
    b, t, h, w, c = x.shape
    y = jax.lax.conv_general_dilated(x.reshape(b, t, h * w, c), kernel[:, 0], (st, 1),
                                     ((pt, pt), (0, 0)), dimension_numbers=_NHWC)
    return y.reshape(b, y.shape[1], h, w, y.shape[-1])
  x = jnp.pad(x, ((0, 0), (pt, pt), (0, 0), (0, 0), (0, 0)))
  frames_out = (x.shape[1] - kt) // st + 1
  out = 0
  for k in range(kt):  # one 2D convolution per temporal tap, T folded into the batch
    frames = x[:, k:k + st * (frames_out - 1) + 1:st]
    b, t, h, w, c = frames.shape
    y = jax.lax.conv_general_dilated(frames.reshape(b * t, h, w, c), kernel[k], (sh, sw),
                                     ((ph, ph), (pw, pw)), dimension_numbers=_NHWC)
    out = out + y.reshape(b, t, *y.shape[1:])
  return out


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def conv3d_cpu(x, kernel, strides, padding):
  """3D convolution: forward as 2D convolutions, backward as XLA's 3D one.

  XLA's CPU backend runs 2D convolutions 1.6–2.5x faster than the equivalent
  3D ones, but their gradients 2–8x slower (measured at HEKE's 8×216×384 input;
  BENCHMARKS.md), so each direction takes its faster form. Written by hand:
  no library picks a convolution algorithm per direction on XLA's CPU backend.
  """
  return _conv3d_as_2d(x, kernel, strides, padding)


def _conv3d_cpu_fwd(x, kernel, strides, padding):
  return _conv3d_as_2d(x, kernel, strides, padding), (x, kernel)


def _conv3d_cpu_bwd(strides, padding, residuals, grad):
  x, kernel = residuals
  _, vjp = jax.vjp(lambda x, k: _conv3d_xla(x, k, strides, padding), x, kernel)
  return vjp(grad)  # the unused forward output is dropped by XLA


conv3d_cpu.defvjp(_conv3d_cpu_fwd, _conv3d_cpu_bwd)


class Conv3d(nnx.Conv):
  """``nnx.Conv`` over (B, T, H, W, C) that uses ``conv3d_cpu`` on a CPU.

  Same parameters (kernel (kT, kH, kW, C_in, C_out)) and results, up to float
  rounding; other backends use the plain 3D convolution.
  """

  def __call__(self, x: jax.Array) -> jax.Array:
    if jax.default_backend() != "cpu":
      return super().__call__(x)
    kernel = self.kernel[...]
    if self.dtype is not None:
      x, kernel = x.astype(self.dtype), kernel.astype(self.dtype)
    return conv3d_cpu(x, kernel, tuple(self.strides), tuple(map(tuple, self.padding)))


def batch_norm(features: int, *, dtype: Any, rngs: nnx.Rngs) -> nnx.BatchNorm:
  """BatchNorm with PyTorch's ε and momentum."""
  return nnx.BatchNorm(features, momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                       dtype=dtype, rngs=rngs)


class Conv2Plus1D(nnx.Module):
  """(1,3,3) conv stride (1,s,s) → BN → ReLU → (3,1,1) conv stride (s,1,1).

  Torch keys (a ``Sequential``): ``{key}.0`` spatial conv, ``{key}.1`` its BN,
  ``{key}.3`` temporal conv.
  """

  def __init__(self, in_features: int, out_features: int, mid_features: int,
               stride: int = 1, *, dtype: Any, rngs: nnx.Rngs):
    self.spatial = conv3d(in_features, mid_features, (1, 3, 3), (1, stride, stride),
                          (0, 1, 1), dtype=dtype, rngs=rngs)
    self.bn = batch_norm(mid_features, dtype=dtype, rngs=rngs)
    self.temporal = conv3d(mid_features, out_features, (3, 1, 1), (stride, 1, 1),
                           (1, 0, 0), dtype=dtype, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.temporal(jax.nn.relu(self.bn(self.spatial(x))))

  def load_torch(self, w: TorchWeights, key: str) -> None:
    load_conv(w, f"{key}.0", self.spatial)
    load_batch_norm(w, f"{key}.1", self.bn)
    load_conv(w, f"{key}.3", self.temporal)


class Conv3DSimple(nnx.Module):
  """A full 3×3×3 conv, stride s on T, H and W (torch key ``{key}``)."""

  def __init__(self, in_features: int, out_features: int, mid_features: int | None = None,
               stride: int = 1, *, dtype: Any, rngs: nnx.Rngs):
    del mid_features  # Only the (2+1)D factorisation has intermediate channels.
    self.conv = conv3d(in_features, out_features, (3, 3, 3), (stride,) * 3, (1, 1, 1),
                       dtype=dtype, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.conv(x)

  def load_torch(self, w: TorchWeights, key: str) -> None:
    load_conv(w, key, self.conv)


CONV_BUILDERS = {"r2plus1d": Conv2Plus1D, "r3d": Conv3DSimple}


class BasicBlock(nnx.Module):
  """conv1 → BN → ReLU → conv2 → BN, plus the shortcut, then ReLU.

  Torch keys: ``conv1.0`` (conv), ``conv1.1`` (BN), ``conv2.0``, ``conv2.1``,
  ``downsample.0`` (1×1×1 conv), ``downsample.1`` (BN).
  """

  def __init__(self, inplanes: int, planes: int, stride: int, block: str, *,
               dtype: Any, rngs: nnx.Rngs):
    builder = CONV_BUILDERS[block]
    mid = midplanes(inplanes, planes)
    self.midplanes = mid
    self.conv1 = builder(inplanes, planes, mid, stride, dtype=dtype, rngs=rngs)
    self.bn1 = batch_norm(planes, dtype=dtype, rngs=rngs)
    self.conv2 = builder(planes, planes, mid, 1, dtype=dtype, rngs=rngs)
    self.bn2 = batch_norm(planes, dtype=dtype, rngs=rngs)
    if stride != 1 or inplanes != planes:
      self.downsample = conv3d(inplanes, planes, (1, 1, 1), (stride,) * 3, (0, 0, 0),
                               dtype=dtype, rngs=rngs)
      self.downsample_bn = batch_norm(planes, dtype=dtype, rngs=rngs)
    else:
      self.downsample = self.downsample_bn = None

  def __call__(self, x: jax.Array) -> jax.Array:
    out = jax.nn.relu(self.bn1(self.conv1(x)))
    out = self.bn2(self.conv2(out))
    if self.downsample is not None:
      x = self.downsample_bn(self.downsample(x))
    return jax.nn.relu(out + x)

  def load_torch(self, w: TorchWeights) -> None:
    self.conv1.load_torch(w, "conv1.0")
    load_batch_norm(w, "conv1.1", self.bn1)
    self.conv2.load_torch(w, "conv2.0")
    load_batch_norm(w, "conv2.1", self.bn2)
    if self.downsample is not None:
      load_conv(w, "downsample.0", self.downsample)
      load_batch_norm(w, "downsample.1", self.downsample_bn)


class VideoResNet(nnx.Module):
  """A 3D ResNet encoder (no classifier) on channel-last clips.

  Args:
    block: ``"r2plus1d"`` (factorised convs and stem) or ``"r3d"``.
    layers: blocks per stage; (2, 2, 2, 2) is depth 18.
    widths: channels of the four stages (the stem outputs ``widths[0]``).
    stem_midplanes: channels between the two R(2+1)D stem convs (45).
    dtype: computation dtype; parameters stay float32.
    rngs: parameter initialisation.
  """

  def __init__(self, block: str = "r2plus1d", *, layers: Sequence[int] = (2, 2, 2, 2),
               widths: Sequence[int] = (64, 128, 256, 512), stem_midplanes: int = 45,
               dtype: Any = jnp.float32, rngs: nnx.Rngs):
    if block not in BLOCKS:
      raise ValueError(f"block must be one of {BLOCKS}, got {block!r}")
    if len(layers) != 4 or len(widths) != 4:
      raise ValueError(f"layers and widths need 4 stages, got {layers} and {widths}")
    self.block = block
    self.dtype = dtype
    self.num_features = widths[-1]
    if block == "r2plus1d":
      self.stem = nnx.List([
          conv3d(3, stem_midplanes, (1, 7, 7), (1, 2, 2), (0, 3, 3), dtype=dtype, rngs=rngs),
          batch_norm(stem_midplanes, dtype=dtype, rngs=rngs),
          conv3d(stem_midplanes, widths[0], (3, 1, 1), (1, 1, 1), (1, 0, 0),
                 dtype=dtype, rngs=rngs),
          batch_norm(widths[0], dtype=dtype, rngs=rngs)])
    else:
      self.stem = nnx.List([
          conv3d(3, widths[0], (3, 7, 7), (1, 2, 2), (1, 3, 3), dtype=dtype, rngs=rngs),
          batch_norm(widths[0], dtype=dtype, rngs=rngs)])
    inplanes = widths[0]
    stages = []
    for i, (planes, count) in enumerate(zip(widths, layers)):
      stride = 1 if i == 0 else 2
      blocks = []
      for b in range(count):
        blocks.append(BasicBlock(inplanes, planes, stride if b == 0 else 1, block,
                                 dtype=dtype, rngs=rngs))
        inplanes = planes
      stages.append(nnx.List(blocks))
    self.layers = nnx.List(stages)

  def stem_features(self, x: jax.Array) -> jax.Array:
    """The stem's output (conv, BN, ReLU per stem conv), no max-pool."""
    x = jnp.asarray(x, self.dtype)
    for i in range(0, len(self.stem), 2):
      x = jax.nn.relu(self.stem[i + 1](self.stem[i](x)))
    return x

  def stages(self, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Outputs f1..f4 of layer1..layer4, each ``(B, T', H', W', C)``."""
    return stage_outputs(self.stem_features(x), self.layers)

  def __call__(self, x: jax.Array) -> jax.Array:
    """f4, the last stage's output ``(B, T/8, H/16, W/16, widths[-1])``."""
    return self.stages(x)[-1]

  def load_torch(self, w: TorchWeights) -> None:
    """Copies torchvision ``VideoResNet`` weights (keys relative to ``w.prefix``).

    Keys: ``stem.{0,1}`` (+ ``stem.{3,4}`` for R(2+1)D) and ``layer{1..4}.{b}.*``;
    a missing key or a wrong shape raises ``ConvertError``. Call ``w.finish()``
    afterwards to refuse leftover keys (a classifier ``fc.*`` among them).
    """
    stem_keys = (0, 1, 3, 4) if self.block == "r2plus1d" else (0, 1)
    for module, index in zip(self.stem, stem_keys):
      if isinstance(module, nnx.Conv):
        load_conv(w, f"stem.{index}", module)
      else:
        load_batch_norm(w, f"stem.{index}", module)
    for s, stage in enumerate(self.layers):
      for b, block in enumerate(stage):
        block.load_torch(w.scoped(f"layer{s + 1}.{b}."))


def r2plus1d_18(**kw) -> VideoResNet:
  """R(2+1)D-18, HEKE's encoder (``VideoResNet`` keyword arguments pass through)."""
  return VideoResNet("r2plus1d", **kw)


def r3d_18(**kw) -> VideoResNet:
  """torchvision's R3D-18 without its classifier."""
  return VideoResNet("r3d", **kw)
