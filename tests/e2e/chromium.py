"""Headless Chromium from Debian (`chromium`, `chromium-driver`; `.ci/run` installs them) for the
browser tests: offline, in a throwaway profile, quit and removed when done."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT = 60  # seconds: a ceiling for a loaded machine, never a pace


@contextmanager
def headless_chromium(*extra_args: str, console: bool = False) -> Iterator[WebDriver]:
    """A driven headless Chromium; `console`: the page's console messages are kept for the test."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    assert not missing, f"{missing} missing: `apt-get install -y chromium chromium-driver` (.ci/run does)"
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must never try to download a driver
    options = Options()
    options.binary_location = str(CHROMIUM)
    if console:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    profile = tempfile.mkdtemp(prefix="gati-chromium-")
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        *extra_args,
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
