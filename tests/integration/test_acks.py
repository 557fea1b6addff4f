"""Acks after commit, against a real server: several ops of one connection in flight, in order, timeouts.

A connection's reader queues an op for the committer and reads on; the
committer sends the ack once the op's batch is stored (``COLLAB_MAX_OPS_IN_FLIGHT``
ops of one connection at once; 0 acks each op before the next is read).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from socketio import packet as sio_packet

from collab.acks import DeferredAck
from collab.errors import StoreUnavailable
from collab.model import OpRequest

from serverproc import ServerProcess
from sioclient import Peer, stroke

TRANSPORTS = ["websocket", "polling"]


@pytest.fixture(scope="module", params=["64", "0"], ids=["in-flight-64", "in-flight-0"])
def acks_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"COLLAB_MAX_OPS_IN_FLIGHT": request.param, "COLLAB_STORE_TIMEOUT": "1", "COLLAB_SQLITE_BUSY_TIMEOUT": "30"}
    with ServerProcess(tmp_path_factory.mktemp("acks"), env=env) as srv:
        yield srv


def committed(url: str) -> tuple[float, float]:
    """(transactions, ops) committed so far, from the server's /metrics."""
    text = requests.get(url + "/metrics", timeout=5).text
    count = re.search(r"^collab_commit_batch_ops_count (\S+)$", text, re.M)
    total = re.search(r"^collab_commit_batch_ops_sum (\S+)$", text, re.M)
    assert count and total, "the commit batch histogram is missing from /metrics"
    return float(count.group(1)), float(total.group(1))


def send_all(peer: Peer, ops: list[dict[str, Any]]) -> list[Any]:
    """Emit every op at once (no waiting between them); their acks, in send order."""
    acks: list[Any] = [None] * len(ops)
    got = threading.Event()

    def answer(i: int) -> Any:
        def record(ack: Any) -> None:
            acks[i] = ack
            if all(a is not None for a in acks):
                got.set()

        return record

    for i, op in enumerate(ops):
        peer.emit("stroke", op, callback=answer(i))
    assert got.wait(30), f"acks missing: {sum(a is None for a in acks)} of {len(ops)}"
    return acks


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ops_sent_back_to_back_are_acked_in_order_and_committed_together(acks_server, note_id, transport) -> None:
    limit = int(acks_server.env["COLLAB_MAX_OPS_IN_FLIGHT"])
    a, b = Peer(acks_server.url, transport), Peer(acks_server.url, transport)
    try:
        a.call("join", {"note": note_id})
        b.call("join", {"note": note_id})
        before = committed(acks_server.url)
        acks = send_all(a, [stroke(note_id, f"s{i}") for i in range(40)])
        after = committed(acks_server.url)
        assert [ack["ok"] for ack in acks] == [True] * 40
        assert [ack["seq"] for ack in acks] == list(range(1, 41))  # committed and acked in send order
        assert b.wait_until(lambda: len(b.got["stroke"]) == 40)
        assert [op["seq"] for op in b.got["stroke"]] == list(range(1, 41))
        transactions, ops = after[0] - before[0], after[1] - before[1]
        assert ops == 40
        if limit:
            # several of one connection's ops shared a transaction: its reader did not wait for each commit
            assert transactions < 40
        else:
            assert transactions == 40  # each op acked before the next was read
    finally:
        a.close()
        b.close()


def test_an_invalid_op_between_valid_ones_is_answered_and_the_rest_commit(acks_server, note_id) -> None:
    a = Peer(acks_server.url)
    try:
        a.call("join", {"note": note_id})
        ops = [stroke(note_id, "ok-1"), stroke(note_id, "bad", width=1000), stroke(note_id, "ok-2")]
        acks = send_all(a, ops)
        assert acks[0] == {"ok": True, "seq": 1}
        assert acks[1]["ok"] is False and acks[1]["error"]["code"] == "bad_request"
        assert acks[2] == {"ok": True, "seq": 2}
        assert send_all(a, [stroke(note_id, "ok-1")]) == [{"ok": True, "seq": 1, "duplicate": True}]
    finally:
        a.close()


def test_a_store_that_does_not_answer_in_time_gives_an_error_ack_and_a_retry_is_exact(acks_server, note_id) -> None:
    """COLLAB_STORE_TIMEOUT=1: while another connection holds the SQLite write lock, the op is answered
    ``internal`` after ~1 s; once the lock is gone the op commits, and re-sending it gives its seq."""
    a = Peer(acks_server.url)
    try:
        a.call("join", {"note": note_id})
        assert send_all(a, [stroke(note_id, "first")]) == [{"ok": True, "seq": 1}]
        db = acks_server.database.removeprefix("sqlite:///")
        lock = sqlite3.connect(db, isolation_level=None, timeout=10)
        try:
            lock.execute("BEGIN IMMEDIATE")  # the server's writer now waits (busy timeout 30 s)
            [ack] = send_all(a, [stroke(note_id, "late")])
            assert ack["ok"] is False and ack["error"]["code"] == "internal"
            assert "did not answer within 1s" in ack["error"]["message"]
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        for _ in range(50):  # the waiting batch commits once the lock is gone
            [retry] = send_all(a, [stroke(note_id, "late")])
            if retry["ok"]:
                break
        assert retry == {"ok": True, "seq": 2, "duplicate": True}
        assert [ack["seq"] for ack in send_all(a, [stroke(note_id, "after")])] == [3]
    finally:
        a.close()


class _Server:
    """Records the acks a DeferredAck sends (what python-socketio's server would write)."""

    packet_class = sio_packet.Packet

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.eio = type("Eio", (), {"sockets": {"e1": object()}})()

    def _send_packet(self, eio_sid: str, pkt: Any) -> None:
        self.sent.append((eio_sid, pkt.data))


class _Namespace:
    """The two callbacks DeferredAck makes into NotesNamespace, counting settlements."""

    def __init__(self) -> None:
        self.answered = 0

    def _settled(self, event: str, conn: Any, req: Any) -> dict[str, Any]:
        return self._answered(event, conn, {"ok": True, "seq": 7})

    def _answered(self, event: str, conn: Any, ack: dict[str, Any]) -> dict[str, Any]:
        self.answered += 1
        return ack


def _deferred() -> tuple[Any, _Namespace, _Server]:
    ns, server = _Namespace(), _Server()
    return DeferredAck(ns, object(), OpRequest("n", "clear", "p")), ns, server  # type: ignore[arg-type]


@pytest.mark.parametrize("order", ["bind-then-set", "set-then-bind"])
def test_a_deferred_ack_is_sent_once_whichever_side_comes_second(order: str) -> None:
    ack, ns, server = _deferred()
    steps = [lambda: ack.bind(server, "e1", "/notes", 3), ack.set]
    for step in steps if order == "bind-then-set" else steps[::-1]:
        step()
    ack.set()  # a second outcome changes nothing
    assert server.sent == [("e1", [{"ok": True, "seq": 7}])] and ns.answered == 1


def test_an_expired_deferred_ack_is_not_answered_again_when_the_commit_comes() -> None:
    ack, ns, server = _deferred()
    ack.bind(server, "e1", "/notes", 3)
    ack.expire(StoreUnavailable("slow"))
    ack.set()
    assert [data[0]["error"]["code"] for _, data in server.sent] == ["internal"] and ns.answered == 1


@pytest.mark.parametrize(("eio_sid", "ack_id"), [("e1", None), ("gone", 3)], ids=["no-ack-wanted", "client-gone"])
def test_a_deferred_ack_nobody_waits_for_is_settled_but_not_sent(eio_sid: str, ack_id: int | None) -> None:
    ack, ns, server = _deferred()
    ack.bind(server, eio_sid, "/notes", ack_id)
    ack.set()
    assert server.sent == [] and ns.answered == 1 and ack.settled
