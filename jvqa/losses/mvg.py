"""Multivariate-Gaussian (NIQE-like) distance between token sets.

ST-VQRL (``STVQRL/niqe_loss.py``) and SSL-VQA (``semisupervised_training.py``)
fit a Gaussian to a clip's tokens (mean and unbiased covariance over tokens)
and compare two clips with

    d(X, Y) = sqrt( δᵀ · A⁻¹ · δ ),  δ = μ_X − μ_Y,  A = (Σ_X + Σ_Y)/2 + ε·I.

ST-VQRL inverts A with ``torch.linalg.pinv`` (ε = 1e-4, 64-d tokens);
SSL-VQA with ``torch.inverse`` (ε = 1e-8, 768-d tokens). A distance becomes a
similarity or a quality score through exp(−τ·d), τ a multiplier.

All functions are pure ``jax.numpy``, jitted (they inline into an enclosing
jit), broadcast over leading dimensions and can be vmapped. Matrix products
run at full float32 precision (no TF32 on GPUs): the covariances feed a
matrix inverse.
"""

import functools

import jax
import jax.numpy as jnp

_HIGHEST = jax.lax.Precision.HIGHEST
_INVERSES = ("pinv", "solve")


def _full_precision(fn):
  """Traces ``fn`` with float32 matmuls at full precision (no TF32/bf16 passes)."""

  @functools.wraps(fn)
  def wrapped(*args, **kwargs):
    with jax.default_matmul_precision("float32"):
      return fn(*args, **kwargs)

  return wrapped


def safe_sqrt(x: jax.Array) -> jax.Array:
  """sqrt(max(x, 0)) whose gradient is 0, not NaN or inf, where x ≤ 0.

  The double ``where`` keeps the unused branch's sqrt away from 0, so its
  derivative 1/(2·sqrt(x)) never meets a zero cotangent as inf·0.
  """
  positive = x > 0
  return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1.0)), 0.0)


@jax.jit
def mvg_params(tokens: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Mean and unbiased covariance of a token set.

  Args:
    tokens: (..., N, D) tokens, N ≥ 2.

  Returns:
    (mean (..., D), cov (..., D, D)); the covariance divides by N − 1.
  """
  n = tokens.shape[-2]
  mean = jnp.mean(tokens, axis=-2)
  diffs = tokens - mean[..., None, :]
  cov = jnp.einsum("...nd,...ne->...de", diffs, diffs, precision=_HIGHEST) / (n - 1)
  return mean, cov


@functools.partial(jax.jit, static_argnames=("inverse",))
@_full_precision
def mvg_distance(mu1: jax.Array, cov1: jax.Array, mu2: jax.Array,
                 cov2: jax.Array, *, eps: float,
                 inverse: str = "pinv") -> jax.Array:
  """MVG distance sqrt(δᵀ·A⁻¹·δ), δ = mu1 − mu2, A = (cov1 + cov2)/2 + eps·I.

  Leading dimensions broadcast: mu1 (1, D) with mu2 (B, D) gives (B,).

  Args:
    mu1: (..., D) mean of the first distribution.
    cov1: (..., D, D) its covariance.
    mu2: (..., D) mean of the second distribution.
    cov2: (..., D, D) its covariance.
    eps: ridge added to the diagonal of A.
    inverse: "pinv" for ST-VQRL's ``torch.linalg.pinv`` (cut-off as torch's
      default), "solve" for SSL-VQA's ``torch.inverse`` (computed as a linear
      solve, cheaper and more stable than forming A⁻¹).

  Returns:
    (...) distances; the quadratic form is clamped at 0 before the sqrt, and
    the gradient is finite (zero) where it is 0, e.g. where mu1 == mu2.
  """
  if inverse not in _INVERSES:
    raise ValueError(f"inverse must be one of {_INVERSES}, got {inverse!r}")
  d = mu1.shape[-1]
  delta = mu1 - mu2
  a = 0.5 * (cov1 + cov2) + eps * jnp.eye(d, dtype=cov1.dtype)
  batch = jnp.broadcast_shapes(delta.shape[:-1], a.shape[:-2])
  delta = jnp.broadcast_to(delta, batch + (d,))
  a = jnp.broadcast_to(a, batch + (d, d))
  if inverse == "pinv":
    # torch.linalg.pinv cuts singular values below rtol·max(s) with
    # rtol = max(M, N)·eps(dtype); JAX's default rtol is 10× larger and would
    # zero eigenvalues torch keeps (e.g. the ε-ridge of a rank-deficient Σ).
    rtol = float(d * jnp.finfo(a.dtype).eps)
    a_inv = jnp.linalg.pinv(a, rtol=rtol, hermitian=True)
    quad = jnp.einsum("...i,...ij,...j->...", delta, a_inv, delta, precision=_HIGHEST)
  else:
    x = jnp.linalg.solve(a, delta[..., None])[..., 0]
    quad = jnp.einsum("...i,...i->...", delta, x, precision=_HIGHEST)
  return safe_sqrt(quad)


@functools.partial(jax.jit, static_argnames=("inverse",))
def mvg_token_distance(x: jax.Array, y: jax.Array, *, eps: float,
                       inverse: str = "pinv") -> jax.Array:
  """MVG distance between token sets x (..., N1, D) and y (..., N2, D) → (...)."""
  mu1, cov1 = mvg_params(x)
  mu2, cov2 = mvg_params(y)
  return mvg_distance(mu1, cov1, mu2, cov2, eps=eps, inverse=inverse)


@jax.jit
def similarity(distance: jax.Array, tau: float) -> jax.Array:
  """exp(−tau·distance); tau multiplies the distance, as in the original code."""
  return jnp.exp(-tau * distance)


def token_set(features: jax.Array) -> jax.Array:
  """(B, T, H, W, D) feature maps -> (B, T·H·W, D) float32 token sets, one per clip."""
  return features.reshape(features.shape[0], -1, features.shape[-1]).astype(jnp.float32)


@jax.jit
def pristine_statistics(tokens: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Mean and covariance of pristine clips' tokens pooled into one distribution.

  SSL-VQA recomputes these once per step with the current auxiliary backbone
  and detaches them; here they are under ``jax.lax.stop_gradient``.

  Args:
    tokens: (P, N, D) tokens of P pristine clips (P·N tokens in all).

  Returns:
    (mean (D,), cov (D, D)), unbiased over the P·N tokens, without gradient.
  """
  tokens = jax.lax.stop_gradient(tokens)
  pooled = tokens.reshape(-1, tokens.shape[-1])
  mean, cov = mvg_params(pooled)
  return jax.lax.stop_gradient(mean), jax.lax.stop_gradient(cov)


@jax.jit
def distance_score(tokens: jax.Array, mu_p: jax.Array, cov_p: jax.Array, *,
                   tau: float = 0.01, eps: float = 1e-8) -> jax.Array:
  """SSL-VQA's distance-based score Q_D = exp(−tau·d(P, clip)).

  Args:
    tokens: (B, N, D) tokens of B clips.
    mu_p: (D,) pristine mean (``pristine_statistics``).
    cov_p: (D, D) pristine covariance.
    tau: multiplier of the distance (0.01 in training, 0.1 in the test scripts).
    eps: ridge of A (1e-8 in SSL-VQA).

  Returns:
    (B,) scores in (0, 1]; higher means closer to pristine, i.e. better.
  """
  mu, cov = mvg_params(tokens)
  d = mvg_distance(mu_p, cov_p, mu, cov, eps=eps, inverse="solve")
  return similarity(d, tau)
