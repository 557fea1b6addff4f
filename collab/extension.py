"""The Flask extension: ``Collab(app)`` or ``collab.init_app(app, socketio)``.

Per-app state lives in ``app.extensions["collab"]`` (a :class:`CollabState`);
the :class:`Collab` object itself holds only the options and the hooks, so one
``Collab`` may serve several apps and two apps in one process keep separate
stores, committers and presence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, request
from flask_socketio import SocketIO

from . import signals
from ._compat import patch_engineio
from .committer import Committer
from .config import DEFAULTS
from .errors import ConfigError
from .namespace import ROLES, Connection, NotesNamespace
from .presence import Presence
from .protocol import Auth
from .runtime import ASYNC_MODES, Runtime
from .store import Store, open_store
from .views import make_blueprint

log = logging.getLogger("collab")

F = TypeVar("F", bound=Callable[..., Any])
IdentifyHook = Callable[[Auth | None], Any]
AuthorizeHook = Callable[[Any, str | None], str | None]


def _open_access(identity: Any, note: str | None) -> str | None:
    return "edit"


class CollabState:
    """Everything collab keeps for one Flask app."""

    def __init__(self, app: Flask, ext: Collab, config: dict[str, Any], socketio: SocketIO, store: Store) -> None:
        self.app = app
        self.ext = ext
        self.config = config
        self.socketio = socketio
        self.store = store
        self.namespace_name: str = config["COLLAB_NAMESPACE"]
        self.auto_create: bool = bool(config["COLLAB_AUTO_CREATE"])
        self.store_timeout: float = float(config["COLLAB_STORE_TIMEOUT"])
        self.runtime = Runtime(socketio.server.eio, int(config["COLLAB_DB_THREADS"]))
        self.presence = Presence()
        self.namespace = NotesNamespace(self.namespace_name, self)
        self.committer = Committer(store, self.runtime, self.namespace.broadcast_batch, timeout=self.store_timeout)

    # -- helpers the namespace and views use ---------------------------------------
    def blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a store call off the event loop (in a real thread under gevent/eventlet)."""
        return self.runtime.blocking(fn, *args)

    def signal(self, name: str, **kwargs: Any) -> None:
        """Send one of :mod:`collab.signals` with this app as sender."""
        sig = signals.BY_NAME[name]
        if sig.receivers:
            sig.send(self.app, **kwargs)

    def socketio_path(self) -> str:
        """The URL path of the Socket.IO endpoint, as the page must use it."""
        mw = getattr(self.socketio, "sockio_mw", None)
        path = getattr(mw, "engineio_path", "/socket.io").strip("/")
        return f"{request.script_root}/{path}"

    # -- access control ------------------------------------------------------------------
    def identify_socket(self, auth: Auth) -> Any:
        """Who a connecting socket is (the ``identify`` hook, given the auth payload)."""
        hook = self.ext._identify
        return hook(auth) if hook is not None else None

    def authorize_socket(self, conn: Connection, note: str) -> str | None:
        """The role of a connection in ``note``: ``"edit"``, ``"view"`` or ``None``."""
        return self._check_role(self.ext._authorize or _open_access, conn.identity, note)

    def authorize_http(self, note: str | None) -> str | None:
        """The role of the current HTTP request in ``note`` (``None``: the note list)."""
        hook = self.ext._identify
        identity = hook(None) if hook is not None else None
        return self._check_role(self.ext._authorize or _open_access, identity, note)

    @staticmethod
    def _check_role(hook: AuthorizeHook, identity: Any, note: str | None) -> str | None:
        role = hook(identity, note)
        if role is not None and role not in ROLES:
            raise ConfigError(f"the authorize hook returned {role!r}; return 'edit', 'view' or None")
        return role

    def close(self) -> None:
        """Finish queued ops and close the store (at shutdown)."""
        self.committer.close()
        self.store.close()
        self.runtime.close()


class Collab:
    """The collab Flask extension.

    ``options`` are defaults for the ``COLLAB_*`` config keys (given with or
    without the prefix, in any case); the app's own config wins over them.
    """

    def __init__(self, app: Flask | None = None, socketio: SocketIO | None = None, **options: Any) -> None:
        self.options = {self._key(k): v for k, v in options.items()}
        self._identify: IdentifyHook | None = None
        self._authorize: AuthorizeHook | None = None
        if app is not None:
            self.init_app(app, socketio)

    @staticmethod
    def _key(name: str) -> str:
        key = name.upper()
        key = key if key.startswith("COLLAB_") else "COLLAB_" + key
        if key not in DEFAULTS:
            raise ConfigError(f"unknown collab option {name!r}; see docs/configuration.md for the keys")
        return key

    def identify(self, fn: F) -> F:
        """Decorator: ``fn(auth) -> identity`` says who a connection or request is.

        ``auth`` is the connect payload (``{"name", "color", "token"}``) for a
        socket and ``None`` for an HTTP request; ``flask.request`` and Flask-Login's
        ``current_user`` are available in both.
        """
        self._identify = fn
        return fn

    def authorize(self, fn: F) -> F:
        """Decorator: ``fn(identity, note_id) -> "edit" | "view" | None``.

        ``note_id`` is ``None`` when the question is about the note list or
        creating a note. ``None`` refuses (``forbidden``).
        """
        self._authorize = fn
        return fn

    def init_app(self, app: Flask, socketio: SocketIO | None = None) -> None:
        """Set collab up on ``app``; makes a :class:`SocketIO` unless one is given."""
        if "collab" in app.extensions:
            raise RuntimeError(f"collab is already set up on app {app.name!r}; call init_app once per app")
        for key, value in self.options.items():
            app.config.setdefault(key, value)
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        config = {key: app.config[key] for key in DEFAULTS}
        config["COLLAB_MAX_NOTES"] = app.config.get("COLLAB_MAX_NOTES")
        namespace = config["COLLAB_NAMESPACE"]
        if not isinstance(namespace, str) or not namespace.startswith("/") or namespace == "/":
            raise ConfigError("COLLAB_NAMESPACE must start with '/' and may not be '/' (left to the host)")
        patch_engineio(int(config["COLLAB_MAX_DECODE_PACKETS"]))
        if socketio is None:
            socketio = self._make_socketio(app, config)
        elif getattr(socketio, "server", None) is None:
            raise ConfigError("call socketio.init_app(app) before collab.init_app(app, socketio=socketio)")
        store = open_store(
            config["COLLAB_DATABASE"],
            oplog_keep=int(config["COLLAB_OPLOG_KEEP"]),
            max_strokes=config["COLLAB_MAX_STROKES_PER_NOTE"],
            sqlite_synchronous=config["COLLAB_SQLITE_SYNCHRONOUS"],
        )
        state = CollabState(app, self, config, socketio, store)
        socketio.on_namespace(state.namespace)
        app.extensions["collab"] = state
        app.register_blueprint(make_blueprint(config["COLLAB_URL_PREFIX"]))
        log.info("collab ready: namespace %s, store %s, async mode %s", namespace, store.url, state.runtime.mode)

    @staticmethod
    def _make_socketio(app: Flask, config: dict[str, Any]) -> SocketIO:
        mode = config["COLLAB_ASYNC_MODE"]
        if mode not in ASYNC_MODES:
            raise ConfigError(f"COLLAB_ASYNC_MODE must be one of {', '.join(ASYNC_MODES)}, got {mode!r}")
        queue = config["COLLAB_MESSAGE_QUEUE"]
        return SocketIO(
            app,
            async_mode=mode,
            message_queue=queue,
            cors_allowed_origins=config["COLLAB_CORS_ORIGINS"],
            max_http_buffer_size=int(config["COLLAB_MAX_MESSAGE_BYTES"]),
            ping_interval=float(config["COLLAB_PING_INTERVAL"]),
            ping_timeout=float(config["COLLAB_PING_TIMEOUT"]),
            # Threads do not start in arrival order; one thread per connection keeps order.
            async_handlers=mode != "threading",
        )
