"""The server keeps serving through oversized messages, dead clients and handler failures."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import socketio

from serverproc import ServerProcess
from sioclient import NS, Peer, stroke

VANISHING_CLIENT = """
import socketio, sys, time
sio = socketio.Client(reconnection=False)
sio.connect(sys.argv[1], namespaces=["/notes"], transports=[sys.argv[3]], auth={"name": "ghost"})
sio.call("join", {"note": sys.argv[2]}, namespace="/notes")
print("joined", flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_dead_client_is_dropped_while_the_room_keeps_drawing(tmp_path: Path, note_id: str, transport: str) -> None:
    """A client killed without a goodbye leaves by heartbeat; sends to it never stall the room.

    Sends that find the dead socket may run its disconnect handler inside the send;
    the room must keep being served through that (no deadlock).
    """
    env = {"COLLAB_PING_INTERVAL": "1", "COLLAB_PING_TIMEOUT": "1"}
    with ServerProcess(tmp_path, env=env) as srv:
        ghost = subprocess.Popen(
            [sys.executable, "-c", VANISHING_CLIENT, srv.url, note_id, transport],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert ghost.stdout is not None and ghost.stdout.readline().strip() == "joined"
            a = Peer(srv.url, transport, {"name": "alive"})
            b = Peer(srv.url, transport, {"name": "watcher"})
            a.call("join", {"note": note_id})
            b.call("join", {"note": note_id})
            ghost.kill()  # SIGKILL: its socket is never closed politely
            ghost.wait()
            acks = []
            deadline = time.monotonic() + 8  # several heartbeat windows
            n = 0
            while time.monotonic() < deadline:
                acks.append(a.call("stroke", stroke(note_id, f"s{n}"), timeout=10))
                n += 1
                time.sleep(0.02)
            assert all(x["ok"] for x in acks) and [x["seq"] for x in acks] == list(range(1, n + 1))
            assert b.wait_until(lambda: len(b.got["stroke"]) == n)
            assert b.wait_until(
                lambda: (
                    b.got["presence"] and [p["name"] for p in b.got["presence"][-1]["peers"]] == ["alive", "watcher"]
                )
            )
            # the note still works for newcomers
            c = Peer(srv.url, transport)
            assert c.call("join", {"note": note_id})["seq"] == n
            for p in (a, b, c):
                p.close()
        finally:
            ghost.kill()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_oversized_message_does_not_hurt_the_server(tmp_path: Path, note_id: str, transport: str) -> None:
    with ServerProcess(tmp_path, env={"COLLAB_MAX_MESSAGE_BYTES": "20000"}) as srv:
        good = Peer(srv.url, transport)
        good.call("join", {"note": note_id})
        big = socketio.Client(reconnection=False)
        big.connect(srv.url, namespaces=[NS], transports=[transport])
        big.call("join", {"note": note_id}, namespace=NS)
        huge = stroke(note_id, "huge", points=[[i, i] for i in range(4000)])  # ~60 KB
        try:
            big.emit("stroke", huge, namespace=NS)
            time.sleep(1)
        except Exception:
            pass  # the client may notice its connection closing: that is the server's answer
        finally:
            big.disconnect()
        # the offender's message was not applied; everyone else is served as before
        assert good.call("stroke", stroke(note_id, "ok"))["seq"] == 1
        assert [s["id"] for s in good.call("join", {"note": note_id})["strokes"]] == ["ok"]
        good.close()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_quiet_connection_stays_up_across_heartbeats(tmp_path: Path, note_id: str, transport: str) -> None:
    """A connection with nothing to say outlives several ping windows and still works.

    On WebSocket, packets to an idle connection are written without its queue;
    its writer must not read a quiet queue as a dead connection.
    """
    env = {"COLLAB_PING_INTERVAL": "1", "COLLAB_PING_TIMEOUT": "1"}
    with ServerProcess(tmp_path, env=env) as srv:
        a = Peer(srv.url, transport, {"name": "quiet"})
        b = Peer(srv.url, transport, {"name": "other"})
        a.call("join", {"note": note_id})
        b.call("join", {"note": note_id})
        time.sleep(4.5)  # two ping intervals plus timeouts, then some
        assert a.sio.connected and b.sio.connected
        assert " disconnect sid=" not in srv.log()
        assert a.call("stroke", stroke(note_id, "after-quiet"))["seq"] == 1
        assert b.wait_until(lambda: [s["id"] for s in b.got["stroke"]] == ["after-quiet"])
        for p in (a, b):
            p.close()
