"""Backbones, heads and whole models chosen by name (config strings).

A model is described by a JSON-able *spec*::

    {"model": "vqa", "backbone": "swin3d", "backbone_kwargs": {...},
     "head": "vqa", "head_kwargs": {...}}

``model`` is one of ``MODELS``; ``backbone``/``head`` name entries of
``BACKBONES``/``HEADS``. Every backbone takes (B, T, H, W, 3) normalised video
and returns a channel-last map (B, T', H', W', C) with ``num_features`` = C, so
every head (and every trainer) works with every backbone. Modules are imported
only when built, as ``jvqa.jobs`` does for jobs.
"""

from collections.abc import Mapping
import importlib

from flax import nnx

from jvqa.errors import ConfigError

# name -> "module:callable(**kwargs, rngs=)" returning a backbone.
BACKBONES = {
    "swin3d": "jvqa.models.swin3d:VideoSwin3D",  # FAST-VQA Video Swin-T with fragment bias
    "r2plus1d_18": "jvqa.models.video_resnet:r2plus1d_18",  # R(2+1)D-18 (HEKE's encoder)
    "r3d_18": "jvqa.models.video_resnet:r3d_18",  # plain 3D-CNN ResNet-18
    "resnet18": "jvqa.models.resnet:resnet18",  # 2D ResNets, applied frame by frame
    "resnet34": "jvqa.models.resnet:resnet34",
    "resnet50": "jvqa.models.resnet:resnet50",
}

# name -> "module:callable(in_features, **kwargs, rngs=)" returning a head.
HEADS = {
    "vqa": "jvqa.models.heads:VQAHead",  # FAST-VQA score map → mean
    "projection": "jvqa.models.heads:ProjectionHead",  # ST-VQRL tokens → 64-d
    "heke": "jvqa.models.heke:HekeHead",  # HEKE grouped heads on max+avg pooled maps
}

# model kinds: how a spec's parts are put together (see build_model).
MODELS = ("backbone", "vqa", "sslvqa", "heke_r2p1d", "heke_resnet")

# Whole models with their own constructor (kwargs from the spec's "kwargs").
_WHOLE = {
    "heke_r2p1d": "jvqa.models.heke:HekeR2p1d",
    "heke_resnet": "jvqa.models.heke:HekeResnet",
}


def _resolve(table: Mapping[str, str], name: str, what: str):
  if name not in table:
    raise ConfigError(f"unknown {what} {name!r}; known: {', '.join(sorted(table))}")
  module, attr = table[name].split(":")
  return getattr(importlib.import_module(module), attr)


def build_backbone(name: str, *, rngs: nnx.Rngs, **kwargs) -> nnx.Module:
  """The backbone called ``name`` with constructor ``kwargs``."""
  return _resolve(BACKBONES, name, "backbone")(**kwargs, rngs=rngs)


def build_head(name: str, in_features: int, *, rngs: nnx.Rngs, **kwargs) -> nnx.Module:
  """The head called ``name`` on ``in_features`` channels."""
  return _resolve(HEADS, name, "head")(in_features, **kwargs, rngs=rngs)


def build_model(spec: Mapping, *, rngs: nnx.Rngs) -> nnx.Module:
  """The model a spec describes (see the module docstring)."""
  from jvqa.models.vqa_model import SslVqaModels, VqaModel
  spec = dict(spec)
  kind = spec.get("model", "vqa")
  if kind not in MODELS:
    raise ConfigError(f"unknown model {kind!r}; known: {', '.join(MODELS)}")
  if kind in _WHOLE:
    return _resolve(_WHOLE, kind, "model")(**dict(spec.get("kwargs") or {}), rngs=rngs)

  def backbone():
    return build_backbone(spec.get("backbone", "swin3d"), rngs=rngs,
                          **dict(spec.get("backbone_kwargs") or {}))

  def vqa():
    b = backbone()
    head = build_head(spec.get("head", "vqa"), b.num_features, rngs=rngs,
                      **dict(spec.get("head_kwargs") or {}))
    return VqaModel(b, head)

  if kind == "backbone":
    return backbone()
  if kind == "vqa":
    return vqa()
  return SslVqaModels(regressor=vqa(), distance=backbone())  # "sslvqa"

