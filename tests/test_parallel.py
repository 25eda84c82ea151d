"""Mesh and sharding helpers on 2 fake CPU devices."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jvqa import parallel
from jvqa.errors import ConfigError


def test_default_mesh_is_data_over_all_devices():
  mesh = parallel.make_mesh()
  assert mesh.axis_names == ("data",)
  assert mesh.shape["data"] == jax.device_count() == 2


@pytest.mark.parametrize("axes, shape", [((("data", 2),), {"data": 2}),
                                         ((("data", -1), ("model", 1)), {"data": 2, "model": 1})])
def test_mesh_from_config(axes, shape):
  assert dict(parallel.make_mesh(axes).shape) == shape


@pytest.mark.parametrize("axes", [(("data", 3),), (("data", -1), ("model", -1)), (("data", 4),)])
def test_bad_mesh_is_config_error(axes):
  with pytest.raises(ConfigError, match="mesh"):
    parallel.make_mesh(axes)


def test_shard_batch_splits_rows_and_jit_sees_global_batch():
  mesh = parallel.make_mesh()
  batch = {"video": np.arange(4 * 3, dtype=np.float32).reshape(4, 3), "mos": np.arange(4.0)}
  sharded = parallel.shard_batch(batch, mesh)
  shards = sharded["video"].addressable_shards
  assert [s.data.shape for s in shards] == [(2, 3), (2, 3)]
  np.testing.assert_array_equal(np.asarray(shards[1].data), batch["video"][2:])
  # A global-batch statistic computed under jit equals the one on the host.
  mean = jax.jit(lambda b: jnp.mean(b["video"], axis=0))(sharded)
  np.testing.assert_allclose(mean, batch["video"].mean(0))


def test_check_batch_size():
  mesh = parallel.make_mesh()
  assert parallel.check_batch_size(8, mesh) == 8
  with pytest.raises(ConfigError, match="not divisible"):
    parallel.check_batch_size(3, mesh)


def test_distributed_not_initialised_on_single_process(monkeypatch):
  for name in ("JAX_COORDINATOR_ADDRESS", "SLURM_JOB_ID", "OMPI_MCA_orte_hnp_uri", "TPU_WORKER_HOSTNAMES"):
    monkeypatch.delenv(name, raising=False)
  assert parallel.maybe_initialize_distributed() is False


def test_multi_process_env_detection(monkeypatch):
  monkeypatch.setenv("SLURM_JOB_ID", "1")
  monkeypatch.setenv("SLURM_NTASKS", "1")
  assert not parallel._multi_process_env()
  monkeypatch.setenv("SLURM_NTASKS", "4")
  assert parallel._multi_process_env()


def test_coordinator_without_process_count_is_config_error(monkeypatch):
  monkeypatch.setenv("JAX_COORDINATOR_ADDRESS", "127.0.0.1:1234")
  monkeypatch.delenv("JAX_NUM_PROCESSES", raising=False)
  with pytest.raises(ConfigError, match="JAX_NUM_PROCESSES"):
    parallel.maybe_initialize_distributed()
