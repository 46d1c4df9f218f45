"""The "Denoising" tab: blind or σ-guided denoising, and a classroom run against non-local means."""

from __future__ import annotations

import time
from pathlib import Path

import gradio as gr

from enhancers import denoise
from enhancers.registry import get_spec
from ui.cancel import stoppable
from ui.common import (DEFAULTS, MODEL_EVENTS, advanced_tile, before_after_slider, classroom_photo, describe_model, gpu,
                       kept_note, model_dropdown, open_upload, photo_input, png_output, result_file, run_button,
                       save_before_after, score, short_name, task_choices, tile_progress, user_errors)

NOTES = """\
**How it works.** The bundled network is told the noise level σ (0–255) as an extra input map, as in FFDNet and
DRUNet, so one network covers weak and strong noise and σ works as a strength knob: too low leaves grain, too
high smooths detail away. *Blind* mode first estimates σ from the photo (a robust median of its finest wavelet
coefficients). Non-local means is the classical baseline: every pixel becomes an average of pixels whose
neighbourhoods look alike. The classroom mode adds known noise to a clean photo so both can be scored with PSNR
(pixel fidelity, dB) and SSIM (structural similarity, 1 = identical)."""


def run_denoise(image_path: str | None, model_id: str = DEFAULTS["denoise"], sigma: float = 25,
                blind: bool = True, classroom: bool = False, tile: int = 0,
                progress: gr.Progress = gr.Progress(track_tqdm=True)
                ) -> tuple[tuple[str, str], str, str, list[tuple[str, str]]]:
    """Denoise one photo. Blind mode estimates σ (0–255) from the photo; otherwise ``sigma`` is used.

    Classroom mode treats the upload as clean, adds Gaussian noise σ, and denoises it with
    non-local means and with the model, all scored against the clean photo.
    Returns the (before, after) PNG pair, the full-resolution PNG, a stats line and the classroom gallery.
    """
    image = open_upload(image_path)
    stem = Path(image_path).stem
    started = time.perf_counter()
    progress(0, desc="Loading model")
    with user_errors("Try a smaller tile size or a smaller photo."):
        if classroom:
            clean, note = classroom_photo(image)
            c = denoise.compare_on_clean(clean, float(sigma), model_id, progress=tile_progress(progress))
            noisy, base, out = (png_output(stem, f"_noisy_s{int(sigma)}", c.noisy),
                                png_output(stem, "_nlm", c.baseline), png_output(stem, "_denoised", c.model))
            m = c.metrics
            stats = (f"**Classroom** · Gaussian noise σ = {sigma:g} added to the photo{note}, then removed. Against "
                     f"the clean photo: noisy {score(m['noisy'])} · non-local means {score(m['baseline'])} · "
                     f"**{model_id}** {score(m['model'])} · **Time** {time.perf_counter() - started:.2f} s")
            gallery = [(noisy, f"Noisy (σ = {sigma:g}): {score(m['noisy'])}"),
                       (base, f"Non-local means: {score(m['baseline'])}"),
                       (out, f"{get_spec(model_id).title}: {score(m['model'])}")]
            return (noisy, out), out, stats, gallery
        result = denoise.denoise_image(image, model_id, None if blind else float(sigma), int(tile) or None,
                                       tile_progress(progress))
    out = result.image
    before, full = save_before_after(stem, f"_denoised_{short_name(model_id)}", out, "_before", result.before)
    if result.sigma is None:
        level = "blind model (judges the noise itself)"
    elif result.sigma_estimated is not None:
        level = f"**σ estimated** {result.sigma_estimated:.1f}" + (
            f" (capped at {result.sigma:g})" if result.sigma < result.sigma_estimated else "")
    else:
        level = f"**σ** {result.sigma:g} (set by you)"
    stats = (f"**Size** {out.width}×{out.height} · {level} · **Time** {time.perf_counter() - started:.2f} s · "
             f"**Model** {model_id}" + kept_note(out))
    return (before, full), full, stats, []


def build() -> None:
    """Add the "Denoising" tab to the current Blocks."""
    with gr.Tab("Denoising", id="denoise"):
        with gr.Row():
            with gr.Column(scale=1):
                photo = photo_input("Noisy photo (or a clean one in classroom mode)", "denoise-input")
                model = model_dropdown(task_choices("denoise"), DEFAULTS["denoise"], "denoise-model")
                blind = gr.Checkbox(True, label="Blind: estimate σ from the photo", elem_id="denoise-blind")
                sigma = gr.Slider(0, 75, value=25, step=1, label="Noise level σ (0–255 scale)",
                                  info="Used when blind is off, and in classroom mode. Higher smooths more.",
                                  elem_id="denoise-sigma")
                classroom = gr.Checkbox(False, label="Classroom: add Gaussian noise σ to this clean photo first",
                                        elem_id="denoise-classroom")
                tile = advanced_tile()
                run = run_button("Denoise", "denoise-run")
            with gr.Column(scale=2):
                slider = before_after_slider("Before · After", "denoise-slider")
                stats = gr.Markdown(elem_id="denoise-stats")
                gallery = gr.Gallery(label="Classroom: noisy · non-local means · model", columns=3,
                                     elem_id="denoise-gallery", format="png")
                download = result_file("denoise-download")
                card = gr.Markdown(describe_model(DEFAULTS["denoise"]), elem_id="denoise-card")
        with gr.Accordion("How denoising works", open=False):
            gr.Markdown(NOTES)
        model.change(describe_model, model, card, api_name="denoise_model_card", queue=False)
        run.click(gpu(stoppable(run_denoise, outputs=4)), [photo, model, sigma, blind, classroom, tile],
                  [slider, download, stats, gallery], api_name="denoise", **MODEL_EVENTS)
