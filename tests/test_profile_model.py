"""benchmarks/profile_model.py: profiled ops are tied back to jvqa's source lines."""

import inspect
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks"))
import profile_model  # noqa: E402

from jvqa.models import swin3d_windows  # noqa: E402


def test_hlo_sources_name_the_jvqa_line_of_each_op():
  fn = jax.jit(lambda c: swin3d_windows.pairwise_l1(c, jnp) * 2.0)
  coords = np.arange(2 * 5 * 2, dtype=np.float32).reshape(2, 5, 2)
  sources = profile_model.hlo_sources(fn.lower(coords).compile().as_text())
  lines, first = inspect.getsourcelines(swin3d_windows.pairwise_l1)
  inside = {f"swin3d_windows.py:{n}" for n in range(first, first + len(lines))}
  located = [where.split("  ")[-1] for where in sources.values() if "swin3d_windows.py:" in where]
  assert located, sources  # the L1 distance's ops are found in jvqa's file ...
  assert set(located) <= inside  # ... at lines of pairwise_l1 itself
  # The multiply is the lambda's, outside jvqa: named by op, with no jvqa line.
  assert any(where == "mul" for where in sources.values()), sources


def test_hlo_sources_walk_up_to_the_jvqa_caller():
  from flax import nnx  # pylint: disable=g-import-not-at-top
  from jvqa.models import swin3d  # pylint: disable=g-import-not-at-top
  mlp = swin3d.Mlp(4, 8, dtype=jnp.float32, rngs=nnx.Rngs(0))
  graphdef, params = nnx.split(mlp)
  fn = jax.jit(lambda p, x: nnx.merge(graphdef, p)(x))
  text = fn.lower(params, jnp.ones((3, 4))).compile().as_text()
  # The products run in flax's Linear; the line named is Mlp.__call__'s, which calls it.
  lines, first = inspect.getsourcelines(swin3d.Mlp.__call__)
  calls = {f"dot_general  swin3d.py:{n}" for n in range(first, first + len(lines))}
  assert calls & set(profile_model.hlo_sources(text).values())


def test_in_jvqa_knows_the_package_from_another_checkout():
  # A cached program keeps the paths of the checkout that compiled it.
  assert profile_model.in_jvqa(os.path.join(os.sep, "elsewhere", "jvqa", "models", "swin3d.py"))
  # A checkout named jvqa holds files outside the package.
  assert not profile_model.in_jvqa(os.path.join(os.sep, "src", "jvqa", "benchmarks", "models.py"))
  assert not profile_model.in_jvqa(os.path.join(os.sep, "site-packages", "flax", "linear.py"))
