"""JPEG artifact removal: blocking, ringing and colour bleeding, with a predicted and overridable quality factor.

The quality factor (QF, 1–100) is the number JPEG encoders take: lower means
coarser quantisation and stronger artifacts. Flexible models (spec ``controls``
holds ``"qf"``) predict it from the image, and a QF given by the user overrides the
prediction: a lower QF asks for stronger smoothing, a higher one keeps more detail.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import imageio
from .errors import InvalidInputError
from .imageio import LoadedImage
from .loader import LoadedModel, load_model
from .metrics import psnr_b, psnr_rgb, ssim_rgb
from .registry import list_specs, task_spec
from .runner import run_model_keep_gray
from .tiling import Progress

TASK = "dejpeg"
DEFAULT_MODEL = "dejpeg/fbcnn-lite"
QF_CROP = 512  # QF is predicted on a centre crop this size (8-aligned): JPEG quantisation is global
DCT_MIN_STEP = 3  # quantisation steps below this cannot be told from rounding noise in decoded pixels
DCT_MIN_COUNT = 30  # coefficients needed at a frequency to judge its step
DCT_FIT_SHARE = 0.8  # share of judged frequencies that must sit on multiples of the candidate's steps


def model_ids() -> list[str]:
    """Registered JPEG-artifact-removal model ids, in registry order."""
    return [s.id for s in list_specs(TASK)]


@torch.inference_mode()
def predict_quality(loaded: LoadedModel, rgb: torch.Tensor) -> float:
    """The model's quality-factor prediction (0–100) from a centre crop, on the 8×8 block grid."""
    h, w = rgb.shape[-2:]
    ch, cw = min(h, QF_CROP), min(w, QF_CROP)
    top, left = (h - ch) // 2 // 8 * 8, (w - cw) // 2 // 8 * 8
    crop = rgb[..., top:top + ch, left:left + cw].to(loaded.device, loaded.dtype)
    _, qf = loaded.module(crop)
    return float(qf.float().mean().clamp(0, 100))


def estimate_quality_dct(rgb: torch.Tensor) -> int | None:
    """Estimate the IJG quality factor of a decoded JPEG from its pixels alone (no file header).

    A JPEG stores each 8×8 block's DCT coefficients as multiples of a quantisation step,
    so in the decoded image's luma (BT.601, level-shifted, orthonormal 8×8 DCT on the
    block grid from the top-left corner) they still cluster on those multiples. Scanning
    qualities from coarse to fine, the estimate is the first whose scaled standard
    luminance table (ITU-T T.81 Annex K) fits: at ≥ 80% of the frequencies with steps
    ≥ 3 and ≥ 30 non-zero coefficients, the mean distance to the nearest multiple is at
    most 1/8 of the step (random values average 1/4).

    Returns None when no quality fits: not a JPEG, resized or re-noised since, cropped
    off the grid, saved with non-standard tables, or quality above about 95.

    Args:
        rgb: RGB float32 ``(1, 3, H, W)`` in [0, 1], in the JPEG's own geometry.
    """
    import scipy.fft

    imageio.check_image_tensor(rgb)
    arr = imageio.to_uint8_hwc(rgb).astype(np.float64)
    luma = arr @ np.array([0.299, 0.587, 0.114]) - 128
    h, w = luma.shape[0] // 8 * 8, luma.shape[1] // 8 * 8
    if h == 0 or w == 0:
        return None
    blocks = luma[:h, :w].reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3)
    coef = scipy.fft.dctn(blocks, axes=(2, 3), norm="ortho").reshape(-1, 64)[:, 1:]  # AC only
    for quality in range(1, 101):
        steps = imageio.ijg_luma_table(quality)[1:]
        judged = fitting = 0
        for k in np.flatnonzero(steps >= DCT_MIN_STEP):
            c = coef[:, k]
            c = c[np.abs(c) > steps[k] / 2]
            if c.size < DCT_MIN_COUNT:
                continue
            judged += 1
            fitting += np.abs(c - steps[k] * np.round(c / steps[k])).mean() <= steps[k] / 8
        if judged >= 3 and fitting >= DCT_FIT_SHARE * judged:
            return quality
    return None


@dataclass(frozen=True)
class QualityInfo:
    """Quality factors behind a restoration.

    Attributes:
        predicted: the network's own QF prediction (FBCNN's QF branch), 0–100.
        used: the QF the decoder was given: the override, else ``estimated``, else ``predicted``.
        estimated: the QF found in the pixels' DCT coefficients (:func:`estimate_quality_dct`),
            None when the image shows no standard quantisation grid.
        header: read from the file's quantisation table, when the upload was a JPEG file.
    """

    predicted: float
    used: float
    estimated: int | None = None
    header: int | None = None


def dejpeg(rgb: torch.Tensor, model_id: str = DEFAULT_MODEL, quality: float | None = None,
           tile: int | None = None, progress: Progress | None = None,
           out_dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, QualityInfo]:
    """Remove JPEG artifacts.

    Args:
        rgb: a decoded JPEG, RGB float32 ``(1, 3, H, W)`` in [0, 1], in the JPEG's own
            geometry (not resized or cropped off the 8×8 grid). A grayscale JPEG (three
            equal channels) stays grayscale.
        model_id: a registered ``dejpeg/...`` id.
        quality: QF override, 1–100; None uses the QF estimated from the DCT coefficients,
            or the network's prediction when the pixels show no quantisation grid.
        tile: tile edge in pixels (None: the model's policy or free memory). Tiles start on the 8×8 grid.
        progress: ``progress(done, total)`` per tile.
        out_dtype: float32, or uint8 (×255) for results headed to a file.

    Returns:
        ``(restored RGB (1, 3, H, W), QualityInfo)``.

    Raises:
        UnknownModelError, ModelUnavailableError, InvalidInputError (QF out of range, a
        model of another task).
    """
    imageio.check_image_tensor(rgb)
    spec = task_spec(model_id, TASK, "a JPEG artifact-removal model")
    if quality is not None and not 1 <= quality <= 100:
        raise InvalidInputError(f"quality factor must be 1–100, got {quality}")
    spec.check_size(*rgb.shape[-2:])
    loaded = load_model(model_id)
    predicted = predict_quality(loaded, rgb)
    estimated = estimate_quality_dct(rgb)
    if quality is not None:
        used = float(quality)
    else:
        used = float(estimated) if estimated is not None else predicted
    out = run_model_keep_gray(loaded, rgb, out_dtype, tile=tile, progress=progress, condition={"qf": used})
    return out, QualityInfo(round(predicted, 1), round(used, 1), estimated)


@dataclass(frozen=True)
class DejpegResult:
    """A restored upload: ``image`` (alpha and metadata kept; ``rgb`` uint8 ``(1, 3, H, W)``), the
    input as ``before`` (uint8), and the quality factors."""

    image: LoadedImage
    before: torch.Tensor
    quality: QualityInfo


def dejpeg_image(image: LoadedImage, model_id: str = DEFAULT_MODEL, quality: float | None = None,
                 tile: int | None = None, progress: Progress | None = None) -> DejpegResult:
    """Restore a decoded upload for saving (see :func:`dejpeg`); a JPEG file's header quality is reported too."""
    out, info = dejpeg(image.rgb, model_id, quality, tile, progress, out_dtype=torch.uint8)
    info = QualityInfo(info.predicted, info.used, info.estimated, image.jpeg_quality)
    before = image.rgb.mul(255).round_().to(torch.uint8)
    return DejpegResult(image.with_pixels(out, image.alpha), before, info)


@dataclass(frozen=True)
class JPEGComparison:
    """The classroom experiment: a clean photo saved as JPEG at ``quality``, then restored.

    Images are RGB float32 ``(1, 3, H, W)`` in [0, 1]; ``metrics`` maps ``"jpeg"`` and
    ``"model"`` to ``{"psnr", "ssim", "psnr_b"}`` against the original.
    """

    clean: torch.Tensor
    jpeg: torch.Tensor
    restored: torch.Tensor
    quality: int
    quality_info: QualityInfo
    metrics: dict[str, dict[str, float]]


def compare_on_clean(clean: torch.Tensor, quality: int, model_id: str = DEFAULT_MODEL,
                     override: float | None = None, progress: Progress | None = None) -> JPEGComparison:
    """Compress ``clean`` with Pillow at ``quality`` (default subsampling) and restore it.

    Raises:
        InvalidInputError: quality outside 1–100, or ``clean`` breaks the contract.
    """
    imageio.check_image_tensor(clean)
    jpg = imageio.jpeg_compress(clean, quality)
    out, info = dejpeg(jpg, model_id, override, progress=progress)

    def score(x: torch.Tensor) -> dict[str, float]:
        return {"psnr": round(psnr_rgb(x, clean), 2), "ssim": round(ssim_rgb(x, clean), 4),
                "psnr_b": round(psnr_b(x, clean), 2)}

    return JPEGComparison(clean, jpg, out, int(quality), info, {"jpeg": score(jpg), "model": score(out)})
