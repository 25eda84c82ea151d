"""HEKE's quality regressor on frozen features: ``FC_network``, its targets and training.

The original (``demo_finetune_VQA.py`` / ``demo_crossDB_VQA.py``, reference
§4.3):

* ``FCNetwork`` = ``FC_network``: Linear(D→128), ELU, Linear(128→32), ELU,
  Linear(32→1), Xavier-normal weights (untruncated, as
  ``torch.nn.init.xavier_normal_``) and zero biases, applied to every
  snippet; a video's score is the mean over its snippets.
* Targets: every score of the database min-max mapped to [1, 9.5]; MOS
  databases flipped to a DMOS sense with ``10.5 − s`` (``targets``).
* Training: SmoothL1 (β = 1, mean) = ``optax.huber_loss(delta=1)``; PyTorch
  ``Adam(lr, weight_decay)``, whose decay is an L2 term added to the
  gradient *before* the Adam moments (``optimizer``; not AdamW); lr 1e-4,
  weight decay 1e-4, 300 epochs, no schedule; each epoch shuffles the
  training videos and drops the last incomplete batch (``drop_last``). A
  training set smaller than the batch is used as one batch (jvqa's choice:
  the original would train on nothing).

**Model selection** (jvqa's deviation): the original evaluates the *test*
split after every epoch and keeps the epoch of the best test SRCC, which
makes its reported numbers optimistic (§7.7). ``fit`` instead picks the
epoch of the best SRCC on a *validation* set the caller holds out of the
training side (``jvqa.heke.splits.validation_split``: 20% of the training
references, or of the videos for UGC), strictly better to replace (the
original's ``>``); without validation data it keeps the last epoch. The
per-epoch predictions on any ``monitors`` (e.g. the test set) are returned
too, so the original's test-selected number can still be computed and
reported beside it, for comparison only.

The whole run (every epoch, its shuffle, the Adam steps over its batches,
the validation SRCC and the best-so-far parameters) is one jitted
``lax.scan`` over epochs around a ``lax.scan`` over batches: the features
are small, and a Python loop would be dominated by dispatch.
"""

from __future__ import annotations

import dataclasses
import functools

from flax import nnx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy import stats

from jvqa.models.video_resnet import XAVIER_NORMAL

TARGET_LOW, TARGET_HIGH = 1.0, 9.5
FLIP = TARGET_LOW + TARGET_HIGH  # 10.5: a mapped MOS s becomes the DMOS 10.5 − s.


def targets(mos, higher_is_better: bool, *, low: float | None = None,
            high: float | None = None) -> np.ndarray:
  """Scores mapped to [1, 9.5] by ``1 + 8.5·(s − low)/(high − low)``, DMOS sense.

  Args:
    mos: the published scores.
    higher_is_better: True for a MOS: the mapped score is flipped to 10.5 − s.
    low, high: the mapping's ends (default: min and max of ``mos``, the
      original's whole-database statistics).

  Returns:
    float32 targets, higher = worse.
  """
  mos = np.asarray(mos, np.float64)
  low = float(np.min(mos)) if low is None else float(low)
  high = float(np.max(mos)) if high is None else float(high)
  if not high > low:
    raise ValueError(f"cannot map scores onto [1, 9.5]: they span [{low}, {high}]")
  t = TARGET_LOW + (TARGET_HIGH - TARGET_LOW) * (mos - low) / (high - low)
  return (FLIP - t if higher_is_better else t).astype(np.float32)


class FCNetwork(nnx.Module):
  """``FC_network``: a per-snippet MLP D → 4·hidden → hidden → 1, mean over snippets.

  Args:
    dim: D, the feature size of a snippet.
    hidden: 32 (the first layer has 4·hidden units).
    rngs: the weights' initialisation.
  """

  def __init__(self, dim: int, hidden: int = 32, *, rngs: nnx.Rngs):
    def linear(i, o):
      return nnx.Linear(i, o, kernel_init=XAVIER_NORMAL, bias_init=nnx.initializers.zeros,
                        rngs=rngs)
    self.fc1 = linear(dim, 4 * hidden)
    self.fc2 = linear(4 * hidden, hidden)
    self.fc3 = linear(hidden, 1)

  def snippet_scores(self, x: jax.Array) -> jax.Array:
    """Per-snippet scores ``(..., T)`` of features ``(..., T, D)``."""
    x = jax.nn.elu(self.fc1(x))
    x = jax.nn.elu(self.fc2(x))
    return self.fc3(x)[..., 0]

  def __call__(self, x: jax.Array) -> jax.Array:
    """Video scores ``(B,)`` of features ``(B, T, D)``: the snippets' mean."""
    return self.snippet_scores(x).mean(axis=-1)


def optimizer(lr: float, weight_decay: float) -> optax.GradientTransformation:
  """PyTorch's ``Adam(lr, weight_decay)``: L2 added to the gradient, then Adam."""
  return optax.chain(optax.add_decayed_weights(weight_decay), optax.scale_by_adam(),
                     optax.scale(-lr))


@dataclasses.dataclass(frozen=True)
class FitOptions:
  """The training numbers (the original's defaults for the paper's runs)."""
  epochs: int = 300
  lr: float = 1e-4
  weight_decay: float = 1e-4
  batch_size: int = 16
  hidden: int = 32
  seed: int = 12318  # the original re-seeds with it before every split.


@dataclasses.dataclass
class FitResult:
  """What ``fit`` returns.

  Attributes:
    model: the regressor of the selected epoch.
    best_epoch: that epoch, 0-based.
    loss: ``(epochs,)`` mean training loss of each epoch.
    val_srcc: ``(epochs,)`` validation SRCC per epoch (None without validation).
    monitors: name -> ``(epochs, n)`` predictions per epoch.
  """
  model: FCNetwork
  best_epoch: int
  loss: np.ndarray
  val_srcc: np.ndarray | None
  monitors: dict


def _pearson(a: jax.Array, b: jax.Array) -> jax.Array:
  a, b = a - a.mean(), b - b.mean()
  return (a * b).sum() / jnp.sqrt((a * a).sum() * (b * b).sum())


def _srcc_to_ranks(pred: jax.Array, target_ranks: jax.Array) -> jax.Array:
  """SRCC of ``pred`` against precomputed (average) target ranks; −2 if ``pred`` is flat.

  Predictions are ranked ordinally, which equals average ranking when they
  have no ties (floats from an MLP); a constant prediction ranks nothing.
  """
  ranks = jnp.argsort(jnp.argsort(pred)).astype(jnp.float32)
  srcc = _pearson(ranks, target_ranks)
  return jnp.where((jnp.ptp(pred) > 0) & jnp.isfinite(srcc), srcc, -2.0)


@functools.partial(jax.jit, static_argnames=("graphdef", "epochs", "batch_size", "lr",
                                             "weight_decay"))
def _train(graphdef, params, x, y, x_val, val_ranks, monitors, key, *, epochs, batch_size,
           lr, weight_decay):
  """Every epoch in one program; see the module docstring."""
  tx = optimizer(lr, weight_decay)
  n = x.shape[0]
  num_batches = n // batch_size

  def apply(p, features):
    return nnx.merge(graphdef, p)(features)

  def loss_fn(p, xb, yb):
    return optax.huber_loss(apply(p, xb), yb, delta=1.0).mean()

  def step(carry, idx):
    p, opt_state = carry
    loss, grads = jax.value_and_grad(loss_fn)(p, x[idx], y[idx])
    updates, opt_state = tx.update(grads, opt_state, p)
    return (optax.apply_updates(p, updates), opt_state), loss

  def epoch(carry, inputs):
    p, opt_state, best, best_score, best_epoch = carry
    e, k = inputs
    order = jax.random.permutation(k, n)[:num_batches * batch_size]
    (p, opt_state), losses = jax.lax.scan(step, (p, opt_state),
                                          order.reshape(num_batches, batch_size))
    if x_val is None:
      score = e.astype(jnp.float32)  # no validation: the last epoch wins.
    else:
      score = _srcc_to_ranks(apply(p, x_val), val_ranks)
    better = score > best_score
    best = jax.tree.map(lambda b, q: jnp.where(better, q, b), best, p)
    carry = (p, opt_state, best, jnp.where(better, score, best_score),
             jnp.where(better, e, best_epoch))
    return carry, (losses.mean(), score, {k_: apply(p, v) for k_, v in monitors.items()})

  carry = (params, tx.init(params), params, jnp.float32(-jnp.inf), jnp.int32(-1))
  keys = jax.random.split(key, epochs)
  (_, _, best, _, best_epoch), (loss, scores, preds) = jax.lax.scan(
      epoch, carry, (jnp.arange(epochs, dtype=jnp.int32), keys))
  return best, best_epoch, loss, scores, preds


def fit(x, y, *, x_val=None, y_val=None, monitors: dict | None = None,
        options: FitOptions = FitOptions()) -> FitResult:
  """Trains ``FCNetwork`` on features ``x (V, T, D)`` and targets ``y (V,)``.

  Args:
    x, y: the training videos' features and targets (``targets``).
    x_val, y_val: the validation videos the epoch is selected on (both or
      neither; fewer than 3 videos count as none).
    monitors: name -> features ``(n, T, D)`` to predict after every epoch.
    options: the training numbers.

  Returns:
    A ``FitResult``.
  """
  x = jnp.asarray(x, jnp.float32)
  y = jnp.asarray(y, jnp.float32)
  if x.ndim != 3 or y.shape != x.shape[:1] or x.shape[0] == 0:
    raise ValueError(f"fit needs features (V, T, D) and targets (V,), V >= 1; got "
                     f"{x.shape} and {y.shape}")
  val_ranks = None
  if x_val is not None and len(x_val) >= 3:
    val_ranks = jnp.asarray(stats.rankdata(np.asarray(y_val, np.float64)), jnp.float32)
    x_val = jnp.asarray(x_val, jnp.float32)
  else:
    x_val = None
  monitors = {k: jnp.asarray(v, jnp.float32) for k, v in (monitors or {}).items()}
  model = FCNetwork(x.shape[-1], options.hidden, rngs=nnx.Rngs(options.seed))
  graphdef, params = nnx.split(model)
  batch_size = max(1, min(int(options.batch_size), x.shape[0]))
  best, best_epoch, loss, scores, preds = _train(
      graphdef, params, x, y, x_val, val_ranks, monitors,
      jax.random.fold_in(jax.random.key(options.seed), 1), epochs=int(options.epochs),
      batch_size=batch_size, lr=float(options.lr), weight_decay=float(options.weight_decay))
  scores = np.asarray(scores, np.float64)
  return FitResult(model=nnx.merge(graphdef, best), best_epoch=int(best_epoch),
                   loss=np.asarray(loss, np.float64),
                   val_srcc=None if x_val is None else np.where(scores < -1, np.nan, scores),
                   monitors={k: np.asarray(v, np.float64) for k, v in preds.items()})


@functools.partial(jax.jit, static_argnums=0)
def _predict(graphdef, params, x):
  return nnx.merge(graphdef, params)(x)


def predict(model: FCNetwork, x) -> np.ndarray:
  """Video scores ``(V,)`` (DMOS sense, target scale) of features ``(V, T, D)``."""
  graphdef, params = nnx.split(model)
  return np.asarray(_predict(graphdef, params, jnp.asarray(x, jnp.float32)), np.float64)
