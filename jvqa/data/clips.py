"""Model inputs straight from a video file: decode sampled frames, cut them.

``load_fragments(source, indices, ...)`` returns exactly
``fragment_sampler(decode_frames(source, indices), ...)`` and ``load_views``
exactly ``quality_consistent_views(decode_frames(source, indices), ...)``,
pixel for pixel and with the same random draws, but without making the
full-size RGB frames:

* each sampled frame is handed over as decoded (``jvqa.io.video.map_frames``)
  and cut at once, so only the fragments are held, never N decoded frames;
* when it is an even-sized yuv420p frame (what H.264, HEVC and VP9 video
  mostly decode to), the patches are cut in YUV space and only they are
  converted to RGB (``jvqa.data.fragments.crop_fragments_yuv420p``): about
  1/16 of the conversion of a 720p frame, which otherwise costs as much as
  decoding it;
* other frames (yuv444p, 10-bit, odd sizes...) are converted whole and
  cropped;
* frames smaller than the grid (``grid * patch`` px on a side) are decoded
  to RGB and go through ``fragment_sampler`` / ``quality_consistent_views``
  (bilinear upsampling, then cropping).

Offsets are drawn with ``fragment_offsets`` for the decoded frame size, one
set per ``aligned``-frame segment of ``indices``: frame ``k`` of ``indices``
uses set ``k // aligned``. A frame index that appears in two segments is
decoded once and cut once per segment.
"""

from __future__ import annotations

from collections.abc import Sequence

import av
import numpy as np

from jvqa.data import fragments
from jvqa.data.temporal import RngLike, as_generator
from jvqa.errors import VideoError
from jvqa.io import video
from jvqa.io.yuv import ColorTags

VIEW_MODES = ("top", "bottom")


def load_fragments(source: video.Source, indices: Sequence[int] | np.ndarray,
                   *, grid: int = 7, patch: int = 32,
                   aligned: int | None = None, rng: RngLike = None,
                   mode: str = "random", legacy_grid: bool = False,
                   name: str | None = None) -> np.ndarray:
  """Decodes the frames at ``indices`` and cuts FAST-VQA fragments from them.

  Equals ``fragment_sampler(decode_frames(source, indices, name=name),
  grid=grid, patch=patch, aligned=aligned, rng=rng, mode=mode,
  legacy_grid=legacy_grid)`` bit for bit, drawing the same numbers from
  ``rng``; see the module docstring for how it is faster.

  Args:
    source: a path, or the encoded bytes of a video file.
    indices: frame indices in presentation order (any order, repeats
      allowed), e.g. from ``jvqa.data.temporal``.
    grid: cells per side.
    patch: patch side in pixels.
    aligned: consecutive entries of ``indices`` sharing one offset set;
      ``None``: all of them.
    rng: random generator or seed.
    mode: ``"random"``, ``"top"``, ``"bottom"`` or ``"center"``; see
      ``jvqa.data.fragments.offset_range``.
    legacy_grid: see ``fragment_sampler`` (matters only for upsampled
      frames).
    name: how to name a bytes source in error messages.

  Returns:
    ``(len(indices), grid*patch, grid*patch, 3)`` uint8 RGB fragments.

  Raises:
    VideoError: bad or truncated input, an index out of range, or a frame
      size that changes within the video; the message names the file.
    ValueError: no indices, a bad ``mode``, or ``aligned`` not dividing
      their number.
  """
  if mode not in fragments.MODES:
    raise ValueError(f"mode must be one of {fragments.MODES}, got {mode!r}")
  return _load(source, indices, (mode,), grid=grid, patch=patch,
               aligned=aligned, rng=rng, legacy_grid=legacy_grid,
               name=name)[0]


def load_views(source: video.Source, indices: Sequence[int] | np.ndarray,
               *, grid: int = 7, patch: int = 32, aligned: int | None = None,
               rng: RngLike = None, legacy_grid: bool = False,
               name: str | None = None) -> tuple[np.ndarray, np.ndarray]:
  """SSL-VQA's two quality-consistent views of the frames at ``indices``.

  Equals ``quality_consistent_views(decode_frames(source, indices,
  name=name), grid=grid, patch=patch, aligned=aligned, rng=rng,
  legacy_grid=legacy_grid)`` bit for bit, with the same draws: the top-left
  (``"top"``) offsets, then the bottom-right ones. Each frame is decoded
  once and both views cut from it.

  Args:
    source: a path, or the encoded bytes of a video file.
    indices: frame indices in presentation order (any order, repeats
      allowed).
    grid: cells per side.
    patch: patch side in pixels.
    aligned: consecutive entries of ``indices`` sharing one offset set;
      ``None``: all of them.
    rng: random generator or seed.
    legacy_grid: see ``fragment_sampler``.
    name: how to name a bytes source in error messages.

  Returns:
    ``(view_top, view_bottom)``, each ``(len(indices), grid*patch,
    grid*patch, 3)`` uint8.

  Raises:
    VideoError, ValueError: as ``load_fragments``.
  """
  top, bottom = _load(source, indices, VIEW_MODES, grid=grid, patch=patch,
                      aligned=aligned, rng=rng, legacy_grid=legacy_grid,
                      name=name)
  return top, bottom


def _load(source, indices, modes: tuple[str, ...], *, grid: int, patch: int,
          aligned: int | None, rng: RngLike, legacy_grid: bool,
          name: str | None) -> list[np.ndarray]:
  """One fragment array per mode, all cut from one decode of the frames."""
  positions = np.asarray(indices)
  if positions.size == 0:
    raise ValueError("no frame indices to load")
  segments = fragments.num_segments(positions.size, aligned)
  cutter = _Cutter(positions.reshape(-1), modes, grid=grid, patch=patch,
                   segments=segments, rng=as_generator(rng),
                   label=video.source_name(source, name))
  video.map_frames(source, positions, cutter, name=name)
  return cutter.result(legacy_grid)


def _slots(positions: np.ndarray) -> dict[int, np.ndarray]:
  """The entries of ``positions`` holding each distinct frame index."""
  order = np.argsort(positions, kind="stable")
  distinct, starts = np.unique(positions[order], return_index=True)
  groups = np.split(order, starts[1:])
  return {int(p): rows for p, rows in zip(distinct, groups)}


def _cut(frame: av.VideoFrame, sets: np.ndarray, patch: int) -> np.ndarray:
  """One frame's fragments for each of ``sets`` (K, gh, gw, 2): (K, h, w, 3)."""
  count = sets.shape[0]
  block = fragments.yuv420p_block(patch)
  if video.is_yuv420p(frame) and min(frame.height, frame.width) >= block:
    planes = [np.broadcast_to(p, (count,) + p.shape)
              for p in video.frame_planes(frame)]
    return fragments.crop_fragments_yuv420p(planes, sets, patch=patch,
                                            tags=ColorTags.of(frame))
  rgb = video.frame_to_rgb(frame)[None]
  return np.concatenate([fragments.crop_fragments(rgb, offsets, patch=patch)
                         for offsets in sets])


class _Cutter:
  """``map_frames`` function of ``_load``: cuts each frame as it is decoded.

  The first frame (the lowest index) gives the size. When the frames cover
  the grid, the offsets are drawn then, as ``fragment_sampler`` would draw
  them for the decoded clip, and every frame is cut as it comes. Otherwise
  the frames are kept as RGB and ``result`` runs the RGB path on them.
  """

  def __init__(self, positions: np.ndarray, modes: tuple[str, ...], *,
               grid: int, patch: int, segments: int,
               rng: np.random.Generator, label: str):
    self.positions, self.modes, self.label = positions, modes, label
    self.grid, self.patch, self.rng = grid, patch, rng
    self.aligned = positions.size // segments
    self.segment = np.arange(positions.size) // self.aligned
    self.segments = segments
    self.slots = _slots(positions)
    self.size = None
    self.offsets = None  # (modes, segments, grid, grid, 2) once drawn.
    self.out = None  # (modes, frames, side, side, 3) fragments.
    self.rgb = {}  # index -> RGB frame, when frames need upsampling.

  def __call__(self, position: int, frame: av.VideoFrame) -> None:
    self._check_size(frame)
    if self.offsets is None:
      self.rgb[position] = video.frame_to_rgb(frame)
      return
    slots = self.slots[position]
    used, which = np.unique(self.segment[slots], return_inverse=True)
    sets = self.offsets[:, used].reshape((-1,) + self.offsets.shape[2:])
    crops = _cut(frame, sets, self.patch)
    crops = crops.reshape((len(self.modes), used.size) + crops.shape[1:])
    self.out[:, slots] = crops[:, which]

  def _check_size(self, frame: av.VideoFrame) -> None:
    """Takes the first frame's size (and draws); rejects a change of size."""
    size = (frame.height, frame.width)
    if self.size is None:
      self.size = size
      self._draw(*size)
    elif size != self.size:
      raise VideoError(
          self.label, f"frame size changes within the video: {self.size[1]}x"
          f"{self.size[0]} then {size[1]}x{size[0]}")

  def _draw(self, height: int, width: int) -> None:
    """Draws every mode's offsets unless the frames must be upsampled first."""
    side = self.grid * self.patch
    if fragments.upsampled_size(height, width, side, side)[2] != 1.0:
      return
    self.offsets = np.stack([
        fragments.fragment_offsets(
            height, width, grid=self.grid, patch=self.patch,
            num_segments=self.segments, rng=self.rng, mode=mode)
        for mode in self.modes])
    self.out = np.empty(
        (len(self.modes), self.positions.size, side, side, 3), np.uint8)

  def result(self, legacy_grid: bool) -> list[np.ndarray]:
    """The fragments of each mode, running the RGB path if frames were kept."""
    if self.offsets is not None:
      return list(self.out)
    frames = np.stack([self.rgb[int(p)] for p in self.positions])
    options = dict(grid=self.grid, patch=self.patch, aligned=self.aligned,
                   rng=self.rng, legacy_grid=legacy_grid)
    if self.modes == VIEW_MODES:
      return list(fragments.quality_consistent_views(frames, **options))
    return [fragments.fragment_sampler(frames, mode=self.modes[0], **options)]
