"""The drawing page on contract v2, in Chromium against the real server: shapes with
Excalidraw's keys, selection (move, nudge, style, duplicate, delete), inverse-op undo,
text and sticky notes, and the sync rules for ops that are not idempotent."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from pagekit import Console, Opener, draw, shot, stroke_ids, wait_connected, wait_for, wait_ids

from serverproc import ServerProcess

pytestmark = pytest.mark.browser

TRANSPORTS = [pytest.param("", id="default"), pytest.param("polling", id="polling")]


def fresh_note() -> str:
    return "v2-" + uuid.uuid4().hex[:12]


def url_of(srv: ServerProcess, note: str, transport: str = "") -> str:
    return f"{srv.url}/n/{note}" + (f"?transport={transport}" if transport else "")


def state(srv: ServerProcess, note: str) -> dict[str, Any]:
    r = requests.get(f"{srv.url}/api/notes/{note}", timeout=10)
    r.raise_for_status()
    return dict(r.json())


def by_tool(srv: ServerProcess, note: str) -> dict[str, dict[str, Any]]:
    return {s["tool"]: s for s in state(srv, note)["strokes"]}


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
    """Until the page shows exactly the server's items, with the same points and colours."""
    want = {s["id"]: [s["points"], s["color"]] for s in state(srv, note)["strokes"]}
    wait_for(
        page,
        """want => {
            const got = {};
            for (const [id, s] of window.collab.shown()) got[id] = [s.points, s.color];
            return JSON.stringify(Object.keys(got).sort()) === JSON.stringify(Object.keys(want).sort())
                && Object.keys(want).every(id => JSON.stringify(got[id]) === JSON.stringify(want[id]));
        }""",
        want,
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_shapes_selection_and_undo_of_everything(
    server: ServerProcess, opener: Opener, console: Console, artifacts: Path, transport: str
) -> None:
    note = fresh_note()
    ada = opener.page(url_of(server, note, transport), "Ada")
    bob = opener.page(url_of(server, note, transport), "Bob")

    ada.keyboard.press("r")
    drag(ada, (200, 200), (350, 300))
    ada.keyboard.press("o")
    drag(ada, (400, 200), (500, 260), shift=True)  # Shift: a circle
    ada.keyboard.press("a")
    drag(ada, (600, 200), (700, 210), shift=True)  # Shift: 45° steps, so flat
    wait_connected(ada)
    items = by_tool(server, note)
    assert items["rect"]["points"] == [[200, 200], [350, 300]]
    assert items["ellipse"]["points"] == [[400, 200], [500, 300]]
    assert items["arrow"]["points"][0] == [600, 200] and items["arrow"]["points"][1][1] == 200  # flat
    same_items(bob, server, note)
    seq = state(server, note)["seq"]

    # Select the rectangle, Shift-click the circle, drag both: one move op.
    ada.keyboard.press("v")
    ada.mouse.click(200, 250)
    ada.keyboard.down("Shift")
    ada.mouse.click(450, 200)
    ada.keyboard.up("Shift")
    assert ada.evaluate("window.collab.app.selection.ids.size") == 2
    drag(ada, (200, 250), (230, 270))
    wait_connected(ada)
    after = state(server, note)
    assert after["seq"] == seq + 1  # one `move`, not one op per pointer event
    items = by_tool(server, note)
    assert items["rect"]["points"] == [[230, 220], [380, 320]]
    assert items["ellipse"]["points"] == [[430, 220], [530, 320]]
    same_items(bob, server, note)

    # Style panel: the colour of the selection (update), nudges with the arrow keys.
    ada.click("#colors .swatch[data-color='#e03131']")
    ada.keyboard.press("ArrowRight")
    ada.keyboard.press("Shift+ArrowDown")
    wait_connected(ada)
    items = by_tool(server, note)
    assert items["rect"]["color"] == items["ellipse"]["color"] == "#e03131"
    assert items["arrow"]["color"] == "#1e1e1e"
    assert items["rect"]["points"] == [[231, 230], [381, 330]]
    same_items(bob, server, note)

    # Duplicate, delete the copies, then undo everything step by step.
    ada.keyboard.press("Control+d")
    wait_connected(ada)
    assert len(state(server, note)["strokes"]) == 5
    ada.keyboard.press("Delete")
    wait_connected(ada)
    assert len(state(server, note)["strokes"]) == 3
    ada.keyboard.press("Control+z")  # the copies come back (restore)
    wait_connected(ada)
    assert len(state(server, note)["strokes"]) == 5
    for _ in range(4):  # the duplicate, both nudges, the colour
        ada.keyboard.press("Control+z")
    wait_connected(ada)
    items = by_tool(server, note)
    assert len(state(server, note)["strokes"]) == 3
    assert items["rect"]["color"] == "#1e1e1e" and items["rect"]["points"] == [[230, 220], [380, 320]]
    ada.keyboard.press("Control+z")  # the move
    wait_connected(ada)
    assert by_tool(server, note)["rect"]["points"] == [[200, 200], [350, 300]]
    ada.keyboard.press("Control+y")  # redo the move
    wait_connected(ada)
    assert by_tool(server, note)["rect"]["points"] == [[230, 220], [380, 320]]
    same_items(bob, server, note)

    # Ctrl+A selects everything, Escape nothing.
    ada.keyboard.press("Control+a")
    assert ada.evaluate("window.collab.app.selection.ids.size") == 3
    ada.keyboard.press("Escape")
    assert ada.evaluate("window.collab.app.selection.ids.size") == 0
    shot(bob, artifacts, f"v2-shapes-{transport or 'default'}")
    console.assert_clean()


def test_undo_after_an_erase_brings_the_erased_stroke_back(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    """It used to remove another stroke: undo only knew strokes, not erasures."""
    note = fresh_note()
    ada = opener.page(url_of(server, note), "Ada")
    bob = opener.page(url_of(server, note), "Bob")
    first = draw(ada, [(200, 200), (400, 200)])
    second = draw(ada, [(200, 400), (400, 400)])
    wait_connected(ada)
    ada.keyboard.press("e")
    drag(ada, (300, 380), (300, 420))
    wait_connected(ada)
    wait_ids(bob, [first])
    ada.keyboard.press("Control+z")
    wait_connected(ada)
    assert [s["id"] for s in state(server, note)["strokes"]] == [first, second]  # back in its layer
    wait_ids(bob, [first, second])
    ada.keyboard.press("Control+z")  # now the last stroke drawn
    wait_connected(ada)
    wait_ids(bob, [first])
    # Bob removes the first stroke: Ada's undo of it no longer applies and is skipped.
    bob.keyboard.press("e")
    drag(bob, (300, 180), (300, 220))
    wait_connected(bob)
    wait_ids(ada, [])
    ada.keyboard.press("Control+z")
    wait_connected(ada)
    assert state(server, note)["strokes"] == []
    console.assert_clean()


def test_text_and_sticky_notes(server: ServerProcess, opener: Opener, console: Console, artifacts: Path) -> None:
    note = fresh_note()
    ada = opener.page(url_of(server, note), "Ada")
    bob = opener.page(url_of(server, note), "Bob")
    ada.keyboard.press("t")
    ada.mouse.click(200, 200)
    ada.wait_for_selector("textarea.text-editor")
    ada.keyboard.type("Hello")
    ada.keyboard.press("Enter")
    ada.keyboard.type("world")
    ada.click("textarea.text-editor")  # a click inside the text does not commit it
    assert ada.locator("textarea.text-editor").count() == 1
    assert ada.evaluate("window.collab.shown().size") == 0  # still being typed: nothing sent
    ada.keyboard.press("Control+End")
    ada.keyboard.press("Escape")  # commits
    ada.keyboard.press("n")
    ada.mouse.click(500, 300)
    ada.keyboard.type("Buy milk")
    ada.mouse.click(700, 550)  # a click outside commits too
    wait_connected(ada)
    items = state(server, note)["strokes"]
    assert [(s["tool"], s["text"], s.get("fill")) for s in items] == [
        ("text", "Hello\nworld", None),
        ("text", "Buy milk", "#ffec99"),
    ]
    assert items[0]["points"] == [[200, 200]]
    wait_ids(bob, [s["id"] for s in items])

    # Double-click edits in place: one update of the text.
    ada.keyboard.press("v")
    ada.mouse.dblclick(520, 310)
    ada.wait_for_selector("textarea.text-editor")
    assert ada.input_value("textarea.text-editor") == "Buy milk"
    ada.keyboard.press("End")
    ada.keyboard.type(" and eggs")
    ada.keyboard.press("Escape")
    wait_connected(ada)
    assert state(server, note)["strokes"][1]["text"] == "Buy milk and eggs"
    wait_for(bob, "id => (window.collab.shown().get(id) || {}).text === 'Buy milk and eggs'", items[1]["id"])
    ada.keyboard.press("Control+z")
    wait_connected(ada)
    assert state(server, note)["strokes"][1]["text"] == "Buy milk"
    shot(bob, artifacts, "v2-text-sticky")
    console.assert_clean()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_move_whose_ack_is_lost_is_not_sent_twice(
    server: ServerProcess, opener: Opener, console: Console, transport: str
) -> None:
    """Only strokes are idempotent: a move sent before the connection dropped is settled by
    the catch-up join (its kind, from a peer id it was sent under), never re-sent."""
    note = fresh_note()
    ada = opener.page(url_of(server, note, transport), "Ada")
    bob = opener.page(url_of(server, note, transport), "Bob")
    ada.keyboard.press("r")
    drag(ada, (200, 200), (300, 300))
    wait_connected(ada)
    # The move reaches the server, but the connection drops before its ack arrives.
    ada.evaluate(
        """() => {
            const s = window.collab.sync.socket;
            const real = s.emit.bind(s);
            window.lost = 0;
            s.emit = (ev, ...args) => {
                if (ev === 'move' && !window.lost) {
                    window.lost = 1;
                    const payload = args[0];
                    real(ev, payload, () => {});
                    setTimeout(() => { s.io.reconnection(false); s.io.engine.close(); }, 300);
                    return s;
                }
                return real(ev, ...args);
            };
        }"""
    )
    ada.keyboard.press("ArrowRight")
    ada.wait_for_selector("#status:not([data-state=connected])")
    wait_for(bob, "() => JSON.stringify([...window.collab.shown().values()][0].points) === '[[201,200],[301,300]]'")
    ada.evaluate("() => { const s = window.collab.sync.socket; s.io.reconnection(true); s.connect(); }")
    wait_connected(ada)
    st = state(server, note)
    assert st["strokes"][0]["points"] == [[201, 200], [301, 300]] and st["seq"] == 2  # moved once
    same_items(ada, server, note)
    console.errors = [e for e in console.errors if "status of 400" not in e]
    console.assert_clean()


def test_offline_work_is_never_sent_into_a_deleted_note(
    tmp_path: Path, opener: Opener, console: Console, artifacts: Path
) -> None:
    """Ada draws while the server is down; meanwhile the note is deleted and its id used
    again. Back online, her join carries the old epoch: not_found, a message, and her work
    offered as a new note."""
    with ServerProcess(tmp_path) as srv:
        note = fresh_note()
        ada = opener.page(url_of(srv, note), "Ada")
        kept = draw(ada, [(200, 200), (400, 200)])
        wait_connected(ada)
        epoch = ada.evaluate("window.collab.sync.epoch")
        assert epoch
        console.server_down = True
        ada.evaluate("() => { const m = window.collab.sync.socket.io; m.reconnection(false); m.engine.close(); }")
        ada.wait_for_selector("#status:not([data-state=connected])")
        offline = draw(ada, [(200, 400), (400, 400)])
        saved = json.loads(
            ada.evaluate("localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('collab.outbox.')))")
        )
        assert saved["epoch"] == epoch
        requests.delete(f"{srv.url}/api/notes/{note}", timeout=10).raise_for_status()
        import socketio

        sio = socketio.SimpleClient()
        sio.connect(srv.url, namespace="/notes", transports=["websocket"])
        sio.call("join", {"note": note})
        sio.disconnect()
        assert state(srv, note)["strokes"] == []

        ada.evaluate("() => { const s = window.collab.sync.socket; s.io.reconnection(true); s.connect(); }")
        ada.wait_for_selector("#gone:has-text('This note was deleted')")
        console.server_down = False
        assert state(srv, note)["strokes"] == []  # nothing went into the new note of that id
        prefix = f"collab.outbox.{note}."
        assert ada.evaluate("p => Object.keys(localStorage).filter(k => k.startsWith(p)).length", prefix) == 0
        shot(ada, artifacts, "v2-deleted-offline-work")
        ada.click("#gone button:has-text('new note')")
        ada.wait_for_url(lambda u: "/n/" in u and note not in u, timeout=15_000)
        wait_connected(ada)
        new_id = ada.url.rsplit("/", 1)[1]
        wait_ids(ada, [offline])
        assert [s["id"] for s in state(srv, new_id)["strokes"]] == [offline]
        assert kept not in stroke_ids(ada, pending=True)
        console.assert_clean()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_edits_made_offline_arrive_once_in_order(
    server: ServerProcess, opener: Opener, console: Console, transport: str
) -> None:
    """Moves, updates and removes queued while disconnected (in localStorage) are sent
    after the catch-up join, each once, in order."""
    note = fresh_note()
    ada = opener.page(url_of(server, note, transport), "Ada")
    bob = opener.page(url_of(server, note, transport), "Bob")
    ada.keyboard.press("r")
    drag(ada, (200, 200), (300, 300))
    ada.keyboard.press("o")
    drag(ada, (500, 200), (600, 300))
    wait_connected(ada)
    same_items(bob, server, note)
    seq = state(server, note)["seq"]

    ada.evaluate("() => { const m = window.collab.sync.socket.io; m.reconnection(false); m.engine.close(); }")
    ada.wait_for_selector("#status:not([data-state=connected])")
    ada.keyboard.press("Shift+ArrowRight")  # the ellipse (selected) moves by 10
    ada.keyboard.press("Delete")  # and is removed
    ada.keyboard.press("v")
    ada.mouse.click(200, 250)  # the rectangle
    ada.click("#colors .swatch[data-color='#2f9e44']")
    ada.keyboard.press("ArrowDown")
    kinds = ada.evaluate("window.collab.sync.outbox.entries.map(e => e.kind)")
    assert kinds == ["move", "remove", "update", "move"]
    saved = ada.evaluate(
        "JSON.parse(localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('collab.outbox.')))).entries"
        ".map(e => e.kind)"
    )
    assert saved == kinds
    assert ada.get_attribute("#status", "data-waiting") == "4"

    ada.evaluate("() => { const s = window.collab.sync.socket; s.io.reconnection(true); s.connect(); }")
    wait_connected(ada)
    st = state(server, note)
    assert st["seq"] == seq + 4
    assert [(s["tool"], s["color"], s["points"]) for s in st["strokes"]] == [
        ("rect", "#2f9e44", [[200, 201], [300, 301]])
    ]
    same_items(bob, server, note)
    same_items(ada, server, note)
    console.errors = [e for e in console.errors if "status of 400" not in e]
    console.assert_clean()


def test_an_undo_that_no_longer_applies_is_skipped(server: ServerProcess, opener: Opener, console: Console) -> None:
    """Ada moves a shape; Bob deletes it; Ada, before she hears of it, undoes her move: the
    server answers not_found, the step is skipped (nothing else is undone), and her page
    catches up."""
    note = fresh_note()
    ada = opener.page(url_of(server, note), "Ada")
    bob = opener.page(url_of(server, note), "Bob")
    ada.keyboard.press("r")
    drag(ada, (200, 200), (300, 300))
    ada.keyboard.press("ArrowRight")
    wait_connected(ada)
    same_items(bob, server, note)
    ada.evaluate(
        """() => {
            const r = window.collab.sync.replica;
            const real = r.receive.bind(r);
            r.receive = (op) => (op.type === 'remove' && !window.heldBack ? (window.heldBack = op, false) : real(op));
        }"""
    )
    bob.keyboard.press("v")
    bob.mouse.click(201, 250)
    bob.keyboard.press("Delete")
    wait_connected(bob)
    wait_for(ada, "() => !!window.heldBack")
    seq = state(server, note)["seq"]
    ada.keyboard.press("Control+z")  # the move's inverse: the item is gone on the server
    wait_for(ada, "() => /skipped/.test(document.getElementById('toasts').textContent)")
    wait_for(ada, "() => window.collab.shown().size === 0")  # the gap is filled by a re-join
    assert state(server, note)["seq"] == seq and state(server, note)["strokes"] == []
    console.assert_clean()


def test_work_left_by_a_closed_tab_never_reaches_a_new_note_of_the_same_id(
    server: ServerProcess, opener: Opener, console: Console
) -> None:
    """A tab closed with queued work for a note that was then deleted and re-created: the
    next page joins with the record's epoch, is told not_found, and offers the work as a
    new note instead of sending it into the other note."""
    note = fresh_note()
    ctx = opener.new_context("Ada")
    ada = opener.page(url_of(server, note), ctx=ctx)
    draw(ada, [(200, 200), (400, 200)])
    wait_connected(ada)
    epoch = ada.evaluate("window.collab.sync.epoch")
    ada.close()
    requests.delete(f"{server.url}/api/notes/{note}", timeout=10).raise_for_status()
    late = {
        "id": "late-" + uuid.uuid4().hex[:8],
        "tool": "rect",
        "color": "#1971c2",
        "width": 4,
        "points": [[50, 60], [90, 100]],
    }
    record = {"alive": 0, "epoch": epoch, "entries": [{"kind": "stroke", "sent": False, "stroke": late}]}
    setup = ctx.new_page()
    setup.goto(f"{server.url}/healthz")
    setup.evaluate("([k, v]) => localStorage.setItem(k, v)", [f"collab.outbox.{note}.oldtab", json.dumps(record)])
    setup.close()

    again = opener.page(url_of(server, note), ctx=ctx, wait=False)
    again.wait_for_selector("#gone:has-text('This note was deleted')")
    # The id may be used again by someone else meanwhile; nothing of ours went there.
    assert requests.get(f"{server.url}/api/notes/{note}", timeout=10).status_code == 404
    again.click("#gone button:has-text('new note')")
    again.wait_for_url(lambda u: "/n/" in u and note not in u, timeout=15_000)
    wait_connected(again)
    new_id = again.url.rsplit("/", 1)[1]
    wait_ids(again, [late["id"]])
    assert [s["id"] for s in state(server, new_id)["strokes"]] == [late["id"]]
    console.assert_clean()
