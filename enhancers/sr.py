"""Super-resolution: upscale a photo by an integer scale factor with a registered model."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import imageio
from .errors import InvalidInputError
from .imageio import LoadedImage
from .loader import load_model
from .registry import list_specs, task_spec
from .runner import run_model
from .tiling import Progress

TASK = "sr"
SCALES = (2, 4)
DEFAULT_MODELS = {2: "sr/compact-x2", 4: "sr/compact-x4"}


def models_for_scale(scale: int) -> list[str]:
    """Ids usable at ``scale``: interpolation baselines, and models whose native scale is ≥ it."""
    return [s.id for s in list_specs(TASK) if s.any_scale or s.scale >= scale]


def default_model(scale: int) -> str:
    """The best bundled model for ``scale``."""
    return DEFAULT_MODELS.get(scale, "sr/bicubic")


def uses_self_ensemble(model_id: str, requested: bool | None = None) -> bool:
    """Whether :func:`upscale` averages 8 passes: ``requested``, or the model's default when None.
    Never for interpolation baselines, which are symmetric already."""
    spec = task_spec(model_id, TASK, "a super-resolution model")
    return not spec.any_scale and (spec.self_ensemble if requested is None else requested)


def upscale(rgb: torch.Tensor, model_id: str, scale: int | None = None, tile: int | None = None,
            progress: Progress | None = None, out_dtype: torch.dtype = torch.float32,
            self_ensemble: bool | None = None, precision: str | None = None) -> torch.Tensor:
    """Upscale an image.

    Args:
        rgb: RGB float32 ``(1, 3, H, W)`` in [0, 1].
        model_id: a registered ``sr/...`` id.
        scale: output scale factor; None uses the model's native scale. A model whose
            native scale is larger is run natively and its output reduced with Lanczos.
        tile: tile edge in input pixels (None: the model's policy or free memory).
        progress: ``progress(done, total)`` per tile.
        out_dtype: float32, or uint8 (×255) to keep memory low for results headed to a file.
        self_ensemble: average 8 passes over flips and rotations (EDSR+, ~+0.1 dB, 8× the
            time); None uses the model's default (``spec.self_ensemble``).
        precision: ``auto``, ``fp32`` or ``bf16`` on CPU (:mod:`enhancers.precision`); None: the default.

    Returns:
        RGB ``(1, 3, H·scale, W·scale)``: float32 in [0, 1], or uint8 in [0, 255].

    Raises:
        UnknownModelError, ModelUnavailableError, InvalidInputError (scale above the
        model's, or an image smaller than the model's ``min_size``).
    """
    imageio.check_image_tensor(rgb)
    spec = task_spec(model_id, TASK, "a super-resolution model")
    h, w = rgb.shape[-2:]
    spec.check_size(h, w)
    target = scale or spec.scale
    if target > spec.scale and not spec.any_scale:
        raise InvalidInputError(f"{model_id} upscales ×{spec.scale}; ×{target} was asked for. "
                                f"Models for ×{target}: {', '.join(models_for_scale(target))}")
    loaded = load_model(model_id, precision=precision)
    if spec.any_scale:
        return run_model(loaded, rgb, scale=target, tile=tile, progress=progress, out_dtype=out_dtype)
    ensemble = uses_self_ensemble(model_id, self_ensemble)
    if target == spec.scale:
        return run_model(loaded, rgb, tile=tile, progress=progress, out_dtype=out_dtype, self_ensemble=ensemble)
    out = run_model(loaded, rgb, tile=tile, progress=progress, self_ensemble=ensemble)
    return imageio.resize(out, (w * target, h * target), "lanczos", out_dtype=out_dtype)


@dataclass(frozen=True)
class SRResult:
    """An upscaled image with its before/after pair for display.

    Attributes:
        image: the result with its alpha and metadata, full resolution. Its ``rgb`` is
            uint8 ``(1, 3, H·s, W·s)`` in [0, 255] (the 8-bit form, headed to a file).
        before: the input resized with bicubic to the result's size, uint8 ``(1, 3, H·s, W·s)``.
        scale: the scale factor applied.
        self_ensemble: whether 8 passes over flips and rotations were averaged.
        precision: what the model computed in: ``"fp32"``, ``"bf16"`` or ``"fp16"`` (:mod:`enhancers.precision`).
        weights_from: where its weights came from (:attr:`enhancers.loader.LoadedModel.weights_from`).
    """

    image: LoadedImage
    before: torch.Tensor | None
    scale: int
    self_ensemble: bool = False
    precision: str = "fp32"
    weights_from: str = ""


def upscale_image(image: LoadedImage, model_id: str, scale: int | None = None, tile: int | None = None,
                  progress: Progress | None = None, with_before: bool = True,
                  self_ensemble: bool | None = None, precision: str | None = None) -> SRResult:
    """Upscale a decoded upload for saving, carrying alpha (same geometry) and metadata.

    The result is produced in 8 bits, tile-row by tile-row, so a large photo costs
    3 bytes per output pixel rather than 12. Other arguments as for :func:`upscale`.
    """
    out = upscale(image.rgb, model_id, scale, tile, progress, out_dtype=torch.uint8, self_ensemble=self_ensemble,
                  precision=precision)
    size = (out.shape[-1], out.shape[-2])
    alpha = imageio.resize(image.alpha, size, "bicubic") if image.alpha is not None else None
    before = imageio.resize(image.rgb, size, "bicubic", out_dtype=torch.uint8) if with_before else None
    loaded = load_model(model_id, precision=precision)
    return SRResult(image.with_pixels(out, alpha), before, out.shape[-1] // image.width,
                    uses_self_ensemble(model_id, self_ensemble), loaded.precision, loaded.weights_from)
