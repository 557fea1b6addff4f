"""How the drawing page renders a big note, as a user sees it, in headless Chromium.

    python3 bench/page_render.py [--strokes 2000] [--runs 3] [--dpr 1,2] [--smoke]

Fills a note with ``--strokes`` pen strokes of 40-160 points (seeded random squiggles
over a 3,000 x 1,900 world) straight through the store, starts collab on a free port and
opens the note page (Playwright, the system Chromium) at 1440 x 900 CSS pixels, once per
device pixel ratio. The page fits the whole drawing in view when it opens. Then:

- *first paint*: from navigation start (``performance.timeOrigin``) until the board has
  drawn every stroke: the end of the first frame after which the renderer's
  ``stats.painted`` is N (a message posted from ``requestAnimationFrame`` is handled once
  the frame is painted, the canvas's recorded drawing rasterised);
- *pan*: the hand tool (``H``) dragged with Playwright's mouse, back and forth, for
  ``--pan-seconds``; the frames are counted with ``requestAnimationFrame`` timestamps in
  the page: the median fps of the frames in which the board was drawn (1000 / their
  median interval) and the worst frame of all;
- *adding a local stroke*: the pen dragged through 60 points over the drawing, up to its
  ack; *adding a remote stroke*: a second client (python-socketio) sends one, until the
  page draws it; the longest frame interval from the start of each until ~300 ms after it
  is drawn (``long-animation-frame`` entries are counted too).

Prints one table, figures beside the issue's targets: medians of ``--runs`` runs (each
run opens a fresh page per DPR). ``--smoke`` (a 100-stroke note, one short run) checks
that the script works, for CI; its figures mean nothing. The figures swing on a shared
machine: the output says the load average before and after.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.servers import Server  # noqa: E402

VIEWPORT = {"width": 1440, "height": 900}
NOTE = "page-render"
WORLD = (3000, 1900)
COLORS = ("#1e1e1e", "#1971c2", "#e03131", "#2f9e44", "#f08c00")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]

#: Installed before the page's scripts: a frame recorder and a first-paint watcher.
INIT = """
(() => {
  const rec = { on: false, frames: [], loaf: [] };
  window.__bench = rec;
  // First paint: after each frame's rendering (a message posted from rAF is handled after the
  // frame's paint, which rasterises what the canvas recorded), whether every stroke is drawn.
  const after = new MessageChannel();
  after.port1.onmessage = () => {
    if (rec.firstPaint !== undefined) return;
    const r = window.collab && window.collab.app.renderer;
    const n = !r ? 0 : r.stats.painted !== undefined ? r.stats.painted : r.drawn ? r.drawn.sigs.length : 0;
    if (n >= rec.paintN) rec.firstPaint = performance.now();
  };
  const tick = (t) => {
    if (rec.on) rec.frames.push([t, window.collab ? window.collab.app.renderer.stats.frames : 0]);
    if (rec.paintN && rec.firstPaint === undefined) after.port2.postMessage(0);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  try {
    new PerformanceObserver((list) => {
      if (rec.on) for (const e of list.getEntries()) rec.loaf.push(e.duration);
    }).observe({ type: "long-animation-frame" });
  } catch (e) {}
  rec.start = () => { rec.frames = []; rec.loaf = []; rec.on = true; };
  rec.stop = () => {
    rec.on = false;
    return { frames: rec.frames, loaf: rec.loaf };
  };
})();
"""


#: Where first paint goes: milliseconds since navigation start at each step (the page's
#: `collab:*` performance marks, set by the page on its first join and first drawn frame).
MARKS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const at = (n) => { const m = performance.getEntriesByName('collab:' + n)[0]; return m ? m.startTime : NaN; };
  return {
    html: nav.responseEnd, boot: at('boot'), modules: at('modules'), connected: at('connected'),
    join_sent: at('join-sent'),
    ack_bytes: at('ack-bytes'), ack: at('ack'), applied: at('applied'),
    draw_start: at('draw-start'), draw_end: at('draw-end'), painted: window.__bench.firstPaint,
  };
}"""

#: The steps of first paint: (label, mark), each reached at that many ms after navigation.
#: The connection starts with boot.js, while the other modules load: "connected" can come
#: before "modules".
STEPS = [
    ("HTML received", "html"),
    ("boot.js evaluated: connecting", "boot"),
    ("every module evaluated (note.js)", "modules"),
    ("Socket.IO connected, join sent", "join_sent"),
    ("the ack's packet in", "ack_bytes"),
    ("the ack decoded (JSON)", "ack"),
    ("the ack applied (replica, view, camera)", "applied"),
    ("the frame starts drawing", "draw_start"),
    ("board drawn (boxes, Path2D, strokes)", "draw_end"),
    ("frame painted (rasterised): first paint", "painted"),
]


#: The drag: how many strokes are selected, and in how many mouse moves they are dragged.
DRAG_ITEMS = 20
DRAG_STEPS = 40

#: Select ``n`` strokes near the middle that are topmost at their first point (so that pressing
#: there drags the selection); returns their ids and the screen point to press.
PICK = """n => {
  const app = window.collab.app;
  const cam = app.camera;
  const ids = [];
  let at = null;
  const list = [...app.shown.values()].sort((a, b) => {
    const d = (s) => Math.hypot(...cam.toScreen(...s.points[0]).map((v, i) => v - [cam.W / 3, cam.H / 3][i]));
    return d(a) - d(b);
  });
  for (const s of list) {
    const p = cam.toScreen(...s.points[0]);
    if (app.itemAt(s.points[0]) !== s) continue;
    ids.push(s.id);
    at = at || p;
    if (ids.length === n) break;
  }
  app.selection.set(ids);
  return { ids, at };
}"""


def squiggle(rng: random.Random, points: int) -> list[list[float]]:
    """A hand-drawn-looking path of ``points`` points somewhere in the world."""
    x, y = rng.uniform(40, WORLD[0] - 40), rng.uniform(40, WORLD[1] - 40)
    dx, dy = rng.uniform(-3, 3), rng.uniform(-3, 3)
    out = []
    for _ in range(points):
        dx = max(-4.0, min(4.0, dx + rng.uniform(-0.8, 0.8)))
        dy = max(-4.0, min(4.0, dy + rng.uniform(-0.8, 0.8)))
        x, y = x + dx, y + dy
        out.append([round(x, 2), round(y, 2)])
    return out


def fill(db: Path, strokes: int, seed: int) -> None:
    """Create the note with ``strokes`` pen strokes of 40-160 points, through the store (no server yet)."""
    from collab import protocol
    from collab.model import OpRequest
    from collab.store import open_store

    store = open_store(f"sqlite:///{db}")
    try:
        store.create(NOTE, f"{strokes:,} strokes")
        rng = random.Random(seed)
        for start in range(0, strokes, 500):
            batch = []
            for i in range(start, min(strokes, start + 500)):
                item = {"id": f"s{i}", "tool": "pen", "color": rng.choice(COLORS),
                        "width": rng.choice((2, 4, 8)), "points": squiggle(rng, rng.randint(40, 160))}  # fmt: skip
                batch.append(OpRequest(NOTE, "stroke", "bench-fill", body=dict(protocol.stroke(item))))
            store.apply(batch)
            failed = [r.error for r in batch if r.error is not None]
            if failed:
                raise RuntimeError(f"filling {NOTE}: {failed[0]}")
    finally:
        store.close()


def frame_stats(rec: dict[str, Any]) -> dict[str, float]:
    """Frames of a recording: rAF timestamps, each with the renderer's frame count at the time.

    ``fps``: 1000 / the median interval of the frames in which the board was drawn (the
    interval after a frame holds that frame's work); ``worst``: the longest interval of all.
    """
    t = rec["frames"]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(t)]
    busy = [b[0] - a[0] for a, b in itertools.pairwise(t) if b[1] > a[1]]
    if not gaps:
        return {"fps": 0.0, "worst": float("nan"), "frames": 0, "drawn": 0}
    return {"fps": 1000 / statistics.median(busy or gaps), "worst": max(gaps), "frames": len(gaps), "drawn": len(busy)}


def wait_painted(page: Any, n: int) -> None:
    page.wait_for_function(
        "n => { const r = window.collab.app.renderer; return r.stats.painted !== undefined ? r.stats.painted >= n"
        " : r.drawn && r.drawn.sigs.length >= n; }",
        arg=n,
        timeout=60_000,
    )


def one_page(browser: Any, url: str, dpr: int, n: int, args: argparse.Namespace, remote: Any) -> dict[str, Any]:
    """Open the note at ``dpr`` and measure first paint, pan, a local and a remote add."""
    ctx = browser.new_context(viewport=VIEWPORT, device_scale_factor=dpr)
    ctx.add_init_script(INIT + f"\nwindow.__bench.paintN = {n};")
    ctx.add_init_script("localStorage.setItem('collab.name', 'bench')")
    errors: list[str] = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    out: dict[str, Any] = {}
    try:
        page.goto(f"{url}/n/{NOTE}")
        page.wait_for_function("() => window.__bench.firstPaint !== undefined", timeout=60_000)
        out["first_paint_s"] = page.evaluate("window.__bench.firstPaint") / 1000
        out.update({f"t_{k}": v for k, v in page.evaluate(MARKS).items()})
        page.wait_for_selector("#status[data-state=connected]", timeout=30_000)
        page.wait_for_timeout(500)  # let the join's follow-ups settle (a redraw after fitting, presence)
        # A full redraw, timed inside (not a target: for comparing changes).
        out["full_redraw_ms"] = page.evaluate(
            "() => { const r = window.collab.app.renderer; const ts = [];"
            " for (let i = 0; i < 3; i++) { r.drawn = null; const t = performance.now(); r.renderScene();"
            "   r.bctx.getImageData(0, 0, 1, 1); ts.push(performance.now() - t); }"  # the pixels rasterised too
            " ts.sort((a, b) => a - b); return ts[1]; }"
        )
        page.evaluate("() => window.collab.app.sceneChanged()")
        page.wait_for_timeout(200)
        cx, cy = VIEWPORT["width"] / 2, VIEWPORT["height"] / 2

        # -- pan: the hand tool, back and forth
        page.keyboard.press("h")
        page.mouse.move(cx, cy)
        page.mouse.down()
        page.evaluate("window.__bench.start()")
        t_end = time.monotonic() + args.pan_seconds
        moves = 0
        # Segments of 40 moves of 6 px: Playwright sends each segment's moves one after the
        # other (each waits for the page to take it), without a round trip to Python per move.
        x = cx - 120
        page.mouse.move(x, cy)
        while time.monotonic() < t_end:
            x = cx + 120 if x < cx else cx - 120
            page.mouse.move(x, cy + (x - cx) / 4, steps=40)
            moves += 40
        page.mouse.move(cx, cy)
        page.mouse.up()
        rec = page.evaluate("window.__bench.stop()")
        pan = frame_stats(rec)
        out.update(
            pan_fps=pan["fps"],
            pan_worst_ms=pan["worst"],
            pan_frames=pan["frames"],
            pan_drawn=pan["drawn"],
            pan_moves=moves,
        )

        # -- a local stroke: the pen through 60 points over the drawing
        page.keyboard.press("p")
        page.wait_for_timeout(300)
        before = page.evaluate("window.collab.shown().size")
        page.evaluate("window.__bench.start()")
        page.mouse.move(cx - 180, cy)
        page.mouse.down()
        for k in range(1, 61):
            page.mouse.move(cx - 180 + 6 * k, cy + 40 * ((k % 12) / 12 - 0.5))
        page.mouse.up()
        page.wait_for_function(
            "n => window.collab.sync.replica.strokes.size > n && window.collab.sync.outbox.entries.length === 0",
            arg=before,
            timeout=30_000,
        )
        wait_painted(page, before + 1)
        page.wait_for_timeout(300)
        rec = page.evaluate("window.__bench.stop()")
        local = frame_stats(rec)
        out.update(local_worst_ms=local["worst"], local_loaf_ms=max(rec["loaf"], default=0.0))
        local_id = page.evaluate("[...window.collab.shown().keys()].pop()")

        # -- a remote stroke: sent by the second client
        page.wait_for_timeout(300)
        page.evaluate("window.__bench.start()")
        page.wait_for_timeout(200)
        rid = "r-" + uuid.uuid4().hex[:10]
        rng = random.Random(rid)
        ack = remote.call("stroke", {"note": NOTE, "id": rid, "tool": "pen", "color": "#e03131", "width": 4,
                                     "points": squiggle(rng, 100)})  # fmt: skip
        assert ack.get("ok"), ack
        page.wait_for_function("id => window.collab.shown().has(id)", arg=rid, timeout=30_000)
        wait_painted(page, before + 2)
        page.wait_for_timeout(300)
        rec = page.evaluate("window.__bench.stop()")
        rem = frame_stats(rec)
        out.update(remote_worst_ms=rem["worst"], remote_loaf_ms=max(rec["loaf"], default=0.0))
        # -- dragging a selection of ~20 strokes across the board (the select tool)
        page.keyboard.press("v")
        picked = page.evaluate(PICK, DRAG_ITEMS)
        page.wait_for_timeout(300)
        x0, y0 = picked["at"]
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.evaluate("window.__bench.start()")
        for k in range(1, DRAG_STEPS + 1):  # about 400 px right and 150 down, a move per step
            page.mouse.move(x0 + 400 * k / DRAG_STEPS, y0 + 150 * k / DRAG_STEPS)
        page.wait_for_timeout(100)
        held = page.evaluate("window.__bench.stop()")
        page.evaluate("window.__bench.start()")
        page.mouse.up()
        page.wait_for_function("() => window.collab.sync.outbox.entries.length === 0", timeout=30_000)
        page.wait_for_timeout(300)
        released = page.evaluate("window.__bench.stop()")
        out.update(
            drag_items=len(picked["ids"]),
            drag_worst_ms=frame_stats(held)["worst"],
            drag_release_ms=frame_stats(released)["worst"],
        )
        page.keyboard.press("Control+z")  # the note as it was, for the next page
        page.wait_for_function("() => window.collab.sync.outbox.entries.length === 0", timeout=30_000)
        for sid in (local_id, rid):  # the note as it was, for the next page
            remote.call("remove", {"note": NOTE, "id": sid})
        if errors:
            out["errors"] = errors[:5]
    finally:
        ctx.close()
    return out


def fmt(v: float, unit: str) -> str:
    if v != v:  # NaN
        return "-"
    return f"{v:.2f} s" if unit == "s" else f"{v:.0f} {unit}" if unit else f"{v:.0f}"


#: (key, label, unit, target per DPR: (op, value) or None)
ROWS = [
    ("first_paint_s", "strokes painted after navigation", "s", {1: ("<=", 1.0), 2: ("<=", 1.0)}),
    ("pan_fps", "pan, median fps", "", {1: (">=", 50), 2: (">=", 30)}),
    ("pan_worst_ms", "pan, worst frame", "ms", None),
    ("local_worst_ms", "adding a local stroke, longest frame", "ms", {1: ("<=", 50), 2: ("<=", 50)}),
    ("remote_worst_ms", "adding a remote stroke, longest frame", "ms", {1: ("<=", 50), 2: ("<=", 50)}),
    ("drag_worst_ms", "dragging 20 selected strokes, longest frame", "ms", None),
    ("drag_release_ms", "releasing the drag (the move op), longest frame", "ms", None),
    ("full_redraw_ms", "a full redraw, renderScene() (no target)", "ms", None),
]


def met(v: float, target: tuple[str, float]) -> bool:
    op, bound = target
    return v >= bound if op == ">=" else v <= bound


def table(results: dict[int, list[dict[str, Any]]], dprs: list[int]) -> tuple[str, bool]:
    head = "| figure | " + " | ".join(f"DPR {d}" for d in dprs) + " | target | |"
    lines = [head, "| --- | " + " | ".join("---:" for _ in dprs) + " | --- | --- |"]
    all_met = True
    for key, label, unit, targets in ROWS:
        meds = {d: statistics.median(r[key] for r in results[d]) for d in dprs}
        cells = [fmt(meds[d], unit) for d in dprs]
        if targets:
            tgt = " / ".join(f"{targets[d][0].replace('>=', '≥').replace('<=', '≤')} {targets[d][1]:g}" for d in dprs)
            ok = [met(meds[d], targets[d]) for d in dprs]
            verdict = (
                "met"
                if all(ok)
                else "not met"
                if not any(ok)
                else "not met at " + ", ".join(f"DPR {d}" for d, o in zip(dprs, ok, strict=True) if not o)
            )
            all_met = all_met and all(ok)
        else:
            tgt, verdict = "", ""
        unit_cell = f" {unit}" if tgt and unit else ""
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {tgt}{unit_cell} | {verdict} |")
    return "\n".join(lines), all_met


def breakdown(results: dict[int, list[dict[str, Any]]], dprs: list[int]) -> str:
    """Where first paint goes: when each step is reached (median ms after navigation), per DPR."""
    head = "| first paint: step reached, ms after navigation | " + " | ".join(f"DPR {d}" for d in dprs) + " |"
    lines = [head, "| --- |" + " ---: |" * len(dprs)]
    for label, key in STEPS:
        cells = []
        for d in dprs:
            at = [r[f"t_{key}"] for r in results[d] if r.get(f"t_{key}", float("nan")) == r.get(f"t_{key}")]
            cells.append(f"{statistics.median(at):.0f}" if at else "-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores"


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="See docs/page.md, Rendering benchmark.")
    ap.add_argument("--strokes", type=int, default=2000, help="pen strokes in the note (default 2000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per DPR; the table shows medians (default 3)")
    ap.add_argument("--dpr", default="1,2", help="device pixel ratios, comma-separated (default 1,2)")
    ap.add_argument("--pan-seconds", type=float, default=2.0, help="how long each pan drag lasts (default 2)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--smoke", action="store_true", help="a 100-stroke note, one short run: checks the script works")
    ap.add_argument("--json", type=Path, help="also write every run's figures here")
    ap.add_argument(
        "--chromium", default=os.environ.get("COLLAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    )
    args = ap.parse_args()
    if args.smoke:
        args.strokes, args.runs, args.pan_seconds = min(args.strokes, 100), 1, 0.5
    dprs = [int(x) for x in args.dpr.split(",") if x.strip()]
    import socketio  # python-socketio, a dev dependency
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="page-render-"))
    db = work / "bench.db"
    fill(db, args.strokes, args.seed)
    server = Server("collab", work, database=db, collab_env={"COLLAB_RATE_OPS": "100000"}).start()
    load_before = load()
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        print(f"# page rendering, {args.strokes:,} strokes of 40-160 points, whole drawing in view, 1440x900")
        print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, collab {commit.stdout.strip() or '?'}, "
              f"{machine()}, load average {load_before}")  # fmt: skip
        remote = socketio.SimpleClient()
        remote.connect(server.url, namespace="/notes", transports=["websocket"])
        ack = remote.call("join", {"note": NOTE})
        assert ack.get("ok"), ack
        results: dict[int, list[dict[str, Any]]] = {d: [] for d in dprs}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS, headless=True)
            print(f"# {browser.version and 'Chromium ' + browser.version}, headless, medians of {args.runs} run(s)")
            for run in range(args.runs):
                for d in dprs:
                    r = one_page(browser, server.url, d, args.strokes, args, remote)
                    results[d].append(r)
                    print(f"run {run + 1} DPR {d}: " + ", ".join(
                        f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()
                    ), file=sys.stderr, flush=True)  # fmt: skip
            browser.close()
        remote.disconnect()
        text, all_met = table(results, dprs)
        print()
        print(text)
        print()
        print(breakdown(results, dprs))
        print()
        print("every target met" if all_met else "some targets not met")
        print(f"load average before / after: {load_before} / {load()} (on a shared machine the figures swing;"
              " compare runs taken together)")  # fmt: skip
        errors = [e for d in dprs for r in results[d] for e in r.get("errors", [])]
        if errors:
            print("page errors: " + "; ".join(errors[:5]), file=sys.stderr)
        if args.json:
            args.json.write_text(json.dumps({"dprs": dprs, "strokes": args.strokes, "results": results}, indent=1))
        if args.smoke:
            print("smoke passed" if not errors else "smoke FAILED: page errors", file=sys.stderr)
            return 1 if errors else 0
        return 0
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
