"""The "Enhance" tab: one-click restoration of a real photo (auto-tone, a GAN-trained generator, faces),
with a classroom comparison of the generator's PSNR and GAN stages."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr
from PIL import Image, ImageDraw

from enhancers import enhance, faces, imageio
from enhancers.metrics import NIQE_BLOCK, NIQE_RELIABLE_SIDE
from enhancers.registry import get_spec
from ui.cancel import check_cancelled, stoppable
from ui.common import (DEFAULTS, MODEL_EVENTS, add_examples, advanced_tile, before_after_slider, classroom_photo,
                       describe_model, gpu, kept_note, model_choices, model_dropdown, open_upload, photo_input,
                       png_output, result_file, run_button, save_before_after, short_name, task_choices,
                       tile_progress, user_errors, weights_note, expected_time)

if TYPE_CHECKING:
    import torch

NO_FACES = "none"
SCALE_CHOICES = [("Same size", 1), ("×2", 2), ("×4", 4)]
# The tab's starting generator for this hardware (enhancers.defaults: the bundled one on CPU, Real-ESRGAN on a GPU);
# the α slider starts as the bundled model's and is hidden while the chosen model has no interpolation.
DEFAULT_MODEL = DEFAULTS["enhance"]
_, DEFAULT_ALPHA, ALPHA_LABEL = enhance.interpolation_control(DEFAULT_MODEL) or enhance.interpolation_control(
    enhance.DEFAULT_MODEL)
CODEFORMER_DEFAULT_W = 0.5  # CodeFormer's own inference default (enhancers.archs.face_restorers)
PREVIEW_SIDE = 384  # px, long side of the face-box preview
MEMORY_HINT = "Try a smaller tile size or a smaller photo."
STAGE_NAMES = {"tone": "auto-tone", "generator": "generator", "faces": "faces"}
CLASSROOM_CAPTIONS = {"bicubic": "Bicubic", "psnr": "PSNR stage (α = 0)", "gan": "GAN stage (α = 1)"}
CLASSROOM_HEADERS = ["Method", "PSNR (dB) ↑", "SSIM ↑", "LPIPS ↓", "NIQE ↓"]

NOTES = """\
**Learning from a bigger network (distillation).** The default generator, *Distilled from Real-ESRGAN*, is a
small network (16 convolutions) that was taught by a big one: Real-ESRGAN x4plus, 23 blocks and 16.7M parameters,
about 90 times slower on a CPU. The teacher cleaned 2,048 damaged crops of the project's photos once; the student learnt
to produce the teacher's answers, first pixel by pixel (L1), then in VGG16 features (a perceptual loss). It needs
no discriminator: the teacher's answers already hold the texture a GAN would have to discover. Its slider blends
those two trainings. Pick Real-ESRGAN x4plus itself to compare: it works offline too, at its own speed (the line
under the button says how long).

**Generator against discriminator.** The classroom mode below uses the earlier bundled generator, *Compact GAN*,
trained the classic way. It is trained twice. Stage 1 (the *PSNR stage*) only minimises the pixel difference (L1) to the original.
Stage 2 (the *GAN stage*) adds a second network, the **discriminator** (a U-Net that judges every pixel), trained
at the same time to tell generated photos from real ones, while the generator learns to fool it; a perceptual
loss (differences between VGG16 features) and the L1 loss keep it close to the original. A **texture loss**
(EnhanceNet, Sajjadi et al. 2017) compares Gram matrices of VGG16 features over every 16×16 patch: it asks for
the original's *kind* of fine detail (grain, leaves, rock) in each patch, not its exact pixels.

**Why the GAN result scores lower PSNR yet looks sharper.** One blurry photo could come from many sharp ones.
The output with the best PSNR is close to their *average*, and the average of many different details is smooth.
The GAN stage picks *one* plausible sharp photo instead: real-looking texture, but not exactly the original's,
so every misplaced detail costs PSNR. Blau & Michaeli (2018) proved that no method can be best at both
distortion (PSNR, SSIM) and perceived quality: the **perception–distortion trade-off**. LPIPS (a learned distance
between deep features; lower = closer) and NIQE (no reference: how natural the image statistics are; lower = more
natural) follow what people see better than PSNR does.

**The fidelity ↔ texture slider.** Both stages have the same architecture, so their weights can be blended:
θ = (1 − α)·θ_PSNR + α·θ_GAN (**network interpolation**, ESRGAN §3.4, Wang et al. 2018). α = 0 is the smooth,
faithful PSNR stage, α = 1 the sharp GAN stage with invented texture, and values in between move smoothly from one
to the other. For Real-ESRGAN general v3 the same trick blends a model that keeps noise and grain with one that
removes them (*denoise strength*).

**Output size.** The bundled generators work at ×2; ×4 enlarges their result further with Lanczos. For "Same
size" each hands over to a sibling for the same size: Compact GAN's was trained on at that size, since shrinking a
×2 result would average away the finest texture the GAN stage invented. The distilled one's starts as its ×2
network with the last layer averaged over each 2×2 block, which reproduces its own ×2 result shrunk to the photo's
size; its texture end was then trained on at that size towards the teacher's result, which it copies more closely.

**Fix lighting (auto-tone).** Before the generator, a small CNN looks at a 64×64 thumbnail and predicts one
smooth, increasing tone curve per colour channel, like the Curves tool of a photo editor: brighter shadows, more
contrast, no colour cast. The curves are applied to every pixel at full resolution, so the cost hardly grows with
the photo. The plot under the result shows them: a curve above the straight line brightens that channel, a steeper
one adds contrast, and a channel pulled down more than the others loses its cast. A well-exposed photo comes back
close to unchanged, but a photo whose darkness or colour was chosen (a night scene, a sunset, a gray wall) looks
to the network much like a badly lit one. Two models make that call differently. The default, **cautious**, was
trained with most photos shown undegraded and a loss measured in dB: where it cannot tell a lighting fault from a
chosen look, it leaves the photo alone. Measured on 72 held-out photos, switching it on costs an untouched photo
0.84 dB on average and gains over 4 dB on dark or cast ones, but it leaves about a third of dark, warm photos
nearly as they came. Where its curves stay within 1 level of the straight line (13 of those 72 dark, warm photos),
the stats line says "lighting left as it was". **Full correction** (`tone/curves`)
corrects nearly every dark or cast photo (+5.3 to +6.4 dB) and costs an untouched photo 2.7 dB: choose it when the
cautious model did too little. The **strength** slider blends each curve towards the straight line
(s·curve + (1 − s)·x): with full correction, strength 0.4 costs an untouched photo 1.5 dB instead of 3.5 dB, and
still lifts a dark, warm, faded one by 3.2 dB instead of 6.1 dB.

**Restore faces.** MTCNN finds the faces; each is aligned to a 512×512 template, redrawn by a network trained
only on faces, and blended back with a soft mask. Face models download from the Hub on first use; CodeFormer's
license forbids commercial use.

**Classroom mode** takes your photo as the *clean* original, damages it (blur, half size, noise, JPEG) and scores
bicubic, Compact GAN's PSNR stage and its GAN stage against it. Expect the PSNR stage to win on PSNR and SSIM, and the GAN
stage on LPIPS and NIQE."""


def face_choices() -> list[tuple[str, str]]:
    """The "Restore faces" choices: none, then every face restorer (labels give Hub download sizes)."""
    return [("None", NO_FACES), *model_choices(faces.model_ids())]


def card_for(model_id: str, scale: int = 2) -> str:
    """The card of the model that makes output ``scale`` (the chosen one, or its variant for that size)."""
    return describe_model(enhance.model_for_scale(model_id, int(scale)))


def on_model_change(model_id: str, scale: int = 2) -> tuple[str, gr.Slider]:
    """The card of the model that will run at ``scale``, and the fidelity ↔ texture slider with the model's own
    label and default α (hidden for models with a single set of weights)."""
    control = enhance.interpolation_control(model_id)
    if control is None:
        return card_for(model_id, scale), gr.Slider(visible=False)
    _, default, label = control
    return card_for(model_id, scale), gr.Slider(value=default, label=label, visible=True)


def on_tone_change(tone: bool) -> tuple[gr.Slider, gr.Radio]:
    """The auto-tone strength slider and model choice, shown while auto-tone is on."""
    return gr.Slider(visible=bool(tone)), gr.Radio(visible=bool(tone))


# The curves plot: one line per channel in its own colour, and the straight line that would change nothing.
CURVE_COLOURS = {"red": "#d62728", "green": "#2ca02c", "blue": "#1f77b4", "unchanged": "#9e9e9e"}


def tone_curves_frame(curves: torch.Tensor | None):
    """The auto-tone curves applied, float32 ``(3, K + 1)`` in [0, 1] in RGB order (each channel's output at
    inputs 0, 1/K, …, 1), as a table for the curves plot: columns ``input level``, ``output level`` (both 0–255)
    and ``channel`` (red, green, blue, and ``unchanged``, the identity). None when auto-tone was off."""
    import pandas as pd

    if curves is None:
        return None
    values = curves.tolist()
    levels = [255 * i / (len(values[0]) - 1) for i in range(len(values[0]))]
    rows = [(x, x, "unchanged") for x in levels]
    for name, curve in zip(("red", "green", "blue"), values):
        rows += [(x, 255 * v, name) for x, v in zip(levels, curve)]
    return pd.DataFrame(rows, columns=["input level", "output level", "channel"]).round(1)


def on_face_change(face_model: str) -> tuple[gr.Markdown, gr.Checkbox, gr.Slider, gr.Image]:
    """The face model's card, the "only the largest face" checkbox, CodeFormer's fidelity w slider and the
    face-box preview, shown when a face model is chosen (the slider only for restorers that take w)."""
    if face_model == NO_FACES:
        return gr.Markdown(visible=False), gr.Checkbox(visible=False), gr.Slider(visible=False), gr.Image(visible=False)
    return (gr.Markdown(describe_model(face_model), visible=True), gr.Checkbox(visible=True),
            gr.Slider(visible=faces.takes_fidelity(face_model)), gr.Image(visible=True))


def stage_progress(progress: gr.Progress, face_title: str | None
                   ) -> tuple[Callable[[str], None], Callable[[int, int], None]]:
    """``(on_stage, on_step)`` callbacks for :func:`enhancers.enhance.enhance_image` that move Gradio's progress
    bar per tile, then per face, described by the current stage."""
    current = ["Loading model"]

    def on_stage(name: str) -> None:
        current[0] = name
        progress(0, desc=name)

    def on_step(done: int, total: int) -> None:
        check_cancelled()  # Stop or a closed page ends the run here (see ui.cancel.stoppable)
        unit = "face" if current[0] == face_title else "tile"
        progress(done / total, desc=f"{current[0]}: {unit} {done}/{total}")

    return on_stage, on_step


def faces_preview(image: imageio.LoadedImage, found: tuple[faces.Face, ...], out_width: int) -> Image.Image | None:
    """The input at most PREVIEW_SIDE px with numbered boxes around the restored faces (found in the output,
    ``out_width`` px wide), or None when there are none."""
    if not found:
        return None
    im = imageio.tensor_to_pil(image.rgb)
    im.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    f = im.width / out_width
    draw = ImageDraw.Draw(im)
    line = max(2, round(max(im.size) / 150))
    for i, face in enumerate(found, 1):
        x0, y0, x1, y1 = (v * f for v in face.box)
        draw.rectangle((x0, y0, x1, y1), outline=(255, 48, 48), width=line)
        draw.text((x0 + line + 1, y0 + line), str(i), fill=(255, 48, 48))
    return im


def _stats(image: imageio.LoadedImage, result: enhance.EnhanceResult, face_model: str, only_largest: bool,
           elapsed: float) -> str:
    out = result.image
    stages = " + ".join(f"{STAGE_NAMES[k]} {s:.2f} s" for k, s in result.seconds.items())
    text = (f"**Input** {image.width}×{image.height} → **Output** {out.width}×{out.height} · "
            f"**Time** {stages} (total {elapsed:.2f} s) · **Model** {result.model_id}"
            f"{weights_note(result.weights_from)}")
    control = enhance.interpolation_control(result.model_id)
    if control is not None and result.alpha is not None:
        text += f" · **α** {result.alpha:.2f} ({control[0].replace('_', ' ')})"
    if result.tone_model is not None:
        details = enhance.tone_details(result.tone_model, result.tone_strength, result.tone_curves)
        text += f" · auto-tone on {details}".rstrip()
    if face_model != NO_FACES and not result.faces:
        text += " · **Faces** none found"
    elif face_model != NO_FACES:
        which = " (largest only)" if only_largest else ""
        text += f" · **Faces** {len(result.faces)} restored{which} with {get_spec(face_model).title}"
    return text + kept_note(out)


def run_enhance(image_path: str | None, model_id: str = DEFAULT_MODEL, scale: int = 2,
                fidelity: float = DEFAULT_ALPHA, tone: bool = False, tone_strength: float = 1.0,
                tone_model: str = enhance.TONE_MODEL, face_model: str = NO_FACES,
                only_largest_face: bool = False, face_fidelity: float = CODEFORMER_DEFAULT_W, tile: int = 0,
                progress: gr.Progress = gr.Progress(track_tqdm=True)
                ) -> tuple[tuple[str, str], str, str, Image.Image | None, gr.LinePlot]:
    """Enhance one photo: auto-tone (``tone``), the generator, then faces (``face_model``, or "none").

    ``scale``: output size / input size (1, 2 or 4). ``fidelity``: α in [0, 1] for models with network
    interpolation (the bundled model's fidelity ↔ texture, realesr-general-x4v3's denoise strength), ignored by
    the others. ``tone_strength``: auto-tone's strength in [0, 1] (each curve blended towards the identity);
    ``tone_model``: its ``tone/...`` model. ``face_fidelity``: CodeFormer's w in [0, 1], ignored by the other face
    models.
    Returns the (before, after) PNG pair, the full-resolution PNG, a stats line, a preview of the input
    with the restored faces boxed (None when no face was restored) and the auto-tone curves plot (shown only when
    auto-tone ran; :func:`tone_curves_frame`).
    """
    started = time.perf_counter()
    image = open_upload(image_path, MEMORY_HINT)
    face = None if face_model == NO_FACES else face_model
    progress(0, desc="Loading model")
    with user_errors(MEMORY_HINT):
        on_stage, on_step = stage_progress(progress, get_spec(face).title if face else None)
        alpha = float(fidelity) if enhance.interpolation_control(model_id) is not None else None
        result = enhance.enhance_image(image, model_id, int(scale), alpha, bool(tone), face,
                                       bool(only_largest_face), float(face_fidelity), int(tile) or None,
                                       on_step, on_stage, tone_strength=float(tone_strength),
                                       tone_model=str(tone_model))
    out = result.image
    before, full = save_before_after(Path(image_path).stem, f"_enhanced_x{result.scale}_{short_name(result.model_id)}",
                                     out, "_before_bicubic", result.before)
    stats = _stats(image, result, face_model, bool(only_largest_face), time.perf_counter() - started)
    curves = tone_curves_frame(result.tone_curves)
    return ((before, full), full, stats, faces_preview(image, result.faces, out.width),
            gr.LinePlot(value=curves, visible=curves is not None))


def estimate_enhance(image_path: str | None, model_id: str = DEFAULT_MODEL, scale: int = 2,
                     fidelity: float = DEFAULT_ALPHA) -> str:
    """The generator's expected time for :func:`run_enhance` with these settings on this machine (auto-tone and
    faces add little, and are left out)."""
    with user_errors():
        model_id = enhance.model_for_scale(model_id, int(scale))
        alpha = float(fidelity) if enhance.interpolation_control(model_id) is not None else None
    return expected_time(image_path, model_id, alpha=alpha)


def _cell(value: float, digits: int) -> float | None:
    return None if math.isnan(value) else round(value, digits)


def run_classroom(image_path: str | None, progress: gr.Progress = gr.Progress(track_tqdm=True)
                  ) -> tuple[list[tuple[str, str]], list[list], str]:
    """Classroom mode: the upload is the clean photo; it is degraded with the fixed mix (×½) and brought back with
    bicubic, the bundled model's PSNR stage (α = 0) and its GAN stage (α = 1). Returns the three results with
    captions, a table of PSNR, SSIM, LPIPS and NIQE for each, and a stats line."""
    started = time.perf_counter()
    image = open_upload(image_path)
    clean, note = classroom_photo(image)
    progress(0, desc="Degrading the photo, then both stages")
    with user_errors():
        c = enhance.compare_for_classroom(clean, enhance.CLASSROOM_MODEL, progress=tile_progress(progress))
    stem = Path(image_path).stem
    gallery, table = [], []
    for name, out in c.outputs.items():
        m = c.metrics[name]
        gallery.append((png_output(stem, f"_classroom_{name}", out),
                        f"{CLASSROOM_CAPTIONS[name]}: PSNR {m['psnr']:.2f} dB · LPIPS {m['lpips']:.3f}"))
        table.append([CLASSROOM_CAPTIONS[name], _cell(m["psnr"], 2), _cell(m["ssim"], 3), _cell(m["lpips"], 3),
                      _cell(m["niqe"], 2)])
    h, w = c.clean.shape[-2:]
    stats = (f"**Classroom** · your photo{note} is the clean original ({w}×{h}); it was blurred, halved, given "
             f"noise σ = 8 and saved as JPEG (quality 60) to {c.degraded.shape[-1]}×{c.degraded.shape[-2]}, then "
             f"brought back to {w}×{h} with {get_spec(c.model_id).title} · **Time** "
             f"{time.perf_counter() - started:.2f} s")
    if min(h, w) < NIQE_RELIABLE_SIDE:
        stats += (f" · **NIQE** is only a rough guide here: it compares {NIQE_BLOCK}-px blocks with natural photos' "
                  f"statistics, and a photo under {NIQE_RELIABLE_SIDE} px per side has too few blocks; compare "
                  "PSNR, SSIM and LPIPS instead, or use a larger photo")
    return gallery, table, stats


def build() -> None:
    """Add the "Enhance" tab to the current Blocks."""
    with gr.Tab("Enhance", id="enhance"):
        gr.Markdown("One click for a real, damaged photo: fix the lighting, remove blur, noise and JPEG damage "
                    "while upscaling, and optionally redraw faces. The bundled model works offline.")
        with gr.Row():
            with gr.Column(scale=1):
                photo = photo_input("Photo", "enhance-input")
                model = model_dropdown(model_choices(enhance.model_ids()), DEFAULT_MODEL, "enhance-model")
                scale = gr.Radio(SCALE_CHOICES, value=2, label="Output size", elem_id="enhance-scale")
                fidelity = gr.Slider(0, 1, value=DEFAULT_ALPHA, step=0.05, label=ALPHA_LABEL,
                                     elem_id="enhance-fidelity",
                                     info="Blends the weights of two trainings of the network.",
                                     visible=enhance.interpolation_control(DEFAULT_MODEL) is not None)
                tone = gr.Checkbox(False, label="Fix lighting (auto-tone)", elem_id="enhance-tone")
                tone_strength = gr.Slider(0, 1, value=1, step=0.05, label="Auto-tone strength", visible=False,
                                          elem_id="enhance-tone-strength",
                                          info="Lower it for photos whose darkness or colour was chosen.")
                tone_model = gr.Radio(task_choices(enhance.TONE_TASK), value=enhance.TONE_MODEL,
                                      label="Auto-tone model", visible=False, elem_id="enhance-tone-model",
                                      info="Cautious (the default) leaves alone a photo whose look may have "
                                           "been chosen, and some dark, warm ones; full correction fixes nearly "
                                           "every dark or cast photo, and some chosen looks too.")
                face_model = gr.Dropdown(face_choices(), value=NO_FACES, label="Restore faces",
                                         elem_id="enhance-faces")
                only_largest = gr.Checkbox(False, label="Only the largest face", visible=False,
                                           elem_id="enhance-largest-face")
                face_w = gr.Slider(0, 1, value=CODEFORMER_DEFAULT_W, step=0.05, visible=False,
                                   label="CodeFormer fidelity w (0 = idealised face, 1 = closest to the input)",
                                   elem_id="enhance-face-fidelity")
                tile = advanced_tile()
                run = run_button("Enhance", "enhance-run")
                expected = gr.Markdown(elem_id="enhance-expected")
            with gr.Column(scale=2):
                slider = before_after_slider("Before (bicubic) · After", "enhance-slider")
                stats = gr.Markdown(elem_id="enhance-stats")
                download = result_file("enhance-download")
                preview = gr.Image(label="Faces restored (boxes on the input)", type="pil", format="png",
                                   interactive=False, height=240, visible=False, elem_id="enhance-faces-preview")
                curves_plot = gr.LinePlot(x="input level", y="output level", color="channel",
                                          color_map=CURVE_COLOURS, x_lim=[0, 255], y_lim=[0, 255],
                                          label="Auto-tone curves (output level for each input level)",
                                          caption="Each colour channel's curve in its own colour; the gray "
                                                  "straight line would change nothing. Above it: brighter.",
                                          visible=False, elem_id="enhance-tone-curves")
                card = gr.Markdown(card_for(DEFAULT_MODEL), elem_id="enhance-card")
                face_card = gr.Markdown(visible=False, elem_id="enhance-face-card")
        with gr.Accordion("Classroom mode: PSNR stage against GAN stage", open=False):
            gr.Markdown("Treats the uploaded photo as the clean original: it is damaged on purpose (blur, half "
                        "size, noise, JPEG), then brought back with bicubic and with both ends of the bundled "
                        "model's slider, each scored against the original. Photos over 1024 px are reduced first.")
            compare = gr.Button("Compare bicubic, PSNR stage and GAN stage", elem_id="enhance-classroom-run")
            classroom_stats = gr.Markdown(elem_id="enhance-classroom-stats")
            gallery = gr.Gallery(label="Bicubic · PSNR stage · GAN stage", columns=3, format="png",
                                 elem_id="enhance-classroom-gallery")
            table = gr.Dataframe(headers=CLASSROOM_HEADERS, datatype=["str", "number", "number", "number", "number"],
                                 interactive=False, label="Against the clean photo (↑ higher is better, "
                                 "↓ lower is better; NIQE needs no reference)", elem_id="enhance-classroom-table")
        with gr.Accordion("How it works (classroom notes)", open=False):
            gr.Markdown(NOTES, elem_id="enhance-notes")
        add_examples(photo)
        model.change(on_model_change, [model, scale], [card, fidelity], api_name="enhance_model_controls",
                     queue=False)
        # "Same size" may hand over to a sibling model: the card follows (the slider keeps the user's α).
        scale.change(card_for, [model, scale], card, api_name="enhance_model_card", queue=False)
        tone.change(on_tone_change, tone, [tone_strength, tone_model], api_name="enhance_tone_controls",
                    queue=False)
        face_model.change(on_face_change, face_model, [face_card, only_largest, face_w, preview],
                          api_name="enhance_face_controls", queue=False)
        gr.on([photo.change, model.change, scale.change, fidelity.release], estimate_enhance,
              [photo, model, scale, fidelity], expected, api_name="enhance_expected_time")
        run.click(gpu(stoppable(run_enhance, outputs=5)),
                  [photo, model, scale, fidelity, tone, tone_strength, tone_model, face_model, only_largest, face_w,
                   tile],
                  [slider, download, stats, preview, curves_plot], api_name="enhance", **MODEL_EVENTS)
        compare.click(gpu(run_classroom), photo, [gallery, table, classroom_stats], api_name="enhance_classroom",
                      **MODEL_EVENTS)
