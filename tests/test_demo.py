"""Tests of the demo corpus: the score formula, the scenes, the splits, the builds.

The fast tests build the ``tiny`` config (6 scenes, 4 distortions, 80x64
frames) in seconds; ``-m slow`` builds the real ``default`` corpus.
"""

import collections
import contextlib
import io
import math
import os
import re

import numpy as np
import pytest
import tensorflow_datasets as tfds
from scipy import ndimage, signal

from data_builders.demo import demo_dataset_builder
from jvqa.data import build, demo, demo_sources, distortions
from jvqa.errors import JvqaError
from jvqa.io import video

# --------------------------------------------------------------------------
# The score formula on synthetic frames.


def _clip(seed: int = 0, shape=(4, 40, 48)) -> np.ndarray:
  """A smooth random luma clip (blurred noise), float64 in [0, 255]."""
  rng = np.random.default_rng(seed)
  noise = ndimage.gaussian_filter(rng.normal(size=shape), (0, 2, 2))
  return np.clip(128 + 400 * noise, 0, 255)


def test_identical_clips_score_the_maximum():
  ref = _clip()
  assert demo.score_version(ref, ref.copy()) == {"ssim": 1.0, "psnr": None, "mos": 100.0}
  assert demo.quality_score(1.0, math.inf) == 100.0


def test_ssim_matches_a_direct_implementation():
  """Against Wang et al.'s definition: 11x11 Gaussian window, 'valid' borders."""
  ref, dist = _clip(1), _clip(1) + np.random.default_rng(2).normal(0, 8, (4, 40, 48))
  taps = np.exp(-(np.arange(11) - 5) ** 2 / (2 * 1.5 ** 2))
  window = np.outer(taps, taps) / taps.sum() ** 2
  c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
  expected = []
  for x, y in zip(ref, dist):
    f = lambda a: signal.convolve2d(a, window, mode="valid")
    mx, my = f(x), f(y)
    vx, vy, cov = f(x * x) - mx ** 2, f(y * y) - my ** 2, f(x * y) - mx * my
    expected.append(np.mean((2 * mx * my + c1) * (2 * cov + c2)
                            / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))))
  np.testing.assert_allclose(demo.ssim_frames(ref, dist), expected, rtol=1e-10)


def test_more_blur_scores_lower():
  ref = _clip(3)
  scores = [demo.score_version(ref, ndimage.gaussian_filter(ref, (0, s, s)))["mos"]
            for s in (0.5, 1, 2, 4)]
  assert scores == sorted(scores, reverse=True) and len(set(scores)) == 4
  assert all(score < 100 for score in scores)


def test_more_noise_scores_lower():
  ref = _clip(4)
  rng = np.random.default_rng(5)
  noisy = [np.clip(ref + rng.normal(0, s, ref.shape), 0, 255) for s in (1, 4, 16, 64)]
  scores = [demo.score_version(ref, dist)["mos"] for dist in noisy]
  assert scores == sorted(scores, reverse=True) and len(set(scores)) == 4


def test_quality_score_bounds_and_monotonicity():
  assert demo.quality_score(0.0, 10.0) == 0.0
  assert demo.quality_score(-0.3, 5.0) == 0.0  # Negative SSIM counts as 0.
  assert demo.quality_score(1.0, 50.0) == 100.0
  grid = [(s, p) for s in np.linspace(0, 1, 11) for p in np.linspace(0, 60, 13)]
  for s, p in grid:
    assert 0 <= demo.quality_score(s, p) <= 100
    assert demo.quality_score(s, p) <= demo.quality_score(min(s + 0.1, 1), p)
    assert demo.quality_score(s, p) <= demo.quality_score(s, p + 5)


def test_ssim_rejects_mismatched_or_tiny_clips():
  with pytest.raises(ValueError):
    demo.ssim_frames(np.zeros((2, 20, 20)), np.zeros((2, 20, 22)))
  with pytest.raises(ValueError):
    demo.ssim_frames(np.zeros((2, 10, 20)), np.zeros((2, 10, 20)))


# --------------------------------------------------------------------------
# Scenes.


def test_area_resize():
  weights = demo_sources.area_matrix(7, 3)
  np.testing.assert_allclose(weights.sum(axis=1), 1)
  frames = np.random.default_rng(0).integers(0, 256, (2, 8, 12, 3), dtype=np.uint8)
  halved = demo_sources.area_resize(frames, 4, 6)
  blocks = frames.reshape(2, 4, 2, 6, 2, 3).astype(float).mean(axis=(2, 4))
  np.testing.assert_allclose(halved, blocks, atol=0.5 + 1e-4)
  assert demo_sources.area_resize(frames, 8, 12) is frames


def test_crop_box_keeps_the_aspect_and_stays_inside():
  assert demo_sources.crop_box(720, 1280, 144, 176, (0.5, 0.5), 1.0) == (0, 200, 720, 880)
  top, left, h, w = demo_sources.crop_box(272, 640, 144, 176, (0.9, 0.95), 2.0)
  assert (h, w) == (136, 166) and top + h <= 272 and left + w <= 640


def test_default_scenes():
  scenes = demo.DEFAULT_SPEC.scenes
  assert len({s.name for s in scenes}) == len(scenes) == 32
  assert collections.Counter(s.content for s in scenes) == {"real": 16, "procedural": 16}
  for scene in scenes:
    if scene.content == "real":
      scene.check_window(demo.DEFAULT_SPEC.num_frames)
      _, _, h, w = scene.crop(demo.DEFAULT_SPEC.height, demo.DEFAULT_SPEC.width)
      assert h >= demo.DEFAULT_SPEC.height and w >= demo.DEFAULT_SPEC.width  # No upscaling.
  with pytest.raises(JvqaError, match="cross the shot cut at frame 76"):
    demo_sources.RealScene("x", "bikes", 60).check_window(32)
  with pytest.raises(JvqaError, match="not all in"):
    demo_sources.RealScene("x", "carphone_pristine", 100).check_window(32)


def test_shot_cuts_are_where_the_frames_jump():
  rgb = video.decode_frames(demo_sources.samples.sample_video("bikes"))
  small = rgb[:, ::4, ::4].astype(np.float32)
  change = np.abs(np.diff(small, axis=0)).mean(axis=(1, 2, 3))
  cuts = tuple(int(i) + 1 for i in np.flatnonzero(change > 40))
  assert cuts == demo_sources.SHOT_CUTS["bikes"]


def test_procedural_scenes_render_the_same_moving_frames_every_time():
  """Moving, and seeded: an unseeded generator would draw afresh on every open."""
  for scene in demo.DEFAULT_SPEC.scenes:
    if scene.content == "procedural":
      frames = scene.frames(64, 80, 6, 25)
      assert frames.shape == (6, 64, 80, 3) and frames.dtype == np.uint8
      assert np.any(frames[0] != frames[-1]), scene.name
      np.testing.assert_array_equal(scene.frames(64, 80, 6, 25), frames, scene.name)


# --------------------------------------------------------------------------
# Splits.


def _check_splits(spec: demo.DemoSpec, splits: dict[str, list[str]]) -> None:
  """Every scene in one split, counts as specified, test/pristine shots unshared."""
  names = [name for scenes in splits.values() for name in scenes]
  assert sorted(names) == sorted(s.name for s in spec.scenes)
  by_name = {s.name: s for s in spec.scenes}
  for split, (real, procedural) in spec.split_sizes.items():
    counts = collections.Counter(by_name[n].content for n in splits[split])
    assert (counts["real"], counts["procedural"]) == (real, procedural), split
  for split in demo.GROUP_SPLITS:
    groups = {by_name[n].group for n in splits[split]}
    others = {by_name[n].group for s, ns in splits.items() if s != split for n in ns}
    assert not groups & others, split


def test_default_splits():
  splits = demo.assign_splits(demo.DEFAULT_SPEC)
  _check_splits(demo.DEFAULT_SPEC, splits)
  assert splits == demo.assign_splits(demo.DemoSpec())  # Seeded.
  other = demo.assign_splits(demo.DemoSpec(seed=1))
  _check_splits(demo.DEFAULT_SPEC, other)
  assert other != splits


def test_bad_split_sizes_are_refused():
  sizes = dict(demo.DEFAULT_SPEC.split_sizes, test=(5, 3))
  with pytest.raises(JvqaError, match="hold 17 real scenes"):
    demo.assign_splits(demo.DemoSpec(split_sizes=sizes))
  # Real shots hold 5, 3 or 2 scenes: no whole shots make 1.
  sizes = dict(demo.DEFAULT_SPEC.split_sizes, test=(1, 3), pretrain=(8, 5))
  with pytest.raises(JvqaError, match="no whole shots make 1 real scenes for the test"):
    demo.assign_splits(demo.DemoSpec(split_sizes=sizes))
  with pytest.raises(JvqaError, match="must name exactly"):
    demo.assign_splits(demo.DemoSpec(split_sizes={"train": (16, 16)}))


def test_a_scene_that_fails_is_named(tmp_path):
  scenes = tuple(demo_sources.ProceduralScene(f"s{i}", "testsrc2=size={w}x{h}:rate={r}")
                 for i in range(4))
  scenes += (demo_sources.ProceduralScene("broken", "nosuchsource=size={w}x{h}"),)
  spec = demo.DemoSpec(scenes=scenes, width=32, height=24, num_frames=4, kinds=(5,),
                       split_sizes={split: (0, 1) for split in demo.SPLITS})
  with pytest.raises(JvqaError, match="^demo scene broken: lavfi graph 'nosuchsource"):
    demo.generate(spec, tmp_path, workers=1)


# --------------------------------------------------------------------------
# The tiny build.


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
  """The ``tiny`` config built once (2 worker processes): (builder, data_dir).

  The line ``ensure_demo`` printed is in ``builder.printed``.
  """
  data_dir = tmp_path_factory.mktemp("data")
  out = io.StringIO()
  with contextlib.redirect_stdout(out):
    builder = demo.ensure_demo(data_dir, config="tiny", workers=2)
  builder.printed = out.getvalue()
  return builder, data_dir


def _read(data_dir, config: str) -> dict[str, list[dict]]:
  """Every example of every split, read through ``tfds.data_source``."""
  out = {}
  for split in demo.SPLITS:
    source = tfds.data_source(f"demo/{config}", split=split, data_dir=os.fspath(data_dir))
    out[split] = [source[i] for i in range(len(source))]
  return out


def _text(value) -> str:
  return value.decode() if isinstance(value, bytes) else str(value)


def _check_examples(spec: demo.DemoSpec, examples: dict[str, list[dict]],
                    min_ordered: float) -> None:
  """The properties every demo build has (see the README)."""
  kinds = (0,) + tuple(spec.kinds)
  scene_splits = collections.defaultdict(set)
  by_scene = collections.defaultdict(dict)
  for split, split_examples in examples.items():
    names = {_text(e["name"]) for e in split_examples}
    for e in split_examples:
      scene, name = _text(e["scene"]), _text(e["name"])
      scene_splits[scene].add(split)
      k = int(name.split("/")[0])
      assert name == f"{k}/{scene}.mp4"
      assert _text(e["reference"]) == f"0/{scene}.mp4"
      assert _text(e["distortion"]) == distortions.DISTORTIONS[k].family
      assert int(e["level"]) == distortions.DISTORTIONS[k].level
      assert (e["width"], e["height"], e["num_frames"]) == (
          spec.width, spec.height, spec.num_frames)
      assert e["fps"] == pytest.approx(spec.fps)
      assert video.probe(e["video"]).num_frames == spec.num_frames
      assert math.isnan(e["mos_std"]) and 0 <= e["mos"] <= 100
      assert _text(e["reference"]) in names  # The reference is in the same split.
      by_scene[scene][k] = float(e["mos"])
  assert all(len(splits) == 1 for splits in scene_splits.values())
  pristine = {_text(e["scene"]) for e in examples["pristine"]}
  ordered = pairs = 0
  for scene, scores in by_scene.items():
    if scene in pristine:
      assert scores == {0: 100.0}
      continue
    assert sorted(scores) == list(kinds)
    assert scores[0] == 100.0 and max(v for k, v in scores.items() if k) < 100
    for k in spec.kinds:
      if k + 1 in spec.kinds and distortions.DISTORTIONS[k + 1].level > 1:
        pairs += 1
        ordered += scores[k] > scores[k + 1]
  assert pairs and ordered >= min_ordered * pairs


def test_tiny_build(tiny):
  builder, data_dir = tiny
  assert re.fullmatch(r"jvqa: building the demo/tiny corpus \(first use\) in \S+ \.\.\. "
                      r"done in \d+ s\n", builder.printed)
  spec = demo.TINY_SPEC
  assert builder.info.full_name == "demo/tiny/1.0.0"
  examples = _read(data_dir, "tiny")
  versions = 1 + len(spec.kinds)
  assert {s: len(e) for s, e in examples.items()} == {
      split: versions * sum(spec.split_sizes[split]) if split != "pristine"
      else sum(spec.split_sizes[split]) for split in demo.SPLITS}
  _check_examples(spec, examples, min_ordered=1.0)
  metadata = builder.info.metadata
  assert metadata["splits"] == demo.assign_splits(spec)
  assert metadata["higher_is_better"] is True and metadata["score"] == "formula"
  assert build.skipped_counts(builder) == {split: 0 for split in demo.SPLITS}


def test_tiny_bytes_are_the_work_files(tiny):
  builder, data_dir = tiny
  work = data_dir / "downloads" / "demo" / f"tiny-{demo.TINY_SPEC.fingerprint()}"
  source = builder.as_data_source(split="labelled")
  for example in (source[i] for i in range(len(source))):
    assert example["video"] == (work / _text(example["name"])).read_bytes()
  info = video.probe(work / "0" / "carphone_a.mp4")
  assert (info.pix_fmt, info.codec) == ("yuv420p", "h264")


def test_ensure_demo_returns_a_built_corpus_quietly(tiny, capsys):
  _, data_dir = tiny
  capsys.readouterr()
  builder = demo.ensure_demo(data_dir, config="tiny")
  assert builder.is_prepared()
  assert capsys.readouterr().out == ""  # A build would have printed its line.


def test_module_main_prints_the_summary(tiny, capsys):
  _, data_dir = tiny
  capsys.readouterr()
  assert demo.main(["--data_dir", os.fspath(data_dir), "--config", "tiny"]) == 0
  out = capsys.readouterr().out
  assert out.startswith("demo/tiny/1.0.0: ")
  assert "  labelled: 5 examples, 0 skipped" in out


def test_generate_reuses_finished_files(tiny, monkeypatch):
  _, data_dir = tiny
  work = data_dir / "downloads" / "demo" / f"tiny-{demo.TINY_SPEC.fingerprint()}"
  (work / demo.SCORES_DIR / "life.json").unlink()  # Only rescored, not remade.

  def fail(*args, **kwargs):
    raise AssertionError("a finished file was made again")

  monkeypatch.setattr(distortions, "make_version", fail)
  monkeypatch.setattr(demo, "make_reference", fail)
  records, splits = demo.generate(demo.TINY_SPEC, work, workers=1)
  assert splits == demo.assign_splits(demo.TINY_SPEC)
  assert records["life"]["versions"]["9"]["mos"] < records["life"]["versions"]["8"]["mos"]


def test_build_command_builds_the_demo(tmp_path):
  # The demo needs no downloaded files: no --manual_dir.
  builder = build.build("demo", data_dir=tmp_path / "data", config="tiny")
  assert builder.is_prepared()
  assert build.summary(builder).splitlines()[2] == "  labelled: 5 examples, 0 skipped"


def test_builder_configs():
  names = [c.name for c in demo_dataset_builder.Builder.BUILDER_CONFIGS]
  assert names == ["default", "tiny"]
  assert demo_dataset_builder.Builder.name == "demo"


# --------------------------------------------------------------------------
# The real corpus.


@pytest.mark.slow
def test_default_build(tmp_path):
  builder = demo.ensure_demo(tmp_path, config="default")  # Its time: BENCHMARKS.md.
  spec = demo.DEFAULT_SPEC
  examples = _read(tmp_path, "default")
  assert {s: len(e) for s, e in examples.items()} == {
      "pretrain": 130, "labelled": 52, "unlabelled": 91, "test": 91, "pristine": 4}
  _check_splits(spec, builder.info.metadata["splits"])
  _check_examples(spec, examples, min_ordered=0.95)
  scores = np.array([e["mos"] for split in demo.VERSION_SPLITS for e in examples[split]
                     if _text(e["distortion"]) != "reference"])
  assert scores.std() > 15
  assert np.all(np.histogram(scores, bins=10, range=(0, 100))[0] > 0)
