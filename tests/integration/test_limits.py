"""Each limit answers with the contract's code, and a misbehaving client never hurts the others."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
import requests
import socketio
import websocket

from serverproc import ServerProcess
from sioclient import NS, Peer, stroke

LIMITS = {
    "COLLAB_RATE_OPS": "5",
    "COLLAB_RATE_OPS_BURST": "10",
    "COLLAB_RATE_VOLATILE": "5",
    "COLLAB_RATE_VOLATILE_BURST": "5",
    "COLLAB_FLOOD_LIMIT": "20",
    "COLLAB_MAX_CONNECTIONS_PER_IP": "6",
    "COLLAB_MAX_QUEUED_PACKETS": "20",
    "COLLAB_MAX_NOTES": "3",
}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory):
    with ServerProcess(tmp_path_factory.mktemp("limited"), env=LIMITS) as srv:
        yield srv


def test_op_rate_limit_allows_a_burst_then_refuses(limited: ServerProcess, note_id: str) -> None:
    a = Peer(limited.url)
    try:
        a.call("join", {"note": note_id})
        acks = [a.call("stroke", stroke(note_id, f"s{i}")) for i in range(12)]
        assert all(x["ok"] for x in acks[:10])
        refused = [x for x in acks[10:] if not x["ok"]]
        assert refused and refused[0]["error"]["code"] == "rate_limited"
        time.sleep(1.0)  # the bucket refills at 5/s
        assert a.call("stroke", stroke(note_id, "later"))["ok"]
        # refused ops changed nothing: seqs are still gapless
        state = a.call("join", {"note": note_id})
        assert [s["seq"] for s in state["strokes"]] == list(range(1, len(state["strokes"]) + 1))
    finally:
        a.close()


def test_volatile_events_beyond_the_rate_are_dropped(limited: ServerProcess, note_id: str) -> None:
    a, b = Peer(limited.url), Peer(limited.url)
    try:
        a.call("join", {"note": note_id})
        b.call("join", {"note": note_id})
        acks = [a.call("cursor", {"note": note_id, "x": i, "y": i}) for i in range(8)]
        assert [x["ok"] for x in acks[:5]] == [True] * 5
        assert any(not x["ok"] and x["error"]["code"] == "rate_limited" for x in acks[5:])
        a.call("join", {"note": note_id})  # a round trip: b has had time to get what was relayed
        assert b.wait_until(lambda: len(b.got["cursor"]) >= 5)
        assert len(b.got["cursor"]) < 8  # the dropped ones never reached b
    finally:
        a.close()
        b.close()


def test_a_flooding_client_is_dropped_and_its_neighbour_is_served(limited: ServerProcess, note_id: str) -> None:
    flood, calm = Peer(limited.url), Peer(limited.url)
    try:
        flood.call("join", {"note": note_id})
        calm.call("join", {"note": note_id})
        acks: list = []
        for i in range(60):
            if not flood.sio.connected:
                break
            try:
                flood.emit("stroke", stroke(note_id, f"f{i}"), callback=acks.append)
            except socketio.exceptions.BadNamespaceError:
                break
        assert flood.wait_until(lambda: flood.got["error"], timeout=10)
        assert flood.got["error"][0]["code"] == "rate_limited"
        assert flood.wait_until(lambda: not flood.sio.connected, timeout=10)
        assert calm.call("stroke", stroke(note_id, "calm"))["ok"]
    finally:
        calm.close()


def test_connections_per_ip(limited: ServerProcess) -> None:
    # other tests' clients are closed; open up to the limit, then one more
    peers = []
    try:
        while True:
            try:
                peers.append(Peer(limited.url))
            except socketio.exceptions.ConnectionError:
                break
            assert len(peers) <= 6
        assert len(peers) == 6
        sio = socketio.Client(reconnection=False)
        errors: list = []
        sio.on("connect_error", errors.append, namespace=NS)
        with pytest.raises(socketio.exceptions.ConnectionError):
            sio.connect(limited.url, namespaces=[NS], wait_timeout=5)
        assert errors[0]["code"] == "rate_limited"
    finally:
        for p in peers:
            p.close()
    time.sleep(0.5)
    Peer(limited.url).close()  # slots are given back on disconnect


def test_notes_per_server(limited: ServerProcess) -> None:
    api = limited.url + "/api/notes"
    made = []
    while len(made) < 10:
        r = requests.post(api, json={}, timeout=5)
        if r.status_code != 201:
            break
        made.append(r.json()["id"])
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    for n in made:
        requests.delete(f"{api}/{n}", timeout=5)


def _raw_client(url: str, note: str) -> websocket.WebSocket:
    """A hand-rolled Socket.IO client with a tiny receive buffer, so it can stop reading."""
    host = url.removeprefix("http://")
    ws = websocket.create_connection(
        f"ws://{host}/socket.io/?EIO=4&transport=websocket",
        sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),),
        timeout=10,
    )
    assert ws.recv().startswith("0")  # engine.io open
    ws.send("40/notes,")
    assert ws.recv().startswith("40/notes,")
    ws.send('42/notes,1["join",' + json.dumps({"note": note}) + "]")
    while not ws.recv().startswith("43/notes,1"):
        pass
    return ws


@pytest.fixture
def queue_limited(tmp_path: Path):
    with ServerProcess(tmp_path, env={"COLLAB_MAX_QUEUED_PACKETS": "20"}) as srv:
        yield srv


def test_a_client_that_stops_reading_is_dropped_without_stalling_the_room(
    queue_limited: ServerProcess, note_id: str
) -> None:
    limited = queue_limited
    slow = _raw_client(limited.url, note_id)  # joined, and never reads again
    a, b = Peer(limited.url), Peer(limited.url)
    try:
        a.call("join", {"note": note_id})
        b.call("join", {"note": note_id})
        big = [[i, i] for i in range(3000)]
        sent = 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            names = [p["peer"] for p in (b.got["presence"][-1]["peers"] if b.got["presence"] else [])]
            if b.got["presence"] and len(names) == 2:
                break  # the slow client is gone
            assert a.call("stroke", stroke(note_id, f"big{sent}", points=big))["ok"]
            sent += 1
        assert [p["peer"] for p in b.got["presence"][-1]["peers"]] == [a.sid, b.sid]
        assert b.wait_until(lambda: len(b.got["stroke"]) == sent)  # b got everything meanwhile
        metrics = requests.get(limited.url + "/metrics", timeout=5).text
        assert 'collab_disconnects_forced_total{reason="slow"}' in metrics
    finally:
        slow.close()
        a.close()
        b.close()


def test_metrics_endpoint(server: ServerProcess, note_id: str) -> None:
    a = Peer(server.url)
    a.call("join", {"note": note_id})
    a.call("stroke", stroke(note_id, "m1"))
    a.call("remove", {"note": note_id, "id": "nope"})
    text = requests.get(server.url + "/metrics", timeout=5).text
    a.close()
    assert 'collab_ops_total{kind="stroke"}' in text
    assert 'collab_errors_total{code="not_found"}' in text
    assert "collab_connections " in text and "collab_commit_seconds_bucket" in text
    assert "collab_broadcast_seconds_count" in text


def test_security_headers(server: ServerProcess) -> None:
    r = requests.get(server.url + "/healthz", timeout=5)
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    page = requests.get(server.url + "/", timeout=5)
    if page.status_code == 200:
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'self'" in csp
