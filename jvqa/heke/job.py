"""BVQA-HEKE end to end (``configs/heke.py``): pretraining, features, blind scores, protocols.

``run(config, workdir)``:

1. the encoder: ``config.init`` (a jvqa model directory, e.g. the authors'
   ``.pkl`` converted with ``jvqa convert ... --arch heke_r2p1d``), else HEKE
   pretraining on weak labels (``jvqa.train.heke``, ``config.pretrain`` =
   ``configs/heke_pretrain.py``) into ``<workdir>/pretrain``;
2. a feature store per database part (``jvqa.heke.features``) in
   ``<workdir>/features`` (kept across reruns), the parts of a database
   joined;
3. per database: the completely blind SRCC of each head
   (``jvqa.heke.blind``), then the intra-database protocol (full-reference
   databases: every 2-reference hold-out) or the UGC one (random 80/20
   splits); across the full-reference databases: the cross-database matrix;
4. ``summary.json`` (blind, intra/UGC medians with their spread, cross
   matrix), ``results.json`` (every split), a predictions CSV and a
   scatter plot per database (the split of median SRCC).

Each stage keeps what it wrote, so a rerun with the same workdir resumes at
the first unfinished stage (pretraining from its last checkpoint).
"""

from __future__ import annotations

import os

import numpy as np

from jvqa import metrics, plots
from jvqa.heke import blind, features, protocols, regressor
from jvqa.heke import store as store_lib
from jvqa.train import report

PRETRAIN_DIR = "pretrain"
FEATURES_DIR = "features"


def encoder_dir(config, workdir: str) -> str:
  """The encoder's model directory: ``config.init``, else pretrained into the workdir."""
  if config.init:
    return config.init
  from jvqa.train import heke as heke_train  # pylint: disable=g-import-not-at-top  (TFDS)
  return heke_train.run(config.pretrain, os.path.join(workdir, PRETRAIN_DIR))


def database_stores(config, model_dir: str, workdir: str) -> dict[str, store_lib.FeatureStore]:
  """``{database: its features}``, every part extracted (or read back) and joined."""
  directory = os.path.join(workdir, FEATURES_DIR)
  out = {}
  for name, parts in config.databases:
    stores = []
    for part in parts:
      path = features.extract(
          model_dir, part, directory, data_dir=config.data_dir,
          num_snippets=config.features.num_snippets or None,
          videos_per_batch=config.features.videos_per_batch, workers=config.features.workers,
          model_info={"model_dir": model_dir})
      stores.append(store_lib.load(path))
    out[name] = store_lib.concat(stores, source=name) if len(stores) > 1 else stores[0]
  return out


def protocol_options(config) -> protocols.ProtocolOptions:
  """The regressor's and the protocols' settings of ``config``."""
  r = config.regressor
  fit = regressor.FitOptions(epochs=r.epochs, lr=r.lr, weight_decay=r.weight_decay,
                             seed=r.seed)
  return protocols.ProtocolOptions(
      levels=tuple(r.levels), pools=tuple(r.pools), fit=fit,
      batch_size=r.batch_size or None, validation=r.validation, seed=config.seed)


def _median_split(result: dict) -> dict:
  """The split whose SRCC is the median one (the lower middle for an even count)."""
  srcc = np.asarray([s["srcc"] if s["srcc"] is not None else np.nan for s in result["splits"]],
                    np.float64)
  order = np.argsort(np.where(np.isfinite(srcc), srcc, -np.inf))
  return result["splits"][int(order[(len(order) - 1) // 2])]


def _write_plots(workdir: str, name: str, result: dict) -> None:
  """Predictions CSV and scatter plot of the median split (targets: HEKE's DMOS scale)."""
  split = _median_split(result)
  pred = split.get("predictions")
  if not pred or len(pred["pred"]) < 4:
    return
  p, t = np.asarray(pred["pred"]), np.asarray(pred["target"])
  report.write_predictions(os.path.join(workdir, f"predictions_{name}.csv"), pred["names"], t,
                           {"regressor": p})
  try:
    fit = metrics.fit_logistic(p, t)
  except Exception:  # pylint: disable=broad-except  (a flat prediction has no fit)
    return
  plots.scatter_with_fit(p, t, os.path.join(workdir, f"scatter_{name}.png"), fit=fit,
                         title=f"{name}: {result['protocol']} split of median SRCC")


def _summary(results: dict) -> dict:
  """summary.json: the figures a paper table reports, without the per-split lists."""
  keep = ("protocol", "database", "n_videos", "n_splits", "summary")
  return {
      "model": results["model"],
      "blind": results["blind"],
      "intra": {k: {f: v[f] for f in keep} for k, v in results["intra"].items()},
      "ugc": {k: {f: v[f] for f in keep} for k, v in results["ugc"].items()},
      "cross": None if results["cross"] is None else {
          "databases": results["cross"]["databases"], "matrix": results["cross"]["matrix"]},
  }


def _fmt(value) -> str:
  return "n/a" if value is None or not np.isfinite(value) else f"{value:.3f}"


def format_summary(summary: dict) -> str:
  """The lines the job prints at the end."""
  lines = []
  for name, b in summary["blind"].items():
    heads = "  ".join(f"{h} {_fmt(v['srcc'])}" for h, v in b["heads"].items())
    lines.append(f"{name}  completely blind SRCC  {heads}  n {b['n']}")
  for kind in ("intra", "ugc"):
    for name, r in summary[kind].items():
      s = r["summary"]
      lines.append(f"{name}  {kind} median over {r['n_splits']} splits  "
                   f"SRCC {_fmt(s['srcc']['median'])}  PLCC {_fmt(s['plcc']['median'])}  "
                   f"KRCC {_fmt(s['krcc']['median'])}  RMSE {_fmt(s['rmse']['median'])}")
  if summary["cross"]:
    for train, row in summary["cross"]["matrix"].items():
      cells = "  ".join(f"{test} {_fmt(v)}" for test, v in row.items())
      lines.append(f"cross  train {train}  ->  {cells}")
  return "\n".join(lines)


def run(config, workdir: str) -> dict:
  """Runs the chain; returns the summary (also in ``<workdir>/summary.json``)."""
  model_dir = encoder_dir(config, workdir)
  stores = database_stores(config, model_dir, workdir)
  options = protocol_options(config)
  results = {"model": model_dir, "blind": {}, "intra": {}, "ugc": {}, "cross": None}
  for name, store in stores.items():
    results["blind"][name] = blind.completely_blind(store)
    print(blind.format_blind(results["blind"][name], name), flush=True)
    if store.meta.get("full_reference"):
      results["intra"][name] = protocols.intra(store, options)
      _write_plots(workdir, name, results["intra"][name])
    else:
      results["ugc"][name] = protocols.ugc(store, options, count=config.protocols.ugc_splits)
      _write_plots(workdir, name, results["ugc"][name])
  full_reference = {n: s for n, s in stores.items() if s.meta.get("full_reference")}
  if len(full_reference) > 1 and config.protocols.cross:
    results["cross"] = protocols.cross(full_reference, options)
  report.write_json(os.path.join(workdir, "results.json"), results)
  summary = _summary(results)
  report.write_json(os.path.join(workdir, "summary.json"), summary)
  print(format_summary(summary), flush=True)
  return summary
