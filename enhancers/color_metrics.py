"""Colorization metrics: colourfulness, lightness kept, a*b* error and RGB PSNR.

Inputs follow the library contract, RGB float32 ``(1, 3, H, W)`` in [0, 1]
(:func:`colourfulness` also takes a batch ``(N, 3, H, W)``).
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.color import rgb2lab
from skimage.metrics import peak_signal_noise_ratio

from .errors import InvalidInputError
from .imageio import check_image_tensor, to_uint8_hwc


def colourfulness(rgb: torch.Tensor) -> torch.Tensor:
    """Hasler & Süsstrunk (2003) colourfulness M of each image, on the 0–255 scale of the paper.

    rg = R − G, yb = (R + G)/2 − B; M = sqrt(σ_rg² + σ_yb²) + 0.3·sqrt(μ_rg² + μ_yb²).
    About 0 for a gray image, ~15 "slightly", ~33 "moderately", ~59 "quite", ≥ 82
    "highly colourful" (Hasler & Süsstrunk, "Measuring colourfulness in natural images",
    Proc. SPIE 5007, 2003). Differentiable, so it also serves as a training loss term.

    Args:
        rgb: float ``(N, 3, H, W)`` in [0, 1].

    Returns:
        float ``(N,)``.
    """
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise InvalidInputError(f"expected RGB of shape (N, 3, H, W), got {tuple(rgb.shape)}")
    x = rgb.float() * 255.0
    rg = (x[:, 0] - x[:, 1]).flatten(1)
    yb = (0.5 * (x[:, 0] + x[:, 1]) - x[:, 2]).flatten(1)
    std = torch.sqrt(rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False) + 1e-6)
    mean = torch.sqrt(rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2 + 1e-6)
    return std + 0.3 * mean


def lab_of(rgb: torch.Tensor) -> np.ndarray:
    """CIE L*a*b* (D65, scikit-image) of the 8-bit-quantised image, float64 ``(H, W, 3)``."""
    check_image_tensor(rgb)
    return rgb2lab(to_uint8_hwc(rgb))


def lightness_psnr(output: torch.Tensor, gray_input: torch.Tensor) -> float:
    """PSNR in dB of the output's L* against the gray input's L*, data range 100 (L* ∈ [0, 100]).

    Raises:
        InvalidInputError: shapes differ or are not ``(1, 3, H, W)``.
    """
    _same_shape(output, gray_input)
    return float(peak_signal_noise_ratio(lab_of(gray_input)[..., 0], lab_of(output)[..., 0], data_range=100))


def ab_error(output: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean Euclidean a*b* distance (ΔE in the a*b* plane, Lab units) between two images."""
    _same_shape(output, reference)
    d = lab_of(output)[..., 1:] - lab_of(reference)[..., 1:]
    return float(np.sqrt((d ** 2).sum(axis=-1)).mean())


def rgb_psnr(output: torch.Tensor, reference: torch.Tensor) -> float:
    """PSNR in dB over the three 8-bit RGB channels."""
    _same_shape(output, reference)
    return float(peak_signal_noise_ratio(to_uint8_hwc(reference), to_uint8_hwc(output), data_range=255))


def _same_shape(a: torch.Tensor, b: torch.Tensor) -> None:
    check_image_tensor(a)
    check_image_tensor(b)
    if a.shape != b.shape:
        raise InvalidInputError(f"images differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
