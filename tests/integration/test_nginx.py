"""The shipped nginx config in front of two processes: sticky sessions, WebSocket, fail-over."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from collab.client import NoteClient

from serverproc import ROOT, ServerProcess, free_port


def _nginx_config(tmp: Path, port: int, backends: list[int]) -> Path:
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    servers = "".join(f"        server 127.0.0.1:{p};\n" for p in backends)
    text, found = re.subn(
        r"(upstream collab \{\n        hash \$collab_affinity consistent;\n)(?:        server [^\n]+\n)+",
        r"\g<1>" + servers,
        text,
    )
    assert found == 1, "deploy/nginx.conf's upstream block is not the one this test rewrites"
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    text = text.replace("pid /tmp/collab-nginx.pid;", f"pid {tmp / 'nginx.pid'};")
    text = text.replace("\nhttp {", f"\nhttp {{\n    access_log off;\n    client_body_temp_path {tmp};", 1)
    conf = tmp / "nginx.conf"
    conf.write_text(text)
    return conf


@pytest.fixture
def balanced(tmp_path: Path, pg_url: str, redis_url: str) -> Iterator[tuple[str, list[ServerProcess]]]:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if nginx is None:
        if os.environ.get("COLLAB_REQUIRE_ALL") == "1":
            pytest.fail("nginx is not installed (apt-get install nginx-light) and COLLAB_REQUIRE_ALL=1")
        pytest.skip("nginx is not installed (apt-get install nginx-light)")  # COLLAB_REQUIRE_ALL fails instead
    env = {"COLLAB_MESSAGE_QUEUE_CHANNEL": "collab-nginx-" + uuid.uuid4().hex[:8], "COLLAB_TRUST_PROXY": "true"}
    procs = []
    for i in range(2):
        d = tmp_path / f"p{i}"
        d.mkdir()
        procs.append(ServerProcess(d, database=pg_url, env=env, args=["--message-queue", redis_url]).start())
    port = free_port()
    conf = _nginx_config(tmp_path, port, [p.port for p in procs])
    proc = subprocess.Popen(
        [nginx, "-c", str(conf), "-p", str(tmp_path), "-g", "daemon off; error_log stderr;"],
        stderr=open(tmp_path / "nginx.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            pytest.fail(f"nginx did not come up: {(tmp_path / 'nginx.log').read_text()}")
        yield url, procs
    finally:
        proc.terminate()
        proc.wait(10)
        for p in procs:
            p.stop()


def test_through_nginx_both_transports_and_failover(balanced: tuple[str, list[ServerProcess]], note_id: str) -> None:
    url, procs = balanced
    ws = NoteClient(url, note_id, name="ws", transports=["websocket"])
    poll = NoteClient(url, note_id, name="poll", transports=["polling"])
    try:
        first = [ws.draw([(0, 0), (5, 5)], color="#2f9e44", width=3) for _ in range(5)]
        first += [poll.draw([(1, 1), (6, 6)], color="#e03131", width=3) for _ in range(5)]
        poll.wait_until(lambda c: c.seq == 10, timeout=20)
        ws.wait_until(lambda c: c.seq == 10, timeout=20)
        # both are on one note, so the note-affine hash sent them to one process: find it and kill it
        holder = next(p for p in procs if "connect sid=" in p.log())
        holder.kill()
        later = [ws.draw([(2, 2), (7, 7)], color="#1971c2", width=3, wait=False) for _ in range(5)]
        later += [poll.draw([(3, 3), (8, 8)], color="#f08c00", width=3, wait=False) for _ in range(5)]
        ws.wait_synced(timeout=60)
        poll.wait_synced(timeout=60)
        state = requests.get(f"{url}/api/notes/{note_id}", timeout=5).json()
        assert sorted(s["id"] for s in state["strokes"]) == sorted(first + later)
        assert [s["seq"] for s in state["strokes"]] == list(range(1, 21))
        for c in (ws, poll):
            c.wait_until(lambda c: c.seq == 20, timeout=30)
            assert [s["id"] for s in c.strokes] == [s["id"] for s in state["strokes"]]
    finally:
        ws.close(flush=False)
        poll.close(flush=False)


def _connections(proc: ServerProcess) -> int:
    text = requests.get(f"http://127.0.0.1:{proc.port}/metrics", timeout=5).text
    return int(float(re.search(r"^collab_connections (\S+)$", text, re.M).group(1)))  # type: ignore[union-attr]


def test_every_member_of_a_note_reaches_one_process_and_notes_spread_over_both(
    balanced: tuple[str, list[ServerProcess]],
) -> None:
    url, procs = balanced
    homes: dict[str, int] = {}
    clients: list[NoteClient] = []
    try:
        for i in range(12):
            note = f"affine-{i}-{uuid.uuid4().hex[:6]}"
            before = [_connections(p) for p in procs]
            pair = [NoteClient(url, note, name=t, transports=[t]) for t in ("websocket", "polling")]
            clients += pair
            pair[0].draw([(0, 0), (4, 4)])
            pair[1].wait_until(lambda c: c.seq == 1, timeout=20)
            grown = [_connections(p) - b for p, b in zip(procs, before, strict=True)]
            assert sorted(grown) == [0, 2], f"{note}: connections per process grew by {grown}"
            homes[note] = grown.index(2)
        assert set(homes.values()) == {0, 1}, "twelve notes all hashed to one process"
    finally:
        for c in clients:
            c.close(flush=False)
