"""LIVE Video Quality Database (LIVE-VQA): 10 references, 150 distorted videos.

Release (README_LIVEVQDatabase.txt): headerless planar yuv420p, 768x432,
``<content><n>_<fps>fps.yuv`` with ``n = 1`` the reference and 2-16 its
distorted versions: 2-5 wireless (H.264 over a lossy wireless channel), 6-8
IP (H.264 over a lossy IP network), 9-12 H.264, 13-16 MPEG-2.
``live_video_quality_seqs.txt`` names the 150 distorted files and
``live_video_quality_data.txt`` holds one ``<DMOS> <std>`` line for each,
in the same order. 7 contents are 25 fps (250 frames; bs 217), 3 are
50 fps (sh, mc, pr; 500 frames), as the file names say.
"""

import os
import re

from jvqa.data import builder_lib, fr_lists
from jvqa.errors import InputError

WIDTH, HEIGHT = 768, 432
SEQS_FILE = "live_video_quality_seqs.txt"
DATA_FILE = "live_video_quality_data.txt"
HEKE_FILE = "LIVE_list_for_VQA.txt"
# Distortion types by index (HEKE's type index) and the file numbers they hold.
DISTORTIONS = ("wireless", "ip", "h264", "mpeg2")
_FIRST_NUMBER = (2, 6, 9, 13)
_NAME = re.compile(r"(?P<content>[a-z]+)(?P<number>\d+)(?:_\d+x\d+)?_(?P<fps>\d+)fps\.yuv",
                   re.IGNORECASE)


def parse_name(name: str) -> tuple[str, int, int]:
  """``(content, number, fps)`` of a LIVE-VQA file name such as ``pa2_25fps.yuv``."""
  match = _NAME.fullmatch(os.path.basename(name.strip()))
  if not match:
    raise ValueError(f"not a LIVE-VQA file name: {name!r}")
  return match["content"].lower(), int(match["number"]), int(match["fps"])


def distortion_of(number: int) -> tuple[str, int]:
  """``(name, index)`` of the distortion type of file number 2..16."""
  if not 2 <= number <= 16:
    raise ValueError(f"LIVE-VQA distorted files are numbered 2-16, got {number}")
  index = sum(number >= first for first in _FIRST_NUMBER) - 1
  return DISTORTIONS[index], index


def _official_video(name: str, dmos: float, std: float) -> fr_lists.FrVideo:
  """The ``FrVideo`` of one distorted file of the official lists."""
  content, number, fps = parse_name(name)
  distortion, index = distortion_of(number)
  return fr_lists.FrVideo(path=name, reference=f"{content}1_{fps}fps.yuv",
                          distortion=distortion, distortion_index=index, mos=dmos,
                          mos_std=std, width=WIDTH, height=HEIGHT, fps=fps)


def parse_official(seqs_path: str, data_path: str) -> list[fr_lists.FrVideo]:
  """The distorted videos of ``live_video_quality_seqs.txt`` + ``..._data.txt``."""
  with open(seqs_path, encoding="utf-8") as f:
    names = [line.strip() for line in f if line.strip()]
  with open(data_path, encoding="utf-8") as f:
    scores = [[float(x) for x in line.split()] for line in f if line.strip()]
  if len(names) != len(scores):
    raise InputError(data_path, f"{len(scores)} score lines for the "
                              f"{len(names)} videos of {os.path.basename(seqs_path)}")
  return [_official_video(name, row[0], row[1] if len(row) > 1 else builder_lib.MISSING)
          for name, row in zip(names, scores)]


def parse_heke(path: str) -> list[fr_lists.FrVideo]:
  """The distorted videos of HEKE's ``LIVE_list_for_VQA.txt``."""
  return fr_lists.heke_videos(
      path, distortion_of=lambda row: (DISTORTIONS[row.type_index], row.type_index),
      fps_of=lambda row: parse_name(row.distorted)[2])


class Builder(fr_lists.FrBuilder):
  """DatasetBuilder for the LIVE Video Quality Database."""

  HOMEPAGE = "https://live.ece.utexas.edu/research/Quality/live_video.html"
  SCORE = fr_lists.Score("dmos", higher_is_better=False, score_range=(0.0, 100.0))
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  Request the LIVE Video Quality Database from LIVE (see the homepage) and put
  into `manual_dir`, in any sub-folders:
    * the 160 .yuv files of `videos` (unzipped): the 10 references
      `<content>1_<fps>fps.yuv` and the 150 distorted `<content><2..16>_<fps>fps.yuv`;
    * `{SEQS_FILE}` and `{DATA_FILE}` (the score files of the release).
  Instead of the two score files you may put BVQA-HEKE's `{HEKE_FILE}`
  (its names, with `_768x432`, also find the official file names).
  """

  def _distorted_videos(self, root: str) -> list[fr_lists.FrVideo]:
    seqs, data = (fr_lists.find_file(root, [n]) for n in (SEQS_FILE, DATA_FILE))
    if seqs and data:
      return parse_official(seqs, data)
    heke = fr_lists.find_file(root, [HEKE_FILE])
    if heke:
      return parse_heke(heke)
    raise fr_lists.missing_metadata(root, [f"{SEQS_FILE} + {DATA_FILE}", HEKE_FILE])
