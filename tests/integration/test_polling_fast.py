"""Long-polling requests of established sessions skip the WSGI stack (collab._polling).

The same raw HTTP/1.1 exchanges run against two real servers, one with the fast path
(the default) and one with ``COLLAB_FAST_POLLING=false``: every answer must agree, and
the fast server's ``/metrics`` must show that its path was taken.
"""

from __future__ import annotations

import gzip
import json
import re
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask

from collab import create_app
from collab._polling import PollingPath

from serverproc import ServerProcess

ALLOWED = "http://allowed.example"
MAX_BYTES = 4000
#: A stroke whose broadcast is over Engine.IO's 1 KB compression threshold.
POINTS = [[i, i + 0.5] for i in range(150)]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServerProcess]]:
    env = {"COLLAB_CORS_ORIGINS": ALLOWED, "COLLAB_MAX_MESSAGE_BYTES": str(MAX_BYTES)}
    with (
        ServerProcess(tmp_path_factory.mktemp("fast"), env=env) as fast,
        ServerProcess(tmp_path_factory.mktemp("wsgi"), env={**env, "COLLAB_FAST_POLLING": "false"}) as wsgi,
    ):
        yield {"fast": fast, "wsgi": wsgi}


def fast_requests(server: ServerProcess) -> int:
    text = requests.get(server.url + "/metrics", timeout=10).text
    match = re.search(r"^collab_polling_fast_requests_total (\S+)$", text, re.M)
    return int(float(match.group(1))) if match else -1


class Raw:
    """One kept-alive HTTP/1.1 connection speaking Engine.IO long-polling by hand."""

    def __init__(self, server: ServerProcess) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        self.fp = self.sock.makefile("rb")
        self.sid = ""

    def close(self) -> None:
        self.fp.close()
        self.sock.close()

    def request(
        self, method: str, query: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one request; the response's status, headers (lower-case names) and body."""
        head = f"{method} /socket.io/?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        if method == "POST":
            head += f"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {len(body)}\r\n"
        self.sock.sendall(head.encode("latin-1") + b"\r\n" + body)
        status_line = self.fp.readline()
        assert status_line.startswith(b"HTTP/1.1 "), status_line
        fields: dict[str, str] = {}
        while (line := self.fp.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            fields[name.strip().lower()] = value.strip()
        data = self.fp.read(int(fields.get("content-length", "0")))
        return int(status_line.split()[1]), fields, data

    def open(self) -> None:
        """Handshake and connect to the notes namespace (two polls' worth)."""
        status, _, body = self.request("GET", "EIO=4&transport=polling")
        assert status == 200 and body[:1] == b"0", body
        self.sid = json.loads(body[1:])["sid"]
        assert self.post(b"40/notes,{}") == 200
        status, _, body = self.poll()
        assert status == 200 and body.startswith(b"40/notes,"), body

    def post(self, payload: bytes, headers: dict[str, str] | None = None) -> int:
        return self.request("POST", f"EIO=4&transport=polling&sid={self.sid}", payload, headers)[0]

    def poll(self, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", f"EIO=4&transport=polling&sid={self.sid}", headers=headers)


def _event(ack_id: int, *args: Any) -> bytes:
    return f"42/notes,{ack_id}{json.dumps(list(args))}".encode()


def _until(raw: Raw, wanted: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """Poll until a packet starting with ``wanted`` arrives: that poll's status and headers, and the packet."""
    for _ in range(20):
        status, fields, body = raw.poll(headers)
        if fields.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        for packet in body.split(b"\x1e"):  # the record separator between packets
            if packet.startswith(wanted):
                return status, fields, packet
    raise AssertionError(f"no {wanted!r} packet in 20 polls")


def _ack(raw: Raw, ack_id: int, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    """Poll until the ack ``ack_id`` arrives: status, headers and the ack's first argument."""
    status, fields, packet = _until(raw, b"43/notes,%d[" % ack_id, headers)
    return status, fields, json.loads(packet[packet.index(b"[") :])[0]


def _script(server: ServerProcess) -> list[Any]:
    """The exchanges both servers must answer alike; what each answered, without sids."""
    seen: list[Any] = []
    note = "fp-" + uuid.uuid4().hex[:12]
    a = Raw(server)
    try:
        a.open()
        # an event and its ack; CORS for an accepted origin; several requests on one connection
        assert a.post(_event(1, "join", {"note": note}), {"Origin": ALLOWED}) == 200
        status, fields, ack = _ack(a, 1, {"Origin": ALLOWED})
        seen.append(("join", status, fields.get("content-type"), fields.get("access-control-allow-origin"), ack["ok"]))
        # a stroke big enough that its broadcast is compressed for a client that accepts gzip
        stroke = {"note": note, "id": "s-1", "color": "#112233", "width": 2, "points": POINTS}
        b = Raw(server)
        try:
            b.open()
            assert b.post(_event(1, "join", {"note": note})) == 200
            assert _ack(b, 1)[2]["ok"] is True
            assert a.post(_event(2, "stroke", stroke)) == 200
            assert _ack(a, 2)[2]["ok"] is True
            status, fields, packet = _until(b, b'42/notes,["stroke"', {"Accept-Encoding": "gzip, deflate"})
            seen.append(("broadcast", status, fields.get("content-encoding"), json.loads(packet[9:])[1]["points"]))
        finally:
            b.close()
        # a refused origin: the error answer comes from Engine.IO itself
        status, _, body = a.poll({"Origin": "http://evil.example"})
        seen.append(("bad origin", status, body))
    finally:
        a.close()
    # an unknown session, and a header spelt with underscores (dropped as pywsgi drops it)
    c = Raw(server)
    try:
        c.sid = "nosuchsession"
        status, _, body = c.poll({"X_Forwarded_Host": "elsewhere"})
        seen.append(("unknown sid", status, body))
        status, _, body = c.request("POST", "EIO=4&transport=polling&sid=nosuchsession", b"40")
        seen.append(("unknown sid post", status, body))
    finally:
        c.close()
    return seen


def test_fast_path_answers_as_the_wsgi_path_does(servers: dict[str, ServerProcess]) -> None:
    before = fast_requests(servers["fast"])
    fast = _script(servers["fast"])
    wsgi = _script(servers["wsgi"])
    assert fast == [
        ("join", 200, "text/plain; charset=UTF-8", ALLOWED, True),
        ("broadcast", 200, "gzip", POINTS),
        ("bad origin", 400, b'"Not an accepted origin."'),
        ("unknown sid", 400, b'"Invalid session nosuchsession"'),
        ("unknown sid post", 400, b'"Invalid session nosuchsession"'),
    ]
    assert fast == wsgi
    assert fast_requests(servers["fast"]) > before + 10  # the fast path served them
    assert fast_requests(servers["wsgi"]) == -1  # and the other server has none


@pytest.mark.parametrize("kind", ["fast", "wsgi"])
def test_refused_body_is_answered_and_ends_the_session(servers: dict[str, ServerProcess], kind: str) -> None:
    """A POST over the size limit is refused at once, unread; its session ends.

    Stock Engine.IO left such a POST unanswered unless the client went on polling
    (collab._patches.engineio, REFUSED_POST); nobody polls here. On the fast path the connection is
    closed, so the unread body is never taken for a request.
    """
    raw = Raw(servers[kind])
    try:
        raw.open()
        big = b"4" + b"x" * (MAX_BYTES + 100)
        status, fields, body = raw.request("POST", f"EIO=4&transport=polling&sid={raw.sid}", big)
        assert (status, body) == (400, b'"Bad Request"')
        if kind == "fast":
            assert fields.get("connection") == "close"
            assert raw.fp.readline() == b""
    finally:
        raw.close()
    after = Raw(servers[kind])
    try:
        after.sid = raw.sid
        assert after.poll()[:1] == (400,)  # the session is gone
        after.open()  # and the server serves new ones
    finally:
        after.close()


def test_session_survives_many_requests_on_one_connection(servers: dict[str, ServerProcess]) -> None:
    raw = Raw(servers["fast"])
    try:
        raw.open()
        for i in range(1, 51):
            assert raw.post(_event(i, "join", {"note": f"fp-many-{i % 3}"})) == 200
            assert _ack(raw, i)[0] == 200
    finally:
        raw.close()


def test_handshake_with_a_sid_lookalike_takes_the_wsgi_path(servers: dict[str, ServerProcess]) -> None:
    """``xsid=`` is no session id: this is a handshake, which needs the whole WSGI environ."""
    raw = Raw(servers["fast"])
    try:
        before = fast_requests(servers["fast"])
        status, _, body = raw.request("GET", "EIO=4&transport=polling&xsid=1")
        assert status == 200 and body[:1] == b"0" and "sid" in json.loads(body[1:])
        assert fast_requests(servers["fast"]) == before
    finally:
        raw.close()


# -- which apps get the fast path (no server needed) ------------------------------------------


def _app(tmp_path: Any) -> Flask:
    return create_app({"COLLAB_DATABASE": f"sqlite:///{tmp_path / 'c.db'}", "COLLAB_ASYNC_MODE": "threading"})


def test_plain_app_gets_the_fast_path(tmp_path: Any) -> None:
    app = _app(tmp_path)
    try:
        path = PollingPath.for_app(app)
        assert path is not None and path.prefix == "/socket.io/"
    finally:
        app.extensions["collab"].close()


def test_wrapped_app_takes_the_wsgi_path(tmp_path: Any) -> None:
    app = _app(tmp_path)
    try:
        inner = app.wsgi_app
        app.wsgi_app = lambda environ, start_response: inner(environ, start_response)  # type: ignore[method-assign]
        assert PollingPath.for_app(app) is None
        assert PollingPath.for_app(inner) is None  # not a Flask app at all
    finally:
        app.extensions["collab"].close()
