"""Make docs/screenshot.png: two people drawing on one note, seen from one of them.

    python scripts/screenshot.py [--out docs/screenshot.png] [--chromium /usr/bin/chromium]

Starts a real server on a free port (a temporary SQLite file), opens two headless
Chromium pages (Playwright for Python, system Chromium), draws with the mouse in
both, and captures Ada's page while Bob is mid-stroke (his live draft and cursor show).
"""

from __future__ import annotations

import argparse
import io
import math
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


def box(x0: float, y0: float, x1: float, y1: float, r: float = 18) -> Pts:
    """A rounded rectangle, drawn as one stroke."""
    pts: Pts = []
    corners = [(x1 - r, y0 + r, -90), (x1 - r, y1 - r, 0), (x0 + r, y1 - r, 90), (x0 + r, y0 + r, 180)]
    for cx, cy, a0 in corners:
        for k in range(7):
            a = math.radians(a0 + k * 15)
            pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    pts.append(pts[0])
    return pts


def wave(x0: float, y: float, length: float, amp: float = 6, period: float = 26) -> Pts:
    return [(x0 + t, y + amp * math.sin(t / period * 2 * math.pi)) for t in range(0, int(length), 6)]


def circle(cx: float, cy: float, r: float, turn: float = 1.0) -> Pts:
    n = int(48 * turn)
    angles = [-math.pi / 2 + 2 * math.pi * i / 48 for i in range(n + 1)]
    return [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in angles]


def arrow(x0: float, y0: float, x1: float, y1: float) -> list[Pts]:
    a = math.atan2(y1 - y0, x1 - x0)
    head = [(x1 - 16 * math.cos(a - d), y1 - 16 * math.sin(a - d)) for d in (0.5, 0.0, -0.5)]
    head[1] = (x1, y1)
    return [[(x0, y0), ((x0 + x1) / 2, (y0 + y1) / 2 - 6), (x1, y1)], head]


def drag(page: object, pts: Pts, release: bool = True) -> None:
    m = page.mouse  # type: ignore[attr-defined]
    m.move(*pts[0])
    m.down()
    for p in pts[1:]:
        m.move(*p, steps=2)
    if release:
        m.up()


def key(page: object, k: str) -> None:
    page.keyboard.press(k)  # type: ignore[attr-defined]


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
        for name, color in (("Ada", "#9c36b5"), ("Bob", "#1971c2")):
            ctx = browser.new_context(viewport={"width": args.width, "height": args.height}, device_scale_factor=2)
            ctx.add_init_script(f"localStorage.setItem('collab.name', {name!r})")
            ctx.add_init_script(f"localStorage.setItem('collab.color', {color!r})")
            page = ctx.new_page()
            page.goto(f"{srv.url}/n/{note}")
            page.wait_for_selector("#status[data-state=connected]")
            pages[name] = page
        ada, bob = pages["Ada"], pages["Bob"]

        # Ada: three boxes, arrows between them, a highlighter under the title line.
        key(ada, "1")
        for b in (box(150, 250, 390, 380), box(520, 250, 760, 380)):
            drag(ada, b)
        for part in arrow(400, 315, 505, 315):
            drag(ada, part)
        key(ada, "2")
        drag(ada, wave(170, 300, 190, amp=5))
        drag(ada, wave(170, 335, 120, amp=4))
        key(ada, "m")
        key(ada, "7")
        drag(ada, [(540, 305), (740, 305)])
        key(ada, "p")
        key(ada, "1")

        # Bob: a third box in blue, an arrow, a tick, and a circle he is still drawing.
        key(bob, "4")
        drag(bob, box(890, 250, 1130, 380))
        for part in arrow(770, 315, 875, 315):
            drag(bob, part)
        key(bob, "3")
        key(bob, "]")
        drag(bob, [(940, 315), (990, 350), (1080, 280)])
        key(bob, "4")
        key(bob, "[")
        drag(bob, wave(560, 345, 150, amp=4))
        drag(bob, circle(640, 540, 80, turn=0.78), release=False)
        ada.mouse.move(395, 470)
        ada.wait_for_function("() => document.querySelectorAll('.cursor').length > 0")
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
