"""Models: backbones, quality heads, the registry, weight conversion and loading.

``jvqa.models.load(directory)`` returns a saved or converted model in eval
mode, ready to apply to a (batch, frames, height, width, 3) float32 batch of
ImageNet-normalised RGB (what ``jvqa.data.pipeline.normalize`` gives).

The names below are imported on first use, so that ``jvqa.models.archs``
(read by ``jvqa --help``) does not pull in flax and orbax.
"""

import importlib

_LAZY = {
    "build_backbone": "jvqa.models.registry",
    "build_head": "jvqa.models.registry",
    "build_model": "jvqa.models.registry",
    "load": "jvqa.models.store",
    "save": "jvqa.models.store",
}
__all__ = list(_LAZY)


def __getattr__(name):
  if name in _LAZY:
    return getattr(importlib.import_module(_LAZY[name]), name)
  raise AttributeError(f"module 'jvqa.models' has no attribute {name!r}")
