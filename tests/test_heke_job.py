"""The BVQA-HEKE job (configs/heke.py) end to end on the tiny demo corpus with a tiny encoder."""

import contextlib
import importlib.util
import io
import json
import os

import pytest

from jvqa.data import demo
from jvqa.heke import job
from jvqa.models import store as model_store

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _config(**overrides):
  spec = importlib.util.spec_from_file_location("heke_config", os.path.join(ROOT, "configs",
                                                                            "heke.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config("")
  for key, value in overrides.items():
    node = config
    *parents, leaf = key.split(".")
    for p in parents:
      node = node[p]
    node[leaf] = value
  return config


@pytest.mark.slow
def test_heke_job_writes_blind_intra_and_cross_results(tmp_path):
  from test_heke_features import TINY_R2P1D, random_model  # pylint: disable=g-import-not-at-top
  data_dir = str(tmp_path / "tfds")
  with contextlib.redirect_stdout(io.StringIO()):
    demo.ensure_demo(data_dir, config="tiny", workers=2)
  model_dir = model_store.save(tmp_path / "encoder", random_model(),
                               {"model": "heke_r2p1d", "kwargs": dict(TINY_R2P1D)})
  # Two "databases" of three tiny-demo scenes each (5 scenes in all).
  parts_a = ("demo/tiny:pretrain", "demo/tiny:labelled")
  parts_b = ("demo/tiny:unlabelled", "demo/tiny:test", "demo/tiny:labelled")
  config = _config(**{"init": model_dir, "data_dir": data_dir,
                      "databases": (("a", parts_a), ("b", parts_b)),
                      "features.num_snippets": 2, "regressor.epochs": 4})
  workdir = str(tmp_path / "work")
  with contextlib.redirect_stdout(io.StringIO()) as out:
    summary = job.run(config, workdir)
  with open(os.path.join(workdir, "summary.json")) as f:
    assert json.load(f)["cross"]["matrix"].keys() == {"a", "b"}
  assert os.path.isfile(os.path.join(workdir, "results.json"))
  assert set(summary["blind"]) == {"a", "b"}
  for name in ("a", "b"):
    heads = summary["blind"][name]["heads"]
    assert list(heads) == ["GMSD", "ST-GMSD", "ST-RRED", "MS-SSIM", "combined"]
    intra = summary["intra"][name]
    assert intra["n_splits"] == 3  # C(3, 2) held-out scene pairs
    assert intra["n_videos"] == 15  # 3 scenes x (reference + 4 distorted versions)
    assert os.path.isfile(os.path.join(workdir, f"predictions_{name}.csv"))
  assert summary["cross"]["matrix"]["a"].keys() == {"b"}
  assert summary["cross"]["matrix"]["b"].keys() == {"a"}
  assert summary["ugc"] == {}
  printed = out.getvalue()
  assert "a  intra median over 3 splits" in printed and "cross  train a  ->  b" in printed
  # Features are kept: a rerun reads them back and gives the same figures.
  with open(os.path.join(workdir, "summary.json")) as f:
    first = f.read()
  with contextlib.redirect_stdout(io.StringIO()):
    job.run(config, workdir)
  with open(os.path.join(workdir, "summary.json")) as f:
    assert f.read() == first


@pytest.mark.slow
def test_features_from_an_encoder_converted_from_the_original_pkl(tmp_path):
  """The authors' HEKE ``.pkl`` layout → ``jvqa convert`` → ``jvqa.models.load`` → features."""
  torch = pytest.importorskip("torch")
  import numpy as np  # pylint: disable=g-import-not-at-top
  from jvqa.cli import main as jvqa_main  # pylint: disable=g-import-not-at-top
  from jvqa.heke import features, store  # pylint: disable=g-import-not-at-top
  from jvqa.models import load  # pylint: disable=g-import-not-at-top
  from torch_models import heke as torch_heke  # pylint: disable=g-import-not-at-top
  from torch_models.parity import randomize_  # pylint: disable=g-import-not-at-top
  kwargs = {"widths": [4, 8, 8, 8], "layers": [1, 1, 1, 1], "hidden": 2}
  ref = torch_heke.HekeR2p1d(**kwargs).eval()
  randomize_(ref, 3)
  src = tmp_path / "r2p1d_model_HEKE4.pkl"
  torch.save({"state_dict": ref.state_dict(), "optimizer": {}, "epoch": 99}, src)
  out = tmp_path / "heke4"
  assert jvqa_main(["convert", str(src), str(out), "--arch", "heke_r2p1d",
                    "--model-kwargs", json.dumps(kwargs)]) == 0
  model = load(str(out))
  data_dir = str(tmp_path / "tfds")
  with contextlib.redirect_stdout(io.StringIO()):
    demo.ensure_demo(data_dir, config="tiny", workers=2)
  path = features.extract(str(out), "demo/tiny:pretrain", tmp_path / "features",
                          data_dir=data_dir, num_snippets=2, log=lambda _: None)
  s = store.load(path)
  assert len(s) == 10 and s.scores.shape == (10, 2, 4)
  assert s.features().shape == (10, 2, 3 * (4 + 8 + 8 + 8))
  assert np.all(np.isfinite(s.scores))
  assert type(model).__name__ == "HekeR2p1d"
  assert s.meta["encoder"] == "r2p1d"
