"""Fault test: a proxy cuts the client's connections at random moments while it draws.

At the end the server must hold every stroke exactly once with gapless seqs,
and every client's replica must equal the server's state — over WebSocket and
over long-polling. The cut moments come from a fixed seed.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from collab.client import NoteClient
from collab.replica import strokes_equal

from faultproxy import FaultProxy

N_PER_CLIENT = 150
MIN_CUTS = 6


def _server_note(url: str, note: str) -> dict[str, Any]:
    r = requests.get(f"{url}/api/notes/{note}", timeout=10)
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


def _draw_many(client: NoteClient, prefix: str, n: int, pause: float, errors: list[BaseException]) -> None:
    try:
        for i in range(n):
            client.draw([(i, 0), (i, 5), (i + 1, 9)], color="#1971c2", width=2, id=f"{prefix}-{i}")
            time.sleep(pause)
    except BaseException as exc:
        errors.append(exc)


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_random_cuts_lose_nothing_and_duplicate_nothing(server, note_id, transport):
    with FaultProxy("127.0.0.1", server.port) as proxy:
        clients = [
            NoteClient(proxy.url, note_id, name=f"c{i}", transports=[transport], liveness=3.0, timeout=20)
            for i in range(2)
        ]
        # An observer straight to the server (no cuts): its replica must converge too.
        observer = NoteClient(server.url, note_id, name="observer", transports=[transport])
        try:
            proxy.start_chaos(seed=20261121 + len(transport), min_gap=0.25, max_gap=1.2)
            errors: list[BaseException] = []
            threads = [
                threading.Thread(target=_draw_many, args=(c, f"{transport}-c{i}", N_PER_CLIENT, 0.04, errors))
                for i, c in enumerate(clients)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
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
            ids = [s["id"] for s in state["strokes"]]
            assert len(ids) == 2 * N_PER_CLIENT, "a stroke was lost or duplicated"
            assert sorted(ids) == sorted(f"{transport}-c{i}-{k}" for i in range(2) for k in range(N_PER_CLIENT))
            assert [s["seq"] for s in state["strokes"]] == list(range(1, 2 * N_PER_CLIENT + 1)), "seqs have gaps"
            assert state["seq"] == 2 * N_PER_CLIENT
            for c in [*clients, observer]:
                c.wait_until(lambda cl: cl.seq == state["seq"], timeout=30)
                assert strokes_equal(c.strokes, state["strokes"]), f"replica of {c!r} differs from the server"
                assert c.pending == []
        finally:
            for c in [*clients, observer]:
                c.close(flush=False)
