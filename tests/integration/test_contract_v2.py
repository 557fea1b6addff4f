"""Contract v2 against the real server: every tool and new op, over WebSocket and long-polling.

Two or more real python-socketio clients per test: fan-out, acks, refusals,
late joins and ``since`` catch-up after each kind, restore after remove and
clear, epochs, history, list pagination and export ETags.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from PIL import Image

from collab.ops import NoteState

from serverproc import ServerProcess
from sioclient import Peer

TRANSPORTS = ["websocket", "polling"]

ITEMS: dict[str, dict[str, Any]] = {
    "pen": {"tool": "pen", "color": "#e03131", "width": 3, "points": [[0, 0], [10, 20.5], [30, 5]]},
    "highlighter": {"tool": "highlighter", "color": "#fab005", "width": 20, "points": [[0, 40], [100, 40]]},
    "line": {"tool": "line", "color": "#1971c2", "width": 2, "points": [[0, 0], [50, 0], [50, 50]]},
    "arrow": {"tool": "arrow", "color": "#000", "width": 2, "points": [[10, 10], [80, 60]]},
    "rect": {"tool": "rect", "color": "#2f9e44", "width": 2, "points": [[0, 0], [40, 30]], "fill": "#ffec99"},
    "ellipse": {"tool": "ellipse", "color": "#862e9c", "width": 4, "points": [[100, 100], [60, 80]]},
    "text": {"tool": "text", "color": "#212529", "points": [[5, 5]], "text": "Hello\nworld ✓", "size": 24},
    "sticky": {"tool": "text", "color": "#212529", "points": [[200, 0]], "text": "todo", "fill": "#ffd43b"},
}


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def peers(server: ServerProcess, transport: str) -> Iterator[Callable[..., Peer]]:
    made: list[Peer] = []

    def make(**auth: str) -> Peer:
        p = Peer(server.url, transport, auth or None)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def joined(make: Callable[..., Peer], note: str, **auth: str) -> Peer:
    p = make(**auth)
    assert p.call("join", {"note": note})["ok"]
    return p


def item(iid: str, kind: str = "pen", **extra: Any) -> dict[str, Any]:
    return {"id": iid, **ITEMS[kind], **extra}


def listing(p: Peer, note: str, **join: Any) -> list[dict[str, Any]]:
    ack = p.call("join", {"note": note, **join})
    assert ack["ok"], ack
    return ack["strokes"]  # type: ignore[no-any-return]


def code(ack: dict[str, Any]) -> str:
    assert ack["ok"] is False, ack
    return ack["error"]["code"]  # type: ignore[no-any-return]


def test_every_tool_is_stored_broadcast_and_listed_as_sent(peers: Callable[..., Peer], note_id: str) -> None:
    a, b = joined(peers, note_id), joined(peers, note_id)
    for n, kind in enumerate(ITEMS, start=1):
        assert a.call("stroke", {"note": note_id, **item(kind, kind)}) == {"ok": True, "seq": n}
    assert b.wait_until(lambda: len(b.got["stroke"]) == len(ITEMS))
    got = {s["id"]: s for s in b.got["stroke"]}
    assert got["text"]["text"] == "Hello\nworld ✓" and "width" not in got["text"]
    assert got["sticky"]["size"] == 20 and got["sticky"]["fill"] == "#ffd43b"  # the default size is stored
    assert got["rect"]["fill"] == "#ffec99" and got["arrow"]["tool"] == "arrow"
    assert [s["id"] for s in listing(peers(), note_id)] == list(ITEMS)


@pytest.mark.parametrize(
    ("payload", "want"),
    [
        ({"tool": "rect", "points": [[0, 0]]}, "bad_request"),  # a box takes exactly 2 points
        ({"tool": "text", "points": [[0, 0]], "text": "x", "width": None, "fill": "#fff", "size": 2}, "bad_request"),
        ({"tool": "text", "points": [[0, 0]]}, "bad_request"),  # no text
        ({"tool": "line", "points": [[0, 0]]}, "bad_request"),  # a line takes at least 2
        ({"tool": "line", "points": [[0, 0], [1, 1]], "fill": "#fff"}, "bad_request"),  # no fill on a line
        ({"tool": "pen", "points": [[0, 0]], "text": "x"}, "bad_request"),  # no text on a pen
        ({"tool": "image", "points": [[0, 0], [1, 1]], "file": "abc"}, "bad_request"),  # a file the note lacks
        ({"tool": "laser", "points": [[0, 0]]}, "bad_request"),
        ({"tool": "text", "points": [[0, 0]], "text": "a\x00b"}, "bad_request"),
        ({"tool": "text", "points": [[0, 0]], "text": "a\rb"}, "bad_request"),  # CRLF must come as LF
        ({"tool": "text", "points": [[0, 0]], "text": "x" * 10_001}, "bad_request"),
    ],
)
def test_an_item_that_breaks_its_tools_rules_is_refused(
    peers: Callable[..., Peer], note_id: str, payload: dict[str, Any], want: str
) -> None:
    a = joined(peers, note_id)
    ack = a.call("stroke", {"note": note_id, "id": "x", "color": "#000", "width": 2, **payload})
    assert code(ack) == want
    assert listing(a, note_id) == []


def test_a_width_on_text_is_allowed_and_not_stored(peers: Callable[..., Peer], note_id: str) -> None:
    a = joined(peers, note_id)
    assert a.call("stroke", {"note": note_id, **item("t", "text"), "width": 7})["ok"]
    (t,) = listing(a, note_id)
    assert "width" not in t and t["size"] == 24


def test_ids_with_lone_surrogates_or_controls_are_refused(peers: Callable[..., Peer], note_id: str) -> None:
    a = joined(peers, note_id)
    for bad in ("a\ud800", "a\x00", "a\n", "a\x7f", "\x9f"):
        assert code(a.call("stroke", {"note": note_id, **item(bad)})) == "bad_request"
    assert a.call("stroke", {"note": note_id, **item("tab\there")})["ok"]


def test_update_changes_fields_and_everyone_sees_it(peers: Callable[..., Peer], note_id: str) -> None:
    a, b = joined(peers, note_id), joined(peers, note_id)
    a.call("stroke", {"note": note_id, **item("r", "rect")})
    a.call("stroke", {"note": note_id, **item("t", "text")})
    ack = a.call("update", {"note": note_id, "id": "r", "set": {"color": "#000000", "fill": None, "extra": 1}})
    assert ack == {"ok": True, "seq": 3}
    assert a.call("update", {"note": note_id, "id": "t", "set": {"text": "edited", "size": 40}})["seq"] == 4
    assert b.wait_until(lambda: len(b.got["update"]) == 2)
    assert b.got["update"][0] == {"note": note_id, "type": "update", "seq": 3, "peer": a.sid, "id": "r",
                                  "set": {"color": "#000000", "fill": None}}  # fmt: skip
    r, t = listing(peers(), note_id)
    assert r["color"] == "#000000" and "fill" not in r and r["seq"] == 1
    assert t["text"] == "edited" and t["size"] == 40


@pytest.mark.parametrize(
    ("target", "changes", "want"),
    [
        ("missing", {"color": "#000"}, "not_found"),
        ("r", {}, "bad_request"),
        ("r", {"nothing": 1}, "bad_request"),
        ("r", {"tool": "pen"}, "bad_request"),
        ("r", {"id": "q"}, "bad_request"),
        ("r", {"points": [[0, 0]]}, "bad_request"),  # a rect keeps exactly 2 points
        ("r", {"text": "no"}, "bad_request"),  # no text on a rect
        ("r", {"width": None}, "bad_request"),  # only fill may be null
        ("p", {"fill": "#fff"}, "bad_request"),  # no fill on a pen
    ],
)
def test_update_refusals(
    peers: Callable[..., Peer], note_id: str, target: str, changes: dict[str, Any], want: str
) -> None:
    a = joined(peers, note_id)
    a.call("stroke", {"note": note_id, **item("r", "rect")})
    a.call("stroke", {"note": note_id, **item("p")})
    assert code(a.call("update", {"note": note_id, "id": target, "set": changes})) == want
    assert a.call("stroke", {"note": note_id, **item("next")})["seq"] == 3  # no seq was used


def test_move_translates_held_items_and_skips_the_rest(peers: Callable[..., Peer], note_id: str) -> None:
    a, b = joined(peers, note_id), joined(peers, note_id)
    a.call("stroke", {"note": note_id, **item("p")})
    a.call("stroke", {"note": note_id, **item("r", "rect")})
    ack = a.call("move", {"note": note_id, "ids": ["r", "nope", "p", "r"], "dx": 10, "dy": -2.5})
    assert ack == {"ok": True, "seq": 3, "ids": ["r", "p"]}
    assert b.wait_until(lambda: b.got["move"])
    assert b.got["move"][0]["ids"] == ["r", "p"] and b.got["move"][0]["dx"] == 10
    p, r = listing(peers(), note_id)
    assert p["points"] == [[10, -2.5], [20, 18.0], [40, 2.5]] and r["points"] == [[10, -2.5], [50, 27.5]]
    assert code(a.call("move", {"note": note_id, "ids": ["nope"], "dx": 1, "dy": 1})) == "not_found"
    assert code(a.call("move", {"note": note_id, "ids": ["p"], "dx": 2e6, "dy": 0})) == "bad_request"
    assert code(a.call("move", {"note": note_id, "ids": ["p"], "dx": 999_990, "dy": 0})) == "bad_request"
    assert code(a.call("move", {"note": note_id, "ids": [], "dx": 1, "dy": 1})) == "bad_request"
    assert code(a.call("move", {"note": note_id, "ids": ["p"] * 1001, "dx": 1, "dy": 1})) == "too_large"


def test_restore_after_remove_brings_the_item_back_in_its_layer(peers: Callable[..., Peer], note_id: str) -> None:
    a, b = joined(peers, note_id), joined(peers, note_id)
    for iid in ("x", "y", "z"):
        a.call("stroke", {"note": note_id, **item(iid)})
    a.call("update", {"note": note_id, "id": "x", "set": {"color": "#123456"}})
    assert a.call("remove", {"note": note_id, "id": "x"})["seq"] == 5
    assert [s["id"] for s in listing(peers(), note_id)] == ["y", "z"]
    ack = b.call("restore", {"note": note_id, "ids": ["x", "y", "never"]})
    assert ack == {"ok": True, "seq": 6, "ids": ["x"]}  # y is live, never was never seen
    assert a.wait_until(lambda: a.got["restore"])
    (restored,) = a.got["restore"][0]["items"]
    assert restored["seq"] == 1 and restored["color"] == "#123456" and restored["peer"] == a.sid
    assert [s["id"] for s in listing(peers(), note_id)] == ["x", "y", "z"]  # its original layer
    assert code(b.call("restore", {"note": note_id, "ids": ["x"]})) == "not_found"  # live again
    # re-sending the stroke never brings back what restore did not
    a.call("remove", {"note": note_id, "id": "y"})
    assert a.call("stroke", {"note": note_id, **item("y")}) == {"ok": True, "seq": 2, "duplicate": True}
    assert [s["id"] for s in listing(peers(), note_id)] == ["x", "z"]


def test_restore_after_clear_brings_back_what_it_removed(peers: Callable[..., Peer], note_id: str) -> None:
    a = joined(peers, note_id)
    for n, kind in enumerate(("pen", "rect", "text")):
        a.call("stroke", {"note": note_id, **item(f"i{n}", kind)})
    before = listing(peers(), note_id)
    assert a.call("clear", {"note": note_id})["seq"] == 4
    assert a.call("stroke", {"note": note_id, **item("after")})["seq"] == 5
    ack = a.call("restore", {"note": note_id, "ids": ["i0", "i1", "i2"]})
    assert ack["ids"] == ["i0", "i1", "i2"]
    now = listing(peers(), note_id)
    assert now[:3] == before and now[3]["id"] == "after"


def test_a_late_joiner_and_a_catch_up_see_every_kind(peers: Callable[..., Peer], note_id: str) -> None:
    a = joined(peers, note_id)
    a.call("stroke", {"note": note_id, **item("p")})
    watcher = joined(peers, note_id)
    base = 1
    a.call("stroke", {"note": note_id, **item("r", "rect")})
    a.call("update", {"note": note_id, "id": "r", "set": {"fill": "#000"}})
    a.call("move", {"note": note_id, "ids": ["p", "r"], "dx": 5, "dy": 5})
    a.call("remove", {"note": note_id, "id": "p"})
    a.call("clear", {"note": note_id})
    a.call("restore", {"note": note_id, "ids": ["p", "r"]})
    late = peers()
    full = listing(late, note_id)
    catch_up = late.call("join", {"note": note_id, "since": base})
    assert [op["type"] for op in catch_up["ops"]] == ["stroke", "update", "move", "remove", "clear", "restore"]
    replayed = NoteState.replay(late.call("join", {"note": note_id, "since": 0})["ops"])
    assert replayed.listing() == full  # the log replays to the state a join lists
    assert watcher.wait_until(lambda: len(watcher.got["restore"]) == 1)
    assert full[0]["points"][0] == [5, 5] and full[1]["fill"] == "#000"


def test_a_deleted_note_stays_deleted_for_a_client_with_its_epoch(
    server: ServerProcess, peers: Callable[..., Peer], note_id: str
) -> None:
    a = peers()
    ack = a.call("join", {"note": note_id})
    epoch = ack["note"]["epoch"]
    a.call("stroke", {"note": note_id, **item("p")})
    assert a.call("join", {"note": note_id, "since": 1, "epoch": epoch})["ops"] == []
    r = requests.delete(f"{server.url}/api/notes/{note_id}", headers={"Origin": server.url}, timeout=5)
    assert r.status_code == 204
    back = peers()
    assert code(back.call("join", {"note": note_id, "since": 1, "epoch": epoch})) == "not_found"
    assert code(back.call("join", {"note": note_id, "epoch": epoch})) == "not_found"  # with or without since
    assert requests.get(f"{server.url}/api/notes/{note_id}", timeout=5).status_code == 404  # nothing was created
    fresh = back.call("join", {"note": note_id})  # without an epoch: v1's behaviour, a new note
    assert fresh["ok"] and fresh["note"]["epoch"] != epoch and fresh["strokes"] == []
    assert code(back.call("join", {"note": note_id, "epoch": epoch})) == "not_found"  # another incarnation
    assert code(back.call("join", {"note": note_id, "epoch": 5})) == "bad_request"


def test_profile_changes_the_name_everyone_sees(peers: Callable[..., Peer], note_id: str) -> None:
    a, b = joined(peers, note_id, name="before"), joined(peers, note_id)
    ack = a.call("profile", {"name": "  after  ", "color": "#abcdef"})
    assert ack == {"ok": True, "peer": {"peer": a.sid, "name": "after", "color": "#abcdef"}}
    assert b.wait_until(lambda: any(p["name"] == "after" for p in b.got["presence"][-1]["peers"]))
    assert [p["peer"] for p in b.got["presence"][-1]["peers"]] == [a.sid, b.sid]  # the order stays
    assert code(a.call("profile", {})) == "bad_request"
    assert code(a.call("profile", {"name": "x\u0000"})) == "bad_request"
    assert code(a.call("profile", {"color": "red"})) == "bad_request"


def test_cursor_relays_laser_and_view(peers: Callable[..., Peer], note_id: str) -> None:
    a, b = joined(peers, note_id), joined(peers, note_id)
    assert a.call("cursor", {"note": note_id, "x": 1, "y": 2, "laser": True, "view": [0, 0, 800, 600]})["ok"]
    assert b.wait_until(lambda: b.got["cursor"])
    assert b.got["cursor"][0] == {
        "note": note_id,
        "peer": a.sid,
        "x": 1,
        "y": 2,
        "laser": True,
        "view": [0, 0, 800, 600],
    }
    assert code(a.call("cursor", {"note": note_id, "x": 1, "y": 2, "laser": "yes"})) == "bad_request"
    assert code(a.call("cursor", {"note": note_id, "x": 1, "y": 2, "view": [0, 0, -1, 5]})) == "bad_request"


@pytest.mark.parametrize("name", ["connect", "disconnect", "connect_error", "no-such-event"])
def test_reserved_and_unknown_event_names_are_refused(peers: Callable[..., Peer], note_id: str, name: str) -> None:
    a = joined(peers, note_id)
    for _ in range(3):
        assert code(a.call(name, {"auth": {"name": "x"}})) == "bad_request"
    assert a.call("stroke", {"note": note_id, **item("still-here")})["ok"]  # the connection is intact
    b = joined(peers, note_id)
    assert [p["peer"] for p in b.call("join", {"note": note_id})["peers"]] == [a.sid, b.sid]


def test_a_view_only_connection_never_creates_a_note(tmp_path: Any, note_id: str) -> None:
    with ServerProcess(tmp_path, env={"COLLAB_DEFAULT_ROLE": "view"}) as srv:
        v = Peer(srv.url)
        try:
            assert code(v.call("join", {"note": note_id})) == "not_found"
            assert requests.get(f"{srv.url}/api/notes", timeout=5).json() == []
        finally:
            v.close()


def test_the_notes_cap_applies_to_joins_too(tmp_path: Any) -> None:
    with ServerProcess(tmp_path, env={"COLLAB_MAX_NOTES": "2"}) as srv:
        p = Peer(srv.url)
        try:
            assert p.call("join", {"note": "one"})["ok"]
            assert (
                requests.post(f"{srv.url}/api/notes", json={}, headers={"Origin": srv.url}, timeout=5).status_code
                == 201
            )
            assert code(p.call("join", {"note": "three"})) == "too_large"
            assert p.call("join", {"note": "one"})["ok"]  # joining an existing note is fine
            r = requests.post(f"{srv.url}/api/notes", json={}, headers={"Origin": srv.url}, timeout=5)
            assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
        finally:
            p.close()


def test_history_gives_the_state_after_any_seq(server: ServerProcess, peers: Callable[..., Peer], note_id: str) -> None:
    a = joined(peers, note_id)
    a.call("stroke", {"note": note_id, **item("p")})
    a.call("stroke", {"note": note_id, **item("r", "rect")})
    a.call("move", {"note": note_id, "ids": ["r"], "dx": 100, "dy": 0})
    a.call("clear", {"note": note_id})
    url = f"{server.url}/api/notes/{note_id}"
    assert requests.get(url, params={"at": 0}, timeout=5).json()["strokes"] == []
    at2 = requests.get(url, params={"at": 2}, timeout=5).json()
    assert at2["seq"] == 2 and [s["points"] for s in at2["strokes"]][1] == [[0, 0], [40, 30]]
    at3 = requests.get(url, params={"at": 3}, timeout=5).json()
    assert at3["strokes"][1]["points"] == [[100, 0], [140, 30]]
    assert requests.get(url, params={"at": 4}, timeout=5).json()["strokes"] == []
    assert requests.get(url, params={"at": 5}, timeout=5).status_code == 404
    for bad in ("-1", "x", "1.5"):
        assert requests.get(url, params={"at": bad}, timeout=5).status_code == 400
    svg = requests.get(url + ".svg", params={"at": 2}, timeout=5)
    assert svg.status_code == 200 and 'data-id="r"' in svg.text
    assert 'data-id="r"' not in requests.get(url + ".svg", timeout=5).text


def test_exports_answer_with_an_etag_and_honour_if_none_match(
    server: ServerProcess, peers: Callable[..., Peer], note_id: str
) -> None:
    a = joined(peers, note_id)
    a.call("stroke", {"note": note_id, **item("r", "rect")})
    url = f"{server.url}/api/notes/{note_id}.png"
    first = requests.get(url, params={"width": 240}, timeout=10)
    assert first.status_code == 200 and first.headers["ETag"]
    assert Image.open(io.BytesIO(first.content)).size[0] == 240
    again = requests.get(url, params={"width": 240}, headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
    assert again.status_code == 304 and again.content == b""
    other = requests.get(url, params={"width": 100}, headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
    assert other.status_code == 200
    a.call("stroke", {"note": note_id, **item("p")})  # a new op: the old tag no longer matches
    changed = requests.get(url, params={"width": 240}, headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    for bad in ("15", "4097", "abc"):
        assert requests.get(url, params={"width": bad}, timeout=5).status_code == 400
    svg = requests.get(url[:-4] + ".svg", timeout=5)
    assert requests.get(url[:-4] + ".svg", headers={"If-None-Match": svg.headers["ETag"]}, timeout=5).status_code == 304


def test_the_note_list_pages_with_a_link_header(tmp_path: Any) -> None:
    with ServerProcess(tmp_path) as srv:
        origin = {"Origin": srv.url}
        made = {requests.post(f"{srv.url}/api/notes", json={"title": f"n{i}"}, headers=origin, timeout=5).json()["id"]
                for i in range(7)}  # fmt: skip
        seen: list[str] = []
        url: str | None = f"{srv.url}/api/notes?limit=3"
        pages = 0
        while url:
            r = requests.get(url, timeout=5)
            assert r.status_code == 200
            seen += [n["id"] for n in r.json()]
            pages += 1
            url = r.links.get("next", {}).get("url")
            if url and url.startswith("/"):
                url = srv.url + url
        assert pages == 3 and len(seen) == 7 and set(seen) == made
        assert seen == [n["id"] for n in requests.get(f"{srv.url}/api/notes", timeout=5).json()]
        assert "Link" not in requests.get(f"{srv.url}/api/notes", timeout=5).headers
        for bad in ("0", "1001", "x"):
            assert requests.get(f"{srv.url}/api/notes", params={"limit": bad}, timeout=5).status_code == 400
        assert requests.get(f"{srv.url}/api/notes", params={"after": "garbage!"}, timeout=5).status_code == 400


def test_titles_with_lone_surrogates_or_nul_are_refused(server: ServerProcess) -> None:
    origin = {"Origin": server.url, "Content-Type": "application/json"}
    for bad in ('"\\ud800"', '"a\\u0000b"', '"line\\nbreak"'):
        r = requests.post(f"{server.url}/api/notes", data='{"title": ' + bad + "}", headers=origin, timeout=5)
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request", r.text


def test_back_to_back_joins_of_an_unchanged_note_send_the_same_state(peers: Callable[..., Peer], note_id: str) -> None:
    a = joined(peers, note_id)
    for n, kind in enumerate(ITEMS):
        a.call("stroke", {"note": note_id, **item(f"i{n}", kind)})
    b = peers()
    first, second = listing(b, note_id), listing(b, note_id)  # the second from the encoded-state cache
    assert first == second and len(first) == len(ITEMS)
    a.call("remove", {"note": note_id, "id": "i0"})  # a new seq: the cache is not used
    assert [s["id"] for s in listing(b, note_id)] == [f"i{n}" for n in range(1, len(ITEMS))]
