"""ImageNet normalisation of 0-255 RGB frames, as SSL-VQA and FAST-VQA do it.

The originals normalise with ``(x - mean) / std`` on 0-255 RGB in float32.
ST-VQRL and SSL training normalise the full-resolution frames *before*
fragment sampling; the evaluation and pristine-clip code normalise *after*.
Both orders give the same result up to float rounding: cropping copies
pixels, and the bilinear upsampling fallback is a per-pixel convex
combination (weights summing to 1), which commutes with a per-pixel affine
map. So jvqa always crops first (cheap) and normalises the 224x224
fragments. The only exception is the original's uint8 truncation after
upsampling, which happens on un-normalised (evaluation) input only; see
``jvqa.data.fragments.upsample_to_min_size``.
"""

from __future__ import annotations

import numpy as np

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def normalize_imagenet(x: np.ndarray) -> np.ndarray:
  """Returns ``(x - IMAGENET_MEAN) / IMAGENET_STD`` in float32.

  Args:
    x: RGB pixels on a 0-255 scale, channel-last (``(..., 3)``), any dtype.

  Returns:
    float32 array of the same shape.
  """
  x = np.asarray(x)
  if x.shape[-1:] != (3,):
    raise ValueError(f"expected channel-last RGB (..., 3), got {x.shape}")
  mean = np.asarray(IMAGENET_MEAN, np.float32)
  std = np.asarray(IMAGENET_STD, np.float32)
  return (x.astype(np.float32) - mean) / std


def denormalize_imagenet(x: np.ndarray) -> np.ndarray:
  """Inverse of ``normalize_imagenet``: float32 pixels on a 0-255 scale."""
  mean = np.asarray(IMAGENET_MEAN, np.float32)
  std = np.asarray(IMAGENET_STD, np.float32)
  return np.asarray(x, np.float32) * std + mean
