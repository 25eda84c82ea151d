"""Tests of scene grouping (jvqa.data.scenes) and ST-VQRL scene items (jvqa.data.items)."""

import logging

import numpy as np
import pytest

from jvqa.data import fragments, items, scenes
from jvqa.io import video


def meta(name, reference=None, distortion=None, frames=30, size=(80, 96)):
  """A record's metadata (what ``read_metadata`` returns)."""
  reference = reference or name
  if distortion is None:
    distortion = "reference" if reference == name else "blur"
  return {"name": name, "reference": reference, "distortion": distortion,
          "num_frames": frames, "width": size[1], "height": size[0]}


class CountingSource(list):
  """A list source that counts how often records are read."""
  reads = 0

  def __getitem__(self, i):
    CountingSource.reads += 1
    return super().__getitem__(i)


def test_record_metadata_decodes_bytes_and_defaults_reference():
  record = {"name": b"a.mp4", "num_frames": np.int32(9), "width": 4,
            "height": 2, "video": b"..."}
  assert scenes.record_metadata(record) == meta("a.mp4", frames=9, size=(2, 4))
  record.update(reference=b"r.mp4", distortion=b"mpeg2")
  assert scenes.record_metadata(record)["distortion"] == "mpeg2"


def test_read_metadata_caches(tmp_path):
  source = CountingSource([{"name": f"v{i}", "num_frames": 3, "width": 4,
                            "height": 2} for i in range(3)])
  cache = tmp_path / "index" / "meta.json"
  first = scenes.read_metadata(source, cache=cache)
  reads = CountingSource.reads
  assert scenes.read_metadata(source, cache=cache) == first
  assert CountingSource.reads == reads  # served from the cache
  scenes.read_metadata(source[:2], cache=cache)  # other length: read again
  assert len(scenes.read_metadata(source[:2], cache=cache)) == 2


def test_group_scenes(caplog):
  metadata = [
      meta("r0"), meta("d0a", "r0"), meta("d0b", "r0"),
      meta("d0c", "r0", size=(64, 96)),  # another size: left out
      meta("r1", frames=50), meta("d1a", "r1"),  # one version only
      meta("orphan", "gone"),  # its reference is missing
  ]
  with caplog.at_level(logging.WARNING, logger="jvqa.data"):
    groups = scenes.group_scenes(metadata, min_distorted=2)
  assert groups == [scenes.Scene("r0", 0, (1, 2), 30)]
  assert "d0c" in caplog.text and "r1" in caplog.text and "gone" in caplog.text
  assert scenes.reference_indices(metadata) == [0, 4]
  assert [s.name for s in scenes.group_scenes(metadata)] == ["r0", "r1"]


@pytest.fixture(scope="module")
def scene_source(tmp_path_factory):
  """A reference and three distorted versions (different noise), 72x88."""
  folder = tmp_path_factory.mktemp("scene")
  rng = np.random.default_rng(0)
  records = []
  for v in range(4):
    path = str(folder / f"v{v}.mp4")
    video.encode_frames(rng.integers(0, 256, (16, 72, 88, 3), np.uint8), path,
                        fps=25)
    records.append({"video": open(path, "rb").read(), "name": f"v{v}",
                    "num_frames": 16})
  return records


def test_scene_item_cuts_every_version_with_the_shared_offsets(scene_source):
  item = items.SceneItem(scene_source, k=2, clip_len=3, frame_interval=2,
                         num_clips=2, frame_margin=5,
                         fragments=items.Fragments(grid=4, patch=16))
  scene = scenes.Scene("v0", 0, (1, 2, 3), 16)
  plan = item.plan(scene, np.random.default_rng(1))
  assert plan.versions[0] == 0 and len(set(plan.versions)) == 3
  assert plan.indices.max() < 16 - 5
  out = item.load(plan)
  assert out.shape == (3, 2, 3, 64, 64, 3)
  offsets = fragments.fragment_offsets(
      72, 88, grid=4, patch=16, rng=np.random.default_rng(plan.offset_seed))
  for version, pixels in zip(plan.versions, out):
    frames = video.decode_frames(scene_source[version]["video"], plan.indices)
    expected = fragments.crop_fragments(frames, offsets, patch=16)
    np.testing.assert_array_equal(pixels.reshape(expected.shape), expected)


def test_scene_item_reports_a_bad_version(scene_source):
  source = scene_source[:2] + [{**scene_source[2], "video": b"junk"}]
  item = items.SceneItem(source, k=2, clip_len=3, frame_interval=2,
                         fragments=items.Fragments(grid=4, patch=16))
  failure = item.random_map(scenes.Scene("v0", 0, (1, 2), 16),
                            np.random.default_rng(0))
  assert isinstance(failure, items.Failure) and failure.name == "v0"
