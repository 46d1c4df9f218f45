"""Image quality metrics: PSNR and SSIM on Y (as SR papers report them) and on RGB, and PSNR-B.

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


def _rgb_pair(a: torch.Tensor, b: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    check_image_tensor(a)
    check_image_tensor(b)
    if a.shape != b.shape:
        raise InvalidInputError(f"images differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    return to_uint8_hwc(a).astype(np.float64), to_uint8_hwc(b).astype(np.float64)


def psnr_rgb(output: torch.Tensor, reference: torch.Tensor) -> float:
    """PSNR in dB over all RGB values of the 8-bit-quantised images (denoising and JPEG papers' colour PSNR).

    Raises:
        InvalidInputError: shapes differ or are not ``(1, 3, H, W)``.
    """
    a, b = _rgb_pair(output, reference)
    return float(peak_signal_noise_ratio(b, a, data_range=255))


def ssim_rgb(output: torch.Tensor, reference: torch.Tensor) -> float:
    """SSIM averaged over the R, G and B channels, Gaussian window (σ = 1.5) of Wang et al. 2004."""
    a, b = _rgb_pair(output, reference)
    return float(structural_similarity(b, a, data_range=255, channel_axis=2, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False))


def blocking_effect_factor(image: np.ndarray, block: int = 8) -> float:
    """Blocking effect factor (BEF) of Yim & Bovik 2011, https://doi.org/10.1109/TIP.2010.2092435.

    ``image`` is float ``(H, W)`` or ``(H, W, C)`` on the 0–255 scale; for colour the
    channels' BEFs are averaged. BEF = η·(D_B − D_B^c) when positive, where D_B is the
    mean squared difference of neighbouring pixels across block boundaries, D_B^c the
    same across the other pixel pairs, and η = log2(block) / log2(min(H, W)).
    """
    if image.ndim == 3:
        return float(np.mean([blocking_effect_factor(image[..., c], block) for c in range(image.shape[2])]))
    h, w = image.shape
    dh = np.diff(image, axis=1) ** 2  # pairs (x, x+1): column boundary after column x
    dv = np.diff(image, axis=0) ** 2
    col_b = (np.arange(w - 1) % block) == block - 1
    row_b = (np.arange(h - 1) % block) == block - 1
    boundary = np.concatenate([dh[:, col_b].ravel(), dv[row_b, :].ravel()])
    other = np.concatenate([dh[:, ~col_b].ravel(), dv[~row_b, :].ravel()])
    if boundary.size == 0 or other.size == 0:
        return 0.0
    d_b, d_bc = boundary.mean(), other.mean()
    eta = np.log2(block) / np.log2(min(h, w)) if d_b > d_bc else 0.0
    return float(eta * (d_b - d_bc))


def psnr_b(output: torch.Tensor, reference: torch.Tensor) -> float:
    """PSNR-B in dB (Yim & Bovik 2011): PSNR with the output's blocking effect factor added to the MSE.

    Computed over RGB on the 8-bit-quantised images, 8×8 blocks aligned to the top-left corner.

    Raises:
        InvalidInputError: shapes differ or are not ``(1, 3, H, W)``.
    """
    a, b = _rgb_pair(output, reference)
    mse = float(np.mean((a - b) ** 2)) + blocking_effect_factor(a)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))
