"""Drawing together in real Chromium pages against the real server.

Two pages on one note: a mouse drag in one appears on the other's canvas and is
stored; undo in one removes it in the other; a page opened later shows the same
drawing. Strokes drawn while the server is down are delivered exactly once after it
comes back. Each runs with the default transport and with ``?transport=polling``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from pagekit import Console, Opener, draw, shot, stroke_ids, wait_connected, wait_for, wait_ids, wait_ink

from serverproc import ServerProcess

pytestmark = pytest.mark.browser

TRANSPORTS = [pytest.param("", id="default"), pytest.param("polling", id="polling")]


def fresh_note() -> str:
    return "e2e-" + uuid.uuid4().hex[:12]


def page_url(srv: ServerProcess, note: str, transport: str) -> str:
    return f"{srv.url}/n/{note}" + (f"?transport={transport}" if transport else "")


def stored(srv: ServerProcess, note: str) -> list[dict[str, Any]]:
    r = requests.get(f"{srv.url}/api/notes/{note}", timeout=10)
    r.raise_for_status()
    return list(r.json()["strokes"])


def engine_transport(page: Any) -> str:
    return str(page.evaluate("window.collab.sync.socket.io.engine.transport.name"))


LINE_A = [(200.0, 300.0), (320.0, 300.0), (440.0, 300.0)]
LINE_B = [(200.0, 450.0), (320.0, 450.0), (440.0, 450.0)]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_two_pages_draw_undo_and_a_late_joiner(
    server: ServerProcess, opener: Opener, console: Console, artifacts: Path, transport: str
) -> None:
    note = fresh_note()
    url = page_url(server, note, transport)
    ada = opener.page(url, "Ada")
    bob = opener.page(url, "Bob", dpr=2)  # a HiDPI screen
    wait_for(bob, "() => document.querySelector('#people').dataset.count === '2'")

    # While Ada drags, her unfinished stroke (draft) shows on Bob's page.
    ada.mouse.move(*LINE_A[0])
    ada.mouse.down()
    ada.mouse.move(*LINE_A[1], steps=10)
    wait_ink(bob, 260, 300, present=True, canvas="live")
    ada.mouse.move(*LINE_A[2], steps=10)
    ada.mouse.up()
    first = stroke_ids(ada, pending=True)[0]

    # The drag appears on Bob's canvas, with Ada's cursor, and is stored.
    wait_ids(bob, [first])
    wait_ink(bob, 380, 300, present=True)
    wait_ink(bob, 260, 300, present=False, canvas="live")  # the draft is dropped once the stroke is in
    wait_for(bob, "() => [...document.querySelectorAll('.cursor-name')].some(n => n.textContent === 'Ada')")
    wait_connected(ada)
    assert [s["id"] for s in stored(server, note)] == [first]
    assert stored(server, note)[0]["points"][0] == [200, 300]
    shot(bob, artifacts, f"draw-{transport or 'default'}-bob-sees-ada")

    # Undo in Ada's page removes it from Bob's canvas and from the server.
    ada.keyboard.press("Control+z")
    wait_ids(bob, [])
    wait_ink(bob, 380, 300, present=False)
    wait_connected(ada)
    assert stored(server, note) == []

    # Redo brings the same item back: the inverse of its removal is a `restore`.
    ada.keyboard.press("Control+Shift+z")
    wait_connected(ada)
    again = [s["id"] for s in stored(server, note)]
    assert again == [first]
    wait_ids(bob, again)

    # Bob draws in red; a third page opened later shows the same drawing.
    bob.keyboard.press("2")
    second = draw(bob, LINE_B)
    wait_connected(bob)
    wait_ids(ada, [again[0], second])
    carol = opener.page(url, "Carol")
    wait_ids(carol, [again[0], second])
    wait_ink(carol, 380, 300, present=True)
    wait_ink(carol, 380, 450, present=True)
    rows = stored(server, note)
    assert [s["id"] for s in rows] == [again[0], second]
    assert rows[1]["color"] == "#e03131"
    shot(carol, artifacts, f"draw-{transport or 'default'}-carol-late")

    if transport == "polling":
        for p in (ada, bob, carol):
            assert engine_transport(p) == "polling"
    console.assert_clean()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_offline_stroke_arrives_exactly_once(
    tmp_path: Path, opener: Opener, console: Console, artifacts: Path, transport: str
) -> None:
    note = fresh_note()
    with ServerProcess(tmp_path) as srv:
        url = page_url(srv, note, transport)
        ada = opener.page(url, "Ada")
        bob = opener.page(url, "Bob")
        online = draw(ada, LINE_A)
        wait_connected(ada)
        wait_ids(bob, [online])

        console.server_down = True
        srv.stop()
        ada.wait_for_selector("#status[data-state=reconnecting], #status[data-state=offline]", timeout=15_000)
        offline = draw(ada, LINE_B)
        ada.wait_for_selector("#status[data-waiting='1']", timeout=5_000)
        assert "1 waiting" in ada.inner_text("#status")
        shot(ada, artifacts, f"offline-{transport or 'default'}-waiting")
        saved = json.loads(
            ada.evaluate("localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('collab.outbox.')))")
        )
        assert [e["stroke"]["id"] for e in saved["entries"]] == [offline]

        srv.restart()
        wait_connected(ada)  # reconnects by itself; the stroke is sent and acknowledged
        console.server_down = False
        wait_ids(bob, [online, offline])
        ids = [s["id"] for s in stored(srv, note)]
        assert ids == [online, offline]  # exactly once, same id
        wait_ids(ada, [online, offline])
        shot(bob, artifacts, f"offline-{transport or 'default'}-bob-after-reconnect")
        if transport == "polling":
            assert engine_transport(ada) == "polling"
        console.assert_clean()


def test_strokes_left_by_a_closed_tab_are_sent_once(server: ServerProcess, opener: Opener, console: Console) -> None:
    """A reload finds unacknowledged strokes in localStorage and re-sends them with their ids."""
    note = fresh_note()
    ctx = opener.new_context("Ada")
    ada = opener.page(f"{server.url}/n/{note}", ctx=ctx)
    kept = draw(ada, LINE_A)
    wait_connected(ada)
    row = stored(server, note)[0]
    ada.close()
    # As if a tab had sent `kept` (stored, but its ack was lost) and drawn `late` offline, then closed.
    late = {
        "id": "late-" + uuid.uuid4().hex[:8],
        "color": "#1971c2",
        "width": 6,
        "tool": "pen",
        "points": [[50, 60], [90, 60]],
    }
    old = {"kind": "stroke", "sent": True, "stroke": {k: row[k] for k in ("id", "color", "width", "tool", "points")}}
    record = {"alive": 0, "entries": [old, {"kind": "stroke", "sent": False, "stroke": late}]}
    setup = ctx.new_page()
    setup.goto(f"{server.url}/healthz")
    setup.evaluate("([k, v]) => localStorage.setItem(k, v)", [f"collab.outbox.{note}.oldtab", json.dumps(record)])
    setup.close()

    again = opener.page(f"{server.url}/n/{note}", ctx=ctx)
    wait_ids(again, [kept, late["id"]])
    assert [s["id"] for s in stored(server, note)] == [kept, late["id"]]
    assert again.evaluate("Object.keys(localStorage).filter(k => k.startsWith('collab.outbox.')).length") == 0
    assert sorted(stroke_ids(again, pending=True)) == sorted([kept, late["id"]])
    console.assert_clean()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_catch_up_after_a_dropped_connection(
    server: ServerProcess, opener: Opener, console: Console, transport: str
) -> None:
    """Ada's connection drops while Bob draws and erases; she draws too. Back online, her page
    catches up (join with since) and ends in exactly the server's state."""
    note = fresh_note()
    url = page_url(server, note, transport)
    ada = opener.page(url, "Ada")
    bob = opener.page(url, "Bob")
    old = draw(bob, LINE_A)
    wait_ids(ada, [old])

    ada.evaluate("() => { const m = window.collab.sync.socket.io; m.reconnection(false); m.engine.close(); }")
    ada.wait_for_selector("#status:not([data-state=connected])")
    new = draw(bob, LINE_B)
    bob.keyboard.press("e")
    bob.mouse.move(380, 290)
    bob.mouse.down()
    bob.mouse.move(380, 310, steps=3)
    bob.mouse.up()
    wait_connected(bob)
    mine = draw(ada, [(600.0, 150.0), (800.0, 150.0)])
    assert ada.get_attribute("#status", "data-waiting") == "1"

    ada.evaluate("() => { const s = window.collab.sync.socket; s.io.reconnection(true); s.connect(); }")
    wait_connected(ada)
    rows = stored(server, note)
    assert [s["id"] for s in rows] == [new, mine]
    wait_ids(ada, [new, mine])
    wait_ids(bob, [new, mine])
    seq = requests.get(f"{server.url}/api/notes/{note}", timeout=10).json()["seq"]
    assert ada.evaluate("window.collab.sync.replica.seq") == seq == 4
    wait_ink(ada, 380, 300, present=False)
    # a poll still in flight when the test killed Ada's engine may be answered 400 (session unknown)
    console.errors = [e for e in console.errors if not (e.startswith("Ada console:") and "status of 400" in e)]
    console.assert_clean()
