"""The Latent explorer tab driven in Debian's chromium through Playwright: click the map, draw a digit."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from browser_support import app_page, assert_no_error_toast, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.app]

TIMEOUT_MS = 60_000
# no output of the tab still shows a loading status (Gradio hides a finished status tracker with .hide)
SETTLED_JS = """() => ['#latent-map', '#latent-recon', '#latent-sketch-input', '#latent-sketch-info']
  .every(id => !document.querySelector(id + ' [data-testid=status-tracker]:not(.hide)'))"""
IMG_LOADED_JS = """(sel) => {
  const i = document.querySelector(sel);
  return !!i && i.complete && i.naturalWidth > 0;
}"""


@pytest.fixture
def page(browser, app_url):
    with app_page(browser, app_url, tab="Latent explorer", ready_js=(IMG_LOADED_JS, "#latent-map img")) as pg:
        yield pg


def test_click_map_and_draw_a_digit(page: Page) -> None:
    expect(page.locator("#latent-map-info")).to_contain_text("500 held-out digits", timeout=TIMEOUT_MS)
    map_img = page.locator("#latent-map img")
    natural = map_img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert natural == [464, 482]
    box = map_img.bounding_box()
    scale = box["width"] / natural[0]
    # latent (1, 1) of the VAE map: plot area at (34, 10), 420 px for [−2.68, 2.68]
    half = 2.5 * 15 / 14
    px, py = 34 + (1 + half) / (2 * half) * 420, 10 + (half - 1) / (2 * half) * 420
    page.mouse.click(box["x"] + px * scale, box["y"] + py * scale)
    expect(page.locator("#latent-decoded-info")).to_contain_text("Decoded at", timeout=TIMEOUT_MS)
    info = page.inner_text("#latent-decoded-info")
    assert "(1.0" in info or "(0.9" in info, info  # the click landed where we aimed, within a pixel
    page.wait_for_function(IMG_LOADED_JS, arg="#latent-decoded img", timeout=TIMEOUT_MS)
    assert page.locator("#latent-decoded img").evaluate("i => i.naturalWidth") == 224
    assert_no_error_toast(page)

    map_src = map_img.get_attribute("src")
    canvas = page.locator("#latent-sketch canvas").first
    canvas.scroll_into_view_if_needed()
    cb = canvas.bounding_box()
    cx, top, bottom = cb["x"] + cb["width"] * 0.5, cb["y"] + cb["height"] * 0.15, cb["y"] + cb["height"] * 0.85
    # a "7": top bar, then the diagonal stroke
    page.mouse.move(cb["x"] + cb["width"] * 0.3, top)
    page.mouse.down()
    page.mouse.move(cb["x"] + cb["width"] * 0.7, top, steps=12)
    page.mouse.move(cx - cb["width"] * 0.05, bottom, steps=20)
    page.mouse.up()
    # the drawing is encoded live (the sketchpad's change event); the button re-runs it
    expect(page.locator("#latent-sketch-info")).to_contain_text("encodes to", timeout=TIMEOUT_MS)
    page.click("#latent-encode-run")
    page.wait_for_timeout(300)
    page.wait_for_function(SETTLED_JS, timeout=TIMEOUT_MS)
    expect(page.locator("#latent-sketch-info")).to_contain_text("encodes to", timeout=TIMEOUT_MS)
    page.wait_for_function(IMG_LOADED_JS, arg="#latent-recon img", timeout=TIMEOUT_MS)
    page.wait_for_function(IMG_LOADED_JS, arg="#latent-sketch-input img", timeout=TIMEOUT_MS)
    expect(map_img).not_to_have_attribute("src", map_src, timeout=TIMEOUT_MS)  # redrawn with the marker
    page.wait_for_function(IMG_LOADED_JS, arg="#latent-map img", timeout=TIMEOUT_MS)
    assert_no_error_toast(page)
    page.locator("#latent-map").scroll_into_view_if_needed()
    screenshot(page, "latent-browser.png")
