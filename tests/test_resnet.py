"""Tests of jvqa.models.resnet: shapes, sizes, PyTorch parity, conversion, the fc refusal."""

from flax import nnx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jvqa.errors import ConvertError
from jvqa.models import resnet, torch_weights
from jvqa.models.torch_weights import param_count

torch = pytest.importorskip("torch")
from torch_models import resnet as torch_resnet  # noqa: E402
from torch_models.parity import assert_parity, randomize_  # noqa: E402

TINY = dict(widths=(4, 8, 8, 16), layers=(1, 1, 1, 1))
# torchvision's counts less the 1000-class fc (heke.md 2.2: 23.51 M, 21.28 M).
PARAMS = {18: 11_176_512, 34: 21_284_672, 50: 23_508_032}



def from_torch(make, state_dict, **load_kw):
  return torch_weights.from_torch(make, state_dict, "imagenet.pth", **load_kw)


def torch_reference(depth, seed=0, **kw):
  model = torch_resnet.ResNet(depth, **kw)
  randomize_(model, seed)
  return model.eval()


def converted(depth, seed=0):
  reference = torch_reference(depth, seed)
  model = from_torch(lambda: resnet.ResNet(depth, rngs=nnx.Rngs(0)), reference.state_dict())
  model.eval()
  return model, reference


@nnx.jit
def stages(model, x):
  return model.stages(x)


@pytest.mark.parametrize("depth", [18, 34, 50])
def test_param_count(depth):
  model = nnx.eval_shape(lambda: resnet.ResNet(depth, rngs=nnx.Rngs(0)))
  assert param_count(model) == PARAMS[depth]
  assert sum(p.numel() for p in torch_reference(depth).parameters()) == PARAMS[depth]
  assert model.num_features == (2048 if depth == 50 else 512)


@pytest.mark.parametrize("depth,widths", [(50, (256, 512, 1024, 2048)),
                                          (34, (64, 128, 256, 512))])
def test_paper_size_shapes(depth, widths):
  # heke.md 2.2: frames [B,3,216,384] → 54×96, 27×48, 14×24, 7×12.
  model = nnx.eval_shape(lambda: resnet.ResNet(depth, rngs=nnx.Rngs(0)))
  model.eval()
  graph, state = nnx.split(model)
  frames = jax.ShapeDtypeStruct((2, 216, 384, 3), jnp.float32)
  taps = jax.eval_shape(lambda s, x: nnx.merge(graph, s).stages(x), state, frames)
  sizes = [(54, 96), (27, 48), (14, 24), (7, 12)]
  assert [t.shape for t in taps] == [(2, h, w, c) for (h, w), c in zip(sizes, widths)]
  clips = jax.ShapeDtypeStruct((2, 5, 216, 384, 3), jnp.float32)
  f4 = jax.eval_shape(lambda s, x: nnx.merge(graph, s)(x), state, clips)
  assert f4.shape == (2, 5, 7, 12, widths[-1])


# Full-width ResNet-50 and -34 parity runs inside the HEKE model's (test_heke_models.py).
def test_parity_with_torch():
  model, reference = converted(18)
  x = np.random.default_rng(18).standard_normal((2, 3, 64, 96)).astype(np.float32)
  with torch.no_grad():
    expected = reference(torch.from_numpy(x))
  taps = stages(model, jnp.asarray(x.transpose(0, 2, 3, 1)))
  for got, want in zip(taps, expected):
    assert_parity(got, want.numpy().transpose(0, 2, 3, 1), 1e-4)


def test_video_backbone_is_per_frame():
  """(B, T, H, W, 3) → f4 of every frame; bottleneck blocks at a tiny width."""
  reference = torch_reference(50, seed=1, **TINY)
  model = from_torch(lambda: resnet.ResNet(50, rngs=nnx.Rngs(0), **TINY), reference.state_dict())
  model.eval()
  x = np.random.default_rng(1).standard_normal((2, 3, 3, 64, 64)).astype(np.float32)  # BTCHW
  with torch.no_grad():
    expected = reference(torch.from_numpy(x.reshape(6, 3, 64, 64)))
  xj = jnp.asarray(x.transpose(0, 1, 3, 4, 2))
  got = nnx.jit(lambda m, x: m(x))(model, xj)
  assert got.shape == (2, 3, 2, 2, 64)
  assert_parity(got, expected[-1].numpy().reshape(2, 3, 64, 2, 2).transpose(0, 1, 3, 4, 2), 1e-4)
  taps = stages(model, xj[:, 1])
  for got, want in zip(taps, expected):
    assert_parity(got, want.numpy()[1::3].transpose(0, 2, 3, 1), 1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("depth", [34, 50])
def test_parity_with_torch_paper_size(depth):
  model, reference = converted(depth, seed=5)
  x = np.random.default_rng(5).standard_normal((1, 3, 216, 384)).astype(np.float32)
  with torch.no_grad():
    expected = reference(torch.from_numpy(x))
  taps = stages(model, jnp.asarray(x.transpose(0, 2, 3, 1)))
  for got, want in zip(taps, expected):
    assert_parity(got, want.numpy().transpose(0, 2, 3, 1), 1e-4)


def _tiny(depth, state_dict, **load_kw):
  return from_torch(lambda: resnet.ResNet(depth, rngs=nnx.Rngs(0), **TINY), state_dict,
                    **load_kw)


@pytest.mark.parametrize("depth", [18, 50])
def test_torch_key_names(depth):
  state_dict = torch_reference(depth, **TINY).state_dict()
  expected = {"conv1.weight", "bn1.running_mean", "layer1.0.conv2.weight",
              "layer2.0.downsample.0.weight", "layer2.0.downsample.1.running_var"}
  if depth == 50:
    expected |= {"layer1.0.conv3.weight", "layer1.0.bn3.weight", "layer1.0.downsample.0.weight"}
  assert expected <= set(state_dict)
  _tiny(depth, state_dict)  # Takes every key.


def test_imagenet_fc_is_refused_unless_allowed():
  state_dict = torch_reference(18, num_classes=10, **TINY).state_dict()
  with pytest.raises(ConvertError, match=r"imagenet\.pth.*'fc\.weight'.*allow_fc=True"):
    _tiny(18, state_dict)
  model = _tiny(18, state_dict, allow_fc=True)
  np.testing.assert_array_equal(model.bn1.var[...], state_dict["bn1.running_var"].numpy())


def test_missing_key_is_named():
  state_dict = torch_reference(50, **TINY).state_dict()
  del state_dict["layer3.0.bn2.running_mean"]
  with pytest.raises(ConvertError, match=r"missing key 'layer3\.0\.bn2\.running_mean'"):
    _tiny(50, state_dict)


def test_wrong_shape_is_named():
  state_dict = torch_reference(18, **TINY).state_dict()
  state_dict["layer4.0.conv1.weight"] = torch.zeros(16, 8, 1, 1)
  with pytest.raises(ConvertError,
                     match=r"key 'layer4\.0\.conv1\.weight' has shape \(16, 8, 1, 1\)"):
    _tiny(18, state_dict)


def test_leftover_key_is_named():
  state_dict = torch_reference(18, **TINY).state_dict()
  state_dict["layer1.0.bn3.weight"] = torch.ones(4)
  with pytest.raises(ConvertError, match=r"not mapped to the model: 'layer1\.0\.bn3\.weight'"):
    _tiny(18, state_dict)
