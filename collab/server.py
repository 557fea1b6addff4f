"""Running the server: ``python app.py`` / ``collab serve``.

This module imports nothing heavy at the top: the async mode's monkey-patching
must happen before Flask, SQLAlchemy or ``threading`` users are imported.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Any

MODES = ("gevent", "eventlet", "threading")
#: Bytes of read buffer per connection (gevent's default is 8 KB).
READ_BUFFER = 1024


def build_parser(prog: str = "app.py") -> argparse.ArgumentParser:
    """The ``serve`` options; each defaults to its ``COLLAB_*`` environment variable."""
    env = os.environ.get
    p = argparse.ArgumentParser(prog=prog, description="Run the collab server.")
    p.add_argument(
        "--host", default=env("COLLAB_HOST", "127.0.0.1"), help="address to listen on [COLLAB_HOST, 127.0.0.1]"
    )
    p.add_argument("--port", type=int, default=int(env("COLLAB_PORT", "5000")), help="port [COLLAB_PORT, 5000]")
    p.add_argument(
        "--database",
        default=env("COLLAB_DATABASE", "sqlite:///collab.db"),
        help="SQLAlchemy URL: sqlite:///path.db or postgresql://user@host/db [COLLAB_DATABASE, sqlite:///collab.db]",
    )
    p.add_argument(
        "--async-mode",
        choices=MODES,
        default=env("COLLAB_ASYNC_MODE", "gevent"),
        help="server concurrency [COLLAB_ASYNC_MODE, gevent]",
    )
    p.add_argument(
        "--message-queue",
        default=env("COLLAB_MESSAGE_QUEUE") or None,
        help="redis://host:6379/0 to share broadcasts between processes [COLLAB_MESSAGE_QUEUE]",
    )
    p.add_argument(
        "--log-level", default=env("COLLAB_LOG_LEVEL", "info"), help="debug, info, warning [COLLAB_LOG_LEVEL, info]"
    )
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=env("COLLAB_LOG_FORMAT", "text"),
        help="text lines or one JSON object per line [COLLAB_LOG_FORMAT, text]",
    )
    return p


def patch_for(mode: str) -> None:
    """Monkey-patch the standard library for ``mode`` (call before other imports)."""
    if mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
    elif mode == "eventlet":
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import eventlet

        eventlet.monkey_patch()


def serve(argv: Sequence[str] | None = None, prog: str = "app.py") -> int:
    """Parse ``argv``, patch for the async mode, build the app and serve until stopped."""
    args = build_parser(prog).parse_args(argv)
    patch_for(args.async_mode)
    from .logs import setup

    setup(args.log_level, args.log_format)
    from .errors import ConfigError
    from .factory import create_app

    try:
        app = create_app(
            {
                "COLLAB_DATABASE": args.database,
                "COLLAB_ASYNC_MODE": args.async_mode,
                "COLLAB_MESSAGE_QUEUE": args.message_queue,
            }
        )
    except ConfigError as exc:
        print(f"collab: {exc}", file=sys.stderr)
        return 2
    state = app.extensions["collab"]
    socketio = state.socketio
    log = logging.getLogger("collab")
    log.info("serving on http://%s:%d (async mode %s)", args.host, args.port, args.async_mode)
    print(f"collab: serving http://{args.host}:{args.port}/ (Ctrl+C to stop)", file=sys.stderr, flush=True)
    _install_stop(socketio, state)
    freeze_startup_objects()
    try:
        if args.async_mode == "gevent":
            _serve_gevent(app, args.host, args.port)
        elif args.async_mode == "eventlet":
            _serve_eventlet(app, args.host, args.port)
        else:
            socketio.run(
                app,
                host=args.host,
                port=args.port,
                log_output=False,
                allow_unsafe_werkzeug=True,
                request_handler=_werkzeug_nodelay_handler(),
            )
    except KeyboardInterrupt:
        pass
    finally:
        log.info("stopping: finishing queued ops and closing the store")
        state.close()
        log.info("stopped cleanly")
    return 0


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


def _werkzeug_nodelay_handler() -> Any:
    """Werkzeug's request handler with TCP_NODELAY on each connection (see :func:`listener`)."""
    from werkzeug.serving import WSGIRequestHandler

    class NoDelayHandler(WSGIRequestHandler):
        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    return NoDelayHandler


def _serve_gevent(app: Any, host: str, port: int) -> None:
    from gevent import pywsgi

    from ._headers import Headers
    from ._polling import PollingPath

    try:
        from geventwebsocket.handler import WebSocketHandler as handler_class
    except ImportError:  # simple-websocket then serves WebSocket (slower, see docs/performance.md)
        handler_class = pywsgi.WSGIHandler
    import gevent

    class Handler(handler_class):  # type: ignore[misc, valid-type]
        """The handler with a 1 KB read buffer instead of 8 KB: idle connections hold less.

        Large WebSocket frames are read straight into their destination either way.
        Request headers are parsed by :class:`collab._headers.Headers`, and no access-log
        line is formatted per request.
        """

        def __init__(self, sock: Any, address: Any, server: Any) -> None:
            super().__init__(sock, address, server)
            self.rfile.close()  # type: ignore[has-type]  # the 8 KB reader; the socket stays open
            self.rfile = sock.makefile("rb", READ_BUFFER)  # type: ignore[has-type]

        def MessageClass(self, fp: Any, *args: Any) -> Headers:
            """The request's headers, read without the email package (see collab._headers)."""
            return Headers.read(fp)

        def log_request(self) -> None:
            """No access log (the server has ``log=None``), and no access-log line built either."""

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
                polling.respond(self, self.environ)
            else:
                super().handle_one_response()

    polling = PollingPath.for_app(app) if app.config["COLLAB_FAST_POLLING"] else None
    metrics = getattr(app.extensions.get("collab"), "metrics", None)
    if polling is not None and metrics is not None:
        metrics.count(
            "collab_polling_fast_requests",
            "Long-polling requests of established sessions answered without the WSGI stack",
            lambda: polling.served,
        )
    server = pywsgi.WSGIServer(listener(host, port), app, handler_class=Handler, log=None)
    # gevent runs signal handlers in a greenlet of their own, where raising would not
    # reach serve_forever: stop the server instead (closes the listener, then returns).
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, server.stop, 5)
    server.serve_forever()


def _serve_eventlet(app: Any, host: str, port: int) -> None:
    import eventlet
    import eventlet.wsgi

    sock = listener(host, port)
    # eventlet's default pool (max_size=1024) silently stops accepting past 1,024 connections
    eventlet.wsgi.server(sock, app, log_output=False, max_size=100_000)


def _install_stop(socketio: Any, state: Any) -> None:
    """SIGTERM: stop the server like Ctrl+C does, then close the store cleanly."""

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread
        pass


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python app.py``."""
    sys.exit(serve(argv))
