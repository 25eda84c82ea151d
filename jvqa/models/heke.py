"""BVQA-HEKE's two pretraining models: an encoder plus four knowledge heads.

Each model predicts, from one clip, the four full-reference metrics it was
pretrained to imitate, in the order ``KNOWLEDGE`` (output index 0..3); the
heads are grouped 1×1 convolutions, so the four "experts" are independent
MLPs ("divide and conquer"). Both reproduce ``network.py`` of
Sissuire/BVQA-HEKE, with its state-dict keys:

* ``HekeR2p1d`` (``HEKE_BVQA_r2p1d``): ``resnet`` = R(2+1)D-18 on a clip
  ``(B, T, H, W, 3)``, then ``HekeHead``: global max- and avg-pools of f4 are
  stacked as the two rows of a ``(2, 1)`` image; ``group_conv_1`` (kernel
  (2,1), 4 groups, so expert k reads f4 channels 128k..128k+127) → ELU →
  ``group_conv_2`` (1×1, 4 groups) → ELU → ``group_conv_3`` (1×1, 4 groups)
  → ``(B, 4)``. ``HekeHead`` alone is also the registry's ``"heke"`` head.
* ``HekeResnet`` (``HEKE_BVQA_resnet``): ``spatial`` = ResNet-50 on the RGB
  frame, ``temporal`` = ResNet-34 on the frame difference. The channels
  [max rgb | avg rgb | max diff | avg diff] (2048+2048+512+512 = 5120) go
  through ``group_conv_1`` (1×1, one group) → ELU → ``group_conv_2`` (4
  groups) → ELU → ``group_conv_3`` (4 groups). Its input is a pair of
  ImageNet-normalised frames ``(B, 2, H, W, 3)`` = (t, t+ts): the RGB stream
  sees frame 0 and the difference stream frame 1 − frame 0 (taken after the
  normalisation, as the original does).

``features`` gives the feature taps the regressors are trained on: for each
of f1..f4 the concatenation [mean | max | std (N−1)] over (T, H, W), i.e.
64+128+256+512 channels × 3 = 2880 dims for R(2+1)D-18, and for the ResNet
variant the same over (H, W) per stream. The statistics are computed in
float32 whatever the model's ``dtype``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flax import nnx
import jax
import jax.numpy as jnp

from jvqa.models.resnet import ResNet
from jvqa.models.inits import TORCH_KERNEL_INIT, torch_bias_init
from jvqa.models.torch_weights import TorchWeights, load_conv
from jvqa.models.video_resnet import VideoResNet

# Output index → the full-reference metric that head imitates.
KNOWLEDGE = ("GMSD", "ST-GMSD", "ST-RRED", "MS-SSIM")

Features = tuple[jax.Array, jax.Array, jax.Array, jax.Array]




def grouped_conv(in_features: int, out_features: int, kernel: tuple[int, int], groups: int,
                 *, dtype: Any, rngs: nnx.Rngs) -> nnx.Conv:
  """A Conv2d with bias and ``groups`` contiguous channel groups (no padding)."""
  fan_in = in_features // groups * kernel[0] * kernel[1]
  return nnx.Conv(in_features, out_features, kernel, padding="VALID",
                  feature_group_count=groups, kernel_init=TORCH_KERNEL_INIT,
                  bias_init=torch_bias_init(fan_in), dtype=dtype, rngs=rngs)


def pooled_statistics(f: jax.Array, axes: Sequence[int]) -> jax.Array:
  """[mean | max | std (ddof=1)] of ``f`` over ``axes``, concatenated on channels."""
  f = f.astype(jnp.float32)
  axes = tuple(axes)
  return jnp.concatenate(
      [f.mean(axes), f.max(axes), jnp.std(f, axis=axes, ddof=1)], axis=-1)


def level_features(taps: Sequence[jax.Array], axes: Sequence[int]) -> Features:
  """``pooled_statistics`` of each of f1..f4."""
  return tuple(pooled_statistics(f, axes) for f in taps)


def experts(x: jax.Array, convs: Sequence[nnx.Conv]) -> jax.Array:
  """``group_conv_1`` → ELU → ``group_conv_2`` → ELU → ``group_conv_3``, flattened."""
  x = jax.nn.elu(convs[0](x))
  x = jax.nn.elu(convs[1](x))
  x = convs[2](x)
  return x.reshape(x.shape[0], -1)


def load_group_convs(w: TorchWeights, module: nnx.Module) -> None:
  """``group_conv_{1,2,3}.{weight,bias}`` into the attributes of those names."""
  for i in (1, 2, 3):
    load_conv(w, f"group_conv_{i}", getattr(module, f"group_conv_{i}"))


class HekeHead(nnx.Module):
  """The R(2+1)D model's four experts on a feature map ``(B, ..., C)``.

  Global max- and avg-pools over every axis but batch and channels become
  the two rows of a ``(2, 1)`` image; ``group_conv_1`` (kernel (2, 1), 4
  groups) gives expert k the channels ``k·C/4 .. (k+1)·C/4 − 1``, then ELU,
  ``group_conv_2`` (4 groups) → ``4·hidden``, ELU, ``group_conv_3`` (4
  groups) → 4. Also usable as a registry head on any backbone's map.

  Args:
    in_features: channels C of the map (512), divisible by 4.
    hidden: per-expert width of ``group_conv_2`` (32); ``group_conv_1`` has
      4·hidden channels per expert.
    dtype: computation dtype; parameters stay float32.
    rngs: parameter initialisation.
  """

  def __init__(self, in_features: int = 512, *, hidden: int = 32, dtype: Any = jnp.float32,
               rngs: nnx.Rngs):
    g = len(KNOWLEDGE)
    if in_features % g:
      raise ValueError(f"in_features must be divisible by {g}, got {in_features}")
    self.in_features = in_features
    self.group_conv_1 = grouped_conv(in_features, hidden * g * 4, (2, 1), g, dtype=dtype,
                                     rngs=rngs)
    self.group_conv_2 = grouped_conv(hidden * g * 4, hidden * g, (1, 1), g, dtype=dtype,
                                     rngs=rngs)
    self.group_conv_3 = grouped_conv(hidden * g, g, (1, 1), g, dtype=dtype, rngs=rngs)

  def __call__(self, features: jax.Array) -> jax.Array:
    """A map ``(B, ..., C)`` → scores ``(B, 4)`` in ``KNOWLEDGE`` order."""
    axes = tuple(range(1, features.ndim - 1))
    pooled = jnp.stack([features.max(axes), features.mean(axes)], axis=1)  # (B, 2, C)
    return experts(pooled[:, :, None, :], self.convs)

  def score(self, features: jax.Array) -> jax.Array:
    """Same as ``__call__`` (the registry's head interface)."""
    return self(features)

  @property
  def convs(self) -> tuple[nnx.Conv, nnx.Conv, nnx.Conv]:
    return self.group_conv_1, self.group_conv_2, self.group_conv_3

  def load_torch(self, w: TorchWeights) -> None:
    """Keys ``group_conv_{1,2,3}.{weight,bias}`` relative to ``w.prefix``."""
    load_group_convs(w, self)


class HekeR2p1d(nnx.Module):
  """HEKE_c^4-r2p1d: R(2+1)D-18 encoder ``resnet`` and four grouped heads on f4.

  Args:
    widths, layers: the encoder's stage widths and depths (18: (2,2,2,2)).
    hidden: per-expert width of ``group_conv_2`` (32).
    dtype: computation dtype; parameters stay float32.
    rngs: parameter initialisation.
  """

  def __init__(self, *, widths: Sequence[int] = (64, 128, 256, 512),
               layers: Sequence[int] = (2, 2, 2, 2), hidden: int = 32,
               dtype: Any = jnp.float32, rngs: nnx.Rngs):
    self.resnet = VideoResNet("r2plus1d", widths=widths, layers=layers, dtype=dtype, rngs=rngs)
    self.head = HekeHead(self.resnet.num_features, hidden=hidden, dtype=dtype, rngs=rngs)

  def stages(self, x: jax.Array) -> Features:
    """The encoder's f1..f4, ``(B, T', H', W', C)``."""
    return self.resnet.stages(x)

  def scores_and_features(self, x: jax.Array) -> tuple[jax.Array, Features]:
    """One encoder pass → (scores ``(B, 4)``, per-level pooled features)."""
    taps = self.resnet.stages(x)
    return self.head(taps[-1]), level_features(taps, (1, 2, 3))

  def features(self, x: jax.Array) -> Features:
    """f1..f4 of a clip ``(B, T, H, W, 3)``, each ``(B, 3·C)`` [mean|max|std]."""
    return level_features(self.resnet.stages(x), (1, 2, 3))

  def __call__(self, x: jax.Array) -> jax.Array:
    """Scores ``(B, 4)`` of a clip ``(B, T, H, W, 3)``, in ``KNOWLEDGE`` order."""
    return self.head(self.resnet(x))

  def load_torch(self, w: TorchWeights) -> None:
    """Copies a ``HEKE_BVQA_r2p1d`` state dict (``resnet.*``, ``group_conv_*``).

    Call ``w.finish()`` afterwards to refuse leftover keys.
    """
    self.resnet.load_torch(w.scoped("resnet."))
    self.head.load_torch(w)


class HekeResnet(nnx.Module):
  """HEKE_c^4-resnet: ResNet-50 on a frame, ResNet-34 on a frame difference.

  Args:
    spatial_depth, temporal_depth: the two ResNets' depths (50, 34).
    widths, layers: stage widths / depths of both streams (None: the depth's).
    shared: width of the shared ``group_conv_1`` (1024).
    hidden: per-expert width of ``group_conv_2`` (32).
    dtype: computation dtype; parameters stay float32.
    rngs: parameter initialisation.
  """

  def __init__(self, *, spatial_depth: int = 50, temporal_depth: int = 34,
               widths: Sequence[int] = (64, 128, 256, 512),
               layers: Sequence[int] | None = None, shared: int = 1024, hidden: int = 32,
               dtype: Any = jnp.float32, rngs: nnx.Rngs):
    g = len(KNOWLEDGE)
    self.spatial = ResNet(spatial_depth, widths=widths, layers=layers, dtype=dtype, rngs=rngs)
    self.temporal = ResNet(temporal_depth, widths=widths, layers=layers, dtype=dtype, rngs=rngs)
    c = 2 * (self.spatial.num_features + self.temporal.num_features)
    self.group_conv_1 = grouped_conv(c, shared, (1, 1), 1, dtype=dtype, rngs=rngs)
    self.group_conv_2 = grouped_conv(shared, hidden * g, (1, 1), g, dtype=dtype, rngs=rngs)
    self.group_conv_3 = grouped_conv(hidden * g, g, (1, 1), g, dtype=dtype, rngs=rngs)

  @staticmethod
  def streams(clip: jax.Array) -> tuple[jax.Array, jax.Array]:
    """A frame pair ``(B, 2, H, W, 3)`` → (rgb = frame 0, diff = frame 1 − frame 0)."""
    if clip.ndim != 5 or clip.shape[1] != 2:
      raise ValueError(f"expected a frame pair (B, 2, H, W, 3), got shape {clip.shape}")
    return clip[:, 0], clip[:, 1] - clip[:, 0]

  def stages(self, clip: jax.Array) -> tuple[Features, Features]:
    """f1..f4 of the RGB stream and of the difference stream, ``(B, H', W', C)``."""
    rgb, diff = self.streams(clip)
    return self.spatial.stages(rgb), self.temporal.stages(diff)

  def head(self, f4_rgb: jax.Array, f4_diff: jax.Array) -> jax.Array:
    """The two f4 maps → scores ``(B, 4)``: channels [max rgb|avg rgb|max diff|avg diff]."""
    pooled = jnp.concatenate([f4_rgb.max((1, 2)), f4_rgb.mean((1, 2)),
                              f4_diff.max((1, 2)), f4_diff.mean((1, 2))], axis=-1)
    return experts(pooled[:, None, None, :],
                   (self.group_conv_1, self.group_conv_2, self.group_conv_3))

  def scores_and_features(self, clip: jax.Array) -> tuple[jax.Array, tuple[Features, Features]]:
    """One pass → (scores ``(B, 4)``, (rgb features, difference features))."""
    rgb, diff = self.stages(clip)
    return self.head(rgb[-1], diff[-1]), (level_features(rgb, (1, 2)),
                                          level_features(diff, (1, 2)))

  def features(self, clip: jax.Array) -> tuple[Features, Features]:
    """Per stream, f1..f4 as ``(B, 3·C)`` [mean|max|std] over (H, W)."""
    rgb, diff = self.stages(clip)
    return level_features(rgb, (1, 2)), level_features(diff, (1, 2))

  def __call__(self, clip: jax.Array) -> jax.Array:
    """Scores ``(B, 4)`` of frame pairs ``(B, 2, H, W, 3)``, in ``KNOWLEDGE`` order."""
    rgb, diff = self.streams(clip)
    return self.head(self.spatial.stages(rgb)[-1], self.temporal.stages(diff)[-1])

  def load_torch(self, w: TorchWeights) -> None:
    """Copies a ``HEKE_BVQA_resnet`` state dict (``spatial.*``, ``temporal.*``,
    ``group_conv_*``); call ``w.finish()`` afterwards to refuse leftover keys.

    ImageNet initialisation of one stream (as the original's pretraining
    does) is ``model.spatial.load_torch(w, allow_fc=True)`` instead.
    """
    self.spatial.load_torch(w.scoped("spatial."))
    self.temporal.load_torch(w.scoped("temporal."))
    load_group_convs(w, self)
