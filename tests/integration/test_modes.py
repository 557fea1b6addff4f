"""Ordering under load in every async mode: 20 clients write 25 strokes each at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from serverproc import ServerProcess
from sioclient import Peer, stroke

CLIENTS = 20
STROKES = 25


@pytest.mark.parametrize("mode", ["gevent", "eventlet", "threading"])
def test_concurrent_writers_get_exactly_1_to_500(tmp_path: Path, mode: str, note_id: str) -> None:
    with ServerProcess(tmp_path, async_mode=mode) as srv:
        # half the clients on WebSocket, half on long-polling
        peers = [Peer(srv.url, "websocket" if i % 2 else "polling") for i in range(CLIENTS)]
        try:
            for p in peers:
                assert p.call("join", {"note": note_id})["ok"]
            acks: list[list[dict]] = [[] for _ in peers]
            start = threading.Barrier(CLIENTS)

            def write(i: int) -> None:
                start.wait()
                for n in range(STROKES):
                    # pipelined: no waiting for the previous ack
                    peers[i].emit("stroke", stroke(note_id, f"c{i}-{n}"), callback=acks[i].append)

            threads = [threading.Thread(target=write, args=(i,)) for i in range(CLIENTS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            total = CLIENTS * STROKES
            for i, p in enumerate(peers):
                assert p.wait_until(lambda i=i: len(acks[i]) == STROKES, timeout=60), f"client {i} acks"
            seqs = sorted(a["seq"] for per in acks for a in per)
            assert seqs == list(range(1, total + 1))
            for per in acks:
                mine = [a["seq"] for a in per]
                assert mine == sorted(mine), "one client's strokes keep the order it sent them"
            for i, p in enumerate(peers):
                # everyone sees everything: the others' strokes by broadcast, its own by ack
                assert p.wait_until(lambda p=p: len(p.got["stroke"]) == total - STROKES, timeout=60), f"client {i}"
                seen = sorted([s["seq"] for s in p.got["stroke"]] + [a["seq"] for a in acks[i]])
                assert seen == list(range(1, total + 1))
            final = peers[0].call("join", {"note": note_id})
            assert final["seq"] == total and len(final["strokes"]) == total
        finally:
            for p in peers:
                p.close()


def test_threading_mode_answers_a_websocket_close(tmp_path: Path, note_id: str) -> None:
    """Under Werkzeug the close handshake completes: the client is not left to its 3 s close timeout.

    Werkzeug used to read the client's last frames as a new HTTP request and
    answer ``400`` into the WebSocket, so ``disconnect()`` always took the
    client's full close timeout (3 s in websocket-client).
    """
    with ServerProcess(tmp_path, async_mode="threading") as srv:
        for _ in range(3):
            peer = Peer(srv.url, "websocket")
            assert peer.call("join", {"note": note_id})["ok"]
            started = time.monotonic()
            peer.close()
            assert time.monotonic() - started < 2.0, "the close handshake timed out instead of completing"
