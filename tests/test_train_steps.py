"""One SSL-VQA and one ST-VQRL step on a tiny Swin: what they update, 1 vs 2 devices."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest
from flax import nnx
from jax.sharding import Mesh

from jvqa import parallel
from jvqa.models import registry
from jvqa.train import sslvqa, stvqrl
from jvqa.train import state as state_lib

TINY_SWIN = dict(embed_dim=8, depths=(1, 1), num_heads=(1, 2), frag_biases=(True, False),
                 window_size=(2, 4, 4), drop_path_rate=0.1)
CLIP = (4, 32, 32, 3)


def _config(use_unlabelled=True):
  c = ml_collections.ConfigDict()
  c.optim = dict(head_lr=1e-3, backbone_lr=1e-4, weight_decay=0.05, warmup_steps=0,
                 cosine_steps=10)
  # A larger ridge than SSL-VQA's keeps the tiny covariances well conditioned, so
  # 1 and 2 devices' different summation orders stay at rounding level.
  c.ssl = dict(tau=0.01, eps=1e-2, consistency_weight=1.0, transfer_weight=1.0, rank_weight=0.3,
               use_unlabelled=use_unlabelled)
  return c


def _ssl_models():
  spec = {"model": "sslvqa", "backbone": "swin3d", "backbone_kwargs": TINY_SWIN,
          "head": "vqa", "head_kwargs": {"hidden_features": 8}}
  return registry.build_model(spec, rngs=nnx.Rngs(params=0, dropout=1))


def _ssl_batch(b=4, pristine=4, seed=0):
  rng = np.random.default_rng(seed)
  clips = lambda n: rng.integers(0, 256, (n, *CLIP), dtype=np.uint8)
  return {"labelled": {"view1": clips(b), "view2": clips(b),
                       "mos": rng.uniform(0.2, 1.0, b).astype(np.float32)},
          "unlabelled": {"view1": clips(b), "view2": clips(b)},
          "pristine": clips(pristine)}


def _mesh(n):
  return Mesh(np.asarray(jax.devices()[:n]), (parallel.DATA_AXIS,))


def _run_ssl_step(n_devices, use_unlabelled=True, sgd=False):
  config = _config(use_unlabelled)
  model, params = state_lib.split(_ssl_models())
  before = jax.tree.map(np.array, params)  # the step donates the state's buffers
  # SGD(1) makes the update the gradient itself; AdamW's first update is about
  # lr * sign(gradient), which turns rounding noise in a near-zero gradient into lr.
  tx = optax.sgd(1.0) if sgd else sslvqa.optimizer(config, params)
  mesh = _mesh(n_devices)
  state = parallel.replicate(state_lib.create(params, tx), mesh)
  batch = jax.tree.map(lambda x: parallel.shard_batch(x, mesh), _ssl_batch())
  step = sslvqa.make_step(config, model, tx)
  new_state, metrics = step(state, batch, jax.random.key(3))
  return before, jax.device_get(new_state.params), jax.device_get(metrics)


@pytest.fixture(scope="module")
def one_device_step():
  return _run_ssl_step(1, sgd=True)


def test_ssl_step_updates_both_models(one_device_step):
  before, after, metrics = one_device_step
  assert np.isfinite(metrics["loss"])
  assert metrics["transfer_mask"] in (0.0, 1.0)
  assert metrics["lr_factor"] == 0.0 or metrics["lr_factor"] == pytest.approx(1.0)
  assert metrics["loss"] == pytest.approx(metrics["loss_regressor"] + metrics["loss_distance"],
                                          rel=1e-5)
  for part in ("regressor", "distance"):
    moved = jax.tree.map(lambda a, b: float(np.abs(np.asarray(a) - np.asarray(b)).max()),
                         before[part], after[part])
    assert max(jax.tree.leaves(moved)) > 0, part


def test_ssl_step_on_two_devices_equals_one(one_device_step):
  assert jax.device_count() >= 2
  before, after1, metrics1 = one_device_step
  _, after2, metrics2 = _run_ssl_step(2, sgd=True)
  update = max(float(np.abs(np.asarray(a) - np.asarray(b)).max())
               for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(after1)))
  assert update > 1e-3  # so the tolerance below is far under the step itself
  for key in metrics1:
    assert metrics2[key] == pytest.approx(metrics1[key], rel=1e-5, abs=1e-6), key
  # float32 sums in another order (per-device batches, attention chunks) differ by ~1e-6 after
  # a step of lr 1; a wrong reduction over devices would move parameters by ~the update itself.
  for a, b in zip(jax.tree.leaves(after1), jax.tree.leaves(after2)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)


def test_ssl_step_without_unlabelled_data_has_no_transfer_terms():
  _, _, metrics = _run_ssl_step(1, use_unlabelled=False)
  assert "transfer_mask" not in metrics
  assert np.isfinite(metrics["loss"])


@pytest.mark.parametrize("train_projection", [True, False])
def test_stvqrl_step_trains_the_projection_head_only_if_asked(train_projection):
  config = ml_collections.ConfigDict()
  config.model = dict(backbone="swin3d", backbone_kwargs=TINY_SWIN, projection_dim=8,
                      train_projection=train_projection)
  config.optim = dict(lr=1e-3, min_lr=1e-4, cosine_steps=10, weight_decay=0.05)
  config.loss = dict(tau=0.1, eps=1e-4)
  config.seed = 0
  module = stvqrl.init_model(stvqrl.model_spec(config), 0)
  model, params = state_lib.split(module)
  tx = stvqrl.optimizer(config, params)
  state = state_lib.create(params, tx)
  rng = np.random.default_rng(0)
  batch = {"video": jnp.asarray(rng.integers(0, 256, (2, 3, 2, *CLIP), dtype=np.uint8))}
  new_state, metrics = jax.jit(lambda s, b, r: stvqrl.train_step(
      model, tx, stvqrl.schedule(config), 0.1, 1e-4, s, b, r))(state, batch, jax.random.key(0))
  assert np.isfinite(float(metrics["loss"]))
  assert float(metrics["lr"]) == pytest.approx(1e-3)
  head_moved = not np.allclose(params["head"]["fc_hid"]["kernel"][...],
                               new_state.params["head"]["fc_hid"]["kernel"][...])
  assert head_moved == train_projection
  assert not np.allclose(params["backbone"]["patch_embed"]["proj"]["kernel"][...],
                         new_state.params["backbone"]["patch_embed"]["proj"]["kernel"][...])
