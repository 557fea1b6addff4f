"""Attacks on the realtime layer, each run against the real server with a measured neighbour beside it."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
import requests
import socketio

from collab.access import ShareLinks
from collab.store import open_store

from serverproc import ServerProcess, fill
from sioclient import Peer, stroke


def mint(srv: ServerProcess, note: str, role: str, max_age: int) -> str:
    store = open_store(srv.database)
    try:
        store.create(note, note)
        return ShareLinks(store.secret(), max_age).make(note, role)
    finally:
        store.close()


def test_a_share_link_that_expires_while_connected_loses_its_role_at_once(tmp_path: Path) -> None:
    with ServerProcess(tmp_path, env={"COLLAB_DEFAULT_ROLE": "view", "COLLAB_SHARE_MAX_AGE": "3"}) as srv:
        token = mint(srv, "shared", "edit", 3)
        busy, idle = Peer(srv.url, auth={"token": token}), Peer(srv.url, auth={"token": token})
        try:
            for p in (busy, idle):
                assert p.call("join", {"note": "shared"})["role"] == "edit"
            minted = time.time()
            last_ok, i = 0.0, 0
            while time.time() < minted + 8:  # draw until refused or dropped
                try:
                    ack = busy.call("stroke", stroke("shared", f"s{i}"), timeout=5)
                except socketio.exceptions.SocketIOError:
                    break  # the watchdog dropped it between two strokes
                if not ack["ok"]:
                    assert ack["error"]["code"] == "forbidden"
                    break
                last_ok, i = time.time(), i + 1
                time.sleep(0.05)
            assert minted + 1 < last_ok < minted + 3 + 1.5  # accepted until the link expired, not after
            for p in (busy, idle):  # the idle one too, by the watchdog
                assert p.wait_until(lambda p=p: not p.sio.connected and bool(p.got["error"]), timeout=5)
                assert p.got["error"][0]["code"] == "forbidden"
            assert len(srv_state(srv, "shared")) == i
        finally:
            busy.close()
            idle.close()


def srv_state(srv: ServerProcess, note: str) -> list[dict]:
    import requests

    return requests.get(f"{srv.url}/api/notes/{note}", timeout=5).json()["strokes"]  # type: ignore[no-any-return]


def test_a_share_link_opens_its_own_note_and_no_other(tmp_path: Path) -> None:
    with ServerProcess(tmp_path) as srv:  # the default role is edit: the link must still not widen or keep it
        token = mint(srv, "mine", "view", 3600)
        store = open_store(srv.database)
        store.create("other", "Other")
        store.close()
        p = Peer(srv.url, auth={"token": token})
        try:
            assert p.call("join", {"note": "mine"})["role"] == "view"
            assert p.call("join", {"note": "other"})["error"]["code"] == "forbidden"
            assert p.call("join", {"note": "missing"})["error"]["code"] == "not_found"  # and it creates nothing
        finally:
            p.close()


def test_joining_a_note_named_like_a_peer_id_reaches_no_peer(server: ServerProcess) -> None:
    victim, attacker = Peer(server.url), Peer(server.url)
    try:
        assert victim.call("join", {"note": "victims-note"})["ok"]
        ack = attacker.call("join", {"note": victim.sid})  # a valid note id that is also a Socket.IO room
        assert ack["ok"] and ack["strokes"] == []
        assert attacker.call("stroke", stroke(victim.sid, "x"))["ok"]
        assert attacker.call("cursor", {"note": victim.sid, "x": 1, "y": 1})["ok"]
        time.sleep(0.3)
        assert victim.got["stroke"] == [] and victim.got["cursor"] == []  # nothing leaked into the victim's room
        assert victim.sio.connected
    finally:
        victim.close()
        attacker.close()


def raw_event(sio: socketio.Client, encoded: str) -> None:
    """Send one EVENT packet as written (``42/notes,<id><json>``), bypassing the client's encoder."""
    sio.eio.send(encoded)


@pytest.mark.parametrize(
    "body",
    [
        '{"event": "join"}',  # an event name that is an object
        "[42]",
        "[]",
        '[null, {"note": "n"}]',
        "[" * 5000 + "]" * 5000,  # nested past any parser's limit
        '["stroke", {"note": "n", "x": ' + "9" * 5000 + "}]",  # a 5,000-digit integer
        '["stroke", {"note": "n"',  # cut short
    ],
    ids=["object-name", "number-name", "empty", "null-name", "deep", "huge-int", "truncated"],
)
def test_malformed_events_are_refused_as_bad_request_and_the_connection_lives(server: ServerProcess, body: str) -> None:
    p = Peer(server.url)
    neighbour = Peer(server.url)
    try:
        assert neighbour.call("join", {"note": "calm"})["ok"]
        answers: list = []
        ack_id = p.sio._generate_ack_id("/notes", lambda *a: answers.append(a))
        raw_event(p.sio, f"2/notes,{ack_id}" + body)
        assert p.wait_until(lambda: bool(answers), timeout=10), "no ack for a malformed event"
        (ack,) = answers[0]
        assert ack["ok"] is False and ack["error"]["code"] == "bad_request"
        assert p.call("join", {"note": "after"})["ok"]  # still connected and served
        assert neighbour.call("stroke", stroke("calm", "fine"))["ok"]
        assert "Traceback" not in server.log_path.read_text()
    finally:
        p.close()
        neighbour.close()


def test_joins_are_rate_limited_and_a_flood_of_refusals_drops_the_sender(tmp_path: Path) -> None:
    env = {
        "COLLAB_RATE_JOINS": "2",
        "COLLAB_RATE_JOINS_BURST": "5",
        "COLLAB_FLOOD_LIMIT": "30",
        "COLLAB_MAX_NOTES": "1000",
    }
    with ServerProcess(tmp_path, env=env) as srv:
        attacker, neighbour = Peer(srv.url), Peer(srv.url)
        try:
            assert neighbour.call("join", {"note": "calm"})["ok"]
            codes = [attacker.call("join", {"note": f"spam-{i}"}).get("error", {}).get("code") for i in range(12)]
            assert codes[:5] == [None] * 5 and set(codes[6:]) == {"rate_limited"}
            assert len(requests.get(f"{srv.url}/api/notes", timeout=5).json()) <= 7  # not one note per join
            # refusals of any kind count: drafts to a note it has not joined, sent as fast as it can
            big = {"note": "nowhere", "id": "d", "color": "#000", "width": 1, "points": [[0, 0]] * 5000}
            for _ in range(60):
                if not attacker.sio.connected:
                    break
                try:
                    attacker.emit("draft", big)
                except socketio.exceptions.SocketIOError:
                    break
            assert attacker.wait_until(lambda: not attacker.sio.connected, timeout=10)
            assert attacker.got["error"] and attacker.got["error"][0]["code"] == "rate_limited"
            assert neighbour.call("stroke", stroke("calm", "fine"))["ok"]  # the neighbour is served throughout
            log = srv.log_path.read_text()
            assert log.count("refused code=") < 40  # a flood of refusals does not flood the log
        finally:
            attacker.close()
            neighbour.close()


def test_joins_of_a_big_note_back_to_back_are_paced_by_bytes_and_never_refused(tmp_path: Path) -> None:
    env = {"COLLAB_RATE_JOIN_BYTES": "1000000", "COLLAB_RATE_JOIN_BYTES_BURST": "1500000"}
    with ServerProcess(tmp_path, env=env) as srv:
        fill(srv, "big", 1000)  # a join ack of ~0.5 MB
        joiner, neighbour = Peer(srv.url), Peer(srv.url)
        try:
            assert neighbour.call("join", {"note": "calm"})["ok"]
            t0 = time.monotonic()
            sizes = []
            for _ in range(8):
                ack = joiner.call("join", {"note": "big"}, timeout=60)
                assert ack["ok"] and len(ack["strokes"]) == 1000  # held back, never refused
                sizes.append(len(json.dumps(ack["strokes"], separators=(",", ":"))))
                assert neighbour.call("stroke", stroke("calm", f"s{len(sizes)}"))["ok"]  # served meanwhile
            took = time.monotonic() - t0
            # Past the 1.5 MB burst the acks come at 1 MB/s: the policy's floor, not a speed figure.
            floor = (sum(sizes) - 1_500_000) / 1_000_000
            assert floor > 1 and took >= 0.9 * floor, (took, floor)
            paced = requests.get(f"{srv.url}/metrics", timeout=5).text
            assert "collab_joins_paced_total " in paced and "collab_joins_paced_total 0.0" not in paced
        finally:
            joiner.close()
            neighbour.close()


def test_a_first_join_of_a_big_note_is_never_held(tmp_path: Path) -> None:
    with ServerProcess(tmp_path) as srv:  # the defaults: a 64 MB burst
        fill(srv, "big", 1000)
        peers = [Peer(srv.url) for _ in range(3)]
        try:
            for p in peers:
                assert p.call("join", {"note": "big"})["ok"]
            assert "collab_joins_paced_total 0.0" in requests.get(f"{srv.url}/metrics", timeout=5).text
        finally:
            for p in peers:
                p.close()


def test_a_host_not_in_allowed_hosts_is_refused_for_requests_and_sockets(tmp_path: Path) -> None:
    with ServerProcess(tmp_path, env={"COLLAB_ALLOWED_HOSTS": "127.0.0.1, .example.test"}) as srv:
        assert requests.get(f"{srv.url}/api/notes", timeout=5).status_code == 200
        ok = requests.get(f"{srv.url}/api/notes", headers={"Host": "notes.example.test:8080"}, timeout=5)
        assert ok.status_code == 200
        rebound = requests.get(f"{srv.url}/api/notes", headers={"Host": "attacker.example"}, timeout=5)
        assert rebound.status_code == 400 and rebound.json()["error"]["code"] == "bad_request"
        evil = socketio.Client(reconnection=False)
        refusals: list = []
        evil.on("connect_error", refusals.append, namespace="/notes")
        with pytest.raises(socketio.exceptions.ConnectionError):
            evil.connect(srv.url, namespaces=["/notes"], transports=["polling"], headers={"Host": "attacker.example"})
        assert refusals and refusals[-1]["code"] == "forbidden"
        good = Peer(srv.url)
        try:
            assert good.call("join", {"note": "n"})["ok"]
        finally:
            good.close()


def test_a_reader_that_never_reads_big_joins_is_dropped_by_bytes_not_packets(tmp_path: Path) -> None:
    env = {"COLLAB_MAX_QUEUED_BYTES": "2000000", "COLLAB_MAX_QUEUED_PACKETS": "2000"}
    with ServerProcess(tmp_path, env=env) as srv:
        fill(srv, "big", 1000)  # a join ack of ~0.5 MB
        neighbour = Peer(srv.url)
        http = requests.Session()
        try:
            assert neighbour.call("join", {"note": "calm"})["ok"]
            base = f"{srv.url}/socket.io/?EIO=4&transport=polling"
            sid = json.loads(http.get(base, timeout=5).text[1:])["sid"]
            url = f"{base}&sid={sid}"
            assert http.post(url, data="40/notes,", timeout=5).ok
            gone = False
            for i in range(40):  # join after join, never reading the answers
                r = http.post(url, data=f'42/notes,{i}["join",{{"note":"big"}}]', timeout=5)
                if r.status_code != 200:
                    gone = True
                    break
                time.sleep(0.1)
            assert gone or http.get(url, timeout=5).status_code == 400, (
                "the server kept queueing for a reader that never reads"
            )
            assert "slow consumer: dropping" in srv.log_path.read_text()
            assert neighbour.call("stroke", stroke("calm", "fine"))["ok"]
        finally:
            neighbour.close()


def half_open(port: int, source: str, partial: bytes) -> socket.socket:
    s = socket.socket()
    s.bind((source, 0))  # another loopback address than the neighbour's
    s.connect(("127.0.0.1", port))
    s.sendall(partial)
    return s


def closed_by_server(s: socket.socket, within: float) -> bool:
    s.settimeout(within)
    try:
        while s.recv(4096):
            pass  # a 400 answer, then the close
        return True
    except TimeoutError:
        return False
    except OSError:
        return True


def test_slow_headers_and_idle_connections_are_closed_and_half_open_ones_are_bounded(tmp_path: Path) -> None:
    env = {"COLLAB_HEADER_TIMEOUT": "1", "COLLAB_IDLE_TIMEOUT": "2", "COLLAB_MAX_SOCKETS_PER_IP": "10"}
    with ServerProcess(tmp_path, env=env) as srv:
        neighbour = Peer(srv.url)
        try:
            assert neighbour.call("join", {"note": "calm"})["ok"]
            slow_line = half_open(srv.port, "127.0.0.2", b"GET /healthz HT")
            slow_headers = half_open(srv.port, "127.0.0.2", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            assert closed_by_server(slow_line, 5) and closed_by_server(slow_headers, 5)
            idle = half_open(srv.port, "127.0.0.2", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert idle.recv(4096).startswith(b"HTTP/1.1 200")
            assert closed_by_server(idle, 6)  # kept alive, then closed once idle past COLLAB_IDLE_TIMEOUT
            crowd = [half_open(srv.port, "127.0.0.3", b"GET / HTTP/1.1\r\n") for _ in range(10)]
            extra = half_open(srv.port, "127.0.0.3", b"GET / HTTP/1.1\r\n")
            assert closed_by_server(extra, 0.9)  # past the address's share: closed before any timeout
            assert neighbour.call("stroke", stroke("calm", "fine"))["ok"]  # another address is served meanwhile
            assert requests.get(f"{srv.url}/healthz", timeout=5).status_code == 200
            for s in (*crowd, extra, slow_line, slow_headers, idle):
                s.close()
        finally:
            neighbour.close()
