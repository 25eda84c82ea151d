"""Device mesh and data-parallel sharding helpers.

jvqa shards the batch over a ``data`` mesh axis and replicates parameters: a
jitted step over ``NamedSharding`` arrays is the data-parallel step (XLA
inserts the gradient all-reduce). ``jax.pmap`` is not used: it is in
maintenance mode since JAX 0.8. Multi-host runs call
``maybe_initialize_distributed()`` first; each process then feeds its own
slice of the global batch to ``shard_batch``.
"""

import os
from collections.abc import Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jvqa.errors import ConfigError

DATA_AXIS = "data"


def _multi_process_env() -> bool:
  """Whether the standard environment of a multi-process launch is present."""
  env = os.environ
  if env.get("JAX_COORDINATOR_ADDRESS"):
    return True
  if "SLURM_JOB_ID" in env and int(env.get("SLURM_NTASKS", "1")) > 1:
    return True
  if "OMPI_MCA_orte_hnp_uri" in env and int(env.get("OMPI_COMM_WORLD_SIZE", "1")) > 1:
    return True
  # Multi-host Cloud TPU slices list their workers, comma separated.
  return "," in env.get("TPU_WORKER_HOSTNAMES", "")


def maybe_initialize_distributed() -> bool:
  """Calls ``jax.distributed.initialize()`` when launched as several processes.

  Recognised launches: ``JAX_COORDINATOR_ADDRESS`` with ``JAX_NUM_PROCESSES``
  and ``JAX_PROCESS_ID``; SLURM or Open MPI with more than one task; a
  multi-host Cloud TPU slice (JAX detects the rest itself). Returns whether it
  initialised. Must run before any other JAX call.
  """
  if not _multi_process_env() or jax.distributed.is_initialized():
    return False
  kwargs = {}
  if os.environ.get("JAX_COORDINATOR_ADDRESS"):
    for key, env_name in (("num_processes", "JAX_NUM_PROCESSES"), ("process_id", "JAX_PROCESS_ID")):
      if env_name not in os.environ:
        raise ConfigError(f"JAX_COORDINATOR_ADDRESS is set but {env_name} is not")
      kwargs[key] = int(os.environ[env_name])
  jax.distributed.initialize(**kwargs)
  return True


def make_mesh(axes: Sequence[tuple[str, int]] | None = None) -> Mesh:
  """A device mesh from ``((name, size), ...)``; one size may be -1 (the rest).

  The default is one ``data`` axis over every device of every process.
  """
  axes = tuple(axes) if axes else ((DATA_AXIS, -1),)
  names = tuple(str(name) for name, _ in axes)
  sizes = [int(size) for _, size in axes]
  n = jax.device_count()
  if sizes.count(-1) > 1:
    raise ConfigError(f"mesh {axes}: at most one axis may have size -1")
  known = int(np.prod([s for s in sizes if s != -1]))
  if -1 in sizes:
    if known <= 0 or n % known:
      raise ConfigError(f"mesh {axes}: {n} devices do not split into axes of sizes {sizes}")
    sizes[sizes.index(-1)] = n // known
  if int(np.prod(sizes)) != n:
    raise ConfigError(f"mesh {axes}: sizes {sizes} need {int(np.prod(sizes))} devices, found {n}")
  # Auto axes: XLA propagates shardings through the step (classic GSPMD data
  # parallelism); jax.make_mesh would otherwise default to Explicit axes.
  return jax.make_mesh(tuple(sizes), names, axis_types=(jax.sharding.AxisType.Auto,) * len(names))


def batch_sharding(mesh: Mesh, axis: str = DATA_AXIS) -> NamedSharding:
  """Shards the leading (batch) dimension over ``axis``."""
  return NamedSharding(mesh, P(axis))


def replicated(mesh: Mesh) -> NamedSharding:
  """The same full copy on every device."""
  return NamedSharding(mesh, P())


def replicate(tree, mesh: Mesh):
  """Puts every array of ``tree`` on all devices of ``mesh``."""
  return jax.device_put(tree, replicated(mesh))


def data_parallel_size(mesh: Mesh, axis: str = DATA_AXIS) -> int:
  return int(mesh.shape[axis])


def check_batch_size(global_batch_size: int, mesh: Mesh, axis: str = DATA_AXIS) -> int:
  """Returns the per-process batch size; errors if the batch does not divide."""
  n = data_parallel_size(mesh, axis)
  if global_batch_size % n:
    raise ConfigError(f"batch size {global_batch_size} is not divisible by the {n} devices of mesh axis {axis!r}")
  if global_batch_size % jax.process_count():
    raise ConfigError(f"batch size {global_batch_size} is not divisible by {jax.process_count()} processes")
  return global_batch_size // jax.process_count()


def shard_batch(batch, mesh: Mesh, axis: str = DATA_AXIS):
  """Turns this process's slice of a batch (numpy pytree) into global arrays.

  On one host the slice is the whole batch. With several processes each passes
  its own ``global_batch / process_count`` rows and gets back arrays of the
  global shape, sharded over ``axis``.
  """
  sharding = batch_sharding(mesh, axis)
  return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), batch)
