"""Latency of the Latent explorer on this machine (prints a table; not a test).

Library: decode one latent point (and render the 224-px digit), encode one drawn
digit (MNIST preprocessing of a 280×280 sketch + encoder), a 10-frame VAE
interpolation and a 10-frame GAN slerp walk (with the GIF). End to end: the
launched app's ``/latent_decode`` API through gradio_client (HTTP + queue +
PNG encoding), and, when Debian's chromium is present, a click on the map until
the decoded digit is shown in the page (what a user waits for).

    python benchmarks/latent_speed.py [--repeat 30] [--no-app]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _timed(fn, repeat: int) -> dict:
    fn()  # warm-up: first use loads the model
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"median_ms": statistics.median(times), "p90_ms": times[int(0.9 * (len(times) - 1))],
            "min_ms": times[0]}


def library(repeat: int) -> dict[str, dict]:
    from PIL import Image, ImageDraw

    from enhancers import imageio, latent, latent_plot

    sketch = Image.new("RGBA", (280, 280), "white")
    ImageDraw.Draw(sketch).line([(90, 50), (190, 50), (120, 240)], fill="black", width=18)
    held = latent.heldout()
    gif_dir = Path(tempfile.mkdtemp())

    def decode() -> None:
        latent_plot.digit_image(latent.decode(0.7, -1.2), 224)

    def encode() -> None:
        image = imageio.open_image(sketch)
        latent.encode_point(latent.prepare_drawing(image.rgb, image.alpha))

    def interpolate() -> None:
        latent_plot.save_gif(latent.interpolate(held.digits[:1], held.digits[-1:], 10), gif_dir / "vae.gif")

    def gan_walk() -> None:
        latent_plot.save_gif(latent.gan_interpolate(1, 2, 10), gif_dir / "gan.gif")

    return {"decode + render (library)": _timed(decode, repeat),
            "encode a 280×280 sketch (library)": _timed(encode, repeat),
            "VAE interpolation, 10 frames + GIF": _timed(interpolate, max(5, repeat // 3)),
            "GAN slerp, 10 frames + GIF": _timed(gan_walk, max(5, repeat // 3))}


CLICK_DONE_JS = """(prev) => {
  const t = document.querySelector('#latent-decoded-info').innerText;
  const i = document.querySelector('#latent-decoded img');
  return t !== prev && !!i && i.complete && i.naturalWidth > 0;
}"""


def _browser_click(url: str, repeat: int) -> dict:
    """Click → decoded digit shown, in Debian's chromium (what a user waits for)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.get_by_role("tab", name="Latent explorer").click()
            page.wait_for_function("() => { const i = document.querySelector('#latent-map img');"
                                   " return !!i && i.complete && i.naturalWidth > 0; }", timeout=60_000)
            box = page.locator("#latent-map img").bounding_box()
            k = iter(range(10_000))

            def click() -> None:
                i = next(k)
                prev = page.inner_text("#latent-decoded-info")
                page.mouse.click(box["x"] + 60 + (i * 37) % 250, box["y"] + 60 + (i * 53) % 250)
                page.wait_for_function(CLICK_DONE_JS, arg=prev, timeout=10_000)

            return _timed(click, repeat)
        finally:
            browser.close()


def end_to_end(repeat: int) -> dict[str, dict]:
    import socket

    from gradio_client import Client

    import app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                    **app.LAUNCH_KWARGS)
    try:
        client = Client(app.demo.local_url, verbose=False, download_files=False)
        rows = {"/latent_decode via gradio_client (HTTP + queue)":
                _timed(lambda: client.predict(0.7, -1.2, api_name="/latent_decode"), repeat)}
        if Path(CHROMIUM).exists():
            rows["map click → digit shown (chromium)"] = _browser_click(app.demo.local_url, repeat)
        return rows
    finally:
        app.demo.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--no-app", action="store_true", help="skip the end-to-end measurement")
    a = ap.parse_args()
    import torch

    from enhancers.device import configure_cpu_threads, pick_device

    configure_cpu_threads()
    rows = library(a.repeat)
    if not a.no_app:
        rows.update(end_to_end(a.repeat))
    print(f"device {pick_device()}, torch threads {torch.get_num_threads()}, cpu count {os.cpu_count()}")
    print(f"| {'what':44} | median ms | p90 ms | min ms |\n|{'-' * 46}|---|---|---|")
    for name, r in rows.items():
        print(f"| {name:44} | {r['median_ms']:9.1f} | {r['p90_ms']:6.1f} | {r['min_ms']:6.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
