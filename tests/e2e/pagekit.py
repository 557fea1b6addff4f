"""Helpers for the browser tests: console watching, opening pages, drawing, reading the canvas."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WAIT_MS = 15_000


# Chromium's own lines while the server is down on purpose (reconnect attempts).
NETWORK_DOWN = re.compile(
    r"net::ERR_CONNECTION_(REFUSED|RESET|CLOSED)|net::ERR_EMPTY_RESPONSE|"
    r"WebSocket connection to '[^']*/socket\.io/[^']*' failed"
)


@dataclass
class Console:
    """Console errors and uncaught exceptions of the pages it watches."""

    errors: list[str] = field(default_factory=list)
    #: while True, errors matching NETWORK_DOWN are expected (the server is stopped)
    server_down: bool = False

    def watch(self, page: Any, label: str) -> None:
        def on_console(msg: Any) -> None:
            if msg.type == "error":
                self.record(f"{label} console: {msg.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"{label} pageerror: {exc.stack or exc}"))

    def record(self, text: str) -> None:
        if self.server_down and NETWORK_DOWN.search(text):
            return
        self.errors.append(text)

    def assert_clean(self) -> None:
        assert self.errors == [], "console errors:\n" + "\n".join(self.errors)


@dataclass
class Opener:
    """Open note pages as distinct users (one browser context each)."""

    browser: Any
    console: Console
    contexts: list[Any] = field(default_factory=list)

    def new_context(self, name: str | None, dpr: float = 1, viewport: tuple[int, int] = (1000, 700)) -> Any:
        ctx = self.browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, device_scale_factor=dpr, accept_downloads=True
        )
        if name:
            ctx.add_init_script(f"localStorage.getItem('collab.name') || localStorage.setItem('collab.name', {name!r})")
        self.contexts.append(ctx)
        return ctx

    def page(self, url: str, name: str | None = None, dpr: float = 1, ctx: Any = None, wait: bool = True) -> Any:
        ctx = ctx or self.new_context(name, dpr)
        page = ctx.new_page()
        self.console.watch(page, name or "page")
        page.goto(url)
        if wait:
            wait_connected(page)
        return page

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()


# -- page helpers --------------------------------------------------------------------------------
def wait_connected(page: Any, waiting: int | None = 0) -> None:
    """Until the page says connected (and, by default, has nothing waiting)."""
    sel = "#status[data-state=connected]" + (f"[data-waiting='{waiting}']" if waiting is not None else "")
    page.wait_for_selector(sel, timeout=WAIT_MS)


def draw(page: Any, points: list[tuple[float, float]]) -> str:
    """Drag the mouse through ``points`` (CSS pixels); returns the new stroke's id."""
    before = set(stroke_ids(page, pending=True))
    page.mouse.move(*points[0])
    page.mouse.down()
    for a, b in itertools.pairwise(points):
        page.mouse.move(*b, steps=max(1, int(max(abs(b[0] - a[0]), abs(b[1] - a[1])) // 12)))
    page.mouse.up()
    new = [i for i in stroke_ids(page, pending=True) if i not in before]
    assert len(new) == 1, f"expected one new stroke, got {new}"
    return new[0]


def stroke_ids(page: Any, pending: bool = False) -> list[str]:
    """Ids the page shows (pending=True) or has applied from the server (pending=False)."""
    expr = "[...window.collab.shown().keys()]" if pending else "[...window.collab.sync.replica.strokes.keys()]"
    return list(page.evaluate(expr))


def wait_for(page: Any, js: str, arg: Any = None) -> None:
    page.wait_for_function(js, arg=arg, timeout=WAIT_MS)


def wait_ids(page: Any, ids: list[str]) -> None:
    """Until the page has applied exactly ``ids`` (in this order) from the server."""
    wait_for(
        page,
        "ids => JSON.stringify([...window.collab.sync.replica.strokes.keys()]) === JSON.stringify(ids)"
        " && window.collab.shown().size === ids.length",
        ids,
    )


def ink(page: Any, x: float, y: float) -> tuple[int, int, int]:
    """RGB of the drawing canvas at CSS pixel (x, y) (device pixels taken into account)."""
    rgb = page.evaluate(
        """([x, y]) => {
            const c = document.getElementById('board');
            const r = window.devicePixelRatio || 1;
            const d = c.getContext('2d').getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data;
            return [d[0], d[1], d[2]];
        }""",
        [x, y],
    )
    return rgb[0], rgb[1], rgb[2]


def wait_ink(page: Any, x: float, y: float, present: bool, canvas: str = "board") -> None:
    """Until the canvas (``board``: strokes, ``live``: drafts) has (or no longer has) dark ink at (x, y)."""
    wait_for(
        page,
        """([x, y, present, canvas]) => {
            const c = document.getElementById(canvas);
            const r = window.devicePixelRatio || 1;
            const d = c.getContext('2d').getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data;
            const dark = d[3] > 128 && d[0] + d[1] + d[2] < 3 * 160;
            return dark === present;
        }""",
        [x, y, present, canvas],
    )


def shot(page: Any, artifacts: Path, name: str) -> Path:
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path))
    return path
