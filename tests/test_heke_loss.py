"""HEKE's knowledge ensemble loss against float64 numpy (PyTorch's SmoothL1 and std)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jvqa.losses import ensemble_diversity, knowledge_ensemble_loss, knowledge_fit_loss


def _smooth_l1(pred, target):
  """PyTorch's SmoothL1Loss (beta 1, mean), float64."""
  d = np.abs(pred - target)
  return np.where(d < 1.0, 0.5 * d * d, d - 0.5).mean()


def _reference(pred, labels, eps):
  pred, labels = np.asarray(pred, np.float64), np.asarray(labels, np.float64)
  fit = sum(_smooth_l1(pred[:, k], labels[:, k]) for k in range(pred.shape[1]))
  return fit - eps * np.std(pred, axis=1, ddof=1).sum()


def _data(b=6, seed=0):
  rng = np.random.default_rng(seed)
  labels = rng.uniform(0.5, 9.0, (b, 4)).astype(np.float32)
  # Errors both under and over beta = 1, so both branches of SmoothL1 count.
  pred = (labels + rng.normal(0, 1.5, (b, 4))).astype(np.float32)
  return pred, labels


@pytest.mark.parametrize("eps", [0.0, 1e-3, 1e-2, 0.5])
def test_loss_matches_numpy(eps):
  pred, labels = _data()
  got = float(knowledge_ensemble_loss(pred, labels, eps))
  assert got == pytest.approx(_reference(pred, labels, eps), rel=1e-6)


def test_the_parts_match_numpy():
  pred, labels = _data(b=5, seed=1)
  assert float(knowledge_fit_loss(pred, labels)) == pytest.approx(
      _reference(pred, labels, 0.0), rel=1e-6)
  want = np.std(pred.astype(np.float64), axis=1, ddof=1).sum()
  assert float(ensemble_diversity(pred)) == pytest.approx(want, rel=1e-6)


def test_the_diversity_term_rewards_spread_heads():
  pred, labels = _data()
  assert float(knowledge_ensemble_loss(pred, labels, 0.1)) < float(
      knowledge_ensemble_loss(pred, labels, 0.0))


def test_gradient_matches_finite_differences_and_is_finite_where_heads_agree():
  pred, labels = _data(b=3, seed=2)
  grad = np.asarray(jax.grad(lambda p: knowledge_ensemble_loss(p, labels, 0.3))(
      jnp.asarray(pred)))
  h = 1e-4
  for b, k in [(0, 0), (1, 2), (2, 3)]:
    up, down = pred.astype(np.float64).copy(), pred.astype(np.float64).copy()
    up[b, k] += h
    down[b, k] -= h
    fd = (_reference(up, labels, 0.3) - _reference(down, labels, 0.3)) / (2 * h)
    assert grad[b, k] == pytest.approx(fd, rel=1e-3, abs=1e-4)
  same = np.full((2, 4), 3.0, np.float32)
  g = jax.grad(lambda p: knowledge_ensemble_loss(p, same + 1.0, 0.5))(same)
  assert np.isfinite(np.asarray(g)).all()


def test_shapes_are_checked():
  with pytest.raises(ValueError, match="must both be"):
    knowledge_ensemble_loss(np.zeros((2, 4)), np.zeros((2, 3)))


def test_nan_labels_are_left_out_of_their_head_with_no_gradient():
  pred, labels = _data(b=6, seed=3)
  labels = labels.copy()
  labels[[1, 4], 3] = np.nan  # MS-SSIM undefined for two clips
  labels[2, 0] = np.nan
  got = knowledge_fit_loss(jnp.asarray(pred), jnp.asarray(labels))
  expected = sum(_smooth_l1(pred[np.isfinite(labels[:, k]), k],
                            labels[np.isfinite(labels[:, k]), k]) for k in range(4))
  np.testing.assert_allclose(float(got), expected, rtol=1e-5)
  grad = jax.grad(lambda p: knowledge_fit_loss(p, jnp.asarray(labels)))(jnp.asarray(pred))
  assert np.all(np.isfinite(grad))
  np.testing.assert_array_equal(np.asarray(grad)[[1, 4], 3], 0.0)
  np.testing.assert_array_equal(np.asarray(grad)[2, 0], 0.0)
