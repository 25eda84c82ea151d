"""FAST-VQA's PLCC loss, the L(a, b) of every SSL-VQA term."""

import jax
import jax.numpy as jnp

from jvqa.losses.mvg import safe_sqrt

_STD_EPS = 1e-8


def _standardise(x: jax.Array) -> jax.Array:
  mean = jnp.mean(x)
  std = safe_sqrt(jnp.mean(jnp.square(x - mean)))  # population std
  return (x - mean) / (std + _STD_EPS)


@jax.jit
def plcc_loss(pred: jax.Array, target: jax.Array) -> jax.Array:
  """FAST-VQA ``plcc_loss``: a correlation loss, invariant to scale and offset.

  With â, b̂ the inputs standardised over the batch (population std, +1e-8 on
  the std) and ρ = mean(â·b̂):
  L = ½·[ mean((â − b̂)²)/4 + mean((ρ·â − b̂)²)/4 ]; gradients flow through ρ.
  A constant input gives a zero gradient through its std, not NaN.

  The statistics are over the whole batch. Under ``jax.jit`` with the batch
  sharded over devices, ``jnp.mean`` is the global (all-device) mean, which is
  what this loss needs; under ``pmap``/``shard_map`` it would be per device.

  Args:
    pred: (B,) predictions (any shape of B elements: all are reduced).
    target: (B,) targets, as many elements as ``pred``.

  Returns:
    The scalar loss: 0 for perfectly correlated inputs, 0.5 for perfectly
    anti-correlated ones.
  """
  pred = jnp.ravel(pred)
  target = jnp.ravel(target)
  if pred.shape != target.shape:
    raise ValueError(f"pred and target sizes differ: {pred.shape} vs {target.shape}")
  a = _standardise(pred)
  b = _standardise(target)
  rho = jnp.mean(a * b)
  loss0 = jnp.mean(jnp.square(a - b)) / 4
  loss1 = jnp.mean(jnp.square(rho * a - b)) / 4
  return (loss0 + loss1) / 2


@jax.jit
def rank_loss(pred: jax.Array, target: jax.Array) -> jax.Array:
  """FAST-VQA ``rank_loss``: the pairwise hinge on misordered pairs, normalised.

  ``sum_ij relu((p_i - p_j) sign(t_j - t_i)) / (B (B - 1)) / (1 + max_ij ...)``.
  SSL-VQA defines it but trains without it; FAST-VQA adds 0.3 of it to
  ``plcc_loss``. Unlike ``plcc_loss``, whose gradient vanishes as the
  correlation nears -1 (its value (3 - 2 rho - rho^2) / 8 is flat there), it
  keeps pushing a model that starts out anti-correlated.

  Args:
    pred: (B,) predictions.
    target: (B,) targets.

  Returns:
    The scalar loss (0 when every pair is ordered like the targets).
  """
  pred = jnp.ravel(pred)
  target = jnp.ravel(target)
  if pred.shape != target.shape:
    raise ValueError(f"pred and target sizes differ: {pred.shape} vs {target.shape}")
  b = pred.shape[0]
  pairs = jax.nn.relu((pred[:, None] - pred[None, :]) * jnp.sign(target[None, :] - target[:, None]))
  scale = 1 + jnp.max(pairs)
  return jnp.sum(pairs) / b / (b - 1) / scale
