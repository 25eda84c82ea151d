"""ST-VQRL: contrastive pretraining of the backbone on synthetically distorted scenes.

Each item is a scene: its reference and ``k`` of its distorted versions, two
temporal clips sharing one fragment crop (``jvqa.data.pipeline.scenes``).
The backbone and projection head map every clip to a token set; the loss
(``jvqa.losses.stvqrl_contrastive_loss``) pulls the two clips of a version
together against the scene's other versions under the MVG distance. AdamW
(1e-4, weight decay 0.05), cosine-annealed per step to 1e-5.

The result is ``<workdir>/model``: the backbone and projection head as a
``jvqa.models`` directory (``jvqa.models.load``), which the SSL-VQA job
starts both of its models from.
"""

import os

import jax
import optax
from flax import nnx

from jvqa import parallel
from jvqa.data import pipeline
from jvqa.data.items import Fragments
from jvqa.losses import stvqrl_contrastive_loss
from jvqa.models import registry, store
from jvqa.train import loop, sources
from jvqa.train import state as state_lib

MODEL_DIR = "model"


def model_spec(config) -> dict:
  """The registry spec of backbone + projection head."""
  return {"model": "vqa", "backbone": config.model.backbone,
          "backbone_kwargs": config.model.backbone_kwargs.to_dict(),
          "head": "projection",
          "head_kwargs": {"out_features": config.model.projection_dim}}


def init_model(spec: dict, seed: int) -> nnx.Module:
  """The model of ``spec``, initialised inside one jitted program (fast on a CPU)."""
  return nnx.jit(lambda: registry.build_model(spec, rngs=nnx.Rngs(seed)))()


def schedule(config):
  """Cosine annealing per step from ``lr`` to ``min_lr`` over ``cosine_steps``."""
  return state_lib.cosine_annealing(config.optim.lr, config.optim.cosine_steps,
                                    config.optim.min_lr)


def optimizer(config, params) -> optax.GradientTransformation:
  """AdamW on the backbone; on the projection head too if ``train_projection``."""
  adamw = state_lib.adamw(schedule(config), config.optim.weight_decay)
  head = adamw if config.model.train_projection else optax.set_to_zero()
  return state_lib.grouped_optimizer(params, {"backbone": adamw, "head": head},
                                     {"head": "head"}, "backbone")


def train_step(model: state_lib.Model, tx, lr_fn, tau: float, eps: float,
               state: state_lib.TrainState, batch: dict, rng: jax.Array):
  """One update on a batch of scenes ``video`` (B, K, 2, T, S, S, 3) uint8."""
  video = pipeline.normalize(batch["video"])
  b, k, c = video.shape[:3]
  clips = video.reshape(b * k * c, *video.shape[3:])

  def loss_fn(params):
    tokens = state_lib.bind(model, params, rng)(clips)  # (B*K*2, N, P)
    tokens = tokens.reshape(b, k, c, *tokens.shape[1:])
    return stvqrl_contrastive_loss(tokens[:, :, 0], tokens[:, :, 1], tau=tau, eps=eps)

  loss, grads = jax.value_and_grad(loss_fn)(state.params)
  new_state = state_lib.apply_gradients(state, grads, tx)
  return new_state, {"loss": loss, "lr": lr_fn(state.step)}


def scene_stream(config, mesh, workdir: str) -> pipeline.Stream:
  data = config.data
  source = sources.open_source(data.train, data.data_dir)
  return pipeline.scenes(
      source, batch_size=config.batch_size, seed=config.seed, mesh=mesh,
      metadata_cache=os.path.join(workdir, "scenes.json"), k=data.k,
      clip_len=data.clip_len, frame_interval=data.frame_interval,
      frame_margin=data.frame_margin,
      fragments=Fragments(grid=data.grid, patch=data.patch),
      options=pipeline.LoaderOptions(worker_count=data.workers,
                                     read_threads=data.read_threads))


def run(config, workdir: str) -> str:
  """Pretrains into ``workdir`` (resuming if it has checkpoints); returns the model dir."""
  model_dir = os.path.join(workdir, MODEL_DIR)
  if store.exists(model_dir):
    print(f"stvqrl: already trained: {model_dir}", flush=True)
    return model_dir
  parallel.maybe_initialize_distributed()
  mesh = parallel.make_mesh(tuple(config.mesh))
  spec = model_spec(config)
  module = init_model(spec, config.seed)
  model, params = state_lib.split(module)
  tx = optimizer(config, params)
  state = parallel.replicate(state_lib.create(params, tx), mesh)
  step = jax.jit(lambda s, b, r: train_step(model, tx, schedule(config), config.loss.tau,
                                            config.loss.eps, s, b, r), donate_argnums=0)
  with scene_stream(config, mesh, workdir) as stream:
    data = loop.Data(next_batch=lambda _: next(stream), get_state=stream.get_state,
                     set_state=stream.set_state)
    state = loop.fit(name="stvqrl", workdir=workdir, state=state, step_fn=step, data=data,
                     num_steps=config.num_steps, rng=jax.random.key(config.seed),
                     save_every=config.save_every)
  nnx.update(module, jax.device_get(state.params))
  store.save(model_dir, module, spec, info={"job": "stvqrl", "steps": config.num_steps,
                                            "train": config.data.train})
  print(f"stvqrl: model saved to {model_dir}", flush=True)
  return model_dir

