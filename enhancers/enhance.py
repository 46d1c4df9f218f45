"""GAN enhancement: one-click restoration of a real photo — lighting, then a GAN-trained generator
(blur, noise, JPEG damage, resolution), then faces.

The bundled generator (``enhance/compact-x2``) is SRVGGNetCompact at ×2, trained here in two stages as
Real-ESRGAN was (Wang et al. 2021, https://arxiv.org/abs/2107.10833): an L1 stage (Real-ESRNet) and a GAN stage.
Its spec blends the two (network interpolation, Wang et al. 2018 §3.4): α = 0 is the fidelity (PSNR) end,
α = 1 the texture (GAN) end — the perception–distortion trade-off of Blau & Michaeli 2018 on one slider.

Output sizes other than the model's scale factor are made as Real-ESRGAN's ``--outscale`` makes them: the
model runs at its own scale factor, then the result is resized with Lanczos (×4 from a ×2 model: Lanczos
×2 after it; the same size: Lanczos ↓2 after it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from . import imageio
from .errors import InvalidInputError
from .imageio import LoadedImage
from .loader import load_model, resolve_alpha
from .registry import get_spec, list_specs, task_spec
from .runner import run_model
from .tiling import Progress

TASK = "enhance"
DEFAULT_MODEL = "enhance/compact-x2"
TONE_MODEL = "tone/curves"
SCALES = (1, 2, 4)
Stage = Callable[[str], None]


def model_ids() -> list[str]:
    """Registered enhancement generators, in registry order."""
    return [s.id for s in list_specs(TASK)]


def interpolation_control(model_id: str) -> tuple[str, float, str] | None:
    """``(control, default α, label)`` of a model with network interpolation, else None."""
    spec = task_spec(model_id, TASK, "an enhancement model")
    it = spec.interpolation
    return (it.control, it.default, it.label) if it is not None else None


def auto_tone(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Fix exposure, contrast and colour cast with the bundled auto-tone curves (``tone/curves``).

    A small CNN sees a 64×64 thumbnail and predicts one monotone tone curve per channel; the curves are
    applied at full resolution (:mod:`enhancers.archs.tone_curves`).

    Args:
        rgb: RGB float32 ``(1, 3, H, W)`` in [0, 1].

    Returns:
        The toned image, RGB float32 ``(1, 3, H, W)`` in [0, 1], and the curves, float32 ``(3, K + 1)``
        (each curve's value at inputs 0, 1/K, …, 1).

    Raises:
        InvalidInputError: ``rgb`` breaks the contract. ModelUnavailableError: weights missing.
    """
    from .archs.tone_curves import apply_curves

    imageio.check_image_tensor(rgb)
    loaded = load_model(TONE_MODEL)
    with torch.no_grad():
        curves = loaded.module(rgb.to(loaded.device, loaded.dtype)).float().cpu()
    return apply_curves(rgb, curves), curves[0]


def generate(rgb: torch.Tensor, model_id: str = DEFAULT_MODEL, scale: int = 2, alpha: float | None = None,
             tile: int | None = None, progress: Progress | None = None,
             out_dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Run an enhancement generator and bring its output to ``scale`` × the input size.

    Args:
        rgb: RGB float32 ``(1, 3, H, W)`` in [0, 1].
        model_id: a registered ``enhance/...`` id.
        scale: output size / input size, 1, 2 or 4.
        alpha: network-interpolation factor in [0, 1] for models that have one (the bundled model's
            fidelity ↔ texture, realesr-general-x4v3's denoise strength); None uses the model's default.
        tile: tile edge in input pixels (None: the model's policy or free memory).
        progress: ``progress(done, total)`` per tile.
        out_dtype: float32, or uint8 (×255) for results headed to a file.

    Returns:
        RGB ``(1, 3, H·scale, W·scale)``: float32 in [0, 1], or uint8 in [0, 255].

    Raises:
        InvalidInputError: bad image, scale or α; UnknownModelError; ModelUnavailableError (Hub models offline).
    """
    imageio.check_image_tensor(rgb)
    if scale not in SCALES:
        raise InvalidInputError(f"output scale must be one of {SCALES}, got {scale!r}")
    spec = task_spec(model_id, TASK, "an enhancement model")
    h, w = rgb.shape[-2:]
    spec.check_size(h, w)
    loaded = load_model(model_id, alpha=alpha)
    if scale == spec.scale:
        return run_model(loaded, rgb, tile=tile, progress=progress, out_dtype=out_dtype)
    out = run_model(loaded, rgb, tile=tile, progress=progress, out_dtype=torch.uint8)
    return imageio.resize(out.float().div_(255), (w * scale, h * scale), "lanczos", out_dtype=out_dtype)


@dataclass(frozen=True)
class EnhanceResult:
    """An enhanced photo and what was done to it.

    Attributes:
        image: the result with its alpha (resized with the same geometry) and metadata; ``rgb`` is uint8
            ``(1, 3, H·s, W·s)`` in [0, 255].
        before: the input resized with bicubic to the result's size, uint8 ``(1, 3, H·s, W·s)``, or None.
        model_id: the generator.
        scale: output size / input size.
        alpha: the interpolation factor used (None for models without one).
        tone_curves: float32 ``(3, K + 1)`` curves applied by auto-tone, or None.
        faces: the faces restored (``enhancers.faces.Face``), empty when face restoration was off.
        seconds: wall time of each stage, ``{"tone": …, "generator": …, "faces": …}``.
    """

    image: LoadedImage
    before: torch.Tensor | None
    model_id: str
    scale: int
    alpha: float | None
    tone_curves: torch.Tensor | None
    faces: tuple = ()
    seconds: dict[str, float] = field(default_factory=dict)


def enhance_image(image: LoadedImage, model_id: str = DEFAULT_MODEL, scale: int = 2, alpha: float | None = None,
                  tone: bool = False, face_model: str | None = None, only_largest_face: bool = False,
                  face_fidelity: float | None = None, tile: int | None = None,
                  progress: Progress | None = None, stage: Stage | None = None,
                  with_before: bool = True) -> EnhanceResult:
    """The one-click pipeline on a decoded upload: auto-tone (optional) → generator → face restoration
    (optional), carrying alpha and metadata.

    Args:
        image: the decoded upload (:func:`enhancers.imageio.open_image`).
        model_id, scale, alpha, tile: as for :func:`generate`.
        tone: run :func:`auto_tone` first.
        face_model: a registered ``face/...`` restorer id, or None to leave faces alone.
        only_largest_face: restore only the largest detected face.
        face_fidelity: CodeFormer's fidelity weight w in [0, 1] (other restorers ignore it).
        progress: ``progress(done, total)`` per tile, then per face.
        stage: called with a short description as each stage starts (for status lines).
        with_before: also return the bicubic "before" image at the output size.

    Raises:
        As :func:`generate`, :func:`auto_tone` and :func:`enhancers.faces.restore_faces`.
    """
    imageio.check_image_tensor(image.rgb)
    if scale not in SCALES:
        raise InvalidInputError(f"output scale must be one of {SCALES}, got {scale!r}")
    task_spec(model_id, TASK, "an enhancement model")
    if face_model is not None:
        task_spec(face_model, "face", "a face restoration model")
    seconds: dict[str, float] = {}
    rgb, curves = image.rgb, None
    if tone:
        if stage:
            stage("auto-tone")
        t = time.perf_counter()
        rgb, curves = auto_tone(rgb)
        seconds["tone"] = time.perf_counter() - t
    if stage:
        stage(get_spec(model_id).title)
    t = time.perf_counter()
    used_alpha = resolve_alpha(get_spec(model_id), alpha)
    out = generate(rgb, model_id, scale, alpha, tile, progress, out_dtype=torch.uint8)
    seconds["generator"] = time.perf_counter() - t
    faces: tuple = ()
    if face_model is not None:
        from .faces import restore_faces

        if stage:
            stage(get_spec(face_model).title)
        t = time.perf_counter()
        restored = restore_faces(out.float().div_(255), face_model, only_largest=only_largest_face,
                                 fidelity=face_fidelity, progress=progress)
        out = restored.image.mul(255).round_().clamp_(0, 255).to(torch.uint8)
        faces = tuple(restored.faces)
        seconds["faces"] = time.perf_counter() - t
    size = (out.shape[-1], out.shape[-2])
    alpha_channel = imageio.resize(image.alpha, size, "bicubic") if image.alpha is not None else None
    before = imageio.resize(image.rgb, size, "bicubic", out_dtype=torch.uint8) if with_before else None
    return EnhanceResult(image.with_pixels(out, alpha_channel), before, model_id, scale, used_alpha, curves,
                         faces, seconds)
