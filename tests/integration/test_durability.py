"""Acknowledged strokes survive kill -9 and a restart on the same database."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from serverproc import ServerProcess
from sioclient import Peer, stroke


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_acked_strokes_survive_sigkill(
    tmp_path: Path, note_id: str, backend: str, request: pytest.FixtureRequest
) -> None:
    database = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    srv = ServerProcess(tmp_path, database=database).start()
    acked: list[dict] = []
    try:
        a = Peer(srv.url)
        a.call("join", {"note": note_id})
        for i in range(60):
            a.emit("stroke", stroke(note_id, f"s{i}"), callback=acked.append)
        a.wait_until(lambda: len(acked) >= 30, timeout=30)
        srv.kill()  # SIGKILL while strokes may still be in flight
        a.close()
        acked_ids = {f"s{ack['seq'] - 1}" for ack in acked if ack.get("ok")}
        assert len(acked_ids) >= 30
        srv.restart()
        body = requests.get(f"{srv.url}/api/notes/{note_id}", timeout=5).json()
        stored = [s["id"] for s in body["strokes"]]
        assert acked_ids <= set(stored), "every acknowledged stroke is stored"
        assert [s["seq"] for s in body["strokes"]] == list(range(1, len(stored) + 1))
        # writing continues gaplessly after the restart
        b = Peer(srv.url)
        b.call("join", {"note": note_id})
        assert b.call("stroke", stroke(note_id, "after"))["seq"] == body["seq"] + 1
        b.close()
    finally:
        srv.stop()


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path).start()
    assert srv.stop() == 0
