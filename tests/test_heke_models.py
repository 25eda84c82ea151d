"""Tests of jvqa.models.heke: sizes, shapes, grouping, PyTorch parity, conversion, init."""

from flax import nnx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jvqa.errors import ConvertError
from jvqa.models import heke, store, torch_weights
from jvqa.models.torch_weights import TorchWeights, param_count

torch = pytest.importorskip("torch")
from torch_models import heke as torch_heke  # noqa: E402
from torch_models import resnet as torch_resnet  # noqa: E402
from torch_models.parity import assert_parity, randomize_  # noqa: E402

R2P1D_DIMS = (192, 384, 768, 1536)  # 3 × (64, 128, 256, 512): 2880 in all (heke.md 4.1)
RGB_DIMS = (768, 1536, 3072, 6144)  # 3 × ResNet-50's (256, 512, 1024, 2048)


abstract = store.blank  # ``make()`` without a random init to compile


def from_torch(make, state_dict):
  return torch_weights.from_torch(make, state_dict, "HEKE4.pkl")


def torch_count(module):
  return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def r2p1d_pair():
  reference = torch_heke.HekeR2p1d()
  randomize_(reference, 11)
  reference.eval()
  model = from_torch(lambda: heke.HekeR2p1d(rngs=nnx.Rngs(0)), reference.state_dict())
  model.eval()
  return model, reference


@pytest.fixture(scope="module")
def resnet_pair():
  reference = torch_heke.HekeResnet()
  randomize_(reference, 12)
  reference.eval()
  model = from_torch(lambda: heke.HekeResnet(rngs=nnx.Rngs(0)), reference.state_dict())
  model.eval()
  return model, reference


@nnx.jit
def scores_and_features(model, x):
  return model.scores_and_features(x)


@nnx.jit
def taps_scores_features(model, x):
  """The encoder taps, the scores and the pooled features, in one compile."""
  return model.stages(x), model.scores_and_features(x)


def channels_last(t):
  return t.numpy().transpose(0, *range(2, t.dim()), 1)


def test_r2p1d_param_counts():
  model = nnx.eval_shape(lambda: heke.HekeR2p1d(rngs=nnx.Rngs(0)))
  assert param_count(model.resnet) == 31_300_125
  assert param_count(model.head) == 148_228
  assert param_count(model) == 31_448_353
  reference = torch_heke.HekeR2p1d()
  assert torch_count(reference.resnet) == 31_300_125
  assert torch_count(reference) == 31_448_353
  # 228 tensors (heke.md 2.1), num_batches_tracked included.
  assert len(reference.state_dict()) == 228


def test_resnet_param_counts():
  model = nnx.eval_shape(lambda: heke.HekeResnet(rngs=nnx.Rngs(0)))
  head = sum(param_count(getattr(model, f"group_conv_{i}")) for i in (1, 2, 3))
  assert param_count(model.spatial) == 23_508_032
  assert param_count(model.temporal) == 21_284_672
  assert head == 5_276_932
  assert param_count(model) == 50_069_636
  reference = torch_heke.HekeResnet()
  assert torch_count(reference.spatial) == 23_508_032
  assert torch_count(reference.temporal) == 21_284_672
  assert torch_count(reference) == 50_069_636


def _abstract_call(make, method, shape):
  model = nnx.eval_shape(make)
  model.eval()  # (Train mode would also trace the batch-statistics updates.)
  graph, state = nnx.split(model)
  x = jax.ShapeDtypeStruct(shape, jnp.float32)
  return jax.eval_shape(lambda s, x: method(nnx.merge(graph, s), x), state, x)


def test_r2p1d_paper_size_shapes():
  scores, feats = _abstract_call(lambda: heke.HekeR2p1d(rngs=nnx.Rngs(0)),
                                 heke.HekeR2p1d.scores_and_features, (3, 8, 216, 384, 3))
  assert scores.shape == (3, 4)
  assert [f.shape for f in feats] == [(3, d) for d in R2P1D_DIMS]
  assert sum(R2P1D_DIMS) == 2880
  assert all(f.dtype == jnp.float32 for f in feats)


def test_resnet_paper_size_shapes():
  (taps_rgb, taps_dif), (scores, (rgb, diff)) = _abstract_call(
      lambda: heke.HekeResnet(rngs=nnx.Rngs(0)),
      lambda m, x: (m.stages(x), m.scores_and_features(x)), (3, 2, 216, 384, 3))
  # heke.md 2.2: frames [B,3,216,384] → 54×96, 27×48, 14×24, 7×12.
  sizes = [(54, 96), (27, 48), (14, 24), (7, 12)]
  assert [t.shape for t in taps_rgb] == [(3, h, w, c) for (h, w), c in
                                         zip(sizes, (256, 512, 1024, 2048))]
  assert [t.shape for t in taps_dif] == [(3, h, w, c) for (h, w), c in
                                         zip(sizes, (64, 128, 256, 512))]
  assert scores.shape == (3, 4)
  assert [f.shape for f in rgb] == [(3, d) for d in RGB_DIMS]
  assert [f.shape for f in diff] == [(3, d) for d in R2P1D_DIMS]


def test_knowledge_order():
  assert heke.KNOWLEDGE == ("GMSD", "ST-GMSD", "ST-RRED", "MS-SSIM")


def test_r2p1d_parity(r2p1d_pair):
  """R(2+1)D-18 at full width: taps f1..f4, the 4 scores, the 2880 features."""
  model, reference = r2p1d_pair
  x = np.random.default_rng(1).standard_normal((2, 3, 8, 64, 96)).astype(np.float32)
  with torch.no_grad():
    want_taps = reference.resnet(torch.from_numpy(x))
    want_scores, want_feats = reference.scores_and_features(torch.from_numpy(x))
  xj = jnp.asarray(x.transpose(0, 2, 3, 4, 1))
  taps, (scores, feats) = taps_scores_features(model, xj)
  for got, want in zip(taps, want_taps):
    assert_parity(got, channels_last(want), 1e-4)
  assert_parity(scores, want_scores.numpy(), 1e-4)
  for got, want in zip(feats, want_feats):
    assert_parity(got, want.numpy(), 1e-4)
  np.testing.assert_allclose(model.head(taps[-1]), scores, rtol=1e-5, atol=1e-6)


def _pair(seed, shape):
  x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)  # (B, 2, H, W, 3)
  t = torch.from_numpy(x.transpose(0, 1, 4, 2, 3))
  return x, t[:, 0], t[:, 1] - t[:, 0]


def test_resnet_parity(resnet_pair):
  """ResNet-50 and ResNet-34 at full width: taps, scores, per-stream features."""
  model, reference = resnet_pair
  x, rgb, dif = _pair(2, (2, 2, 64, 96, 3))
  with torch.no_grad():
    want_taps = reference.spatial(rgb) + reference.temporal(dif)
    want_scores, (want_rgb, want_dif) = reference.scores_and_features(rgb, dif)
  (taps_rgb, taps_dif), (scores, (got_rgb, got_dif)) = taps_scores_features(model, jnp.asarray(x))
  for got, want in zip(taps_rgb + taps_dif, want_taps):
    assert_parity(got, channels_last(want), 1e-4)
  assert_parity(scores, want_scores.numpy(), 1e-4)
  for got, want in zip(got_rgb + got_dif, want_rgb + want_dif):
    assert_parity(got, want.numpy(), 1e-4)


@pytest.mark.slow
def test_r2p1d_parity_paper_size(r2p1d_pair):
  model, reference = r2p1d_pair
  x = np.random.default_rng(3).standard_normal((1, 3, 8, 216, 384)).astype(np.float32)
  with torch.no_grad():
    want_scores, want_feats = reference.scores_and_features(torch.from_numpy(x))
  scores, feats = scores_and_features(model, jnp.asarray(x.transpose(0, 2, 3, 4, 1)))
  assert_parity(scores, want_scores.numpy(), 1e-4)
  for got, want in zip(feats, want_feats):
    assert_parity(got, want.numpy(), 1e-4)


@pytest.mark.slow
def test_resnet_parity_paper_size(resnet_pair):
  model, reference = resnet_pair
  x, rgb, dif = _pair(4, (1, 2, 216, 384, 3))
  with torch.no_grad():
    want_scores, (want_rgb, want_dif) = reference.scores_and_features(rgb, dif)
  scores, (got_rgb, got_dif) = scores_and_features(model, jnp.asarray(x))
  assert_parity(scores, want_scores.numpy(), 1e-4)
  for got, want in zip(got_rgb + got_dif, want_rgb + want_dif):
    assert_parity(got, want.numpy(), 1e-4)


def test_experts_read_contiguous_channel_quarters(r2p1d_pair):
  """Expert k sees only f4 channels 128k..128k+127 (torch groups = channel blocks)."""
  head = r2p1d_pair[0].head
  f4 = jnp.asarray(np.random.default_rng(5).standard_normal((1, 1, 2, 3, 512)), jnp.float32)
  base = head(f4)
  for k in range(4):
    changed = head(f4.at[..., 128 * k:128 * (k + 1)].add(1.0))
    moved = np.abs(np.asarray(changed - base))[0] > 1e-7
    assert moved.tolist() == [i == k for i in range(4)]


def test_resnet_difference_stream_input():
  clip = jnp.arange(2 * 2 * 3, dtype=jnp.float32).reshape(2, 2, 1, 1, 3)
  rgb, diff = heke.HekeResnet.streams(clip)
  np.testing.assert_array_equal(rgb[:, 0, 0], [[0, 1, 2], [6, 7, 8]])
  np.testing.assert_array_equal(diff, 3.0)
  with pytest.raises(ValueError, match=r"frame pair"):
    heke.HekeResnet.streams(jnp.zeros((1, 3, 4, 4, 3)))


def _tiny_r2p1d_state_dict():
  reference = torch_heke.HekeR2p1d(widths=(8, 8, 8, 8), hidden=2)
  randomize_(reference)
  return reference.state_dict()


def _tiny_r2p1d(state_dict):
  return from_torch(lambda: heke.HekeR2p1d(widths=(8, 8, 8, 8), hidden=2, rngs=nnx.Rngs(0)),
                    state_dict)


def test_conversion_errors_name_the_key():
  state_dict = _tiny_r2p1d_state_dict()
  _tiny_r2p1d(state_dict)  # Every key is taken.
  missing = dict(state_dict)
  del missing["group_conv_3.bias"]
  with pytest.raises(ConvertError, match=r"HEKE4\.pkl: missing key 'group_conv_3\.bias'"):
    _tiny_r2p1d(missing)
  wrong = dict(state_dict)
  wrong["group_conv_1.weight"] = torch.zeros(32, 8, 2, 1)  # groups=1 instead of 4
  with pytest.raises(ConvertError, match=r"key 'group_conv_1\.weight' has shape \(32, 8, 2, 1\)"):
    _tiny_r2p1d(wrong)
  wrong = dict(state_dict)
  wrong["resnet.stem.0.weight"] = torch.zeros(44, 3, 1, 7, 7)
  with pytest.raises(ConvertError, match=r"key 'resnet\.stem\.0\.weight'"):
    _tiny_r2p1d(wrong)
  extra = dict(state_dict, **{"resnet.fc.weight": torch.zeros(400, 8)})
  with pytest.raises(ConvertError, match=r"not mapped to the model: 'resnet\.fc\.weight'"):
    _tiny_r2p1d(extra)


def test_resnet_variant_refuses_a_classifier():
  model = abstract(lambda: heke.HekeResnet(widths=(4, 4, 4, 4), layers=(1, 1, 1, 1),
                                           shared=8, hidden=2, rngs=nnx.Rngs(0)))
  imagenet = torch_resnet.ResNet(50, layers=(1, 1, 1, 1), widths=(4, 4, 4, 4), num_classes=3)
  state = {f"spatial.{k}": v for k, v in imagenet.state_dict().items()}
  with pytest.raises(ConvertError, match=r"'spatial\.fc\.weight' is a classifier"):
    model.load_torch(TorchWeights(state, "HEKE4.pkl"))


def test_random_init_and_dtype():
  """The Flax initialisers run; bf16 computes in bf16 with float32 parameters."""
  # An "rbg" key: threefry's per-shape init kernels take ~5× longer to compile on CPU.
  model = heke.HekeR2p1d(widths=(4, 4, 4, 4), layers=(1, 1, 1, 1), hidden=1,
                         dtype=jnp.bfloat16, rngs=nnx.Rngs(jax.random.key(0, impl="rbg")))
  model.eval()
  params = jax.tree.leaves(nnx.state(model, nnx.Param))
  assert all(p.dtype == jnp.float32 for p in params)
  # PyTorch's default Conv2d init: U(±1/√fan_in), fan_in = C/4 · 2 rows.
  bound = 1 / np.sqrt(4 // 4 * 2)
  for v in (model.head.group_conv_1.kernel, model.head.group_conv_1.bias):
    assert np.all(np.abs(np.asarray(v[...])) <= bound) and np.std(np.asarray(v[...])) > 0
  graph, state = nnx.split(model)
  x = jax.ShapeDtypeStruct((1, 8, 32, 32, 3), jnp.float32)
  scores, feats = jax.eval_shape(lambda s, x: nnx.merge(graph, s).scores_and_features(x),
                                 state, x)
  assert scores.dtype == jnp.bfloat16 and scores.shape == (1, 4)
  assert [f.dtype for f in feats] == [jnp.float32] * 4
