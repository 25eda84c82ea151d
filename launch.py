"""jvqa's entry point: ``python launch.py --config=configs/X.py[:variant] --workdir=DIR``.

Kept short on purpose: it parses flags, writes the resolved config into the
workdir and hands over to ``jvqa.jobs.run``, which dispatches on
``config.job``. Every field can be overridden with ``--config.a.b=value``.
"""

import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Config file: configs/<name>.py, optionally :<variant>.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and results.")


def _fail(message: str) -> None:
  print(f"launch.py: error: {message}", file=sys.stderr)
  sys.exit(2)


def _one_line(error) -> str:
  """The message of ``error`` (unwrapping KeyError reprs and tracebacks) on one line."""
  while isinstance(error, BaseException) and error.args:
    error = error.args[0]
  lines = [line.strip() for line in str(error).splitlines() if line.strip()]
  if any(line.startswith("Traceback") for line in lines):
    lines = [lines[0].rstrip(":"), lines[-1]]
  return " ".join(lines)


def _parse_flags(argv):
  """absl's parser, with bad flags and config overrides as one error line."""
  try:
    return flags.FLAGS(argv)
  except SystemExit:
    # absl exits with 1 after printing --help/--helpfull; asking for help is no error.
    if any(a.split("=")[0] in ("-h", "--help", "--helpfull", "--helpshort") for a in argv[1:]):
      sys.exit(0)
    raise
  except flags.Error as e:
    _fail(_one_line(e))
  except (AttributeError, KeyError, TypeError, ValueError) as e:
    overrides = [a for a in argv[1:] if a.startswith("--config.")]
    _fail(f"config override {' '.join(overrides)} rejected: {_one_line(e)}")


def main(argv):
  if len(argv) > 1:
    _fail(f"unexpected arguments: {' '.join(argv[1:])}")
  if _WORKDIR.value is None:
    _fail("--workdir is required")
  config_file = config_flags.get_config_filename(flags.FLAGS["config"]).split(":", 1)[0]
  if not os.path.isfile(config_file):
    _fail(f"config file {config_file} does not exist")
  # orbax logs every save at INFO; the jobs print what a user needs.
  logging.set_verbosity(logging.WARNING)
  from jvqa import jobs
  from jvqa.errors import JvqaError
  try:
    jobs.run(_CONFIG.value, _WORKDIR.value)
  except JvqaError as e:
    _fail(str(e))


if __name__ == "__main__":
  flags.mark_flag_as_required("config")
  app.run(main, flags_parser=_parse_flags)
