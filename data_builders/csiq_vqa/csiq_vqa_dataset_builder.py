"""CSIQ Video Quality Database: 12 references, 216 distorted videos.

Release: headerless planar yuv420p, 832x480, 10 s each at the source's own
rate (24, 25, 30, 50 or 60 fps: 240-600 frames, so fps = frames / 10),
``<Content>_832x480_ref.yuv`` and ``<Content>_832x480_dst_<01..18>.yuv``.
Each content has 6 distortion types at 3 levels, numbered in blocks of 3:
01-03 H.264, 04-06 H.264 with wireless packet loss, 07-09 MJPEG, 10-12
wavelet (Snow), 13-15 white noise, 16-18 HEVC. ``video_subj_ratings.txt``
has one tab-separated ``<name> <DMOS>`` line per distorted video.
"""

import os
import re

from jvqa.data import fr_lists
from jvqa.errors import InputError

WIDTH, HEIGHT = 832, 480
SECONDS = 10  # Every CSIQ video lasts 10 s.
RATINGS_FILE = "video_subj_ratings.txt"
HEKE_FILE = "CSIQ_list_for_VQA.txt"
DISTORTIONS = ("h264", "h264_packet_loss", "mjpeg", "wavelet_snow", "white_noise", "hevc")
_DISTORTED = re.compile(r"(?P<stem>.+)_dst_(?P<number>\d+)(?:\.yuv)?", re.IGNORECASE)


def distortion_of(name: str) -> tuple[str, int]:
  """``(name, index)`` of the distortion type of a ``..._dst_<NN>`` file."""
  number = int(_parse(name)["number"])
  if not 1 <= number <= 18:
    raise ValueError(f"CSIQ distorted files are numbered 01-18: {name!r}")
  index = (number - 1) // 3
  return DISTORTIONS[index], index


def reference_of(name: str) -> str:
  """The reference file name of a distorted file name."""
  return _parse(name)["stem"] + "_ref.yuv"


def _parse(name: str) -> re.Match:
  """The match of a ``<stem>_dst_<NN>[.yuv]`` file name."""
  match = _DISTORTED.fullmatch(os.path.basename(name.strip()))
  if not match:
    raise ValueError(f"not a CSIQ distorted file name: {name!r}")
  return match


def fps_of(num_frames: int) -> float:
  """The frame rate of a CSIQ video of ``num_frames`` frames (all last 10 s)."""
  return num_frames / SECONDS


def _rating(line: str) -> tuple[str, float] | None:
  """``(file name, DMOS)`` of a ratings line, None for a header line."""
  fields = line.split()
  try:
    score = float(fields[1])
  except (IndexError, ValueError):
    return None
  name = fields[0] if fields[0].lower().endswith(".yuv") else fields[0] + ".yuv"
  return name, score


def _fps(name: str, frames_of) -> float:
  """Frame rate of a distorted file from its frame count, or its reference's if absent."""
  return fps_of(frames_of(name) or frames_of(reference_of(name)))


def parse_ratings(path: str, frames_of) -> list[fr_lists.FrVideo]:
  """The distorted videos of ``video_subj_ratings.txt``.

  Args:
    path: the ratings file.
    frames_of: ``file name -> frame count`` (the file has none; 0 if
      unknown), e.g. from the raw file's size. A distorted video lasts as
      long as its reference, which stands in for a missing file.
  """
  videos = []
  with open(path, encoding="utf-8") as f:
    lines = [line for line in f if line.strip()]
  for number, line in enumerate(lines, 1):
    rating = _rating(line)
    if rating is None:
      if number == 1:
        continue  # A header.
      raise InputError(path, f"line {number}: expected '<name> <DMOS>', got {line.strip()!r}")
    name, dmos = rating
    distortion, index = distortion_of(name)
    videos.append(fr_lists.FrVideo(path=name, reference=reference_of(name), distortion=distortion,
                                   distortion_index=index, mos=dmos, width=WIDTH,
                                   height=HEIGHT, fps=_fps(name, frames_of)))
  return videos


def parse_heke(path: str) -> list[fr_lists.FrVideo]:
  """The distorted videos of HEKE's ``CSIQ_list_for_VQA.txt``."""
  return fr_lists.heke_videos(path, distortion_of=lambda row: distortion_of(row.distorted),
                              fps_of=lambda row: fps_of(row.num_frames))


def _frames_in(index: fr_lists.FileIndex, name: str) -> int:
  """Frame count of a raw file from its size (0 if absent: the build skips it)."""
  rel = index.find(name)
  if rel is None:
    return 0
  return os.path.getsize(os.path.join(index.root, rel)) // (WIDTH * HEIGHT * 3 // 2)


class Builder(fr_lists.FrBuilder):
  """DatasetBuilder for the CSIQ Video Quality Database."""

  SCORE = fr_lists.Score("dmos", higher_is_better=False, score_range=(0.0, 100.0))
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  Request the CSIQ Video Quality Database (Vu & Chandler) and put into
  `manual_dir`, in any sub-folders:
    * its 228 .yuv files: `<Content>_832x480_ref.yuv` (12) and
      `<Content>_832x480_dst_<01..18>.yuv` (216);
    * `{RATINGS_FILE}` (tab-separated `<name> <DMOS>`).
  Instead of `{RATINGS_FILE}` you may put BVQA-HEKE's `{HEKE_FILE}`.
  """

  def _distorted_videos(self, root: str) -> list[fr_lists.FrVideo]:
    ratings = fr_lists.find_file(root, [RATINGS_FILE])
    if ratings:
      index = fr_lists.FileIndex(root)
      return parse_ratings(ratings, lambda name: _frames_in(index, name))
    heke = fr_lists.find_file(root, [HEKE_FILE])
    if heke:
      return parse_heke(heke)
    raise fr_lists.missing_metadata(root, [RATINGS_FILE, HEKE_FILE])
