"""BVQA-HEKE's weak-label corpus (WELL-Set): HEKE versions with raw FR scores.

Every example is one distorted version of a pristine clip
(``jvqa.data.heke_distortions``, stored losslessly) with ``segments``, the
start frames of S 16-frame segments, and ``fr_scores`` (S, 4), the raw
per-segment values of GMSD, ST-GMSD, ST-RRED and MS-SSIM (HEKE's head
order) against the reference, computed with ``jvqa.fr`` on the luma of the
stored bytes. References are not examples (HEKE lists distorted versions
only); ``reference`` names the pristine file. There are no human scores:
``mos`` is NaN. One ``train`` split. See ``jvqa.data.well_set``.

Inputs: config ``demo`` renders its own pristine clips; the others read the
manual_dir, which holds either pristine videos (distorted by the build into
its work folder under the TFDS download dir, finished versions kept) or a
``jvqa distort --set heke`` output (recognised by its manifest.json), which
is only read.
"""

import dataclasses
import functools
import os

import numpy as np
import tensorflow_datasets as tfds

from jvqa import fr
from jvqa.data import build, builder_lib, demo, distortions, well_set
from jvqa.data import heke_distortions as heke


@dataclasses.dataclass(eq=False)
class WellSetConfig(tfds.core.BuilderConfig):
  """What a WELL-Set build makes.

  Attributes:
    kinds: the HEKE distortions of each clip (keys of ``HEKE_DISTORTIONS``).
    num_segments: segments scored per version.
    seed: the distortions' seed (packet loss draws).
    scenes: pristine clips the build renders (``well_set.SceneSpec``); None
      reads them from the manual_dir.
  """
  kinds: tuple[str, ...] = heke.HEKE_KINDS
  num_segments: int = well_set.NUM_SEGMENTS
  seed: int = 0
  scenes: well_set.SceneSpec | None = None


class Builder(build.VqaBuilder, tfds.core.GeneratorBasedBuilder):
  """DatasetBuilder for HEKE's weak-label corpus."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  BUILDER_CONFIGS = [
      WellSetConfig(name="default", description=(
          "All 90 HEKE distortions of the pristine videos in the manual_dir, "
          "4 segments each (HEKE's WELL-Set: 3589 clips of 250 frames, 768x432).")),
      WellSetConfig(
          name="demo", kinds=well_set.DEMO_KINDS,
          scenes=well_set.SceneSpec(scenes=well_set.demo_scenes()),
          description=(
              "8 scenes of the demo corpus's pretrain split rendered at "
              "288x162 (32 frames, 25 fps), levels 2 and 5 of the 15 HEKE "
              "families (30 kinds), 4 segments: 240 examples, about 2-3 "
              "minutes on 2 cores. No manual_dir.")),
      WellSetConfig(
          name="tiny", kinds=well_set.TINY_KINDS, num_segments=2, description=(
              "H.264 CRF 23/42 and MPEG-2 q 5/29 of the manual_dir's videos, 2 "
              "segments: for tests (on the builder's dummy_data/, 2 clips of "
              "24 frames at 176x162).")),
  ]
  # Worker processes rendering and distorting (None: one per CPU core).
  DISTORT_WORKERS = None
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Put into the manual_dir (not read by the `demo` config) either

  * pristine videos (any names, any subfolders; HEKE used 3589 clips of 250
    frames, 768x432, 25 fps): the build makes their HEKE versions into its
    own work folder under the TFDS download dir (reused when the build is
    run again); or
  * the OUT_DIR of `jvqa distort SRC OUT_DIR --set heke` (kind folders and
    manifest.json), which is read as it is; the references are found at
    the manifest's `source` paths, or by name among the other videos in
    the folder.
  """

  def needs_manual_dir(self) -> bool:
    """Whether this config reads a manual_dir (``demo`` renders its clips)."""
    return self.builder_config.scenes is None

  def _info(self) -> tfds.core.DatasetInfo:
    config = self.builder_config
    segments = config.num_segments
    return self.dataset_info_from_configs(
        features=builder_lib.vqa_features(
            full_reference=True,
            scene=tfds.features.Text(doc="The reference's base name."),
            family=tfds.features.Text(doc="The distortion's family, e.g. HEVC_crf."),
            level=tfds.features.Scalar(dtype=np.int32, doc=(
                "Distortion level in its family, 1 (mildest) to 6.")),
            segments=tfds.features.Tensor(shape=(segments,), dtype=np.int32, doc=(
                "First frame of each 16-frame segment (HEKE's clip: frames "
                "start, start+2, ..., start+14).")),
            fr_scores=tfds.features.Tensor(shape=(segments, 4), dtype=np.float32, doc=(
                "Raw per-segment means of gmsd, st_gmsd, st_rred, ms_ssim "
                "(columns, HEKE's head order) against the reference."))),
        homepage="https://github.com/Sissuire/BVQA-HEKE",
        metadata=tfds.core.MetadataDict(
            score="none", higher_is_better=None,
            fr_metrics=list(well_set.FR_METRICS),
            fr_higher_is_better=dict(well_set.FR_HIGHER_IS_BETTER),
            fr_rescale={m: dataclasses.asdict(fr.HEKE_RESCALE[m])
                        for m in well_set.FR_METRICS},
            segment_length=well_set.SEGMENT_LENGTH, clip_frames=well_set.CLIP_FRAMES,
            clip_stride=well_set.CLIP_STRIDE, segment_rule=well_set.SEGMENT_RULE,
            seed=config.seed,
            kinds={k: f"{heke.HEKE_DISTORTIONS[k].family}/{heke.HEKE_DISTORTIONS[k].level}"
                   for k in heke.check_kinds(config.kinds)}))

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    config = self.builder_config
    kinds = heke.check_kinds(config.kinds)
    skips = self.skip_log("train")
    work = os.path.join(os.fspath(dl_manager.download_dir), well_set.NAME)
    workers = self.DISTORT_WORKERS or demo.default_workers()
    if config.scenes is not None:
      root = os.path.join(work, f"{config.name}-{config.scenes.fingerprint()}")
      references = os.path.join(root, well_set.REFERENCES_DIR)
      well_set.render_references(config.scenes, references, workers=workers)
      source = references
    else:
      source = os.fspath(dl_manager.manual_dir)
      root = os.path.join(work, f"seed{config.seed}")
    if config.scenes is None and os.path.isfile(os.path.join(source, distortions.MANIFEST)):
      versions = well_set.read_distort_output(source, kinds=kinds, skips=skips)
    else:
      versions = well_set.distort_references(
          source, os.path.join(root, well_set.VERSIONS_DIR), kinds=kinds,
          seed=config.seed, workers=workers, skips=skips)
    return {"train": self._generate_examples(versions)}

  def _generate_examples(self, versions: list):
    make = functools.partial(well_set.make_example,
                             num_segments=self.builder_config.num_segments)
    return self.examples("train", [(v.name, v) for v in versions], make)
