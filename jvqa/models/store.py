"""Saving a model's weights with its spec, and ``load``ing it back ready to use.

A model directory holds ``model.json`` (the spec ``registry.build_model``
understands, plus where the weights came from) and ``weights/``, an orbax
checkpoint of the model's parameters and batch statistics (no optimizer
state: training runs keep theirs in their own checkpoints).
"""

import json
import os

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp
from flax import nnx

from jvqa.errors import InputError
from jvqa.models import registry

FORMAT = "jvqa-model"
VERSION = 1
# The spec file of a model directory; ``save`` writes it last.
META_FILE = "model.json"
_WEIGHTS = (nnx.Param, nnx.BatchStat)


def blank(make, *, seed: int = 0, fill: float = 0.0) -> nnx.Module:
  """``make()`` (a module constructor call) without running its random initialisers.

  Parameters and batch statistics are set to ``fill`` (NaN lets a converter
  find what no checkpoint key reached), other arrays to zeros, RNG streams get
  keys from ``seed``. A random init of a large NNX model compiles one XLA
  program per eager op (15-25 s for Swin-T on a CPU): loading and converting
  never need it.
  """
  model = nnx.merge(*nnx.split(nnx.eval_shape(make)), copy=True)
  for i, (_, node) in enumerate(nnx.iter_graph(model)):
    if isinstance(node, nnx.Variable):
      value = node.get_value()
      if not hasattr(value, "shape"):
        continue
      if jax.dtypes.issubdtype(value.dtype, jax.dtypes.prng_key):
        node.set_value(jax.random.fold_in(jax.random.key(seed), i))
      elif isinstance(node, _WEIGHTS) and jnp.issubdtype(value.dtype, jnp.floating):
        node.set_value(jnp.full(value.shape, fill, value.dtype))
      else:
        node.set_value(jnp.zeros(value.shape, value.dtype))
  return model


def blank_model(spec: dict, *, seed: int = 0, fill: float = 0.0) -> nnx.Module:
  """The model a registry spec describes, built with ``blank``."""
  return blank(lambda: registry.build_model(spec, rngs=nnx.Rngs(seed)), seed=seed, fill=fill)


def _weights_state(model: nnx.Module):
  return nnx.state(model, nnx.Any(*_WEIGHTS))


def save(directory, model: nnx.Module, spec: dict, *, info: dict | None = None) -> str:
  """Writes ``model``'s weights and ``spec`` to ``directory`` (made absolute); returns it."""
  from jvqa import __version__
  directory = os.path.abspath(os.fspath(directory))
  os.makedirs(directory, exist_ok=True)
  weights = os.path.join(directory, "weights")
  ckptr = ocp.StandardCheckpointer()
  ckptr.save(weights, nnx.to_pure_dict(_weights_state(model)), force=True)
  ckptr.wait_until_finished()
  ckptr.close()
  meta = {"format": FORMAT, "version": VERSION, "jvqa": __version__,
          "spec": spec, "info": info or {}}
  with open(os.path.join(directory, META_FILE), "w") as f:
    json.dump(meta, f, indent=2, sort_keys=True)
    f.write("\n")
  return directory


def exists(directory) -> bool:
  """Whether ``directory`` holds a saved model (its ``META_FILE``)."""
  return os.path.isfile(os.path.join(os.fspath(directory), META_FILE))


def read_meta(directory) -> dict:
  """The ``model.json`` of a model directory, checked."""
  path = os.path.join(os.path.abspath(os.fspath(directory)), META_FILE)
  if not os.path.isfile(path):
    raise InputError(directory, "not a jvqa model directory (no model.json); "
                     "make one with `jvqa convert` or a training run")
  try:
    with open(path) as f:
      meta = json.load(f)
  except (OSError, ValueError) as e:
    raise InputError(path, f"unreadable: {e}") from None
  if meta.get("format") != FORMAT or "spec" not in meta:
    raise InputError(path, f"not a {FORMAT} file")
  if meta.get("version", 0) > VERSION:
    raise InputError(path, f"written by a newer jvqa (format version {meta['version']})")
  return meta


def _dotted(path) -> str:
  """A pytree key path as ``backbone.layers.0.conv.kernel`` (orbax stores list indices as str)."""
  return ".".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)


def _check_shapes(path: str, ckptr, abstract) -> None:
  """Refuses weights whose names or shapes differ from the spec's model, naming the first."""
  try:
    saved = dict(ckptr.metadata(path).item_metadata.tree)
  except Exception as e:  # a missing or corrupt folder: orbax raises several types.
    raise InputError(path, f"no readable weights ({type(e).__name__})") from None
  want = {_dotted(k): tuple(v.shape) for k, v in jax.tree_util.tree_leaves_with_path(abstract)}
  have = {_dotted(k): tuple(v.shape) for k, v in jax.tree_util.tree_leaves_with_path(saved)}
  for name in sorted(set(want) | set(have)):
    if want.get(name) != have.get(name):
      raise InputError(path, f"weights do not match the spec in model.json: {name} is "
                       f"{have.get(name, 'absent')} in the weights, {want.get(name, 'absent')} "
                       "in the model")


def load(directory, *, seed: int = 0) -> nnx.Module:
  """The model saved in ``directory``, in eval mode, ready to apply to a batch.

  ``seed`` seeds the dropout/drop-path streams used if the model is put back
  in train mode (``model.train()``).
  """
  directory = os.path.abspath(os.fspath(directory))
  meta = read_meta(directory)
  model = blank_model(meta["spec"], seed=seed)
  state = _weights_state(model)
  target = nnx.to_pure_dict(state)
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
  path = os.path.join(directory, "weights")
  ckptr = ocp.StandardCheckpointer()
  try:
    _check_shapes(path, ckptr, abstract)
    restored = ckptr.restore(path, abstract)
  finally:
    ckptr.close()
  nnx.replace_by_pure_dict(state, restored)
  nnx.update(model, state)
  model.eval()
  return model
