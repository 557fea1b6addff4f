"""Every event of the contract against the real server, over WebSocket and long-polling."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import socketio

from serverproc import ServerProcess
from sioclient import NS, Peer, stroke

TRANSPORTS = ["websocket", "polling"]


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def peers(server: ServerProcess, transport: str) -> Iterator[list[Peer]]:
    made: list[Peer] = []

    def make(**auth: str) -> Peer:
        p = Peer(server.url, transport, auth or None)
        made.append(p)
        return p

    yield make  # type: ignore[misc]
    for p in made:
        p.close()


def test_join_creates_note_and_acks_the_contract_shape(peers, note_id: str) -> None:
    a = peers(name="alice", color="#112233")
    ack = a.call("join", {"note": note_id})
    assert ack == {
        "ok": True,
        "note": {"id": note_id, "title": note_id, "epoch": ack["note"]["epoch"]},
        "seq": 0,
        "peer": a.sid,
        "peers": [{"peer": a.sid, "name": "alice", "color": "#112233"}],
        "role": "edit",
        "strokes": [],
    }


def test_fanout_without_echo_and_state_for_late_joiner(peers, note_id: str, server: ServerProcess) -> None:
    a, b = peers(name="a"), peers(name="b")
    a.call("join", {"note": note_id})
    b.call("join", {"note": note_id})
    ack = a.call("stroke", stroke(note_id, "s1", tool="highlighter", extra="dropped"))
    assert ack == {"ok": True, "seq": 1}
    assert b.wait_until(lambda: len(b.got["stroke"]) == 1)
    assert b.got["stroke"][0] == {
        "note": note_id, "type": "stroke", "seq": 1, "peer": a.sid, "id": "s1",
        "color": "#e03131", "width": 3, "points": [[0, 0], [10, 20.5]], "tool": "highlighter",
    }  # fmt: skip
    a.call("cursor", {"note": note_id, "x": 1, "y": 2})  # a round trip, so a's own echo would be here by now
    assert a.got["stroke"] == []
    c = peers(name="c")
    late = c.call("join", {"note": note_id})
    assert late["seq"] == 1
    assert late["strokes"] == [{k: v for k, v in b.got["stroke"][0].items() if k != "note"}]
    body = requests.get(f"{server.url}/api/notes/{note_id}", timeout=5).json()
    assert body["seq"] == 1 and body["strokes"] == late["strokes"]


def test_idempotent_resend_returns_original_seq_and_broadcasts_nothing(peers, note_id: str) -> None:
    a, b = peers(), peers()
    a.call("join", {"note": note_id})
    b.call("join", {"note": note_id})
    assert a.call("stroke", stroke(note_id, "same"))["seq"] == 1
    assert a.call("stroke", stroke(note_id, "same", color="#000")) == {"ok": True, "seq": 1, "duplicate": True}
    assert a.call("stroke", stroke(note_id, "next"))["seq"] == 2
    assert b.wait_until(lambda: len(b.got["stroke"]) == 2)
    assert [s["id"] for s in b.got["stroke"]] == ["same", "next"]


def test_remove_and_clear(peers, note_id: str) -> None:
    a, b = peers(), peers()
    a.call("join", {"note": note_id})
    b.call("join", {"note": note_id})
    for i in range(3):
        a.call("stroke", stroke(note_id, f"s{i}"))
    assert a.call("remove", {"note": note_id, "id": "s1"}) == {"ok": True, "seq": 4}
    assert a.call("remove", {"note": note_id, "id": "s1"})["error"]["code"] == "not_found"
    assert b.call("clear", {"note": note_id}) == {"ok": True, "seq": 5}
    assert a.wait_until(lambda: len(a.got["clear"]) == 1)
    assert a.got["clear"][0] == {"note": note_id, "type": "clear", "seq": 5, "peer": b.sid}
    assert b.wait_until(lambda: len(b.got["remove"]) == 1)
    assert b.got["remove"][0] == {"note": note_id, "type": "remove", "seq": 4, "id": "s1", "peer": a.sid}
    # a removed id stays taken: a retry never brings it back
    assert a.call("stroke", stroke(note_id, "s1")) == {"ok": True, "seq": 2, "duplicate": True}
    assert a.call("join", {"note": note_id})["strokes"] == []


def test_join_since_serves_ops_or_reset(peers, note_id: str) -> None:
    a = peers()
    a.call("join", {"note": note_id})
    for i in range(4):
        a.call("stroke", stroke(note_id, f"s{i}"))
    a.call("remove", {"note": note_id, "id": "s0"})
    again = a.call("join", {"note": note_id, "since": 2})
    assert "strokes" not in again and again["seq"] == 5
    assert [(o["type"], o["seq"]) for o in again["ops"]] == [("stroke", 3), ("stroke", 4), ("remove", 5)]
    ahead = a.call("join", {"note": note_id, "since": 50})
    assert ahead["reset"] is True and [s["id"] for s in ahead["strokes"]] == ["s1", "s2", "s3"]
    assert a.call("join", {"note": note_id, "since": 5})["ops"] == []
    huge = a.call("join", {"note": note_id, "since": 2**70})  # an integer far past the note: reset, not an error
    assert huge["reset"] is True and len(huge["strokes"]) == 3
    for bad in (-1, 1.5, "3", True):
        assert a.call("join", {"note": note_id, "since": bad})["error"]["code"] == "bad_request"


def test_presence_on_join_leave_and_disconnect(peers, note_id: str) -> None:
    a, b = peers(name="ann"), peers(name="ben")
    a.call("join", {"note": note_id})
    b.call("join", {"note": note_id})
    assert a.wait_until(lambda: any(len(p["peers"]) == 2 for p in a.got["presence"]))
    assert [p["name"] for p in a.got["presence"][-1]["peers"]] == ["ann", "ben"]
    assert b.got["presence"][-1]["note"] == note_id  # the joiner is told too
    assert b.call("leave", {"note": note_id}) == {"ok": True}
    assert b.call("leave", {"note": note_id})["error"]["code"] == "not_joined"
    assert a.wait_until(lambda: [p["name"] for p in a.got["presence"][-1]["peers"]] == ["ann"])
    b.call("join", {"note": note_id})
    assert a.wait_until(lambda: len(a.got["presence"][-1]["peers"]) == 2)
    b.close()
    assert a.wait_until(lambda: [p["name"] for p in a.got["presence"][-1]["peers"]] == ["ann"])


def test_default_name_and_colour(peers, note_id: str) -> None:
    a = peers()
    me = a.call("join", {"note": note_id})["peers"][0]
    assert me["name"].startswith("Guest ") and me["color"].startswith("#") and len(me["color"]) == 7


def test_cursor_and_draft_relay(peers, note_id: str) -> None:
    a, b = peers(), peers()
    a.call("join", {"note": note_id})
    b.call("join", {"note": note_id})
    a.emit("cursor", {"note": note_id, "x": 5, "y": -7.5})
    draft = {"note": note_id, "id": "d1", "color": "#abc", "width": 4, "points": [[1, 1]]}
    a.emit("draft", draft)
    assert b.wait_until(lambda: b.got["cursor"] and b.got["draft"])
    assert b.got["cursor"][0] == {"note": note_id, "peer": a.sid, "x": 5, "y": -7.5}
    assert b.got["draft"][0] == {**draft, "peer": a.sid, "tool": "pen"}
    assert a.call("draft", {**draft, "width": 0})["error"]["code"] == "bad_request"
    assert a.call("cursor", {"note": "elsewhere", "x": 1, "y": 1})["error"]["code"] == "not_joined"


BAD_STROKES = [
    ({"id": ""}, "bad_request"),
    ({"id": "x" * 65}, "bad_request"),
    ({"color": "red"}, "bad_request"),
    ({"color": "#12345"}, "bad_request"),
    ({"width": 0.4}, "bad_request"),
    ({"width": 101}, "bad_request"),
    ({"width": True}, "bad_request"),
    ({"points": []}, "bad_request"),
    ({"points": [[1]]}, "bad_request"),
    ({"points": [[1, "2"]]}, "bad_request"),
    ({"points": [[1, 2e6]]}, "bad_request"),
    ({"points": "nope"}, "bad_request"),
    ({"points": [[0, 0]] * 5001}, "too_large"),
    ({"tool": "spray"}, "bad_request"),
    ({"note": "bad id!"}, "bad_request"),
]


@pytest.mark.parametrize(("patch", "code"), BAD_STROKES)
def test_bad_strokes_get_errors_and_change_nothing(server: ServerProcess, note_id: str, patch, code) -> None:
    a = Peer(server.url)
    try:
        a.call("join", {"note": note_id})
        assert a.call("stroke", {**stroke(note_id, "s"), **patch})["error"]["code"] == code
        assert a.call("join", {"note": note_id})["seq"] == 0
    finally:
        a.close()


def test_every_error_code_the_core_can_give(peers, note_id: str) -> None:
    a = peers()
    assert a.call("stroke", stroke(note_id, "s"))["error"]["code"] == "not_joined"
    assert a.call("join", None)["error"]["code"] == "bad_request"
    assert a.call("join", ["not", "an", "object"])["error"]["code"] == "bad_request"
    assert a.call("no_such_event", {})["error"]["code"] == "bad_request"
    a.call("join", {"note": note_id})
    assert a.call("remove", {"note": note_id, "id": "ghost"})["error"]["code"] == "not_found"
    err = a.call("clear", {"note": "other-note"})["error"]
    assert err["code"] == "not_joined" and "join" in err["message"]


def test_bad_auth_is_refused_with_code(server: ServerProcess, transport: str) -> None:
    sio = socketio.Client(reconnection=False)
    errors: list = []
    sio.on("connect_error", lambda data: errors.append(data), namespace=NS)
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(server.url, namespaces=[NS], transports=[transport], auth={"color": "blue"}, wait_timeout=5)
    assert errors and errors[0]["code"] == "bad_request" and errors[0]["data"]["code"] == "bad_request"


def test_http_rename_and_delete_reach_members(peers, note_id: str, server: ServerProcess) -> None:
    a = peers()
    a.call("join", {"note": note_id})
    r = requests.patch(f"{server.url}/api/notes/{note_id}", json={"title": "New <b>title</b>"}, timeout=5)
    assert r.status_code == 200 and r.json()["title"] == "New <b>title</b>"
    assert a.wait_until(lambda: a.got["renamed"] == [{"note": note_id, "title": "New <b>title</b>"}])
    assert requests.delete(f"{server.url}/api/notes/{note_id}", timeout=5).status_code == 204
    assert a.wait_until(lambda: a.got["deleted"] == [{"note": note_id}])
    # the member left the room with the note: ops now need a new join (which re-creates it)
    assert a.call("stroke", stroke(note_id, "s"))["error"]["code"] == "not_joined"
    assert a.call("join", {"note": note_id})["seq"] == 0


def test_a_burst_larger_than_a_poll_batch(peers, note_id: str) -> None:
    """40 strokes sent without waiting: more than 16 packets each way per poll."""
    a, b = peers(), peers()
    a.call("join", {"note": note_id})
    b.call("join", {"note": note_id})
    acks: list = []
    for i in range(40):
        a.emit("stroke", stroke(note_id, f"s{i}"), callback=acks.append)
    assert a.wait_until(lambda: len(acks) == 40, timeout=30)
    assert [x["seq"] for x in acks] == list(range(1, 41))
    assert b.wait_until(lambda: len(b.got["stroke"]) == 40, timeout=30)
    assert [s["seq"] for s in b.got["stroke"]] == list(range(1, 41))
