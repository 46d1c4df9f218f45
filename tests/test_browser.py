"""The super-resolution tab driven in Debian's chromium through Playwright: upload, run, before/after slider."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_support import app_page, assert_no_error_toast, screenshot
from PIL import Image
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.app]

RUN_TIMEOUT_MS = 120_000
BASELINE_TIMEOUT_MS = 30_000
SLIDER_IMAGES = '#sr-slider img[data-testid="imageslider-image"]'
SLIDER_LOADED_OR_ERROR_JS = """() => {
  if (document.querySelector('[data-testid="toast-body"].error')) return true;
  const imgs = [...document.querySelectorAll('#sr-slider img[data-testid="imageslider-image"]')];
  return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0);
}"""


@pytest.fixture
def page(browser, app_url):
    with app_page(browser, app_url, ready="#sr-input input[type=file]", viewport=(1280, 900)) as pg:
        yield pg


def _upload(page: Page, path: Path) -> None:
    page.set_input_files("#sr-input input[type=file]", str(path))
    expect(page.locator("#sr-input img")).to_be_visible(timeout=30_000)


def _choose_model(page: Page, label: str) -> None:
    page.click("#sr-model input[role=combobox]")
    page.locator("[role=option]", has_text=label).click()
    expect(page.locator("#sr-model input[role=combobox]")).to_have_value(re.compile(re.escape(label)))


def _wait_for_slider(page: Page) -> None:
    page.wait_for_function(SLIDER_LOADED_OR_ERROR_JS, timeout=RUN_TIMEOUT_MS)
    assert_no_error_toast(page)


def _slider_sizes(page: Page) -> list[tuple[int, int]]:
    return page.eval_on_selector_all(SLIDER_IMAGES, "imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight])")


def test_upscale_shows_before_after_slider(page, heldout_lr):
    lr_w, lr_h = Image.open(heldout_lr.lr_path).size
    _upload(page, heldout_lr.lr_path)
    page.click("#sr-run")
    _wait_for_slider(page)
    screenshot(page, "sr-browser.png")

    expect(page.locator("#sr-stats")).to_contain_text("Output", timeout=10_000)
    stats = page.inner_text("#sr-stats")
    assert f"{2 * lr_w}×{2 * lr_h}" in stats and "sr/compact-x2" in stats
    assert [tuple(s) for s in _slider_sizes(page)] == [(2 * lr_w, 2 * lr_h)] * 2
    before, after = page.eval_on_selector_all(SLIDER_IMAGES, "imgs => imgs.map(i => i.src)")
    assert before.endswith("_before_bicubic.png") and after.endswith("_x2_compact-x2.png")
    expect(page.locator("#sr-download")).to_contain_text(".png")

    handle = page.locator('#sr-slider [data-testid="slider"]')
    expect(handle).to_be_visible()
    after_img = page.locator(SLIDER_IMAGES).nth(1)
    clip = after_img.evaluate("i => i.style.clipPath")
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 - 120, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    assert after_img.evaluate("i => i.style.clipPath") != clip


def test_ctrl_enter_reruns_with_the_chosen_model(page, heldout_lr):
    _upload(page, heldout_lr.lr_path)
    _choose_model(page, "Bicubic")
    page.click("#sr-run")
    expect(page.locator("#sr-stats")).to_contain_text("sr/bicubic", timeout=BASELINE_TIMEOUT_MS)

    _choose_model(page, "Lanczos")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#sr-stats")).to_contain_text("sr/lanczos", timeout=BASELINE_TIMEOUT_MS)
    _wait_for_slider(page)
    after = page.eval_on_selector_all(SLIDER_IMAGES, "imgs => imgs.map(i => i.src)")[1]
    assert after.endswith("_x2_lanczos.png")
