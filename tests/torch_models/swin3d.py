"""PyTorch Video Swin-T with FAST-VQA's fragment bias (NCTHW), the original's keys.

Written from ``shared/reference/sslvqa.md`` §2.1 and a reading of SSL-VQA's
``STVQRL/swin_backbone.py`` (``SwinTransformer3D`` with its defaults, no
adaptive window). Module and parameter names follow the original so that
``state_dict()`` has its keys, ``relative_position_index`` buffers included.
As in the original, every forward recomputes the clamped window, the −100
shift mask (slice-assigned region labels) and the fragment coordinates
(``F.interpolate`` nearest of a window_h × window_w grid, rolled with the
tokens) with torch ops, and a clamped window of N tokens reads the first
N × N entries of the full window's relative position index.

``forward(x)`` returns the final-LayerNorm map (B, C, T', H', W');
``forward(x, stages=True)`` returns the pre-merging output of each stage and
the normed last one (the jvqa ``stages`` convention).
"""

import math

import torch
from torch import nn
import torch.nn.functional as F


def clamp_window(grid, window, shift):
  window, shift = list(window), list(shift)
  for i, size in enumerate(grid):
    if size <= window[i]:
      window[i], shift[i] = size, 0
  return tuple(window), tuple(shift)


def to_windows(x, window):
  """(B, D, H, W, C) → (B·nW, N, C)."""
  b, d, h, w, c = x.shape
  wd, wh, ww = window
  x = x.view(b, d // wd, wd, h // wh, wh, w // ww, ww, c)
  return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(-1, wd * wh * ww, c)


def from_windows(windows, window, b, d, h, w):
  wd, wh, ww = window
  x = windows.view(b, d // wd, h // wh, w // ww, wd, wh, ww, -1)
  return x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(b, d, h, w, -1)


def shift_mask(padded, window, shift, device=None):
  """(nW, N, N) 0/−100: region labels cut at −window and −shift per dim."""
  labels = torch.zeros(1, *padded, 1, device=device)
  label = 0
  cuts = [(slice(-n), slice(-n, -s), slice(-s, None)) for n, s in zip(window, shift)]
  for sd in cuts[0]:
    for sh in cuts[1]:
      for sw in cuts[2]:
        labels[:, sd, sh, sw, :] = label
        label += 1
  labels = to_windows(labels, window).squeeze(-1)
  diff = labels[:, None, :] - labels[:, :, None]
  return torch.where(diff != 0, -100.0, 0.0)


def fragment_gate(padded, window, shift, device=None):
  """(nW, N, N) L1 distance of the tokens' (t, h, w) fragment numbers."""
  grid = torch.stack(torch.meshgrid(torch.arange(1, device=device), torch.arange(window[1], device=device),
                                    torch.arange(window[2], device=device), indexing="ij")).float()
  coords = F.interpolate(grid[None], size=tuple(padded)).long().permute(0, 2, 3, 4, 1)
  coords = torch.roll(coords, shifts=tuple(-s for s in shift), dims=(1, 2, 3))
  coords = to_windows(coords, window)
  return (coords[:, None, :] - coords[:, :, None]).abs().sum(-1).float()


def relative_index(window):
  coords = torch.stack(torch.meshgrid(*[torch.arange(n) for n in window], indexing="ij"))
  coords = coords.flatten(1)
  rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
  rel = rel + torch.tensor(window) - 1
  return rel[..., 0] * (2 * window[1] - 1) * (2 * window[2] - 1) \
      + rel[..., 1] * (2 * window[2] - 1) + rel[..., 2]


class DropPath(nn.Module):
  def __init__(self, rate):
    super().__init__()
    self.rate = rate

  def forward(self, x):
    if not self.training or self.rate == 0:
      return x
    keep = 1 - self.rate
    mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
    return x * mask / keep


class WindowAttention3D(nn.Module):
  def __init__(self, dim, window, heads, qkv_bias, frag_bias):
    super().__init__()
    self.window, self.heads = tuple(window), heads
    self.scale = (dim // heads) ** -0.5
    size = math.prod(2 * n - 1 for n in window)
    self.relative_position_bias_table = nn.Parameter(torch.zeros(size, heads))
    if frag_bias:
      self.fragment_position_bias_table = nn.Parameter(torch.zeros(size, heads))
    self.register_buffer("relative_position_index", relative_index(self.window))
    self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
    self.proj = nn.Linear(dim, dim)
    nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

  def table_bias(self, table, n):
    index = self.relative_position_index[:n, :n].reshape(-1)
    return table[index].reshape(n, n, -1).permute(2, 0, 1)

  def forward(self, x, mask, gate):
    bw, n, c = x.shape
    qkv = self.qkv(x).reshape(bw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
    attn = q @ k.transpose(-2, -1)
    bias = self.table_bias(self.relative_position_bias_table, n)[None]
    if hasattr(self, "fragment_position_bias_table"):
      frag = self.table_bias(self.fragment_position_bias_table, n)
      bias = bias * gate[:, None] + frag * (1 - gate[:, None])
    nw = gate.shape[0]
    attn = attn.view(bw // nw, nw, self.heads, n, n) + bias[None]
    if mask is not None:
      attn = attn + mask[None, :, None]
    attn = attn.view(bw, self.heads, n, n).softmax(-1)
    return self.proj((attn @ v).transpose(1, 2).reshape(bw, n, c))


class Mlp(nn.Module):
  def __init__(self, dim, hidden):
    super().__init__()
    self.fc1 = nn.Linear(dim, hidden)
    self.act = nn.GELU()
    self.fc2 = nn.Linear(hidden, dim)

  def forward(self, x):
    return self.fc2(self.act(self.fc1(x)))


class SwinTransformerBlock3D(nn.Module):
  def __init__(self, dim, heads, window, shift, mlp_ratio, qkv_bias, drop_path, frag_bias):
    super().__init__()
    self.window, self.shift = tuple(window), tuple(shift)
    self.norm1 = nn.LayerNorm(dim)
    self.attn = WindowAttention3D(dim, window, heads, qkv_bias, frag_bias)
    self.drop_path = DropPath(drop_path)
    self.norm2 = nn.LayerNorm(dim)
    self.mlp = Mlp(dim, int(dim * mlp_ratio))

  def attention(self, x):
    b, d, h, w, c = x.shape
    window, shift = clamp_window((d, h, w), self.window, self.shift)
    pads = [(n - s % n) % n for s, n in zip((d, h, w), window)]
    x = F.pad(self.norm1(x), (0, 0, 0, pads[2], 0, pads[1], 0, pads[0]))
    padded = x.shape[1:4]
    shifted = any(s > 0 for s in shift)
    if shifted:
      x = torch.roll(x, shifts=tuple(-s for s in shift), dims=(1, 2, 3))
    mask = shift_mask(padded, window, shift, x.device) if shifted else None
    gate = fragment_gate(padded, window, shift, x.device)
    x = self.attn(to_windows(x, window), mask, gate)
    x = from_windows(x, window, b, *padded)
    if shifted:
      x = torch.roll(x, shifts=shift, dims=(1, 2, 3))
    return x[:, :d, :h, :w].contiguous()

  def forward(self, x):
    x = x + self.drop_path(self.attention(x))
    return x + self.drop_path(self.mlp(self.norm2(x)))


class PatchMerging(nn.Module):
  def __init__(self, dim):
    super().__init__()
    self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
    self.norm = nn.LayerNorm(4 * dim)

  def forward(self, x):
    h, w = x.shape[2:4]
    x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
    x = torch.cat([x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2],
                   x[:, :, 0::2, 1::2], x[:, :, 1::2, 1::2]], -1)
    return self.reduction(self.norm(x))


class BasicLayer(nn.Module):
  def __init__(self, dim, depth, heads, window, mlp_ratio, qkv_bias, drop_paths,
               frag_bias, downsample):
    super().__init__()
    shift = tuple(n // 2 for n in window)
    self.blocks = nn.ModuleList([
        SwinTransformerBlock3D(dim, heads, window, (0, 0, 0) if i % 2 == 0 else shift,
                               mlp_ratio, qkv_bias, drop_paths[i], frag_bias)
        for i in range(depth)])
    self.downsample = PatchMerging(dim) if downsample else None

  def forward(self, x):
    """(B, C, D, H, W) → (pre-merging output, output), both NCTHW."""
    x = x.permute(0, 2, 3, 4, 1)
    for block in self.blocks:
      x = block(x)
    feature = x.permute(0, 4, 1, 2, 3)
    if self.downsample is not None:
      x = self.downsample(x)
    return feature, x.permute(0, 4, 1, 2, 3)


class PatchEmbed3D(nn.Module):
  def __init__(self, patch, in_chans, dim, patch_norm):
    super().__init__()
    self.patch = tuple(patch)
    self.proj = nn.Conv3d(in_chans, dim, kernel_size=patch, stride=patch)
    self.norm = nn.LayerNorm(dim) if patch_norm else None

  def forward(self, x):
    d, h, w = x.shape[2:]
    pd, ph, pw = [-s % p for s, p in zip((d, h, w), self.patch)]
    x = self.proj(F.pad(x, (0, pw, 0, ph, 0, pd)))
    if self.norm is not None:
      x = self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)
    return x


class SwinTransformer3D(nn.Module):
  def __init__(self, patch_size=(2, 4, 4), in_chans=3, embed_dim=96, depths=(2, 2, 6, 2),
               num_heads=(3, 6, 12, 24), window_size=(8, 7, 7), mlp_ratio=4.0,
               qkv_bias=True, drop_path_rate=0.1, frag_biases=(True, True, True, False),
               patch_norm=True):
    super().__init__()
    self.patch_embed = PatchEmbed3D(patch_size, in_chans, embed_dim, patch_norm)
    rates = [r.item() for r in torch.linspace(0, drop_path_rate, sum(depths))]
    self.layers = nn.ModuleList()
    for i, depth in enumerate(depths):
      first = sum(depths[:i])
      self.layers.append(BasicLayer(
          embed_dim * 2**i, depth, num_heads[i], window_size, mlp_ratio, qkv_bias,
          rates[first:first + depth], frag_biases[i], i < len(depths) - 1))
    self.num_features = embed_dim * 2**(len(depths) - 1)
    self.norm = nn.LayerNorm(self.num_features)

  def forward(self, x, stages=False):
    x = self.patch_embed(x)
    features = []
    for layer in self.layers:
      feature, x = layer(x)
      features.append(feature)
    x = self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)
    return features[:-1] + [x] if stages else x
