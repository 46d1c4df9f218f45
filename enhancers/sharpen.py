"""Unsharp masking: the classic sharpening filter, a baseline for the GAN generator and the ground-truth
sharpening used in its training (Real-ESRGAN, Wang et al. 2021, §4.3)."""

from __future__ import annotations

import torch

from .errors import InvalidInputError


def unsharp_mask(rgb: torch.Tensor, sigma: float = 8.0, amount: float = 0.5, threshold: float = 10 / 255
                 ) -> torch.Tensor:
    """Sharpen by adding back ``amount`` × (image − Gaussian blur), only where the detail exceeds ``threshold``.

    The mask of pixels over the threshold is itself blurred, so sharpened and untouched areas meet without a
    step. The defaults are Real-ESRGAN's training-target sharpening (σ = 8 px, i.e. its 51-pixel kernel;
    amount 0.5; threshold 10/255); a photo editor's "unsharp mask" uses σ ≈ 1–2 px.

    Args:
        rgb: RGB float32 ``(N, 3, H, W)`` in [0, 1].
        sigma: Gaussian standard deviation in pixels (> 0).
        amount: gain of the detail layer (≥ 0).
        threshold: smallest detail magnitude (0–1 scale) that is sharpened.

    Returns:
        RGB float32 ``(N, 3, H, W)`` in [0, 1].

    Raises:
        InvalidInputError: bad shape or parameters.
    """
    from kornia.filters import gaussian_blur2d

    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise InvalidInputError(f"expected RGB (N, 3, H, W), got {tuple(rgb.shape)}")
    if sigma <= 0 or amount < 0:
        raise InvalidInputError(f"expected σ > 0 and amount ≥ 0, got σ = {sigma}, amount = {amount}")
    radius = min(int(3 * sigma + 0.5), (min(rgb.shape[-2:]) - 1) // 2)
    k = 2 * max(radius, 1) + 1
    blur = lambda t: gaussian_blur2d(t, (k, k), (sigma, sigma), border_type="reflect")  # noqa: E731
    detail = rgb - blur(rgb)
    mask = (detail.abs() > threshold).to(rgb.dtype)
    soft = blur(mask)
    sharp = (rgb + amount * detail).clamp(0, 1)
    return soft * sharp + (1 - soft) * rgb
