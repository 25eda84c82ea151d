r"""SSL-VQA: semi-supervised training of Q_R and Q_D from few labels (jvqa's main job).

  python launch.py --config=configs/sslvqa.py --workdir=workdir/sslvqa
  python launch.py --config=configs/sslvqa.py --config.ssl.use_unlabelled=False --workdir=W
  python launch.py --config=configs/sslvqa.py:lsvq --workdir=W   # the paper's protocol

Variants: '' = the demo corpus (built on first use) with a CPU-sized Swin,
ST-VQRL pretrained first into <workdir>/stvqrl unless ``init`` names a model
directory; 'lsvq' = the paper's settings: LSVQ's 500 labelled videos and the
rest of SSL-VQA's 2,000 as unlabelled (``jvqa build lsvq --config=sslvqa``),
full Swin-T, 32x224x224 training clips, 2 x 64-frame test clips, tested on
LSVQ test and test_1080p, KoNViD-1k, LIVE-VQC and YouTube-UGC.
"""

import importlib.util
import os

import ml_collections


# The demo's pool of SSL videos: every version of the scenes outside test and pristine.
DEMO_POOL = "demo:pretrain+labelled+unlabelled"
# Demo scenes whose formula score is fixed by their content, not by the distortion: smooth
# gradients (and rgbtestsrc's flat bars) that no distortion visibly harms, and binary automata
# and fractals whose SSIM collapses under any (docs/deviations.md).
DEMO_DEGENERATE = ("gradient_spiral", "gradient_radial", "rgb_rotate", "life", "highlife",
                   "cellauto", "sierpinski_carpet", "sierpinski_triangle")


def _stvqrl_config(variant: str) -> ml_collections.ConfigDict:
  """configs/stvqrl.py's config of the same variant (the pretraining run)."""
  path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stvqrl.py")
  spec = importlib.util.spec_from_file_location("jvqa_configs_stvqrl", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(variant)


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
  variant = variant or ""
  if variant not in ("", "lsvq"):
    raise ValueError(f"configs/sslvqa.py: unknown variant {variant!r}; use '' or 'lsvq'")
  paper = variant == "lsvq"
  config = ml_collections.ConfigDict()
  # The job launch.py runs.
  config.job = "sslvqa"
  # Seed of the head's initialisation, the data order and every random draw.
  config.seed = 0
  # Device mesh axes ((name, size), ...); -1 takes the remaining devices.
  config.mesh = (("data", -1),)
  # A jvqa model directory of the ST-VQRL backbone ('' = pretrain it first, as below).
  config.init = ""
  # The ST-VQRL pretraining run used when init is '' (configs/stvqrl.py), in <workdir>/stvqrl.
  config.pretrain = _stvqrl_config(variant)
  # Labelled (and unlabelled) videos per step (the original: 16 + 16).
  config.batch_size = 16 if paper else 8
  # Updates in all (the original: 31 epochs x 31 steps).
  config.num_steps = 961 if paper else 150
  # Steps between checkpoints (and one at the end).
  config.save_every = 100 if paper else 50

  config.data = ml_collections.ConfigDict()
  # TFDS data dir of the built datasets ('' = $TFDS_DATA_DIR, else ~/tensorflow_datasets).
  config.data.data_dir = ""
  # 'dataset[/config]:split' of the labelled videos ('a+b' joins splits). The demo, like the
  # paper, labels a quarter of one pool of many contents: its non-test scenes x 13 versions.
  config.data.labelled = "lsvq/sslvqa:labelled" if paper else DEMO_POOL
  # How many are labelled: linspace over the split's kept videos (0 = all; the paper: 500 of
  # 1,999; the demo: 46 of the 182 outside exclude_scenes, a quarter as in the paper).
  config.data.num_labelled = 500 if paper else 46
  # Scenes (reference base names) left out of the labelled, unlabelled and pristine sets.
  config.data.exclude_scenes = () if paper else DEMO_DEGENERATE
  # Unlabelled videos; the same split as labelled means its complement.
  config.data.unlabelled = "lsvq/sslvqa:unlabelled" if paper else DEMO_POOL
  # Sources of the pristine clips (their reference videos are used).
  config.data.pristine = (
      ("live_vqa:train", "live_mobile:train", "epfl_polimi:train", "csiq_vqa:train",
       "ecvq:train", "evvq:train")
      if paper else ("demo:pristine",))
  # Test-mode clips cut from each pristine video.
  config.data.pristine_clips = 4
  # Training labels are MOS times this (the original trains on MOS / 100).
  config.data.mos_scale = 0.01
  # Frames per training clip.
  config.data.clip_len = 32 if paper else 8
  # Stride between sampled frames.
  config.data.frame_interval = 2
  # Fragment grid cells per side.
  config.data.grid = 7 if paper else 4
  # Fragment patch side in pixels (fragment side = grid * patch).
  config.data.patch = 32 if paper else 16
  # Grain worker processes decoding videos (0 = in the main process).
  config.data.workers = 0
  # Threads per process decoding records.
  config.data.read_threads = 2

  config.model = ml_collections.ConfigDict()
  # Hidden width of FAST-VQA's VQA head.
  config.model.head_hidden = 64
  # Dropout of the VQA head (before each of its two layers).
  config.model.head_dropout = 0.5

  config.ssl = ml_collections.ConfigDict()
  # Train on the unlabelled set too (False: the labelled terms only, the original's flag).
  config.ssl.use_unlabelled = True
  # Q_D = exp(-tau * distance to the pristine statistics) during training.
  config.ssl.tau = 0.01
  # Ridge of the averaged covariance before its inverse.
  config.ssl.eps = 1e-8 if paper else 1e-4
  # Pristine clips drawn per epoch for the statistics P (the original: 24).
  config.ssl.pristine_per_step = 24 if paper else 12
  # Weight of the self-consistency terms L(x', x'') (wt_cons).
  config.ssl.consistency_weight = 1.0
  # Weight of the knowledge-transfer terms (wt_stab).
  config.ssl.transfer_weight = 1.0
  # Weight of FAST-VQA's rank loss added to the supervised terms (SSL-VQA: 0; see docs).
  config.ssl.rank_weight = 0.0 if paper else 0.3

  config.optim = ml_collections.ConfigDict()
  # AdamW learning rate of Q_R's head.
  config.optim.head_lr = 1e-3
  # AdamW learning rate of both backbones.
  config.optim.backbone_lr = 1e-4 if paper else 3e-4
  # AdamW weight decay (every parameter, as torch.optim.AdamW).
  config.optim.weight_decay = 0.05
  # Linear warm-up steps (the original: int(2.5 epochs) = 77).
  config.optim.warmup_steps = 77 if paper else 15
  # The cosine's denominator (the original: 30 epochs = 930 steps; it runs 961).
  config.optim.cosine_steps = 930 if paper else 150

  config.eval = ml_collections.ConfigDict()
  # 'dataset[/config]:split' of each test set.
  config.eval.test = (
      ("lsvq:test", "lsvq:test_1080p", "konvid_1k:train", "live_vqc:train",
       "youtube_ugc:train") if paper else ("demo:test",))
  # Videos per evaluation batch.
  config.eval.batch_size = 8
  # Frames per temporal segment in FAST-VQA's test sampling.
  config.eval.fsize_t = 8 if paper else 2
  # Temporal segments per clip (the demo: 4, so that test clips are as long as training clips).
  config.eval.fragments_t = 8 if paper else 4
  # Stride inside a segment.
  config.eval.frame_interval = 2
  # Clips per video (scores are averaged).
  config.eval.num_clips = 2
  # Consecutive test frames sharing one set of fragment offsets (the original: 32 of 64).
  config.eval.aligned = 32 if paper else 8
  # Q_D's tau at test (the original: 0.1; it changes only the raw distance score's scale).
  config.eval.tau = 0.1
  return config
