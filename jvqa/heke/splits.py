"""Train/test splits of BVQA-HEKE's protocols (reference §4.4-4.6), as video indices.

* **Intra-database** (synthetic databases): by reference content, so no
  content is on both sides. ``hold_out_pairs``: every one of the C(n, 2) ways
  of testing on 2 of the n references (45 for 10, 66 for 12), as the
  original's ``get_combinations``; ``ivc_ic_test_sets``: IVC-IC's 50
  hand-built sets of 12 of its 60 references. ``intra_splits`` chooses.
* **Authentic (UGC)**: ``random_splits``, seeded random 80/20 splits of the
  videos (every video is its own content).
* **Validation** (jvqa): ``validation_split`` holds out 20% of a training
  side's references (of its videos when it has fewer than 2 references) to
  select the regressor's epoch on (``jvqa.heke.regressor``).

References are numbered 0..n−1 in natural order of their names
(``reference_order``: ``src2`` before ``src10``), which for IVC-IC's
``src<NN>_...`` names is the original's scene-id order that its hand-built
sets assume. C(n, 2) pair splits are the same set of splits in any order.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re

import numpy as np

# IVC-IC: (first references, stride): each test set is first + stride·k, k < 12.
IVC_IC_REFERENCES = 60
IVC_IC_SET_SIZE = 12
_IVC_IC_PATTERNS = (
    (range(0, 49, 3), 1),  # 17 contiguous runs
    (range(0, 37, 3), 2),  # 13 every other reference
    (range(3, 26, 2), 3),  # 12 every third
    (range(3, 16, 2), 4),  # 7 every fourth
    ((3,), 5),  # 1 every fifth
)
# Database names (TFDS builder names) with their own intra-database sets.
IVC_IC = "ivc_ic"


@dataclasses.dataclass(frozen=True)
class Split:
  """One train/test split: video indices, and the test references (if by content)."""
  train: np.ndarray
  test: np.ndarray
  test_references: tuple = ()


def _natural_key(name: str):
  return [(0, int(part), "") if part.isdigit() else (1, 0, part)
          for part in re.split(r"(\d+)", str(name))]


def reference_order(references) -> list[str]:
  """The distinct reference names, in natural order (``src2`` before ``src10``)."""
  return sorted({str(r) for r in references}, key=_natural_key)


def ivc_ic_test_sets() -> np.ndarray:
  """IVC-IC's 50 test sets, ``(50, 12)`` reference numbers in 0..59 (§4.4)."""
  sets = [first + stride * np.arange(IVC_IC_SET_SIZE)
          for firsts, stride in _IVC_IC_PATTERNS for first in firsts]
  return np.asarray(sets, np.int64)


def pair_test_sets(num_references: int) -> np.ndarray:
  """Every pair of reference numbers, ``(C(n, 2), 2)``, in lexicographic order."""
  return np.asarray(list(itertools.combinations(range(num_references), 2)),
                    np.int64).reshape(-1, 2)


def reference_splits(references, test_sets) -> list[Split]:
  """One ``Split`` per test set of reference numbers (into ``reference_order``).

  Every video of a test reference is in the test set; every other video is
  in the training set.
  """
  references = np.asarray([str(r) for r in references])
  order = reference_order(references)
  number = {name: i for i, name in enumerate(order)}
  per_video = np.asarray([number[r] for r in references], np.int64)
  splits = []
  for test_set in np.asarray(test_sets, np.int64):
    if test_set.size and (test_set.min() < 0 or test_set.max() >= len(order)):
      raise ValueError(f"test set {test_set.tolist()} names references beyond the "
                       f"{len(order)} there are")
    mask = np.isin(per_video, test_set)
    splits.append(Split(np.flatnonzero(~mask), np.flatnonzero(mask),
                        tuple(order[i] for i in test_set)))
  return splits


def hold_out_pairs(references) -> list[Split]:
  """The C(n, 2) splits testing on 2 of the n references (n ≥ 3: one left to train on)."""
  n = len(reference_order(references))
  if n < 3:
    raise ValueError(f"holding out 2 references needs at least 3, got {n}")
  return reference_splits(references, pair_test_sets(n))


def intra_splits(references, database: str = "") -> list[Split]:
  """The intra-database splits: IVC-IC's 50 sets for it (60 references), else pairs."""
  if database == IVC_IC and len(reference_order(references)) == IVC_IC_REFERENCES:
    return reference_splits(references, ivc_ic_test_sets())
  return hold_out_pairs(references)


def random_splits(num_videos: int, count: int = 100, *, test_fraction: float = 0.2,
                  seed: int = 0) -> list[Split]:
  """``count`` seeded random splits of ``num_videos`` videos, ceil(20%) tested each.

  Split ``i`` uses ``np.random.default_rng([seed, i])``, so the first splits
  do not change with ``count``. The test share is rounded up, as
  scikit-learn's ``train_test_split`` (the BVQA benchmark's) does.
  """
  n_test = math.ceil(test_fraction * num_videos)
  if not 0 < n_test < num_videos:
    raise ValueError(f"cannot test on {test_fraction:g} of {num_videos} videos")
  splits = []
  for i in range(count):
    order = np.random.default_rng([seed, i]).permutation(num_videos)
    splits.append(Split(np.sort(order[n_test:]), np.sort(order[:n_test])))
  return splits


def validation_split(train, references, *, fraction: float = 0.2,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """Splits a training side into (fit, validation) video indices.

  ``round(fraction·r)`` (at least 1) of its ``r`` references go to
  validation, drawn with ``seed``; a side with fewer than 2 references is
  split by videos instead (``round(fraction·v)`` of them). With
  ``fraction`` 0, or too few videos, the validation part is empty.

  Args:
    train: the training side's video indices.
    references: every video's reference name (indexed by ``train``); pass
      the video names for UGC data (one content per video).
    fraction: the share held out.
    seed: the draw's seed.
  """
  train = np.asarray(train, np.int64)
  rng = np.random.default_rng(seed)
  refs = np.asarray([str(r) for r in np.asarray(references)[train]]) if train.size else (
      np.asarray([], str))
  order = reference_order(refs)
  if fraction <= 0 or train.size < 2:
    return train, train[:0]
  if len(order) >= 2:
    k = min(max(1, round(fraction * len(order))), len(order) - 1)
    held = set(np.asarray(order)[rng.choice(len(order), k, replace=False)].tolist())
    mask = np.isin(refs, list(held))
  else:
    k = min(max(1, round(fraction * train.size)), train.size - 1)
    mask = np.zeros(train.size, bool)
    mask[rng.choice(train.size, k, replace=False)] = True
  return train[~mask], train[mask]
