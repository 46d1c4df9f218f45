"""The Colorization tab driven in Debian's chromium through Playwright: upload, colorize, slider, L*a*b* views."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from browser_support import app_page, assert_no_error_toast, screenshot

from enhancers import imageio
from enhancers.lab import gray_to_rgb, ntsc_gray
from enhancers.training.data import prepare_hr, skimage_dir

pytestmark = [pytest.mark.browser, pytest.mark.app]

TIMEOUT_MS = 120_000
SLIDER_IMAGES = '#color-slider img[data-testid="imageslider-image"]'
LOADED_JS = """() => {
  if (document.querySelector('[data-testid="toast-body"].error')) return true;
  const imgs = [...document.querySelectorAll('#color-slider img[data-testid="imageslider-image"]'),
                ...['#color-l', '#color-a', '#color-b'].map(id => document.querySelector(id + ' img'))];
  return imgs.length === 5 && imgs.every(i => i && i.complete && i.naturalWidth > 0);
}"""


@pytest.fixture
def page(browser, app_url):
    with app_page(browser, app_url, tab="Colorization", ready="#color-input input[type=file]") as pg:
        yield pg


def test_colorize_a_gray_photo_in_the_browser(page: Page, tmp_path):
    hr = prepare_hr(skimage_dir() / "chelsea.png", crop=192)  # held out: never trained on
    path = imageio.save_png(tmp_path / "chelsea_gray.png", gray_to_rgb(ntsc_gray(hr)))
    page.set_input_files("#color-input input[type=file]", str(path))
    expect(page.locator("#color-input img")).to_be_visible(timeout=30_000)
    expect(page.locator("#color-card")).to_contain_text("U-Net")
    page.keyboard.press("Control+Enter")
    page.wait_for_function(LOADED_JS, timeout=TIMEOUT_MS)
    assert_no_error_toast(page)
    screenshot(page, "color-browser.png")

    expect(page.locator("#color-stats")).to_contain_text("color/unet")
    sizes = page.eval_on_selector_all(SLIDER_IMAGES, "imgs => imgs.map(i => [i.naturalWidth, i.naturalHeight])")
    assert [tuple(s) for s in sizes] == [(hr.shape[-1], hr.shape[-2])] * 2
    before, after = page.eval_on_selector_all(SLIDER_IMAGES, "imgs => imgs.map(i => i.src)")
    assert before.endswith("_gray.png") and after.endswith("_color_unet.png")
    expect(page.locator("#color-download")).to_contain_text(".png")
    expect(page.locator("#color-notes")).to_contain_text("non-commercial")

    handle = page.locator('#color-slider [data-testid="slider"]')
    after_img = page.locator(SLIDER_IMAGES).nth(1)
    clip = after_img.evaluate("i => i.style.clipPath")
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 - 100, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    assert after_img.evaluate("i => i.style.clipPath") != clip


def test_temperature_slider_appears_for_the_colour_class_model(page: Page):
    temperature = page.locator("#color-temperature")
    page.locator("#color-model input").click()
    page.get_by_role("option", name="U-Net, colour classes (bundled)").click()
    expect(page.locator("#color-card")).to_contain_text("annealed mean")
    page.locator("#color-card").scroll_into_view_if_needed()
    page.locator("#color-advanced").get_by_text("Advanced").click()
    expect(temperature).to_be_visible()
    expect(temperature.locator("input[type=number]")).to_have_value("0.38")
    screenshot(page, "color-classes-browser.png")
    page.locator("#color-model input").click()
    page.get_by_role("option", name="U-Net in L*a*b* (bundled)").click()
    expect(temperature).to_be_hidden()
    assert_no_error_toast(page)
