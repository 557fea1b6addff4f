"""Patches to python-engineio (``engineio.socket.Socket``, the payload decoder, the gevent driver).

Fixes (installed wherever collab runs, ``init_app`` included):

1. :data:`DECODE_LIMIT`: the server refuses a long-polling POST of more than 16
   packets (``Payload.max_decode_packets``), yet the official JavaScript client
   flushes its whole send buffer in one POST. The limit is raised to
   ``COLLAB_MAX_DECODE_PACKETS``; the body stays bounded by ``max_http_buffer_size``.
2. :data:`POLL_CAP`: a poll response of more than 16 packets makes the stock
   python-socketio client drop its connection. Each poll is answered with at most
   16 packets; the rest stay queued for the next poll, which the client sends at once.
3. :data:`REFUSED_POST`: a long-polling POST over ``max_http_buffer_size`` is refused
   and its session closed, but Engine.IO's close waits for the session's queue to
   be polled empty, and the client, told to close, polls no more: the POST was never
   answered and its greenlet stayed forever. The session is now closed without that wait.
4. :data:`WEBSOCKET_FALLBACK`: with gevent-websocket installed, Engine.IO's gevent
   driver insists on its handler and fails the WebSocket upgrade under servers that
   lack it (``gunicorn -k gevent``). Such requests are served with simple-websocket.
   Per Engine.IO server, not process-wide.
5. :data:`FAST_COMPRESSION`: a long-polling response is compressed at zlib's
   slowest level, in the request's own greenlet: the join of a note of 10,000
   strokes (5 MB) held the event loop, every other connection with it, for 1.3 s.
   Responses are compressed at level 1 (15 times faster; a third larger, still
   a third of the text), a large one on the hub's thread pool (zlib lets go of the
   GIL), so the loop runs on. Per Engine.IO server, not process-wide.

Speed-ups (collab's own server only):

7. :data:`TIMER_PINGS`: pings scheduled on a libev timer instead of a greenlet
   asleep for the whole ping interval (a few hundred bytes instead of a few KB
   per idle connection).
8. :data:`COALESCING_WRITER`: :mod:`collab._wswriter`'s WebSocket transport
   (direct writes, coalesced frames) for gevent-websocket connections.

Checked on python-engineio 4.11.0 to 4.15.1 (every release between them);
:data:`TIMER_PINGS` needs 4.13.2 or later, where a socket's ``last_ping`` starts
set and ``schedule_ping`` clears it (before, the copied guard would never send a
first ping).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from typing import Any

from . import FIX, SPEEDUP, Patch

#: The stock clients' decode limit: never send more than this per poll response.
POLL_RESPONSE_PACKETS = 16

_CHECKED = "4.11.0-4.15.1"


def gevent_websocket_installed() -> bool:
    """Whether Engine.IO's gevent driver would use gevent-websocket (it does whenever it imports)."""
    try:
        import geventwebsocket  # noqa: F401
    except ImportError:
        return False
    return True


# -- 1. the decode limit ---------------------------------------------------------------------------


def _raise_decode_limit(max_decode_packets: int) -> None:
    from engineio import payload

    if payload.Payload.max_decode_packets < max_decode_packets:  # the larger limit wins
        payload.Payload.max_decode_packets = max_decode_packets


DECODE_LIMIT = Patch(
    name="engineio-decode-limit",
    kind=FIX,
    library="python-engineio",
    what="a long-polling POST may carry more than 16 packets, as the JavaScript client sends",
    checked=_CHECKED,
    targets={"engineio.payload:Payload.decode": frozenset({"14d3abfe63d2903c"})},
    apply=_raise_decode_limit,
)


# -- 2. at most 16 packets per poll ----------------------------------------------------------------


def _capped_poll(self: Any) -> list[Any]:
    """``engineio.socket.Socket.poll`` that returns at most 16 packets."""
    from engineio import exceptions

    queue_empty = self.server.get_queue_empty_exception()
    try:
        packets = [self.queue.get(timeout=self.server.ping_interval + self.server.ping_timeout)]
        self.queue.task_done()
    except queue_empty:
        raise exceptions.QueueEmpty() from None
    if packets == [None]:
        return []
    while len(packets) < POLL_RESPONSE_PACKETS:
        try:
            pkt = self.queue.get(block=False)
            self.queue.task_done()
        except queue_empty:
            break
        if pkt is None:
            self.queue.put(None)
            break
        packets.append(pkt)
    return packets


def _install_poll_cap() -> None:
    from engineio import socket as eio_socket

    if eio_socket.Socket.poll is not _capped_poll:
        eio_socket.Socket.poll = _capped_poll  # type: ignore[method-assign]


POLL_CAP = Patch(
    name="engineio-poll-cap",
    kind=FIX,
    library="python-engineio",
    what="a poll answers at most 16 packets, the Python client's limit",
    checked=_CHECKED,
    targets={"engineio.socket:Socket.poll": frozenset({"4060d1549abf965f"})},
    apply=_install_poll_cap,
)


# -- 3. a refused POST closes its session at once --------------------------------------------------

_stock_post_request: Any = None


def _post_request(self: Any, environ: dict[str, Any]) -> None:
    """``handle_post_request`` that closes the session without waiting when it refuses a body."""
    from engineio import exceptions

    try:
        _stock_post_request(self, environ)
    except exceptions.ContentTooLongError:
        # handle_request then calls server.disconnect, which finds the session closed
        self.close(wait=False, reason=self.server.reason.SERVER_DISCONNECT)
        raise


def _install_refused_post() -> None:
    global _stock_post_request
    from engineio import socket as eio_socket

    if eio_socket.Socket.handle_post_request is not _post_request:
        _stock_post_request = eio_socket.Socket.handle_post_request
        eio_socket.Socket.handle_post_request = _post_request  # type: ignore[method-assign]


REFUSED_POST = Patch(
    name="engineio-refused-post",
    kind=FIX,
    library="python-engineio",
    what="an oversized long-polling POST is answered and its session closed without waiting for polls",
    checked=_CHECKED,
    targets={
        "engineio.socket:Socket.handle_post_request": frozenset({"09c1bb2a26c9e8f5"}),
        "engineio.socket:Socket.close": frozenset({"b257658d665d863a"}),
    },
    apply=_install_refused_post,
)


# -- 4. simple-websocket where gevent-websocket's server is absent ---------------------------------


def _websocket_fallback(eio_server: Any) -> None:
    """Under gevent, serve WebSocket with gevent-websocket when the server offers it, else simple-websocket."""
    if getattr(eio_server, "async_mode", None) != "gevent":
        return
    from engineio.async_drivers import gevent as eio_gevent

    fast = eio_gevent.WebSocketWSGI
    if getattr(fast, "__name__", "") == "WebSocketWSGIWithFallback":
        return
    from engineio.async_drivers._websocket_wsgi import SimpleWebSocketWSGI

    class SlowWebSocketWSGI(SimpleWebSocketWSGI):  # type: ignore[misc]
        def __init__(self, handler: Any, server: Any) -> None:
            import gevent.event
            import gevent.selectors

            super().__init__(
                handler,
                server,
                thread_class=eio_gevent.Thread,
                event_class=gevent.event.Event,
                selector_class=gevent.selectors.DefaultSelector,
            )

    class WebSocketWSGIWithFallback:
        def __init__(self, handler: Any, server: Any) -> None:
            self.handler, self.server = handler, server

        def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
            impl = fast if "wsgi.websocket" in environ else SlowWebSocketWSGI
            return impl(self.handler, self.server)(environ, start_response)

    eio_server._async = {**eio_server._async, "websocket": WebSocketWSGIWithFallback}


WEBSOCKET_FALLBACK = Patch(
    name="engineio-websocket-fallback",
    kind=FIX,
    library="python-engineio",
    what="WebSocket works under gunicorn -k gevent although gevent-websocket is installed",
    checked=_CHECKED,
    targets={
        "engineio.async_drivers.gevent:WebSocketWSGI.__call__": frozenset({"74d6af38010f9337"}),
        "engineio.async_drivers._websocket_wsgi:SimpleWebSocketWSGI.__init__": frozenset({"4e25d536f27d3d9c"}),
        "engineio.socket:Socket._upgrade_websocket": frozenset({"9687209be900842b"}),
    },
    apply=_websocket_fallback,
)


# -- 5. fast compression, off the loop -------------------------------------------------------------

#: zlib's level for long-polling responses (1: fastest).
COMPRESS_LEVEL = 1
#: Responses at least this large are compressed on the hub's thread pool under gevent.
OFF_LOOP_BYTES = 64 * 1024


def _compressor(wbits: int) -> Callable[[bytes], bytes]:
    def compress(data: bytes) -> bytes:
        z = zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, wbits)
        return z.compress(data) + z.flush()

    return compress


_gzip = _compressor(16 + zlib.MAX_WBITS)  # a gzip member, as gzip.GzipFile writes
_deflate = _compressor(zlib.MAX_WBITS)  # a zlib stream, as zlib.compress writes


def _fast_compression(eio_server: Any) -> None:
    """Give ``eio_server`` compressors at level 1 that leave the loop for a large response."""
    if getattr(eio_server, "_collab_fast_compression", False):
        return
    offload: Callable[[Callable[[bytes], bytes], bytes], bytes] | None = None
    if getattr(eio_server, "async_mode", None) == "gevent":
        import gevent

        def offload(fn: Callable[[bytes], bytes], data: bytes) -> bytes:
            return gevent.get_hub().threadpool.apply(fn, (data,))  # type: ignore[no-any-return]

    def wrap(fn: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
        def compress(response: bytes) -> bytes:
            if offload is not None and len(response) >= OFF_LOOP_BYTES:
                return offload(fn, response)
            return fn(response)

        return compress

    eio_server._gzip = wrap(_gzip)
    eio_server._deflate = wrap(_deflate)
    eio_server._collab_fast_compression = True


FAST_COMPRESSION = Patch(
    name="engineio-fast-compression",
    kind=FIX,
    library="python-engineio",
    what="a large long-polling response is compressed fast and off the event loop",
    checked=_CHECKED,
    targets={
        "engineio.base_server:BaseServer._gzip": frozenset({"886f9b3e0a0bdac9"}),
        "engineio.base_server:BaseServer._deflate": frozenset({"9b21935810d04d09"}),
    },
    apply=_fast_compression,
)


# -- 7. pings on timers ----------------------------------------------------------------------------


def _send_ping_now(sock: Any) -> None:
    from engineio import packet

    if not sock.closing and not sock.closed:
        sock.last_ping = time.time()
        sock.send(packet.Packet(packet.PING))


def _timer_schedule_ping(self: Any) -> None:
    """``engineio.socket.Socket.schedule_ping`` on a hub timer instead of a sleeping greenlet.

    Engine.IO keeps one greenlet per connection asleep for the whole ping
    interval; a libev timer costs a few hundred bytes instead of a few KB. The
    ping itself is sent from a short-lived greenlet, never from the hub, since a
    send may close a timed-out socket and run disconnect handlers. As the stock
    code (4.13.2 on), a new ping is scheduled only once the previous one was sent.
    """
    if self.last_ping:
        self.last_ping = None
        import gevent

        timer = gevent.get_hub().loop.timer(self.server.ping_interval)

        def fire() -> None:
            timer.close()
            gevent.spawn(_send_ping_now, self)

        timer.start(fire)


def _install_timer_pings() -> None:
    from engineio import socket as eio_socket

    if eio_socket.Socket.schedule_ping is not _timer_schedule_ping:
        eio_socket.Socket.schedule_ping = _timer_schedule_ping  # type: ignore[method-assign]


TIMER_PINGS = Patch(
    name="engineio-timer-pings",
    kind=SPEEDUP,
    library="python-engineio",
    what="pings on libev timers: no greenlet asleep per idle connection",
    checked="4.13.2-4.15.1",
    targets={
        "engineio.socket:Socket.schedule_ping": frozenset({"9e482c447c5658ac"}),
        "engineio.socket:Socket._send_ping": frozenset({"7fa57a6334b1da6e"}),
        "engineio.base_socket:BaseSocket.__init__": frozenset({"7155d2660c3ff491"}),
    },
    apply=_install_timer_pings,
)


# -- 8. the coalescing WebSocket writer ------------------------------------------------------------


def _install_coalescing_writer() -> None:
    from engineio import socket as eio_socket

    from .. import _wswriter

    cls = eio_socket.Socket
    if cls._websocket_handler is _wswriter._coalescing_handler:
        return
    _wswriter._stock_handler = cls._websocket_handler
    _wswriter._stock_send = cls.send
    _wswriter._stock_close = cls.close
    cls._websocket_handler = _wswriter._coalescing_handler  # type: ignore[method-assign]
    cls.send = _wswriter._send  # type: ignore[method-assign]
    cls.close = _wswriter._close  # type: ignore[method-assign]
    _wswriter.active = True


COALESCING_WRITER = Patch(
    name="engineio-coalescing-writer",
    kind=SPEEDUP,
    library="python-engineio",
    what="WebSocket frames written directly and coalesced: one send per connection per batch",
    checked=_CHECKED,
    targets={
        "engineio.socket:Socket._websocket_handler": frozenset({"b260955209102cfd"}),
        "engineio.socket:Socket.send": frozenset({"dd879482c50f529e"}),
        "engineio.socket:Socket.close": frozenset({"b257658d665d863a"}),
        "engineio.socket:Socket.check_ping_timeout": frozenset({"3084bd95c57607f7", "da66aa56d3e0a3d7"}),
    },
    apply=_install_coalescing_writer,
)

PATCHES = (
    DECODE_LIMIT,
    POLL_CAP,
    REFUSED_POST,
    WEBSOCKET_FALLBACK,
    FAST_COMPRESSION,
    TIMER_PINGS,
    COALESCING_WRITER,
)
