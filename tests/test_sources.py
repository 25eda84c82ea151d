"""Config strings naming data sources: one split, or several joined with '+'."""

import numpy as np
import pytest

from jvqa.errors import ConfigError
from jvqa.train import sources


def test_joined_splits_hold_each_split_in_turn(tiny_dir):
  pretrain = sources.open_source("demo/tiny:pretrain", tiny_dir)
  labelled = sources.open_source("demo/tiny:labelled", tiny_dir)
  joined = sources.open_source("demo/tiny:pretrain+labelled", tiny_dir)
  assert len(joined) == len(pretrain) + len(labelled)
  names = [joined[i]["name"] for i in range(len(joined))]
  assert names == ([pretrain[i]["name"] for i in range(len(pretrain))]
                   + [labelled[i]["name"] for i in range(len(labelled))])


def test_an_unknown_split_in_a_join_is_named(tiny_dir):
  with pytest.raises(ConfigError, match="no split 'labeled'"):
    sources.open_source("demo/tiny:pretrain+labeled", tiny_dir)


def test_labelled_linspace_and_its_complement_partition_the_pool():
  chosen = sources.labelled_indices(273, 68)
  rest = np.setdiff1d(np.arange(273), chosen)  # SSL-VQA's unlabelled set
  assert len(chosen) == 68 and len(rest) == 205
  assert sorted([*chosen, *rest]) == list(range(273))
