"""Tests of the WELL-Set corpus (``jvqa.data.well_set`` and its builder).

The fast tests build the ``tiny`` config from the builder's dummy_data/ (2
clips of 24 frames at 176x162, 4 kinds; most of the time is the metrics'
compilation); ``-m slow`` builds the ``demo`` config.
"""

import collections
import os
import pathlib
import shutil
import time

import av
import numpy as np
import pytest
import tensorflow_datasets as tfds

from data_builders.well_set import well_set_dataset_builder as well_set_builder
from jvqa import fr
from jvqa.data import build, builder_lib, builder_testing, well_set
from jvqa.data import heke_distortions as heke
from jvqa.errors import JvqaError, VideoError
from jvqa.io import video

DUMMY = pathlib.Path(well_set_builder.__file__).parent / "dummy_data"
# The columns of fr_scores: HEKE's heads.
HEAD_ORDER = ("gmsd", "st_gmsd", "st_rred", "ms_ssim")
tfds.disable_progress_bar()


# --------------------------------------------------------------------------
# Segments.


def test_segments_of_a_well_set_clip():
  assert well_set.segment_starts(250).tolist() == [22, 84, 148, 210]


@pytest.mark.parametrize("num_frames,num_segments", [
    (16, 1), (16, 4), (17, 4), (24, 2), (32, 4), (33, 4), (64, 4), (250, 4), (251, 8),
    (480, 4)])
def test_segments_lie_inside_the_clip(num_frames, num_segments):
  starts = well_set.segment_starts(num_frames, num_segments)
  assert starts.dtype == np.int32 and starts.shape == (num_segments,)
  assert (starts >= 0).all() and (starts + 16 <= num_frames).all()
  assert (starts % 2 == 0).all() and (np.diff(starts) >= 0).all()


def test_segments_are_spread_without_overlap_when_the_clip_allows():
  starts = well_set.segment_starts(64)
  assert starts.tolist() == [0, 16, 32, 48]
  assert (np.diff(well_set.segment_starts(250)) >= 16).all()


def test_too_short_clip_is_refused():
  with pytest.raises(ValueError, match="15 frames; a segment needs 16"):
    well_set.segment_starts(15)


def test_demo_kinds_are_two_levels_of_every_family():
  counts = collections.Counter(heke.HEKE_DISTORTIONS[k].family for k in well_set.DEMO_KINDS)
  assert counts == {family: 2 for family in heke.HEKE_FAMILIES}
  assert {heke.HEKE_DISTORTIONS[k].level for k in well_set.DEMO_KINDS} == {2, 5}


# --------------------------------------------------------------------------
# The tiny build.


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
  """The tiny config built from dummy_data/ (in one process); its examples by name."""
  data_dir = tmp_path_factory.mktemp("data")
  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(well_set_builder.Builder, "DISTORT_WORKERS", 1)
    builder = builder_testing.build(well_set_builder.Builder, manual_dir=DUMMY,
                                    data_dir=data_dir, config="tiny")
  examples = {e["name"].decode(): e for e in builder_testing.read_split(builder, "train")}
  return builder, examples


def _reference_frames(path) -> list[av.VideoFrame]:
  """Every frame of a yuv420p reference, as heke_distortions is given them."""
  with av.open(os.fspath(path)) as container:
    return list(container.decode(video=0))


def test_scores_are_jvqa_fr_on_the_stored_bytes(tiny, tmp_path):
  """Recomputed from each example's bytes (read through jvqa.fr.read_luma) and its reference."""
  _, examples = tiny
  assert len(examples) == 8
  for name, example in examples.items():
    stored = tmp_path / name.replace("/", "_")
    stored.write_bytes(example["video"])
    ref = fr.read_luma(DUMMY / example["reference"].decode())
    dst = fr.read_luma(stored)
    starts = example["segments"]
    assert (starts >= 0).all() and (starts + 16 <= example["num_frames"]).all()
    labels = fr.weak_labels(ref, dst, segment_starts=starts)
    expected = np.stack([labels[m]["segments"] for m in HEAD_ORDER], axis=1)
    np.testing.assert_allclose(example["fr_scores"], expected, rtol=1e-6, err_msg=name)


def test_stored_versions_are_the_distorted_frames_exactly(tiny):
  """The lossless file decodes to the very luma the distortion produced."""
  _, examples = tiny
  for scene in ("bbb_wide", "testsrc2"):
    frames = _reference_frames(DUMMY / f"{scene}.mp4")
    for kind in well_set.TINY_KINDS:
      pictures, _ = heke.heke_frames(kind, frames, 25, name=scene)
      expected = np.stack([p.to_ndarray(format="yuv420p")[:p.height] for p in pictures])
      stored = well_set.clip_luma(examples[f"{kind}/{scene}.mp4"]["video"])
      np.testing.assert_array_equal(stored, expected, err_msg=f"{kind}/{scene}")


def test_stronger_levels_score_worse(tiny):
  _, examples = tiny
  assert well_set.FR_METRICS == HEAD_ORDER
  gmsd, ms_ssim = 0, 3
  for family in ("H264_crf", "MPEG2"):
    by_level = collections.defaultdict(list)
    for example in examples.values():
      if example["family"].decode() == family:
        by_level[int(example["level"])].append(example["fr_scores"])
    mild, strong = np.mean(by_level[1], axis=(0, 1)), np.mean(by_level[6], axis=(0, 1))
    assert strong[gmsd] > mild[gmsd] and strong[ms_ssim] < mild[ms_ssim], family
    # Every metric orders them: ST-GMSD and ST-RRED grow too.
    assert (strong[:3] > mild[:3]).all(), (family, mild, strong)


def test_broken_pristine_video_is_skipped_and_counted(tiny):
  builder, examples = tiny
  assert build.skipped_counts(builder) == {"train": 1}
  assert dict(builder.info.metadata["skipped"]["train"]["examples"]) == {
      "broken.mp4": "not a readable video container (Invalid data found when "
                    "processing input)"}
  assert not any("broken" in name for name in examples)


def test_a_failing_version_skips_only_itself(tmp_path, monkeypatch):
  """A codec failure in one kind: the clip's other versions are still made."""
  src = tmp_path / "src"
  src.mkdir()
  shutil.copy(DUMMY / "testsrc2.mp4", src / "testsrc2.mp4")
  real = heke.heke_frames

  def failing(kind, *args, **kwargs):
    if kind == "MPEG2_29":
      raise VideoError(kwargs.get("label", "?"), "mpeg2video failed (simulated)")
    return real(kind, *args, **kwargs)

  monkeypatch.setattr(heke, "heke_frames", failing)
  skips = builder_lib.SkipLog("train")
  versions = well_set.distort_references(
      os.fspath(src), os.fspath(tmp_path / "out"), kinds=("MPEG2_5", "MPEG2_29"), seed=0,
      workers=1, skips=skips)
  assert [v.name for v in versions] == ["MPEG2_5/testsrc2.mp4"]
  assert os.path.isfile(versions[0].path)
  assert skips.skipped == [("MPEG2_29/testsrc2.mp4", "mpeg2video failed (simulated)")]


def test_odd_sized_pristine_video_is_skipped_once(tmp_path):
  src = tmp_path / "src"
  src.mkdir()
  frames = np.full((16, 34, 35, 3), 100, np.uint8)
  video.encode_frames(frames, src / "odd.mkv", 25, pix_fmt="yuv444p")
  skips = builder_lib.SkipLog("train")
  versions = well_set.distort_references(
      os.fspath(src), os.fspath(tmp_path / "out"), kinds=("MPEG2_5", "MPEG2_29"), seed=0,
      workers=1, skips=skips)
  assert versions == []
  assert skips.skipped == [("odd.mkv", "odd frame size 35x34 (HEKE's yuv420p needs even)")]


def test_too_short_pristine_video_is_skipped_once(tmp_path):
  src = tmp_path / "src"
  src.mkdir()
  video.encode_frames(np.full((12, 48, 64, 3), 90, np.uint8), src / "short.mp4", 25)
  skips = builder_lib.SkipLog("train")
  versions = well_set.distort_references(
      os.fspath(src), os.fspath(tmp_path / "out"), kinds=("MPEG2_5", "MPEG2_29"), seed=0,
      workers=1, skips=skips)
  assert versions == []
  assert skips.skipped == [("short.mp4", "12 frames; a segment needs 16")]


def test_a_version_of_another_length_is_skipped(tmp_path):
  """make_example refuses a version whose frames differ from its reference's."""
  short = tmp_path / "short.mp4"
  video.encode_frames(video.decode_frames(DUMMY / "testsrc2.mp4")[:20], short, 25)
  version = well_set.Version(os.fspath(short), "MPEG2_5/testsrc2.mp4", "MPEG2_5",
                             "testsrc2", os.fspath(DUMMY / "testsrc2.mp4"), "testsrc2.mp4")
  skips = builder_lib.SkipLog("train")
  assert well_set.make_example(version, skips, num_segments=2) is None
  assert skips.skipped[0][0] == "MPEG2_5/testsrc2.mp4"
  assert "differ from its reference's (24, 162, 176)" in skips.skipped[0][1]


def test_ensure_builds_tiny_from_the_dummy_data_once(tmp_path, capsys, monkeypatch):
  monkeypatch.setattr(well_set_builder.Builder, "DISTORT_WORKERS", 1)
  builder = well_set.ensure_well_set_demo(tmp_path, config="tiny", workers=1)
  assert "building the well_set/tiny corpus (first use)" in capsys.readouterr().out
  assert builder_testing.split_sizes(builder) == {"train": 8}
  again = well_set.ensure_well_set_demo(tmp_path, config="tiny")
  assert again.is_prepared() and capsys.readouterr().out == ""


def test_ensure_refuses_the_default_config(tmp_path):
  with pytest.raises(JvqaError, match="builds 'demo' or 'tiny', not 'default'"):
    well_set.ensure_well_set_demo(tmp_path, config="default")


# --------------------------------------------------------------------------
# The demo config.


@pytest.mark.slow
def test_demo_config_builds_from_nothing(tmp_path, capsys):
  start = time.monotonic()
  builder = well_set.ensure_well_set_demo(tmp_path)
  seconds = time.monotonic() - start
  assert "well_set/demo corpus (first use)" in capsys.readouterr().out
  assert builder_testing.split_sizes(builder) == {"train": 240}
  assert build.skipped_counts(builder) == {"train": 0}
  examples = builder_testing.read_split(builder, "train")
  scores = np.stack([e["fr_scores"] for e in examples])
  assert scores.shape == (240, 4, 4) and np.isfinite(scores[..., :3]).all()
  # MS-SSIM is NaN where a negative contrast-structure term meets a
  # fractional exponent (packet loss on zoneplate): rare.
  assert np.isnan(scores[..., 3]).sum() <= 4
  assert {(e["width"], e["height"], e["num_frames"]) for e in examples} == {(288, 162, 32)}
  assert {tuple(e["segments"]) for e in examples} == {(0, 4, 12, 16)}
  levels = np.array([int(e["level"]) for e in examples])
  gmsd, ms_ssim = scores[:, :, 0].mean(axis=1), np.nanmean(scores[:, :, 3], axis=1)
  assert gmsd[levels == 5].mean() > gmsd[levels == 2].mean()
  assert np.nanmean(ms_ssim[levels == 5]) < np.nanmean(ms_ssim[levels == 2])
  # A second call finds it built.
  assert well_set.ensure_well_set_demo(tmp_path).info.splits["train"].num_examples == 240
  print(f"demo build: {seconds:.0f} s")


def test_jvqa_build_asks_for_manual_dir_only_where_the_config_reads_one(tmp_path):
  from jvqa.errors import ConfigError  # pylint: disable=g-import-not-at-top
  with pytest.raises(ConfigError, match="--manual_dir"):
    build.build(well_set.NAME, data_dir=str(tmp_path), config="tiny")
  demo_builder = build.make_builder(well_set.NAME, data_dir=str(tmp_path), config="demo")
  assert not demo_builder.needs_manual_dir()
