"""What every tab shares: error reporting, the GPU decorator, the photo input, output files, progress,
model cards, score lines and the recurring result components."""

from __future__ import annotations

import importlib.util
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import gradio as gr
import torch
from PIL import UnidentifiedImageError

from enhancers import imageio
from enhancers.device import pick_device
from enhancers.errors import EnhancerError
from enhancers.loader import is_ready
from enhancers.registry import get_spec, list_specs
from enhancers.specs import ModelSpec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = ROOT / "examples"
OUTPUT_DIR = Path(tempfile.gettempdir()) / "enhancers-outputs"
OUTPUT_MAX_AGE_S = 3600
MAX_FILE_SIZE = os.environ.get("ENHANCERS_MAX_FILE_SIZE", "50mb")
ON_GPU = pick_device().type == "cuda"
CONCURRENCY = 2 if ON_GPU else 1
# Every event that runs a model shares one queue slot pool, sized for the device.
MODEL_EVENTS = {"concurrency_id": "models", "concurrency_limit": CONCURRENCY}
CLASSROOM_MAX_SIDE = 1024  # classroom runs several methods (NLM is slow): larger photos are reduced first

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


def gpu(fn):
    """Run ``fn`` under ZeroGPU's ``@spaces.GPU`` when the ``spaces`` package exists (HF Spaces)."""
    if importlib.util.find_spec("spaces") is None:
        return fn
    import spaces

    return spaces.GPU(fn)


# --- Inputs -----------------------------------------------------------------------------------------------------


def photo_input(label: str, elem_id: str, **kwargs) -> gr.Image:
    """A filepath ``gr.Image`` for uploads and pastes, whose undecodable files give a clear ``gr.Error``,
    not a stack trace.

    The instance's preprocess is wrapped rather than subclassed: Gradio writes a
    ``.pyi`` stub next to any module that defines a component subclass.
    """
    component = gr.Image(type="filepath", image_mode=None, label=label, sources=["upload", "clipboard"],
                         elem_id=elem_id, **kwargs)
    preprocess = component.preprocess

    def checked(payload):
        try:
            return preprocess(payload)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
            raise gr.Error(f"This file is not a readable image ({type(e).__name__}). "
                           "Upload a PNG, JPEG, WebP, TIFF, BMP or GIF.") from e

    component.preprocess = checked
    return component


def open_upload(image_path: str | None, memory_hint: str = "Try a smaller photo.") -> imageio.LoadedImage:
    """The uploaded photo, or a ``gr.Error`` when there is none or it cannot be read."""
    if not image_path:
        raise gr.Error("Upload a photo first.")
    with user_errors(memory_hint):
        return imageio.open_image(image_path)


def classroom_photo(image: imageio.LoadedImage) -> tuple[torch.Tensor, str]:
    """The clean photo for a classroom run, RGB float32 ``(1, 3, H, W)`` in [0, 1], reduced to CLASSROOM_MAX_SIDE
    with Lanczos, and a note for the stats line saying so (empty when it was small enough)."""
    w, h = image.width, image.height
    if max(w, h) <= CLASSROOM_MAX_SIDE:
        return image.rgb, ""
    f = CLASSROOM_MAX_SIDE / max(w, h)
    size = (max(8, round(w * f)), max(8, round(h * f)))
    return imageio.resize(image.rgb, size, "lanczos"), f" (reduced from {w}×{h} to {size[0]}×{size[1]})"


def add_examples(component: gr.Image, label: str = "Example photos (scikit-image, public domain / CC0)",
                 folder: Path = EXAMPLES_DIR, pattern: str = "*.png") -> None:
    """Clickable examples (the files in ``folder`` matching ``pattern``) for ``component``, if there are any."""
    rows = [[str(p)] for p in sorted(folder.glob(pattern))]
    if rows:
        gr.Examples(rows, inputs=[component], label=label)


def model_choices(model_ids: list[str]) -> list[tuple[str, str]]:
    """Dropdown choices (label, id) for registered models."""
    return [(get_spec(i).label, i) for i in model_ids]


def task_choices(task: str) -> list[tuple[str, str]]:
    """Dropdown choices (label, id) for every registered model of ``task``."""
    return [(s.label, s.id) for s in list_specs(task)]


def model_dropdown(choices: list[tuple[str, str]], default: str, elem_id: str) -> gr.Dropdown:
    """The "Model" dropdown of a tab."""
    return gr.Dropdown(choices, value=default, label="Model", elem_id=elem_id)


def advanced_tile() -> gr.Slider:
    """The tile size slider (px, 0 = automatic) in a closed "Advanced" accordion."""
    with gr.Accordion("Advanced", open=False):
        return gr.Slider(0, 1024, value=0, step=32, label="Tile size (px, 0 = automatic)")


def run_button(label: str, elem_id: str) -> gr.Button:
    """The tab's primary button; Ctrl+Enter clicks it (see SHORTCUTS_JS)."""
    return gr.Button(label, variant="primary", elem_classes=["run-button"], elem_id=elem_id)


# --- Outputs ----------------------------------------------------------------------------------------------------


def before_after_slider(label: str, elem_id: str) -> gr.ImageSlider:
    """The before/after comparison of two PNG files."""
    return gr.ImageSlider(type="filepath", format="png", label=label, elem_id=elem_id, buttons=["fullscreen"])


def result_file(elem_id: str, label: str = "Full-resolution PNG") -> gr.File:
    """The download of the result file."""
    return gr.File(label=label, elem_id=elem_id)


def output_path(stem: str, suffix: str, ext: str = ".png") -> Path:
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


def png_output(stem: str, suffix: str, rgb: torch.Tensor, alpha: torch.Tensor | None = None) -> str:
    """Save RGB ``(1, 3, H, W)`` in [0, 1] (and alpha ``(1, 1, H, W)``) as a fresh PNG; returns its path."""
    return str(imageio.save_png(output_path(stem, suffix), rgb, alpha))


def save_before_after(stem: str, suffix: str, result: imageio.LoadedImage, before_suffix: str,
                      before: torch.Tensor, before_alpha: torch.Tensor | None = None) -> tuple[str, str]:
    """Save the full-resolution result (alpha and metadata kept) and the "before" RGB ``(1, 3, H, W)`` in [0, 1]
    as PNGs; returns their paths as (before, result), the order of the before/after slider."""
    full = imageio.save_result(output_path(stem, suffix), result)
    return png_output(stem, before_suffix, before, before_alpha), str(full)


def tile_progress(progress: gr.Progress) -> Callable[[int, int], None]:
    """A tiling progress callback ``(done, total)`` that moves Gradio's progress bar."""
    def on_tile(done: int, total: int) -> None:
        progress(done / total, desc=f"Tile {done}/{total}")

    return on_tile


# --- Text -------------------------------------------------------------------------------------------------------


def model_status(spec: ModelSpec) -> str:
    """Whether a model works offline, downloads on first use, or misses its bundled weights."""
    if is_ready(spec):
        return "ready offline" if spec.source_kind != "hub" else "downloaded, ready"
    if spec.source_kind == "hub":
        return f"downloads {spec.source.size_mb:.0f} MB on first use"
    return "bundled weights missing from weights/"


def describe_model(model_id: str) -> str:
    """Classroom card for a model: what it does, its cost, its paper and license."""
    spec = get_spec(model_id)
    scale = f"×{spec.scale}, " if spec.task == "sr" else ""
    return (f"**{spec.title}** — {scale}{model_status(spec)}.  \n{spec.description}  \n"
            f"[Paper / model card]({spec.paper}) · License: {spec.license} · "
            f"CPU precision: {'bf16 where the CPU has it natively, else fp32' if spec.cpu_bf16 else 'fp32'}")


def score(m: dict[str, float]) -> str:
    """A PSNR (dB) · SSIM line from a metrics dict with keys ``psnr`` and ``ssim``."""
    return f"PSNR {m['psnr']:.2f} dB · SSIM {m['ssim']:.3f}"


def kept_note(image: imageio.LoadedImage) -> str:
    """The stats-line note on what the saved result carries over from the upload (alpha, EXIF)."""
    return (" · alpha kept" if image.alpha is not None else "") + (" · EXIF kept" if image.exif else "")


def short_name(model_id: str) -> str:
    """The part of a model id after its task, for file names: ``"sr/compact-x2"`` → ``"compact-x2"``."""
    return get_spec(model_id).id.split("/")[1]
