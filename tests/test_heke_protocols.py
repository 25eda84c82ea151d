"""Tests of jvqa.heke's splits, regressor and protocols (reference §4.3-4.6)."""

import contextlib
import io

from flax import nnx
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import stats

from jvqa.heke import protocols, regressor, splits, store

# --------------------------------------------------------------------------
# Splits.


def _references(num_refs, per_ref, prefix="ref"):
  return np.asarray([f"{prefix}{r}" for r in range(num_refs) for _ in range(per_ref)])


def _check_content_split(split, references):
  train_refs = set(references[split.train])
  test_refs = set(references[split.test])
  assert not train_refs & test_refs
  assert test_refs == set(split.test_references)
  # every video of a test reference is tested, every other one trained on.
  np.testing.assert_array_equal(np.sort(np.concatenate([split.train, split.test])),
                                np.arange(len(references)))
  assert set(np.flatnonzero(np.isin(references, list(test_refs)))) == set(split.test)


@pytest.mark.parametrize("num_refs,count", [(10, 45), (12, 66), (5, 10)])
def test_pair_splits_hold_out_every_pair_of_references(num_refs, count):
  references = _references(num_refs, 3)
  all_splits = splits.intra_splits(references, "live_vqa")
  assert len(all_splits) == count
  for split in all_splits:
    assert len(split.test_references) == 2 and split.test.size == 6
    _check_content_split(split, references)
  pairs = {frozenset(s.test_references) for s in all_splits}
  assert len(pairs) == count


def test_pairs_need_three_references():
  with pytest.raises(ValueError, match="at least 3"):
    splits.hold_out_pairs(_references(2, 4))


def test_ivc_ic_sets_are_the_documented_fifty():
  sets = splits.ivc_ic_test_sets()
  assert sets.shape == (50, 12)
  assert sets.min() >= 0 and sets.max() < 60
  assert all(len(set(s)) == 12 for s in sets.tolist())
  assert len({tuple(s) for s in sets.tolist()}) == 50
  strides = [int(np.unique(np.diff(s))[0]) for s in sets]
  assert all(len(np.unique(np.diff(s))) == 1 for s in sets)
  assert [strides.count(k) for k in (1, 2, 3, 4, 5)] == [17, 13, 12, 7, 1]
  assert sets[0].tolist() == list(range(12)) and sets[16].tolist() == list(range(48, 60))
  assert sets[-1].tolist() == list(range(3, 60, 5))


def test_ivc_ic_splits_use_natural_reference_order():
  names = [f"yuv/src{i + 1:d}_640x480_hrc00.yuv" for i in range(60)]  # src1 .. src60
  references = np.repeat(np.asarray(names), 4)
  all_splits = splits.intra_splits(references, "ivc_ic")
  assert len(all_splits) == 50
  assert all_splits[0].test_references == tuple(names[:12])  # src1..src12, not src1, src10..
  for split in all_splits:
    assert split.test.size == 48
    _check_content_split(split, references)
  # Other reference counts fall back to pairs.
  assert len(splits.intra_splits(_references(10, 2), "ivc_ic")) == 45


def test_random_splits_are_seeded_80_20_partitions():
  a = splits.random_splits(101, 100, seed=3)
  assert len(a) == 100
  for s in a:
    assert s.test.size == 21 and s.train.size == 80  # ceil(20.2)
    assert not set(s.train) & set(s.test)
  b = splits.random_splits(101, 5, seed=3)
  assert all(np.array_equal(x.test, y.test) for x, y in zip(a, b))
  assert not np.array_equal(a[0].test, a[1].test)
  assert not np.array_equal(a[0].test, splits.random_splits(101, 1, seed=4)[0].test)


def test_validation_holds_out_training_references_or_videos():
  references = _references(10, 3)
  train = np.arange(24)  # references 0..7
  fit, val = splits.validation_split(train, references, fraction=0.2, seed=1)
  assert len(set(references[val])) == 2  # round(0.2 * 8)
  assert not set(references[fit]) & set(references[val])
  np.testing.assert_array_equal(np.sort(np.concatenate([fit, val])), train)
  # One reference only: videos are held out instead.
  fit, val = splits.validation_split(np.arange(10), _references(1, 10), seed=0)
  assert val.size == 2 and fit.size == 8
  fit, val = splits.validation_split(train, references, fraction=0.0)
  assert val.size == 0 and fit.size == 24


# --------------------------------------------------------------------------
# The regressor.


def test_fc_network_matches_a_numpy_forward():
  model = regressor.FCNetwork(10, hidden=4, rngs=nnx.Rngs(0))
  rng = np.random.default_rng(0)
  for layer in (model.fc1, model.fc2, model.fc3):  # non-zero biases, to test them too
    layer.bias.set_value(jnp.asarray(rng.normal(size=layer.bias.get_value().shape)))
  x = rng.normal(size=(3, 5, 10)).astype(np.float32)

  def elu(v):
    return np.where(v > 0, v, np.expm1(v))

  h = x.astype(np.float64)
  for i, layer in enumerate((model.fc1, model.fc2, model.fc3)):
    h = h @ np.asarray(layer.kernel.get_value(), np.float64) + np.asarray(
        layer.bias.get_value(), np.float64)
    if i < 2:
      h = elu(h)
  want = h[..., 0].mean(axis=1)
  np.testing.assert_allclose(np.asarray(model(jnp.asarray(x))), want, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(regressor.predict(model, x), want, rtol=1e-5, atol=1e-6)
  assert model.fc1.kernel.get_value().shape == (10, 16)


def test_fc_network_init_is_xavier_normal_with_zero_bias():
  model = regressor.FCNetwork(2880, rngs=nnx.Rngs(1))
  w = np.asarray(model.fc1.kernel.get_value())
  assert np.all(np.asarray(model.fc1.bias.get_value()) == 0)
  assert w.std() == pytest.approx(np.sqrt(2 / (2880 + 128)), rel=0.02)
  # untruncated: torch's xavier_normal_ draws beyond 2 standard deviations.
  assert np.abs(w).max() > 3 * w.std()


def test_targets_map_to_1_9_5_and_flip_mos():
  mos = np.array([2.0, 3.0, 4.0])
  np.testing.assert_allclose(regressor.targets(mos, False), [1.0, 5.25, 9.5])
  np.testing.assert_allclose(regressor.targets(mos, True), [9.5, 5.25, 1.0])
  with pytest.raises(ValueError, match="cannot map"):
    regressor.targets([1.0, 1.0], True)


def test_optimizer_is_torch_adam_with_l2_not_adamw():
  tx = regressor.optimizer(0.1, 0.5)
  p = {"w": jnp.asarray([1.0, -2.0])}
  g = {"w": jnp.asarray([-0.2, 0.3])}
  updates, _ = tx.update(g, tx.init(p), p)
  # First Adam step: -lr * sign(g + wd * p) (L2 enters the moments).
  np.testing.assert_allclose(updates["w"], -0.1 * np.sign([-0.2 + 0.5, 0.3 - 1.0]), rtol=1e-4)
  adamw, _ = optax.adamw(0.1, weight_decay=0.5).update(g, optax.adamw(0.1, 0.5).init(p), p)
  assert not np.allclose(updates["w"], adamw["w"])


def _synthetic(v, t=4, d=12, seed=0):
  """Features whose snippet mean gives the quality through a fixed nonlinearity."""
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(v, t, d)).astype(np.float32)
  w = np.linspace(-1, 1, d)
  latent = np.tanh(x.mean(1) @ w)
  return x, 5 + 4 * latent.astype(np.float32)


def test_a_short_fit_learns_a_known_function():
  x, y = _synthetic(160)
  result = regressor.fit(x[:100], y[:100], x_val=x[100:120], y_val=y[100:120],
                         monitors={"test": x[120:]},
                         options=regressor.FitOptions(epochs=60, lr=3e-3, batch_size=10))
  pred = regressor.predict(result.model, x[120:])
  assert stats.spearmanr(pred, y[120:]).statistic > 0.8
  assert result.loss.shape == (60,) and result.loss[-1] < result.loss[0] / 2
  assert result.val_srcc.shape == (60,)
  assert result.best_epoch == int(np.nanargmax(result.val_srcc))
  assert result.monitors["test"].shape == (60, 40)
  np.testing.assert_allclose(result.monitors["test"][result.best_epoch], pred, rtol=1e-4,
                             atol=1e-5)
  # Untrained, the same network ranks at chance level.
  untrained = regressor.FCNetwork(12, rngs=nnx.Rngs(regressor.FitOptions().seed))
  assert abs(stats.spearmanr(regressor.predict(untrained, x[120:]), y[120:]).statistic) < 0.6


def test_fit_without_validation_keeps_the_last_epoch_and_is_seeded():
  x, y = _synthetic(20)
  options = regressor.FitOptions(epochs=5, batch_size=32)  # larger than the data: one batch
  a = regressor.fit(x, y, options=options)
  b = regressor.fit(x, y, options=options)
  assert a.best_epoch == 4 and a.val_srcc is None
  np.testing.assert_array_equal(regressor.predict(a.model, x), regressor.predict(b.model, x))


def test_per_epoch_srcc_matches_scipy():
  rng = np.random.default_rng(0)
  preds, target = rng.normal(size=(4, 9)), rng.normal(size=9)
  want = [stats.spearmanr(p, target).statistic for p in preds]
  np.testing.assert_allclose(protocols.per_epoch_srcc(preds, target), want, rtol=1e-10)


# --------------------------------------------------------------------------
# Protocols on synthetic stores.


def _store(num_refs=5, per_ref=12, *, name="fake", seed=0, higher_is_better=True, d=3):
  v = num_refs * per_ref
  x, quality = _synthetic(v, t=3, d=4 * d, seed=seed)
  levels = {f"f{i + 1}": x[..., i * d:(i + 1) * d] for i in range(4)}
  mos = quality if higher_is_better else 10 - quality
  return store.FeatureStore(
      names=np.asarray([f"{k}/scene{r}.mp4" for r in range(num_refs) for k in range(per_ref)]),
      mos=mos.astype(np.float32),
      references=np.asarray([f"0/scene{r}.mp4" for r in range(num_refs)
                             for _ in range(per_ref)]),
      scores=np.zeros((v, 3, 4), np.float32), levels=levels,
      meta={"source": f"{name}:train", "encoder": "r2p1d", "snippets": 3,
            "higher_is_better": higher_is_better})


FAST = protocols.ProtocolOptions(fit=regressor.FitOptions(epochs=100, lr=3e-3), batch_size=6)


def test_prepared_leaves_out_unscored_videos():
  s = _store()
  s.mos[0] = np.nan
  scored, x, y = protocols.prepared(s, FAST)
  assert len(scored) == 59 and x.shape == (59, 3, 12) and y.shape == (59,)
  assert "0/scene0.mp4" not in scored.names.tolist()
  assert y.min() == pytest.approx(1.0) and y.max() == pytest.approx(9.5)


def test_intra_runs_every_content_split_and_summarises():
  s = _store()
  lines = []
  result = protocols.intra(s, FAST, log=lines.append)
  assert result["n_splits"] == 10 and result["n_videos"] == 60
  assert result["batch_size"] == 6
  for r in result["splits"]:
    assert r["n_test"] + r["n_train"] + r["n_val"] == 60
    assert len(r["test_references"]) == 2 and r["n_val"] > 0
    assert len(r["predictions"]["pred"]) == r["n_test"]
  summary = result["summary"]["srcc"]
  assert summary["n"] == 10 and summary["q1"] <= summary["median"] <= summary["q3"]
  assert summary["median"] > 0.5  # well above chance on a learnable target
  assert result["summary"]["srcc_test_selected"]["median"] >= summary["median"] - 1e-9
  assert len(lines) == 11 and lines[0].startswith("heke intra fake split 1/10 test ")


def test_ugc_uses_random_video_splits():
  s = _store(num_refs=80, per_ref=1)
  result = protocols.ugc(s, FAST, count=3, log=lambda _: None)
  assert result["n_splits"] == 3
  for r in result["splits"]:
    assert (r["n_train"], r["n_val"], r["n_test"]) == (51, 13, 16)
    assert r["test_references"] == []
  assert result["summary"]["srcc"]["median"] > 0.5


def test_cross_fills_the_off_diagonal_only():
  stores = {"a": _store(name="a"), "b": _store(name="b", seed=1, higher_is_better=False),
            "c": _store(name="c", seed=2)}
  result = protocols.cross(stores, FAST, log=lambda _: None)
  assert set(result["matrix"]) == {"a", "b", "c"}
  for train, row in result["matrix"].items():
    assert set(row) == {"a", "b", "c"} - {train}
  # The same latent quality in every store (DMOS or MOS): transfer works both ways.
  assert result["matrix"]["a"]["b"] > 0.5 and result["matrix"]["b"]["a"] > 0.5
  single = protocols.cross({"a": stores["a"]}, FAST, log=lambda _: None)
  assert single["matrix"] == {"a": {}}


def test_summarize_ignores_nan():
  assert protocols.summarize([1.0, np.nan, 3.0])["median"] == 2.0
  assert protocols.summarize([np.nan])["n"] == 0


@pytest.mark.slow
def test_intra_on_the_tiny_demo_uses_its_scenes_as_references(tmp_path):
  from jvqa.data import demo
  from jvqa.heke import features
  from test_heke_features import random_model
  data_dir = str(tmp_path / "tfds")
  with contextlib.redirect_stdout(io.StringIO()):
    demo.ensure_demo(data_dir, config="tiny", workers=2)
  model = random_model()
  parts = [store.load(features.extract(model, f"demo/tiny:{split}", tmp_path / "features",
                                       data_dir=data_dir, log=lambda _: None))
           for split in ("pretrain", "labelled", "unlabelled", "test")]
  demo_store = store.concat(parts)
  assert demo_store.database == "demo" and len(set(demo_store.references)) == 5
  options = protocols.ProtocolOptions(fit=regressor.FitOptions(epochs=5))
  result = protocols.intra(demo_store, options, log=lambda _: None)
  assert result["n_splits"] == 10  # C(5, 2) scenes held out
  for r in result["splits"]:
    assert r["n_test"] == 10 and len(r["test_references"]) == 2
