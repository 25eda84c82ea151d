"""A backbone plus a quality head: FAST-VQA's evaluator and SSL-VQA's Q_R.

Also SSL-VQA's pair of models: the regressor Q_R ("primary") and the
distance-based model Q_D ("auxillary" in the original), a bare backbone whose
tokens are compared with the pristine statistics (the distance itself is a
loss-side quantity, see the SSL-VQA trainer).
"""

import jax
from flax import nnx

from jvqa.models.torch_weights import TorchWeights


class VqaModel(nnx.Module):
  """``backbone`` then ``head``; ``__call__`` gives the clip score (B,).

  PyTorch keys: ``backbone.*`` and ``vqa_head.*`` (FAST-VQA's ``BaseEvaluator``).
  """

  def __init__(self, backbone: nnx.Module, head: nnx.Module):
    self.backbone = backbone
    self.head = head

  def features(self, x: jax.Array) -> jax.Array:
    """The backbone's token/feature map (B, T', H', W', C)."""
    return self.backbone(x)

  def score_map(self, x: jax.Array) -> jax.Array:
    """The head's score per token (B, T', H', W', 1)."""
    return self.head(self.backbone(x))

  def __call__(self, x: jax.Array) -> jax.Array:
    return self.head.score(self.backbone(x))

  def load_torch(self, w: TorchWeights) -> None:
    self.backbone.load_torch(w.scoped("backbone."))
    self.head.load_torch(w.scoped("vqa_head."))


class SslVqaModels(nnx.Module):
  """SSL-VQA's two models: ``regressor`` (Q_R) and ``distance`` (Q_D's backbone).

  ``__call__`` returns ``{"regressor": (B,) scores, "tokens": (B, T', H', W', C)}``,
  the second being what Q_D's distance to the pristine statistics is computed on.
  """

  def __init__(self, regressor: VqaModel, distance: nnx.Module):
    self.regressor = regressor
    self.distance = distance

  def __call__(self, x: jax.Array) -> dict:
    return {"regressor": self.regressor(x), "tokens": self.distance(x)}
