"""PyTorch R(2+1)D-18 and R3D-18 encoders (NCTHW), torchvision's layout and keys.

Written from ``shared/reference/heke.md`` 2.1 (HEKE's copy of torchvision's
``VideoResNet``): the stem, four stages of basic blocks, no pooling, no fc;
``forward`` returns the stage outputs (f1, f2, f3, f4). Widths, blocks per
stage and the R(2+1)D stem's middle width are arguments so tests can build
tiny models.
"""

from torch import nn


def midplanes(inplanes, planes):
  return (inplanes * planes * 27) // (inplanes * 9 + 3 * planes)


def _conv(cin, cout, kernel, stride, padding):
  return nn.Conv3d(cin, cout, kernel, stride=stride, padding=padding, bias=False)


def _factorised(cin, cout, mid, stride):
  """Keys .0 spatial conv, .1 BN, .3 temporal conv."""
  return nn.Sequential(
      _conv(cin, mid, (1, 3, 3), (1, stride, stride), (0, 1, 1)),
      nn.BatchNorm3d(mid), nn.ReLU(),
      _conv(mid, cout, (3, 1, 1), (stride, 1, 1), (1, 0, 0)))


def _full(cin, cout, mid, stride):
  del mid
  return _conv(cin, cout, (3, 3, 3), (stride,) * 3, (1, 1, 1))


class Block(nn.Module):
  """BasicBlock: keys conv1.{0,1}, conv2.{0,1}, downsample.{0,1}."""

  def __init__(self, inplanes, planes, stride, factorised):
    super().__init__()
    make = _factorised if factorised else _full
    mid = midplanes(inplanes, planes)
    self.midplanes = mid
    self.conv1 = nn.Sequential(make(inplanes, planes, mid, stride), nn.BatchNorm3d(planes),
                               nn.ReLU())
    self.conv2 = nn.Sequential(make(planes, planes, mid, 1), nn.BatchNorm3d(planes))
    self.downsample = None
    if stride != 1 or inplanes != planes:
      self.downsample = nn.Sequential(
          nn.Conv3d(inplanes, planes, 1, stride=(stride,) * 3, bias=False),
          nn.BatchNorm3d(planes))

  def forward(self, x):
    shortcut = x if self.downsample is None else self.downsample(x)
    return (self.conv2(self.conv1(x)) + shortcut).relu()


class VideoResNet(nn.Module):
  """Stem + layer1..layer4; ``forward`` → (f1, f2, f3, f4)."""

  def __init__(self, factorised=True, layers=(2, 2, 2, 2), widths=(64, 128, 256, 512),
               stem_midplanes=45):
    super().__init__()
    if factorised:
      self.stem = nn.Sequential(
          _conv(3, stem_midplanes, (1, 7, 7), (1, 2, 2), (0, 3, 3)),
          nn.BatchNorm3d(stem_midplanes), nn.ReLU(),
          _conv(stem_midplanes, widths[0], (3, 1, 1), (1, 1, 1), (1, 0, 0)),
          nn.BatchNorm3d(widths[0]), nn.ReLU())
    else:
      self.stem = nn.Sequential(
          _conv(3, widths[0], (3, 7, 7), (1, 2, 2), (1, 3, 3)),
          nn.BatchNorm3d(widths[0]), nn.ReLU())
    inplanes = widths[0]
    for i, (planes, count) in enumerate(zip(widths, layers)):
      blocks = []
      for b in range(count):
        blocks.append(Block(inplanes, planes, 2 if i and not b else 1, factorised))
        inplanes = planes
      setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))

  def forward(self, x):
    x = self.stem(x)
    taps = []
    for i in range(1, 5):
      x = getattr(self, f"layer{i}")(x)
      taps.append(x)
    return tuple(taps)


def r2plus1d_18(**kw):
  return VideoResNet(True, **kw)


def r3d_18(**kw):
  return VideoResNet(False, **kw)
