"""Attacks on the realtime layer, each run against the real server with a measured neighbour beside it."""

from __future__ import annotations

import time
from pathlib import Path

import socketio

from collab.access import ShareLinks
from collab.store import open_store

from serverproc import ServerProcess
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
