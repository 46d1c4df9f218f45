"""The "Super-resolution" tab: upscale a photo ×2 or ×4 with a bundled or Hub model."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

from enhancers import sr
from enhancers.registry import get_spec
from ui.cancel import CancelToken, in_worker
from ui.common import (DEFAULTS, MODEL_EVENTS, add_examples, before_after_slider, describe_model, gpu, kept_note,
                       model_choices, model_dropdown, open_upload, photo_input, result_file, run_button,
                       save_before_after, short_name, tile_progress, user_errors, weights_note, expected_time)

SELF_ENSEMBLE_CHOICES = {"model default": None, "on": True, "off": False}
PRECISION_CHOICES = ("auto", "fp32", "bf16")
MEMORY_HINT = "Try a smaller tile size or a smaller photo."
# The tab starts with this hardware's default (enhancers.defaults) at that model's own scale.
DEFAULT_MODEL = DEFAULTS["sr"]
DEFAULT_SCALE = get_spec(DEFAULT_MODEL).scale


def default_for_scale(scale: int) -> str:
    """The model the dropdown shows for ``scale``: the tab's hardware default when it works at that scale, else
    :func:`enhancers.sr.default_model` (the best bundled one)."""
    return DEFAULT_MODEL if get_spec(DEFAULT_MODEL).scale == int(scale) else sr.default_model(int(scale))


def on_scale_change(scale: int) -> gr.Dropdown:
    """The model dropdown for scale factor ``scale``, set to that scale's default model."""
    return gr.Dropdown(choices=model_choices(sr.models_for_scale(int(scale))), value=default_for_scale(scale))


def run_sr(image_path: str | None, model_id: str = DEFAULT_MODEL, scale: int = DEFAULT_SCALE, tile: int = 0,
           self_ensemble: str = "model default", precision: str = "auto",
           progress: gr.Progress = gr.Progress(track_tqdm=True)) -> Iterator[tuple]:
    """Upscale one photo. Yields, last, the (before, after) PNG pair, the full-resolution PNG and a stats line;
    before that, every :data:`~ui.cancel.HEARTBEAT_S` while the tiles run, a stats line saying how far it is
    (the other outputs unchanged), so that Stop or a closed page ends the run at the next tile.

    ``self_ensemble``: "on", "off", or "model default" (8 passes over flips and rotations for sr/compact-x4).
    ``precision``: "auto" (bf16 on CPUs with native bf16, for models measured to allow it), "fp32" or "bf16"."""
    if self_ensemble not in SELF_ENSEMBLE_CHOICES:
        raise gr.Error(f"self_ensemble must be one of {', '.join(SELF_ENSEMBLE_CHOICES)}, got {self_ensemble!r}")
    if precision not in PRECISION_CHOICES:
        raise gr.Error(f"precision must be one of {', '.join(PRECISION_CHOICES)}, got {precision!r}")
    started = time.perf_counter()
    image = open_upload(image_path, MEMORY_HINT)
    progress(0, desc="Loading model")
    tiles = [0, 0]
    on_tile = tile_progress(progress)

    def count_tile(done: int, total: int) -> None:
        tiles[:] = done, total
        on_tile(done, total)

    def work(token: CancelToken):
        with user_errors(MEMORY_HINT):
            yield sr.upscale_image(image, model_id, int(scale), int(tile) or None, token.checked(count_tile),
                                   self_ensemble=SELF_ENSEMBLE_CHOICES[self_ensemble], precision=precision)

    result = None
    for result in in_worker(work):
        if result is None:
            where = f"tile {tiles[0]}/{tiles[1]}" if tiles[1] else "loading the model"
            yield gr.skip(), gr.skip(), (f"Upscaling {image.width}×{image.height}… {where} · "
                                         f"{time.perf_counter() - started:.0f} s")
    if result is None:  # cancelled
        return
    out = result.image
    before, full = save_before_after(Path(image_path).stem, f"_x{result.scale}_{short_name(model_id)}", out,
                                     "_before_bicubic", result.before)
    elapsed = time.perf_counter() - started
    stats = (f"**Input** {image.width}×{image.height} · **Output** {out.width}×{out.height} (×{result.scale}) · "
             f"**Time** {elapsed:.2f} s · **Model** {model_id} · **Precision** {result.precision}"
             f"{weights_note(result.weights_from)}"
             + (" · self-ensemble of 8 passes" if result.self_ensemble else "") + kept_note(out))
    yield (before, full), full, stats


def estimate_sr(image_path: str | None, model_id: str, self_ensemble: str = "model default",
                precision: str = "auto") -> str:
    """The expected time of :func:`run_sr` with these settings on this machine (8 passes with self-ensemble)."""
    with user_errors():
        passes = 8 if sr.uses_self_ensemble(model_id, SELF_ENSEMBLE_CHOICES.get(self_ensemble)) else 1
    return expected_time(image_path, model_id, passes, precision=precision)


def build() -> None:
    """Add the "Super-resolution" tab to the current Blocks."""
    with gr.Tab("Super-resolution", id="sr"):
        with gr.Row():
            with gr.Column(scale=1):
                photo = photo_input("Photo", "sr-input")
                scale = gr.Radio([2, 4], value=DEFAULT_SCALE, label="Scale factor", elem_id="sr-scale")
                model = model_dropdown(model_choices(sr.models_for_scale(DEFAULT_SCALE)), DEFAULT_MODEL, "sr-model")
                with gr.Accordion("Advanced", open=False):
                    tile = gr.Slider(0, 1024, value=0, step=32, label="Tile size (input px, 0 = automatic)",
                                     info="Large photos are processed in overlapping tiles, blended "
                                          "without seams.")
                    ensemble = gr.Radio(list(SELF_ENSEMBLE_CHOICES), value="model default",
                                        label="Self-ensemble (8 passes)", elem_id="sr-ensemble",
                                        info="Average the model over flips and rotations: about +0.1 dB "
                                             "for 8× the time. The default is on for Compact ×4 only.")
                    precision = gr.Radio(list(PRECISION_CHOICES), value="auto", label="Precision (CPU)",
                                         elem_id="sr-precision",
                                         info="auto: bfloat16 on CPUs with native bf16 (AVX512_BF16 or AMX), "
                                              "for models measured to stay within 2 levels of fp32; "
                                              "about 2.5× faster. fp32 is the exact reference.")
                run = run_button("Upscale", "sr-run")
                expected = gr.Markdown(elem_id="sr-expected")
            with gr.Column(scale=2):
                slider = before_after_slider("Before (bicubic) · After", "sr-slider")
                stats = gr.Markdown(elem_id="sr-stats")
                download = result_file("sr-download")
                card = gr.Markdown(describe_model(DEFAULT_MODEL), elem_id="sr-card")
        add_examples(photo)
        scale.change(on_scale_change, scale, model, api_name="sr_models_for_scale", queue=False)
        model.change(describe_model, model, card, api_name="sr_model_card", queue=False)
        gr.on([photo.change, model.change, ensemble.change, precision.change], estimate_sr,
              [photo, model, ensemble, precision], expected, api_name="sr_expected_time")
        run.click(gpu(run_sr), [photo, model, scale, tile, ensemble, precision], [slider, download, stats],
                  api_name="sr", **MODEL_EVENTS)
