"""SRCNN (Dong et al. 2014, https://arxiv.org/abs/1501.00092) on the luminance channel.

The network sees the bicubic-upscaled Y channel and predicts its correction
(a global residual, which trains much faster than the paper's plain mapping);
Cb and Cr stay bicubic, as in the paper.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import BuiltModel


class SRCNN(nn.Module):
    """9-5-5 SRCNN with a residual connection on Y.

    ``forward``: RGB float32 ``(1, 3, h, w)`` in [0, 1] → RGB ``(1, 3, h·scale, w·scale)``.
    Colour conversion is kornia's YCbCr (ITU-R BT.601, full range).
    """

    def __init__(self, scale: int = 2, f1: int = 64, f2: int = 32) -> None:
        super().__init__()
        self.scale = scale
        self.extract = nn.Conv2d(1, f1, 9, padding=4, padding_mode="replicate")
        self.mapping = nn.Conv2d(f1, f2, 5, padding=2, padding_mode="replicate")
        self.reconstruct = nn.Conv2d(f2, 1, 5, padding=2, padding_mode="replicate")
        self.register_buffer("scale_buf", torch.tensor(float(scale)), persistent=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import kornia.color as kc

        up = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False).clamp(0, 1)
        ycc = kc.rgb_to_ycbcr(up)
        y = ycc[:, :1]
        h = F.relu(self.extract(y))
        h = F.relu(self.mapping(h))
        y = y + self.reconstruct(h)
        return kc.ycbcr_to_rgb(torch.cat([y, ycc[:, 1:]], dim=1)).clamp(0, 1)


def build(state_dict: dict[str, torch.Tensor] | None = None, scale: int = 2) -> BuiltModel:
    """Build SRCNN; the scale is read from the weights when given."""
    if state_dict is not None and "scale_buf" in state_dict:
        scale = int(state_dict["scale_buf"].item())
    model = SRCNN(scale=scale)
    if state_dict is not None:
        model.load_state_dict(state_dict)
    return BuiltModel(model.eval(), supports_half=True, supports_bfloat16=True)
