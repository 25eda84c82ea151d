"""IVP Subjective Quality Video Database (CUHK): 10 references, 128 distorted.

Ten uncompressed 1920x1088 references (planar yuv420p, recorded at 25 fps,
224-280 frames) and 128 distorted versions from 4 distortion types: Dirac
wavelet, H.264 and MPEG-2 compression, and packet loss on H.264 streamed
over IP (file names ``<content>_1920x1088_<dirac|h264|mpeg2|ip>_<level>``),
rated by 42 subjects (ACR). Scores are DMOS (higher is worse).

Metadata: BVQA-HEKE's ``IVPL_list_for_VQA.txt`` (128 lines), type indices
0 dirac, 1 h264, 2 mpeg2, 3 ip.
"""

import os

from jvqa.data import fr_lists

FPS = 25.0
HEKE_FILE = "IVPL_list_for_VQA.txt"
DISTORTIONS = ("dirac", "h264", "mpeg2", "ip")


def distortion_name(path: str) -> str:
  """The codec part of ``<content>_<W>x<H>_<codec>_<level>.yuv``."""
  parts = os.path.splitext(os.path.basename(path))[0].split("_")
  if len(parts) < 3 or parts[-2].lower() not in DISTORTIONS:
    raise ValueError(f"not an IVPL distorted file name: {path!r}")
  return parts[-2].lower()


def parse_heke(path: str) -> list[fr_lists.FrVideo]:
  """The distorted videos of HEKE's ``IVPL_list_for_VQA.txt``."""
  return fr_lists.heke_videos(
      path, distortion_of=lambda row: (distortion_name(row.distorted), row.type_index),
      fps_of=lambda row: FPS)


class Builder(fr_lists.FrBuilder):
  """DatasetBuilder for the IVP Subjective Quality Video Database."""

  HOMEPAGE = "http://ivp.ee.cuhk.edu.hk/research/database/subjective/"
  SCORE = fr_lists.Score("dmos", higher_is_better=False, score_range=(-4.0, 4.0))
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  Download the IVP Subjective Quality Video Database (see the homepage) and
  put into `manual_dir`:
    * BVQA-HEKE's `{HEKE_FILE}` (github.com/Sissuire/BVQA-HEKE, `dataset_info/`);
    * the 138 .yuv files (1920x1088), named and placed as that list names them
      (`ref/<content>_1920x1088_org.yuv`,
      `all-videos/<content>_1920x1088_<codec>_<level>.yuv`); a file is also
      found by its name alone, or without `_1920x1088`, in any sub-folder.
  """

  def _distorted_videos(self, root: str) -> list[fr_lists.FrVideo]:
    return fr_lists.from_heke_list(root, HEKE_FILE, parse_heke)
