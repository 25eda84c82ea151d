"""Tests of jvqa.models.swin3d: size, shapes, window geometry, conversion, parity.

Models are built abstractly and filled with numpy values or a randomised
PyTorch model's weights (``_blank``, ``_converted``): a random init compiles
slowly on CPU, so only ``test_attention_init`` and the slow ``test_model_init``
run one. Run with ``-s`` to see the parity errors per stage.
"""

import functools

from flax import nnx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jvqa.errors import ConvertError
from jvqa.models import swin3d_windows as win
from jvqa.models.swin3d import VideoSwin3D, WindowAttention3D
from jvqa.models.torch_weights import TorchWeights, param_count
from torch_models.parity import assert_parity, relative_error

DEFAULT_PARAMS = 28_078_620
TINY = (("embed_dim", 16), ("depths", (2, 2, 2, 2)), ("num_heads", (1, 2, 2, 4)))
DEFAULT = ()
# T 19 → 10 tokens (> 8: shifted, padded to 16); H 124 → 31 (odd: merging pads);
# W 90 → 23; stage 3 clamps W to 6 (N = 336 < 392), stage 4 clamps to (8, 4, 3).
TINY_CLIP = (2, 19, 124, 90, 3)
# Default widths: T 8 clamps (no T shift); H shifts in stages 1-3, W in 1-2;
# stage 3 clamps W to 6, stage 4 to (8, 4, 3).
SMALL_CLIP = (1, 16, 128, 96, 3)

stages_fn = nnx.jit(lambda model, x: model.stages(x))
call_fn = nnx.jit(lambda model, x: model(x))


@functools.cache
def _abstract(config: tuple):
  """(graphdef, abstract state) of a config, traced once."""
  return nnx.split(nnx.eval_shape(lambda: VideoSwin3D(**dict(config), rngs=nnx.Rngs(0))))


def _blank(seed: int = 0, **config) -> VideoSwin3D:
  """A model built without its random init: N(0, 0.1²) params, distinct RNG keys."""
  model = nnx.merge(*_abstract(tuple(sorted(config.items()))), copy=True)
  rng = np.random.default_rng(seed)
  for i, (_, node) in enumerate(nnx.iter_graph(model)):
    if isinstance(node, nnx.Variable):
      value = node.get_value()
      if jax.dtypes.issubdtype(value.dtype, jax.dtypes.prng_key):
        node.set_value(jax.random.key(seed * 1000 + i))
      elif isinstance(node, nnx.Param):
        node.set_value((rng.standard_normal(value.shape) * 0.1).astype(value.dtype))
      else:
        node.set_value(np.zeros(value.shape, value.dtype))
  return model


@functools.cache
def _torch_model(config: tuple, seed: int = 0):
  pytest.importorskip("torch")
  from torch_models import swin3d as torch_swin3d
  from torch_models.parity import randomize_
  model = torch_swin3d.SwinTransformer3D(**dict(config))
  randomize_(model, seed)
  return model.eval()


@functools.cache
def _converted(config: tuple, seed: int = 0) -> VideoSwin3D:
  w = TorchWeights(_torch_model(config, seed).state_dict(), "torch")
  model = _blank(**dict(config))
  model.load_torch(w)
  w.finish()
  model.eval()
  return model


def _parity(config: tuple, shape, seed: int = 0) -> list[float]:
  """Relative errors of the 4 stage maps (jax vs torch); asserts each ≤ 1e-4."""
  torch = pytest.importorskip("torch")
  x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
  with torch.no_grad():
    want = _torch_model(config, seed)(torch.from_numpy(x).permute(0, 4, 1, 2, 3), stages=True)
  got = stages_fn(_converted(config, seed), jnp.asarray(x))
  errors = []
  for g, t in zip(got, want, strict=True):
    t = t.permute(0, 2, 3, 4, 1).numpy()
    assert_parity(np.asarray(g), t, 1e-4)
    errors.append(relative_error(g, t))
  print("relative errors per stage:", errors)
  return errors


def _abstract_stages(config: dict, shape):
  graphdef, state = _abstract(tuple(sorted(config.items())))
  x = jax.ShapeDtypeStruct(shape, jnp.float32)
  return jax.eval_shape(lambda s, x: nnx.merge(graphdef, s).stages(x), state, x)


def test_default_param_count():
  model = nnx.merge(*_abstract(DEFAULT))
  assert param_count(model) == DEFAULT_PARAMS
  assert model.num_features == 768


def test_default_shapes():
  out = _abstract_stages({}, (2, 32, 224, 224, 3))
  assert [o.shape for o in out] == [(2, 16, 56, 56, 96), (2, 16, 28, 28, 192),
                                    (2, 16, 14, 14, 384), (2, 16, 7, 7, 768)]


def test_tiny_shapes_with_padding():
  # T 7 → 8 → 4; H 62 → 64 → 16, 8, 4, 2; W 90 → 92 → 23, 12 (merge pads), 6, 3.
  out = _abstract_stages(dict(TINY), (1, 7, 62, 90, 3))
  assert [o.shape for o in out] == [(1, 4, 16, 23, 16), (1, 4, 8, 12, 32),
                                    (1, 4, 4, 6, 64), (1, 4, 2, 3, 128)]


def test_attention_init():
  """PyTorch default inits (the ST-VQRL copy), N(0, 0.02²) table, zero fragment table."""
  attn = WindowAttention3D(16, (8, 7, 7), 4, True, True, dtype=jnp.float32, rngs=nnx.Rngs(0))
  assert not np.any(attn.fragment_position_bias_table[...])
  assert 0.018 < attn.relative_position_bias_table[...].std() < 0.022
  bound = 1 / np.sqrt(16)  # U(±1/√fan_in) for weights and biases.
  for array in (attn.qkv.kernel, attn.qkv.bias, attn.proj.kernel, attn.proj.bias):
    assert 0.8 * bound < np.abs(array[...]).max() <= bound


@pytest.mark.slow
def test_model_init():
  model = VideoSwin3D(embed_dim=8, depths=(1, 1, 1, 1), num_heads=(1, 1, 2, 2),
                      rngs=nnx.Rngs(0))
  attns = [layer.blocks[0].attn for layer in model.layers]
  for attn in attns[:3]:
    assert not np.any(attn.fragment_position_bias_table[...])
  assert attns[3].fragment_position_bias_table is None
  model.eval()
  out = call_fn(model, jnp.ones((1, 4, 64, 64, 3)))
  assert out.shape == (1, 2, 2, 2, 64) and np.all(np.isfinite(out))


def test_clamped_window_and_zero_shift():
  assert win.clamp_window((16, 56, 56), (8, 7, 7), (4, 3, 3)) == ((8, 7, 7), (4, 3, 3))
  assert win.clamp_window((16, 7, 7), (8, 7, 7), (4, 3, 3)) == ((8, 7, 7), (4, 0, 0))
  assert win.clamp_window((8, 32, 4), (8, 7, 7), (4, 3, 3)) == ((8, 7, 4), (0, 3, 0))
  assert win.padded_grid((10, 31, 23), (8, 7, 7)) == (16, 35, 28)


def test_relative_position_index():
  window = (3, 2, 4)
  index = win.relative_position_index(window)
  coords = np.array(np.meshgrid(*[np.arange(n) for n in window], indexing="ij")).reshape(3, -1).T
  for i, ci in enumerate(coords):
    for j, cj in enumerate(coords):
      d, h, w = ci - cj + np.array(window) - 1
      assert index[i, j] == (d * 3 + h) * 7 + w
  assert win.relative_position_index((8, 7, 7)).max() == 15 * 13 * 13 - 1


def test_shift_mask():
  padded, window, shift = (16, 14, 21), (8, 7, 7), (4, 3, 3)
  mask = win.shift_mask(padded, window, shift)
  assert mask.shape == (2 * 2 * 3, 392, 392)
  assert set(np.unique(mask)) == {0.0, -100.0}
  assert not mask[0].any()  # The first window holds no wrapped token.
  # Pairs are kept iff, in every dim, both tokens wrapped or neither did.
  pos = np.stack(np.meshgrid(*[np.arange(p) for p in padded], indexing="ij"), -1)
  wrapped = win.partition(pos >= np.array(padded) - np.array(shift), window)
  same = (wrapped[:, :, None] == wrapped[:, None, :]).all(-1)
  np.testing.assert_array_equal(mask == 0, same)
  # A dim without shift cuts nothing.
  only_t = win.shift_mask((16, 7, 7), (8, 7, 7), (4, 0, 0))
  assert (only_t[-1] == 0).sum() == 2 * 196 * 196


@pytest.mark.parametrize("grid, kept_max", [((16, 56, 56), 2), ((16, 28, 28), 4),
                                            ((16, 14, 14), 6)])
def test_fragment_gate_values(grid, kept_max):
  """Stages 1-3 of a 32×224×224 clip: the gate is not binary."""
  gate = win.fragment_gate(grid, (8, 7, 7), (0, 0, 0))
  assert gate.max() == kept_max
  np.testing.assert_array_equal(np.unique(gate), np.arange(kept_max + 1))
  gate = win.fragment_gate(grid, (8, 7, 7), (4, 3, 3))
  mask = win.shift_mask(grid, (8, 7, 7), (4, 3, 3))
  assert gate[mask == 0].max() == kept_max
  assert gate[mask != 0].max() == 12
  assert np.all(np.diagonal(gate, axis1=1, axis2=2) == 0)


def test_fragment_index_matches_torch_interpolate():
  torch = pytest.importorskip("torch")
  for fragments in (2, 5, 7):
    for size in range(1, 120):
      grid = torch.arange(fragments, dtype=torch.float32)[None, None]
      want = torch.nn.functional.interpolate(grid, size=size).long().numpy().ravel()
      np.testing.assert_array_equal(win.torch_nearest_index(size, fragments), want)


def test_parity_tiny():
  _parity(TINY, TINY_CLIP)


def test_parity_default_widths_small_clip():
  _parity(DEFAULT, SMALL_CLIP)


@pytest.mark.slow
def test_parity_default_full_clips():
  """Two training clips, 32×224×224 (16×7×7 output tokens)."""
  _parity(DEFAULT, (2, 32, 224, 224, 3), seed=1)


@pytest.mark.slow
def test_parity_default_test_clip():
  """The 64-frame test sampling (32×7×7 output tokens)."""
  shape = (1, 64, 224, 224, 3)
  assert _abstract_stages({}, shape)[-1].shape == (1, 32, 7, 7, 768)
  _parity(DEFAULT, shape, seed=2)


def _state_dict(config=TINY, seed=0) -> dict:
  return dict(_torch_model(config, seed).state_dict())


def _load(state: dict, **kwargs) -> tuple[VideoSwin3D, TorchWeights]:
  model = _blank(**dict(TINY))
  w = TorchWeights(state, "ckpt.pth", prefix=kwargs.pop("prefix", ""),
                   ignore=kwargs.pop("ignore", ("*num_batches_tracked",)))
  model.load_torch(w, **kwargs)
  return model, w


def test_missing_key():
  state = _state_dict()
  del state["layers.1.blocks.0.attn.qkv.weight"]
  with pytest.raises(ConvertError, match=r"ckpt\.pth.*layers\.1\.blocks\.0\.attn\.qkv\.weight"):
    _load(state)


def test_wrong_shape():
  state = _state_dict()
  state["layers.2.downsample.reduction.weight"] = np.zeros((3, 3), np.float32)
  with pytest.raises(ConvertError, match=r"layers\.2\.downsample\.reduction\.weight"):
    _load(state)


def test_leftover_key():
  state = _state_dict()
  state["head.fc.weight"] = np.zeros((1, 128), np.float32)
  _, w = _load(state)
  with pytest.raises(ConvertError, match=r"head\.fc\.weight"):
    w.finish()


def test_wrong_relative_position_index():
  state = _state_dict()
  key = "layers.0.blocks.1.attn.relative_position_index"
  state[key] = np.flip(np.asarray(state[key]), 0).copy()
  with pytest.raises(ConvertError, match=r"layers\.0\.blocks\.1\.attn\.relative_position_index"):
    _load(state)


def test_kinetics_checkpoint_without_fragment_tables():
  """Kinetics-400 Swin-T: ``backbone.`` keys, no fragment tables, a classifier."""
  state = {f"backbone.{k}": v for k, v in _state_dict().items()
           if "fragment_position_bias_table" not in k}
  state["cls_head.fc_cls.weight"] = np.zeros((400, 128), np.float32)
  with pytest.raises(ConvertError, match=r"backbone\.layers\.0\.blocks\.0\.attn\."
                                         r"fragment_position_bias_table"):
    _load(state, prefix="backbone.")
  for mode in ("zeros", "copy"):
    model, w = _load(state, prefix="backbone.", ignore=("cls_head.*",), fragment_bias=mode)
    w.finish()
    for i, layer in enumerate(model.layers[:3]):
      attn = layer.blocks[1].attn
      table = attn.fragment_position_bias_table[...]
      if mode == "zeros":
        assert not np.any(table)
      else:
        np.testing.assert_array_equal(
            table, state[f"backbone.layers.{i}.blocks.1.attn.relative_position_bias_table"])
  with pytest.raises(ValueError, match="fragment_bias"):
    _load(state, prefix="backbone.", fragment_bias="skip")


TRAIN = dict(embed_dim=8, depths=(2, 1, 1, 1), num_heads=(1, 1, 1, 1), drop_path_rate=0.5)


def test_drop_path_train_and_eval():
  x = jnp.asarray(np.random.default_rng(0).standard_normal((4, 4, 32, 32, 3)), jnp.float32)
  model = _blank(seed=1, **TRAIN)
  other = _blank(seed=2, **TRAIN)
  nnx.update(other, nnx.state(model, nnx.Param))  # Same weights, other dropout keys.
  assert not model.layers[0].blocks[1].drop_path.deterministic  # Train mode at first.
  a, b, c = call_fn(model, x), call_fn(model, x), call_fn(other, x)
  assert not np.allclose(a, b) and not np.allclose(a, c)
  model.eval()
  assert model.layers[0].blocks[1].drop_path.deterministic
  d, e = call_fn(model, x), call_fn(model, x)
  np.testing.assert_array_equal(d, e)
  other.eval()
  np.testing.assert_array_equal(d, call_fn(other, x))
  # Some sample's residual branch was dropped or scaled: not equal to eval.
  assert not np.allclose(a, d)
  model.train()
  assert not model.layers[0].blocks[1].drop_path.deterministic


@pytest.mark.slow
def test_remat_same_values_and_grads():
  config = dict(embed_dim=8, depths=(2, 1, 1, 1), num_heads=(1, 1, 1, 1))
  x = jnp.asarray(np.random.default_rng(0).standard_normal((1, 4, 32, 32, 3)), jnp.float32)

  @nnx.jit
  def loss_and_grad(model, x):
    return nnx.value_and_grad(lambda m: jnp.mean(m(x) ** 2))(model)

  plain = _blank(**config)
  remat = _blank(remat=True, **config)
  plain.eval()
  remat.eval()
  (l1, g1), (l2, g2) = loss_and_grad(plain, x), loss_and_grad(remat, x)
  np.testing.assert_allclose(l1, l2, rtol=1e-6)
  for p, q in zip(jax.tree.leaves(g1), jax.tree.leaves(g2), strict=True):
    np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-7)


@pytest.mark.slow
def test_bfloat16_close_to_float32():
  x = jnp.asarray(np.random.default_rng(0).standard_normal(TINY_CLIP), jnp.float32)
  f32 = _blank(**dict(TINY))
  bf16 = _blank(dtype=jnp.bfloat16, **dict(TINY))
  nnx.update(bf16, nnx.state(f32, nnx.Param))
  f32.eval()
  bf16.eval()
  want, got = call_fn(f32, x), call_fn(bf16, x)
  assert got.dtype == jnp.bfloat16
  assert relative_error(np.asarray(got, np.float32), want) < 0.05
