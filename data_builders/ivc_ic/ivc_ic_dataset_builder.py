"""IRCCyN/IVC Influence Content Video VGA database (IVC-IC): 60 sources.

60 source contents (640x480 planar yuv420p, coded at 30 Hz) and, per
source, the reference and 4 of 20 H.264/SVC hypothetical reference circuits
(HRCs: enhancement layers at several QP splits, or the upscaled base
layer), 300 sequences rated with ACR; scores are MOS on 1-5 (higher is
better). File names ``src<NN>_640x480_hrc<KK>.yuv``; ``hrc00`` is the
reference. The official scores are a spreadsheet
(``IRCCyN_IVC_Influence_Content_Database_Score.xls``).

Metadata: BVQA-HEKE's ``IVC-IC_list_for_VQA.txt`` (the 240 distorted
sequences). ``distortion`` is the HRC (``hrc03``) and ``distortion_index``
its number.
"""

import os
import re

from jvqa.data import fr_lists

FPS = 30.0
HEKE_FILE = "IVC-IC_list_for_VQA.txt"
_HRC = re.compile(r".*_hrc(\d+)\.yuv", re.IGNORECASE)


def hrc_of(path: str) -> int:
  """The HRC number of ``src<NN>_<W>x<H>_hrc<KK>.yuv``."""
  match = _HRC.fullmatch(os.path.basename(path))
  if not match:
    raise ValueError(f"not an IVC-IC file name: {path!r}")
  return int(match[1])


def parse_heke(path: str) -> list[fr_lists.FrVideo]:
  """The distorted videos of HEKE's ``IVC-IC_list_for_VQA.txt``."""
  return fr_lists.heke_videos(
      path, distortion_of=lambda row: (f"hrc{hrc_of(row.distorted):02d}", hrc_of(row.distorted)),
      fps_of=lambda row: FPS)


class Builder(fr_lists.FrBuilder):
  """DatasetBuilder for the IRCCyN/IVC Influence Content database."""

  HOMEPAGE = "http://www.irccyn.ec-nantes.fr/spip.php?article771"
  SCORE = fr_lists.Score("mos", higher_is_better=True, score_range=(1.0, 5.0))
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  Download the IRCCyN/IVC Influence Content database videos (`Videos/`, see
  the homepage or the Qualinet mirror) and put into `manual_dir`:
    * BVQA-HEKE's `{HEKE_FILE}` (github.com/Sissuire/BVQA-HEKE, `dataset_info/`);
      the official scores are an .xls spreadsheet, which this builder does
      not read;
    * the 300 .yuv files (640x480), named and placed as that list names them
      (`yuv/src<NN>_640x480_hrc<KK>.yuv`, `hrc00` the references); a file is
      also found by its name alone, or without `_640x480`, in any sub-folder.
  """

  def _distorted_videos(self, root: str) -> list[fr_lists.FrVideo]:
    return fr_lists.from_heke_list(root, HEKE_FILE, parse_heke)
