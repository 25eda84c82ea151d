"""PyTorch 2D ResNet-18/34/50 encoders (NCHW), torchvision's layout and keys.

Written from ``shared/reference/heke.md`` 2.2: a 7×7/2 conv + BN + ReLU +
3×3/2 max-pool stem, four stages of basic blocks (18, 34) or v1.5
bottlenecks (50); ``forward`` returns the stage outputs (f1, f2, f3, f4).
``num_classes`` adds an ImageNet-style ``fc`` (only so tests can make a
checkpoint that has one; ``forward`` never uses it).
"""

from torch import nn

LAYERS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)),
          50: ("bottleneck", (3, 4, 6, 3))}


class Block(nn.Module):
  """Keys conv{i}/bn{i} and downsample.{0,1}."""

  def __init__(self, kind, inplanes, planes, stride):
    super().__init__()
    self.expansion = 1 if kind == "basic" else 4
    out = planes * self.expansion
    if kind == "basic":
      specs = [(inplanes, planes, 3, stride), (planes, planes, 3, 1)]
    else:
      specs = [(inplanes, planes, 1, 1), (planes, planes, 3, stride), (planes, out, 1, 1)]
    self.count = len(specs)
    for i, (cin, cout, k, s) in enumerate(specs, start=1):
      setattr(self, f"conv{i}", nn.Conv2d(cin, cout, k, stride=s, padding=k // 2, bias=False))
      setattr(self, f"bn{i}", nn.BatchNorm2d(cout))
    self.downsample = None
    if stride != 1 or inplanes != out:
      self.downsample = nn.Sequential(nn.Conv2d(inplanes, out, 1, stride=stride, bias=False),
                                      nn.BatchNorm2d(out))

  def forward(self, x):
    y = x
    for i in range(1, self.count + 1):
      y = getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(y))
      if i < self.count:
        y = y.relu()
    shortcut = x if self.downsample is None else self.downsample(x)
    return (y + shortcut).relu()


class ResNet(nn.Module):
  """conv1/bn1/maxpool + layer1..layer4; ``forward`` → (f1, f2, f3, f4)."""

  def __init__(self, depth=50, layers=None, widths=(64, 128, 256, 512), num_classes=None):
    super().__init__()
    kind, default_layers = LAYERS[depth]
    layers = layers or default_layers
    self.conv1 = nn.Conv2d(3, widths[0], 7, stride=2, padding=3, bias=False)
    self.bn1 = nn.BatchNorm2d(widths[0])
    self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
    inplanes = widths[0]
    for i, (planes, count) in enumerate(zip(widths, layers)):
      blocks = []
      for b in range(count):
        blocks.append(Block(kind, inplanes, planes, 2 if i and not b else 1))
        inplanes = blocks[-1].expansion * planes
      setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
    self.num_features = inplanes
    if num_classes:
      self.fc = nn.Linear(inplanes, num_classes)

  def forward(self, x):
    x = self.maxpool(self.bn1(self.conv1(x)).relu())
    taps = []
    for i in range(1, 5):
      x = getattr(self, f"layer{i}")(x)
      taps.append(x)
    return tuple(taps)
