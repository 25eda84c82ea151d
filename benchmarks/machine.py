"""The CPU a benchmark ran on, in one line for its header.

The same script gives quite different ratios on different CPUs (the models'
jvqa/PyTorch ratio moved from 2.8x to 3.7x between two VMs of this project), so
every figure must say which CPU it came from. ``platform.processor()`` is empty
on Linux; the model name, widest vector ISA and cache sizes come from
``/proc/cpuinfo`` and ``/sys`` (a few lines; a package such as py-cpuinfo
would be a dependency for one header line).
"""

import glob
import os
import platform

# Widest vector extension first: (cpuinfo flag, name shown).
_ISAS = (("amx_tile", "AMX"), ("avx512f", "AVX-512"), ("avx2", "AVX2"), ("neon", "NEON"),
         ("asimd", "NEON"))


def parse_cpuinfo(text: str) -> tuple[str, str]:
  """(model name, widest vector ISA) from ``/proc/cpuinfo`` text; "" where absent."""
  fields = {}
  for line in text.splitlines():
    key, sep, value = line.partition(":")
    if sep:
      fields.setdefault(key.strip().lower(), value.strip())
  flags = set((fields.get("flags") or fields.get("features") or "").split())
  isa = next((name for flag, name in _ISAS if flag in flags), "")
  return fields.get("model name", ""), isa


def _read(path: str) -> str:
  try:
    with open(path) as f:
      return f.read().strip()
  except OSError:
    return ""


def caches(root: str = "/sys/devices/system/cpu/cpu0/cache") -> list[str]:
  """CPU 0's unified caches, e.g. ["L2 2048K", "L3 491520K"] (as the kernel sizes them)."""
  out = []
  for d in sorted(glob.glob(os.path.join(root, "index*"))):
    if _read(os.path.join(d, "type")) == "Unified":
      out.append(f"L{_read(os.path.join(d, 'level'))} {_read(os.path.join(d, 'size'))}")
  return out


def describe() -> str:
  """E.g. "Intel(R) Xeon(R) Processor (AMX, L2 2048K, L3 491520K), 2 CPUs"."""
  name, isa = parse_cpuinfo(_read("/proc/cpuinfo"))
  details = ", ".join(d for d in (isa, *caches()) if d)
  name = name or platform.processor() or platform.machine()
  return f"{name}{f' ({details})' if details else ''}, {os.cpu_count()} CPUs"
