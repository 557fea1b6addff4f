"""Standalone access control: default role, signed share links, same-origin writes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from collab.access import ShareLinks
from collab.store import open_store

from serverproc import ServerProcess
from sioclient import Peer, stroke


def test_share_links_are_bound_to_note_role_and_time() -> None:
    links = ShareLinks("s3cret", max_age=1)
    token = links.make("n1", "view")
    assert links.role(token, "n1") == "view"
    assert links.role(token, "n2") is None  # another note
    assert ShareLinks("other", 10).role(token, "n1") is None  # forged: wrong secret
    sig = token.rindex(".") + 1  # the signature's first character carries 6 bits of it, never ignored
    tampered = token[:sig] + ("B" if token[sig] == "A" else "A") + token[sig + 1 :]
    assert links.role(tampered, "n1") is None  # tampered
    assert links.role("garbage", "n1") is None and links.role(None, "n1") is None
    with pytest.raises(ValueError, match="role"):
        links.make("n1", "admin")
    time.sleep(2.1)
    assert links.role(token, "n1") is None  # expired


@pytest.fixture(scope="module")
def private_server(tmp_path_factory: pytest.TempPathFactory):
    """Notes are private unless you hold a link; links expire after 3 s."""
    env = {"COLLAB_DEFAULT_ROLE": "none", "COLLAB_SHARE_MAX_AGE": "3"}
    with ServerProcess(tmp_path_factory.mktemp("private"), env=env) as srv:
        yield srv


def make_note(url: str, **headers: str) -> str:
    return requests.post(url + "/api/notes", json={"title": "t"}, headers=headers, timeout=5)


def test_private_server_needs_links(private_server: ServerProcess, note_id: str) -> None:
    url = private_server.url
    assert make_note(url).status_code == 403
    assert requests.get(url + "/api/notes", timeout=5).status_code == 403
    anon = Peer(url)
    assert anon.call("join", {"note": note_id})["error"]["code"] == "forbidden"
    anon.close()


def test_share_links_over_socket_and_http(tmp_path: Path, note_id: str) -> None:
    with ServerProcess(tmp_path, env={"COLLAB_DEFAULT_ROLE": "view", "COLLAB_SHARE_MAX_AGE": "4"}) as srv:
        # default role view: anyone may look, nobody may change without an edit link
        viewer = Peer(srv.url)
        assert viewer.call("join", {"note": note_id})["error"]["code"] == "not_found"  # a viewer never creates
        store = open_store(srv.database)
        store.create(note_id, note_id)
        store.close()
        ack = viewer.call("join", {"note": note_id})
        assert ack["role"] == "view"
        assert viewer.call("stroke", stroke(note_id, "v"))["error"]["code"] == "forbidden"
        assert viewer.call("clear", {"note": note_id})["error"]["code"] == "forbidden"
        assert viewer.call("draft", {**stroke(note_id, "d")})["error"]["code"] == "forbidden"
        assert viewer.call("cursor", {"note": note_id, "x": 1, "y": 1}) == {"ok": True}
        r = requests.post(f"{srv.url}/api/notes/{note_id}/share", json={"role": "edit"}, timeout=5)
        assert r.status_code == 403  # a viewer cannot mint links
        # the server's secret lives in its database: mint a link the way an admin script would
        store = open_store(srv.database)
        edit_token = ShareLinks(store.secret(), 4).make(note_id, "edit")
        store.close()
        editor = Peer(srv.url, auth={"token": edit_token})
        assert editor.call("join", {"note": note_id})["role"] == "edit"
        assert editor.call("stroke", stroke(note_id, "e"))["seq"] == 1
        other = editor.call("join", {"note": "other-note"})  # the link is for one note only: it creates no other
        assert other["error"]["code"] == "not_found"
        hdr = {"X-Collab-Token": edit_token}
        link = requests.post(f"{srv.url}/api/notes/{note_id}/share", json={"role": "view"}, headers=hdr, timeout=5)
        assert link.status_code == 201
        body = link.json()
        assert body["role"] == "view" and f"/n/{note_id}?share=" in body["url"]
        renamed = requests.patch(f"{srv.url}/api/notes/{note_id}", json={"title": "x"}, headers=hdr, timeout=5)
        assert renamed.status_code == 200
        assert requests.patch(f"{srv.url}/api/notes/{note_id}", json={"title": "y"}, timeout=5).status_code == 403
        forged = {"X-Collab-Token": edit_token[:-3] + "abc"}
        assert requests.delete(f"{srv.url}/api/notes/{note_id}", headers=forged, timeout=5).status_code == 403
        time.sleep(5.2)  # the edit link expires (itsdangerous counts whole seconds: 5 s is always past 4)
        late = Peer(srv.url, auth={"token": edit_token})
        assert late.call("join", {"note": note_id})["role"] == "view"
        assert requests.delete(f"{srv.url}/api/notes/{note_id}", headers=hdr, timeout=5).status_code == 403
        for p in (viewer, editor, late):
            p.close()


def test_cross_site_writes_are_refused(server: ServerProcess) -> None:
    api = server.url + "/api/notes"
    evil = {"Origin": "https://evil.example"}
    r = requests.post(api, json={"title": "x"}, headers=evil, timeout=5)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    ok = requests.post(api, json={"title": "x"}, headers={"Origin": server.url}, timeout=5)
    assert ok.status_code == 201
    assert requests.delete(f"{api}/{ok.json()['id']}", headers=evil, timeout=5).status_code == 403
    assert requests.get(api, headers=evil, timeout=5).status_code == 200  # reads are not writes


def test_cross_site_socket_is_refused_by_default(server: ServerProcess) -> None:
    import socketio

    sio = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio.connect(server.url, namespaces=["/notes"], headers={"Origin": "https://evil.example"}, wait_timeout=5)
