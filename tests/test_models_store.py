"""Saving and loading model directories; building models by name."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import jvqa.models
from jvqa.errors import ConfigError, InputError
from jvqa.models import registry, store

TINY_R3D = {"model": "vqa", "backbone": "r3d_18",
            "backbone_kwargs": {"widths": [4, 8, 8, 8], "layers": [1, 1, 1, 1]},
            "head": "vqa", "head_kwargs": {"hidden_features": 4}}


def _clip(shape=(2, 4, 32, 32, 3)):
  return np.random.default_rng(0).normal(size=shape).astype(np.float32)


def test_save_then_load_gives_the_same_scores(tmp_path):
  model = registry.build_model(TINY_R3D, rngs=nnx.Rngs(3))
  model.train()
  model(_clip())  # train mode: BN batch statistics move away from their init
  model.eval()
  expected = np.asarray(model(_clip()))
  assert not store.exists(tmp_path / "m")
  jvqa.models.save(tmp_path / "m", model, TINY_R3D, info={"note": "test"})
  assert store.exists(tmp_path / "m")
  loaded = jvqa.models.load(str(tmp_path / "m"))
  np.testing.assert_array_equal(np.asarray(loaded(_clip())), expected)
  meta = json.loads((tmp_path / "m" / "model.json").read_text())
  assert meta["spec"] == TINY_R3D and meta["info"] == {"note": "test"}


def test_load_refuses_what_is_not_a_model(tmp_path):
  with pytest.raises(InputError, match="not a jvqa model directory"):
    jvqa.models.load(tmp_path)
  (tmp_path / "model.json").write_text("{")
  with pytest.raises(InputError, match="model.json: unreadable"):
    jvqa.models.load(tmp_path)


def test_load_refuses_weights_of_another_size(tmp_path):
  model = registry.build_model(TINY_R3D, rngs=nnx.Rngs(0))
  jvqa.models.save(tmp_path, model, TINY_R3D)
  meta = json.loads((tmp_path / "model.json").read_text())
  meta["spec"]["backbone_kwargs"]["widths"] = [4, 8, 8, 16]
  (tmp_path / "model.json").write_text(json.dumps(meta))
  with pytest.raises(InputError, match="weights do not match the spec.*in the weights"):
    jvqa.models.load(tmp_path)


def test_unknown_names_list_the_known_ones():
  with pytest.raises(ConfigError, match="unknown backbone 'swin'.*swin3d"):
    registry.build_backbone("swin", rngs=nnx.Rngs(0))
  with pytest.raises(ConfigError, match="unknown head 'mlp'.*vqa"):
    registry.build_head("mlp", 8, rngs=nnx.Rngs(0))
  with pytest.raises(ConfigError, match="unknown model 'x'"):
    registry.build_model({"model": "x"}, rngs=nnx.Rngs(0))


# Small constructor arguments per backbone: the registry test builds every pair abstractly.
TINY_BACKBONES = {
    "swin3d": {"embed_dim": 8, "depths": [1, 1, 1, 1], "num_heads": [1, 1, 1, 1]},
    "r2plus1d_18": {"widths": [4, 8, 8, 8], "layers": [1, 1, 1, 1]},
    "r3d_18": {"widths": [4, 8, 8, 8], "layers": [1, 1, 1, 1]},
    "resnet18": {"widths": [4, 8, 8, 8], "layers": [1, 1, 1, 1]},
    "resnet34": {"widths": [4, 8, 8, 8], "layers": [1, 1, 1, 1]},
    "resnet50": {"widths": [4, 8, 8, 8], "layers": [1, 1, 1, 1]},
}
HEAD_OUTPUT = {"vqa": lambda n: (2,), "projection": lambda n: (2, n, 64), "heke": lambda n: (2, 4)}


def test_every_backbone_is_covered():
  assert set(TINY_BACKBONES) == set(registry.BACKBONES)
  assert set(HEAD_OUTPUT) == set(registry.HEADS)


@pytest.mark.parametrize("backbone", sorted(TINY_BACKBONES))
def test_every_head_works_on_every_backbone(backbone):
  x = jax.ShapeDtypeStruct((2, 8, 64, 64, 3), jnp.float32)
  for head in sorted(HEAD_OUTPUT):
    spec = {"model": "vqa", "backbone": backbone, "backbone_kwargs": TINY_BACKBONES[backbone],
            "head": head}
    model = nnx.eval_shape(lambda: registry.build_model(spec, rngs=nnx.Rngs(0)))
    model.eval()
    graphdef, state = nnx.split(model)
    tokens = jax.eval_shape(lambda s, x: nnx.merge(graphdef, s).features(x), state, x)
    assert tokens.ndim == 5 and tokens.shape[0] == 2
    assert tokens.shape[-1] == model.backbone.num_features
    out = jax.eval_shape(lambda s, x: nnx.merge(graphdef, s)(x), state, x)
    assert out.shape == HEAD_OUTPUT[head](int(np.prod(tokens.shape[1:4]))), (head, out.shape)
