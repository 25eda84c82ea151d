"""EVVQ: 8 VGA references and 90 compressed versions of them.

VGA (640x480) planar yuv420p, 30 fps, about 300 frames. The scenes are
cartoon, cheerleaders, discussion, flower_garden, football, mobile, town_plan
and weather, with 12, 9, 12, 11, 11, 11, 12 and 12 compressed versions (H.264
and MPEG-4), named ``<scene>_<n>.yuv``. ``subjective_scores_vga.txt`` has one
``<scene>_<n> <x> <DMOS>`` line per distorted video; the references are the
files of ``reference/`` (as SSL-VQA reads them). Scores are DMOS (higher is
worse).
"""

from jvqa.data import fr_lists

WIDTH, HEIGHT = 640, 480
FPS = 30.0
SCORES_FILE = "subjective_scores_vga.txt"
SCENES = ("cartoon", "cheerleaders", "discussion", "flower_garden", "football", "mobile",
          "town_plan", "weather")


def parse_scores(path: str, index: fr_lists.FileIndex) -> list[fr_lists.FrVideo]:
  """The distorted videos of ``subjective_scores_vga.txt``; references from ``index``."""
  return fr_lists.parse_scene_scores(
      path, width=WIDTH, height=HEIGHT, fps=FPS,
      reference_of=lambda scene: fr_lists.reference_in_folder(index, scene))


class Builder(fr_lists.FrBuilder):
  """DatasetBuilder for the EVVQ database."""

  SCORE = fr_lists.Score("dmos", higher_is_better=False, score_range=(0.0, 100.0))
  MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
  Put the EVVQ database into `manual_dir`, as it unpacks (`vga_videos/`):
    * `{SCORES_FILE}`;
    * the 90 distorted `<scene>_<n>.yuv` files (640x480), in any sub-folder;
    * the 8 references in a folder named `reference`, one `<scene>[_...].yuv`
      per scene ({', '.join(SCENES)}).
  """

  def _distorted_videos(self, root: str) -> list[fr_lists.FrVideo]:
    path = fr_lists.find_file(root, [SCORES_FILE])
    if path is None:
      raise fr_lists.missing_metadata(root, [SCORES_FILE])
    return parse_scores(path, fr_lists.FileIndex(root))
