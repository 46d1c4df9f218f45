"""The colorization course's parametrisation: NTSC gray in, L*a*b* scaled to [−1, 1] out.

- Input: gray Y = 0.299·R + 0.587·G + 0.114·B (NTSC / ITU-R BT.601 luma weights) of
  the gamma-encoded sRGB values, in [0, 1], float32 ``(N, 1, H, W)``.
- Output: CIE L*a*b* (D65, kornia's sRGB conversion) scaled to [−1, 1]:
  ``L* / 50 − 1`` and ``a* / 110``, ``b* / 110``. ±110 covers the sRGB gamut
  (a* ∈ [−86, 98], b* ∈ [−108, 95]).
- Bounding: the network's last layer passes through f(x) = 2 / (1 + e^−x) − 1,
  which maps ℝ onto (−1, 1).

sRGB ↔ L*a*b* is kornia's (``kornia.color.rgb_to_lab`` / ``lab_to_rgb``), not
hand-written formulas.
"""

from __future__ import annotations

import torch

from .errors import InvalidInputError

NTSC_WEIGHTS = (0.299, 0.587, 0.114)
L_SCALE = 50.0  # L* ∈ [0, 100] ↔ [−1, 1]
AB_SCALE = 110.0  # a*, b* ∈ [−110, 110] ↔ [−1, 1]


def bounded_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """f(x) = 2 / (1 + e^−x) − 1, elementwise; any float tensor → the same shape in (−1, 1).

    Written as ``2·sigmoid(x) − 1`` (equal to tanh(x / 2)), which does not overflow for large |x|.
    """
    return 2.0 * torch.sigmoid(x) - 1.0


def ntsc_gray(rgb: torch.Tensor) -> torch.Tensor:
    """NTSC luma of RGB float ``(N, 3, H, W)`` in [0, 1] → float ``(N, 1, H, W)`` in [0, 1].

    Raises:
        InvalidInputError: not a 4-D tensor with 3 channels.
    """
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise InvalidInputError(f"expected RGB of shape (N, 3, H, W), got {tuple(rgb.shape)}")
    w = rgb.new_tensor(NTSC_WEIGHTS).view(1, 3, 1, 1)
    return (rgb * w).sum(dim=1, keepdim=True).clamp_(0, 1)


def gray_to_rgb(gray: torch.Tensor) -> torch.Tensor:
    """Gray ``(N, 1, H, W)`` → RGB ``(N, 3, H, W)`` with R = G = B (a neutral gray image)."""
    return gray.expand(-1, 3, -1, -1).contiguous()


def rgb_to_lab_scaled(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB float ``(N, 3, H, W)`` in [0, 1] → L*a*b* scaled to [−1, 1], ``(N, 3, H, W)`` (L, a, b order)."""
    import kornia.color as kc

    lab = kc.rgb_to_lab(rgb.clamp(0, 1))
    return torch.cat([lab[:, :1] / L_SCALE - 1.0, lab[:, 1:] / AB_SCALE], dim=1)


def lab_scaled_to_lab(lab_scaled: torch.Tensor) -> torch.Tensor:
    """Scaled ``(N, 3, H, W)`` in [−1, 1] → L* in [0, 100], a*, b* in [−110, 110]."""
    return torch.cat([(lab_scaled[:, :1] + 1.0) * L_SCALE, lab_scaled[:, 1:] * AB_SCALE], dim=1)


def lab_scaled_to_rgb(lab_scaled: torch.Tensor) -> torch.Tensor:
    """Scaled L*a*b* ``(N, 3, H, W)`` in [−1, 1] → sRGB float ``(N, 3, H, W)``, clipped to [0, 1]."""
    import kornia.color as kc

    return kc.lab_to_rgb(lab_scaled_to_lab(lab_scaled), clip=True)


def lab_to_rgb_in_gamut(lightness: torch.Tensor, ab: torch.Tensor, steps: int = 8,
                        shrink: float = 0.75) -> torch.Tensor:
    """Combine L* with a*b* and convert to sRGB, keeping L*: out-of-gamut pixels lose chroma, not lightness.

    Clipping an out-of-gamut colour channel by channel changes its lightness too; here
    each pixel whose colour falls outside [0, 1]³ has its a*, b* multiplied by ``shrink``
    (up to ``steps`` times, then set to 0: neutral gray) before the final clip.

    Args:
        lightness: L* float ``(N, 1, H, W)`` in [0, 100].
        ab: a*, b* float ``(N, 2, H, W)`` (Lab units).

    Returns:
        sRGB float32 ``(N, 3, H, W)`` in [0, 1].
    """
    import kornia.color as kc

    eps = 1.0 / 512  # under half an 8-bit step: rounding absorbs it

    def outside(x: torch.Tensor) -> torch.Tensor:
        return ((x < -eps) | (x > 1 + eps)).any(dim=1, keepdim=True)

    rgb_hwc = kc.lab_to_rgb(torch.cat([lightness, ab], dim=1), clip=False).permute(0, 2, 3, 1).contiguous()
    flat_rgb = rgb_hwc.view(-1, 3)  # a view: writes below land in ``rgb_hwc``
    idx = outside(flat_rgb[:, :, None])[:, 0, 0].nonzero().squeeze(1)
    if idx.numel():
        # only the out-of-gamut pixels are converted again, as a (1, C, K, 1) column
        sub_l = lightness.permute(0, 2, 3, 1).reshape(-1, 1)[idx].T.reshape(1, 1, -1, 1)
        sub_ab = ab.permute(0, 2, 3, 1).reshape(-1, 2)[idx].T.reshape(1, 2, -1, 1)
        factor = torch.ones_like(sub_l)
        still = torch.ones_like(sub_l, dtype=torch.bool)
        for step in range(steps + 1):
            # shrink the chroma of the pixels still outside; the last resort is neutral gray,
            # which sRGB holds at every L*
            factor = torch.where(still, factor * shrink if step < steps else torch.zeros_like(factor), factor)
            sub = kc.lab_to_rgb(torch.cat([sub_l, sub_ab * factor], dim=1), clip=False)
            still = outside(sub)
            if not bool(still.any()):
                break
        flat_rgb[idx] = sub.reshape(3, -1).T
    return rgb_hwc.permute(0, 3, 1, 2).contiguous().clamp_(0, 1)
