"""FAST-VQA spatial fragments ("grid mini-patch sampling") and SSL-VQA's views.

A fragment sample splits each frame into a ``grid x grid`` lattice of cells,
takes one ``patch x patch`` mini-patch from every cell and splices them into
a ``grid*patch`` square (7 x 32 = 224 px in FAST-VQA and SSL-VQA). Patches
are copied, never resized. One set of patch positions is shared by
``aligned`` consecutive frames (a temporal "segment").

Videos are channel-last ``(T, H, W, C)`` numpy arrays. The pieces compose:

* ``fragment_offsets``: the patch positions (top-left corners, absolute
  pixel coordinates) for a frame size, per segment and grid cell;
* ``crop_fragments``: a vectorised gather of those patches, so one offsets
  array can be reused for several videos of the same size (ST-VQRL shares
  one set across the 10 distorted versions and all 64 frames);
* ``upsample_to_min_size``: the originals' bilinear fallback for frames
  smaller than ``grid*patch`` on a side;
* ``fragment_sampler`` and ``quality_consistent_views``: the compositions
  used by FAST-VQA / ST-VQRL / the evaluation and by SSL-VQA's two views;
* ``crop_fragments_yuv420p``: ``crop_fragments`` of decoded yuv420p planes,
  converting only the patches to RGB (bit-identical, much cheaper); see
  ``jvqa.data.clips`` for the whole decode-and-cut path.

Reproduces ``get_spatial_fragments`` (``random=False``, ``fallback_type=
"upsample"``) of ``fastvqa/datasets/basic_datasets.py`` and
``STVQRL/synthetic_lsvd_datasets.py``, and ``get_spatial_fragments_v2`` of
``semisupervised_datasets.py``. Randomness comes only from ``rng`` (a
``np.random.Generator``, a seed, or ``None``).
"""

from __future__ import annotations

import math

import numpy as np

from jvqa.data.temporal import RngLike, as_generator
from jvqa.io.yuv import ColorTags, yuv420p_planes_to_rgb

MODES = ("random", "top", "bottom", "center")


def grid_origins(size: int, *, grid: int = 7, patch: int = 32) -> np.ndarray:
  """Cell origins along one axis: ``min(size // grid * i, size - patch)``."""
  return np.minimum(size // grid * np.arange(grid), size - patch)


def offset_range(cell: int, patch: int, mode: str) -> tuple[int, int]:
  """Half-open range ``[low, high)`` of a patch's offset inside its cell.

  Offsets are relative to the cell origin, along one axis; ``cell`` is
  ``size // grid``. The rules:

  * ``"random"`` (FAST-VQA): ``[0, cell - patch)``, or ``{0}`` when the cell
    is not larger than the patch.
  * ``"top"`` / ``"bottom"`` (SSL-VQA's T' and T''): with ``half = cell //
    2``, when ``half > patch`` exactly the original's ``[0, half - patch)``
    (top-left half of the cell) and ``[half, 2*half - patch)`` (bottom-right
    half; the original writes ``half`` as ``size // (2*grid)``, the same
    number). The two patches then never overlap. When ``half <= patch`` the
    original collapses both views to offset 0 (identical views); instead we
    split the ``n = cell - patch + 1`` positions that keep the patch inside
    its cell: top gets ``[0, n // 2)``, bottom ``[n // 2, n)``. The views
    then differ whenever ``n >= 2`` (the cell is larger than the patch);
    their patches overlap in pixels but never coincide. When the cell is no
    larger than the patch there is no room and both views use offset 0.
  * ``"center"`` (deterministic, for debugging): ``(cell - patch) // 2``,
    clipped at 0.

  Args:
    cell: grid cell length in pixels.
    patch: patch length in pixels.
    mode: one of ``MODES``.

  Returns:
    ``(low, high)`` with ``high > low``.
  """
  if mode == "random":
    return (0, cell - patch) if cell > patch else (0, 1)
  if mode == "center":
    middle = max(cell - patch, 0) // 2
    return middle, middle + 1
  if mode not in ("top", "bottom"):
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
  half = cell // 2
  if half > patch:
    return (0, half - patch) if mode == "top" else (half, 2 * half - patch)
  positions = cell - patch + 1
  if positions < 2:
    return 0, 1
  split = positions // 2
  return (0, split) if mode == "top" else (split, positions)


def _draw(rng: np.random.Generator, low: int, high: int,
          shape: tuple[int, ...]) -> np.ndarray:
  """Uniform integers in ``[low, high)``; no draw for a one-value range."""
  if high - low > 1:
    return rng.integers(low, high, size=shape)
  return np.full(shape, low, np.int64)


def fragment_offsets(height: int, width: int, *, grid: int = 7,
                     patch: int = 32, num_segments: int = 1,
                     rng: RngLike = None, mode: str = "random") -> np.ndarray:
  """Top-left corners of the mini-patches for a ``height x width`` frame.

  Cell ``(i, j)`` has origin ``(grid_origins(height)[i],
  grid_origins(width)[j])``; each patch is offset inside its cell by an
  amount drawn per axis, per cell and per segment from ``offset_range``.
  Every patch lies inside the frame.

  Args:
    height: frame height (after any upsampling).
    width: frame width.
    grid: cells per side.
    patch: patch side in pixels.
    num_segments: independent offset sets, one per ``aligned``-frame segment.
    rng: random generator or seed.
    mode: ``"random"`` (FAST-VQA), ``"top"`` / ``"bottom"`` (SSL-VQA's two
      views) or ``"center"``; see ``offset_range``.

  Returns:
    int64 array ``(num_segments, grid, grid, 2)`` of ``(y, x)`` corners.
  """
  if mode not in MODES:
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
  if min(height, width) < patch:
    raise ValueError(
        f"frame {height}x{width} is smaller than a {patch}px patch; "
        "upsample it first (upsample_to_min_size)")
  rng = as_generator(rng)
  shape = (num_segments, grid, grid)
  dy = _draw(rng, *offset_range(height // grid, patch, mode), shape)
  dx = _draw(rng, *offset_range(width // grid, patch, mode), shape)
  y = grid_origins(height, grid=grid, patch=patch)[None, :, None] + dy
  x = grid_origins(width, grid=grid, patch=patch)[None, None, :] + dx
  return np.stack([y, x], axis=-1).astype(np.int64)


def num_segments(num_frames: int, aligned: int | None) -> int:
  """Offset sets for ``num_frames`` frames sharing one set per ``aligned``.

  ``aligned=None`` means one set for the whole clip. A single frame (an
  image) is one segment, as in the original (which sets ``aligned = 1``).
  """
  if aligned is None or num_frames == 1:
    return 1
  if aligned < 1 or num_frames % aligned:
    raise ValueError(
        f"{num_frames} frames are not a multiple of aligned={aligned}")
  return num_frames // aligned


def _check_video(video: np.ndarray) -> None:
  """Raises ValueError unless ``video`` is ``(T, H, W, C)`` with T >= 1."""
  if video.ndim != 4 or video.shape[0] < 1:
    raise ValueError(f"expected a (T, H, W, C) video, got shape {video.shape}")


def _check_inside(offsets: np.ndarray, height: int, width: int,
                  patch: int) -> None:
  """Raises ValueError if any patch would leave the frame."""
  ys, xs = offsets[..., 0], offsets[..., 1]
  if (offsets.min(initial=0) < 0 or ys.max(initial=0) + patch > height
      or xs.max(initial=0) + patch > width):
    raise ValueError(
        f"fragment offsets leave the {height}x{width} frame (patch {patch})")


def _frame_offsets(offsets: np.ndarray, num_frames: int,
                   aligned: int | None) -> np.ndarray:
  """The ``(T, gh, gw, 2)`` corners each frame uses: set ``t // (T // S)``."""
  offsets = np.asarray(offsets)
  if offsets.ndim == 3:
    offsets = offsets[None]
  segments = offsets.shape[0]
  expected = segments if aligned is None else num_segments(num_frames, aligned)
  if num_frames % segments or expected != segments:
    raise ValueError(f"{segments} offset sets do not fit {num_frames} frames "
                     f"with aligned={aligned}")
  return offsets[np.arange(num_frames) // (num_frames // segments)]


def crop_fragments(video: np.ndarray, offsets: np.ndarray, *, patch: int = 32,
                   aligned: int | None = None) -> np.ndarray:
  """Splices the mini-patches at ``offsets`` into fragment frames.

  Output pixel ``(t, i*patch + a, j*patch + b)`` is input pixel ``(t, y + a,
  x + b)`` with ``(y, x) = offsets[t // aligned, i, j]``: a pure gather, no
  arithmetic, dtype kept. One fancy-indexing gather of patch rows, no
  Python loop over cells or segments.

  Args:
    video: ``(T, H, W, C)`` frames.
    offsets: ``(S, gh, gw, 2)`` (or ``(gh, gw, 2)`` for S = 1) corners from
      ``fragment_offsets``; may be reused for any video of the same size.
    patch: patch side in pixels.
    aligned: frames per offset set; ``None`` means ``T // S``. When given it
      must agree with S.

  Returns:
    ``(T, gh*patch, gw*patch, C)`` array of ``video``'s dtype.
  """
  video = np.asarray(video)
  _check_video(video)
  t, height, width, _ = video.shape
  per_frame = _frame_offsets(offsets, t, aligned)  # (T, gh, gw, 2)
  _check_inside(per_frame, height, width, patch)
  gh, gw = per_frame.shape[1:3]
  video = np.ascontiguousarray(video)
  rows = per_frame[:, :, None, :, 0] + np.arange(patch)[:, None]
  cols = per_frame[:, :, None, :, 1]
  frames = np.arange(t)[:, None, None, None]
  out = _row_segments(video, patch)[frames, rows, cols]  # (T, gh, patch, gw)
  return out.view(video.dtype).reshape(t, gh * patch, gw * patch, -1)


def _row_segments(video: np.ndarray, patch: int) -> np.ndarray:
  """A view whose item ``[t, y, x]`` is the run ``video[t, y, x:x+patch]``.

  Each item is one opaque ``patch * C``-pixel block, so the fragment gather
  moves whole patch rows (one memcpy each) instead of single pixels; this is
  about 10x faster than pixel-wise fancy indexing on 1080p frames. Items
  overlap in memory, which is fine for a read-only gather.

  Args:
    video: C-contiguous ``(T, H, W, C)`` frames with ``W >= patch``.
    patch: run length in pixels.

  Returns:
    ``(T, H, W - patch + 1)`` array of void items sharing ``video``'s memory.
  """
  t, height, width, channels = video.shape
  item = np.dtype((np.void, patch * channels * video.itemsize))
  return np.ndarray(buffer=video, dtype=item,
                    shape=(t, height, width - patch + 1),
                    strides=video.strides[:3])


# Cropping in YUV space.
#
# Converting a whole decoded frame to RGB costs about as much as decoding
# it, yet a fragment keeps 49 patches of 32 x 32 px. FFmpeg converts
# even-sized 4:2:0 frames pixel by pixel, each U/V sample shared by the 2x2
# luma pixels at even coordinates above it, so an even-aligned block of the
# planes converts to exactly the RGB of the same block of the whole frame
# (given the frame's colour tags; checked bit for bit in tests/test_clips.py).
# crop_fragments_yuv420p copies, for every patch, the even-aligned
# ``yuv420p_block(patch)``-px square holding it into one mosaic per frame,
# converts the mosaics (about 1/16 of a 720p frame) and cuts the patches.


# Mosaics are converted at a width congruent to the frame's modulo this.
_WIDTH_CLASS = 32


def yuv420p_block(patch: int) -> int:
  """Side of the even-aligned square holding a ``patch``-px patch anywhere.

  The smallest even number above ``patch`` (34 for 32): a patch at an odd
  offset starts one pixel into its square.
  """
  return patch + 2 - patch % 2


def _block_origins(offsets: np.ndarray, height: int, width: int,
                   block: int) -> np.ndarray:
  """Even corners of the squares holding the patches at ``offsets``.

  Each is the patch corner rounded down to even, moved back into the
  (even-sized) frame where the square would leave it; it still holds the
  patch, which lies inside the frame.
  """
  limit = np.array([height - block, width - block])
  return np.minimum(offsets - offsets % 2, limit)


def _gather_blocks(plane: np.ndarray, origins: np.ndarray,
                   block: int) -> np.ndarray:
  """Copies ``block``-px squares of each frame's plane into one mosaic.

  Args:
    plane: ``(T, H, W)`` uint8, columns contiguous (rows may be padded or
      broadcast).
    origins: ``(T, gh, gw, 2)`` top-left corners, one grid per frame.
    block: square side.

  Returns:
    ``(T, gh*block, gw*block)`` uint8: square ``(i, j)`` of frame ``t`` at
    ``[t, i*block:(i+1)*block, j*block:(j+1)*block]``.
  """
  t, gh, gw, _ = origins.shape
  windows = np.lib.stride_tricks.as_strided(  # [t, y, x, k] = plane[t, y, x+k]
      plane, plane.shape[:2] + (plane.shape[2] - block + 1, block),
      plane.strides + (1,), writeable=False)
  runs = windows.view(np.dtype((np.void, block)))[..., 0]  # [t, y, x]: a run
  rows = origins[:, :, None, :, 0] + np.arange(block)[:, None]
  cols = origins[:, :, None, :, 1]
  frames = np.arange(t)[:, None, None, None]
  out = runs[frames, rows, cols]  # (T, gh, block, gw)
  return out.view(np.uint8).reshape(t, gh * block, gw * block)


def _check_planes(planes, block: int) -> tuple[np.ndarray, ...]:
  """Validates ``(Y (T,H,W), U, V (T,H/2,W/2))`` uint8 planes for the gather."""
  y, u, v = (np.asarray(p) for p in planes)
  if y.ndim != 3 or y.shape[0] < 1:
    raise ValueError(f"expected Y planes (T, H, W) with T >= 1, got {y.shape}")
  t, height, width = y.shape
  chroma = (t, height // 2, width // 2)
  if (height % 2 or width % 2 or u.shape != chroma or v.shape != chroma
      or {y.dtype, u.dtype, v.dtype} != {np.dtype(np.uint8)}):
    raise ValueError(
        "planes must be uint8 Y (T, H, W), U and V (T, H/2, W/2) with H and "
        f"W even; got {y.dtype} {y.shape}, {u.shape}, {v.shape}")
  if min(height, width) < block:
    raise ValueError(f"frame {height}x{width} is smaller than the {block}px "
                     "squares the YUV path cuts; crop its RGB instead")
  return tuple(p if p.strides[-1] == 1 else np.ascontiguousarray(p)
               for p in (y, u, v))


def _pad_columns(plane: np.ndarray, width: int) -> np.ndarray:
  """``plane`` (rows, w) widened to ``width`` columns with zeros."""
  if plane.shape[1] == width:
    return plane
  out = np.zeros((plane.shape[0], width), np.uint8)
  out[:, :plane.shape[1]] = plane
  return out


def _mosaics_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray,
                    tags: ColorTags | None, frame_width: int,
                    chunk: int = 16) -> np.ndarray:
  """RGB of ``(T, h, w)`` mosaic planes, ``chunk`` mosaics per FFmpeg call.

  FFmpeg picks its YUV -> RGB routine by frame size (on aarch64 the NEON one
  only for widths that are multiples of 16), and routines may round
  differently. So each mosaic is converted padded on the right to a width
  congruent to ``frame_width`` modulo ``_WIDTH_CLASS``: it then takes the
  routine the whole frame takes.
  """
  t, height, width = y.shape
  padded = width + (frame_width - width) % _WIDTH_CLASS
  out = np.empty((t, height, width, 3), np.uint8)
  for start in range(0, t, chunk):
    part = slice(start, min(start + chunk, t))
    count = part.stop - start
    tall = [p[part].reshape(count * p.shape[1], p.shape[2]) for p in (y, u, v)]
    tall = [_pad_columns(tall[0], padded),
            _pad_columns(tall[1], padded // 2),
            _pad_columns(tall[2], padded // 2)]
    rgb = yuv420p_planes_to_rgb(tall, tags)[:, :width]
    out[part] = rgb.reshape(count, height, width, 3)
  return out


def crop_fragments_yuv420p(planes, offsets: np.ndarray, *, patch: int = 32,
                           aligned: int | None = None,
                           tags: ColorTags | None = None) -> np.ndarray:
  """``crop_fragments`` of yuv420p frames' RGB, converting only the patches.

  Returns exactly ``crop_fragments(rgb, offsets, patch=patch,
  aligned=aligned)`` where ``rgb`` is FFmpeg's RGB of the whole frames (as
  ``decode_frames`` gives for a video whose frames carry ``tags``), but
  converts only one ``yuv420p_block(patch)``-px square per patch.

  Args:
    planes: ``(Y (T, H, W), U (T, H/2, W/2), V (T, H/2, W/2))`` uint8, H
      and W even and at least ``yuv420p_block(patch)``: e.g. from
      ``jvqa.io.video.decode_planes``, or views of decoded frames from
      ``jvqa.io.video.frame_planes`` (padded rows and broadcast frames are
      not copied).
    offsets: ``(S, gh, gw, 2)`` (or ``(gh, gw, 2)``) corners, as for
      ``crop_fragments``.
    patch: patch side in pixels.
    aligned: frames per offset set; ``None`` means ``T // S``.
    tags: the frames' colour tags (``jvqa.io.yuv.ColorTags``, e.g. from
      ``decode_planes``); ``None``: untagged yuv420p (BT.601, limited).

  Returns:
    ``(T, gh*patch, gw*patch, 3)`` uint8 RGB.
  """
  block = yuv420p_block(patch)
  y, u, v = _check_planes(planes, block)
  t, height, width = y.shape
  per_frame = _frame_offsets(offsets, t, aligned)
  _check_inside(per_frame, height, width, patch)
  origins = _block_origins(per_frame, height, width, block)
  half = block // 2
  rgb = _mosaics_to_rgb(_gather_blocks(y, origins, block),
                        _gather_blocks(u, origins // 2, half),
                        _gather_blocks(v, origins // 2, half), tags, width)
  gh, gw = per_frame.shape[1:3]
  cells = np.stack(np.meshgrid(np.arange(gh) * block, np.arange(gw) * block,
                               indexing="ij"), axis=-1)
  return crop_fragments(rgb, per_frame - origins + cells, patch=patch)


# Upsampling fallback.
#
# torch's F.interpolate(x, scale_factor=s, mode="bilinear") (align_corners
# False) maps output pixel d to the source coordinate
# max((d + 0.5) / s - 0.5, 0) with 1/s rounded to float32 -- note 1/s, not
# in/out -- and sizes the output floor(n * s). scipy.ndimage.zoom,
# jax.image.resize, PIL and cv2.resize all use the in/out ratio (and cv2/PIL
# round coordinates to fixed point), so none of them reproduces torch when
# n * s is not an integer; hence explicit separable two-tap matrices here,
# computed in float32 in the order of torch's CPU kernel (width, then
# height), so that the original's truncating cast back to uint8 sees nearly
# the same float values (equal up to float32 rounding; not checked bit for
# bit against torch, which this project does not install).


def bilinear_taps(in_size: int, out_size: int, scale_factor: float):
  """The two source taps and weights of each output pixel along one axis.

  Args:
    in_size: input length.
    out_size: output length.
    scale_factor: torch's ``scale_factor`` for this axis.

  Returns:
    ``(i0, i1, w0, w1)``: int64 source indices and float32 weights, each of
    length ``out_size``; output ``d = w0[d]*x[i0[d]] + w1[d]*x[i1[d]]``.
  """
  dst = np.arange(out_size)
  if out_size == in_size:  # torch copies unscaled axes.
    return dst, dst, np.ones(out_size, np.float32), np.zeros(out_size,
                                                             np.float32)
  coord_scale = np.float32(1.0 / scale_factor)
  src = (np.float64(coord_scale) * (dst + 0.5) - 0.5).astype(np.float32)
  src = np.maximum(src, np.float32(0))
  i0 = src.astype(np.int64)
  i1 = np.where(i0 < in_size - 1, i0 + 1, i0)
  w1 = src - i0.astype(np.float32)
  return i0, i1, np.float32(1) - w1, w1


def bilinear_matrix(in_size: int, out_size: int,
                    scale_factor: float) -> np.ndarray:
  """The ``(out_size, in_size)`` float32 interpolation matrix of one axis."""
  i0, i1, w0, w1 = bilinear_taps(in_size, out_size, scale_factor)
  matrix = np.zeros((out_size, in_size), np.float32)
  rows = np.arange(out_size)
  np.add.at(matrix, (rows, i0), w0)
  np.add.at(matrix, (rows, i1), w1)
  return matrix


def upsampled_size(height: int, width: int, min_h: int,
                   min_w: int) -> tuple[int, int, float]:
  """``(out_h, out_w, scale)`` of the original's fallback, scale 1 if none.

  ``ratio = min(height / min_h, width / min_w)``; when ``ratio < 1`` the
  frame is scaled by ``scale = 1 / ratio`` to ``floor(height * scale) x
  floor(width * scale)``, as torch sizes it. Float rounding makes that 223
  rather than 224 for some heights (e.g. 100): the original then samples
  fragments from a 223-px frame, and so do we.
  """
  ratio = min(height / min_h, width / min_w)
  if ratio >= 1:
    return height, width, 1.0
  scale = 1.0 / ratio
  return math.floor(height * scale), math.floor(width * scale), scale


def _resize_axis(x: np.ndarray, axis: int, out_size: int,
                 scale: float) -> np.ndarray:
  """Applies the two-tap rows of ``bilinear_matrix`` along ``axis``."""
  i0, i1, w0, w1 = bilinear_taps(x.shape[axis], out_size, scale)
  shape = [1] * x.ndim
  shape[axis] = out_size
  out = np.take(x, i0, axis=axis)
  out *= w0.reshape(shape)
  far = np.take(x, i1, axis=axis)
  far *= w1.reshape(shape)
  out += far
  return out


def upsample_to_min_size(video: np.ndarray, min_h: int,
                         min_w: int) -> np.ndarray:
  """The originals' bilinear fallback for frames smaller than the fragments.

  Frames at least ``min_h x min_w`` are returned unchanged (same object).
  Otherwise every frame is resized to ``upsampled_size`` like
  ``F.interpolate(video / 255, scale_factor=1/ratio, mode="bilinear")
  * 255`` in float32. Integer input comes back in its dtype, truncated
  toward zero like the original's ``.type_as(ovideo)`` (not rounded: this
  is what the evaluation path does to uint8 frames; the training paths
  upsample already-normalised floats and never truncate). Float input comes
  back as float32.

  Args:
    video: ``(T, H, W, C)`` frames.
    min_h: minimum height, ``grid * patch``.
    min_w: minimum width.

  Returns:
    ``(T, out_h, out_w, C)`` frames.
  """
  video = np.asarray(video)
  _check_video(video)
  out_h, out_w, scale = upsampled_size(video.shape[1], video.shape[2],
                                       min_h, min_w)
  if scale == 1.0:
    return video
  level = np.float32(255.0)
  frames = video.astype(np.float32) / level
  frames = _resize_axis(frames, 2, out_w, scale)
  frames = _resize_axis(frames, 1, out_h, scale)
  frames *= level
  if np.issubdtype(video.dtype, np.integer):
    info = np.iinfo(video.dtype)
    return np.clip(np.trunc(frames), info.min, info.max).astype(video.dtype)
  return frames


def _prepare(video: np.ndarray, grid: int, patch: int,
             legacy_grid: bool) -> tuple[np.ndarray, tuple[int, int]]:
  """Upsamples if needed; returns the frames and the size the grid uses."""
  video = np.asarray(video)
  _check_video(video)
  frames = upsample_to_min_size(video, grid * patch, grid * patch)
  grid_size = video.shape[1:3] if legacy_grid else frames.shape[1:3]
  return frames, grid_size


def fragment_sampler(video: np.ndarray, *, grid: int = 7, patch: int = 32,
                     aligned: int | None = None, rng: RngLike = None,
                     mode: str = "random",
                     legacy_grid: bool = False) -> np.ndarray:
  """FAST-VQA's ``get_spatial_fragments``: upsample if needed, draw, crop.

  Args:
    video: ``(T, H, W, C)`` frames, 0-255 (uint8 or float).
    grid: cells per side.
    patch: patch side in pixels.
    aligned: frames sharing one offset set; ``None``: all T frames.
    rng: random generator or seed.
    mode: see ``offset_range``.
    legacy_grid: lay the grid out on the frame size *before* upsampling, as
      the original does (it never updates its ``res_h, res_w`` after the
      fallback, so small videos are sampled from the top-left part of the
      upsampled frame). Default False: the grid spans the upsampled frame.

  Returns:
    ``(T, grid*patch, grid*patch, C)`` fragments; uint8 for uint8 input.
  """
  frames, (height, width) = _prepare(video, grid, patch, legacy_grid)
  offsets = fragment_offsets(
      height, width, grid=grid, patch=patch, rng=rng, mode=mode,
      num_segments=num_segments(frames.shape[0], aligned))
  return crop_fragments(frames, offsets, patch=patch)


def quality_consistent_views(
    video: np.ndarray, *, grid: int = 7, patch: int = 32,
    aligned: int | None = None, rng: RngLike = None,
    legacy_grid: bool = False) -> tuple[np.ndarray, np.ndarray]:
  """SSL-VQA's two quality-consistent views T' and T'' of one clip.

  Both views use the same frames; T' takes each mini-patch from the
  top-left half of its grid cell and T'' from the bottom-right half
  (``get_spatial_fragments_v2`` with ``top=True`` / ``top=False``), with
  independent draws. Unlike the original, the views still differ when a
  half-cell is not larger than the patch (frames below about 462 px on an
  axis): see ``offset_range`` for the rule.

  Args:
    video: ``(T, H, W, C)`` frames, 0-255 (uint8 or float).
    grid: cells per side.
    patch: patch side in pixels.
    aligned: frames sharing one offset set; ``None``: all T frames.
    rng: random generator or seed.
    legacy_grid: see ``fragment_sampler``.

  Returns:
    ``(view_top, view_bottom)``, each ``(T, grid*patch, grid*patch, C)``.
  """
  frames, (height, width) = _prepare(video, grid, patch, legacy_grid)
  rng = as_generator(rng)
  segments = num_segments(frames.shape[0], aligned)
  views = []
  for mode in ("top", "bottom"):
    offsets = fragment_offsets(height, width, grid=grid, patch=patch,
                               num_segments=segments, rng=rng, mode=mode)
    views.append(crop_fragments(frames, offsets, patch=patch))
  return views[0], views[1]
