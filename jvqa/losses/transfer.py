"""SSL-VQA's knowledge transfer between its two models on unlabelled videos.

On an unlabelled batch u with views u′ and u″, each model's self-consistency
is ε_R = L(Q_R(u′), Q_R(u″)) and ε_D = L(Q_D(u′), Q_D(u″)) (L = ``plcc_loss``,
no gradient). The less self-consistent model learns from the other on view u′:

  m = 1 if ε_R > ε_D else 0   (one decision per batch)
  L_R += m · L(Q_R(u′), sg[Q_D(u′)])
  L_D += (1 − m) · L(sg[Q_R(u′)], Q_D(u′))

(``semisupervised_training.py:262-282``). The consistency terms
L(Q_R(u′), Q_R(u″)) and L(Q_D(u′), Q_D(u″)) that the original also adds to
L_R and L_D are NOT part of this function; the trainer adds them.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jvqa.losses.correlation import plcc_loss


class TransferLoss(NamedTuple):
  """Knowledge-transfer terms of one unlabelled batch (all scalars)."""
  regressor: jax.Array  # m·L(Q_R(u′), sg[Q_D(u′)]), to add to Q_R's loss
  distance: jax.Array  # (1−m)·L(sg[Q_R(u′)], Q_D(u′)), to add to Q_D's loss
  mask: jax.Array  # m as float 0/1: 1 where Q_R is the student
  eps_regressor: jax.Array  # ε_R, Q_R's inconsistency between the views
  eps_distance: jax.Array  # ε_D, Q_D's inconsistency between the views


@jax.jit
def knowledge_transfer_loss(regressor_u1: jax.Array, regressor_u2: jax.Array,
                            distance_u1: jax.Array,
                            distance_u2: jax.Array) -> TransferLoss:
  """SSL-VQA's per-batch switched knowledge transfer (consistency terms excluded).

  Args:
    regressor_u1: (B,) Q_R scores of view u′.
    regressor_u2: (B,) Q_R scores of view u″.
    distance_u1: (B,) Q_D scores of view u′.
    distance_u2: (B,) Q_D scores of view u″.

  Returns:
    A ``TransferLoss``; ``regressor`` has gradient only through
    ``regressor_u1`` and ``distance`` only through ``distance_u1``.
  """
  sg = jax.lax.stop_gradient
  eps_r = plcc_loss(sg(regressor_u1), sg(regressor_u2))
  eps_d = plcc_loss(sg(distance_u1), sg(distance_u2))
  mask = jnp.where(eps_r > eps_d, 1.0, 0.0).astype(eps_r.dtype)
  regressor = mask * plcc_loss(regressor_u1, sg(distance_u1))
  distance = (1.0 - mask) * plcc_loss(sg(regressor_u1), distance_u1)
  return TransferLoss(regressor=regressor, distance=distance, mask=mask,
                      eps_regressor=eps_r, eps_distance=eps_d)
