"""Three adjustments to python-engineio that stock Socket.IO clients need.

1. The server refuses a long-polling POST of more than 16 packets
   (``Payload.max_decode_packets``), yet the official JavaScript client flushes
   its whole send buffer in one POST. We raise the limit; the body stays
   bounded by ``max_http_buffer_size``.
2. A poll response of more than 16 packets makes the stock python-socketio
   client drop its connection. We answer each poll with at most 16 packets and
   leave the rest queued for the next poll, which the client sends at once.

3. A long-polling POST over ``max_http_buffer_size`` is refused and its session
   closed, but Engine.IO's close waits for the session's queue to be polled empty,
   and the client, told to close, polls no more: the POST was never answered and its
   greenlet stayed forever. The session is now closed without that wait.

All are process-wide (the Engine.IO classes are shared); all are harmless to
any other Socket.IO namespace in the same process.
"""

from __future__ import annotations

import socket
from typing import Any

from engineio import exceptions, payload
from engineio import socket as eio_socket

#: The stock clients' decode limit: never send more than this per poll response.
POLL_RESPONSE_PACKETS = 16


def _capped_poll(self: Any) -> list[Any]:
    """``engineio.socket.Socket.poll`` that returns at most 16 packets."""
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


_stock_post_request = eio_socket.Socket.handle_post_request


def _post_request(self: Any, environ: dict[str, Any]) -> None:
    """``handle_post_request`` that closes the session without waiting when it refuses a body."""
    try:
        _stock_post_request(self, environ)
    except exceptions.ContentTooLongError:
        # handle_request then calls server.disconnect, which finds the session closed
        self.close(wait=False, reason=self.server.reason.SERVER_DISCONNECT)
        raise


def patch_engineio(max_decode_packets: int) -> None:
    """Apply the three adjustments (idempotent; the larger decode limit wins)."""
    if payload.Payload.max_decode_packets < max_decode_packets:
        payload.Payload.max_decode_packets = max_decode_packets
    if eio_socket.Socket.poll is not _capped_poll:
        eio_socket.Socket.poll = _capped_poll  # type: ignore[method-assign]
    if eio_socket.Socket.handle_post_request is not _post_request:
        eio_socket.Socket.handle_post_request = _post_request  # type: ignore[method-assign]


def _xor_mask(self: Any, payload: bytes | bytearray) -> bytearray:
    """gevent-websocket's (un)masking, as one big-integer XOR instead of a loop per byte."""
    n = self.length
    if n == 0:
        return bytearray()
    mask = (bytes(self.mask) * (n // 4 + 1))[:n]
    return bytearray((int.from_bytes(payload[:n], "little") ^ int.from_bytes(mask, "little")).to_bytes(n, "little"))


def speed_up_gevent_websocket() -> None:
    """Replace gevent-websocket's per-byte Python masking loop (idempotent).

    UTF-8 validation is sped up by installing ``wsaccel``, which gevent-websocket
    picks up by itself.
    """
    try:
        from geventwebsocket.websocket import Header
    except ImportError:
        return
    if Header.mask_payload is not _xor_mask:
        Header.mask_payload = _xor_mask  # type: ignore[method-assign]
        Header.unmask_payload = _xor_mask  # type: ignore[method-assign]


def websocket_fallback(eio_server: Any) -> None:
    """Under gevent, serve WebSocket with gevent-websocket when the server offers it, else simple-websocket.

    With gevent-websocket installed, Engine.IO insists on its handler and fails
    an upgrade under servers that lack it (``gunicorn -k gevent``). This serves
    such requests with simple-websocket instead: slower, but working.
    """
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


def _send_ping_now(sock: Any) -> None:
    from engineio import packet

    if not sock.closing and not sock.closed:
        sock.last_ping = __import__("time").time()
        sock.send(packet.Packet(packet.PING))


def _timer_schedule_ping(self: Any) -> None:
    """``engineio.socket.Socket.schedule_ping`` on a hub timer instead of a sleeping greenlet.

    Engine.IO keeps one greenlet per connection asleep for the whole ping
    interval; a libev timer costs a few hundred bytes instead of a few KB. The
    ping itself is sent from a short-lived greenlet, never from the hub, since a
    send may close a timed-out socket and run disconnect handlers.
    """
    if self.last_ping:
        self.last_ping = None
        import gevent

        timer = gevent.get_hub().loop.timer(self.server.ping_interval)

        def fire() -> None:
            timer.close()
            gevent.spawn(_send_ping_now, self)

        timer.start(fire)


def lighter_pings() -> None:
    """Under gevent, schedule Engine.IO pings with timers (idempotent)."""
    if eio_socket.Socket.schedule_ping is not _timer_schedule_ping:
        eio_socket.Socket.schedule_ping = _timer_schedule_ping  # type: ignore[method-assign]


def _fast_data_is_binary(cls: Any, data: Any) -> bool:
    """``socketio.packet.Packet.data_is_binary`` with a C-speed answer for plain JSON data.

    The stock check walks every value in Python (every point of every stroke,
    ~40 us per broadcast, ~11 ms for a join ack of 300 strokes). orjson refuses
    bytes, so data it can serialize holds none; anything it refuses is walked
    the stock way.
    """
    if isinstance(data, (bytes, bytearray)):
        return True
    if _orjson is not None:
        try:
            _orjson.dumps(data)
            return False
        except TypeError:
            pass
    return _stock_data_is_binary(data)  # type: ignore[no-any-return]


def faster_binary_check() -> None:
    """Install :func:`_fast_data_is_binary` (idempotent; same answers as the stock check)."""
    from socketio import packet as sio_packet

    global _stock_data_is_binary
    current = sio_packet.Packet.__dict__["data_is_binary"]
    if getattr(current, "__func__", None) is _fast_data_is_binary:
        return
    _stock_data_is_binary = sio_packet.Packet.data_is_binary
    sio_packet.Packet.data_is_binary = classmethod(_fast_data_is_binary)  # type: ignore[method-assign, assignment]


_stock_data_is_binary: Any = None
_orjson: Any
try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a listed dependency
    _orjson = None


_stock_simple_websocket_call: Any = None


def _werkzeug_websocket_call(self: Any, environ: Any, start_response: Any) -> Any:
    """engineio's threading ``SimpleWebSocketWSGI.__call__`` that ends Werkzeug's connection with the session."""
    try:
        return _stock_simple_websocket_call(self, environ, start_response)
    finally:
        if getattr(getattr(self, "ws", None), "mode", None) == "werkzeug":
            sock = environ.get("werkzeug.socket")
            try:
                sock.shutdown(socket.SHUT_RDWR)  # Werkzeug reads the end and writes nothing more
            except (OSError, AttributeError):  # already closed
                pass


def end_werkzeug_websocket_connections() -> None:
    """Stop Werkzeug from reading a finished WebSocket connection as its next HTTP request (idempotent).

    Under Werkzeug (threading mode, for development) the WebSocket session ends
    when Engine.IO closes it, but Werkzeug's request handler keeps the
    connection as HTTP keep-alive and parses the client's last frames as a new
    request: it answers them with a ``400`` written into the WebSocket, and the
    client, waiting for the close frame, gives up only after its close timeout
    (3 s in python-socketio's client). Shutting the socket down once the
    session has ended makes that read see the end of the stream, and the
    answer to it go nowhere.
    """
    global _stock_simple_websocket_call
    from engineio.async_drivers import _websocket_wsgi

    cls = _websocket_wsgi.SimpleWebSocketWSGI
    if cls.__call__ is not _werkzeug_websocket_call:
        _stock_simple_websocket_call = cls.__call__
        cls.__call__ = _werkzeug_websocket_call  # type: ignore[method-assign]
