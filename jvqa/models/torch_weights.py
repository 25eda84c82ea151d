"""Reading a PyTorch ``state_dict`` into Flax NNX modules, key by key.

Every architecture's converter walks its own modules and ``take``s the PyTorch
tensor each parameter comes from. ``TorchWeights`` remembers what was taken,
so ``finish()`` can refuse keys nobody used, and ``set_param`` refuses a shape
that differs: nothing is skipped or broadcast silently. Written by hand because
no library maps PyTorch names onto NNX modules with these checks.

Layout rules (PyTorch → Flax, channel-last):
  Linear weight (out, in)           → kernel (in, out)
  ConvNd weight (out, in/g, *k)     → kernel (*k, in/g, out)
  LayerNorm / BatchNorm weight      → scale; running_mean/var → mean/var
"""

from collections.abc import Iterable, Mapping
import fnmatch

from flax import nnx
import jax
import numpy as np

from jvqa.errors import ConvertError

# Keys that carry no learnt value and have no NNX counterpart.
DEFAULT_IGNORE = ("*num_batches_tracked",)


def to_numpy(value) -> np.ndarray:
  """A torch tensor (without importing torch) or array → float32/int numpy."""
  if hasattr(value, "detach"):
    value = value.detach().cpu()
    if str(value.dtype) == "torch.bfloat16":
      value = value.float()
    value = value.numpy()
  value = np.asarray(value)
  if value.dtype.kind == "f":
    value = value.astype(np.float32)
  return value


class TorchWeights:
  """A PyTorch state dict that records which keys were used.

  Args:
    state_dict: name → tensor or array.
    source: the checkpoint file (for error messages).
    prefix: prepended to every key asked for (e.g. ``"backbone."``).
    ignore: glob patterns of keys that need no counterpart.
  """

  def __init__(self, state_dict: Mapping, source: str, *, prefix: str = "",
               ignore: Iterable[str] = DEFAULT_IGNORE):
    self.source = str(source)
    self.prefix = prefix
    self._arrays = {str(k): v for k, v in state_dict.items()}
    self._used: set[str] = set()
    self._ignore = tuple(ignore)

  def keys(self) -> list[str]:
    return list(self._arrays)

  def __contains__(self, key: str) -> bool:
    return self.prefix + key in self._arrays

  def scoped(self, prefix: str) -> "TorchWeights":
    """A view whose keys are relative to ``prefix``; shares the used-key record."""
    view = TorchWeights.__new__(TorchWeights)
    view.__dict__.update(self.__dict__)
    view.prefix = self.prefix + prefix
    return view

  def take(self, key: str) -> np.ndarray:
    """The array of ``key`` (after the prefix); marks it used."""
    full = self.prefix + key
    if full not in self._arrays:
      raise ConvertError(self.source, f"missing key {full!r}")
    self._used.add(full)
    return to_numpy(self._arrays[full])

  def skip(self, key: str) -> None:
    """Marks ``key`` as deliberately unused (the caller says why in a comment)."""
    self.take(key)

  def unused(self) -> list[str]:
    return [k for k in self._arrays if k not in self._used
            and not any(fnmatch.fnmatchcase(k, p) for p in self._ignore)]

  def finish(self) -> None:
    """Raises ``ConvertError`` naming the keys that no parameter took."""
    left = self.unused()
    if left:
      shown = ", ".join(repr(k) for k in left[:8])
      more = f" (and {len(left) - 8} more)" if len(left) > 8 else ""
      raise ConvertError(self.source, f"{len(left)} key(s) not mapped to the model: {shown}{more}")


def set_param(variable: nnx.Variable, value: np.ndarray, *, key: str, source: str) -> None:
  """Writes ``value`` into ``variable``; a differing shape names ``key``."""
  value = np.asarray(value)
  have = tuple(variable[...].shape)
  if tuple(value.shape) != have:
    raise ConvertError(source, f"key {key!r} has shape {tuple(value.shape)}, the model expects {have}")
  variable[...] = value.astype(variable[...].dtype)


def _put(w: TorchWeights, variable, key: str, transform=None) -> None:
  value = w.take(key)
  if transform is None:
    set_param(variable, value, key=w.prefix + key, source=w.source)
    return
  moved = transform(value)
  have = tuple(variable[...].shape)
  if tuple(moved.shape) != have:
    raise ConvertError(w.source, f"key {w.prefix + key!r} has shape {tuple(value.shape)} "
                       f"({tuple(moved.shape)} in jvqa's layout), the model expects {have}")
  set_param(variable, moved, key=w.prefix + key, source=w.source)


def conv_kernel(weight: np.ndarray) -> np.ndarray:
  """PyTorch ConvNd (out, in/g, *k) → Flax (*k, in/g, out)."""
  return np.moveaxis(weight, (0, 1), (-1, -2))


def load_linear(w: TorchWeights, key: str, linear: nnx.Linear) -> None:
  _put(w, linear.kernel, f"{key}.weight", lambda a: a.T)
  if linear.bias is not None:
    _put(w, linear.bias, f"{key}.bias")


def load_conv(w: TorchWeights, key: str, conv: nnx.Conv) -> None:
  _put(w, conv.kernel, f"{key}.weight", conv_kernel)
  if conv.bias is not None:
    _put(w, conv.bias, f"{key}.bias")


def load_conv_as_linear(w: TorchWeights, key: str, linear: nnx.Linear) -> None:
  """A 1×…×1 PyTorch ConvNd stored as a Flax Linear (same maths, channel-last)."""
  _put(w, linear.kernel, f"{key}.weight", lambda a: a.reshape(a.shape[0], -1).T)
  if linear.bias is not None:
    _put(w, linear.bias, f"{key}.bias")


def load_layer_norm(w: TorchWeights, key: str, norm: nnx.LayerNorm) -> None:
  _put(w, norm.scale, f"{key}.weight")
  _put(w, norm.bias, f"{key}.bias")


def load_batch_norm(w: TorchWeights, key: str, norm: nnx.BatchNorm) -> None:
  _put(w, norm.scale, f"{key}.weight")
  _put(w, norm.bias, f"{key}.bias")
  _put(w, norm.mean, f"{key}.running_mean")
  _put(w, norm.var, f"{key}.running_var")


def param_count(module: nnx.Module) -> int:
  """Number of learnt parameters (``nnx.Param``) of ``module``."""
  state = nnx.state(module, nnx.Param)
  return int(sum(np.prod(x.shape) for x in jax.tree.leaves(state)))


def from_torch(make, state_dict: Mapping, source: str = "state_dict", **load_kwargs) -> nnx.Module:
  """``make()`` built without a random init, then every weight read from ``state_dict``.

  ``make`` is a zero-argument constructor call (``lambda: VideoSwin3D(rngs=nnx.Rngs(0))``);
  ``load_kwargs`` go to the module's ``load_torch``. Keys left over raise
  ``ConvertError``.
  """
  from jvqa.models.store import blank  # store imports the registry; keep this module light
  model = blank(make)
  w = TorchWeights(state_dict, source)
  model.load_torch(w, **load_kwargs)
  w.finish()
  return model
