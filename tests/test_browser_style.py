"""The style-transfer tab in Debian's chromium: Gatys streams images and a loss curve, Stop cancels, fast style."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from browser_support import app_page, assert_no_error_toast, screenshot
from playwright.sync_api import expect

from enhancers import style
from enhancers.training.data import skimage_dir

pytestmark = [pytest.mark.browser, pytest.mark.app]

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_MS = 300_000
SLIDER_IMAGES = '#style-slider img[data-testid="imageslider-image"]'


@pytest.fixture
def page(browser, app_url):
    with app_page(browser, app_url, tab="Style transfer", ready="#style-content input[type=file]") as pg:
        yield pg


@pytest.fixture(scope="module")
def photo_path(tmp_path_factory) -> Path:
    """scikit-image's coffee (held out), 120×80."""
    path = tmp_path_factory.mktemp("browser-style") / "coffee.png"
    Image.open(skimage_dir() / "coffee.png").convert("RGB").resize((120, 80), Image.Resampling.LANCZOS).save(path)
    return path


def _upload_both(page, photo_path: Path) -> None:
    page.set_input_files("#style-content input[type=file]", str(photo_path))
    page.set_input_files("#style-style input[type=file]", str(ROOT / "examples" / "styles" / "rhythm.jpg"))
    expect(page.locator("#style-content img")).to_be_visible(timeout=30_000)
    expect(page.locator("#style-style img")).to_be_visible(timeout=30_000)


def _set_slider(page, elem_id: str, value: int) -> None:
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def test_gatys_streams_images_and_curve_then_stop_cancels(page, photo_path) -> None:
    _upload_both(page, photo_path)
    # 128 px: 500 steps take about a minute even on a fast machine, so Stop lands mid-run (at 64 px the whole
    # run could finish in ~18 s, before the checks below reach the Stop button).
    _set_slider(page, "style-size", 128)
    _set_slider(page, "style-steps", 500)
    page.click("#style-run")
    # Intermediate updates arrive while the run goes on: a step below the total, with a curve. (Any such step:
    # updates stream every 10 steps, and one may be on screen for less than the locator's polling interval.)
    expect(page.locator("#style-status")).to_contain_text(re.compile(r"Step ([1-9]\d?|[1-4]\d\d)/500"),
                                                          timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#style-status")).to_contain_text("VGG16 ImageNet")
    expect(page.locator(SLIDER_IMAGES)).to_have_count(2)
    expect(page.locator("#style-curve canvas, #style-curve svg").first).to_be_visible(timeout=30_000)
    assert_no_error_toast(page)
    screenshot(page, "style-browser-gatys.png")

    page.click("#style-stop")
    page.wait_for_timeout(3000)
    stopped_at = page.inner_text("#style-status")
    page.wait_for_timeout(5000)
    assert page.inner_text("#style-status") == stopped_at, "the run kept streaming after Stop"
    assert "Step 500/500" not in stopped_at


def test_fast_style_shows_full_size_slider(page, photo_path) -> None:
    page.set_input_files("#style-content input[type=file]", str(photo_path))
    expect(page.locator("#style-content img")).to_be_visible(timeout=30_000)
    page.click("#style-fast-run")
    expect(page.locator("#style-status")).to_contain_text(style.DEFAULT_FAST, timeout=RUN_TIMEOUT_MS)
    page.wait_for_function("""() => {
      const imgs = [...document.querySelectorAll('#style-slider img[data-testid="imageslider-image"]')];
      return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0);
    }""", timeout=60_000)
    sizes = page.eval_on_selector_all(SLIDER_IMAGES, "imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight])")
    assert [tuple(s) for s in sizes] == [(120, 80)] * 2
    expect(page.locator("#style-download")).to_contain_text(".png")
    screenshot(page, "style-browser-fast.png")
