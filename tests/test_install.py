"""The installed environment: pinned versions, no TensorFlow, the jvqa command."""

import configparser
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _pins(section_value: str) -> dict:
  pins = {}
  for line in section_value.splitlines():
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)==([^\s;#]+)\s*", line)
    if match:
      pins[match.group(1)] = match.group(2)
  return pins


def test_installed_versions_are_the_pinned_ones():
  cfg = configparser.ConfigParser()
  cfg.read(os.path.join(ROOT, "setup.cfg"))
  pins = _pins(cfg["options"]["install_requires"])
  assert {"jax", "flax", "optax", "orbax-checkpoint", "ml_collections", "tensorflow-datasets",
          "av", "numpy", "grain"} <= set(pins)
  for name, version in pins.items():
    assert importlib.metadata.version(name) == version, name


def test_convert_extra_is_installed():
  # The README's test command installs the convert extra: the parity tests need torch.
  cfg = configparser.ConfigParser()
  cfg.read(os.path.join(ROOT, "setup.cfg"))
  pins = _pins(cfg["options.extras_require"]["convert"])
  assert pins == {"torch": "2.13.0"}
  for name, version in pins.items():
    assert importlib.metadata.version(name).split("+")[0] == version, name


def test_tensorflow_is_not_installed():
  assert importlib.util.find_spec("tensorflow") is None


def test_jvqa_command_lists_subcommands():
  out = subprocess.run([sys.executable, "-m", "jvqa", "--help"], capture_output=True, text=True,
                       timeout=60)
  assert out.returncode == 0, out.stderr
  for command in ("probe", "correlate", "build", "distort", "convert", "fr-metrics"):
    assert command in out.stdout
  script = shutil.which("jvqa", path=os.path.dirname(sys.executable))
  assert script is not None, "the jvqa console script is not installed next to python"
  out = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
  assert out.returncode == 0 and out.stdout.startswith("jvqa ")
