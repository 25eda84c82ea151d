"""ST-VQRL's contrastive loss on MVG distances (``STVQRL/niqe_loss.py``).

A batch holds B scenes, each in K versions (distortions and the reference),
each seen in two temporal views. For scene b, the anchor F1[b, i] (view 1,
version i) has one positive, F2[b, i], and K − 1 negatives, the other
versions F2[b, j] of the same scene; there are no cross-scene negatives. With
s = exp(−τ·d) and d the MVG distance with a pseudo-inverse (ε = 1e-4):

  ℓ₁(b, i) = −log( s(F1[b,i], F2[b,i]) / Σ_j s(F1[b,i], F2[b,j]) ),
  ℓ₂(b, i) = the same with the views swapped,
  L = mean_b Σ_i (ℓ₁(b, i) + ℓ₂(b, i)) / K.

The denominator includes the positive.
"""

import functools

import jax
import jax.numpy as jnp

from jvqa.losses.mvg import mvg_distance, mvg_params


@functools.partial(jax.jit, static_argnames=("inverse",))
def pairwise_distances(f1: jax.Array, f2: jax.Array, *, eps: float = 1e-4,
                       inverse: str = "pinv") -> jax.Array:
  """Per-scene matrix of MVG distances between the versions of two views.

  Args:
    f1: (B, K, N, D) view-1 tokens.
    f2: (B, K, N, D) view-2 tokens.
    eps: ridge of A.
    inverse: "pinv" (ST-VQRL) or "solve".

  Returns:
    (B, K, K) with [b, i, j] = d(F1[b, i], F2[b, j]). Since d(F2[b, i],
    F1[b, j]) has the same A and δ up to sign, it is exactly [b, j, i].
  """
  mu1, cov1 = mvg_params(f1)
  mu2, cov2 = mvg_params(f2)
  return mvg_distance(mu1[:, :, None], cov1[:, :, None],
                      mu2[:, None, :], cov2[:, None, :], eps=eps, inverse=inverse)


@jax.jit
def stvqrl_contrastive_loss(f1: jax.Array, f2: jax.Array, *, tau: float = 0.1,
                            eps: float = 1e-4) -> jax.Array:
  """ST-VQRL's symmetric contrastive loss over versions of the same scene.

  Each −log ratio is computed stably as τ·d_ii + logsumexp_j(−τ·d_ij).

  Args:
    f1: (B, K, N, D) view-1 token sets of B scenes × K versions.
    f2: (B, K, N, D) view-2 token sets, version-aligned with f1.
    tau: multiplier of the distance in s = exp(−τ·d).
    eps: ridge of A in the pseudo-inverted MVG distance.

  Returns:
    The scalar loss mean_b Σ_i (ℓ₁ + ℓ₂)/K.
  """
  d = pairwise_distances(f1, f2, eps=eps, inverse="pinv")  # [b, i, j] = d(F1_i, F2_j)
  pos = tau * jnp.diagonal(d, axis1=-2, axis2=-1)  # (B, K)
  loss1 = pos + jax.nn.logsumexp(-tau * d, axis=-1)  # anchor F1_i, candidates F2_j
  loss2 = pos + jax.nn.logsumexp(-tau * d, axis=-2)  # anchor F2_i, candidates F1_j
  return jnp.mean(loss1 + loss2)
