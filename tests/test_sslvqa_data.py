"""SSL-VQA's training sets: the labelled linspace, its complement and the excluded scenes."""

import ml_collections
import numpy as np
import pytest

from jvqa.data import distortions, scenes as scenes_lib
from jvqa.errors import ConfigError
from jvqa.train import sources, sslvqa

POOL = "demo/tiny:pretrain+labelled+unlabelled"


def _config(tiny_dir, exclude, num_labelled=2):
  config = ml_collections.ConfigDict()
  config.data = ml_collections.ConfigDict(dict(
      data_dir=tiny_dir, labelled=POOL, unlabelled=POOL, num_labelled=num_labelled,
      pristine=("demo/tiny:pristine",), exclude_scenes=tuple(exclude)))
  return config


def _scenes(source, indices):
  return {distortions.scene_name(scenes_lib.text(source[int(i)]["reference"])) for i in indices}


def test_excluded_scenes_are_in_neither_set(tiny_dir, tmp_path):
  pool = sources.open_source(POOL, tiny_dir)
  all_scenes = _scenes(pool, range(len(pool)))
  excluded = sorted(all_scenes)[:1]
  lab, chosen, unl, rest = sslvqa.training_indices(_config(tiny_dir, excluded), str(tmp_path))
  assert len(chosen) == 2
  assert not (_scenes(lab, chosen) | _scenes(unl, rest)) & set(excluded)
  kept = [i for i in range(len(pool)) if not _scenes(pool, [i]) & set(excluded)]
  assert sorted([*chosen, *rest]) == kept  # labelled + unlabelled = the kept pool


def test_nothing_excluded_keeps_the_original_linspace(tiny_dir, tmp_path):
  pool = sources.open_source(POOL, tiny_dir)
  _, chosen, _, rest = sslvqa.training_indices(_config(tiny_dir, ()), str(tmp_path))
  np.testing.assert_array_equal(chosen, sources.labelled_indices(len(pool), 2))
  np.testing.assert_array_equal(rest, np.setdiff1d(np.arange(len(pool)), chosen))


def test_a_misspelt_excluded_scene_is_an_error(tiny_dir, tmp_path):
  with pytest.raises(ConfigError, match="no scene lief in"):
    sslvqa.check_excluded(_config(tiny_dir, ["lief"]), str(tmp_path))
  sslvqa.check_excluded(_config(tiny_dir, ["life"]), str(tmp_path))  # a tiny-demo scene
