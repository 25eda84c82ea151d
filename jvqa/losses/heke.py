"""BVQA-HEKE's heterogeneous knowledge ensemble loss (``demo_train_baseline.py`` L21-35).

Each of the four heads regresses its own knowledge (a full-reference metric
mapped to a DMOS-like label, ``jvqa.fr.rescale``) with PyTorch's default
SmoothL1 (β = 1, mean over the batch), and the sum of the four is reduced by
``eps`` times a negative-correlation diversity term: the spread of the four
predictions of each sample (unbiased std across the heads), summed over the
batch (Brown et al. 2005, "Managing diversity in regression ensembles")::

  L = Σ_k SmoothL1(pred[:, k], y[:, k]) − eps · Σ_b std_k(pred[b, :])

The heads and labels share one order, [GMSD, ST-GMSD, ST-RRED, MS-SSIM]
(``jvqa.models.heke.KNOWLEDGE``). The original's ``eps`` defaults to 0.
"""

import jax
import jax.numpy as jnp
import optax

from jvqa.losses.mvg import safe_sqrt


def knowledge_fit_loss(pred: jax.Array, labels: jax.Array) -> jax.Array:
  """Σ over heads of SmoothL1(β=1) averaged over the batch; ``pred``, ``labels`` (B, K).

  A NaN label (MS-SSIM is undefined where a contrast-structure term goes
  negative) is left out: each head averages over its valid labels only, and
  the missing ones give no gradient. With every label valid this is exactly
  the original's mean over the batch.
  """
  valid = jnp.isfinite(labels)
  # SmoothL1 with beta 1 is the Huber loss with delta 1.
  per_sample = optax.huber_loss(pred, jnp.where(valid, labels, pred), delta=1.0)
  count = jnp.maximum(valid.sum(axis=0), 1)
  return (jnp.where(valid, per_sample, 0.0).sum(axis=0) / count).sum()


def ensemble_diversity(pred: jax.Array) -> jax.Array:
  """Σ over the batch of the unbiased std across the K heads of ``pred`` (B, K).

  The square root has a zero (not NaN) gradient where all heads agree.
  """
  k = pred.shape[-1]
  centred = pred - pred.mean(axis=-1, keepdims=True)
  variance = jnp.sum(centred * centred, axis=-1) / (k - 1)
  return safe_sqrt(variance).sum()


def knowledge_ensemble_loss(pred: jax.Array, labels: jax.Array, eps: float = 0.0) -> jax.Array:
  """HEKE's loss: ``knowledge_fit_loss − eps · ensemble_diversity``.

  Args:
    pred: (B, K) head outputs.
    labels: (B, K) rescaled, soft-clamped knowledge labels, same order.
    eps: weight of the diversity term (0 in the original; its help suggests
      1e-3 to 1e-2).

  Returns:
    The scalar loss.
  """
  pred = jnp.asarray(pred, jnp.float32)
  labels = jnp.asarray(labels, jnp.float32)
  if pred.ndim != 2 or pred.shape != labels.shape:
    raise ValueError(f"pred and labels must both be (B, K), got {pred.shape} and "
                     f"{labels.shape}")
  loss = knowledge_fit_loss(pred, labels)
  if eps:
    loss = loss - eps * ensemble_diversity(pred)
  return loss
