"""``jvqa fr-metrics REFERENCE DISTORTED``: HEKE's FR weak-label metrics of a video pair.

Computes MS-SSIM, GMSD, ST-GMSD and ST-RRED on the luma (Y of yuv420p) of a
reference and a distorted video exactly as BVQA-HEKE's MATLAB code does (see
docs/fr_metrics.md) and prints one JSON object: per metric the scores
(``per_frame``: one per frame for MS-SSIM and GMSD, per 3-frame slice for
ST-GMSD, per non-overlapping frame pair for ST-RRED, with the first frame
each covers) and their ``mean``. With --rescale each metric also gets
``rescaled``: HEKE's label mapping (higher = worse, about 0.5-9) followed by
its soft clamp, of the scores and of the mean.

Raw .yuv inputs (yuv420p) need --size WxH. Both videos must have the same
frame size and frame count (or at least --max-frames frames each).
"""

import argparse
import json
import sys

import numpy as np

from jvqa.errors import InputError

# jvqa.fr.labels.METRICS, named here so that `jvqa --help` need not import JAX.
METRIC_NAMES = ("ms_ssim", "gmsd", "st_gmsd", "st_rred")


def add_parser(subparsers) -> None:
  """Registers ``jvqa fr-metrics``."""
  parser = subparsers.add_parser(
      "fr-metrics", help="HEKE's full-reference weak-label metrics of a video pair",
      description=__doc__.split("\n\n", 1)[1],
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("reference", metavar="REFERENCE", help="reference video or .yuv")
  parser.add_argument("distorted", metavar="DISTORTED", help="distorted video or .yuv")
  parser.add_argument("--metrics", default=",".join(METRIC_NAMES),
                      help="comma-separated metrics (default: %(default)s)")
  parser.add_argument("--size", metavar="WxH", help="frame size of raw .yuv inputs")
  parser.add_argument("--max-frames", type=int, metavar="N",
                      help="use only the first N frames")
  parser.add_argument("--rescale", action="store_true",
                      help="add HEKE's rescaled and soft-clamped labels")
  parser.set_defaults(func=run)


def _parse_metrics(text: str) -> list[str]:
  names = [m.strip() for m in text.split(",") if m.strip()]
  unknown = [m for m in names if m not in METRIC_NAMES]
  if not names or unknown:
    raise InputError("--metrics", f"unknown metric(s) {', '.join(unknown) or '(none)'}; "
                     f"known: {', '.join(METRIC_NAMES)}")
  return names


def _frame_count(args, size) -> int:
  """Frames to read from both inputs; raises on a count mismatch."""
  from jvqa.fr import luma  # pylint: disable=g-import-not-at-top
  n_ref = luma.num_frames(args.reference, size)
  n_dst = luma.num_frames(args.distorted, size)
  if args.max_frames is not None:
    if args.max_frames < 1:
      raise InputError("--max-frames", f"must be positive, got {args.max_frames}")
    if n_ref >= args.max_frames and n_dst >= args.max_frames:
      return args.max_frames
  if n_ref != n_dst:
    raise InputError(args.distorted, f"has {n_dst} frames, the reference "
                     f"{args.reference} has {n_ref}")
  return n_ref


def _load(args):
  from jvqa.fr import luma  # pylint: disable=g-import-not-at-top
  size = None
  if args.size is not None:
    try:
      size = luma.parse_size(args.size)
    except ValueError as e:
      raise InputError("--size", str(e)) from None
  count = _frame_count(args, size)
  ref = luma.read_luma(args.reference, size, count)
  dst = luma.read_luma(args.distorted, size, count)
  if dst.shape != ref.shape:
    raise InputError(args.distorted, f"frame size {dst.shape[2]}x{dst.shape[1]} differs "
                     f"from the reference's {ref.shape[2]}x{ref.shape[1]}")
  return ref, dst


def _as_list(values) -> list:
  return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, np.float64)]


def run(args: argparse.Namespace) -> int:
  """Prints the metrics of ``args.reference`` vs ``args.distorted`` as JSON."""
  from jvqa.fr import labels, scaling  # pylint: disable=g-import-not-at-top
  names = _parse_metrics(args.metrics)
  ref, dst = _load(args)
  results = labels.weak_labels(ref, dst, names)
  out = {"reference": args.reference, "distorted": args.distorted,
         "frames": int(ref.shape[0]), "height": int(ref.shape[1]),
         "width": int(ref.shape[2]), "metrics": {}}
  for name, res in results.items():
    entry = {"per_frame": _as_list(res["per_frame"]),
             "first_frame": [int(f) for f in res["first_frame"]],
             "mean": _as_list([res["mean"]])[0]}
    if args.rescale:
      entry["rescaled"] = {
          "per_frame": _as_list(scaling.soft_clamp(scaling.rescale(res["per_frame"], name))),
          "mean": _as_list(scaling.soft_clamp(scaling.rescale([res["mean"]], name)))[0]}
    out["metrics"][name] = entry
  json.dump(out, sys.stdout)
  sys.stdout.write("\n")
  return 0
