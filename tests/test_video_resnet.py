"""Tests of jvqa.models.video_resnet: shapes, sizes, PyTorch parity, conversion, BN modes."""

from flax import nnx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jvqa.errors import ConvertError
from jvqa.models import torch_weights, video_resnet
from jvqa.models.torch_weights import TorchWeights, param_count

torch = pytest.importorskip("torch")
from torch_models import video_resnet as torch_video_resnet  # noqa: E402
from torch_models.parity import assert_parity, randomize_, relative_error  # noqa: E402

TINY = dict(widths=(8, 8, 16, 16), layers=(1, 1, 1, 1), stem_midplanes=6)
TINY_CLIP = (2, 3, 4, 16, 16)  # NCTHW; shared by the tests of the tiny model (one compile)
# heke.md 2.1: input [B,3,8,216,384] → f1..f4 (channel-last here).
PAPER_TAPS = [(2, 8, 108, 192, 64), (2, 4, 54, 96, 128), (2, 2, 27, 48, 256),
              (2, 1, 14, 24, 512)]



def from_torch(make, state_dict, **load_kw):
  return torch_weights.from_torch(make, state_dict, "test.pth", **load_kw)


def torch_reference(block, seed=0, **kw):
  make = torch_video_resnet.r2plus1d_18 if block == "r2plus1d" else torch_video_resnet.r3d_18
  model = make(**kw)
  randomize_(model, seed)
  return model.eval()


def converted(block, seed=0, **kw):
  reference = torch_reference(block, seed, **kw)
  model = from_torch(lambda: video_resnet.VideoResNet(block, rngs=nnx.Rngs(0), **kw),
                     reference.state_dict())
  model.eval()
  return model, reference


def clip(shape, seed=0):
  """A random NCTHW clip and its channel-last copy."""
  x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
  return x, jnp.asarray(x.transpose(0, 2, 3, 4, 1))


def channels_last(t):
  return t.detach().numpy().transpose(0, 2, 3, 4, 1)


@nnx.jit
def stages(model, x):
  return model.stages(x)


def test_midplanes_follow_torchvision():
  model = nnx.eval_shape(lambda: video_resnet.r2plus1d_18(rngs=nnx.Rngs(0)))
  mids = [block.midplanes for stage in model.layers for block in stage]
  assert mids == [144, 144, 230, 288, 460, 576, 921, 1152]
  reference = torch_video_resnet.r2plus1d_18()
  assert mids == [reference.get_submodule(f"layer{s}")[b].midplanes
                  for s in range(1, 5) for b in range(2)]
  # Both convs of a block use the block's value, computed from its inplanes.
  block = model.layers[1][0]
  assert block.conv1.spatial.out_features == block.conv2.spatial.out_features == 230


@pytest.mark.parametrize("block,count", [("r2plus1d", 31_300_125), ("r3d", 33_166_272)])
def test_param_count(block, count):
  model = nnx.eval_shape(lambda: video_resnet.VideoResNet(block, rngs=nnx.Rngs(0)))
  assert param_count(model) == count
  assert sum(p.numel() for p in torch_reference(block).parameters()) == count
  assert model.num_features == 512


@pytest.mark.parametrize("block", ["r2plus1d", "r3d"])
def test_paper_size_shapes(block):
  model = nnx.eval_shape(lambda: video_resnet.VideoResNet(block, rngs=nnx.Rngs(0)))
  model.eval()
  graph, state = nnx.split(model)
  x = jax.ShapeDtypeStruct((2, 8, 216, 384, 3), jnp.float32)
  taps = jax.eval_shape(lambda s, x: nnx.merge(graph, s).stages(x), state, x)
  assert [t.shape for t in taps] == PAPER_TAPS
  f4 = jax.eval_shape(lambda s, x: nnx.merge(graph, s)(x), state, x)
  assert f4.shape == PAPER_TAPS[-1]


# Full-width R(2+1)D-18 parity runs inside the HEKE model's (test_heke_models.py).
@pytest.mark.parametrize("block,size,shape", [("r3d", {}, (1, 3, 8, 64, 96)),
                                              ("r2plus1d", TINY, TINY_CLIP)])
def test_parity_with_torch(block, size, shape):
  model, reference = converted(block, **size)
  x, xj = clip(shape)
  with torch.no_grad():
    expected = reference(torch.from_numpy(x))
  taps = stages(model, xj)
  for got, want in zip(taps, expected):
    assert_parity(got, channels_last(want), 1e-4)
  np.testing.assert_array_equal(nnx.jit(lambda m, x: m(x))(model, xj), taps[-1])


# Paper-size R(2+1)D-18 parity runs inside the HEKE model's (test_heke_models.py).
@pytest.mark.slow
def test_parity_with_torch_paper_size():
  model, reference = converted("r3d", seed=3)
  x, xj = clip((1, 3, 8, 216, 384), seed=3)
  with torch.no_grad():
    expected = reference(torch.from_numpy(x))
  taps = stages(model, xj)
  assert [t.shape for t in taps] == [(1,) + s[1:] for s in PAPER_TAPS]
  for got, want in zip(taps, expected):
    assert_parity(got, channels_last(want), 1e-4)


def _tiny_state_dict(block="r2plus1d"):
  return torch_reference(block, **TINY).state_dict()


def _load_tiny(state_dict, block="r2plus1d"):
  return from_torch(lambda: video_resnet.VideoResNet(block, rngs=nnx.Rngs(0), **TINY),
                    state_dict)


@pytest.mark.parametrize("block", ["r2plus1d", "r3d"])
def test_torch_key_names(block):
  keys = set(_tiny_state_dict(block))
  if block == "r2plus1d":
    assert {"stem.0.weight", "stem.3.weight", "stem.4.running_var",
            "layer1.0.conv1.0.0.weight", "layer1.0.conv1.0.1.running_mean",
            "layer1.0.conv1.0.3.weight", "layer1.0.conv1.1.weight",
            "layer2.0.downsample.0.weight", "layer2.0.downsample.1.bias"} <= keys
  else:
    assert {"stem.0.weight", "stem.1.weight", "layer1.0.conv1.0.weight",
            "layer1.0.conv1.1.weight", "layer1.0.conv2.0.weight",
            "layer4.0.downsample.0.weight"} <= keys
    assert "stem.3.weight" not in keys
  _load_tiny(_tiny_state_dict(block), block)  # Takes every key.


def test_missing_key_is_named():
  state_dict = _tiny_state_dict()
  del state_dict["layer3.0.conv2.0.3.weight"]
  with pytest.raises(ConvertError,
                     match=r"test\.pth.*missing key 'layer3\.0\.conv2\.0\.3\.weight'"):
    _load_tiny(state_dict)


def test_wrong_shape_is_named():
  state_dict = _tiny_state_dict()
  state_dict["layer2.0.downsample.0.weight"] = torch.zeros(8, 4, 1, 1, 1)
  with pytest.raises(ConvertError, match=r"key 'layer2\.0\.downsample\.0\.weight' has shape"):
    _load_tiny(state_dict)


def test_leftover_key_is_named():
  state_dict = _tiny_state_dict()
  state_dict["fc.weight"] = torch.zeros(400, 16)
  with pytest.raises(ConvertError, match=r"1 key\(s\) not mapped.*'fc\.weight'"):
    _load_tiny(state_dict)


def test_prefixed_weights():
  state_dict = {f"backbone.{k}": v for k, v in _tiny_state_dict().items()}
  model = nnx.eval_shape(lambda: video_resnet.VideoResNet(rngs=nnx.Rngs(0), **TINY))
  nnx.update(model, jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), nnx.state(model)))
  w = TorchWeights(state_dict, "test.pth")
  model.load_torch(w.scoped("backbone."))
  w.finish()
  np.testing.assert_array_equal(
      model.stem[2].kernel[...],
      state_dict["backbone.stem.3.weight"].numpy().transpose(2, 3, 4, 1, 0))


def test_batch_norm_modes():
  """Train mode: batch statistics, running stats updated (PyTorch momentum 0.1).

  Eval mode: running statistics, nothing updated, samples independent.
  """
  reference = torch_reference("r2plus1d", seed=1, **TINY)
  model = _load_tiny(reference.state_dict())
  # 8 values per channel reach f4's batch statistics: with fewer, train-mode BN
  # turns float rounding into large relative errors (2 values normalise to ±1).
  x, xj = clip((2, 3, 8, 32, 32), seed=1)
  stem_bn = model.stem[1]
  mean0, var0 = np.array(stem_bn.mean[...]), np.array(stem_bn.var[...])

  model.train()
  reference.train()
  got = stages(model, xj)
  with torch.no_grad():
    want = reference(torch.from_numpy(x))
  for g, w in zip(got, want):
    assert_parity(g, channels_last(w), 1e-4)
  pairs = [(model.stem[1], reference.stem[1]),
           (model.layers[1][0].conv1.bn, reference.layer2[0].conv1[0][1]),
           (model.layers[1][0].bn2, reference.layer2[0].conv2[1]),
           (model.layers[3][0].downsample_bn, reference.layer4[0].downsample[1])]
  for ours, theirs in pairs:
    np.testing.assert_allclose(ours.mean[...], theirs.running_mean.numpy(), rtol=1e-5,
                               atol=1e-6)
  assert relative_error(stem_bn.mean[...], mean0) > 1e-3
  # Flax updates running_var with the biased batch variance, PyTorch with the
  # unbiased one: with n values per channel, torch's step is n/(n-1) Flax's.
  n = 2 * 8 * 16 * 16
  np.testing.assert_allclose((stem_bn.var[...] - 0.9 * var0) * n / (n - 1),
                             reference.stem[1].running_var.numpy() - 0.9 * var0,
                             rtol=1e-4, atol=1e-6)

  model.eval()
  mean1 = np.array(stem_bn.mean[...])
  both = stages(model, xj)
  other = stages(model, xj.at[1].set(0.0))  # Another second sample.
  np.testing.assert_array_equal(stem_bn.mean[...], mean1)
  for a, b in zip(both, other):
    np.testing.assert_allclose(a[0], b[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kernel, strides, padding", [
    ((1, 3, 3), (1, 2, 2), ((0, 0), (1, 1), (1, 1))),   # (2+1)D spatial
    ((3, 1, 1), (2, 1, 1), ((1, 1), (0, 0), (0, 0))),   # (2+1)D temporal
    ((3, 3, 3), (2, 2, 2), ((1, 1), (1, 1), (1, 1))),   # R3D
    ((1, 1, 1), (2, 2, 2), ((0, 0), (0, 0), (0, 0))),   # downsample
    ((3, 7, 7), (1, 2, 2), ((1, 1), (3, 3), (3, 3))),   # R3D stem
])
def test_cpu_convolution_equals_the_3d_one(kernel, strides, padding):
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(size=(2, 5, 11, 13, 4)).astype(np.float32))
  k = jnp.asarray(rng.normal(size=kernel + (4, 6)).astype(np.float32))
  ours = jax.jit(video_resnet.conv3d_cpu, static_argnums=(2, 3))
  xla = jax.jit(video_resnet._conv3d_xla, static_argnums=(2, 3))
  assert_parity(ours(x, k, strides, padding), xla(x, k, strides, padding), 1e-6)
  cotangent = jnp.asarray(rng.normal(size=xla(x, k, strides, padding).shape).astype(np.float32))
  grad_ours = jax.vjp(lambda x, k: ours(x, k, strides, padding), x, k)[1](cotangent)
  grad_xla = jax.vjp(lambda x, k: xla(x, k, strides, padding), x, k)[1](cotangent)
  for a, b in zip(grad_ours, grad_xla):
    if jax.default_backend() == "cpu":
      np.testing.assert_array_equal(a, b)  # the backward pass is XLA's own
    else:  # cuDNN may pick another algorithm in each program (the CPU path is not taken there)
      assert_parity(a, b, 1e-5)
