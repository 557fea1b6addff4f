"""How long the drawing page takes to draw a note, in headless Chromium.

    python3 bench/page_render.py [--items 200,1000,4000] [--runs 20] [--url http://host:port]

Starts collab on a free port (or uses ``--url``), fills a note per size with pen strokes
of 40 points, opens the note page (Playwright, the system Chromium) and times, inside the
page, ``Renderer.renderScene()``:

- *full*: the whole board redrawn (grid and every item in view), as after a pan or zoom;
- *append*: one new item on top, the case the render cache serves (someone drawing):
  only the new item is drawn onto the board;
- *camera*: a pan by one pixel: the board's pixels are moved and only the uncovered
  strip is drawn (the items crossing it).

Medians of ``--runs`` runs, milliseconds. Nothing here is a pass/fail threshold: the
numbers depend on the machine (and its load) and are for comparing changes.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.servers import Server  # noqa: E402

MEASURE = """
async ([runs]) => {
  const app = window.collab.app;
  const r = app.renderer;
  const time = (fn) => { const t = performance.now(); fn(); return performance.now() - t; };
  const full = [], append = [], camera = [];
  for (let i = 0; i < runs; i++) {
    r.drawn = null;
    full.push(time(() => r.renderScene()));
  }
  for (let i = 0; i < runs; i++) {
    const id = 'bench-' + i + '-' + Math.random().toString(36).slice(2);
    const pts = [];
    for (let k = 0; k < 40; k++) pts.push([300 + k * 3, 300 + 20 * Math.sin(k / 4)]);
    const stroke = { id, tool: 'pen', color: '#1971c2', width: 4, points: pts };
    app.sync.outbox.entries.push({ kind: 'stroke', stroke, sent: true, state: 'inflight', sentAs: [] });
    app.shown = app.sync.view();
    const before = r.stats.incremental;
    append.push(time(() => r.renderScene()));
    if (r.stats.incremental !== before + 1) throw new Error('the append was not incremental');
  }
  app.sync.outbox.entries = [];
  app.shown = app.sync.view();
  r.drawn = null;
  r.renderScene();
  for (let i = 0; i < runs; i++) {
    app.camera.tx += 1;
    camera.push(time(() => r.renderScene()));
  }
  return { full, append, camera, shown: app.shown.size };
}
"""


def fill(url: str, note: str, n: int) -> None:
    import socketio  # python-socketio, a test dependency

    sio = socketio.SimpleClient()
    sio.connect(url, namespace="/notes", transports=["websocket"])
    sio.call("join", {"note": note})
    cols = max(1, int(math.sqrt(n)))
    for i in range(n):
        x0, y0 = 40 + (i % cols) * 24, 40 + (i // cols) * 24
        pts = [[x0 + k * 0.5, y0 + 8 * math.sin(k / 5)] for k in range(40)]
        ack = sio.call(
            "stroke", {"note": note, "id": f"s{i}", "tool": "pen", "color": "#1e1e1e", "width": 3, "points": pts}
        )
        assert ack.get("ok"), ack
    sio.disconnect()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", default="200,1000,4000", help="comma-separated note sizes")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--url", help="a running collab server (default: start one)")
    ap.add_argument(
        "--chromium", default=os.environ.get("COLLAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    )
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    sizes = [int(x) for x in args.items.split(",") if x.strip()]
    work = Path(tempfile.mkdtemp(prefix="page-render-"))
    server = None
    url = args.url
    if not url:
        # Filling the notes is a burst of ops from one connection: lift the op rate limit.
        server = Server(
            "collab", work, collab_env={"COLLAB_RATE_OPS": "100000", "COLLAB_RATE_OPS_BURST": "100000"}
        ).start()
        url = server.url
    try:
        print(f"{'items':>6} {'full ms':>9} {'append ms':>10} {'camera ms':>10}")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"], headless=True
            )
            for n in sizes:
                note = f"bench-render-{n}-{uuid.uuid4().hex[:6]}"
                fill(url, note, n)
                page = browser.new_page(viewport={"width": 1200, "height": 800})
                page.goto(f"{url}/n/{note}")
                page.wait_for_selector("#status[data-state=connected]", timeout=60_000)
                page.wait_for_function("n => window.collab.shown().size === n", arg=n, timeout=60_000)
                # Every item in view (the worst case for a full redraw).
                page.evaluate(
                    "n => { const c = window.collab.view; c.tx = 0; c.ty = 0; c.z = Math.min(c.W, c.H) / (80 + Math.sqrt(n) * 24); c.changed(); }",  # noqa: E501 - a JS expression
                    n,
                )
                res = page.evaluate(MEASURE, [args.runs])
                med = {k: statistics.median(res[k]) for k in ("full", "append", "camera")}
                print(f"{n:>6} {med['full']:>9.2f} {med['append']:>10.3f} {med['camera']:>10.2f}")
                page.close()
            browser.close()
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
