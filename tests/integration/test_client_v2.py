"""NoteClient and contract v2 against a real server: every tool and op, undo/redo, epochs, lost acks.

Two real clients per test (one draws, one watches), over WebSocket and
long-polling where the transport matters; the server's own state (HTTP) is
the reference. Faults are made by a proxy between the client and the server.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest
import requests

from collab.client import NoteClient
from collab.errors import BadRequest, CollabError, NotFound
from collab.replica import NoteReplica, OpApplied, OpDone, strokes_equal

from faultproxy import FaultProxy
from serverproc import ServerProcess

TRANSPORTS = ["websocket", "polling"]


def server_state(url: str, note: str) -> dict[str, Any]:
    r = requests.get(f"{url}/api/notes/{note}", timeout=10)
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


def delete_note(url: str, note: str) -> None:
    r = requests.delete(f"{url}/api/notes/{note}", headers={"Origin": url}, timeout=10)
    assert r.status_code == 204, r.text


def same_as_server(client: NoteClient, url: str) -> bool:
    state = server_state(url, client.note_id)
    client.wait_until(lambda c: c.seq >= state["seq"], 10)
    return client.seq == state["seq"] and [dict(s) for s in client.items] == state["strokes"]


class Proxy(FaultProxy):
    """A :class:`FaultProxy` that can also eat what the server sends (acks) and refuse connections."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self.eat_replies = threading.Event()  # the server's bytes vanish; the client's still arrive
        self.down = threading.Event()  # new connections are reset at once

    def _drops(self, src: socket.socket, pair: tuple[socket.socket, socket.socket]) -> bool:
        return super()._drops(src, pair) or (self.eat_replies.is_set() and src is pair[1])

    def _pump(self, src: socket.socket, dst: socket.socket, pair: tuple[socket.socket, socket.socket]) -> None:
        if self.down.is_set():
            with self._lock:
                self._pairs.discard(pair)
            for s in pair:
                s.close()
            return
        super()._pump(src, dst, pair)


# -- every new call, seen by a second client ---------------------------------------------------------
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_every_tool_and_op_reaches_a_second_client(server, note_id, transport):
    heard: dict[str, list[Any]] = {k: [] for k in ("stroke", "update", "move", "restore", "remove", "cursor")}
    with (
        NoteClient(server.url, note_id, name="ada", transports=[transport]) as a,
        NoteClient(server.url, note_id, name="bob", transports=[transport]) as b,
    ):
        b.on_stroke(heard["stroke"].append)
        b.on_update(heard["update"].append)
        b.on_move(heard["move"].append)
        b.on_restore(heard["restore"].append)
        b.on_remove(heard["remove"].append)
        b.on_cursor(heard["cursor"].append)
        ids = [
            a.draw([(0, 0), (5, 5)], color="#e03131", width=3),
            a.line([(0, 0), (50, 0), (50, 50)], color="#1971c2"),
            a.arrow([(10, 10), (80, 60)], width=4),
            a.rect(0, 0, 40, 30, fill="#ffec99", color="#2f9e44"),
            a.ellipse(100, 100, 60, 80, color="#862e9c"),
            a.text(5, 5, "Hello\r\nworld ✓", 24),
            a.sticky(200, 0, "todo"),
            a.add("highlighter", [(0, 40), (100, 40)], color="#fab005", width=20),
        ]
        a.wait_synced(10)
        rect, text = ids[3], ids[5]
        assert a.update(rect, fill=None, color="#000000") == 9
        assert a.update(text, text="edited", size=40) == 10
        assert a.move([ids[0], rect, "not-there"], 10, -2.5) == 11
        assert a.remove(ids[1]) == 12
        assert a.restore([ids[1], "never-seen"]) == 13
        a.cursor(3, 4, laser=True, view=(0, 0, 800, 600))
        peer = a.profile(name="Ada L.", color="#abcdef")
        assert peer == {"peer": a.peer, "name": "Ada L.", "color": "#abcdef"}
        b.wait_until(lambda c: c.seq == 13 and len(heard["restore"]) == 1 and heard["cursor"], 10)
        b.wait_until(lambda c: any(p["name"] == "Ada L." for p in c.peers), 10)
        assert [op["tool"] for op in heard["stroke"]] == [
            "pen", "line", "arrow", "rect", "ellipse", "text", "text", "highlighter"
        ]  # fmt: skip
        assert heard["stroke"][5]["text"] == "Hello\nworld ✓" and heard["stroke"][6]["fill"] == "#ffd43b"
        assert [op["set"] for op in heard["update"]] == [{"fill": None, "color": "#000000"},
                                                         {"text": "edited", "size": 40}]  # fmt: skip
        assert heard["move"][0]["ids"] == [ids[0], rect] and heard["move"][0]["dx"] == 10
        assert heard["restore"][0]["items"][0]["id"] == ids[1]
        assert {k: heard["cursor"][-1][k] for k in ("x", "y", "laser", "view")} == {
            "x": 3, "y": 4, "laser": True, "view": [0, 0, 800, 600]
        }  # fmt: skip
        r = b.item(rect)
        assert r is not None and "fill" not in r and r["points"] == [[10, -2.5], [50, 27.5]]
        assert [s["id"] for s in b.items] == ids  # the restored line is back in its layer
        assert same_as_server(a, server.url) and same_as_server(b, server.url)


def test_items_are_checked_before_anything_is_sent(server, note_id):
    with NoteClient(server.url, note_id) as c:
        r = c.rect(0, 0, 10, 10)
        with pytest.raises(BadRequest, match="fill"):
            c.add("line", [(0, 0), (1, 1)], fill="#fff")  # a line has no fill
        with pytest.raises(BadRequest, match="exactly 2"):
            c.add("rect", [(0, 0)])
        with pytest.raises(BadRequest, match="text"):
            c.add("text", [(0, 0)])
        with pytest.raises(BadRequest, match="exactly 2"):
            c.update(r, points=[(0, 0)])  # the rect as changed would break its tool's rules
        with pytest.raises(BadRequest, match="cannot change tool"):
            c.update(r, tool="pen")
        with pytest.raises(BadRequest, match="only fill"):
            c.update(r, color=None)
        with pytest.raises(BadRequest):
            c.move([], 1, 1)
        with pytest.raises(NotFound):
            c.move(["nothing-here"], 1, 1)
        with pytest.raises(NotFound):
            c.restore(r)  # live: nothing to restore
        with pytest.raises(BadRequest):
            c.profile()
        with pytest.raises(BadRequest, match="view"):
            c.cursor(0, 0, view=(0, 0, -1, 5))
        c.wait_synced(10)
        assert server_state(server.url, note_id)["seq"] == 1


# -- undo and redo -----------------------------------------------------------------------------------
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_undo_and_redo_of_stroke_remove_and_clear(server, note_id, transport):
    with (
        NoteClient(server.url, note_id, transports=[transport]) as a,
        NoteClient(server.url, note_id, transports=[transport]) as b,
    ):
        s1 = a.draw([(0, 0), (1, 1)])
        s2 = a.rect(0, 0, 5, 5, fill="#ffec99")
        a.undo()  # draw(); undo() removes it, once the stroke is on the server
        assert [s["id"] for s in a.items] == [s1] and a.can_redo
        a.redo()  # restore: the id stays taken, so redo brings the same item back
        assert [s["id"] for s in a.items] == [s1, s2]
        a.remove(s1)
        a.undo()
        assert [s["id"] for s in a.items] == [s1, s2]  # back in its layer
        a.clear()
        assert a.items == []
        assert a.undo() is not None
        assert [s["id"] for s in a.items] == [s1, s2] and a.item(s2)["fill"] == "#ffec99"  # type: ignore[index]
        a.redo()
        assert a.items == []
        b.wait_until(lambda c: c.seq == a.seq, 10)
        assert b.items == [] and same_as_server(a, server.url)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_undo_and_redo_of_move_and_update(server, note_id, transport):
    with NoteClient(server.url, note_id, transports=[transport]) as a, NoteClient(server.url, note_id) as b:
        r = a.rect(0, 0, 10, 10, color="#111111")
        t = a.sticky(0, 0, "note")
        a.move([r, t], 5, 7)
        a.update(r, fill="#ffec99", width=6)
        a.update(t, fill=None, text="plain")
        b.wait_until(lambda c: c.seq == a.seq, 10)
        seen: list[dict[str, Any]] = []
        b.on_update(seen.append)
        a.undo()
        assert a.item(t)["fill"] == "#ffd43b" and a.item(t)["text"] == "note"  # type: ignore[index]
        a.undo()
        assert "fill" not in a.item(r) and a.item(r)["width"] == 2  # type: ignore[operator, index]
        a.undo()
        assert a.item(r)["points"] == [[0, 0], [10, 10]] and a.item(t)["points"] == [[0, 0]]  # type: ignore[index]
        a.redo()
        assert a.item(r)["points"] == [[5, 7], [15, 17]]  # type: ignore[index]
        a.redo()
        assert a.item(r)["fill"] == "#ffec99" and a.item(r)["width"] == 6  # type: ignore[index]
        b.wait_until(lambda c: c.seq == a.seq, 10)
        assert seen[0]["set"] == {"fill": "#ffd43b", "text": "note"}  # what the others see of an undo
        assert b.items == a.items and same_as_server(a, server.url)


def test_an_undo_that_no_longer_applies_is_skipped(server, note_id):
    with NoteClient(server.url, note_id) as a, NoteClient(server.url, note_id) as b:
        errors: list[CollabError] = []
        a.on_error(errors.append)
        mine = a.draw([(0, 0), (1, 1)], wait=True)
        theirs = b.draw([(5, 5), (6, 6)], wait=True)
        a.wait_until(lambda c: c.item(theirs) is not None, 10)
        a.move(theirs, 10, 0)  # a's op on b's item...
        b.wait_until(lambda c: c.seq == a.seq, 10)
        b.remove(theirs)  # ...which b removes later
        a.wait_until(lambda c: c.item(theirs) is None, 10)
        seq = a.seq
        # the move cannot be undone any more (not_found): skipped, and a's stroke is undone instead
        assert a.undo() == seq + 1
        assert a.items == [] and b.item(theirs) is None
        assert a.undo() is None and not a.can_undo  # nothing left
        a.wait_synced(10)  # the skipped undo is no error
        assert errors == [] and same_as_server(a, server.url)
        assert server_state(server.url, note_id)["seq"] == seq + 1  # no op for the skipped undo
        assert b.restore(theirs) is not None
        b.wait_synced(10)
        assert b.item(theirs)["points"] == [[15, 5], [16, 6]]  # type: ignore[index]
        assert mine not in [s["id"] for s in b.items]


def test_undo_without_waiting_runs_in_order_in_the_background(server, note_id):
    with NoteClient(server.url, note_id) as a:
        ids = [a.draw([(i, i)]) for i in range(5)]
        for _ in range(3):
            assert a.undo(wait=False) is None
        a.draw([(9, 9)], id="after")  # a new op after the undos: undone ops stay undone, redo list emptied
        a.wait_until(lambda c: not c.can_undo or len(c.items) == 3, 10)
        a.wait_synced(10)
        assert [s["id"] for s in a.items] == [*ids[:2], "after"]
        assert not a.can_redo and a.redo() is None
        assert a.undo() is not None and [s["id"] for s in a.items] == ids[:2]


def test_undo_of_someone_elses_op_never_happens(server, note_id):
    with NoteClient(server.url, note_id) as a, NoteClient(server.url, note_id) as b:
        b.draw([(0, 0)], wait=True)
        a.wait_until(lambda c: len(c.items) == 1, 10)
        assert a.undo() is None and len(a.items) == 1


def test_many_moves_in_flight_are_each_applied_once(server, note_id):
    """Several acks of one kind in flight: each op is applied once, with its own undo."""
    with NoteClient(server.url, note_id) as a:
        r = a.rect(0, 0, 1, 1, wait=True)
        for i in range(20):
            a.move(r, 1, i, wait=False)
        a.wait_synced(20)
        assert a.item(r)["points"] == [[20, 190], [21, 191]]  # type: ignore[index]
        assert same_as_server(a, server.url)
        a.undo()
        a.undo()
        assert a.item(r)["points"] == [[18, 153], [19, 154]]  # type: ignore[index]  # the last two moves undone
        assert same_as_server(a, server.url)


def test_the_replica_applies_two_moves_acknowledged_one_after_the_other():
    r = NoteReplica("n")
    r.join_request()
    item = {"type": "stroke", "seq": 1, "peer": "o", "id": "a", "tool": "pen", "color": "#000", "width": 2,
            "points": [[0, 0]]}  # fmt: skip
    r.apply_join_ack({"ok": True, "seq": 1, "peer": "me", "strokes": [item]}, 0)
    k1 = r.submit("move", {"ids": ["a"], "dx": 1, "dy": 0})
    k2 = r.submit("move", {"ids": ["a"], "dx": 0, "dy": 5})
    assert len(r.sendable(0, 10, 10_000)) == 2
    first = r.apply_ack(k1, {"ok": True, "seq": 2, "ids": ["a"]}, 0)
    assert [e for e in first if isinstance(e, OpDone)] == [OpDone(k1, 2)]  # k2 is not "done" with k1's seq
    second = r.apply_ack(k2, {"ok": True, "seq": 3, "ids": ["a"]}, 0)
    assert OpDone(k2, 3) in second
    [applied] = [e for e in second if isinstance(e, OpApplied)]
    assert applied.undo == (("move", {"ids": ["a"], "dx": 0, "dy": -5}),)
    assert r.strokes[0]["points"] == [[1, 5]] and r.seq == 3 and r.synced


# -- reconnects -------------------------------------------------------------------------------------
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_move_whose_ack_was_lost_is_not_applied_twice_after_a_reconnect(server, note_id, transport):
    with (
        Proxy("127.0.0.1", server.port) as proxy,
        NoteClient(proxy.url, note_id, transports=[transport], liveness=2.0) as c,
    ):
        r = c.rect(0, 0, 10, 10, wait=True)
        t = c.text(0, 0, "x", wait=True)
        proxy.eat_replies.set()  # the server applies what it gets; its acks vanish
        c.move([r, t], 100, 0, wait=False)
        c.update(t, text="changed", wait=False)
        c.move(r, 0, 50, wait=False)
        deadline = time.monotonic() + 10
        while server_state(server.url, note_id)["seq"] < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server_state(server.url, note_id)["seq"] == 5, "the server did not get the ops"
        proxy.cut_all()
        proxy.eat_replies.clear()
        c.wait_synced(30)  # re-joined: the catch-up shows the three ops applied
        assert c.item(r)["points"] == [[100, 50], [110, 60]]  # type: ignore[index]
        assert server_state(server.url, note_id)["seq"] == 5, "an op was sent again"
        assert proxy.connections >= 2 and same_as_server(c, server.url)
        c.undo()  # undo works across the reconnect too
        assert c.item(r)["points"] == [[100, 0], [110, 10]]  # type: ignore[index]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ops_and_undos_queued_offline_are_sent_once_when_back(server, note_id, transport):
    with (
        Proxy("127.0.0.1", server.port) as proxy,
        NoteClient(proxy.url, note_id, transports=[transport], liveness=2.0) as c,
    ):
        r = c.rect(0, 0, 10, 10, wait=True)
        proxy.down.set()
        proxy.cut_all()
        c.wait_until(lambda cl: not cl.connected, 10)
        c.move(r, 1, 1, wait=False)
        c.move(r, 1, 1, wait=False)
        c.undo(wait=False)
        c.update(r, color="#e03131", wait=False)
        proxy.down.clear()
        c.wait_synced(30)
        state = server_state(server.url, note_id)
        assert state["seq"] == 5 and state["strokes"][0]["points"] == [[1, 1], [11, 11]]
        assert state["strokes"][0]["color"] == "#e03131" and same_as_server(c, server.url)


# -- deleted notes and epochs ------------------------------------------------------------------------
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_note_deleted_while_offline_is_reported_and_never_recreated(server, note_id, transport):
    with Proxy("127.0.0.1", server.port) as proxy:
        c = NoteClient(proxy.url, note_id, transports=[transport], liveness=2.0)
        try:
            deleted: list[str] = []
            told = threading.Event()
            c.on_deleted(lambda n: (deleted.append(n), told.set()))
            c.draw([(0, 0)], wait=True)
            epoch = c.epoch
            assert epoch
            proxy.down.set()
            proxy.cut_all()
            c.wait_until(lambda cl: not cl.connected, 10)
            c.draw([(1, 1)])  # queued while offline
            c.move(c.items[0]["id"], 5, 5, wait=False)
            delete_note(server.url, note_id)
            proxy.down.clear()
            with pytest.raises(NotFound, match="deleted"):
                c.wait_synced(30)
            assert told.wait(5)
            assert deleted == [note_id] and isinstance(c.stopped, NotFound) and c.items == []
            assert requests.get(f"{server.url}/api/notes/{note_id}", timeout=5).status_code == 404  # not recreated
            with pytest.raises(NotFound):
                c.draw([(2, 2)])
        finally:
            c.close(flush=False)


def test_a_client_does_not_mix_into_a_new_note_with_the_same_id(server, note_id):
    with Proxy("127.0.0.1", server.port) as proxy:
        c = NoteClient(proxy.url, note_id, liveness=2.0)
        try:
            c.draw([(0, 0)], id="old", wait=True)
            proxy.down.set()
            proxy.cut_all()
            c.wait_until(lambda cl: not cl.connected, 10)
            c.draw([(1, 1)], id="queued")
            delete_note(server.url, note_id)
            with NoteClient(server.url, note_id) as other:  # the id is used again: a new note
                other.draw([(5, 5)], id="new", wait=True)
            proxy.down.clear()
            with pytest.raises(NotFound):
                c.wait_synced(30)
            assert [s["id"] for s in server_state(server.url, note_id)["strokes"]] == ["new"]
        finally:
            c.close(flush=False)


def test_a_client_given_an_epoch_never_creates_the_note(server, note_id):
    with pytest.raises(NotFound):
        NoteClient(server.url, note_id, epoch="no-such-epoch", timeout=10)
    assert requests.get(f"{server.url}/api/notes/{note_id}", timeout=5).status_code == 404
    with NoteClient(server.url, note_id) as a, NoteClient(server.url, note_id, epoch=a.epoch) as b:
        assert b.epoch == a.epoch


def test_a_deleted_note_stops_a_connected_client(server, note_id):
    with NoteClient(server.url, note_id) as c:
        gone = threading.Event()
        c.on_deleted(lambda n: gone.set())
        c.draw([(0, 0)], wait=True)
        delete_note(server.url, note_id)
        assert gone.wait(10)
        with pytest.raises(NotFound):
            c.undo()


def test_renamed_reaches_the_callback(server, note_id):
    with NoteClient(server.url, note_id) as c:
        titles: list[str] = []
        c.on_renamed(titles.append)
        r = requests.patch(
            f"{server.url}/api/notes/{note_id}", json={"title": "Plans"}, headers={"Origin": server.url}, timeout=5
        )
        assert r.status_code == 200
        c.wait_until(lambda cl: cl.title == "Plans", 10)
        deadline = time.monotonic() + 5
        while not titles and time.monotonic() < deadline:
            time.sleep(0.05)
        assert titles == ["Plans"]


def test_a_profile_set_while_offline_applies_on_connect(tmp_path, note_id):
    srv = ServerProcess(tmp_path)
    c = NoteClient(srv.url, note_id, name="before", wait=False)
    try:
        assert c.profile(name="after") is None  # not connected: kept for the connection
        srv.start()
        c.wait_connected(30)
        assert [p["name"] for p in c.peers] == ["after"]
    finally:
        c.close(flush=False)
        srv.stop()


def test_replicas_match_the_server_after_mixed_ops_from_two_clients(server, note_id):
    with NoteClient(server.url, note_id) as a, NoteClient(server.url, note_id, transports=["polling"]) as b:
        for i in range(10):
            for c in (a, b):
                x = c.rect(i, i, i + 5, i + 5) if i % 2 else c.ellipse(i, 0, i + 3, 3)
                c.move(x, 1, 1, wait=False)
                c.update(x, color="#e03131", wait=False)
                if i % 3 == 0:
                    c.undo(wait=False)
        a.wait_synced(20)
        b.wait_synced(20)
        state = server_state(server.url, note_id)
        assert state["seq"] == 2 * (10 * 3 + 4)
        for c in (a, b):
            c.wait_until(lambda cl: cl.seq == state["seq"], 10)
            assert strokes_equal(c.items, state["strokes"]) and c.items == state["strokes"]
