"""FAST-VQA's VQA head and ST-VQRL's projection head against PyTorch."""

import numpy as np
import pytest
from flax import nnx

from jvqa.errors import ConvertError
from jvqa.models import heads
from jvqa.models.torch_weights import TorchWeights

torch = pytest.importorskip("torch")
from torch_models import heads as torch_heads  # noqa: E402
from torch_models.parity import assert_parity, randomize_  # noqa: E402


def _tokens(shape=(2, 4, 3, 3, 32), seed=0):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def test_vqa_head_matches_pytorch():
  ref = torch_heads.VQAHead(in_channels=32, hidden_channels=8).eval()
  randomize_(ref)
  head = heads.VQAHead(32, 8, rngs=nnx.Rngs(0))
  w = TorchWeights(ref.state_dict(), "head.pth")
  head.load_torch(w)
  w.finish()
  head.eval()
  x = _tokens()
  with torch.no_grad():
    expected = ref(torch.from_numpy(x).permute(0, 4, 1, 2, 3)).permute(0, 2, 3, 4, 1).numpy()
  assert_parity(np.asarray(head(x)), expected)
  assert_parity(np.asarray(head.score(x)), expected.reshape(2, -1).mean(1))


def test_vqa_head_dropout_only_in_train_mode():
  head = heads.VQAHead(32, 8, rngs=nnx.Rngs(0))
  x = _tokens()
  head.train()
  a, b = np.asarray(head(x)), np.asarray(head(x))
  assert not np.allclose(a, b)
  head.eval()
  np.testing.assert_array_equal(np.asarray(head(x)), np.asarray(head(x)))


def test_projection_head_matches_pytorch():
  ref = torch_heads.Projection(32, 8).eval()
  randomize_(ref)
  head = heads.ProjectionHead(32, 8, rngs=nnx.Rngs(0))
  head.load_torch(TorchWeights(ref.state_dict(), "proj.pth"))
  x = _tokens()
  with torch.no_grad():
    flat = torch.from_numpy(x).permute(0, 4, 1, 2, 3).flatten(2)  # (B, C, T·H·W) as ST-VQRL
    expected = ref(flat).transpose(1, 2).numpy()  # (B, N, 64)
  out = np.asarray(head(x))
  assert out.shape == (2, 4 * 3 * 3, 8)
  assert_parity(out, expected)


def test_head_conversion_names_the_bad_key():
  ref = torch_heads.VQAHead(in_channels=32, hidden_channels=8)
  state = ref.state_dict()
  head = heads.VQAHead(32, 16, rngs=nnx.Rngs(0))
  with pytest.raises(ConvertError, match=r"head.pth: key 'fc_hid.weight' has shape \(8, 32, 1, 1, 1\)"):
    head.load_torch(TorchWeights(state, "head.pth"))
  del state["fc_last.bias"]
  with pytest.raises(ConvertError, match="missing key 'fc_last.bias'"):
    heads.VQAHead(32, 8, rngs=nnx.Rngs(0)).load_torch(TorchWeights(state, "head.pth"))
