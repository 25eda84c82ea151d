"""Schedules, parameter groups and the split/bind of modules (jvqa.train.state)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from jvqa.errors import ConfigError
from jvqa.train import state as state_lib


def test_lambda_warmup_cosine_is_the_original_formula():
  warm, max_iter = 77, 930
  factor = state_lib.lambda_warmup_cosine(warm, max_iter)

  def original(it):  # semisupervised_training.py's p_lambda
    return it / warm if it <= warm else 0.5 * (1 + math.cos(math.pi * (it - warm) / max_iter))

  for it in (0, 1, 40, 77, 78, 500, 930, 960):
    assert float(factor(it)) == pytest.approx(original(it), rel=1e-6, abs=1e-7), it
  assert float(factor(0)) == 0.0  # the first update has no learning rate


def test_cosine_annealing_matches_torch_closed_form_and_rises_past_t_max():
  lr = state_lib.cosine_annealing(1e-4, 90, 1e-5)
  assert float(lr(0)) == pytest.approx(1e-4)
  assert float(lr(45)) == pytest.approx(1e-5 + 0.5 * 9e-5)
  assert float(lr(90)) == pytest.approx(1e-5)
  assert float(lr(93)) > float(lr(90))  # the 31st epoch overshoots T_max


class _Pair(nnx.Module):

  def __init__(self, rngs):
    self.regressor = nnx.Dict(head=nnx.Linear(2, 1, rngs=rngs), backbone=nnx.Linear(2, 2, rngs=rngs))
    self.distance = nnx.Linear(2, 2, rngs=rngs)
    self.dropout = nnx.Dropout(0.5, rngs=rngs)


def test_param_groups_by_longest_prefix():
  _, params = state_lib.split(_Pair(nnx.Rngs(0)))
  labels = state_lib.param_groups(params, {"regressor/head": "head", "regressor": "x"}, "backbone")
  flat = {"/".join(str(getattr(k, "key", k)) for k in path): v
          for path, v in jax.tree_util.tree_leaves_with_path(labels)}
  by_prefix = {name.split("/")[0] + "/" + name.split("/")[1]: v for name, v in flat.items()}
  assert by_prefix["regressor/head"] == "head"
  assert by_prefix["regressor/backbone"] == "x"
  assert all(v == "backbone" for name, v in flat.items() if name.startswith("distance"))


def test_grouped_optimizer_updates_each_group_at_its_rate():
  _, params = state_lib.split(_Pair(nnx.Rngs(0)))
  tx = state_lib.grouped_optimizer(params, {"head": optax.sgd(1.0), "backbone": optax.set_to_zero()},
                                   {"regressor/head": "head"}, "backbone")
  state = state_lib.create(params, tx)
  grads = jax.tree.map(jnp.ones_like, params)
  new = state_lib.apply_gradients(state, grads, tx)
  old_leaves = dict(jax.tree_util.tree_leaves_with_path(params))
  for path, value in jax.tree_util.tree_leaves_with_path(new.params):
    moved = not np.allclose(value, old_leaves[path])
    assert moved == ("head" in jax.tree_util.keystr(path)), jax.tree_util.keystr(path)
  assert int(new.step) == 1
  with pytest.raises(ConfigError, match="no optimizer"):
    state_lib.grouped_optimizer(params, {"head": optax.sgd(1.0)}, {"regressor/head": "head"},
                                "backbone")


def test_bind_reseeds_dropout_from_the_key_and_eval_is_deterministic():
  model, params = state_lib.split(_Pair(nnx.Rngs(0)))
  x = jnp.ones((64,))

  @jax.jit
  def train(params, key):
    return state_lib.bind(model, params, key).dropout(x)

  a, b = train(params, jax.random.key(1)), train(params, jax.random.key(1))
  c = train(params, jax.random.key(2))
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)
  assert 0 < int((a == 0).sum()) < 64
  np.testing.assert_array_equal(jax.jit(lambda p: state_lib.bind(model, p).dropout(x))(params), x)
