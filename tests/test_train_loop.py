"""jvqa.train.loop.fit: resume where a run stopped, stop on a non-finite loss."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jvqa.train import loop
from jvqa.train import state as state_lib


class _Counter:
  """Batches 0, 1, 2, ... with a checkpointable position."""

  def __init__(self):
    self.position = 0

  def next_batch(self, step):
    del step
    self.position += 1
    return jnp.float32(self.position)

  def data(self):
    return loop.Data(self.next_batch, lambda: {"position": self.position},
                     lambda s: setattr(self, "position", s["position"]))


@jax.jit
def _step(state, batch, rng):
  noise = jax.random.uniform(rng)
  w = state.params["w"] * 0.5 + batch + noise
  new = state_lib.TrainState(step=state.step + 1, params={"w": w}, opt_state=state.opt_state)
  return new, {"loss": jnp.sum(w), "noise": noise}


def _nan_at(bad_step):
  @jax.jit
  def step(state, batch, rng):
    new, metrics = _step(state, batch, rng)
    loss = jnp.where(new.step == bad_step, jnp.nan, metrics["loss"])
    return new, {**metrics, "loss": loss}
  return step


def _state():
  return state_lib.TrainState(step=jnp.zeros((), jnp.int32), params={"w": jnp.zeros(3)},
                              opt_state={})


def _fit(workdir, num_steps, step_fn=_step, counter=None):
  counter = counter or _Counter()
  final = loop.fit(name="toy", workdir=str(workdir), state=_state(), step_fn=step_fn,
                   data=counter.data(), num_steps=num_steps, rng=jax.random.key(0),
                   save_every=2, log_every_seconds=None)
  return final, counter


def _metrics(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line) for line in f]


def test_a_resumed_run_ends_like_an_uninterrupted_one(tmp_path):
  straight, _ = _fit(tmp_path / "a", 6)
  _fit(tmp_path / "b", 4)  # stops at 4: as if killed after the checkpoint of step 4
  resumed, counter = _fit(tmp_path / "b", 6)
  np.testing.assert_array_equal(resumed.params["w"], straight.params["w"])
  assert int(resumed.step) == 6 and counter.position == 6
  assert [m["step"] for m in _metrics(tmp_path / "b")] == [1, 2, 3, 4, 5, 6]
  assert _metrics(tmp_path / "b") == _metrics(tmp_path / "a")
  assert loop.latest_step(str(tmp_path / "b")) == 6


def test_a_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
  with pytest.raises(loop.TrainingError, match=r"loss is nan at step 5.*step 4"):
    _fit(tmp_path, 8, step_fn=_nan_at(5))
  assert loop.latest_step(str(tmp_path)) == 4
  assert [m["step"] for m in _metrics(tmp_path)] == [1, 2, 3, 4]
  capsys.readouterr()


def test_numpy_rng_depends_only_on_its_keys():
  a = loop.numpy_rng(0, 7, 3).integers(0, 1 << 30, 4)
  b = loop.numpy_rng(0, 7, 3).integers(0, 1 << 30, 4)
  c = loop.numpy_rng(0, 7, 4).integers(0, 1 << 30, 4)
  np.testing.assert_array_equal(a, b)
  assert not np.array_equal(a, c)
