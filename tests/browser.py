"""Headless Debian chromium through Playwright, with the network shut."""

from __future__ import annotations

import shutil
from contextlib import contextmanager

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    if not shutil.which("chromium"):
        pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def load_offline(browser, url: str) -> dict:
    """Open `url` with the network disabled; report requests, console errors and dialogs."""
    context = browser.new_context(offline=True)
    page = context.new_page()
    seen = {"requests": [], "errors": [], "dialogs": []}
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.goto(url)
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    seen["charts"] = page.locator("svg.marks").count()
    seen["text"] = page.inner_text("body")
    context.close()
    return seen
