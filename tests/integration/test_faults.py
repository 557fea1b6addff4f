"""The store going away and coming back, a locked SQLite file, SIGTERM during a burst."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from serverproc import ServerProcess
from sioclient import Peer, stroke


class SwitchProxy:
    """A TCP forwarder to PostgreSQL that can go down (refuse and cut) and come back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.up = True
        self.live: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.live += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def down(self) -> None:
        self.up = False
        with self.lock:
            for s in self.live:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.live.clear()

    def close(self) -> None:
        self.down()
        self.sock.close()


@pytest.fixture
def pg_via_proxy(pg_url: str) -> Iterator[tuple[str, SwitchProxy]]:
    proxy = SwitchProxy(("127.0.0.1", 5432))
    yield pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}"), proxy
    proxy.close()


def test_database_down_refuses_ops_then_service_resumes(
    tmp_path: Path, note_id: str, pg_via_proxy: tuple[str, SwitchProxy]
) -> None:
    url, proxy = pg_via_proxy
    with ServerProcess(tmp_path, database=url) as srv:
        a = Peer(srv.url)
        try:
            a.call("join", {"note": note_id})
            assert [a.call("stroke", stroke(note_id, f"s{i}"))["seq"] for i in range(3)] == [1, 2, 3]
            proxy.down()
            ack = a.call("stroke", stroke(note_id, "while-down"))
            assert ack["ok"] is False and ack["error"]["code"] == "internal"
            assert a.call("join", {"note": note_id})["error"]["code"] == "internal"
            health = requests.get(srv.url + "/healthz", timeout=10)
            assert health.status_code == 503 and health.json()["ok"] is False
            assert requests.get(srv.url + "/api/notes", timeout=10).status_code == 503
            proxy.up = True
            deadline = time.monotonic() + 20
            while requests.get(srv.url + "/healthz", timeout=10).status_code != 200:
                assert time.monotonic() < deadline, "service did not resume"
                time.sleep(0.2)
            # the refused op did not take a seq; the retry (same id) is stored now
            assert a.call("stroke", stroke(note_id, "while-down")) == {"ok": True, "seq": 4}
            state = a.call("join", {"note": note_id})
            assert [s["id"] for s in state["strokes"]] == ["s0", "s1", "s2", "while-down"]
        finally:
            a.close()


def test_locked_sqlite_refuses_then_resumes(tmp_path: Path, note_id: str) -> None:
    with ServerProcess(tmp_path, env={"COLLAB_SQLITE_BUSY_TIMEOUT": "0.5"}) as srv:
        a = Peer(srv.url)
        try:
            a.call("join", {"note": note_id})
            assert a.call("stroke", stroke(note_id, "before"))["seq"] == 1
            locker = sqlite3.connect(tmp_path / "collab.db", isolation_level=None)
            locker.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
            ack = a.call("stroke", stroke(note_id, "during"))
            assert ack["ok"] is False and ack["error"]["code"] == "internal"
            locker.execute("ROLLBACK")
            locker.close()
            assert a.call("stroke", stroke(note_id, "during")) == {"ok": True, "seq": 2}
        finally:
            a.close()


def test_sigterm_during_a_burst_keeps_every_acked_op(tmp_path: Path, note_id: str) -> None:
    srv = ServerProcess(tmp_path).start()
    acks: list[dict] = []
    a = Peer(srv.url)
    a.call("join", {"note": note_id})
    for i in range(300):
        a.emit("stroke", stroke(note_id, f"s{i}"), callback=acks.append)
    a.wait_until(lambda: len(acks) >= 50, timeout=30)
    code = srv.stop()  # SIGTERM mid-burst
    a.close()
    assert code == 0
    assert "stopped cleanly" in srv.log_path.read_text()
    srv.restart()
    try:
        body = requests.get(f"{srv.url}/api/notes/{note_id}", timeout=5).json()
        stored = {s["id"] for s in body["strokes"]}
        acked = {f"s{x['seq'] - 1}" for x in acks if x.get("ok")}
        assert acked <= stored
        assert [s["seq"] for s in body["strokes"]] == list(range(1, len(stored) + 1))
    finally:
        srv.stop()
