"""Shared pieces of the browser tests: Debian's chromium through Playwright, one app page per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
ERROR_TOAST = '[data-testid="toast-body"].error [data-testid="toast-text"]'


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """Headless Debian chromium; a missing binary fails the test (CI must run the browser tests, not skip them)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (make system-test-deps) "
                    "or point CHROMIUM at a chromium binary", pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@contextmanager
def app_page(browser: Browser, url: str, tab: str | None = None, ready: str | None = None,
             ready_js: tuple[str, str] | None = None, viewport: tuple[int, int] = (1400, 1000)) -> Iterator[Page]:
    """The app in a fresh browser context, on ``tab``, once ``ready`` (a selector) is attached or
    ``ready_js`` (a JS function and its argument) holds. Uncaught page errors fail the test."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    if tab:
        page.get_by_role("tab", name=tab).click()
    if ready:
        page.wait_for_selector(ready, state="attached", timeout=60_000)
    if ready_js:
        page.wait_for_function(ready_js[0], arg=ready_js[1], timeout=60_000)
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def assert_no_error_toast(page: Page) -> None:
    toasts = page.locator(ERROR_TOAST).all_inner_texts()
    assert not toasts, f"the app showed an error: {toasts}"


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
