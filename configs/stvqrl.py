r"""ST-VQRL: contrastive pretraining of the SSL-VQA backbone on distorted scenes.

  python launch.py --config=configs/stvqrl.py --workdir=workdir/stvqrl
  python launch.py --config=configs/stvqrl.py:lsvq --workdir=W   # the paper's run

Variants: '' = the demo corpus's ``pretrain`` split with a CPU-sized Swin
(built on first use); 'lsvq' = the original's settings (200 LSVQ scenes x 12
distortions, built with ``jvqa build synthetic_distortions``; full Swin-T,
32x224x224 clips, 6 scenes x 10 versions per step, 93 steps).
"""

import ml_collections

# A Swin small enough for a 2-core CPU: one block per stage, widths 16-128. No stochastic
# depth: with one block per stage it would drop whole stages (docs/deviations.md).
DEMO_SWIN = dict(embed_dim=16, depths=(1, 1, 1, 1), num_heads=(1, 2, 4, 8),
                 frag_biases=(True, True, True, False), window_size=(8, 7, 7),
                 drop_path_rate=0.0)
# FAST-VQA's Video Swin-T as SSL-VQA uses it (the VideoSwin3D defaults).
PAPER_SWIN = dict(embed_dim=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24),
                  frag_biases=(True, True, True, False), window_size=(8, 7, 7),
                  drop_path_rate=0.1, remat=True)


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
  variant = variant or ""
  if variant not in ("", "lsvq"):
    raise ValueError(f"configs/stvqrl.py: unknown variant {variant!r}; use '' or 'lsvq'")
  paper = variant == "lsvq"
  config = ml_collections.ConfigDict()
  # The job launch.py runs.
  config.job = "stvqrl"
  # Seed of the initialisation, the data order and every random draw.
  config.seed = 0
  # Device mesh axes ((name, size), ...); -1 takes the remaining devices.
  config.mesh = (("data", -1),)
  # Scenes per step (the original's bs = 6); each gives k + 1 versions x 2 clips.
  config.batch_size = 6 if paper else 2
  # Updates in all (the original: 31 epochs x 3 iterations of 200 scenes // 10).
  config.num_steps = 93 if paper else 60
  # Steps between checkpoints (and one at the end).
  config.save_every = 30 if paper else 20

  config.data = ml_collections.ConfigDict()
  # TFDS data dir of the built datasets ('' = $TFDS_DATA_DIR, else ~/tensorflow_datasets).
  config.data.data_dir = ""
  # 'dataset:split' of full-reference scenes (a reference plus its distorted versions).
  config.data.train = "synthetic_distortions:train" if paper else "demo:pretrain"
  # Distorted versions drawn per scene (without replacement) besides the reference.
  config.data.k = 9 if paper else 5
  # Frames per clip.
  config.data.clip_len = 32 if paper else 8
  # Stride between sampled frames.
  config.data.frame_interval = 2
  # Frames left out at the end of the reference when sampling (len(ref) - 5).
  config.data.frame_margin = 5
  # Fragment grid cells per side.
  config.data.grid = 7 if paper else 4
  # Fragment patch side in pixels (fragment side = grid * patch).
  config.data.patch = 32 if paper else 16
  # Grain worker processes decoding videos (0 = in the main process).
  config.data.workers = 0
  # Threads per process decoding records.
  config.data.read_threads = 2

  config.model = ml_collections.ConfigDict()
  # Backbone name in jvqa.models.registry.BACKBONES.
  config.model.backbone = "swin3d"
  # Backbone constructor arguments.
  config.model.backbone_kwargs = dict(PAPER_SWIN if paper else DEMO_SWIN)
  # Width of the projection head's output tokens (the original: 64).
  config.model.projection_dim = 64 if paper else 32
  # Train the projection head (the original leaves it a fixed random projection).
  config.model.train_projection = True

  config.loss = ml_collections.ConfigDict()
  # Similarity exp(-tau * distance): tau multiplies (the original: 0.1).
  config.loss.tau = 0.1
  # Ridge added to the averaged covariance before its pseudo-inverse.
  config.loss.eps = 1e-4

  config.optim = ml_collections.ConfigDict()
  # AdamW learning rate at step 0.
  config.optim.lr = 1e-4 if paper else 1e-3
  # Cosine-annealing floor (the original's eta_min).
  config.optim.min_lr = 1e-5 if paper else 1e-4
  # Cosine period in steps (the original: 30 epochs x 3 iterations; it runs 31).
  config.optim.cosine_steps = 90 if paper else 60
  # AdamW weight decay (on every parameter, as torch.optim.AdamW).
  config.optim.weight_decay = 0.05
  return config
