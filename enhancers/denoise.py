"""Denoising: remove Gaussian-like noise with a registered model, at a noise level σ that is set or estimated.

σ is the noise standard deviation on the 0–255 scale. Non-blind models (spec
``controls`` holds ``"sigma"``) take it as an input; blind ones ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import imageio
from .degrade import add_gaussian_noise
from .errors import InvalidInputError
from .imageio import LoadedImage
from .loader import load_model
from .metrics import psnr_rgb, ssim_rgb
from .registry import get_spec, list_specs, task_spec
from .runner import run_model_keep_gray
from .tiling import Progress

TASK = "denoise"
DEFAULT_MODEL = "denoise/unet"
BASELINE = "denoise/nlm"
MAX_SIGMA = 75.0  # the bundled model's training range
# (raw wavelet estimate, true σ): medians over the training photos at each σ, from
# ``python -m enhancers.training calibrate-sigma``. The raw estimate reads low for strong
# noise because 8-bit clipping removes part of it; interpolating this table undoes that.
SIGMA_CALIBRATION = ((0.0, 0.0), (0.8, 0.0), (5.16, 5.0), (10.04, 10.0), (14.82, 15.0), (19.52, 20.0),
                     (23.9, 25.0), (28.13, 30.0), (36.26, 40.0), (43.85, 50.0), (50.93, 60.0), (60.65, 75.0))


def model_ids() -> list[str]:
    """Registered denoising model ids, in registry order."""
    return [s.id for s in list_specs(TASK)]


def takes_sigma(model_id: str) -> bool:
    """True for non-blind models, which need σ."""
    return "sigma" in get_spec(model_id).controls


def raw_sigma_estimate(rgb: torch.Tensor) -> float:
    """scikit-image's wavelet noise estimate (Donoho & Johnstone 1994), averaged over R, G and B, 0–255 scale."""
    from skimage.restoration import estimate_sigma as _estimate

    imageio.check_image_tensor(rgb)
    arr = imageio.to_uint8_hwc(rgb).astype(np.float64)
    return float(_estimate(arr, channel_axis=-1, average_sigmas=True))


def estimate_sigma(rgb: torch.Tensor) -> float:
    """Estimate the Gaussian noise level of an image, on the 0–255 scale.

    The robust median estimator of the finest wavelet coefficients (Donoho & Johnstone
    1994, scikit-image's ``estimate_sigma``), mapped through :data:`SIGMA_CALIBRATION`,
    which was fitted on the training photos under the noise protocol (8-bit clipping
    hides part of strong noise). Values beyond the table extrapolate its last slope.

    Args:
        rgb: RGB float32 ``(1, 3, H, W)`` in [0, 1].
    """
    raw = raw_sigma_estimate(rgb)
    xs, ys = zip(*SIGMA_CALIBRATION)
    if raw > xs[-1]:
        return float(ys[-1] + (raw - xs[-1]) * (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]))
    return float(np.interp(raw, xs, ys))


def denoise(rgb: torch.Tensor, model_id: str = DEFAULT_MODEL, sigma: float | None = None,
            tile: int | None = None, progress: Progress | None = None,
            out_dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, float | None]:
    """Denoise an image.

    Args:
        rgb: noisy RGB float32 ``(1, 3, H, W)`` in [0, 1]. A grayscale photo (three
            equal channels) stays grayscale.
        model_id: a registered ``denoise/...`` id.
        sigma: noise level on the 0–255 scale (0–75); None estimates it (blind mode).
            Ignored by blind models.
        tile: tile edge in pixels (None: the model's policy or free memory).
        progress: ``progress(done, total)`` per tile.
        out_dtype: float32, or uint8 (×255) for results headed to a file.

    Returns:
        ``(denoised RGB (1, 3, H, W), σ used)``; σ is None for blind models.

    Raises:
        UnknownModelError, ModelUnavailableError, InvalidInputError (σ out of range, a
        model of another task, an image below the model's minimum size).
    """
    imageio.check_image_tensor(rgb)
    spec = task_spec(model_id, TASK, "a denoising model")
    spec.check_size(*rgb.shape[-2:])
    if sigma is not None and not 0 <= sigma <= MAX_SIGMA:
        raise InvalidInputError(f"σ must be between 0 and {MAX_SIGMA:g} (0–255 scale), got {sigma}")
    used = None
    if takes_sigma(model_id):
        used = float(sigma) if sigma is not None else min(estimate_sigma(rgb), MAX_SIGMA)
    out = run_model_keep_gray(load_model(model_id), rgb, out_dtype, tile=tile, progress=progress,
                              condition={"sigma": used} if used is not None else None)
    return out, used


@dataclass(frozen=True)
class DenoiseResult:
    """A denoised upload with what was done to it.

    Attributes:
        image: the result with the input's alpha and metadata; ``rgb`` is uint8 ``(1, 3, H, W)``.
        before: the input, uint8 ``(1, 3, H, W)``.
        sigma: σ the model was given (0–255), None for blind models.
        sigma_estimated: the blind estimate, when σ was not given.
    """

    image: LoadedImage
    before: torch.Tensor
    sigma: float | None
    sigma_estimated: float | None


def denoise_image(image: LoadedImage, model_id: str = DEFAULT_MODEL, sigma: float | None = None,
                  tile: int | None = None, progress: Progress | None = None) -> DenoiseResult:
    """Denoise a decoded upload for saving, keeping its alpha and metadata (see :func:`denoise`)."""
    estimated = estimate_sigma(image.rgb) if sigma is None and takes_sigma(model_id) else None
    out, used = denoise(image.rgb, model_id, sigma if sigma is not None else
                        (min(estimated, MAX_SIGMA) if estimated is not None else None), tile, progress,
                        out_dtype=torch.uint8)
    before = image.rgb.mul(255).round_().to(torch.uint8)
    return DenoiseResult(image.with_pixels(out, image.alpha), before, used, estimated)


@dataclass(frozen=True)
class Comparison:
    """The classroom experiment: noise added to a clean photo, then removed by a baseline and a model.

    Images are RGB float32 ``(1, 3, H, W)`` in [0, 1]; ``metrics`` maps ``"noisy"``,
    ``"baseline"`` and ``"model"`` to ``{"psnr": dB, "ssim": ...}`` against the clean photo.
    """

    clean: torch.Tensor
    noisy: torch.Tensor
    baseline: torch.Tensor
    model: torch.Tensor
    sigma: float
    metrics: dict[str, dict[str, float]]


def compare_on_clean(clean: torch.Tensor, sigma: float, model_id: str = DEFAULT_MODEL,
                     baseline_id: str = BASELINE, seed: int = 0, progress: Progress | None = None) -> Comparison:
    """Add Gaussian noise σ (noise protocol of :mod:`enhancers.degrade`) and denoise it two ways, both told σ.

    Raises:
        InvalidInputError: σ outside 1–75, or ``clean`` breaks the contract.
    """
    imageio.check_image_tensor(clean)
    if not 1 <= sigma <= MAX_SIGMA:
        raise InvalidInputError(f"σ must be between 1 and {MAX_SIGMA:g}, got {sigma}")
    noisy = add_gaussian_noise(clean, sigma, seed=seed)
    base, _ = denoise(noisy, baseline_id, sigma)
    out, _ = denoise(noisy, model_id, sigma, progress=progress)

    def score(x: torch.Tensor) -> dict[str, float]:
        return {"psnr": round(psnr_rgb(x, clean), 2), "ssim": round(ssim_rgb(x, clean), 4)}

    return Comparison(clean, noisy, base, out, float(sigma),
                      {"noisy": score(noisy), "baseline": score(base), "model": score(out)})
