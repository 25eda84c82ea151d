"""Completely blind prediction: the pretrained heads as quality scores, no VQA labels.

The original (``demo_extract_features.py``, reference §4.2) averages each of
the four knowledge heads over a video's snippets and prints the SRCC of each
head against the score. The heads imitate full-reference metrics mapped to a
DMOS-like sense (higher = worse, §3.3), so on a MOS database (higher is
better) a working head correlates negatively; the original prints that raw
negative SRCC. jvqa reports, per head:

* ``srcc``: the SRCC of the quality-oriented prediction (the head's output,
  negated when the database's ``higher_is_better`` is True), i.e. |SRCC|
  for a head that ranks the videos the right way round, and a negative value
  for one that ranks them backwards (a plain |SRCC| would hide that);
* ``srcc_raw``: the head's output against the score as stored (the
  original's number).

``combined`` is jvqa's own addition: the mean of the four heads' snippet
averages (all four are on the same ≈[0.5, 9] DMOS-like scale). The original
computes no combined score.
"""

from __future__ import annotations

import numpy as np

from jvqa import metrics
from jvqa.errors import MetricError
from jvqa.heke.store import FeatureStore
from jvqa.models.heke import KNOWLEDGE

COMBINED = "combined"


def head_predictions(store: FeatureStore) -> dict[str, np.ndarray]:
  """``{head name: (V,) snippet-averaged output}`` plus ``combined`` (their mean)."""
  per_video = np.asarray(store.scores, np.float64).mean(axis=1)  # (V, 4)
  out = {name: per_video[:, k] for k, name in enumerate(KNOWLEDGE)}
  out[COMBINED] = per_video.mean(axis=1)
  return out


def _srcc_or_nan(pred: np.ndarray, mos: np.ndarray) -> float:
  try:
    return metrics.srcc(pred, mos)
  except MetricError:
    return float("nan")


def completely_blind(store: FeatureStore) -> dict:
  """SRCC of each head (and of their mean) against the store's scores.

  Videos without a score (NaN, e.g. references) are left out.

  Returns:
    ``{"n", "higher_is_better", "heads": {name: {"srcc", "srcc_raw"}}}``,
    names in ``KNOWLEDGE`` order, then ``combined``.
  """
  mos = np.asarray(store.mos, np.float64)
  keep = np.isfinite(mos)
  # Heads are DMOS-like: against a MOS, the oriented prediction is their negative.
  sense = -1.0 if store.higher_is_better else 1.0
  heads = {}
  for name, pred in head_predictions(store).items():
    heads[name] = {"srcc": _srcc_or_nan(sense * pred[keep], mos[keep]),
                   "srcc_raw": _srcc_or_nan(pred[keep], mos[keep])}
  return {"n": int(keep.sum()), "higher_is_better": store.higher_is_better, "heads": heads}


def format_blind(result: dict, label: str = "") -> str:
  """One line per head: ``label  GMSD  SRCC 0.812 (raw -0.812)``."""
  width = max(len(name) for name in result["heads"])
  return "\n".join(
      f"{label}  {name:<{width}}  SRCC {v['srcc']:.3f} (raw {v['srcc_raw']:+.3f})  "
      f"n {result['n']}".strip()
      for name, v in result["heads"].items())
