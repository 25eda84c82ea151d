"""SSL-VQA: the regressor Q_R and the distance model Q_D teaching each other.

Both models start from the ST-VQRL backbone (pretrained first in
``<workdir>/stvqrl`` when the config names no checkpoint). Per step, on a
labelled batch v (two quality-consistent views v', v'') and an unlabelled
batch u (u', u''), with L = ``plcc_loss`` and sg = stop-gradient::

  L_R = L(R(v'), y) + L(R(v'), R(v'')) + m L(R(u'), sg D(u')) + L(R(u'), R(u''))
  L_D = L(D(v'), y) + L(D(v'), D(v'')) + (1-m) L(sg R(u'), D(u')) + L(D(u'), D(u''))

where D(x) = exp(-tau d(P, tokens(x))) is the distance of a clip's tokens to
the pristine statistics P (pristine clips through Q_D's backbone, once per
step, under stop-gradient) and m = [L(R(u'), R(u'')) > L(D(u'), D(u''))]
(``jvqa.losses.knowledge_transfer_loss``). With ``ssl.use_unlabelled``
False, only the labelled terms remain (the original's ``flag = False``).
The two models' parameters are disjoint and every cross term is under
stop-gradient, so one gradient of L_R + L_D is each model's own gradient,
and one AdamW over parameter groups (head 1e-3, backbones 1e-4) is the
original's two optimizers.
"""

import dataclasses
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jvqa import parallel
from jvqa.data import distortions, pipeline, scenes as scenes_lib
from jvqa.data.items import Fragments
from jvqa.errors import ConfigError
from jvqa.losses import (distance_score, knowledge_transfer_loss, plcc_loss,
                         pristine_statistics, rank_loss, token_set)
from jvqa.models import registry, store
from jvqa.train import evaluate, loop, report, sources
from jvqa.train import state as state_lib

MODEL_DIR = "model"
PRETRAIN_DIR = "stvqrl"


@dataclasses.dataclass(frozen=True)
class LossOptions:
  """The static numbers of the step."""
  tau: float = 0.01  # Q_D = exp(-tau d) at training.
  eps: float = 1e-8  # ridge of the averaged covariance before its inverse.
  consistency: float = 1.0  # weight of the L(x', x'') terms (wt_cons).
  transfer: float = 1.0  # weight of the knowledge-transfer terms (wt_stab).
  rank: float = 0.0  # weight of FAST-VQA's rank_loss added to the supervised terms.
  use_unlabelled: bool = True


def schedule_factor(config):
  """The LambdaLR factor of both models (warm-up, then the original's cosine)."""
  return state_lib.lambda_warmup_cosine(config.optim.warmup_steps, config.optim.cosine_steps)


def optimizer(config, params) -> optax.GradientTransformation:
  """AdamW with the head at ``head_lr`` and both backbones at ``backbone_lr``."""
  factor = schedule_factor(config)
  wd = config.optim.weight_decay
  return state_lib.grouped_optimizer(
      params,
      {"head": state_lib.adamw(lambda c: config.optim.head_lr * factor(c), wd),
       "backbone": state_lib.adamw(lambda c: config.optim.backbone_lr * factor(c), wd)},
      {"regressor/head": "head"}, "backbone")


def train_step(model: state_lib.Model, tx, lr_fn, opts: LossOptions,
               state: state_lib.TrainState, batch: dict, rng: jax.Array):
  """One update of both models; pure in ``(state, batch, rng)``."""
  lab = batch["labelled"]
  views = [lab["view1"], lab["view2"]]
  if opts.use_unlabelled:
    views += [batch["unlabelled"]["view1"], batch["unlabelled"]["view2"]]
  clips = pipeline.normalize(jnp.concatenate(views))
  pristine = pipeline.normalize(batch["pristine"])
  y = lab["mos"]
  nb = clips.shape[0] // len(views)

  def loss_fn(params):
    net = state_lib.bind(model, params, rng)
    r = net.regressor(clips)
    tokens = token_set(net.distance(jnp.concatenate([clips, pristine])))
    mu_p, cov_p = pristine_statistics(tokens[clips.shape[0]:])
    d = distance_score(tokens[:clips.shape[0]], mu_p, cov_p, tau=opts.tau, eps=opts.eps)
    r_parts = [r[i * nb:(i + 1) * nb] for i in range(len(views))]
    d_parts = [d[i * nb:(i + 1) * nb] for i in range(len(views))]
    sup_r = plcc_loss(r_parts[0], y) + opts.rank * rank_loss(r_parts[0], y)
    sup_d = plcc_loss(d_parts[0], y) + opts.rank * rank_loss(d_parts[0], y)
    loss_r = sup_r + opts.consistency * plcc_loss(r_parts[0], r_parts[1])
    loss_d = sup_d + opts.consistency * plcc_loss(d_parts[0], d_parts[1])
    metrics = {"supervised_regressor": sup_r, "supervised_distance": sup_d}
    if opts.use_unlabelled:
      t = knowledge_transfer_loss(*r_parts[2:], *d_parts[2:])
      loss_r += opts.transfer * t.regressor + opts.consistency * plcc_loss(*r_parts[2:])
      loss_d += opts.transfer * t.distance + opts.consistency * plcc_loss(*d_parts[2:])
      metrics.update(transfer_mask=t.mask, eps_regressor=t.eps_regressor,
                     eps_distance=t.eps_distance)
    metrics.update(loss_regressor=loss_r, loss_distance=loss_d)
    return loss_r + loss_d, metrics

  (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  new_state = state_lib.apply_gradients(state, grads, tx)
  return new_state, {"loss": loss, "lr_factor": lr_fn(state.step), **metrics}


# --------------------------------------------------------------------------
# Models.


def load_pretrained(directory) -> tuple[nnx.Module, dict]:
  """The backbone of an ST-VQRL model directory, and its registry spec."""
  meta = store.read_meta(directory)
  spec = meta["spec"]
  module = store.load(directory)
  backbone = module.backbone if spec.get("model") == "vqa" else module
  if spec.get("model") not in ("vqa", "backbone"):
    raise ConfigError(f"{directory}: a {spec.get('model')!r} model is no ST-VQRL backbone")
  return backbone, {"backbone": spec.get("backbone", "swin3d"),
                    "backbone_kwargs": dict(spec.get("backbone_kwargs") or {})}


def model_spec(config, backbone: dict) -> dict:
  """The registry spec of the two models on the pretrained backbone."""
  return {"model": "sslvqa", **backbone, "head": "vqa",
          "head_kwargs": {"hidden_features": config.model.head_hidden,
                          "dropout_rate": config.model.head_dropout}}


def init_models(config, init_dir: str) -> tuple[nnx.Module, dict]:
  """Q_R and Q_D, both backbones from ``init_dir``, a fresh VQA head."""
  backbone, backbone_spec = load_pretrained(init_dir)
  spec = model_spec(config, backbone_spec)
  models = nnx.jit(lambda: registry.build_model(
      spec, rngs=nnx.Rngs(params=config.seed, dropout=config.seed + 1)))()
  weights = nnx.state(backbone, nnx.Param)
  # Copies: two models on one buffer could not be donated to the jitted step.
  nnx.update(models.regressor.backbone, jax.tree.map(jnp.copy, weights))
  nnx.update(models.distance, jax.tree.map(jnp.copy, weights))
  return models, spec


def pretrain(config, workdir: str) -> str:
  """ST-VQRL into ``<workdir>/stvqrl`` (resumable); returns its model directory."""
  from jvqa.train import stvqrl  # pylint: disable=g-import-not-at-top
  return stvqrl.run(config.pretrain, os.path.join(workdir, PRETRAIN_DIR))


# --------------------------------------------------------------------------
# Data.


def _fragments(config, **kwargs) -> Fragments:
  return Fragments(grid=config.data.grid, patch=config.data.patch, **kwargs)


def _options(config) -> pipeline.LoaderOptions:
  return pipeline.LoaderOptions(worker_count=config.data.workers,
                                read_threads=config.data.read_threads)


def scene_of(entry: dict) -> str:
  """The scene of a ``scenes_lib.read_metadata`` entry: its reference's base name."""
  return distortions.scene_name(entry["reference"])


def kept_indices(source, exclude, cache: str) -> np.ndarray:
  """Indices of ``source``'s records whose scene is not in ``exclude``.

  A record's scene is its reference's base name (``0/life.mp4`` -> ``life``;
  a pristine video is its own reference). The metadata is read once into
  ``cache``.
  """
  if not exclude:
    return np.arange(len(source))
  meta = scenes_lib.read_metadata(source, cache=cache)
  return np.array([i for i, m in enumerate(meta)
                   if scene_of(m) not in exclude], int)


def check_excluded(config, workdir: str) -> None:
  """A ConfigError for an ``exclude_scenes`` name that no training source has (a typo)."""
  data = config.data
  if not data.exclude_scenes:
    return
  caches = {data.labelled: "labelled_metadata.json"}
  caches.setdefault(data.unlabelled, "unlabelled_metadata.json")
  for i, name in enumerate(data.pristine):
    caches.setdefault(name, f"pristine_{i}.json")
  found = set()
  for name_split, cache in caches.items():
    meta = scenes_lib.read_metadata(sources.open_source(name_split, data.data_dir),
                                    cache=os.path.join(workdir, cache))
    found.update(map(scene_of, meta))
  missing = sorted(set(data.exclude_scenes) - found)
  if missing:
    raise ConfigError(f"data.exclude_scenes: no scene {', '.join(missing)} in "
                      f"{data.labelled}, {data.unlabelled} or {', '.join(data.pristine)}")


def training_indices(config, workdir: str) -> tuple[object, np.ndarray, object, np.ndarray]:
  """``(labelled source, indices, unlabelled source, indices)``.

  The labelled set is ``linspace`` over the labelled split's records outside
  ``data.exclude_scenes`` (``num_labelled``; 0 = all); the unlabelled set is
  the rest of them when both name the same split (the original's intent),
  else all of the unlabelled split's records outside the excluded scenes.
  """
  data = config.data
  exclude = set(data.exclude_scenes)
  lab = sources.open_source(data.labelled, data.data_dir)
  lab_cache = os.path.join(workdir, "labelled_metadata.json")
  kept = kept_indices(lab, exclude, lab_cache)
  chosen = kept[sources.labelled_indices(len(kept), data.num_labelled)]
  if data.unlabelled == data.labelled:
    return lab, chosen, lab, np.setdiff1d(kept, chosen)
  unl = sources.open_source(data.unlabelled, data.data_dir)
  unl_cache = os.path.join(workdir, "unlabelled_metadata.json")
  return lab, chosen, unl, kept_indices(unl, exclude, unl_cache)


def pristine_corpus(config, workdir: str) -> pipeline.PristineCorpus:
  """The reference videos of the ``pristine`` sources, cut into test-mode clips."""
  parts = []
  for i, name in enumerate(config.data.pristine):
    source = sources.open_source(name, config.data.data_dir)
    cache = os.path.join(workdir, f"pristine_{i}.json")
    meta = scenes_lib.read_metadata(source, cache=cache)
    refs = [r for r in scenes_lib.reference_indices(meta)
            if scene_of(meta[r]) not in config.data.exclude_scenes]
    parts.append(pipeline.pristine_corpus(
        source, seed=config.seed, indices=refs, clip_len=config.data.clip_len,
        frame_interval=config.data.frame_interval, num_clips=config.data.pristine_clips,
        fragments=_fragments(config, aligned=config.data.clip_len), options=_options(config)))
  clips = np.concatenate([p.clips for p in parts])
  names = tuple(n for p in parts for n in p.names)
  return pipeline.PristineCorpus(clips, names, sum(p.skipped for p in parts))


class Batches:
  """Step -> {"labelled", "unlabelled", "pristine"}: the streams plus the per-epoch pristine draw."""

  def __init__(self, config, mesh, workdir: str):
    self.config, self.mesh = config, mesh
    check_excluded(config, workdir)
    lab, lab_idx, unl, unl_idx = training_indices(config, workdir)
    self.labelled_indices = lab_idx
    data, ssl = config.data, config.ssl
    if len(lab_idx) < config.batch_size:
      raise ConfigError(f"{data.labelled}: {len(lab_idx)} labelled videos, fewer than "
                        f"one batch of {config.batch_size}")
    self.steps_per_epoch = len(lab_idx) // config.batch_size
    common = dict(batch_size=config.batch_size, mesh=mesh, clip_len=data.clip_len,
                  frame_interval=data.frame_interval, fragments=_fragments(config),
                  options=_options(config))
    self.labelled = pipeline.labelled(lab, seed=config.seed, indices=lab_idx,
                                      mos_scale=data.mos_scale, **common)
    self.unlabelled = None
    if ssl.use_unlabelled:
      if not len(unl_idx):
        raise ConfigError(f"{data.unlabelled}: no unlabelled videos")
      self.unlabelled = pipeline.unlabelled(unl, seed=config.seed + 1, indices=unl_idx,
                                            **common)
    self.pristine = pristine_corpus(config, workdir)
    if len(self.pristine) < ssl.pristine_per_step:
      raise ConfigError(f"{len(self.pristine)} pristine clips, fewer than "
                        f"ssl.pristine_per_step = {ssl.pristine_per_step}")
    self._epoch, self._drawn = None, None

  def _pristine(self, step: int):
    """The epoch's pristine clips (``random.sample`` once per epoch in the original)."""
    epoch = step // self.steps_per_epoch
    if epoch != self._epoch:
      rng = loop.numpy_rng(self.config.seed, 7, epoch)
      clips = self.pristine.draw(self.config.ssl.pristine_per_step, rng)
      self._drawn = parallel.shard_batch(_process_slice(clips), self.mesh)
      self._epoch = epoch
    return self._drawn

  def __call__(self, step: int) -> dict:
    batch = {"labelled": next(self.labelled), "pristine": self._pristine(step)}
    if self.unlabelled is not None:
      batch["unlabelled"] = next(self.unlabelled)
    return batch

  def get_state(self) -> dict:
    state = {"labelled": self.labelled.get_state()}
    if self.unlabelled is not None:
      state["unlabelled"] = self.unlabelled.get_state()
    return state

  def set_state(self, state: dict) -> None:
    self.labelled.set_state(state["labelled"])
    if self.unlabelled is not None:
      self.unlabelled.set_state(state["unlabelled"])

  def close(self) -> None:
    self.labelled.close()
    if self.unlabelled is not None:
      self.unlabelled.close()


def _process_slice(rows: np.ndarray) -> np.ndarray:
  """This process's rows of an array every process holds whole."""
  count = jax.process_count()
  return rows.reshape(count, -1, *rows.shape[1:])[jax.process_index()]


# --------------------------------------------------------------------------
# The job.


def make_step(config, model: state_lib.Model, tx):
  opts = LossOptions(tau=config.ssl.tau, eps=config.ssl.eps,
                     consistency=config.ssl.consistency_weight,
                     transfer=config.ssl.transfer_weight, rank=config.ssl.rank_weight,
                     use_unlabelled=config.ssl.use_unlabelled)
  factor = schedule_factor(config)
  return jax.jit(lambda s, b, r: train_step(model, tx, factor, opts, s, b, r),
                 donate_argnums=0)


def run(config, workdir: str) -> dict:
  """Pretrains if needed, trains both models, evaluates; returns the summary."""
  parallel.maybe_initialize_distributed()
  mesh = parallel.make_mesh(tuple(config.mesh))
  init_dir = config.init or pretrain(config, workdir)
  module, spec = init_models(config, init_dir)
  model, params = state_lib.split(module)
  tx = optimizer(config, params)
  state = parallel.replicate(state_lib.create(params, tx), mesh)
  batches = Batches(config, mesh, workdir)
  try:
    data = loop.Data(next_batch=batches, get_state=batches.get_state,
                     set_state=batches.set_state)
    state = loop.fit(name="sslvqa", workdir=workdir, state=state,
                     step_fn=make_step(config, model, tx), data=data,
                     num_steps=config.num_steps, rng=jax.random.key(config.seed),
                     save_every=config.save_every)
  finally:
    batches.close()
  params = jax.device_get(state.params)
  nnx.update(module, params)
  store.save(os.path.join(workdir, MODEL_DIR), module, spec,
             info={"job": "sslvqa", "steps": config.num_steps, "init": init_dir})
  summary = evaluate.evaluate(config, workdir, mesh, model, state.params, batches.pristine,
                              batches.labelled_indices)
  print(report.format_summary(summary), flush=True)
  return summary

