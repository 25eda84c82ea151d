"""Finding video files: a path is a video, or a folder searched recursively."""

import os
from collections.abc import Iterator

# Container extensions a folder search picks up (raw .yuv needs a frame size).
VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".mpg", ".mpeg", ".ts",
    ".m2ts", ".mts", ".flv", ".wmv", ".3gp", ".ogv"})


def is_video_name(name: str) -> bool:
  """Whether a file name has one of ``VIDEO_EXTENSIONS`` (any case)."""
  return os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS


def iter_video_files(path: str) -> Iterator[str]:
  """``path`` itself, or the video files under the folder ``path``, sorted.

  Symbolic links to folders are followed (datasets are often assembled from
  links); a link back to a folder already visited is not, so cycles end.
  """
  if not os.path.isdir(path):
    yield path
    return
  seen = set()
  for root, dirs, names in os.walk(path, followlinks=True):
    real = os.path.realpath(root)
    if real in seen:
      dirs[:] = []
      continue
    seen.add(real)
    dirs.sort()
    for name in sorted(names):
      if is_video_name(name):
        yield os.path.join(root, name)
