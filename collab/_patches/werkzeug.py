"""A patch to python-engineio's threading WebSocket driver as Werkzeug runs it (threading mode).

Fix :data:`END_CONNECTION`: under Werkzeug (threading mode, for development) the
WebSocket session ends when Engine.IO closes it, but Werkzeug's request handler
keeps the connection as HTTP keep-alive and parses the client's last frames as a
new request: it answers them with a ``400`` written into the WebSocket, and the
client, waiting for the close frame, gives up only after its close timeout (3 s in
python-socketio's client). Shutting the socket down once the session has ended
makes that read see the end of the stream, and the answer to it go nowhere.

Checked on python-engineio 4.11.0 to 4.15.1 with Werkzeug 3.1. From 4.13.4 on,
``SimpleWebSocketWSGI.__call__`` raises ``ConnectionError`` in Werkzeug's mode,
which does not end the connection before the client's close handshake times out
(``tests/integration/test_modes.py::test_threading_mode_answers_a_websocket_close`` fails
without this patch there too): both versions of the function are targets.
"""

from __future__ import annotations

import socket
from typing import Any

from . import FIX, Patch

_TARGET = "engineio.async_drivers._websocket_wsgi:SimpleWebSocketWSGI.__call__"
_stock_call: Any = None


def _websocket_call(self: Any, environ: Any, start_response: Any) -> Any:
    """engineio's threading ``SimpleWebSocketWSGI.__call__`` that ends Werkzeug's connection with the session."""
    try:
        return _stock_call(self, environ, start_response)
    finally:
        if getattr(getattr(self, "ws", None), "mode", None) == "werkzeug":
            sock = environ.get("werkzeug.socket")
            try:
                sock.shutdown(socket.SHUT_RDWR)  # Werkzeug reads the end and writes nothing more
            except (OSError, AttributeError):  # already closed
                pass


def _install() -> None:
    global _stock_call
    from engineio.async_drivers import _websocket_wsgi

    cls = _websocket_wsgi.SimpleWebSocketWSGI
    if cls.__call__ is not _websocket_call:
        _stock_call = cls.__call__
        cls.__call__ = _websocket_call  # type: ignore[method-assign]


END_CONNECTION = Patch(
    name="werkzeug-end-websocket",
    kind=FIX,
    library="python-engineio",
    what="under Werkzeug a closed WebSocket ends its connection (no 3 s close timeout in clients)",
    checked="4.11.0-4.15.1",
    targets={_TARGET: frozenset({"814e28077392667d", "269a07718ba1c14f"})},
    apply=_install,
)

PATCHES = (END_CONNECTION,)
