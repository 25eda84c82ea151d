"""x264 options that make its output the same run after run on any x86 CPU.

On a CPU with AVX-512, libx264 (as PyAV's wheels ship it) encoded the same
frames with the same options to different pictures within one process,
depending on what the process had done before: WELL-Set's H264_crf_23 of a
176×162 clip came out up to 51 grey levels apart in 2.7 % of its luma
(``tests/test_well_set.py``), which moves every weak label computed from it.
With x264's instruction sets capped at AVX2 the output is the same every time,
and, in the cases checked, equal to what its AVX-512 code gives in a fresh
process. A corpus built from synthetic distortions must be reproducible, so
every x264 encoder of jvqa passes ``asm=AVX2`` on such CPUs
(``docs/deviations.md``).

No library reports CPU features portably (numpy's list is private), so the
flags are read from ``/proc/cpuinfo``; elsewhere nothing is capped.
"""

import functools

# x264's own name for the cap (its AVX2 set: AVX, FMA3, BMI1/2, LZCNT, AVX2).
ASM_CAP = "AVX2"


def has_avx512(cpuinfo: str) -> bool:
  """Whether ``/proc/cpuinfo`` text lists the AVX-512 foundation flag."""
  for line in cpuinfo.splitlines():
    key, sep, value = line.partition(":")
    if sep and key.strip() == "flags":
      return "avx512f" in value.split()
  return False


@functools.cache
def _this_cpu_has_avx512() -> bool:
  try:
    with open("/proc/cpuinfo") as f:
      return has_avx512(f.read())
  except OSError:
    return False


def reproducible_params(avx512: bool | None = None) -> dict[str, str]:
  """libx264 options (``x264-params``) for reproducible output on this CPU, or ``avx512``'s."""
  if avx512 is None:
    avx512 = _this_cpu_has_avx512()
  return {"x264-params": f"asm={ASM_CAP}"} if avx512 else {}
