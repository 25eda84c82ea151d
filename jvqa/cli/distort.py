"""``jvqa distort SRC OUT_DIR [--set sslvqa|heke] [--workers N] [--kinds ...] [--seed S]``.

Makes synthetic training data from each pristine video (SRC, or every video
under the folder SRC). With --set sslvqa (the default), SSL-VQA's: a copy in
OUT_DIR/0/<name>.mp4 and 12 distorted versions, OUT_DIR/<k>/<name>.mp4:

  1-3    MPEG-2 at ffmpeg -qscale:v 1, 20, 30
  4-6    H.264 (x264) at CRF 5, 35, 50
  7-9    Gaussian-pyramid blur, 2, 3, 4 levels (factor 4, 8, 16)
  10-12  frame rate dropped to round(fps)//2, //3, //4 and motion-interpolated
         back (ffmpeg minterpolate)

With --set heke, BVQA-HEKE's 90 versions (WELL-Set), OUT_DIR/<kind>/<name>.mp4,
each decoded and stored losslessly (x264 qp 0); --kinds takes kind names or
family names (all 6 levels):

  Gaussian_7..26                x264 CRF 23 after ffmpeg noise=alls=K:allf=t
  H264_abr_150k..3600k, H264_crf_23..42, H264_qp_23..42      x264, GOP 54
  HEVC_abr_150k..3600k, HEVC_crf_23..42, HEVC_qp_23..42      x265, GOP 72
  MJ2K_4..28, MJPEG_5..30       JPEG 2000, MJPEG at -qscale Q
  MPEG2_5..29, MPEG4_abr_240k..4000k, MPEG4_qscale_5..29, Snow_4..24   GOP 64
  PL_H264_crf24_PL_0.4..20, PL_H264_crf32_PL_0.4..20  x264 (CRF base + 0-2,
                                GOP, slices drawn) and H.264 packet loss

--seed makes the packet-loss draws reproducible (default 0).

Every version has the reference's size, frame count and rate; audio is
dropped. OUT_DIR/manifest.json lists every file. A rerun skips the files
that exist (unless --overwrite); a video that cannot be read is reported on
stderr and the others are still done; the exit code is then 1.
"""

import argparse
import os
import sys

from jvqa.data import distortions, heke_distortions

SETS = ("sslvqa", "heke")


def parse_kinds(text: str) -> tuple[int, ...]:
  """``"1,4,7"`` -> ``(1, 4, 7)``; argparse error on anything not in 0..12."""
  try:
    return distortions.check_kinds(int(part) for part in text.split(",") if part.strip())
  except ValueError as e:
    raise argparse.ArgumentTypeError(
        f"expected comma-separated kinds among 0..{max(distortions.DISTORTIONS)}, "
        f"got {text!r}") from e


def parse_heke_kinds(text: str) -> tuple[str, ...]:
  """``"MJPEG_5,HEVC_crf"`` -> HEKE kinds; argparse error on an unknown name."""
  try:
    return heke_distortions.check_kinds(part for part in text.split(",") if part.strip())
  except ValueError as e:
    raise argparse.ArgumentTypeError(
        f"expected comma-separated HEKE kinds or families "
        f"({', '.join(heke_distortions.HEKE_FAMILIES)}), got {text!r}") from e


def _kinds_text(text: str) -> str:
  """``--kinds`` as given; it is read once ``--set`` is known (see ``_resolve_kinds``)."""
  if not any(part.strip() for part in text.split(",")):
    raise argparse.ArgumentTypeError(f"expected comma-separated kinds, got {text!r}")
  return text


def _seed(text: str) -> int:
  """A non-negative int for ``--seed``."""
  try:
    value = int(text)
  except ValueError:
    value = -1
  if value < 0:
    raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
  return value


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
      "distort", help="make SSL-VQA's 12 or BVQA-HEKE's 90 synthetic distortions of "
                      "pristine videos",
      description=__doc__.split("\n\n", 1)[1],
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("src", metavar="SRC", help="a pristine video, or a folder of them")
  parser.add_argument("out_dir", metavar="OUT_DIR", help="where the version folders go")
  parser.add_argument("--set", dest="distortion_set", choices=SETS, default="sslvqa",
                      help="which paper's distortions (default: sslvqa)")
  parser.add_argument("--workers", type=_positive, default=1,
                      help="videos processed in parallel (processes; default 1)")
  parser.add_argument("--kinds", type=_kinds_text, default=None,
                      help="comma-separated kinds to make (default: all of the set; "
                           "sslvqa: 0..12, heke: kind or family names)")
  parser.add_argument("--seed", type=_seed, default=0,
                      help="seed of the random draws (heke packet loss; default 0)")
  parser.add_argument("--overwrite", action="store_true",
                      help="redo outputs that already exist")
  parser.set_defaults(func=run, distort_parser=parser)


def _resolve_kinds(args: argparse.Namespace) -> tuple:
  """The chosen set's kinds from ``--kinds``; a usage error (exit 2) if unknown."""
  heke = args.distortion_set == "heke"
  if args.kinds is None:
    return heke_distortions.HEKE_KINDS if heke else distortions.ALL_KINDS
  try:
    return (parse_heke_kinds if heke else parse_kinds)(args.kinds)
  except argparse.ArgumentTypeError as e:
    args.distort_parser.error(f"argument --kinds: {e}")
    raise  # Not reached: error() exits.


def run(args: argparse.Namespace) -> int:
  """Distorts ``args.src`` into ``args.out_dir``; 1 if any video failed, else 0."""
  kinds = _resolve_kinds(args)
  if not os.path.exists(args.src):
    print(f"jvqa distort: {args.src}: no such file or folder", file=sys.stderr)
    return 1
  if args.distortion_set == "heke":
    report = heke_distortions.heke_distort_folder(
        args.src, args.out_dir, workers=args.workers, kinds=kinds, seed=args.seed,
        overwrite=args.overwrite)
  else:
    report = distortions.distort_folder(args.src, args.out_dir, workers=args.workers,
                                        kinds=kinds, overwrite=args.overwrite)
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
