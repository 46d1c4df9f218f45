"""The course's colorization U-Net: NTSC gray in, L*a*b* scaled to [−1, 1] out.

Encoder: torchvision's MobileNetV2 feature stages (Sandler et al. 2018,
https://arxiv.org/abs/1801.04381) up to the 320-channel block, at strides 2, 4, 8,
16 and 32; for training it may start from the ImageNet checkpoint
(:func:`enhancers.pretrained.mobilenet_v2_imagenet`). Decoder: four ×2 bilinear
upsamplings, each concatenated with the encoder features of the same stride (the
U-Net skip connections of Ronneberger et al. 2015, https://arxiv.org/abs/1505.04597)
and refined by 3×3 convolutions (two at strides 16 and 8, one above), then a last ×2 step that also sees the gray
input. A 1×1 convolution gives three channels, bounded by f(x) = 2/(1+e^−x) − 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InvalidInputError
from ..lab import bounded_sigmoid
from ..pretrained import IMAGENET_MEAN, IMAGENET_STD
from . import BuiltModel

# MobileNetV2 ``features`` slices ending at strides 2, 4, 8, 16, 32, and their channels.
ENCODER_STAGES = ((0, 2), (2, 4), (4, 7), (7, 14), (14, 18))
ENCODER_CHANNELS = (16, 24, 32, 96, 320)
DECODER_CHANNELS = (128, 64, 32, 24, 16)
# Two 3×3 convolutions per block at strides 16 and 8, one at the costly high resolutions.
DECODER_CONVS = (2, 2, 1, 1, 1)


def conv_block(cin: int, cout: int, convs: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                   nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class GrayUNet(nn.Module):
    """What the colorization U-Nets share: ImageNet input normalisation, the skip-connected decoder pass, the
    bounded output, and padding to the encoder's stride.

    Subclasses build ``encoder`` (stages, each ending at a skip resolution), ``decoder`` (one block per skip: the
    deeper features upsampled bilinearly and concatenated with the encoder's at the same stride, the gray input
    last) and ``head``, and set ``STRIDE``.
    """

    STRIDE = 32  # the encoder's total downsampling: inputs are padded to a multiple of it

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def logits(self, gray: torch.Tensor) -> torch.Tensor:
        """The last layer before bounding, ``(N, 3, H, W)`` (H, W multiples of ``STRIDE``)."""
        x = (gray.expand(-1, 3, -1, -1) - self.mean) / self.std
        feats = []
        for stage in self.encoder:
            x = stage(x)
            feats.append(x)
        x = feats[-1]
        for block, skip in zip(self.decoder, (*feats[-2::-1], gray)):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return self.head(x)

    def pad(self, gray: torch.Tensor) -> torch.Tensor:
        """``gray`` padded at the bottom and right to multiples of ``STRIDE`` (reflection where it fits)."""
        h, w = gray.shape[-2:]
        ph, pw = (-h) % self.STRIDE, (-w) % self.STRIDE
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            gray = F.pad(gray, (0, pw, 0, ph), mode=mode)
        return gray

    def forward(self, gray: torch.Tensor) -> torch.Tensor:
        h, w = gray.shape[-2:]
        return bounded_sigmoid(self.logits(self.pad(gray)))[..., :h, :w]


class ColorUNet(GrayUNet):
    """U-Net colorizer with the course's parametrisation.

    ``forward``: gray float32 ``(N, 1, H, W)`` in [0, 1] (NTSC luma, see
    :func:`enhancers.lab.ntsc_gray`) → L*a*b* scaled to [−1, 1], float32
    ``(N, 3, H, W)`` (``L*/50 − 1``, ``a*/110``, ``b*/110``), any H, W ≥ 1: the input
    is padded by reflection to a multiple of 32 and the output cropped back.

    The gray channel is replicated to three and normalised with the ImageNet mean
    and std, so that the encoder's first convolution keeps its ImageNet shape.

    ``chroma_gain`` multiplies the predicted a*, b* (clamped to [−1, 1]); 1 during training. An L1-trained
    colorizer predicts a conditional median, which shrinks the chroma wherever the hue is uncertain; the bundled
    weights' spec sets the gain measured on their training photos (``weights/color-unet.md``).

    Raises:
        InvalidInputError: ``chroma_gain`` is not in (0, 4].
    """

    def __init__(self, chroma_gain: float = 1.0) -> None:
        super().__init__()
        from torchvision.models import mobilenet_v2

        if not 0.0 < chroma_gain <= 4.0:
            raise InvalidInputError(f"chroma_gain must be in (0, 4], got {chroma_gain}")
        self.chroma_gain = float(chroma_gain)

        features = mobilenet_v2().features
        self.encoder = nn.ModuleList(nn.Sequential(*features[a:b]) for a, b in ENCODER_STAGES)
        skips = (*ENCODER_CHANNELS[:-1][::-1], 1)  # 96, 32, 24, 16, then the gray input
        blocks, cin = [], ENCODER_CHANNELS[-1]
        for skip, cout, convs in zip(skips, DECODER_CHANNELS, DECODER_CONVS):
            blocks.append(conv_block(cin + skip, cout, convs))
            cin = cout
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Conv2d(cin, 3, 1)

    def forward(self, gray: torch.Tensor) -> torch.Tensor:
        lab = super().forward(gray)
        if self.chroma_gain == 1.0:
            return lab
        return torch.cat([lab[:, :1], (lab[:, 1:] * self.chroma_gain).clamp(-1.0, 1.0)], dim=1)

    def load_imagenet_encoder(self, mobilenet: nn.Module) -> None:
        """Copy a torchvision ``mobilenet_v2()``'s ImageNet weights into the encoder (every key must match)."""
        src = mobilenet.features
        for stage, (a, b) in zip(self.encoder, ENCODER_STAGES):
            stage.load_state_dict(nn.Sequential(*src[a:b]).state_dict())


def build(state_dict: dict[str, torch.Tensor] | None = None, chroma_gain: float = 1.0) -> BuiltModel:
    """Build :class:`ColorUNet` with ``chroma_gain`` and load ``state_dict`` (strict) when given.

    Raises:
        InvalidInputError: ``chroma_gain`` is not in (0, 4].
    """
    model = ColorUNet(chroma_gain)
    if state_dict is not None:
        model.load_state_dict(state_dict)
    return BuiltModel(model.eval(), supports_half=False, supports_bfloat16=True)
