"""The original checkpoints ``jvqa convert`` reads (data only, cheap to import).

For each ``--arch``: the jvqa model spec the weights go into, the container
keys of the file as the original training script saved it (with the prefix
its keys carry), how the weights are loaded, and the classifier keys that
have no place in a quality model (listed when dropped, never silently).
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Arch:
  """How one kind of original checkpoint becomes a jvqa model."""
  spec: dict  # the jvqa model (registry spec) the weights go into
  containers: tuple  # ((key in the file, or None for the whole file), key prefix), ...
  loader: str = "plain"  # "plain": model.load_torch(w); "sslvqa": Q_R and Q_D
  options: tuple = ()  # (name, value) pairs passed to load_torch
  dropped: tuple = ()  # glob patterns of classifier keys the model has no place for
  description: str = ""


def _swin(model="backbone", **extra):
  return {"model": model, "backbone": "swin3d", "backbone_kwargs": {}, **extra}


def _encoder(name):
  return {"model": "backbone", "backbone": name, "backbone_kwargs": {}}


ARCHS = {
    "stvqrl": Arch(
        _swin(), (("model", ""),),
        description="ST-VQRL backbone {'model': state_dict} (shift_niqe_lsvd_model_*.pth)"),
    "sslvqa": Arch(
        _swin("sslvqa", head="vqa"), (("primary", ""), ("auxillary", "")), loader="sslvqa",
        description="SSL-VQA {'primary': Q_R, 'auxillary': Q_D} (sslvqa_*.pth)"),
    "swin_t_kinetics400": Arch(
        _swin(), (("state_dict", "backbone."),), options=(("fragment_bias", "zeros"),),
        dropped=("cls_head.*",),
        description="Video Swin-T Kinetics-400 (swin_tiny_patch244_window877_kinetics400_1k.pth);"
                    " fragment bias tables start at zero, as in the original"),
    "heke_r2p1d": Arch(
        {"model": "heke_r2p1d", "kwargs": {}}, (("state_dict", ""),),
        description="HEKE R(2+1)D-18 + 4 heads {'state_dict': ...} (r2p1d_model_HEKE4.pkl)"),
    "heke_resnet": Arch(
        {"model": "heke_resnet", "kwargs": {}}, (("state_dict", ""),),
        description="HEKE ResNet-50 + ResNet-34 + 4 heads (resnet_model_HEKE4.pkl)"),
    "r2plus1d_18": Arch(_encoder("r2plus1d_18"), ((None, ""),), dropped=("fc.*",),
                        description="torchvision r2plus1d_18 state_dict (fc dropped)"),
    "r3d_18": Arch(_encoder("r3d_18"), ((None, ""),), dropped=("fc.*",),
                   description="torchvision r3d_18 state_dict (fc dropped)"),
    "resnet34": Arch(_encoder("resnet34"), ((None, ""),), options=(("allow_fc", True),),
                     dropped=("fc.*",),
                     description="torchvision ImageNet ResNet-34 (fc dropped)"),
    "resnet50": Arch(_encoder("resnet50"), ((None, ""),), options=(("allow_fc", True),),
                     dropped=("fc.*",),
                     description="torchvision ImageNet ResNet-50 (fc dropped)"),
}
