"""BVQA-HEKE's weak-label corpus (WELL-Set): distorted versions with FR scores.

HEKE pre-trains its encoder on pristine clips degraded by 90 distortions
(``jvqa.data.heke_distortions``), each version labelled by four
full-reference metrics (``jvqa.fr``) over 4 segments of 16 frames. This
module holds what the ``well_set`` TFDS builder (data_builders/well_set/)
calls:

* ``segment_starts``: where the segments lie. HEKE stores 4 start frames
  per version but never published how it chose them. Here segment i is
  centred in the i-th of ``num_segments`` equal parts of the clip, its
  start rounded down to an even frame (ST-RRED scores frame pairs (2p,
  2p+1), so a segment then holds 8 whole pairs) and kept inside the clip.
  For a 250-frame WELL-Set clip: 22, 84, 148, 210 (no overlap, away from
  the first frames, which are intra-coded by every encoder). For short
  clips the segments overlap (32 frames: 0, 4, 12, 16).
* ``distort_references``: the HEKE versions of pristine videos, into a work
  folder (finished versions are kept); a failing version is skipped and
  the others are still made.
* ``read_distort_output``: the versions of a ``jvqa distort --set heke``
  output folder, with their references.
* ``make_example``: one version's example: its stored (lossless) bytes,
  and ``fr_scores`` computed from exactly those bytes against the reference
  (the expensive part, run per version so that Beam can spread it).
* ``render_references``: the pristine clips of the ``demo`` config, drawn
  from the demo corpus's scenes (``jvqa.data.demo_sources``).
* ``ensure_well_set_demo``: builds the ``demo`` (or ``tiny``) config on
  first use, as ``jvqa.data.demo.ensure_demo`` does.

``fr_scores`` are raw metric values, one row per segment, in the head order
of HEKE's model (``FR_METRICS``): GMSD, ST-GMSD, ST-RRED (higher is worse)
and MS-SSIM (higher is better). A trainer maps them to labels with
``jvqa.fr.rescale`` and ``jvqa.fr.soft_clamp``. References are not
examples: HEKE's info pickle lists distorted versions only.
"""

import concurrent.futures
import dataclasses
import hashlib
import multiprocessing
import os
import sys
import time
from collections.abc import Iterable, Sequence

import av
import numpy as np

from jvqa import fr
from jvqa.fr import labels as fr_labels
from jvqa.fr import ms_ssim as fr_ms_ssim
from jvqa.data import builder_lib, demo, demo_sources, distortions
from jvqa.data import heke_distortions as heke
from jvqa.errors import InputError, JvqaError, VideoError
from jvqa.io import files, video

NAME = "well_set"
# The metrics in the order of HEKE's four heads (``fr_scores`` columns).
FR_METRICS = ("gmsd", "st_gmsd", "st_rred", "ms_ssim")
FR_HIGHER_IS_BETTER = {"gmsd": False, "st_gmsd": False, "st_rred": False,
                       "ms_ssim": True}
# A segment: 16 frames, of which HEKE's clip takes 8 at stride 2.
SEGMENT_LENGTH = fr_labels.SEGMENT_LENGTH
CLIP_FRAMES, CLIP_STRIDE = 8, 2
NUM_SEGMENTS = 4
SEGMENT_RULE = ("segment i of S is centred in the i-th of S equal parts of the "
                "clip, its start rounded down to an even frame and kept in "
                "[0, num_frames - 16] (HEKE's own choice is unpublished)")
# The pristine clips the build makes versions of (under the work folder).
REFERENCES_DIR = "references"
VERSIONS_DIR = "versions"


def _levels(levels: Sequence[int]) -> tuple[str, ...]:
  """The kinds of the given levels of every family, in table order."""
  return tuple(k for k, d in heke.HEKE_DISTORTIONS.items() if d.level in levels)


# demo: levels 2 and 5 of each of the 15 families (30 kinds).
DEMO_KINDS = _levels((2, 5))
# tiny: the mildest and strongest level of two fast families.
TINY_KINDS = ("H264_crf_23", "H264_crf_42", "MPEG2_5", "MPEG2_29")


# --------------------------------------------------------------------------
# Segments and scores.


def segment_starts(num_frames: int, num_segments: int = NUM_SEGMENTS,
                   length: int = SEGMENT_LENGTH) -> np.ndarray:
  """The first frame of each segment (see the module docstring).

  Args:
    num_frames: frames in the clip.
    num_segments: segments wanted (they overlap in short clips).
    length: frames per segment.

  Returns:
    (num_segments,) int32 starts, non-decreasing, even, in
    ``[0, num_frames - length]``.

  Raises:
    ValueError: a clip shorter than one segment.
  """
  if num_frames < length:
    raise ValueError(f"{num_frames} frames; a segment needs {length}")
  if num_segments < 1:
    raise ValueError(f"num_segments must be positive, got {num_segments}")
  last = num_frames - length
  centres = (np.arange(num_segments) + 0.5) * num_frames / num_segments
  starts = 2 * np.floor((centres - length / 2) / 2)
  return np.clip(starts, 0, last - last % 2).astype(np.int32)


def _y_plane(position: int, frame: av.VideoFrame) -> np.ndarray:
  """A frame's luma as HEKE's distortions see it (a ``map_frames`` function).

  yuv420p and yuvj420p frames give their Y plane as decoded (yuvj420p keeps
  its full-range values, as ``heke_distortions`` does); other formats are
  converted to yuv420p first.
  """
  del position
  if frame.format.name not in ("yuv420p", "yuvj420p"):
    frame = frame.reformat(format="yuv420p")
  plane = frame.planes[0]
  rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
  return rows[:, :plane.width].copy()


def clip_luma(source, name: str | None = None) -> np.ndarray:
  """(N, H, W) uint8 luma of every frame of a video file or its bytes."""
  frames = video.map_frames(source, None, _y_plane, name=name)
  if not frames:
    raise VideoError(name or video.source_name(source), "no frames")
  return np.stack(frames)


# The luma of the last reference read: the versions of a scene come in a row.
_REFERENCE_CACHE: dict = {}


def reference_luma(path: str) -> np.ndarray:
  """``clip_luma`` of a reference file, cached for the next version of its scene."""
  stat = os.stat(path)
  key = (os.path.abspath(path), stat.st_mtime_ns, stat.st_size)
  if key not in _REFERENCE_CACHE:
    _REFERENCE_CACHE.clear()
    _REFERENCE_CACHE[key] = clip_luma(path)
  return _REFERENCE_CACHE[key]


def fr_scores(reference_y: np.ndarray, distorted_y: np.ndarray,
              starts: Sequence[int]) -> np.ndarray:
  """(S, 4) float32 raw per-segment scores, columns in ``FR_METRICS`` order.

  Each is ``jvqa.fr.segment_scores`` (the mean of a metric's per-frame
  values over the segment) of ``jvqa.fr.weak_labels`` on the luma pair.
  """
  labels = fr.weak_labels(reference_y, distorted_y, metrics=FR_METRICS,
                          segment_starts=list(starts))
  return np.stack([labels[m]["segments"] for m in FR_METRICS], axis=1).astype(np.float32)


# --------------------------------------------------------------------------
# Versions.


@dataclasses.dataclass(frozen=True)
class Version:
  """One distorted version to turn into an example.

  Attributes:
    path: the version's file (lossless x264).
    name: its example name, ``<kind>/<scene>.mp4``.
    kind: a key of ``HEKE_DISTORTIONS``.
    scene: the reference's base name.
    reference: the reference's file.
    reference_name: how examples name the reference (its path relative to
      the input folder).
  """
  path: str
  name: str
  kind: str
  scene: str
  reference: str
  reference_name: str


def _version(root: str, kind: str, src: str, src_root: str) -> Version:
  """The ``Version`` of kind ``kind`` of ``src`` in the work folder ``root``."""
  relpath = heke.version_relpath(kind, src)
  return Version(os.path.join(root, relpath), relpath, kind, distortions.scene_name(src),
                 src, _relative(src, src_root))


def _relative(path: str, folder: str) -> str:
  """``path`` relative to ``folder`` if inside it, else its base name."""
  rel = os.path.relpath(os.path.abspath(path), os.path.abspath(folder))
  return os.path.basename(path) if rel.startswith(os.pardir) else rel


def source_problem(src: str) -> str | None:
  """Why a pristine video cannot be distorted at all, or None."""
  try:
    info = video.probe(src)
  except VideoError as e:
    return e.reason
  if info.width % 2 or info.height % 2:
    return f"odd frame size {info.width}x{info.height} (HEKE's yuv420p needs even)"
  if info.num_frames < SEGMENT_LENGTH:
    return f"{info.num_frames} frames; a segment needs {SEGMENT_LENGTH}"
  return None


def _one_by_one(src: str, root: str, kinds: Sequence[str], seed: int
                ) -> tuple[list[str], list[tuple[str, str]]]:
  """Makes the missing versions of ``src`` one kind at a time.

  Returns:
    ``(kinds made or present, [(kind, reason)] of those that failed)``.
  """
  made, failed = [], []
  for kind in kinds:
    dst = os.path.join(root, heke.version_relpath(kind, src))
    try:
      if not os.path.exists(dst):
        heke.make_heke_version(kind, src, dst, seed=seed)
      made.append(kind)
    except JvqaError as e:
      failed.append((kind, getattr(e, "reason", str(e))))
  return made, failed


def distort_references(src: str, root: str, *, kinds: Sequence[str], seed: int,
                       workers: int, skips: builder_lib.SkipLog) -> list[Version]:
  """The HEKE versions of the pristine videos under ``src``, made in ``root``.

  Videos are distorted in ``workers`` processes (``heke_distort_folder``;
  a version already in ``root`` is kept). A video that cannot be used at
  all (unreadable, odd-sized, shorter than a segment, named like another,
  or no version of it can be made) is skipped as one entry named by its
  path under ``src``. When only some versions of a video fail, its
  versions are made again one by one and only the failing ones are
  skipped (named ``<kind>/<scene>.mp4``).

  Returns:
    The versions made, sorted by scene, then in table order.
  """
  report = heke.heke_distort_folder(src, root, workers=workers, kinds=kinds, seed=seed,
                                    progress=False)
  by_source, frames = {}, {}
  for entry in report.entries:
    by_source.setdefault(entry["source"], []).append(entry["kind"])
    frames[entry["source"]] = min(frames.get(entry["source"], entry["frames"]),
                                  entry["frames"])
  for source, count in frames.items():
    if count < SEGMENT_LENGTH:
      skips.skip(_relative(source, src), f"{count} frames; a segment needs {SEGMENT_LENGTH}")
      del by_source[source]
  for path, reason in report.failures:
    problem = source_problem(path)
    if problem is not None or reason.startswith("same name"):
      skips.skip(_relative(path, src), problem or reason)
      continue
    made, failed = _one_by_one(path, root, kinds, seed)
    if not made:
      skips.skip(_relative(path, src), reason)
      continue
    for kind, why in failed:
      skips.skip(heke.version_relpath(kind, path), why)
    by_source[os.path.abspath(path)] = made
  versions = [_version(root, kind, source, src)
              for source, made in by_source.items() for kind in made]
  return sort_versions(versions)


def sort_versions(versions: Iterable[Version]) -> list[Version]:
  """Versions by scene, then in ``HEKE_KINDS`` order."""
  order = {kind: i for i, kind in enumerate(heke.HEKE_KINDS)}
  return sorted(versions, key=lambda v: (v.scene, v.reference, order[v.kind]))


def _references_in(folder: str, listed: set[str]) -> dict[str, str]:
  """``{scene name: path}`` of the videos under ``folder`` not in ``listed``."""
  found = {}
  for path in files.iter_video_files(folder):
    if os.path.relpath(path, folder) not in listed:
      found.setdefault(distortions.scene_name(path), path)
  return found


def read_distort_output(folder: str, *, kinds: Sequence[str],
                        skips: builder_lib.SkipLog) -> list[Version]:
  """The HEKE versions of kinds ``kinds`` listed in a ``jvqa distort`` output.

  A version's reference is its manifest ``source`` if that file exists,
  else a video of the same base name elsewhere in ``folder``; a version
  without one is skipped.

  Raises:
    InputError: the manifest lists no HEKE version.
  """
  entries = [e for e in distortions.read_manifest(folder).values()
             if e.get("set") == "heke" and e.get("kind") in heke.HEKE_DISTORTIONS]
  if not entries:
    raise InputError(os.path.join(folder, distortions.MANIFEST),
                     "lists no HEKE version (make them with jvqa distort --set heke)")
  wanted = set(kinds)
  local = _references_in(folder, {e["path"] for e in entries})
  versions = []
  for entry in entries:
    if entry["kind"] not in wanted:
      continue
    source = entry.get("source") or ""
    if not os.path.isfile(source):
      source = local.get(entry["name"], "")
    if not source:
      skips.skip(entry["path"], f"its reference {entry['name']} is neither at "
                 f"{entry.get('source')!r} nor in the folder")
      continue
    versions.append(Version(os.path.join(folder, entry["path"]), entry["path"],
                            entry["kind"], entry["name"], source,
                            _relative(source, folder)))
  return sort_versions(versions)


def make_example(version: Version, skips: builder_lib.SkipLog, *,
                 num_segments: int) -> dict | None:
  """The example of one version, or None (skipped and logged).

  The metrics run on the stored bytes themselves, so the luma they saw is
  what a reader of the example decodes.
  """
  distortion = heke.HEKE_DISTORTIONS[version.kind]
  example = builder_lib.video_example(
      version.path, name=version.name, mos=None, allow_missing_score=True, skips=skips,
      reference=version.reference_name, distortion=version.kind,
      family=distortion.family, level=distortion.level, scene=version.scene)
  if example is None:
    return None
  try:
    ref = reference_luma(version.reference)
    dst = clip_luma(example["video"], name=version.path)
    if dst.shape != ref.shape:
      raise VideoError(version.path, f"frames {dst.shape} differ from its reference's "
                       f"{ref.shape} ({version.reference_name})")
    starts = segment_starts(dst.shape[0], num_segments)
    scores = fr_scores(ref, dst, starts)
  except (JvqaError, ValueError, OSError) as e:
    skips.skip(version.name, getattr(e, "reason", None) or str(e))
    return None
  example.update(segments=starts, fr_scores=scores)
  return example


# --------------------------------------------------------------------------
# Generated references (config ``demo``).


@dataclasses.dataclass(frozen=True)
class SceneSpec:
  """Pristine clips rendered from the demo corpus's scenes.

  Attributes:
    scenes: names of ``demo_sources.DEFAULT_SCENES`` scenes.
    width: frame width (even; >= 161 for MS-SSIM's 5 scales).
    height: frame height (even; >= 161).
    num_frames: frames per clip (every scene's window must hold them).
    fps: frame rate.
    crf: x264 CRF of the references (yuv420p).
  """
  scenes: tuple[str, ...]
  width: int = 288
  height: int = 162
  num_frames: int = 32
  fps: int = 25
  crf: int = 10

  def fingerprint(self) -> str:
    """A short hash of everything that decides the rendered files."""
    return hashlib.sha1(repr(self).encode()).hexdigest()[:10]

  def demo_spec(self) -> demo.DemoSpec:
    """The ``DemoSpec`` that ``demo.make_reference`` renders with."""
    by_name = {scene.name: scene for scene in demo_sources.DEFAULT_SCENES}
    unknown = [name for name in self.scenes if name not in by_name]
    if unknown:
      raise JvqaError(f"{NAME}: unknown demo scene(s) {unknown}")
    return demo.DemoSpec(scenes=tuple(by_name[n] for n in self.scenes), width=self.width,
                         height=self.height, num_frames=self.num_frames, fps=self.fps,
                         crf=self.crf)


# Left out of the demo config: two more windows of carphone_a's shot, whose
# 176x144 source would be upscaled too (and they cost 60 examples).
_DEMO_LEFT_OUT = ("carphone_b", "carphone_mid")


def demo_scenes() -> tuple[str, ...]:
  """The demo config's scenes: those of the demo corpus's ``pretrain`` split.

  Its other splits' content (``test`` above all) stays unseen. Two of the
  10 are left out (``_DEMO_LEFT_OUT``), leaving 3 real and 5 procedural.
  """
  scenes = demo.assign_splits(demo.DEFAULT_SPEC)["pretrain"]
  return tuple(name for name in scenes if name not in _DEMO_LEFT_OUT)


def _render_task(scene, spec: demo.DemoSpec, path: str) -> str:
  """Renders one reference unless it exists; returns its path."""
  if not os.path.exists(path):
    demo.make_reference(scene, spec, path)
  return path


def render_references(spec: SceneSpec, folder: str, *, workers: int = 1) -> list[str]:
  """Renders the scenes of ``spec`` into ``folder/<scene>.mp4`` (existing files kept).

  Raises:
    JvqaError: an unknown scene, or one that cannot be rendered at this size.
  """
  demo_spec = spec.demo_spec()
  if min(spec.width, spec.height) < fr_ms_ssim.MIN_SIZE or spec.width % 2 or spec.height % 2:
    raise JvqaError(f"{NAME}: frames must be even-sized and at least "
                    f"{fr_ms_ssim.MIN_SIZE} px (MS-SSIM), got {spec.width}x{spec.height}")
  tasks = [(scene, os.path.join(folder, f"{scene.name}.mp4")) for scene in demo_spec.scenes]
  if workers <= 1 or len(tasks) <= 1:
    return [_render_task(scene, demo_spec, path) for scene, path in tasks]
  context = multiprocessing.get_context("spawn")
  try:
    with concurrent.futures.ProcessPoolExecutor(min(workers, len(tasks)),
                                                mp_context=context) as pool:
      futures = [pool.submit(_render_task, scene, demo_spec, path) for scene, path in tasks]
      return [future.result() for future in futures]
  except concurrent.futures.process.BrokenProcessPool as e:
    raise JvqaError(f"{NAME}: a process rendering the references died ({e}); rerun to "
                    "resume, or use one worker to see the error") from e


# --------------------------------------------------------------------------
# Building on first use.


def tiny_manual_dir() -> str:
  """The ``tiny`` config's input: the builder's dummy_data/ folder."""
  from data_builders.well_set import well_set_dataset_builder  # pylint: disable=g-import-not-at-top
  return os.path.join(os.path.dirname(well_set_dataset_builder.__file__), "dummy_data")


def ensure_well_set_demo(data_dir=None, *, config: str = "demo",
                         workers: int | None = None):
  """The ``well_set`` builder of config ``demo`` (or ``tiny``), built first if needed.

  ``demo`` renders its pristine clips (about 2 minutes on 2 cores); ``tiny``
  reads the builder's dummy_data/ (seconds, plus the metrics' compilation).

  Args:
    data_dir: the TFDS data dir (default: ``$TFDS_DATA_DIR``, else TFDS's).
    config: ``demo`` or ``tiny``.
    workers: processes rendering and distorting (default: one per core).

  Returns:
    The prepared builder (``builder.as_data_source("train")``).
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top  (slow)
  from jvqa.data import build  # pylint: disable=g-import-not-at-top
  if config not in ("demo", "tiny"):
    raise JvqaError(f"{NAME}: ensure_well_set_demo builds 'demo' or 'tiny', not {config!r}")
  builder = build.make_builder(NAME, data_dir=data_dir, config=config)
  if build.is_built(builder):
    return builder
  builder.DISTORT_WORKERS = workers
  manual_dir = tiny_manual_dir() if config == "tiny" else None
  print(f"jvqa: building the {NAME}/{config} corpus (first use) in "
        f"{builder.data_dir} ...", end=" ", flush=True)
  start, done = time.monotonic(), False
  try:
    with build.quiet_tfds():
      builder.download_and_prepare(
          download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
    done = True
  finally:
    print(f"done in {time.monotonic() - start:.0f} s" if done else "failed", flush=True)
  return builder


def main(argv=None) -> int:
  """``python -m jvqa.data.well_set [--data_dir D] [--config demo|tiny]``."""
  from jvqa.data import build  # pylint: disable=g-import-not-at-top
  return build.ensure_main(argv, prog="python -m jvqa.data.well_set",
                           description="Build the WELL-Set demo corpus (if not built).",
                           configs=("demo", "tiny"), default="demo", ensure=ensure_well_set_demo)


if __name__ == "__main__":
  sys.exit(main())
