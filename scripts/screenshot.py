"""Make docs/screenshot.png: three people on one note, seen from one of them.

    python scripts/screenshot.py [--out docs/screenshot.png] [--chromium /usr/bin/chromium]

Starts a real server on a free port (a temporary SQLite file), opens two headless
Chromium pages (Playwright for Python, system Chromium), draws shapes, text and a
sticky note with the mouse and keyboard, and captures Ada's page while Bob is mid-line
(his live draft and cursor show) and Cara's cursor points at the ellipse.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

import requests
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from serverproc import ServerProcess  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
Pts = list[tuple[float, float]]


def drag(page: object, a: tuple[float, float], b: tuple[float, float], release: bool = True, steps: int = 8) -> None:
    m = page.mouse  # type: ignore[attr-defined]
    m.move(*a)
    m.down()
    m.move(*b, steps=steps)
    if release:
        m.up()


def path(page: object, pts: Pts) -> None:
    m = page.mouse  # type: ignore[attr-defined]
    m.move(*pts[0])
    m.down()
    for p in pts[1:]:
        m.move(*p, steps=2)
    m.up()


def key(page: object, *keys: str) -> None:
    for k in keys:
        page.keyboard.press(k)  # type: ignore[attr-defined]


def write(page: object, tool: str, at: tuple[float, float], text: str) -> None:
    """Place a text (tool "t") or sticky note ("n") and type it; Escape commits."""
    key(page, tool)
    page.mouse.click(*at)  # type: ignore[attr-defined]
    page.wait_for_selector("textarea.text-editor")  # type: ignore[attr-defined]
    lines = text.split("\n")
    for i, line in enumerate(lines):
        page.keyboard.type(line)  # type: ignore[attr-defined]
        if i < len(lines) - 1:
            key(page, "Enter")
    key(page, "Escape")


def fill(page: object, color: str | None) -> None:
    """The fill of the next shapes (Escape first: with a selection the panel would restyle it)."""
    key(page, "Escape")
    page.click(f"#fills button[data-fill='{color or ''}']")  # type: ignore[attr-defined]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=760)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, ServerProcess(Path(tmp)) as srv, sync_playwright() as pw:
        note = requests.post(srv.url + "/api/notes", json={"title": "Onboarding flow"}, timeout=10).json()["id"]
        browser = pw.chromium.launch(executable_path=args.chromium, args=ARGS, headless=True)
        pages = {}
        for name, color in (("Ada", "#9c36b5"), ("Bob", "#1971c2"), ("Cara", "#e8590c")):
            ctx = browser.new_context(viewport={"width": args.width, "height": args.height}, device_scale_factor=2)
            ctx.add_init_script(f"localStorage.setItem('collab.name', {name!r})")
            ctx.add_init_script(f"localStorage.setItem('collab.color', {color!r})")
            page = ctx.new_page()
            page.goto(f"{srv.url}/n/{note}")
            page.wait_for_selector("#status[data-state=connected]")
            pages[name] = page
        ada, bob, cara = pages["Ada"], pages["Bob"], pages["Cara"]

        # Ada: a title, a filled rectangle and a filled ellipse with labels, an arrow.
        key(ada, "1", "]", "]")
        write(ada, "t", (150, 110), "Onboarding flow")
        key(ada, "[", "[")
        fill(ada, "#a5d8ff")
        key(ada, "r")
        drag(ada, (150, 250), (390, 380))
        fill(ada, "#b2f2bb")
        key(ada, "o")
        drag(ada, (520, 245), (760, 385))
        fill(ada, None)
        write(ada, "t", (212, 300), "Sign up")
        write(ada, "t", (585, 300), "Verify email")
        key(ada, "a")
        drag(ada, (395, 315), (512, 315))
        key(ada, "Escape")

        # Bob: a blue box with an arrow to it, and a sticky note.
        key(bob, "4")
        fill(bob, None)
        key(bob, "r")
        drag(bob, (890, 250), (1130, 380))
        key(bob, "a")
        drag(bob, (768, 315), (885, 315))
        write(bob, "t", (935, 300), "First note")
        write(bob, "n", (905, 470), "Ask Cara about\nthe welcome tour")
        key(bob, "Escape")

        # Cara: the highlighter under the title, a pen tick.
        key(cara, "m", "7")
        drag(cara, (150, 152), (470, 152))
        key(cara, "p", "3", "]")
        path(cara, [(1080, 300), (1095, 318), (1120, 285)])
        key(cara, "[")

        # Bob is drawing a line (his draft shows); Cara points at the ellipse.
        key(bob, "l")
        drag(bob, (905, 600), (1100, 640), release=False, steps=10)
        cara.mouse.move(640, 430, steps=4)
        ada.mouse.move(330, 560)
        ada.wait_for_function("() => document.querySelectorAll('.cursor').length >= 2")
        ada.wait_for_function("() => window.collab.app.drafts.size > 0")
        time.sleep(0.6)
        png = ada.screenshot()
        bob.mouse.up()
        browser.close()

    img = Image.open(io.BytesIO(png))
    img = img.resize((img.width * 3 // 4, img.height * 3 // 4), Image.Resampling.LANCZOS)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out, optimize=True)
    print(f"wrote {out} ({img.width}x{img.height})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
