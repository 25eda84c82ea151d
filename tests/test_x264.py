"""jvqa.io.x264: the cap on x264's instruction sets that makes its output reproducible.

That the capped encoder gives the same pictures every time is checked on an
AVX-512 CPU by ``tests/test_well_set.py`` (stored versions equal a re-encode);
here, that the cap is chosen from the CPU flags and reaches every x264 encoder.
"""

import fractions

import av
import numpy as np
import pytest

from jvqa.data import distortions, heke_distortions as heke
from jvqa.io import lossless, video, x264

CPUINFO = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma{}\nbugs\t\t: spectre_v1\n"


def _have_avx2() -> bool:
  try:
    with open("/proc/cpuinfo") as f:
      return " avx2" in f.read()
  except OSError:
    return False


def test_avx512_is_read_from_the_flags_line():
  assert x264.has_avx512(CPUINFO.format(" avx512f avx512bw"))
  assert not x264.has_avx512(CPUINFO.format(""))
  assert not x264.has_avx512(CPUINFO.format(" avx512_bf16"))  # not the foundation flag
  assert not x264.has_avx512("")


def test_the_cap_is_asked_for_on_avx512_only():
  assert x264.reproducible_params(avx512=True) == {"x264-params": "asm=AVX2"}
  assert x264.reproducible_params(avx512=False) == {}


def test_mp4_writer_caps_x264_and_keeps_the_callers_options(monkeypatch, tmp_path):
  monkeypatch.setattr(x264, "_this_cpu_has_avx512", lambda: True)
  writer = distortions.Mp4Writer(str(tmp_path / "a.mp4"), "libx264", fractions.Fraction(25),
                                 options={"crf": 23})
  assert writer.options == {"x264-params": "asm=AVX2", "crf": "23"}
  writer = distortions.Mp4Writer(str(tmp_path / "b.mp4"), "mpeg2video", fractions.Fraction(25))
  assert "x264-params" not in writer.options
  monkeypatch.setattr(x264, "_this_cpu_has_avx512", lambda: False)
  writer = distortions.Mp4Writer(str(tmp_path / "c.mp4"), "libx264", fractions.Fraction(25))
  assert "x264-params" not in writer.options


def test_encode_frames_and_lossless_cap_x264_only(monkeypatch):
  monkeypatch.setattr(x264, "_this_cpu_has_avx512", lambda: True)
  assert video._codec_options("libx264", 10, None) == {"crf": "10", "x264-params": "asm=AVX2"}
  mine = {"x264-params": "keyint=8"}  # The caller's own x264-params are kept as given.
  assert video._codec_options("libx264", None, mine) == mine
  assert "x264-params" not in video._codec_options("libx265", 10, None)
  assert lossless.CODECS["x264"].encoder_options(fractions.Fraction(25))["x264-params"] == "asm=AVX2"
  assert "x264-params" not in lossless.CODECS["ffv1"].encoder_options(fractions.Fraction(25))


@pytest.mark.skipif(not _have_avx2(), reason="the cap names AVX2 code: needs an AVX2 CPU")
def test_heke_x264_encoder_takes_the_cap(monkeypatch):
  """heke_frames refuses an option the encoder leaves unused, so this encodes with it."""
  monkeypatch.setattr(x264, "_this_cpu_has_avx512", lambda: True)
  rng = np.random.default_rng(0)
  frames = [av.VideoFrame.from_ndarray(rng.integers(0, 256, (48, 64, 3), np.uint8), format="rgb24")
            .reformat(format="yuv420p") for _ in range(6)]
  ctx = heke._encoder({"codec": "libx264", "crf": 23}, 64, 48, fractions.Fraction(25))
  assert ctx.options["x264-params"] == "asm=AVX2"
  pictures, _ = heke.heke_frames("H264_crf_23", frames, 25, name="noise")
  assert len(pictures) == 6
