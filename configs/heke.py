r"""BVQA-HEKE end to end: weak-label pretraining, features, blind scores, protocols.

  python launch.py --config=configs/heke.py --workdir=workdir/heke
  python launch.py --config=configs/heke.py:paper --config.init=MODEL_DIR --workdir=W

Variants: '' = the demo: the weak-label corpus ``well_set/demo`` and the demo
corpus are built on first use, a tiny R(2+1)D is pretrained on the weak
labels (``configs/heke_pretrain.py``), features are extracted from two
disjoint scene sets of the demo (its ``test`` and ``unlabelled`` splits, 7
scenes each) treated as two databases, then the completely blind SRCC per
head, the intra-database protocol (every 2-scene hold-out: 21 splits each)
and the 2 x 2 cross-database matrix. 'paper' = the original's settings:
HEKE_c^4-r2p1d (``init`` = the authors' ``r2p1d_model_HEKE4.pkl`` converted
with ``jvqa convert``, or '' to pretrain on ``well_set``), the six synthetic
databases (intra + cross) and KoNViD-1k / LIVE-VQC (UGC protocol).
"""

import importlib.util
import os

import ml_collections


def _pretrain_config(variant: str) -> ml_collections.ConfigDict:
  """configs/heke_pretrain.py's config of the same variant (the pretraining run)."""
  path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "heke_pretrain.py")
  spec = importlib.util.spec_from_file_location("jvqa_configs_heke_pretrain", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(variant)


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
  variant = variant or ""
  if variant not in ("", "paper"):
    raise ValueError(f"configs/heke.py: unknown variant {variant!r}; use '' or 'paper'")
  paper = variant == "paper"
  config = ml_collections.ConfigDict()
  # The job launch.py runs.
  config.job = "heke"
  # Seed of the validation draws and the UGC splits (the regressor has its own, below).
  config.seed = 0
  # A jvqa model directory of a HEKE encoder ('' = pretrain one first, as below).
  config.init = ""
  # The pretraining run used when init is '' (configs/heke_pretrain.py), in <workdir>/pretrain.
  config.pretrain = _pretrain_config(variant)
  # TFDS data dir of the built databases ('' = $TFDS_DATA_DIR, else ~/tensorflow_datasets).
  config.data_dir = ""
  # (database name, its 'dataset[/config]:split' parts); full-reference ones get intra + cross.
  config.databases = (
      (("live_vqa", ("live_vqa:train",)), ("csiq_vqa", ("csiq_vqa:train",)),
       ("ivpl", ("ivpl:train",)), ("ivc_ic", ("ivc_ic:train",)),
       ("epfl_polimi", ("epfl_polimi:train",)), ("live_mobile", ("live_mobile:train",)),
       ("konvid_1k", ("konvid_1k:train",)), ("live_vqc", ("live_vqc:train",)))
      if paper else
      (("demo_test", ("demo:test",)), ("demo_unlabelled", ("demo:unlabelled",))))

  config.features = ml_collections.ConfigDict()
  # Snippets per video (0 = the original's: 12 synthetic, 10 UGC, 20 frame pairs for ResNet).
  config.features.num_snippets = 0 if paper else 4
  # Whole videos per model call.
  config.features.videos_per_batch = 1 if paper else 4
  # Threads decoding videos ahead of the model.
  config.features.workers = 2

  config.regressor = ml_collections.ConfigDict()
  # Feature levels f1..f4 fed to the regressor (the original: all).
  config.regressor.levels = (1, 2, 3, 4)
  # Poolings per level (the original: mean, max and std).
  config.regressor.pools = ("mean", "max", "std")
  # Training epochs (the original: 300).
  config.regressor.epochs = 300 if paper else 100
  # Adam learning rate (the README's 1e-4; cross-database training on LIVE uses 1e-3).
  config.regressor.lr = 1e-4 if paper else 1e-3
  # L2 weight decay added to the gradient (torch Adam's weight_decay).
  config.regressor.weight_decay = 1e-4
  # Training batch (0 = the original's per-database table, else 16).
  config.regressor.batch_size = 0
  # Share of the training side's references held out to select the epoch (jvqa; see docs).
  config.regressor.validation = 0.2
  # The regressor's seed, re-set for every split (the original: 12318).
  config.regressor.seed = 12318

  config.protocols = ml_collections.ConfigDict()
  # Random 80/20 splits of a UGC database (the original's benchmark: 99; jvqa: 100).
  config.protocols.ugc_splits = 100
  # Train on each full-reference database and test on every other one.
  config.protocols.cross = True
  return config
