"""The "JPEG artifacts" tab: artifact removal steered by the quality factor (QF), and a classroom run."""

from __future__ import annotations

import time
from pathlib import Path

import gradio as gr

from enhancers import dejpeg
from ui.cancel import stoppable
from ui.common import (DEFAULTS, MODEL_EVENTS, advanced_tile, before_after_slider, classroom_photo, describe_model, gpu,
                       kept_note, model_dropdown, open_upload, photo_input, png_output, result_file, run_button,
                       save_before_after, short_name, task_choices, tile_progress, user_errors)

NOTES = """\
**How it works.** JPEG cuts the image into 8×8 blocks and rounds each block's frequencies; the quality factor
(QF) sets how coarse the rounding is. At low QF the block edges show (blocking) and edges ring. The FBCNN-style
network predicts the QF from the image and is steered by it; override it to trade artifact removal against detail.
PSNR-B adds a penalty for visible block edges to PSNR, so it rewards deblocking."""


def run_dejpeg(image_path: str | None, model_id: str = DEFAULTS["dejpeg"], auto_quality: bool = True,
               quality: float = 30, classroom: bool = False, classroom_quality: int = 10, tile: int = 0,
               progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[tuple[str, str], str, str]:
    """Remove JPEG artifacts from one photo, with the predicted QF or the ``quality`` override.

    Classroom mode treats the upload as the original, saves it as JPEG at ``classroom_quality``
    and restores it; PSNR, SSIM and PSNR-B against the original are reported for both.
    Returns the (JPEG, restored) PNG pair, the full-resolution PNG and a stats line.
    """
    image = open_upload(image_path)
    stem = Path(image_path).stem
    started = time.perf_counter()
    override = None if auto_quality else float(quality)
    progress(0, desc="Loading model")
    with user_errors("Try a smaller tile size or a smaller photo."):
        if classroom:
            clean, note = classroom_photo(image)
            c = dejpeg.compare_on_clean(clean, int(classroom_quality), model_id, override,
                                        progress=tile_progress(progress))
            jpg = png_output(stem, f"_jpeg_q{int(classroom_quality)}", c.jpeg)
            out = png_output(stem, "_restored", c.restored)
            j, r = c.metrics["jpeg"], c.metrics["model"]
            stats = (f"**Classroom** · the photo{note} saved as JPEG at quality {int(classroom_quality)}, then "
                     f"restored (QF predicted by the network {c.quality_info.predicted:.0f}, used "
                     f"{c.quality_info.used:.0f}).\n\n"
                     f"| Against the original | PSNR | SSIM | PSNR-B |\n|---|---|---|---|\n"
                     f"| JPEG q = {int(classroom_quality)} | {j['psnr']:.2f} dB | {j['ssim']:.4f} | "
                     f"{j['psnr_b']:.2f} dB |\n| Restored by {model_id} | **{r['psnr']:.2f} dB** | "
                     f"**{r['ssim']:.4f}** | **{r['psnr_b']:.2f} dB** |"
                     f"\n\n**Time** {time.perf_counter() - started:.2f} s")
            return (jpg, out), out, stats
        result = dejpeg.dejpeg_image(image, model_id, override, int(tile) or None, tile_progress(progress))
    out = result.image
    before, full = save_before_after(stem, f"_dejpeg_{short_name(model_id)}", out, "_before", result.before)
    q = result.quality
    header = f" · **File header** quality {q.header}" if q.header is not None else (
        " · not a JPEG file: the artifacts may come from an earlier save" if image.source_format != "JPEG" else "")
    if override is not None:
        used = "set by you"
    else:
        used = "found in the DCT coefficients" if q.estimated is not None else "the network's prediction"
    found = f" · **QF in the pixels' DCT grid** {q.estimated}" if q.estimated is not None else (
        " · no JPEG quantisation grid found in the pixels")
    stats = (f"**Size** {out.width}×{out.height} · **QF predicted** {q.predicted:.0f} (network){found}{header} · "
             f"**QF used** {q.used:.0f} ({used}) · **Time** {time.perf_counter() - started:.2f} s · "
             f"**Model** {model_id}" + kept_note(out))
    return (before, full), full, stats


def build() -> None:
    """Add the "JPEG artifacts" tab to the current Blocks."""
    with gr.Tab("JPEG artifacts", id="dejpeg"):
        with gr.Row():
            with gr.Column(scale=1):
                photo = photo_input("JPEG photo (or a clean one in classroom mode)", "dejpeg-input")
                model = model_dropdown(task_choices("dejpeg"), DEFAULTS["dejpeg"], "dejpeg-model")
                auto = gr.Checkbox(True, label="Auto: use the predicted quality factor", elem_id="dejpeg-auto")
                quality = gr.Slider(1, 100, value=30, step=1, label="Quality factor override (QF)",
                                    info="Used when auto is off. Lower removes more artifacts and more detail.",
                                    elem_id="dejpeg-quality")
                classroom = gr.Checkbox(False, label="Classroom: compress this clean photo at quality q first",
                                        elem_id="dejpeg-classroom")
                classroom_q = gr.Slider(1, 95, value=10, step=1, label="Classroom JPEG quality q", elem_id="dejpeg-q")
                tile = advanced_tile()
                run = run_button("Remove artifacts", "dejpeg-run")
            with gr.Column(scale=2):
                slider = before_after_slider("JPEG · Restored", "dejpeg-slider")
                stats = gr.Markdown(elem_id="dejpeg-stats")
                download = result_file("dejpeg-download")
                card = gr.Markdown(describe_model(DEFAULTS["dejpeg"]), elem_id="dejpeg-card")
        with gr.Accordion("How JPEG artifact removal works", open=False):
            gr.Markdown(NOTES)
        model.change(describe_model, model, card, api_name="dejpeg_model_card", queue=False)
        run.click(gpu(stoppable(run_dejpeg, outputs=3)), [photo, model, auto, quality, classroom, classroom_q, tile],
                  [slider, download, stats], api_name="dejpeg", **MODEL_EVENTS)
