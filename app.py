"""Gradio app: upload a photo, pick an algorithm, compare before and after.

UI only: every handler is a thin typed wrapper around :mod:`enhancers`; each tab lives in its own module
under :mod:`ui` (shared pieces in :mod:`ui.common`), and this file assembles them.
Run with ``make run`` or ``python app.py`` (honours GRADIO_SERVER_NAME / GRADIO_SERVER_PORT).
"""

from __future__ import annotations

import gradio as gr

from enhancers.precision import tune_allocator

tune_allocator()  # before any model allocates: large tile buffers stay mapped between tiles (glibc)

from enhancers.defaults import describe_hardware  # noqa: E402
from ui import colorize, dejpeg, denoise, enhance, latent, models, sr, style  # noqa: E402
from ui.common import (  # noqa: E402
    CONCURRENCY,
    HARDWARE,
    MAX_FILE_SIZE,
    OUTPUT_DIR,
    OUTPUT_MAX_AGE_S,
    SHORTCUTS_JS,
    install_atomic_pil_cache,
)

__all__ = ["LAUNCH_KWARGS", "OUTPUT_DIR", "OUTPUT_MAX_AGE_S", "build_demo", "demo", "header"]

# The tabs, left to right; each build() adds its tab to the current Blocks.
TABS = (
    sr.build,
    enhance.build,
    denoise.build,
    dejpeg.build,
    latent.build,
    colorize.build,
    style.build,
    models.build,
)


def header() -> str:
    """The Markdown at the top of the page: what the app does, and the hardware and precision it runs on."""
    defaults = ("the tabs start with the larger Hub models" if HARDWARE.gpu
                else "the tabs start with the bundled models")
    return ("# AI Image Enhancer\nUpload a photo, pick an algorithm, and compare before and after "
            "with the slider. Bundled models work offline; Hub models download on first use. "
            f"Press **Ctrl+Enter** to run.  \n**Running on** {describe_hardware(HARDWARE)} ({defaults}).")


def build_demo() -> gr.Blocks:
    """Build the Blocks app (nothing heavy runs here: models load on first use)."""
    install_atomic_pil_cache()
    with gr.Blocks(title="AI Image Enhancer", delete_cache=(1800, 3600)) as demo:
        gr.Markdown(header(), elem_id="app-header")
        for build_tab in TABS:
            build_tab()
    return demo


demo = build_demo()
demo.queue(default_concurrency_limit=CONCURRENCY)
# Shared by ``python app.py`` and the tests, so both serve the same app.
LAUNCH_KWARGS = {"max_file_size": MAX_FILE_SIZE, "head": SHORTCUTS_JS}

if __name__ == "__main__":
    demo.launch(**LAUNCH_KWARGS)
