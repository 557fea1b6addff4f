"""Two adjustments to python-engineio that stock Socket.IO clients need.

1. The server refuses a long-polling POST of more than 16 packets
   (``Payload.max_decode_packets``), yet the official JavaScript client flushes
   its whole send buffer in one POST. We raise the limit; the body stays
   bounded by ``max_http_buffer_size``.
2. A poll response of more than 16 packets makes the stock python-socketio
   client drop its connection. We answer each poll with at most 16 packets and
   leave the rest queued for the next poll, which the client sends at once.

Both are process-wide (the Engine.IO classes are shared); both are harmless to
any other Socket.IO namespace in the same process.
"""

from __future__ import annotations

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


def patch_engineio(max_decode_packets: int) -> None:
    """Apply both adjustments (idempotent; the larger decode limit wins)."""
    if payload.Payload.max_decode_packets < max_decode_packets:
        payload.Payload.max_decode_packets = max_decode_packets
    if eio_socket.Socket.poll is not _capped_poll:
        eio_socket.Socket.poll = _capped_poll  # type: ignore[method-assign]
