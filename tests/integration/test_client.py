"""NoteClient against a real server: convergence, offline queueing, errors, dead links."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import requests

from collab import _sioclient
from collab.client import ConnectionFailed, NoteClient
from collab.errors import BadRequest, CollabError, NotFound, TooLarge
from collab.replica import strokes_equal

from faultproxy import FaultProxy
from serverproc import ROOT, ServerProcess, free_port
from sioclient import Peer

TRANSPORTS = ["websocket", "polling"]


def server_state(url: str, note: str) -> dict:
    r = requests.get(f"{url}/api/notes/{note}", timeout=10)
    r.raise_for_status()
    return r.json()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_two_clients_converge(server, note_id, transport):
    seen: list[str] = []
    with (
        NoteClient(server.url, note_id, name="alice", transports=[transport]) as a,
        NoteClient(server.url, note_id, name="bob", transports=[transport]) as b,
    ):
        b.on_stroke(lambda op: seen.append(op["id"]))
        assert a.role == "edit" and a.title == note_id and a.transport == transport
        first = a.draw([(0, 0), (10, 20)], color="#e03131", width=3)
        for i in range(10):
            (a if i % 2 else b).draw([(i, i), (i + 5, i)], color="#1971c2", width=2)
        a.wait_synced(10)
        b.wait_synced(10)
        assert b.remove(first) is not None
        a.wait_until(lambda c: c.stroke(first) is None, 10)
        state = server_state(server.url, note_id)
        for c in (a, b):
            c.wait_until(lambda cl: cl.seq == state["seq"], 10)
            assert strokes_equal(c.strokes, state["strokes"])
        assert first in seen  # bob heard alice's stroke
        assert {p["name"] for p in a.peers} == {"alice", "bob"}
        seq = a.clear()
        assert seq == state["seq"] + 1
        b.wait_until(lambda c: c.seq == seq and c.strokes == [], 10)


def test_stroke_drawn_while_the_server_is_down_arrives_exactly_once(tmp_path, note_id):
    srv = ServerProcess(tmp_path).start()
    try:
        status: list[bool] = []
        with NoteClient(srv.url, note_id, liveness=2.0) as c:
            c.on_status(lambda up, detail: status.append(up))
            before = c.draw([(1, 1), (2, 2)], wait=True)
            srv.kill()
            offline = c.draw([(3, 3), (4, 4)], id="drawn-offline")
            with pytest.raises(TimeoutError, match="not acknowledged"):
                c.wait_synced(timeout=1.5)
            assert [p["id"] for p in c.pending] == ["drawn-offline"]
            srv.restart()
            c.wait_synced(timeout=30)
            assert False in status and status[-1] is True
            state = server_state(srv.url, note_id)
            assert [s["id"] for s in state["strokes"]] == [before, offline]
            assert state["seq"] == 2
            assert strokes_equal(c.strokes, state["strokes"])
    finally:
        srv.stop()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_dead_link_is_noticed_and_replaced(server, note_id, transport):
    """A black hole (no RST, no FIN): the client must notice on its own and reconnect."""
    with FaultProxy("127.0.0.1", server.port) as proxy:
        lost = threading.Event()
        with NoteClient(proxy.url, note_id, transports=[transport], liveness=2.0) as c:
            c.on_status(lambda up, detail: None if up else lost.set())
            c.draw([(0, 0)], wait=True)
            proxy.freeze()
            sid = c.draw([(5, 5), (6, 6)])
            # python-engineio alone would sit "connected" for ~30 s or more.
            assert lost.wait(20), "the client did not notice the dead link"
            proxy.thaw()
            c.wait_synced(timeout=30)
        state = server_state(server.url, note_id)
        assert [s["id"] for s in state["strokes"]].count(sid) == 1 and state["seq"] == 2


def test_several_threads_draw_on_one_client(server, note_id):
    with NoteClient(server.url, note_id) as c:

        def work(t: int) -> None:
            for i in range(25):
                c.draw([(t, i)], id=f"t{t}-{i}")

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        c.wait_synced(20)
        assert len(c.strokes) == 100
    assert server_state(server.url, note_id)["seq"] == 100


def test_refused_ops_raise_typed_errors_with_the_contract_code(server, note_id):
    with NoteClient(server.url, note_id) as c:
        with pytest.raises(NotFound) as info:
            c.remove("no-such-stroke")
        assert info.value.code == "not_found"
        with pytest.raises(BadRequest):
            c.draw([], color="#e03131")  # checked before sending
        with pytest.raises(TooLarge):
            c.draw([(0, 0)] * 5001)
        with pytest.raises(BadRequest, match="color"):
            c.draw([(0, 0)], color="red")


def test_refused_queued_stroke_surfaces_in_wait_synced(tmp_path, note_id):
    with ServerProcess(tmp_path, env={"COLLAB_MAX_POINTS": "10"}) as srv, NoteClient(srv.url, note_id) as c:
        errors: list[CollabError] = []
        c.on_error(errors.append)
        c.draw([(i, i) for i in range(20)])  # fine locally, too long for this server
        with pytest.raises(TooLarge) as info:
            c.wait_synced(10)
        assert info.value.code == "too_large"
        c.wait_synced(10)  # reported once
        c.wait_until(lambda _: bool(errors), 5)


def test_connection_failure_names_the_url_and_namespace():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ConnectionFailed) as info:
        NoteClient(url, "some-note", timeout=1.5)
    assert url in str(info.value) and "/notes" in str(info.value)


def test_wrong_namespace_is_reported(server):
    with pytest.raises(ConnectionFailed) as info:
        NoteClient(server.url, "n", namespace="/nope", timeout=2)
    assert "/nope" in str(info.value)


def test_url_list_rotates_past_a_dead_server(server, note_id):
    dead = f"http://127.0.0.1:{free_port()}"
    with NoteClient([dead, server.url], note_id, timeout=20) as c:
        c.draw([(1, 2)], wait=True)
        assert c.current_url == server.url


def test_offline_start_queues_until_connected(tmp_path, note_id):
    srv = ServerProcess(tmp_path)
    c = NoteClient(srv.url, note_id, wait=False)
    try:
        sid = c.draw([(1, 1)])
        assert not c.connected
        srv.start()
        c.wait_synced(30)
        assert [s["id"] for s in c.strokes] == [sid]
    finally:
        c.close(flush=False)
        srv.stop()


def test_since_follows_the_op_stream(server, note_id):
    with NoteClient(server.url, note_id) as a:
        for i in range(3):
            a.draw([(i, i)], id=f"s{i}")
        a.wait_synced(10)
        with NoteClient(server.url, note_id, since=1) as f:
            assert [s["id"] for s in f.strokes] == ["s1", "s2"] and f.seq == 3


def test_closed_client_refuses_ops(server, note_id):
    c = NoteClient(server.url, note_id)
    c.close()
    with pytest.raises(CollabError, match="closed"):
        c.draw([(0, 0)])


def test_client_and_cli_import_no_server_stack():
    """``collab.client`` needs only the Socket.IO client; ``collab.cli`` imports nothing heavy before ``serve``."""
    code = (
        "import sys, collab.cli\n"
        "heavy = [m for m in ('flask', 'gevent', 'sqlalchemy', 'socketio') if m in sys.modules]\n"
        "import collab.client\n"
        "heavy += [m for m in ('flask', 'gevent', 'sqlalchemy', 'eventlet') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def _names(peer: Peer) -> list[str]:
    got = peer.got["presence"]
    return [p["name"] for p in got[-1]["peers"]] if got else []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_close_with_a_post_in_flight_tells_the_server_at_once(server, note_id, transport, monkeypatch):
    """The stock polling client dropped its goodbye when closed mid-POST: a ghost until the ping timeout (45 s).

    Every POST's answer is made to arrive 0.3 s late, so the ack of the last
    stroke (which comes on the long poll) lets ``close()`` run while its POST
    is still in flight.
    """
    post = _sioclient._EngineIOClient._send_request

    def late_post(self, method, *args, **kwargs):
        answer = post(self, method, *args, **kwargs)
        if method == "POST":
            time.sleep(0.3)
        return answer

    monkeypatch.setattr(_sioclient._EngineIOClient, "_send_request", late_post)
    watcher = Peer(server.url, transport)
    try:
        watcher.call("join", {"note": note_id})
        leaver = NoteClient(server.url, note_id, name="leaver", transports=[transport])
        assert watcher.wait_until(lambda: "leaver" in _names(watcher))
        leaver.draw([(0, 0), (5, 5)])
        started = time.monotonic()
        leaver.close()  # waits for the ack first
        assert time.monotonic() - started < 10, "close() waited for the long poll instead of ending it"
        assert watcher.wait_until(lambda: "leaver" not in _names(watcher), timeout=10)
    finally:
        watcher.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_script_that_exits_right_after_close_has_left_the_room(server, note_id, transport):
    """``close()`` waits (briefly) for the goodbye, so the process may exit at once."""
    watcher = Peer(server.url, transport)
    try:
        watcher.call("join", {"note": note_id})
        script = (
            "import sys\n"
            "from collab.client import NoteClient\n"
            "with NoteClient(sys.argv[1], sys.argv[2], name='script', transports=[sys.argv[3]]) as note:\n"
            "    note.draw([(0, 0), (5, 5)])\n"
        )
        subprocess.run([sys.executable, "-c", script, server.url, note_id, transport], cwd=ROOT, check=True, timeout=60)
        assert watcher.wait_until(lambda: "script" not in _names(watcher), timeout=10)
        assert any("script" in [p["name"] for p in got["peers"]] for got in watcher.got["presence"])
    finally:
        watcher.close()
