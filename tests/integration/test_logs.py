"""Structured logs: with --log-format json every log record is one JSON object."""

from __future__ import annotations

import json
from pathlib import Path

from serverproc import ServerProcess
from sioclient import Peer, stroke


def test_json_logs_record_connects_refusals_and_disconnects(tmp_path: Path, note_id: str) -> None:
    srv = ServerProcess(tmp_path, args=["--log-format", "json"]).start()
    try:
        a = Peer(srv.url, auth={"name": "logged"})
        a.call("stroke", stroke(note_id, "s"))  # refused: not joined
        a.close()
    finally:
        srv.stop()
    records = []
    for line in srv.log_path.read_text().splitlines():
        if line.startswith("collab: serving"):
            continue  # the human-facing banner on stderr
        records.append(json.loads(line))
    assert all({"ts", "level", "logger", "msg"} <= set(r) for r in records)
    msgs = [r["msg"] for r in records]
    assert any(m.startswith("connect sid=") and "name='logged'" in m for m in msgs)
    assert any("refused code=not_joined" in m for m in msgs)
    assert any(m.startswith("disconnect sid=") for m in msgs)
    assert msgs[-1] == "stopped cleanly"
