"""Converting the authors' PyTorch checkpoints into jvqa model directories.

Each ``--arch`` knows the container its training script saves and the model
the weights go into:

========================  ==============================================  ==========================
arch                      file as saved by the original                   jvqa model
========================  ==============================================  ==========================
``stvqrl``                ``{'model': backbone state_dict}`` (ST-VQRL)     Video Swin-T (tokens)
``sslvqa``                ``{'primary': Q_R, 'auxillary': Q_D}``          Q_R (Swin + VQA head) + Q_D
``swin_t_kinetics400``    mmaction ``{'state_dict': backbone.*, cls_head.*}``  Video Swin-T (tokens)
``heke_r2p1d``            ``{'state_dict': ...}`` (``r2p1d_model_HEKE4.pkl``)  R(2+1)D-18 + 4 heads
``heke_resnet``           ``{'state_dict': ...}`` (``resnet_model_HEKE4.pkl``)  ResNet-50/34 + 4 heads
``r2plus1d_18``/``r3d_18``  torchvision video state_dict                  encoder (feature maps)
``resnet34``/``resnet50``  torchvision ImageNet state_dict                encoder (feature maps)
========================  ==============================================  ==========================

Every key of the used state dicts must land in the model and every parameter
must come from a key of the same shape, or a ``ConvertError`` names it. Only
classifier layers that the jvqa model has no place for (Kinetics-400/ImageNet
``fc``/``cls_head``) are dropped, and they are listed in the output's
``model.json`` and by ``jvqa convert``. A uniform ``module.`` prefix
(``nn.DataParallel``) is removed.
"""

import copy
import fnmatch
import os
from collections.abc import Mapping

from flax import nnx
import numpy as np

from jvqa.errors import ConvertError
from jvqa.models import store
from jvqa.models.archs import ARCHS
from jvqa.models.torch_weights import DEFAULT_IGNORE, TorchWeights, param_count


def _load_plain(model, ws, options):
  (w,) = ws.values()
  model.load_torch(w, **options)


def _load_sslvqa(model, ws, options):
  model.regressor.load_torch(ws["primary"])
  model.distance.load_torch(ws["auxillary"])


_LOADERS = {"plain": _load_plain, "sslvqa": _load_sslvqa}


def _check_all_set(model, source: str) -> None:
  """Every parameter and statistic must have come from the checkpoint (none left NaN)."""
  state = nnx.to_flat_state(nnx.state(model, nnx.Any(nnx.Param, nnx.BatchStat)))
  unset = [".".join(map(str, path)) for path, v in state
           if np.isnan(np.asarray(v.get_value())).all()]
  if unset:
    shown = ", ".join(unset[:6]) + (f" (and {len(unset) - 6} more)" if len(unset) > 6 else "")
    raise ConvertError(source, f"{len(unset)} model parameter(s) not found in the checkpoint: {shown}")


def read_torch_file(path: str, *, allow_pickle: bool = False):
  """``torch.load`` on CPU; with ``allow_pickle`` False only tensors/containers load."""
  try:
    import torch
  except ImportError:
    raise ConvertError(path, "reading PyTorch checkpoints needs torch: "
                       "pip install 'jvqa[convert]'") from None
  if not os.path.isfile(path):
    raise ConvertError(path, "no such file")
  try:
    return torch.load(path, map_location="cpu", weights_only=not allow_pickle)
  except Exception as e:  # torch raises pickle, zip and runtime errors alike.
    reason = " ".join(str(e).split())[:300] or type(e).__name__
    hint = "" if allow_pickle else " (if you trust the file, retry with --allow-pickle)"
    raise ConvertError(path, f"not a readable PyTorch checkpoint: {reason}{hint}") from None


def _strip_module_prefix(state_dict: Mapping) -> dict:
  keys = list(state_dict)
  if keys and all(k.startswith("module.") for k in keys):
    return {k[len("module."):]: v for k, v in state_dict.items()}
  return dict(state_dict)


def _state_dict(obj, container, source: str, arch: str) -> dict:
  if container is not None:
    if not isinstance(obj, Mapping) or container not in obj:
      found = sorted(map(str, obj))[:10] if isinstance(obj, Mapping) else type(obj).__name__
      raise ConvertError(source, f"--arch {arch} expects a dict with key {container!r}; found {found}")
    obj = obj[container]
  if not isinstance(obj, Mapping) or not obj:
    raise ConvertError(source, f"expected a state_dict (name -> tensor) for --arch {arch}")
  return _strip_module_prefix(obj)


def convert(source: str, out_dir: str, arch: str, *, model_kwargs: dict | None = None,
            allow_pickle: bool = False, seed: int = 0) -> dict:
  """Converts ``source`` into a model directory ``out_dir``; returns a summary dict.

  ``model_kwargs`` override the backbone's (or whole model's) constructor
  arguments, for checkpoints of a non-default size.
  """
  if arch not in ARCHS:
    raise ConvertError(source, f"unknown --arch {arch!r}; known: {', '.join(ARCHS)}")
  arch_def = ARCHS[arch]
  spec = copy.deepcopy(arch_def.spec)
  if model_kwargs:
    spec["backbone_kwargs" if "backbone" in spec else "kwargs"] = dict(model_kwargs)
  obj = read_torch_file(source, allow_pickle=allow_pickle)
  if isinstance(obj, Mapping) and "auxiliary" in obj and "auxillary" not in obj:
    obj = {**obj, "auxillary": obj["auxiliary"]}  # accept the corrected spelling too
  weights, dropped = {}, []
  for container, prefix in arch_def.containers:
    state_dict = _state_dict(obj, container, source, arch)
    dropped += [k for k in state_dict
                if any(fnmatch.fnmatchcase(k, p) for p in arch_def.dropped)]
    weights[container] = TorchWeights(state_dict, source, prefix=prefix,
                                      ignore=DEFAULT_IGNORE + arch_def.dropped)
  model = store.blank_model(spec, seed=seed, fill=np.nan)
  _LOADERS[arch_def.loader](model, weights, dict(arch_def.options))
  for w in weights.values():
    w.finish()
  _check_all_set(model, source)
  info = {"converted_from": os.path.basename(source), "arch": arch,
          "dropped_keys": dropped, "parameters": param_count(model)}
  store.save(out_dir, model, spec, info=info)
  return {"out_dir": os.path.abspath(out_dir), **info}
