"""Running the server: ``python app.py`` / ``collab serve``, and ``wsgi.py``'s app.

This module imports nothing heavy at the top: the async mode's monkey-patching
must happen before Flask, SQLAlchemy or ``threading`` users are imported.

Start-up failures are one line on stderr, ``collab: <what went wrong> (<how to fix
it>)``, and an exit code: :data:`EXIT_USAGE` (2) for a bad option or environment
value, :data:`EXIT_CONFIG` (3) for settings that cannot work (a database that cannot
be opened, a refused library version), :data:`EXIT_RUNTIME` (1) for the machine's
state (the port is in use). README.md, "Exit codes", lists them.
"""

from __future__ import annotations

import argparse
import errno
import gc
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from typing import Any, NoReturn

MODES = ("gevent", "eventlet", "threading")
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")
#: Bytes of read buffer per connection (gevent's default is 8 KB).
READ_BUFFER = 1024

EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class StartupError(Exception):
    """A start-up failure: printed as ``collab: <what> (<fix>)``, exits with ``code``."""

    def __init__(self, what: str, fix: str, code: int) -> None:
        super().__init__(f"{what} ({fix})")
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse with collab's one-line errors (exit 2) instead of a usage block."""

    def error(self, message: str) -> NoReturn:
        raise StartupError(message, f"see {self.prog} --help", EXIT_USAGE)


def _port(text: str, name: str = "--port") -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise StartupError(f"{name} must be a port number, got {text!r}", "use a number such as 5000", EXIT_USAGE)
    return port


def _env_choice(name: str, default: str, choices: Sequence[str]) -> str:
    value = os.environ.get(name, default).strip().lower() or default
    if value not in choices:
        what = f"{name} must be one of {', '.join(choices)}, got {value!r}"
        raise StartupError(what, f"set {name}={default} or unset it", EXIT_USAGE)
    return value


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise StartupError(f"{name} must be true or false, got {raw!r}", f"set {name}=false or unset it", EXIT_USAGE)


def build_parser(prog: str = "app.py") -> argparse.ArgumentParser:
    """The ``serve`` options; each defaults to its ``COLLAB_*`` environment variable.

    A bad environment value raises :class:`StartupError` (usage, exit 2).
    """
    env = os.environ.get
    p = _Parser(prog=prog, description="Run the collab server.")
    p.add_argument(
        "--host", default=env("COLLAB_HOST", "127.0.0.1"), help="address to listen on [COLLAB_HOST, 127.0.0.1]"
    )
    p.add_argument(
        "--port",
        type=_port,
        default=_port(env("COLLAB_PORT", "5000"), "COLLAB_PORT"),
        help="port [COLLAB_PORT, 5000]",
    )
    p.add_argument(
        "--database",
        default=env("COLLAB_DATABASE", "sqlite:///collab.db"),
        help="SQLAlchemy URL: sqlite:///path.db or postgresql://user@host/db [COLLAB_DATABASE, sqlite:///collab.db]",
    )
    p.add_argument(
        "--async-mode",
        choices=MODES,
        default=_env_choice("COLLAB_ASYNC_MODE", "gevent", MODES),
        help="server concurrency [COLLAB_ASYNC_MODE, gevent]",
    )
    p.add_argument(
        "--message-queue",
        default=env("COLLAB_MESSAGE_QUEUE") or None,
        help="redis://host:6379/0 to share broadcasts between processes [COLLAB_MESSAGE_QUEUE]",
    )
    p.add_argument(
        "--log-level",
        type=str.lower,
        choices=LOG_LEVELS,
        default=_env_choice("COLLAB_LOG_LEVEL", "info", LOG_LEVELS),
        help="debug, info, warning or error [COLLAB_LOG_LEVEL, info]",
    )
    p.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=_env_choice("COLLAB_LOG_FORMAT", "text", LOG_FORMATS),
        help="text lines or one JSON object per line [COLLAB_LOG_FORMAT, text]",
    )
    p.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=_env_bool("COLLAB_ACCESS_LOG", True),
        help="one line per HTTP request at info level, share tokens redacted [COLLAB_ACCESS_LOG, on]",
    )
    return p


def patch_for(mode: str) -> None:
    """Monkey-patch the standard library for ``mode`` (call before other imports)."""
    if mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
        prefer_psycopg_c_wait()
    elif mode == "eventlet":
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import eventlet

        eventlet.monkey_patch()


def prefer_psycopg_c_wait(environ: Any = os.environ) -> bool:
    """Under gevent, let psycopg wait for PostgreSQL with its C function; whether it was chosen.

    Seeing ``select`` monkey-patched, psycopg waits through gevent's ``poll``,
    so that a query made from a greenlet yields to the loop. collab's own server
    makes every store call in the hub's thread pool (real threads), where that
    only adds work: each wait sets up watchers on the thread's own hub. The C
    wait blocks the calling thread alone. Chosen through psycopg's documented
    ``PSYCOPG_WAIT_FUNC`` (3.2 and later, with its C implementation installed),
    before psycopg is imported, by collab's own server only (a host's greenlets may
    query PostgreSQL themselves); an explicit ``PSYCOPG_WAIT_FUNC`` is kept.
    """
    import importlib.util
    from importlib import metadata

    if "PSYCOPG_WAIT_FUNC" in environ or "psycopg" in sys.modules:
        return False
    try:
        release = metadata.version("psycopg")
        major, minor = (int(part) for part in release.split(".")[:2])
    except (metadata.PackageNotFoundError, ValueError):
        return False

    def c_implementation(name: str) -> bool:  # psycopg loads its C part only at its own version
        try:
            return importlib.util.find_spec(name.replace("-", "_")) is not None and metadata.version(name) == release
        except metadata.PackageNotFoundError:
            return False

    if (major, minor) < (3, 2) or not (c_implementation("psycopg-c") or c_implementation("psycopg-binary")):
        return False
    environ["PSYCOPG_WAIT_FUNC"] = "wait_c"
    return True


#: glibc's mallopt() parameters, and what collab's own server sets them to (see :func:`keep_big_buffers`).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's upper limit on 64-bit
TRIM_THRESHOLD = 128 * 1024 * 1024


def keep_big_buffers(environ: Any = os.environ) -> bool:
    """glibc: reuse the memory of freed big buffers instead of handing it back at once; whether set.

    A join of a big note allocates its encoded ack several times over (JSON
    text, Socket.IO and Engine.IO packets, the WebSocket frame: 5.7 MB each for
    10,000 strokes). With glibc's defaults that memory goes back to the kernel
    as soon as it is freed, so the next join faults every page in again: the
    frame of a 10,000-stroke join took 6-7 ms of the event loop, 1.4 ms with
    buffers up to 32 MB kept in the heap and 128 MB of free heap kept before
    trimming. Set by collab's own server only; a ``MALLOC_MMAP_THRESHOLD_`` or
    ``MALLOC_TRIM_THRESHOLD_`` in the environment is kept (glibc read it already).
    """
    import platform

    explicit = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
    if platform.libc_ver()[0] != "glibc" or any(k in environ for k in explicit):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line (a driver's multi-line detail cut at its first line)."""
    text = str(exc).strip().splitlines()
    return text[0].strip() if text else exc.__class__.__name__


def _split(message: str, fix: str, code: int) -> StartupError:
    """A message that already ends with ``(how to fix it)`` keeps it; others get ``fix``."""
    if message.endswith(")") and " (" in message:
        what, _, said = message.rpartition(" (")
        return StartupError(what, said[:-1], code)
    return StartupError(message, fix, code)


def config_error(exc: Exception) -> StartupError:
    """The start-up error for a :class:`~collab.errors.ConfigError` raised while building the app."""
    message = _one_line(exc)
    if message.endswith(")") and " (" in message:  # already says how to fix it
        return _split(message, "", EXIT_CONFIG)
    if message.startswith("unsupported database URL"):
        what, _, fix = message.partition(": use ")
        return StartupError(what, f"use {fix}" if fix else "see --help", EXIT_USAGE)
    if message.startswith("cannot open the database"):
        return StartupError(
            message,
            "check that the file's directory exists and is writable, or that the database server runs and "
            "accepts this URL's user; --database or COLLAB_DATABASE",
            EXIT_CONFIG,
        )
    return StartupError(message, "see docs/configuration.md", EXIT_CONFIG)


def bind(host: str, port: int) -> socket.socket:
    """:func:`listener`, with a failure to listen as a :class:`StartupError`."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        return listener(host, port)
    except socket.gaierror:
        raise StartupError(
            f"cannot listen on {where}: no such address", "use an address of this machine with --host", EXIT_USAGE
        ) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                f"cannot listen on {where}: the port is in use",
                "stop the other server, or choose another port with --port or COLLAB_PORT",
                EXIT_RUNTIME,
            ) from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise StartupError(
                f"cannot listen on {where}: permission denied",
                "ports below 1024 need privileges; choose another port with --port or COLLAB_PORT",
                EXIT_RUNTIME,
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise StartupError(
                f"cannot listen on {where}: the address is not one of this machine's",
                "use 127.0.0.1, 0.0.0.0 or an address of this machine with --host",
                EXIT_USAGE,
            ) from None
        raise StartupError(
            f"cannot listen on {where}: {exc.strerror or exc}", "check --host and --port", EXIT_RUNTIME
        ) from None


def serve(argv: Sequence[str] | None = None, prog: str = "app.py") -> int:
    """Parse ``argv``, patch for the async mode, build the app and serve until stopped."""
    try:
        return _serve(argv, prog)
    except StartupError as exc:
        print(f"collab: {exc}", file=sys.stderr, flush=True)
        return exc.code


def _serve(argv: Sequence[str] | None, prog: str) -> int:
    args = build_parser(prog).parse_args(argv)
    from . import _patches
    from .config import from_env
    from .errors import ConfigError

    try:
        _patches.mode()
        from_env()  # a bad COLLAB_* value is a usage error, before anything is opened
    except ConfigError as exc:
        raise _split(_one_line(exc), "fix or unset it; see docs/configuration.md", EXIT_USAGE) from None
    patch_for(args.async_mode)
    from .logs import setup

    setup(args.log_level, args.log_format)
    log = logging.getLogger("collab")
    sock = bind(args.host, args.port)
    try:
        app = _build_app(args)
    except BaseException:
        sock.close()
        raise
    state = app.extensions["collab"]
    socketio = state.socketio
    _patches.install_speedups(args.async_mode)
    keep_big_buffers()
    access = AccessLog() if args.access_log else None
    log.info("serving on http://%s:%d (async mode %s)", args.host, args.port, args.async_mode)
    print(f"collab: serving http://{args.host}:{args.port}/ (Ctrl+C to stop)", file=sys.stderr, flush=True)
    _install_stop(socketio, state)
    freeze_startup_objects()
    try:
        if args.async_mode == "gevent":
            _serve_gevent(app, sock, access)
        elif args.async_mode == "eventlet":
            _serve_eventlet(app, sock, access)
        else:
            _serve_werkzeug(app, sock, access)
    except KeyboardInterrupt:
        pass
    finally:
        log.info("stopping: finishing queued ops and closing the store")
        state.close()
        log.info("stopped cleanly")
    return 0


def _build_app(args: argparse.Namespace) -> Any:
    """``create_app`` with the options; its failures as :class:`StartupError`."""
    from .errors import ConfigError
    from .factory import create_app

    log = logging.getLogger("collab")
    try:
        return create_app(
            {
                "COLLAB_DATABASE": args.database,
                "COLLAB_ASYNC_MODE": args.async_mode,
                "COLLAB_MESSAGE_QUEUE": args.message_queue,
            }
        )
    except ConfigError as exc:
        log.debug("start-up failed", exc_info=True)
        raise config_error(exc) from None
    except Exception as exc:
        log.debug("start-up failed", exc_info=True)
        raise StartupError(
            f"could not start: {exc.__class__.__name__}: {_one_line(exc)}",
            "run with --log-level debug for the traceback",
            EXIT_RUNTIME,
        ) from None


def wsgi_app() -> Any:
    """The app a WSGI server runs: ``wsgi:app`` in a checkout, ``collab.server:wsgi_app()`` from the wheel.

    Settings come from ``COLLAB_*`` environment variables. Under gevent (the
    default, ``COLLAB_ASYNC_MODE``) it monkey-patches unless the server did
    (gunicorn's gevent workers do), builds :func:`collab.create_app`, installs
    collab's speed-ups (as ``python app.py`` does) and sets up collab's logs unless
    the process has its own. A start-up failure is one line on stderr and exits 3
    (2 for a bad value), which gunicorn reports as a worker that failed to boot.
    """
    try:
        mode = _env_choice("COLLAB_ASYNC_MODE", "gevent", MODES)
        os.environ.setdefault("COLLAB_ASYNC_MODE", mode)
        if mode == "gevent":
            from gevent import monkey

            if not monkey.is_module_patched("socket"):
                monkey.patch_all()
            prefer_psycopg_c_wait()
        if not logging.getLogger().handlers:
            from .logs import setup

            setup(
                _env_choice("COLLAB_LOG_LEVEL", "info", LOG_LEVELS),
                _env_choice("COLLAB_LOG_FORMAT", "text", LOG_FORMATS),
            )
        from . import _patches
        from .errors import ConfigError
        from .factory import create_app

        try:
            _patches.mode()
            app = create_app()
        except ConfigError as exc:
            raise config_error(exc) from None
        _patches.install_speedups(mode)
        keep_big_buffers()
    except StartupError as exc:
        print(f"collab: {exc}", file=sys.stderr, flush=True)
        _exit_now(exc.code)
    freeze_startup_objects()  # start-up objects out of the collector's sight: no ~65 ms full-GC stalls
    return app


class AccessLog:
    """One ``collab.access`` line per HTTP request at info level (collab's own server).

    ``127.0.0.1 "GET /api/notes HTTP/1.1" 200 512 0.003s``: the client's address,
    the request line (escaped, ``share=`` tokens redacted), the status, the bytes
    sent and the time taken. A WebSocket connection is one line when it ends.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or logging.getLogger("collab.access")

    def request(self, client: Any, requestline: str, status: Any, length: int | None, seconds: float) -> None:
        if not self.log.isEnabledFor(logging.INFO):
            return
        from .logs import access_line

        self.log.info("%s", access_line(client, requestline, status, length, seconds))


def freeze_startup_objects() -> None:
    """Move everything built at start-up out of the garbage collector's sight (``gc.freeze``).

    A full collection walks every tracked object; with Flask, SQLAlchemy and
    gevent loaded that is ~85,000 objects and ~65 ms during which no client is
    served, a stall that showed as the S2 benchmark's maximum latency. The
    start-up objects live as long as the process, so scanning them finds
    nothing; objects made while serving are still collected as usual.
    """
    gc.collect()
    gc.freeze()


def listener(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening socket with TCP_NODELAY, which every accepted socket inherits.

    Without it, Nagle's algorithm holds back a small broadcast until the
    client's delayed ACK (about 40 ms): neither gevent's, eventlet's nor
    Werkzeug's server sets it.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    return sock


def _werkzeug_nodelay_handler(access: AccessLog | None = None) -> Any:
    """Werkzeug's request handler with TCP_NODELAY on each connection (see :func:`listener`).

    Its per-request lines go to ``access`` (collab's access log) instead of Werkzeug's logger.
    """
    from werkzeug.serving import WSGIRequestHandler

    class NoDelayHandler(WSGIRequestHandler):
        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def handle_one_request(self) -> None:
            self._collab_started = time.monotonic()
            super().handle_one_request()

        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            if access is not None:
                started = getattr(self, "_collab_started", time.monotonic())
                length = size if isinstance(size, int) else None
                access.request(self.client_address, self.requestline, code, length, time.monotonic() - started)

    return NoDelayHandler


def _serve_werkzeug(app: Any, sock: socket.socket, access: AccessLog | None) -> None:
    """Werkzeug's threaded server (development and tests) on the bound socket."""
    from werkzeug.serving import make_server

    host, port = sock.getsockname()[:2]
    server = make_server(
        host, port, app, threaded=True, request_handler=_werkzeug_nodelay_handler(access), fd=sock.fileno()
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()


def _serve_gevent(app: Any, sock: socket.socket, access: AccessLog | None) -> None:
    from gevent import pywsgi

    from . import _patches
    from ._headers import Headers
    from ._patches.flask_socketio import FAST_POLLING
    from ._polling import PollingPath

    try:
        from geventwebsocket.handler import WebSocketHandler as handler_class
    except ImportError:  # simple-websocket then serves WebSocket (slower, see docs/performance.md)
        handler_class = pywsgi.WSGIHandler
    import gevent

    header_timeout = float(app.config["COLLAB_HEADER_TIMEOUT"])
    idle_timeout = float(app.config["COLLAB_IDLE_TIMEOUT"])
    guard = SocketsPerAddress(int(app.config["COLLAB_MAX_SOCKETS_PER_IP"] or 0))

    class Handler(handler_class):  # type: ignore[misc, valid-type]
        """The handler with a 1 KB read buffer instead of 8 KB: idle connections hold less.

        Large WebSocket frames are read straight into their destination either way.
        Request headers are parsed by :class:`collab._headers.Headers`; the access log
        is collab's (:class:`AccessLog`), or none. A request's line and headers must
        arrive within ``COLLAB_HEADER_TIMEOUT`` and a kept-alive connection's next
        request within ``COLLAB_IDLE_TIMEOUT`` (slowloris); an address may hold
        ``COLLAB_MAX_SOCKETS_PER_IP`` TCP connections at once, half-open ones included.
        """

        def __init__(self, sock: Any, address: Any, server: Any) -> None:
            super().__init__(sock, address, server)
            self.rfile.close()  # type: ignore[has-type]  # the 8 KB reader; the socket stays open
            self.rfile = sock.makefile("rb", READ_BUFFER)  # type: ignore[has-type]
            self._served = 0

        def handle(self) -> None:
            """Serve the connection unless its address already holds its share of sockets."""
            address = self.client_address[0] if isinstance(self.client_address, tuple) else str(self.client_address)
            if not guard.enter(address):
                self.rfile.close()
                self.socket.close()  # at once: this address holds its share of sockets already
                return
            try:
                super().handle()
            finally:
                guard.leave(address)

        def read_requestline(self) -> str:
            """The request line, or ``""`` (close) when it does not come in time."""
            wait = header_timeout if self._served == 0 else idle_timeout
            self._served += 1
            line = ""
            with gevent.Timeout(wait, False):
                line = super().read_requestline()
            return line

        def MessageClass(self, fp: Any, *args: Any) -> Headers:
            """The request's headers, read without the email package (see collab._headers), in time."""
            with gevent.Timeout(header_timeout, ValueError("the request's headers did not arrive in time")):
                return Headers.read(fp)

        def log_request(self) -> None:
            """One access-log line, or nothing (``--no-access-log``)."""
            if access is not None:
                finish = self.time_finish or time.time()
                access.request(
                    self.client_address, self.requestline, self.status, self.response_length, finish - self.time_start
                )

        def get_environ(self) -> dict[str, Any]:
            """A lean environ for an established session's poll or POST (see collab._polling)."""
            if polling is not None:
                env = polling.environ(self)
                if env is not None:
                    return env
            return super().get_environ()  # type: ignore[no-any-return]

        def handle_one_response(self) -> None:
            """Answer an established session's poll or POST without WSGI; anything else as usual."""
            if polling is not None and self.environ.get("collab.polling"):
                self.time_start = time.time()
                polling.respond(self, self.environ)
                self.time_finish = time.time()
                self.log_request()
            else:
                super().handle_one_response()

    polling = None
    if app.config["COLLAB_FAST_POLLING"] and _patches.install(FAST_POLLING):
        polling = PollingPath.for_app(app)
    metrics = getattr(app.extensions.get("collab"), "metrics", None)
    if polling is not None and metrics is not None:
        metrics.count(
            "collab_polling_fast_requests",
            "Long-polling requests of established sessions answered without the WSGI stack",
            lambda: polling.served,
        )
    server = pywsgi.WSGIServer(sock, app, handler_class=Handler, log=None)
    # gevent runs signal handlers in a greenlet of their own, where raising would not
    # reach serve_forever: stop the server instead (closes the listener, then returns).
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, server.stop, 5)
    server.serve_forever()


class SocketsPerAddress:
    """How many TCP connections each client address holds (collab's gevent server); a bound on them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: dict[str, int] = {}

    def enter(self, address: str) -> bool:
        """Count a new connection; False (refuse it) when the address is at its limit."""
        held = self.open.get(address, 0)
        if self.limit and held >= self.limit:
            return False
        self.open[address] = held + 1
        return True

    def leave(self, address: str) -> None:
        """A connection of ``address`` closed."""
        held = self.open.get(address, 1) - 1
        if held > 0:
            self.open[address] = held
        else:
            self.open.pop(address, None)


def _serve_eventlet(app: Any, sock: socket.socket, access: AccessLog | None) -> None:
    import eventlet.wsgi

    # eventlet's default pool (max_size=1024) silently stops accepting past 1,024 connections
    eventlet.wsgi.server(
        sock,
        app,
        log=_EventletLog(access) if access is not None else None,
        log_output=access is not None,
        log_format="%(client_ip)s\t%(request_line)s\t%(status_code)s\t%(body_length)s\t%(wall_seconds).6f",
        max_size=100_000,
    )


class _EventletLog:
    """The logger eventlet's server is given: request lines become collab's access log, the rest ``collab.eventlet``."""

    def __init__(self, access: AccessLog) -> None:
        self.access = access
        self.log = logging.getLogger("collab.eventlet")

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        line = msg % args if args else msg
        parts = line.split("\t")
        if len(parts) != 5:
            self.log.info("%s", line)
            return
        client, requestline, status, length, seconds = parts
        try:
            size: int | None = int(length)
            took = float(seconds)
        except ValueError:
            size, took = None, 0.0
        self.access.request(client, requestline, status, size, took)

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.log.debug(msg, *args)

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self.log.error(msg, *args)


def _install_stop(socketio: Any, state: Any) -> None:
    """SIGTERM: stop the server like Ctrl+C does, then close the store cleanly."""

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread
        pass


def _exit_now(code: int) -> NoReturn:
    """Exit at once after a start-up failure: nothing was opened that needs closing.

    Under gevent's monkey-patching (gevent 24), finalizing the interpreter after such
    an early exit can print "Exception ignored ... greenlet is being finalized" tracebacks
    from logging's clean-up; the one line already printed is the whole story.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python app.py``."""
    code = serve(argv)
    if code not in (0, None):
        _exit_now(code)
    sys.exit(code)
