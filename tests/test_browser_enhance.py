"""The Enhance tab driven in Debian's chromium: upload, Ctrl+Enter, slider, download and stats; then the model
dropdown relabels the fidelity slider, a face model shows its options, "Same size" runs again, and the
classroom mode fills its gallery and table."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from browser_support import app_page, assert_no_error_toast, screenshot

from enhancers import imageio
from enhancers.training.data import prepare_hr, skimage_dir

pytestmark = [pytest.mark.browser, pytest.mark.app]

TIMEOUT_MS = 120_000
SLIDER_SRCS_JS = """([id, before]) => {
  if (document.querySelector('[data-testid="toast-body"].error')) return true;
  const imgs = [...document.querySelectorAll(id + ' img[data-testid="imageslider-image"]')];
  return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0)
    && imgs.map(i => i.src).join() !== before;
}"""


@pytest.fixture
def page(browser, app_url):
    with app_page(browser, app_url, tab="Enhance", ready="#enhance-input input[type=file]") as pg:
        yield pg


def _slider_srcs(page: Page) -> str:
    return ",".join(page.locator('#enhance-slider img[data-testid="imageslider-image"]').evaluate_all(
        "imgs => imgs.map(i => i.src)"))


def _run_and_wait(page: Page, run) -> None:
    before = _slider_srcs(page)
    run()
    page.wait_for_function(SLIDER_SRCS_JS, arg=["#enhance-slider", before], timeout=TIMEOUT_MS)
    assert_no_error_toast(page)


def test_enhance_tab_runs_then_same_size(page: Page, tmp_path) -> None:
    photo = imageio.save_png(tmp_path / "coffee.png", prepare_hr(skimage_dir() / "coffee.png", crop=128))
    page.set_input_files("#enhance-input input[type=file]", str(photo))
    expect(page.locator("#enhance-input img")).to_be_visible(timeout=30_000)

    _run_and_wait(page, lambda: page.keyboard.press("Control+Enter"))
    stats = page.locator("#enhance-stats")
    expect(stats).to_contain_text("128×128 → Output 256×256", timeout=10_000)
    expect(stats).to_contain_text("α 1.00 (fidelity)")
    expect(page.locator("#enhance-download")).to_contain_text(".png")

    # Another model relabels the slider ("Denoise strength") or hides it; back to the default restores it.
    page.locator("#enhance-model input").click()
    page.get_by_role("option", name="Real-ESRGAN general v3").click()
    expect(page.locator("#enhance-fidelity")).to_contain_text("Denoise strength", timeout=10_000)
    expect(page.locator("#enhance-card")).to_contain_text("Real-ESRGAN general v3")
    page.locator("#enhance-model input").click()
    page.get_by_role("option", name="Compact GAN ×2 (bundled)").click()
    expect(page.locator("#enhance-fidelity")).to_contain_text("Fidelity ↔ texture", timeout=10_000)

    # A face model shows its card (CodeFormer: non-commercial) and its options; None hides them again.
    page.locator("#enhance-faces input").click()
    page.get_by_role("option", name="CodeFormer").click()
    expect(page.locator("#enhance-face-card")).to_contain_text("NON-COMMERCIAL", timeout=10_000)
    expect(page.locator("#enhance-face-fidelity")).to_be_visible()
    page.locator("#enhance-faces input").click()
    page.get_by_role("option", name="None", exact=True).click()
    expect(page.locator("#enhance-face-fidelity")).to_be_hidden(timeout=10_000)

    page.locator("#enhance-scale").get_by_text("Same size").click()
    _run_and_wait(page, lambda: page.click("#enhance-run"))
    expect(stats).to_contain_text("128×128 → Output 128×128", timeout=10_000)

    page.get_by_text("Classroom mode: PSNR stage against GAN stage").click()
    page.click("#enhance-classroom-run")
    expect(page.locator("#enhance-classroom-gallery img")).to_have_count(3, timeout=TIMEOUT_MS)
    expect(page.locator("#enhance-classroom-table")).to_contain_text("GAN stage (α = 1)", timeout=10_000)
    expect(page.locator("#enhance-classroom-stats")).to_contain_text("clean original (128×128)")
    assert_no_error_toast(page)
    screenshot(page, "enhance-browser.png")
