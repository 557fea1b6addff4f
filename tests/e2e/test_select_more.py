"""More of the select tool, in Chromium against the real server: the corner handles of a
selection's box scale every selected item (seen by the other page, undone in one step;
Shift keeps the aspect ratio, a picture keeps its own), and on a touch screen one finger
taps to select and drags to move while two fingers pan."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from pagekit import Console, Opener, draw, shot, wait_connected, wait_for

from serverproc import ServerProcess

pytestmark = pytest.mark.browser

TRANSPORTS = [pytest.param("", id="default"), pytest.param("polling", id="polling")]

PASTE_PNG = """async ([w, h, color]) => {
    const c = document.createElement('canvas');
    [c.width, c.height] = [w, h];
    const g = c.getContext('2d');
    g.fillStyle = color;
    g.fillRect(0, 0, w, h);
    const blob = await new Promise((r) => c.toBlob(r, 'image/png'));
    const dt = new DataTransfer();
    dt.items.add(new File([blob], 'picture.png', { type: 'image/png' }));
    const init = { clipboardData: dt, bubbles: true, cancelable: true };
    document.activeElement.dispatchEvent(new ClipboardEvent('paste', init));
}"""


def fresh_note() -> str:
    return "sel-" + uuid.uuid4().hex[:12]


def url_of(srv: ServerProcess, note: str, transport: str = "") -> str:
    return f"{srv.url}/n/{note}" + (f"?transport={transport}" if transport else "")


def state(srv: ServerProcess, note: str) -> dict[str, Any]:
    r = requests.get(f"{srv.url}/api/notes/{note}", timeout=10)
    r.raise_for_status()
    return dict(r.json())


def by_tool(srv: ServerProcess, note: str) -> dict[str, dict[str, Any]]:
    return {s["tool"]: s for s in state(srv, note)["strokes"]}


def wait_count(srv: ServerProcess, note: str, n: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 15
    while True:
        got = state(srv, note)["strokes"]
        if len(got) == n or time.monotonic() > deadline:
            assert len(got) == n, got
            return list(got)
        time.sleep(0.05)


def drag(page: Any, a: tuple[float, float], b: tuple[float, float], shift: bool = False) -> None:
    page.mouse.move(*a)
    if shift:
        page.keyboard.down("Shift")
    page.mouse.down()
    page.mouse.move(*b, steps=6)
    page.mouse.up()
    if shift:
        page.keyboard.up("Shift")


def same_items(page: Any, srv: ServerProcess, note: str) -> None:
    """Until the page shows exactly the server's items, with the same points and sizes."""
    want = {s["id"]: [s["points"], s.get("size")] for s in state(srv, note)["strokes"]}
    wait_for(
        page,
        """want => {
            const got = {};
            for (const [id, s] of window.collab.shown()) got[id] = [s.points, s.size ?? null];
            return JSON.stringify(Object.keys(got).sort()) === JSON.stringify(Object.keys(want).sort())
                && Object.keys(want).every(id => JSON.stringify(got[id]) === JSON.stringify(want[id]));
        }""",
        want,
    )


def frame(page: Any) -> list[float]:
    """The selection's box (world) whose corners are the scale handles."""
    f = page.evaluate("window.collab.app.selection.frame()")
    assert f, "the selection has no box handles"
    return list(f)


def screen(page: Any, x: float, y: float) -> tuple[float, float]:
    s = page.evaluate(
        """([x, y]) => { const b = document.getElementById('stage').getBoundingClientRect();
            const p = window.collab.view.toScreen(x, y); return [p[0] + b.left, p[1] + b.top]; }""",
        [x, y],
    )
    return s[0], s[1]


def scaled(points: list[list[float]], anchor: tuple[float, float], sx: float, sy: float) -> list[Any]:
    ax, ay = anchor
    return [
        [pytest.approx(ax + (x - ax) * sx, abs=0.02), pytest.approx(ay + (y - ay) * sy, abs=0.02)] for x, y in points
    ]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_corners_of_a_multi_selection_scale_every_item_and_undo_is_one_step(
    server: ServerProcess, opener: Opener, console: Console, artifacts: Path, transport: str
) -> None:
    note = fresh_note()
    ada = opener.page(url_of(server, note, transport), "Ada")
    bob = opener.page(url_of(server, note, transport), "Bob")
    ada.keyboard.press("r")
    drag(ada, (200, 200), (300, 260))
    ada.keyboard.press("p")
    draw(ada, [(350, 220), (400, 280), (450, 300)])
    ada.keyboard.press("t")
    ada.mouse.click(220, 320)
    ada.wait_for_selector("textarea.text-editor")
    ada.keyboard.type("Label")
    ada.keyboard.press("Escape")
    wait_connected(ada)
    before = by_tool(server, note)
    seq = state(server, note)["seq"]

    ada.keyboard.press("v")
    ada.keyboard.press("Control+a")
    f = frame(ada)
    hx, hy = screen(ada, f[2], f[3])  # the bottom-right handle; the top-left corner stays
    ada.mouse.move(hx, hy)
    ada.mouse.down()
    ada.mouse.move(hx + 100, hy + 50, steps=6)
    shot(ada, artifacts, f"select-scale-{transport or 'default'}")  # the box and its handles, mid-gesture
    ada.mouse.up()
    wait_connected(ada)
    assert state(server, note)["seq"] == seq + 3  # one update per item
    sx = (f[2] + 100 - f[0]) / (f[2] - f[0])
    sy = (f[3] + 50 - f[1]) / (f[3] - f[1])
    after = by_tool(server, note)
    anchor = (f[0], f[1])
    assert after["rect"]["points"] == scaled(before["rect"]["points"], anchor, sx, sy)
    assert after["pen"]["points"] == scaled(before["pen"]["points"], anchor, sx, sy)
    assert after["pen"]["width"] == before["pen"]["width"]  # widths stay
    k = min(sx, sy)  # a text keeps its proportions: the smaller factor
    assert after["text"]["size"] == pytest.approx(before["text"]["size"] * k, abs=0.01)
    same_items(bob, server, note)
    assert ada.evaluate("window.collab.app.selection.ids.size") == 3

    # Shift keeps the aspect ratio: the larger factor wins on both axes.
    f2 = frame(ada)
    hx, hy = screen(ada, f2[2], f2[3])
    drag(ada, (hx, hy), (hx + 60, hy + 5), shift=True)
    wait_connected(ada)
    s = (f2[2] + 60 - f2[0]) / (f2[2] - f2[0])
    rect = by_tool(server, note)["rect"]
    assert rect["points"] == scaled(after["rect"]["points"], (f2[0], f2[1]), s, s)
    same_items(bob, server, note)

    ada.keyboard.press("Control+z")  # the Shift scale, all three items at once
    wait_connected(ada)
    assert by_tool(server, note) == after
    ada.keyboard.press("Control+z")  # the first scale
    wait_connected(ada)
    assert by_tool(server, note) == before
    same_items(bob, server, note)
    console.assert_clean()


def test_a_picture_in_a_scaled_selection_keeps_its_aspect_ratio(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    note = fresh_note()
    ada = opener.page(url_of(server, note), "Ada")
    bob = opener.page(url_of(server, note), "Bob")
    ada.evaluate(PASTE_PNG, [100, 50, "#00aa00"])
    wait_count(server, note, 1)
    wait_connected(ada)
    ada.keyboard.press("r")
    drag(ada, (150, 150), (250, 250))
    wait_connected(ada)
    before = by_tool(server, note)
    ada.keyboard.press("Control+a")
    f = frame(ada)
    hx, hy = screen(ada, f[0], f[3])  # bottom-left: the top-right corner stays
    drag(ada, (hx, hy), (hx - 120, hy + 10))  # much wider, a little taller
    wait_connected(ada)
    after = by_tool(server, note)
    (x0, y0), (x1, y1) = after["image"]["points"]
    (p0, q0), (p1, q1) = before["image"]["points"]
    assert (x1 - x0) / (y1 - y0) == pytest.approx((p1 - p0) / (q1 - q0), rel=0.01)  # its own aspect
    sx = (f[2] - (f[0] - 120)) / (f[2] - f[0])
    sy = (f[3] + 10 - f[1]) / (f[3] - f[1])
    assert after["rect"]["points"] == scaled(before["rect"]["points"], (f[2], f[1]), sx, sy)
    assert x1 - x0 == pytest.approx((p1 - p0) * min(sx, sy), abs=0.05)
    same_items(bob, server, note)
    ada.keyboard.press("Control+z")
    wait_connected(ada)
    assert by_tool(server, note) == before
    console.assert_clean()


def touch(cdp: Any, kind: str, points: list[tuple[float, float]]) -> None:
    """A touch event through the DevTools protocol: Chromium makes touch pointer events of it."""
    cdp.send(
        "Input.dispatchTouchEvent",
        {"type": kind, "touchPoints": [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]},
    )


def finger_drag(cdp: Any, a: tuple[float, float], b: tuple[float, float], steps: int = 8) -> None:
    touch(cdp, "touchStart", [a])
    for i in range(1, steps + 1):
        touch(cdp, "touchMove", [(a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps)])
    touch(cdp, "touchEnd", [])


def test_on_a_touch_screen_one_finger_selects_and_moves_and_two_fingers_pan(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    note = fresh_note()
    ada = opener.page(url_of(server, note), "Ada")
    ada.keyboard.press("r")
    drag(ada, (100, 300), (200, 400))
    wait_connected(ada)
    [rect] = state(server, note)["strokes"]

    ctx = opener.browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True, device_scale_factor=2
    )
    opener.contexts.append(ctx)
    phone = ctx.new_page()
    console.watch(phone, "phone")
    phone.goto(url_of(server, note))
    wait_connected(phone)
    wait_for(phone, "() => window.collab.shown().size === 1")
    phone.tap("#toolbar [data-tool=select]")
    wait_for(phone, "() => document.getElementById('stage').dataset.tool === 'select'")
    cdp = ctx.new_cdp_session(phone)

    # A tap near the outline selects (a finger gets more slack than a mouse); one on nothing deselects.
    x, y = screen(phone, 150, 300)
    phone.touchscreen.tap(x, y + 10)
    wait_for(phone, "(id) => window.collab.app.selection.has(id)", rect["id"])
    phone.touchscreen.tap(x, y + 200)
    wait_for(phone, "() => window.collab.app.selection.ids.size === 0")

    # One finger on the item drags it: one `move`, seen by the other page.
    seq = state(server, note)["seq"]
    finger_drag(cdp, (x, y + 4), (x + 40, y + 64))
    wait_connected(phone)
    assert state(server, note)["seq"] == seq + 1
    [moved] = state(server, note)["strokes"]
    assert moved["points"] == [[140, 360], [240, 460]]
    wait_for(ada, "() => JSON.stringify([...window.collab.shown().values()][0].points) === '[[140,360],[240,460]]'")

    # Two fingers pan, also when the first one has begun to drag the item: nothing moves.
    tx = phone.evaluate("window.collab.view.tx")
    sx, sy = screen(phone, 190, 360)
    touch(cdp, "touchStart", [(sx, sy)])
    touch(cdp, "touchMove", [(sx + 5, sy + 5)])
    wait_for(phone, "() => !!window.collab.app.selection.offset")  # the item is being dragged
    touch(cdp, "touchStart", [(sx + 5, sy + 5), (sx + 105, sy + 105)])
    for i in range(1, 6):
        touch(cdp, "touchMove", [(sx + 5 - 10 * i, sy + 5), (sx + 105 - 10 * i, sy + 105)])
    touch(cdp, "touchEnd", [])
    wait_for(phone, "(tx) => Math.abs(window.collab.view.tx - (tx - 50)) < 0.5", tx)
    assert phone.evaluate("window.collab.app.selection.offset") is None
    assert state(server, note)["seq"] == seq + 1
    assert phone.evaluate("window.collab.sync.outbox.entries.length") == 0
    console.assert_clean()
