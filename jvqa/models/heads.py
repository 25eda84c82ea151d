"""Quality heads that sit on a backbone's token or feature map.

- ``VQAHead``: FAST-VQA's head (Dropout → 1×1×1 conv C→64 → GELU → Dropout →
  1×1×1 conv 64→1), a score per token; the clip score is its mean.
- ``ProjectionHead``: ST-VQRL's projection (1-d conv C→64, ReLU) of the tokens
  before the MVG distance; the original builds a Dropout(0.5) but never applies it.

Inputs are channel-last maps (B, T, H, W, C). A 1×1×1 convolution is a Linear
on the channel axis, so both heads use ``nnx.Linear`` (kernel (C_in, C_out)).
"""

import jax
import jax.numpy as jnp
from flax import nnx

from jvqa.models.inits import TORCH_KERNEL_INIT, torch_bias_init
from jvqa.models.torch_weights import TorchWeights, load_conv_as_linear


class VQAHead(nnx.Module):
  """FAST-VQA ``VQAHead``; ``__call__`` gives the score map (B, T, H, W, 1)."""

  def __init__(self, in_features: int = 768, hidden_features: int = 64,
               dropout_rate: float = 0.5, *, dtype=jnp.float32, rngs: nnx.Rngs):
    self.in_features = in_features
    self.dropout = nnx.Dropout(dropout_rate, rngs=rngs)
    self.fc_hid = nnx.Linear(in_features, hidden_features, dtype=dtype, rngs=rngs,
                             kernel_init=TORCH_KERNEL_INIT,
                             bias_init=torch_bias_init(in_features))
    self.fc_last = nnx.Linear(hidden_features, 1, dtype=dtype, rngs=rngs,
                              kernel_init=TORCH_KERNEL_INIT,
                              bias_init=torch_bias_init(hidden_features))

  def __call__(self, features: jax.Array) -> jax.Array:
    x = self.dropout(features)
    x = jax.nn.gelu(self.fc_hid(x), approximate=False)  # torch nn.GELU() is the erf form
    return self.fc_last(self.dropout(x))

  def score(self, features: jax.Array) -> jax.Array:
    """The clip score (B,): the mean of the score map over T, H and W."""
    score_map = self(features)
    return jnp.mean(score_map.astype(jnp.float32), axis=tuple(range(1, score_map.ndim)))

  def load_torch(self, w: TorchWeights) -> None:
    load_conv_as_linear(w, "fc_hid", self.fc_hid)
    load_conv_as_linear(w, "fc_last", self.fc_last)


class ProjectionHead(nnx.Module):
  """ST-VQRL ``projection``: tokens (B, T, H, W, C) → (B, T·H·W, out) after ReLU."""

  def __init__(self, in_features: int = 768, out_features: int = 64, *,
               dtype=jnp.float32, rngs: nnx.Rngs):
    self.in_features = in_features
    self.fc_hid = nnx.Linear(in_features, out_features, dtype=dtype, rngs=rngs,
                             kernel_init=TORCH_KERNEL_INIT,
                             bias_init=torch_bias_init(in_features))

  def __call__(self, features: jax.Array) -> jax.Array:
    tokens = features.reshape(features.shape[0], -1, features.shape[-1])
    return jax.nn.relu(self.fc_hid(tokens))

  def score(self, features: jax.Array) -> jax.Array:
    """Same as ``__call__`` (every head's ``score`` is what a ``VqaModel`` returns)."""
    return self(features)

  def load_torch(self, w: TorchWeights) -> None:
    load_conv_as_linear(w, "fc_hid", self.fc_hid)

