"""BVQA-HEKE's evaluation protocols on feature stores (reference §4.4-4.6).

* ``intra(store)``: the regressor trained and tested within one database on
  every content split of ``jvqa.heke.splits.intra_splits`` (C(n, 2) pairs of
  held-out references; IVC-IC's 50 sets). Works on any database whose
  records name a reference, the demo included (its scenes are the
  references; ``demo:pretrain`` has 10, so 45 splits).
* ``ugc(store)``: the authentic databases: 100 seeded random 80/20 splits of
  the videos. The original evaluates UGC features with an external SVR
  (``vztu/BVQA_Benchmark``); jvqa uses the same ``FC_network`` regressor
  as for the synthetic databases.
* ``cross(stores)``: train on all of one database, test on each other one;
  ``matrix[train][test]`` is the SRCC. The diagonal is left empty (a
  database is never tested on the videos it was trained on), so a single
  database gives an empty row.

Every split reports SRCC, KRCC, PLCC and RMSE of the raw predictions against
the targets (the original's numbers: raw Pearson, target scale [1, 9.5]),
PLCC and RMSE after the 4-parameter logistic fit, the epoch selected on the
validation part of the training side (``jvqa.heke.regressor``), and, for
comparison only, the original's test-selected SRCC (the best test SRCC over
all epochs) as ``srcc_test_selected``. A protocol's ``summary`` gives the
median (the papers' number), mean, quartiles and range over its splits.
Videos without a score (NaN) are left out.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

from jvqa import metrics
from jvqa.errors import MetricError
from jvqa.heke import regressor, splits as splits_lib
from jvqa.heke.store import LEVELS, POOLS, FeatureStore

# Training batch size per database (the original's table, §4.3), by TFDS name.
BATCH_SIZES = {"live_vqa": 15, "csiq_vqa": 18, "ivpl": 4, "ivc_ic": 16, "epfl_polimi": 12,
               "live_mobile": 16}
DEFAULT_BATCH_SIZE = 16
# Cross-database learning rate where it is not the default (§4.5: 1e-3 on LIVE).
CROSS_LR = {"live_vqa": 1e-3}
SUMMARY_KEYS = ("srcc", "krcc", "plcc", "rmse", "plcc_fitted", "rmse_fitted",
                "srcc_test_selected")


@dataclasses.dataclass(frozen=True)
class ProtocolOptions:
  """How features are chosen and the regressor is trained.

  Attributes:
    levels, pools, group_f4: the features (``FeatureStore.features``).
    fit: the regressor's training numbers; its ``batch_size`` is replaced
      by ``batch_size``.
    batch_size: the training batch (None: ``BATCH_SIZES`` of the database,
      else ``DEFAULT_BATCH_SIZE``).
    validation: the share of the training side's references (UGC: videos)
      held out to select the epoch on; 0 keeps the last epoch.
    seed: seeds the validation draws and the UGC splits.
    keep_predictions: include each split's test predictions in the result.
  """
  levels: Sequence[int] = LEVELS
  pools: Sequence[str] = POOLS
  group_f4: bool = True
  fit: regressor.FitOptions = regressor.FitOptions()
  batch_size: int | None = None
  validation: float = 0.2
  seed: int = 0
  keep_predictions: bool = True


def _default_log(line: str) -> None:
  print(line, file=sys.stderr, flush=True)


def summarize(values) -> dict:
  """Median, mean, quartiles, range and count of the finite ``values``."""
  v = np.asarray(values, np.float64)
  v = v[np.isfinite(v)]
  if not v.size:
    return {"median": None, "mean": None, "q1": None, "q3": None, "min": None, "max": None,
            "n": 0}
  q1, median, q3 = np.percentile(v, [25, 50, 75])
  return {"median": float(median), "mean": float(v.mean()), "q1": float(q1), "q3": float(q3),
          "min": float(v.min()), "max": float(v.max()), "n": int(v.size)}


def prepared(store: FeatureStore, options: ProtocolOptions
             ) -> tuple[FeatureStore, np.ndarray, np.ndarray]:
  """``(scored videos, features (V, T, D), targets (V,))`` of a store."""
  scored = store.select(np.isfinite(np.asarray(store.mos, np.float64)))
  if len(scored) < 2:
    raise MetricError(f"{store.meta.get('source', '?')}: fewer than 2 scored videos")
  x = scored.features(options.levels, options.pools, group_f4=options.group_f4)
  y = regressor.targets(scored.mos, scored.higher_is_better)
  return scored, x, y


def _fit_options(options: ProtocolOptions, database: str, lr: float | None = None):
  batch = options.batch_size or BATCH_SIZES.get(database, DEFAULT_BATCH_SIZE)
  return dataclasses.replace(options.fit, batch_size=batch, lr=lr or options.fit.lr)


def correlations(pred, target) -> dict:
  """The split metrics (``metrics.correlations``), NaN where undefined (flat predictions)."""
  try:
    return metrics.correlations(pred, target)
  except MetricError:
    nan = float("nan")
    return {"srcc": nan, "krcc": nan, "plcc": nan, "rmse": nan, "plcc_fitted": nan,
            "rmse_fitted": nan, "n": int(np.size(pred))}


def per_epoch_srcc(predictions: np.ndarray, target) -> np.ndarray:
  """SRCC of each row of ``(epochs, n)`` predictions against ``target`` (NaN if flat)."""
  ranks = stats.rankdata(predictions, axis=1)
  t = stats.rankdata(np.asarray(target, np.float64))
  ranks = ranks - ranks.mean(axis=1, keepdims=True)
  t = t - t.mean()
  denom = np.sqrt((ranks * ranks).sum(axis=1) * (t * t).sum())
  with np.errstate(invalid="ignore", divide="ignore"):
    return np.where(denom > 0, (ranks @ t) / denom, np.nan)


def run_split(x: np.ndarray, y: np.ndarray, references, split: splits_lib.Split,
              fit_options: regressor.FitOptions, *, validation: float, seed: int,
              names=None, keep_predictions: bool = True) -> dict:
  """Trains on ``split.train`` (less its validation part) and tests on ``split.test``."""
  fit_idx, val_idx = splits_lib.validation_split(split.train, references,
                                                 fraction=validation, seed=seed)
  result = regressor.fit(x[fit_idx], y[fit_idx], x_val=x[val_idx], y_val=y[val_idx],
                         monitors={"test": x[split.test]}, options=fit_options)
  pred = regressor.predict(result.model, x[split.test])
  target = y[split.test]
  curve = per_epoch_srcc(result.monitors["test"], target)
  out = {"test_references": list(split.test_references), "n_train": int(fit_idx.size),
         "n_val": int(val_idx.size), "n_test": int(split.test.size),
         "best_epoch": result.best_epoch, **correlations(pred, target),
         "srcc_test_selected": float(np.nanmax(curve)) if np.isfinite(curve).any() else None,
         "best_test_epoch": int(np.nanargmax(curve)) if np.isfinite(curve).any() else None}
  if keep_predictions:
    out["predictions"] = {"names": [str(n) for n in (names[split.test] if names is not None
                                                       else split.test)],
                          "target": target.tolist(), "pred": pred.tolist()}
  return out


def _summary(results: list[dict]) -> dict:
  return {key: summarize([r.get(key) if r.get(key) is not None else np.nan for r in results])
          for key in SUMMARY_KEYS}


def _run_splits(kind: str, store: FeatureStore, split_list, options: ProtocolOptions,
                log: Callable[[str], Any], *, by_video: bool) -> dict:
  scored, x, y = prepared(store, options)
  fit_options = _fit_options(options, store.database)
  groups = scored.names if by_video else scored.references
  results = []
  for i, split in enumerate(split_list):
    r = run_split(x, y, groups, split, fit_options, validation=options.validation,
                  seed=options.seed + i, names=scored.names,
                  keep_predictions=options.keep_predictions)
    results.append(r)
    held = f" test {', '.join(split.test_references)}" if split.test_references else ""
    log(f"heke {kind} {store.database} split {i + 1}/{len(split_list)}{held}: "
        f"SRCC {r['srcc']:.4f} PLCC {r['plcc']:.4f} (epoch {r['best_epoch'] + 1}; "
        f"test-selected {r['srcc_test_selected'] or float('nan'):.4f})")
  summary = _summary(results)
  log(f"heke {kind} {store.database}: median SRCC {summary['srcc']['median']} over "
      f"{len(results)} splits")
  return {"protocol": kind, "database": store.database, "source": store.meta.get("source"),
          "n_videos": len(scored), "n_splits": len(results),
          "batch_size": fit_options.batch_size, "summary": summary, "splits": results}


def intra(store: FeatureStore, options: ProtocolOptions = ProtocolOptions(), *,
          split_list: Sequence[splits_lib.Split] | None = None,
          log: Callable[[str], Any] | None = None) -> dict:
  """The intra-database protocol: every content split of ``intra_splits``.

  Args:
    store: the database's features (``store.concat`` several splits first
      where a database is stored as several, e.g. the demo).
    options: features and training.
    split_list: other splits of the scored videos (default: ``intra_splits``
      of their references).
    log: progress lines (default: stderr).
  """
  scored = store.select(np.isfinite(np.asarray(store.mos, np.float64)))
  if split_list is None:
    split_list = splits_lib.intra_splits(scored.references, store.database)
  return _run_splits("intra", store, split_list, options, log or _default_log,
                     by_video=False)


def ugc(store: FeatureStore, options: ProtocolOptions = ProtocolOptions(), *,
        count: int = 100, log: Callable[[str], Any] | None = None) -> dict:
  """The authentic protocol: ``count`` seeded random 80/20 splits of the videos."""
  n = int(np.isfinite(np.asarray(store.mos, np.float64)).sum())
  split_list = splits_lib.random_splits(n, count, seed=options.seed)
  return _run_splits("ugc", store, split_list, options, log or _default_log, by_video=True)


def cross(stores: Mapping[str, FeatureStore], options: ProtocolOptions = ProtocolOptions(), *,
          log: Callable[[str], Any] | None = None) -> dict:
  """The cross-database protocol: train on all of one database, test on each other.

  Each database's targets use its own min-max mapping and sense. The
  training database's validation part (``options.validation`` of its
  references) selects the epoch; the original selects none (it stores every
  epoch's test SRCC), so ``srcc_test_selected`` is the best of those.

  Returns:
    ``{"matrix": {train: {test: SRCC}}, "pairs": {train: {test: split
    metrics}}, "databases": [...]}``; the diagonal is empty.
  """
  log = log or _default_log
  data = {name: prepared(s, options) for name, s in stores.items()}
  dims = {name: x.shape[-1] for name, (_, x, _) in data.items()}
  if len(set(dims.values())) > 1:
    raise MetricError(f"the stores' features differ in size: {dims}")
  matrix, pairs = {}, {}
  for train_name, (scored, x, y) in data.items():
    database = stores[train_name].database
    fit_options = _fit_options(options, database, CROSS_LR.get(database))
    fit_idx, val_idx = splits_lib.validation_split(
        np.arange(len(scored)), scored.references, fraction=options.validation,
        seed=options.seed)
    others = {name: d for name, d in data.items() if name != train_name}
    # Positional monitor names: same-sized databases share one compiled program.
    result = regressor.fit(x[fit_idx], y[fit_idx], x_val=x[val_idx], y_val=y[val_idx],
                           monitors={f"{i:03d}": d[1] for i, d in enumerate(others.values())},
                           options=fit_options)
    matrix[train_name], pairs[train_name] = {}, {}
    for i, (test_name, (_, x_test, y_test)) in enumerate(others.items()):
      pred = regressor.predict(result.model, x_test)
      curve = per_epoch_srcc(result.monitors[f"{i:03d}"], y_test)
      corr = correlations(pred, y_test)
      pairs[train_name][test_name] = {
          **corr, "best_epoch": result.best_epoch, "n_train": int(fit_idx.size),
          "n_val": int(val_idx.size),
          "srcc_test_selected": float(np.nanmax(curve)) if np.isfinite(curve).any() else None}
      matrix[train_name][test_name] = corr["srcc"]
      log(f"heke cross {train_name} -> {test_name}: SRCC {corr['srcc']:.4f} "
          f"(epoch {result.best_epoch + 1})")
  return {"protocol": "cross", "databases": list(data), "matrix": matrix, "pairs": pairs}
