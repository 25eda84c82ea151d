"""BVQA-HEKE: heterogeneous knowledge ensemble pretraining of a blind VQA encoder.

The encoder (R(2+1)D-18, or the ResNet-50 + ResNet-34 frame/difference pair)
and its four knowledge heads learn to predict, from one clip of a distorted
WELL-Set video, the four full-reference scores of that clip's segment
[GMSD, ST-GMSD, ST-RRED, MS-SSIM], rescaled and soft-clamped
(``jvqa.data.heke_items``); the loss is ``jvqa.losses.
knowledge_ensemble_loss`` (SmoothL1 per head minus ``eps`` times the heads'
spread). As ``demo_train_baseline.py`` of Sissuire/BVQA-HEKE (reference
§3.4):

* **Optimiser**: PyTorch's Adam with ``weight_decay`` (L2 added to the
  gradient before Adam, not AdamW): ``add_decayed_weights → scale_by_adam →
  plateau → scale(-lr)``.
* **Learning rate**: ``ReduceLROnPlateau(mode='min', factor, patience,
  cooldown, min_lr)`` stepped once per epoch on the epoch's summed training
  loss (``plateau``, on ``optax.contrib.reduce_on_plateau``).
* **BatchNorm**: train mode normalises with the batch's statistics (the
  global batch, all devices together) and updates the running ones
  (momentum 0.1); they are part of the train state and of its checkpoints.
* **Monitoring**: after every epoch, the completely blind SRCC of each head
  (snippet-averaged output against the score, ``jvqa.heke.blind``) on a VQA
  database (LIVE in the paper), logged to ``metrics.jsonl`` as
  ``val_srcc_<head>`` and printed.

The result is ``<workdir>/model``: the encoder and its heads as a
``jvqa.models`` directory (``jvqa.models.load``), which ``jvqa.heke.
features.extract`` reads. A workdir that already holds it is not retrained.
"""

import concurrent.futures
import dataclasses
import os
from collections.abc import Callable, Iterator
from typing import Any

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jvqa import parallel
from jvqa.data import heke_items, pipeline
from jvqa.data.scenes import text
from jvqa.errors import ConfigError, JvqaError
from jvqa.heke import blind, clips
from jvqa.heke.store import FeatureStore
from jvqa.losses import ensemble_diversity, knowledge_ensemble_loss
from jvqa.models import registry, store
from jvqa.models.heke import KNOWLEDGE
from jvqa.models.resnet import ResNet
from jvqa.train import loop, sources
from jvqa.train import state as state_lib

NAME = "heke_pretrain"
MODEL_DIR = "model"
# config.model.encoder -> the registry's model kind.
ENCODERS = {"r2p1d": "heke_r2p1d", "resnet": "heke_resnet"}
# The ResNet variant's element: a frame pair (s, s + stride).
PAIR_FRAMES = 2


# --------------------------------------------------------------------------
# Train state: parameters, BatchNorm statistics, optimizer.


@flax.struct.dataclass
class HekeState:
  """What a checkpoint holds: step, parameters, running BatchNorm statistics, optimizer."""
  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any


def split(module: nnx.Module) -> tuple[state_lib.Model, Any, Any]:
  """``(Model, params, batch_stats)`` of ``module`` (left in train mode).

  ``jvqa.train.state.split`` keeps BatchNorm statistics with the read-only
  rest; HEKE trains from scratch and must carry them from step to step.
  """
  module.train()
  graphdef, params, batch_stats, rest = nnx.split(module, nnx.Param, nnx.BatchStat, ...)
  module.eval()
  eval_graphdef = nnx.split(module, nnx.Param, nnx.BatchStat, ...)[0]
  module.train()
  return state_lib.Model(graphdef, eval_graphdef, rest), params, batch_stats


def apply(model: state_lib.Model, params, batch_stats, x: jax.Array, *, train: bool
          ) -> tuple[jax.Array, Any]:
  """``(scores (B, 4), batch_stats after the call)`` of normalised input ``x``.

  In train mode BatchNorm uses the batch's statistics and returns updated
  running ones; in eval mode it uses (and returns unchanged) the running ones.
  """
  graphdef = model.graphdef if train else model.eval_graphdef
  net = nnx.merge(graphdef, params, batch_stats, model.rest, copy=True)
  return net(x), nnx.state(net, nnx.BatchStat)


def create_state(params, batch_stats, tx: optax.GradientTransformation) -> HekeState:
  return HekeState(step=jnp.zeros((), jnp.int32), params=params, batch_stats=batch_stats,
                   opt_state=tx.init(params))


def plateau(*, factor: float, patience: int, cooldown: int, min_scale: float, rtol: float,
            accumulation_size: int) -> optax.GradientTransformationExtraArgs:
  """PyTorch's ``ReduceLROnPlateau`` (mode 'min', relative threshold) as an update scale.

  Stepped on every update's ``value`` (the batch loss), it acts once per
  ``accumulation_size`` updates on their mean; with one epoch of updates
  that is PyTorch's step on the epoch's summed loss (a relative test does
  not change when every value is divided by the same count). Two
  adaptations of ``optax.contrib.reduce_on_plateau`` make it PyTorch's rule
  (``tests/test_heke_train.py`` checks both against a reimplementation):

  * optax reduces when the count of bad epochs *reaches* its patience,
    PyTorch when it *exceeds* it: optax is given ``patience + 1``.
  * optax applies a new scale to the update that completes the epoch;
    PyTorch's scheduler steps after the epoch's last update, so the new rate
    starts with the next epoch: each update is scaled by the scale from
    before it.

  Args:
    factor: new scale = scale × factor (0.8).
    patience: bad epochs tolerated (PyTorch's meaning: reduce on the
      ``patience + 1``-th) (3).
    cooldown: epochs after a reduction during which bad epochs are not counted (1).
    min_scale: ``min_lr / lr``.
    rtol: relative threshold: better means below ``best × (1 − rtol)`` (1e-4).
    accumulation_size: updates per epoch.
  """
  inner = optax.contrib.reduce_on_plateau(
      factor=factor, patience=patience + 1, cooldown=cooldown, min_scale=min_scale,
      rtol=rtol, atol=0.0, accumulation_size=accumulation_size)

  def update(updates, state, params=None, *, value, **extra_args):
    del extra_args
    _, new_state = inner.update(updates, state, params, value=value)
    return jax.tree.map(lambda g: (state.scale * g).astype(g.dtype), updates), new_state

  return optax.GradientTransformationExtraArgs(inner.init, update)


def plateau_scale(opt_state) -> jax.Array:
  """The plateau scale the next update uses (1 without a ``plateau`` in the chain)."""
  found = optax.tree_utils.tree_get(opt_state, "ReduceLROnPlateauState")
  return jnp.asarray(1.0 if found is None else found.scale, jnp.float32)


def optimizer(config, steps_per_epoch: int) -> optax.GradientTransformationExtraArgs:
  """Torch-style Adam with L2 weight decay, the rate reduced on plateau."""
  o = config.optim
  return optax.chain(
      # torch.optim.Adam(weight_decay=wd) adds wd * param to the gradient before Adam.
      optax.add_decayed_weights(o.weight_decay),
      optax.scale_by_adam(b1=0.9, b2=0.999, eps=1e-8),
      plateau(factor=o.plateau_factor, patience=o.plateau_patience,
              cooldown=o.plateau_cooldown, min_scale=o.min_lr / o.lr, rtol=o.plateau_rtol,
              accumulation_size=steps_per_epoch),
      optax.scale(-o.lr))


# --------------------------------------------------------------------------
# The step.


def train_step(model: state_lib.Model, tx, lr: float, eps: float, state: HekeState, batch: dict,
               rng: jax.Array) -> tuple[HekeState, dict]:
  """One update on ``video`` (B, frames, H, W, 3) uint8 and ``labels`` (B, 4).

  Pure in ``(state, batch, rng)``; HEKE's models draw nothing (no dropout),
  so ``rng`` is unused.
  """
  del rng
  x = pipeline.normalize(batch["video"])
  y = batch["labels"]

  def loss_fn(params):
    pred, stats = apply(model, params, state.batch_stats, x, train=True)
    return knowledge_ensemble_loss(pred, y, eps), (pred, stats)

  (loss, (pred, stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  tx = optax.with_extra_args_support(tx)
  updates, opt_state = tx.update(grads, state.opt_state, state.params, value=loss)
  new_state = HekeState(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                        batch_stats=stats, opt_state=opt_state)
  per_head = optax.huber_loss(pred, y, delta=1.0).mean(axis=0)
  metrics = {"loss": loss, "lr": lr * plateau_scale(state.opt_state),
             "diversity": ensemble_diversity(pred) / pred.shape[0]}
  metrics.update({f"loss_{metric_name(k)}": per_head[i] for i, k in enumerate(KNOWLEDGE)})
  return new_state, metrics


def make_step(config, model: state_lib.Model, tx):
  """The jitted ``(state, batch, rng) -> (state, metrics)``, donating the state."""
  lr, eps = float(config.optim.lr), float(config.loss.eps)
  return jax.jit(lambda s, b, r: train_step(model, tx, lr, eps, s, b, r), donate_argnums=0)


def metric_name(head: str) -> str:
  """``ST-GMSD`` -> ``st_gmsd`` (metric and file names)."""
  return head.lower().replace("-", "_")


# --------------------------------------------------------------------------
# Model.


def model_spec(config) -> dict:
  """The registry spec of the configured HEKE model."""
  encoder = config.model.encoder
  if encoder not in ENCODERS:
    raise ConfigError(f"model.encoder {encoder!r}: expected one of {', '.join(ENCODERS)}")
  return {"model": ENCODERS[encoder], "kwargs": dict(config.model.kwargs)}


def _load_stream(stream: ResNet, directory: str, what: str) -> None:
  """Copies a converted ResNet model directory's weights (ImageNet) into ``stream``."""
  loaded = store.load(directory)
  if not isinstance(loaded, ResNet) or type(loaded.layers) is not type(stream.layers):
    raise ConfigError(f"model.{what} {directory}: not a ResNet encoder directory "
                      "(make one with `jvqa convert --arch resnet50|resnet34`)")
  weights = nnx.state(loaded, nnx.Any(nnx.Param, nnx.BatchStat))
  try:
    nnx.update(stream, weights)
  except (ValueError, KeyError, TypeError) as e:
    raise ConfigError(f"model.{what} {directory}: does not fit the stream ({e})") from None


def init_model(config, spec: dict) -> nnx.Module:
  """The model of ``spec``, initialised in one jitted program.

  The ResNet variant's streams then take the ImageNet weights of
  ``model.spatial_init`` / ``model.temporal_init`` when set, as the original's.
  """
  module = nnx.jit(lambda: registry.build_model(spec, rngs=nnx.Rngs(config.seed)))()
  if config.model.encoder == "resnet":
    for what, stream in (("spatial_init", module.spatial), ("temporal_init", module.temporal)):
      if config.model.get(what):
        _load_stream(stream, config.model.get(what), what)
  return module


def clip_frames(config) -> int:
  """Frames per element: ``data.frames`` (R(2+1)D) or a frame pair (ResNet)."""
  return PAIR_FRAMES if config.model.encoder == "resnet" else int(config.data.frames)


# --------------------------------------------------------------------------
# Data.


def _size(config):
  size = config.data.size
  return None if size is None else (int(size[0]), int(size[1]))


def train_stream(config, source, mesh) -> pipeline.Stream:
  item = heke_items.HekeItem(size=_size(config), frames=clip_frames(config),
                             stride=int(config.data.stride), rescale=config.data.rescale,
                             clamp=config.data.soft_clamp)
  return heke_items.heke_stream(
      source, batch_size=config.batch_size, seed=config.seed, item=item, mesh=mesh,
      options=pipeline.LoaderOptions(worker_count=config.data.workers,
                                     read_threads=config.data.read_threads))


def _dataset_higher_is_better(source):
  """The TFDS metadata's ``higher_is_better`` of a source (None if it has none)."""
  info = getattr(source, "dataset_info", None)
  return dict(getattr(info, "metadata", None) or {}).get("higher_is_better")


class Validation:
  """The original's per-epoch monitor: completely blind SRCC of each head on a VQA database.

  Every video is cut into the evaluation snippets of ``jvqa.heke.clips``
  (12 × 8 frames, or 20 frame pairs for the ResNet variant; box-averaged,
  normalised, portrait frames transposed as the original's loader does),
  the model scores them in eval mode (running BatchNorm statistics), and
  ``jvqa.heke.blind.completely_blind`` gives each head's SRCC against the
  score, sense-corrected by the database's ``higher_is_better``. Videos that
  cannot be decoded are left out (and named once).

  Args:
    config: the job's config (``validation``, ``model.encoder``, ``data.data_dir``).
    model: the split model.
    mesh: the device mesh (inputs are replicated on it).
  """

  def __init__(self, config, model: state_lib.Model, mesh):
    v = config.validation
    self.label = v.source
    self.source = sources.open_source(v.source, config.data.data_dir)
    hib = v.higher_is_better
    self.higher_is_better = _dataset_higher_is_better(self.source) if hib is None else hib
    self.resnet = config.model.encoder == "resnet"
    self.num_snippets = int(v.num_snippets) or (clips.RESNET_PAIRS if self.resnet
                                                else clips.SYNTHETIC_SNIPPETS)
    self.workers = max(int(v.workers), 1)
    self.mesh = mesh
    self._cache = {} if v.cache else None
    self._skipped: set[str] = set()
    self._run = jax.jit(lambda p, s, x: apply(model, p, s, x, train=False)[0])

  def _inputs(self, index: int) -> tuple[dict, np.ndarray | None, str | None]:
    """``(record without video, snippets or None, error or None)`` of record ``index``."""
    record = self.source[index]
    meta = {k: v for k, v in record.items() if k != "video"}
    try:
      n, name = int(record["num_frames"]), text(record["name"])
      if self.resnet:
        x = clips.load_pairs(record["video"], n, num_pairs=self.num_snippets, name=name)
      else:
        x = clips.load_snippets(record["video"], n, num_snippets=self.num_snippets, name=name)
    except (JvqaError, ValueError) as e:
      return meta, None, getattr(e, "reason", None) or str(e)
    if x.shape[-3] > x.shape[-2]:  # portrait: transposed to landscape (PIL TRANSPOSE).
      x = np.ascontiguousarray(np.swapaxes(x, -3, -2))
    return meta, x, None

  def _decoded(self) -> Iterator[tuple[dict, np.ndarray | None, str | None]]:
    """Every record's inputs in order, decoded a few ahead by threads (or from the cache)."""
    if self._cache is not None and len(self._cache) == len(self.source):
      yield from (self._cache[i] for i in range(len(self.source)))
      return
    with concurrent.futures.ThreadPoolExecutor(self.workers) as pool:
      ahead = 2 * self.workers
      futures = {i: pool.submit(self._inputs, i) for i in range(min(ahead, len(self.source)))}
      for i in range(len(self.source)):
        result = futures.pop(i).result()
        if i + ahead < len(self.source):
          futures[i + ahead] = pool.submit(self._inputs, i + ahead)
        if self._cache is not None:
          self._cache[i] = result
        yield result

  def __call__(self, params, batch_stats) -> dict[str, float]:
    """``{val_srcc_<head>: SRCC}`` for the four heads and their mean (``combined``)."""
    names, mos, scores = [], [], []
    replicated = parallel.replicated(self.mesh)
    for meta, x, error in self._decoded():
      name = text(meta.get("name", "?"))
      if x is None:
        if name not in self._skipped:
          print(f"{NAME}: validation skips {name}: {error}", flush=True)
          self._skipped.add(name)
        continue
      x = jax.make_array_from_process_local_data(replicated, x)
      scores.append(np.asarray(jax.device_get(self._run(params, batch_stats, x)), np.float32))
      names.append(name)
      mos.append(float(meta.get("mos", np.nan)))
    if not scores:
      raise ConfigError(f"validation source {self.label}: no video could be decoded")
    names = np.asarray(names)
    result = blind.completely_blind(FeatureStore(
        names=names, mos=np.asarray(mos, np.float32), references=names,
        scores=np.stack(scores), levels={},
        meta={"source": self.label, "higher_is_better": self.higher_is_better}))
    print(blind.format_blind(result, f"{NAME} validation {self.label}"), flush=True)
    return {f"val_srcc_{metric_name(k)}": v["srcc"] for k, v in result["heads"].items()}


def with_validation(step, validation: Callable | None, every: int):
  """``step`` followed, after every ``every``-th update, by ``validation``'s metrics."""
  if validation is None:
    return step

  def step_fn(state, batch, rng):
    state, metrics = step(state, batch, rng)
    if int(jax.device_get(state.step)) % every == 0:
      metrics = {**metrics, **validation(state.params, state.batch_stats)}
    return state, metrics

  return step_fn


# --------------------------------------------------------------------------
# The job.


@dataclasses.dataclass(frozen=True)
class Schedule:
  """Updates per epoch, in all, and between checkpoints."""
  steps_per_epoch: int
  num_steps: int
  save_every: int


def schedule(config, num_records: int) -> Schedule:
  """The run's length from the config and the training set's size."""
  spe = num_records // config.batch_size
  if spe < 1:
    raise ConfigError(f"{config.data.train}: {num_records} videos, fewer than one batch of "
                      f"{config.batch_size}")
  num_steps = int(config.num_steps) or int(config.num_epochs) * spe
  return Schedule(spe, num_steps, int(config.save_every) or spe)


def run(config, workdir: str) -> str:
  """Pretrains into ``workdir`` (resuming if it has checkpoints); returns the model dir."""
  model_dir = os.path.join(workdir, MODEL_DIR)
  if store.exists(model_dir):
    print(f"{NAME}: already trained: {model_dir}", flush=True)
    return model_dir
  parallel.maybe_initialize_distributed()
  mesh = parallel.make_mesh(tuple(config.mesh))
  spec = model_spec(config)
  module = init_model(config, spec)
  model, params, batch_stats = split(module)
  source = sources.open_source(config.data.train, config.data.data_dir)
  plan = schedule(config, len(source))
  tx = optimizer(config, plan.steps_per_epoch)
  state = parallel.replicate(create_state(params, batch_stats, tx), mesh)
  validation = Validation(config, model, mesh) if config.validation.source else None
  step = with_validation(make_step(config, model, tx), validation,
                         plan.steps_per_epoch * max(int(config.validation.every_epochs), 1))
  print(f"{NAME}: {len(source)} videos, {plan.steps_per_epoch} steps per epoch, "
        f"{plan.num_steps} steps", flush=True)
  with train_stream(config, source, mesh) as stream:
    data = loop.Data(next_batch=lambda _: next(stream), get_state=stream.get_state,
                     set_state=stream.set_state)
    state = loop.fit(name=NAME, workdir=workdir, state=state, step_fn=step, data=data,
                     num_steps=plan.num_steps, rng=jax.random.key(config.seed),
                     save_every=plan.save_every)
  nnx.update(module, jax.device_get(state.params))
  nnx.update(module, jax.device_get(state.batch_stats))
  store.save(model_dir, module, spec,
             info={"job": NAME, "steps": plan.num_steps, "train": config.data.train,
                   "knowledge": list(KNOWLEDGE)})
  print(f"{NAME}: model saved to {model_dir}", flush=True)
  return model_dir
