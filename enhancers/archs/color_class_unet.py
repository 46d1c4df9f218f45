"""Colorization as classification (Zhang, Isola & Efros 2016, https://arxiv.org/abs/1603.08511) on the course U-Net.

The MobileNetV2 U-Net of :mod:`enhancers.archs.color_unet` predicts, per pixel, a distribution over the
a*b* plane quantised into 10 × 10 bins (the bins that reach into sRGB at some L*: :func:`ab_bins`). A point
estimate of a multimodal colour (L1 or L2 regression) falls between the modes, towards gray; the
*annealed mean* of Zhang et al. instead sharpens the distribution, p^(1/T) renormalised, before taking its
mean: T = 1 is the mean (muted), T → 0 the mode (vivid, but patchy where two colours are close in
probability). The paper's T = 0.38 is the default.
"""

from __future__ import annotations

import torch
from torch import nn

from ..lab import AB_SCALE, gray_to_rgb, rgb_to_lab_scaled
from . import BuiltModel
from .color_unet import ColorUNet

BIN_SIZE = 10.0  # a*b* grid spacing, Lab units
AB_RANGE = 110.0  # the grid spans [−AB_RANGE, AB_RANGE] in a* and b*
ANNEAL_T = 0.38  # Zhang et al. 2016, section 3.1
HEAD_CHANNELS = 64


def ab_bins() -> torch.Tensor:
    """Centres of the 10 × 10 a*b* bins that reach into sRGB at some L* ∈ {2, 4, …, 98}: float32 ``(Q, 2)``, Lab units.

    Deterministic: the same Q (≈ 300, Zhang et al. count 313 with their gamut) on every machine.
    """
    import kornia.color as kc

    half = int(AB_RANGE // BIN_SIZE)
    grid = torch.arange(-half, half + 1, dtype=torch.float64) * BIN_SIZE
    a, b = torch.meshgrid(grid, grid, indexing="ij")
    centres = torch.stack([a.flatten(), b.flatten()], dim=1)  # (G, 2)
    # a bin counts when any point of a 5 × 5 lattice over its cell is in sRGB at some L*
    offsets = torch.linspace(-0.5, 0.5, 5, dtype=torch.float64) * BIN_SIZE
    oa, ob = torch.meshgrid(offsets, offsets, indexing="ij")
    points = (centres[:, None] + torch.stack([oa.flatten(), ob.flatten()], dim=1)[None]).reshape(-1, 2)
    lightness = torch.arange(2.0, 100.0, 2.0, dtype=torch.float64)
    lab = torch.cat([lightness.repeat_interleave(len(points))[:, None], points.repeat(len(lightness), 1)], dim=1)
    rgb = kc.lab_to_rgb(lab.T.reshape(1, 3, -1, 1), clip=False)[0, :, :, 0].T  # (L·P, 3)
    inside = ((rgb >= 0) & (rgb <= 1)).all(dim=1).view(len(lightness), len(centres), -1).any(dim=(0, 2))
    return centres[inside].float()


class ColorClassUNet(ColorUNet):
    """U-Net colorizer that classifies a*b* into :func:`ab_bins` and decodes with the annealed mean.

    ``forward``: gray float32 ``(N, 1, H, W)`` in [0, 1] (NTSC luma) → L*a*b* scaled to [−1, 1], float32
    ``(N, 3, H, W)`` like :class:`~enhancers.archs.color_unet.ColorUNet`'s: L* is the gray input's own
    (NTSC luma taken as the luminance of a neutral gray), a*b* the annealed mean at ``temperature`` (the
    argument, else the attribute, :data:`ANNEAL_T` unless set).
    ``class_logits`` gives the distribution's logits, ``(N, Q, H, W)``.
    """

    def __init__(self, temperature: float = ANNEAL_T) -> None:
        super().__init__()
        bins = ab_bins()
        self.register_buffer("bins", bins, persistent=False)
        cin = self.head.in_channels
        self.head = nn.Sequential(nn.Conv2d(cin, HEAD_CHANNELS, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(HEAD_CHANNELS, len(bins), 1))
        self.temperature = temperature

    def class_logits(self, gray: torch.Tensor) -> torch.Tensor:
        """Per-pixel logits over :func:`ab_bins`, float ``(N, Q, H, W)``; H, W multiples of 32."""
        return self.logits(gray)

    def annealed_mean(self, logits: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """a*b* in Lab units, ``(N, 2, H, W)``: the mean of softmax(logits / T) over the bin centres."""
        t = self.temperature if temperature is None else temperature
        p = torch.softmax(logits.float() / t, dim=1)
        return torch.einsum("nqhw,qc->nchw", p, self.bins.float())

    def forward(self, gray: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        h, w = gray.shape[-2:]
        ab = self.annealed_mean(self.class_logits(self.pad(gray)), temperature)[..., :h, :w]
        lightness = rgb_to_lab_scaled(gray_to_rgb(gray.float()))[:, :1]  # the neutral gray's own L*
        return torch.cat([lightness, ab / AB_SCALE], dim=1).to(gray.dtype)


def build(state_dict: dict[str, torch.Tensor] | None = None) -> BuiltModel:
    """Build :class:`ColorClassUNet` and load ``state_dict`` (strict) when given."""
    model = ColorClassUNet()
    if state_dict is not None:
        model.load_state_dict(state_dict)
    return BuiltModel(model.eval(), supports_half=False, supports_bfloat16=True)
