"""PyTorch's default parameter initialisers, for modules whose originals keep them.

``nn.Linear``/``nn.ConvNd`` draw weights with kaiming_uniform(a=√5), which is
U(±1/√fan_in), and biases from U(±1/√fan_in) with the same fan-in.
"""

import jax
import jax.numpy as jnp
from flax import nnx

TORCH_KERNEL_INIT = nnx.initializers.variance_scaling(1 / 3, "fan_in", "uniform")


def torch_bias_init(fan_in: int):
  """PyTorch's default bias init for a layer with ``fan_in`` inputs: U(±1/√fan_in)."""
  bound = 1.0 / fan_in ** 0.5

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)
  return init
