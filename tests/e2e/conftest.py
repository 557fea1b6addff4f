"""Browser fixtures: headless Debian Chromium driven by Playwright for Python.

No browser is downloaded: Playwright launches the system ``chromium``
(``COLLAB_CHROMIUM`` overrides the path). Without it the tests skip, or fail
under ``COLLAB_REQUIRE_ALL=1``. Screenshots go to ``$COLLAB_ARTIFACTS`` (default
``<repo>/test-artifacts``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pagekit import Console, Opener

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """The system Chromium, or None."""
    explicit = os.environ.get("COLLAB_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable(reason: str) -> None:
    if os.environ.get("COLLAB_REQUIRE_ALL") == "1":
        pytest.fail(f"{reason} and COLLAB_REQUIRE_ALL=1 (install: apt-get install chromium; pip install playwright)")
    pytest.skip(f"{reason} (apt-get install chromium; pip install playwright)")  # COLLAB_REQUIRE_ALL fails instead


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed")
    path = chromium_path()
    if path is None:
        _unavailable("no chromium binary found")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots are kept."""
    out = Path(os.environ.get("COLLAB_ARTIFACTS") or ROOT / "test-artifacts")
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def opener(browser: Any, console: Console) -> Iterator[Opener]:
    o = Opener(browser, console)
    yield o
    o.close()
