"""2D ResNet-18/34/50 encoders (torchvision's, without the classifier), channel-last.

The HEKE ResNet variant runs ResNet-50 on an RGB frame and ResNet-34 on a
frame difference (``jvqa.models.heke.HekeResnet``). The topology is
torchvision's: a 7×7 stride-2 conv + BN + ReLU + 3×3 stride-2 max-pool stem,
then four stages (64/128/256/512 planes, strides 1/2/2/2) of ``BasicBlock``s
(18, 34) or ``Bottleneck``s (50; v1.5, the stride on the 3×3 conv, output
4×planes). A stage's first block has a 1×1 conv + BN shortcut where the
stride or width changes. BatchNorm: PyTorch's ε 1e-5 and momentum 0.1, NNX
mode convention (``model.eval()`` uses the running statistics).

``stages`` maps frames ``(B, H, W, 3)`` to the four stage outputs.
``__call__`` is the video-backbone form: on a clip ``(B, T, H, W, 3)`` it folds
T into the batch, runs every frame through the network independently (no
temporal mixing; BatchNorm in train mode pools statistics over all B·T
frames) and returns f4 as ``(B, T, H/32, W/32, C)``; on frames ``(B, H, W, 3)``
it returns f4 ``(B, H/32, W/32, C)``. ``load_torch`` reads torchvision's key
names and refuses an ImageNet classifier (``fc.*``) unless told to drop it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flax import nnx
import jax
import jax.numpy as jnp

from jvqa.errors import ConvertError
from jvqa.models.torch_weights import TorchWeights, load_batch_norm, load_conv

BN_MOMENTUM = 0.9  # PyTorch momentum 0.1.
BN_EPSILON = 1e-5
# torchvision's init: kaiming-normal, fan_out, ReLU gain.
KAIMING_FAN_OUT = nnx.initializers.variance_scaling(2.0, "fan_out", "normal")
# depth → (block, blocks per stage).
DEPTHS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)),
          50: ("bottleneck", (3, 4, 6, 3))}
EXPANSION = {"basic": 1, "bottleneck": 4}


def conv2d(in_features: int, out_features: int, kernel: int, stride: int = 1, *,
           dtype: Any, rngs: nnx.Rngs) -> nnx.Conv:
  """A bias-free Conv2d with PyTorch's padding ``kernel // 2``."""
  pad = kernel // 2
  return nnx.Conv(in_features, out_features, (kernel, kernel), (stride, stride),
                  padding=((pad, pad), (pad, pad)), use_bias=False,
                  kernel_init=KAIMING_FAN_OUT, dtype=dtype, rngs=rngs)


def batch_norm(features: int, *, dtype: Any, rngs: nnx.Rngs) -> nnx.BatchNorm:
  return nnx.BatchNorm(features, momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                       dtype=dtype, rngs=rngs)


class Block(nnx.Module):
  """A basic (3×3, 3×3) or bottleneck (1×1, 3×3 stride s, 1×1 to 4×) block.

  Torch keys: ``conv{i}``/``bn{i}`` for i = 1..2 (basic) or 1..3
  (bottleneck), and ``downsample.0`` (1×1 conv) / ``downsample.1`` (BN).
  """

  def __init__(self, kind: str, inplanes: int, planes: int, stride: int, *,
               dtype: Any, rngs: nnx.Rngs):
    out = planes * EXPANSION[kind]
    if kind == "basic":
      shapes = [(inplanes, planes, 3, stride), (planes, planes, 3, 1)]
    else:
      shapes = [(inplanes, planes, 1, 1), (planes, planes, 3, stride), (planes, out, 1, 1)]
    self.convs = nnx.List([conv2d(i, o, k, s, dtype=dtype, rngs=rngs) for i, o, k, s in shapes])
    self.bns = nnx.List([batch_norm(o, dtype=dtype, rngs=rngs) for _, o, _, _ in shapes])
    if stride != 1 or inplanes != out:
      self.downsample = conv2d(inplanes, out, 1, stride, dtype=dtype, rngs=rngs)
      self.downsample_bn = batch_norm(out, dtype=dtype, rngs=rngs)
    else:
      self.downsample = self.downsample_bn = None

  def __call__(self, x: jax.Array) -> jax.Array:
    out = x
    for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
      out = bn(conv(out))
      if i < len(self.convs) - 1:
        out = jax.nn.relu(out)
    if self.downsample is not None:
      x = self.downsample_bn(self.downsample(x))
    return jax.nn.relu(out + x)

  def load_torch(self, w: TorchWeights) -> None:
    for i, (conv, bn) in enumerate(zip(self.convs, self.bns), start=1):
      load_conv(w, f"conv{i}", conv)
      load_batch_norm(w, f"bn{i}", bn)
    if self.downsample is not None:
      load_conv(w, "downsample.0", self.downsample)
      load_batch_norm(w, "downsample.1", self.downsample_bn)


def stage_outputs(x: jax.Array, layers) -> tuple[jax.Array, ...]:
  """Runs the stem's output through each stage's blocks; the output of every stage."""
  taps = []
  for stage in layers:
    for block in stage:
      x = block(x)
    taps.append(x)
  return tuple(taps)


class ResNet(nnx.Module):
  """A torchvision 2D ResNet encoder (no avg-pool, no fc) on channel-last frames.

  Args:
    depth: 18, 34 (basic blocks) or 50 (bottlenecks).
    layers: blocks per stage; default the depth's (2,2,2,2) or (3,4,6,3).
    widths: planes of the four stages (the stem outputs ``widths[0]``).
    dtype: computation dtype; parameters stay float32.
    rngs: parameter initialisation.
  """

  def __init__(self, depth: int = 50, *, layers: Sequence[int] | None = None,
               widths: Sequence[int] = (64, 128, 256, 512), dtype: Any = jnp.float32,
               rngs: nnx.Rngs):
    if depth not in DEPTHS:
      raise ValueError(f"depth must be one of {sorted(DEPTHS)}, got {depth}")
    kind, default_layers = DEPTHS[depth]
    layers = default_layers if layers is None else tuple(layers)
    if len(layers) != 4 or len(widths) != 4:
      raise ValueError(f"layers and widths need 4 stages, got {layers} and {widths}")
    self.depth = depth
    self.dtype = dtype
    self.num_features = widths[-1] * EXPANSION[kind]
    self.conv1 = conv2d(3, widths[0], 7, 2, dtype=dtype, rngs=rngs)
    self.bn1 = batch_norm(widths[0], dtype=dtype, rngs=rngs)
    inplanes = widths[0]
    stages = []
    for i, (planes, count) in enumerate(zip(widths, layers)):
      blocks = []
      for b in range(count):
        stride = 2 if i > 0 and b == 0 else 1
        blocks.append(Block(kind, inplanes, planes, stride, dtype=dtype, rngs=rngs))
        inplanes = planes * EXPANSION[kind]
      stages.append(nnx.List(blocks))
    self.layers = nnx.List(stages)

  def stem_features(self, x: jax.Array) -> jax.Array:
    """conv1 → BN → ReLU → 3×3 stride-2 max-pool (padding counts as −inf)."""
    x = jax.nn.relu(self.bn1(self.conv1(jnp.asarray(x, self.dtype))))
    return nnx.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))

  def stages(self, x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Frames ``(B, H, W, 3)`` → f1..f4, the outputs of layer1..layer4."""
    return stage_outputs(self.stem_features(x), self.layers)

  def __call__(self, x: jax.Array) -> jax.Array:
    """f4 of frames ``(B, H, W, 3)``, or of each frame of clips ``(B, T, H, W, 3)``."""
    if x.ndim == 4:
      return self.stages(x)[-1]
    if x.ndim != 5:
      raise ValueError(f"expected (B, H, W, 3) or (B, T, H, W, 3), got shape {x.shape}")
    b, t = x.shape[:2]
    f4 = self.stages(x.reshape(b * t, *x.shape[2:]))[-1]
    return f4.reshape(b, t, *f4.shape[1:])

  def load_torch(self, w: TorchWeights, *, allow_fc: bool = False) -> None:
    """Copies torchvision ``ResNet`` weights (keys relative to ``w.prefix``).

    Args:
      w: the state dict; keys ``conv1``, ``bn1``, ``layer{1..4}.{b}.*``.
      allow_fc: drop an ImageNet classifier's ``fc.weight``/``fc.bias``;
        without it their presence raises ``ConvertError`` (this encoder has
        no fc, so they would otherwise be lost silently).

    A missing key or a wrong shape raises ``ConvertError``; call
    ``w.finish()`` afterwards to refuse leftover keys.
    """
    for key in ("fc.weight", "fc.bias"):
      if key in w:
        if not allow_fc:
          raise ConvertError(w.source, f"key {w.prefix + key!r} is a classifier this encoder "
                             "does not have; pass allow_fc=True to drop it")
        w.skip(key)  # The ImageNet classifier: deliberately dropped.
    load_conv(w, "conv1", self.conv1)
    load_batch_norm(w, "bn1", self.bn1)
    for s, stage in enumerate(self.layers):
      for b, block in enumerate(stage):
        block.load_torch(w.scoped(f"layer{s + 1}.{b}."))


def resnet18(**kw) -> ResNet:
  return ResNet(18, **kw)


def resnet34(**kw) -> ResNet:
  return ResNet(34, **kw)


def resnet50(**kw) -> ResNet:
  return ResNet(50, **kw)
