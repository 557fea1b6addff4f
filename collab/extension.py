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

from flask import Flask, g, request
from flask_socketio import SocketIO

from . import _json, _patches, signals
from .access import ShareLinks
from .committer import Committer
from .config import DEFAULTS
from .errors import CollabError, ConfigError, Forbidden, NotFound
from .exports import Exports
from .metrics import Metrics
from .namespace import Connection, NotesNamespace
from .packets import CollabPacket
from .presence import Presence
from .protocol import Auth
from .queues import manager_for
from .roles import ROLES
from .runtime import ASYNC_MODES, Runtime
from .settings import RealtimeSettings
from .store import Store, open_store
from .views import make_blueprint

log = logging.getLogger("collab")

F = TypeVar("F", bound=Callable[..., Any])
IdentifyHook = Callable[[Auth | None], Any]
AuthorizeHook = Callable[[Any, str | None], str | None]


DEFAULT_ROLES = ("edit", "view", "none")


def _warn_unless_monkey_patched() -> None:
    """Warn when collab runs in gevent mode but gevent's monkey-patching was not applied."""
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return
    if monkey.is_module_patched("socket") and monkey.is_module_patched("threading"):
        return
    log.warning(
        "gevent async mode, but gevent's monkey-patching was not applied: every database, Redis or "
        "socket call will stall all connections, and connections may hang (call "
        "`from gevent import monkey; monkey.patch_all()` first thing in the file you run, before "
        "Flask is imported, or run under `gunicorn -k gevent`; see docs/embedding.md, section 3)"
    )


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
        self.presence = self._make_presence(config, getattr(socketio, "server_options", {}).get("message_queue"))
        self.default_role: str | None = config["COLLAB_DEFAULT_ROLE"]
        if self.default_role not in DEFAULT_ROLES:
            raise ConfigError("COLLAB_DEFAULT_ROLE must be 'edit', 'view' or 'none'")
        if self.default_role == "none":
            self.default_role = None
        login = config["COLLAB_LOGIN_URL"]
        if not (login is None or isinstance(login, str) or callable(login)):
            raise ConfigError("COLLAB_LOGIN_URL must be a URL, a function returning one (or None), or unset")
        self.share = ShareLinks(config["COLLAB_SECRET_KEY"] or store.secret(), config["COLLAB_SHARE_MAX_AGE"])
        self.settings = RealtimeSettings.from_config(config)
        self.exports = Exports(int(config["COLLAB_EXPORT_WORKERS"]), int(config["COLLAB_EXPORT_CACHE_BYTES"]))
        self.metrics: Metrics | None = None
        if config["COLLAB_METRICS"]:
            self.metrics = Metrics(lambda: len(self.namespace.conns), lambda: self.presence.counts()["rooms"])
        self.namespace = NotesNamespace(
            self.namespace_name, self.settings, self, store, self.presence, self.runtime, self.metrics
        )
        self.committer = Committer(
            store, self.runtime, self.namespace.broadcast_batch, timeout=self.store_timeout, metrics=self.metrics
        )
        self.namespace.committer = self.committer

    @staticmethod
    def _make_presence(config: dict[str, Any], host_queue: str | None) -> Presence:
        url = config["COLLAB_PRESENCE_URL"]
        queue = config["COLLAB_MESSAGE_QUEUE"] or host_queue
        if url is None and queue and str(queue).startswith(("redis://", "rediss://")):
            url = queue
        if url is None:
            if queue:
                log.warning("presence is per process: set COLLAB_PRESENCE_URL=redis://... to share it")
            return Presence()
        from .presence_redis import RedisPresence

        return RedisPresence(url, prefix=f"collab:{config['COLLAB_MESSAGE_QUEUE_CHANNEL']}{config['COLLAB_NAMESPACE']}")

    # -- helpers the namespace and views use ---------------------------------------
    def blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a store call off the event loop (in a real thread under gevent/eventlet)."""
        return self.runtime.blocking(fn, *args)

    def signal(self, name: str, **kwargs: Any) -> None:
        """Send one of :mod:`collab.signals` with this app as sender."""
        sig = signals.BY_NAME[name]
        if not sig.receivers:
            return
        try:
            with self.app.app_context():
                sig.send(self.app, **kwargs)
        except Exception:  # a host's receiver must not break the event that sent it
            log.exception("a receiver of signal %s raised; collab carries on", name)

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
        if self.ext._authorize is not None:
            return self._check_role(self.ext._authorize(conn.identity, note))
        return self.role_without_hooks(conn.token, note)

    def authorize_http(self, note: str | None) -> str | None:
        """The role of the current HTTP request in ``note`` (``None``: the note list or a new note)."""
        if self.ext._authorize is not None:
            return self._check_role(self.ext._authorize(self._http_identity(), note))
        token = request.headers.get("X-Collab-Token") or request.args.get("share")
        return self.role_without_hooks(token, note)

    def _http_identity(self) -> Any:
        """The ``identify`` hook's answer for this request, asked once per request."""
        if "collab_identity" not in g:
            hook = self.ext._identify
            g.collab_identity = hook(None) if hook is not None else None
        return g.collab_identity

    def role_without_hooks(self, token: str | None, note: str | None) -> str | None:
        """Standalone access: a valid share link's role, else ``COLLAB_DEFAULT_ROLE``.

        A genuine link opens its own note only: for any other note it grants no
        role at all. Once expired it grants nothing more than no link would.
        """
        link = self.share.link(token)
        if link is None:
            return self.default_role
        if note is not None and link[0] != note:
            return None
        shared = self.share.role(token, note)
        return shared if shared is not None else self.default_role

    def refusal(self, conn: Connection, note: str) -> CollabError:
        """Why a connection with no role in ``note`` may not join it.

        Without hooks, a share link's holder asking for another note learns whether
        it exists (``not_found``), as the contract allows; a host's hook says only
        ``forbidden``, so private notes stay unknown.
        """
        if self.ext._authorize is None and conn.token is not None and self.store.get(note) is None:
            return NotFound(f"note {note!r} does not exist")
        return Forbidden(f"you may not open note {note!r}")

    def link_expiry(self, conn: Connection, note: str) -> float | None:
        """When the role ``conn`` has in ``note`` through its share link ends (a Unix time), if it has one.

        Only without hooks: an ``authorize`` hook decides for itself what a link means.
        """
        if self.ext._authorize is not None:
            return None
        link = self.share.link(conn.token)
        if link is None or link[0] != note or self.share.role(conn.token, note) is None:
            return None
        return self.share.expires(link[2])

    @staticmethod
    def _check_role(role: str | None) -> str | None:
        if role is not None and role not in ROLES:
            raise ConfigError(f"the authorize hook returned {role!r}; return 'edit', 'view' or None")
        return role

    def close(self) -> None:
        """Finish queued ops and close the store (at shutdown)."""
        self.committer.close()
        if self.namespace.members is not None:
            self.namespace.members.close()
        self.presence.close()
        self.store.close()
        self.runtime.close()


def _state(app: Flask | None) -> CollabState:
    from flask import current_app

    target = app if app is not None else current_app
    try:
        return target.extensions["collab"]  # type: ignore[no-any-return]
    except KeyError:
        raise RuntimeError("collab is not set up on this app: call collab.init_app(app) first") from None


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
        ``current_user`` are available in both. If the identity is a mapping with
        ``"name"`` (and optionally ``"color"``, ``#rrggbb``), the other members see
        that name and colour instead of the ones the client asked for.
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

    def share_token(self, note: str, role: str = "view", app: Flask | None = None) -> str:
        """A signed share token for ``note`` (use it as ``/n/<note>?share=<token>``).

        Standalone servers honour it without hooks; an ``authorize`` hook can
        check one with :meth:`share_role`. Needs an app context (or ``app``).
        """
        return _state(app).share.make(note, role)

    def share_role(self, token: str | None, note: str, app: Flask | None = None) -> str | None:
        """The role a share token grants in ``note``, or ``None`` (forged, expired, other note)."""
        return _state(app).share.role(token, note)  # type: ignore[no-any-return]

    def init_app(self, app: Flask, socketio: SocketIO | None = None) -> None:
        """Set collab up on ``app``; makes a :class:`SocketIO` unless one is given."""
        if "collab" in app.extensions:
            raise RuntimeError(f"collab is already set up on app {app.name!r}; call init_app once per app")
        for key, value in self.options.items():
            app.config.setdefault(key, value)
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        config = {key: app.config[key] for key in DEFAULTS}
        namespace = config["COLLAB_NAMESPACE"]
        if not isinstance(namespace, str) or not namespace.startswith("/") or namespace == "/":
            raise ConfigError("COLLAB_NAMESPACE must start with '/' and may not be '/' (left to the host)")
        queue = config["COLLAB_MESSAGE_QUEUE"] or getattr(socketio, "server_options", {}).get("message_queue")
        if queue and str(config["COLLAB_DATABASE"]).startswith("sqlite"):
            raise ConfigError(
                "a message queue means several server processes, and they must share one database: "
                "set COLLAB_DATABASE=postgresql://... (a SQLite file cannot be shared safely)"
            )
        if socketio is None:
            socketio = self._make_socketio(app, config)
        elif getattr(socketio, "server", None) is None:
            raise ConfigError("call socketio.init_app(app) before collab.init_app(app, socketio=socketio)")
        # fixes only (collab/_patches): speed-ups are for collab's own server, never a host's process
        eio = socketio.server.eio
        _patches.install_fixes(eio.async_mode, eio, int(config["COLLAB_MAX_DECODE_PACKETS"]))
        if eio.async_mode == "gevent":
            _warn_unless_monkey_patched()
        store = open_store(
            config["COLLAB_DATABASE"],
            oplog_keep=int(config["COLLAB_OPLOG_KEEP"]),
            max_strokes=config["COLLAB_MAX_STROKES_PER_NOTE"],
            max_points=int(config["COLLAB_MAX_POINTS"]),
            join_cache_bytes=int(config["COLLAB_JOIN_CACHE_BYTES"]),
            sqlite_synchronous=config["COLLAB_SQLITE_SYNCHRONOUS"],
            sqlite_busy_timeout=float(config["COLLAB_SQLITE_BUSY_TIMEOUT"]),
        )
        state = CollabState(app, self, config, socketio, store)
        socketio.on_namespace(state.namespace)
        state.namespace.defer_acks(int(config["COLLAB_MAX_OPS_IN_FLIGHT"]))
        app.extensions["collab"] = state
        app.register_blueprint(make_blueprint(config["COLLAB_URL_PREFIX"]))
        log.info("collab ready: namespace %s, store %s, async mode %s", namespace, store.url, state.runtime.mode)

    @staticmethod
    def _make_socketio(app: Flask, config: dict[str, Any]) -> SocketIO:
        mode = config["COLLAB_ASYNC_MODE"]
        if mode not in ASYNC_MODES:
            raise ConfigError(f"COLLAB_ASYNC_MODE must be one of {', '.join(ASYNC_MODES)}, got {mode!r}")
        queue = config["COLLAB_MESSAGE_QUEUE"]
        channel = config["COLLAB_MESSAGE_QUEUE_CHANNEL"]
        manager = manager_for(queue, channel)  # Redis: one message per committed batch
        queue_options: dict[str, Any] = (
            {"client_manager": manager} if manager is not None else {"message_queue": queue, "channel": channel}
        )
        return SocketIO(
            app,
            async_mode=mode,
            **queue_options,
            cors_allowed_origins=config["COLLAB_CORS_ORIGINS"],
            max_http_buffer_size=int(config["COLLAB_MAX_MESSAGE_BYTES"]),
            ping_interval=float(config["COLLAB_PING_INTERVAL"]),
            ping_timeout=float(config["COLLAB_PING_TIMEOUT"]),
            json=_json,
            serializer=CollabPacket,  # malformed events are refused, not tracebacks
            # Each connection's events run inline, in its own reader: in arrival order, and
            # without a task per event. Connections still run concurrently.
            async_handlers=False,
        )
