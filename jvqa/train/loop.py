"""The training loop around a pure jitted step: resume, log, checkpoint, stop.

``fit`` runs ``step_fn(state, batch, rng) -> (state, metrics)`` from the
latest checkpoint of ``<workdir>/checkpoints`` (or from the given state) to
``num_steps``, writing ``metrics.jsonl``/TensorBoard, printing a progress
line and saving the state, the RNG key and the data iterators' state every
``save_every`` steps and at the end. The step's key is ``fold_in(rng,
step)``: a function of the step alone, so a resumed run draws what an
uninterrupted one would. A non-finite loss stops the run with
``TrainingError`` before anything of that step is saved: the last good
checkpoint stays the latest.
"""

import dataclasses
import math
import os
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from jvqa.checkpoint import Checkpointer
from jvqa.errors import JvqaError
from jvqa.train import report


class TrainingError(JvqaError):
  """A run that cannot go on (a non-finite loss); the message says what is kept."""


@dataclasses.dataclass
class Data:
  """The batches of a run and how to checkpoint their position.

  Attributes:
    next_batch: ``step -> batch`` (the batch of that step; called in order).
    get_state: JSON-able state of the iterators after the last batch.
    set_state: continues from such a state.
  """
  next_batch: Callable[[int], Any]
  get_state: Callable[[], Any] = lambda: None
  set_state: Callable[[Any], None] = lambda state: None


def latest_step(workdir: str) -> int | None:
  """The step of the latest checkpoint in ``<workdir>/checkpoints``, if any."""
  directory = os.path.join(workdir, "checkpoints")
  if not os.path.isdir(directory):
    return None
  with Checkpointer(directory) as ckpt:
    return ckpt.latest_step()


def _scalars(metrics) -> dict[str, float]:
  return {k: float(v) for k, v in jax.device_get(metrics).items()}


def fit(*, name: str, workdir: str, state, step_fn, data: Data, num_steps: int,
        rng: jax.Array, save_every: int, log_every_seconds: float = 10.0,
        max_to_keep: int = 2, loss_key: str = "loss") -> Any:
  """Trains ``state`` to ``num_steps`` in ``workdir``; returns the final state.

  Args:
    name: the job's name in progress lines.
    workdir: the run's folder: ``checkpoints/``, ``metrics.jsonl``, ``tensorboard/``.
    state: the initial train state (its shardings are the restore target).
    step_fn: the jitted step.
    data: the batches and their iterator state.
    num_steps: the step the run ends at.
    rng: the run's key (saved with each checkpoint).
    save_every: steps between checkpoints (and one at the end).
    log_every_seconds: seconds between progress lines.
    max_to_keep: checkpoints kept.
    loss_key: the metric whose non-finite value stops the run.

  Raises:
    TrainingError: the loss became NaN or infinite.
  """
  ckpt = Checkpointer(os.path.join(workdir, "checkpoints"), max_to_keep=max_to_keep)
  start = ckpt.latest_step()
  if start is not None:
    restored = ckpt.restore(state)
    state = restored.state
    # Uncommitted again: orbax puts the key on one device, the step's state is on the mesh.
    rng = jax.random.wrap_key_data(np.asarray(jax.random.key_data(restored.rng)))
    data.set_state(restored.data_state)
    print(f"{name}: resuming from the checkpoint of step {start} in {ckpt.directory}",
          flush=True)
  start = start or 0
  writer = report.MetricWriter(workdir, resume_step=start if start else None)
  progress = report.Progress(name, num_steps, start_step=start,
                             every_seconds=log_every_seconds)
  try:
    for step in range(start, num_steps):
      batch = data.next_batch(step)
      state, metrics = step_fn(state, batch, jax.random.fold_in(rng, step))
      metrics = _scalars(metrics)
      if not math.isfinite(metrics[loss_key]):
        ckpt.wait()
        kept = ckpt.latest_step()
        where = (f"the last good checkpoint (step {kept}) is kept in {ckpt.directory}"
                 if kept is not None else "no checkpoint had been written")
        raise TrainingError(f"{name}: the loss is {metrics[loss_key]} at step {step + 1}; "
                            f"stopping: {where}")
      writer.write(step + 1, metrics)
      progress.update(step + 1, metrics)
      if (step + 1) % save_every == 0 or step + 1 == num_steps:
        ckpt.save(step + 1, state, rng=rng, data_state=data.get_state(), force=True)
  finally:
    writer.close()
    ckpt.close()
  return state


def numpy_rng(seed: int, *keys: int) -> np.random.Generator:
  """A host generator for ``(seed, *keys)`` (e.g. the epoch): same keys, same draws."""
  return np.random.default_rng([int(seed), *map(int, keys)])
