"""Synthetic degradations for training, evaluation and the classroom modes.

Noise protocol (the denoising models'): add i.i.d. Gaussian noise of σ/255 to RGB in
[0, 1], then round and clip to 8 bits, as a saved photo would be. The JPEG protocol
is :func:`enhancers.imageio.jpeg_compress` (Pillow, default subsampling).

Also here:

* Real-ESRGAN's second-order degradation model (Wang et al. 2021, "Real-ESRGAN:
  Training Real-World Blind Super-Resolution with Pure Synthetic Data",
  https://arxiv.org/abs/2107.10833, §3), written from the paper and the ranges of its
  official training options: :func:`second_order`, its blur kernels and
  :class:`SecondOrderConfig`.
* :func:`fixed_mix`, the project's fixed held-out evaluation degradation.
* A photometric (lighting) model for the auto-tone task: :func:`photometric`.

Every random function takes an explicit ``numpy.random.Generator`` or int seed; nothing
here draws from a global generator (except ``add_gaussian_noise(seed=None)``, kept for
old callers).

All images are RGB float32 ``(N, 3, H, W)`` in [0, 1] unless stated otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import kornia
import numpy as np
import torch
import torch.nn.functional as F

from .errors import InvalidInputError
from .imageio import jpeg_compress
from .imageio import resize as pil_resize

__all__ = [
    "DARK_COOL_CAST",
    "DARK_WARM_CAST",
    "DARK_WARM_FADED",
    "IDENTITY_PHOTOMETRIC",
    "PhotometricParams",
    "PhotometricRanges",
    "SecondOrderConfig",
    "StageConfig",
    "add_gaussian_noise",
    "add_poisson_noise",
    "anisotropic_gaussian_kernel",
    "apply_kernel",
    "fixed_mix",
    "generalized_gaussian_kernel",
    "isotropic_gaussian_kernel",
    "jpeg",
    "jpeg_compress",
    "photometric",
    "plateau_kernel",
    "random_blur_kernel",
    "random_photometric",
    "random_resize",
    "second_order",
    "sinc_kernel",
]

Seed = int | np.random.Generator


# --------------------------------------------------------------------------- helpers

def _check_rgb(rgb: torch.Tensor, name: str = "rgb") -> None:
    if not isinstance(rgb, torch.Tensor):
        raise InvalidInputError(f"{name}: expected a torch.Tensor, got {type(rgb).__name__}")
    if rgb.ndim != 4 or rgb.shape[1] != 3 or rgb.dtype != torch.float32:
        raise InvalidInputError(f"{name}: expected RGB float32 (N, 3, H, W), got {rgb.dtype} {tuple(rgb.shape)}")


def _as_rng(rng: Seed) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise InvalidInputError(f"expected a numpy.random.Generator or an int seed, got {type(rng).__name__}")


def _torch_generator(seed: Seed | None) -> torch.Generator | None:
    if seed is None:
        return None
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2 ** 63 - 1))
    elif not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise InvalidInputError(f"seed: expected an int or numpy.random.Generator, got {type(seed).__name__}")
    return torch.Generator().manual_seed(int(seed))


def _quantise(rgb: torch.Tensor) -> torch.Tensor:
    return rgb.mul(255).round_().clamp_(0, 255).div_(255)


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not (math.isfinite(value) and low <= value <= high):
        raise InvalidInputError(f"{name} must be between {low} and {high}, got {value}")


# --------------------------------------------------------------------------- noise

def add_gaussian_noise(rgb: torch.Tensor, sigma: float, seed: Seed | None = 0, gray: bool = False) -> torch.Tensor:
    """Add Gaussian noise of standard deviation ``sigma`` (0–255 scale), quantised to 8 bits.

    Args:
        rgb: RGB float32 ``(N, 3, H, W)`` in [0, 1].
        sigma: noise standard deviation on the 0–255 scale, 0–255.
        seed: int seed of a private generator (reproducible classroom and evaluation
            images), or a ``numpy.random.Generator`` that draws that seed; None draws
            from the global generator.
        gray: one noise field shared by R, G and B (luminance-only noise, Real-ESRGAN's
            "gray noise") instead of independent noise per channel.

    Returns:
        RGB float32, same shape, in [0, 1], on the 1/255 grid.

    Raises:
        InvalidInputError: ``sigma`` outside 0–255, or ``rgb`` not RGB float32 ``(N, 3, H, W)``.
    """
    if rgb.ndim != 4 or rgb.shape[1] != 3 or rgb.dtype != torch.float32:
        raise InvalidInputError(f"expected RGB float32 (N, 3, H, W), got {rgb.dtype} {tuple(rgb.shape)}")
    if not 0 <= sigma <= 255:
        raise InvalidInputError(f"σ must be between 0 and 255, got {sigma}")
    gen = _torch_generator(seed)
    shape = (rgb.shape[0], 1, *rgb.shape[2:]) if gray else rgb.shape
    noise = torch.randn(shape, generator=gen, dtype=torch.float32).to(rgb.device)
    return (rgb + noise * (sigma / 255)).mul_(255).round_().clamp_(0, 255).div_(255)


_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601


def add_poisson_noise(rgb: torch.Tensor, scale: float, gray: bool = False, seed: Seed = 0) -> torch.Tensor:
    """Add signal-dependent (shot) noise, quantised to 8 bits.

    Model: a pixel of value v on the 0–255 scale receives ``Poisson(v)`` photon counts;
    the noise is ``scale · (Poisson(v) − v)``, so its standard deviation is
    ``scale · √v`` (0–255 scale): about 11·scale at mid-gray, 0 in black. Real-ESRGAN
    (Wang et al. 2021, §3.1) samples ``scale`` in [0.05, 3].

    Args:
        rgb: RGB float32 ``(N, 3, H, W)`` in [0, 1].
        scale: noise strength, 0–10.
        gray: draw the noise on the BT.601 luma and add the same field to R, G and B.
        seed: int seed or ``numpy.random.Generator``.

    Returns:
        RGB float32, same shape, in [0, 1], on the 1/255 grid.

    Raises:
        InvalidInputError: ``scale`` outside 0–10, or ``rgb`` not RGB float32 ``(N, 3, H, W)``.
    """
    _check_rgb(rgb)
    _check_range("Poisson noise scale", float(scale), 0.0, 10.0)
    gen = _torch_generator(seed)
    src = rgb.detach().to("cpu").clamp(0, 1)
    if gray:
        w = torch.tensor(_LUMA, dtype=torch.float32).view(1, 3, 1, 1)
        src = (src * w).sum(1, keepdim=True)
    rate = src * 255
    noise = (torch.poisson(rate, generator=gen) - rate) * (scale / 255)
    return _quantise(rgb + noise.to(rgb.device))


# --------------------------------------------------------------------------- JPEG

def jpeg(rgb: torch.Tensor, quality: int | Sequence[int]) -> torch.Tensor:
    """JPEG round trip of each image through :func:`enhancers.imageio.jpeg_compress` (Pillow, 4:2:0).

    Args:
        rgb: RGB float32 ``(N, 3, H, W)`` in [0, 1]; quantised to 8 bits before encoding.
        quality: JPEG quality factor (QF), 1–100, one for all images or one per image.

    Returns:
        RGB float32 ``(N, 3, H, W)`` in [0, 1], on the 1/255 grid, on ``rgb``'s device.

    Raises:
        InvalidInputError: QF outside 1–100, wrong number of QFs, or ``rgb`` breaks the contract.
    """
    _check_rgb(rgb)
    qs = [int(quality)] * rgb.shape[0] if isinstance(quality, (int, np.integer)) else [int(q) for q in quality]
    if len(qs) != rgb.shape[0]:
        raise InvalidInputError(f"expected {rgb.shape[0]} JPEG quality factors (one per image), got {len(qs)}")
    src = rgb.detach().to("cpu")
    out = torch.cat([jpeg_compress(src[i:i + 1], q) for i, q in enumerate(qs)])
    return out.to(rgb.device)


# --------------------------------------------------------------------------- kernels

def _check_kernel_size(size: int) -> None:
    if not isinstance(size, (int, np.integer)) or size < 3 or size % 2 == 0:
        raise InvalidInputError(f"kernel size must be an odd int ≥ 3, got {size!r}")


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    ax = np.arange(size, dtype=np.float64) - (size - 1) / 2
    return np.meshgrid(ax, ax, indexing="xy")  # xx varies along columns, yy along rows


def _mahalanobis(size: int, sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    """CᵀΣ⁻¹C over the kernel grid, Σ = R(θ) diag(σx², σy²) R(θ)ᵀ."""
    for name, s in (("sigma_x", sigma_x), ("sigma_y", sigma_y)):
        if not (math.isfinite(s) and s > 0):
            raise InvalidInputError(f"{name} must be a positive number of pixels, got {s}")
    if not math.isfinite(theta):
        raise InvalidInputError(f"theta must be a finite angle in radians, got {theta}")
    xx, yy = _grid(size)
    c, s = math.cos(theta), math.sin(theta)
    u = c * xx + s * yy   # coordinate along the θ direction
    v = -s * xx + c * yy  # and across it
    return (u / sigma_x) ** 2 + (v / sigma_y) ** 2


def _normalised(k: np.ndarray) -> torch.Tensor:
    k = k / k.sum()
    # Tails below 1e-12 would be float32 denormals, which slow CPU convolution ~10×.
    k[np.abs(k) < 1e-12] = 0.0
    return torch.from_numpy((k / k.sum()).astype(np.float32))


def isotropic_gaussian_kernel(size: int, sigma: float) -> torch.Tensor:
    """Isotropic Gaussian blur kernel ``exp(−r²/2σ²)``, normalised.

    Args:
        size: odd side length k ≥ 3, pixels.
        sigma: standard deviation σ, pixels, > 0.

    Returns:
        float32 ``(k, k)`` tensor summing to 1.

    Raises:
        InvalidInputError: even or too small ``size``, σ ≤ 0.
    """
    return anisotropic_gaussian_kernel(size, sigma, sigma, 0.0)


def anisotropic_gaussian_kernel(size: int, sigma_x: float, sigma_y: float, theta: float) -> torch.Tensor:
    """Anisotropic Gaussian ``exp(−½ CᵀΣ⁻¹C)`` with Σ = R(θ) diag(σx², σy²) R(θ)ᵀ (Real-ESRGAN §3.1).

    Args:
        size: odd side length k ≥ 3, pixels.
        sigma_x: standard deviation along the direction θ, pixels, > 0.
        sigma_y: standard deviation across it, pixels, > 0.
        theta: angle in radians from the x (column) axis toward the y (row, downward) axis.

    Returns:
        float32 ``(k, k)`` tensor summing to 1, indexed ``[row, column]``.

    Raises:
        InvalidInputError: bad size, σ ≤ 0, non-finite θ.
    """
    _check_kernel_size(size)
    return _normalised(np.exp(-0.5 * _mahalanobis(size, sigma_x, sigma_y, theta)))


def generalized_gaussian_kernel(size: int, sigma_x: float, sigma_y: float, theta: float, beta: float) -> torch.Tensor:
    """Generalized Gaussian ``exp(−½ (CᵀΣ⁻¹C)^β)`` (Real-ESRGAN §3.1; β ∈ [0.5, 4] in training).

    β < 1 gives heavier tails than a Gaussian, β > 1 a flatter top. Arguments as in
    :func:`anisotropic_gaussian_kernel`, plus the shape parameter ``beta`` > 0.

    Returns:
        float32 ``(k, k)`` tensor summing to 1.

    Raises:
        InvalidInputError: bad size, σ or β ≤ 0.
    """
    _check_kernel_size(size)
    _check_range("beta", float(beta), 1e-3, 100.0)
    return _normalised(np.exp(-0.5 * _mahalanobis(size, sigma_x, sigma_y, theta) ** beta))


def plateau_kernel(size: int, sigma_x: float, sigma_y: float, theta: float, beta: float) -> torch.Tensor:
    """Plateau-shaped kernel ``1 / (1 + (CᵀΣ⁻¹C)^β)`` (Real-ESRGAN §3.1; β ∈ [1, 2] in training).

    Arguments as in :func:`anisotropic_gaussian_kernel`, plus the shape parameter ``beta`` > 0.

    Returns:
        float32 ``(k, k)`` tensor summing to 1.

    Raises:
        InvalidInputError: bad size, σ or β ≤ 0.
    """
    _check_kernel_size(size)
    _check_range("beta", float(beta), 1e-3, 100.0)
    return _normalised(1.0 / (1.0 + _mahalanobis(size, sigma_x, sigma_y, theta) ** beta))


def sinc_kernel(size: int, cutoff: float) -> torch.Tensor:
    """2-D circular sinc (ideal low-pass) kernel ``ω_c J₁(ω_c r) / (2π r)`` (Real-ESRGAN §3.3).

    Simulates ringing and overshoot. Negative lobes are kept; the kernel is normalised
    to sum 1.

    Args:
        size: odd side length k ≥ 3, pixels.
        cutoff: cut-off frequency ω_c in radians per pixel, in (0, π].

    Returns:
        float32 ``(k, k)`` tensor summing to 1.

    Raises:
        InvalidInputError: bad size, ω_c outside (0, π].
    """
    _check_kernel_size(size)
    if not (math.isfinite(cutoff) and 0 < cutoff <= math.pi + 1e-9):
        raise InvalidInputError(f"sinc cut-off ω_c must be in (0, π] radians per pixel, got {cutoff}")
    xx, yy = _grid(size)
    r = torch.from_numpy(np.hypot(xx, yy))
    centre = r == 0
    rs = torch.where(centre, torch.ones_like(r), r)
    k = cutoff * torch.special.bessel_j1(cutoff * rs) / (2 * math.pi * rs)
    k = torch.where(centre, torch.full_like(r, cutoff ** 2 / (4 * math.pi)), k)  # limit r → 0
    return _normalised(k.numpy())


# --------------------------------------------------------------------------- configuration

@dataclass(frozen=True)
class StageConfig:
    """Sampling ranges of one degradation stage of Real-ESRGAN (Wang et al. 2021, §3 and §4.1).

    Ranges are closed intervals ``(low, high)`` sampled uniformly. σ are in pixels for
    blur and on the 0–255 scale for noise; JPEG QFs are integers.
    """

    blur_sigma: tuple[float, float]
    kernel_probs: tuple[float, ...] = (0.45, 0.25, 0.12, 0.03, 0.12, 0.03)  # see KERNEL_TYPES
    sinc_prob: float = 0.1
    generalized_beta: tuple[float, float] = (0.5, 4.0)
    plateau_beta: tuple[float, float] = (1.0, 2.0)
    resize_probs: tuple[float, float, float] = (0.2, 0.7, 0.1)  # up, down, keep
    resize_range: tuple[float, float] = (0.15, 1.5)
    gaussian_noise_prob: float = 0.5  # otherwise Poisson
    noise_sigma: tuple[float, float] = (1.0, 30.0)
    poisson_scale: tuple[float, float] = (0.05, 3.0)
    gray_noise_prob: float = 0.4
    jpeg_quality: tuple[int, int] = (30, 95)

    def __post_init__(self) -> None:
        if len(self.kernel_probs) != len(KERNEL_TYPES):
            raise InvalidInputError(f"kernel_probs: expected {len(KERNEL_TYPES)} probabilities for "
                                    f"{KERNEL_TYPES}, got {len(self.kernel_probs)}")
        for name in ("kernel_probs", "resize_probs"):
            p = np.asarray(getattr(self, name), dtype=np.float64)
            if np.any(p < 0) or not math.isclose(p.sum(), 1.0, abs_tol=1e-6):
                raise InvalidInputError(f"{name}: expected non-negative probabilities summing to 1, got {tuple(p)}")
        for name in ("sinc_prob", "gaussian_noise_prob", "gray_noise_prob"):
            _check_range(name, float(getattr(self, name)), 0.0, 1.0)
        for name in ("blur_sigma", "generalized_beta", "plateau_beta", "resize_range", "noise_sigma",
                     "poisson_scale", "jpeg_quality"):
            low, high = getattr(self, name)
            if not (0 < low <= high):
                raise InvalidInputError(f"{name}: expected 0 < low ≤ high, got ({low}, {high})")
        if not self.resize_range[0] <= 1 <= self.resize_range[1]:
            raise InvalidInputError(f"resize_range must contain 1 (up is [1, high], down [low, 1]), "
                                    f"got {self.resize_range}")
        if not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise InvalidInputError(f"jpeg_quality must lie in 1–100, got {self.jpeg_quality}")


KERNEL_TYPES = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")
RESIZE_MODES = ("area", "bilinear", "bicubic")


@dataclass(frozen=True)
class SecondOrderConfig:
    """All ranges and probabilities of Real-ESRGAN's second-order degradation (paper defaults).

    Source: Wang et al. 2021, https://arxiv.org/abs/2107.10833, §3 and §4.1, with the
    values of the official training options (``train_realesrgan_x4plus.yml``). The second
    stage's resize probabilities there are (0.3, 0.4, 0.3) (up, down, keep).
    """

    first: StageConfig = field(default_factory=lambda: StageConfig(blur_sigma=(0.2, 3.0)))
    second: StageConfig = field(default_factory=lambda: StageConfig(
        blur_sigma=(0.2, 1.5), resize_probs=(0.3, 0.4, 0.3), resize_range=(0.3, 1.2),
        noise_sigma=(1.0, 25.0), poisson_scale=(0.05, 2.5)))
    kernel_sizes: tuple[int, ...] = (7, 9, 11, 13, 15, 17, 19, 21)
    second_blur_prob: float = 0.8
    final_sinc_prob: float = 0.8
    resize_modes: tuple[str, ...] = RESIZE_MODES

    def __post_init__(self) -> None:
        for k in self.kernel_sizes:
            _check_kernel_size(k)
        if not self.kernel_sizes:
            raise InvalidInputError("kernel_sizes: expected at least one odd size, got none")
        _check_range("second_blur_prob", float(self.second_blur_prob), 0.0, 1.0)
        _check_range("final_sinc_prob", float(self.final_sinc_prob), 0.0, 1.0)
        bad = [m for m in self.resize_modes if m not in RESIZE_MODES]
        if bad or not self.resize_modes:
            raise InvalidInputError(f"resize_modes: expected a non-empty subset of {RESIZE_MODES}, "
                                    f"got {self.resize_modes}")


DEFAULT_CONFIG = SecondOrderConfig()


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _random_sinc(rng: np.random.Generator, size: int) -> torch.Tensor:
    # Smaller kernels get a higher minimum cut-off so the ringing stays inside the support.
    low = math.pi / 3 if size < 13 else math.pi / 4
    return sinc_kernel(size, float(rng.uniform(low, math.pi)))


def random_blur_kernel(rng: Seed, stage: int = 1, cfg: SecondOrderConfig = DEFAULT_CONFIG) -> torch.Tensor:
    """Draw one blur kernel of Real-ESRGAN's stage 1 or 2 (Wang et al. 2021, §3.1 and §3.3).

    Size uniform over ``cfg.kernel_sizes`` (odd, 7–21). With probability ``sinc_prob`` a
    sinc kernel (ω_c ∈ [π/3, π] for k < 13, else [π/4, π]); otherwise one of
    :data:`KERNEL_TYPES` by ``kernel_probs``, with σ in the stage's ``blur_sigma``
    (σx = σy for the isotropic types), θ ∈ [−π, π], generalized β drawn from
    [low, 1] or [1, high] with equal odds, plateau β uniform.

    Returns:
        float32 ``(k, k)`` tensor summing to 1.

    Raises:
        InvalidInputError: ``stage`` not 1 or 2, bad ``rng``.
    """
    if stage not in (1, 2):
        raise InvalidInputError(f"stage must be 1 or 2, got {stage!r}")
    rng = _as_rng(rng)
    st = cfg.first if stage == 1 else cfg.second
    size = int(rng.choice(cfg.kernel_sizes))
    if rng.uniform() < st.sinc_prob:
        return _random_sinc(rng, size)
    kind = KERNEL_TYPES[int(rng.choice(len(KERNEL_TYPES), p=np.asarray(st.kernel_probs) / sum(st.kernel_probs)))]
    sx = _uniform(rng, st.blur_sigma)
    if kind.endswith("aniso"):
        sy, theta = _uniform(rng, st.blur_sigma), float(rng.uniform(-math.pi, math.pi))
    else:
        sy, theta = sx, 0.0
    if kind.startswith("generalized"):
        lo, hi = st.generalized_beta
        beta = float(rng.uniform(lo, 1.0) if rng.uniform() < 0.5 and lo < 1 else rng.uniform(max(lo, 1.0), hi))
        return generalized_gaussian_kernel(size, sx, sy, theta, beta)
    if kind.startswith("plateau"):
        return plateau_kernel(size, sx, sy, theta, _uniform(rng, st.plateau_beta))
    return anisotropic_gaussian_kernel(size, sx, sy, theta)


# --------------------------------------------------------------------------- blur and resize

def apply_kernel(rgb: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Convolve each channel with ``kernel`` (true convolution, "same" size).

    Borders are reflect-padded; images smaller than the kernel's radius (possible after
    strong downscaling) fall back to replicate padding. Not clipped: a sinc kernel's
    overshoot can leave [0, 1].

    Args:
        rgb: RGB float32 ``(N, 3, H, W)``.
        kernel: float ``(k, k)`` with odd k.

    Returns:
        float32 ``(N, 3, H, W)`` on ``rgb``'s device.

    Raises:
        InvalidInputError: ``rgb`` breaks the contract or ``kernel`` is not square with odd side.
    """
    _check_rgb(rgb)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] % 2 == 0:
        raise InvalidInputError(f"kernel: expected a square (k, k) tensor with odd k, got {tuple(kernel.shape)}")
    c, h, w = rgb.shape[1:]
    pad = kernel.shape[0] // 2
    mode = "reflect" if pad < min(h, w) else "replicate"
    x = F.pad(rgb, (pad, pad, pad, pad), mode=mode)
    weight = kernel.flip(0, 1).to(rgb.device, torch.float32)[None, None].expand(c, 1, -1, -1).contiguous()
    return F.conv2d(x, weight, groups=c)


def _interpolate(rgb: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    if tuple(rgb.shape[-2:]) == size:
        return rgb
    if mode == "area":
        return F.interpolate(rgb, size=size, mode="area")
    return F.interpolate(rgb, size=size, mode=mode, align_corners=False)


def random_resize(rgb: torch.Tensor, rng: Seed, probs: tuple[float, float, float] = (0.2, 0.7, 0.1),
                  scale_range: tuple[float, float] = (0.15, 1.5), modes: Sequence[str] = RESIZE_MODES,
                  base_size: tuple[int, int] | None = None) -> torch.Tensor:
    """Random up/down/keep resize of Real-ESRGAN (Wang et al. 2021, §3.1).

    Chooses up, down or keep by ``probs``; the factor is uniform in [1, high] (up) or
    [low, 1] (down); the interpolation uniformly among ``modes`` ("area", "bilinear",
    "bicubic", PyTorch's ``F.interpolate`` without antialiasing, as in the paper).
    The output size is ``round(factor · base_size)``, at least 1 pixel.

    Args:
        rgb: RGB float32 ``(N, 3, H, W)``.
        rng: ``numpy.random.Generator`` or int seed.
        probs: probabilities of (up, down, keep).
        scale_range: (low, high) with low ≤ 1 ≤ high.
        modes: interpolation modes to choose from.
        base_size: ``(H, W)`` the factor multiplies; the input size when None.

    Returns:
        float32 ``(N, 3, H', W')`` clipped to [0, 1].

    Raises:
        InvalidInputError: bad probabilities, range or mode.
    """
    _check_rgb(rgb)
    rng = _as_rng(rng)
    p = np.asarray(probs, dtype=np.float64)
    if p.shape != (3,) or np.any(p < 0) or not math.isclose(p.sum(), 1.0, abs_tol=1e-6):
        raise InvalidInputError(f"probs: expected 3 non-negative probabilities (up, down, keep) summing to 1, "
                                f"got {probs}")
    low, high = scale_range
    if not 0 < low <= 1 <= high:
        raise InvalidInputError(f"scale_range: expected 0 < low ≤ 1 ≤ high, got {scale_range}")
    bad = [m for m in modes if m not in RESIZE_MODES]
    if bad or not modes:
        raise InvalidInputError(f"modes: expected a non-empty subset of {RESIZE_MODES}, got {tuple(modes)}")
    choice = int(rng.choice(3, p=p / p.sum()))
    factor = float(rng.uniform(1, high)) if choice == 0 else float(rng.uniform(low, 1)) if choice == 1 else 1.0
    mode = modes[int(rng.integers(len(modes)))]
    bh, bw = base_size if base_size is not None else rgb.shape[-2:]
    size = (max(1, round(bh * factor)), max(1, round(bw * factor)))
    return _interpolate(rgb, size, mode).clamp_(0, 1)


# --------------------------------------------------------------------------- second-order model

def _random_noise(rgb: torch.Tensor, rng: np.random.Generator, st: StageConfig) -> torch.Tensor:
    gaussian = rng.uniform() < st.gaussian_noise_prob
    strength = _uniform(rng, st.noise_sigma if gaussian else st.poisson_scale)
    gray = bool(rng.uniform() < st.gray_noise_prob)
    seed = int(rng.integers(2 ** 63 - 1))
    if gaussian:
        return add_gaussian_noise(rgb, strength, seed=seed, gray=gray)
    return add_poisson_noise(rgb, strength, gray=gray, seed=seed)


def _random_jpeg(rgb: torch.Tensor, rng: np.random.Generator, st: StageConfig) -> torch.Tensor:
    return jpeg(rgb.clamp(0, 1), int(rng.integers(st.jpeg_quality[0], st.jpeg_quality[1] + 1)))


def _second_order_one(hr: torch.Tensor, scale: int, rng: np.random.Generator, cfg: SecondOrderConfig) -> torch.Tensor:
    h, w = hr.shape[-2:]
    # Stage 1: blur, resize, noise, JPEG.
    x = apply_kernel(hr, random_blur_kernel(rng, 1, cfg))
    x = random_resize(x, rng, cfg.first.resize_probs, cfg.first.resize_range, cfg.resize_modes)
    x = _random_noise(x, rng, cfg.first)
    x = _random_jpeg(x, rng, cfg.first)
    # Stage 2: optional blur, resize relative to the target size, noise.
    if rng.uniform() < cfg.second_blur_prob:
        x = apply_kernel(x, random_blur_kernel(rng, 2, cfg))
    target = (h // scale, w // scale)
    x = random_resize(x, rng, cfg.second.resize_probs, cfg.second.resize_range, cfg.resize_modes, base_size=target)
    x = _random_noise(x, rng, cfg.second)
    # Final: resize to the target size, then [sinc, JPEG] or [JPEG, sinc] with equal odds.
    x = _interpolate(x, target, cfg.resize_modes[int(rng.integers(len(cfg.resize_modes)))])
    sinc = _random_sinc(rng, int(rng.choice(cfg.kernel_sizes))) if rng.uniform() < cfg.final_sinc_prob else None
    if rng.uniform() < 0.5:
        x = apply_kernel(x, sinc) if sinc is not None else x
        x = _random_jpeg(x, rng, cfg.second)
    else:
        x = _random_jpeg(x, rng, cfg.second)
        x = apply_kernel(x, sinc) if sinc is not None else x
    return _quantise(x)


def second_order(hr: torch.Tensor, scale: int, rng: Seed, cfg: SecondOrderConfig = DEFAULT_CONFIG) -> torch.Tensor:
    """Real-ESRGAN's second-order degradation: HR → low-quality (LQ) training input.

    Wang et al. 2021, https://arxiv.org/abs/2107.10833, §3 (Fig. 2). Each image gets:

    1. stage 1: random blur kernel (:func:`random_blur_kernel`, stage 1), random
       resize (up/down/keep), Gaussian or Poisson noise (colour or gray), JPEG;
    2. stage 2: blur with probability ``second_blur_prob`` (stage-2 kernel), random
       resize relative to the target size ``(H/scale, W/scale)``, noise;
    3. final: resize to ``(H/scale, W/scale)`` with a random mode, then either
       [sinc filter, JPEG] or [JPEG, sinc filter] with equal odds; the sinc filter is
       applied with probability ``final_sinc_prob``;
    4. clip and quantise to 8 bits.

    Unlike the paper (differentiable JPEG on GPU) JPEG is Pillow's encoder, and the
    ground truth is not sharpened here. Runs on CPU per image: about 6 ms (scale 4) to
    8 ms (scale 1) for a 128×128 patch with one torch thread, as in a data-loader
    worker; for ``scale=1`` the output has the input's size.

    Args:
        hr: RGB float32 ``(N, 3, H, W)`` in [0, 1], H and W multiples of ``scale``.
        scale: integer scale factor ≥ 1.
        rng: ``numpy.random.Generator`` (advanced in place) or int seed.
        cfg: sampling ranges and probabilities.

    Returns:
        RGB float32 ``(N, 3, H/scale, W/scale)`` in [0, 1] on the 1/255 grid, on ``hr``'s device.

    Raises:
        InvalidInputError: bad shape, dtype, scale, or ``rng``.
    """
    _check_rgb(hr, "hr")
    if not isinstance(scale, (int, np.integer)) or isinstance(scale, bool) or scale < 1:
        raise InvalidInputError(f"scale factor must be an int ≥ 1, got {scale!r}")
    h, w = hr.shape[-2:]
    if h % scale or w % scale or h < scale or w < scale:
        raise InvalidInputError(f"hr: expected H and W multiples of the scale factor {scale}, got {h}×{w}")
    rng = _as_rng(rng)
    src = hr.detach().to("cpu").clamp(0, 1)
    out = torch.cat([_second_order_one(src[i:i + 1], int(scale), rng, cfg) for i in range(src.shape[0])])
    return out.to(hr.device)


# --------------------------------------------------------------------------- fixed evaluation mix

FIXED_MIX_BLUR_SIGMA = 1.2
FIXED_MIX_BLUR_SIZE = 9
FIXED_MIX_NOISE_SIGMA = 8.0
FIXED_MIX_QUALITY = 60


def fixed_mix(hr: torch.Tensor, scale: int = 2, seed: int = 0) -> torch.Tensor:
    """The project's fixed held-out evaluation degradation ("fixed mix"), deterministic.

    In order, per image:

    1. Gaussian blur, isotropic σ = 1.2 px, 9×9 kernel (normalised), reflect padding, on
       the float image;
    2. ``scale`` ≥ 2: Pillow ``BICUBIC`` downscale of the 8-bit image to
       ``(W/scale, H/scale)`` (as ``enhancers.training.data.degrade_bicubic``).
       ``scale`` = 1 (same-size variant): Pillow ``BICUBIC`` to ``(W//2, H//2)``, then
       Pillow ``BICUBIC`` back to ``(W, H)``, both on 8-bit images;
    3. i.i.d. Gaussian colour noise, σ = 8 on the 0–255 scale, from
       ``torch.Generator().manual_seed(seed)`` over the whole ``(N, 3, h, w)`` batch,
       rounded and clipped to 8 bits (:func:`add_gaussian_noise`);
    4. JPEG, quality factor 60, Pillow with 4:2:0 chroma subsampling
       (:func:`enhancers.imageio.jpeg_compress`).

    Args:
        hr: RGB float32 ``(N, 3, H, W)`` in [0, 1], H and W multiples of ``scale``.
        scale: integer scale factor ≥ 1.
        seed: noise seed.

    Returns:
        RGB float32 ``(N, 3, H/scale, W/scale)`` in [0, 1] on the 1/255 grid.

    Raises:
        InvalidInputError: bad shape, dtype or scale factor.
    """
    _check_rgb(hr, "hr")
    if not isinstance(scale, (int, np.integer)) or isinstance(scale, bool) or scale < 1:
        raise InvalidInputError(f"scale factor must be an int ≥ 1, got {scale!r}")
    h, w = hr.shape[-2:]
    if h % scale or w % scale or min(h, w) < 2 * (scale if scale > 1 else 2):
        raise InvalidInputError(f"hr: expected H and W multiples of the scale factor {scale} "
                                f"and at least {2 * max(scale, 2)} px, got {h}×{w}")
    kernel = isotropic_gaussian_kernel(FIXED_MIX_BLUR_SIZE, FIXED_MIX_BLUR_SIGMA)
    x = apply_kernel(hr.detach().to("cpu"), kernel).clamp_(0, 1)
    small = []
    for i in range(x.shape[0]):
        img = x[i:i + 1]
        if scale > 1:
            img = pil_resize(img, (w // scale, h // scale), "bicubic", out_dtype=torch.uint8)
        else:
            img = pil_resize(img, (w // 2, h // 2), "bicubic", out_dtype=torch.uint8)
            img = pil_resize(img, (w, h), "bicubic", out_dtype=torch.uint8)
        small.append(img.float().div_(255))
    x = add_gaussian_noise(torch.cat(small), FIXED_MIX_NOISE_SIGMA, seed=seed)
    return jpeg(x, FIXED_MIX_QUALITY).to(hr.device)


# --------------------------------------------------------------------------- photometric (lighting) model

@dataclass(frozen=True)
class PhotometricParams:
    """Lighting/tone degradation applied by :func:`photometric`.

    Attributes:
        ev: exposure change in EV (stops), applied in linear light (×2^ev); training range [−1.5, 1.5].
        gamma: tone-curve exponent γ on sRGB values (x → x^γ; γ > 1 darkens mid-tones); range [0.7, 1.4].
        contrast: faded contrast c ∈ (0, 1]: x → c·x + (1 − c)·0.5, toward mid-gray; range [0.6, 1].
        wb_gains: white-balance cast, per-channel (R, G, B) gains in linear light; range [0.8, 1.2] each.

    The defaults are the identity, so ``PhotometricParams(ev=-1, wb_gains=(1.15, 1, 0.85))``
    is "one stop under, warm cast".
    """

    ev: float = 0.0
    gamma: float = 1.0
    contrast: float = 1.0
    wb_gains: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        _check_range("ev", float(self.ev), -10.0, 10.0)
        _check_range("gamma", float(self.gamma), 0.05, 20.0)
        _check_range("contrast", float(self.contrast), 1e-3, 1.0)
        gains = tuple(float(g) for g in self.wb_gains)
        if len(gains) != 3 or not all(math.isfinite(g) and 0 < g <= 10 for g in gains):
            raise InvalidInputError(f"wb_gains: expected three positive (R, G, B) gains, got {self.wb_gains}")
        object.__setattr__(self, "wb_gains", gains)


IDENTITY_PHOTOMETRIC = PhotometricParams()
# The auto-tone evaluation conditions: one stop under with a warm (tungsten-like) or cool (shade-like) cast.
DARK_WARM_CAST = PhotometricParams(ev=-1.0, wb_gains=(1.15, 1.0, 0.85))
DARK_COOL_CAST = PhotometricParams(ev=-1.0, wb_gains=(0.85, 1.0, 1.15))
# One stop under, warm cast and faded contrast (c = 0.8, the middle of the training range): an old print or a
# phone photo in tungsten light, the case the auto-tone requirement is measured on.
DARK_WARM_FADED = PhotometricParams(ev=-1.0, contrast=0.8, wb_gains=(1.15, 1.0, 0.85))


@dataclass(frozen=True)
class PhotometricRanges:
    """Sampling ranges of :func:`random_photometric` (closed intervals)."""

    ev: tuple[float, float] = (-1.5, 1.5)
    gamma: tuple[float, float] = (0.7, 1.4)
    contrast: tuple[float, float] = (0.6, 1.0)
    wb_gain: tuple[float, float] = (0.8, 1.2)


def photometric(rgb: torch.Tensor, params: PhotometricParams) -> torch.Tensor:
    """Apply a lighting/tone degradation, in this order:

    1. exposure: sRGB → linear (``kornia.color.rgb_to_linear_rgb``), × 2^ev, clip to
       [0, 1], back to sRGB;
    2. gamma: x → x^γ on the sRGB values;
    3. faded contrast: x → c·x + (1 − c)·0.5 (toward mid-gray, a per-pixel tone curve);
    4. white balance: to linear, multiply R, G, B by ``wb_gains``, clip, back to sRGB;
    5. clip to [0, 1].

    Every step is a per-pixel colour transform, so the whole is a global 3-D LUT.

    Args:
        rgb: RGB (sRGB-encoded) float32 ``(N, 3, H, W)`` in [0, 1].
        params: the degradation; :data:`IDENTITY_PHOTOMETRIC` returns the input (to float precision).

    Returns:
        RGB float32 ``(N, 3, H, W)`` in [0, 1], on ``rgb``'s device; not quantised.

    Raises:
        InvalidInputError: ``rgb`` breaks the contract or ``params`` is not a PhotometricParams.
    """
    _check_rgb(rgb)
    if not isinstance(params, PhotometricParams):
        raise InvalidInputError(f"params: expected PhotometricParams, got {type(params).__name__}")
    x = rgb.clamp(0, 1)
    if params.ev != 0:
        lin = kornia.color.rgb_to_linear_rgb(x) * (2.0 ** params.ev)
        x = kornia.color.linear_rgb_to_rgb(lin.clamp_(0, 1))
    if params.gamma != 1:
        x = x.clamp(0, 1).pow(params.gamma)
    if params.contrast != 1:
        x = x * params.contrast + (1 - params.contrast) * 0.5
    if params.wb_gains != (1.0, 1.0, 1.0):
        gains = torch.tensor(params.wb_gains, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
        x = kornia.color.linear_rgb_to_rgb((kornia.color.rgb_to_linear_rgb(x.clamp(0, 1)) * gains).clamp_(0, 1))
    return x.clamp(0, 1)


def random_photometric(rng: Seed, ranges: PhotometricRanges = PhotometricRanges()) -> PhotometricParams:
    """Draw lighting parameters: ev, contrast and each gain uniform in their ranges, γ log-uniform.

    Log-uniform γ makes brightening (γ < 1) and darkening (γ > 1) curves equally likely
    in ratio terms.

    Args:
        rng: ``numpy.random.Generator`` (advanced in place) or int seed.
        ranges: sampling ranges.

    Returns:
        A :class:`PhotometricParams`.
    """
    rng = _as_rng(rng)
    ev = _uniform(rng, ranges.ev)
    gamma = float(math.exp(rng.uniform(math.log(ranges.gamma[0]), math.log(ranges.gamma[1]))))
    contrast = _uniform(rng, ranges.contrast)
    gains = tuple(float(g) for g in rng.uniform(ranges.wb_gain[0], ranges.wb_gain[1], size=3))
    return PhotometricParams(ev=ev, gamma=gamma, contrast=contrast, wb_gains=gains)
