"""Long-polling requests of established sessions, served without the WSGI stack.

Under long-polling every message a client receives is one HTTP response and the
next poll one more request, so the cost of each request decides the latency. In
collab's own gevent server (``python app.py``, ``collab serve``) a poll or a POST of
an established Engine.IO session goes straight from the parsed request to
``engineio``'s ``handle_request``:

- the WSGI environ holds only what Engine.IO reads (method, query, the headers,
  the body for a POST), instead of everything ``pywsgi.get_environ`` builds;
- Flask and the Socket.IO middleware are skipped: for such a request they only
  route to ``handle_request``;
- the response goes out in one ``send`` with a ``Content-Length``.

What the request means stays Engine.IO's to decide: CORS, compression, unknown or
closed sessions, oversized bodies and every error answer come from the same call as
before. Anything unusual takes the ordinary WSGI path: a handshake (no ``sid``), a
WebSocket upgrade, HTTP/1.0, a chunked or ``Expect``-ing body, a percent-encoded path,
another method, or an application whose WSGI entry point is not Flask's own with
Flask-SocketIO's middleware in front (someone wrapped it: their middleware must see
every request). Installed by collab's own server only, when the guarded speed-up
:data:`collab._patches.flask_socketio.FAST_POLLING` finds Flask-SocketIO's middleware
as it was written against. See docs/performance.md, "Long-polling".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any

log = logging.getLogger("collab")

_SERVER_ERROR = (
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 21\r\nConnection: close\r\n\r\nInternal Server Error"
)


class _Body:
    """``wsgi.input`` of a POST: at most ``Content-Length`` bytes of the connection's reader."""

    __slots__ = ("_rfile", "left")

    def __init__(self, rfile: Any, length: int) -> None:
        self._rfile = rfile
        self.left = length

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > self.left:
            size = self.left
        data: bytes = self._rfile.read(size) if size else b""
        self.left -= len(data)
        return data


class _Date:
    """The ``Date`` header's value, formatted once a second."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def __call__(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second, self._value = now, formatdate(now, usegmt=True)
        return self._value


class PollingPath:
    """Serves long-polling requests of established sessions for one Flask app.

    Build it with :meth:`for_app`, which returns ``None`` when the app's requests must
    all take the WSGI path. The handler then asks :meth:`environ` for each parsed
    request and, when that gives an environ, answers with :meth:`respond`.
    """

    def __init__(self, prefix: str, handle_request: Callable[..., Iterable[bytes]], flask_app: Any) -> None:
        #: The Engine.IO path with its slashes, e.g. ``"/socket.io/"``.
        self.prefix = prefix
        self._handle_request = handle_request
        self._flask_app = flask_app
        self._date = _Date()
        #: Requests answered on this path so far.
        self.served = 0

    @classmethod
    def for_app(cls, app: Any) -> PollingPath | None:
        """The fast path for ``app``, or ``None`` when something else must see every request.

        What it reads of Flask-SocketIO's private middleware is in
        :mod:`collab._patches.flask_socketio`, whose guard the server checks first.
        """
        from ._patches.flask_socketio import middleware_parts

        parts = middleware_parts(app)
        return None if parts is None else cls(*parts)

    def environ(self, handler: Any) -> dict[str, Any] | None:
        """A lean WSGI environ for the request ``handler`` has parsed, or ``None`` (WSGI path).

        ``handler`` is a ``gevent.pywsgi.WSGIHandler`` after ``read_request``.
        """
        if handler.request_version != "HTTP/1.1":
            return None
        method = handler.command
        if method != "GET" and method != "POST":
            return None
        path, _, query = handler.path.partition("?")
        if path != self.prefix or not (query.startswith("sid=") or "&sid=" in query):
            return None  # not an established session's request (a handshake has no sid)
        env: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": str(address[0]) if isinstance(address := handler.client_address, tuple) else "",
            "wsgi.url_scheme": "http",
            "flask.app": self._flask_app,
            "collab.polling": True,
        }
        for name, value in handler.headers.items():  # as pywsgi's get_environ does
            if "_" in name:
                continue  # pywsgi drops such fields: X_Forwarded_For must not pass for X-Forwarded-For
            key = name.upper().replace("-", "_")
            if key == "CONTENT_LENGTH" or key == "CONTENT_TYPE":
                env.setdefault(key, value)
                continue
            key = "HTTP_" + key
            if key in env:
                value = f"{env[key]}; {value}" if key == "HTTP_COOKIE" else f"{env[key]},{value}"
            env[key] = value
        if "HTTP_UPGRADE" in env or "HTTP_TRANSFER_ENCODING" in env or "HTTP_EXPECT" in env:
            return None
        length = handler.content_length or 0
        if method == "GET" and length:
            return None
        env["wsgi.input"] = _Body(handler.rfile, length)
        return env

    def respond(self, handler: Any, env: dict[str, Any]) -> None:
        """Answer the request through Engine.IO and write the response in one piece."""
        answer: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            answer[:] = (status, headers)

        try:
            body = b"".join(self._handle_request(env, start_response))
            status, headers = answer
        except Exception:
            log.exception("long-polling request %s %s failed", env["REQUEST_METHOD"], handler.path)
            handler.close_connection = True
            handler.status, handler.response_length = "500 Internal Server Error", len(_SERVER_ERROR)
            self._send(handler, _SERVER_ERROR)
            return
        if env["wsgi.input"].left:
            handler.close_connection = True  # the body was not read (refused): the stream is out of step
        lines = [f"HTTP/1.1 {status}\r\n"]
        lines += [f"{name}: {value}\r\n" for name, value in headers]
        lines.append(f"Content-Length: {len(body)}\r\nDate: {self._date()}\r\n")
        if handler.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        data = "".join(lines).encode("latin-1") + body
        handler.status, handler.response_length = status, len(data)  # for the access log
        self._send(handler, data)
        self.served += 1

    @staticmethod
    def _send(handler: Any, data: bytes) -> None:
        try:
            # one send() is enough for a response that fits the socket's buffer; sendall()
            # would first ask the kernel for the buffer's size (one more system call)
            sent = handler.socket.send(data)
            if sent < len(data):
                handler.socket.sendall(memoryview(data)[sent:])
        except OSError:  # the client went away; nothing more to do on this connection
            handler.close_connection = True
