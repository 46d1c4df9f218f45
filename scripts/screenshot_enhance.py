"""Take the README's screenshot: the Enhance tab, before and after, in Debian's chromium (the browser tests' set-up,
tests/browser_support.py: Playwright for Python, ``/usr/bin/chromium``, headless, no sandbox, no GPU).

The upload is scikit-image's chelsea (451×300, held out from training) damaged with the fixed evaluation mix at ×2
(blur σ 1.2, bicubic ↓2, noise σ 8, JPEG QF 60); the app runs in this process with the bundled default model,
enhances it ×2, and the page is captured with the before/after slider in the middle.

    python scripts/screenshot_enhance.py [--out docs/enhance-tab.png]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SLIDER_READY_JS = """() => {
  const imgs = [...document.querySelectorAll('#enhance-slider img[data-testid="imageslider-image"]')];
  return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0);
}"""


def damaged_photo(folder: Path) -> Path:
    """scikit-image's chelsea.png cropped to a multiple of 2 and damaged with the fixed mix at ×2, as a PNG."""
    from enhancers import degrade, imageio
    from enhancers.training.data import skimage_dir

    rgb = imageio.open_image(skimage_dir() / "chelsea.png").rgb
    h, w = (s - s % 2 for s in rgb.shape[-2:])
    return imageio.save_png(folder / "chelsea-damaged.png", degrade.fixed_mix(rgb[..., :h, :w], 2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "enhance-tab.png")
    args = parser.parse_args(argv)

    from browser_support import app_page, assert_no_error_toast, launch_chromium
    from PIL import Image

    import app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                    **app.LAUNCH_KWARGS)
    try:
        with tempfile.TemporaryDirectory() as tmp, launch_chromium() as browser, \
                app_page(browser, app.demo.local_url, tab="Enhance", ready="#enhance-input input[type=file]",
                         viewport=(1280, 900)) as page:
            page.set_input_files("#enhance-input input[type=file]", str(damaged_photo(Path(tmp))))
            page.locator("#enhance-input img").wait_for(state="visible", timeout=30_000)
            page.locator("#enhance-run").click()
            page.wait_for_function(SLIDER_READY_JS, timeout=180_000)
            assert_no_error_toast(page)
            page.locator("#enhance-stats").wait_for(state="visible")
            page.evaluate("window.scrollTo(0, 0)")
            page.mouse.move(0, 0)
            page.wait_for_timeout(500)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=False)
    finally:
        app.demo.close()
    with Image.open(args.out) as im:
        im.convert("RGB").save(args.out, optimize=True)
    print(f"{args.out}: {args.out.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
