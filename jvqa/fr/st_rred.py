"""ST-RRED as HEKE's weak-label code computes it (``extract_strred.m``, ``compute_strred.m``).

Soundararajan and Bovik's ST-RRED ("Video quality assessment by reduced
reference spatio-temporal entropic differencing", IEEE TCSVT 2013) in the
"optimised" form of Bampis et al.'s SpEED-QA code that HEKE runs:

* full-resolution luma, **non-overlapping frame pairs** (0, 1), (2, 3), ...;
  N frames give N // 2 scores (125 for HEKE's 250; a trailing odd frame is
  not used);
* one subband per frame: ``steerable_pyramid.coarse_band``;
* ``est_params`` (blk = 3, sigma_n^2 = 0.1) on the first frame's band y1 and
  on the band difference y1 - y2 of the pair:

  - the band is cropped to a multiple of 3; the 9x9 covariance of all
    (overlapping) 3x3 neighbourhoods, dividing by the count;
  - its eigenvalues are clipped at 0 and rescaled so that their sum (the
    trace) is unchanged, and the matrix rebuilt from them;
  - ss = x^T C^-1 x / 9 for each non-overlapping 3x3 block x;
  - entropy q = sum over the rebuilt matrix's positive eigenvalues l of
    log2(ss * l + 0.1) + ln(2 pi e) (the log bases are mixed in the
    original and kept so);

* spatial map S = q(y1) log2(1 + ss(y1)); temporal map
  T = q(y1 - y2) log2(1 + ss(y1)) log2(1 + ss(y1 - y2));
* pair score = nanmean|S_ref - S_dst| * nanmean|T_ref - T_dst| (the
  per-pair product, not scikit-video's product of means). Higher is worse.

Computed in float64 (inside ``jax.enable_x64``): in float32 the pyramid,
the 9x9 covariance, its eigenvalues and its inverse drift by up to 0.5% from
the MATLAB values on the test clips; in float64 they agree to ~1e-9.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from jvqa.fr import batching
from jvqa.fr.steerable_pyramid import coarse_band

BLOCK = 3
NEURAL_NOISE = 0.1
_LN_2PI_E = math.log(2 * math.pi * math.e)
_HIGHEST = jax.lax.Precision.HIGHEST


def _neighbourhoods(y: jax.Array, blk: int) -> jax.Array:
  """(blk*blk, M) values of every overlapping blk x blk neighbourhood."""
  h, w = y.shape
  return jnp.stack([y[v:h - blk + 1 + v, u:w - blk + 1 + u].reshape(-1)
                    for u in range(blk) for v in range(blk)])


def _blocks(y: jax.Array, blk: int) -> jax.Array:
  """(blk*blk, H/blk, W/blk) values of the non-overlapping blocks."""
  h, w = y.shape
  tiles = y.reshape(h // blk, blk, w // blk, blk)
  return jnp.stack([tiles[:, v, :, u] for u in range(blk) for v in range(blk)])


def clip_eigenvalues(eig: jax.Array) -> jax.Array:
  """Eigenvalues clipped at 0, then rescaled to keep their sum (``est_params.m``).

  All-non-positive eigenvalues give zeros (the original divides by 1 then).
  """
  clipped = jnp.where(eig > 0, eig, 0.0)
  kept = jnp.sum(clipped)
  return clipped * jnp.sum(eig) / (kept + (kept == 0))


def est_params(y: jax.Array, blk: int = BLOCK,
               sigma_nsq: float = NEURAL_NOISE) -> tuple[jax.Array, jax.Array]:
  """Local variance and entropy of a subband (``est_params.m``).

  Args:
    y: (H, W) subband, float64.
    blk: block size.
    sigma_nsq: neural noise variance.

  Returns:
    (ss, ent), both (floor(H/blk), floor(W/blk)).
  """
  h, w = (y.shape[0] // blk) * blk, (y.shape[1] // blk) * blk
  y = y[:h, :w]
  samples = _neighbourhoods(y, blk)
  centred = samples - jnp.mean(samples, axis=1, keepdims=True)
  cov = jnp.matmul(centred, centred.T, precision=_HIGHEST) / samples.shape[1]
  eig, vecs = jnp.linalg.eigh(cov)
  cov = jnp.matmul(vecs * clip_eigenvalues(eig), vecs.T, precision=_HIGHEST)
  # The original takes the eigenvalues of the rebuilt matrix again.
  eig = jnp.linalg.eigvalsh(cov)
  blocks = _blocks(y, blk)
  flat = blocks.reshape(blk * blk, -1)
  quad = jnp.sum(jnp.matmul(jnp.linalg.inv(cov), flat, precision=_HIGHEST) * flat, axis=0)
  ss = jnp.where(jnp.max(eig) > 0, quad / (blk * blk), 0.0).reshape(blocks.shape[1:])
  terms = jnp.log2(ss[..., None] * eig + sigma_nsq) + _LN_2PI_E
  ent = jnp.sum(jnp.where(eig > 0, terms, 0.0), axis=-1)
  return ss, ent


def band_features(band1: jax.Array, band2: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Spatial and temporal entropy maps of a frame pair's bands (HEKE's ``STRRED_optim``).

  Args:
    band1: (h, w) ``coarse_band`` of the pair's first frame, float64.
    band2: (h, w) ``coarse_band`` of its second frame.

  Returns:
    (S, T) maps of the band's 3x3 blocks.
  """
  ss, q = est_params(band1)
  spatial = q * jnp.log2(1 + ss)
  ss_diff, q_diff = est_params(band1 - band2)
  temporal = q_diff * jnp.log2(1 + ss) * jnp.log2(1 + ss_diff)
  return spatial, temporal


def pair_score(ref_features, dst_features) -> jax.Array:
  """nanmean|S_ref - S_dst| * nanmean|T_ref - T_dst| of one pair."""
  (s_ref, t_ref), (s_dst, t_dst) = ref_features, dst_features
  return jnp.nanmean(jnp.abs(s_ref - s_dst)) * jnp.nanmean(jnp.abs(t_ref - t_dst))


@jax.jit
def _bands(frames: jax.Array) -> jax.Array:
  """(B, H, W) luma -> (B, h, w) float64 ``coarse_band`` of each frame."""
  return jax.vmap(coarse_band)(frames.astype(jnp.float64))


@jax.jit
def _pair_scores(ref1, ref2, dst1, dst2) -> jax.Array:
  """(B,) pair scores from the (B, h, w) bands of the pairs' frames."""
  ref_features = jax.vmap(band_features)(ref1, ref2)
  dst_features = jax.vmap(band_features)(dst1, dst2)
  return jax.vmap(pair_score)(ref_features, dst_features)


def st_rred(ref, dst, *, batch_size: int = 4) -> np.ndarray:
  """Per-pair ST-RRED of two full-resolution luma videos.

  Args:
    ref: (N, H, W) reference luma in 0-255, N >= 2 (uint8 or float; each
      frame is taken to float64 as it is filtered).
    dst: (N, H, W) distorted luma.
    batch_size: frame pairs vmapped at once.

  Returns:
    (N // 2,) float64 NumPy scores, higher is worse; score p covers frames
    2p and 2p + 1.
  """
  ref, dst = np.asarray(ref), np.asarray(dst)
  if ref.ndim != 3 or dst.shape != ref.shape or ref.shape[0] < 2:
    raise ValueError(f"need two (N, H, W) luma videos of one shape, N >= 2, got "
                     f"{ref.shape} and {dst.shape}")
  used = ref.shape[0] // 2 * 2
  with jax.enable_x64(True):
    ref_bands = batching.map_batches(_bands, (ref[:used],), 2 * batch_size)
    dst_bands = batching.map_batches(_bands, (dst[:used],), 2 * batch_size)
    return batching.map_batches(
        _pair_scores, (ref_bands[0::2], ref_bands[1::2], dst_bands[0::2], dst_bands[1::2]),
        batch_size)
