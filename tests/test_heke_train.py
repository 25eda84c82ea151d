"""HEKE pretraining: plateau rule vs PyTorch's, one step on 1 vs 2 devices, the item, the job."""

import json
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from jax.sharding import Mesh

import jvqa.models
from jvqa import parallel
from jvqa.data import heke_items
from jvqa.data import pipeline as jvqa_pipeline
from jvqa.data.items import Failure
from jvqa.io import video
from jvqa.models import heke as heke_models
from jvqa.models import store
from jvqa.train import heke, sources

from configs import heke_pretrain

TINY = dict(widths=(4, 8, 8, 8), layers=(1, 1, 1, 1), hidden=2)


# --------------------------------------------------------------------------
# The plateau rule.


class TorchReduceLROnPlateau:
  """PyTorch's ``ReduceLROnPlateau`` (mode 'min', threshold_mode 'rel', eps 1e-8), rewritten."""

  def __init__(self, lr, factor, patience, cooldown, min_lr, threshold=1e-4):
    self.lr, self.factor, self.patience = lr, factor, patience
    self.cooldown, self.min_lr, self.threshold = cooldown, min_lr, threshold
    self.best, self.bad, self.cooldown_counter = float("inf"), 0, 0

  def step(self, metric):
    if metric < self.best * (1 - self.threshold):
      self.best, self.bad = metric, 0
    else:
      self.bad += 1
    if self.cooldown_counter > 0:
      self.cooldown_counter -= 1
      self.bad = 0
    if self.bad > self.patience:
      new_lr = max(self.lr * self.factor, self.min_lr)
      if self.lr - new_lr > 1e-8:
        self.lr = new_lr
      self.cooldown_counter = self.cooldown
      self.bad = 0


def _epoch_losses(num_epochs, seed=0):
  """Improving, then noisy plateaus, then a flat tail: every branch of the rule."""
  rng = np.random.default_rng(seed)
  trend = np.concatenate([np.linspace(10, 6, 8), 6 + 0.3 * rng.standard_normal(40),
                          np.full(num_epochs - 48, 5.0)])
  return trend[:num_epochs]


@pytest.mark.parametrize("factor,patience,cooldown", [(0.8, 3, 1), (0.5, 1, 0), (0.7, 0, 2)])
def test_plateau_matches_pytorch_stepped_per_epoch_on_the_summed_loss(factor, patience,
                                                                       cooldown):
  lr, min_lr, steps_per_epoch, num_epochs = 1e-3, 8e-5, 3, 80
  tx = heke.plateau(factor=factor, patience=patience, cooldown=cooldown, min_scale=min_lr / lr,
                    rtol=1e-4, accumulation_size=steps_per_epoch)
  update = jax.jit(lambda s, v: tx.update({"w": jnp.ones(())}, s, value=v))
  state = tx.init({"w": jnp.zeros(())})
  torch = TorchReduceLROnPlateau(lr, factor, patience, cooldown, min_lr)
  rng = np.random.default_rng(1)
  used, want = [], []
  for epoch_loss in _epoch_losses(num_epochs):
    # Batch losses of the epoch: the epoch's value times per-batch noise, summed like the original.
    batch = epoch_loss * rng.uniform(0.8, 1.2, steps_per_epoch)
    for value in batch:
      scaled, state = update(state, jnp.float32(value))
      used.append(lr * float(scaled["w"]))
      want.append(torch.lr)
    torch.step(float(np.float32(batch).astype(np.float64).sum()))
  np.testing.assert_allclose(used, want, rtol=1e-5)
  assert min(want) < lr  # the sequence did reduce the rate
  if factor == 0.5:
    assert min(want) == pytest.approx(min_lr)  # ... down to the floor


def test_optax_reduce_on_plateau_alone_is_one_epoch_early():
  """Why ``plateau`` adapts optax: with patience 3 it reduces on the 3rd bad epoch."""
  tx = optax.contrib.reduce_on_plateau(factor=0.5, patience=3, rtol=1e-4)
  state = tx.init({"w": jnp.zeros(())})
  torch = TorchReduceLROnPlateau(1.0, 0.5, 3, 0, 0.0)
  scales, lrs = [], []
  for value in [5.0, 6.0, 6.0, 6.0, 6.0, 6.0]:
    _, state = tx.update({"w": jnp.ones(())}, state, value=value)
    torch.step(value)
    scales.append(float(state.scale))
    lrs.append(torch.lr)
  assert scales != lrs
  assert scales.index(0.5) == lrs.index(0.5) - 1


def test_optimizer_is_torch_adam_with_l2_weight_decay():
  config = heke_pretrain.get_config("paper")
  tx = heke.optimizer(config, steps_per_epoch=100)
  w = np.array([0.5, -1.0, 2.0], np.float64)
  grads = [np.array([0.1, 0.2, -0.3]), np.array([-0.05, 0.4, 0.1])]
  params, state = {"w": jnp.asarray(w, jnp.float32)}, None
  state = tx.init(params)
  m = v = np.zeros(3)
  for t, g in enumerate(grads, 1):
    # torch.optim.Adam(lr, weight_decay): g += wd * p, then Adam with bias correction.
    gt = g + 1e-4 * w
    m, v = 0.9 * m + 0.1 * gt, 0.999 * v + 0.001 * gt * gt
    w = w - 1e-3 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    updates, state = tx.update({"w": jnp.asarray(g, jnp.float32)}, state, params, value=1.0)
    params = optax.apply_updates(params, updates)
  np.testing.assert_allclose(np.asarray(params["w"]), w, rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------
# One step, 1 vs 2 devices.


def _mesh(n):
  return Mesh(np.asarray(jax.devices()[:n]), (parallel.DATA_AXIS,))


def _tiny_model(seed=0):
  """A tiny HekeR2p1d with numpy-drawn weights.

  JAX's random initialisers compile for minutes on a loaded 2-core CPU; the
  steps under test do not depend on how the weights were drawn.
  """
  spec = {"model": "heke_r2p1d", "kwargs": TINY}
  model = store.blank_model(spec)
  rng = np.random.default_rng(seed)
  for path, node in nnx.iter_graph(model):
    if isinstance(node, nnx.Param):
      shape, name = node.get_value().shape, path[-1]
      value = (1.0 + 0.1 * rng.standard_normal(shape) if name == "scale"
               else 0.3 * rng.standard_normal(shape))
      node.set_value(jnp.asarray(value, jnp.float32))
    elif isinstance(node, nnx.BatchStat) and path[-1] == "var":
      node.set_value(jnp.ones(node.get_value().shape, jnp.float32))
  return model


def _batch(b=4, seed=0):
  rng = np.random.default_rng(seed)
  return {"video": rng.integers(0, 256, (b, 8, 16, 16, 3), dtype=np.uint8),
          "labels": rng.uniform(0.5, 9.0, (b, 4)).astype(np.float32)}


def _run_step(n_devices, tx=None):
  config = heke_pretrain.get_config("")
  model, params, stats = heke.split(_tiny_model())
  before = jax.tree.map(np.array, (params, stats))  # the step donates the state's buffers
  # SGD(1) makes the update the gradient itself; Adam's first update is about
  # lr * sign(gradient), which turns rounding noise in a near-zero gradient into lr.
  tx = tx or optax.sgd(1.0)
  mesh = _mesh(n_devices)
  state = parallel.replicate(heke.create_state(params, stats, tx), mesh)
  batch = jax.tree.map(lambda x: parallel.shard_batch(x, mesh), _batch())
  new_state, metrics = heke.make_step(config, model, tx)(state, batch, jax.random.key(0))
  return before, jax.device_get((new_state.params, new_state.batch_stats)), jax.device_get(
      metrics)


@pytest.fixture(scope="module")
def one_device_step():
  return _run_step(1)


def test_step_updates_weights_and_running_statistics(one_device_step):
  (params0, stats0), (params1, stats1), metrics = one_device_step
  assert np.isfinite(metrics["loss"])
  assert metrics["loss"] == pytest.approx(sum(metrics[f"loss_{heke.metric_name(k)}"]
                                              for k in heke_models.KNOWLEDGE), rel=1e-5)
  moved = [float(np.abs(np.asarray(a) - np.asarray(b)).max())
           for a, b in zip(jax.tree.leaves(params0), jax.tree.leaves(params1))]
  assert min(moved) >= 0 and max(moved) > 0
  # Running statistics: PyTorch's momentum 0.1 towards the batch's (biased, Flax's) variance.
  module = _tiny_model()
  y = np.asarray(module.resnet.stem[0](jvqa_pipeline.normalize(_batch()["video"])), np.float64)
  mean, var = y.mean(axis=(0, 1, 2, 3)), y.var(axis=(0, 1, 2, 3))
  assert np.allclose(np.asarray(stats0["resnet"]["stem"][1]["mean"][...]), 0)
  np.testing.assert_allclose(stats1["resnet"]["stem"][1]["mean"][...], 0.1 * mean,
                             rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(stats1["resnet"]["stem"][1]["var"][...], 0.9 + 0.1 * var,
                             rtol=1e-4)


def test_step_on_two_devices_equals_one(one_device_step):
  assert jax.device_count() >= 2
  _, after1, metrics1 = one_device_step
  _, after2, metrics2 = _run_step(2)
  for key in metrics1:
    assert metrics2[key] == pytest.approx(metrics1[key], rel=1e-5, abs=1e-6), key
  for a, b in zip(jax.tree.leaves(after1), jax.tree.leaves(after2)):
    # Gradients are O(1): the devices' different summation orders (BatchNorm's
    # statistics are over the global batch) differ at the 1e-6 level.
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=2e-5)


def test_step_with_the_jobs_optimizer_reports_the_learning_rate():
  config = heke_pretrain.get_config("")
  _, _, metrics = _run_step(1, heke.optimizer(config, steps_per_epoch=2))
  assert metrics["lr"] == pytest.approx(config.optim.lr)
  assert np.isfinite(metrics["loss"])


# --------------------------------------------------------------------------
# The item.


def _video_bytes(tmp_path, name, frames):
  path = os.path.join(tmp_path, f"{name}.mp4")
  video.encode_frames(frames, path, fps=25, crf=0)
  with open(path, "rb") as f:
    return f.read()


def _record(tmp_path, name, *, num_frames=24, height=32, width=48, seed=0, scores=None,
            mos=50.0):
  rng = np.random.default_rng(seed)
  frames = rng.integers(0, 256, (num_frames, height, width, 3), dtype=np.uint8)
  scores = np.asarray(scores if scores is not None else
                      rng.uniform([0.01, 0.01, 1.0, 0.6], [0.3, 0.3, 900.0, 1.0], (3, 4)),
                      np.float32)
  return {"video": _video_bytes(tmp_path, name, frames), "name": name.encode(),
          "reference": b"ref", "distortion": b"noise", "width": width, "height": height,
          "fps": 25.0, "num_frames": num_frames,
          "segments": np.asarray([0, 5, 9][:len(scores)], np.int32), "fr_scores": scores,
          "mos": np.float32(mos)}


def _heke_labels(raw):
  """The original's commented formulas (``dataset.py`` L472-476), then ``suppress``."""
  gmsd, st_gmsd, st_rred, ms_ssim = (float(x) for x in raw)
  labels = [gmsd / 0.33 * 8.5 + 0.5, st_gmsd / 0.36 * 8.5 + 0.5, st_rred / 1000 * 8.5 + 0.5,
            0.5 + 8.5 * (1 - (ms_ssim - 0.258) / (1 - 0.258))]
  return [0.5 - 0.1 * (0.5 - x) if x < 0.5 else 10 + 0.1 * (x - 10) if x > 10 else x
          for x in labels]


def test_item_labels_are_the_segments_rescaled_soft_clamped_scores(tmp_path):
  # Segment 1 has ST-RRED 2000 and MS-SSIM 0.1: both above 10 after rescaling.
  raw = np.asarray([[0.05, 0.02, 30.0, 0.95], [0.2, 0.3, 2000.0, 0.1], [0.0, 0.0, 0.0, 1.0]],
                   np.float32)
  record = _record(tmp_path, "a", scores=raw)
  item = heke_items.HekeItem(size=None)
  for k in range(3):
    element = item.load(record, k)
    np.testing.assert_allclose(element["labels"], _heke_labels(raw[k]), rtol=1e-6)
    assert element["labels"].dtype == np.float32
  assert heke_items.HekeItem(size=None).load(record, 1)["labels"][2] == pytest.approx(
      10 + 0.1 * (0.5 + 17.0 - 10))
  plain = heke_items.HekeItem(size=None, rescale=False, clamp=False).load(record, 1)
  np.testing.assert_allclose(plain["labels"], raw[1])


def test_item_clip_is_the_segments_frames(tmp_path):
  record = _record(tmp_path, "b")
  item = heke_items.HekeItem(size=None)
  for k, start in enumerate(record["segments"]):
    want = video.decode_frames(record["video"], start + 2 * np.arange(8))
    got = item.load(record, k)["video"]
    assert got.dtype == np.uint8 and got.shape == (8, 32, 48, 3)
    np.testing.assert_array_equal(got, want)
  # A random draw is one of the segments, with that segment's labels.
  drawn = item.random_map(record, np.random.default_rng(3))
  k = next(i for i in range(3) if np.array_equal(drawn["labels"], item.load(record, i)["labels"]))
  np.testing.assert_array_equal(drawn["video"], item.load(record, k)["video"])
  # The ResNet variant's frame pair (s, s + 2).
  pair = heke_items.HekeItem(size=None, frames=2).load(record, 1)["video"]
  np.testing.assert_array_equal(pair, video.decode_frames(record["video"], [5, 7]))


def test_item_transposes_portrait_and_resizes(tmp_path):
  record = _record(tmp_path, "p", height=48, width=32, num_frames=16)
  frames = video.decode_frames(record["video"], np.arange(8) * 2)
  got = heke_items.HekeItem(size=None).load(record, 0)["video"]
  np.testing.assert_array_equal(got, frames.transpose(0, 2, 1, 3))
  half = heke_items.HekeItem(size=(16, 24)).load(record, 0)["video"]
  landscape = frames.transpose(0, 2, 1, 3).astype(np.float64)
  box = landscape.reshape(8, 16, 2, 24, 2, 3).mean(axis=(2, 4))
  np.testing.assert_array_equal(half, np.floor(box + 1e-4).astype(np.uint8))
  assert heke_items.HekeItem(size=(20, 30)).load(record, 0)["video"].shape == (8, 20, 30, 3)


def test_item_of_an_undecodable_record_is_a_failure(tmp_path):
  record = dict(_record(tmp_path, "c"), video=b"not a video")
  out = heke_items.HekeItem(size=None).random_map(record, np.random.default_rng(0))
  assert isinstance(out, Failure) and out.name == "c"


def test_stream_draws_every_video_once_per_epoch(tmp_path):
  records = [_record(tmp_path, f"v{i}", seed=i, num_frames=20) for i in range(4)]
  with heke_items.heke_stream(records, batch_size=2, seed=0, num_epochs=1,
                              item=heke_items.HekeItem(size=None)) as stream:
    batches = list(stream)
  assert len(batches) == 2
  assert batches[0]["video"].shape == (2, 8, 32, 48, 3)
  labels = np.concatenate([b["labels"] for b in batches])
  for record in records:  # each video's labels are one of its segments'
    options = [heke_items.segment_labels(s) for s in record["fr_scores"]]
    assert sum(any(np.allclose(row, o) for o in options) for row in labels) == 1


# --------------------------------------------------------------------------
# The job.


@pytest.fixture(scope="module")
def fake_sources(tmp_path_factory):
  tmp = tmp_path_factory.mktemp("videos")
  train = [_record(tmp, f"t{i}", seed=i, num_frames=20) for i in range(4)]
  val = [_record(tmp, f"q{i}", seed=10 + i, num_frames=20, mos=10.0 * i) for i in range(4)]
  return {"fake:train": train, "fake:val": val}


def _job_config(num_epochs):
  config = heke_pretrain.get_config("")
  config.data.train = "fake:train"
  config.validation.source = "fake:val"
  config.validation.num_snippets = 2
  config.validation.higher_is_better = True
  config.batch_size = 2
  config.num_epochs = num_epochs
  config.model.kwargs = dict(TINY)
  config.data.size = None
  return config


@pytest.fixture()
def patched_sources(monkeypatch, fake_sources):
  monkeypatch.setattr(sources, "open_source", lambda name, data_dir="": fake_sources[name])


def _weights(model_dir):
  model = jvqa.models.load(model_dir)
  return jax.tree.map(np.asarray, nnx.to_pure_dict(nnx.state(model)))


@pytest.mark.slow
def test_run_writes_the_model_and_resumes_to_the_same_weights(tmp_path, patched_sources,
                                                              capsys):
  straight = heke.run(_job_config(2), str(tmp_path / "straight"))
  assert straight == str(tmp_path / "straight" / "model")
  model = jvqa.models.load(straight)
  assert isinstance(model, heke_models.HekeR2p1d)
  with open(tmp_path / "straight" / "metrics.jsonl") as f:
    records = [json.loads(line) for line in f]
  assert [r["step"] for r in records] == [1, 2, 3, 4]
  for r in records:
    assert ("val_srcc_gmsd" in r) == (r["step"] in (2, 4)), r
  assert "val_srcc_combined" in records[-1] and "lr" in records[0]
  # Running statistics were trained and saved.
  stem_mean = np.asarray(model.resnet.stem[1].mean[...])
  assert not np.allclose(stem_mean, 0)

  # A run stopped after its first epoch (checkpoint of step 2, no model yet) resumes.
  workdir = tmp_path / "resumed"
  heke.run(_job_config(1), str(workdir))
  shutil.rmtree(workdir / "model")
  capsys.readouterr()
  resumed = heke.run(_job_config(2), str(workdir))
  assert "resuming from the checkpoint of step 2" in capsys.readouterr().out
  want, got = _weights(straight), _weights(resumed)
  for a, b in zip(jax.tree.leaves(want), jax.tree.leaves(got)):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
  # A trained workdir is not retrained.
  assert heke.run(_job_config(2), str(workdir)) == resumed
  assert "already trained" in capsys.readouterr().out


def test_run_refuses_a_training_set_smaller_than_a_batch(tmp_path, patched_sources):
  config = _job_config(1)
  config.batch_size = 8
  with pytest.raises(heke.ConfigError, match="fewer than one batch"):
    heke.run(config, str(tmp_path))


def test_config_variants_and_job_registration():
  from jvqa import jobs
  assert jobs.resolve("heke_pretrain") is heke.run
  paper = heke_pretrain.get_config("paper")
  assert (paper.batch_size, paper.num_epochs, paper.optim.lr, paper.optim.weight_decay) == (
      8, 100, 1e-3, 1e-4)
  assert tuple(paper.data.size) == (216, 384) and paper.validation.source == "live_vqa:train"
  assert heke.model_spec(paper) == {"model": "heke_r2p1d", "kwargs": {}}
  with pytest.raises(ValueError, match="unknown variant"):
    heke_pretrain.get_config("nope")
