"""benchmarks/machine.py: the CPU a benchmark's figures came from."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks"))
import machine  # noqa: E402

X86 = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw amx_bf16 amx_tile

processor\t: 1
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu sse2 avx avx2 fma avx512f avx512bw amx_bf16 amx_tile
"""


def test_parse_cpuinfo_names_the_model_and_the_widest_isa():
  assert machine.parse_cpuinfo(X86) == ("Intel(R) Xeon(R) Processor", "AMX")
  epyc = "model name\t: AMD EPYC 7B13\nflags\t\t: fpu sse2 avx avx2 fma\n"
  assert machine.parse_cpuinfo(epyc) == ("AMD EPYC 7B13", "AVX2")
  arm = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes\n"
  assert machine.parse_cpuinfo(arm) == ("", "NEON")
  assert machine.parse_cpuinfo("") == ("", "")


def test_caches_lists_the_unified_levels(tmp_path):
  for index, (level, kind, size) in enumerate(
      [("1", "Data", "48K"), ("1", "Instruction", "64K"), ("2", "Unified", "2048K"),
       ("3", "Unified", "491520K")]):
    d = tmp_path / f"index{index}"
    d.mkdir()
    for name, value in (("level", level), ("type", kind), ("size", size)):
      (d / name).write_text(value + "\n")
  assert machine.caches(str(tmp_path)) == ["L2 2048K", "L3 491520K"]
  assert machine.caches(str(tmp_path / "absent")) == []


def test_describe_ends_with_the_cpu_count():
  line = machine.describe()
  assert line.endswith(f", {os.cpu_count()} CPUs")
  assert not line.startswith(",")
