"""Gradio app: upload a photo, pick an algorithm, compare before and after.

UI only: every handler is a thin typed wrapper around :mod:`enhancers`.
Run with ``make run`` or ``python app.py`` (honours GRADIO_SERVER_NAME / GRADIO_SERVER_PORT).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import gradio as gr
import torch
from PIL import Image, UnidentifiedImageError

from enhancers import color_metrics, colorize, dejpeg, denoise, imageio, latent, latent_plot, sr, style
from enhancers.device import pick_device
from enhancers.errors import EnhancerError, InvalidInputError
from enhancers.loader import is_ready
from enhancers.registry import get_spec, list_specs

ROOT = Path(__file__).resolve().parent
EXAMPLES_DIR = ROOT / "examples"
OUTPUT_DIR = Path(tempfile.gettempdir()) / "enhancers-outputs"
OUTPUT_MAX_AGE_S = 3600
MAX_FILE_SIZE = os.environ.get("ENHANCERS_MAX_FILE_SIZE", "50mb")
ON_GPU = pick_device().type == "cuda"
CONCURRENCY = 2 if ON_GPU else 1

SHORTCUTS_JS = """
<script>
document.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') {
    // the run button of the tab on screen (hidden tabs' buttons have no layout box)
    const button = [...document.querySelectorAll('.run-button')].find(b => b.offsetParent !== null);
    if (button) { e.preventDefault(); button.click(); }
  }
});
</script>
"""


@contextmanager
def user_errors(memory_hint: str = "Try a smaller photo.") -> Iterator[None]:
    """Turn the library's typed errors into ``gr.Error`` with their message, and running out of
    memory into a message with ``memory_hint``."""
    try:
        yield
    except MemoryError as e:
        raise gr.Error(f"Out of memory: {e}. {memory_hint}") from e
    except EnhancerError as e:
        raise gr.Error(str(e)) from e


def _gpu(fn):
    """Run ``fn`` under ZeroGPU's ``@spaces.GPU`` when the ``spaces`` package exists (HF Spaces)."""
    if importlib.util.find_spec("spaces") is None:
        return fn
    import spaces

    return spaces.GPU(fn)


def photo_input(**kwargs) -> gr.Image:
    """A filepath ``gr.Image`` whose undecodable uploads give a clear ``gr.Error``, not a stack trace.

    The instance's preprocess is wrapped rather than subclassed: Gradio writes a
    ``.pyi`` stub next to any module that defines a component subclass.
    """
    component = gr.Image(type="filepath", image_mode=None, **kwargs)
    preprocess = component.preprocess

    def checked(payload):
        try:
            return preprocess(payload)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
            raise gr.Error(f"This file is not a readable image ({type(e).__name__}). "
                           "Upload a PNG, JPEG, WebP, TIFF, BMP or GIF.") from e

    component.preprocess = checked
    return component


def _output_path(stem: str, suffix: str, ext: str = ".png") -> Path:
    """A fresh path ``OUTPUT_DIR/<unique>/<stem><suffix><ext>``; outputs older than an hour are removed."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - OUTPUT_MAX_AGE_S
    for old in OUTPUT_DIR.glob("*/*"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
                old.parent.rmdir()
        except OSError:  # another request removed it first, or its folder still holds a newer file
            pass
    return Path(tempfile.mkdtemp(dir=OUTPUT_DIR)) / f"{stem}{suffix}{ext}"


def _sr_choices(scale: int) -> list[tuple[str, str]]:
    return [(get_spec(i).label, i) for i in sr.models_for_scale(scale)]


def describe_model(model_id: str) -> str:
    """Classroom card for a model: what it does, its cost, its paper and license."""
    spec = get_spec(model_id)
    if is_ready(spec):
        status = "ready offline" if spec.source_kind != "hub" else "downloaded, ready"
    elif spec.source_kind == "hub":
        status = f"downloads {spec.source.size_mb:.0f} MB on first use"
    else:
        status = "bundled weights missing from weights/"
    scale = f"×{spec.scale}, " if spec.task == "sr" else ""
    return (f"**{spec.title}** — {scale}{status}.  \n{spec.description}  \n"
            f"[Paper / model card]({spec.paper}) · License: {spec.license}")


def on_scale_change(scale: int) -> gr.Dropdown:
    return gr.Dropdown(choices=_sr_choices(int(scale)), value=sr.default_model(int(scale)))


SELF_ENSEMBLE_CHOICES = {"model default": None, "on": True, "off": False}


def run_sr(image_path: str | None, model_id: str = sr.default_model(2), scale: int = 2, tile: int = 0,
           self_ensemble: str = "model default",
           progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[tuple[str, str], str, str]:
    """Upscale one photo. Returns the (before, after) PNG pair, the full-resolution PNG and a stats line.

    ``self_ensemble``: "on", "off", or "model default" (8 passes over flips and rotations for sr/compact-x4)."""
    if self_ensemble not in SELF_ENSEMBLE_CHOICES:
        raise gr.Error(f"self_ensemble must be one of {', '.join(SELF_ENSEMBLE_CHOICES)}, got {self_ensemble!r}")
    if not image_path:
        raise gr.Error("Upload a photo first.")
    started = time.perf_counter()
    with user_errors("Try a smaller tile size or a smaller photo."):
        image = imageio.open_image(image_path)
        progress(0, desc="Loading model")

        def on_tile(done: int, total: int) -> None:
            progress(done / total, desc=f"Tile {done}/{total}")

        result = sr.upscale_image(image, model_id, int(scale), int(tile) or None, on_tile,
                                  self_ensemble=SELF_ENSEMBLE_CHOICES[self_ensemble])
    stem = Path(image_path).stem
    name = get_spec(model_id).id.split("/")[1]
    full = imageio.save_result(_output_path(stem, f"_x{result.scale}_{name}"), result.image)
    before = imageio.save_png(_output_path(stem, "_before_bicubic"), result.before)
    elapsed = time.perf_counter() - started
    out = result.image
    stats = (f"**Input** {image.width}×{image.height} · **Output** {out.width}×{out.height} (×{result.scale}) · "
             f"**Time** {elapsed:.2f} s · **Model** {model_id}"
             + (" · self-ensemble of 8 passes" if result.self_ensemble else "")
             + (" · alpha kept" if out.alpha is not None else "") + (" · EXIF kept" if out.exif else ""))
    return (str(before), str(full)), str(full), stats


def _examples() -> list[list[str]]:
    return [[str(p)] for p in sorted(EXAMPLES_DIR.glob("*.png"))]


# --- Denoising and JPEG tabs -----------------------------------------------------------------------------------

CLASSROOM_MAX_SIDE = 1024  # classroom runs three methods (NLM is slow): larger photos are reduced first


def _task_choices(task: str) -> list[tuple[str, str]]:
    return [(s.label, s.id) for s in list_specs(task)]


def _open_upload(image_path: str | None) -> imageio.LoadedImage:
    if not image_path:
        raise gr.Error("Upload a photo first.")
    with user_errors():
        return imageio.open_image(image_path)


def _classroom_photo(image: imageio.LoadedImage) -> tuple[torch.Tensor, str]:
    """The clean photo for a classroom run, reduced to CLASSROOM_MAX_SIDE with Lanczos, and a note saying so."""
    w, h = image.width, image.height
    if max(w, h) <= CLASSROOM_MAX_SIDE:
        return image.rgb, ""
    f = CLASSROOM_MAX_SIDE / max(w, h)
    size = (max(8, round(w * f)), max(8, round(h * f)))
    return imageio.resize(image.rgb, size, "lanczos"), f" (reduced from {w}×{h} to {size[0]}×{size[1]})"


def _tile_progress(progress: gr.Progress) -> Callable[[int, int], None]:
    def on_tile(done: int, total: int) -> None:
        progress(done / total, desc=f"Tile {done}/{total}")

    return on_tile


def _png(stem: str, suffix: str, rgb: torch.Tensor) -> str:
    return str(imageio.save_png(_output_path(stem, suffix), rgb))


def _score(m: dict[str, float]) -> str:
    return f"PSNR {m['psnr']:.2f} dB · SSIM {m['ssim']:.3f}"


def run_denoise(image_path: str | None, model_id: str = denoise.DEFAULT_MODEL, sigma: float = 25,
                blind: bool = True, classroom: bool = False, tile: int = 0,
                progress: gr.Progress = gr.Progress(track_tqdm=True)
                ) -> tuple[tuple[str, str], str, str, list[tuple[str, str]]]:
    """Denoise one photo. Blind mode estimates σ (0–255) from the photo; otherwise ``sigma`` is used.

    Classroom mode treats the upload as clean, adds Gaussian noise σ, and denoises it with
    non-local means and with the model, all scored against the clean photo.
    Returns the (before, after) PNG pair, the full-resolution PNG, a stats line and the classroom gallery.
    """
    image = _open_upload(image_path)
    stem = Path(image_path).stem
    started = time.perf_counter()
    progress(0, desc="Loading model")
    with user_errors("Try a smaller tile size or a smaller photo."):
        if classroom:
            clean, note = _classroom_photo(image)
            c = denoise.compare_on_clean(clean, float(sigma), model_id, progress=_tile_progress(progress))
            noisy, base, out = (_png(stem, f"_noisy_s{int(sigma)}", c.noisy), _png(stem, "_nlm", c.baseline),
                                _png(stem, "_denoised", c.model))
            m = c.metrics
            stats = (f"**Classroom** · Gaussian noise σ = {sigma:g} added to the photo{note}, then removed. Against "
                     f"the clean photo: noisy {_score(m['noisy'])} · non-local means {_score(m['baseline'])} · "
                     f"**{model_id}** {_score(m['model'])} · **Time** {time.perf_counter() - started:.2f} s")
            gallery = [(noisy, f"Noisy (σ = {sigma:g}): {_score(m['noisy'])}"),
                       (base, f"Non-local means: {_score(m['baseline'])}"),
                       (out, f"{get_spec(model_id).title}: {_score(m['model'])}")]
            return (noisy, out), out, stats, gallery
        result = denoise.denoise_image(image, model_id, None if blind else float(sigma), int(tile) or None,
                                       _tile_progress(progress))
    full = imageio.save_result(_output_path(stem, f"_denoised_{model_id.split('/')[1]}"), result.image)
    before = _png(stem, "_before", result.before)
    if result.sigma is None:
        level = "blind model (judges the noise itself)"
    elif result.sigma_estimated is not None:
        level = f"**σ estimated** {result.sigma_estimated:.1f}" + (
            f" (capped at {result.sigma:g})" if result.sigma < result.sigma_estimated else "")
    else:
        level = f"**σ** {result.sigma:g} (set by you)"
    out = result.image
    stats = (f"**Size** {out.width}×{out.height} · {level} · **Time** {time.perf_counter() - started:.2f} s · "
             f"**Model** {model_id}" + (" · alpha kept" if out.alpha is not None else "")
             + (" · EXIF kept" if out.exif else ""))
    return (before, str(full)), str(full), stats, []


def run_dejpeg(image_path: str | None, model_id: str = dejpeg.DEFAULT_MODEL, auto_quality: bool = True,
               quality: float = 30, classroom: bool = False, classroom_quality: int = 10, tile: int = 0,
               progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[tuple[str, str], str, str]:
    """Remove JPEG artifacts from one photo, with the predicted QF or the ``quality`` override.

    Classroom mode treats the upload as the original, saves it as JPEG at ``classroom_quality``
    and restores it; PSNR, SSIM and PSNR-B against the original are reported for both.
    Returns the (JPEG, restored) PNG pair, the full-resolution PNG and a stats line.
    """
    image = _open_upload(image_path)
    stem = Path(image_path).stem
    started = time.perf_counter()
    override = None if auto_quality else float(quality)
    progress(0, desc="Loading model")
    with user_errors("Try a smaller tile size or a smaller photo."):
        if classroom:
            clean, note = _classroom_photo(image)
            c = dejpeg.compare_on_clean(clean, int(classroom_quality), model_id, override,
                                        progress=_tile_progress(progress))
            jpg, out = _png(stem, f"_jpeg_q{int(classroom_quality)}", c.jpeg), _png(stem, "_restored", c.restored)
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
        result = dejpeg.dejpeg_image(image, model_id, override, int(tile) or None, _tile_progress(progress))
    full = imageio.save_result(_output_path(stem, f"_dejpeg_{model_id.split('/')[1]}"), result.image)
    before = _png(stem, "_before", result.before)
    q = result.quality
    header = f" · **File header** quality {q.header}" if q.header is not None else (
        " · not a JPEG file: the artifacts may come from an earlier save" if image.source_format != "JPEG" else "")
    if override is not None:
        used = "set by you"
    else:
        used = "found in the DCT coefficients" if q.estimated is not None else "the network's prediction"
    found = f" · **QF in the pixels' DCT grid** {q.estimated}" if q.estimated is not None else (
        " · no JPEG quantisation grid found in the pixels")
    out = result.image
    stats = (f"**Size** {out.width}×{out.height} · **QF predicted** {q.predicted:.0f} (network){found}{header} · "
             f"**QF used** {q.used:.0f} ({used}) · **Time** {time.perf_counter() - started:.2f} s · "
             f"**Model** {model_id}"
             + (" · alpha kept" if out.alpha is not None else "") + (" · EXIF kept" if out.exif else ""))
    return (before, str(full)), str(full), stats


DENOISE_NOTES = """**How it works.** The bundled network is told the noise level σ (0–255) as an extra input map, as in FFDNet and
DRUNet, so one network covers weak and strong noise and σ works as a strength knob: too low leaves grain, too
high smooths detail away. *Blind* mode first estimates σ from the photo (a robust median of its finest wavelet
coefficients). Non-local means is the classical baseline: every pixel becomes an average of pixels whose
neighbourhoods look alike. The classroom mode adds known noise to a clean photo so both can be scored with PSNR
(pixel fidelity, dB) and SSIM (structural similarity, 1 = identical)."""

JPEG_NOTES = """**How it works.** JPEG cuts the image into 8×8 blocks and rounds each block's frequencies; the quality factor
(QF) sets how coarse the rounding is. At low QF the block edges show (blocking) and edges ring. The FBCNN-style
network predicts the QF from the image and is steered by it; override it to trade artifact removal against detail.
PSNR-B adds a penalty for visible block edges to PSNR, so it rewards deblocking."""


def build_restore_tabs() -> None:
    """The "Denoising" and "JPEG artifacts" tabs."""
    model_events = {"concurrency_id": "models", "concurrency_limit": CONCURRENCY}
    with gr.Tab("Denoising", id="denoise"):
        with gr.Row():
            with gr.Column(scale=1):
                photo = photo_input(label="Noisy photo (or a clean one in classroom mode)",
                                    sources=["upload", "clipboard"], elem_id="denoise-input")
                model = gr.Dropdown(_task_choices("denoise"), value=denoise.DEFAULT_MODEL, label="Model",
                                    elem_id="denoise-model")
                blind = gr.Checkbox(True, label="Blind: estimate σ from the photo", elem_id="denoise-blind")
                sigma = gr.Slider(0, 75, value=25, step=1, label="Noise level σ (0–255 scale)",
                                  info="Used when blind is off, and in classroom mode. Higher smooths more.",
                                  elem_id="denoise-sigma")
                classroom = gr.Checkbox(False, label="Classroom: add Gaussian noise σ to this clean photo first",
                                        elem_id="denoise-classroom")
                with gr.Accordion("Advanced", open=False):
                    tile = gr.Slider(0, 1024, value=0, step=32, label="Tile size (px, 0 = automatic)")
                run = gr.Button("Denoise", variant="primary", elem_classes=["run-button"], elem_id="denoise-run")
            with gr.Column(scale=2):
                slider = gr.ImageSlider(type="filepath", format="png", label="Before · After",
                                        elem_id="denoise-slider", buttons=["fullscreen"])
                stats = gr.Markdown(elem_id="denoise-stats")
                gallery = gr.Gallery(label="Classroom: noisy · non-local means · model", columns=3,
                                     elem_id="denoise-gallery", format="png")
                download = gr.File(label="Full-resolution PNG", elem_id="denoise-download")
                card = gr.Markdown(describe_model(denoise.DEFAULT_MODEL), elem_id="denoise-card")
        with gr.Accordion("How denoising works", open=False):
            gr.Markdown(DENOISE_NOTES)
        model.change(describe_model, model, card, api_name="denoise_model_card", queue=False)
        run.click(_gpu(run_denoise), [photo, model, sigma, blind, classroom, tile],
                  [slider, download, stats, gallery], api_name="denoise", **model_events)
    with gr.Tab("JPEG artifacts", id="dejpeg"):
        with gr.Row():
            with gr.Column(scale=1):
                jphoto = photo_input(label="JPEG photo (or a clean one in classroom mode)",
                                     sources=["upload", "clipboard"], elem_id="dejpeg-input")
                jmodel = gr.Dropdown(_task_choices("dejpeg"), value=dejpeg.DEFAULT_MODEL, label="Model",
                                     elem_id="dejpeg-model")
                auto = gr.Checkbox(True, label="Auto: use the predicted quality factor", elem_id="dejpeg-auto")
                quality = gr.Slider(1, 100, value=30, step=1, label="Quality factor override (QF)",
                                    info="Used when auto is off. Lower removes more artifacts and more detail.",
                                    elem_id="dejpeg-quality")
                jclass = gr.Checkbox(False, label="Classroom: compress this clean photo at quality q first",
                                     elem_id="dejpeg-classroom")
                jq = gr.Slider(1, 95, value=10, step=1, label="Classroom JPEG quality q", elem_id="dejpeg-q")
                with gr.Accordion("Advanced", open=False):
                    jtile = gr.Slider(0, 1024, value=0, step=32, label="Tile size (px, 0 = automatic)")
                jrun = gr.Button("Remove artifacts", variant="primary", elem_classes=["run-button"],
                                 elem_id="dejpeg-run")
            with gr.Column(scale=2):
                jslider = gr.ImageSlider(type="filepath", format="png", label="JPEG · Restored",
                                         elem_id="dejpeg-slider", buttons=["fullscreen"])
                jstats = gr.Markdown(elem_id="dejpeg-stats")
                jdownload = gr.File(label="Full-resolution PNG", elem_id="dejpeg-download")
                jcard = gr.Markdown(describe_model(dejpeg.DEFAULT_MODEL), elem_id="dejpeg-card")
        with gr.Accordion("How JPEG artifact removal works", open=False):
            gr.Markdown(JPEG_NOTES)
        jmodel.change(describe_model, jmodel, jcard, api_name="dejpeg_model_card", queue=False)
        jrun.click(_gpu(run_dejpeg), [jphoto, jmodel, auto, quality, jclass, jq, jtile],
                   [jslider, jdownload, jstats], api_name="dejpeg", **model_events)


# --- Latent explorer tab ----------------------------------------------------------------------------------------

T = TypeVar("T")
LATENT_AUTOENCODERS = [("Variational autoencoder (VAE)", latent.VAE_ID), ("Plain autoencoder (AE)", latent.AE_ID)]
LATENT_DIGIT_PX = 224
# Gradio's sketchpad starts with no tool selected; pick the brush so that drawing works at once.
LATENT_PICK_BRUSH_JS = """() => {
  const pick = (tries) => {
    const brush = document.querySelector('#latent-sketch button[aria-label="Brush"]');
    if (brush) { if (!brush.classList.contains('highlight')) brush.click(); }
    else if (tries > 0) setTimeout(() => pick(tries - 1), 200);
  };
  setTimeout(() => pick(20), 100);
}"""


def _latent_call(fn: Callable[..., T], *args: object) -> T:
    """Run a library call, turning the library's typed errors into ``gr.Error``."""
    with user_errors():
        return fn(*args)


def _label(digits: torch.Tensor) -> list[str]:
    """Classifier captions like ``"7 (98%)"`` for digits ``(N, 1, 28, 28)``."""
    labels, conf = _latent_call(latent.classify, digits)
    return [f"{int(lab)} ({float(c):.0%})" for lab, c in zip(labels, conf)]


def _digit_from_file(path: str | None, which: str) -> torch.Tensor:
    if not path:
        raise gr.Error(f"Digit {which} is missing: draw, upload or pick a held-out digit first.")
    image = _latent_call(imageio.open_image, path)
    return _latent_call(latent.prepare_drawing, image.rgb, image.alpha)


def _sketch_digit_or_none(sketch: dict | None) -> torch.Tensor | None:
    """The sketchpad's composite (RGBA PIL) → MNIST-style digit ``(1, 1, 28, 28)``, or None when nothing is drawn."""
    composite = (sketch or {}).get("composite")
    if composite is None:
        return None
    image = _latent_call(imageio.open_image, composite)
    try:
        return latent.prepare_drawing(image.rgb, image.alpha)
    except InvalidInputError:
        return None


def _digit_from_sketch(sketch: dict | None) -> torch.Tensor:
    digit = _sketch_digit_or_none(sketch)
    if digit is None:
        raise gr.Error("The sketchpad is empty: draw one digit, large, in the box first.")
    return digit


def latent_view(model_id: str = latent.VAE_ID) -> tuple[Image.Image, Image.Image, str]:
    """Latent map of the held-out digits and the decoded grid over the same square, plus a caption."""
    lmap = _latent_call(latent.latent_map, model_id)
    grid = _latent_call(latent.decoded_grid, model_id)
    q = _latent_call(latent.quality, grid.digits)
    outside = latent_plot.outside_count(lmap)
    unit = "units of the prior N(0, I)" if model_id == latent.VAE_ID else "the AE's own units (no prior)"
    caption = (f"**{len(lmap.labels)} held-out digits** encoded by `{model_id}`; axes in {unit}. "
               f"Grid: {grid.n}×{grid.n} decodes over [−{grid.extent:g}, {grid.extent:g}]²; the classifier "
               f"finds **{q.classes_covered}/10 classes** and reads **{q.confident_fraction:.0%}** of cells with "
               f"confidence ≥ 0.9." + (f" {outside} digits lie outside the square." if outside else "")
               + " Click either picture to decode that point.")
    return latent_plot.render_map(lmap), latent_plot.grid_image(grid.digits), caption


def _decode_at(model_id: str, x: float, y: float) -> tuple[Image.Image, str]:
    digit = _latent_call(latent.decode, x, y, model_id)
    (label,) = _label(digit)
    return (latent_plot.digit_image(digit, LATENT_DIGIT_PX),
            f"Decoded at **(x, y) = ({x:.2f}, {y:.2f})** by `{model_id}` · classifier reads **{label}**")


def latent_click_map(model_id: str, evt: gr.SelectData) -> tuple[Image.Image, str]:
    """A click on the latent map (``evt.index`` = [x, y] pixel) → the digit decoded there."""
    view = latent_plot.MapView.for_grid(_latent_call(latent.latent_map, model_id).extent)
    x, y = _latent_call(view.to_latent, *evt.index)
    return _decode_at(model_id, x, y)


def latent_click_grid(model_id: str, evt: gr.SelectData) -> tuple[Image.Image, str]:
    """A click on the decoded grid → the digit decoded at that exact (continuous) point."""
    view = latent_plot.MapView.for_grid(_latent_call(latent.latent_map, model_id).extent, on_map=False)
    x, y = _latent_call(view.to_latent, *evt.index)
    return _decode_at(model_id, x, y)


def latent_decode(x: float, y: float) -> Image.Image:
    """Decode the 2-D VAE latent ``(x, y)`` (units of the prior N(0, I)) → the digit, 224×224 PNG."""
    digit = _latent_call(latent.decode, x, y, latent.VAE_ID)
    return latent_plot.digit_image(digit, LATENT_DIGIT_PX)


def latent_encode_sketch(sketch: dict | None, model_id: str = latent.VAE_ID
                         ) -> tuple[Image.Image, Image.Image, Image.Image, str]:
    """Encode a drawn digit: its 28×28 MNIST-style input, its reconstruction, the map with a marker, a caption."""
    digit = _digit_from_sketch(sketch)
    recon, (x, y) = _latent_call(latent.reconstruct, digit, model_id)
    drawn, rebuilt = _label(torch.cat([digit, recon]))
    lmap = _latent_call(latent.latent_map, model_id)
    caption = (f"Your digit (read as **{drawn}**) encodes to **(x, y) = ({x:.2f}, {y:.2f})** (black marker); "
               f"the decoder rebuilds it as **{rebuilt}**.")
    return (latent_plot.digit_image(digit, LATENT_DIGIT_PX), latent_plot.digit_image(recon, LATENT_DIGIT_PX),
            latent_plot.render_map(lmap, marker=(x, y)), caption)


def _on_sketch_change(sketch: dict | None, model_id: str) -> tuple:
    """Live update while drawing; an empty or cleared canvas leaves the outputs as they are."""
    if _sketch_digit_or_none(sketch) is None:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
    return latent_encode_sketch(sketch, model_id)


def latent_sketch_as_digit(sketch: dict | None) -> str:
    """The drawn digit, preprocessed to 28×28 as MNIST, saved as a PNG for the interpolation inputs."""
    digit = _digit_from_sketch(sketch)
    path = _output_path("drawn", "")
    latent_plot.digit_image(digit, 112).save(path)
    return str(path)


def latent_heldout_pair(class_a: int = 3, class_b: int = 8, seed: int = 0) -> tuple[str, str]:
    """Two held-out digits of the chosen classes (picked by ``seed``), as PNG files."""
    held = _latent_call(latent.heldout)
    g = torch.Generator().manual_seed(int(seed))
    paths = []
    for c in (int(class_a), int(class_b)):
        idx = torch.nonzero(held.labels == c).flatten()
        if len(idx) == 0:
            raise gr.Error(f"No held-out digit of class {c}: expected a class from 0 to 9.")
        pick = int(idx[torch.randint(len(idx), (1,), generator=g)])
        path = _output_path(f"heldout-{c}-{pick}", "")
        latent_plot.digit_image(held.digits[pick:pick + 1], 112).save(path)
        paths.append(str(path))
    return paths[0], paths[1]


def _frames_out(frames: torch.Tensor, stem: str) -> tuple[list[tuple[Image.Image, str]], str]:
    labels = _label(frames)
    gallery = [(latent_plot.digit_image(f[None], 112), f"{i + 1}: {lab}") for i, (f, lab) in
               enumerate(zip(frames, labels))]
    gif = _latent_call(latent_plot.save_gif, frames, _output_path(stem, "", ".gif"))
    return gallery, str(gif)


def latent_interpolate(image_a: str | None, image_b: str | None, frames: int = 10
                       ) -> tuple[list[tuple[Image.Image, str]], str]:
    """Linear walk in the VAE's latent plane between two digit images → N frames and an animated GIF."""
    a, b = _digit_from_file(image_a, "A"), _digit_from_file(image_b, "B")
    out = _latent_call(latent.interpolate, a, b, int(frames), latent.VAE_ID)
    return _frames_out(out, "vae-walk")


def latent_gan_interpolate(seed_a: int = 1, seed_b: int = 2, frames: int = 10
                           ) -> tuple[list[tuple[Image.Image, str]], str]:
    """Spherical walk between the GAN noise vectors of two seeds → N frames and an animated GIF."""
    out = _latent_call(latent.gan_interpolate, int(seed_a), int(seed_b), int(frames))
    return _frames_out(out, "gan-walk")


Captioned = list[tuple[Image.Image, str]]


def latent_sample(seed: int = 0, count: int = 16) -> tuple[Captioned, Captioned]:
    """Random samples from the prior N(0, I) for the VAE and the GAN, each with the classifier's label."""
    vae = _latent_call(latent.sample_vae, int(count), int(seed))
    gan = _latent_call(latent.sample_gan, int(count), int(seed))
    return ([(latent_plot.digit_image(d[None], 112), lab) for d, lab in zip(vae, _label(vae))],
            [(latent_plot.digit_image(d[None], 112), lab) for d, lab in zip(gan, _label(gan))])


def _latent_notes() -> str:
    m = latent.metrics()
    if m:
        v, g, gan = m["vae"], m["grid"], m["gan"]
        numbers = (f"| VAE held-out reconstruction (BCE) | KL | ELBO | classifier accuracy | grid classes | "
                   f"grid cells ≥ 0.9 | GAN samples ≥ 0.9 |\n|---|---|---|---|---|---|---|\n"
                   f"| {v['recon']:.1f} nats | {v['kl']:.2f} nats | {v['elbo']:.1f} nats | "
                   f"{m['classifier_acc']:.1%} | {g['classes']}/10 | {g['conf90']:.0%} | {gan['conf90']:.0%} |\n\n"
                   f"Held out: 500 MNIST digits (50 per class) never seen in training. Grid: 15×15 VAE decodes over "
                   f"[−2.5, 2.5]²; GAN: 500 samples, seed 0. Per-epoch curves are in `weights/latent-*.md`.")
        t = m.get("gan_training")
        if t:
            rare = [c for c, k in enumerate(gan["class_hist"]) if k < 0.03 * gan["samples"]]
            if t.get("dropped_classes"):
                verdict = (f"a real partial mode collapse: after warm-up the generator stopped drawing "
                           f"{' and '.join(map(str, t['dropped_classes']))} (under 3% of the samples in every "
                           f"epoch), while the other classes and a high label entropy "
                           f"(≥ {t['late_min_label_entropy']:.2f} of 2.30) remained — mode *dropping*")
            elif t["collapse"]:
                verdict = "at some epoch a class fell under 3% of the samples: partial mode collapse"
            else:
                verdict = (f"after warm-up every class kept ≥ {t['late_min_class_frac']:.1%} of the samples "
                           f"(label entropy ≥ {t['late_min_label_entropy']:.2f} of 2.30): no mode collapse")
            if rare:
                counts = ", ".join(f"{c} appears {gan['class_hist'][c]} times" for c in rare)
                verdict += f". In the shipped generator's 500 seed-0 samples, {counts}"
            gap = t["last_d_real"] - t["last_d_fake"]
            balance = ("neither network wins outright, the sign of a healthy adversarial game" if gap < 0.5 else
                       "the discriminator is ahead, so the generator's gradients are getting weaker")
            numbers += (f"\n\n**What our GAN curves show** ({t['epochs']} epochs, below): {verdict}. At the end "
                        f"D(x) ≈ {t['last_d_real']:.2f} and D(G(z)) ≈ {t['last_d_fake']:.2f}: {balance}. The "
                        f"shipped generator is epoch {t['kept_epoch']}: "
                        + ("the most confidently readable epoch among those covering every class."
                           if t.get("kept_by_rule") else
                           "the last one, since no epoch covered every class."))
    else:
        numbers = "Held-out numbers appear here once `weights/latent-metrics.json` exists (`make train-latent`)."
    return f"""### Classroom notes

**What the KL term does.** A VAE's encoder outputs a Gaussian q(z|x) = N(μ, σ²) per digit, and the loss
is reconstruction + KL(q(z|x) ‖ N(0, I)). The KL term pulls every code towards the origin and keeps σ from
shrinking to zero, so codes overlap and the whole plane near the origin is used. It is also why decoded
digits are a little blurry: nearby codes must decode to similar pictures.

**Why the VAE's map is continuous and the AE's has holes.** The plain autoencoder only minimises
reconstruction error: it may put classes anywhere, far apart, with empty space between them that the decoder
never saw, so clicking a gap decodes a smudge. The VAE is trained on *noisy* codes z = μ + σ·ε, so every
point near a code must decode to something sensible, and the KL term packs the codes into N(0, I): you can
sample z ~ N(0, I) and get a digit. Compare the two maps with the radio button, and click the gaps.

**Interpolation.** In the VAE plane a straight line between two codes stays in the populated region. For the
GAN's 32-D Gaussian noise almost all samples lie near a sphere of radius √32; a straight line between two of
them passes closer to the origin, where the generator saw little training noise, so GAN walks use spherical
interpolation (slerp).

**Mode collapse.** A GAN's generator only has to fool the discriminator; it can do so by producing a few
convincing digits (say only 1s) whatever the noise: the samples stop covering the classes of the data. We
watch for it by labelling 500 samples per epoch with the classifier: the label histogram and its entropy
(log 10 = 2.30 when all ten classes are equally frequent) are in `weights/latent-dcgan.md`, next to the
discriminator and generator losses.

{numbers}
"""


def build_latent_tab() -> None:
    """The "Latent explorer" tab: VAE/AE latent maps, click-to-decode, sketch encoding, walks and samples."""
    model_events = {"concurrency_id": "models", "concurrency_limit": CONCURRENCY}
    with gr.Tab("Latent explorer", id="latent") as tab:
        gr.Markdown("Explore how autoencoders, VAEs and GANs organise 28×28 MNIST digits in a latent space. "
                    "Click the map or the decoded grid, draw a digit, walk between two digits, or sample.")
        model = gr.Radio(LATENT_AUTOENCODERS, value=latent.VAE_ID, label="Latent space", elem_id="latent-model")
        with gr.Row():
            latent_map_img = gr.Image(label="Latent map: held-out digits coloured by class (click to decode)",
                                      type="pil", format="png", interactive=False, elem_id="latent-map",
                                      buttons=["download"])
            grid_img = gr.Image(label="Decoded grid over the same square (click to decode)", type="pil",
                                format="png", interactive=False, elem_id="latent-grid", buttons=["download"])
            with gr.Column(min_width=240):
                decoded = gr.Image(label="Decoded digit", type="pil", format="png", interactive=False,
                                   elem_id="latent-decoded", height=260)
                decoded_info = gr.Markdown(elem_id="latent-decoded-info")
                with gr.Row():
                    x_in = gr.Number(0.0, label="x", elem_id="latent-x", minimum=-10, maximum=10, step=0.1)
                    y_in = gr.Number(0.0, label="y", elem_id="latent-y", minimum=-10, maximum=10, step=0.1)
                decode_btn = gr.Button("Decode (x, y) with the VAE", elem_id="latent-decode-run")
        map_info = gr.Markdown(elem_id="latent-map-info")

        gr.Markdown("### Draw a digit\nDraw one digit, large, in the box: it is preprocessed as MNIST was "
                    "(cropped, scaled to 20 px, centred by centre of mass in 28×28), encoded, marked on the "
                    "map above and reconstructed.")
        with gr.Row():
            sketch = gr.Sketchpad(label="Draw a digit", type="pil", image_mode="RGBA", format="png",
                                  canvas_size=(280, 280), layers=False, transforms=(),
                                  brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                                  elem_id="latent-sketch")
            with gr.Column():
                with gr.Row():
                    sketch_in = gr.Image(label="As the model sees it (28×28)", type="pil", format="png",
                                         interactive=False, elem_id="latent-sketch-input", height=200)
                    sketch_out = gr.Image(label="Reconstruction", type="pil", format="png", interactive=False,
                                          elem_id="latent-recon", height=200)
                sketch_info = gr.Markdown(elem_id="latent-sketch-info")
                encode_btn = gr.Button("Encode my drawing", variant="primary", elem_id="latent-encode-run",
                                       elem_classes=["run-button"])

        gr.Markdown("### Walk between two digits")
        with gr.Row():
            with gr.Column():
                with gr.Row():
                    digit_a = photo_input(label="Digit A", sources=["upload", "clipboard"], elem_id="latent-a",
                                          height=160)
                    digit_b = photo_input(label="Digit B", sources=["upload", "clipboard"], elem_id="latent-b",
                                          height=160)
                with gr.Row():
                    use_a = gr.Button("Use my drawing as A", size="sm")
                    use_b = gr.Button("Use my drawing as B", size="sm")
                with gr.Row():
                    class_a = gr.Dropdown(list(range(10)), value=3, label="Held-out class A")
                    class_b = gr.Dropdown(list(range(10)), value=8, label="Held-out class B")
                    pick_seed = gr.Number(0, label="Pick seed", precision=0, minimum=0)
                pick = gr.Button("Pick two held-out digits", size="sm", elem_id="latent-pick")
                frames = gr.Slider(2, latent.MAX_FRAMES, value=10, step=1, label="Frames")
                walk_btn = gr.Button("Interpolate (VAE, linear)", variant="primary", elem_id="latent-walk-run")
                with gr.Row():
                    seed_a = gr.Number(1, label="GAN seed A", precision=0, minimum=0)
                    seed_b = gr.Number(2, label="GAN seed B", precision=0, minimum=0)
                gan_walk_btn = gr.Button("Interpolate (GAN, spherical)", elem_id="latent-gan-walk-run")
            with gr.Column():
                walk = gr.Gallery(label="Frames (classifier label and confidence)", columns=10, height=260,
                                  format="png", elem_id="latent-walk")
                walk_gif = gr.Image(label="Animated GIF", type="filepath", interactive=False, height=180,
                                    elem_id="latent-walk-gif")
                walk_file = gr.File(label="Download the GIF", elem_id="latent-walk-file")

        gr.Markdown("### Sample from the prior")
        with gr.Row():
            sample_seed = gr.Number(0, label="Seed", precision=0, minimum=0)
            sample_count = gr.Slider(4, 64, value=16, step=4, label="Samples")
            sample_btn = gr.Button("Sample", elem_id="latent-sample-run")
        with gr.Row():
            vae_samples = gr.Gallery(label="VAE: z ~ N(0, I) in 2-D, decoded", columns=8, format="png",
                                     elem_id="latent-vae-samples")
            gan_samples = gr.Gallery(label="GAN: z ~ N(0, I) in 32-D, generated", columns=8, format="png",
                                     elem_id="latent-gan-samples")
        gr.Markdown(_latent_notes(), elem_id="latent-notes")
        curves = latent.WEIGHTS_DIR / "latent-dcgan-curves.png"
        if curves.is_file():
            gr.Image(str(curves), label="DCGAN training curves (per epoch)", interactive=False,
                     elem_id="latent-gan-curves", buttons=["download"])

        view_out = [latent_map_img, grid_img, map_info]
        tab.select(latent_view, model, view_out, api_name="latent_map", **model_events)
        tab.select(None, None, None, js=LATENT_PICK_BRUSH_JS, api_name="latent_pick_brush", api_visibility="private",
                   queue=False)
        model.change(latent_view, model, view_out, api_name="latent_view", **model_events)
        latent_map_img.select(latent_click_map, model, [decoded, decoded_info], api_name="latent_click_map",
                              show_progress="hidden", **model_events)
        grid_img.select(latent_click_grid, model, [decoded, decoded_info], api_name="latent_click_grid",
                        show_progress="hidden", **model_events)
        decode_btn.click(latent_decode, [x_in, y_in], decoded, api_name="latent_decode", **model_events)
        sketch_out_all = [sketch_in, sketch_out, latent_map_img, sketch_info]
        encode_btn.click(latent_encode_sketch, [sketch, model], sketch_out_all, api_name="latent_encode_sketch",
                         **model_events)
        sketch.change(_on_sketch_change, [sketch, model], sketch_out_all, api_name="latent_sketch_live",
                      api_visibility="private", show_progress="hidden",
                      trigger_mode="always_last", **model_events)
        use_a.click(latent_sketch_as_digit, sketch, digit_a, api_name="latent_sketch_as_a", **model_events)
        use_b.click(latent_sketch_as_digit, sketch, digit_b, api_name="latent_sketch_as_b", **model_events)
        pick.click(latent_heldout_pair, [class_a, class_b, pick_seed], [digit_a, digit_b],
                   api_name="latent_heldout_pair", **model_events)
        walk_btn.click(latent_interpolate, [digit_a, digit_b, frames], [walk, walk_gif],
                       api_name="latent_interpolate", **model_events).then(
            lambda gif: gif, walk_gif, walk_file, api_name="latent_walk_file", api_visibility="private", queue=False)
        gan_walk_btn.click(latent_gan_interpolate, [seed_a, seed_b, frames], [walk, walk_gif],
                           api_name="latent_gan_interpolate", **model_events).then(
            lambda gif: gif, walk_gif, walk_file, api_name="latent_gan_walk_file", api_visibility="private",
            queue=False)
        sample_btn.click(latent_sample, [sample_seed, sample_count], [vae_samples, gan_samples],
                         api_name="latent_sample", **model_events)


# --- Colorization tab -------------------------------------------------------------------------------------------

COLOR_HOW_IT_WORKS = """### How it works

**What the U-Net does.** The photo is reduced to its gray (NTSC: Y = 0.299·R + 0.587·G + 0.114·B, in [0, 1]).
The encoder (MobileNetV2, started from ImageNet weights) shrinks it step by step to a 1/32-size map of *what* is
in the picture (sky, leaves, skin); the decoder grows it back, and at each size a **skip connection** hands it
the encoder's sharper map of the same size, so colours land on the right edges. The output is L\\*a\\*b\\*
scaled to [−1, 1].

**Why L\\*a\\*b\\*.** L\\* is lightness, which the gray photo already gives; a\\* (green ↔ red) and b\\*
(blue ↔ yellow) hold all the colour. So the network only has to guess two smooth channels, and the result
keeps your photo's own L\\* at full resolution: the colours are predicted at 256 px on the short side, upsampled,
and laid over every original detail. The classroom view below shows the three channels of the result.

**Why the bounded output.** The last layer passes through f(x) = 2/(1+e^−x) − 1, which maps any number into
(−1, 1): the prediction can never leave the valid L\\*a\\*b\\* range (a\\*, b\\* ∈ [−110, 110] covers sRGB),
and its gradient stays smooth near the edges instead of being cut by a clip.

**Why colours can look dull.** A gray car can be red or blue; a loss that averages over such possibilities
predicts something in between, a brownish "sepia". Plain L1 (our U-Net's loss) predicts the median instead and
stayed colourful in our tests; a colourfulness term overshot. DDColor uses learned colour queries. The
saturation slider scales a\\* and b\\* after the fact.

**Test-time ensemble.** The model also colours the mirror image, and both at three working sizes, and the
six guesses are averaged. Where it is sure (sky, foliage) they agree; where it is guessing they disagree
and the average is muted, which is closer to the truth on average (higher PSNR) than one confident
wrong colour.
"""
DDCOLOR_CAVEAT = ("**License caveat (DDColor):** the DDColor weights on the Hub are Apache-2.0, but the architecture "
                  "code comes from `spandrel_extra_arches`, whose architectures are for private and non-commercial "
                  "open-source use. Check the licenses before any commercial use.")
COLOR_STATS_MAX_PIXELS = 4_000_000


def _color_choices() -> list[tuple[str, str]]:
    return [(get_spec(i).label, i) for i in colorize.model_ids()]


def describe_color_model(model_id: str = colorize.DEFAULT_MODEL) -> str:
    """Classroom card for a colorization model: what it does, its status, paper and license."""
    spec = get_spec(model_id)
    if is_ready(spec):
        status = "ready offline" if spec.source_kind != "hub" else "downloaded, ready"
    elif spec.source_kind == "hub":
        status = f"downloads {spec.source.size_mb:.0f} MB on first use"
    else:
        status = "bundled weights missing from weights/"
    def md(t: str) -> str:  # L*a*b* would otherwise turn into emphasis
        return t.replace("*", "\\*")

    text = (f"**{md(spec.title)}** — {status}.  \n{md(spec.description)}  \n"
            f"[Paper / model card]({spec.paper}) · License: {spec.license}")
    return text + ("\n\n" + DDCOLOR_CAVEAT if spec.arch == "ddcolor" else "")


def run_colorize(image_path: str | None, model_id: str = colorize.DEFAULT_MODEL, saturation: float = 1.0,
                 work_size: int = colorize.WORK_SIZE, ensemble: bool = True,
                 progress: gr.Progress = gr.Progress(track_tqdm=True)
                 ) -> tuple[tuple[str, str], str, str, Image.Image, Image.Image, Image.Image]:
    """Colorize one photo. Returns the (gray, colorized) PNG pair, the full-resolution PNG, a stats line,
    and the result's L*, a* and b* channels as pictures (at most 512 px)."""
    if not image_path:
        raise gr.Error("Upload a photo first.")
    started = time.perf_counter()
    with user_errors("Try a smaller photo."):
        image = imageio.open_image(image_path)
        progress(0, desc="Loading model")

        def on_step(done: int, total: int) -> None:
            desc = ("Done" if done == total else "Applying them to full resolution" if done == total - 1
                    else f"Predicting colours, pass {done + 1} of {total - 1}")
            progress(done / total, desc=desc)

        result = colorize.colorize_image(image, model_id, float(saturation), int(work_size), on_step,
                                         ensemble=bool(ensemble))
        views = colorize.channel_views(result.image.rgb)
    stem = Path(image_path).stem
    name = model_id.split("/")[1]
    full = imageio.save_result(_output_path(stem, f"_color_{name}"), result.image)
    before = imageio.save_png(_output_path(stem, "_gray"), result.gray, image.alpha)
    elapsed = time.perf_counter() - started
    stats = (f"**Input** {image.width}×{image.height} · **Time** {elapsed:.2f} s · **Model** {model_id} · "
             f"**Saturation** {float(saturation):.2f}" + (" · ensemble of 6 passes" if ensemble else "")
             + (" · alpha kept" if image.alpha is not None else "") + (" · EXIF kept" if image.exif else ""))
    if result.was_colour:
        stats += "  \nYour photo had colour: it was converted to gray (NTSC) first, as an old photo would be."
        if image.width * image.height <= COLOR_STATS_MAX_PIXELS:
            out = result.image.rgb.float() / 255
            gray = result.gray.float() / 255
            cf_out, cf_orig = (float(color_metrics.colourfulness(t)[0]) for t in (out, image.rgb))
            stats += (f" Against your original: RGB PSNR **{color_metrics.rgb_psnr(out, image.rgb):.2f} dB** "
                      f"(the gray image: {color_metrics.rgb_psnr(gray, image.rgb):.2f} dB), colourfulness "
                      f"**{cf_out / max(cf_orig, 1e-6):.0%}** of the original's.")
    return ((str(before), str(full)), str(full), stats,
            *(imageio.tensor_to_pil(v) for v in views))


def build_colorize_tab() -> None:
    """The "Colorization" tab: upload, model, saturation, before/after slider, L*a*b* channels, notes."""
    with gr.Tab("Colorization", id="color"):
        gr.Markdown("Bring a black-and-white photo back in colour. Colour photos are converted to gray first "
                    "(NTSC), so you can compare the result with the original. The bundled U-Net works offline; "
                    "DDColor downloads from the Hugging Face Hub on first use.")
        with gr.Row():
            with gr.Column(scale=1):
                photo = photo_input(label="Black-and-white photo", sources=["upload", "clipboard"],
                                    elem_id="color-input")
                model = gr.Dropdown(_color_choices(), value=colorize.DEFAULT_MODEL, label="Model",
                                    elem_id="color-model")
                saturation = gr.Slider(0, colorize.MAX_SATURATION, value=1.0, step=0.05, label="Saturation",
                                       info="Multiplies a\\* and b\\*: 0 gives the gray photo back, 1 the prediction.",
                                       elem_id="color-saturation")
                with gr.Accordion("Advanced", open=False):
                    work = gr.Slider(128, 1024, value=colorize.WORK_SIZE, step=32,
                                     label="Working size (short side the model sees, px)",
                                     info="The colours are predicted at this size and laid over the "
                                          "full-resolution lightness.", elem_id="color-work-size")
                    ensemble = gr.Checkbox(True, label="Test-time ensemble (6 passes)",
                                           info="Averages the colours predicted for the photo and its mirror "
                                                "image at three working sizes. Where the model is unsure they "
                                                "disagree and the average is muted instead of a wrong guess.",
                                           elem_id="color-ensemble")
                run = gr.Button("Colorize", variant="primary", elem_classes=["run-button"], elem_id="color-run")
            with gr.Column(scale=2):
                slider = gr.ImageSlider(type="filepath", format="png", label="Before (gray) · After",
                                        elem_id="color-slider", buttons=["fullscreen"])
                stats = gr.Markdown(elem_id="color-stats")
                download = gr.File(label="Full-resolution PNG", elem_id="color-download")
                card = gr.Markdown(describe_color_model(), elem_id="color-card")
        gr.Markdown("### Classroom view: the result's L\\*, a\\* and b\\* channels\nL\\* is your photo's own "
                    "lightness; a\\* and b\\* are the predicted colour, shown at a fixed lightness "
                    "(gray means 0).")
        with gr.Row():
            l_img = gr.Image(label="L* (lightness)", type="pil", format="png", interactive=False,
                             elem_id="color-l")
            a_img = gr.Image(label="a* (green ↔ red)", type="pil", format="png", interactive=False,
                             elem_id="color-a")
            b_img = gr.Image(label="b* (blue ↔ yellow)", type="pil", format="png", interactive=False,
                             elem_id="color-b")
        gr.Markdown(COLOR_HOW_IT_WORKS + "\n" + DDCOLOR_CAVEAT, elem_id="color-notes")
        examples = _examples()
        if examples:
            gr.Examples(examples, inputs=[photo], label="Example photos (scikit-image, public domain / CC0)")
        model.change(describe_color_model, model, card, api_name="colorize_model_card", queue=False)
        run.click(_gpu(run_colorize), [photo, model, saturation, work, ensemble],
                  [slider, download, stats, l_img, a_img, b_img], api_name="colorize",
                  concurrency_id="models", concurrency_limit=CONCURRENCY)


# --- Style transfer tab ---------------------------------------------------------------------------------------------

STYLES_DIR = EXAMPLES_DIR / "styles"
STYLE_NOTES = """### How it works

**Content** is what a CNN sees deep inside: the feature maps at one layer, compared position by position.
**Style** is texture: for each layer, the **Gram matrix** G = F·Fᵀ / (C·H·W) of its C feature maps
(H×W positions each) says how often two filters fire *together*, averaged over the whole picture. Positions
are summed out, so a Gram matrix keeps colours, strokes and patterns but forgets where things are; matching
Gram matrices at several layers copies texture at several scales. **Total variation (TV)** is the squared
difference between neighbouring pixels: penalising it smooths away the high-frequency speckle that the
optimiser otherwise leaves behind.

**Gatys et al. (2016)** start from the photo (or noise) and change the *pixels* to lower
content weight × content loss + style weight × style loss + TV weight × TV loss, one optimiser step at a time:
watch the curve fall and the picture change. Here every loss is *relative* (squared error divided by the
target's squared size), so the same weights suit every feature network. **Fast styles** (Johnson et al. 2016)
train a network once per style to produce such an image in a single pass.

**Feature networks.** The paper uses VGG19 trained on ImageNet (*VGG19 ImageNet (Hub)*, a 575 MB download). The
offline default combines MobileNetV2 trained on ImageNet (structure and texture, blocks 1, 3, 6, 10, 13) with a
VGG19 whose weights are random but fixed (colour, relu1_1–relu3_1): each alone gives a weak result.
"""


def _style_layer_choices(features: str) -> tuple[list[str], list[str], list[str]]:
    layers = list(style.available_layers(features))
    d = style.DEFAULT_LAYERS[features]
    return layers, list(d.style), list(d.content)


def describe_features(features: str = style.DEFAULT_FEATURES) -> str:
    """Which feature network the Gatys run uses, its default layers, source and license."""
    spec = get_spec(features)
    d = style.DEFAULT_LAYERS[features]
    if spec.source_kind == "hub":
        status = "downloaded, ready" if is_ready(spec) else f"downloads {spec.source.size_mb:.0f} MB on first use"
    else:
        status = "works offline"
    return (f"**Feature network: {spec.title}** — {status}.  \n{spec.description}  \n"
            f"Default style layers: {', '.join(d.style)}; content: {', '.join(d.content)}.  \n"
            f"[Paper / model card]({spec.paper}) · License: {spec.license}")


def on_style_features_change(features: str) -> tuple[gr.CheckboxGroup, gr.CheckboxGroup, str]:
    layers, st, ct = _style_layer_choices(features)
    return (gr.CheckboxGroup(choices=layers, value=st), gr.CheckboxGroup(choices=layers, value=ct),
            describe_features(features))


def _loss_frame(history: style.LossHistory, weights: tuple[float, float, float]):
    import pandas as pd

    wc, ws, wt = weights
    scale = {"content": wc, "style": ws, "tv": wt, "total": 1.0}
    rows = [(step, f"{name} (weighted)" if name != "total" else "total", value * scale[name])
            for step, name, value in history.rows()]
    return pd.DataFrame(rows, columns=["step", "loss", "value"])


def _open_style_inputs(content_path: str | None, style_path: str | None) -> tuple[imageio.LoadedImage, torch.Tensor]:
    if not content_path:
        raise gr.Error("Upload a content photo first.")
    if not style_path:
        raise gr.Error("Upload a style image, or pick one of the bundled styles below it.")
    with user_errors():
        return imageio.open_image(content_path), imageio.open_image(style_path).rgb


def run_style(content_path: str | None, style_path: str | None, features: str = style.DEFAULT_FEATURES,
              steps: int = 100, size: int = 256, optimizer: str = "lbfgs", init: str = "content",
              content_weight: float = 1.0, style_weight: float = 10.0, tv_weight: float = 1.0,
              style_layers: list[str] | None = None, content_layers: list[str] | None = None,
              preserve_colors: bool = False, every: int = 10):
    """Gatys style transfer, streamed: yields (before, after) PNGs, the loss curve, a status line, the PNG.

    Every ``every`` steps the current image and the losses are yielded; the download
    is the final image at the working size (None until the run ends).
    """
    content, style_rgb = _open_style_inputs(content_path, style_path)
    with user_errors("Try a smaller working size."):
        cfg = style.GatysConfig(
            steps=int(steps), size=int(size), optimizer=optimizer, init=init, content_weight=float(content_weight),
            style_weight=float(style_weight), tv_weight=float(tv_weight),
            style_layers=tuple(style_layers) if style_layers is not None else None,
            content_layers=tuple(content_layers) if content_layers is not None else None,
            preserve_colors=bool(preserve_colors), every=max(1, int(every)), features=features)
        cfg.validate()
        layers = cfg.layers()
        stem = Path(content_path).stem
        before = None
        title = get_spec(features).title
        for update in style.gatys(content.rgb, style_rgb, cfg):
            if before is None:
                before = imageio.save_png(_output_path(stem, "_before"),
                                          style.resize_long_side(content.rgb, cfg.size))
            current = imageio.save_png(_output_path(stem, f"_style_step{update.step}"), update.image)
            h = update.history
            status = (f"**Step {update.step}/{cfg.steps}** · {update.seconds:.1f} s · **Feature network** {title} "
                      f"(`{features}`) · style layers {', '.join(layers.style) or 'none'} · content "
                      f"{', '.join(layers.content) or 'none'} · losses: content {h.content[-1]:.3f}, style "
                      f"{h.style[-1]:.3f}, TV {h.tv[-1]:.4f}, total {h.total[-1]:.3f}"
                      + (" · colours preserved" if cfg.preserve_colors else "")
                      + (" · **done**" if update.done else ""))
            yield ((str(before), str(current)), _loss_frame(h, (cfg.content_weight, cfg.style_weight, cfg.tv_weight)),
                   status, str(current) if update.done else None)


def run_fast_style(content_path: str | None, model_id: str = style.DEFAULT_FAST, strength: float = 1.0
                   ) -> tuple[tuple[str, str], str, str]:
    """Fast feed-forward style at full resolution: (before, after) PNGs, the full-size PNG, a stats line."""
    if not content_path:
        raise gr.Error("Upload a content photo first.")
    started = time.perf_counter()
    with user_errors("Try a smaller photo."):
        image = imageio.open_image(content_path)
        out = style.fast_stylize(image.rgb, model_id, float(strength))
    stem = Path(content_path).stem
    full = imageio.save_result(_output_path(stem, f"_{model_id.split('/')[1]}"), image.with_pixels(out, image.alpha))
    before = imageio.save_png(_output_path(stem, "_before"), image.rgb)
    stats = (f"**Size** {image.width}×{image.height} (full resolution, untiled) · **Time** "
             f"{time.perf_counter() - started:.2f} s · **Model** {model_id} · **Strength** {float(strength):.2f}"
             + (" · alpha kept" if image.alpha is not None else ""))
    return (str(before), str(full)), str(full), stats


def build_style_tab() -> None:
    """The "Style transfer" tab: a streamed Gatys optimisation with its loss curve, and fast styles."""
    model_events = {"concurrency_id": "models", "concurrency_limit": CONCURRENCY}
    layers, default_style, default_content = _style_layer_choices(style.DEFAULT_FEATURES)
    with gr.Tab("Style transfer", id="style"):
        gr.Markdown("Paint a photo in the style of an image: watch the **Gatys** optimisation converge, or apply "
                    "a trained **fast style** network in one pass.")
        with gr.Row():
            content_in = photo_input(label="Content photo", sources=["upload", "clipboard"], elem_id="style-content")
            style_in = photo_input(label="Style image", sources=["upload", "clipboard"], elem_id="style-style")
        with gr.Row():
            examples = _examples()
            if examples:
                gr.Examples(examples, inputs=[content_in], label="Example photos (public domain / CC0)")
            style_examples = [[str(p)] for p in sorted(STYLES_DIR.glob("*.jpg"))]
            if style_examples:
                gr.Examples(style_examples, inputs=[style_in],
                            label="Bundled style images (GPL-2+ / CC-BY-SA-3.0, see examples/styles/LICENSE.md)")
        with gr.Row():
            with gr.Column(scale=1):
                gr.Markdown("#### Gatys optimisation")
                features = gr.Dropdown([(get_spec(i).label, i) for i in style.feature_networks()],
                                       value=style.DEFAULT_FEATURES, label="Feature network",
                                       elem_id="style-features")
                features_card = gr.Markdown(describe_features(), elem_id="style-features-card")
                with gr.Row():
                    steps = gr.Slider(1, 500, value=100, step=1, label="Steps", elem_id="style-steps")
                    size = gr.Slider(style.MIN_SIZE, 512, value=256, step=32, label="Working size (longer side, px)",
                                     elem_id="style-size")
                with gr.Row():
                    optimizer = gr.Radio([("L-BFGS", "lbfgs"), ("Adam", "adam")], value="lbfgs", label="Optimiser")
                    init = gr.Radio([("Content photo", "content"), ("Noise", "noise")], value="content",
                                    label="Start from")
                with gr.Row():
                    content_w = gr.Number(1.0, label="Content weight", minimum=0)
                    style_w = gr.Number(10.0, label="Style weight", minimum=0)
                    tv_w = gr.Number(1.0, label="TV weight", minimum=0)
                preserve = gr.Checkbox(False, label="Preserve colours (transfer luminance only)",
                                       elem_id="style-preserve")
                with gr.Accordion("Layers and streaming", open=False):
                    style_layers = gr.CheckboxGroup(layers, value=default_style, label="Style (Gram) layers")
                    content_layers = gr.CheckboxGroup(layers, value=default_content, label="Content layers")
                    every = gr.Slider(1, 50, value=10, step=1, label="Show the image every N steps")
                with gr.Row():
                    run = gr.Button("Run Gatys", variant="primary", elem_classes=["run-button"],
                                    elem_id="style-run")
                    stop = gr.Button("Stop", variant="stop", elem_id="style-stop")
                gr.Markdown("#### Fast style (one pass, full resolution)")
                fast_model = gr.Dropdown([(get_spec(i).label, i) for i in style.fast_models()],
                                         value=style.DEFAULT_FAST, label="Style network", elem_id="style-fast-model")
                fast_card = gr.Markdown(describe_model(style.DEFAULT_FAST), elem_id="style-fast-card")
                strength = gr.Slider(0, 1, value=1.0, step=0.05, label="Style strength (blend with the photo)",
                                     elem_id="style-strength")
                fast_run = gr.Button("Apply fast style", variant="primary", elem_id="style-fast-run")
            with gr.Column(scale=2):
                slider = gr.ImageSlider(type="filepath", format="png", label="Before · After",
                                        elem_id="style-slider", buttons=["fullscreen"])
                status = gr.Markdown(elem_id="style-status")
                curve = gr.LinePlot(x="step", y="value", color="loss", label="Loss (weighted terms and total)",
                                    x_title="step", y_title="loss", height=260, elem_id="style-curve")
                download = gr.File(label="Result PNG", elem_id="style-download")
        gr.Markdown(STYLE_NOTES, elem_id="style-notes")

        features.change(on_style_features_change, features, [style_layers, content_layers, features_card],
                        api_name="style_layers_for_features", queue=False)
        fast_model.change(describe_model, fast_model, fast_card, api_name="fast_style_model_card", queue=False)
        gatys_event = run.click(run_style, [content_in, style_in, features, steps, size, optimizer, init, content_w,
                                            style_w, tv_w, style_layers, content_layers, preserve, every],
                                [slider, curve, status, download], api_name="style", **model_events)
        stop.click(None, None, None, cancels=[gatys_event], api_name="style_stop",
                   api_visibility="private", queue=False)
        fast_run.click(_gpu(run_fast_style), [content_in, fast_model, strength], [slider, download, status],
                       api_name="fast_style", **model_events)


def build_demo() -> gr.Blocks:
    """Build the Blocks app (nothing heavy runs here: models load on first use)."""
    with gr.Blocks(title="AI Image Enhancer", delete_cache=(1800, 3600)) as demo:
        gr.Markdown("# AI Image Enhancer\nUpload a photo, pick an algorithm, and compare before and after "
                    "with the slider. Bundled models work offline; Hub models download on first use. "
                    "Press **Ctrl+Enter** to run.")
        with gr.Tab("Super-resolution", id="sr"):
            with gr.Row():
                with gr.Column(scale=1):
                    photo = photo_input(label="Photo", sources=["upload", "clipboard"], elem_id="sr-input")
                    scale = gr.Radio([2, 4], value=2, label="Scale factor", elem_id="sr-scale")
                    model = gr.Dropdown(_sr_choices(2), value=sr.default_model(2), label="Model",
                                        elem_id="sr-model")
                    with gr.Accordion("Advanced", open=False):
                        tile = gr.Slider(0, 1024, value=0, step=32, label="Tile size (input px, 0 = automatic)",
                                         info="Large photos are processed in overlapping tiles, blended "
                                              "without seams.")
                        ensemble = gr.Radio(list(SELF_ENSEMBLE_CHOICES), value="model default",
                                            label="Self-ensemble (8 passes)", elem_id="sr-ensemble",
                                            info="Average the model over flips and rotations: about +0.1 dB "
                                                 "for 8× the time. The default is on for Compact ×4 only.")
                    run = gr.Button("Upscale", variant="primary", elem_classes=["run-button"], elem_id="sr-run")
                with gr.Column(scale=2):
                    slider = gr.ImageSlider(type="filepath", format="png", label="Before (bicubic) · After",
                                            elem_id="sr-slider", buttons=["fullscreen"])
                    stats = gr.Markdown(elem_id="sr-stats")
                    download = gr.File(label="Full-resolution PNG", elem_id="sr-download")
                    card = gr.Markdown(describe_model(sr.default_model(2)), elem_id="sr-card")
            examples = _examples()
            if examples:
                gr.Examples(examples, inputs=[photo], label="Example photos (scikit-image, public domain / CC0)")
            scale.change(on_scale_change, scale, model, api_name="sr_models_for_scale", queue=False)
            model.change(describe_model, model, card, api_name="sr_model_card", queue=False)
            run.click(_gpu(run_sr), [photo, model, scale, tile, ensemble], [slider, download, stats], api_name="sr",
                      concurrency_id="models", concurrency_limit=CONCURRENCY)
        build_restore_tabs()
        build_latent_tab()
        build_colorize_tab()
        build_style_tab()
        with gr.Tab("Models", id="models"):
            gr.Markdown(_models_table())
    return demo


def _models_table() -> str:
    rows = ["| Id | Task | Scale | Source | License | Paper |", "|---|---|---|---|---|---|"]
    for s in list_specs():
        rows.append(f"| `{s.id}` | {s.task} | ×{s.scale} | {s.source_kind} | {s.license} | [link]({s.paper}) |")
    return "\n".join(rows)


demo = build_demo()
demo.queue(default_concurrency_limit=CONCURRENCY)
# Shared by ``python app.py`` and the tests, so both serve the same app.
LAUNCH_KWARGS = {"max_file_size": MAX_FILE_SIZE, "head": SHORTCUTS_JS}

if __name__ == "__main__":
    demo.launch(**LAUNCH_KWARGS)
