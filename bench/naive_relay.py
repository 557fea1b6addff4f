"""A naive Flask-SocketIO relay: what the Flask-SocketIO docs lead you to write.

The peer the benchmark compares collab against. Same namespace (``/notes``) and
events as collab's contract, but nothing is validated or stored: ``join``
enters the room and acks, ``stroke`` numbers the op in memory, broadcasts it to
the rest of the room and acks ``{"ok": true, "seq": n}``. Served with
``socketio.run(app, host, port)`` exactly as the docs show.

    python bench/naive_relay.py --port 5001 [--async-mode gevent|eventlet|threading]
                                [--ws gevent-websocket|simple-websocket] [--nodelay] [--json orjson]
                                [--serializer msgpack]

``--ws``, ``--nodelay``, ``--json`` and ``--serializer`` are levers measured by the
benchmark; the defaults are what the docs give you (gevent-websocket when it is
installed, Nagle's algorithm on, the standard ``json`` module, JSON packets).
``--serializer msgpack`` needs ``pip install msgpack`` and a client that speaks
``socket.io-msgpack-parser`` (the load generator's ``--parser msgpack``).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from typing import Any


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The relay's command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5001)
    p.add_argument("--async-mode", choices=("gevent", "eventlet", "threading"), default="gevent")
    p.add_argument(
        "--ws",
        choices=("gevent-websocket", "simple-websocket"),
        default="gevent-websocket",
        help="WebSocket server under gevent (simple-websocket hides gevent-websocket from engine.io)",
    )
    p.add_argument("--nodelay", action="store_true", help="set TCP_NODELAY on every accepted connection")
    p.add_argument("--json", choices=("json", "orjson"), default="json", help="Socket.IO packet JSON encoder")
    p.add_argument(
        "--serializer", choices=("default", "msgpack"), default="default", help="Socket.IO packet serializer"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Patch for the async mode first, then build the app and serve."""
    args = parse_args(argv)
    if args.async_mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
        if args.ws == "simple-websocket":
            sys.modules["geventwebsocket"] = None  # type: ignore[assignment]
    elif args.async_mode == "eventlet":
        import eventlet

        eventlet.monkey_patch()

    if args.nodelay:
        _enable_nodelay(args.async_mode)

    from flask import Flask, request
    from flask_socketio import SocketIO, emit, join_room

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "bench"
    kwargs: dict[str, Any] = {"async_mode": args.async_mode, "max_http_buffer_size": 1_000_000}
    if args.json == "orjson":
        kwargs["json"] = _OrjsonModule
    if args.serializer == "msgpack":
        kwargs["serializer"] = "msgpack"
    socketio = SocketIO(app, **kwargs)
    seqs: dict[str, int] = defaultdict(int)

    @socketio.on("join", namespace="/notes")
    def on_join(data: dict[str, Any]) -> dict[str, Any]:
        join_room(data["note"])
        return {"ok": True, "seq": seqs[data["note"]], "peer": request.sid, "strokes": []}

    @socketio.on("stroke", namespace="/notes")
    def on_stroke(data: dict[str, Any]) -> dict[str, Any]:
        note = data["note"]
        seqs[note] += 1
        op = {**data, "type": "stroke", "seq": seqs[note], "peer": request.sid}
        emit("stroke", op, to=note, include_self=False)
        return {"ok": True, "seq": seqs[note]}

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    run_kwargs: dict[str, Any] = {"host": args.host, "port": args.port, "log_output": False}
    if args.async_mode == "threading":
        run_kwargs["allow_unsafe_werkzeug"] = True
    print(f"naive relay: http://{args.host}:{args.port}/ ({args.async_mode}, {args.ws})", file=sys.stderr, flush=True)
    try:
        socketio.run(app, **run_kwargs)
    except KeyboardInterrupt:
        pass


class _OrjsonModule:
    """A ``json``-module lookalike on orjson, for ``SocketIO(json=...)``."""

    @staticmethod
    def dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
        import orjson

        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(s: str | bytes, *args: Any, **kwargs: Any) -> Any:
        import orjson

        return orjson.loads(s)


def _enable_nodelay(mode: str) -> None:
    """Set TCP_NODELAY on each accepted socket (gevent's StreamServer, or the standard socket)."""
    import socket

    if mode == "gevent":
        from gevent import pywsgi

        original = pywsgi.WSGIServer.handle

        def handle(self: Any, sock: Any, address: Any) -> Any:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return original(self, sock, address)

        pywsgi.WSGIServer.handle = handle  # type: ignore[method-assign]
    else:
        original_accept = socket.socket.accept

        def accept(self: socket.socket) -> Any:
            conn, addr = original_accept(self)
            if conn.family in (socket.AF_INET, socket.AF_INET6):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return conn, addr

        socket.socket.accept = accept  # type: ignore[method-assign]


if __name__ == "__main__":
    import os
    import signal

    # In memory, nothing to flush: SIGTERM ends the process at once, whatever greenlet it lands in.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    main()
