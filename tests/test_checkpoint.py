"""Checkpoint round trips: sharded NNX state on 2 devices, RNG, iterator state."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from jvqa import parallel
from jvqa.checkpoint import Checkpointer
from jvqa.errors import InputError


class _Tiny(nnx.Module):

  def __init__(self, rngs):
    self.dense = nnx.Linear(4, 2, rngs=rngs)
    self.norm = nnx.BatchNorm(2, rngs=rngs)

  def __call__(self, x):
    return self.norm(self.dense(x))


def _train_state(seed):
  model = _Tiny(nnx.Rngs(seed))
  optimizer = nnx.Optimizer(model, optax.adamw(1e-2), wrt=nnx.Param)
  return model, optimizer


def _step(model, optimizer, x):
  loss, grads = nnx.value_and_grad(lambda m: jnp.mean(m(x) ** 2))(model)
  optimizer.update(model, grads)
  return loss


def test_round_trip_sharded_state_rng_and_iterator(tmp_path):
  assert jax.device_count() == 2
  mesh = parallel.make_mesh()
  model, optimizer = _train_state(0)
  x = parallel.shard_batch(np.random.default_rng(0).normal(size=(4, 4)).astype(np.float32), mesh)
  assert len(x.sharding.device_set) == 2
  _, state = nnx.split((model, optimizer))
  nnx.update((model, optimizer), parallel.replicate(state, mesh))
  step = nnx.jit(_step)
  for _ in range(3):
    step(model, optimizer, x)
  _, state = nnx.split((model, optimizer))
  rng = jax.random.key(7)
  iterator_state = {"index": 12, "seed": 3}

  with Checkpointer(tmp_path / "ckpt", max_to_keep=2) as ckpt:
    for s in (1, 2, 3):
      assert ckpt.save(s, state, rng=rng, data_state=iterator_state, extra={"best": 0.5})
  # keep-N removed step 1.
  ckpt = Checkpointer(tmp_path / "ckpt", max_to_keep=2)
  assert ckpt.all_steps() == [2, 3]

  fresh_model, fresh_optimizer = _train_state(1)
  _, target = nnx.split((fresh_model, fresh_optimizer))
  target = parallel.replicate(target, mesh)
  restored = ckpt.restore(target)
  ckpt.close()
  assert restored.step == 3
  assert restored.data_state == iterator_state
  assert restored.extra == {"best": 0.5}
  assert jax.random.key_data(restored.rng).tolist() == jax.random.key_data(rng).tolist()
  leaves_saved = jax.tree.leaves(state)
  leaves_restored = jax.tree.leaves(restored.state)
  assert len(leaves_saved) == len(leaves_restored)
  for a, b in zip(leaves_saved, leaves_restored):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert b.sharding.is_equivalent_to(a.sharding, a.ndim)
  # The restored state trains on exactly as the original does.
  nnx.update((fresh_model, fresh_optimizer), restored.state)
  np.testing.assert_allclose(step(fresh_model, fresh_optimizer, x), step(model, optimizer, x), rtol=1e-6)


def test_bytes_iterator_state_and_no_rng(tmp_path):
  state = {"w": jnp.arange(3.0)}
  with Checkpointer(tmp_path / "c", async_save=False) as ckpt:
    ckpt.save(5, state, data_state=b"\x00grain-state\xff")
    restored = ckpt.restore({"w": jnp.zeros(3)})
  assert restored.rng is None
  assert restored.data_state == b"\x00grain-state\xff"
  np.testing.assert_array_equal(restored.state["w"], [0.0, 1.0, 2.0])


def test_restore_missing_checkpoint_names_directory(tmp_path):
  with Checkpointer(tmp_path / "empty") as ckpt:
    with pytest.raises(InputError, match="empty: no checkpoint"):
      ckpt.restore({"w": jnp.zeros(3)})


def test_relative_directory_is_made_absolute(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  with Checkpointer("rel") as ckpt:
    assert ckpt.directory == str(tmp_path / "rel")
    ckpt.save(0, {"w": jnp.ones(2)})
  assert (tmp_path / "rel" / "0").is_dir()
