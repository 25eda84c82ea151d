"""PyTorch BVQA-HEKE pretraining models (NCTHW / NCHW), the original's keys.

Written from ``shared/reference/heke.md`` 2.1, 2.2 and 4.1:

* ``HekeR2p1d``: ``resnet`` (R(2+1)D-18) → f4 → [max; avg] stacked on dim 2 as
  a (2, 1) image → ``group_conv_1`` (k (2,1), 4 groups) → ELU →
  ``group_conv_2`` (4 groups) → ELU → ``group_conv_3`` (4 groups) → (B, 4).
* ``HekeResnet``: ``spatial`` (ResNet-50) on ``rgb``, ``temporal`` (ResNet-34)
  on ``dif``; cat(max rgb, avg rgb, max dif, avg dif) on channels →
  ``group_conv_1`` (1 group) → ELU → ``group_conv_2`` (4) → ELU →
  ``group_conv_3`` (4).

``features`` returns the extraction scripts' taps: per level [avg | max | std
(unbiased)] over the non-batch, non-channel dims.
"""

import torch
from torch import nn

from torch_models.resnet import ResNet
from torch_models.video_resnet import r2plus1d_18


def level_features(taps):
  out = []
  for f in taps:
    dims = tuple(range(2, f.dim()))
    out.append(torch.cat([f.mean(dims), f.amax(dims), f.std(dims)], dim=1))
  return tuple(out)


def _heads(model, x):
  x = nn.functional.elu(model.group_conv_1(x))
  x = nn.functional.elu(model.group_conv_2(x))
  return model.group_conv_3(x).flatten(1)


class HekeR2p1d(nn.Module):

  def __init__(self, widths=(64, 128, 256, 512), hidden=32, groups=4, layers=(2, 2, 2, 2)):
    super().__init__()
    self.resnet = r2plus1d_18(widths=widths, layers=layers)
    self.group_conv_1 = nn.Conv2d(widths[-1], hidden * groups * 4, (2, 1), groups=groups)
    self.group_conv_2 = nn.Conv2d(hidden * groups * 4, hidden * groups, 1, groups=groups)
    self.group_conv_3 = nn.Conv2d(hidden * groups, groups, 1, groups=groups)

  def head(self, f4):
    pooled = torch.cat([f4.amax((2, 3, 4), keepdim=True), f4.mean((2, 3, 4), keepdim=True)],
                       dim=2)  # (B, C, 2, 1, 1)
    return _heads(self, pooled.flatten(3))

  def forward(self, x):
    return self.head(self.resnet(x)[-1])

  def scores_and_features(self, x):
    taps = self.resnet(x)
    return self.head(taps[-1]), level_features(taps)


class HekeResnet(nn.Module):

  def __init__(self, spatial_depth=50, temporal_depth=34, hidden=32, groups=4,
               widths=(64, 128, 256, 512), layers=None, shared=1024):
    super().__init__()
    self.spatial = ResNet(spatial_depth, layers=layers, widths=widths)
    self.temporal = ResNet(temporal_depth, layers=layers, widths=widths)
    c = 2 * (self.spatial.num_features + self.temporal.num_features)
    self.group_conv_1 = nn.Conv2d(c, shared, 1)
    self.group_conv_2 = nn.Conv2d(shared, hidden * groups, 1, groups=groups)
    self.group_conv_3 = nn.Conv2d(hidden * groups, groups, 1, groups=groups)

  def head(self, rgb, dif):
    pooled = torch.cat([rgb.amax((2, 3), keepdim=True), rgb.mean((2, 3), keepdim=True),
                        dif.amax((2, 3), keepdim=True), dif.mean((2, 3), keepdim=True)], dim=1)
    return _heads(self, pooled)

  def forward(self, rgb, dif):
    return self.head(self.spatial(rgb)[-1], self.temporal(dif)[-1])

  def scores_and_features(self, rgb, dif):
    frgb, fdif = self.spatial(rgb), self.temporal(dif)
    return self.head(frgb[-1], fdif[-1]), (level_features(frgb), level_features(fdif))
