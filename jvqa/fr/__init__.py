"""HEKE's full-reference weak-label metrics in JAX: MS-SSIM, GMSD, ST-GMSD, ST-RRED.

Each metric follows the MATLAB code of BVQA-HEKE's
``WELL-Set/fr_vqa_for_weak_labels`` on luma in 0-255; see docs/fr_metrics.md.
One module per metric (``ms_ssim``, ``gmsd``, ``st_gmsd``, ``st_rred``, each
with a function of the same name over (N, H, W) luma videos); ``labels``
runs them and pools per segment; ``scaling`` maps scores to HEKE's label
scale; ``luma`` reads Y planes.
"""

from jvqa.fr.labels import METRICS, segment_scores, value_frames, weak_labels
from jvqa.fr.luma import read_luma
from jvqa.fr.scaling import HEKE_RESCALE, LinearRescale, rescale, soft_clamp

__all__ = [
    "HEKE_RESCALE", "LinearRescale", "METRICS", "read_luma", "rescale", "segment_scores",
    "soft_clamp", "value_frames", "weak_labels",
]
