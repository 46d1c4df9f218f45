"""Gradio app: upload a photo, pick an algorithm, compare before and after.

UI only: every handler is a thin typed wrapper around :mod:`enhancers`.
Run with ``make run`` or ``python app.py`` (honours GRADIO_SERVER_NAME / GRADIO_SERVER_PORT).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import time
from pathlib import Path

import gradio as gr
from PIL import UnidentifiedImageError

from enhancers import imageio, sr
from enhancers.device import pick_device
from enhancers.errors import EnhancerError
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
    const tab = document.querySelector('[role="tabpanel"]:not([hidden]) .run-button') || document.querySelector('.run-button');
    if (tab) { e.preventDefault(); tab.click(); }
  }
});
</script>
"""


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


def _output_path(stem: str, suffix: str) -> Path:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - OUTPUT_MAX_AGE_S
    for old in OUTPUT_DIR.glob("*/*.png"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
                old.parent.rmdir()
        except OSError:
            pass
    return Path(tempfile.mkdtemp(dir=OUTPUT_DIR)) / f"{stem}{suffix}.png"


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
    return (f"**{spec.title}** — ×{spec.scale}, {status}.  \n{spec.description}  \n"
            f"[Paper / model card]({spec.paper}) · License: {spec.license}")


def on_scale_change(scale: int) -> gr.Dropdown:
    return gr.Dropdown(choices=_sr_choices(int(scale)), value=sr.default_model(int(scale)))


def run_sr(image_path: str | None, model_id: str = sr.default_model(2), scale: int = 2, tile: int = 0,
           progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple[tuple[str, str], str, str]:
    """Upscale one photo. Returns the (before, after) PNG pair, the full-resolution PNG and a stats line."""
    if not image_path:
        raise gr.Error("Upload a photo first.")
    started = time.perf_counter()
    try:
        image = imageio.open_image(image_path)
        progress(0, desc="Loading model")

        def on_tile(done: int, total: int) -> None:
            progress(done / total, desc=f"Tile {done}/{total}")

        result = sr.upscale_image(image, model_id, int(scale), int(tile) or None, on_tile)
    except MemoryError as e:
        raise gr.Error(f"Out of memory: {e}. Try a smaller tile size or a smaller photo.") from e
    except EnhancerError as e:
        raise gr.Error(str(e)) from e
    stem = Path(image_path).stem
    name = get_spec(model_id).id.split("/")[1]
    full = imageio.save_result(_output_path(stem, f"_x{result.scale}_{name}"), result.image)
    before = imageio.save_png(_output_path(stem, "_before_bicubic"), result.before)
    elapsed = time.perf_counter() - started
    out = result.image
    stats = (f"**Input** {image.width}×{image.height} · **Output** {out.width}×{out.height} (×{result.scale}) · "
             f"**Time** {elapsed:.2f} s · **Model** {model_id}"
             + (" · alpha kept" if out.alpha is not None else "") + (" · EXIF kept" if out.exif else ""))
    return (str(before), str(full)), str(full), stats


def _examples() -> list[list[str]]:
    return [[str(p)] for p in sorted(EXAMPLES_DIR.glob("*.png"))]


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
            run.click(_gpu(run_sr), [photo, model, scale, tile], [slider, download, stats], api_name="sr",
                      concurrency_id="models", concurrency_limit=CONCURRENCY)
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
