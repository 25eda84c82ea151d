"""The shipped config files: choices that no job test would notice if they changed."""

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _config(name, variant=""):
  spec = importlib.util.spec_from_file_location(f"cfg_{name}", os.path.join(ROOT, "configs", name))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(variant)


def test_demo_tests_on_clips_as_long_as_its_training_clips():
  c = _config("sslvqa.py")
  assert c.eval.fsize_t * c.eval.fragments_t == c.data.clip_len == 8


def test_paper_variant_keeps_the_original_test_sampling():
  c = _config("sslvqa.py", "lsvq")
  assert (c.eval.fsize_t, c.eval.fragments_t, c.eval.num_clips) == (8, 8, 2)
  assert c.data.clip_len == 32


@pytest.mark.parametrize("name", ["sslvqa.py", "stvqrl.py"])
def test_demo_swin_has_no_stochastic_depth(name):
  c = _config(name)
  kwargs = c.pretrain.model.backbone_kwargs if name == "sslvqa.py" else c.model.backbone_kwargs
  assert kwargs["drop_path_rate"] == 0.0


def test_demo_excludes_only_scenes_of_the_demo_corpus_and_none_it_tests_on():
  from jvqa.data import demo  # pylint: disable=g-import-not-at-top
  c = _config("sslvqa.py")
  names = {scene.name for scene in demo.DEFAULT_SPEC.scenes}
  assert c.data.exclude_scenes and set(c.data.exclude_scenes) <= names
  assert not set(c.data.exclude_scenes) & set(demo.assign_splits(demo.DEFAULT_SPEC)["test"])
  assert _config("sslvqa.py", "lsvq").data.exclude_scenes == ()


def test_demo_labels_a_quarter_of_its_kept_pool_as_the_paper_does():
  """The paper labels 500 of 1,999; the demo's pool is its non-test scenes less the excluded."""
  from jvqa.data import demo  # pylint: disable=g-import-not-at-top
  c = _config("sslvqa.py")
  splits = demo.assign_splits(demo.DEFAULT_SPEC)
  assert c.data.labelled == c.data.unlabelled == "demo:pretrain+labelled+unlabelled"
  scenes = [s for split in ("pretrain", "labelled", "unlabelled") for s in splits[split]
            if s not in c.data.exclude_scenes]
  pool = len(scenes) * (1 + len(demo.DEFAULT_SPEC.kinds))  # the reference and each distortion
  assert pool == 182
  assert abs(c.data.num_labelled / pool - 500 / 1999) < 0.005
