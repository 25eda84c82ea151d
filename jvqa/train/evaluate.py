"""SSL-VQA's evaluation: both models on the test splits, and their combination.

The original's test input (``jvqa.data.pipeline.evaluation``: clips of
``fragments_t`` segments x ``fsize_t`` frames, several per video), both
models in eval mode:

* ``regressor``: Q_R's score, averaged over the clips;
* ``distance``: exp(-tau d(P, tokens)) averaged over the clips, with P the
  statistics of *all* pristine clips (the original uses them all at test);
* ``combined``: the two on one scale and averaged. The original averages
  the raw scores, whose scales differ (tau decides the mix); jvqa maps each
  model's score linearly onto MOS by least squares on the labelled set
  (scored with the same test sampling), then averages, so the mix does not
  hinge on tau and the combined score is in MOS units (docs/deviations.md).
"""

import jax
import jax.numpy as jnp
import numpy as np

from jvqa.data import pipeline
from jvqa.data.items import Fragments
from jvqa.losses import distance_score, token_set
from jvqa.train import report, sources
from jvqa.train import state as state_lib

MODELS = ("regressor", "distance", "combined")


def _flat(video: jax.Array) -> tuple[jax.Array, int, int]:
  """(B, clips, T, S, S, 3) uint8 -> normalised (B * clips, T, S, S, 3)."""
  b, c = video.shape[:2]
  return pipeline.normalize(video.reshape(b * c, *video.shape[2:])), b, c


def pristine_statistics(model: state_lib.Model, params, clips: np.ndarray, *,
                        batch_size: int) -> tuple[jax.Array, jax.Array]:
  """Mean and unbiased covariance of the tokens of every pristine clip (Q_D, eval mode).

  Accumulated in float64 on the host, batch by batch, so any number of clips fits.
  """
  fn = jax.jit(
      lambda p, x: token_set(state_lib.bind(model, p).distance(pipeline.normalize(x))))
  n, total, outer = 0, None, None
  for start in range(0, len(clips), batch_size):
    chunk = clips[start:start + batch_size]
    tokens = np.asarray(fn(params, jnp.asarray(chunk)), np.float64)
    tokens = tokens.reshape(-1, tokens.shape[-1])
    total = tokens.sum(0) if total is None else total + tokens.sum(0)
    outer = tokens.T @ tokens if outer is None else outer + tokens.T @ tokens
    n += len(tokens)
  mean = total / n
  cov = (outer - n * np.outer(mean, mean)) / (n - 1)
  return jnp.asarray(mean, jnp.float32), jnp.asarray(cov, jnp.float32)


def score(model: state_lib.Model, params, stream, mu_p, cov_p, *, tau: float,
          eps: float) -> dict:
  """``{"names", "mos", "regressor", "distance"}`` of every unmasked video of ``stream``."""

  @jax.jit
  def fn(params, video):
    x, b, c = _flat(video)
    net = state_lib.bind(model, params)
    r = net.regressor(x).reshape(b, c).mean(1)
    d = distance_score(token_set(net.distance(x)), mu_p, cov_p, tau=tau, eps=eps)
    return r, d.reshape(b, c).mean(1)

  out = {"names": [], "mos": [], "regressor": [], "distance": []}
  for batch in stream:
    r, d = jax.device_get(fn(params, batch["video"]))
    mask = np.asarray(jax.device_get(batch["mask"]), bool)
    mos = np.asarray(jax.device_get(batch["mos"]))
    out["names"] += [str(n) for n in np.asarray(batch["name"])[mask]]
    out["mos"].append(mos[mask])
    out["regressor"].append(np.asarray(r)[mask])
    out["distance"].append(np.asarray(d)[mask])
  return {k: v if k == "names" else np.concatenate(v).astype(np.float64)
          for k, v in out.items()}


def linear_map(pred: np.ndarray, mos: np.ndarray) -> tuple[float, float]:
  """Least-squares ``(a, b)`` of ``mos ~ a * pred + b`` (a = 0 for constant predictions)."""
  if np.ptp(pred) == 0:
    return 0.0, float(np.mean(mos))
  a, b = np.polyfit(pred, mos, 1)
  return float(a), float(b)


def combine(scores: dict, maps: dict) -> np.ndarray:
  """The mean of both models' scores, each mapped onto MOS by ``maps[model]``."""
  mapped = [maps[m][0] * scores[m] + maps[m][1] for m in ("regressor", "distance")]
  return (mapped[0] + mapped[1]) / 2


def _stream(config, name_split: str, mesh, indices=None):
  ev = config.eval
  return pipeline.evaluation(
      sources.open_source(name_split, config.data.data_dir), batch_size=ev.batch_size,
      seed=config.seed, indices=indices, mesh=mesh, fsize_t=ev.fsize_t,
      fragments_t=ev.fragments_t, frame_interval=ev.frame_interval, num_clips=ev.num_clips,
      fragments=Fragments(grid=config.data.grid, patch=config.data.patch, aligned=ev.aligned),
      options=pipeline.LoaderOptions(read_threads=config.data.read_threads))


def split_key(name_split: str) -> str:
  """A file-safe name of ``"dataset[/config]:split"``."""
  return name_split.replace("/", "_").replace(":", "_")


def evaluate(config, workdir: str, mesh, model: state_lib.Model, params, pristine,
             labelled_indices) -> dict:
  """Scores the test splits; writes summary.json, predictions and plots; returns the summary.

  ``labelled_indices`` (the labelled set's records) calibrate the combination.
  """
  ev = config.eval
  mu_p, cov_p = pristine_statistics(model, params, pristine.clips,
                                    batch_size=ev.batch_size)
  kw = dict(tau=ev.tau, eps=config.ssl.eps)
  with _stream(config, config.data.labelled, mesh, labelled_indices) as stream:
    calib = score(model, params, stream, mu_p, cov_p, **kw)
  maps = {m: linear_map(calib[m], calib["mos"]) for m in ("regressor", "distance")}
  results = {}
  for name_split in ev.test:
    with _stream(config, name_split, mesh) as stream:
      s = score(model, params, stream, mu_p, cov_p, **kw)
      skipped = stream.stats["skipped"]
    preds = {"regressor": s["regressor"], "distance": s["distance"],
             "combined": combine(s, maps)}
    results[split_key(name_split)] = {"names": s["names"], "mos": s["mos"],
                                      "predictions": preds, "primary": "combined",
                                      "skipped": skipped}
  skipped = {k: v.pop("skipped") for k, v in results.items()}
  return report.write_summary(workdir, results, extra={
      "calibration": {m: {"a": a, "b": b} for m, (a, b) in maps.items()},
      "skipped": skipped, "pristine_clips": len(pristine), "test_tau": ev.tau,
      "steps": int(config.num_steps), "labelled": config.data.labelled})

