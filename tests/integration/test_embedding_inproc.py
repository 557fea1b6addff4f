"""The extension's contract, checked in one process (Flask and Flask-SocketIO test clients).

Two apps in one process keep their own notes; ``init_app`` twice fails clearly; a
host's ``SocketIO`` must be initialised first and keeps its own handlers; options
are defaults the app config overrides; share tokens made with ``collab.share_token``
expire and are bound to their note. The real-server proof of the same behaviour,
over WebSocket and long-polling, is test_embedding.py.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from flask_socketio import SocketIO
from itsdangerous.timed import TimestampSigner

from collab import Collab
from collab.errors import ConfigError

from serverproc import ROOT

NS = "/notes"


def example() -> ModuleType:
    """``examples/host_site/app.py`` as a module (imported once)."""
    name = "host_site_example"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / "host_site" / "app.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[list[Flask]]:
    """Made apps; their collab state is closed after the test."""
    made: list[Flask] = []
    yield made
    for app in made:
        state = app.extensions.get("collab")
        if state is not None:
            state.close()


def site(apps: list[Flask], db: Path, **config: Any) -> Flask:
    """The example site in threading mode (no monkey-patching in the test process)."""
    app = example().create_app({"SOCKETIO_ASYNC_MODE": "threading", "COLLAB_DATABASE": f"sqlite:///{db}", **config})
    app.config["TESTING"] = True
    apps.append(app)
    return app


def sio_client(app: Flask, flask_client: Any = None, auth: dict[str, Any] | None = None) -> Any:
    socketio: SocketIO = app.extensions["socketio"]
    return socketio.test_client(app, namespace=NS, flask_test_client=flask_client, auth=auth)


def call(client: Any, event: str, data: Any) -> Any:
    return client.emit(event, data, namespace=NS, callback=True)


def stroke(note: str, sid: str) -> dict[str, Any]:
    return {"note": note, "id": sid, "color": "#000", "width": 2, "points": [[0, 0], [5, 5]]}


def login(client: Any, user: str = "alice") -> None:
    r = client.post("/login", data={"username": user, "password": f"{user}-pw"})
    assert r.status_code == 302


# -- two apps, one process ---------------------------------------------------------------------------
def test_two_apps_in_one_process_keep_their_own_notes(apps: list[Flask], tmp_path: Path) -> None:
    one, two = site(apps, tmp_path / "one.db"), site(apps, tmp_path / "two.db")
    s1, s2 = one.extensions["collab"], two.extensions["collab"]
    assert s1 is not s2 and s1.store is not s2.store and s1.socketio is not s2.socketio
    assert s1.ext is s2.ext is example().collab  # one Collab object serves both apps

    web1, web2 = one.test_client(), two.test_client()
    login(web1)
    login(web2)
    made = web1.post("/whiteboard/api/notes", json={"title": "Only in one"}).get_json()["id"]
    assert [n["id"] for n in web1.get("/whiteboard/api/notes").get_json()] == [made]
    assert web2.get("/whiteboard/api/notes").get_json() == []
    assert web2.get(f"/whiteboard/api/notes/{made}").status_code == 404

    # Over Socket.IO: a stroke in app one is not in app two, and app two's members see nothing.
    c1, c2 = sio_client(one, web1), sio_client(two, web2)
    assert call(c1, "join", {"note": "shared-name"})["role"] == "edit"
    assert call(c2, "join", {"note": "shared-name"})["role"] == "edit"
    assert call(c1, "stroke", stroke("shared-name", "x"))["seq"] == 1
    assert web1.get("/whiteboard/api/notes/shared-name").get_json()["seq"] == 1
    assert web2.get("/whiteboard/api/notes/shared-name").get_json()["seq"] == 0
    assert [p["name"] for p in c2.get_received(NS) if p["name"] == "stroke"] == []
    # Signals are per app too: each site's log has only its own events.
    log1 = [e["note"] for e in one.extensions["host_site.activity"]]
    log2 = [e["note"] for e in two.extensions["host_site.activity"]]
    assert made in log1 and made not in log2
    c1.disconnect(namespace=NS)
    c2.disconnect(namespace=NS)


def test_two_collab_objects_with_their_own_prefixes(apps: list[Flask], tmp_path: Path) -> None:
    a, b = Flask("a"), Flask("b")
    Collab(a, url_prefix="/boards", database=f"sqlite:///{tmp_path / 'a.db'}", async_mode="threading")
    Collab(b, url_prefix="/sketch", database=f"sqlite:///{tmp_path / 'b.db'}", async_mode="threading")
    apps.extend([a, b])
    assert a.test_client().post("/boards/api/notes", json={}).status_code == 201
    assert len(a.test_client().get("/boards/api/notes").get_json()) == 1
    assert b.test_client().get("/sketch/api/notes").get_json() == []
    assert b.test_client().get("/boards/api/notes").status_code == 404


# -- init_app ----------------------------------------------------------------------------------------
def test_init_app_twice_fails_with_a_clear_message(apps: list[Flask], tmp_path: Path) -> None:
    app = site(apps, tmp_path / "x.db")
    with pytest.raises(RuntimeError, match=r"already set up on app .*call init_app once per app"):
        example().collab.init_app(app, socketio=app.extensions["socketio"])
    with pytest.raises(RuntimeError, match="already set up"):
        Collab().init_app(app)


def test_a_host_socketio_must_be_initialised_first(tmp_path: Path) -> None:
    app = Flask("host")
    app.config["COLLAB_DATABASE"] = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(ConfigError, match=r"call socketio\.init_app\(app\) before collab\.init_app"):
        Collab().init_app(app, socketio=SocketIO(async_mode="threading"))
    assert "collab" not in app.extensions


def test_without_a_socketio_collab_makes_one_with_its_settings(apps: list[Flask], tmp_path: Path) -> None:
    app = Flask("plain")
    app.config.update(
        COLLAB_DATABASE=f"sqlite:///{tmp_path / 'x.db'}",
        COLLAB_ASYNC_MODE="threading",
        COLLAB_CORS_ORIGINS=["https://app.example"],
    )
    Collab(app)
    apps.append(app)
    socketio = app.extensions["collab"].socketio
    assert isinstance(socketio, SocketIO) and app.extensions["socketio"] is socketio
    assert socketio.server.eio.cors_allowed_origins == ["https://app.example"]
    web = app.test_client()
    # the same list opens cross-site HTTP writes; others are refused
    assert web.post("/api/notes", json={}, headers={"Origin": "https://app.example"}).status_code == 201
    assert web.post("/api/notes", json={}, headers={"Origin": "https://evil.example"}).status_code == 403


def test_options_are_defaults_and_the_app_config_wins(apps: list[Flask], tmp_path: Path) -> None:
    app = Flask("cfg")
    app.config.update(COLLAB_URL_PREFIX="/from-config", COLLAB_ASYNC_MODE="threading")
    ext = Collab(url_prefix="/from-options", namespace="/boards", database=f"sqlite:///{tmp_path / 'x.db'}")
    ext.init_app(app)
    apps.append(app)
    assert app.config["COLLAB_URL_PREFIX"] == "/from-config" and app.config["COLLAB_NAMESPACE"] == "/boards"
    assert app.config["COLLAB_AUTO_CREATE"] is True  # keys given nowhere: the defaults
    html = app.test_client().get("/from-config/").get_data(as_text=True)
    assert '"namespace": "/boards"' in html and '"api": "/from-config/api/notes"' in html
    with pytest.raises(ConfigError, match="unknown collab option"):
        Collab(url_prefx="/typo")
    with pytest.raises(ConfigError, match="may not be '/'"):
        Collab(Flask("root-ns"), namespace="/", async_mode="threading")


def test_the_hosts_own_handlers_and_namespaces_are_untouched(apps: list[Flask], tmp_path: Path) -> None:
    app = Flask("host")
    app.config["COLLAB_DATABASE"] = f"sqlite:///{tmp_path / 'x.db'}"
    socketio = SocketIO(app, async_mode="threading")
    seen: list[str] = []

    @socketio.on("connect")
    def on_connect(auth: Any = None) -> None:
        seen.append("connect /")

    @socketio.on("stroke")  # the same event name as collab's, in the host's namespace
    def host_stroke(data: Any) -> str:
        return "the host's stroke"

    @socketio.on("ping", namespace="/admin")
    def admin_ping(data: Any) -> str:
        return "pong"

    before = {ns: dict(h) for ns, h in socketio.server.handlers.items()}
    Collab(app, socketio=socketio)
    apps.append(app)
    assert {ns: dict(h) for ns, h in socketio.server.handlers.items()} == before
    assert set(socketio.server.namespace_handlers) == {NS}

    root = socketio.test_client(app)
    assert seen == ["connect /"]
    assert root.emit("stroke", {"x": 1}, callback=True) == "the host's stroke"
    admin = socketio.test_client(app, namespace="/admin")
    assert admin.emit("ping", None, namespace="/admin", callback=True) == "pong"
    notes = socketio.test_client(app, namespace=NS)
    assert call(notes, "join", {"note": "n"})["role"] == "edit"  # no hooks: COLLAB_DEFAULT_ROLE
    assert call(notes, "stroke", stroke("n", "s"))["seq"] == 1
    assert root.get_received() == [] and admin.get_received("/admin") == []


# -- hooks -------------------------------------------------------------------------------------------
def test_authorize_hook_roles_with_the_example_site(apps: list[Flask], tmp_path: Path) -> None:
    app = site(apps, tmp_path / "x.db")
    web = app.test_client()
    visitor = sio_client(app)
    assert call(visitor, "join", {"note": "public"})["error"]["code"] == "not_found"  # a viewer never creates
    app.extensions["collab"].store.create("public", "Public")
    assert call(visitor, "join", {"note": "public"})["role"] == "view"
    assert call(visitor, "stroke", stroke("public", "v"))["error"]["code"] == "forbidden"
    assert call(visitor, "join", {"note": "private-1"})["error"]["code"] == "forbidden"
    login(web)
    member = sio_client(app, web)  # the session cookie of the Flask test client reaches identify()
    assert call(member, "join", {"note": "private-1"})["role"] == "edit"
    assert web.get("/whiteboard/api/notes/private-1").status_code == 200
    assert app.test_client().get("/whiteboard/api/notes/private-1").status_code == 403


def test_an_authorize_hook_returning_nonsense_is_an_error_not_access(apps: list[Flask], tmp_path: Path) -> None:
    app = Flask("bad-hook")
    ext = Collab(database=f"sqlite:///{tmp_path / 'x.db'}", async_mode="threading")

    @ext.authorize
    def authorize(identity: Any, note: str | None) -> str:
        return "admin"

    ext.init_app(app)
    apps.append(app)
    client = app.extensions["socketio"].test_client(app, namespace=NS)
    ack = call(client, "join", {"note": "n"})
    assert ack["ok"] is False and ack["error"]["code"] == "internal"
    assert app.test_client().get("/api/notes").status_code == 500


def _identify_app(apps: list[Flask], tmp_path: Path, error: Exception) -> Flask:
    app = Flask("identify")
    ext = Collab(database=f"sqlite:///{tmp_path / 'x.db'}", async_mode="threading")

    @ext.identify
    def identify(auth: dict[str, Any] | None) -> str:
        if auth is not None and auth.get("token") == "refuse":
            raise error
        return "someone"

    ext.init_app(app)
    apps.append(app)
    return app


def test_identify_may_refuse_a_connection(apps: list[Flask], tmp_path: Path) -> None:
    from collab.errors import Forbidden

    app = _identify_app(apps, tmp_path, Forbidden("unknown token"))
    socketio = app.extensions["socketio"]
    refused = socketio.test_client(app, namespace=NS, auth={"token": "refuse"})
    assert not refused.is_connected(NS)
    ok = socketio.test_client(app, namespace=NS, auth={"token": "fine"})
    assert call(ok, "join", {"note": "n"})["role"] == "edit"


def test_a_failing_identify_hook_refuses_the_connection(apps: list[Flask], tmp_path: Path) -> None:
    app = _identify_app(apps, tmp_path, ValueError("a bug in the host's identify hook"))
    refused = app.extensions["socketio"].test_client(app, namespace=NS, auth={"token": "refuse"})
    assert not refused.is_connected(NS)


# -- share tokens ------------------------------------------------------------------------------------
def test_share_tokens_made_by_the_host(apps: list[Flask], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = site(apps, tmp_path / "x.db", COLLAB_SHARE_MAX_AGE=3600)
    ext = example().collab
    with app.app_context():
        token = ext.share_token("private-doc", "view")
    assert ext.share_role(token, "private-doc", app=app) == "view"
    assert ext.share_role(token, "private-other", app=app) is None  # bound to its note
    assert ext.share_role(token + "x", "private-doc", app=app) is None  # tampered
    with pytest.raises(ValueError, match="role"):
        ext.share_token("private-doc", "owner", app=app)
    # The same token opens the note to a visitor, over HTTP and over the socket...
    member_web = app.test_client()
    login(member_web)
    member = sio_client(app, member_web)
    assert call(member, "join", {"note": "private-doc"})["role"] == "edit"  # creates it
    web = app.test_client()
    assert web.get("/whiteboard/api/notes/private-doc", query_string={"share": token}).status_code == 200
    visitor = sio_client(app, auth={"token": token})
    assert call(visitor, "join", {"note": "private-doc"})["role"] == "view"
    # ...until it expires (a token signed two hours ago; COLLAB_SHARE_MAX_AGE is one hour).
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 7200)
    old = ext.share_token("private-doc", "view", app=app)
    monkeypatch.undo()
    assert ext.share_role(old, "private-doc", app=app) is None
    assert web.get("/whiteboard/api/notes/private-doc", query_string={"share": old}).status_code == 403
    late = sio_client(app, auth={"token": old})
    assert call(late, "join", {"note": "private-doc"})["error"]["code"] == "forbidden"
    # Outside an app context and without app=, the error says what to do.
    with pytest.raises(RuntimeError, match="outside of application context"):
        ext.share_token("private-doc", "view")


# -- signals and docs --------------------------------------------------------------------------------
def test_a_failing_signal_receiver_does_not_break_the_event(apps: list[Flask], tmp_path: Path) -> None:
    from collab import signals

    app = Flask("receivers")
    Collab(app, database=f"sqlite:///{tmp_path / 'x.db'}", async_mode="threading")
    apps.append(app)

    def broken(sender: Flask, **extra: Any) -> None:
        raise ValueError("a bug in the host's receiver")

    signals.member_joined.connect(broken, sender=app, weak=False)
    try:
        client = app.extensions["socketio"].test_client(app, namespace=NS)
        assert call(client, "join", {"note": "n"})["ok"] is True
    finally:
        signals.member_joined.disconnect(broken, sender=app)


def test_every_config_key_is_documented_for_embedders() -> None:
    from collab.config import DEFAULTS

    embedding = (ROOT / "docs" / "embedding.md").read_text()
    missing = [key for key in DEFAULTS if f"`{key}`" not in embedding and f"`{key} " not in embedding]
    assert missing == [], f"add these keys to the table in docs/embedding.md section 11: {missing}"
