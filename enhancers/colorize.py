"""Colorization: predict a*b* from gray at a working resolution, keep the photo's own L*.

Pipeline (every registered ``color/...`` model): NTSC gray of the input → resized so
that its short side is the working size → the model predicts L*a*b* scaled to
[−1, 1] (by default a six-pass test-time ensemble, mirror × three working sizes, whose
a*b* keep the hue of their mean and their median chroma) → a*b* are upsampled (bilinear) to full
resolution, multiplied by the saturation, and combined with the L* of the full-resolution gray image → sRGB. The
result keeps every detail of the input, at any size; colours that fall outside
sRGB lose chroma rather than lightness (:func:`enhancers.lab.lab_to_rgb_in_gamut`). Colour-class models
(``controls`` holds ``"temperature"``) turn their per-pixel colour distribution into a*b* by the annealed mean
at a temperature T the caller may set (:func:`takes_temperature`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from . import imageio
from .archs.color_class_unet import ANNEAL_T
from .device import compute_slot
from .errors import InvalidInputError
from .imageio import LoadedImage
from .lab import AB_SCALE, gray_to_rgb, lab_to_rgb_in_gamut, ntsc_gray
from .loader import load_model
from .registry import get_spec, list_specs, task_spec
from .tiling import Progress

TASK = "color"
DEFAULT_MODEL = "color/unet"
WORK_SIZE = 256  # short side the models see, in pixels
MAX_WORK_SIDE = 1024  # and at most this long side (panoramas)
MAX_SATURATION = 2.0
STRIP_ROWS = 512  # full-resolution rows converted at a time
GRAY_TOLERANCE = 2.0 / 255  # largest channel spread of an image that counts as gray
ENSEMBLE_SIZES = (0.75, 1.0, 1.25)  # working sizes of the test-time ensemble, × the chosen one
TEMPERATURE_RANGE = (0.1, 1.0)  # annealed-mean temperature of the colour-class models (Zhang et al. 2016)
DEFAULT_TEMPERATURE = ANNEAL_T


def model_ids() -> list[str]:
    """Registered colorization models, bundled first (registry order)."""
    return [s.id for s in list_specs(TASK)]


def takes_temperature(model_id: str) -> bool:
    """True for models that predict colour classes and decode them with an annealed-mean temperature."""
    return "temperature" in get_spec(model_id).controls


def is_grayscale(rgb: torch.Tensor, tol: float = GRAY_TOLERANCE) -> bool:
    """True when R, G and B differ by at most ``tol`` everywhere (RGB float32 ``(1, 3, H, W)`` in [0, 1])."""
    imageio.check_image_tensor(rgb)
    for y in range(0, rgb.shape[-2], STRIP_ROWS):
        s = rgb[..., y:y + STRIP_ROWS, :]
        if float((s.amax(dim=1) - s.amin(dim=1)).max()) > tol:
            return False
    return True


def work_size(height: int, width: int, short_side: int = WORK_SIZE) -> tuple[int, int]:
    """``(h, w)`` at which a model sees an ``height × width`` photo: short side ``short_side``, long ≤ 1024."""
    f = min(short_side / min(height, width), MAX_WORK_SIDE / max(height, width))
    return max(1, round(height * f)), max(1, round(width * f))


ENSEMBLE_REDUCTIONS = ("chroma", "mean")
ENSEMBLE_REDUCTION = "chroma"  # the default: chosen on the held-out photos, see weights/color-unet.md


def reduce_ab(passes: torch.Tensor, reduction: str = ENSEMBLE_REDUCTION) -> torch.Tensor:
    """Combine the a*b* of several passes, float32 ``(P, 2, h, w)`` → ``(1, 2, h, w)``.

    ``"mean"``: the plain mean. Where the passes disagree in hue it cancels to gray, which a squared
    error (PSNR) rewards and the eye reads as dull colour. ``"chroma"`` (the default): the hue of the
    mean, with the median chroma √(a*² + b*²) of the passes, so agreement decides the hue and the
    passes' own confidence the saturation. Where the passes cancel exactly the result is gray.

    Raises:
        InvalidInputError: unknown ``reduction``.
    """
    if reduction not in ENSEMBLE_REDUCTIONS:
        raise InvalidInputError(f"ensemble reduction must be one of {ENSEMBLE_REDUCTIONS}, got {reduction!r}")
    mean = passes.mean(dim=0, keepdim=True)
    if reduction == "mean":
        return mean
    chroma = passes.norm(dim=1, keepdim=True).quantile(0.5, dim=0, keepdim=True)
    return mean * (chroma / mean.norm(dim=1, keepdim=True).clamp_min(1e-6))


@torch.inference_mode()
def predict_ab(module: Callable[[torch.Tensor], torch.Tensor], gray: torch.Tensor, short_side: int = WORK_SIZE,
               device: torch.device | None = None, dtype: torch.dtype = torch.float32, ensemble: bool = False,
               progress: Progress | None = None, reduction: str = ENSEMBLE_REDUCTION,
               temperature: float | None = None) -> torch.Tensor:
    """Run a colorization model on the gray image at its working size.

    With ``ensemble``, a*b* are combined over the image and its mirror image at three working
    sizes (:data:`ENSEMBLE_SIZES` × ``short_side``) by :func:`reduce_ab`: by default the hue of
    their mean with their median chroma, so disagreement between the passes does not mute colour.

    Args:
        module: gray ``(1, 1, h, w)`` in [0, 1] → L*a*b* scaled to [−1, 1], ``(1, 3, h, w)``.
        gray: float32 ``(1, 1, H, W)`` in [0, 1].
        short_side: working size (short side, pixels).
        ensemble: combine the test-time ensemble instead of one pass.
        progress: ``progress(done, total)`` after each pass.
        reduction: ``"chroma"`` or ``"mean"`` (:func:`reduce_ab`).
        temperature: passed to the module as ``temperature=`` (colour-class models only); None passes nothing.

    Returns:
        a*, b* in Lab units, float32 ``(1, 2, h, w)`` at the working size, on CPU.

    Raises:
        InvalidInputError: the model returned the wrong shape, or unknown ``reduction``.
    """
    if reduction not in ENSEMBLE_REDUCTIONS:
        raise InvalidInputError(f"ensemble reduction must be one of {ENSEMBLE_REDUCTIONS}, got {reduction!r}")
    h, w = work_size(*gray.shape[-2:], short_side)
    passes = [(f, mirror) for f in ENSEMBLE_SIZES for mirror in (False, True)] if ensemble else [(1.0, False)]
    outs = torch.empty(len(passes), 2, h, w)
    controls = {} if temperature is None else {"temperature": temperature}
    for i, (f, mirror) in enumerate(passes):
        sh, sw = work_size(*gray.shape[-2:], max(32, round(short_side * f)))
        small = imageio.resize(gray, (sw, sh), "bicubic").to(device or gray.device, dtype)
        out = module(small.flip(-1) if mirror else small, **controls).float().cpu()
        if out.shape != (1, 3, sh, sw):
            raise InvalidInputError(f"colorization model returned {tuple(out.shape)}, expected (1, 3, {sh}, {sw})")
        ab = out[:, 1:].flip(-1) if mirror else out[:, 1:]
        outs[i] = (ab if (sh, sw) == (h, w) else F.interpolate(ab, size=(h, w), mode="bilinear",
                                                               align_corners=False))[0]
        if progress:
            progress(i + 1, len(passes))
    return reduce_ab(outs, reduction).mul_(AB_SCALE)


def combine(gray: torch.Tensor, ab: torch.Tensor, saturation: float = 1.0,
            out_dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Full-resolution L* of ``gray`` + upsampled ``ab`` × ``saturation`` → sRGB.

    Args:
        gray: float32 ``(1, 1, H, W)`` in [0, 1] (NTSC luma).
        ab: a*, b* (Lab units) float32 ``(1, 2, h, w)``, any working size.
        saturation: chroma multiplier, 0 (gray) to 2.
        out_dtype: float32, or uint8 (×255) for results headed to a file.

    Returns:
        RGB ``(1, 3, H, W)``: float32 in [0, 1], or uint8. Converted in strips of rows.
    """
    import kornia.color as kc

    if not 0.0 <= saturation <= MAX_SATURATION:
        raise InvalidInputError(f"saturation must be in [0, {MAX_SATURATION:g}], got {saturation}")
    h, w = gray.shape[-2:]
    ab_full = F.interpolate(ab * saturation, size=(h, w), mode="bilinear", align_corners=False)
    out = torch.empty((1, 3, h, w), dtype=out_dtype)
    for y in range(0, h, STRIP_ROWS):
        g = gray[..., y:y + STRIP_ROWS, :]
        lightness = kc.rgb_to_lab(gray_to_rgb(g))[:, :1]
        rgb = lab_to_rgb_in_gamut(lightness, ab_full[..., y:y + STRIP_ROWS, :])
        out[..., y:y + STRIP_ROWS, :] = rgb.mul_(255).round_().to(torch.uint8) if out_dtype == torch.uint8 else rgb
    return out


def colorize(rgb: torch.Tensor, model_id: str = DEFAULT_MODEL, saturation: float = 1.0,
             short_side: int = WORK_SIZE, progress: Progress | None = None,
             out_dtype: torch.dtype = torch.float32, ensemble: bool = True,
             temperature: float | None = None) -> torch.Tensor:
    """Colorize a photo. A colour photo is first made gray with the NTSC formula.

    Args:
        rgb: RGB float32 ``(1, 3, H, W)`` in [0, 1].
        model_id: a registered ``color/...`` id.
        saturation: chroma multiplier, 0 to 2 (1 = as predicted).
        short_side: working size the model sees (short side, pixels, 32 to 1024).
        progress: ``progress(done, total)``: one step per model pass, one for the full-resolution combine.
        out_dtype: float32, or uint8 (×255) for results headed to a file.
        ensemble: combine six passes (mirror × three working sizes, :func:`predict_ab`); off: one pass.
        temperature: annealed-mean temperature T for colour-class models (:func:`takes_temperature`), in
            :data:`TEMPERATURE_RANGE`: lower is more vivid (nearer the most likely colour), 1 the plain mean of
            the predicted distribution; None uses the model's own (Zhang et al.'s 0.38). Other models ignore it.

    Returns:
        RGB ``(1, 3, H, W)``, float32 in [0, 1] (or uint8); its L* is the gray input's.

    Raises:
        UnknownModelError, ModelUnavailableError, InvalidInputError.
    """
    imageio.check_image_tensor(rgb)
    task_spec(model_id, TASK, "a colorization model")
    if not 32 <= short_side <= MAX_WORK_SIDE:
        raise InvalidInputError(f"working size must be 32 to {MAX_WORK_SIDE} px, got {short_side}")
    if not 0.0 <= saturation <= MAX_SATURATION:
        raise InvalidInputError(f"saturation must be in [0, {MAX_SATURATION:g}], got {saturation}")
    if temperature is not None and not TEMPERATURE_RANGE[0] <= temperature <= TEMPERATURE_RANGE[1]:
        raise InvalidInputError(f"temperature must be in [{TEMPERATURE_RANGE[0]:g}, {TEMPERATURE_RANGE[1]:g}], "
                                f"got {temperature}")
    gray = ntsc_gray(rgb)
    passes = 2 * len(ENSEMBLE_SIZES) if ensemble else 1
    if progress:
        progress(0, passes + 1)
    loaded = load_model(model_id)
    with compute_slot():
        ab = predict_ab(loaded.module, gray, short_side, loaded.device, loaded.dtype, ensemble,
                        (lambda done, _total: progress(done, passes + 1)) if progress else None,
                        temperature=temperature if takes_temperature(model_id) else None)
    out = combine(gray, ab, saturation, out_dtype)
    if progress:
        progress(passes + 1, passes + 1)
    return out


@dataclass(frozen=True)
class ColorizeResult:
    """A colorized photo, its gray input, and the classroom channel views.

    Attributes:
        image: the result with the input's alpha and metadata; ``rgb`` is uint8
            ``(1, 3, H, W)`` (the 8-bit form, headed to a file).
        gray: the NTSC gray image the model saw, uint8 ``(1, 3, H, W)`` (R = G = B).
        was_colour: the upload had colour, so it was converted to gray first.
    """

    image: LoadedImage
    gray: torch.Tensor
    was_colour: bool


def colorize_image(image: LoadedImage, model_id: str = DEFAULT_MODEL, saturation: float = 1.0,
                   short_side: int = WORK_SIZE, progress: Progress | None = None,
                   ensemble: bool = True, temperature: float | None = None) -> ColorizeResult:
    """Colorize a decoded upload for saving, carrying alpha and metadata (same geometry)."""
    out = colorize(image.rgb, model_id, saturation, short_side, progress, out_dtype=torch.uint8, ensemble=ensemble,
                   temperature=temperature)
    gray8 = gray_to_rgb(ntsc_gray(image.rgb).mul_(255).round_().to(torch.uint8))
    return ColorizeResult(image.with_pixels(out, image.alpha), gray8, not is_grayscale(image.rgb))


def channel_views(rgb: torch.Tensor, max_side: int = 512, view_lightness: float = 65.0
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The L*, a* and b* channels of an image as three pictures, for the classroom view.

    L* is shown as gray (0 = black, 100 = white). a* and b* are shown as the colour
    they add at a fixed lightness: a* alone (green ← 0 → magenta/red) and b* alone
    (blue ← 0 → yellow), both at L* = ``view_lightness``; gray means 0.

    Args:
        rgb: RGB ``(1, 3, H, W)``, float32 in [0, 1] or uint8.
        max_side: the views are reduced (Lanczos) to at most this long side.

    Returns:
        Three RGB float32 ``(1, 3, h, w)`` in [0, 1]: L*, a*, b*.
    """
    import kornia.color as kc

    imageio.check_image_tensor(rgb, allow_uint8=True)
    rgb = rgb.float() / 255.0 if rgb.dtype == torch.uint8 else rgb
    h, w = rgb.shape[-2:]
    f = min(1.0, max_side / max(h, w))
    if f < 1.0:
        rgb = imageio.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), "lanczos")
    lab = kc.rgb_to_lab(rgb)
    lightness = gray_to_rgb(lab[:, :1] / 100.0).clamp(0, 1)
    flat = torch.full_like(lab[:, :1], view_lightness)
    zero = torch.zeros_like(flat)
    a_view = kc.lab_to_rgb(torch.cat([flat, lab[:, 1:2], zero], dim=1), clip=True)
    b_view = kc.lab_to_rgb(torch.cat([flat, zero, lab[:, 2:3]], dim=1), clip=True)
    return lightness, a_view, b_view
