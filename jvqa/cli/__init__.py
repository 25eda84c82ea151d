"""The ``jvqa`` command: one subcommand per module in this package.

Each subcommand module defines ``add_parser(subparsers)`` that registers its
arguments and sets ``func`` to a function of the parsed arguments returning an
exit code. Adding a subcommand means adding its module name to ``_COMMANDS``.
"""

import argparse
import importlib
import sys

from jvqa.errors import JvqaError

# Subcommand modules, in the order `jvqa --help` lists them.
_COMMANDS = ("probe", "correlate", "build", "distort", "convert", "fr_metrics")


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog="jvqa", description="Blind video quality assessment in JAX/Flax.")
  from jvqa import __version__
  parser.add_argument("--version", action="version", version=f"jvqa {__version__}")
  sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
  for name in _COMMANDS:
    importlib.import_module(f"jvqa.cli.{name}").add_parser(sub)
  return parser


def main(argv=None) -> int:
  args = build_parser().parse_args(argv)
  try:
    return int(args.func(args) or 0)
  except JvqaError as e:
    print(f"jvqa {args.command}: error: {e}", file=sys.stderr)
    return 2
  except KeyboardInterrupt:
    print(f"jvqa {args.command}: interrupted", file=sys.stderr)
    return 130
