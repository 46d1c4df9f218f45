"""Colorization metrics: colourfulness, lightness kept, a*b* error, RGB PSNR and balanced hue accuracy.

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


# Balanced hue accuracy (the colour-corpus issue's definition). a*b* in CIE L*a*b* units (D65, scikit-image).
HUE_CHROMA_MIN = 15.0  # only pixels whose true chroma √(a*² + b*²) exceeds this are scored
HUE_BIN_DEG = 60.0  # the true hue is binned into 360 / 60 = 6 bins: [0°, 60°), [60°, 120°), … from the +a* axis
HUE_TOLERANCE_DEG = 45.0  # a predicted hue within this angle of the true one (inclusive) is right
HUE_MIN_BIN_SHARE = 0.02  # bins holding less than this share of the scored pixels are left out of the average
# A predicted chroma below this counts as gray (wrong). Why 5: one 8-bit step of one sRGB channel moves a near-neutral
# colour by at most ~0.9 in a*b*, so below ~5 the predicted hue angle is mostly rounding; and a ΔE*ab of about 2.3
# is one just-noticeable difference (Sharma, "Digital Color Imaging Handbook", 2003), so chroma 5 is about two
# of them away from neutral: a colour no one would call by its hue. A gray or saturation-0 result has chroma < 0.01.
GRAY_CHROMA = 5.0


def balanced_hue_accuracy(output: torch.Tensor, reference: torch.Tensor) -> float:
    """Balanced hue accuracy of a colorization against the true colour photo: a fraction in [0, 1].

    Over the pixels whose true a*b* chroma exceeds :data:`HUE_CHROMA_MIN` (15), the true hue angle
    h = atan2(b*, a*) is binned into 6 bins of 60° starting at the +a* axis (roughly: 0°–60° red, 60°–120° orange
    to yellow, 120°–180° green, 180°–240° cyan, 240°–300° blue, 300°–360° purple to magenta). In each bin: the
    share of pixels whose predicted hue is within :data:`HUE_TOLERANCE_DEG` (45°, inclusive, measured around the
    circle) of the true hue and whose predicted chroma is at least :data:`GRAY_CHROMA` (5; a grayer prediction
    counts as wrong). The result is the plain mean of those shares over the bins that hold at least
    :data:`HUE_MIN_BIN_SHARE` (2 %) of the scored pixels, so a rare hue weighs as much as the dominant one and a
    constant guess of the commonest hue cannot score well. A gray image scores 0; the original scores 1.

    Both images are quantised to 8 bits and converted with scikit-image's ``rgb2lab`` (D65), as in
    :func:`ab_error`. Lightness plays no part. Source: the definition of the issue that retrains colorization on
    the photo corpus; the gray threshold :data:`GRAY_CHROMA` is this project's (see its comment).

    Args:
        output: the colorization, RGB float32 ``(1, 3, H, W)`` in [0, 1].
        reference: the true colour photo, the same shape.

    Returns:
        The fraction in [0, 1], or NaN when no pixel of ``reference`` has chroma above 15 (a gray or nearly gray
        photo has no hue to get right; averages over photos skip it).

    Raises:
        InvalidInputError: either is not a float32 ``(1, 3, H, W)`` tensor, or their shapes differ.
    """
    _same_shape(output, reference)
    truth, pred = lab_of(reference), lab_of(output)
    chroma = np.hypot(truth[..., 1], truth[..., 2])
    scored = chroma > HUE_CHROMA_MIN
    n = int(scored.sum())
    if n == 0:
        return float("nan")
    t_hue = np.degrees(np.arctan2(truth[..., 2][scored], truth[..., 1][scored])) % 360.0
    p_a, p_b = pred[..., 1][scored], pred[..., 2][scored]
    p_hue = np.degrees(np.arctan2(p_b, p_a)) % 360.0
    off = np.abs((p_hue - t_hue + 180.0) % 360.0 - 180.0)  # angular distance, 0–180°
    right = (off <= HUE_TOLERANCE_DEG) & (np.hypot(p_a, p_b) >= GRAY_CHROMA)
    n_bins = round(360.0 / HUE_BIN_DEG)
    bins = np.minimum((t_hue // HUE_BIN_DEG).astype(np.int64), n_bins - 1)
    counts = np.bincount(bins, minlength=n_bins)
    hits = np.bincount(bins, weights=right.astype(np.float64), minlength=n_bins)
    kept = counts >= HUE_MIN_BIN_SHARE * n  # never empty: some bin holds at least 1/6 of the pixels
    return float(np.mean(hits[kept] / counts[kept]))


def _same_shape(a: torch.Tensor, b: torch.Tensor) -> None:
    check_image_tensor(a)
    check_image_tensor(b)
    if a.shape != b.shape:
        raise InvalidInputError(f"images differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
