"""Forward and forward+backward time per clip: jvqa (jitted) against PyTorch eager.

For each architecture at its paper's input size, --batch clips per call (one by default):

  swin3d       FAST-VQA/SSL-VQA Video Swin-T, 32×224×224 fragments → tokens
  heke_r2p1d   HEKE R(2+1)D-18 + heads, 8×216×384 → 4 scores
  r3d_18       R3D-18 encoder, 8×216×384 → f4
  heke_resnet  HEKE ResNet-50 + ResNet-34 + heads, a 216×384 frame pair → 4 scores

jvqa runs the model under ``jax.jit`` (compile time reported apart); PyTorch
runs the definition in ``tests/torch_models`` (written from the reference,
with the same weights copied over so both compute the same function) in eager
mode, ``torch.no_grad`` for the forward. The backward pass is that of
mean(output²) w.r.t. all parameters, both in eval mode (no dropout, BN with
running statistics). It prints the median of --repeats calls per framework and
the ratio PyTorch / jvqa; after one warm-up call each, the two frameworks take
turns call by call, so that a shared machine's drifting load hits both alike.

On a GPU both run there, in float32 (TF32 products allowed in both, which is
XLA's default precision on a GPU and what PyTorch allows for cuDNN convolutions)
and in bf16 (jvqa: bf16 compute with float32 parameters; PyTorch: autocast).
In bf16 it also times a whole jvqa training step (forward, backward and an
AdamW update) and gives its MFU: FLOPs from XLA's cost analysis of the
unoptimised program (``program_flops``) over the device's dense bf16 peak.

  python benchmarks/models.py [--models swin3d,heke_r2p1d] [--repeats 5] [--batch 1] [--json out.json]
  python benchmarks/models.py --flops-only [--batch 8]   # the GPU programs' FLOPs, on any machine
"""

import argparse
import json
import os
import statistics
import sys
import time

# jvqa and PyTorch share the GPU: JAX takes memory as it needs it, not 75 % at start.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))  # the PyTorch definitions

import machine  # noqa: E402  (benchmarks/machine.py: the CPU in the header)
from jvqa.models import registry  # noqa: E402
from jvqa.models.torch_weights import TorchWeights  # noqa: E402

# --dtypes names → compute dtypes.
DTYPES = {"f32": jnp.float32, "bf16": jnp.bfloat16}

# Peak dense bf16 FLOP/s for MFU, by device kind substring.
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12}


def _torch_swin():
  from torch_models import swin3d as t
  return t.SwinTransformer3D()


def _torch_heke_r2p1d():
  from torch_models import heke as t
  return t.HekeR2p1d()


def _torch_r3d():
  from torch_models import video_resnet as t
  return t.r3d_18()


def _torch_heke_resnet():
  from torch_models import heke as t
  return t.HekeResnet()


# name → (jvqa registry spec, input (T, H, W), the PyTorch definition's constructor).
MODELS = {
    "swin3d": ({"model": "backbone", "backbone": "swin3d"}, (32, 224, 224), _torch_swin),
    "heke_r2p1d": ({"model": "heke_r2p1d"}, (8, 216, 384), _torch_heke_r2p1d),
    "r3d_18": ({"model": "backbone", "backbone": "r3d_18"}, (8, 216, 384), _torch_r3d),
    "heke_resnet": ({"model": "heke_resnet"}, (2, 216, 384), _torch_heke_resnet),
}


def _torch_input(x: np.ndarray, name: str):
  import torch
  t = torch.from_numpy(x)
  if name == "heke_resnet":  # two frames (B, 2, H, W, C) → rgb and diff (B, C, H, W)
    return (t[:, 0].permute(0, 3, 1, 2).contiguous(),
            (t[:, 1] - t[:, 0]).permute(0, 3, 1, 2).contiguous())
  return (t.permute(0, 4, 1, 2, 3).contiguous(),)


def program_flops(fn, args) -> float:
  """FLOPs of ``fn(*args)`` as traced, by XLA's cost analysis of the unoptimised program.

  Counted before optimisation because afterwards, on a GPU, the cuDNN and cuBLAS
  calls that do the convolutions and most products count none; and on the CPU
  backend, whose cost analysis answers on every machine (jax 0.11's GPU client
  gives none). The program is the one traced for the default backend: on a CPU
  its chunked loops count one chunk only, hence FLOPs are printed on GPUs alone.
  """
  try:
    cost = fn.trace(*args).lower(lowering_platforms=("cpu",)).cost_analysis()
  except Exception as e:  # pylint: disable=broad-except  (MFU is then nan, the timings stand)
    print(f"# FLOPs not counted here ({type(e).__name__}: {e}); --flops-only counts them on a CPU",
          file=sys.stderr)
    return float("nan")
  cost = cost[0] if isinstance(cost, list) else cost
  return float((cost or {}).get("flops", float("nan")))


def jax_programs(spec: dict, state_dict, x: np.ndarray, dtype=jnp.float32,
                 train_step: bool = False) -> list[tuple[str, object, tuple]]:
  """[(label, jitted function, its arguments)]: forward, forward+backward[, train step]."""
  kwargs_key = "backbone_kwargs" if "backbone" in spec else "kwargs"
  spec = {**spec, kwargs_key: {"dtype": dtype}} if dtype != jnp.float32 else spec
  model = registry.build_model(spec, rngs=nnx.Rngs(0))
  if state_dict is not None:
    w = TorchWeights(state_dict, "torch")
    model.load_torch(w)
    w.finish()
  model.eval()
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)
  x = jnp.asarray(x, dtype)

  def forward(params, x):
    return nnx.merge(graphdef, params, rest)(x)

  def loss(params, x):
    return jnp.mean(jnp.square(forward(params, x).astype(jnp.float32)))

  optimizer = optax.adamw(1e-4)

  def step(params, opt_state, x):
    value, grads = jax.value_and_grad(loss)(params, x)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, value

  programs = [("forward", jax.jit(forward), (params, x)),
              ("forward_backward", jax.jit(jax.value_and_grad(loss)), (params, x))]
  if train_step:
    programs.append(("train_step", jax.jit(step), (params, optimizer.init(params), x)))
  return programs


def bench_jax(spec: dict, state_dict, x: np.ndarray, dtype=jnp.float32,
              train_step: bool = False) -> tuple[dict, dict]:
  """(compile times and FLOPs, {"forward", "forward_backward"[, "train_step"]: warmed-up timed call})."""
  result, calls = {}, {}
  for label, fn, args in jax_programs(spec, state_dict, x, dtype, train_step):
    start = time.perf_counter()
    compiled = fn.lower(*args).compile()
    result[f"{label}_compile_s"] = time.perf_counter() - start
    result[f"{label}_flops"] = program_flops(fn, args)
    calls[label] = lambda c=compiled, a=args: jax.block_until_ready(c(*a))
    calls[label]()  # warm-up
  return result, calls


def bench_torch(module, x: np.ndarray, name: str, device: str = "cpu", bf16: bool = False) -> dict:
  """{"forward", "forward_backward": warmed-up timed call} of the PyTorch module.

  On "cuda" each call waits for the GPU to finish; ``bf16`` runs under autocast.
  """
  import contextlib
  import torch
  module.eval().to(device)
  inputs = tuple(t.to(device) for t in _torch_input(x, name))
  sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
  cast = (lambda: torch.autocast(device, dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext

  def forward():
    with torch.no_grad(), cast():
      module(*inputs)
    sync()

  def forward_backward():
    module.zero_grad(set_to_none=True)
    with cast():
      out = module(*inputs)
    out = out[-1] if isinstance(out, (tuple, list)) else out
    out.float().pow(2).mean().backward()
    sync()

  forward()  # warm-up (oneDNN primitive creation)
  forward_backward()
  return {"forward": forward, "forward_backward": forward_backward}


def time_alternating(calls: dict[str, dict], repeats: int) -> dict[str, dict]:
  """Median seconds of each framework's calls, the frameworks taking turns call by call.

  On a shared machine the load drifts over minutes; alternating exposes both
  frameworks to the same drift, so their ratio is steadier than their times.
  """
  times = {fw: {label: [] for label in c} for fw, c in calls.items()}
  for label in ("forward", "forward_backward", "train_step"):
    for _ in range(repeats):
      for fw, c in calls.items():
        if label not in c:
          continue
        start = time.perf_counter()
        c[label]()
        times[fw][label].append(time.perf_counter() - start)
  return {fw: {f"{label}_s": statistics.median(t) for label, t in ts.items()}
          for fw, ts in times.items()}


def _line(name: str, row: dict, prec: str, on_gpu: bool) -> str:
  """One printed row: jvqa's times (and FLOPs on a GPU), PyTorch's, their ratio, MFU."""
  key = "" if prec == "f32" else f"_{prec}"
  j = row[f"jvqa{key}"]
  # XLA counts a lax.map body once, so FLOPs are shown only where nothing is chunked (GPU).
  flops = f", {j['forward_flops']/1e9:.1f} GFLOP fwd" if on_gpu else ""
  line = (f"{name:12s} {prec:4s} {'x'.join(map(str, row['input']))}  jvqa fwd {j['forward_s']*1e3:8.1f} ms"
          f"  fwd+bwd {j['forward_backward_s']*1e3:8.1f} ms  (compile {j['forward_compile_s']:.1f}"
          f" + {j['forward_backward_compile_s']:.1f} s{flops})")
  if f"torch{key}" in row:
    tt = row[f"torch{key}"]
    line += (f"  | torch fwd {tt['forward_s']*1e3:8.1f} ms  fwd+bwd {tt['forward_backward_s']*1e3:8.1f} ms"
             f"  | torch/jvqa fwd {row[f'torch_over_jvqa{key}_forward']:.2f}x"
             f"  fwd+bwd {row[f'torch_over_jvqa{key}_forward_backward']:.2f}x")
  if "train_step_s" in j:
    line += (f"  | train step {j['train_step_s']*1e3:.2f} ms"
             f" MFU {row.get(f'mfu{key}_train_step', float('nan')):.1%}")
  return line


def print_gpu_flops(names: list[str], batch: int) -> None:
  """FLOPs of each model's GPU programs (forward, forward+backward, bf16 train step).

  The models take a CPU-only path (chunked attention, 2D-form convolutions)
  when they are traced for the CPU; tracing them as for a GPU gives the
  programs a GPU runs, whose FLOPs any machine can then count.
  """
  jax.default_backend = lambda: "gpu"  # what the models ask when they choose their path
  for name in names:
    spec, (t, h, w), _ = MODELS[name]
    x = np.zeros((batch, t, h, w, 3), np.float32)
    for prec, dtype in DTYPES.items():
      flops = {label: program_flops(fn, args) / 1e9 for label, fn, args
               in jax_programs(spec, None, x, dtype, train_step=prec == "bf16")}
      print(f"{name:12s} {prec:4s} {batch}x{t}x{h}x{w}x3  GFLOP " +
            "  ".join(f"{label} {v:.1f}" for label, v in flops.items()), flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--models", default=",".join(MODELS))
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--batch", type=int, default=1, help="clips per call")
  parser.add_argument("--dtypes", default=None,
                      help="f32 and/or bf16 (default: f32 on a CPU, f32,bf16 on a GPU)")
  parser.add_argument("--no-torch", action="store_true", help="time jvqa only")
  parser.add_argument("--json", default=None, help="also write the results here")
  parser.add_argument("--flops-only", action="store_true",
                      help="print the FLOPs of the programs a GPU runs, on any machine, running nothing")
  args = parser.parse_args()
  if args.flops_only:
    print_gpu_flops(args.models.split(","), args.batch)
    return
  device = jax.devices()[0]
  on_gpu = device.platform == "gpu"
  print(f"# {machine.describe()}, "
        f"jax {jax.__version__} on {device.device_kind}, batch {args.batch}")
  if not args.no_torch:
    import torch
    torch.set_num_threads(os.cpu_count())
    torch.backends.cuda.matmul.allow_tf32 = True  # as XLA's default precision on a GPU
    torch.backends.cudnn.allow_tf32 = True
  dtypes = (args.dtypes or ("f32,bf16" if on_gpu else "f32")).split(",")
  peak = next((v for k, v in PEAK_BF16.items() if k in device.device_kind), None)
  results = {}
  for name in args.models.split(","):
    spec, (t, h, w), torch_definition = MODELS[name]
    x = np.random.default_rng(0).normal(size=(args.batch, t, h, w, 3)).astype(np.float32)
    row = {"input": [args.batch, t, h, w, 3]}
    ref = None if args.no_torch else torch_definition()
    state_dict = None if ref is None else ref.state_dict()
    for prec in dtypes:
      dtype = DTYPES[prec]
      key = "" if prec == "f32" else f"_{prec}"
      jvqa, jvqa_calls = bench_jax(spec, state_dict, x, dtype, train_step=on_gpu and prec == "bf16")
      calls = {"jvqa": jvqa_calls}
      if not args.no_torch:
        calls["torch"] = bench_torch(ref, x, name, "cuda" if on_gpu else "cpu", bf16=prec == "bf16")
      medians = time_alternating(calls, args.repeats)
      row[f"jvqa{key}"] = {**jvqa, **medians["jvqa"]}
      if "torch" in medians:
        row[f"torch{key}"] = medians["torch"]
        for k in ("forward", "forward_backward"):
          row[f"torch_over_jvqa{key}_{k}"] = medians["torch"][f"{k}_s"] / medians["jvqa"][f"{k}_s"]
      if peak and "train_step_s" in medians["jvqa"]:
        row[f"mfu{key}_train_step"] = jvqa["train_step_flops"] / medians["jvqa"]["train_step_s"] / peak
      print(_line(name, row, prec, on_gpu), flush=True)
    results[name] = row
  if args.json:
    with open(args.json, "w") as f:
      json.dump(results, f, indent=2)


if __name__ == "__main__":
  main()
