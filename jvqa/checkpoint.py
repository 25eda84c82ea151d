"""A thin layer over orbax's ``CheckpointManager`` for training runs.

One checkpoint holds what a run needs to continue exactly where it stopped:
the train state pytree (model and optimizer, any sharding), the JAX random
key, and JSON metadata with the step, the data iterator's state and anything
else the caller wants (e.g. the best metric so far). Saves are asynchronous;
``wait()`` or ``close()`` blocks until they are on disk.
"""

import base64
import dataclasses
import os
from typing import Any

import jax
import orbax.checkpoint as ocp

from jvqa.errors import InputError


@dataclasses.dataclass(frozen=True)
class Restored:
  """What ``Checkpointer.restore`` returns."""
  step: int
  state: Any
  rng: jax.Array | None
  data_state: Any
  extra: dict


def _encode_json(value):
  """Makes bytes (e.g. a grain ``DataLoader`` iterator state) JSON-safe."""
  if isinstance(value, bytes):
    return {"__bytes__": base64.b64encode(value).decode("ascii")}
  return value


def _decode_json(value):
  if isinstance(value, dict) and set(value) == {"__bytes__"}:
    return base64.b64decode(value["__bytes__"])
  return value


def _abstract(tree):
  """Shape/dtype/sharding of every array of ``tree``: orbax's restore target."""
  return jax.tree.map(ocp.utils.to_shape_dtype_struct, tree)


class Checkpointer:
  """Saves and restores train state, RNG key and iterator state by step.

  Args:
    directory: where the step folders go; made absolute (orbax requires it).
    max_to_keep: how many of the newest checkpoints to keep (None: all).
    save_interval_steps: ``save`` is a no-op on other steps unless forced.
    async_save: write in a background thread while training continues.
  """

  def __init__(self, directory, *, max_to_keep: int | None = 3,
               save_interval_steps: int = 1, async_save: bool = True):
    self.directory = os.path.abspath(os.fspath(directory))
    options = ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep,
        save_interval_steps=save_interval_steps,
        create=True,
        enable_async_checkpointing=async_save,
    )
    self._manager = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, state, *, rng: jax.Array | None = None,
           data_state: Any = None, extra: dict | None = None, force: bool = False) -> bool:
    """Starts saving ``state`` (and the rest) as ``step``; returns whether it saves."""
    items = {
        "state": ocp.args.StandardSave(state),
        "meta": ocp.args.JsonSave({
            "step": int(step),
            "data_state": _encode_json(data_state),
            "extra": extra or {},
            "has_rng": rng is not None,
        }),
    }
    if rng is not None:
      items["rng"] = ocp.args.JaxRandomKeySave(rng)
    return self._manager.save(int(step), args=ocp.args.Composite(**items), force=force)

  def restore(self, target, step: int | None = None) -> Restored:
    """Restores ``step`` (default: the latest) into the structure of ``target``.

    ``target`` is a train state of the right structure (e.g. a freshly built
    one): its shapes, dtypes and shardings say how to lay the arrays out, so a
    checkpoint saved on N devices restores onto M.
    """
    step = self.latest_step() if step is None else int(step)
    if step is None or step not in self.all_steps():
      raise InputError(self.directory, f"no checkpoint for step {step}; have {self.all_steps()}")
    meta = self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
    items = {"state": ocp.args.StandardRestore(_abstract(target))}
    if meta.get("has_rng"):
      items["rng"] = ocp.args.JaxRandomKeyRestore()
    out = self._manager.restore(step, args=ocp.args.Composite(**items))
    return Restored(
        step=int(meta["step"]),
        state=out["state"],
        rng=out["rng"] if meta.get("has_rng") else None,
        data_state=_decode_json(meta.get("data_state")),
        extra=dict(meta.get("extra") or {}),
    )

  def wait(self) -> None:
    """Blocks until every started save is on disk."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()
