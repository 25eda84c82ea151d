"""EPFL-PoLiMI: H.264/AVC with simulated packet loss, CIF and 4CIF.

The database (De Simone et al., QoMEX 2009, ICASSP 2010) has 6 CIF
(352x288: foreman, hall, mobile, mother, news, paris) and 6 4CIF (704x576:
CROWDRUN, DUCKSTAKEOFF, HARBOUR, ICE, PARKJOY, SOCCER) uncompressed yuv420p
references, each H.264-coded and passed through a lossy channel at 6 packet
loss rates x 2 channel realisations: 72 + 72 distorted videos, rated by 40
subjects at EPFL and PoliMI (ACR). Scores are MOS (higher is better) on
0-5. Frame rates: 30 fps, except CROWDRUN, DUCKSTAKEOFF and PARKJOY (25 fps).

Metadata: BVQA-HEKE's ``EPFL-PoliMI_list_for_VQA.txt`` (144 lines; 6 + 6
references), whose names (``ref/<content>_<W>x<H>_org.yuv``,
``all-videos/<content>_<W>x<H>_plr<...>.yuv``) the files must have.
"""

import os

from jvqa.data import fr_lists

HEKE_FILE = "EPFL-PoliMI_list_for_VQA.txt"
_25_FPS = frozenset({"crowdrun", "duckstakeoff", "parkjoy"})


def fps_of(path: str) -> float:
  """Frame rate of a video from its content name (the file name's first part)."""
  return 25.0 if os.path.basename(path).split("_")[0].lower() in _25_FPS else 30.0


def parse_heke(path: str) -> list[fr_lists.FrVideo]:
  """The distorted videos of HEKE's ``EPFL-PoliMI_list_for_VQA.txt``."""
  return fr_lists.heke_videos(path, distortion_of=lambda row: ("packet_loss", row.type_index),
                              fps_of=lambda row: fps_of(row.distorted))


class Builder(fr_lists.FrBuilder):
  """DatasetBuilder for the EPFL-PoLiMI database."""

  HOMEPAGE = "http://vqa.como.polimi.it/"
  SCORE = fr_lists.Score("mos", higher_is_better=True, score_range=(0.0, 5.0))
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  Request the EPFL-PoLiMI database (`online_DB.zip`, see the homepage) and put
  into `manual_dir`:
    * BVQA-HEKE's `{HEKE_FILE}` (github.com/Sissuire/BVQA-HEKE, `dataset_info/`);
    * the decoded (distorted) and original CIF and 4CIF .yuv files, named and
      placed as that list names them (`ref/<content>_<W>x<H>_org.yuv`,
      `all-videos/<content>_<W>x<H>_plr<...>.yuv`; a file is also found by
      its name alone in any sub-folder).
  """

  def _distorted_videos(self, root: str) -> list[fr_lists.FrVideo]:
    return fr_lists.from_heke_list(root, HEKE_FILE, parse_heke)
