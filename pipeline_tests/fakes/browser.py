"""Headless Chromium through its command line: render a page (JavaScript included) and return
its DOM, or save a screenshot. No driver library needed: Debian's `chromium` package is enough."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_path() -> str | None:
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _run(url: str, extra: list[str], *, width: int, height: int, budget_ms: int) -> str:
    browser = chromium_path()
    if browser is None:
        raise RuntimeError("no chromium on this machine (make browser installs it)")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        completed = subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",  # tests run as root in CI; the sandbox refuses root
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                # Virtual time runs until the page is idle or the budget is spent, so a
                # single-page app has fetched and rendered its data before the DOM is read.
                f"--virtual-time-budget={budget_ms}",
                *extra,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=budget_ms / 1000 + 90,
            check=False,
        )
    if completed.returncode != 0:
        raise RuntimeError(f"chromium failed on {url}: {completed.stderr[-2000:]}")
    return completed.stdout


def dump_dom(url: str, *, width: int = 1400, height: int = 1000, budget_ms: int = 15000) -> str:
    """The DOM after scripts ran, serialised as HTML."""
    return _run(url, ["--dump-dom"], width=width, height=height, budget_ms=budget_ms)


def screenshot(
    url: str, path: Path, *, width: int = 1400, height: int = 1000, budget_ms: int = 15000
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _run(url, [f"--screenshot={path}"], width=width, height=height, budget_ms=budget_ms)
    if not path.exists() or path.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no screenshot for {url}")
    return path
