"""Forward and forward+backward time per clip: jvqa (jitted) against PyTorch eager.

For each architecture at its paper's input size, one clip per call:

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
On a GPU it also reports bf16 step time and MFU (FLOPs from XLA's cost analysis
over the device's peak).

  python benchmarks/models.py [--models swin3d,heke_r2p1d] [--repeats 5] [--json out.json]
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))  # the PyTorch definitions

from jvqa.models import registry  # noqa: E402
from jvqa.models.torch_weights import TorchWeights  # noqa: E402

# Peak dense bf16 FLOP/s for MFU, by device kind substring.
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12}


def _swin():
  from torch_models import swin3d as t
  return t.SwinTransformer3D(), {"model": "backbone", "backbone": "swin3d"}, (32, 224, 224)


def _heke_r2p1d():
  from torch_models import heke as t
  return t.HekeR2p1d(), {"model": "heke_r2p1d"}, (8, 216, 384)


def _r3d():
  from torch_models import video_resnet as t
  return t.r3d_18(), {"model": "backbone", "backbone": "r3d_18"}, (8, 216, 384)


def _heke_resnet():
  from torch_models import heke as t
  return t.HekeResnet(), {"model": "heke_resnet"}, (2, 216, 384)


MODELS = {"swin3d": _swin, "heke_r2p1d": _heke_r2p1d, "r3d_18": _r3d,
          "heke_resnet": _heke_resnet}


def _torch_input(x: np.ndarray, name: str):
  import torch
  t = torch.from_numpy(x)
  if name == "heke_resnet":  # two frames (B, 2, H, W, C) → rgb and diff (B, C, H, W)
    return (t[:, 0].permute(0, 3, 1, 2).contiguous(),
            (t[:, 1] - t[:, 0]).permute(0, 3, 1, 2).contiguous())
  return (t.permute(0, 4, 1, 2, 3).contiguous(),)


def bench_jax(spec: dict, state_dict, x: np.ndarray, dtype=jnp.float32) -> tuple[dict, dict]:
  """(compile times and FLOPs, {"forward", "forward_backward": warmed-up timed call})."""
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
    out = nnx.merge(graphdef, params, rest)(x)
    return out

  def loss(params, x):
    return jnp.mean(jnp.square(forward(params, x).astype(jnp.float32)))

  fwd = jax.jit(forward)
  fwd_bwd = jax.jit(jax.value_and_grad(loss))
  result, calls = {}, {}
  for label, fn in (("forward", fwd), ("forward_backward", fwd_bwd)):
    start = time.perf_counter()
    compiled = fn.lower(params, x).compile()
    result[f"{label}_compile_s"] = time.perf_counter() - start
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    result[f"{label}_flops"] = float((cost or {}).get("flops", float("nan")))
    calls[label] = lambda c=compiled: jax.block_until_ready(c(params, x))
    calls[label]()  # warm-up
  return result, calls


def bench_torch(module, x: np.ndarray, name: str) -> dict:
  """{"forward", "forward_backward": warmed-up timed call} of the PyTorch module."""
  import torch
  module.eval()
  inputs = _torch_input(x, name)

  def forward():
    with torch.no_grad():
      module(*inputs)

  def forward_backward():
    module.zero_grad(set_to_none=True)
    out = module(*inputs)
    out = out[-1] if isinstance(out, (tuple, list)) else out
    out.float().pow(2).mean().backward()

  forward()  # warm-up (oneDNN primitive creation)
  forward_backward()
  return {"forward": forward, "forward_backward": forward_backward}


def time_alternating(calls: dict[str, dict], repeats: int) -> dict[str, dict]:
  """Median seconds of each framework's calls, the frameworks taking turns call by call.

  On a shared machine the load drifts over minutes; alternating exposes both
  frameworks to the same drift, so their ratio is steadier than their times.
  """
  times = {fw: {label: [] for label in c} for fw, c in calls.items()}
  for label in ("forward", "forward_backward"):
    for _ in range(repeats):
      for fw, c in calls.items():
        start = time.perf_counter()
        c[label]()
        times[fw][label].append(time.perf_counter() - start)
  return {fw: {f"{label}_s": statistics.median(t) for label, t in ts.items()}
          for fw, ts in times.items()}


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--models", default=",".join(MODELS))
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--batch", type=int, default=1, help="clips per call")
  parser.add_argument("--no-torch", action="store_true", help="time jvqa only (e.g. on a GPU)")
  parser.add_argument("--json", default=None, help="also write the results here")
  args = parser.parse_args()
  device = jax.devices()[0]
  on_gpu = device.platform == "gpu"
  print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"jax {jax.__version__} on {device.device_kind}")
  results = {}
  for name in args.models.split(","):
    ref, spec, (t, h, w) = MODELS[name]()
    x = np.random.default_rng(0).normal(size=(args.batch, t, h, w, 3)).astype(np.float32)
    row = {"input": [args.batch, t, h, w, 3]}
    state_dict = None if args.no_torch else ref.state_dict()
    row["jvqa"], calls = bench_jax(spec, state_dict, x)
    calls = {"jvqa": calls}
    if not args.no_torch and not on_gpu:
      import torch
      torch.set_num_threads(os.cpu_count())
      calls["torch"] = bench_torch(ref, x, name)
    medians = time_alternating(calls, args.repeats)
    row["jvqa"].update(medians["jvqa"])
    if "torch" in medians:
      row["torch"] = medians["torch"]
      for k in ("forward_s", "forward_backward_s"):
        row[f"torch_over_jvqa_{k[:-2]}"] = row["torch"][k] / row["jvqa"][k]
    if on_gpu:
      bf16, bf16_calls = bench_jax(spec, state_dict, x, dtype=jnp.bfloat16)
      row["jvqa_bf16"] = {**bf16, **time_alternating({"b": bf16_calls}, args.repeats)["b"]}
      peak = next((v for k, v in PEAK_BF16.items() if k in device.device_kind), None)
      if peak:
        b = row["jvqa_bf16"]
        row["mfu_bf16_forward_backward"] = b["forward_backward_flops"] / b["forward_backward_s"] / peak
    results[name] = row
    j = row["jvqa"]
    # XLA counts a lax.map body once, so FLOPs are shown only where nothing is chunked (GPU).
    flops = f", {j['forward_flops']/1e9:.1f} GFLOP fwd" if on_gpu else ""
    line = (f"{name:12s} {'x'.join(map(str, row['input'][1:4]))}  jvqa fwd {j['forward_s']*1e3:8.1f} ms"
            f"  fwd+bwd {j['forward_backward_s']*1e3:8.1f} ms  (compile {j['forward_compile_s']:.1f}"
            f" + {j['forward_backward_compile_s']:.1f} s{flops})")
    if "torch" in row:
      tt = row["torch"]
      line += (f"  | torch fwd {tt['forward_s']*1e3:8.1f} ms  fwd+bwd {tt['forward_backward_s']*1e3:8.1f} ms"
               f"  | torch/jvqa fwd {row['torch_over_jvqa_forward']:.2f}x"
               f"  fwd+bwd {row['torch_over_jvqa_forward_backward']:.2f}x")
    if "jvqa_bf16" in row:
      b = row["jvqa_bf16"]
      line += (f"  | bf16 fwd {b['forward_s']*1e3:.2f} ms fwd+bwd {b['forward_backward_s']*1e3:.2f} ms"
               f" MFU {row.get('mfu_bf16_forward_backward', float('nan')):.1%}")
    print(line, flush=True)
  if args.json:
    with open(args.json, "w") as f:
      json.dump(results, f, indent=2)


if __name__ == "__main__":
  main()
