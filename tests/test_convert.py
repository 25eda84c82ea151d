"""``jvqa convert`` round trips: original checkpoint file → model directory → load → same outputs.

Each case saves a randomised PyTorch model (the definitions in
tests/torch_models, small widths where the architecture allows) in the
container its original training script writes, converts it with the ``jvqa``
command, restores it with ``jvqa.models.load`` and compares outputs.
"""

import json

from flax import nnx
import numpy as np
import pytest

import jvqa.models
from jvqa.cli import main as jvqa_main

torch = pytest.importorskip("torch")
from torch_models import heads as torch_heads  # noqa: E402
from torch_models import heke as torch_heke  # noqa: E402
from torch_models import resnet as torch_resnet  # noqa: E402
from torch_models import swin3d as torch_swin3d  # noqa: E402
from torch_models import video_resnet as torch_video_resnet  # noqa: E402
from torch_models.parity import assert_parity, randomize_  # noqa: E402

TINY_VIDEO_RESNET = {"widths": [4, 8, 8, 8], "layers": [1, 1, 1, 1], "stem_midplanes": 6}
TINY_SWIN = {"embed_dim": 8, "depths": [1, 2, 1, 1], "num_heads": [1, 2, 2, 2]}
TINY_RESNET = {"widths": [4, 8, 8, 8], "layers": [1, 1, 1, 1]}
SWIN_CLIP = (1, 4, 64, 64, 3)  # 2×16×16 tokens: shifted H/W windows in stage 1


_apply = nnx.jit(lambda model, x: model(x))  # one compile instead of one per eager op


def _clip(shape, seed=0):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _ncthw(x):
  return torch.from_numpy(x).permute(0, 4, 1, 2, 3).contiguous()


def _ndhwc(t):
  return t.permute(0, 2, 3, 4, 1).numpy()


def _convert(tmp_path, obj, arch, model_kwargs=None, capsys=None):
  src = tmp_path / f"{arch}.pth"
  torch.save(obj, src)
  out = tmp_path / arch
  argv = ["convert", str(src), str(out), "--arch", arch]
  if model_kwargs:
    argv += ["--model-kwargs", json.dumps(model_kwargs)]
  assert jvqa_main(argv) == 0
  return jvqa.models.load(str(out)), out


def _video_resnet_case(arch, factory):
  def run(tmp_path):
    kwargs = dict(TINY_VIDEO_RESNET)
    ref = factory(**kwargs).eval()
    randomize_(ref)
    state = dict(ref.state_dict())
    fc = torch.nn.Linear(8, 400)  # torchvision's Kinetics classifier: dropped and listed
    state.update({"fc.weight": fc.weight, "fc.bias": fc.bias})
    model, out = _convert(tmp_path, state, arch, kwargs)
    x = _clip((1, 4, 32, 32, 3))
    with torch.no_grad():
      expected = _ndhwc(ref(_ncthw(x))[-1])
    assert_parity(np.asarray(_apply(model, x)), expected)
    info = json.loads((out / "model.json").read_text())["info"]
    assert info["dropped_keys"] == ["fc.weight", "fc.bias"]
  return run


def _swin(seed):
  ref = torch_swin3d.SwinTransformer3D(**TINY_SWIN).eval()
  randomize_(ref, seed)
  return ref


def _swin_tokens(ref, x):
  with torch.no_grad():
    return _ndhwc(ref(_ncthw(x)))


def _stvqrl(tmp_path):
  ref = _swin(1)
  model, _ = _convert(tmp_path, {"model": ref.state_dict(), "epoch": 30}, "stvqrl", TINY_SWIN)
  x = _clip(SWIN_CLIP)
  assert_parity(np.asarray(_apply(model, x)), _swin_tokens(ref, x))


def _sslvqa(tmp_path):
  primary = torch_heads.BaseEvaluator(_swin(2), torch_heads.VQAHead(in_channels=64)).eval()
  randomize_(primary.vqa_head, 3)
  auxillary = _swin(4)
  obj = {"primary": primary.state_dict(), "auxillary": auxillary.state_dict(), "epoch": 30}
  model, _ = _convert(tmp_path, obj, "sslvqa", TINY_SWIN)
  x = _clip(SWIN_CLIP)
  out = _apply(model, x)
  with torch.no_grad():
    score = torch_heads.clip_score(primary(_ncthw(x))).numpy()
  assert_parity(np.asarray(out["regressor"]), score)
  assert_parity(np.asarray(out["tokens"]), _swin_tokens(auxillary, x))


def _swin_kinetics(tmp_path):
  ref = _swin(5)
  with torch.no_grad():  # Kinetics weights have no fragment tables: the original starts them at 0.
    for name, p in ref.named_parameters():
      if "fragment_position_bias_table" in name:
        p.zero_()
  state = {f"backbone.{k}": v for k, v in ref.state_dict().items()
           if "fragment_position_bias_table" not in k}
  state.update({"cls_head.fc_cls.weight": torch.zeros(400, 64), "cls_head.fc_cls.bias": torch.zeros(400)})
  model, out = _convert(tmp_path, {"meta": {"epoch": 30}, "state_dict": state},
                        "swin_t_kinetics400", TINY_SWIN)
  x = _clip(SWIN_CLIP)
  assert_parity(np.asarray(_apply(model, x)), _swin_tokens(ref, x))
  info = json.loads((out / "model.json").read_text())["info"]
  assert info["dropped_keys"] == ["cls_head.fc_cls.weight", "cls_head.fc_cls.bias"]


def _heke_r2p1d(tmp_path):
  kwargs = {"widths": [4, 8, 8, 8], "layers": [1, 1, 1, 1], "hidden": 2}
  ref = torch_heke.HekeR2p1d(**kwargs).eval()
  randomize_(ref, 6)
  # The original saves model.module.state_dict() (nn.DataParallel): no prefix.
  obj = {"state_dict": ref.state_dict(), "optimizer": {}, "epoch": 99}
  model, _ = _convert(tmp_path, obj, "heke_r2p1d", kwargs)
  x = _clip((2, 4, 32, 32, 3))
  with torch.no_grad():
    expected = ref(_ncthw(x)).numpy()
  assert_parity(np.asarray(_apply(model, x)), expected)


def _heke_resnet(tmp_path):
  kwargs = {**TINY_RESNET, "shared": 16, "hidden": 2}
  ref = torch_heke.HekeResnet(**kwargs).eval()
  randomize_(ref, 7)
  # A DataParallel-saved state dict: the uniform "module." prefix is removed.
  obj = {"state_dict": {f"module.{k}": v for k, v in ref.state_dict().items()}, "epoch": 9}
  model, _ = _convert(tmp_path, obj, "heke_resnet", kwargs)
  x = _clip((2, 2, 32, 48, 3))
  t = torch.from_numpy(x)
  with torch.no_grad():
    expected = ref(t[:, 0].permute(0, 3, 1, 2), (t[:, 1] - t[:, 0]).permute(0, 3, 1, 2)).numpy()
  assert_parity(np.asarray(_apply(model, x)), expected)


def _resnet_case(arch, depth):
  def run(tmp_path):
    ref = torch_resnet.ResNet(depth, **TINY_RESNET).eval()
    randomize_(ref, depth)
    fc = torch.nn.Linear(8 * (4 if depth == 50 else 1), 1000)  # the ImageNet classifier
    state = {**ref.state_dict(), "fc.weight": fc.weight, "fc.bias": fc.bias}
    model, out = _convert(tmp_path, state, arch, TINY_RESNET)
    x = _clip((2, 3, 32, 32, 3))  # a clip: the 2D encoder runs on every frame
    with torch.no_grad():
      expected = ref(torch.from_numpy(x.reshape(6, 32, 32, 3)).permute(0, 3, 1, 2))[-1]
    expected = expected.permute(0, 2, 3, 1).numpy().reshape(2, 3, *expected.shape[2:], -1)
    assert_parity(np.asarray(_apply(model, x)), expected)
    info = json.loads((out / "model.json").read_text())["info"]
    assert info["dropped_keys"] == ["fc.weight", "fc.bias"]
  return run


CASES = {
    "stvqrl": _stvqrl,
    "sslvqa": _sslvqa,
    "swin_t_kinetics400": _swin_kinetics,
    "heke_r2p1d": _heke_r2p1d,
    "heke_resnet": _heke_resnet,
    "resnet34": _resnet_case("resnet34", 34),
    "resnet50": _resnet_case("resnet50", 50),
    "r3d_18": _video_resnet_case("r3d_18", torch_video_resnet.r3d_18),
    "r2plus1d_18": _video_resnet_case("r2plus1d_18", torch_video_resnet.r2plus1d_18),
}


@pytest.mark.parametrize("arch", sorted(CASES))
def test_convert_round_trip(arch, tmp_path):
  CASES[arch](tmp_path)


def test_every_arch_has_a_round_trip_test():
  from jvqa.models.archs import ARCHS
  assert set(ARCHS) == set(CASES)


def test_convert_errors_are_one_line_naming_the_file(tmp_path, capsys):
  ref = torch_video_resnet.r3d_18(**TINY_VIDEO_RESNET)
  kwargs = ["--model-kwargs", json.dumps(TINY_VIDEO_RESNET)]

  def convert(obj, arch="r3d_18", extra=kwargs):
    src = tmp_path / "in.pth"
    torch.save(obj, src)
    code = jvqa_main(["convert", str(src), str(tmp_path / "out"), "--arch", arch, *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert str(src) in err
    return err

  state = dict(ref.state_dict())
  missing = {k: v for k, v in state.items() if k != "layer2.0.conv1.1.weight"}
  assert "missing key 'layer2.0.conv1.1.weight'" in convert(missing)
  extra = {**state, "layer5.0.conv1.0.weight": torch.zeros(1)}
  assert "not mapped to the model: 'layer5.0.conv1.0.weight'" in convert(extra)
  assert "key 'stem.0.weight' has shape" in convert(state, extra=[])  # default widths
  assert "expects a dict with key 'model'" in convert(state, arch="stvqrl", extra=[])
  (tmp_path / "in.pth").write_bytes(b"not a checkpoint")
  code = jvqa_main(["convert", str(tmp_path / "in.pth"), str(tmp_path / "o"), "--arch", "r3d_18"])
  err = capsys.readouterr().err.strip()
  assert code == 2 and "not a readable PyTorch checkpoint" in err and len(err.splitlines()) == 1
  assert not (tmp_path / "out" / "model.json").exists()


@pytest.mark.slow
def test_convert_full_size_sslvqa(tmp_path):
  """The released SSL-VQA checkpoint's shapes: two default Swin-T and the VQA head."""
  primary = torch_heads.BaseEvaluator(torch_swin3d.SwinTransformer3D()).eval()
  auxillary = torch_swin3d.SwinTransformer3D().eval()
  randomize_(primary, 8)
  randomize_(auxillary, 9)
  obj = {"primary": primary.state_dict(), "auxillary": auxillary.state_dict(), "epoch": 30}
  model, out = _convert(tmp_path, obj, "sslvqa")
  info = json.loads((out / "model.json").read_text())["info"]
  assert info["parameters"] == 2 * 28_078_620 + 768 * 64 + 64 + 64 + 1
  x = _clip((1, 16, 128, 96, 3))
  result = _apply(model, x)
  with torch.no_grad():
    score = torch_heads.clip_score(primary(_ncthw(x))).numpy()
  assert_parity(np.asarray(result["regressor"]), score)
  assert_parity(np.asarray(result["tokens"]), _swin_tokens(auxillary, x))
