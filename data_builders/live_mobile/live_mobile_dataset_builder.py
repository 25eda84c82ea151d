"""LIVE Mobile Video Quality Database: 10 references, 200 distorted videos.

The database (Moorthy et al., IEEE JSTSP 2012) has 10 RAW HD references
captured with a RED ONE camera, as 1280x720 planar yuv420p, 15 s at 30 fps
(450 frames), and 20 distorted versions of each, named after the type:
``r1``-``r4`` compression rates, ``w1``-``w4`` wireless packet loss,
``f1``-``f4`` frame freezes, ``s14``-``s34`` rate adaptation and ``t14``,
``t124``, ``t421``, ``t134``, ``t431`` temporal dynamics. Scores are DMOS
(higher is worse), from the study on a mobile phone.

Metadata: BVQA-HEKE's ``LIVE-Mobile_list_for_VQA.txt`` (160 lines; the
frame-freeze videos are not in it), type indices 0 (r), 3 (s), 4 (t), 5 (w).
"""

import os
import re

from jvqa.data import fr_lists

FPS = 30.0
HEKE_FILE = "LIVE-Mobile_list_for_VQA.txt"
# Type letter of the file name's last part -> distortion name.
DISTORTIONS = {"r": "compression", "w": "wireless", "f": "frame_freeze",
               "s": "rate_adaptation", "t": "temporal_dynamics"}
_CONDITION = re.compile(r"([a-z])\d+")


def distortion_name(path: str) -> str:
  """The distortion of a file such as ``bf_1280x720_t124.yuv`` (last part ``t124``)."""
  stem = os.path.splitext(os.path.basename(path))[0]
  match = _CONDITION.fullmatch(stem.rsplit("_", 1)[-1].lower())
  if not match or match[1] not in DISTORTIONS:
    raise ValueError(f"not a LIVE Mobile distorted file name: {path!r}")
  return DISTORTIONS[match[1]]


def parse_heke(path: str) -> list[fr_lists.FrVideo]:
  """The distorted videos of HEKE's ``LIVE-Mobile_list_for_VQA.txt``."""
  return fr_lists.heke_videos(
      path, distortion_of=lambda row: (distortion_name(row.distorted), row.type_index),
      fps_of=lambda row: FPS)


class Builder(fr_lists.FrBuilder):
  """DatasetBuilder for the LIVE Mobile Video Quality Database."""

  HOMEPAGE = "https://live.ece.utexas.edu/research/quality/live_mobile_video.html"
  SCORE = fr_lists.Score("dmos", higher_is_better=False, score_range=(0.0, 5.0))
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  Request the LIVE Mobile Video Quality Database from LIVE (see the homepage)
  and put into `manual_dir`:
    * BVQA-HEKE's `{HEKE_FILE}` (github.com/Sissuire/BVQA-HEKE, `dataset_info/`);
    * the .yuv files (1280x720), named and placed as that list names them
      (`ref/<content>_1280x720_org.yuv`, `all-videos/<content>_1280x720_<type>.yuv`);
      a file is also found by its name alone, or by that name without
      `_1280x720`, in any sub-folder.
  """

  def _distorted_videos(self, root: str) -> list[fr_lists.FrVideo]:
    return fr_lists.from_heke_list(root, HEKE_FILE, parse_heke)
