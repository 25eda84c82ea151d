"""Shared checks for the PyTorch ↔ jvqa parity tests."""

import numpy as np


def relative_error(actual, expected) -> float:
  """max |actual − expected| / max |expected| (the scale-aware error the tests bound)."""
  actual = np.asarray(actual, np.float64)
  expected = np.asarray(expected, np.float64)
  assert actual.shape == expected.shape, (actual.shape, expected.shape)
  scale = np.abs(expected).max()
  assert scale > 0, "the reference output is all zeros; the comparison would prove nothing"
  return float(np.abs(actual - expected).max() / scale)


def assert_parity(actual, expected, rel: float = 1e-4) -> None:
  """Fails unless ``actual`` equals ``expected`` within ``rel`` relative error."""
  err = relative_error(actual, expected)
  assert err <= rel, f"relative error {err:.3g} > {rel:g}"


def randomize_(module, seed: int = 0) -> None:
  """Gives every parameter and float buffer of a torch module random values.

  Default inits leave zeros (biases, fragment bias tables) and identity BN
  statistics that would hide a wrong mapping; this fills all of them.
  """
  import torch
  g = torch.Generator().manual_seed(seed)
  with torch.no_grad():
    for name, t in list(module.named_parameters()) + list(module.named_buffers()):
      if not t.dtype.is_floating_point:
        continue
      if name.endswith("running_var"):
        t.copy_(torch.rand(t.shape, generator=g) * 0.5 + 0.75)
      elif name.endswith(("running_mean", "bias")) or "bias_table" in name:
        t.copy_(torch.randn(t.shape, generator=g) * 0.1)
      elif name.endswith("weight") and t.dim() == 1:  # norm scales
        t.copy_(1.0 + torch.randn(t.shape, generator=g) * 0.1)
      # Other weights keep their (random) default init, which sets their scale.
