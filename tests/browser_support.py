"""Debian's Chromium driven by Playwright: the one launch recipe every browser test uses."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps dialling out, and the network here is closed.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Mark a module's tests as browser tests that need Debian's Chromium (CI installs it). They run
# on SQLite only: the scripts and pages they judge are the same on either engine, and every
# server path they drive is tested on both by the HTTP, API and WebSocket tests.
browser_tests = [
    pytest.mark.browser,
    pytest.mark.databases("sqlite"),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Debian's Chromium not at {CHROMIUM}"),
]


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
