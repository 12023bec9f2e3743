"""Helpers for the report, gate and browser tests: synthetic runs, the evalrun CLI, headless Chromium.

Import with `sys.path` pointing at tests/ (the test files do it). Chromium
runs with networking, sync and updates off: on a closed network it otherwise
spends its time retrying connections.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from synthetic_runs import PAYLOAD, make_run

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                "--hide-scrollbars", "--window-size=1280,1000"]

__all__ = ["PAYLOAD", "make_run", "evalrun", "chromium", "ARTIFACTS"]


def evalrun(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the evalrun CLI as a user would: a subprocess through the real entry point."""
    return subprocess.run([sys.executable, "-m", "evalrun.cli.main", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd)


def chromium():
    """A headless Chromium WebDriver, or fail (CI) / skip (local) when it is not installed."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("selenium (pip install selenium)")
    if missing:
        msg = f"browser tests need {', '.join(missing)} (apt-get install -y chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    profile = tempfile.mkdtemp(prefix="evalrun-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*CHROME_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver._evalrun_profile = profile  # noqa: SLF001 - removed by close_chromium
    return driver


def close_chromium(driver) -> None:
    profile = getattr(driver, "_evalrun_profile", None)
    driver.quit()
    if profile:
        shutil.rmtree(profile, ignore_errors=True)
