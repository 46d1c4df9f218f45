"""The Denoising and JPEG-artifacts tabs driven in Debian's chromium: upload, run, slider, stats."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from browser_support import app_page, assert_no_error_toast, screenshot

from enhancers import imageio
from enhancers.degrade import add_gaussian_noise
from enhancers.training.data import prepare_hr, skimage_dir

pytestmark = [pytest.mark.browser, pytest.mark.app]

TIMEOUT_MS = 120_000
SLIDER_LOADED_JS = """(id) => {
  if (document.querySelector('[data-testid="toast-body"].error')) return true;
  const imgs = [...document.querySelectorAll(id + ' img[data-testid="imageslider-image"]')];
  return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0);
}"""


@pytest.fixture
def page(browser, app_url):
    with app_page(browser, app_url, ready="#sr-input input[type=file]") as pg:
        yield pg


def _run_and_wait(page: Page, prefix: str) -> None:
    page.keyboard.press("Control+Enter")
    page.wait_for_function(SLIDER_LOADED_JS, arg=f"#{prefix}-slider", timeout=TIMEOUT_MS)
    assert_no_error_toast(page)


def test_denoise_tab_blind_then_classroom(page: Page, tmp_path) -> None:
    clean = prepare_hr(skimage_dir() / "astronaut.png", crop=160, multiple=8)
    noisy = imageio.save_png(tmp_path / "noisy.png", add_gaussian_noise(clean, 25))
    page.get_by_role("tab", name="Denoising").click()
    page.set_input_files("#denoise-input input[type=file]", str(noisy))
    expect(page.locator("#denoise-input img")).to_be_visible(timeout=30_000)
    _run_and_wait(page, "denoise")
    expect(page.locator("#denoise-stats")).to_contain_text("σ estimated", timeout=10_000)
    expect(page.locator("#denoise-download")).to_contain_text(".png")

    page.locator("#denoise-classroom input[type=checkbox]").check()
    page.click("#denoise-run")
    expect(page.locator("#denoise-stats")).to_contain_text("Classroom", timeout=TIMEOUT_MS)
    expect(page.locator("#denoise-gallery img")).to_have_count(3, timeout=TIMEOUT_MS)
    screenshot(page, "denoise-browser.png")


def test_dejpeg_tab_reports_quality_factors(page: Page, tmp_path) -> None:
    clean = prepare_hr(skimage_dir() / "rocket.jpg", crop=160, multiple=8)
    path = tmp_path / "blocky.jpg"
    imageio.tensor_to_pil(clean).save(path, format="JPEG", quality=10)
    page.get_by_role("tab", name="JPEG artifacts").click()
    page.set_input_files("#dejpeg-input input[type=file]", str(path))
    expect(page.locator("#dejpeg-input img")).to_be_visible(timeout=30_000)
    _run_and_wait(page, "dejpeg")
    stats = page.locator("#dejpeg-stats")
    expect(stats).to_contain_text("QF predicted", timeout=10_000)
    expect(stats).to_contain_text("File header quality 10")
    screenshot(page, "dejpeg-browser.png")
