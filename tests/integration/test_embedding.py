"""Collab embedded in an existing Flask site: the example site of ``examples/host_site``.

The site is started for real (gevent, its own ``SocketIO``, Flask-Login) and driven with
``requests`` and stock python-socketio clients over WebSocket and long-polling: the
site's own pages and chat event keep working beside collab, collab works under
``/whiteboard``, the ``authorize`` hook's edit / view / refuse are enforced over the
socket and over HTTP, share links are checked, and the site sees collab's signals.
The in-process checks (two apps, ``init_app`` twice, ...) are in test_embedding_inproc.py.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from itsdangerous.timed import TimestampSigner

from collab import _sioclient
from collab.access import ShareLinks

from serverproc import EXAMPLE, EXAMPLE_SECRET, ROOT, HostSite
from sioclient import wait_on

NS = "/notes"
TRANSPORTS = ["websocket", "polling"]


class ThreadingHostSite(HostSite):
    """The example site served by Werkzeug's threaded server (no gevent), as during development."""

    SCRIPT = (
        "import importlib.util, sys\n"
        "spec = importlib.util.spec_from_file_location('host_site', sys.argv[1])\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "app = m.create_app({'SOCKETIO_ASYNC_MODE': 'threading', 'COLLAB_DATABASE': sys.argv[3]})\n"
        "app.extensions['socketio'].run(app, port=int(sys.argv[2]), allow_unsafe_werkzeug=True, log_output=False)\n"
    )

    def command(self) -> list[str]:
        return [sys.executable, "-c", self.SCRIPT, str(EXAMPLE), str(self.port), self.database]


class GunicornHostSite(HostSite):
    """The example site under gunicorn with gevent-websocket's worker, as docs/embedding.md shows."""

    def command(self) -> list[str]:
        factory = f"app:create_app({{'COLLAB_DATABASE': {self.database!r}}})"
        worker = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
        bind = f"127.0.0.1:{self.port}"
        return [sys.executable, "-m", "gunicorn", "-k", worker, "-w", "1", "--bind", bind,
                "--pythonpath", str(EXAMPLE.parent), factory]  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostSite]:
    with HostSite(tmp_path_factory.mktemp("host_site")) as srv:
        yield srv


@pytest.fixture
def note() -> str:
    return "emb-" + uuid.uuid4().hex[:12]


def logged_in(site: HostSite, user: str = "alice") -> requests.Session:
    """A ``requests`` session logged in to the site through its own login form."""
    s = requests.Session()
    r = s.post(site.url + "/login", data={"username": user, "password": f"{user}-pw"}, timeout=10)
    assert r.status_code == 200 and s.cookies.get("session"), r.text
    assert s.get(site.url + "/me", timeout=10).json() == {"user": user}
    return s


def cookie_header(s: requests.Session) -> str:
    return "; ".join(f"{k}={v}" for k, v in s.cookies.items())


class Client:
    """A python-socketio client (collab's, as in ``sioclient.py``) on ``/`` and ``/notes``, recording events."""

    def __init__(
        self,
        url: str,
        *,
        transport: str = "websocket",
        cookie: str | None = None,
        auth: dict[str, Any] | None = None,
        namespaces: tuple[str, ...] = ("/", NS),
    ) -> None:
        self.sio = _sioclient.Client(reconnection=False)
        self.got: dict[tuple[str, str], list[Any]] = defaultdict(list)
        self._cv = threading.Condition()
        for ns in namespaces:
            events = ("chat",) if ns == "/" else ("stroke", "remove", "clear", "presence", "draft", "error")
            for ev in events:
                self.sio.on(ev, self._recorder(ns, ev), namespace=ns)
        headers = {"Cookie": cookie} if cookie else {}
        self.sio.connect(
            url, namespaces=list(namespaces), transports=[transport], headers=headers, auth=auth, wait_timeout=10
        )

    def _recorder(self, ns: str, ev: str) -> Callable[[Any], None]:
        def record(data: Any) -> None:
            with self._cv:
                self.got[(ns, ev)].append(data)
                self._cv.notify_all()

        return record

    def call(self, event: str, data: Any = None, namespace: str = NS) -> Any:
        return self.sio.call(event, data, namespace=namespace, timeout=15)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 15) -> bool:
        return wait_on(self._cv, predicate, timeout)

    def close(self) -> None:
        self.sio.disconnect()


def stroke(note: str, sid: str) -> dict[str, Any]:
    return {"note": note, "id": sid, "color": "#1971c2", "width": 4, "points": [[0, 0], [30, 40]]}


def code(ack: dict[str, Any]) -> str | None:
    return ack["error"]["code"] if not ack.get("ok") else None


def page_config(html: str) -> dict[str, Any]:
    m = re.search(r'<script id="collab-config" type="application/json">(.*?)</script>', html, re.S)
    assert m, "the page has no collab-config block"
    return dict(json.loads(m.group(1)))


def stored(site: HostSite, note: str) -> dict[str, Any]:
    r = logged_in(site).get(f"{site.url}/whiteboard/api/notes/{note}", timeout=10)
    r.raise_for_status()
    return dict(r.json())


# -- the host's own site still works beside collab ------------------------------------------------------
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_host_pages_and_chat_work_beside_collab(site: HostSite, transport: str, note: str) -> None:
    home = requests.get(site.url + "/", timeout=10)
    assert home.status_code == 200 and "Welcome to the Acme Intranet" in home.text
    assert "alice-pw" in requests.get(site.url + "/login", timeout=10).text
    alice = logged_in(site)
    assert "Hello Alice" in alice.get(site.url + "/", timeout=10).text

    # One connection holds the site's "/" and collab's "/notes"; another only the site's "/".
    both = Client(site.url, transport=transport, cookie=cookie_header(alice))
    chat_only = Client(site.url, transport=transport, namespaces=("/",))
    try:
        assert both.call("chat", {"text": "hello"}, namespace="/") == {"ok": True}
        assert chat_only.wait_until(lambda: chat_only.got[("/", "chat")] == [{"user": "Alice", "text": "hello"}])
        assert both.call("join", {"note": note})["role"] == "edit"
        assert both.call("stroke", stroke(note, "s1"))["seq"] == 1
        assert chat_only.call("chat", {"text": "and back"}, namespace="/") == {"ok": True}
        assert both.wait_until(lambda: {"user": "guest", "text": "and back"} in both.got[("/", "chat")])
        assert chat_only.call("chat", {"text": "  "}, namespace="/") == {"ok": False, "error": "empty message"}
    finally:
        both.close()
        chat_only.close()
    # Collab's broadcasts stay in its namespace; the site's stay in "/".
    assert both.got[(NS, "stroke")] == [] and not any(k[0] == NS for k in chat_only.got)


# -- collab under /whiteboard ---------------------------------------------------------------------------
def test_pages_api_and_static_live_under_the_prefix(site: HostSite, note: str) -> None:
    index = requests.get(site.url + "/whiteboard/", timeout=10)
    assert index.status_code == 200
    want = {
        "note": None,
        "namespace": "/notes",
        "socketioPath": "/socket.io",  # the site's SocketIO serves every namespace at its own path
        "api": "/whiteboard/api/notes",
        "home": "/whiteboard/",
        "notePage": "/whiteboard/n/__NOTE__",
        "static": "/whiteboard/collab-static/",
    }
    cfg = page_config(index.text)
    assert {k: cfg.get(k) for k in want} == want
    page = requests.get(f"{site.url}/whiteboard/n/{note}", timeout=10)
    assert page.status_code == 200 and page_config(page.text)["note"] == note
    # every asset the page references is served under the prefix
    assets = re.findall(r'(?:src|href)="(/whiteboard/collab-static/[^"]+)"', page.text)
    assert any(a.endswith("js/note.js") for a in assets) and any(a.endswith("css/collab.css") for a in assets)
    for a in assets:
        assert requests.get(site.url + a, timeout=10).status_code == 200, a
    # the API answers under the prefix only; the site's root is the site's own
    alice = logged_in(site)
    made = alice.post(site.url + "/whiteboard/api/notes", json={"title": "Plan"}, timeout=10)
    assert made.status_code == 201
    ids = [n["id"] for n in requests.get(site.url + "/whiteboard/api/notes", timeout=10).json()]
    assert made.json()["id"] in ids
    assert requests.get(site.url + "/api/notes", timeout=10).status_code == 404
    assert requests.get(f"{site.url}/n/{note}", timeout=10).status_code == 404
    assert requests.get(site.url + "/healthz", timeout=10).status_code == 404


def test_the_site_guards_collab_metrics(site: HostSite) -> None:
    """A host's own before_request applies to collab's blueprint: metrics for logged-in users only."""
    assert requests.get(site.url + "/whiteboard/metrics", timeout=10).status_code == 404
    r = logged_in(site).get(site.url + "/whiteboard/metrics", timeout=10)
    assert r.status_code == 200 and "collab_" in r.text


def test_host_template_override_wins(site: HostSite, note: str) -> None:
    anon = requests.get(f"{site.url}/whiteboard/n/{note}", timeout=10).text
    assert 'id="host-badge"' in anon and "Visitor, view only" in anon and "Log in to draw" in anon
    assert '<canvas id="board"' in anon and 'id="toasts"' in anon  # collab's page inside the site's layout
    mine = logged_in(site, "bob").get(f"{site.url}/whiteboard/n/{note}", timeout=10).text
    assert "Bob (can draw)" in mine


# -- the authorize hook: edit / view / refuse, over the socket ------------------------------------------
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_login_session_edits_and_visitors_only_view(site: HostSite, transport: str, note: str) -> None:
    alice = Client(site.url, transport=transport, cookie=cookie_header(logged_in(site)))
    visitor = Client(site.url, transport=transport)
    try:
        assert alice.call("join", {"note": note})["role"] == "edit"
        seen = visitor.call("join", {"note": note})
        assert seen["ok"] and seen["role"] == "view"

        # The visitor sees Alice's strokes live...
        assert alice.call("stroke", stroke(note, "a1"))["seq"] == 1
        assert visitor.wait_until(lambda: [s["id"] for s in visitor.got[(NS, "stroke")]] == ["a1"])
        # ...and may change nothing: every op and draft is forbidden, nothing reaches Alice.
        assert code(visitor.call("stroke", stroke(note, "v1"))) == "forbidden"
        assert code(visitor.call("remove", {"note": note, "id": "a1"})) == "forbidden"
        assert code(visitor.call("clear", {"note": note})) == "forbidden"
        draft = {"note": note, "id": "d", "color": "#000", "width": 2, "points": [[1, 1]]}
        assert code(visitor.call("draft", draft)) == "forbidden"
        assert alice.call("remove", {"note": note, "id": "a1"})["seq"] == 2
        assert visitor.wait_until(lambda: len(visitor.got[(NS, "remove")]) == 1)
        assert alice.got[(NS, "stroke")] == [] and alice.got[(NS, "draft")] == []
    finally:
        alice.close()
        visitor.close()
    state = stored(site, note)
    assert state["seq"] == 2 and state["strokes"] == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_private_notes_refuse_visitors(site: HostSite, transport: str) -> None:
    private = "private-" + uuid.uuid4().hex[:10]
    visitor = Client(site.url, transport=transport)
    bob = Client(site.url, transport=transport, cookie=cookie_header(logged_in(site, "bob")))
    try:
        assert code(visitor.call("join", {"note": private})) == "forbidden"
        assert code(visitor.call("stroke", stroke(private, "v"))) == "not_joined"
        assert bob.call("join", {"note": private})["role"] == "edit"
        assert bob.call("stroke", stroke(private, "b1"))["seq"] == 1
        assert code(visitor.call("join", {"note": private})) == "forbidden"  # still refused once it exists
    finally:
        visitor.close()
        bob.close()
    assert visitor.got[(NS, "stroke")] == [] and visitor.got[(NS, "presence")] == []


# -- ... and over HTTP --------------------------------------------------------------------------------
def test_http_api_obeys_the_authorize_hook(site: HostSite) -> None:
    api = site.url + "/whiteboard/api/notes"
    alice = logged_in(site)
    public = alice.post(api, json={"title": "Public"}, timeout=10).json()["id"]
    private = "private-" + uuid.uuid4().hex[:10]
    with _joined(site, alice, private):
        pass

    # A visitor (view): reads, never writes.
    assert requests.get(f"{api}/{public}", timeout=10).status_code == 200
    assert requests.get(f"{api}/{public}.svg", timeout=10).status_code == 200
    listed = [n["id"] for n in requests.get(api, timeout=10).json()]
    assert public in listed and private not in listed  # refused notes are not even listed
    for method, url, body in [
        ("POST", api, {"title": "x"}),
        ("PATCH", f"{api}/{public}", {"title": "x"}),
        ("DELETE", f"{api}/{public}", None),
        ("POST", f"{api}/{public}/share", {"role": "view"}),
    ]:
        r = requests.request(method, url, json=body, timeout=10)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", (method, url)
    # A refused note: not even a read.
    for path in (f"{api}/{private}", f"{api}/{private}.png"):
        assert requests.get(path, timeout=10).status_code == 403

    # A logged-in user (edit): everything, and the private note is listed for her.
    assert private in [n["id"] for n in alice.get(api, timeout=10).json()]
    assert alice.get(f"{api}/{private}", timeout=10).status_code == 200
    assert alice.patch(f"{api}/{public}", json={"title": "Renamed"}, timeout=10).json()["title"] == "Renamed"
    assert alice.delete(f"{api}/{public}", timeout=10).status_code == 204
    # Same-origin check stands even for a logged-in user: another site cannot write with her cookie.
    evil = alice.post(api, json={"title": "x"}, headers={"Origin": "https://evil.example"}, timeout=10)
    assert evil.status_code == 403


class _joined:
    """Context: a logged-in client joined to ``note`` (creates it), drawing one stroke."""

    def __init__(self, site: HostSite, session: requests.Session, note: str) -> None:
        self.client = Client(site.url, cookie=cookie_header(session))
        ack = self.client.call("join", {"note": note})
        assert ack["role"] == "edit", ack
        assert self.client.call("stroke", stroke(note, "first"))["ok"]

    def __enter__(self) -> Client:
        return self.client

    def __exit__(self, *exc: Any) -> None:
        self.client.close()


# -- share links, in the embedded site --------------------------------------------------------------
def _old_token(note: str, role: str, age: int) -> str:
    """A token signed with the site's secret whose timestamp is ``age`` seconds old."""
    old = TimestampSigner.get_timestamp
    try:
        TimestampSigner.get_timestamp = lambda self: int(time.time()) - age  # type: ignore[method-assign]
        return ShareLinks(EXAMPLE_SECRET, None).make(note, role)
    finally:
        TimestampSigner.get_timestamp = old  # type: ignore[method-assign]


def test_share_links_open_private_notes_and_forgeries_are_refused(site: HostSite) -> None:
    private = "private-" + uuid.uuid4().hex[:10]
    alice = logged_in(site)
    api = f"{site.url}/whiteboard/api/notes/{private}"
    with _joined(site, alice, private):
        pass
    made = alice.post(api + "/share", json={"role": "view"}, timeout=10)
    assert made.status_code == 201
    link = made.json()
    assert link["url"].startswith(f"{site.url}/whiteboard/n/{private}?share=")
    view_token = link["token"]
    edit_token = alice.post(api + "/share", json={"role": "edit"}, timeout=10).json()["token"]

    # HTTP: the link as ?share= or as the X-Collab-Token header.
    assert requests.get(api, params={"share": view_token}, timeout=10).status_code == 200
    assert requests.get(api, headers={"X-Collab-Token": view_token}, timeout=10).status_code == 200
    as_viewer = requests.patch(api, json={"title": "x"}, headers={"X-Collab-Token": view_token}, timeout=10)
    assert as_viewer.status_code == 403
    assert requests.patch(api, json={"title": "Shared"}, headers={"X-Collab-Token": edit_token}, timeout=10).ok

    # Socket: the token in the connect auth payload.
    viewer = Client(site.url, auth={"token": view_token})
    editor = Client(site.url, auth={"token": edit_token})
    try:
        assert viewer.call("join", {"note": private})["role"] == "view"
        assert code(viewer.call("stroke", stroke(private, "v"))) == "forbidden"
        assert editor.call("join", {"note": private})["role"] == "edit"
        assert editor.call("stroke", stroke(private, "e1"))["ok"]
        other = "private-" + uuid.uuid4().hex[:10]
        assert code(editor.call("join", {"note": other})) == "forbidden"  # a link opens one note only
    finally:
        viewer.close()
        editor.close()

    forged = {
        "wrong secret": ShareLinks("not-the-site-secret", None).make(private, "edit"),
        "tampered": edit_token[:-3] + ("AAA" if not edit_token.endswith("AAA") else "BBB"),
        "expired": _old_token(private, "edit", age=31 * 24 * 3600),  # COLLAB_SHARE_MAX_AGE: 30 days
        "garbage": "not-a-token",
    }
    assert ShareLinks(EXAMPLE_SECRET, None).role(forged["expired"], private) == "edit"  # genuine, only too old
    for why, token in forged.items():
        assert requests.get(api, params={"share": token}, timeout=10).status_code == 403, why
        assert requests.get(api, headers={"X-Collab-Token": token}, timeout=10).status_code == 403, why
        c = Client(site.url, auth={"token": token})
        try:
            assert code(c.call("join", {"note": private})) == "forbidden", why
        finally:
            c.close()
    assert [s["id"] for s in stored(site, private)["strokes"]] == ["first", "e1"]


# -- signals ------------------------------------------------------------------------------------------
def _activity(site: HostSite, note: str, session: requests.Session, until: Callable[[list[Any]], bool]) -> list[Any]:
    """The site's /activity entries of ``note``, once ``until`` holds (or after 15 s)."""
    deadline = time.monotonic() + 15
    while True:
        got = [e for e in session.get(site.url + "/activity", timeout=10).json() if e.get("note") == note]
        if until(got) or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def _signal_story(site: HostSite, note: str) -> tuple[requests.Session, str, str]:
    """Alice and a visitor join ``note``, Alice draws and clears, the visitor leaves, both go."""
    alice = logged_in(site)
    a = Client(site.url, cookie=cookie_header(alice))
    v = Client(site.url)
    try:
        peer_a = a.call("join", {"note": note})["peer"]
        peer_v = v.call("join", {"note": note})["peer"]
        assert a.call("stroke", stroke(note, "s1"))["seq"] == 1
        assert a.call("clear", {"note": note})["seq"] == 2
        assert v.call("leave", {"note": note}) == {"ok": True}
    finally:
        a.close()
        v.close()
    return alice, peer_a, peer_v


def test_the_site_receives_collab_signals(site: HostSite, note: str) -> None:
    alice, peer_a, peer_v = _signal_story(site, note)
    assert requests.get(site.url + "/activity", allow_redirects=False, timeout=10).status_code == 302  # log in first
    expected = [
        {"event": "member_joined", "note": note, "peer": peer_a, "role": "edit"},
        {"event": "member_joined", "note": note, "peer": peer_v, "role": "view"},
        {"event": "op_applied", "note": note, "type": "stroke", "seq": 1},
        {"event": "op_applied", "note": note, "type": "clear", "seq": 2},
        {"event": "member_left", "note": note, "peer": peer_v},
        {"event": "member_left", "note": note, "peer": peer_a},
    ]

    def others(got: list[Any]) -> list[Any]:
        return [e for e in got if e["event"] != "note_created"]

    got = _activity(site, note, alice, lambda got: others(got) == expected)
    assert others(got) == expected
    assert got[0] == {"event": "note_created", "note": note, "title": note}  # the first join created it
    assert alice.delete(f"{site.url}/whiteboard/api/notes/{note}", timeout=10).status_code == 204
    got = _activity(site, note, alice, lambda got: got[-1]["event"] == "note_deleted")
    assert got[-1] == {"event": "note_deleted", "note": note}


def test_note_created_is_sent_once(site: HostSite, note: str) -> None:
    alice, _, _ = _signal_story(site, note)
    got = _activity(site, note, alice, lambda got: any(e["event"] == "member_left" for e in got))
    assert [e["event"] for e in got].count("note_created") == 1, got


# -- under gunicorn -----------------------------------------------------------------------------------
def test_the_example_under_gunicorn(tmp_path: Path) -> None:
    with GunicornHostSite(tmp_path) as srv:
        cookie = cookie_header(logged_in(srv, "bob"))
        for transport in TRANSPORTS:
            c = Client(srv.url, transport=transport, cookie=cookie)
            try:
                assert c.sio.transport() == transport
                assert c.call("join", {"note": "under-gunicorn"})["role"] == "edit"
                assert c.call("chat", {"text": "hi"}, namespace="/") == {"ok": True}
            finally:
                c.close()


# -- threading mode ----------------------------------------------------------------------------------
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_threading_mode_keeps_each_connections_order(tmp_path: Path, transport: str) -> None:
    """The example under Werkzeug's threads, with async_handlers=False as the docs advise: join then
    stroke sent back to back, without waiting for the join's ack, are handled in order. (With
    async_handlers=True the order is not guaranteed, but a wrong order is too rare to show here.)"""
    with ThreadingHostSite(tmp_path) as srv:
        c = Client(srv.url, transport=transport, cookie=cookie_header(logged_in(srv)))
        acks: list[tuple[str, Any]] = []
        done = threading.Event()
        rounds = 30

        def keep(kind: str) -> Callable[[Any], None]:
            def on_ack(ack: Any) -> None:
                acks.append((kind, ack))
                if len(acks) == 2 * rounds:
                    done.set()

            return on_ack

        try:
            for i in range(rounds):
                note = f"order-{uuid.uuid4().hex[:8]}-{i}"
                c.sio.emit("join", {"note": note}, namespace=NS, callback=keep("join"))
                c.sio.emit("stroke", stroke(note, "s"), namespace=NS, callback=keep("stroke"))
            assert done.wait(30), f"{len(acks)} acks of {2 * rounds}"
        finally:
            c.close()
        assert [a for _, a in acks if not a.get("ok")] == []
        assert sorted(a["seq"] for k, a in acks if k == "stroke") == [1] * rounds


# -- cross-origin ------------------------------------------------------------------------------------
def test_cross_origin_sockets_are_refused(site: HostSite) -> None:
    """The site's SocketIO keeps the default (same origin only), for "/" and "/notes" alike."""
    for namespaces in (["/"], [NS]):
        sio = socketio.Client(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            sio.connect(site.url, namespaces=namespaces, headers={"Origin": "https://evil.example"}, wait_timeout=5)
    ok = Client(site.url, namespaces=(NS,))
    ok.close()


def test_example_is_documented(site: HostSite) -> None:
    """docs/embedding.md shows the example's collab lines, so the docs are tested by the example."""
    doc = (Path(ROOT) / "docs" / "embedding.md").read_text()
    src = EXAMPLE.read_text()
    for line in (
        'collab = Collab(url_prefix="/whiteboard", login_url=login_url)',
        "collab.init_app(app, socketio=socketio)",
        "@collab.identify",
        "@collab.authorize",
    ):
        assert line in src and line in doc, line


@pytest.mark.parametrize("target", ["//evil.example", "/%09/evil.example", "/%0a/evil.example", "/\\evil.example",
                                    "https://evil.example/", "/\\/evil.example"])  # fmt: skip
def test_the_example_login_never_redirects_off_site(site: HostSite, target: str) -> None:
    s = requests.Session()
    url = f"{site.url}/login?next={target}"
    r = s.post(url, data={"username": "alice", "password": "alice-pw"}, allow_redirects=False, timeout=10)
    assert r.status_code == 302
    assert r.headers["Location"] in ("/", f"{site.url}/"), r.headers["Location"]
    ok = s.post(f"{site.url}/login?next=/whiteboard/", data={"username": "alice", "password": "alice-pw"},
                allow_redirects=False, timeout=10)  # fmt: skip
    assert ok.headers["Location"].endswith("/whiteboard/")


def test_the_example_sites_log_holds_no_share_token(site: HostSite, note: str) -> None:
    alice = logged_in(site)
    with _joined(site, alice, note):
        pass
    token = alice.post(f"{site.url}/whiteboard/api/notes/{note}/share", json={"role": "view"}, timeout=10).json()[
        "token"
    ]
    assert requests.get(f"{site.url}/whiteboard/n/{note}", params={"share": token}, timeout=10).status_code == 200
    assert requests.get(f"{site.url}/whiteboard/api/notes/{note}", params={"share": token}, timeout=10).ok
    c = Client(site.url, auth={"token": token})
    c.close()
    time.sleep(0.3)
    log = site.log_path.read_text()
    assert "share=" in log and token not in log and token[:20] not in log
