"""Losses and scores of ST-VQRL and SSL-VQA, in pure ``jax.numpy``.

- ``mvg``: the NIQE-like multivariate-Gaussian distance between token sets,
  its similarity exp(−τ·d), pristine statistics and SSL-VQA's Q_D score.
- ``contrastive``: ST-VQRL's contrastive loss over versions of a scene.
- ``correlation``: FAST-VQA's ``plcc_loss``.
- ``transfer``: SSL-VQA's switched knowledge transfer between Q_R and Q_D.
- ``heke``: BVQA-HEKE's knowledge ensemble loss (SmoothL1 per head, diversity term).
"""

from jvqa.losses.contrastive import pairwise_distances, stvqrl_contrastive_loss
from jvqa.losses.correlation import plcc_loss, rank_loss
from jvqa.losses.heke import ensemble_diversity, knowledge_ensemble_loss, knowledge_fit_loss
from jvqa.losses.mvg import (distance_score, mvg_distance, mvg_params,
                             mvg_token_distance, pristine_statistics, safe_sqrt,
                             similarity, token_set)
from jvqa.losses.transfer import TransferLoss, knowledge_transfer_loss

__all__ = [
    "TransferLoss",
    "distance_score",
    "ensemble_diversity",
    "knowledge_ensemble_loss",
    "knowledge_fit_loss",
    "knowledge_transfer_loss",
    "mvg_distance",
    "mvg_params",
    "mvg_token_distance",
    "pairwise_distances",
    "plcc_loss",
    "pristine_statistics",
    "rank_loss",
    "safe_sqrt",
    "similarity",
    "stvqrl_contrastive_loss",
    "token_set",
]
