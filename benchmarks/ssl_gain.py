r"""Does SSL-VQA beat the same backbone trained on the labelled part alone?

Runs the main job (``configs/sslvqa.py``, the demo by default) with and
without the unlabelled terms (``ssl.use_unlabelled``) for several seeds, all
from one ST-VQRL model (pretrained once, or ``--init``), and prints test SRCC
per run and the means, as JSON with ``--json``. Each run is a separate
``launch.py`` process in its own workdir under ``--workdir`` (rerunning
resumes or reuses finished runs).

  python benchmarks/ssl_gain.py --workdir=workdir/ssl_gain --seeds=0,1,2
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _launch(config: str, workdir: str, overrides: list[str]) -> None:
  cmd = [sys.executable, os.path.join(ROOT, "launch.py"), f"--config={config}",
         f"--workdir={workdir}", *overrides]
  print("$", " ".join(cmd[1:]), flush=True)
  subprocess.run(cmd, cwd=ROOT, check=True)


def _summary(workdir: str) -> dict:
  with open(os.path.join(workdir, "summary.json")) as f:
    return json.load(f)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--config", default="configs/sslvqa.py")
  parser.add_argument("--seeds", default="0,1,2")
  parser.add_argument("--init", default="", help="an ST-VQRL model dir (default: pretrain once)")
  parser.add_argument("--override", action="append", default=[],
                      help="extra --config.X=V for every run")
  parser.add_argument("--variants", default="sslvqa,labelled_only",
                      help="which of sslvqa (with unlabelled) and labelled_only to run")
  parser.add_argument("--json", action="store_true")
  args = parser.parse_args(argv)
  workdir = os.path.abspath(args.workdir)
  init = args.init
  if not init:
    pretrain = [o.replace("--config.pretrain.", "--config.") for o in args.override
                if o.startswith("--config.pretrain.")]
    _launch("configs/stvqrl.py", os.path.join(workdir, "stvqrl"), pretrain)
    init = os.path.join(workdir, "stvqrl", "model")
  results = {}
  variants = args.variants.split(",")
  if not set(variants) <= {"sslvqa", "labelled_only"}:
    parser.error(f"--variants: {args.variants!r}; use sslvqa and/or labelled_only")
  for name in variants:
    use_unlabelled = name == "sslvqa"
    for seed in map(int, args.seeds.split(",")):
      run_dir = os.path.join(workdir, f"{name}_seed{seed}")
      if not os.path.isfile(os.path.join(run_dir, "summary.json")):
        _launch(args.config, run_dir, [f"--config.init={init}", f"--config.seed={seed}",
                                        f"--config.ssl.use_unlabelled={use_unlabelled}",
                                        *[o for o in args.override
                                          if not o.startswith("--config.pretrain.")]])
      for split, values in _summary(run_dir)["splits"].items():
        for model, metrics in values["models"].items():
          results.setdefault(name, {}).setdefault(split, {}).setdefault(model, []).append(
              metrics["srcc"])
  out = {name: {split: {model: {"srcc": v, "mean": float(np.mean(v))}
                        for model, v in models.items()}
                for split, models in splits.items()}
         for name, splits in results.items()}
  if args.json:
    print(json.dumps(out, indent=2))
  else:
    for name, splits in out.items():
      for split, models in splits.items():
        for model, v in models.items():
          print(f"{name:14s} {split:12s} {model:10s} SRCC mean {v['mean']:.3f}  "
                f"runs {', '.join(f'{x:.3f}' for x in v['srcc'])}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
