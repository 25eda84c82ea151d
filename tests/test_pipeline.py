"""Tests of the grain input pipelines (jvqa.data.pipeline).

Records are small synthetic videos (96x80, 20 frames, a static smooth
texture whose brightness rises by ``RAMP`` per frame, encoded with x264 at
qp 0), turned into example dicts with ``builder_lib.video_example``; a list
of them is a random-access source. The sampling is scaled down (4-frame
clips, a 4x4 grid of 16 px patches) so that every test decodes little.
"""

import json
import logging
import os

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds
from jax.sharding import PartitionSpec as P

from jvqa import parallel
from jvqa.data import builder_lib, builder_testing, items, pipeline
from jvqa.data import normalize as normalize_lib
from jvqa.data import testing_builders
from jvqa.io import video

HEIGHT, WIDTH, FRAMES = 80, 96, 20
RAMP = 4  # brightness added per frame: pixels tell which frame they are from
SMALL = items.Fragments(grid=4, patch=16)  # 64 x 64 fragments
CLIP = dict(clip_len=4, frame_interval=2, fragments=SMALL)
EVAL = dict(fsize_t=2, fragments_t=2, frame_interval=2, num_clips=2,
            fragments=items.Fragments(grid=4, patch=16, aligned=4))
SCENE = dict(k=2, clip_len=4, frame_interval=2, num_clips=2, fragments=SMALL)
OFFSETS = (0, 30, -25, 50)  # brightness of a scene's versions, reference first


def texture(seed: int) -> np.ndarray:
  """A smooth (H, W, 3) texture in [40, 140]: low-res noise, upsampled."""
  low = np.random.default_rng(seed).uniform(40, 140, (HEIGHT // 8, WIDTH // 8, 3))
  return np.kron(low, np.ones((8, 8, 1)))


def frames(seed: int, offset: int = 0) -> np.ndarray:
  """Frame t = texture + offset + RAMP * t, uint8."""
  ramp = RAMP * np.arange(FRAMES)[:, None, None, None]
  return np.clip(texture(seed)[None] + offset + ramp, 0, 255).astype(np.uint8)


def write(folder, name: str, pixels: np.ndarray) -> str:
  """Encodes ``pixels`` near-losslessly into ``folder/name.mp4``."""
  path = os.path.join(folder, f"{name}.mp4")
  video.encode_frames(pixels, path, fps=25, options={"qp": 0})
  return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
  return str(tmp_path_factory.mktemp("pipeline_videos"))


@pytest.fixture(scope="module")
def records(folder):
  """Eight labelled examples, MOS 10, 20, ..., 80."""
  return [builder_lib.video_example(write(folder, f"v{i}", frames(i)),
                                    name=f"v{i}", mos=10.0 * (i + 1))
          for i in range(8)]


@pytest.fixture(scope="module")
def corrupt():
  """An example whose video is not a video."""
  return {"video": b"not a video", "name": "broken", "mos": 999.0,
          "mos_std": np.nan, "width": WIDTH, "height": HEIGHT, "fps": 25.0,
          "num_frames": FRAMES}


@pytest.fixture(scope="module")
def scene_records(folder):
  """Two scenes of 4 versions (brightness ``OFFSETS``) + a mis-sized version."""
  out = []
  for s in range(2):
    reference = f"s{s}_ref"
    for v, offset in enumerate(OFFSETS):
      name = reference if v == 0 else f"s{s}_d{v}"
      out.append(builder_lib.video_example(
          write(folder, name, frames(10 + s, offset)), name=name, mos=0.0,
          reference=reference, distortion="reference" if v == 0 else f"d{v}"))
  small = np.zeros((FRAMES, HEIGHT - 16, WIDTH, 3), np.uint8)
  out.append(builder_lib.video_example(
      write(folder, "s0_small", small), name="s0_small", mos=0.0,
      reference="s0_ref", distortion="resize"))
  return out


def take(stream, n: int) -> list[dict]:
  """The next ``n`` batches as numpy."""
  return [jax.tree.map(np.asarray, next(stream)) for _ in range(n)]


def assert_same(a: list[dict], b: list[dict]) -> None:
  assert len(a) == len(b)
  for x, y in zip(a, b):
    assert x.keys() == y.keys()
    for key in x:
      np.testing.assert_array_equal(x[key], y[key], err_msg=key)


def frame_levels(clip: np.ndarray) -> np.ndarray:
  """Mean brightness of each frame of a ``(T, H, W, 3)`` clip minus frame 0's."""
  means = clip.reshape(clip.shape[0], -1).astype(np.float64).mean(axis=1)
  return means - means[0]


# --- labelled / unlabelled ----------------------------------------------------


def test_labelled_shapes_dtypes_and_scaled_mos(records):
  with pipeline.labelled(records, batch_size=4, seed=0, mos_scale=0.01,
                         **CLIP) as stream:
    batch = next(stream)
  assert set(batch) == {"view1", "view2", "mos"}
  for key in ("view1", "view2"):
    assert batch[key].shape == (4, 4, 64, 64, 3)
    assert batch[key].dtype == np.uint8
  assert batch["mos"].dtype == np.float32
  assert set(np.round(batch["mos"] * 100).astype(int)) <= set(range(10, 81, 10))


def test_labelled_single_fragment_clip(records):
  with pipeline.labelled(records, batch_size=2, seed=0, views=False,
                         **CLIP) as stream:
    batch = next(stream)
  assert set(batch) == {"video", "mos"}
  assert batch["video"].shape == (2, 4, 64, 64, 3)


def test_views_share_frames_but_not_patches(records):
  with pipeline.labelled(records, batch_size=4, seed=3, **CLIP) as stream:
    batch = next(stream)
  for view1, view2 in zip(batch["view1"], batch["view2"]):
    levels = frame_levels(view1)
    # Frames at stride 2 (or wrapped round the end): the same in both views.
    np.testing.assert_allclose(frame_levels(view2), levels, atol=0.5)
    steps = np.round(np.diff(levels) / RAMP).astype(int)
    assert all(s == 2 or s < 0 for s in steps), steps
    assert not np.array_equal(view1, view2)


def test_same_seed_same_batches_other_seed_other_batches(records):
  def run(seed):
    with pipeline.labelled(records, batch_size=3, seed=seed, **CLIP) as s:
      return take(s, 4)  # crosses the epoch boundary (8 records)
  first = run(7)
  assert_same(first, run(7))
  other = run(8)
  assert not all(np.array_equal(a["view1"], b["view1"])
                 for a, b in zip(first, other))


def test_unlabelled_has_no_mos_and_cycles(records):
  with pipeline.unlabelled(records, batch_size=4, seed=1, indices=[0, 1, 2],
                           **CLIP) as stream:
    batches = take(stream, 3)  # 12 items from 3 records
  assert all(set(b) == {"view1", "view2"} for b in batches)


def test_indices_select_records(records):
  with pipeline.labelled(records, batch_size=2, seed=0, indices=[1, 3],
                         **CLIP) as stream:
    mos = np.concatenate([b["mos"] for b in take(stream, 3)])
  assert set(mos) == {20.0, 40.0}


def test_finite_epochs_end(records):
  with pipeline.labelled(records, batch_size=3, seed=0, num_epochs=1,
                         **CLIP) as stream:
    assert len(list(stream)) == 2  # 8 records: the last partial batch dropped


# --- skipping, state, sharding, normalisation ---------------------------------


def test_corrupt_record_is_skipped_and_counted(records, corrupt, caplog):
  source = records[:3] + [corrupt] + records[3:5]
  with caplog.at_level(logging.WARNING, logger="jvqa.data"):
    with pipeline.labelled(source, batch_size=2, seed=0, num_epochs=2,
                           **CLIP) as stream:
      batches = list(stream)
      stats = stream.stats
  assert len(batches) == 5  # 2 x 5 good records, the bad one twice skipped
  assert stats == {"batches": 5, "skipped": 2}
  assert "broken" in caplog.text
  assert 999.0 not in np.concatenate([b["mos"] for b in batches])


def test_state_restores_mid_epoch(records, corrupt):
  source = records + [corrupt]
  def build():
    return pipeline.labelled(source, batch_size=3, seed=5, **CLIP)
  with build() as stream:
    take(stream, 2)
    state = json.loads(json.dumps(stream.get_state()))  # as checkpointed
    expected = take(stream, 3)
    stats = stream.stats
  with build() as restored:
    restored.set_state(state)
    assert_same(take(restored, 3), expected)
    assert restored.stats == stats


def test_batches_are_sharded_over_data(records):
  mesh = parallel.make_mesh()
  assert mesh.devices.size == 2
  with pipeline.labelled(records, batch_size=4, seed=0, mesh=mesh,
                         **CLIP) as stream:
    batch = next(stream)
  for key in ("view1", "view2", "mos"):
    assert isinstance(batch[key], jax.Array)
    assert batch[key].sharding.spec == P("data")
    assert len(batch[key].sharding.device_set) == 2
  assert batch["view1"].dtype == np.uint8


def test_batch_size_must_divide_over_devices(records):
  with pytest.raises(ValueError, match="divisible"):
    pipeline.labelled(records, batch_size=3, seed=0, mesh=parallel.make_mesh(),
                      **CLIP)


def test_normalize_equals_numpy_twin():
  x = np.broadcast_to(np.arange(256, dtype=np.uint8)[:, None], (2, 256, 3))
  out = pipeline.normalize(x)
  assert out.dtype == np.float32
  np.testing.assert_array_max_ulp(np.asarray(out),
                                  normalize_lib.normalize_imagenet(x), maxulp=1)


@pytest.mark.slow
def test_two_workers_give_the_same_batches_and_restore(records, corrupt):
  source = records + [corrupt]
  def build(workers):
    return pipeline.labelled(
        source, batch_size=3, seed=2,
        options=pipeline.LoaderOptions(worker_count=workers), **CLIP)
  with build(0) as stream:
    expected = take(stream, 4)
    skipped = stream.stats["skipped"]
  with build(2) as stream:
    first = take(stream, 2)
    state = json.loads(json.dumps(stream.get_state()))
    assert_same(first + take(stream, 2), expected)
    assert stream.stats["skipped"] == skipped
  with build(2) as stream:
    stream.set_state(state)
    assert_same(take(stream, 2), expected[2:])


# --- scenes -------------------------------------------------------------------


def test_scene_items_share_frames_and_crop(scene_records):
  with pipeline.scenes(scene_records, batch_size=2, seed=0, **SCENE) as stream:
    batch = next(stream)
  video = batch["video"]
  assert video.shape == (2, 3, 2, 4, 64, 64, 3)  # (B, K, clips, T, h, w, 3)
  assert video.dtype == np.uint8
  for item in video.astype(np.float64):
    reference = item[0]
    offsets = []
    for version in item[1:]:
      diff = version - reference
      # Same crop and frames: a constant brightness step, no texture.
      assert diff.std() < 2.0
      offsets.append(int(round(diff.mean() / 5)) * 5)
    assert len(set(offsets)) == len(offsets)
    assert set(offsets) <= set(OFFSETS[1:])


def test_scene_stream_is_deterministic(scene_records):
  def run():
    with pipeline.scenes(scene_records, batch_size=1, seed=4, **SCENE) as s:
      return take(s, 3)
  assert_same(run(), run())


def test_scenes_need_k_versions(scene_records):
  with pytest.raises(ValueError, match="no scene"):
    pipeline.scenes(scene_records, batch_size=1, seed=0,
                    **{**SCENE, "k": len(OFFSETS)})


# --- evaluation ---------------------------------------------------------------


def test_evaluation_covers_every_record_once_in_order(records, corrupt, caplog):
  source = records[:4] + [corrupt] + records[4:6]
  with caplog.at_level(logging.WARNING, logger="jvqa.data"):
    stream = pipeline.evaluation(source, batch_size=4, seed=0, **EVAL)
    batches = take(stream, stream.num_batches)
  with pytest.raises(StopIteration):
    next(stream)
  assert stream.num_batches == 2 and stream.stats["skipped"] == 1
  assert "broken" in caplog.text
  names = np.concatenate([b["name"] for b in batches])
  mask = np.concatenate([b["mask"] for b in batches])
  expected = [f"v{i}" for i in range(4)] + ["broken"] + [f"v{i}" for i in (4, 5)]
  assert list(names[:7]) == expected and names[7] == ""
  assert list(mask) == [True] * 4 + [False] + [True] * 2 + [False]
  assert batches[0]["video"].shape == (4, 2, 4, 64, 64, 3)
  assert not batches[1]["video"][0].any()  # the corrupt record: zeros
  mos = np.concatenate([b["mos"] for b in batches])
  np.testing.assert_array_equal(mos[:4], [10, 20, 30, 40])


def test_evaluation_depends_only_on_seed_and_record(records):
  def run(batch_size, seed=0):
    stream = pipeline.evaluation(records[:3], batch_size=batch_size,
                                 seed=seed, **EVAL)
    return np.concatenate([b["video"] for b in stream])[:3]
  one = run(1)
  np.testing.assert_array_equal(one, run(2))
  assert not np.array_equal(one, run(1, seed=1))


def test_evaluation_sharded_with_mask_and_host_names(records):
  stream = pipeline.evaluation(records[:3], batch_size=2, seed=0,
                               mesh=parallel.make_mesh(), **EVAL)
  batch = next(stream)
  stream.close()
  assert batch["video"].sharding.spec == P("data")
  assert batch["mask"].sharding.spec == P("data")
  assert isinstance(batch["name"], np.ndarray)


# --- pristine corpus ----------------------------------------------------------


def test_pristine_corpus_and_draw(records, corrupt, folder):
  flat = np.full((FRAMES, HEIGHT, WIDTH, 3), 60, np.uint8)
  flat = flat + (RAMP * np.arange(FRAMES, dtype=np.uint8))[:, None, None, None]
  uniform = builder_lib.video_example(write(folder, "flat", flat), name="flat",
                                      mos=0.0)
  source = [uniform] + records[:2] + [corrupt]
  options = dict(clip_len=4, frame_interval=2, num_clips=4,
                 fragments=items.Fragments(grid=4, patch=16, aligned=4))
  corpus = pipeline.pristine_corpus(source, seed=0, **options)
  assert corpus.clips.shape == (12, 4, 64, 64, 3)
  assert corpus.names[:5] == ("flat#0", "flat#1", "flat#2", "flat#3", "v0#0")
  assert corpus.skipped == 1
  # Test mode: clips centred in 4 segments of (20 - 8 + 1) / 4 frames, so
  # they start at frames 1, 4, 8 and 11, each 4 frames at stride 2.
  levels = (corpus.clips[:4].reshape(4, 4, -1).mean(axis=-1) - 60) / RAMP
  np.testing.assert_allclose(levels, [[1, 3, 5, 7], [4, 6, 8, 10],
                                      [8, 10, 12, 14], [11, 13, 15, 17]],
                             atol=0.3)  # RGB -> YUV -> RGB: +-1 level
  again = pipeline.pristine_corpus(source, seed=0, **options)
  np.testing.assert_array_equal(again.clips, corpus.clips)
  drawn = corpus.draw(5, np.random.default_rng(0))
  assert drawn.shape == (5, 4, 64, 64, 3)
  assert len({c.tobytes() for c in drawn}) == 5


# --- a real TFDS ArrayRecord source -------------------------------------------


def test_tfds_array_record_source(records, folder, tmp_path):
  manual = tmp_path / "manual"
  manual.mkdir()
  entries = []
  for i in range(4):
    name = f"v{i}"
    os.link(os.path.join(folder, f"{name}.mp4"), manual / f"{name}.mp4")
    entries.append({"file": f"{name}.mp4", "name": name, "mos": 10.0 * (i + 1)})
  (manual / testing_builders.EXAMPLES).write_text(json.dumps(entries))
  builder_testing.build(testing_builders.ListedVideos, manual_dir=manual,
                        data_dir=tmp_path / "data")
  source = tfds.data_source("listed_videos", split="train",
                            data_dir=str(tmp_path / "data"))
  assert len(source) == 4
  by_name = {r["name"]: r for r in records}
  as_list = [by_name[source[i]["name"].decode()] for i in range(4)]
  def run(src):
    with pipeline.labelled(src, batch_size=2, seed=0, **CLIP) as stream:
      return take(stream, 2)
  assert_same(run(source), run(as_list))
