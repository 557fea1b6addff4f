"""Socket.IO packets for collab's own server: odd client input becomes a refusable event, never a traceback.

python-socketio decodes a packet and hands ``data[0]`` to the dispatcher as the
event name. JSON it cannot parse (nested past the parser's limit, an integer
of thousands of digits) or an event whose name is not a string (an object, a
number, an empty array) would raise deep inside it and drop the connection
with a traceback. :class:`CollabPacket`, given as python-socketio's
``serializer`` (its documented extension point), turns such an EVENT into the
event :data:`MALFORMED` with a message; the namespace answers it ``bad_request``
like any unknown event, ack id and all.

:func:`encoded_ack` builds an ack straight as the bytes that travel: a join's
ack is the whole note, megabytes, and python-socketio's path goes through it
about six times (an encoding to check for binary data, the encoding, text
concatenations at both layers, the UTF-8 bytes, the frame).
"""

from __future__ import annotations

from typing import Any

from engineio import packet as eio_packet
from socketio import packet

from . import _json

#: The event name a malformed EVENT packet is given (no client can send it: it is not valid text to send).
MALFORMED = "\x00malformed"


class CollabPacket(packet.Packet):
    """A :class:`socketio.packet.Packet` whose malformed EVENTs decode to ``[MALFORMED, message]``."""

    def decode(self, encoded_packet: Any) -> int:
        try:
            count: int = super().decode(encoded_packet)
        except (ValueError, RecursionError) as exc:  # json.JSONDecodeError is a ValueError
            if self.packet_type != packet.EVENT:
                raise
            self.data = [MALFORMED, f"the event is not JSON this server reads ({str(exc)[:120]})"]
            return 0
        if self.packet_type == packet.EVENT and not (
            type(self.data) is list and self.data and type(self.data[0]) is str and self.data[0] != MALFORMED
        ):
            self.data = [MALFORMED, "an event is a JSON array whose first element is its name, a string"]
        return count


def encodes_with_collab_json(server: Any) -> bool:
    """Whether the Socket.IO ``server`` encodes packets with collab's JSON module.

    collab's own SocketIO does; a host's may use another, whose acks and joins
    then take python-socketio's own path with decoded items.
    """
    return getattr(server.packet_class, "json", None) is _json


class EncodedMessage(eio_packet.Packet):  # type: ignore[misc]
    """An Engine.IO MESSAGE already encoded: the UTF-8 of its text, as ``head`` then ``data``.

    collab's WebSocket writer frames the bytes as they are
    (:func:`collab._wswriter.frame`); any other transport asks :meth:`encode`
    for the text, as of any packet. ``data`` is the big part, which the
    slow-reader watchdog counts.
    """

    def __init__(self, head: bytes, body: bytes) -> None:
        super().__init__(eio_packet.MESSAGE)
        self.head = head
        self.data = body
        self._text: str | None = None

    def encode(self, b64: bool = False) -> str:
        if self._text is None:
            self._text = (self.head + self.data).decode("utf-8")
        return self._text


def encoded_ack(namespace: str | None, ack_id: int, args: list[Any]) -> EncodedMessage | None:
    """The Engine.IO message of the Socket.IO ACK of ``args`` to ``ack_id``, as python-socketio encodes it.

    ``None`` when ``args`` is not plain JSON (binary data goes python-socketio's way).
    """
    try:
        body = _json.dumps_bytes(args)
    except TypeError:
        return None
    head = b"%d%d" % (eio_packet.MESSAGE, packet.ACK)
    if namespace is not None and namespace != "/":
        head += namespace.encode("utf-8") + b","
    return EncodedMessage(head + b"%d" % ack_id, body)
