"""Train state, optimizers and learning-rate schedules of the trainers.

A model is kept as ``(graphdef, params, rest)`` (``nnx.split``): ``params``
are trained, ``rest`` (dropout RNG streams) is only read, and the jitted
step is a pure function of ``(TrainState, batch, rng)``. ``bind`` rebuilds
the module inside a step with its dropout streams reseeded from the step's
key, so a step never depends on hidden RNG state (and resuming from a
checkpoint replays the same draws).
"""

import math
from collections.abc import Callable, Mapping
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax
from flax import nnx

from jvqa.errors import ConfigError


@flax.struct.dataclass
class TrainState:
  """What a checkpoint holds of a run: step, parameters, optimizer state."""
  step: jax.Array
  params: Any
  opt_state: Any


@flax.struct.dataclass
class Model:
  """A split module: static ``graphdef`` (train mode), ``eval_graphdef``, ``rest``."""
  graphdef: Any = flax.struct.field(pytree_node=False)
  eval_graphdef: Any = flax.struct.field(pytree_node=False)
  rest: Any


def split(module: nnx.Module) -> tuple[Model, Any]:
  """``(Model, params)`` of ``module``; the module itself is not changed."""
  module.train()
  graphdef, params, rest = nnx.split(module, nnx.Param, ...)
  module.eval()
  eval_graphdef, _, _ = nnx.split(module, nnx.Param, ...)
  module.train()
  return Model(graphdef, eval_graphdef, rest), params


def bind(model: Model, params, rng: jax.Array | None = None) -> nnx.Module:
  """The module with ``params``: train mode with dropout keys from ``rng``, else eval mode.

  ``copy=True`` gives fresh variables at the current trace level, so the
  dropout streams can advance inside ``jax.grad`` of a jitted step.
  """
  if rng is None:
    return nnx.merge(model.eval_graphdef, params, model.rest, copy=True)
  module = nnx.merge(model.graphdef, params, model.rest, copy=True)
  # A Dropout keeps the stream it was built with: 'dropout' from
  # nnx.Rngs(params=..., dropout=...), 'default' from nnx.Rngs(seed).
  default, dropout = jax.random.split(rng)
  nnx.reseed(module, default=default, dropout=dropout)
  return module


def lambda_warmup_cosine(warmup_steps: int, decay_steps: int) -> Callable[[jax.Array], jax.Array]:
  """SSL-VQA's LambdaLR factor per update (``semisupervised_training.py``).

  ``it / warm`` for ``it <= warm``, else ``0.5 (1 + cos(pi (it - warm) / decay))``;
  the cosine's denominator is the whole run (``max_iter``), not the part after
  the warm-up, and the first update has factor 0, as in the original.
  optax's ``warmup_cosine_decay_schedule`` differs in both, hence this one.
  """
  warm = max(int(warmup_steps), 0)
  decay = max(int(decay_steps), 1)

  def factor(count):
    it = jnp.asarray(count, jnp.float32)
    ramp = it / warm if warm else jnp.ones_like(it)
    cosine = 0.5 * (1.0 + jnp.cos(math.pi * (it - warm) / decay))
    return jnp.where(it <= warm, ramp, cosine)

  return factor


def cosine_annealing(base_lr: float, t_max: int, eta_min: float) -> Callable[[jax.Array], jax.Array]:
  """PyTorch ``CosineAnnealingLR`` stepped per update, in closed form.

  ``eta_min + (base - eta_min) (1 + cos(pi t / t_max)) / 2``. Past ``t_max``
  it rises again, as the original's 31st epoch does (optax's
  ``cosine_decay_schedule`` would hold ``eta_min`` instead).
  """
  t_max = max(int(t_max), 1)

  def lr(count):
    t = jnp.asarray(count, jnp.float32)
    return eta_min + (base_lr - eta_min) * 0.5 * (1.0 + jnp.cos(math.pi * t / t_max))

  return lr


def adamw(schedule, weight_decay: float) -> optax.GradientTransformation:
  """PyTorch's AdamW defaults (betas 0.9/0.999, eps 1e-8), decay on every parameter."""
  return optax.adamw(schedule, b1=0.9, b2=0.999, eps=1e-8, weight_decay=weight_decay)


def param_groups(params, rules: Mapping[str, str], default: str) -> Any:
  """A label per parameter for ``optax.multi_transform``.

  ``rules`` maps a path prefix (``"regressor/head"``) to a group name; the
  longest matching prefix wins, other parameters get ``default``.
  """
  def label(path, _):
    name = "/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)
    best = max((p for p in rules if name == p or name.startswith(p + "/")), key=len,
               default=None)
    return rules[best] if best is not None else default

  return jax.tree_util.tree_map_with_path(label, params)


def grouped_optimizer(params, groups: Mapping[str, optax.GradientTransformation],
                      rules: Mapping[str, str], default: str) -> optax.GradientTransformation:
  """``optax.multi_transform`` over ``param_groups``; a group may be ``optax.set_to_zero()``."""
  labels = param_groups(params, rules, default)
  used = set(jax.tree.leaves(labels))
  missing = used - set(groups)
  if missing:
    raise ConfigError(f"no optimizer for parameter group(s) {sorted(missing)}")
  return optax.multi_transform(dict(groups), labels)


def create(params, tx: optax.GradientTransformation) -> TrainState:
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params))


def apply_gradients(state: TrainState, grads, tx: optax.GradientTransformation) -> TrainState:
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  return TrainState(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                    opt_state=opt_state)
