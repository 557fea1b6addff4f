"""Join times of big notes as clients see them: wall time from emit to decoded ack.

Each sample is a fresh connection (a person opening the note): connect over one
transport, then time the ``join`` until its ack is decoded, then disconnect. Two
clients: collab's Python one (:class:`collab._sioclient.Client`, python-socketio with
collab's codec, what ``NoteClient`` and the CLI use) and socket.io-client under Node
(``bench/join_client.js``, the page's library; the ``node-websocket`` row). Samples are interleaved
over sizes and transports, so a noisy minute on a shared machine spreads over all of
them instead of landing on one.

Beside them, ``raw``: the same joins, each on a new bare WebSocket whose client waits for
the ack's bytes without decoding them (:class:`~.rawclient.Joiner`): the server's part of a
join (read, encode, send) without the Python client's JSON decoding.
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

from ..servers import BENCH
from .rawclient import Joiner

TRANSPORTS = ("websocket", "polling")
#: Node over WebSocket only: its long-polling goes through an XMLHttpRequest polyfill
#: (xmlhttprequest-ssl) that no browser uses, and that is slower than the server for big acks.
NODE = ("node-websocket",)
RAW = "raw"


def one_join(url: str, note: str, transport: str, timeout: float = 300.0) -> dict[str, Any]:
    """One join of ``note`` on a new connection: seconds, strokes received, whether the ack was ok."""
    from collab._sioclient import Client

    client = Client(reconnection=False, handle_sigint=False)
    client.connect(url, namespaces=["/notes"], transports=[transport], wait_timeout=30)
    try:
        t0 = time.perf_counter()
        ack = client.call("join", {"note": note}, namespace="/notes", timeout=timeout)
        seconds = time.perf_counter() - t0
    finally:
        client.disconnect()
    ok = isinstance(ack, dict) and ack.get("ok") is True
    return {"seconds": seconds, "ok": ok, "strokes": len(ack.get("strokes") or []) if ok else 0}


def node_join(url: str, note: str, transport: str) -> dict[str, Any]:
    """One join of ``note`` by socket.io-client under Node on a new connection (see :func:`one_join`)."""
    proc = subprocess.run(
        ["node", str(BENCH / "join_client.js"), "--url", url, "--note", note, "--transport", transport, "--joins", "1"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=BENCH,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"join_client.js exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
    got = json.loads(proc.stdout)
    if got["failures"]:
        raise RuntimeError(got.get("error", "join failed"))
    return {"seconds": got["seconds"][0], "ok": True, "strokes": got["strokes"][0]}


def measure(url: str, notes: dict[int, str], repeats: int) -> list[dict[str, Any]]:
    """``repeats`` joins per note size and client/transport (and raw); one row per (size, transport)."""
    clients = {**{t: one_join for t in TRANSPORTS}, **{t: node_join for t in NODE}}
    rows: dict[tuple[int, str], dict[str, Any]] = {
        (size, t): {"size": size, "transport": t, "seconds": [], "failures": 0}
        for size in notes
        for t in (*clients, RAW)
    }
    for _ in range(repeats):
        for size, note in notes.items():
            for name, join in clients.items():
                row = rows[(size, name)]
                try:
                    got = join(url, note, name.removeprefix("node-"))
                except Exception as exc:  # noqa: BLE001 - a failed join is a result, reported
                    row["failures"] += 1
                    row["error"] = f"{type(exc).__name__}: {exc}"[:300]
                    continue
                if not got["ok"] or got["strokes"] != size:
                    row["failures"] += 1
                    row["error"] = f"ack ok={got['ok']} with {got['strokes']} strokes, expected {size}"
                row["seconds"].append(got["seconds"])
    for size, note in notes.items():
        row = rows[(size, RAW)]
        for _ in range(repeats):  # a connection each, as above: one connection's joins past its burst are paced
            raw = Joiner(url, note)
            try:
                raw.join_once()
            finally:
                raw.close()
            row["seconds"] += raw.times
            row["failures"] += raw.failures
        for t in (*clients, RAW):
            rows[(size, t)]["ack_bytes"] = raw.ack_bytes
    return list(rows.values())
