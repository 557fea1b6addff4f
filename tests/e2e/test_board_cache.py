"""The board is a cache (static/js/render.js): it is brought up to date by moving its pixels
and drawing only what changed. Whatever happens, its pixels must be those of a fresh full
redraw, and #live must be blank once nothing is to be shown on it. Real server, real
Chromium; no timing thresholds."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pagekit import Console, Opener, draw, wait_connected, wait_for, wait_ids

from serverproc import ServerProcess
from sioclient import Peer

pytestmark = pytest.mark.browser

TRANSPORTS = [pytest.param("", id="default"), pytest.param("polling", id="polling")]
COLORS = ("#1e1e1e", "#1971c2", "#e03131", "#2f9e44")

#: The board's pixels as they are, then after a forced full redraw. Moved pixels and
#: pixels drawn afresh at the moved camera can differ by antialiasing rounding (the
#: transform is float32: a point's sub-pixel position rounds differently at another
#: offset): a few edge pixels, by up to ~50 levels. A stale or missing stroke or grid dot
#: (the grid is made black for these tests) differs by far more, over many pixels.
#: `wrong`: pixels off by more than 160 levels in a channel; `far`: by more than 48;
#: `off`: at all.
COMPARE = """() => {
    const r = window.collab.app.renderer;
    const c = r.board;
    const cached = r.bctx.getImageData(0, 0, c.width, c.height).data;
    r.drawn = null;
    r.renderScene();
    const fresh = r.bctx.getImageData(0, 0, c.width, c.height).data;
    let wrong = 0, far = 0, off = 0, worst = 0;
    const at = [];
    for (let i = 0; i < fresh.length; i += 4) {
        const d = Math.max(Math.abs(cached[i] - fresh[i]), Math.abs(cached[i + 1] - fresh[i + 1]),
                           Math.abs(cached[i + 2] - fresh[i + 2]));
        if (!d) continue;
        off++;
        worst = Math.max(worst, d);
        if (d > 48) far++;
        if (d > 160) {
            wrong++;
            if (at.length < 8) at.push([(i / 4) % c.width, Math.floor(i / 4 / c.width), cached[i], fresh[i]]);
        }
    }
    return { wrong, far, off, worst, at, pixels: fresh.length / 4 };
}"""
DARK_GRID = "() => { document.body.style.setProperty('--grid', '#000000'); window.collab.app.renderer.invalidate(); }"

#: Nothing is being drawn, moved or waited for: the board is up to date.
SETTLED = "() => { const r = window.collab.app.renderer; return !r.queued && !r.sceneDirty && !r.liveDirty; }"


def fresh_note() -> str:
    return "render-" + uuid.uuid4().hex[:12]


def url_of(srv: ServerProcess, note: str, transport: str = "") -> str:
    return f"{srv.url}/n/{note}" + (f"?transport={transport}" if transport else "")


def squiggle(rng: random.Random, x: float, y: float, n: int) -> list[list[float]]:
    dx, dy = rng.uniform(-4, 4), rng.uniform(-4, 4)
    out = []
    for _ in range(n):
        dx, dy = max(-5, min(5, dx + rng.uniform(-1, 1))), max(-5, min(5, dy + rng.uniform(-1, 1)))
        x, y = x + dx, y + dy
        out.append([round(x, 2), round(y, 2)])
    return out


@pytest.fixture
def peer(server: ServerProcess) -> Iterator[Peer]:
    p = Peer(server.url)
    yield p
    p.close()


def fill(peer: Peer, note: str, n: int, seed: int = 7) -> list[str]:
    """``n`` pen strokes (some highlighter) crossing the first 1000 x 700 pixels; their ids."""
    assert peer.call("join", {"note": note})["ok"]
    rng = random.Random(seed)
    ids = []
    for i in range(n):
        sid = f"f{i}"
        points = squiggle(rng, rng.uniform(60, 940), rng.uniform(60, 640), 40)
        tool = "highlighter" if i % 7 == 3 else "pen"
        item = {"note": note, "id": sid, "tool": tool, "color": rng.choice(COLORS), "width": rng.choice((2, 4, 8, 16))}
        assert peer.call("stroke", {**item, "points": points})["ok"]
        ids.append(sid)
    return ids


def same_as_full_redraw(page: Any, what: str) -> None:
    wait_for(page, SETTLED)
    res = page.evaluate(COMPARE)
    assert res["pixels"] > 0
    assert res["wrong"] == 0, f"after {what}: {res['wrong']} pixels differ from a full redraw, e.g. {res['at']}"
    assert res["far"] <= 10, f"after {what}: {res['far']} pixels differ by more than rounding"
    assert res["off"] <= res["pixels"] // 500, f"after {what}: {res['off']} pixels differ (at most {res['worst']})"


def stats(page: Any) -> dict[str, int]:
    return dict(page.evaluate("({...window.collab.app.renderer.stats})"))


def live_is_blank(page: Any) -> bool:
    return bool(
        page.evaluate(
            """() => {
                const c = document.getElementById('live');
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                for (let i = 3; i < d.length; i += 4) if (d[i]) return false;
                return true;
            }"""
        )
    )


def pan(page: Any, dx: float, dy: float, steps: int) -> None:
    """A drag with the hand tool, through fractional pointer positions (Playwright's steps)."""
    page.keyboard.press("h")
    page.mouse.move(500, 350)
    page.mouse.down()
    page.mouse.move(500 + dx, 350 + dy, steps=steps)
    page.mouse.up()


@pytest.mark.parametrize("dpr", [1, 2])
def test_after_pans_and_zooms_the_board_shows_what_a_full_redraw_shows(
    server: ServerProcess, opener: Opener, console: Console, peer: Peer, dpr: int
) -> None:
    note = fresh_note()
    ids = fill(peer, note, 60)
    page = opener.page(url_of(server, note), "Ada", dpr=dpr)
    wait_ids(page, ids)
    page.evaluate(DARK_GRID)
    same_as_full_redraw(page, "opening")
    before = stats(page)
    pan(page, 137, -61, steps=9)
    wait_for(page, "() => window.collab.view.tx !== 0")
    same_as_full_redraw(page, "a pan")
    after = stats(page)
    assert after["shifted"] > before["shifted"], "a pan by whole pixels moves the board's pixels"
    assert after["full"] == before["full"] + 1, "only the comparison redrew everything"
    # Zoomed in (a fractional camera), then panned both ways, then out again with the wheel.
    page.keyboard.press("=")
    same_as_full_redraw(page, "a zoom")
    pan(page, -211, 95, steps=13)
    same_as_full_redraw(page, "a pan after a zoom")
    pan(page, 40.5, 17.25, steps=3)
    same_as_full_redraw(page, "a pan by fractions of a pixel")
    page.mouse.move(420, 300)
    page.keyboard.down("Control")
    page.mouse.wheel(0, 100)
    page.keyboard.up("Control")
    page.mouse.wheel(35, -48)  # a wheel pan
    wait_for(page, "() => Math.abs(window.collab.view.z - 1.25) > 1e-6")
    same_as_full_redraw(page, "a wheel zoom and pan")
    console.assert_clean()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_adding_items_draws_them_on_top_and_never_redraws_the_whole_board(
    server: ServerProcess, opener: Opener, console: Console, peer: Peer, transport: str
) -> None:
    note = fresh_note()
    ids = fill(peer, note, 40)
    page = opener.page(url_of(server, note, transport), "Ada")
    wait_ids(page, ids)
    page.evaluate(DARK_GRID)
    wait_for(page, SETTLED)
    before = stats(page)
    # A remote stroke, then my own (pending, then acknowledged: a new object for the same item).
    rng = random.Random(3)
    extra = {"note": note, "id": "remote1", "color": "#f08c00", "width": 6, "points": squiggle(rng, 300, 300, 50)}
    assert peer.call("stroke", extra)["ok"]
    wait_for(page, "() => window.collab.shown().has('remote1')")
    mine = draw(page, [(200, 500), (320, 430), (450, 520), (600, 450)])
    wait_connected(page)
    wait_ids(page, [*ids, "remote1", mine])
    wait_for(page, SETTLED)
    after = stats(page)
    assert after["full"] == before["full"], "an add redraws nothing but the new item"
    assert after["incremental"] >= before["incremental"] + 2
    same_as_full_redraw(page, "a remote and a local add")
    console.assert_clean()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_remove_an_undo_a_redo_and_an_erase_redraw_only_their_boxes_and_leave_no_stale_pixels(
    server: ServerProcess, opener: Opener, console: Console, peer: Peer, transport: str
) -> None:
    note = fresh_note()
    ids = fill(peer, note, 120)  # a big board (render.js redraws a small one whole)
    page = opener.page(url_of(server, note, transport), "Ada")
    wait_ids(page, ids)
    page.evaluate(DARK_GRID)
    wait_for(page, SETTLED)
    before = stats(page)
    # Someone removes an item from the middle of the layers: its box is redrawn, not the board.
    assert peer.call("remove", {"note": note, "id": ids[10]})["ok"]
    left = ids[:10] + ids[11:]
    wait_ids(page, left)
    wait_for(page, SETTLED)
    after = stats(page)
    assert after["partial"] > before["partial"] and after["full"] == before["full"]
    same_as_full_redraw(page, "a remote remove")
    # Someone changes an item's colour (a new object, the same points) under others.
    assert peer.call("update", {"note": note, "id": ids[20], "set": {"color": "#ae3ec9", "width": 12}})["ok"]
    wait_for(page, "id => window.collab.shown().get(id).color === '#ae3ec9'", ids[20])
    same_as_full_redraw(page, "a remote update")
    # My stroke, undone and redone (a restore puts it back at its layer).
    mine = draw(page, [(150, 200), (400, 260), (700, 180)])
    wait_connected(page)
    same_as_full_redraw(page, "my stroke")
    page.keyboard.press("Control+z")
    wait_for(page, "id => !window.collab.shown().has(id)", mine)
    wait_connected(page)
    same_as_full_redraw(page, "an undo")
    page.keyboard.press("Control+y")
    wait_for(page, "id => window.collab.shown().has(id)", mine)
    wait_connected(page)
    same_as_full_redraw(page, "a redo")
    # The eraser across the middle of the board.
    page.keyboard.press("e")
    page.mouse.move(100, 350)
    page.mouse.down()
    page.mouse.move(900, 360, steps=20)
    page.mouse.up()
    wait_connected(page)
    assert len(page.evaluate("[...window.collab.shown().keys()]")) < len(left) + 1
    same_as_full_redraw(page, "an erase")
    page.keyboard.press("Control+z")
    wait_connected(page)
    same_as_full_redraw(page, "undoing the erase")
    console.assert_clean()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_moving_a_selection_leaves_no_stale_pixels_and_deselecting_leaves_no_handles(
    server: ServerProcess, opener: Opener, console: Console, peer: Peer, transport: str
) -> None:
    note = fresh_note()
    ids = fill(peer, note, 30)
    page = opener.page(url_of(server, note, transport), "Ada")
    wait_ids(page, ids)
    page.evaluate(DARK_GRID)
    # A rectangle (corner handles of its own), selected and dragged.
    page.keyboard.press("r")
    page.mouse.move(300, 250)
    page.mouse.down()
    page.mouse.move(480, 380, steps=6)
    page.mouse.up()
    wait_connected(page)
    rect = page.evaluate("[...window.collab.shown().keys()].pop()")
    page.keyboard.press("v")
    page.mouse.click(300, 300)  # on its left edge
    wait_for(page, "id => window.collab.app.selection.has(id)", rect)
    wait_for(page, SETTLED)
    assert not live_is_blank(page), "a selection shows its box and handles"
    page.mouse.move(300, 300)
    page.mouse.down()
    page.mouse.move(420, 200, steps=8)
    page.mouse.up()
    wait_connected(page)
    wait_for(page, "id => window.collab.shown().get(id).points[0][0] > 350", rect)
    same_as_full_redraw(page, "a move of the selection")
    page.keyboard.press("ArrowRight")  # a nudge
    wait_connected(page)
    same_as_full_redraw(page, "a nudge")
    page.keyboard.press("Escape")
    wait_for(page, "() => window.collab.app.selection.ids.size === 0")
    wait_for(page, SETTLED)
    assert live_is_blank(page), "no handles remain after deselecting"
    # Several items (the selection's own box and corner handles), then undo while selected.
    page.keyboard.press("Control+a")
    wait_for(page, SETTLED)
    assert not live_is_blank(page)
    page.keyboard.press("ArrowDown")
    wait_connected(page)
    same_as_full_redraw(page, "a nudge of everything")
    page.keyboard.press("Control+z")
    wait_connected(page)
    same_as_full_redraw(page, "undoing the nudge")
    page.keyboard.press("p")  # another tool: nothing selected
    wait_for(page, "() => window.collab.app.selection.ids.size === 0")
    wait_for(page, SETTLED)
    assert live_is_blank(page), "no handles remain after changing tools"
    # Pan with nothing on #live: it stays blank (and untouched).
    drawn = stats(page)["live"]
    pan(page, 30, 20, steps=4)
    wait_for(page, SETTLED)
    assert live_is_blank(page) and stats(page)["live"] == drawn
    console.assert_clean()


def test_a_theme_change_repaints_the_board_with_the_new_paper(
    server: ServerProcess, opener: Opener, console: Console, peer: Peer
) -> None:
    note = fresh_note()
    ids = fill(peer, note, 20)
    page = opener.page(url_of(server, note), "Ada")
    wait_ids(page, ids)
    page.evaluate(DARK_GRID)
    wait_for(page, SETTLED)
    corner = "() => Array.from(window.collab.app.renderer.bctx.getImageData(1, 1, 1, 1).data.slice(0, 3))"
    assert page.evaluate(corner) == [255, 255, 255]
    # A theme whose paper differs: the cached colours are dropped when the scheme changes.
    page.evaluate("document.body.style.setProperty('--paper', '#fff3bf')")
    page.emulate_media(color_scheme="dark")
    wait_for(page, "() => window.collab.app.renderer.bctx.getImageData(1, 1, 1, 1).data[2] === 0xbf")
    same_as_full_redraw(page, "a theme change")
    pan(page, 25, 12, steps=5)
    same_as_full_redraw(page, "a pan after a theme change")
    page.emulate_media(color_scheme="light")
    console.assert_clean()


def test_a_cached_stroke_path_draws_the_pixels_of_the_path_traced_afresh(
    server: ServerProcess, opener: Opener, console: Console, peer: Peer
) -> None:
    note = fresh_note()
    ids = fill(peer, note, 40)
    page = opener.page(url_of(server, note), "Ada", dpr=2)
    wait_ids(page, ids)
    page.evaluate(DARK_GRID)
    wait_for(page, SETTLED)
    res = page.evaluate(
        """async () => {
            const note = document.querySelector('script[type=module]').src;
            const { drawStroke } = await import(new URL('draw.js', note).href);  // the page's own module
            const r = window.collab.app.renderer;
            const board = r.bctx.getImageData(0, 0, r.board.width, r.board.height).data;
            const c = document.createElement('canvas');
            c.width = r.board.width;
            c.height = r.board.height;
            const ctx = c.getContext('2d', { alpha: false });
            r.background(ctx);
            r.setWorld(ctx);
            for (const it of window.collab.shown().values()) drawStroke(ctx, it, false);
            const fresh = ctx.getImageData(0, 0, c.width, c.height).data;
            let diff = 0;
            for (let i = 0; i < fresh.length; i++) if (board[i] !== fresh[i]) diff++;
            let ink = 0;
            for (let i = 0; i < fresh.length; i += 4) if (fresh[i] + fresh[i + 1] + fresh[i + 2] < 600) ink++;
            return { diff, ink };
        }"""
    )
    assert res["ink"] > 1000, "the strokes are on the board"
    assert res["diff"] == 0
    console.assert_clean()


def test_every_module_the_page_imports_is_preloaded(server: ServerProcess, opener: Opener, console: Console) -> None:
    """The note page lists its modules as modulepreload links (fetched at once, not import level by level)."""
    page = opener.page(url_of(server, fresh_note()), "Ada")
    got = page.evaluate(
        """() => ({
            preloaded: [...document.querySelectorAll('link[rel=modulepreload]')].map((l) => new URL(l.href).pathname),
            loaded: performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)
                .filter((p) => /\\.m?js$/.test(p) && !p.endsWith('socket.io.min.js')),
        })"""
    )
    assert len(got["loaded"]) > 20
    assert sorted(set(got["loaded"])) == sorted(set(got["preloaded"]))
    console.assert_clean()


#: Pixels of the colour ``c`` (within 40 levels a channel) on a canvas inside the device-pixel box
#: of a world box (camera and DPR applied; the box grown by 2 device pixels).
COLOR_IN = """([canvas, box, c]) => {
    const r = window.collab.app.renderer;
    const cam = window.collab.app.camera;
    const k = r.dpr * cam.z;
    const x0 = Math.max(0, Math.floor(box[0] * k + r.dpr * cam.tx) - 2);
    const y0 = Math.max(0, Math.floor(box[1] * k + r.dpr * cam.ty) - 2);
    const x1 = Math.min(r.board.width, Math.ceil(box[2] * k + r.dpr * cam.tx) + 2);
    const y1 = Math.min(r.board.height, Math.ceil(box[3] * k + r.dpr * cam.ty) + 2);
    if (x1 <= x0 || y1 <= y0) return 0;
    const ctx = canvas === 'board' ? r.bctx : r.lctx;
    const d = ctx.getImageData(x0, y0, x1 - x0, y1 - y0).data;
    const want = [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] > 200 && want.every((v, j) => Math.abs(d[i + j] - v) <= 40)) n++;
    }
    return n;
}"""
PURPLE = "#ae3ec9"


def box_of(page: Any, item_id: str) -> list[float]:
    """The world box of an item's points (a rectangle's two corners)."""
    pts = page.evaluate("id => window.collab.shown().get(id).points", item_id)
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return [min(xs), min(ys), max(xs), max(ys)]


def screen(page: Any, x: float, y: float) -> tuple[float, float]:
    sx, sy = page.evaluate("([x, y]) => window.collab.view.toScreen(x, y)", [x, y])
    return sx, sy


def purple_in(page: Any, canvas: str, box: list[float]) -> int:
    return int(page.evaluate(COLOR_IN, [canvas, box, PURPLE]))


def rects(peer: Peer, note: str) -> tuple[str, str]:
    """A purple filled rectangle and an orange one, on top of the strokes; their ids."""
    assert peer.call("stroke", {"note": note, "id": "purple", "tool": "rect", "color": PURPLE, "width": 4,
                                "fill": PURPLE, "points": [[380, 260], [470, 330]]})["ok"]  # fmt: skip
    assert peer.call("stroke", {"note": note, "id": "orange", "tool": "rect", "color": "#f08c00", "width": 4,
                                "points": [[600, 380], [680, 450]]})["ok"]  # fmt: skip
    return "purple", "orange"


@pytest.mark.parametrize("dpr", [1, 2])
def test_while_a_selection_is_dragged_it_is_on_live_at_its_new_place_and_off_the_board(
    server: ServerProcess, opener: Opener, console: Console, peer: Peer, dpr: int
) -> None:
    note = fresh_note()
    ids = fill(peer, note, 120)  # a big board: the drag's start redraws the dragged item's box only
    ids += rects(peer, note)
    page = opener.page(url_of(server, note), "Ada", dpr=dpr)
    wait_ids(page, ids)
    page.evaluate(DARK_GRID)
    wait_for(page, SETTLED)
    old = box_of(page, "purple")
    assert purple_in(page, "board", old) > 100, "the rectangle is on the board"
    page.keyboard.press("v")
    cx, cy = screen(page, (old[0] + old[2]) / 2, (old[1] + old[3]) / 2)
    page.mouse.click(cx, cy)
    wait_for(page, "() => window.collab.app.selection.has('purple')")
    wait_for(page, SETTLED)
    before = stats(page)
    page.mouse.down()
    page.mouse.move(cx + 90, cy + 40, steps=5)
    page.mouse.move(cx + 180, cy + 80, steps=5)
    wait_for(page, "() => window.collab.app.selection.offset && window.collab.app.selection.offset[0] > 0")
    wait_for(page, SETTLED)
    during = stats(page)
    assert during["full"] == before["full"], "a drag never redraws the whole board"
    dx, dy = page.evaluate("window.collab.app.selection.offset")
    new = [old[0] + dx, old[1] + dy, old[2] + dx, old[3] + dy]
    assert new[0] > old[2] or new[1] > old[3], "the test moves it clear of where it was"
    assert purple_in(page, "board", old) == 0, "the board does not show the dragged item where it was"
    assert purple_in(page, "live", new) > 100, "#live shows it where it is dragged to"
    assert purple_in(page, "board", new) == 0
    same_as_full_redraw(page, "the start of a drag")  # the board: everything but the dragged item
    page.mouse.up()
    wait_connected(page)
    wait_for(page, "x => window.collab.shown().get('purple').points[0][0] > x", old[0] + 1)
    wait_for(page, SETTLED)
    assert stats(page)["full"] == during["full"] + 1, "only the comparison redrew everything"
    assert purple_in(page, "board", box_of(page, "purple")) > 100, "after the drag it is on the board"
    assert purple_in(page, "board", old) == 0
    same_as_full_redraw(page, "a drag")
    console.assert_clean()


def drag_without_a_full_redraw(page: Any, start: tuple[float, float], by: tuple[float, float], kind: str) -> None:
    """Drag the select tool from ``start`` by ``by`` (screen px) as gesture ``kind``, then release:
    no frame of the gesture redraws the whole board."""
    wait_for(page, SETTLED)
    before = stats(page)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + by[0], start[1] + by[1], steps=6)
    wait_for(page, "k => window.collab.app.gesture && window.collab.app.gesture.kind === k", kind)
    wait_for(page, SETTLED)
    assert stats(page)["full"] == before["full"], f"a {kind} never redraws the whole board"
    page.mouse.up()
    wait_connected(page)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_after_a_drag_a_resize_and_a_scale_the_board_shows_what_a_full_redraw_shows(
    server: ServerProcess, opener: Opener, console: Console, peer: Peer, transport: str
) -> None:
    note = fresh_note()
    ids = fill(peer, note, 120)
    ids += rects(peer, note)
    page = opener.page(url_of(server, note, transport), "Ada")
    wait_ids(page, ids)
    page.evaluate(DARK_GRID)
    wait_for(page, SETTLED)
    page.keyboard.press("v")
    # A drag of two items (click, Shift-click, drag the first).
    p = box_of(page, "purple")
    o = box_of(page, "orange")
    px, py = screen(page, (p[0] + p[2]) / 2, (p[1] + p[3]) / 2)
    page.mouse.click(px, py)
    page.keyboard.down("Shift")
    page.mouse.click(*screen(page, o[0], (o[1] + o[3]) / 2))  # on the orange one's left edge
    page.keyboard.up("Shift")
    wait_for(page, "() => window.collab.app.selection.ids.size === 2")
    drag_without_a_full_redraw(page, (px, py), (-70, 30), "move")
    wait_for(page, "x => window.collab.shown().get('purple').points[0][0] < x", p[0] - 1)
    same_as_full_redraw(page, "a drag of two items")
    # A scale: the bottom-right corner of the two items' box.
    frame = page.evaluate("window.collab.app.selection.frame()")
    fx, fy = screen(page, frame[2], frame[3])
    o = box_of(page, "orange")
    drag_without_a_full_redraw(page, (fx, fy), (60, 45), "scale")
    wait_for(page, "x => window.collab.shown().get('orange').points[1][0] > x", o[2] + 1)
    same_as_full_redraw(page, "a scale")
    # A resize: the corner handle of the purple rectangle alone.
    page.keyboard.press("Escape")
    p = box_of(page, "purple")
    page.mouse.click(*screen(page, (p[0] + p[2]) / 2, (p[1] + p[3]) / 2))
    wait_for(page, "() => window.collab.app.selection.ids.size === 1")
    corner = page.evaluate("window.collab.shown().get('purple').points[1]")
    drag_without_a_full_redraw(page, screen(page, *corner), (50, 35), "resize")
    wait_for(page, "x => window.collab.shown().get('purple').points[1][0] > x", corner[0] + 1)
    same_as_full_redraw(page, "a resize")
    console.assert_clean()
