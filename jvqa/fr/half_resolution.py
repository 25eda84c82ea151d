"""HEKE's half-resolution luma for GMSD and ST-GMSD (``load_frames.m``).

Each frame is averaged over 2x2 blocks (``conv2(frame, ones(2)/4, 'valid')``,
then every second pixel from the first): ``floor(H/2) x floor(W/2)``.
"""

import jax
import jax.numpy as jnp

from jvqa.fr import filtering


@jax.jit
def half_resolution(frames: jax.Array) -> jax.Array:
  """(N, H, W) luma -> (N, floor(H/2), floor(W/2)) 2x2 block means, float32."""
  frames = jnp.asarray(frames, jnp.float32)
  return jax.vmap(filtering.box2_decimate_valid)(frames)
