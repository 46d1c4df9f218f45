"""Synthetic degradations for training, evaluation and the classroom modes.

Noise protocol (the denoising models'): add i.i.d. Gaussian noise of σ/255 to RGB in
[0, 1], then round and clip to 8 bits, as a saved photo would be. The JPEG protocol
is :func:`enhancers.imageio.jpeg_compress` (Pillow, default subsampling).
"""

from __future__ import annotations

import torch

from .errors import InvalidInputError
from .imageio import jpeg_compress

__all__ = ["add_gaussian_noise", "jpeg_compress"]


def add_gaussian_noise(rgb: torch.Tensor, sigma: float, seed: int | None = 0) -> torch.Tensor:
    """Add Gaussian noise of standard deviation ``sigma`` (0–255 scale), quantised to 8 bits.

    Args:
        rgb: RGB float32 ``(N, 3, H, W)`` in [0, 1].
        sigma: noise standard deviation on the 0–255 scale, 0–255.
        seed: seed of a private generator (reproducible classroom and evaluation
            images); None draws from the global generator.

    Returns:
        RGB float32, same shape, in [0, 1], on the 1/255 grid.

    Raises:
        InvalidInputError: ``sigma`` outside 0–255.
    """
    if rgb.ndim != 4 or rgb.shape[1] != 3 or rgb.dtype != torch.float32:
        raise InvalidInputError(f"expected RGB float32 (N, 3, H, W), got {rgb.dtype} {tuple(rgb.shape)}")
    if not 0 <= sigma <= 255:
        raise InvalidInputError(f"σ must be between 0 and 255, got {sigma}")
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    noise = torch.randn(rgb.shape, generator=gen, dtype=torch.float32).to(rgb.device)
    return (rgb + noise * (sigma / 255)).mul_(255).round_().clamp_(0, 255).div_(255)
