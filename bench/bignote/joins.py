"""Join times of big notes as a python-socketio client sees them: wall time from emit to ack.

Each sample is a fresh connection (a person opening the note): connect over one
transport, then time ``call("join", {note})`` until its ack is decoded, then disconnect.
Samples are interleaved over sizes and transports, so a noisy minute on a shared machine
spreads over all of them instead of landing on one.

Beside them, ``raw``: the same joins on one bare WebSocket whose client waits for the
ack's bytes without decoding them (:class:`~.rawclient.Joiner`): the server's part of a
join (read, encode, send) without the Python client's JSON decoding.
"""

from __future__ import annotations

import time
from typing import Any

from .rawclient import Joiner

TRANSPORTS = ("websocket", "polling")
RAW = "raw"


def one_join(url: str, note: str, transport: str, timeout: float = 300.0) -> dict[str, Any]:
    """One join of ``note`` on a new connection: seconds, strokes received, whether the ack was ok."""
    import socketio

    client = socketio.Client(reconnection=False)
    client.connect(url, namespaces=["/notes"], transports=[transport], wait_timeout=30)
    try:
        t0 = time.perf_counter()
        ack = client.call("join", {"note": note}, namespace="/notes", timeout=timeout)
        seconds = time.perf_counter() - t0
    finally:
        client.disconnect()
    ok = isinstance(ack, dict) and ack.get("ok") is True
    return {"seconds": seconds, "ok": ok, "strokes": len(ack.get("strokes") or []) if ok else 0}


def measure(url: str, notes: dict[int, str], repeats: int) -> list[dict[str, Any]]:
    """``repeats`` joins per note size and transport (and raw); one row per (size, transport) with every sample."""
    rows: dict[tuple[int, str], dict[str, Any]] = {
        (size, t): {"size": size, "transport": t, "seconds": [], "failures": 0}
        for size in notes
        for t in (*TRANSPORTS, RAW)
    }
    for _ in range(repeats):
        for size, note in notes.items():
            for transport in TRANSPORTS:
                row = rows[(size, transport)]
                try:
                    got = one_join(url, note, transport)
                except Exception as exc:  # noqa: BLE001 - a failed join is a result, reported
                    row["failures"] += 1
                    row["error"] = f"{type(exc).__name__}: {exc}"[:300]
                    continue
                if not got["ok"] or got["strokes"] != size:
                    row["failures"] += 1
                    row["error"] = f"ack ok={got['ok']} with {got['strokes']} strokes, expected {size}"
                row["seconds"].append(got["seconds"])
    for size, note in notes.items():
        raw = Joiner(url, note)
        try:
            for _ in range(repeats):
                raw.join_once()
        finally:
            raw.close()
        rows[(size, RAW)].update(seconds=raw.times, failures=raw.failures)
        for t in (*TRANSPORTS, RAW):
            rows[(size, t)]["ack_bytes"] = raw.ack_bytes
    return list(rows.values())
