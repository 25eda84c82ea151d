"""Where a model's time goes: a profiler trace of one jitted program, summed by op.

Builds the model and program as ``benchmarks/models.py`` does (same inputs,
random weights), runs it once to compile and warm up, traces ``--steps`` calls
with ``jax.profiler`` and prints the ops (XLA fusions and, on a GPU, kernels)
that took the most time per call, device by device. The trace stays in
``--trace-dir`` for TensorBoard or Perfetto.

  python benchmarks/profile_model.py --model swin3d [--program train_step] [--dtype bf16]
      [--batch 1] [--steps 3] [--top 30] [--trace-dir DIR]
"""

import argparse
import collections
import glob
import gzip
import json
import os
import re
import sys
import tempfile
import time

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402  (benchmarks/models.py: the models, inputs and programs)

import jvqa  # noqa: E402

JVQA_DIR = os.path.dirname(os.path.abspath(jvqa.__file__)) + os.sep


_INSTRUCTION = re.compile(
    r'^\s*(?:ROOT )?%([\w.\-]+) = .*metadata=\{op_name="([^"]*)"(?: stack_frame_id=(\d+))?')


def in_jvqa(path: str) -> bool:
  """Whether ``path`` is a file of the jvqa package, here or in the checkout that compiled
  the program (a persistent compilation cache hands out programs with their paths)."""
  marker = f"{os.sep}jvqa{os.sep}"
  return marker in path and os.path.isfile(JVQA_DIR + path.rsplit(marker, 1)[1])


def hlo_sources(hlo_text: str) -> dict[str, str]:
  """{HLO instruction name: "jax op  file:line"} from a compiled module's text.

  The text lists the traced stack frames (FileNames, FileLocations, StackFrames
  sections); each instruction's metadata names its op and frame. The line shown
  is the innermost frame in jvqa's own code. XLA's profiles name ops by
  instruction only, so this is what ties a profile back to the model's source.
  """
  tables, section = collections.defaultdict(dict), None
  for line in hlo_text.splitlines():
    if line in ("FileNames", "FunctionNames", "FileLocations", "StackFrames"):
      section = line
    elif not line.strip():
      section = None
    elif section:
      key, _, value = line.partition(" ")
      tables[section][int(key)] = value
  def field(text, name):
    return int(re.search(rf"{name}=(\d+)", text).group(1))
  def where(frame: int) -> str:
    for _ in range(100):  # innermost frame first, then its callers
      text = tables["StackFrames"].get(frame)
      if text is None:
        return ""
      loc = tables["FileLocations"][field(text, "file_location_id")]
      path = tables["FileNames"][field(loc, "file_name_id")].strip('"')
      if in_jvqa(path):
        return f"{os.path.basename(path)}:{field(loc, 'line')}"
      # The text shows a caller's number plus one (a root frame shows 1): so read in
      # jax 0.10's output, where each frame's printed parent, minus one, is its call site.
      frame = field(text, "parent_frame_id") - 1
    return ""
  sources = {}
  for line in hlo_text.splitlines():
    m = _INSTRUCTION.match(line)
    if m:
      op = m.group(2).rsplit("/", 1)[-1]
      sources[m.group(1)] = f"{op}  {where(int(m.group(3))) if m.group(3) else ''}".rstrip()
  return sources


def op_times(trace_dir: str) -> dict[str, collections.Counter]:
  """{process name: Counter(op name → total µs)} from the newest trace under ``trace_dir``.

  Reads the Chrome-format ``*.trace.json.gz`` that ``jax.profiler`` writes:
  "X" events are timed spans, "M" events name the processes (host, devices).
  """
  files = sorted(glob.glob(os.path.join(trace_dir, "**", "*.trace.json.gz"), recursive=True),
                 key=os.path.getmtime)
  if not files:
    raise SystemExit(f"{trace_dir}: the profiler wrote no *.trace.json.gz")
  with gzip.open(files[-1]) as f:
    events = json.load(f)["traceEvents"]
  names = {e["pid"]: e["args"]["name"] for e in events
           if e.get("ph") == "M" and e.get("name") == "process_name"}
  times = collections.defaultdict(collections.Counter)
  for e in events:
    # Python frames ("$file:line name") and runtime internals ("ThunkExecutor::Execute")
    # enclose the ops; only the ops are counted.
    if e.get("ph") == "X" and not e["name"].startswith("$") and "::" not in e["name"]:
      # A GPU kernel's span names its HLO instruction in args.hlo_op.
      op = (e.get("args") or {}).get("hlo_op") or e["name"]
      times[names.get(e["pid"], str(e["pid"]))][op] += e.get("dur", 0)
  return times


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--model", default="swin3d", choices=sorted(models.MODELS))
  parser.add_argument("--program", default="forward",
                      choices=["forward", "forward_backward", "train_step"])
  parser.add_argument("--dtype", default="f32", choices=sorted(models.DTYPES))
  parser.add_argument("--batch", type=int, default=1, help="clips per call")
  parser.add_argument("--steps", type=int, default=3, help="calls traced")
  parser.add_argument("--top", type=int, default=30, help="ops printed per process")
  parser.add_argument("--trace-dir", default=None, help="keep the trace here (default: a temp dir)")
  args = parser.parse_args()

  spec, (t, h, w), _ = models.MODELS[args.model]
  x = np.random.default_rng(0).normal(size=(args.batch, t, h, w, 3)).astype(np.float32)
  dtype = models.DTYPES[args.dtype]
  programs = models.jax_programs(spec, None, x, dtype, train_step=args.program == "train_step")
  fn, fn_args = next((fn, a) for label, fn, a in programs if label == args.program)
  compiled = fn.lower(*fn_args).compile()
  jax.block_until_ready(compiled(*fn_args))  # warm-up

  trace_dir = os.path.abspath(args.trace_dir or tempfile.mkdtemp(prefix="jvqa_profile_"))
  with jax.profiler.trace(trace_dir):
    start = time.perf_counter()
    for _ in range(args.steps):
      jax.block_until_ready(compiled(*fn_args))
    wall_ms = (time.perf_counter() - start) * 1e3 / args.steps
  print(f"# {args.model} {args.program} {args.dtype} batch {args.batch} on "
        f"{jax.devices()[0].device_kind}: {wall_ms:.1f} ms per call traced ({args.steps} calls,"
        f" trace in {trace_dir}); ops in ms per call and % of that")
  sources = hlo_sources(compiled.as_text())
  for process, counter in sorted(op_times(trace_dir).items()):
    total_ms = sum(counter.values()) / 1e3 / args.steps
    print(f"\n## {process}: ops {total_ms:.1f} ms per call (spans on parallel threads or"
          " streams add up; loops count their bodies' ops too)")
    for name, us in counter.most_common(args.top):
      ms = us / 1e3 / args.steps
      print(f"{ms:9.2f} ms  {100 * ms / wall_ms:5.1f} %  {name[:60]:40s} {sources.get(name, '')}")
    by_source = collections.Counter()
    for name, us in counter.items():
      by_source[sources.get(name, name)] += us
    print(f"\n## {process}, the same ops summed by jax op and source line")
    for where, us in by_source.most_common(args.top):
      ms = us / 1e3 / args.steps
      print(f"{ms:9.2f} ms  {100 * ms / wall_ms:5.1f} %  {where[:100]}")


if __name__ == "__main__":
  main()
