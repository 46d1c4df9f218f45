"""Image quality metrics: PSNR and SSIM on the Y channel, as SR papers report them.

Inputs follow the library contract: RGB float32 ``(1, 3, H, W)`` in [0, 1].
Both images are quantised to 8 bits first, as saved files would be.
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from .errors import InvalidInputError
from .imageio import check_image_tensor, to_uint8_hwc


def y_channel(rgb: torch.Tensor) -> np.ndarray:
    """ITU-R BT.601 luma of an 8-bit-quantised image, float64 ``(H, W)`` in [16, 235]."""
    check_image_tensor(rgb)
    return rgb2ycbcr(to_uint8_hwc(rgb))[..., 0]


def _pair(a: torch.Tensor, b: torch.Tensor, shave: int) -> tuple[np.ndarray, np.ndarray]:
    if a.shape != b.shape:
        raise InvalidInputError(f"images differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    ya, yb = y_channel(a), y_channel(b)
    if shave:
        ya, yb = ya[shave:-shave, shave:-shave], yb[shave:-shave, shave:-shave]
    return ya, yb


def psnr_y(output: torch.Tensor, reference: torch.Tensor, shave: int = 0) -> float:
    """PSNR in dB on Y (BT.601), with ``shave`` border pixels removed (the scale factor, by convention).

    Raises:
        InvalidInputError: shapes differ or are not ``(1, 3, H, W)``.
    """
    ya, yb = _pair(output, reference, shave)
    return float(peak_signal_noise_ratio(yb, ya, data_range=255))


def ssim_y(output: torch.Tensor, reference: torch.Tensor, shave: int = 0) -> float:
    """SSIM on Y (BT.601) with the Gaussian window of Wang et al. 2004 (σ = 1.5)."""
    ya, yb = _pair(output, reference, shave)
    return float(structural_similarity(yb, ya, data_range=255, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False))
