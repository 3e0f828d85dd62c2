"""Shared helpers of the page tests: the data a page carries, a headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
# Chromium from Debian, never a downloaded browser; no sandbox as root, nothing in the
# background that would reach the network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def page_data(path: Path) -> dict[str, Any]:
    """The JSON a page written by ``viz.explore`` carries."""
    text = Path(path).read_text(encoding="utf-8")
    m = re.search(r'<script id="page-data" type="application/json">(.*?)</script>', text, re.S)
    assert m, "the page has no data element"
    return json.loads(m.group(1))


class Browser:
    """One Chromium page opened from file:// with every other request aborted."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser

    def open(self, url: str) -> Any:
        page = self.browser.new_page(viewport={"width": 1400, "height": 900})
        page.errors = []
        page.blocked = []

        def route(r: Any) -> None:
            if r.request.url.startswith(("file:", "data:")):
                r.continue_()
            else:
                page.blocked.append(r.request.url)
                r.abort()

        page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.route("**/*", route)
        page.goto(url)
        return page


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium driven by Playwright; skipped (saying why) when either is missing."""
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.skip(f"the browser tests need Chromium at {CHROMIUM} ('make chromium' installs it)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the browser tests need playwright (the test extra)"
    )
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield Browser(chromium)
        finally:
            chromium.close()
