"""Tests of jvqa.losses against independent float64 NumPy implementations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jvqa import losses

F32_EPS = float(np.finfo(np.float32).eps)
RTOL = 1e-5


# ---------------------------------------------------------------------------
# float64 NumPy references, written from the formulas (sslvqa.md §2.4, §4.3).


def np_params(x):
  x = np.asarray(x, np.float64)
  return x.mean(axis=0), np.cov(x, rowvar=False)


def np_matrix(c1, c2, eps):
  return (c1 + c2) / 2 + eps * np.eye(c1.shape[-1])


def np_distance(mu1, c1, mu2, c2, eps, inverse):
  """One pair; pinv with torch's cut-off rtol = D·eps(float32) (the model's dtype)."""
  a = np_matrix(c1, c2, eps)
  delta = mu1 - mu2
  if inverse == "pinv":
    quad = delta @ np.linalg.pinv(a, rtol=a.shape[-1] * F32_EPS, hermitian=True) @ delta
  else:
    quad = delta @ np.linalg.solve(a, delta)
  return np.sqrt(max(quad, 0.0))


def np_token_distance(x, y, eps, inverse):
  return np_distance(*np_params(x), *np_params(y), eps, inverse)


def np_contrastive(f1, f2, tau, eps):
  """ST-VQRL's loss, literally: loops over b, i, j, exp and −log of the ratio."""
  f1 = np.asarray(f1, np.float64)
  f2 = np.asarray(f2, np.float64)
  n_b, k = f1.shape[:2]
  total = 0.0
  for b in range(n_b):
    scene = 0.0
    for i in range(k):
      for anchor, cands in ((f1[b, i], f2[b]), (f2[b, i], f1[b])):
        sims = [np.exp(-tau * np_token_distance(anchor, cands[j], eps, "pinv"))
                for j in range(k)]
        scene += -np.log(sims[i] / sum(sims))
    total += scene / k
  return total / n_b


def np_plcc(pred, target):
  a = np.asarray(pred, np.float64).ravel()
  b = np.asarray(target, np.float64).ravel()
  a = (a - a.mean()) / (a.std() + 1e-8)
  b = (b - b.mean()) / (b.std() + 1e-8)
  rho = np.mean(a * b)
  return 0.5 * (np.mean((a - b)**2) / 4 + np.mean((rho * a - b)**2) / 4)


def rand(rng, *shape, scale=1.0, loc=0.0):
  return (loc + scale * rng.standard_normal(shape)).astype(np.float32)


def assert_close(actual, desired, rtol=RTOL, atol=0.0):
  np.testing.assert_allclose(np.asarray(actual, np.float64), desired, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------
# MVG parameters and distance.


@pytest.mark.parametrize("shape", [(12, 5), (3, 12, 5), (2, 4, 6, 3)])
def test_mvg_params_matches_numpy(shape):
  x = rand(np.random.default_rng(0), *shape)
  mean, cov = losses.mvg_params(jnp.asarray(x))
  flat = x.reshape(-1, *shape[-2:])
  ref = [np_params(t) for t in flat]
  assert mean.shape == shape[:-2] + shape[-1:]
  assert cov.shape == shape[:-2] + (shape[-1], shape[-1])
  assert_close(mean.reshape(-1, shape[-1]), np.stack([r[0] for r in ref]), atol=1e-6)
  assert_close(cov.reshape(-1, shape[-1], shape[-1]), np.stack([r[1] for r in ref]), atol=1e-6)


@pytest.mark.parametrize("inverse", ["pinv", "solve"])
@pytest.mark.parametrize("eps", [1e-4, 1e-2])
@pytest.mark.parametrize("n,d", [(12, 5), (40, 8)])
def test_mvg_token_distance_matches_numpy(inverse, eps, n, d):
  rng = np.random.default_rng(1)
  x = rand(rng, 4, n, d)
  y = rand(rng, 4, n, d, scale=1.5, loc=0.3)
  got = losses.mvg_token_distance(jnp.asarray(x), jnp.asarray(y), eps=eps, inverse=inverse)
  ref = [np_token_distance(x[b], y[b], eps, inverse) for b in range(4)]
  assert got.shape == (4,)
  assert_close(got, ref)


@pytest.mark.parametrize("inverse", ["pinv", "solve"])
def test_mvg_distance_broadcasts_leading_dims(inverse):
  rng = np.random.default_rng(2)
  p = rand(rng, 30, 5)
  q = rand(rng, 3, 12, 5, loc=0.5)
  mu_p, cov_p = np_params(p)
  mu1, cov1 = losses.mvg_params(jnp.asarray(p[None]))  # (1, D), (1, D, D)
  mu2, cov2 = losses.mvg_params(jnp.asarray(q))  # (3, D), (3, D, D)
  got = losses.mvg_distance(mu1, cov1, mu2, cov2, eps=1e-4, inverse=inverse)
  got_unbatched = losses.mvg_distance(mu1[0], cov1[0], mu2, cov2, eps=1e-4, inverse=inverse)
  ref = [np_distance(mu_p, cov_p, *np_params(q[b]), 1e-4, inverse) for b in range(3)]
  assert got.shape == (3,) and got_unbatched.shape == (3,)
  assert_close(got, ref)
  assert_close(got_unbatched, ref)


def test_singular_covariance_pinv_cuts_the_ridge_like_torch():
  """N < D: A's null space holds only the ε-ridge; pinv drops it, inverse does not."""
  rng = np.random.default_rng(3)
  n, d = 4, 8  # ranks 3 + 3 < 8: two directions of A are exactly eps
  for eps, scale in ((1e-4, 100.0), (1e-2, 1000.0)):
    for _ in range(3):
      x = rand(rng, n, d, scale=scale)
      y = rand(rng, n, d, scale=scale, loc=0.3 * scale)
      a = np_matrix(np_params(x)[1], np_params(y)[1], eps)
      w = np.linalg.eigvalsh(a)
      cutoff = d * F32_EPS * w[-1]
      # The ridge is far below torch's cut-off and the data part far above it.
      assert w[1] < 0.05 * cutoff < 20 * cutoff < w[2]
      got = losses.mvg_token_distance(jnp.asarray(x), jnp.asarray(y), eps=eps, inverse="pinv")
      ref = np_token_distance(x, y, eps, "pinv")
      ref_inverse = np_token_distance(x, y, eps, "solve")
      # float32 error grows with the condition number of the kept part of A.
      assert_close(got, ref, rtol=max(RTOL, 10 * F32_EPS * w[-1] / w[2]))
      assert ref_inverse > 100 * ref  # pinv vs inverse really differ here


@pytest.mark.parametrize("eps", [1e-4, 1e-2])
def test_singular_covariance_solve_matches_inverse(eps):
  rng = np.random.default_rng(4)
  x = rand(rng, 2, 4, 8)
  y = rand(rng, 2, 4, 8, loc=0.2)
  got = losses.mvg_token_distance(jnp.asarray(x), jnp.asarray(y), eps=eps, inverse="solve")
  for b in range(2):
    a = np_matrix(np_params(x[b])[1], np_params(y[b])[1], eps)
    # Rounding Σ to float32 perturbs A by ~eps32·|A|, i.e. a relative error of
    # about eps32·cond(A) in the quadratic form, whatever the solver.
    rtol = max(RTOL, 10 * F32_EPS * np.linalg.cond(a))
    assert_close(got[b], np_token_distance(x[b], y[b], eps, "solve"), rtol=rtol)


def test_mvg_distance_rejects_unknown_inverse():
  mu, cov = jnp.zeros(3), jnp.eye(3)
  with pytest.raises(ValueError, match="inverse"):
    losses.mvg_distance(mu, cov, mu, cov, eps=1e-4, inverse="inv")


@pytest.mark.parametrize("inverse", ["pinv", "solve"])
def test_mvg_distance_gradient_is_finite_at_zero_distance(inverse):
  rng = np.random.default_rng(5)
  _, cov1 = losses.mvg_params(jnp.asarray(rand(rng, 12, 5)))
  _, cov2 = losses.mvg_params(jnp.asarray(rand(rng, 12, 5)))
  mu = jnp.asarray(rand(rng, 5))

  def dist(mu1, c1, mu2, c2):
    return losses.mvg_distance(mu1, c1, mu2, c2, eps=1e-4, inverse=inverse)

  assert float(dist(mu, cov1, mu, cov2)) == 0.0
  grads = jax.grad(dist, argnums=(0, 1, 2, 3))(mu, cov1, mu, cov2)
  for g in grads:
    assert np.all(np.isfinite(g))
    np.testing.assert_array_equal(g, 0.0)
  # The test has teeth: a plain sqrt of the same quadratic form has no finite gradient.
  naive = jax.grad(lambda m: jnp.sqrt(jnp.maximum(jnp.dot(m - mu, m - mu), 0.0)))(mu)
  assert not np.all(np.isfinite(naive))


@pytest.mark.parametrize("inverse", ["pinv", "solve"])
def test_mvg_distance_gradient_matches_analytic(inverse):
  """∂d/∂μ1 = A⁻¹δ / d away from 0."""
  rng = np.random.default_rng(6)
  x, y = rand(rng, 12, 5), rand(rng, 12, 5, loc=0.4)
  mu1, cov1 = losses.mvg_params(jnp.asarray(x))
  mu2, cov2 = losses.mvg_params(jnp.asarray(y))
  g = jax.grad(lambda m: losses.mvg_distance(m, cov1, mu2, cov2, eps=1e-2,
                                             inverse=inverse))(mu1)
  (m1, c1), (m2, c2) = np_params(x), np_params(y)
  a = np_matrix(c1, c2, 1e-2)
  ref = np.linalg.solve(a, m1 - m2) / np_distance(m1, c1, m2, c2, 1e-2, "solve")
  assert_close(g, ref, rtol=1e-4)


def test_similarity():
  d = np.array([0.0, 0.5, 3.0, 40.0])
  assert_close(losses.similarity(jnp.asarray(d, jnp.float32), 0.1), np.exp(-0.1 * d))


def test_token_set_keeps_each_clip_and_channel():
  maps = np.arange(2 * 3 * 2 * 2 * 4, dtype=np.float64).reshape(2, 3, 2, 2, 4)
  tokens = losses.token_set(jnp.asarray(maps, jnp.bfloat16))
  assert tokens.shape == (2, 12, 4) and tokens.dtype == jnp.float32
  for b in range(2):
    # Token (t, h, w) of clip b is the channel vector at that position.
    expected = np.asarray(jnp.asarray(maps[b], jnp.bfloat16), np.float32).reshape(12, 4)
    np.testing.assert_array_equal(tokens[b], expected)


def test_pristine_statistics_pools_clips_without_gradient():
  rng = np.random.default_rng(7)
  tokens = rand(rng, 3, 10, 5)
  mean, cov = losses.pristine_statistics(jnp.asarray(tokens))
  ref_mean, ref_cov = np_params(tokens.reshape(30, 5))
  assert mean.shape == (5,) and cov.shape == (5, 5)
  assert_close(mean, ref_mean, atol=1e-6)
  assert_close(cov, ref_cov, atol=1e-6)
  # Pooled over all 30 tokens, not averaged per clip.
  per_clip = np.mean([np_params(t)[1] for t in tokens], axis=0)
  assert not np.allclose(cov, per_clip, rtol=1e-3)

  def total(t):
    m, c = losses.pristine_statistics(t)
    return jnp.sum(m) + jnp.sum(c**2)

  np.testing.assert_array_equal(jax.grad(total)(jnp.asarray(tokens)), 0.0)


@pytest.mark.parametrize("tau", [0.01, 0.1])
def test_distance_score_matches_numpy(tau):
  rng = np.random.default_rng(8)
  pristine = rand(rng, 4, 12, 5)
  clips = rand(rng, 3, 12, 5, scale=2.0, loc=0.5)
  mu_p, cov_p = losses.pristine_statistics(jnp.asarray(pristine))
  got = losses.distance_score(jnp.asarray(clips), mu_p, cov_p, tau=tau)
  rmu, rcov = np_params(pristine.reshape(-1, 5))
  ref = [np.exp(-tau * np_distance(rmu, rcov, *np_params(c), 1e-8, "solve")) for c in clips]
  assert got.shape == (3,)
  assert_close(got, ref)
  # Clips nearer the pristine distribution score higher.
  near = losses.distance_score(jnp.asarray(pristine[:2] + 0.01), mu_p, cov_p, tau=tau)
  assert float(jnp.min(near)) > float(jnp.max(got))


# ---------------------------------------------------------------------------
# ST-VQRL contrastive loss.


def _scenes(rng, b, k, n, d, noise):
  """B scenes × K versions with distinct means; view 2 = view 1 + noise."""
  centres = rand(rng, b, k, 1, d, scale=1.0)
  f1 = centres + rand(rng, b, k, n, d, scale=0.5)
  f2 = f1 + rand(rng, b, k, n, d, scale=noise)
  return f1, f2


def test_pairwise_distances_matches_numpy():
  rng = np.random.default_rng(9)
  f1, f2 = rand(rng, 2, 3, 12, 5), rand(rng, 2, 3, 12, 5, loc=0.2)
  got = losses.pairwise_distances(jnp.asarray(f1), jnp.asarray(f2), eps=1e-4)
  assert got.shape == (2, 3, 3)
  for b in range(2):
    for i in range(3):
      for j in range(3):
        assert_close(got[b, i, j], np_token_distance(f1[b, i], f2[b, j], 1e-4, "pinv"))
        # Views swapped: the same matrix, transposed.
        assert_close(got[b, j, i], np_token_distance(f2[b, i], f1[b, j], 1e-4, "pinv"))


@pytest.mark.parametrize("b,k,n,d,eps,tau", [
    (2, 3, 12, 5, 1e-4, 0.1),
    (1, 4, 6, 3, 1e-2, 0.1),
    (3, 2, 4, 6, 1e-4, 0.5),  # N < D: singular covariances
])
def test_stvqrl_contrastive_loss_matches_numpy(b, k, n, d, eps, tau):
  f1, f2 = _scenes(np.random.default_rng(10), b, k, n, d, noise=0.7)
  got = losses.stvqrl_contrastive_loss(jnp.asarray(f1), jnp.asarray(f2), tau=tau, eps=eps)
  assert got.shape == ()
  # Singular Σ (N < D) make A as ill-conditioned as λ_max/ε: float32 rounding
  # of Σ then costs ~eps32·cond(A) relative (see the singular solve test).
  cond = max(np.linalg.cond(np_matrix(np_params(f1[i, j])[1], np_params(f2[i, l])[1], eps))
             for i in range(b) for j in range(k) for l in range(k))
  assert_close(got, np_contrastive(f1, f2, tau, eps), rtol=max(RTOL, 10 * F32_EPS * cond))


def test_stvqrl_contrastive_loss_is_lower_when_positives_are_closer():
  rng = np.random.default_rng(11)
  f1, close = _scenes(rng, 2, 4, 12, 5, noise=0.05)
  far = f1 + rand(rng, *f1.shape, scale=2.0)
  # Positives paired with the wrong versions: view 2 rolled along K.
  swapped = np.roll(close, 1, axis=1)
  loss = lambda a, b: float(losses.stvqrl_contrastive_loss(jnp.asarray(a), jnp.asarray(b)))
  assert loss(f1, close) < loss(f1, far)
  assert loss(f1, close) < loss(f1, swapped)
  # The loss is bounded below by 0 and above all near chance (2·log K) when swapped.
  assert 0.0 < loss(f1, close) < 2 * np.log(4) < loss(f1, swapped)


# ---------------------------------------------------------------------------
# PLCC loss.


@pytest.mark.parametrize("n", [4, 16, 33])
def test_plcc_loss_matches_numpy(n):
  rng = np.random.default_rng(13)
  pred, target = rand(rng, n), rand(rng, n, scale=3.0, loc=2.0)
  assert_close(losses.plcc_loss(jnp.asarray(pred), jnp.asarray(target)), np_plcc(pred, target))
  # (B, 1), as SSL-VQA's head outputs and labels, reduces the same way.
  assert_close(losses.plcc_loss(jnp.asarray(pred[:, None]), jnp.asarray(target[:, None])),
               np_plcc(pred, target))


def test_plcc_loss_invariances_and_extremes():
  rng = np.random.default_rng(14)
  pred, target = rand(rng, 16), rand(rng, 16)
  base = float(losses.plcc_loss(jnp.asarray(pred), jnp.asarray(target)))
  assert base > 0.05
  for scale, offset in ((3.0, 5.0), (0.01, -2.0)):
    assert_close(losses.plcc_loss(jnp.asarray(scale * pred + offset), jnp.asarray(target)),
                 base, rtol=1e-4)
    assert_close(losses.plcc_loss(jnp.asarray(pred), jnp.asarray(scale * target + offset)),
                 base, rtol=1e-4)
  assert float(losses.plcc_loss(jnp.asarray(pred), jnp.asarray(2.5 * pred + 1.0))) < 1e-6
  assert_close(losses.plcc_loss(jnp.asarray(pred), jnp.asarray(-pred)), 0.5, rtol=1e-5)


def test_plcc_loss_gradient_flows_through_rho():
  rng = np.random.default_rng(15)
  pred, target = rand(rng, 8), rand(rng, 8)
  g = jax.grad(losses.plcc_loss)(jnp.asarray(pred), jnp.asarray(target))
  # Central differences of the float64 reference (which differentiates through ρ).
  h = 1e-6
  ref = np.array([(np_plcc(pred + h * e, target) - np_plcc(pred - h * e, target)) / (2 * h)
                  for e in np.eye(8)])
  assert_close(g, ref, rtol=1e-4, atol=1e-6)


def test_plcc_loss_constant_input_has_finite_gradient():
  g = jax.grad(losses.plcc_loss)(jnp.ones(6), jnp.arange(6.0))
  assert np.all(np.isfinite(g))


def test_plcc_loss_rejects_size_mismatch():
  with pytest.raises(ValueError, match="sizes"):
    losses.plcc_loss(jnp.ones(4), jnp.ones(5))


# ---------------------------------------------------------------------------
# Knowledge transfer.


def _transfer_inputs(rng, regressor_consistent):
  """Scores where one model's two views agree and the other's do not."""
  n = 16
  good1 = rand(rng, n)
  good2 = good1 + rand(rng, n, scale=0.05)
  bad1, bad2 = rand(rng, n), rand(rng, n)
  if regressor_consistent:
    return good1, good2, bad1, bad2
  return bad1, bad2, good1, good2


@pytest.mark.parametrize("regressor_consistent", [True, False])
def test_knowledge_transfer_mask_and_values(regressor_consistent):
  r1, r2, d1, d2 = _transfer_inputs(np.random.default_rng(16), regressor_consistent)
  out = losses.knowledge_transfer_loss(*map(jnp.asarray, (r1, r2, d1, d2)))
  eps_r, eps_d = np_plcc(r1, r2), np_plcc(d1, d2)
  assert_close(out.eps_regressor, eps_r)
  assert_close(out.eps_distance, eps_d)
  # The less self-consistent model (larger ε) is the student.
  m = 0.0 if regressor_consistent else 1.0
  assert (eps_r > eps_d) == bool(m)
  assert out.mask.dtype == jnp.float32 and float(out.mask) == m
  assert_close(out.regressor, m * np_plcc(r1, d1))
  assert_close(out.distance, (1 - m) * np_plcc(r1, d1))
  # The active term is a real loss, not zero.
  assert float(out.regressor + out.distance) > 0.05


@pytest.mark.parametrize("regressor_consistent", [True, False])
def test_knowledge_transfer_stop_gradient(regressor_consistent):
  args = tuple(map(jnp.asarray, _transfer_inputs(np.random.default_rng(17),
                                                 regressor_consistent)))
  grad_r = jax.grad(lambda *a: losses.knowledge_transfer_loss(*a).regressor,
                    argnums=(0, 1, 2, 3))(*args)
  grad_d = jax.grad(lambda *a: losses.knowledge_transfer_loss(*a).distance,
                    argnums=(0, 1, 2, 3))(*args)
  # Teacher inputs and the u″ views (only in ε) never get a gradient.
  for g in (grad_r[1], grad_r[2], grad_r[3], grad_d[0], grad_d[1], grad_d[3]):
    np.testing.assert_array_equal(g, 0.0)
  student_grad = grad_d[2] if regressor_consistent else grad_r[0]
  idle_grad = grad_r[0] if regressor_consistent else grad_d[2]
  assert np.all(np.isfinite(student_grad)) and np.any(student_grad != 0)
  np.testing.assert_array_equal(idle_grad, 0.0)


# ---------------------------------------------------------------------------
# jit and vmap.


def test_contrastive_step_under_jit_with_traced_hyperparameters():
  f1, f2 = _scenes(np.random.default_rng(18), 2, 3, 4, 6, noise=0.3)  # N < D

  @jax.jit
  def step(a, b, tau, eps):
    return jax.value_and_grad(losses.stvqrl_contrastive_loss, argnums=(0, 1))(
        a, b, tau=tau, eps=eps)

  for tau, eps in ((0.1, 1e-2), (0.3, 1e-1)):  # one compilation for both
    value, (g1, g2) = step(jnp.asarray(f1), jnp.asarray(f2), tau, eps)
    assert_close(value, np_contrastive(f1, f2, tau, eps), rtol=1e-4)
    assert np.all(np.isfinite(g1)) and np.all(np.isfinite(g2))
    assert np.any(g1 != 0) and np.any(g2 != 0)
  assert step._cache_size() == 1


def test_ssl_step_under_jit():
  """Q_D scores → transfer terms inside one jitted function, with a traced τ."""
  rng = np.random.default_rng(19)
  pristine, u1, u2 = rand(rng, 2, 12, 5), rand(rng, 8, 12, 5, loc=0.3), rand(rng, 8, 12, 5)
  r1, r2 = rand(rng, 8), rand(rng, 8)

  @jax.jit
  def step(pristine, u1, u2, r1, r2, tau):
    mu_p, cov_p = losses.pristine_statistics(pristine)
    d1 = losses.distance_score(u1, mu_p, cov_p, tau=tau)
    d2 = losses.distance_score(u2, mu_p, cov_p, tau=tau)
    return d1, losses.knowledge_transfer_loss(r1, r2, d1, d2)

  d1, out = step(*map(jnp.asarray, (pristine, u1, u2, r1, r2)), 0.1)
  mu_p, cov_p = np_params(pristine.reshape(-1, 5))
  score = lambda u: np.array(
      [np.exp(-0.1 * np_distance(mu_p, cov_p, *np_params(c), 1e-8, "solve")) for c in u])
  ref_d1, ref_d2 = score(u1), score(u2)
  assert_close(d1, ref_d1)
  m = float(np_plcc(r1, r2) > np_plcc(ref_d1, ref_d2))
  assert float(out.mask) == m
  assert_close(out.regressor + out.distance, np_plcc(r1, ref_d1), rtol=1e-4)


def test_vmap_matches_loop():
  rng = np.random.default_rng(20)
  f1, f2 = (jnp.asarray(a) for a in _scenes(rng, 3, 3, 12, 5, noise=0.5))
  # vmap over scenes of a one-scene contrastive loss = per-scene losses.
  per_scene = jax.vmap(lambda a, b: losses.stvqrl_contrastive_loss(a[None], b[None]))(f1, f2)
  for b in range(3):
    assert_close(per_scene[b], np_contrastive(np.asarray(f1[b:b + 1]),
                                              np.asarray(f2[b:b + 1]), 0.1, 1e-4))
  assert_close(jnp.mean(per_scene), float(losses.stvqrl_contrastive_loss(f1, f2)))
  # vmap of plcc_loss over rows = one batch per row.
  pred, target = rand(rng, 4, 10), rand(rng, 4, 10)
  rows = jax.vmap(losses.plcc_loss)(jnp.asarray(pred), jnp.asarray(target))
  assert_close(rows, [np_plcc(p, t) for p, t in zip(pred, target)])
  out = jax.vmap(losses.knowledge_transfer_loss)(*(jnp.asarray(rand(rng, 4, 10))
                                                    for _ in range(4)))
  assert out.mask.shape == (4,) and out.regressor.shape == (4,)


def test_rank_loss_matches_fastvqa_formula_and_pushes_anticorrelated_models():
  from jvqa.losses import plcc_loss, rank_loss
  rng = np.random.default_rng(5)
  pred, target = rng.normal(size=7), rng.normal(size=7)
  pairs = np.maximum((pred[:, None] - pred[None, :]) * np.sign(target[None, :] - target[:, None]), 0)
  want = pairs.sum() / 7 / 6 / (1 + pairs.max())
  assert float(rank_loss(jnp.asarray(pred, jnp.float32), jnp.asarray(target, jnp.float32))) == \
      pytest.approx(want, rel=1e-5)
  assert float(rank_loss(jnp.arange(5.0), jnp.arange(5.0))) == 0.0
  # At correlation -1 plcc_loss is flat; rank_loss still has a gradient.
  x = jnp.arange(5.0)
  assert float(jnp.abs(jax.grad(plcc_loss)(-x, x)).max()) < 1e-4
  assert float(jnp.abs(jax.grad(rank_loss)(-x, x)).max()) > 1e-2
