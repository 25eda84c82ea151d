"""Tests of jvqa.heke's inputs and features: snippets, box averaging, pooling, extraction."""

import math

from flax import nnx
import jax.numpy as jnp
import numpy as np
import pytest

from jvqa.errors import InputError
from jvqa.heke import blind, clips, features, store
from jvqa.io import video
from jvqa.models import heke
from jvqa.models import store as model_store

TINY_R2P1D = {"widths": (8, 8, 8, 8), "layers": (1, 1, 1, 1), "hidden": 4}


# --------------------------------------------------------------------------
# Snippet indices (reference §2.3).


def test_live_250_frames_gives_the_documented_starts():
  idx = clips.snippet_indices(250)
  assert idx.shape == (12, 8)
  assert idx[:, 0].tolist() == [9, 28, 47, 67, 86, 106, 125, 145, 164, 184, 203, 223]
  assert idx.max() == 237
  np.testing.assert_array_equal(np.diff(idx, axis=1), 2)


def _formula(n, t, span_frames, ts):
  """The reference's formula written out per snippet (int() of a float)."""
  stride = (n - 2 * 10 - span_frames) / (t - 1)
  return [int(i * stride + 10 - 1) for i in range(t)]


@pytest.mark.parametrize("n", [217, 240, 479, 480, 500, 600])
def test_snippet_starts_follow_the_formula_and_ts_switches_at_480(n):
  ts = 2 if n < 480 else 4
  idx = clips.snippet_indices(n)
  assert idx[:, 0].tolist() == _formula(n, 12, ts * 8, ts)
  np.testing.assert_array_equal(np.diff(idx, axis=1), ts)
  assert idx.min() >= 0 and idx.max() < n


def test_authentic_videos_use_ten_snippets():
  idx = clips.snippet_indices(240, clips.AUTHENTIC_SNIPPETS)
  assert idx.shape == (10, 8)
  assert idx[:, 0].tolist() == _formula(240, 10, 16, 2)


def test_resnet_pairs_are_p_and_p_plus_ts():
  idx = clips.pair_indices(250)
  assert idx.shape == (20, 2)
  assert idx[:, 0].tolist() == _formula(250, 20, 2, 2)
  np.testing.assert_array_equal(idx[:, 1] - idx[:, 0], 2)
  assert clips.pair_indices(600)[0].tolist() == [9, 13]


def test_short_videos_stay_inside_the_video():
  # 32 frames: the original's indices fit (a negative stride), so they are kept.
  idx = clips.snippet_indices(32)
  assert idx[:, 0].tolist() == _formula(32, 12, 16, 2)
  # 12 frames: the original would index frame -15; jvqa spreads the snippets evenly.
  idx = clips.snippet_indices(12)
  assert idx.min() == 0 and idx.max() == 11
  np.testing.assert_array_equal(np.diff(idx, axis=1), 1)
  # fewer frames than a snippet: the last frame repeats.
  assert clips.snippet_indices(5)[0].tolist() == [0, 1, 2, 3, 4, 4, 4, 4]
  with pytest.raises(ValueError, match="at least one frame"):
    clips.snippet_indices(0)


# --------------------------------------------------------------------------
# Spatial averaging and normalisation.


@pytest.mark.parametrize("size,scale", [((768, 432), 2), ((832, 480), 2), ((1920, 1088), 4),
                                        ((640, 480), 2), ((352, 288), 2), ((704, 576), 3),
                                        ((1280, 720), 3), ((960, 540), 3), ((1920, 1080), 4),
                                        ((176, 144), 1)])
def test_box_scale_matches_the_reference_table(size, scale):
  assert clips.box_scale(*size) == scale


def test_box_average_crops_then_averages_blocks():
  rng = np.random.default_rng(0)
  frame = rng.integers(0, 256, (7, 11, 3), dtype=np.uint8)
  out = clips.box_average(frame, 3)
  assert out.shape == (2, 3, 3) and out.dtype == np.float32
  want = frame[3:6, 6:9].astype(np.float64).mean(axis=(0, 1))
  np.testing.assert_allclose(out[1, 2], want, rtol=1e-6)
  np.testing.assert_array_equal(clips.box_average(frame, 1), frame.astype(np.float32))


def test_load_snippets_decodes_averages_and_normalises(tmp_path):
  rng = np.random.default_rng(1)
  frames = rng.integers(0, 256, (40, 64, 96, 3), dtype=np.uint8)
  path = tmp_path / "v.mp4"
  video.encode_frames(frames, path, 25)
  x = clips.load_snippets(str(path), 40, num_snippets=3, frames=4)
  assert x.shape == (3, 4, 64, 96, 3)
  idx = clips.snippet_indices(40, 3, 4)
  decoded = video.decode_frames(str(path), idx.reshape(-1)).reshape(3, 4, 64, 96, 3)
  want = (decoded / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
  np.testing.assert_allclose(x, want, atol=1e-5)
  pairs = clips.load_pairs(str(path), 40, num_pairs=4)
  assert pairs.shape == (4, 2, 64, 96, 3)


# --------------------------------------------------------------------------
# Pooled statistics and the store layout.


def test_pooled_statistics_are_mean_max_and_unbiased_std():
  rng = np.random.default_rng(2)
  f = rng.normal(size=(3, 2, 5, 4, 6)).astype(np.float32)
  got = np.asarray(heke.pooled_statistics(jnp.asarray(f), (1, 2, 3)))
  flat = f.reshape(3, -1, 6)
  want = np.concatenate([flat.mean(1), flat.max(1), flat.std(1, ddof=1)], axis=-1)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  # ddof=1, not 0: the two differ by sqrt(N/(N-1)).
  assert not np.allclose(got[:, 12:], flat.std(1), rtol=1e-3)


def _fake_store(v=5, t=3, widths=(4, 8, 12, 16), seed=0, higher_is_better=True):
  rng = np.random.default_rng(seed)
  levels = {f"f{i + 1}": rng.normal(size=(v, t, 3 * c)).astype(np.float32)
            for i, c in enumerate(widths)}
  return store.FeatureStore(
      names=np.asarray([f"v{i}" for i in range(v)]), mos=rng.uniform(1, 5, v).astype(np.float32),
      references=np.asarray([f"r{i // 2}" for i in range(v)]),
      scores=rng.normal(size=(v, t, 4)).astype(np.float32), levels=levels,
      meta={"source": "fake:train", "encoder": "r2p1d", "snippets": t,
            "higher_is_better": higher_is_better})


def test_store_features_select_levels_pools_and_group_f4():
  s = _fake_store()
  assert s.features().shape == (5, 3, 3 * (4 + 8 + 12 + 16))
  no_group = s.features(group_f4=False)
  np.testing.assert_array_equal(no_group, np.concatenate([s.levels[f"f{i}"] for i in
                                                          (1, 2, 3, 4)], -1))
  # f4 [pool, 4 heads, 4] -> [4 heads, pool, 4]: head 1's mean comes right after head 0's std.
  f4 = s.features(levels=(4,))
  np.testing.assert_array_equal(f4[..., 0:4], s.levels["f4"][..., 0:4])  # head 0 mean
  np.testing.assert_array_equal(f4[..., 4:8], s.levels["f4"][..., 16:20])  # head 0 max
  np.testing.assert_array_equal(f4[..., 12:16], s.levels["f4"][..., 4:8])  # head 1 mean
  only_std = s.features(levels=(1,), pools=("std",))
  np.testing.assert_array_equal(only_std, s.levels["f1"][..., 8:12])
  with pytest.raises(ValueError, match="pools"):
    s.features(pools=("median",))


def test_store_round_trip_and_bad_file(tmp_path):
  s = _fake_store()
  path = store.save(tmp_path / "x.npz", s)
  back = store.load(path)
  np.testing.assert_array_equal(back.features(), s.features())
  assert back.names.tolist() == s.names.tolist() and back.meta["source"] == "fake:train"
  assert back.database == "fake"
  (tmp_path / "bad.npz").write_bytes(b"nope")
  with pytest.raises(InputError, match="bad.npz: not a readable HEKE feature store"):
    store.load(tmp_path / "bad.npz")
  both = store.concat([s, _fake_store(seed=1)])
  assert len(both) == 10 and both.meta["parts"] == ["fake:train", "fake:train"]


def test_blind_orients_heads_by_the_score_sense():
  s = _fake_store(v=8)
  # Head 0 is an exact DMOS of the MOS: quality-oriented SRCC +1, raw -1.
  s.scores[:, :, 0] = -s.mos[:, None]
  result = blind.completely_blind(s)
  assert result["heads"]["GMSD"]["srcc"] == pytest.approx(1.0)
  assert result["heads"]["GMSD"]["srcc_raw"] == pytest.approx(-1.0)
  assert list(result["heads"]) == list(heke.KNOWLEDGE) + ["combined"]
  s.meta["higher_is_better"] = False  # a DMOS database: the same head now ranks backwards.
  assert blind.completely_blind(s)["heads"]["GMSD"]["srcc"] == pytest.approx(-1.0)
  preds = blind.head_predictions(s)
  want = s.scores.astype(np.float64).mean(1).mean(1)
  np.testing.assert_allclose(preds["combined"], want, rtol=1e-9)


# --------------------------------------------------------------------------
# Extraction on the tiny demo corpus with a tiny random model.


def random_model(seed=0):
  """A tiny HekeR2p1d with random weights, without compiling a random init."""
  model = model_store.blank(lambda: heke.HekeR2p1d(**TINY_R2P1D, rngs=nnx.Rngs(0)))
  rng = np.random.default_rng(seed)
  for path, var in nnx.iter_graph(model):
    if not isinstance(var, (nnx.Param, nnx.BatchStat)):
      continue
    shape, name = var.get_value().shape, str(path[-1])
    if name == "kernel":
      value = rng.normal(size=shape) / math.sqrt(np.prod(shape[:-1]))
    elif name in ("scale", "var"):
      value = np.ones(shape)
    elif name == "bias" and len(path) > 1 and str(path[-2]).startswith("group_conv"):
      value = rng.normal(size=shape) * 0.1
    else:
      value = np.zeros(shape)
    var.set_value(jnp.asarray(value, jnp.float32))
  model.eval()
  return model


class Broken:
  """A data source whose record ``bad`` holds no video."""

  def __init__(self, source, bad):
    self.source, self.bad = source, bad
    self.dataset_info = source.dataset_info

  def __len__(self):
    return len(self.source)

  def __getitem__(self, i):
    record = dict(self.source[i])
    if i == self.bad:
      record["video"] = b"not a video"
    return record


def test_extract_writes_a_store_and_skips_a_broken_video(tiny_dir, tmp_path):
  from jvqa.train import sources
  source = sources.open_source("demo/tiny:pretrain", tiny_dir)
  broken = Broken(source, 3)
  bad_name = source[3]["name"].decode()
  lines = []
  model = random_model()
  path = features.extract(model, broken, tmp_path, label="demo/tiny:pretrain",
                          videos_per_batch=2, log=lines.append)
  assert path == str(tmp_path / "demo_tiny_pretrain.npz")
  skip_lines = [line for line in lines if ": skipped " in line]
  assert len(skip_lines) == 1, lines
  assert skip_lines[0].startswith(f"heke features demo/tiny:pretrain: skipped {bad_name}: "), lines
  s = store.load(path)
  n = len(source) - 1
  assert bad_name not in s.names.tolist() and len(s) == n
  assert s.meta["skipped"][0][0] == bad_name
  assert s.scores.shape == (n, 12, 4)
  assert {k: v.shape for k, v in s.levels.items()} == {f"f{i}": (n, 12, 24) for i in (1, 2, 3, 4)}
  assert s.meta["higher_is_better"] is True and s.meta["score_range"] == [0.0, 100.0]
  assert s.meta["knowledge"] == list(heke.KNOWLEDGE)
  for i, name in enumerate(s.names):  # the reference of every demo version is its scene's.
    assert s.references[i] == "0/" + name.split("/")[1]
  # The stored numbers are the model's on the video's snippets (batching and padding
  # change nothing).
  position = [source[i]["name"].decode() for i in range(len(source))].index(s.names[0])
  record = source[position]
  x = clips.load_snippets(record["video"], int(record["num_frames"]))
  scores, feats = nnx.jit(lambda m, x: m.scores_and_features(x))(model, jnp.asarray(x))
  np.testing.assert_allclose(s.scores[0], scores, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(s.levels["f3"][0], feats[2], rtol=1e-4, atol=1e-5)
  # A rerun finds the store and does not recompute it.
  lines.clear()
  assert features.extract(model, broken, tmp_path, label="demo/tiny:pretrain",
                          log=lines.append) == path
  assert lines == [f"heke features demo/tiny:pretrain: {path} exists, not recomputed"]


def test_extract_refuses_a_source_of_only_broken_videos(tiny_dir, tmp_path):
  records = [{"video": b"", "name": b"a.mp4", "mos": 1.0, "num_frames": 10}]
  with pytest.raises(InputError, match="^x:train: no readable video"):
    features.extract(random_model(), records, tmp_path, label="x:train", log=lambda _: None)
  with pytest.raises(InputError, match="not a HEKE model"):
    features.extract(nnx.Linear(2, 2, rngs=nnx.Rngs(0)), records, tmp_path / "b",
                     label="x:train", log=lambda _: None)
