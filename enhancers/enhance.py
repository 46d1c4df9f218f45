"""GAN enhancement: one-click restoration of a real photo — lighting, then a GAN-trained generator
(blur, noise, JPEG damage, resolution), then faces.

The bundled generator (``enhance/compact-x2``) is SRVGGNetCompact at ×2, trained here in two stages as
Real-ESRGAN was (Wang et al. 2021, https://arxiv.org/abs/2107.10833): an L1 stage (Real-ESRNet) and a GAN stage.
Its spec blends the two (network interpolation, Wang et al. 2018 §3.4): α = 0 is the fidelity (PSNR) end,
α = 1 the texture (GAN) end — the perception–distortion trade-off of Blau & Michaeli 2018 on one slider.

A model whose spec names a variant for the requested output size hands over to it (the bundled same-size
generator ``enhance/compact-x1`` for the ×2 one: :func:`model_for_scale`). Other output sizes are made as
Real-ESRGAN's ``--outscale`` makes them: the model runs at its own scale factor, then the result is resized with
Lanczos (×4 from a ×2 model: Lanczos ×2 after it; the same size from a ×4 model: Lanczos ↓4 after it).
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from . import imageio
from .device import compute_slot
from .errors import InvalidInputError
from .imageio import LoadedImage
from .loader import load_model, resolve_alpha
from .registry import get_spec, list_specs, task_spec
from .runner import run_model
from .tiling import Progress

TASK = "enhance"
DEFAULT_MODEL = "enhance/distilled-x2"
# The classroom comparison shows the perception–distortion trade-off with the generator trained both ways, an L1
# (PSNR) stage and a GAN stage: the previous bundled generator, whose slider runs between exactly those.
CLASSROOM_MODEL = "enhance/compact-x2"
# The default auto-tone is the cautious one: it meets both of the auto-tone issue's bars on the views the gains are
# scored on (+4 dB on dark or cast photos, an untouched photo within 1 dB: 0.84 dB), where tone/curves costs an
# untouched photo 2.7 dB. When it leaves a photo as it was, the status line says so and names TONE_FULL_MODEL,
# which corrects nearly every dark or cast photo.
TONE_MODEL = "tone/curves-cautious"
TONE_FULL_MODEL = "tone/curves"
TONE_LEFT_ALONE_LEVELS = 1.0  # 8-bit levels: curves closer than this to the identity leave the photo as it was
TONE_TASK = "tone"
SCALES = (1, 2, 4)
Stage = Callable[[str], None]


def model_ids() -> list[str]:
    """Registered enhancement generators for the model dropdown, in registry order, leaving out variants of a
    model listed before them (the same-size ``enhance/compact-x1`` is reached through ``enhance/compact-x2``)."""
    ids: list[str] = []
    for spec in list_specs(TASK):
        if not any(spec.id == get_spec(i).variant_for(spec.scale) for i in ids):
            ids.append(spec.id)
    return ids


def model_for_scale(model_id: str, scale: int) -> str:
    """The model that makes output ``scale`` for ``model_id``: its registered variant for that scale factor,
    else ``model_id`` itself.

    Raises:
        UnknownModelError; InvalidInputError: not an enhancement model.
    """
    variant = task_spec(model_id, TASK, "an enhancement model").variant_for(scale)
    return model_id if variant is None else variant


def interpolation_control(model_id: str) -> tuple[str, float, str] | None:
    """``(control, default α, label)`` of a model with network interpolation, else None."""
    spec = task_spec(model_id, TASK, "an enhancement model")
    it = spec.interpolation
    return (it.control, it.default, it.label) if it is not None else None


def tone_model_ids() -> list[str]:
    """Registered auto-tone models, in registry order: the default ``tone/curves-cautious`` first."""
    return [spec.id for spec in list_specs(TONE_TASK)]


def check_tone_model(model_id: str) -> None:
    """Raise UnknownModelError, or InvalidInputError for a registered model of another task."""
    task_spec(model_id, TONE_TASK, "an auto-tone model")


def auto_tone(rgb: torch.Tensor, strength: float = 1.0, model_id: str = TONE_MODEL
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Fix exposure, contrast and colour cast with bundled auto-tone curves: the default ``tone/curves-cautious``,
    which leaves alone a photo whose look may have been chosen, or ``tone/curves``, which corrects nearly every
    dark or cast photo (and some chosen looks too).

    A small CNN sees a 64×64 thumbnail and predicts one monotone tone curve per channel; the curves are
    applied at full resolution (:mod:`enhancers.archs.tone_curves`). ``strength`` s blends each curve towards
    the identity, s·curve + (1 − s)·x: 1 is the full correction, 0 leaves the photo as it is. A weaker correction
    costs a photo whose look was chosen less and fixes a badly lit one less (``weights/tone-curves.md``,
    ``weights/tone-curves-cautious.md``).

    Args:
        rgb: RGB float32 ``(1, 3, H, W)`` in [0, 1].
        strength: s in [0, 1].
        model_id: a registered ``tone/...`` id.

    Returns:
        The toned image, RGB float32 ``(1, 3, H, W)`` in [0, 1], and the curves applied (blended by s),
        float32 ``(3, K + 1)`` (each curve's value at inputs 0, 1/K, …, 1).

    Raises:
        InvalidInputError: ``rgb`` breaks the contract, ``strength`` is outside [0, 1], or ``model_id`` is not
            an auto-tone model.
        UnknownModelError; ModelUnavailableError: weights missing.
    """
    from .archs.tone_curves import apply_curves, identity_curve

    imageio.check_image_tensor(rgb)
    check_tone_strength(strength)
    check_tone_model(model_id)
    loaded = load_model(model_id)
    with torch.no_grad(), compute_slot():
        curves = loaded.module(rgb.to(loaded.device, loaded.dtype)).float().cpu()
    curves = torch.lerp(identity_curve(curves.shape[-1]).expand_as(curves), curves, float(strength))
    return apply_curves(rgb, curves), curves[0]


def tone_details(tone_model: str, strength: float, curves: torch.Tensor | None = None) -> str:
    """What differs from the default auto-tone, for status lines: ``"(tone/curves, strength 0.50)"``, either
    part left out where it is the default (``tone/curves-cautious``, strength 1), "" when both are. Given the
    ``curves`` that ran (float32 ``(3, K + 1)``, :func:`auto_tone`) and a strength above 0, it adds whether they
    left the photo as it was (:func:`tone_left_alone`), and then which model corrects it anyway."""
    details = [tone_model] if tone_model != TONE_MODEL else []
    if strength != 1:
        details.append(f"strength {strength:.2f}")
    text = f"({', '.join(details)})" if details else ""
    if curves is not None and strength > 0 and tone_left_alone(curves):
        anyway = f"; {TONE_FULL_MODEL} corrects it anyway" if tone_model != TONE_FULL_MODEL else ""
        text += (f" — lighting left as it was (every curve within {TONE_LEFT_ALONE_LEVELS:g} level of "
                 f"unchanged{anyway})")
    return text.strip()


def tone_left_alone(curves: torch.Tensor) -> bool:
    """Whether auto-tone ``curves`` (float32 ``(3, K + 1)`` in [0, 1], :func:`auto_tone`) stay within
    :data:`TONE_LEFT_ALONE_LEVELS` 8-bit levels of the identity everywhere, so the photo comes back as it was."""
    from .archs.tone_curves import identity_curve

    return float((curves - identity_curve(curves.shape[-1], curves.dtype)).abs().max()) * 255 < TONE_LEFT_ALONE_LEVELS


def check_tone_strength(strength: float) -> None:
    """Raise InvalidInputError unless the auto-tone strength is a number in [0, 1]."""
    if not isinstance(strength, numbers.Real) or not 0 <= strength <= 1:
        raise InvalidInputError(f"auto-tone strength must be a number in [0, 1], got {strength!r}")


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
        weights_from: where the generator's weights came from (:attr:`enhancers.loader.LoadedModel.weights_from`).
        tone_strength: the auto-tone strength used (:func:`auto_tone`), or None when auto-tone was off.
        tone_model: the auto-tone model used, or None when auto-tone was off.
    """

    image: LoadedImage
    before: torch.Tensor | None
    model_id: str
    scale: int
    alpha: float | None
    tone_curves: torch.Tensor | None
    faces: tuple = ()
    seconds: dict[str, float] = field(default_factory=dict)
    weights_from: str = ""
    tone_strength: float | None = None
    tone_model: str | None = None


def enhance_image(image: LoadedImage, model_id: str = DEFAULT_MODEL, scale: int = 2, alpha: float | None = None,
                  tone: bool = False, face_model: str | None = None, only_largest_face: bool = False,
                  face_fidelity: float | None = None, tile: int | None = None,
                  progress: Progress | None = None, stage: Stage | None = None,
                  with_before: bool = True, tone_strength: float = 1.0,
                  tone_model: str = TONE_MODEL) -> EnhanceResult:
    """The one-click pipeline on a decoded upload: auto-tone (optional) → generator → face restoration
    (optional), carrying alpha and metadata.

    Args:
        image: the decoded upload (:func:`enhancers.imageio.open_image`).
        model_id, scale, alpha, tile: as for :func:`generate`; ``model_id`` hands over to its variant for
            ``scale`` where it has one (:func:`model_for_scale`; the result's ``model_id`` says which ran).
        tone: run :func:`auto_tone` first.
        tone_strength: auto-tone's strength s in [0, 1] (:func:`auto_tone`), used when ``tone`` is on.
        tone_model: the ``tone/...`` model auto-tone uses, when ``tone`` is on.
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
    check_tone_strength(tone_strength)
    check_tone_model(tone_model)
    model_id = model_for_scale(model_id, scale)
    if face_model is not None:
        task_spec(face_model, "face", "a face restoration model")
    seconds: dict[str, float] = {}
    rgb, curves = image.rgb, None
    if tone:
        if stage:
            stage("auto-tone")
        t = time.perf_counter()
        rgb, curves = auto_tone(rgb, tone_strength, tone_model)
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
                         faces, seconds, load_model(model_id, used_alpha).weights_from,
                         float(tone_strength) if tone else None, tone_model if tone else None)


CLASSROOM_MIN_SIDE = 32  # px: LPIPS needs 32 px per side
CLASSROOM_SCALE = 2


@dataclass(frozen=True)
class ClassroomComparison:
    """Bicubic, the PSNR stage and the GAN stage on one degraded photo, scored against the clean one.

    Attributes:
        clean: the reference, RGB float32 ``(1, 3, H, W)`` in [0, 1] (the photo cropped to multiples of 4).
        degraded: the fixed-mix degradation of ``clean`` the methods see, RGB float32 ``(1, 3, H/2, W/2)``
            in [0, 1].
        outputs: RGB float32 ``(1, 3, H, W)`` in [0, 1] by name, in display order: ``"bicubic"``,
            ``"psnr"`` (α = 0, the fidelity end), ``"gan"`` (α = 1, the texture end).
        metrics: per output name, ``{"psnr": dB, "ssim": …, "lpips": …, "niqe": …}``: PSNR and SSIM on RGB
            and LPIPS (AlexNet, lower = closer) against ``clean``; NIQE without a reference (lower = more
            natural), NaN when a side is under 96 px.
        model_id: the generator.
        seed: the noise seed of the degradation.
    """

    clean: torch.Tensor
    degraded: torch.Tensor
    outputs: dict[str, torch.Tensor]
    metrics: dict[str, dict[str, float]]
    model_id: str
    seed: int


def compare_for_classroom(clean: torch.Tensor, model_id: str = CLASSROOM_MODEL, seed: int = 0,
                          progress: Progress | None = None) -> ClassroomComparison:
    """The perception–distortion trade-off (Blau & Michaeli 2018, https://arxiv.org/abs/1711.06077) on a
    photo: degrade it with :func:`enhancers.degrade.fixed_mix` at ×2 (blur, bicubic ↓2, noise σ 8, JPEG
    QF 60), then bring it back with bicubic and with both ends of the generator's network interpolation,
    and score all three against the clean photo.

    Args:
        clean: the clean photo, RGB float32 ``(1, 3, H, W)`` in [0, 1]; cropped (top left) to multiples of 4.
        model_id: a registered ``enhance/...`` id whose interpolation runs from the PSNR stage (α = 0) to
            the GAN stage (α = 1) (control ``"fidelity"``).
        seed: noise seed of the degradation.
        progress: ``progress(done, total)`` per tile, for each of the two generator runs.

    Returns:
        A :class:`ClassroomComparison`.

    Raises:
        InvalidInputError: bad tensor, a side under 32 px, or a model without a fidelity ↔ texture
            interpolation. UnknownModelError, ModelUnavailableError: as for :func:`generate`.
    """
    from . import degrade
    from .metrics import quality_scores

    imageio.check_image_tensor(clean)
    spec = task_spec(model_id, TASK, "an enhancement model")
    if spec.interpolation is None or spec.interpolation.control != "fidelity":
        control = spec.interpolation.control if spec.interpolation else "no interpolation"
        raise InvalidInputError(f"the classroom comparison needs a model whose slider runs from the PSNR stage to "
                                f"the GAN stage (control 'fidelity'); {model_id} has {control}")
    h, w = (s - s % 4 for s in clean.shape[-2:])
    if min(h, w) < CLASSROOM_MIN_SIDE:
        raise InvalidInputError(f"the classroom comparison needs a photo of at least {CLASSROOM_MIN_SIDE} px "
                                f"per side, got {clean.shape[-1]}×{clean.shape[-2]}")
    clean = clean[..., :h, :w].float()
    degraded = degrade.fixed_mix(clean, CLASSROOM_SCALE, seed=seed)
    outputs = {
        "bicubic": imageio.resize(degraded, (w, h), "bicubic"),
        "psnr": generate(degraded, model_id, CLASSROOM_SCALE, alpha=0.0, progress=progress),
        "gan": generate(degraded, model_id, CLASSROOM_SCALE, alpha=1.0, progress=progress),
    }
    metrics = {name: quality_scores(out, clean) for name, out in outputs.items()}
    return ClassroomComparison(clean, degraded, outputs, metrics, model_id, seed)
