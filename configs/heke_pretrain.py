r"""BVQA-HEKE: heterogeneous knowledge ensemble pretraining of the blind VQA encoder.

  python launch.py --config=configs/heke_pretrain.py --workdir=workdir/heke
  python launch.py --config=configs/heke_pretrain.py:paper --workdir=W   # the paper's run

Variants: '' = the demo: a tiny R(2+1)D on the demo corpus's WELL-Set
(``well_set/demo``, built with ``jvqa build well_set``), its 176x144 clips
box-averaged to 88x72, 2 epochs, validated on ``demo:test`` with 4 snippets
per video (a few minutes on a 2-core CPU); 'paper' =
the original's settings (R(2+1)D-18 HEKE_c^4, WELL-Set, 8 clips of 8 x
216 x 384 per step, 100 epochs, Adam 1e-3 with weight decay 1e-4, rate x0.8
on plateau, validated on LIVE-VQA). ``--config.model.encoder=resnet`` gives
the ResNet-50 + ResNet-34 variant (frame pairs; set ``model.kwargs`` to {}).
"""

import ml_collections

# An R(2+1)D small enough for a 2-core CPU: one block per stage, widths 8-64
# (the stem's 45 middle channels are fixed by HekeR2p1d), 4 x 8 expert units.
DEMO_R2P1D = dict(widths=(8, 16, 32, 64), layers=(1, 1, 1, 1), hidden=8)


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
  variant = variant or ""
  if variant not in ("", "paper"):
    raise ValueError(f"configs/heke_pretrain.py: unknown variant {variant!r}; use '' or 'paper'")
  paper = variant == "paper"
  config = ml_collections.ConfigDict()
  # The job launch.py runs.
  config.job = "heke_pretrain"
  # Seed of the initialisation, the data order and every random draw (the original's is random).
  config.seed = 0
  # Device mesh axes ((name, size), ...); -1 takes the remaining devices.
  config.mesh = (("data", -1),)
  # Clips per step, all devices together (the paper: 8).
  config.batch_size = 8 if paper else 4
  # Passes over the training videos, one random segment of each per pass (the original: 100).
  config.num_epochs = 100 if paper else 2
  # Updates in all; 0 = num_epochs x (videos // batch_size).
  config.num_steps = 0
  # Steps between checkpoints (and one at the end); 0 = once per epoch, as the original.
  config.save_every = 0

  config.data = ml_collections.ConfigDict()
  # TFDS data dir of the built datasets ('' = $TFDS_DATA_DIR, else ~/tensorflow_datasets).
  config.data.data_dir = ""
  # 'dataset[/config]:split' of WELL-Set records (video, segments, fr_scores).
  config.data.train = "well_set:train" if paper else "well_set/demo:train"
  # (height, width) of the clips after the landscape transpose; None = the native size.
  # The demo box-averages its 176x144 clips by 2, as the original averages WELL-Set's by 2.
  config.data.size = (216, 384) if paper else (72, 88)
  # Frames per R(2+1)D clip (the ResNet variant always reads a frame pair).
  config.data.frames = 8
  # Stride between a clip's frames (ts).
  config.data.stride = 2
  # Map raw FR scores to HEKE's DMOS-like scale (jvqa.fr.rescale, HEKE_RESCALE).
  config.data.rescale = True
  # Then shrink what lies outside [0.5, 10] ten-fold (jvqa.fr.soft_clamp, the original's suppress).
  config.data.soft_clamp = True
  # Grain worker processes decoding videos (0 = in the main process).
  config.data.workers = 0
  # Threads per process decoding records.
  config.data.read_threads = 2

  config.model = ml_collections.ConfigDict()
  # 'r2p1d' (HekeR2p1d, 8-frame clips) or 'resnet' (HekeResnet, RGB frame + difference).
  config.model.encoder = "r2p1d"
  # Constructor arguments of the model (empty: the paper's R(2+1)D-18 / ResNet-50 + 34).
  config.model.kwargs = {} if paper else dict(DEMO_R2P1D)
  # ResNet variant: jvqa model dir of ImageNet ResNet-50 weights for the RGB stream ('' = random).
  config.model.spatial_init = ""
  # ResNet variant: jvqa model dir of ImageNet ResNet-34 weights for the difference stream.
  config.model.temporal_init = ""

  config.loss = ml_collections.ConfigDict()
  # Weight of the heads' diversity (negative correlation) term; the original's default 0.
  config.loss.eps = 0.0

  config.optim = ml_collections.ConfigDict()
  # Adam learning rate before any reduction.
  config.optim.lr = 1e-3
  # L2 weight decay added to the gradient (torch.optim.Adam's weight_decay, not AdamW).
  config.optim.weight_decay = 1e-4
  # ReduceLROnPlateau factor on the epoch's summed loss.
  config.optim.plateau_factor = 0.8
  # Bad epochs tolerated; the rate drops at the (patience + 1)-th, as in PyTorch.
  config.optim.plateau_patience = 3
  # Epochs after a drop in which bad epochs are not counted.
  config.optim.plateau_cooldown = 1
  # Floor of the learning rate.
  config.optim.min_lr = 8e-5
  # Relative improvement needed to count as better (PyTorch's threshold, rel mode).
  config.optim.plateau_rtol = 1e-4

  config.validation = ml_collections.ConfigDict()
  # 'dataset:split' of a VQA database scored blind after each epoch ('' = none).
  config.validation.source = "live_vqa:train" if paper else "demo:test"
  # Epochs between validations.
  config.validation.every_epochs = 1
  # Snippets per video (0 = 12, or 20 frame pairs for the ResNet variant; the demo: 4).
  config.validation.num_snippets = 0 if paper else 4
  # Sense of the database's score (None = the dataset's metadata; MOS if it has none).
  config.validation.higher_is_better = None
  # Keep the decoded snippets in memory between epochs (small databases only).
  config.validation.cache = not paper
  # Threads decoding validation videos.
  config.validation.workers = 2
  return config
