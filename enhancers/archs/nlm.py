"""Non-local means (Buades et al. 2005, https://doi.org/10.1109/CVPR.2005.38), scikit-image's implementation.

The classical denoising baseline: each pixel becomes a weighted mean of pixels whose
surrounding 5×5 patches look alike, searched within a 13×13 window.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import imageio
from . import BuiltModel

PATCH_SIZE = 5
PATCH_DISTANCE = 6
H_OVER_SIGMA = 0.8  # filter strength h = 0.8·σ, scikit-image's recommendation with fast_mode and a known σ


class NonLocalMeans(nn.Module):
    """``forward(x, sigma)``: RGB float32 ``(1, 3, H, W)`` in [0, 1], σ on the 0–255 scale → denoised, same shape.

    σ ≤ 0 returns a copy of the image unchanged.
    """

    def forward(self, x: torch.Tensor, sigma: float = 15.0) -> torch.Tensor:
        from skimage.restoration import denoise_nl_means

        s = float(sigma) / 255
        if s <= 0:
            return x.clone()
        arr = imageio.to_uint8_hwc(x.float())
        out = denoise_nl_means(arr, h=H_OVER_SIGMA * s, sigma=s, fast_mode=True, patch_size=PATCH_SIZE,
                               patch_distance=PATCH_DISTANCE, channel_axis=-1)
        return imageio.numpy_to_tensor(out).to(x.device, x.dtype)


def build(state_dict: dict[str, torch.Tensor] | None = None) -> BuiltModel:
    """Build the (weightless) non-local-means module."""
    return BuiltModel(NonLocalMeans().eval())
