"""Fault tests: a proxy cuts the client's connections at random moments while it draws and moves.

Two clients behind a :class:`FaultProxy` draw 150 strokes each (and remove a
few of their own), while the proxy aborts every live connection at moments
drawn from a fixed seed. At the end the server must hold every surviving
stroke exactly once, its op log (as an uncut observer saw it) must be
gapless with each op once, and every client's replica must equal the
server's state — over WebSocket and over long-polling. Moves and updates,
which are not idempotent, are cut the same way: each must be applied once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest
import requests

from collab.client import NoteClient
from collab.errors import NotFound
from collab.replica import strokes_equal

from faultproxy import FaultProxy

N_PER_CLIENT = 150
REMOVE_EVERY = 10  # each client removes its stroke i-5 after drawing stroke i, for i % 10 == 9
MIN_CUTS = 6


def _server_note(url: str, note: str) -> dict[str, Any]:
    r = requests.get(f"{url}/api/notes/{note}", timeout=10)
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


def _draw_many(client: NoteClient, prefix: str, errors: list[BaseException]) -> None:
    try:
        for i in range(N_PER_CLIENT):
            client.draw([(i, 0), (i, 5), (i + 1, 9)], color="#1971c2", width=2, id=f"{prefix}-{i}")
            if i % REMOVE_EVERY == REMOVE_EVERY - 1:
                client.remove(f"{prefix}-{i - 5}", wait=False)
            time.sleep(0.04)
    except BaseException as exc:
        errors.append(exc)


def _expected(prefix: str) -> list[str]:
    removed = {i - 5 for i in range(N_PER_CLIENT) if i % REMOVE_EVERY == REMOVE_EVERY - 1}
    return [f"{prefix}-{i}" for i in range(N_PER_CLIENT) if i not in removed]


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_random_cuts_lose_nothing_and_duplicate_nothing(server, note_id, transport):
    with FaultProxy("127.0.0.1", server.port) as proxy:
        clients = [
            NoteClient(proxy.url, note_id, name=f"c{i}", transports=[transport], liveness=3.0, timeout=20)
            for i in range(2)
        ]
        # An observer straight to the server (never cut) records the op stream.
        observer = NoteClient(server.url, note_id, name="observer", transports=[transport], wait=False)
        seen: list[dict[str, Any]] = []
        observer.on("op", seen.append)
        observer.wait_connected(20)
        try:
            proxy.start_chaos(seed=20261121 + len(transport), min_gap=0.25, max_gap=1.2)
            errors: list[BaseException] = []
            threads = [
                threading.Thread(target=_draw_many, args=(c, f"{transport}-c{i}", errors))
                for i, c in enumerate(clients)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(90)
            assert not errors, errors
            # Keep cutting while the clients catch up, until enough cuts happened (bounded).
            deadline = time.monotonic() + 15
            while proxy.cuts < MIN_CUTS and time.monotonic() < deadline:
                time.sleep(0.1)
            proxy.stop_chaos()
            assert proxy.cuts >= MIN_CUTS, f"the proxy cut only {proxy.cuts} times; the test proves little"
            for c in clients:
                c.wait_synced(timeout=60)

            state = _server_note(server.url, note_id)
            expected = _expected(f"{transport}-c0") + _expected(f"{transport}-c1")
            ids = [s["id"] for s in state["strokes"]]
            assert sorted(ids) == sorted(expected), "a stroke was lost, duplicated or wrongly removed"
            n_removes = 2 * (N_PER_CLIENT // REMOVE_EVERY)
            assert state["seq"] == 2 * N_PER_CLIENT + n_removes, "an op was applied twice or lost"
            for c in [*clients, observer]:
                c.wait_until(lambda cl: cl.seq == state["seq"], timeout=30)
                assert strokes_equal(c.strokes, state["strokes"]), f"replica of {c!r} differs from the server"
                assert c.pending == []
            deadline = time.monotonic() + 10  # callbacks run on their own thread: let them catch up
            while len(seen) < state["seq"] and time.monotonic() < deadline:
                time.sleep(0.05)
            assert [op["seq"] for op in seen] == list(range(1, state["seq"] + 1)), "the op log has gaps or repeats"
            assert Counter(op["type"] for op in seen) == {"stroke": 2 * N_PER_CLIENT, "remove": n_removes}
        finally:
            for c in [*clients, observer]:
                c.close(flush=False)


N_MOVES = 60


def _move_many(client: NoteClient, box: str, errors: list[BaseException]) -> None:
    try:
        for k in range(N_MOVES):
            client.move(box, 1, 2, wait=False)
            if k % 10 == 9:
                client.update(box, width=1 + k // 10, wait=False)
            time.sleep(0.04)
    except BaseException as exc:
        errors.append(exc)


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_random_cuts_never_apply_a_move_twice(server, note_id, transport):
    with FaultProxy("127.0.0.1", server.port) as proxy:
        clients = [
            NoteClient(proxy.url, note_id, name=f"m{i}", transports=[transport], liveness=3.0, timeout=20)
            for i in range(2)
        ]
        try:
            boxes = [c.rect(0, 0, 10, 10, id=f"box-{i}", wait=True) for i, c in enumerate(clients)]
            proxy.start_chaos(seed=20261202 + len(transport), min_gap=0.25, max_gap=1.2)
            errors: list[BaseException] = []
            threads = [
                threading.Thread(target=_move_many, args=(c, b, errors)) for c, b in zip(clients, boxes, strict=True)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(90)
            assert not errors, errors
            deadline = time.monotonic() + 15
            while proxy.cuts < MIN_CUTS and time.monotonic() < deadline:
                time.sleep(0.1)
            proxy.stop_chaos()
            assert proxy.cuts >= MIN_CUTS, f"the proxy cut only {proxy.cuts} times; the test proves little"
            for c in clients:
                c.wait_synced(timeout=60)
            state = _server_note(server.url, note_id)
            assert state["seq"] == 2 + 2 * (N_MOVES + N_MOVES // 10), "an op was applied twice or lost"
            for item in state["strokes"]:
                assert item["points"] == [[N_MOVES, 2 * N_MOVES], [10 + N_MOVES, 10 + 2 * N_MOVES]], item
                assert item["width"] == N_MOVES // 10
            for c in clients:
                c.wait_until(lambda cl: cl.seq == state["seq"], timeout=30)
                assert c.items == state["strokes"], f"replica of {c!r} differs from the server"
        finally:
            for c in clients:
                c.close(flush=False)


def _mix_a(client: NoteClient, errors: list[BaseException]) -> None:
    """Strokes, then moves (each by its own dx), updates and removes of this client's own items."""
    try:
        for k in range(40):
            client.draw([(k, 0), (k, 5)], color="#1971c2", width=2, id=f"a-{k}")
            if k % 5 == 4:
                client.move([f"a-{k - 1}"], k, 0, wait=False)
            if k % 7 == 6:
                client.update(f"a-{k - 2}", width=k, wait=False)
            if k % 10 == 9:
                client.remove(f"a-{k - 3}", wait=False)
            time.sleep(0.04)
    except BaseException as exc:
        errors.append(exc)


def _mix_b(client: NoteClient, errors: list[BaseException]) -> None:
    """Strokes, and now and then a clear of everything, undone (a restore) right after."""
    try:
        for k in range(40):
            client.draw([(k, 50), (k, 55)], color="#e03131", width=3, id=f"b-{k}")
            if k % 13 == 12:
                client.clear(wait=False)
                client.undo(wait=False)
            time.sleep(0.04)
    except BaseException as exc:
        errors.append(exc)


def _wait_synced_past_clears(client: NoteClient) -> None:
    """``wait_synced``, where refusals of ``not_found`` are the contract's answer, not a failure.

    An op on one of a's items that reaches the server after b's clear and before its
    undo acts on an item that is gone: ``not_found``, and the op is dropped (the counts
    below allow for it). Any other error still fails the test.
    """
    while True:
        try:
            client.wait_synced(timeout=60)
            return
        except NotFound:
            continue


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_random_cuts_with_every_kind_of_op_leave_every_replica_equal_to_the_server(server, note_id, transport):
    with FaultProxy("127.0.0.1", server.port) as proxy:
        a, b = (NoteClient(proxy.url, note_id, name=n, transports=[transport], liveness=3.0, timeout=20) for n in "ab")
        observer = NoteClient(server.url, note_id, name="observer", transports=[transport], wait=False)
        seen: list[dict[str, Any]] = []
        observer.on("op", seen.append)
        observer.wait_connected(20)
        try:
            proxy.start_chaos(seed=20261203 + len(transport), min_gap=0.25, max_gap=1.2)
            errors: list[BaseException] = []
            threads = [
                threading.Thread(target=_mix_a, args=(a, errors)),
                threading.Thread(target=_mix_b, args=(b, errors)),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(90)
            assert not errors, errors
            deadline = time.monotonic() + 15
            while proxy.cuts < MIN_CUTS and time.monotonic() < deadline:
                time.sleep(0.1)
            proxy.stop_chaos()
            assert proxy.cuts >= MIN_CUTS, f"the proxy cut only {proxy.cuts} times; the test proves little"
            _wait_synced_past_clears(a)  # a's update, move or remove may land between b's clear and its undo
            b.wait_synced(timeout=60)
            state = _server_note(server.url, note_id)
            for c in (a, b, observer):
                c.wait_until(lambda cl: cl.seq == state["seq"], timeout=30)
                assert c.items == state["strokes"], f"replica of {c!r} differs from the server"
            deadline = time.monotonic() + 10
            while len(seen) < state["seq"] and time.monotonic() < deadline:
                time.sleep(0.05)
            assert [op["seq"] for op in seen] == list(range(1, state["seq"] + 1)), "the op log has gaps or repeats"
            kinds = Counter(op["type"] for op in seen)
            assert kinds["stroke"] == 80, "a stroke was lost or applied twice"
            assert kinds["clear"] == 3 and kinds["restore"] == 3, kinds  # each clear and its undo exactly once
            moves = [(tuple(op["ids"]), op["dx"]) for op in seen if op["type"] == "move"]
            assert len(moves) == len(set(moves)), "a move was applied twice"
            assert len(moves) <= 8 and kinds["update"] <= 5 and kinds["remove"] <= 4, kinds
        finally:
            for c in (a, b, observer):
                c.close(flush=False)


def test_a_move_queued_behind_a_dead_post_is_applied_once(server, note_id):
    """An abandoned polling connection must not deliver ops the next connection sends again.

    The link goes dead while a POST carries the first move, so the second
    waits in Engine.IO's queue. The client gives up on the link (liveness),
    connects again once the link is back and sends both moves again. The old
    connection's writer, back from its timed-out POST, must then send only
    its goodbye, not the queued move as well: each move is applied once.
    """
    with FaultProxy("127.0.0.1", server.port) as proxy:
        client = NoteClient(proxy.url, note_id, name="mover", transports=["polling"], liveness=2.0, timeout=30)
        try:
            box = client.rect(0, 0, 10, 10, wait=True)
            proxy.freeze()
            client.move(box, 1, 0, wait=False)
            time.sleep(0.3)  # the first move's POST is under way into the black hole
            client.move(box, 0, 1, wait=False)
            client.wait_until(lambda c: not c.connected, timeout=10)
            proxy.thaw()
            client.wait_synced(timeout=30)
            time.sleep(5)  # past the old POST's timeout, when its writer sends what it had queued
            state = _server_note(server.url, note_id)
            assert state["seq"] == 3, "a move was applied twice or lost"
            assert state["strokes"][0]["points"] == [[1, 1], [11, 11]]
        finally:
            client.close(flush=False)
