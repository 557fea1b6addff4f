"""Unit tests of the namespace with Flask-SocketIO's in-process test client (threading mode)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from collab import create_app

NS = "/notes"


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return create_app(
        {"COLLAB_DATABASE": f"sqlite:///{tmp_path / 'u.db'}", "COLLAB_ASYNC_MODE": "threading"}, from_env=False
    )


def client(app: Flask, **auth: Any) -> Any:
    sio = app.extensions["collab"].socketio
    return sio.test_client(app, namespace=NS, auth=auth or None)


def test_a_failing_store_gives_internal_and_the_connection_lives(app: Flask, monkeypatch) -> None:
    c = client(app)
    assert c.emit("join", {"note": "n"}, namespace=NS, callback=True)["ok"]
    store = app.extensions["collab"].store

    def broken(*args: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "apply", broken)
    ack = c.emit(
        "stroke", {"note": "n", "id": "s", "color": "#000", "width": 1, "points": [[0, 0]]}, namespace=NS, callback=True
    )
    assert ack["ok"] is False and ack["error"]["code"] == "internal"
    monkeypatch.setattr(store, "join", broken)
    assert c.emit("join", {"note": "m"}, namespace=NS, callback=True)["error"]["code"] == "internal"
    assert c.is_connected(NS)
    monkeypatch.undo()
    ack = c.emit(
        "stroke", {"note": "n", "id": "s", "color": "#000", "width": 1, "points": [[0, 0]]}, namespace=NS, callback=True
    )
    assert ack == {"ok": True, "seq": 1}


def test_auto_create_off_gives_not_found(tmp_path: Path) -> None:
    app = create_app(
        {
            "COLLAB_DATABASE": f"sqlite:///{tmp_path / 'u.db'}",
            "COLLAB_ASYNC_MODE": "threading",
            "COLLAB_AUTO_CREATE": False,
        },
        from_env=False,
    )
    c = client(app)
    assert c.emit("join", {"note": "nope"}, namespace=NS, callback=True)["error"]["code"] == "not_found"


def test_joined_notes_limit(tmp_path: Path) -> None:
    app = create_app(
        {
            "COLLAB_DATABASE": f"sqlite:///{tmp_path / 'u.db'}",
            "COLLAB_ASYNC_MODE": "threading",
            "COLLAB_MAX_NOTES_JOINED": 2,
        },
        from_env=False,
    )
    c = client(app)
    assert c.emit("join", {"note": "a"}, namespace=NS, callback=True)["ok"]
    assert c.emit("join", {"note": "b"}, namespace=NS, callback=True)["ok"]
    assert c.emit("join", {"note": "a"}, namespace=NS, callback=True)["ok"]  # re-join is fine
    assert c.emit("join", {"note": "c"}, namespace=NS, callback=True)["error"]["code"] == "too_large"
    assert c.emit("leave", {"note": "a"}, namespace=NS, callback=True) == {"ok": True}
    assert c.emit("join", {"note": "c"}, namespace=NS, callback=True)["ok"]


def test_identify_can_name_the_peer(tmp_path: Path) -> None:
    from flask import Flask as _Flask
    from flask_socketio import SocketIO

    from collab import Collab

    host = _Flask("host")
    sio = SocketIO(host, async_mode="threading")
    collab = Collab(database=f"sqlite:///{tmp_path / 'h.db'}")

    @collab.identify
    def who(auth: Any) -> Any:
        return {"name": "Ada Lovelace", "color": "#112233", "user_id": 7}

    collab.init_app(host, socketio=sio)
    c = sio.test_client(host, namespace=NS, auth={"name": "spoofed"})
    me = c.emit("join", {"note": "n"}, namespace=NS, callback=True)["peers"][0]
    assert (me["name"], me["color"]) == ("Ada Lovelace", "#112233")
