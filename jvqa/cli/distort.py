"""``jvqa distort SRC OUT_DIR [--workers N] [--kinds 1,4,7] [--overwrite]``.

Makes SSL-VQA's synthetic training data: each pristine video (SRC, or every
video under the folder SRC) is written to OUT_DIR/0/<name>.mp4 (a copy) and
in 12 distorted versions, OUT_DIR/<k>/<name>.mp4:

  1-3    MPEG-2 at ffmpeg -qscale:v 1, 20, 30
  4-6    H.264 (x264) at CRF 5, 35, 50
  7-9    Gaussian-pyramid blur, 2, 3, 4 levels (factor 4, 8, 16)
  10-12  frame rate dropped to round(fps)//2, //3, //4 and motion-interpolated
         back (ffmpeg minterpolate)

Every version has the reference's size, frame count and rate; audio is
dropped. OUT_DIR/manifest.json lists every file. A rerun skips the files
that exist (unless --overwrite); a video that cannot be read is reported on
stderr and the others are still done; the exit code is then 1.
"""

import argparse
import os
import sys

from jvqa.data import distortions


def parse_kinds(text: str) -> tuple[int, ...]:
  """``"1,4,7"`` -> ``(1, 4, 7)``; argparse error on anything not in 0..12."""
  try:
    return distortions.check_kinds(int(part) for part in text.split(",") if part.strip())
  except ValueError as e:
    raise argparse.ArgumentTypeError(
        f"expected comma-separated kinds among 0..{max(distortions.DISTORTIONS)}, "
        f"got {text!r}") from e


def _positive(text: str) -> int:
  """A positive int for ``--workers``."""
  try:
    value = int(text)
  except ValueError:
    value = 0
  if value < 1:
    raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
  return value


def add_parser(subparsers) -> None:
  """Registers ``jvqa distort``."""
  parser = subparsers.add_parser(
      "distort", help="make SSL-VQA's 12 synthetic distortions of pristine videos",
      description=__doc__.split("\n\n", 1)[1],
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("src", metavar="SRC", help="a pristine video, or a folder of them")
  parser.add_argument("out_dir", metavar="OUT_DIR", help="where the 13 folders go")
  parser.add_argument("--workers", type=_positive, default=1,
                      help="videos processed in parallel (processes; default 1)")
  parser.add_argument("--kinds", type=parse_kinds, default=distortions.ALL_KINDS,
                      help="comma-separated kinds to make (default: all, 0..12)")
  parser.add_argument("--overwrite", action="store_true",
                      help="redo outputs that already exist")
  parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
  """Distorts ``args.src`` into ``args.out_dir``; 1 if any video failed, else 0."""
  if not os.path.exists(args.src):
    print(f"jvqa distort: {args.src}: no such file or folder", file=sys.stderr)
    return 1
  report = distortions.distort_folder(args.src, args.out_dir, workers=args.workers,
                                      kinds=args.kinds, overwrite=args.overwrite)
  for path, reason in report.failures:
    print(f"jvqa distort: {path}: {reason}", file=sys.stderr)
  scenes = len({entry["name"] for entry in report.entries})
  if not scenes and not report.failures:
    print(f"jvqa distort: {args.src}: no video files", file=sys.stderr)
    return 1
  print(f"{scenes} video(s) distorted, {len(report.entries)} file(s) in "
        f"{args.out_dir}; {len(report.failures)} failed"
        + (f"; manifest {report.manifest}" if report.manifest else ""))
  return 1 if report.failures else 0
