"""FAST-VQA's VQAHead and ST-VQRL's projection head in PyTorch (reference sslvqa.md 2.3, 4.1)."""

import torch
from torch import nn


class VQAHead(nn.Module):
  """Dropout(0.5) → Conv3d 1×1×1 C→64 → GELU → Dropout(0.5) → Conv3d 64→1, on (B,C,T,H,W)."""

  def __init__(self, in_channels=768, hidden_channels=64, dropout_ratio=0.5):
    super().__init__()
    self.dropout = nn.Dropout(p=dropout_ratio)
    self.fc_hid = nn.Conv3d(in_channels, hidden_channels, (1, 1, 1))
    self.fc_last = nn.Conv3d(hidden_channels, 1, (1, 1, 1))
    self.gelu = nn.GELU()

  def forward(self, x):
    return self.fc_last(self.dropout(self.gelu(self.fc_hid(self.dropout(x)))))


class Projection(nn.Module):
  """Conv1d(C→64, kernel 1) + ReLU on the flattened tokens (B, C, N) → (B, 64, N)."""

  def __init__(self, in_channels=768, hidden_channels=64):
    super().__init__()
    self.fc_hid = nn.Conv1d(in_channels, hidden_channels, 1)
    self.relu = nn.ReLU()

  def forward(self, x):
    return self.relu(self.fc_hid(x))


class BaseEvaluator(nn.Module):
  """FAST-VQA's evaluator: ``backbone`` then ``vqa_head`` (the keys SSL-VQA's Q_R saves)."""

  def __init__(self, backbone, head=None):
    super().__init__()
    self.backbone = backbone
    self.vqa_head = head if head is not None else VQAHead()

  def forward(self, x):
    return self.vqa_head(self.backbone(x))


def clip_score(score_map: torch.Tensor) -> torch.Tensor:
  """The clip score SSL-VQA takes: the mean of the score map over T, H and W."""
  return score_map.flatten(1).mean(1)
