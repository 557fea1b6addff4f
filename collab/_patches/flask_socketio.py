"""What collab's long-polling fast path (:mod:`collab._polling`) reads of Flask-SocketIO's middleware.

Speed-up :data:`FAST_POLLING`: in collab's own gevent server, long-polling
requests of established sessions go straight to Engine.IO's ``handle_request``,
skipping Flask and Flask-SocketIO's private ``_SocketIOMiddleware``. That is
right only while the middleware does nothing for such a request but add
``flask.app`` to the environ and route it to Engine.IO, and while the lean environ
holds what gevent's ``pywsgi`` would have put there: its targets are those.
Nothing is replaced; the fast path is simply not taken when they changed.

Checked on Flask-SocketIO 5.5.0 to 5.7.0, python-socketio 5.12.0 to 5.18.1
(``socketio.WSGIApp`` is Engine.IO's), python-engineio 4.11.0 to 4.15.1.
"""

from __future__ import annotations

from typing import Any

from . import SPEEDUP, Patch


def middleware_parts(app: Any) -> tuple[str, Any, Any] | None:
    """``(engineio_path, handle_request, flask_app)`` of ``app``'s Socket.IO middleware, or ``None``.

    ``None`` when something else must see every request: ``app`` is not a plain Flask
    app, a subclass changed what Flask does with a request, or its ``wsgi_app`` is
    wrapped by other middleware (or there is no Socket.IO at all).
    """
    try:
        from flask import Flask
        from flask_socketio import _SocketIOMiddleware
    except ImportError:  # pragma: no cover - both are collab's dependencies
        return None
    if not isinstance(app, Flask) or type(app).__call__ is not Flask.__call__:
        return None
    if type(app).wsgi_app is not Flask.wsgi_app:
        return None
    mw: Any = app.__dict__.get("wsgi_app")
    if type(mw) is not _SocketIOMiddleware:
        return None
    return mw.engineio_path, mw.engineio_app.handle_request, mw.flask_app


FAST_POLLING = Patch(
    name="flask-socketio-fast-polling",
    kind=SPEEDUP,
    library="flask-socketio",
    what="long-polling requests of established sessions served without the WSGI stack",
    checked="5.5.0-5.7.0",
    targets={
        "flask_socketio:_SocketIOMiddleware.__init__": frozenset({"d175fe9d41fab4af"}),
        "flask_socketio:_SocketIOMiddleware.__call__": frozenset({"1a2e0032a15a8493"}),
        "engineio.middleware:WSGIApp.__init__": frozenset({"743aed0aec736922"}),
        "engineio.middleware:WSGIApp.__call__": frozenset({"4ac2bee2a01f4254"}),
    },
    apply=lambda: None,
)

PATCHES = (FAST_POLLING,)
