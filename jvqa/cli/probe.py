"""``jvqa probe PATH [PATH ...] [--json]``: size, rate, frames and codec of videos.

A PATH may be a folder: every file in it (and its subfolders) with a video
extension is probed; a folder holding none counts as a failure. Raw .yuv
files are skipped (their frame size is not in the file). A video that cannot
be read is reported on stderr and the others are still probed; the exit code
is then 1.
"""

import argparse
import dataclasses
import json
import sys

from jvqa.errors import VideoError
from jvqa.io import files, video

def add_parser(subparsers) -> None:
  """Registers ``jvqa probe``."""
  parser = subparsers.add_parser(
      "probe", help="print size, frame rate, frame count and codec of videos",
      description=__doc__.split("\n\n", 1)[1],
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("paths", nargs="+", metavar="PATH",
                      help="a video file, or a folder of videos")
  parser.add_argument("--json", action="store_true",
                      help="print one JSON object per video instead of a text line")
  parser.set_defaults(func=run)


def format_line(path: str, info: video.VideoInfo) -> str:
  """One human-readable line describing a video."""
  return (f"{path}  {info.width}x{info.height}  {info.fps:.3f} fps  "
          f"{info.num_frames} frames  {info.duration:.2f} s  "
          f"rotation {info.rotation}  {info.codec}/{info.pix_fmt}")


def format_json(path: str, info: video.VideoInfo) -> str:
  """One JSON line describing a video."""
  return json.dumps({"path": path, **dataclasses.asdict(info)})


def run(args: argparse.Namespace) -> int:
  """Probes every video named by ``args.paths``; 1 if any failed, else 0."""
  fmt = format_json if args.json else format_line
  failed = 0
  for top in args.paths:
    paths = list(files.iter_video_files(top))
    if not paths:
      print(f"jvqa probe: {top}: no video files", file=sys.stderr)
      failed += 1
    for path in paths:
      if path.lower().endswith(".yuv"):
        print(f"jvqa probe: {path}: raw YUV has no header to probe (its frame "
              "size must be known)", file=sys.stderr)
        failed += 1
        continue
      try:
        info = video.probe(path)
      except VideoError as e:
        print(f"jvqa probe: {e}", file=sys.stderr)
        failed += 1
        continue
      print(fmt(path, info), flush=True)
  return 1 if failed else 0
