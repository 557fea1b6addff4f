"""The drawing page's tools and client rules, in Chromium against the real server."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from pagekit import Console, Opener, draw, ink, shot, wait_connected, wait_for, wait_ids, wait_ink

from serverproc import ServerProcess

pytestmark = pytest.mark.browser


def fresh_note() -> str:
    return "tools-" + uuid.uuid4().hex[:12]


def note_state(srv: ServerProcess, note: str) -> dict[str, Any]:
    r = requests.get(f"{srv.url}/api/notes/{note}", timeout=10)
    r.raise_for_status()
    return dict(r.json())


def test_a_first_visit_never_blocks_and_the_name_is_editable(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    """No dialog on a first visit: a friendly generated name until one is set (Enter
    confirms), changed live through `profile`, remembered for the next visit."""
    note = fresh_note()
    bob = opener.page(f"{server.url}/n/{note}", "Bob")
    ctx = opener.new_context(None)
    page = opener.page(f"{server.url}/n/{note}", ctx=ctx)  # connected without any dialog
    assert page.locator("dialog[open]").count() == 0
    draw(page, [(300, 300), (500, 300)])
    wait_connected(page)
    guest = page.evaluate("localStorage.getItem('collab.guest')")
    assert guest and " " in guest
    wait_for(bob, "g => document.getElementById('people-items').textContent.includes(g)", guest)

    page.click("#people")
    assert guest in page.inner_text("#people-items")
    page.click("#change-name")
    page.fill("dialog[open] input", "   ")
    page.keyboard.press("Enter")  # only spaces: the dialog stays, and says why
    assert page.is_visible("dialog[open] .field-error")
    page.fill("dialog[open] input", "Zoë <b>")
    page.keyboard.press("Enter")  # Enter confirms (Cancel is not the form's submit button)
    assert page.locator("dialog[open]").count() == 0
    wait_for(bob, "() => document.getElementById('people-items').textContent.includes('Zoë <b>')")
    page.reload()
    wait_connected(page)  # no dialog this time either, and the chosen name is kept
    assert page.locator("dialog[open]").count() == 0
    wait_for(
        bob,
        "() => [...document.querySelectorAll('#people-items .name')].filter(n => n.textContent === 'Zoë <b>').length === 1",  # noqa: E501 - a JS expression
    )
    console.assert_clean()


def test_enter_confirms_and_space_presses_a_focused_button(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    note = fresh_note()
    ada = opener.page(f"{server.url}/n/{note}", "Ada")
    draw(ada, [(300, 300), (500, 300)])
    ada.click("#clear")
    ada.keyboard.press("Enter")  # confirms the clear (it used to cancel)
    wait_for(ada, "() => window.collab.shown().size === 0")
    wait_connected(ada)
    assert note_state(server, note)["strokes"] == []
    ada.click("#title")
    ada.fill("dialog[open] input", "Plans")
    ada.keyboard.press("Enter")
    wait_for(ada, "() => document.getElementById('title').textContent === 'Plans'")
    assert note_state(server, note)["title"] == "Plans"
    # Space on a focused button presses it; on the canvas it pans.
    ada.focus("#help-btn")
    ada.keyboard.press(" ")
    ada.wait_for_selector("dialog#help[open]")
    ada.keyboard.press("Escape")
    ada.focus("#stage")  # the canvas has focus again: Space + drag pans
    ada.keyboard.down(" ")
    ada.mouse.move(600, 500)
    ada.mouse.down()
    ada.mouse.move(650, 520, steps=4)
    ada.mouse.up()
    ada.keyboard.up(" ")
    assert ada.evaluate("[window.collab.view.tx, window.collab.view.ty]") == [50, 20]
    assert note_state(server, note)["strokes"] == []  # panned, not drawn
    console.assert_clean()


def test_tools_highlighter_eraser_clear_help(
    server: ServerProcess, opener: Opener, console: Console, artifacts: Path
) -> None:
    note = fresh_note()
    ada = opener.page(f"{server.url}/n/{note}", "Ada")
    bob = opener.page(f"{server.url}/n/{note}", "Bob")

    ada.keyboard.press("m")  # highlighter
    ada.keyboard.press("]")  # wider
    marker = draw(ada, [(150, 200), (450, 200)])
    ada.keyboard.press("p")
    ada.locator("#custom-color").fill("#12ab34")
    pen = draw(ada, [(150, 320), (450, 320)])
    wait_connected(ada)
    rows = {s["id"]: s for s in note_state(server, note)["strokes"]}
    assert rows[marker]["tool"] == "highlighter" and rows[marker]["width"] == 32
    assert rows[pen]["tool"] == "pen" and rows[pen]["color"] == "#12ab34"
    assert rows[pen]["width"] == 8  # the width step is shared by pen and highlighter
    wait_ids(bob, [marker, pen])
    shot(bob, artifacts, "tools-highlighter-and-pen")

    # Bob's eraser removes the stroke it touches (someone else's, too).
    bob.keyboard.press("e")
    bob.mouse.move(300, 290)
    bob.mouse.down()
    bob.mouse.move(300, 350, steps=6)
    bob.mouse.up()
    wait_connected(bob)
    wait_ids(ada, [marker])
    assert [s["id"] for s in note_state(server, note)["strokes"]] == [marker]

    # Clear asks first.
    ada.click("#clear")
    ada.click("dialog[open] button[value=cancel]")
    assert len(note_state(server, note)["strokes"]) == 1
    ada.keyboard.press("Shift+Delete")
    ada.click("dialog[open] button[value=ok]")
    wait_ids(bob, [])
    wait_ink(bob, 300, 200, present=False)
    assert note_state(server, note)["strokes"] == []

    # The help overlay lists the shortcuts.
    ada.keyboard.press("?")
    assert "Undo what you did" in ada.inner_text("dialog#help[open]")
    shot(ada, artifacts, "help-overlay")
    ada.keyboard.press("Escape")
    console.assert_clean()


def test_undo_before_the_ack_and_pan_zoom(tmp_path: Path, opener: Opener, console: Console) -> None:
    """Undo while the stroke's ack is still on its way: the remove follows the ack."""
    note = fresh_note()
    with ServerProcess(tmp_path) as srv:
        ada = opener.page(f"{srv.url}/n/{note}", "Ada")
        assert srv.proc is not None
        os.kill(srv.proc.pid, signal.SIGSTOP)  # the server hears nothing for a moment
        try:
            draw(ada, [(200, 200), (400, 200)])
            ada.keyboard.press("Control+z")
            assert ada.get_attribute("#status", "data-waiting") == "2"  # the stroke and its removal
        finally:
            os.kill(srv.proc.pid, signal.SIGCONT)
        wait_connected(ada)
        wait_for(ada, "() => window.collab.sync.outbox.entries.length === 0")
        state = note_state(srv, note)
        assert state["strokes"] == [] and state["seq"] == 2  # the stroke, then its removal

        # Pan with the hand tool and zoom with the keyboard: strokes follow the view.
        kept = draw(ada, [(200, 300), (400, 300)])
        wait_connected(ada)
        ada.keyboard.press("h")
        ada.mouse.move(500, 500)
        ada.mouse.down()
        ada.mouse.move(550, 400, steps=4)
        ada.mouse.up()
        wait_ink(ada, 350, 200, present=True)  # moved up by 100 and right by 50
        ada.keyboard.press("0")
        ada.keyboard.press("Shift+1")  # fit the drawing
        assert ada.inner_text("#zoom-reset") != "100%"
        assert [s["id"] for s in note_state(srv, note)["strokes"]] == [kept]
        console.assert_clean()


def test_a_lost_broadcast_is_recovered_by_rejoining(server: ServerProcess, opener: Opener, console: Console) -> None:
    """Bob's page misses one op; the gap is noticed and a join with since fills it."""
    note = fresh_note()
    ada = opener.page(f"{server.url}/n/{note}", "Ada")
    bob = opener.page(f"{server.url}/n/{note}", "Bob")
    bob.evaluate(
        """() => {
            const r = window.collab.sync.replica;
            const real = r.receive.bind(r);
            window.dropped = null;
            r.receive = (op) => {
                if (window.dropped === null && op.type === 'stroke') { window.dropped = op.seq; return false; }
                return real(op);
            };
        }"""
    )
    one = draw(ada, [(100, 100), (300, 100)])
    two = draw(ada, [(100, 200), (300, 200)])
    wait_connected(ada)
    wait_ids(bob, [one, two])
    assert bob.evaluate("window.dropped") == 1
    console.assert_clean()


def test_replica_rules_in_the_browser(server: ServerProcess, opener: Opener) -> None:
    """The page's Replica: seq order, duplicates ignored, ops held during a join."""
    page = opener.page(f"{server.url}/n/{fresh_note()}", "Ada")
    got = page.evaluate(
        """async () => {
            const { Replica } = await import(new URL('../js/replica.js', document.querySelector(
                'script[type=module]').src).href);
            const s = (seq, id) => ({ type: 'stroke', seq, id, peer: 'p', color: '#000', width: 2, points: [[0, 0]] });
            const r = new Replica();
            r.joined({ ok: true, seq: 2, strokes: [s(2, 'b'), s(1, 'a')] });
            const out = {};
            out.order = [...r.strokes.keys()];
            r.receive(s(4, 'd'));            // out of order: buffered
            out.buffered = [...r.strokes.keys()];
            out.gap = r.hasGap();
            r.receive(s(3, 'c'));            // fills the gap
            r.receive(s(3, 'c'));            // a duplicate
            out.filled = [...r.strokes.keys()];
            r.beginJoin();
            r.receive({ type: 'remove', seq: 5, id: 'a' });
            r.receive({ type: 'remove', seq: 6, id: 'b' });
            out.held = [...r.strokes.keys()];
            r.joined({ ok: true, seq: 5, ops: [{ type: 'remove', seq: 5, id: 'a' }] });
            out.afterJoin = [...r.strokes.keys()];
            out.seq = r.seq;
            r.joined({ ok: true, seq: 1, reset: true, strokes: [s(1, 'z')] });
            out.reset = [...r.strokes.keys()];
            return out;
        }"""
    )
    assert got == {
        "order": ["a", "b"],
        "buffered": ["a", "b"],
        "gap": True,
        "filled": ["a", "b", "c", "d"],
        "held": ["a", "b", "c", "d"],
        "afterJoin": ["c", "d"],
        "seq": 6,
        "reset": ["z"],
    }


def test_a_view_only_share_link(server: ServerProcess, opener: Opener, console: Console) -> None:
    note = requests.post(f"{server.url}/api/notes", json={"title": "Shared"}, timeout=10).json()["id"]
    link = requests.post(f"{server.url}/api/notes/{note}/share", json={"role": "view"}, timeout=10)
    assert link.status_code == 201, link.text
    token = link.json()["token"]
    ada = opener.page(f"{server.url}/n/{note}", "Ada")
    viewer = opener.page(f"{server.url}/n/{note}?share={token}", "Vic")
    wait_for(viewer, "() => document.body.classList.contains('read-only')")
    assert viewer.evaluate("window.collab.sync.role") == "view"
    assert token in (viewer.get_attribute("#export-png", "href") or "")
    viewer.mouse.move(200, 200)
    viewer.mouse.down()
    viewer.mouse.move(300, 260, steps=5)
    viewer.mouse.up()
    seen = draw(ada, [(100, 400), (300, 400)])
    wait_connected(ada)
    wait_ids(viewer, [seen])  # the viewer sees Ada's stroke but added none
    assert [s["id"] for s in note_state(server, note)["strokes"]] == [seen]
    console.assert_clean()


def test_on_a_phone_touch_draws_and_two_fingers_zoom(
    server: ServerProcess, opener: Opener, console: Console, artifacts: Path
) -> None:
    note = fresh_note()
    ctx = opener.browser.new_context(
        viewport={"width": 390, "height": 800}, device_scale_factor=3, is_mobile=True, has_touch=True
    )
    opener.contexts.append(ctx)
    ctx.add_init_script("localStorage.setItem('collab.name', 'Pat')")
    page = opener.page(f"{server.url}/n/{note}", ctx=ctx)
    assert page.is_visible("#toolbar") and page.is_visible("#undo")
    box = page.locator("#toolbar").bounding_box()
    assert box is not None and box["y"] > 600 and box["x"] >= 0  # the toolbar sits at the bottom
    cdp = ctx.new_cdp_session(page)

    def touch(kind: str, *pts: tuple[float, float]) -> None:
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y} for x, y in pts]})

    touch("touchStart", (60, 300))
    for i in range(1, 16):
        touch("touchMove", (60 + i * 16, 300))
    touch("touchEnd")
    wait_connected(page)
    rows = note_state(server, note)["strokes"]
    assert len(rows) == 1 and rows[0]["points"][0] == [60, 300]

    touch("touchStart", (150, 450), (250, 450))
    for i in range(1, 10):
        touch("touchMove", (150 - i * 6, 450), (250 + i * 6, 450))
    touch("touchEnd")
    assert page.evaluate("window.collab.view.z") > 1.3
    assert len(note_state(server, note)["strokes"]) == 1  # the pinch drew nothing
    shot(page, artifacts, "phone")
    console.assert_clean()


# One task: the rectangle's gesture (its last draft waits for the throttle), then a pen
# stroke begun at once, held past that wait. Driven through the tools themselves, as the
# pointer handlers do, so that the timing is exact.
SHAPE_THEN_PEN = """
async () => {
  const app = window.collab.app;
  const at = (x, y) => ({ w: [x, y], p: [x, y], shift: false, coalesced: [[x, y]] });
  window.collab.setTool("rect");
  const rect = app.tools.rect;
  rect.down(app, at(150, 120));
  rect.move(app, at(200, 160));
  rect.move(app, at(260, 180));
  rect.up(app, at(260, 180));
  window.collab.setTool("pen");
  const pen = app.tools.pen;
  pen.down(app, at(400, 120));
  await new Promise((r) => setTimeout(r, 100));
  pen.move(app, at(440, 140));
  pen.move(app, at(480, 150));
  pen.up(app);
}
"""


def test_a_shape_drawn_just_before_a_pen_stroke_never_sends_its_draft_from_the_pen(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    """Drafts are throttled: the shape's last one fires later, and must not read the gesture that followed."""
    note = fresh_note()
    ada = opener.page(f"{server.url}/n/{note}", "Ada")
    bob = opener.page(f"{server.url}/n/{note}", "Bob")
    ada.evaluate(SHAPE_THEN_PEN)
    wait_connected(ada)
    assert [s["tool"] for s in note_state(server, note)["strokes"]] == ["rect", "pen"]
    wait_for(bob, "() => window.collab.shown().size === 2")
    console.assert_clean()


# The board's pixel at (x, y): ink, but lighter than `solid` (a faded stroke, not paper).
FADED_INK = """([x, y, solid]) => {
  const c = document.getElementById('board');
  const r = window.devicePixelRatio || 1;
  const d = c.getContext('2d').getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data;
  const sum = d[0] + d[1] + d[2];
  return sum > solid + 150 && sum < 3 * 245;
}"""


def test_a_pen_stroke_the_eraser_is_over_fades_until_the_pointer_is_released(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    note = fresh_note()
    ada = opener.page(f"{server.url}/n/{note}", "Ada")
    ada.keyboard.press("p")
    draw(ada, [(150, 300), (450, 300)])
    wait_connected(ada)
    solid = sum(ink(ada, 200, 300))
    ada.keyboard.press("e")
    ada.mouse.move(300, 260)
    ada.mouse.down()
    ada.mouse.move(300, 340, steps=6)
    wait_for(ada, FADED_INK, [200, 300, solid])  # touched: shown faded, still there
    assert len(note_state(server, note)["strokes"]) == 1  # nothing removed before the release
    ada.mouse.up()
    wait_connected(ada)
    wait_ink(ada, 200, 300, present=False)
    assert note_state(server, note)["strokes"] == []
    console.assert_clean()
