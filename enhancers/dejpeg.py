"""JPEG artifact removal: blocking, ringing and colour bleeding, with a predicted and overridable quality factor.

The quality factor (QF, 1–100) is the number JPEG encoders take: lower means
coarser quantisation and stronger artifacts. Flexible models (spec ``controls``
holds ``"qf"``) predict it from the image, and a QF given by the user overrides the
prediction: a lower QF asks for stronger smoothing, a higher one keeps more detail.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import imageio
from .errors import InvalidInputError
from .imageio import LoadedImage
from .loader import LoadedModel, load_model
from .metrics import psnr_b, psnr_rgb, ssim_rgb
from .registry import get_spec, list_specs
from .runner import run_model
from .tiling import Progress

TASK = "dejpeg"
DEFAULT_MODEL = "dejpeg/fbcnn-lite"
QF_CROP = 512  # QF is predicted on a centre crop this size (8-aligned): JPEG quantisation is global


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


def _is_gray(rgb: torch.Tensor) -> bool:
    return bool(torch.equal(rgb[:, 0], rgb[:, 1]) and torch.equal(rgb[:, 1], rgb[:, 2]))


@dataclass(frozen=True)
class QualityInfo:
    """Quality factors behind a restoration: ``predicted`` by the model, ``used`` (the override
    or the prediction), and ``header`` (read from the file's quantisation table, when it was a JPEG)."""

    predicted: float
    used: float
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
        quality: QF override, 1–100; None uses the model's prediction.
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
    spec = get_spec(model_id)
    if spec.task != TASK:
        raise InvalidInputError(f"{model_id} is a {spec.task} model, not a JPEG artifact-removal model")
    if quality is not None and not 1 <= quality <= 100:
        raise InvalidInputError(f"quality factor must be 1–100, got {quality}")
    h, w = rgb.shape[-2:]
    if min(h, w) < spec.min_size:
        raise InvalidInputError(f"{model_id} needs images of at least {spec.min_size} px per side, got {w}×{h}")
    loaded = load_model(model_id)
    predicted = predict_quality(loaded, rgb)
    used = float(quality) if quality is not None else predicted
    gray = _is_gray(rgb)
    out = run_model(loaded, rgb, tile=tile, progress=progress, out_dtype=torch.float32 if gray else out_dtype,
                    condition={"qf": used})
    if gray:
        out = out.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1).contiguous()
        if out_dtype == torch.uint8:
            out = out.mul_(255).round_().to(torch.uint8)
    return out, QualityInfo(round(predicted, 1), round(used, 1))


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
    info = QualityInfo(info.predicted, info.used, image.jpeg_quality)
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
