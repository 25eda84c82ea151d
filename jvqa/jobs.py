"""Runs the job a config names: ``config.job`` -> a function of (config, workdir)."""

import importlib
import os

from jvqa.errors import ConfigError

# job name -> "module:function"; modules are imported only when their job runs.
JOBS = {
    "heke": "jvqa.heke.job:run",
    "heke_pretrain": "jvqa.train.heke:run",
    "preview": "jvqa.preview:run",
    "sslvqa": "jvqa.train.sslvqa:run",
    "stvqrl": "jvqa.train.stvqrl:run",
}


def resolve(name: str):
  """The function behind a job name."""
  if name not in JOBS:
    raise ConfigError(f"unknown job {name!r}; known jobs: {', '.join(sorted(JOBS))}")
  module, function = JOBS[name].split(":")
  return getattr(importlib.import_module(module), function)


def load_config(config):
  """Turns a config that failed to load (absl keeps the error) into one error."""
  try:
    job = config.job
  except AttributeError as e:
    raise ConfigError(f"the config has no field 'job' ({e})") from None
  except Exception as e:  # config_flags defers a broken file's error to first use.
    reason = " ".join(line.strip() for line in str(e).splitlines())
    raise ConfigError(f"cannot load the config: {reason}") from None
  return job


def write_config(config, workdir: str) -> str:
  """Writes the resolved config as ``config.json`` in the workdir; returns its path."""
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, "config.json")
  with open(path, "w") as f:
    f.write(config.to_json_best_effort(indent=2, sort_keys=True))
    f.write("\n")
  return path


def run(config, workdir: str):
  """Writes the config into ``workdir`` and runs its job there."""
  if config is None:
    raise ConfigError("no config given: pass --config=configs/<name>.py")
  job = resolve(load_config(config))
  workdir = os.path.abspath(os.path.expanduser(workdir))
  write_config(config, workdir)
  return job(config, workdir)

