"""LIVE-VQC: 585 mobile-camera videos with crowdsourced MOS on 0..100.

The release's ``data.mat`` holds ``video_list`` (585 file names such as
``A001.mp4``) and ``mos`` (585 scores) in the same order; the videos are in
its ``Video/`` folder. Everything is in one ``train`` split.
"""

import dataclasses
import functools
import os

import numpy as np
import scipy.io
import tensorflow_datasets as tfds

from jvqa.data import build, builder_lib
from jvqa.errors import InputError

LABEL_FILE = "data.mat"
VIDEO_DIR = "Video"


@dataclasses.dataclass(frozen=True)
class Label:
  """One video of ``data.mat``."""
  file_name: str
  mos: float


def _names(video_list) -> list[str]:
  """The file names of a MATLAB cell array of strings (any shape)."""
  return [str(np.squeeze(entry)).strip() for entry in np.ravel(video_list)]


def read_data_mat(path) -> list[Label]:
  """The labels of LIVE-VQC's ``data.mat``, in file order."""
  if not os.path.isfile(path):
    raise InputError(path, "missing: put LIVE-VQC's data.mat in the manual_dir")
  try:
    mat = scipy.io.loadmat(path)
    names, scores = _names(mat["video_list"]), np.ravel(mat["mos"]).astype(float)
  except (KeyError, ValueError, TypeError, NotImplementedError) as e:
    raise InputError(path, "expected a MATLAB file with 'video_list' and 'mos' "
                     f"({type(e).__name__}: {e})") from e
  if len(names) != len(scores):
    raise InputError(path, f"{len(names)} names in video_list but {len(scores)} scores")
  return [Label(name, float(score)) for name, score in zip(names, scores)]


def video_path(manual_dir, file_name: str) -> str:
  """The video's path relative to ``manual_dir``: in ``Video/``, else at the top."""
  for relative in (os.path.join(VIDEO_DIR, file_name), file_name):
    if os.path.isfile(os.path.join(manual_dir, relative)):
      return relative
  return os.path.join(VIDEO_DIR, file_name)


def make_example(item: tuple[Label, str], skips, *, manual_dir: str) -> dict | None:
  """The example of ``(label, relative video path)``, or None (skipped)."""
  label, relative = item
  return builder_lib.video_example(os.path.join(manual_dir, relative), name=relative,
                                   mos=label.mos, skips=skips)


class Builder(build.VqaBuilder, tfds.core.GeneratorBasedBuilder):
  """DatasetBuilder for LIVE-VQC."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Request LIVE-VQC at https://live.ece.utexas.edu/research/LIVEVQC/index.html
  and extract the release into the manual_dir, giving:

    manual_dir/data.mat           (video_list and mos)
    manual_dir/Video/A001.mp4 ... (585 videos)
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=builder_lib.vqa_features(),
        homepage="https://live.ece.utexas.edu/research/LIVEVQC/index.html",
        metadata=tfds.core.MetadataDict(score="mos", higher_is_better=True,
                                        score_range=[0.0, 100.0]))

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    manual_dir = os.fspath(dl_manager.manual_dir)
    labels = read_data_mat(os.path.join(manual_dir, LABEL_FILE))
    return {"train": self._generate_examples(labels, manual_dir)}

  def _generate_examples(self, labels: list[Label], manual_dir: str):
    items, seen = [], set()
    for label in labels:
      relative = video_path(manual_dir, label.file_name)
      if relative in seen:
        self.skip_log("train").skip(relative, "listed twice in data.mat")
        continue
      seen.add(relative)
      items.append((relative, (label, relative)))
    return self.examples("train", items,
                         functools.partial(make_example, manual_dir=manual_dir))
