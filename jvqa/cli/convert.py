"""``jvqa convert SRC OUT_DIR --arch NAME``: the authors' PyTorch weights → a jvqa model.

SRC is a checkpoint as the original training script saved it (see
``jvqa.models.convert`` for the formats each --arch reads). OUT_DIR receives
model.json and the weights; ``jvqa.models.load(OUT_DIR)`` restores the model.
Needs torch (pip install 'jvqa[convert]'). A key that does not map or a shape
that differs is an error naming it; nothing is skipped silently.
"""

import argparse
import json

from jvqa.errors import ConvertError


def add_parser(subparsers) -> None:
  """Registers ``jvqa convert``."""
  from jvqa.models.archs import ARCHS
  archs = "\n".join(f"  {name:20s} {a.description}" for name, a in ARCHS.items())
  parser = subparsers.add_parser(
      "convert", help="convert the authors' PyTorch checkpoints into jvqa models",
      description=__doc__.split("\n\n", 1)[1] + "\narchitectures:\n" + archs,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("source", metavar="SRC", help="the PyTorch checkpoint file")
  parser.add_argument("out_dir", metavar="OUT_DIR", help="the jvqa model directory to write")
  parser.add_argument("--arch", required=True, choices=sorted(ARCHS), metavar="NAME",
                      help="what SRC holds: " + ", ".join(ARCHS))
  parser.add_argument("--model-kwargs", default=None, metavar="JSON",
                      help="constructor arguments for a checkpoint of non-default size, "
                           "e.g. '{\"embed_dim\": 48}'")
  parser.add_argument("--allow-pickle", action="store_true",
                      help="let torch.load run arbitrary pickled code (trusted files only)")
  parser.set_defaults(func=run)


def run(args) -> int:
  from jvqa.models.convert import convert
  kwargs = None
  if args.model_kwargs:
    try:
      kwargs = json.loads(args.model_kwargs)
    except ValueError as e:
      raise ConvertError(args.source, f"--model-kwargs is not JSON: {e}") from None
    if not isinstance(kwargs, dict):
      raise ConvertError(args.source, "--model-kwargs must be a JSON object")
  summary = convert(args.source, args.out_dir, args.arch, model_kwargs=kwargs,
                    allow_pickle=args.allow_pickle)
  print(f"{args.source}: {args.arch}, {summary['parameters']:,} parameters -> {summary['out_dir']}")
  if summary["dropped_keys"]:
    print(f"dropped {len(summary['dropped_keys'])} classifier key(s) with no place in the model: "
          + ", ".join(summary["dropped_keys"]))
  return 0
