"""LIVE-Qualcomm Mobile In-Capture Video Quality Database: 208 videos.

208 videos captured with 8 smartphones (54 scenes), each 15 s of 1920x1080
planar yuv420p at 30 fps, in 6 folders named after the in-capture
distortion that dominates them (artifacts, color, exposure, focus,
sharpness, stabilization). There are no pristine references: every video is
itself a capture. ``qualcommSubjectiveData.mat`` holds the structs
``qualcommVideoData`` (``vidNames``: file names, ``distortionType``: 1-based
index into ``distortionNames``, the folder names) and
``qualcommSubjectiveData`` (``unBiasedMOS``, ``biasedMOS``: one score per
video, MOS on 0-100, higher is better).
"""

import os

import numpy as np
import scipy.io
import tensorflow_datasets as tfds

from jvqa.data import builder_lib, fr_lists
from jvqa.errors import InputError

WIDTH, HEIGHT = 1920, 1080
FPS = 30.0
MAT_FILE = "qualcommSubjectiveData.mat"


def _strings(cell) -> list[str]:
  """A MATLAB cell array of strings (as loadmat gives it) as a list."""
  return [str(x) for x in np.atleast_1d(cell)]


def _load_mat(path: str) -> dict:
  """The variables of a MATLAB v5/v7 .mat file, structs as attribute objects."""
  try:
    return scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
  except NotImplementedError as e:  # MATLAB v7.3 (HDF5).
    raise InputError(path, "a MATLAB v7.3 file; re-save it as v7 (save -v7)") from e
  except (ValueError, OSError, scipy.io.matlab.MatReadError) as e:
    raise InputError(path, f"not a readable .mat file ({e})") from e


def parse_mat(path: str) -> list[tuple[fr_lists.FrVideo, float]]:
  """The videos of ``qualcommSubjectiveData.mat`` with their biased MOS.

  Each video is named ``<distortionName>/<vidName>``; its ``mos`` is the
  unbiased MOS, ``distortion_index`` is ``distortionType - 1``.
  """
  mat = _load_mat(path)
  try:
    data, scores = mat["qualcommVideoData"], mat["qualcommSubjectiveData"]
    names, kinds = _strings(data.vidNames), np.atleast_1d(data.distortionType).astype(int)
    folders = _strings(data.distortionNames)
    unbiased = np.atleast_1d(scores.unBiasedMOS).astype(float)
    biased = np.atleast_1d(scores.biasedMOS).astype(float)
  except (KeyError, AttributeError) as e:
    raise InputError(path, f"missing struct or field {e}") from e
  if not len(names) == len(kinds) == len(unbiased) == len(biased):
    raise InputError(path, f"{len(names)} names, {len(kinds)} types, {len(unbiased)} and "
                     f"{len(biased)} scores")
  if kinds.min() < 1 or kinds.max() > len(folders):
    raise InputError(path, f"distortionType outside 1..{len(folders)}")
  return [(fr_lists.FrVideo(path=f"{folders[k - 1]}/{name}", reference="",
                            distortion=folders[k - 1].lower(), distortion_index=k - 1,
                            mos=mos, width=WIDTH, height=HEIGHT, fps=FPS), float(b))
          for name, k, mos, b in zip(names, kinds, unbiased, biased)]


class Builder(tfds.core.GeneratorBasedBuilder):
  """DatasetBuilder for the LIVE-Qualcomm database."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release: raw yuv420p stored losslessly (x264 qp 0)."}
  SCORE = fr_lists.Score("mos", higher_is_better=True, score_range=(0.0, 100.0))
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  Request the LIVE-Qualcomm Mobile In-Capture Video Quality Database from
  LIVE and put into `manual_dir`:
    * `{MAT_FILE}`;
    * the 208 .yuv files (1920x1080) in their distortion folders
      (`<distortionName>/<vidName>`; a file is also found by its name alone).
  """

  def _info(self) -> tfds.core.DatasetInfo:
    features = builder_lib.vqa_features(
        distortion=tfds.features.Text(),
        distortion_index=tfds.features.Scalar(dtype=np.int32),
        biased_mos=tfds.features.Scalar(dtype=np.float32))
    return self.dataset_info_from_configs(features=features, metadata=self.SCORE.metadata())

  def _split_generators(self, dl_manager):
    root = os.fspath(dl_manager.manual_dir)
    path = fr_lists.find_file(root, [MAT_FILE])
    if path is None:
      raise fr_lists.missing_metadata(root, [MAT_FILE])
    return {"train": self._generate_examples(root, parse_mat(path))}

  def _generate_examples(self, root: str, videos: list[tuple[fr_lists.FrVideo, float]]):
    index = fr_lists.FileIndex(root)
    skips = builder_lib.SkipLog("train")
    for video, biased_mos in videos:
      rel = index.find(video.path)
      if rel is None:
        skips.skip(video.path, "no such file under the manual folder")
        continue
      example = fr_lists.encode_example(root, rel, video, skips, distortion=video.distortion,
                                        distortion_index=video.distortion_index,
                                        biased_mos=biased_mos)
      if example is not None:
        yield rel, example
    skips.report()
